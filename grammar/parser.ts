// The Chevrotain grammar of .intercept files. It knows only structure (policy, blocks,
// statements); what each keyword means is the schema's business, which keeps the grammar
// small and lets one schema serve both syntaxes.
//
//   file      := ( NL | ';' | policy | item | '}' | stray )*
//   policy    := 'policy' TailRun? '{' body '}'
//   body      := ( NL | ';' | item | stray )*
//   item      := Word TailRun? ( '{' body '}' )?
//   stray     := '{' body '}' | ',' TailRun?
//
// A statement is its first word and a TailRun: the scanner (scanner.ts) hands over the rest
// of the statement, up to NL, ';', '{' or '}' (a newline after a ',' continues a list), as
// one token whose words and commas the visitor reads. In terms of the reference lexer's
// tokens, TailRun is `( Word | 'policy' | ',' NL* )*`. So a policy may be named `policy`
// (`policy policy { }`), as its YAML twin (`policy: policy`) always could be.
//
// Some of it is wider than the language: a policy or block name of several words, a block
// without a name, a ',' that starts a statement. The visitor reports those precisely, and
// parsing goes on normally after them, so that the rest of the file is still checked
// (Chevrotain's own recovery would skip to the end of the enclosing block).
import type { IToken } from 'chevrotain';
import { CstParser } from './chevrotain.js';
import { allTokens, Comma, LCurly, Newline, Policy, RCurly, Semicolon, TailRun, Word } from './tokens.js';

export class InterceptParser extends CstParser {
  constructor() {
    super(allTokens, { recoveryEnabled: true, maxLookahead: 2, nodeLocationTracking: 'none' });
    this.performSelfAnalysis();
  }

  file = this.RULE('file', () => {
    this.MANY(() => {
      this.OR([
        { ALT: () => this.CONSUME(Newline) },
        { ALT: () => this.CONSUME(Semicolon) },
        { ALT: () => this.SUBRULE(this.policy) },
        { ALT: () => this.SUBRULE(this.item) },
        // A stray '}' at top level: consume it so that recovery can go on.
        { ALT: () => this.CONSUME(RCurly) },
        { ALT: () => this.SUBRULE(this.stray) },
      ]);
    });
  });

  policy = this.RULE('policy', () => {
    this.CONSUME(Policy);
    this.OPTION(() => this.CONSUME(TailRun));
    this.CONSUME(LCurly);
    this.SUBRULE(this.body);
    this.CONSUME(RCurly);
  });

  body = this.RULE('body', () => {
    this.MANY(() => {
      this.OR([
        { ALT: () => this.CONSUME(Newline) },
        { ALT: () => this.CONSUME(Semicolon) },
        { ALT: () => this.SUBRULE(this.item) },
        { ALT: () => this.SUBRULE(this.stray) },
      ]);
    });
  });

  item = this.RULE('item', () => {
    this.CONSUME(Word);
    this.OPTION(() => this.CONSUME(TailRun));
    this.OPTION2(() => {
      this.CONSUME(LCurly);
      this.SUBRULE(this.body);
      this.CONSUME(RCurly);
    });
  });

  /** What cannot start an item: a '{' without a name, a ',' (and the rest of its line). */
  stray = this.RULE('stray', () => {
    this.OR([
      {
        ALT: () => {
          this.CONSUME(LCurly);
          this.SUBRULE(this.body);
          this.CONSUME(RCurly);
        },
      },
      {
        ALT: () => {
          this.CONSUME(Comma);
          this.OPTION(() => this.CONSUME(TailRun));
        },
      },
    ]);
  });
}

/** One parser instance, reused: Chevrotain parsers are built once and reset per input. */
export const parser = new InterceptParser();

export type Token = IToken;
