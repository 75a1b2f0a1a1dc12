// docs/language.md against the language itself: the generated keyword reference must be
// the schema's, verbatim, and the hand-written full example must be a clean policy that
// means the same in both syntaxes.
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { buildPolicy } from '../src/language/build.js';
import { BEGIN, END, exampleFragments, renderReference, spliceReference } from './harness/docgen.js';
import { policyFingerprint } from '../src/language/fingerprint.js';
import { blocks } from '../src/language/schema.js';
import { loadText } from '../src/language/load.js';
import { parseIntercept } from '../grammar/visitor.js';
import { printIntercept } from '../grammar/printer.js';
import { printYaml } from '../grammar/yaml-printer.js';
import { SourceFile } from '../src/source.js';
import type { Code } from '../src/diagnostics/catalogue.js';

/** The codes of a text that does not parse (lexer, parser, braces, commas). */
const SYNTAX_CODES: readonly Code[] = [
  'unexpected-character', 'syntax-error', 'missing-open-brace', 'nested-policy', 'unclosed-block', 'unmatched-brace', 'unnamed-block',
  'multi-word-policy-name', 'multi-word-block-name', 'stray-comma', 'double-comma', 'list-starts-with-comma', 'list-ends-with-comma', 'outside-policy',
];

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const docPath = join(root, 'docs', 'language.md');
const doc = readFileSync(docPath, 'utf8');

/** The fenced code blocks of a markdown text, with their info strings. */
function fences(md: string): { lang: string; body: string }[] {
  const out: { lang: string; body: string }[] = [];
  const re = /^```([^\n`]*)\n([\s\S]*?)^```$/gm;
  for (let m = re.exec(md); m; m = re.exec(md)) out.push({ lang: m[1].trim(), body: m[2] });
  return out;
}

function section(md: string, heading: string): string {
  const start = md.indexOf(`\n## ${heading}\n`);
  expect(start, `docs/language.md has a '## ${heading}' section`).toBeGreaterThanOrEqual(0);
  const next = md.indexOf('\n## ', start + 1);
  return md.slice(start, next < 0 ? undefined : next);
}

describe('docs/language.md', () => {
  it('contains the keyword reference generated from the schema, verbatim', () => {
    // On failure: npx tsc -p . && node dist/test/harness/docgen.js --write
    const generated = renderReference();
    expect(doc.includes(generated), 'the generated reference is stale: run `node dist/test/harness/docgen.js --write`').toBe(true);
    expect(doc.split(BEGIN).length).toBe(2);
    expect(doc.split(END).length).toBe(2);
    expect(spliceReference(doc, generated)).toBe(doc);
  });

  it('documents every block and statement of the schema', () => {
    const ref = renderReference();
    for (const b of blocks) {
      if (b.id) expect(ref).toContain(`### Block \`${b.id}\``);
      for (const s of b.statements) {
        expect(ref).toContain(`#### \`${s.words.join(' ')}\``);
        expect(ref).toContain(`- YAML key: \`${s.id}\``);
      }
    }
  });

  it('splices a section between the markers and nowhere else', () => {
    const text = `intro\n${BEGIN}\nold\n${END}\noutro\n`;
    expect(spliceReference(text, `${BEGIN}\nnew\n${END}\n`)).toBe(`intro\n${BEGIN}\nnew\n${END}\noutro\n`);
    expect(() => spliceReference('no markers', 'x')).toThrow();
  });

  it("every statement's schema example is accepted by its statement", () => {
    for (const b of blocks) {
      for (const s of b.statements) {
        const body = b.id ? `  ${b.id} {\n    ${s.example}\n  }\n` : `  ${s.example}\n`;
        const tree = parseIntercept(new SourceFile('x.intercept', `policy x {\n${body}}\n`));
        expect(tree.diagnostics, `${b.id ?? 'policy'}.${s.id}: ${s.example}`).toEqual([]);
        const built = buildPolicy(tree.tree);
        expect(built.diagnostics.map((d) => d.message), `${b.id ?? 'policy'}.${s.id}: ${s.example}`).toEqual([]);
        const ex = exampleFragments(b, s);
        expect(ex.intercept).toContain(s.words.join(' '));
        expect(ex.yaml).toContain(`${s.id}:`);
      }
    }
  });

  it('the full example is clean, canonical, and the same policy in both syntaxes', () => {
    const blocksOf = fences(section(doc, 'A full example'));
    const dsl = blocksOf.find((f) => f.lang === 'intercept');
    const yaml = blocksOf.find((f) => f.lang === 'yaml');
    expect(dsl && yaml).toBeTruthy();
    const a = loadText('full.intercept', dsl!.body, 'intercept');
    const b = loadText('full.yaml', yaml!.body, 'yaml');
    expect(a.diagnostics).toEqual([]);
    expect(b.diagnostics).toEqual([]);
    expect(policyFingerprint(a.policy!)).toBe(policyFingerprint(b.policy!));
    expect(printIntercept(a.tree!)).toBe(dsl!.body);
    expect(printYaml(b.tree!)).toBe(yaml!.body);
  });

  it('its .intercept snippets parse', () => {
    for (const f of fences(doc)) {
      if (f.lang !== 'intercept') continue;
      const text = /^\s*(#.*\n)*\s*policy\b/.test(f.body) ? f.body : `policy snippet {\n${f.body}}\n`;
      const r = loadText('snippet.intercept', text, 'intercept');
      expect(r.syntaxFailed, f.body).toBe(false);
      expect(r.diagnostics.filter((d) => SYNTAX_CODES.includes(d.code)), f.body).toEqual([]);
    }
  });
});
