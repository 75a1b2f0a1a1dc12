// Renderers for diagnostics: human text with a caret, JSON, SARIF 2.1.0, GitHub annotations.
import type { SourceFile } from '../source.js';
import { catalogue } from './catalogue.js';
import type { Diagnostic } from './diagnostic.js';

export type Format = 'text' | 'json' | 'sarif' | 'github';
export const formats: readonly Format[] = ['text', 'json', 'sarif', 'github'];

/**
 * What the text, JSON and GitHub renderers need of a diagnostic: a lint finding (whose
 * code is a lint rule id, src/lint/rules.ts) renders the same way.
 */
export type Reportable = Omit<Diagnostic, 'code'> & { code: string };

export interface RenderOptions {
  sources: Map<string, SourceFile>;
  color?: boolean;
}

function paint(on: boolean | undefined, code: string, s: string): string {
  return on ? `\x1b[${code}m${s}\x1b[0m` : s;
}

/** Source lines longer than this are shown as a window around the caret. */
const MAX_SHOWN = 120;

/**
 * Control characters as their visible pictures (ESC as ␛), one for one so that the caret
 * stays aligned: input text must not drive the reader's terminal.
 */
export function visible(s: string): string {
  // eslint-disable-next-line no-control-regex -- matching control characters is the point
  return s.replace(/[\x00-\x08\x0a-\x1f\x7f]/g, (c) => String.fromCharCode(c === '\x7f' ? 0x2421 : 0x2400 + c.charCodeAt(0))).replace(/\t/g, ' ');
}

/** The part of a long line around [start, start + width), with … where it was cut. */
export function excerpt(text: string, start: number, width: number): { text: string; start: number; width: number } {
  if (text.length <= MAX_SHOWN) return { text, start, width };
  const w = Math.min(width, MAX_SHOWN - 40);
  const from = Math.max(0, Math.min(start - 30, text.length - MAX_SHOWN));
  const to = Math.min(text.length, from + MAX_SHOWN);
  const head = from > 0 ? '…' : '';
  return { text: head + text.slice(from, to) + (to < text.length ? '…' : ''), start: start - from + head.length, width: w };
}

export function renderText(ds: readonly Reportable[], opts: RenderOptions): string {
  const out: string[] = [];
  for (const d of ds) {
    const sevColor = d.severity === 'error' ? '31;1' : d.severity === 'warning' ? '33;1' : '36;1';
    const where = d.span ? `${d.span.file}:${d.span.start.line}:${d.span.start.col}: ` : d.file ? `${d.file}: ` : '';
    // The file name, message and hint may quote the input: all shown through visible().
    out.push(`${visible(where)}${paint(opts.color, sevColor, `${d.severity}[${d.code}]`)}: ${visible(d.message)}`);
    const src = d.span ? opts.sources.get(d.span.file) : undefined;
    if (d.span && src) {
      const line = d.span.start.line;
      const text = src.lineText(line);
      const gutter = String(line).length;
      const pad = ' '.repeat(gutter);
      const start = d.span.start.col - 1;
      const endCol = d.span.end.line === line ? d.span.end.col - 1 : text.length;
      const shown = excerpt(text, start, Math.max(1, endCol - start));
      out.push(`${pad} |`);
      out.push(`${line} | ${visible(shown.text)}`);
      out.push(`${pad} | ${' '.repeat(shown.start)}${paint(opts.color, sevColor, '^'.repeat(shown.width))}`);
    }
    if (d.hint) out.push(`  ${paint(opts.color, '36', 'hint')}: ${visible(d.hint)}`);
    out.push('');
  }
  return out.join('\n');
}

export function summaryLine(ds: readonly Reportable[]): string {
  const e = ds.filter((d) => d.severity === 'error').length;
  const w = ds.filter((d) => d.severity === 'warning').length;
  const i = ds.filter((d) => d.severity === 'info').length;
  const plural = (n: number, s: string) => `${n} ${s}${n === 1 ? '' : 's'}`;
  return `${plural(e, 'error')}, ${plural(w, 'warning')}${i ? `, ${plural(i, 'note')}` : ''}`;
}

export function toJson(d: Reportable) {
  return {
    code: d.code,
    severity: d.severity,
    message: d.message,
    ...(d.hint ? { hint: d.hint } : {}),
    file: d.span?.file ?? d.file ?? null,
    range: d.span
      ? {
          start: { line: d.span.start.line, column: d.span.start.col, offset: d.span.start.offset },
          end: { line: d.span.end.line, column: d.span.end.col, offset: d.span.end.offset },
        }
      : null,
  };
}

export function renderJson(ds: readonly Reportable[]): string {
  return JSON.stringify({ diagnostics: ds.map(toJson) }, null, 2) + '\n';
}

export function renderSarif(ds: readonly Diagnostic[], toolVersion: string): string {
  const codes = [...new Set(ds.map((d) => d.code))].sort();
  const rules = codes.map((c) => {
    const e = catalogue[c];
    return {
      id: c,
      shortDescription: { text: e.explain },
      defaultConfiguration: { level: sarifLevel(e.severity) },
    };
  });
  const results = ds.map((d) => ({
    ruleId: d.code,
    ruleIndex: codes.indexOf(d.code),
    level: sarifLevel(d.severity),
    message: { text: d.hint ? `${d.message} (hint: ${d.hint})` : d.message },
    ...(d.span
      ? {
          locations: [
            {
              physicalLocation: {
                artifactLocation: { uri: d.span.file },
                region: {
                  startLine: d.span.start.line,
                  startColumn: d.span.start.col,
                  endLine: d.span.end.line,
                  endColumn: d.span.end.col,
                },
              },
            },
          ],
        }
      : d.file
        ? { locations: [{ physicalLocation: { artifactLocation: { uri: d.file } } }] }
        : {}),
  }));
  const log = {
    $schema: 'https://json.schemastore.org/sarif-2.1.0.json',
    version: '2.1.0',
    runs: [{ tool: { driver: { name: 'meshcap', version: toolVersion, rules } }, results }],
  };
  return JSON.stringify(log, null, 2) + '\n';
}

function sarifLevel(s: string): 'error' | 'warning' | 'note' {
  return s === 'error' ? 'error' : s === 'warning' ? 'warning' : 'note';
}

/** GitHub Actions workflow commands: one annotation per line. */
export function renderGithub(ds: readonly Reportable[]): string {
  const esc = (s: string) => s.replace(/%/g, '%25').replace(/\r/g, '%0D').replace(/\n/g, '%0A');
  const escProp = (s: string) => esc(s).replace(/:/g, '%3A').replace(/,/g, '%2C');
  return ds
    .map((d) => {
      const kind = d.severity === 'error' ? 'error' : d.severity === 'warning' ? 'warning' : 'notice';
      const props = [`title=${escProp(d.code)}`];
      if (d.span) {
        props.unshift(
          `file=${escProp(d.span.file)}`,
          `line=${d.span.start.line}`,
          `col=${d.span.start.col}`,
          `endLine=${d.span.end.line}`,
          `endColumn=${d.span.end.col}`,
        );
      } else if (d.file) props.unshift(`file=${escProp(d.file)}`);
      return `::${kind} ${props.join(',')}::${esc(d.hint ? `${d.message} (hint: ${d.hint})` : d.message)}`;
    })
    .join('\n') + (ds.length ? '\n' : '');
}
