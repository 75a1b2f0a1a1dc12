// The lint runner: one input text (a policy or a manifest) -> findings by rule, with
// locations in that text, suppressions applied and levels from the configuration.
import type { Diagnostic } from '../diagnostics/diagnostic.js';
import type { Policy } from '../language/ast.js';
import { loadText, type Syntax } from '../language/load.js';
import { looksLikeManifest, noDefaults, workloadsOf, type MeshDefaults } from '../manifest/index.js';
import type { Cidr } from '../net/ip.js';
import { SourceFile, type Span } from '../source.js';
import { clearAnswers } from './ask.js';
import { spanKey, userSetItems, type RawFinding } from './engine-rules.js';
import { weight, type Job } from './judge.js';
import { judgeAll, type PoolStats, type Progress } from './pool.js';
import { isRule, RULES, type Level, type RuleId } from './rules.js';
import { annotationSuppression, commentSuppressions, suppressionFindings, type Suppression } from './suppress.js';

export interface LintOptions {
  levels: Record<string, Level | 'off'>;
  clusterCidrs: Cidr[];
  defaults: MeshDefaults;
  dnsServers: string[];
  /** Threads judging workloads (default 1: this one). */
  threads?: number;
  /** Called as texts are read and judgements finish (for a progress line). */
  progress?: (p: LintProgress) => void;
}

export interface LintProgress {
  files: number;
  of: number;
  workloads: number;
  /** Once every text is read: the engine's judgements done and to do. */
  judged?: { done: number; of: number };
}

export function defaultOptions(): LintOptions {
  return { levels: {}, clusterCidrs: [], defaults: noDefaults(), dnsServers: [] };
}

export interface Finding {
  rule: RuleId;
  level: Level;
  message: string;
  hint?: string;
  span: Span;
}

export interface LintResult {
  findings: Finding[];
  /** Input that could not be read (exit 2): syntax errors, a policy with errors. */
  errors: Diagnostic[];
  sources: Map<string, SourceFile>;
  policies: number;
  workloads: number;
  suppressed: number;
  /** Policies the engine judged (not found judged before), on how many threads, and how many by worker threads. */
  judged: { policies: number } & PoolStats;
}

export function emptyResult(): LintResult {
  return { findings: [], errors: [], sources: new Map(), policies: 0, workloads: 0, suppressed: 0, judged: { policies: 0, threads: 1, byWorkers: 0 } };
}

interface Pending {
  rule: RuleId;
  message: string;
  hint?: string;
  span: Span;
  workload?: number;
}

/** A policy loaded (parsed and checked) for lint. */
interface LintLoad {
  diagnostics: Diagnostic[];
  policy?: Policy;
  source?: SourceFile;
}

/** Loaded policies by text (less its name), and engine findings by job: workloads alike are loaded and judged once. */
const loads = new Map<string, LintLoad>();
const judged = new Map<string, RawFinding[]>();

/** Forget the judged policies (benchmarks time the judging itself). */
export function clearLintCache(): void {
  loads.clear();
  judged.clear();
  clearAnswers();
}

function load(path: string, text: string, syntax: Syntax, key?: string): LintLoad {
  const hit = key === undefined ? undefined : loads.get(key);
  if (hit) return hit;
  const loaded = loadText(path, text, syntax);
  const ok = loaded.policy && !loaded.diagnostics.some((d) => d.severity === 'error');
  const r: LintLoad = { diagnostics: loaded.diagnostics, source: loaded.source, ...(ok ? { policy: loaded.policy } : {}) };
  if (key !== undefined) {
    if (loads.size > 5000) loads.clear();
    loads.set(key, r);
  }
  return r;
}

