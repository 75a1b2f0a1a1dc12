import { catalogue, isCode } from '../../diagnostics/catalogue.js';
import { suggest } from '../../diagnostics/diagnostic.js';
import { HELP_URI_BASE } from '../../lint/format.js';
import { isRule, RULES, type LintRule } from '../../lint/rules.js';
import { expectArgs, parse } from '../args.js';
import { EXIT, UsageError, type Io } from '../io.js';
import type { Command } from './command.js';

export const explain: Command = {
  name: 'explain',
  summary: 'explain a diagnostic code, or list them all',
  usage: `meshcap explain CODE
meshcap explain --list

Prints a diagnostic's severity, message, hint and explanation from the catalogue, or a
lint rule's level, rationale and a failing and a passing example (docs/lint.md).`,
  run(argv: string[], io: Io): number {
    const { values, positionals } = parse(argv, { list: { type: 'boolean' } });
    if (values.help) return (io.out(this.usage + '\n'), EXIT.ok);
    if (values.list) {
      const width = Math.max(...Object.keys(catalogue).map((c) => c.length));
      for (const [code, e] of Object.entries(catalogue)) io.out(`${code.padEnd(width)} ${e.severity.padEnd(8)} ${e.explain.split('. ')[0].replace(/\.$/, '')}\n`);
      for (const [id, r] of Object.entries(RULES)) if (!(id in catalogue)) io.out(`${id.padEnd(width)} ${r.level.padEnd(8)} lint: ${r.summary}\n`);
      return EXIT.ok;
    }
    expectArgs(positionals, 1, 'explain takes one CODE (or --list)');
    const code = positionals[0];
    if (!isCode(code) && isRule(code)) return (io.out(lintRuleText(code, RULES[code])), EXIT.ok);
    if (!isCode(code)) throw new UsageError('usage-unknown-code', { code, suggestion: suggest(code, [...Object.keys(catalogue), ...Object.keys(RULES)]) });
    const e = catalogue[code];
    io.out(`${code} (${e.severity})\n\n  ${e.message}\n${'hint' in e ? `  hint: ${e.hint}\n` : ''}\n${e.explain}\n`);
    // A warning of check is also a lint rule: its examples follow.
    if (isRule(code)) io.out(`\n${lintExamples(RULES[code])}lint rule: ${HELP_URI_BASE}#${code}\n`);
    return EXIT.ok;
  },
};

const indent = (s: string) => s.trimEnd().split('\n').map((l) => `    ${l}`).join('\n') + '\n';

function lintExamples(r: LintRule): string {
  return `Fails:\n${indent(r.bad)}\nPasses:\n${indent(r.good)}\n`;
}

function lintRuleText(id: string, r: LintRule): string {
  return `${id} (${r.level}, lint rule: ${r.scope})\n\n  ${r.summary}\n\n${r.explain}\n\n${lintExamples(r)}${HELP_URI_BASE}#${id} (${r.docs})\n`;
}
