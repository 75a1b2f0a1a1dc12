import { catalogue, docsOf, isCode, type CatalogueEntry, type Code, type CommandExample } from '../../diagnostics/catalogue.js';
import { suggest, type Diagnostic } from '../../diagnostics/diagnostic.js';
import { renderText } from '../../diagnostics/render.js';
import { loadText } from '../../language/load.js';
import type { SourceFile } from '../../source.js';
import { lintDocsUri } from '../../lint/format.js';
import { isRule, RULES, type LintRule } from '../../lint/rules.js';
import { expectArgs, parse } from '../args.js';
import { EXIT, UsageError, type Io } from '../io.js';
import type { Command } from './command.js';

export const explain: Command = {
  name: 'explain',
  summary: 'explain a diagnostic code, or list them all',
  usage: `meshcap explain CODE
meshcap explain --list

Prints a diagnostic's severity, message, hint and explanation from the catalogue, an
input that has the problem with what meshcap says about it and the corrected input (where
the catalogue has them), and where the docs say more; or a
lint rule's level, rationale and a failing and a passing example (docs/lint.md).`,
  run(argv: string[], io: Io): number {
    const { values, positionals } = parse(argv, { list: { type: 'boolean' } });
    if (values.help) return (io.out(this.usage + '\n'), EXIT.ok);
    if (values.list) {
      const width = Math.max(...Object.keys(catalogue).map((c) => c.length));
      for (const [code, e] of Object.entries(catalogue)) io.out(`${code.padEnd(width)} ${e.severity.padEnd(8)} ${firstSentence(e.explain)}\n`);
      for (const [id, r] of Object.entries(RULES)) if (!(id in catalogue)) io.out(`${id.padEnd(width)} ${r.level.padEnd(8)} lint: ${r.summary}\n`);
      return EXIT.ok;
    }
    expectArgs(positionals, 1, 'explain takes one CODE (or --list)');
    const code = positionals[0];
    if (!isCode(code) && isRule(code)) return (io.out(lintRuleText(code, RULES[code])), EXIT.ok);
    if (!isCode(code)) throw new UsageError('usage-unknown-code', { code, suggestion: suggest(code, [...Object.keys(catalogue), ...Object.keys(RULES)]) });
    io.out(explainText(code, io.color));
    // A warning of check is also a lint rule: its examples follow.
    if (isRule(code)) io.out(`\n${lintExamples(RULES[code])}lint rule: ${lintDocsUri()}#${code}\n`);
    return EXIT.ok;
  },
};

/** The first sentence of an explanation (an abbreviation's or a code span's full stop does not end it). */
export function firstSentence(text: string): string {
  const re = /\.(?=\s|$)/g;
  for (let m = re.exec(text); m; m = re.exec(text)) {
    const before = text.slice(0, m.index);
    if (/\b(e\.g|i\.e|etc|vs)$/.test(before) || (before.split('`').length - 1) % 2 === 1) continue;
    return before;
  }
  return text.replace(/\.$/, '');
}

/** A template with each hole as its argument's name in capitals: `'{text}' is not a port` -> `'TEXT' is not a port`. */
function placeholders(template: string): string {
  return template.replace(/\{(\w+)\}/g, (_m, name: string) => name.toUpperCase());
}

/** What meshcap says about the entry's bad example: the diagnostic of this code, rendered as check prints it. */
function exampleDiagnostic(code: Code, bad: string): { d: Diagnostic; source: SourceFile } | undefined {
  const loaded = loadText('example.intercept', bad, 'intercept');
  const d = loaded.diagnostics.find((x) => x.code === code);
  return d && loaded.source ? { d, source: loaded.source } : undefined;
}

const indent = (text: string) =>
  text
    .trimEnd()
    .split('\n')
    .map((l) => `    ${l}`)
    .join('\n') + '\n';

export function explainText(code: Code, color = false): string {
  const e: CatalogueEntry = catalogue[code];
  const example = typeof e.bad === 'string' ? exampleDiagnostic(code, e.bad) : undefined;
  const message = example?.d.message ?? placeholders(e.message);
  const hint = example ? example.d.hint : e.hint && placeholders(e.hint);
  let out = `${code} (${e.severity})\n\n  ${message}\n${hint ? `  hint: ${hint}\n` : ''}\n${e.explain}\n`;
  if (typeof e.bad === 'string') {
    out += `\nFor example, example.intercept:\n${indent(e.bad)}`;
    if (example) out += `meshcap check example.intercept says:\n${indent(renderText([example.d], { sources: new Map([['example.intercept', example.source]]), color }))}`;
  } else if (e.bad) out += `\nFor example:\n${commandText(e.bad)}`;
  if (typeof e.good === 'string') out += `\nCorrected:\n${indent(e.good)}`;
  else if (e.good) out += `\nCorrected:\n${commandText(e.good, typeof e.bad === 'object' ? e.bad : undefined)}`;
  out += `\nDocs: ${docsOf(code)}\n`;
  return out;
}

/** A command-line example: the command, what it takes when it is not run, and its files (those `like` does not already show). */
function commandText(x: CommandExample, like?: CommandExample): string {
  let out = `    $ ${x.command}\n`;
  if (x.illustrative) out += `    (${x.illustrative})\n`;
  for (const [name, text] of Object.entries(x.files ?? {})) {
    if (like?.files?.[name] === text && !like.latin1 === !x.latin1) continue;
    out += `  ${name}${x.latin1 ? ' (Latin-1)' : ''}:\n${indent(text).replace(/^ {4}/gm, '      ')}`;
  }
  return out;
}

/**
 * A command line's words as a POSIX shell splits them (quotes kept together), its leading
 * VAR=value assignments apart: what test/explain.test.ts runs.
 */
export function commandWords(command: string): { env: Record<string, string>; words: string[] } {
  const words: string[] = [];
  for (const m of command.matchAll(/(?:'[^']*'|"[^"]*"|[^\s'"])+/g)) words.push(m[0].replace(/'([^']*)'|"([^"]*)"/g, (_q, a: string | undefined, b: string | undefined) => a ?? b ?? ''));
  const env: Record<string, string> = {};
  while (words.length && /^[A-Z_][A-Z0-9_]*=/.test(words[0])) {
    const [k, ...v] = words.shift()!.split('=');
    env[k] = v.join('=');
  }
  return { env, words };
}

function lintExamples(r: LintRule): string {
  return `Fails:\n${indent(r.bad)}\nPasses:\n${indent(r.good)}\n`;
}

function lintRuleText(id: string, r: LintRule): string {
  return `${id} (${r.level}, lint rule: ${r.scope})\n\n  ${r.summary}\n\n${r.explain}\n\n${lintExamples(r)}${lintDocsUri()}#${id} (${r.docs})\n`;
}
