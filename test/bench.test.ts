// The benchmark's input (bench/parse-check.bench.ts) must stay what docs/benchmarks.md says
// it is: exactly N lines, the same every time, and a clean policy (so the benchmark times
// the normal path, not error reporting). Nothing here is timed.
import { describe, expect, it } from 'vitest';
import { generatePolicy } from '../bench/parse-check.bench.js';
import { loadText } from '../src/language/load.js';

describe('bench policy generator', () => {
  it('makes exactly the number of lines asked for, deterministically', () => {
    for (const n of [60, 999, 10_000]) {
      const text = generatePolicy(n);
      expect(text.split('\n').length - 1).toBe(n);
      expect(generatePolicy(n)).toBe(text);
    }
  });

  it('makes a clean policy with long continued lists and comments', () => {
    const text = generatePolicy(3000);
    const r = loadText('bench.intercept', text, 'intercept');
    expect(r.diagnostics).toEqual([]);
    const lines = text.split('\n');
    expect(lines.filter((l) => l.trimStart().startsWith('#')).length).toBeGreaterThan(300);
    expect(lines.filter((l) => /,\s*(#.*)?$/.test(l)).length).toBeGreaterThan(1500);
    expect(r.policy!.outbound.excludeCidrs.value.length).toBeGreaterThan(1000);
  });

  it('rejects sizes too small to hold the policy', () => {
    expect(() => generatePolicy(10)).toThrow();
  });
});
