import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { runAll, type CaseResult } from '../harness/conformance.js';
import { istioCases } from '../harness/istio-corpus.js';
import { table, BEGIN, END } from '../harness/conformance-report.js';
import { outcomeText, packetText } from '../../src/verify/compare.js';

// Conformance with Istio's own rule sets, over every packet (see docs/conformance.md).
const results: CaseResult[] = runAll();

describe('conformance with istio-iptables goldens (exhaustive)', () => {
  it('covers every sidecar-capture case of the corpus', () => {
    expect(istioCases().length).toBeGreaterThanOrEqual(27);
    expect(results.map((r) => r.name).sort()).toEqual(istioCases().map((c) => c.name).sort());
  });

  for (const r of results) {
    it(`${r.name}: every difference from Istio is a documented one`, () => {
      expect(r.error).toBeUndefined();
      expect(r.classes).toBeGreaterThan(0);
      const shown = r.undocumented
        .slice(0, 5)
        .map((d) => `${d.description}: meshcap ${outcomeText(d.a)}, istio ${outcomeText(d.b)} (e.g. ${packetText(d.packet)})`)
        .join('\n');
      expect(r.undocumented.length, shown).toBe(0);
      if (r.kernelListingAgrees !== null) expect(r.kernelListingAgrees).toBe(true);
    });
  }

  it('docs/conformance.md has the current table', () => {
    const doc = readFileSync('docs/conformance.md', 'utf8');
    const committed = doc.slice(doc.indexOf(BEGIN), doc.indexOf(END) + END.length);
    expect(committed).toBe(table(results));
  });
});
