// The compiler as a named, ordered list of passes, each timed and dumpable
// (`--timings`, `--dump-after PASS`): load -> lower -> check-ir -> optimize -> emit ->
// reimport -> verify. The optimize pass runs the optimizer's own named passes
// (src/optimize/passes.ts), each timed and dumpable by its name too.
import { backendByName, backends as allBackends, restrictTo, type Backend } from '../../backends/index.js';
import type { Firewall } from '../../backends/shell/emit.js';
import { version } from './version.js';
import { capabilities, DEFAULT_NFT_VERSION } from '../../backends/nftables/versions.js';
import type { Policy } from '../language/ast.js';
import { diag, didYouMean, hasErrors, type Diagnostic } from '../diagnostics/diagnostic.js';
import { checkRuleSet } from '../ir/check.js';
import type { RuleSet } from '../ir/types.js';
import { loadFile, type Loaded } from '../language/load.js';
import { lower } from '../lower/lower.js';
import { equivalent, type EquivResult } from '../verify/engine.js';
import { Meaning, meaningSide } from '../meaning/meaning.js';
import { rulesSide } from '../verify/side.js';
import { familyIr, finalIr, optimize, optimizePasses, type OptimizePass, type OptimizeStep } from '../optimize/passes.js';

export interface Artifact {
  backend: Backend;
  text: string;
  reimported?: RuleSet;
  /** Further rule sets the artifact carries (the shell script's nft payload). */
  also?: { label: string; ruleset: RuleSet }[];
  routing?: RuleSet['routing'];
}

export interface VerifyFailure {
  stage: string;
  result: EquivResult;
  a: string;
  b: string;
}

export interface CompileContext {
  file: string;
  backends: Backend[];
  comments: boolean;
  counters: boolean;
  nftVersion?: string;
  firewall?: Firewall;
  verify: boolean;
  /** 0: no optimizer passes (`-O0`); 1: all of them (the default). */
  optLevel: 0 | 1;
  /** iptables backends and the script: Istio's chain layout (the lowered IR) or the optimized IR. */
  layout: Layout;
  loaded?: Loaded;
  policy?: Policy;
  /** The lowered IR (what the policy's meaning is proven against). */
  ir?: RuleSet;
  /** The optimizer's passes to run (the default list; tests give others). */
  optimizePasses: readonly OptimizePass[];
  /** The optimizer's steps, in order (empty with -O0). */
  steps: OptimizeStep[];
  artifacts: Artifact[];
  diagnostics: Diagnostic[];
  /** Internal failures (`internal-*` codes): a meshcap bug, reported with exit 1 and the evidence. */
  failures: Diagnostic[];
  verifyFailures: VerifyFailure[];
  verifyStats: { stage: string; result: EquivResult['result']; classes: number; ms: number; reason?: string }[];
  /** Each pass's time; the optimizer's own passes carry `within: 'optimize'`. */
  timings: { pass: string; ms: number; within?: string }[];
  progress?: (step: string) => void;
}

export type Layout = 'istio' | 'optimized';
export const LAYOUTS: readonly Layout[] = ['istio', 'optimized'];

const optimizedFor = (ctx: CompileContext, b: Backend) => ctx.steps.length > 0 && (b.name === 'nftables' || ctx.layout === 'optimized');

/** The IR a backend emits: nftables the optimized one; iptables and the script keep Istio's layout (the lowered IR) unless asked. */
export function irFor(ctx: CompileContext, b: Backend): RuleSet | undefined {
  if (!ctx.ir) return undefined;
  if (!optimizedFor(ctx, b)) return ctx.ir;
  return b.name === 'nftables' ? finalIr(ctx.ir, ctx.steps) : familyIr(ctx.ir, ctx.steps, ctx.optimizePasses);
}

const irLabel = (ctx: CompileContext, b: Backend) => (optimizedFor(ctx, b) ? 'optimized IR' : 'IR');

export interface Pass {
  name: string;
  run(ctx: CompileContext): void;
  /** What `--dump-after NAME` prints. */
  dump?(ctx: CompileContext): string;
}

/** What `--dump-after` takes: the compiler's passes and the optimizer's, and what each prints. */
export function dumpable(): string[] {
  return [...passes.map((p) => p.name), ...optimizePasses.map((p) => p.name)];
}

