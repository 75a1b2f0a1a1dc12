import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { renderTrace } from '../../src/cli/trace-render.js';
import { runAll, type CaseResult } from '../../src/tools/conformance.js';
import { istioCases } from '../../src/tools/istio-corpus.js';
import { table, BEGIN, END } from '../../src/tools/conformance-report.js';
import { packetText } from '../../src/verify/compare.js';

// Conformance with Istio's own rule sets (see docs/conformance.md).
const results: CaseResult[] = runAll(2000);

describe('conformance with istio-iptables goldens', () => {
  it('covers every sidecar-capture case of the corpus', () => {
    expect(istioCases().length).toBeGreaterThanOrEqual(27);
    expect(results.map((r) => r.name).sort()).toEqual(istioCases().map((c) => c.name).sort());
  });

  for (const r of results) {
    it(`${r.name}: every difference from Istio is a documented one`, () => {
      expect(r.error).toBeUndefined();
      expect(r.packets).toBeGreaterThanOrEqual(2000);
      const shown = r.undocumented
        .slice(0, 3)
        .map((d) => `${packetText(d.packet)}\n  meshcap:\n${renderTrace(d.a, '    ')}  istio:\n${renderTrace(d.b, '    ')}`)
        .join('\n');
      expect(r.undocumented.length, shown).toBe(0);
      // Most packets must agree: a documented difference is a narrow class of packets.
      expect(r.agree / r.packets).toBeGreaterThan(0.97);
      if (r.kernelListingAgrees !== null) expect(r.kernelListingAgrees).toBe(true);
    });
  }

  it('docs/conformance.md has the current table', () => {
    const doc = readFileSync('docs/conformance.md', 'utf8');
    const committed = doc.slice(doc.indexOf(BEGIN), doc.indexOf(END) + END.length);
    expect(committed).toBe(table(results));
  });
});
