// The command-line entry: dispatch to a command, turn usage errors into exit 3 and any
// unexpected exception into a one-line message (never a stack trace) with exit 2.
import { check } from './commands/check.js';
import { compileCmd } from './commands/compile.js';
import { traceCmd } from './commands/trace.js';
import { importCmd } from './commands/import.js';
import { verifyCmd } from './commands/verify.js';
import { diffCmd } from './commands/diff.js';
import { schemaCmd } from './commands/schema.js';
import type { Command } from './commands/command.js';
import { explain } from './commands/explain.js';
import { fmt } from './commands/fmt.js';
import { EXIT, UsageError, type Io } from './io.js';
import { version } from '../compile/version.js';

export const commands: Command[] = [check, fmt, compileCmd, traceCmd, verifyCmd, diffCmd, importCmd, schemaCmd, explain];

function help(): string {
  const width = Math.max(...commands.map((c) => c.name.length));
  return `meshcap ${version()}: a verified compiler for sidecar traffic-interception policy

Usage: meshcap COMMAND [options] ...

Commands:
${commands.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`).join('\n')}

'meshcap COMMAND --help' tells more. Options: -h/--help, --version.
`;
}

export function run(argv: string[], io: Io): number {
  const [name, ...rest] = argv;
  try {
    if (name === undefined || name === '-h' || name === '--help' || name === 'help') {
      if (name === 'help' && rest[0]) return run([rest[0], '--help'], io);
      io.out(help());
      return name === undefined ? EXIT.usage : EXIT.ok;
    }
    if (name === '--version' || name === '-V' || name === 'version') {
      io.out(`meshcap ${version()}\n`);
      return EXIT.ok;
    }
    const cmd = commands.find((c) => c.name === name);
    if (!cmd) throw new UsageError(`unknown command '${name}'; the commands are: ${commands.map((c) => c.name).join(', ')}`);
    return cmd.run(rest, io);
  } catch (e) {
    if (e instanceof UsageError) {
      io.err(`meshcap: ${e.message}\n(see 'meshcap ${commands.some((c) => c.name === name) ? name + ' ' : ''}--help')\n`);
      return EXIT.usage;
    }
    io.err(`meshcap: internal error: ${(e as Error).message ?? String(e)}\n`);
    if (process.env.MESHCAP_DEBUG) io.err(`${(e as Error).stack}\n`);
    return EXIT.badInput;
  }
}
