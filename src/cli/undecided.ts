// An undecided proof as diagnostics: at each unmodelled rule it depends on (the rule's
// file:line, from the rules-unmodelled warning the importer gave it), or the engine's limit.
import { diag, type Diagnostic } from '../diagnostics/diagnostic.js';
import type { Span } from '../source.js';
import type { EquivResult } from '../verify/engine.js';
import { packetText } from '../verify/compare.js';

/**
 * `r` undecided; `notes` the sides' diagnostics. An unmodelled match is named
 * `FILE:LINE: TEXT` (simulate.ts), as its warning's span says where it is.
 */
export function undecidedDiagnostics(r: EquivResult, notes: readonly Diagnostic[]): Diagnostic[] {
  if (!r.unsure?.length) return [diag('rules-undecided-limit', undefined, { reason: r.reason ?? 'no reason given' })];
  const at = new Map<string, Diagnostic>();
  for (const d of notes) if (d.code === 'rules-unmodelled' && d.span) at.set(`${d.span.file}:${d.span.start.line}`, d);
  return r.unsure.map((u) => {
    const m = /^(.*?:\d+): (.*)$/s.exec(u.rule);
    const where = m ? m[1] : u.rule;
    const text = m ? m[2] : u.rule;
    // Every importer warns at each unmodelled match; without the warning, its line in the text.
    const span = at.get(where)?.span ?? lineSpan(where);
    return diag('rules-undecided', span, { text, classes: u.classes, packet: packetText(u.packet) });
  });
}

function lineSpan(where: string): Span | undefined {
  const m = /^(.*):(\d+)$/.exec(where);
  if (!m) return undefined;
  const pos = { line: Number(m[2]), col: 1, offset: 0 };
  return { file: m[1], start: pos, end: pos };
}
