// The command-line entry: dispatch to a command, turn usage errors (`usage-*` codes) into
// exit 3 and any unexpected exception into an `internal-*` diagnostic (never a stack
// trace) with exit 2.
import { check } from './commands/check.js';
import { lintCmd } from './commands/lint.js';
import { compileCmd } from './commands/compile.js';
import { applyCmd } from './commands/apply.js';
import { traceCmd } from './commands/trace.js';
import { importCmd } from './commands/import.js';
import { verifyCmd } from './commands/verify.js';
import { diffCmd } from './commands/diff.js';
import { schemaCmd } from './commands/schema.js';
import { snapshotCmd } from './commands/snapshot.js';
import { preflightCmd } from './commands/preflight.js';
import type { Command } from './commands/command.js';
import { explain } from './commands/explain.js';
import { fmt } from './commands/fmt.js';
import { EXIT, InternalError, UsageError, type Io } from './io.js';
import { version } from '../compile/version.js';
import { diag, didYouMean, type Diagnostic } from '../diagnostics/diagnostic.js';
import { formats, renderText, type Format } from '../diagnostics/render.js';
import { report } from './report.js';

export const commands: Command[] = [check, lintCmd, fmt, compileCmd, applyCmd, traceCmd, verifyCmd, diffCmd, snapshotCmd, preflightCmd, importCmd, schemaCmd, explain];

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
      if (name !== undefined) return EXIT.ok;
      io.err(oneDiagnostic(diag('usage-missing-argument', undefined, { detail: 'meshcap needs a COMMAND' }), io));
      return EXIT.usage;
    }
    if (name === '--version' || name === '-V' || name === 'version') {
      io.out(`meshcap ${version()}\n`);
      return EXIT.ok;
    }
    const cmd = commands.find((c) => c.name === name);
    if (!cmd && name.startsWith('-')) {
      // `meshcap --backend nftables compile p.intercept`: options belong to a command.
      const named = rest.find((w) => commands.some((c) => c.name === w));
      throw new UsageError(diag('usage-unknown-option', undefined, { option: name }, named ? `options go after the command: meshcap ${named} ${name} ...` : "options go after the command (meshcap COMMAND OPTIONS...); meshcap's own are --help and --version"));
    }
    if (!cmd) {
      const names = commands.map((c) => c.name);
      throw new UsageError(diag('usage-unknown-command', undefined, { name, commands: names.join(', ') }, didYouMean(name, names)));
    }
    return cmd.run(rest, io);
  } catch (e) {
    if (e instanceof UsageError) {
      io.err(`${oneDiagnostic(e.diagnostic, io)}(see 'meshcap ${commands.some((c) => c.name === name) ? name + ' ' : ''}--help')\n`);
      return EXIT.usage;
    }
    const d = e instanceof InternalError ? e.diagnostic : diag('internal-error', undefined, { detail: (e as Error)?.message ?? String(e) });
    // In the format the command was asked for, if the command line says one.
    const format = formatOf(rest);
    if (format === 'text') io.err(oneDiagnostic(d, io));
    else report(io, format, [d], new Map());
    if (process.env.MESHCAP_DEBUG) io.err(`${(e as Error)?.stack}\n`);
    return EXIT.badInput;
  }
}

/** `meshcap: error[CODE]: message`, and its hint: a diagnostic about no file. */
function oneDiagnostic(d: Diagnostic, io: Io): string {
  return `meshcap: ${renderText([d], { sources: new Map(), color: io.color }).trimEnd()}\n`;
}

/** The --format of a command line, when it names one (the last one counts, as in parseArgs). */
function formatOf(argv: string[]): Format {
  let f: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--') break;
    if (argv[i] === '--format') f = argv[++i];
    else if (argv[i].startsWith('--format=')) f = argv[i].slice('--format='.length);
  }
  return (formats as readonly (string | undefined)[]).includes(f) ? (f as Format) : 'text';
}
