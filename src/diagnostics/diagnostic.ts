import type { Span } from '../source.js';
import { catalogue, type Code, type Severity } from './catalogue.js';

export interface Diagnostic {
  code: Code;
  severity: Severity;
  message: string;
  hint?: string;
  span?: Span;
  /** The file a diagnostic without a span is about (a file that cannot be read). */
  file?: string;
}

export type Args = Record<string, string | number>;

function fill(template: string, args: Args): string {
  return template.replace(/\{(\w+)\}/g, (m, k: string) => (k in args ? String(args[k]) : m));
}

/** Codes about a whole file, whose `path` argument is that file (elsewhere `path` is a JSON path). */
const FILE_CODES = new Set<Code>(['file-unreadable', 'unknown-file-type', 'not-utf8', 'lint-no-input', 'file-exists']);

/**
 * Make a diagnostic from the catalogue. `hint` overrides the catalogue's hint; an empty
 * filled hint (e.g. a suggestion that found nothing) is dropped.
 */
export function diag(code: Code, span: Span | undefined, args: Args = {}, hint?: string): Diagnostic {
  const entry = catalogue[code];
  const hintTemplate = hint ?? ('hint' in entry ? entry.hint : undefined);
  const filledHint = hintTemplate === undefined ? undefined : fill(hintTemplate, args).trim();
  const d: Diagnostic = { code, severity: entry.severity, message: fill(entry.message, args), span };
  if (filledHint) d.hint = filledHint;
  // A diagnostic about a file as a whole still names it in every output format.
  if (!span && FILE_CODES.has(code) && typeof args.path === 'string') d.file = args.path;
  return d;
}

export function hasErrors(ds: readonly Diagnostic[]): boolean {
  return ds.some((d) => d.severity === 'error');
}

/** Stable order: by file, position, then code. */
export function sortDiagnostics(ds: Diagnostic[]): Diagnostic[] {
  return ds.sort((a, b) => {
    const fa = a.span?.file ?? a.file ?? '';
    const fb = b.span?.file ?? b.file ?? '';
    if (fa !== fb) return fa < fb ? -1 : 1;
    const oa = a.span?.start.offset ?? -1;
    const ob = b.span?.start.offset ?? -1;
    if (oa !== ob) return oa - ob;
    return a.code < b.code ? -1 : a.code > b.code ? 1 : 0;
  });
}

/** Edit distance, for "did you mean" hints. */
export function levenshtein(a: string, b: string): number {
  const prev = new Array(b.length + 1).fill(0).map((_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let diagPrev = prev[0];
    prev[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const tmp = prev[j];
      prev[j] = Math.min(prev[j] + 1, prev[j - 1] + 1, diagPrev + (a[i - 1] === b[j - 1] ? 0 : 1));
      diagPrev = tmp;
    }
  }
  return prev[b.length];
}

/** "did you mean 'x'?" when one candidate is close enough, else undefined. */
export function didYouMean(word: string, candidates: readonly string[]): string | undefined {
  const s = suggest(word, candidates);
  return s.startsWith('did you mean') ? s : undefined;
}

/** "did you mean 'x'?" for the closest candidate within a sensible distance, or a list. */
export function suggest(word: string, candidates: readonly string[]): string {
  let best: string | undefined;
  let bestD = Infinity;
  for (const c of candidates) {
    const d = levenshtein(word.toLowerCase(), c);
    if (d < bestD) {
      bestD = d;
      best = c;
    }
  }
  const limit = Math.max(1, Math.floor(word.length / 3));
  if (best !== undefined && bestD <= limit) return `did you mean '${best}'?`;
  return `expected one of: ${candidates.join(', ')}`;
}