export function dumpAfter(ctx: CompileContext, name: string): string {
  const step = ctx.steps.find((s) => s.pass === name);
  if (step) return json(step.after);
  if (optimizePasses.some((p) => p.name === name)) return json(ctx.ir ?? null); // -O0: the passes did not run
  return passes.find((p) => p.name === name)?.dump?.(ctx) ?? `(pass ${name} has nothing to dump)\n`;
}

const json = (x: unknown) => JSON.stringify(x, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v), 2) + '\n';

export const passes: Pass[] = [
  {
    name: 'load',
    run(ctx) {
      ctx.loaded = loadFile(ctx.file);
      ctx.diagnostics.push(...ctx.loaded.diagnostics);
      if (!hasErrors(ctx.loaded.diagnostics)) ctx.policy = ctx.loaded.policy;
    },
    dump: (ctx) => json(ctx.policy ?? null),
  },
  {
    name: 'lower',
    run(ctx) {
      if (ctx.policy) ctx.ir = lower(ctx.policy);
    },
    dump: (ctx) => json(ctx.ir ?? null),
  },
  {
    name: 'check-ir',
    run(ctx) {
      if (!ctx.ir) return;
      for (const p of checkRuleSet(ctx.ir)) ctx.failures.push(diag('internal-check-ir', undefined, { family: p.family, table: p.table, chain: p.chain, index: p.index, problem: p.message }));
    },
  },
  {
    name: 'optimize',
    run(ctx) {
      if (!ctx.ir || ctx.optLevel === 0 || ctx.failures.length) return;
      // The target nft release's capabilities decide which nft-only passes run (data, versions.ts).
      ctx.steps = optimize(ctx.ir, ctx.optimizePasses, capabilities(ctx.nftVersion ?? DEFAULT_NFT_VERSION));
      // What the kernel would refuse, after each pass (a jump to a chain a pass removed...).
      for (const s of ctx.steps) {
        const problems = checkRuleSet(s.after);
        for (const p of problems) ctx.failures.push(diag('internal-check-ir', undefined, { family: p.family, table: p.table, chain: p.chain, index: p.index, problem: `after optimize pass ${s.pass}: ${p.message}` }));
        if (problems.length) {
          ctx.steps = [];
          return;
        }
      }
    },
    dump: (ctx) => json(ctx.ir ? finalIr(ctx.ir, ctx.steps) : null),
  },
  {
    name: 'emit',
    run(ctx) {
      if (!ctx.ir) return;
      for (const b of ctx.backends) {
        const text = b.emit(irFor(ctx, b)!, { comments: ctx.comments, counters: ctx.counters, nftVersion: ctx.nftVersion, firewall: ctx.firewall, source: ctx.loaded?.source ? { file: ctx.file, text: ctx.loaded.source.text } : undefined, version: version() });
        const problems = b.validate?.(text) ?? [];
        if (problems.length) ctx.failures.push(diag('internal-schema', undefined, { backend: b.name, problems: problems.join('; ') }));
        ctx.artifacts.push({ backend: b, text });
      }
    },
    dump: (ctx) => ctx.artifacts.map((a) => `# ==> ${a.backend.name} <==\n${a.text}`).join('\n'),
  },
  {
    name: 'reimport',
    run(ctx) {
      for (const a of ctx.artifacts) {
        const r = a.backend.reimport(a.text, `<${a.backend.name} output>`);
        if (!r.ruleset) {
          ctx.failures.push(diag('internal-reimport', undefined, { backend: a.backend.name, problems: r.diagnostics.map((d) => `${d.span?.start.line ?? '?'}: ${d.message}`).join('; ') }));
          continue;
        }
        a.reimported = r.ruleset;
        a.also = r.also;
        a.routing = r.routing;
      }
    },
  },
  {
    name: 'verify',
    run(ctx) {
      if (!ctx.verify || !ctx.ir || !ctx.policy) return;
      const check = (stage: string, a: Parameters<typeof equivalent>[0], b: Parameters<typeof equivalent>[1], families?: ('ipv4' | 'ipv6')[]) => {
        ctx.progress?.(`verify: ${stage}`);
        const r = equivalent(a, b, { families });
        ctx.verifyStats.push({ stage, result: r.result, classes: r.classes, ms: r.ms, ...(r.reason ? { reason: r.reason } : {}) });
        if (r.result !== 'equal') ctx.verifyFailures.push({ stage, result: r, a: a.label, b: b.label });
      };
      // The policy's meaning, read directly from the policy, against the lowered IR.
      check('policy meaning = IR', meaningSide('policy meaning', new Meaning(ctx.policy)), rulesSide('IR', ctx.ir));
      // The optimizer's result against its input; a difference is pinned on the first pass that made one.
      proveOptimized(ctx, check);
      // Each artifact, read back by its own importer, against the IR it was emitted from.
      for (const a of ctx.artifacts) {
        if (!a.reimported) continue;
        const fam = a.backend.family;
        const ir = irFor(ctx, a.backend)!;
        const label = irLabel(ctx, a.backend);
        check(`${label} = ${a.backend.name} output`, rulesSide(label, restrictTo(ir, fam)), rulesSide(`${a.backend.name} output`, a.reimported), fam ? [fam] : undefined);
        for (const x of a.also ?? []) check(`${label} = ${x.label}`, rulesSide(label, ir), rulesSide(x.label, x.ruleset));
        if (a.routing && JSON.stringify(a.routing) !== JSON.stringify(ctx.ir.routing)) {
          ctx.failures.push(diag('internal-routing', undefined, { backend: a.backend.name, got: JSON.stringify(a.routing), want: JSON.stringify(ctx.ir.routing) }));
        }
      }
    },
  },
];

