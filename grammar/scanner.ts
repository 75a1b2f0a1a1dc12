// The .intercept lexer: a hand-written scanner for the token set of tokens.ts, producing
// the tokens Chevrotain's Lexer produces from those definitions (offsets only), several
// times faster, with one difference: a newline token that follows a ',' (only comments and
// blank lines between) is a Continuation, so that the parser reads a list across lines as
// one run of TailPart tokens. The token types are Chevrotain's; the definitions in
// tokens.ts remain the reference, and test/scanner.test.ts checks that both lexers agree
// (Continuation read as Newline) on generated and hand-picked inputs, errors included.
//
// Why not the library's lexer: at 100,000 tokens per 10,000-line policy it took about half
// of the front end's budget (regular expressions tried per token, one object per match).
// This language's tokens are all recognised by their first character, so one table lookup
// per character does it.
import type { IToken, TokenType } from 'chevrotain';
import { Comma, Comment, Continuation, LCurly, Newline, Policy, RCurly, Semicolon, Word } from './tokens.js';

/** An unexpected run of characters: what Chevrotain's lexer reports (offset and length). */
export interface ScanError {
  offset: number;
  length: number;
}

export interface Scanned {
  /** Tokens for the parser, in source order (no whitespace, no comments). */
  tokens: IToken[];
  /** Comment tokens, in source order (Chevrotain's `groups.comments`). */
  comments: IToken[];
  /** The '{' and '}' tokens among `tokens`, in source order, for the brace analysis. */
  braces: IToken[];
  errors: ScanError[];
}

// Character classes of ASCII; everything above is an error but for two spaces.
const ERROR = 0;
const SPACE = 1;
const HASH = 2;
const NEWLINE = 3;
const SINGLE = 4; // { } , ;
const WORD = 5;

const CLASS = new Uint8Array(128);
for (const ch of ' \t\r\f\v') CLASS[ch.charCodeAt(0)] = SPACE;
CLASS[35] = HASH;
CLASS[10] = NEWLINE;
for (const ch of '{},;') CLASS[ch.charCodeAt(0)] = SINGLE;
// Word's pattern in tokens.ts: [\w.:/*+\-@%!$&=?^~[\]()<>|\\]
for (let c = 0; c < 128; c++) {
  const ch = String.fromCharCode(c);
  if (/[\w.:/*+\-@%!$&=?^~[\]()<>|\\]/.test(ch)) CLASS[c] = WORD;
}

function classOf(c: number): number {
  if (c < 128) return CLASS[c];
  return c === 0xa0 || c === 0xfeff ? SPACE : ERROR;
}

const SINGLE_TYPE: Record<number, TokenType> = { 123: LCurly, 125: RCurly, 44: Comma, 59: Semicolon };

/** The shape Chevrotain's lexer gives tokens under `positionTracking: 'onlyOffset'`. */
function token(image: string, startOffset: number, tokenType: TokenType): IToken {
  return { image, startOffset, tokenTypeIdx: tokenType.tokenTypeIdx!, tokenType } as IToken;
}

export function scan(text: string): Scanned {
  const tokens: IToken[] = [];
  const comments: IToken[] = [];
  const errors: ScanError[] = [];
  const braces: IToken[] = [];
  const n = text.length;
  let i = 0;
  while (i < n) {
    const c = text.charCodeAt(i);
    switch (classOf(c)) {
      case SPACE:
        i++;
        while (i < n && classOf(text.charCodeAt(i)) === SPACE) i++;
        break;
      case NEWLINE: {
        const prev = tokens.length > 0 ? tokens[tokens.length - 1].tokenType : undefined;
        tokens.push(token('\n', i, prev === Comma || prev === Continuation ? Continuation : Newline));
        i++;
        break;
      }
      case SINGLE: {
        const t = token(text[i], i, SINGLE_TYPE[c]);
        tokens.push(t);
        if (c === 123 || c === 125) braces.push(t);
        i++;
        break;
      }
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
        const image = text.slice(i, j);
        tokens.push(token(image, i, image === 'policy' ? Policy : Word));
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
  return { tokens, comments, braces, errors };
}
