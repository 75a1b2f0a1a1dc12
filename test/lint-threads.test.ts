// `meshcap lint` judges workloads on several threads (src/lint/pool.ts). The built CLI is
// run (the worker thread is a file of the build), on a bundle of workloads distinct enough
// that the worker takes some: the findings, their order and the exit code must be the
// same for any number of threads. Nothing is timed (docs/benchmarks.md has the speed).
import { spawnSync } from 'node:child_process';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { generateBundle } from '../bench/lint.bench.js';
import { MIN_PARALLEL_JOBS } from '../src/lint/pool.js';

const count = (json: string) => (JSON.parse(json) as { diagnostics: unknown[] }).diagnostics.length;
const main = resolve(import.meta.dirname, '../dist/src/cli/main.js');
const lint = (input: string, ...args: string[]) => {
  const r = spawnSync(process.execPath, [main, 'lint', '--no-config', '--cluster-cidrs', '10.96.0.0/12,10.244.0.0/16', ...args, '-'], { input, encoding: 'utf8' });
  return { code: r.status, out: r.stdout, err: r.stderr };
};

describe('lint on several threads', () => {
  const bundle = generateBundle(3 * MIN_PARALLEL_JOBS);

  it('gives the findings one thread gives, in the same order, with the same exit code', () => {
    const one = lint(bundle, '--jobs', '1', '--format', 'json');
    const two = lint(bundle, '--jobs', '2', '--format', 'json');
    const four = lint(bundle, '-j', '4', '--format', 'sarif');
    expect(one.code).toBe(1);
    expect(count(one.out)).toBeGreaterThan(50);
    expect(two.code).toBe(one.code);
    expect(two.out).toBe(one.out);
    expect(four.code).toBe(one.code);
    expect((JSON.parse(four.out) as { runs: { results: unknown[] }[] }).runs[0].results.length).toBe(count(one.out));
    // Text output (on stderr) alike too, but for the -v line saying how it was judged.
    const strip = (s: string) => s.replace(/^\d+ policies judged by the engine on .*\n/m, '');
    const t1 = lint(bundle, '-v', '-j', '1');
    const t2 = lint(bundle, '-v', '-j', '2');
    expect(strip(t2.err)).toBe(strip(t1.err));
    expect(t1.err).toMatch(/^\d+ policies judged by the engine on 1 thread$/m);
    expect(t2.err).toMatch(/^\d+ policies judged by the engine on 2 threads \(\d+ by worker threads\)$/m);
  }, 300_000);

  it('below the threshold, or with --jobs 1, one thread judges', () => {
    const small = lint(generateBundle(MIN_PARALLEL_JOBS - 8), '-v', '-j', '4');
    expect(small.err).toMatch(/ on 1 thread$/m);
  }, 120_000);

  it('--jobs takes a count of threads', () => {
    for (const bad of ['0', '-1', 'two', '1.5', '65']) {
      const r = lint('', '--jobs', bad);
      expect(r.code, bad).toBe(3);
      expect(r.err).toContain('usage-bad-option-value');
    }
  });
});
