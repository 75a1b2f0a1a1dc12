// Tokens of the .intercept language. Values are lexed as plain words and classified by
// the schema, so that a malformed port or address gets a precise diagnostic instead of a
// lexer error. Newlines end statements; '#' starts a comment that runs to the line end.
import { createToken, Lexer } from './chevrotain.js';

export const WhiteSpace = createToken({ name: 'WhiteSpace', pattern: /[ \t\r\f\v\u00a0\ufeff]+/, group: Lexer.SKIPPED });
export const Comment = createToken({ name: 'Comment', pattern: /#[^\n]*/, group: 'comments' });
export const Newline = createToken({ name: 'Newline', pattern: /\n/, line_breaks: true });
export const LCurly = createToken({ name: 'LCurly', pattern: /{/, label: "'{'" });
export const RCurly = createToken({ name: 'RCurly', pattern: /}/, label: "'}'" });
export const Comma = createToken({ name: 'Comma', pattern: /,/, label: "','" });
export const Semicolon = createToken({ name: 'Semicolon', pattern: /;/, label: "';'" });
/**
 * A run of printable ASCII other than braces, separators, quotes and '#': keywords,
 * numbers, ranges, addresses, CIDRs, interface names and '*' are all words.
 */
export const Word = createToken({ name: 'Word', pattern: /[\w.:/*+\-@%!$&=?^~[\]()<>|\\]+/, label: 'a word or value' });
export const Policy = createToken({ name: 'Policy', pattern: /policy/, longer_alt: Word, label: "'policy'" });
/**
 * Everything after a statement's first word, to the statement's end: its words, commas and
 * the newlines that continue a list after a ','. Only the scanner (scanner.ts) makes these;
 * the reference lexer (test/reference-lexer.ts) never does.
 */
export const TailRun = createToken({ name: 'TailRun', pattern: Lexer.NA, label: 'a value' });

export const allTokens = [WhiteSpace, Comment, Newline, LCurly, RCurly, Comma, Semicolon, Policy, Word, TailRun];

// The parser is fed by the faster scanner in scanner.ts; test/scanner.test.ts checks it
// against the reference lexer Chevrotain builds from these definitions (test/reference-lexer.ts).
