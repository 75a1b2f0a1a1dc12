import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { istioCases } from '../harness/istio-corpus.js';
import { mutationCase, row, MUTANTS_PER_CASE } from '../harness/mutation-report.js';

/**
 * Mutation testing of the equivalence engine (docs/conformance.md) for one half of the
 * Istio cases: two test files, so that the halves run in parallel.
 */
export function mutationTests(half: 'a' | 'b'): void {
  const all = istioCases();
  const mid = Math.ceil(all.length / 2);
  const cases = half === 'a' ? all.slice(0, mid) : all.slice(mid);
  const doc = readFileSync('docs/conformance.md', 'utf8');
  describe(`mutation testing of the equivalence engine (${half})`, () => {
    for (const c of cases) {
      it(`${c.name}: every verdict on ${MUTANTS_PER_CASE} mutants is confirmed`, () => {
        const s = mutationCase(c);
        expect(s.mutants).toBe(MUTANTS_PER_CASE);
        expect(s.failures).toEqual([]);
        expect(s.undecided).toBe(0);
        expect(s.confirmedDifferent).toBe(s.different);
        expect(s.confirmedEqual).toBe(s.equal);
        // Most single mutations of a live rule set change something.
        expect(s.different).toBeGreaterThan(0);
        expect(doc).toContain(row(s));
      }, 120_000);
    }
  });
}
