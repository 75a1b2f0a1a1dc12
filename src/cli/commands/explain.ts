import { catalogue, isCode } from '../../diagnostics/catalogue.js';
import { suggest } from '../../diagnostics/diagnostic.js';
import { expectArgs, parse } from '../args.js';
import { EXIT, UsageError, type Io } from '../io.js';
import type { Command } from './command.js';

export const explain: Command = {
  name: 'explain',
  summary: 'explain a diagnostic code, or list them all',
  usage: `meshcap explain CODE
meshcap explain --list

Prints a diagnostic's severity, message, hint and explanation from the catalogue.`,
  run(argv: string[], io: Io): number {
    const { values, positionals } = parse(argv, { list: { type: 'boolean' } });
    if (values.help) return (io.out(this.usage + '\n'), EXIT.ok);
    if (values.list) {
      const width = Math.max(...Object.keys(catalogue).map((c) => c.length));
      for (const [code, e] of Object.entries(catalogue)) io.out(`${code.padEnd(width)} ${e.severity.padEnd(8)} ${e.explain.split('. ')[0].replace(/\.$/, '')}\n`);
      return EXIT.ok;
    }
    expectArgs(positionals, 1, 'explain takes one CODE (or --list)');
    const code = positionals[0];
    if (!isCode(code)) throw new UsageError('usage-unknown-code', { code, suggestion: suggest(code, Object.keys(catalogue)) });
    const e = catalogue[code];
    io.out(`${code} (${e.severity})\n\n  ${e.message}\n${'hint' in e ? `  hint: ${e.hint}\n` : ''}\n${e.explain}\n`);
    return EXIT.ok;
  },
};
