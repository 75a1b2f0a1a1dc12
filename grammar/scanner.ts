// The .intercept lexer: a hand-written scanner over the token set of tokens.ts.
//
// The parser needs tokens only for structure: where statements start and end, braces, the
// word that heads a statement. Everything after a statement's first word up to its end
// (the values, commas, and the newlines that continue a list after a trailing comma) is
// handed to it as one TailRun token, whose pieces ("parts": words, commas, continuation
// newlines) are recorded in a flat Int32Array instead of one object each. A 10,000-line
// policy is then a few hundred tokens for Chevrotain instead of 100,000, and the parts cost
// no allocation at all until the visitor makes atoms of them.
//
// The tokens the scanner reads are exactly those Chevrotain's Lexer reads from the
// definitions in tokens.ts, which remain the reference: `fineTokens` expands runs back
// into Word, Policy, Comma and Newline tokens, and test/scanner.test.ts checks that they
// equal the reference lexer's output (errors included) on generated and hand-picked input.
import type { IToken, TokenType } from 'chevrotain';
import { Comma, Comment, LCurly, Newline, Policy, RCurly, Semicolon, TailRun, Word } from './tokens.js';

/** An unexpected run of characters: what Chevrotain's lexer reports (offset and length). */
export interface ScanError {
  offset: number;
  length: number;
}

/** Kinds of the parts of a TailRun. */
export const PART_WORD = 0;
export const PART_COMMA = 1;
/** A newline after a ',' (comments and blank lines may stand between): the list goes on. */
export const PART_CONTINUATION = 2;

/** A TailRun token: its parts are `parts[from .. to)` (in part numbers, 3 ints each). */
export interface RunToken extends IToken {
  partsFrom: number;
  partsTo: number;
  /** Offset just after the run's last part. */
  end: number;
}

export interface Scanned {
  /** Tokens for the parser, in source order (no whitespace, no comments). */
  tokens: IToken[];
  /** Comment tokens, in source order (Chevrotain's `groups.comments`). */
  comments: IToken[];
  /** The '{' and '}' tokens among `tokens`, in source order, for the brace analysis. */
  braces: IToken[];
  errors: ScanError[];
  /** The parts of every run: kind, start offset, end offset (exclusive), part after part. */
  parts: Int32Array;
}

// Character classes of ASCII; everything above is an error but for two spaces.
const ERROR = 0;
const SPACE = 1;
const HASH = 2;
const NEWLINE = 3;
const SINGLE = 4; // { } ;
const COMMA = 5;
const WORD = 6;

