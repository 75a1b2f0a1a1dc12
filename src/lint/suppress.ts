// Inline suppressions: `# meshcap-ignore RULE-ID[, RULE-ID]: reason` in a policy or YAML
// manifest (on the line it applies to, or alone on the line above it), and the annotation
// `meshcap.io/ignore: "RULE-ID: reason"` on a workload's pod template (for the whole
// workload). A suppression without a reason still applies but is itself a finding; one
// that suppresses nothing, or names no rule, is a finding too.
import { suggest } from '../diagnostics/diagnostic.js';
import type { SourceFile, Span } from '../source.js';
import { isRule, RULES } from './rules.js';

export interface Suppression {
  rules: string[];
  reason: string;
  span: Span;
  /** Lines it covers (1-based), or a whole workload's findings (by workload index). */
  lines?: number[];
  workload?: number;
  used: Set<string>;
}

const COMMENT = /#\s*meshcap-ignore\b[ \t]*([^\n:]*?)[ \t]*(?::[ \t]*(.*?))?[ \t]*$/;

/** Parse `RULE, RULE: reason`. */
function parseBody(body: string): { rules: string[]; reason: string } {
  const i = body.indexOf(':');
  const ids = (i < 0 ? body : body.slice(0, i)).split(/[\s,]+/).filter(Boolean);
  return { rules: ids, reason: i < 0 ? '' : body.slice(i + 1).trim() };
}

export function commentSuppressions(src: SourceFile): Suppression[] {
  const out: Suppression[] = [];
  const n = src.lineStarts.length;
  for (let line = 1; line <= n; line++) {
    const text = src.lineText(line);
    const at = text.indexOf('meshcap-ignore');
    if (at < 0) continue;
    const hash = text.lastIndexOf('#', at);
    if (hash < 0) continue;
    const m = COMMENT.exec(text.slice(hash));
    if (!m) continue;
    const start = src.lineStarts[line - 1] + hash;
    const own = text.slice(0, hash).trim() === '';
    let target = line;
    if (own) {
      // The next line that is not blank and not a comment.
      target = line + 1;
      while (target <= n && /^\s*(#.*)?$/.test(src.lineText(target))) target++;
    }
    const { rules, reason } = parseBody(`${m[1]}${m[2] !== undefined ? `:${m[2]}` : ''}`);
    out.push({ rules, reason, span: src.span(start, src.lineStarts[line - 1] + text.length), lines: [target], used: new Set() });
  }
  return out;
}

export function annotationSuppression(value: string, span: Span, workload: number): Suppression {
  const { rules, reason } = parseBody(value);
  return { rules, reason, span, workload, used: new Set() };
}

export interface SuppressionFinding {
  rule: 'suppression-without-reason' | 'unused-suppression' | 'suppression-unknown-rule';
  message: string;
  hint?: string;
  span: Span;
}

/** The findings about the suppressions themselves, once every finding was matched. */
export function suppressionFindings(ss: Suppression[]): SuppressionFinding[] {
  const out: SuppressionFinding[] = [];
  for (const s of ss) {
    if (!s.rules.length) {
      out.push({ rule: 'suppression-unknown-rule', span: s.span, message: 'meshcap-ignore names no rule', hint: "write '# meshcap-ignore RULE-ID: reason'" });
      continue;
    }
    if (!s.reason) out.push({ rule: 'suppression-without-reason', span: s.span, message: `meshcap-ignore ${s.rules.join(', ')} gives no reason`, hint: `say why after a colon: '# meshcap-ignore ${s.rules.join(', ')}: REASON'` });
    for (const r of s.rules) {
      if (!isRule(r)) out.push({ rule: 'suppression-unknown-rule', span: s.span, message: `meshcap-ignore names '${r}', which is not a lint rule`, hint: suggest(r, Object.keys(RULES)) });
      else if (!s.used.has(r)) out.push({ rule: 'unused-suppression', span: s.span, message: `meshcap-ignore ${r} suppresses nothing`, hint: 'remove it: the finding it was written for is gone' });
    }
  }
  return out;
}
