// The reference lexer: Chevrotain's Lexer built from the token definitions in
// grammar/tokens.ts, which test/scanner.test.ts checks the hand-written scanner
// (grammar/scanner.ts, what the parser is fed) against. Built once, on first use.
import { Lexer } from '../grammar/chevrotain.js';
import { allTokens } from '../grammar/tokens.js';

let reference: InstanceType<typeof Lexer> | undefined;
export function referenceLexer(): InstanceType<typeof Lexer> {
  // Offsets only, as the scanner: lines and columns come from the source when needed.
  return (reference ??= new Lexer(allTokens, { positionTracking: 'onlyOffset', ensureOptimizations: true }));
}
