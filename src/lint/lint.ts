// The lint runner: one input text (a policy or a manifest) -> findings by rule, with
// locations in that text, suppressions applied and levels from the configuration.
import type { Diagnostic } from '../diagnostics/diagnostic.js';
import { loadText, type Syntax } from '../language/load.js';
import { looksLikeManifest, noDefaults, workloadsOf, type MeshDefaults } from '../manifest/index.js';
import type { Cidr } from '../net/ip.js';
import { SourceFile, type Span } from '../source.js';
import { clearAnswers } from './ask.js';
import { engineFindings, spanKey, type RawFinding } from './engine-rules.js';
import { isRule, RULES, type Level, type RuleId } from './rules.js';
import { annotationSuppression, commentSuppressions, suppressionFindings, type Suppression } from './suppress.js';

export interface LintOptions {
  levels: Record<string, Level | 'off'>;
  clusterCidrs: Cidr[];
  defaults: MeshDefaults;
  dnsServers: string[];
  /** Called after each workload of a manifest (for a progress line: one big bundle on stdin is one file). */
  progress?: (r: LintResult) => void;
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
}

export function emptyResult(): LintResult {
  return { findings: [], errors: [], sources: new Map(), policies: 0, workloads: 0, suppressed: 0 };
}

interface Pending {
  rule: RuleId;
  message: string;
  hint?: string;
  span: Span;
  workload?: number;
}

/** Loaded policies and their engine findings, by policy text (less its name): workloads alike are judged once. */
const cache = new Map<string, { diagnostics: Diagnostic[]; raw: RawFinding[]; source?: SourceFile }>();

/** Forget the judged policies (benchmarks time the judging itself). */
export function clearLintCache(): void {
  cache.clear();
  clearAnswers();
}

function judge(path: string, text: string, syntax: Syntax, opts: LintOptions, ports: { port: number; container: string }[] | undefined, isUserSet: (s: Span | null, item: string) => boolean, cacheable: boolean, proxyOwner?: { uid: number; gid: number }) {
  const key = cacheable ? `${text.replace(/^policy \S+ \{$/m, 'policy _ {')}\n${JSON.stringify(ports?.map((p) => [p.port, p.container]))}\n${JSON.stringify(proxyOwner)}\n${opts.clusterCidrs.map((c) => `${c.addr}/${c.prefix}`).join()}${opts.dnsServers.join()}` : '';
  const hit = cacheable ? cache.get(key) : undefined;
  if (hit) return hit;
  const loaded = loadText(path, text, syntax);
  const diagnostics = loaded.diagnostics;
  let raw: RawFinding[] = [];
  if (loaded.policy && !diagnostics.some((d) => d.severity === 'error')) {
    const flagged = new Set(diagnostics.filter((d) => d.span).map((d) => spanKey(d.span!)));
    raw = engineFindings(loaded.policy, { clusterCidrs: opts.clusterCidrs, ports, dnsServers: opts.dnsServers, isUserSet, flagged, proxyOwner, ipv6: !cacheable || opts.clusterCidrs.some((c) => c.family === 'ipv6') });
  }
  const r = { diagnostics, raw, source: loaded.source };
  if (cacheable) {
    if (cache.size > 5000) cache.clear();
    cache.set(key, r);
  }
  return r;
}

