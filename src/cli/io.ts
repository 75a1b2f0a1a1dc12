// What a command may touch: its output streams and its exit code. Tests call commands
// with captured streams; main.ts wires them to the process.
import type { InternalCode, UsageCode } from '../diagnostics/catalogue.js';
import { diag, type Args, type Diagnostic } from '../diagnostics/diagnostic.js';

export interface Io {
  out(s: string): void;
  err(s: string): void;
  /** Colour diagnostics (a TTY that did not ask for NO_COLOR). */
  color: boolean;
  /** Standard input, read whole (`-` as a file name); absent: there is none. */
  stdin?(): Buffer;
  /** stderr is a terminal: long runs may show a progress line there. */
  tty?: boolean;
}

export const EXIT = {
  ok: 0,
  findings: 1,
  badInput: 2,
  usage: 3,
} as const;

/** A wrong command line: a catalogued `usage-*` diagnostic, reported with exit 3. */
export class UsageError extends Error {
  readonly diagnostic: Diagnostic;
  /** From a code and its arguments, or a usage diagnostic made elsewhere (the compiler's). */
  constructor(code: UsageCode | Diagnostic, args: Args = {}) {
    const d = typeof code === 'string' ? diag(code, undefined, args) : code;
    super(d.message);
    this.diagnostic = d;
  }
}

/** A failure of meshcap itself (a bug), as a catalogued `internal-*` diagnostic. */
export class InternalError extends Error {
  readonly diagnostic: Diagnostic;
  constructor(code: InternalCode, args: Args = {}) {
    const d = diag(code, undefined, args);
    super(d.message);
    this.diagnostic = d;
  }
}
