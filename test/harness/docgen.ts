// Renders the keyword reference of docs/language.md from the schema, so that the docs
// cannot drift from the language: every block and statement, its .intercept spelling and
// YAML key, what it takes, its default, its documentation and its example in both
// syntaxes (printed by the real printers). test/docs.test.ts checks that docs/language.md
// holds the rendered section verbatim.
//
//   node dist/test/harness/docgen.js           print the section
//   node dist/test/harness/docgen.js --write   rewrite it in docs/language.md
//   node dist/test/harness/docgen.js --check   exit 1 when docs/language.md is stale
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { printIntercept } from '../../grammar/printer.js';
import { parseIntercept } from '../../grammar/visitor.js';
import { printYaml } from '../../grammar/yaml-printer.js';
import { SourceFile } from '../../src/source.js';
import { toDslForm, toYamlForm } from '../../src/language/convert.js';
import { blocks as allBlocks, type BlockSpec, type StatementSpec } from '../../src/language/schema.js';

export const BEGIN = '<!-- BEGIN GENERATED REFERENCE (test/harness/docgen.ts): do not edit by hand; regenerate with `node dist/test/harness/docgen.js --write` -->';
export const END = '<!-- END GENERATED REFERENCE -->';

/** Escape a table cell. */
function cell(s: string): string {
  return s.replace(/\|/g, '\\|');
}

function code(s: string): string {
  return s.includes('`') ? `\`\` ${s} \`\`` : `\`${s}\``;
}

function blockTitle(b: BlockSpec): string {
  return b.id ? `Block \`${b.id}\`` : 'Top-level statements';
}

function anchorOf(b: BlockSpec, s: StatementSpec): string {
  return `${b.id ?? 'policy'}-${s.id}`;
}

/**
 * A statement's example as a fragment of a policy, in both syntaxes, printed by the
 * canonical printers (so the examples are what `fmt` would write).
 */
export function exampleFragments(b: BlockSpec, s: StatementSpec): { intercept: string; yaml: string } {
  const body = b.id ? `  ${b.id} {\n    ${s.example}\n  }\n` : `  ${s.example}\n`;
  const text = `policy example {\n${body}}\n`;
  const parsed = parseIntercept(new SourceFile('example.intercept', text));
  if (parsed.diagnostics.length) throw new Error(`schema example '${s.example}' of ${b.id ?? 'policy'}.${s.id} does not parse`);
  const dsl = printIntercept(toDslForm(parsed.tree)).trimEnd().split('\n');
  // Drop `policy example {` and `}`, and one level of indentation.
  const intercept = dsl
    .slice(1, -1)
    .map((l) => l.replace(/^ {2}/, ''))
    .join('\n');
  const yaml = printYaml(toYamlForm(parsed.tree))
    .trimEnd()
    .split('\n')
    .filter((l) => !l.startsWith('policy:'))
    .join('\n');
  return { intercept, yaml };
}

function renderStatement(b: BlockSpec, s: StatementSpec, out: string[]): void {
  const where = b.id ? ` (in \`${b.id}\`)` : '';
  out.push(`<a id="${anchorOf(b, s)}"></a>`);
  out.push(`#### ${code(s.words.join(' '))}${where}`);
  out.push('');
  out.push(s.doc);
  out.push('');
  out.push(`- YAML key: ${code(s.id)}`);
  out.push(`- Takes: ${s.kind.expected}`);
  out.push(`- Default: ${s.defaultText === '(none)' ? 'nothing (an empty list)' : code(s.defaultText)}`);
  out.push('');
  const ex = exampleFragments(b, s);
  out.push('```intercept');
  out.push(ex.intercept);
  out.push('```');
  out.push('');
  out.push('```yaml');
  out.push(ex.yaml);
  out.push('```');
  out.push('');
}

function renderBlock(b: BlockSpec, out: string[]): void {
  out.push(`### ${blockTitle(b)}`);
  out.push('');
  out.push(b.doc);
  out.push('');
  out.push('| .intercept | YAML key | takes | default |');
  out.push('|---|---|---|---|');
  for (const s of b.statements) {
    const dflt = s.defaultText === '(none)' ? '(nothing)' : code(s.defaultText);
    out.push(`| [${code(s.words.join(' '))}](#${anchorOf(b, s)}) | ${code(s.id)} | ${cell(s.kind.expected)} | ${cell(dflt)} |`);
  }
  out.push('');
  for (const s of b.statements) renderStatement(b, s, out);
}

/** The generated reference section, markers included. */
export function renderReference(bs: readonly BlockSpec[] = allBlocks): string {
  const out: string[] = [BEGIN, ''];
  const named = bs.filter((b) => b.id);
  out.push(
    `A policy has ${named.length} blocks (${named.map((b) => code(b.id!)).join(', ')}), each at most once and in any order, ` +
      'and the top-level statements. Every statement may appear at most once in its block; a statement left out takes its default.',
  );
  out.push('');
  for (const b of bs) renderBlock(b, out);
  out.push(END);
  return out.join('\n') + '\n';
}

/** Replace the generated section of `doc` (between the markers) with `section`. */
export function spliceReference(doc: string, section: string): string {
  const start = doc.indexOf(BEGIN);
  const endAt = doc.indexOf(END);
  if (start < 0 || endAt < start) throw new Error(`the document has no generated section (${BEGIN} ... ${END})`);
  let end = endAt + END.length;
  if (doc[end] === '\n') end++;
  return doc.slice(0, start) + section + doc.slice(end);
}

/** The repository root: the nearest folder above this file with meshcap's package.json. */
export function repoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    const p = join(dir, 'package.json');
    if (existsSync(p) && (JSON.parse(readFileSync(p, 'utf8')) as { name?: string }).name === 'meshcap') return dir;
    dir = dirname(dir);
  }
  throw new Error('cannot find the meshcap repository root');
}

export function languageDocPath(): string {
  return join(repoRoot(), 'docs', 'language.md');
}

function main(argv: string[]): number {
  const section = renderReference();
  if (argv.length === 0) {
    process.stdout.write(section);
    return 0;
  }
  const path = languageDocPath();
  const doc = readFileSync(path, 'utf8');
  const updated = spliceReference(doc, section);
  if (argv[0] === '--check') {
    if (updated === doc) return 0;
    process.stderr.write(`${path}: the generated reference is stale; run 'node dist/test/harness/docgen.js --write'\n`);
    return 1;
  }
  if (argv[0] === '--write') {
    if (updated !== doc) writeFileSync(path, updated);
    return 0;
  }
  process.stderr.write('usage: docgen.js [--write | --check]\n');
  return 3;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  process.exitCode = main(process.argv.slice(2));
}
