import { writeFileSync, existsSync } from 'node:fs';
import { hasErrors, type Diagnostic } from '../../diagnostics/diagnostic.js';
import { printIntercept } from '../../../grammar/printer.js';
import { printYaml } from '../../../grammar/yaml-printer.js';
import { diag } from '../../diagnostics/diagnostic.js';
import { toDslForm, toYamlForm } from '../../language/convert.js';
import { policyFingerprint } from '../../language/fingerprint.js';
import { expandInputs, guessSyntax, loadParsed, parseSource, readText, STDIN, STDIN_NAME, syntaxOf, type Syntax } from '../../language/load.js';
import { SourceFile } from '../../source.js';
import { expectArgs, oneOf, parse } from '../args.js';
import { EXIT, InternalError, UsageError, type Io } from '../io.js';
import { report } from '../report.js';
import type { Command } from './command.js';

export interface FormatResult {
  text?: string;
  diagnostics: Diagnostic[];
  source?: SourceFile;
}

/** Format policy text into `target` syntax. Refuses input with syntax errors. */
export function formatText(path: string, text: string, syntax: Syntax, target: Syntax): FormatResult {
  const source = new SourceFile(path, text);
  const parsed = parseSource(source, syntax);
  if (hasErrors(parsed.diagnostics)) return { diagnostics: parsed.diagnostics, source };
  const before = loadParsed(source, parsed);
  // A YAML policy without its `policy:` name has nothing to print there: writing one
  // (`policy: ""`) would add to the user's file, so such a file is refused with its errors.
  if (parsed.tree.policies.some((p) => !p.name?.text)) return { diagnostics: before.diagnostics.filter((d) => d.severity === 'error'), source };
  const print = (tree: typeof parsed.tree) => (target === 'yaml' ? printYaml(toYamlForm(tree)) : printIntercept(toDslForm(tree)));
  const out = print(parsed.tree);
  const outSource = new SourceFile(path, out);
  const reparsed = parseSource(outSource, target);
  // A statement the policy rejects can print as text that does not parse (a key '*' or
  // '1337' in YAML, a quote inside a DSL word), or that reads as something else (a YAML
  // key 'capture#ports' is the DSL word 'capture' and a comment): refuse it with the
  // policy's own errors rather than print what the next fmt or check reads otherwise. (A
  // policy without errors is held to its meaning below.)
  const unstable = () => hasErrors(before.diagnostics) && print(reparsed.tree) !== out;
  if (hasErrors(reparsed.diagnostics) || unstable()) {
    const errors = before.diagnostics.filter((d) => d.severity === 'error');
    if (errors.length) return { diagnostics: errors, source };
    throw new InternalError('internal-format', { path });
  }
  // The printers promise to keep the meaning; check it before anything is written.
  if (before.policy && !hasErrors(before.diagnostics)) {
    const after = loadParsed(outSource, reparsed);
    if (!after.policy || policyFingerprint(before.policy) !== policyFingerprint(after.policy)) {
      throw new InternalError('internal-format', { path });
    }
  }
  return { text: out, diagnostics: [], source };
}

const EXT: Record<Syntax, string> = { intercept: '.intercept', yaml: '.yaml' };

export const fmt: Command = {
  name: 'fmt',
  summary: 'print policies in canonical layout, check or rewrite them, convert between syntaxes',
  usage: `meshcap fmt [options] FILE|DIR|-...

Prints each policy in its canonical layout (comments kept; a directory: the policies in
it and its subfolders; -: standard input, printed, never written). With --to it converts
between the .intercept and YAML syntaxes; the meaning is checked to be unchanged.

Options:
  --check              print nothing; exit 1 and name each file that is not formatted
  --write              rewrite files in place (with --to: write FILE with the new extension)
  --force              with --to and --write: overwrite an existing FILE of the new extension
  --to intercept|yaml  output syntax (default: the file's own)
  --format F           diagnostics format: text (default), json, sarif, github
  -h, --help           this text

Exit: 0 formatted, 1 some file needs formatting (--check), 2 unreadable or unparsable
input, 3 usage error.`,
  run(argv: string[], io: Io): number {
    const { values, positionals } = parse(argv, {
      check: { type: 'boolean' },
      write: { type: 'boolean' },
      to: { type: 'string' },
      format: { type: 'string' },
      verbose: { type: 'boolean', short: 'v' },
      force: { type: 'boolean' },
    });
    if (values.help) return (io.out(this.usage + '\n'), EXIT.ok);
    expectArgs(positionals, 'some', 'fmt needs at least one FILE');
    if (values.check && values.write) throw new UsageError('usage-conflicting-options', { detail: '--check and --write exclude each other' });
    const format = oneOf('format', values.format, ['text', 'json', 'sarif', 'github'] as const, 'text');
    const to = values.to === undefined ? undefined : oneOf('to', values.to, ['intercept', 'yaml'] as const, 'intercept');
    const all: Diagnostic[] = [];
    const sources = new Map<string, SourceFile>();
    let unformatted = 0;
    if (values.write && positionals.includes(STDIN)) throw new UsageError('usage-bad-argument', { detail: 'fmt --write rewrites files in place; standard input (-) has none (fmt - prints the result)' });
    const inputs = expandInputs(positionals);
    all.push(...inputs.diagnostics);
    for (const input of inputs.files) {
      const file = input === STDIN ? STDIN_NAME : input;
      const known = input === STDIN ? undefined : syntaxOf(input);
      if (input !== STDIN && !known) {
        all.push(diag('unknown-file-type', undefined, { path: file }));
        continue;
      }
      const read = readText(input);
      if ('diagnostic' in read) {
        all.push(read.diagnostic);
        continue;
      }
      const text = read.text;
      const syntax = known ?? guessSyntax(text);
      const target = to ?? syntax;
      const r = formatText(file, text, syntax, target);
      if (r.source) sources.set(file, r.source);
      all.push(...r.diagnostics);
      if (r.text === undefined) continue;
      if (values.check) {
        if (r.text !== text || target !== syntax) {
          unformatted++;
          // Text keeps its one line per file; the machine formats get a finding per file.
          if (format === 'text') io.err(`not formatted: ${file}\n`);
          else all.push({ ...diag('not-formatted', undefined, { path: file }), file });
        } else if (values.verbose) io.out(`formatted: ${file}\n`);
      } else if (values.write) {
        const dest = target === syntax ? file : file.replace(/\.[^./]+$/, '') + EXT[target];
        if (dest !== file && existsSync(dest) && !values.force) {
          all.push(diag('file-exists', undefined, { path: dest }));
          continue;
        }
        if (dest !== file || r.text !== text) {
          writeFileSync(dest, r.text);
          if (values.verbose) io.out(`wrote ${dest}\n`);
        } else if (values.verbose) io.out(`unchanged: ${file}\n`);
      } else {
        io.out(r.text);
      }
    }
    report(io, format, all, sources);
    if (hasErrors(all)) return EXIT.badInput;
    return unformatted ? EXIT.findings : EXIT.ok;
  },
};
