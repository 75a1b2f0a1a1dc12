import type { Io } from '../io.js';

export interface Command {
  name: string;
  summary: string;
  usage: string;
  run(argv: string[], io: Io): number;
}
