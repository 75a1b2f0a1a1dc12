// What a command may touch: its output streams and its exit code. Tests call commands
// with captured streams; main.ts wires them to the process.
export interface Io {
  out(s: string): void;
  err(s: string): void;
  /** Colour diagnostics (a TTY that did not ask for NO_COLOR). */
  color: boolean;
}

export const EXIT = {
  ok: 0,
  findings: 1,
  badInput: 2,
  usage: 3,
} as const;

export class UsageError extends Error {}
