import { hasErrors, type Diagnostic } from '../../diagnostics/diagnostic.js';
import { formats } from '../../diagnostics/render.js';
import { expandInputs, loadFile } from '../../language/load.js';
import type { SourceFile } from '../../source.js';
import { expectArgs, oneOf, parse } from '../args.js';
import { EXIT, type Io } from '../io.js';
import { report } from '../report.js';
import type { Command } from './command.js';

export const check: Command = {
  name: 'check',
  summary: 'parse and validate policies',
  usage: `meshcap check [options] FILE|DIR|-...

Parses and validates each policy (.intercept, .yaml, .yml; a directory: the policies in
it and its subfolders; -: standard input, YAML when it starts with a key). Silent when
every file is clean. Diagnostics go to stderr as text, or to stdout with --format json|sarif|github.

Options:
  --format F     text (default), json, sarif, github
  -v, --verbose  say 'ok' for each clean file
  -h, --help     this text

Exit: 0 clean, 1 warnings only, 2 errors (or unreadable input), 3 usage error.`,
  run(argv: string[], io: Io): number {
    const { values, positionals } = parse(argv, { format: { type: 'string' }, verbose: { type: 'boolean', short: 'v' } });
    if (values.help) return (io.out(this.usage + '\n'), EXIT.ok);
    const format = oneOf('format', values.format, formats, 'text');
    expectArgs(positionals, 'some', 'check needs at least one FILE');
    const inputs = expandInputs(positionals);
    const all: Diagnostic[] = [...inputs.diagnostics];
    const sources = new Map<string, SourceFile>();
    for (const file of inputs.files) {
      const loaded = loadFile(file);
      if (loaded.source) sources.set(loaded.source.path, loaded.source);
      all.push(...loaded.diagnostics);
      if (values.verbose && format === 'text' && !loaded.diagnostics.some((d) => d.severity !== 'info')) {
        io.out(`ok: ${file} (policy ${loaded.policy?.name})\n`);
      }
    }
    report(io, format, all, sources);
    if (hasErrors(all)) return EXIT.badInput;
    if (all.some((d) => d.severity === 'warning')) return EXIT.findings;
    return EXIT.ok;
  },
};