/** What a text is: by extension, and for stdin (no extension) by its first statement. */
export function syntaxFor(path: string, text: string): Syntax | 'manifest' {
  if (/\.intercept$/i.test(path)) return 'intercept';
  if (!/\.ya?ml$/i.test(path) && /^\s*policy\s+[^\s:{]+\s*\{/m.test(text)) return 'intercept';
  return looksLikeManifest(text) ? 'manifest' : 'yaml';
}

/** Lint one text; `path` is how findings name it (`<stdin>` for standard input). */
export function lintText(path: string, text: string, opts: LintOptions, into: LintResult = emptyResult()): LintResult {
  const src = new SourceFile(path, text);
  into.sources.set(path, src);
  const kind = syntaxFor(path, text);
  const pending: Pending[] = [];
  const suppressions: Suppression[] = commentSuppressions(src);
  const fromCheck = (d: Diagnostic, span: Span | undefined, workload?: number) => {
    if (!isRule(d.code) || !span) return;
    pending.push({ rule: d.code, message: d.message, ...(d.hint ? { hint: d.hint } : {}), span, workload });
  };
  if (kind !== 'manifest') {
    into.policies++;
    const r = judge(path, text, kind, opts, undefined, (s) => s !== null, false);
    const errors = r.diagnostics.filter((d) => d.severity === 'error');
    if (errors.length) {
      into.errors.push(...errors);
      return into;
    }
    // ipv6-bypass is answered by the engine (with a packet), not by check's warning.
    for (const d of r.diagnostics) if (d.code !== 'ipv6-bypass') fromCheck(d, d.span);
    for (const f of r.raw) if (f.span) pending.push({ rule: f.rule, message: f.message, ...(f.hint ? { hint: f.hint } : {}), span: f.span });
  } else {
    const m = workloadsOf(src, { ...opts.defaults, dnsServers: opts.dnsServers });
    into.errors.push(...m.diagnostics);
    m.workloads.forEach((b, i) => {
      into.workloads++;
      opts.progress?.(into);
      if (b.ignore) suppressions.push(annotationSuppression(b.ignore.value, b.ignore.valueSpan, i));
      for (const is of b.issues) pending.push({ rule: is.rule, message: is.message, ...(is.hint ? { hint: is.hint } : {}), span: is.span, workload: i });
      if (!b.policyText) return;
      const at = (s: Span | null | undefined, item?: string) => b.locate(s, item) ?? b.workload.span;
      const px = b.workload.proxy;
      const owner = px ? { uid: px.uid ?? 1337, gid: px.gid ?? px.uid ?? 1337 } : undefined;
      const r = judge(`${path}#${b.workload.kind}/${b.workload.name}`, b.policyText, 'intercept', opts, b.workload.ports.filter((p) => p.protocol === 'TCP'), (s, item) => b.locate(s, item) !== undefined, true, owner);
      // Spans are in the text the policy was judged from (a cached twin may differ in its name's length).
      const textOf = (s: Span) => (r.source?.text ?? '').slice(s.start.offset, s.end.offset);
      for (const d of r.diagnostics) {
        if (d.code === 'ipv6-bypass') continue; // answered by the engine (below)
        const span = at(d.span, d.span ? textOf(d.span) : undefined);
        if (d.severity === 'error') pending.push({ rule: 'malformed-annotation', message: d.message, ...(d.hint ? { hint: d.hint } : {}), span, workload: i });
        else fromCheck(d, span, i);
      }
      // A workload's families are the mesh's: IPv6 bypass matters where the cluster has IPv6 (an IPv6 cluster CIDR says so).
      const v6 = opts.clusterCidrs.some((c) => c.family === 'ipv6');
      for (const f of r.raw) if (f.rule !== 'ipv6-bypass' || v6) pending.push({ rule: f.rule, message: f.message, ...(f.hint ? { hint: f.hint } : {}), span: (f.proxyOwner ? px?.span : undefined) ?? b.locate(f.span, f.item) ?? b.workload.ports.find((p) => p.port === f.port)?.span ?? b.workload.span, workload: i });
    });
  }
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
  return into;
}

const ORDER: Record<Level, number> = { info: 0, warning: 1, error: 2 };
export const atLeast = (l: Level, min: Level) => ORDER[l] >= ORDER[min];

export function sortFindings(fs: Finding[]): Finding[] {
  return fs.sort((a, b) => (a.span.file !== b.span.file ? (a.span.file < b.span.file ? -1 : 1) : a.span.start.offset - b.span.start.offset || (a.rule < b.rule ? -1 : a.rule > b.rule ? 1 : 0)));
}
