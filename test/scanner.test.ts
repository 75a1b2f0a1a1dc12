// The hand-written scanner (grammar/scanner.ts) against the reference: Chevrotain's Lexer
// built from the token definitions in grammar/tokens.ts. Expanded back into fine tokens,
// the scanner's output must be exactly the reference's (images, offsets, token types),
// with the same comments and the same errors, on any input.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import type { IToken } from 'chevrotain';
import { describe, expect, it } from 'vitest';
import { generatePolicy } from '../bench/parse-check.bench.js';
import { fineTokens, isRun, PART_COMMA, PART_CONTINUATION, PART_WORD, scan } from '../grammar/scanner.js';
import { referenceLexer } from './reference-lexer.js';
import { parseIntercept } from '../grammar/visitor.js';
import { SourceFile, SourceSpan } from '../src/source.js';

const specsDir = join(import.meta.dirname, '..', 'specs');

const view = (ts: IToken[]) => ts.map((t) => `${t.tokenType.name}@${t.startOffset}:${JSON.stringify(t.image)}`);

function agree(text: string): void {
  const ref = referenceLexer().tokenize(text);
  const got = scan(text);
  expect(view(fineTokens(text, got)), text).toEqual(view(ref.tokens));
  expect(view(got.comments), text).toEqual(view((ref.groups.comments ?? [])));
  expect(got.errors, text).toEqual(ref.errors.map((e) => ({ offset: e.offset, length: e.length })));
  // The braces the scanner lists for the brace analysis are all the braces, in order.
  expect(view(got.braces)).toEqual(view(ref.tokens.filter((t) => t.image === '{' || t.image === '}')));
}

/** Text made of the language's pieces and of what it rejects, so every branch is hit. */
const pieces = [
  'policy', 'policyx', 'xpolicy', 'inbound', 'exclude', 'ports', '15001', '8000-8100', '10.0.0.0/8', 'fd00::/8', '*', 'veth+', 'a.b', '@x', '\\',
  ',', ',', ',', '{', '}', ';', '\n', '\n', ' ', '  ', '\t', '\r\n', '\f', '\v', '\u00a0', '\ufeff',
  '# comment', '#', '#{},', '"', "'", '`', 'é', '€', '😀', '\u0000', '\u007f', '~', '=',
];
const policyText = fc.array(fc.constantFrom(...pieces), { maxLength: 60 }).map((xs) => xs.join(''));

describe('scanner', () => {
  it('reads every spec exactly as the reference lexer', () => {
    for (const f of readdirSync(specsDir).filter((x) => x.endsWith('.intercept'))) agree(readFileSync(join(specsDir, f), 'utf8'));
  });

  it('reads the benchmark policy exactly as the reference lexer', () => {
    agree(generatePolicy(2000));
  });

  it('reads random text exactly as the reference lexer, errors included', () => {
    fc.assert(
      fc.property(policyText, (text) => {
        agree(text);
      }),
      { numRuns: 3000 },
    );
  });

  it('reads random printable and control characters exactly as the reference lexer', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 40 }), (text) => {
        agree(text);
      }),
      { numRuns: 1000 },
    );
  });

  it("hands the parser a statement's head word and one run for the rest", () => {
    const text = 'policy p {\n  exclude ports 1, 2,  # more\n\n    3\n  mode tproxy; x\n  , y\n}\n';
    const s = scan(text);
    const shape = s.tokens.map((t) => {
      if (!isRun(t)) return t.tokenType.name === 'Newline' ? 'NL' : t.image;
      const parts: string[] = [];
      for (let k = t.partsFrom; k < t.partsTo; k++) {
        const kind = s.parts[3 * k];
        const image = text.slice(s.parts[3 * k + 1], s.parts[3 * k + 2]);
        parts.push(kind === PART_WORD ? image : kind === PART_COMMA ? ',' : kind === PART_CONTINUATION ? '⏎' : '?');
      }
      return `[${parts.join(' ')}]`;
    });
    // The newlines after '2,' continue the list (a comment and a blank line between); a
    // ',' that starts a statement is a token of its own, and the newline after it ends it.
    expect(shape).toEqual(['policy', '[p]', '{', 'NL', 'exclude', '[ports 1 , 2 , ⏎ ⏎ 3]', 'NL', 'mode', '[tproxy]', ';', 'x', 'NL', ',', '[y]', 'NL', '}', 'NL']);
  });

  it('a newline right after a statement-starting comma ends that statement', () => {
    const s = scan(',\nx y\n');
    expect(s.tokens.map((t) => (isRun(t) ? 'RUN' : t.tokenType.name))).toEqual(['Comma', 'Newline', 'Word', 'RUN', 'Newline']);
  });
});

describe('lazy spans of list values', () => {
  it('read exactly as spans worked out at once, in JSON too', () => {
    for (const f of readdirSync(specsDir).filter((x) => x.endsWith('.intercept'))) {
      const text = readFileSync(join(specsDir, f), 'utf8');
      const src = new SourceFile(f, text);
      const tree = parseIntercept(src).tree;
      const atoms = tree.policies.flatMap((p) => p.items).flatMap((i) => (i.kind === 'block' ? i.items : [i])).flatMap((i) => (i.kind === 'statement' ? i.atoms : []));
      expect(atoms.length).toBeGreaterThan(10);
      // Read out of order (last first), as diagnostics do.
      for (const a of [...atoms].reverse()) {
        const eager = new SourceFile(f, text).span(a.span.start.offset, a.span.end.offset);
        expect({ file: a.span.file, start: a.span.start, end: a.span.end }).toEqual(eager);
        expect(JSON.parse(JSON.stringify(a.span))).toEqual(eager);
        expect(text.slice(a.span.start.offset, a.span.end.offset)).toBe(a.text);
      }
    }
  });

  it('a SourceSpan copied field by field is plain data', () => {
    const src = new SourceFile('p.intercept', 'ab\ncd ef\n');
    const s = new SourceSpan(src, 6, 8);
    expect({ file: s.file, start: s.start, end: s.end }).toEqual({ file: 'p.intercept', start: { line: 2, col: 4, offset: 6 }, end: { line: 2, col: 6, offset: 8 } });
  });
});
