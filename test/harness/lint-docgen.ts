// Renders the rule reference of docs/lint.md from the rules catalogue (src/lint/rules.ts),
// so that the page cannot drift from the rules: each rule's id, level, scope, summary,
// rationale and its failing and passing example. test/lint-rules.test.ts checks that
// docs/lint.md holds the rendered section verbatim.
//
//   node dist/test/harness/lint-docgen.js           print the section
//   node dist/test/harness/lint-docgen.js --write   rewrite it in docs/lint.md
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { RULES, type LintRule } from '../../src/lint/rules.js';

export const LINT_BEGIN = '<!-- BEGIN GENERATED RULES (test/harness/lint-docgen.ts): do not edit by hand; regenerate with `node dist/test/harness/lint-docgen.js --write` -->';
export const LINT_END = '<!-- END GENERATED RULES -->';

const SCOPES: [LintRule['scope'], string][] = [
  ['policy', 'Policy checks (the warnings of `meshcap check`)'],
  ['engine', 'Answered by the exhaustive engine'],
  ['manifest', 'Kubernetes manifests'],
  ['suppression', 'Suppressions'],
];

const fence = (text: string) => {
  const [first, ...rest] = text.trimEnd().split('\n');
  const lang = first.endsWith('.yaml') ? 'yaml' : 'text';
  return `\`\`\`${lang}\n${[first, ...rest].join('\n')}\n\`\`\``;
};

export function renderLintRules(): string {
  const out: string[] = [LINT_BEGIN, ''];
  const ids = Object.keys(RULES) as (keyof typeof RULES)[];
  out.push('| rule | level | what it finds |', '|---|---|---|');
  for (const id of ids) out.push(`| [\`${id}\`](#${id}) | ${RULES[id].level} | ${RULES[id].summary} |`);
  out.push('');
  for (const [scope, title] of SCOPES) {
    out.push(`## ${title}`, '');
    for (const id of ids.filter((i) => RULES[i].scope === scope)) {
      const r = RULES[id];
      out.push(`### \`${id}\``, '', `**${r.level}**: ${r.summary}.`, '', r.explain, '', 'Fails:', '', fence(r.bad), '', 'Passes:', '', fence(r.good), '');
    }
  }
  out.push(LINT_END);
  return out.join('\n');
}

const docPath = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'docs', 'lint.md');

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const section = renderLintRules();
  if (process.argv.includes('--write')) {
    const doc = readFileSync(docPath, 'utf8');
    const a = doc.indexOf(LINT_BEGIN);
    const b = doc.indexOf(LINT_END);
    if (a < 0 || b < 0) throw new Error('docs/lint.md has no generated-rules markers');
    writeFileSync(docPath, doc.slice(0, a) + section + doc.slice(b + LINT_END.length));
  } else process.stdout.write(section + '\n');
}
