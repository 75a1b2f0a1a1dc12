// Printing diagnostics in the format a command was asked for.
import type { Diagnostic } from '../diagnostics/diagnostic.js';
import { renderGithub, renderJson, renderSarif, renderText, summaryLine, type Format } from '../diagnostics/render.js';
import type { SourceFile } from '../source.js';
import type { Io } from './io.js';
import { version } from '../compile/version.js';

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
      io.err(renderText(ds, { sources, color: io.color }));
      io.err(summaryLine(ds) + '\n');
  }
}