type Check = (stage: string, a: Parameters<typeof equivalent>[0], b: Parameters<typeof equivalent>[1], families?: ('ipv4' | 'ipv6')[]) => void;

/**
 * IR = optimized IR, on every compile the optimizer ran. When it fails, each pass's output
 * is proven against its input, and the first that differs is reported by name with its
 * counterexample.
 */
function proveOptimized(ctx: CompileContext, check: Check): void {
  if (!ctx.ir || !ctx.steps.length) return;
  const before = ctx.verifyFailures.length;
  check('IR = optimized IR', rulesSide('IR', ctx.ir), rulesSide('optimized IR', finalIr(ctx.ir, ctx.steps)));
  if (ctx.verifyFailures.length === before) return;
  for (const s of ctx.steps) {
    const n = ctx.verifyFailures.length;
    check(`optimize pass ${s.pass}: its input = its output`, rulesSide(`IR before ${s.pass}`, s.before), rulesSide(`IR after ${s.pass}`, s.after));
    if (ctx.verifyFailures.length > n) return;
  }
}

export interface CompileOptions {
  backends: string[];
  /** 0 skips the optimizer (`-O0`); default 1. */
  optLevel?: 0 | 1;
  layout?: Layout;
  /** The optimizer's passes (default: all of them, in order). */
  optimizePasses?: readonly OptimizePass[];
  comments?: boolean;
  counters?: boolean;
  nftVersion?: string;
  firewall?: Firewall;
  verify?: boolean;
  /** Stop after this pass. */
  until?: string;
  /** Told each step as it starts (each pass, each proof): for a progress line. */
  progress?: (step: string) => void;
}

export function compile(file: string, opts: CompileOptions): CompileContext {
  const ctx: CompileContext = {
    file,
    backends: [],
    comments: opts.comments ?? true,
    counters: opts.counters ?? false,
    nftVersion: opts.nftVersion,
    firewall: opts.firewall,
    verify: opts.verify ?? true,
    optLevel: opts.optLevel ?? 1,
    layout: opts.layout ?? 'istio',
    optimizePasses: opts.optimizePasses ?? optimizePasses,
    steps: [],
    artifacts: [],
    diagnostics: [],
    failures: [],
    verifyFailures: [],
    verifyStats: [],
    timings: [],
    progress: opts.progress,
  };
  for (const name of opts.backends) {
    const b = backendByName(name);
    const known = allBackends.map((x) => x.name);
    if (!b) ctx.diagnostics.push(diag('usage-unknown-backend', undefined, { name, backends: known.join(', ') }, didYouMean(name, known)));
    else ctx.backends.push(b);
  }
  // Stopping after one of the optimizer's passes stops after the optimize pass (all its steps are kept).
  const until = opts.until && optimizePasses.some((p) => p.name === opts.until) ? 'optimize' : opts.until;
  for (const p of passes) {
    const t0 = performance.now();
    if (p.name !== 'verify') ctx.progress?.(p.name);
    p.run(ctx);
    ctx.timings.push({ pass: p.name, ms: performance.now() - t0 });
    if (p.name === 'optimize') for (const s of ctx.steps) ctx.timings.push({ pass: s.pass, ms: s.ms, within: 'optimize' });
    if (hasErrors(ctx.diagnostics) || p.name === until) break;
  }
  return ctx;
}