const CLASS = new Uint8Array(128);
for (const ch of ' \t\r\f\v') CLASS[ch.charCodeAt(0)] = SPACE;
CLASS[35] = HASH;
CLASS[10] = NEWLINE;
for (const ch of '{};') CLASS[ch.charCodeAt(0)] = SINGLE;
CLASS[44] = COMMA;
// Word's pattern in tokens.ts: [\w.:/*+\-@%!$&=?^~[\]()<>|\\]
for (let c = 0; c < 128; c++) {
  if (/[\w.:/*+\-@%!$&=?^~[\]()<>|\\]/.test(String.fromCharCode(c))) CLASS[c] = WORD;
}

function classOf(c: number): number {
  if (c < 128) return CLASS[c];
  return c === 0xa0 || c === 0xfeff ? SPACE : ERROR;
}

const SINGLE_TYPE: Record<number, TokenType> = { 123: LCurly, 125: RCurly, 59: Semicolon };

/** The shape Chevrotain's lexer gives tokens under `positionTracking: 'onlyOffset'`. */
function token(image: string, startOffset: number, tokenType: TokenType): IToken {
  return { image, startOffset, tokenTypeIdx: tokenType.tokenTypeIdx!, tokenType };
}

export function scan(text: string): Scanned {
  const tokens: IToken[] = [];
  const comments: IToken[] = [];
  const errors: ScanError[] = [];
  const braces: IToken[] = [];
  let parts = new Int32Array(3 * 1024);
  let count = 0; // parts so far
  // At the start of a statement (the next word heads it), or inside one.
  let head = true;
  // The run of the current statement, once it has a part.
  let run: RunToken | undefined;
  // The last thing of the statement was a ',' (so a newline continues it).
  let afterComma = false;

  const part = (kind: number, start: number, end: number) => {
    if (3 * count + 3 > parts.length) {
      const bigger = new Int32Array(parts.length * 2);
      bigger.set(parts);
      parts = bigger;
    }
    if (!run) {
      run = { image: text.slice(start, end), startOffset: start, tokenTypeIdx: TailRun.tokenTypeIdx!, tokenType: TailRun, partsFrom: count, partsTo: count, end };
      tokens.push(run);
    }
    parts[3 * count] = kind;
    parts[3 * count + 1] = start;
    parts[3 * count + 2] = end;
    count++;
    run.partsTo = count;
    run.end = end;
  };
  const endStatement = () => {
    run = undefined;
    head = true;
    afterComma = false;
  };

  const n = text.length;
  let i = 0;
  while (i < n) {
    const c = text.charCodeAt(i);
    switch (classOf(c)) {
      case SPACE:
        i++;
        while (i < n && classOf(text.charCodeAt(i)) === SPACE) i++;
        break;
      case NEWLINE:
        if (afterComma) part(PART_CONTINUATION, i, i + 1);
        else {
          endStatement();
          tokens.push(token('\n', i, Newline));
        }
        i++;
        break;
      case SINGLE: {
        endStatement();
        const t = token(text[i], i, SINGLE_TYPE[c]);
        tokens.push(t);
        if (c !== 59) braces.push(t);
        i++;
        break;
      }
      case COMMA:
        if (head) {
          // A statement that starts with ',': the grammar's `stray`; the rest of its line is
          // its run (a newline right after it ends it: only a ',' inside a list continues one).
          tokens.push(token(',', i, Comma));
          head = false;
        } else {
          part(PART_COMMA, i, i + 1);
          afterComma = true;
        }
        i++;
        break;
      case HASH: {
        let j = text.indexOf('\n', i);
        if (j < 0) j = n;
        comments.push(token(text.slice(i, j), i, Comment));
        i = j;
        break;
      }
      case WORD: {
        let j = i + 1;
        while (j < n) {
          const d = text.charCodeAt(j);
          if (d >= 128 || CLASS[d] !== WORD) break;
          j++;
        }
        if (head) {
          const image = text.slice(i, j);
          tokens.push(token(image, i, image === 'policy' ? Policy : Word));
          head = false;
        } else part(PART_WORD, i, j);
        afterComma = false;
        i = j;
        break;
      }
      default: {
        // Like Chevrotain: drop characters until one can start a token, and report the run.
        let j = i + 1;
        while (j < n && classOf(text.charCodeAt(j)) === ERROR) j++;
        errors.push({ offset: i, length: j - i });
        i = j;
      }
    }
  }
  return { tokens, comments, braces, errors, parts };
}

export function isRun(t: IToken): t is RunToken {
  return t.tokenType === TailRun && (t as RunToken).partsFrom !== undefined;
}

/**
 * The tokens Chevrotain's lexer makes of the same text (`positionTracking: 'onlyOffset'`):
 * runs expanded into Word, Policy, Comma and Newline tokens. For the YAML reader, which
 * splits scalars into atoms, and for the test against the reference lexer.
 */
export function fineTokens(text: string, scanned: Scanned = scan(text)): IToken[] {
  const out: IToken[] = [];
  const p = scanned.parts;
  for (const t of scanned.tokens) {
    if (!isRun(t)) {
      out.push(t);
      continue;
    }
    for (let k = t.partsFrom; k < t.partsTo; k++) {
      const kind = p[3 * k];
      const start = p[3 * k + 1];
      const image = text.slice(start, p[3 * k + 2]);
      out.push(token(image, start, kind === PART_COMMA ? Comma : kind === PART_CONTINUATION ? Newline : image === 'policy' ? Policy : Word));
    }
  }
  return out;
}
