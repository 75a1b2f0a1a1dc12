// Printing diagnostics in the format a command was asked for.
import type { Diagnostic } from '../diagnostics/diagnostic.js';
import { renderGithub, renderJson, renderSarif, renderText, summaryLine, type Format } from '../diagnostics/render.js';
import type { SourceFile } from '../source.js';
import type { Io } from './io.js';
import { version } from '../compile/version.js';

/** How many diagnostics of one file text output shows before it counts the rest. */
export const DEFAULT_DIAGNOSTIC_LIMIT = 50;
let limit = DEFAULT_DIAGNOSTIC_LIMIT;

/** Set by each command's argument parsing (`--max-diagnostics N`, 0 for all). */
export function setDiagnosticLimit(n: number): void {
  limit = n;
}

/**
 * At most `limit` diagnostics per file, and a note counting the rest: a file with
 * thousands of mistakes stays readable. JSON, SARIF and GitHub output keep them all.
 */
/** A diagnostic, or a lint finding (which has a level where a diagnostic has a severity). */
type Capped = Pick<Diagnostic, 'span' | 'file'> & { severity?: string; level?: string };

export function bounded<D extends Capped>(ds: D[]): { shown: D[]; notes: string[] } {
  if (limit === 0 || ds.length <= limit) return { shown: ds, notes: [] };
  const perFile = new Map<string, number>();
  const hidden = new Map<string, number>();
  const keep = new Set<D>();
  // Errors first, then warnings, then notes, so that a file's thousands of warnings never
  // hide the error that makes it exit 2; shown in their own (position) order.
  for (const severity of ['error', 'warning', 'info'] as const) {
    for (const d of ds) {
      if ((d.severity ?? d.level) !== severity) continue;
      const f = d.span?.file ?? d.file ?? '';
      const n = (perFile.get(f) ?? 0) + 1;
      perFile.set(f, n);
      if (n <= limit) keep.add(d);
      else hidden.set(f, (hidden.get(f) ?? 0) + 1);
    }
  }
  const shown = ds.filter((d) => keep.has(d));
  const notes = [...hidden].map(([f, n]) => `... and ${n} more in ${f || 'this run'} (--max-diagnostics N shows more, 0 all)`);
  return { shown, notes };
}

export function report(io: Io, format: Format, ds: Diagnostic[], sources: Map<string, SourceFile>, opts: { always?: boolean } = {}): void {
  switch (format) {
    case 'json':
      io.out(renderJson(ds));
      return;
    case 'sarif':
      io.out(renderSarif(ds, version()));
      return;
    case 'github':
      io.out(renderGithub(ds));
      return;
    case 'text':
      if (ds.length === 0 && !opts.always) return;
      {
        const { shown, notes } = bounded(ds);
        io.err(renderText(shown, { sources, color: io.color }));
        for (const n of notes) io.err(n + '\n');
        io.err(summaryLine(ds) + '\n');
      }
  }
}
