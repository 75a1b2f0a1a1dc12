// The lint benchmark's bundle (bench/lint.bench.ts) must stay what docs/benchmarks.md says:
// N workloads of the five kinds with a Service each, the same every time, readable (no
// input errors), with findings of the engine's and the manifest rules. Nothing is timed.
import { describe, expect, it } from 'vitest';
import { generateBundle } from '../bench/lint.bench.js';
import { defaultOptions, lintText } from '../src/lint/lint.js';

describe('lint bench bundle', () => {
  it('holds N workloads of every kind, deterministically, and lints without input errors', () => {
    const text = generateBundle(60);
    expect(generateBundle(60)).toBe(text);
    for (const kind of ['Deployment', 'StatefulSet', 'DaemonSet', 'Job', 'CronJob', 'Service']) expect(text).toContain(`kind: ${kind}\n`);
    const r = lintText('<stdin>', text, defaultOptions());
    expect(r.workloads).toBe(60);
    expect(r.errors).toEqual([]);
    const rules = new Set(r.findings.map((f) => f.rule));
    for (const rule of ['exclusion-bypass', 'unknown-annotation', 'annotation-not-string', 'inbound-port-bypass']) expect(rules, rule).toContain(rule);
    expect(r.suppressed).toBeGreaterThan(0);
    // Not a timing test: 60 workloads judged by the engine take seconds on a loaded machine.
  }, 60_000);
});
