// Benchmarks of the verified compile and of the equivalence engine.
//   npm run build && node dist/bench/equivalence.bench.js [--quick]
// Prints a markdown table (the figures in docs/benchmarks.md come from here).
import { readFileSync } from 'node:fs';
import { emitIptables } from '../backends/iptables/emit.js';
import { importIptables } from '../backends/iptables/import.js';
import { compile } from '../src/compile/pipeline.js';
import type { RuleSet } from '../src/ir/types.js';
import { loadText } from '../src/language/load.js';
import { lower } from '../src/lower/lower.js';
import { SourceFile } from '../src/source.js';
import { equivalent } from '../src/verify/engine.js';
import { rulesSide } from '../src/verify/side.js';

const quick = process.argv.includes('--quick');

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

function time<T>(fn: () => T): [T, number] {
  const t0 = performance.now();
  const r = fn();
  return [r, performance.now() - t0];
}

/** A policy with n excluded /24s and p excluded ports (n + about p/7 iptables rules). */
export function syntheticPolicy(n: number, p: number): string {
  const cidrs: string[] = [];
  for (let i = 0; i < n; i++) cidrs.push(`${10 + (i >> 16)}.${(i >> 8) & 255}.${i & 255}.0/24`);
  const ports: number[] = [];
  for (let i = 0; i < p; i++) ports.push(20000 + i * 3);
  return `policy big {\n  inbound { capture ports * }\n  outbound {\n    capture cidrs *\n    exclude cidrs ${cidrs.join(',\n      ')}\n    exclude ports ${ports.join(', ')}\n  }\n  families ipv4\n}\n`;
}

function istioDefault(backends: string[]): void {
  const file = 'specs/istio-sidecar.intercept';
  readFileSync(file, 'utf8');
  const all = { backends };
  for (let i = 0; i < 100; i++) compile(file, all); // warm up (the JIT settles slowly)
  const totals: number[] = [];
  const verify: number[] = [];
  for (let i = 0; i < (quick ? 20 : 200); i++) {
    const [ctx, ms] = time(() => compile(file, all));
    if (ctx.verifyFailures.length || ctx.failures.length) throw new Error('default policy did not verify');
    totals.push(ms);
    verify.push(ctx.timings.find((t) => t.pass === 'verify')!.ms);
  }
  const checks = ['meaning = IR', ...backends.map((b) => `IR = ${b}`)];
  console.log(`| Istio default policy: whole compile to ${backends.join(' + ')} | ${median(totals).toFixed(1)} ms | verify pass alone ${median(verify).toFixed(1)} ms (${checks.join(', ')}) |`);
}

function synthetic(n: number, p: number): void {
  const l = loadText('big.intercept', syntheticPolicy(n, p), 'intercept');
  if (!l.policy) throw new Error('synthetic policy does not load');
  const ir = lower(l.policy);
  const text = emitIptables(ir, 'ipv4', { comments: false });
  const back = importIptables(new SourceFile('big.rules', text), 'ipv4').ruleset as RuleSet;
  const rules = text.split('\n').filter((x) => x.startsWith('-A')).length;
  // One rule dropped from the middle of the excluded CIDRs.
  const mutant = structuredClone(back);
  const chain = mutant.tables.find((t) => t.name === 'nat')!.chains.find((c) => c.name === 'MESHCAP_OUTPUT')!;
  chain.rules.splice(Math.floor(chain.rules.length / 2), 1);
  const runs = quick ? 1 : 3;
  const eqT: number[] = [];
  const diffT: number[] = [];
  let classes = 0;
  global.gc?.();
  const rss0 = process.memoryUsage().rss;
  let peak = 0;
  for (let i = 0; i < runs + 1; i++) {
    const [r, ms] = time(() => equivalent(rulesSide('IR', ir), rulesSide('iptables output', back), { families: ['ipv4'] }));
    if (r.result !== 'equal') throw new Error(`synthetic ${n}: not proven equal (${r.result})`);
    classes = r.classes;
    peak = Math.max(peak, process.memoryUsage().rss);
    const [d, ms2] = time(() => equivalent(rulesSide('IR', ir), rulesSide('mutant', mutant), { families: ['ipv4'] }));
    if (d.result !== 'different') throw new Error(`synthetic ${n}: the dropped rule was not found`);
    peak = Math.max(peak, process.memoryUsage().rss);
    if (i > 0 || runs === 1) {
      eqT.push(ms);
      diffT.push(ms2);
    }
  }
  console.log(`| ${n} excluded CIDRs + ${p} excluded ports (${rules} iptables rules) | proven equal ${median(eqT).toFixed(0)} ms (${classes} classes) | one dropped rule found ${median(diffT).toFixed(0)} ms; RSS ${(peak / 1e6).toFixed(0)} MB (start ${(rss0 / 1e6).toFixed(0)} MB) |`);
}

console.log(`meshcap equivalence benchmarks — node ${process.version}, ${new Date().toISOString().slice(0, 10)}${quick ? ' (quick)' : ''}\n`);
console.log('| case | time (median, warm) | notes |');
console.log('|---|---:|---|');
istioDefault(['iptables', 'ip6tables']);
istioDefault(['iptables', 'ip6tables', 'nftables']);
for (const n of quick ? [1000] : [1000, 10000, 50000]) synthetic(n, 1000);
