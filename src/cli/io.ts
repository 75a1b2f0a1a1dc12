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
  /** stderr is a terminal: long compiles show a progress line there. */
  tty?: boolean;
}

/** A compile's progress on a terminal: nothing for the first second, then the step it is at, on one line cleared at the end. */
export function progressLine(io: Io, afterMs = Number(process.env.MESHCAP_PROGRESS_AFTER_MS ?? 1000)): { step: (s: string) => void; done: () => void } {
  const t0 = performance.now();
  let shown = false;
  return {
    step: (s) => {
      if (!io.tty || performance.now() - t0 < afterMs) return;
      io.err(`\r\x1b[Kmeshcap: ${s} ...`);
      shown = true;
    },
    done: () => {
      if (shown) io.err('\r\x1b[K');
      shown = false;
    },
  };
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
