// The CI-sized fuzz run: every surface with fixed seeds, a fixed number of cases each (the
// costly surfaces, whose cases compile and prove, fewer), plus the three oversized inputs
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
 * Cases per surface on this (shared, two-core) machine's budget of about three minutes: the
 * front-end surfaces (a case parses and checks, a few ms) 2,000 each; those whose valid
 * cases prove (fmt and diff run the engine, compile a backend's proofs, verify a rule set
 * against a policy, lint its engine questions per workload) fewer.
 */
const CASES: Record<string, number> = { policy: 2000, yaml: 2000, 'istio-flags': 2000, 'istio-config': 2000, 'proxy-flags': 2000, trace: 2000, fmt: 150, compile: 200, diff: 150, manifest: 300 };
const DEFAULT_CASES = 400;
const SEED = 20261207;
/**
 * fmt's 100,000-block file runs four commands of 3-14 s each here (about 3 s of CPU each;
 * the rest is the machine's load): the long run (`npm run fuzz`) tries it, CI does not.
 */
const HUGE_KINDS: Record<string, Huge[]> = { fmt: ['long-line', 'deep-nesting'] };

describe('fuzzing every input surface (fixed seeds)', () => {
  const pool = new Pool(2);
  afterAll(() => pool.close());

  for (const surface of SURFACES) {
    it(`${surface.name}: no crash, hang, internal error or unlocated diagnostic`, async () => {
      const cases = Math.round((CASES[surface.name] ?? DEFAULT_CASES) * SCALE);
      const huge = HUGE_KINDS[surface.name] ?? HUGE;
      const r = await fuzzSurface(pool, surface, { cases, seed: SEED, huge });
      expect(r.cases).toBe(cases + huge.length);
      expect(r.failures.map(describeFailure)).toEqual([]);
      // The run reached both accepted and refused inputs (mutations that change nothing, or
      // break everything, would test little).
      const codes = Object.keys(r.exits).map(Number);
      expect(codes.some((c) => c === 0 || c === 1), JSON.stringify(r.exits)).toBe(true);
      expect(codes, JSON.stringify(r.exits)).toContain(2);
      process.stdout.write(`fuzz ${surface.name}: ${r.cases} cases, ${r.failures.length} failed, exits ${JSON.stringify(r.exits)}, ${Math.round(r.ms)} ms\n`);
    }, 240_000);
  }
});
