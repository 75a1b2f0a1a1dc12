import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { catalogue, codeClass, docsOf, type CatalogueEntry, type Code, type CommandExample } from '../src/diagnostics/catalogue.js';
import { hasErrors } from '../src/diagnostics/diagnostic.js';
import { commandWords, explainText, firstSentence } from '../src/cli/commands/explain.js';
import { commands } from '../src/cli/run.js';
import { loadText } from '../src/language/load.js';
import { RULES } from '../src/lint/rules.js';
import { cli, cliOutErr } from './helpers.js';

// `meshcap explain` for every code of the catalogue: real text, no template holes, the
// examples doing what they say, and docs links that lead somewhere.
const root = resolve(import.meta.dirname, '..');
const codes = Object.keys(catalogue) as Code[];
const entry = (c: Code): CatalogueEntry => catalogue[c];

/** GitHub's anchor for a heading: lower case, punctuation dropped, spaces as dashes. */
const slug = (heading: string) =>
  heading
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N} _-]/gu, '')
    .replace(/ /g, '-');

function anchors(file: string): Set<string> {
  const text = readFileSync(join(root, file), 'utf8').replace(/^```[\s\S]*?^```$/gm, '');
  return new Set([...text.matchAll(/^#{1,6} (.+)$/gm)].map((m) => slug(m[1])));
}

describe('meshcap explain', () => {
  it('renders every code without a template hole, with its docs link', () => {
    const holes = codes.filter((c) => /\{\w+\}/.test(explainText(c)));
    expect(holes).toEqual([]);
    for (const c of codes) expect(explainText(c)).toContain(`\nDocs: ${docsOf(c)}\n`);
  });

  it('every docs link names an existing file and one of its headings', () => {
    const broken: string[] = [];
    for (const c of codes) {
      const [file, anchor] = docsOf(c).split('#');
      if (!existsSync(join(root, file)) || (anchor && !anchors(file).has(anchor))) broken.push(`${c}: ${docsOf(c)}`);
    }
    expect(broken).toEqual([]);
  });

  it('every code has a bad example, a good one and a docs link', () => {
    const missing = codes.filter((c) => entry(c).bad === undefined || entry(c).good === undefined || !docsOf(c));
    expect(missing).toEqual([]);
    // A policy code shows a policy; a command line only where no policy text can show the code.
    const policyCode = (c: Code) => codeClass(c) === 'input' && !/^(file|rules|istio|import|lint|apply)-/.test(c) && !['not-utf8', 'unknown-file-type', 'invalid-packet', 'not-formatted', 'nft-version-assumed', 'yaml-syntax', 'yaml-shape', 'syntax-error'].includes(c);
    expect(codes.filter((c) => policyCode(c) && typeof entry(c).bad !== 'string')).toEqual([]);
  });

  it("each bad example has its code, shown as check prints it; each good one is clean of it (and of errors)", () => {
    const withExamples = codes.filter((c) => typeof entry(c).bad === 'string');
    expect(withExamples.length).toBeGreaterThan(40);
    for (const c of withExamples) {
      const e = entry(c);
      expect(e.good, `${c} has a bad example and no corrected one`).toBeDefined();
      const bad = loadText('example.intercept', e.bad as string, 'intercept');
      expect(bad.diagnostics.map((d) => d.code), `${c}: its bad example`).toContain(c);
      expect(typeof e.good, c).toBe('string');
      const good = loadText('example.intercept', e.good as string, 'intercept');
      expect(good.diagnostics.map((d) => d.code), `${c}: its corrected example`).not.toContain(c);
      expect(hasErrors(good.diagnostics), `${c}: its corrected example has errors: ${good.diagnostics.map((d) => d.message).join('; ')}`).toBe(false);
      const text = explainText(c);
      expect(text).toMatch(new RegExp(`example\\.intercept:\\d+:\\d+: (error|warning|info)\\[${c}\\]`));
      expect(text).toContain('\nCorrected:\n');
    }
  });

  it('--list gives each code its whole first sentence', () => {
    const r = cliOutErr('explain', '--list');
    expect(r.code).toBe(0);
    const all = r.out.trimEnd().split('\n');
    // lint rules that are not diagnostics follow, marked as such
    const lines = all.filter((l) => !/^\S+\s+\S+\s+lint: /.test(l));
    expect(all.length - lines.length).toBe(Object.keys(RULES).filter((id) => !(id in catalogue)).length);
    expect(lines).toHaveLength(codes.length);
    for (const c of codes) {
      const s = firstSentence(entry(c).explain);
      expect(entry(c).explain.startsWith(s)).toBe(true);
      expect(s, c).not.toMatch(/\b(e\.g|i\.e)$/);
      expect((s.split('`').length - 1) % 2, `${c}: an open code span`).toBe(0);
    }
    expect(firstSentence('The kernel refuses it (e.g. an owner match). More.')).toBe('The kernel refuses it (e.g. an owner match)');
  });

  describe('command-line examples', () => {
    const commandCodes = codes.filter((c) => typeof entry(c).bad === 'object');
    const example = (x: string | CommandExample | undefined) => x as CommandExample;
    // What no command line brings about: meshcap's own bugs, the parser's fallback no input
    // reaches (test/grammar.test.ts), a node lacking root, kernel features or tools, one
    // holding another tool's nft table of the policy's name (test/kernel/coexist.test.ts), and
    // a namespace holding other tools' rules, routes or sysctls (test/kernel/preflight.test.ts).
    const ILLUSTRATIVE = ['syntax-error', 'rules-preflight-missing', 'rules-preflight-other-rules', 'rules-preflight-routing', 'rules-preflight-sysctl', 'apply-refused', 'apply-not-owned', ...codes.filter((c) => codeClass(c) === 'internal')];

    it('only what cannot be run is illustrative; each is still a meshcap command line', () => {
      expect(commandCodes.filter((c) => example(entry(c).bad).illustrative).sort()).toEqual([...ILLUSTRATIVE].sort());
      for (const c of commandCodes) {
        for (const x of [example(entry(c).bad), example(entry(c).good)]) {
          expect(typeof x, c).toBe('object');
          const { words } = commandWords(x.command);
          if (words[0] === 'sudo') words.shift();
          expect(words[0], `${c}: ${x.command}`).toBe('meshcap');
          expect(commands.map((m) => m.name), `${c}: ${x.command}`).toContain(words[1] === 'compil' ? 'compile' : words[1]);
        }
        const text = explainText(c);
        expect(text).toContain(`\nFor example:\n    $ ${example(entry(c).bad).command}\n`);
        expect(text).toContain(`\nCorrected:\n    $ ${example(entry(c).good).command}\n`);
      }
    });

    /** Run an example's command line in a fresh folder holding its files: exit code and both streams. */
    function runExample(x: CommandExample) {
      const dir = mkdtempSync(join(tmpdir(), 'meshcap-explain-'));
      const cwd = process.cwd();
      try {
        for (const [name, text] of Object.entries(x.files ?? {})) {
          mkdirSync(dirname(join(dir, name)), { recursive: true });
          writeFileSync(join(dir, name), text, x.latin1 ? 'latin1' : 'utf8');
        }
        process.chdir(dir);
        const { words } = commandWords(x.command);
        const r = cli(...words.slice(1));
        return { ...r, all: r.stdout + r.stderr };
      } finally {
        process.chdir(cwd);
        rmSync(dir, { recursive: true, force: true });
      }
    }
    const shows = (out: string, c: string) => out.includes(`[${c}]`) || new RegExp(`"code": ?"${c}"`).test(out);

    it.each(commandCodes.filter((c) => !ILLUSTRATIVE.includes(c)))('%s: the bad command line gives it, the good one does not (and no error)', (c) => {
      const bad = runExample(example(entry(c).bad));
      expect(shows(bad.all, c), `${example(entry(c).bad).command}:\n${bad.all}`).toBe(true);
      expect(bad.all).not.toMatch(/\[internal-error\]|\n\s+at .*:\d+:\d+/);
      const good = runExample(example(entry(c).good));
      expect(shows(good.all, c), `${example(entry(c).good).command}:\n${good.all}`).toBe(false);
      expect(good.code, `${example(entry(c).good).command}:\n${good.all}`).toBeLessThan(2);
    });
  });
});
