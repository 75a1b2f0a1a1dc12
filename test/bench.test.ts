// The benchmark's input (bench/parse-check.bench.ts) must stay what docs/benchmarks.md says
// it is: exactly N lines, the same every time, and a clean policy (so the benchmark times
// the normal path, not error reporting). Nothing here is timed.
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { generatePolicy } from '../bench/parse-check.bench.js';
import { SHAPES, cidr4, cidr6, gid, iface, packetIn, port, server4, server6, withoutItem } from '../bench/scale.bench.js';
import { loadText } from '../src/language/load.js';
import { lower } from '../src/lower/lower.js';

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

// The scale benchmark (bench/scale.bench.ts): its policies are valid, their long lists
// hold distinct values, the item its difference check takes out is in the IR, and one
// small cell runs end to end (child process, table, difference check, cold CLI).
describe('scale bench', () => {
  it('makes a valid policy of every shape, with the list items distinct', () => {
    for (const shape of SHAPES) {
      const { text, mid } = shape.make(200);
      const r = loadText(`${shape.name}.intercept`, text, 'intercept');
      expect(r.diagnostics.filter((d) => d.severity !== 'info').map((d) => `${d.code}: ${d.message}`), shape.name).toEqual([]);
      expect(shape.make(200).text).toBe(text);
      const ir = lower(r.policy!);
      const { mutant, where } = withoutItem(ir, mid);
      expect(where, shape.name).toMatch(/dropped|taken out/);
      expect(JSON.stringify(mutant)).not.toBe(JSON.stringify(ir));
    }
    // Distinct values at the largest size, for each list generator.
    const n = 50_000;
    const distinct = (xs: { text: string }[]) => new Set(xs.map((x) => x.text)).size;
    const all = (f: (i: number) => { text: string }) => Array.from({ length: n }, (_, i) => f(i));
    expect(distinct(all(cidr4))).toBe(n);
    expect(distinct(all(cidr6))).toBe(n);
    expect(distinct(all((i) => port(i, n)))).toBe(n);
    expect(distinct(all(iface))).toBe(n);
    expect(distinct(all(gid))).toBe(n);
    expect(distinct(all(server4))).toBe(n);
    expect(distinct(all(server6))).toBe(n);
    const ports = all((i) => port(i, n)).map((p) => Number(p.text));
    expect(ports.every((p) => p > 1024 && (p < 15000 || p > 15099))).toBe(true);
    expect(iface(n - 1).text.length).toBeLessThanOrEqual(15);
  });

  it('a packet falls in the item it names', () => {
    const pk = { hook: 'output', family: 'ipv4', protocol: 'tcp', src: '10.1.0.5', dst: '10.0.3.7', sport: 40000, dport: 80, iif: '', oif: 'eth0', mark: 0, ctmark: 0, ctstate: 'new' } as const;
    expect(packetIn(pk, cidr4(3))).toBe(true);
    expect(packetIn(pk, cidr4(4))).toBe(false);
    expect(packetIn({ ...pk, dport: Number(port(5, 10).text) }, port(5, 10))).toBe(true);
    expect(packetIn(pk, port(5, 10))).toBe(false);
  });

  it('--quick runs one small cell end to end', () => {
    const r = spawnSync(process.execPath, ['dist/bench/scale.bench.js', '--quick', '--shape', 'out-cidrs', '--n', '100', '--limit', '60'], { encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^\| out-cidrs \| 100 \| [\d.]+ \| [\d.]+ \| [\d.]+ \| \d+ \/ \d+ \| \d+ \| ok \(k=\d\) \|$/m);
    expect(r.stdout).toMatch(/^\| out-cidrs \| 10\.0\.50\.0\/24 \| .* \| yes \(different, [\d.]+ ms\) \| yes \(different, [\d.]+ ms\) \| ok \|$/m);
    expect(r.stdout).toMatch(/^\| out-cidrs \| 100 \| \d+ \| (\d+|-) \| ok \|$/m);
    expect(r.stdout).toContain(`Node ${process.version}`);
  }, 60_000);

  it('a cell over its time limit is reported as such, not waited for', () => {
    const r = spawnSync(process.execPath, ['dist/bench/scale.bench.js', '--shape', 'mixed', '--n', '1000', '--limit', '1', '--no-diff', '--no-cold'], { encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^\| mixed \| 1k \| .* \| over limit \(killed after \d+ s.*\|$/m);
  }, 60_000);
});
