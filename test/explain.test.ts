import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { catalogue, docsOf, type CatalogueEntry, type Code } from '../src/diagnostics/catalogue.js';
import { hasErrors } from '../src/diagnostics/diagnostic.js';
import { explainText, firstSentence } from '../src/cli/commands/explain.js';
import { loadText } from '../src/language/load.js';
import { RULES } from '../src/lint/rules.js';
import { cliOutErr } from './helpers.js';

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

  it("each bad example has its code, shown as check prints it; each good one is clean of it (and of errors)", () => {
    const withExamples = codes.filter((c) => entry(c).bad !== undefined);
    expect(withExamples.length).toBeGreaterThan(40);
    for (const c of withExamples) {
      const e = entry(c);
      expect(e.good, `${c} has a bad example and no corrected one`).toBeDefined();
      const bad = loadText('example.intercept', e.bad!, 'intercept');
      expect(bad.diagnostics.map((d) => d.code), `${c}: its bad example`).toContain(c);
      const good = loadText('example.intercept', e.good!, 'intercept');
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
});
