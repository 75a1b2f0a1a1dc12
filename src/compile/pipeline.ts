// The compiler as a named, ordered list of passes, each timed and dumpable
// (`--timings`, `--dump-after PASS`): load -> lower -> check-ir -> emit -> reimport -> verify.
import { backendByName, backends as allBackends, restrictTo, type Backend } from '../../backends/index.js';
import type { Firewall } from '../../backends/shell/emit.js';
import { version } from './version.js';
import type { Policy } from '../language/ast.js';
import { diag, didYouMean, hasErrors, type Diagnostic } from '../diagnostics/diagnostic.js';
import { checkRuleSet } from '../ir/check.js';
import type { RuleSet } from '../ir/types.js';
import { loadFile, type Loaded } from '../language/load.js';
import { lower } from '../lower/lower.js';
import { equivalent, type EquivResult } from '../verify/engine.js';
import { Meaning, meaningSide } from '../meaning/meaning.js';
import { rulesSide } from '../verify/side.js';

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
  loaded?: Loaded;
  policy?: Policy;
  ir?: RuleSet;
  artifacts: Artifact[];
  diagnostics: Diagnostic[];
  /** Internal failures (`internal-*` codes): a meshcap bug, reported with exit 1 and the evidence. */
  failures: Diagnostic[];
  verifyFailures: VerifyFailure[];
  verifyStats: { stage: string; result: EquivResult['result']; classes: number; ms: number; reason?: string }[];
  timings: { pass: string; ms: number }[];
  progress?: (step: string) => void;
}

export interface Pass {
  name: string;
  run(ctx: CompileContext): void;
  /** What `--dump-after NAME` prints. */
  dump?(ctx: CompileContext): string;
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
    name: 'emit',
    run(ctx) {
      if (!ctx.ir) return;
      for (const b of ctx.backends) {
        const text = b.emit(ctx.ir, { comments: ctx.comments, counters: ctx.counters, nftVersion: ctx.nftVersion, firewall: ctx.firewall, source: ctx.loaded?.source ? { file: ctx.file, text: ctx.loaded.source.text } : undefined, version: version() });
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
      // Each artifact, read back by its own importer, against the IR.
      for (const a of ctx.artifacts) {
        if (!a.reimported) continue;
        const fam = a.backend.family;
        check(`IR = ${a.backend.name} output`, rulesSide('IR', restrictTo(ctx.ir, fam)), rulesSide(`${a.backend.name} output`, a.reimported), fam ? [fam] : undefined);
        for (const x of a.also ?? []) check(`IR = ${x.label}`, rulesSide('IR', ctx.ir), rulesSide(x.label, x.ruleset));
        if (a.routing && JSON.stringify(a.routing) !== JSON.stringify(ctx.ir.routing)) {
          ctx.failures.push(diag('internal-routing', undefined, { backend: a.backend.name, got: JSON.stringify(a.routing), want: JSON.stringify(ctx.ir.routing) }));
        }
      }
    },
  },
];

export interface CompileOptions {
  backends: string[];
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
  for (const p of passes) {
    const t0 = performance.now();
    if (p.name !== 'verify') ctx.progress?.(p.name);
    p.run(ctx);
    ctx.timings.push({ pass: p.name, ms: performance.now() - t0 });
    if (hasErrors(ctx.diagnostics) || p.name === opts.until) break;
  }
  return ctx;
}
