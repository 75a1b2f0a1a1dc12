// Tokens of the .intercept language. Values are lexed as plain words and classified by
// the schema, so that a malformed port or address gets a precise diagnostic instead of a
// lexer error. Newlines end statements; '#' starts a comment that runs to the line end.
import { createToken, Lexer } from './chevrotain.js';

export const WhiteSpace = createToken({ name: 'WhiteSpace', pattern: /[ \t\r\f\v\u00a0\ufeff]+/, group: Lexer.SKIPPED });
export const Comment = createToken({ name: 'Comment', pattern: /#[^\n]*/, group: 'comments' });
export const Newline = createToken({ name: 'Newline', pattern: /\n/, line_breaks: true });
export const LCurly = createToken({ name: 'LCurly', pattern: /{/, label: "'{'" });
export const RCurly = createToken({ name: 'RCurly', pattern: /}/, label: "'}'" });
/**
 * What may follow a statement's first word on its line(s): words, 'policy', ',' and the
 * newlines that continue a list. The parser consumes them as one category, one check per
 * token instead of a choice among three alternatives (a third of the parse time).
 */
export const TailPart = createToken({ name: 'TailPart', pattern: Lexer.NA });
export const Comma = createToken({ name: 'Comma', pattern: /,/, label: "','", categories: [TailPart] });
export const Semicolon = createToken({ name: 'Semicolon', pattern: /;/, label: "';'" });
/**
 * A run of printable ASCII other than braces, separators, quotes and '#': keywords,
 * numbers, ranges, addresses, CIDRs, interface names and '*' are all words.
 */
export const Word = createToken({ name: 'Word', pattern: /[\w.:/*+\-@%!$&=?^~[\]()<>|\\]+/, label: 'a word or value', categories: [TailPart] });
export const Policy = createToken({ name: 'Policy', pattern: /policy/, longer_alt: Word, label: "'policy'", categories: [TailPart] });
/**
 * A newline after a ',' (comments and blank lines may stand between): the list goes on
 * on the next line. Only the scanner (scanner.ts) makes these, from what Chevrotain's lexer
 * would call Newline; it is a Newline wherever the grammar expects one.
 */
export const Continuation = createToken({ name: 'Continuation', pattern: Lexer.NA, label: 'the end of the line', categories: [Newline, TailPart] });

export const allTokens = [WhiteSpace, Comment, Newline, LCurly, RCurly, Comma, Semicolon, Policy, Word, TailPart, Continuation];

/**
 * The reference lexer for these definitions. The parser is fed by the faster scanner in
 * scanner.ts, which test/scanner.test.ts checks against this one.
 */
export const interceptLexer = new Lexer(allTokens, {
  // Offsets only: lines and columns are computed from the source when a message needs them.
  positionTracking: 'onlyOffset',
  ensureOptimizations: true,
});