/** What a text is: by extension, and for stdin (no extension) by its first statement. */
export function syntaxFor(path: string, text: string): Syntax | 'manifest' {
  if (/\.intercept$/i.test(path)) return 'intercept';
  if (!/\.ya?ml$/i.test(path) && /^\s*policy\s+[^\s:{]+\s*\{/m.test(text)) return 'intercept';
  return looksLikeManifest(text) ? 'manifest' : 'yaml';
}

/** The engine's judgements a run needs: new jobs by key, and the findings of jobs judged before. */
class Judgements {
  readonly jobs = new Map<string, Job>();
  readonly raw = new Map<string, RawFinding[]>();
  private files = 0;

  /** The job of a loaded policy (undefined: not judged, it has errors); with `cacheKey` (the policy's text), its findings serve later workloads and runs alike. */
  add(l: LintLoad, job: Omit<Job, 'policy' | 'flagged' | 'path' | 'text' | 'syntax'>, at: Pick<Job, 'path' | 'text' | 'syntax'>, cacheKey?: string): string | undefined {
    if (!l.policy) return undefined;
    const { clusterCidrs, ...rest } = job;
    const key = cacheKey === undefined ? `file:${this.files++}` : JSON.stringify([cacheKey, clusterCidrs.map((c) => `${c.addr}/${c.prefix}`), rest]);
    const hit = cacheKey === undefined ? undefined : judged.get(key);
    if (hit) this.raw.set(key, hit);
    else if (!this.raw.has(key) && !this.jobs.has(key)) {
      const flagged = l.diagnostics.filter((d) => d.span).map((d) => spanKey(d.span!));
      this.jobs.set(key, { ...job, ...at, policy: l.policy, flagged });
    }
    return key;
  }

  /** Judge the new jobs, the costliest first (on every thread when there are many). */
  judge(threads: number, progress: Progress | undefined, into: LintResult): void {
    const todo = [...this.jobs].sort((a, b) => weight(b[1]) - weight(a[1]));
    const stats: PoolStats = { threads: 1, byWorkers: 0 };
    const out = judgeAll(todo.map(([, j]) => j), threads, progress, stats);
    into.judged = { policies: into.judged.policies + todo.length, threads: Math.max(into.judged.threads, stats.threads), byWorkers: into.judged.byWorkers + stats.byWorkers };
    todo.forEach(([key], i) => {
      this.raw.set(key, out[i]);
      if (!key.startsWith('file:')) {
        if (judged.size > 5000) judged.clear();
        judged.set(key, out[i]);
      }
    });
  }

  findings(key: string | undefined): RawFinding[] {
    return key === undefined ? [] : this.raw.get(key)!;
  }
}

/** Lint one text; `path` is how findings name it (`<stdin>` for standard input). */
export function lintText(path: string, text: string, opts: LintOptions, into: LintResult = emptyResult()): LintResult {
  return lintTexts([{ path, text }], opts, into);
}

/**
 * Lint texts: each loaded and its workloads' policies built first, then every policy judged
 * by the engine (on `opts.threads` threads), then the findings put together per text.
 */
export function lintTexts(texts: { path: string; text: string }[], opts: LintOptions, into: LintResult = emptyResult()): LintResult {
  const j = new Judgements();
  const v6 = opts.clusterCidrs.some((c) => c.family === 'ipv6');
  let workloads = 0;
  const finish = texts.map(({ path, text }, i) => {
    opts.progress?.({ files: i, of: texts.length, workloads });
    const f = prepare(path, text, opts, j, v6);
    workloads += f.workloads;
    return f.finish;
  });
  j.judge(opts.threads ?? 1, opts.progress && ((done, of) => opts.progress!({ files: texts.length, of: texts.length, workloads, judged: { done, of } })), into);
  for (const f of finish) f(into);
  return into;
}

/** Load one text and queue its judgements; what it returns puts its findings into a result once judged. */
function prepare(path: string, text: string, opts: LintOptions, j: Judgements, v6: boolean): { workloads: number; finish: (into: LintResult) => void } {
  const src = new SourceFile(path, text);
  const kind = syntaxFor(path, text);
  if (kind !== 'manifest') {
    const l = load(path, text, kind);
    const key = j.add(l, { clusterCidrs: opts.clusterCidrs, dnsServers: opts.dnsServers, ipv6: true, userSet: null }, { path, text, syntax: kind });
    return { workloads: 0, finish: (into) => {
      into.sources.set(path, src);
      into.policies++;
      const errors = l.diagnostics.filter((d) => d.severity === 'error');
      if (errors.length) return void into.errors.push(...errors);
      const pending: Pending[] = [];
      // ipv6-bypass is answered by the engine (with a packet), not by check's warning.
      for (const d of l.diagnostics) if (d.code !== 'ipv6-bypass') fromCheck(pending, d, d.span);
      for (const f of j.findings(key)) if (f.span) pending.push({ rule: f.rule, message: f.message, ...(f.hint ? { hint: f.hint } : {}), span: f.span });
      settle(pending, commentSuppressions(src), opts, into);
    } };
  }
  const m = workloadsOf(src, { ...opts.defaults, dnsServers: opts.dnsServers });
  const judgedWorkloads = m.workloads.map((b) => {
    if (!b.policyText) return undefined;
    const px = b.workload.proxy;
    const owner = px ? { uid: px.uid ?? 1337, gid: px.gid ?? px.uid ?? 1337 } : undefined;
    const ports = b.workload.ports.filter((p) => p.protocol === 'TCP').map((p) => ({ port: p.port, container: p.container }));
    const loadKey = b.policyText.replace(/^policy \S+ \{$/m, 'policy _ {');
    const l = load(`${path}#${b.workload.kind}/${b.workload.name}`, b.policyText, 'intercept', loadKey);
    // The text loaded (a twin's, for a workload alike with another name): the spans of the items to judge are in it.
    const at = { path: l.source?.path ?? path, text: l.source?.text ?? b.policyText, syntax: 'intercept' as const };
    const userSet = l.policy ? userSetItems(l.policy, (s, item) => b.locate(s, item) !== undefined) : [];
    const key = j.add(l, { clusterCidrs: opts.clusterCidrs, ports, dnsServers: opts.dnsServers, ...(owner ? { proxyOwner: owner } : {}), ipv6: v6, userSet }, at, loadKey);
    return { l, key, px };
  });
  return { workloads: m.workloads.length, finish: (into) => {
    into.sources.set(path, src);
    into.errors.push(...m.diagnostics);
    const pending: Pending[] = [];
    const suppressions: Suppression[] = commentSuppressions(src);
    m.workloads.forEach((b, i) => {
      into.workloads++;
      if (b.ignore) suppressions.push(annotationSuppression(b.ignore.value, b.ignore.valueSpan, i));
      for (const is of b.issues) pending.push({ rule: is.rule, message: is.message, ...(is.hint ? { hint: is.hint } : {}), span: is.span, workload: i });
      const w = judgedWorkloads[i];
      if (!w) return;
      const at = (s: Span | null | undefined, item?: string) => b.locate(s, item) ?? b.workload.span;
      // Spans are in the text the policy was judged from (a cached twin may differ in its name's length).
      const textOf = (s: Span) => (w.l.source?.text ?? '').slice(s.start.offset, s.end.offset);
      for (const d of w.l.diagnostics) {
        if (d.code === 'ipv6-bypass') continue; // answered by the engine (below)
        const span = at(d.span, d.span ? textOf(d.span) : undefined);
        if (d.severity === 'error') pending.push({ rule: 'malformed-annotation', message: d.message, ...(d.hint ? { hint: d.hint } : {}), span, workload: i });
        else fromCheck(pending, d, span, i);
      }
      // A workload's families are the mesh's: IPv6 bypass matters where the cluster has IPv6 (an IPv6 cluster CIDR says so).
      for (const f of j.findings(w.key)) if (f.rule !== 'ipv6-bypass' || v6) pending.push({ rule: f.rule, message: f.message, ...(f.hint ? { hint: f.hint } : {}), span: (f.proxyOwner ? w.px?.span : undefined) ?? b.locate(f.span, f.item) ?? b.workload.ports.find((p) => p.port === f.port)?.span ?? b.workload.span, workload: i });
    });
    settle(pending, suppressions, opts, into);
  } };
}

function fromCheck(pending: Pending[], d: Diagnostic, span: Span | undefined, workload?: number): void {
  if (!isRule(d.code) || !span) return;
  pending.push({ rule: d.code, message: d.message, ...(d.hint ? { hint: d.hint } : {}), span, workload });
}

/** Suppressions, levels and one finding per rule, place and message. */
function settle(pending: Pending[], suppressions: Suppression[], opts: LintOptions, into: LintResult): void {
  // Suppressions first (a suppressed finding of a rule that is off still uses its suppression).
  const kept: Pending[] = [];
  for (const p of pending) {
    const s = suppressions.find((x) => x.rules.includes(p.rule) && (x.lines?.includes(p.span.start.line) || (x.workload !== undefined && x.workload === p.workload)));
    if (s) {
      s.used.add(p.rule);
      into.suppressed++;
    } else kept.push(p);
  }
  for (const f of suppressionFindings(suppressions)) kept.push(f);
  const seen = new Set<string>();
  for (const p of kept) {
    const level = opts.levels[p.rule] ?? RULES[p.rule].level;
    if (level === 'off') continue;
    // One finding per rule, place and message (workloads alike in one document are not).
    const k = `${p.rule}|${spanKey(p.span)}|${p.message}`;
    if (seen.has(k)) continue;
    seen.add(k);
    into.findings.push({ rule: p.rule, level, message: p.message, ...(p.hint ? { hint: p.hint } : {}), span: p.span });
  }
}

const ORDER: Record<Level, number> = { info: 0, warning: 1, error: 2 };
export const atLeast = (l: Level, min: Level) => ORDER[l] >= ORDER[min];

export function sortFindings(fs: Finding[]): Finding[] {
  return fs.sort((a, b) => (a.span.file !== b.span.file ? (a.span.file < b.span.file ? -1 : 1) : a.span.start.offset - b.span.start.offset || (a.rule < b.rule ? -1 : a.rule > b.rule ? 1 : 0)));
}
