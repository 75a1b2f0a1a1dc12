// meshcap as a library: `import { compile } from 'meshcap'`. The package's one entry
// (package.json "exports"), kept small and stable: each function takes file paths as the
// CLI does and returns plain data with the same catalogued diagnostics, never printing and
// never exiting. What it returns is documented in README.md ("As a library").
import { restrictTo } from '../backends/index.js';
import { compile as runCompile } from './compile/pipeline.js';
import { loadSide, mergeRuleSets } from './compile/sides.js';
import { version as meshcapVersion } from './compile/version.js';
import { diag, hasErrors, type Diagnostic } from './diagnostics/diagnostic.js';
import type { Family, RuleSet } from './ir/types.js';
import { loadFile, loadText } from './language/load.js';
import type { Policy } from './language/ast.js';
import { normalizePacket, parseCompactPacket, type Packet } from './sim/packet.js';
import { simulate, type SimResult } from './sim/simulate.js';
import { equivalent, type EquivResult } from './verify/engine.js';
import { rulesSide } from './verify/side.js';

export type { Diagnostic, Family, Packet, Policy, RuleSet };

/** meshcap's version, as `meshcap --version` prints it. */
export const version = (): string => meshcapVersion();

export interface LoadResult {
  /** The typed policy; undefined when the input has errors. */
  policy?: Policy;
  diagnostics: Diagnostic[];
}

/** Parse and validate a policy file (`.intercept`, `.yaml`, `.yml`), or a text when `text` is given (its syntax from the path's extension). */
export function load(path: string, text?: string): LoadResult {
  const l = text === undefined ? loadFile(path) : loadText(path, text, /\.ya?ml$/.test(path) ? 'yaml' : 'intercept');
  return { policy: hasErrors(l.diagnostics) ? undefined : l.policy, diagnostics: l.diagnostics };
}

export interface CompileOptions {
  /** Backend names (iptables, ip6tables, nftables, shell); default iptables and ip6tables, for the policy's families. */
  backends?: string[];
  /** The provenance comment on each rule (default true). */
  comments?: boolean;
  /** nft release to target (default: meshcap's default). */
  nftVersion?: string;
  /** Prove the IR and every artifact (default true). */
  verify?: boolean;
}

export interface CompileResult {
  /** Compiled, and (unless verify was off) every proof equal. */
  ok: boolean;
  ir?: RuleSet;
  /** Each artifact with the file name `compile -o DIR` gives it. */
  artifacts: { backend: string; fileName: string; text: string }[];
  proofs: { stage: string; result: EquivResult['result']; classes: number; ms: number }[];
  /** The input's diagnostics, then meshcap's own failures (internal-* codes). */
  diagnostics: Diagnostic[];
}

export function compile(path: string, options: CompileOptions = {}): CompileResult {
  const defaulted = !options.backends?.length;
  const ctx = runCompile(path, { backends: defaulted ? ['iptables', 'ip6tables'] : options.backends!, comments: options.comments ?? true, nftVersion: options.nftVersion, verify: options.verify ?? true });
  const families = new Set(ctx.policy?.families.value ?? []);
  const failures = [...ctx.failures, ...ctx.verifyFailures.map((v) => diag(v.result.result === 'undecided' ? 'internal-verify-undecided' : 'internal-verify-different', undefined, { stage: v.stage, classes: v.result.classes, reason: v.result.reason ?? '' }))];
  const ok = !hasErrors(ctx.diagnostics) && !!ctx.ir && !failures.length;
  return {
    ok,
    ir: ctx.ir,
    artifacts: ok ? ctx.artifacts.filter((a) => !defaulted || !a.backend.family || families.has(a.backend.family)).map((a) => ({ backend: a.backend.name, fileName: `${ctx.policy!.name}.${a.backend.extension}`, text: a.text })) : [],
    proofs: ctx.verifyStats.map((s) => ({ stage: s.stage, result: s.result, classes: s.classes, ms: s.ms })),
    diagnostics: [...ctx.diagnostics, ...failures],
  };
}

