// The CI-sized fuzz run: every surface with fixed seeds, 2,000 distinct cases each, plus the three oversized inputs
// of each surface (a 1 MB line, 100,000-deep nesting, 100,000 repeated rules). Every case
// runs in a worker with a 10 s and 1 GB limit (test/fuzz/pool.ts). A failure lists each
// failing case with its seed; `npm run fuzz -- --surface NAME --seed S` explores further,
// and test/fixtures/fuzz-cases.ts holds the defects found so far.
// MESHCAP_FUZZ_SCALE multiplies the case counts (a faster machine can afford more).
import { afterAll, describe, expect, it } from 'vitest';
import { describeFailure, fuzzSurface } from './engine.js';
import { HUGE, type Huge } from './mutate.js';
import { Pool } from './pool.js';
import { SURFACES } from './surfaces.js';

const SCALE = Number(process.env.MESHCAP_FUZZ_SCALE ?? 1) || 1;
/**
 * Cases per surface: 2,000 distinct cases of each (an identical case drawn again is not run
 * twice). The surfaces whose valid cases prove (fmt and diff run the engine, compile proves
 * one backend a case, verify proves a rule set against a policy, lint asks its engine
 * questions per workload) cost 5-30 ms of CPU a case, the others 1-6 ms.
 */
const CASES = 2000;
const SEED = 20261207;
/**
 * fmt's 100,000-block file runs four commands of 3-14 s each here (about 3 s of CPU each;
 * the rest is the machine's load): the long run (`npm run fuzz`) tries it, CI does not.
 */
const HUGE_KINDS: Record<string, Huge[]> = {
  fmt: ['long-line', 'deep-nesting'],
};

describe('fuzzing every input surface (fixed seeds)', () => {
  const pool = new Pool(2);
  afterAll(() => pool.close());

  for (const surface of SURFACES) {
    it(`${surface.name}: no crash, hang, internal error or unlocated diagnostic`, async () => {
      const cases = Math.round(CASES * SCALE);
      const huge = HUGE_KINDS[surface.name] ?? HUGE;
      const r = await fuzzSurface(pool, surface, { cases, seed: SEED, huge });
      expect(r.cases).toBe(cases + huge.length);
      expect(r.failures.map(describeFailure)).toEqual([]);
      // The run reached both accepted and refused inputs (mutations that change nothing, or
      // break everything, would test little).
      const codes = Object.keys(r.exits).map(Number);
      expect(codes.some((c) => c === 0 || c === 1), JSON.stringify(r.exits)).toBe(true);
      expect(codes, JSON.stringify(r.exits)).toContain(2);
      process.stdout.write(`fuzz ${surface.name}: ${r.cases} cases, ${r.failures.length} failed, exits ${JSON.stringify(r.exits)}, ${Math.round(r.ms)} ms (${Math.round(r.cpuMs)} ms of CPU)\n`);
    }, 600_000);
  }
});
