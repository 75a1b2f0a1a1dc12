import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ISTIO_BEGIN, ISTIO_END, istioRows, istioTable, SPEC_BEGIN, SPEC_END, specRows, specTable } from '../harness/cost-report.js';

// The rule counts and per-packet cost of docs/conformance.md, recomputed: the committed
// tables must be the current ones, and the optimizer must hold issue 14's targets.
const specs = specRows();
const istio = istioRows();
const doc = readFileSync('docs/conformance.md', 'utf8');
const between = (a: string, b: string) => doc.slice(doc.indexOf(a), doc.indexOf(b) + b.length);

describe('rule counts and per-packet cost', () => {
  it('docs/conformance.md has the current tables', () => {
    expect(between(SPEC_BEGIN, SPEC_END)).toBe(specTable(specs));
    expect(between(ISTIO_BEGIN, ISTIO_END)).toBe(istioTable(istio));
  });
  it('the Istio default: at most 16 nft rules, a worst case of at most 10', () => {
    const r = specs.find((s) => s.spec === 'istio-sidecar')!;
    expect(r.opt.rules).toBeLessThanOrEqual(16);
    expect(r.opt.worst).toBeLessThanOrEqual(10);
  });
  it('optimized is never worse than -O0, and never tests more rules than Istio nft in the worst case', () => {
    for (const r of specs) {
      expect(r.opt.rules, r.spec).toBeLessThanOrEqual(r.o0.rules);
      expect(r.opt.worst, r.spec).toBeLessThanOrEqual(r.o0.worst);
    }
    expect(istio.length).toBeGreaterThanOrEqual(20);
    for (const r of istio) expect(r.meshcap.worst, r.name).toBeLessThanOrEqual(r.istioNft.worst);
  });
});