export interface Comparison {
  /** 'equal': no packet differs; 'different': `differences` says which; 'undecided': `reason` says why; undefined: an input had errors. */
  result?: EquivResult['result'];
  reason?: string;
  families: Family[];
  classes: number;
  /** Each differing packet class, in words, with a packet of it and the two outcomes. */
  differences: { description: string; packet: Packet; a: unknown; b: unknown }[];
  diagnostics: Diagnostic[];
}

function compared(r: EquivResult, families: Family[], diagnostics: Diagnostic[]): Comparison {
  return { result: r.result, reason: r.reason, families, classes: r.classes, differences: r.differences.map((d) => ({ description: d.description, packet: d.packet, a: d.a, b: d.b })), diagnostics };
}

/** Prove a policy equal to rule sets a node runs (iptables-save, iptables-restore or nft JSON files), as `meshcap verify --against`. */
export function verify(policyPath: string, against: string[], options: { family?: Family; maxDifferences?: number } = {}): Comparison {
  const pol = loadSide(policyPath);
  const others = against.map((f) => loadSide(f, options.family));
  const diagnostics = [...pol.diagnostics, ...others.flatMap((o) => o.diagnostics)];
  if (hasErrors(diagnostics) || !pol.rs || others.some((o) => !o.rs)) return { families: [], classes: 0, differences: [], diagnostics };
  const families = [...new Set(others.flatMap((o) => o.families))];
  const theirs = mergeRuleSets(against.join(' + '), others.map((o) => o.rs!));
  return compared(equivalent(rulesSide(policyPath, restrictTo(pol.rs, undefined)), rulesSide(theirs.name, theirs), { families, maxDifferences: options.maxDifferences ?? 5 }), families, diagnostics);
}

/** The packet classes whose outcome changes between two policies or rule sets, as `meshcap diff`. */
export function diff(a: string, b: string, options: { maxDifferences?: number } = {}): Comparison {
  const A = loadSide(a);
  const B = loadSide(b);
  const diagnostics = [...A.diagnostics, ...B.diagnostics];
  if (hasErrors(diagnostics) || !A.rs || !B.rs) return { families: [], classes: 0, differences: [], diagnostics };
  const fams = (s: typeof A): Family[] => (s.meaning ? ['ipv4', 'ipv6'] : s.families);
  const families = [...new Set([...fams(A), ...fams(B)])].filter((f) => (A.meaning || A.families.includes(f)) && (B.meaning || B.families.includes(f)));
  return compared(equivalent(rulesSide(a, A.rs), rulesSide(b, B.rs), { families, maxDifferences: options.maxDifferences ?? 100 }), families, diagnostics);
}

export interface TraceResult {
  /** undefined when the policy or the packet had errors. */
  outcome?: SimResult['outcome'];
  /** Every rule the packet meets, in order. */
  path: SimResult['path'];
  diagnostics: Diagnostic[];
}

/** Every rule a packet meets in the policy's IR and the outcome; the packet as `trace --packet` takes it ('out tcp 10.1.0.5:40000 -> 10.2.0.9:9080 uid=1000') or as an object. */
export function trace(policyPath: string, packet: string | object): TraceResult {
  const parsed = typeof packet === 'string' ? parseCompactPacket(packet) : normalizePacket(packet);
  const packetProblems = parsed.problems.map((p) => diag('invalid-packet', undefined, { path: p.path, detail: p.message }));
  const ctx = runCompile(policyPath, { backends: [], verify: false, until: 'check-ir' });
  const diagnostics = [...ctx.diagnostics, ...ctx.failures, ...packetProblems];
  if (hasErrors(diagnostics) || !ctx.ir || !parsed.packet) return { path: [], diagnostics };
  const r = simulate(ctx.ir, parsed.packet);
  return { outcome: r.outcome, path: r.path, diagnostics };
}
