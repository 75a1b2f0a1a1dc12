// Malformed policies: the exact diagnostic, where it points, and what `check` exits with.
// The cases are in test/fixtures/bad-cases.ts; the multi-error files and the snapshot
// inputs are in test/fixtures/bad/.
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { catalogue, type Code } from '../src/diagnostics/catalogue.js';
import { renderText } from '../src/diagnostics/render.js';
import { syntaxOf } from '../src/language/load.js';
import { badCases, type BadCase } from './fixtures/bad-cases.js';
import { cli, found, load, scratchDir, STACK_LINE } from './helpers.js';

const here = dirname(fileURLToPath(import.meta.url));
const badDir = join(here, 'fixtures', 'bad');

/**
 * Codes that no policy file can produce: the file-level ones come from the command line
 * (test/cli.test.ts covers them), the others from other inputs than a policy (iptables
 * rules, istio-iptables flags, trace packets, output paths: test/cli-compile.test.ts; lint's configuration: test/lint.test.ts), from the command line itself (usage-*) or
 * from meshcap's own failures (internal-*; test/cli-codes.test.ts). `syntax-error` is the
 * parser's fallback for an error no specific code describes, which no known input reaches
 * (test/grammar.test.ts gives it a made-up parser error). A new code must either get a case
 * in test/fixtures/bad-cases.ts or be listed here.
 */
const notFromPolicyText = (code: string) =>
  ['file-unreadable', 'file-unwritable', 'file-exists', 'unknown-file-type', 'invalid-packet', 'syntax-error', 'nft-version-assumed', 'not-formatted', 'not-utf8'].includes(code) || /^(rules|istio|import|usage|internal|lint|apply)-/.test(code);

const sev = (code: string) => catalogue[code as Code].severity;

function exitFor(codes: string[]): number {
  if (codes.some((c) => sev(c) === 'error')) return 2;
  if (codes.some((c) => sev(c) === 'warning')) return 1;
  return 0;
}

const expectedOf = (c: BadCase) => [`${c.code}@${c.line}:${c.col}`, ...(c.also ?? [])].sort();

describe('the catalogue of malformed policies', () => {
  it('is big enough, in both syntaxes, with unique names', () => {
    const dsl = badCases.filter((c) => c.syntax === 'intercept');
    const yaml = badCases.filter((c) => c.syntax === 'yaml');
    expect(badCases.length).toBeGreaterThanOrEqual(40);
    expect(yaml.length).toBeGreaterThanOrEqual(10);
    expect(dsl.length).toBeGreaterThanOrEqual(30);
    expect(new Set(badCases.map((c) => c.name)).size).toBe(badCases.length);
  });

  it('covers every diagnostic a policy file can produce', () => {
    const covered = new Set(badCases.flatMap((c) => [c.code, ...(c.also ?? []).map((x) => x.split('@')[0])]));
    const missing = Object.keys(catalogue).filter((code) => !notFromPolicyText(code) && !covered.has(code));
    expect(missing, 'add a case to test/fixtures/bad-cases.ts for each (or list the code in notFromPolicyText)').toEqual([]);
  });

  it('covers the YAML-only diagnostics in YAML, and the common ones in both syntaxes', () => {
    const yamlCodes = new Set(badCases.filter((c) => c.syntax === 'yaml').map((c) => c.code));
    for (const c of ['yaml-syntax', 'yaml-shape', 'unknown-block', 'unknown-keyword', 'duplicate-key', 'missing-policy', 'multiple-policies'] as const) {
      expect(yamlCodes.has(c), c).toBe(true);
    }
  });
});

describe.each(['intercept', 'yaml'] as const)('%s', (syntax) => {
  const cases = badCases.filter((c) => c.syntax === syntax);
  const scratch = scratchDir('meshcap-bad-');
  afterAll(() => scratch.cleanup());

  it.each(cases.map((c) => ({ ...c, at: `${c.code}@${c.line}:${c.col}` })))('$name: $at', (c) => {
    const r = load(c.text, c.syntax);
    // Exactly the expected diagnostics: the mistake, at its place, and no noise.
    expect(found(r.diagnostics).sort(), c.text).toEqual(expectedOf(c));
    const d = r.diagnostics.filter((x) => x.code === c.code && x.span?.start.line === c.line && x.span.start.col === c.col);
    expect(d.length).toBeGreaterThan(0);
    expect(d[0].severity).toBe(sev(c.code));
    if (c.message !== undefined) expect(d.map((x) => x.message).join('\n')).toContain(c.message);
    if (typeof c.hint === 'string') expect(d[0].hint).toBe(c.hint);
    else if (c.hint) expect(d[0].hint).toMatch(c.hint);
    // The span starts where the diagnostic says, and ends after it on the same file.
    expect(d[0].span!.file).toBe(c.syntax === 'yaml' ? 'policy.yaml' : 'policy.intercept');
    expect(d[0].span!.end.offset).toBeGreaterThanOrEqual(d[0].span!.start.offset);

    // `check` on the file: the exit code of the worst finding, the position in the text.
    const file = scratch.write(`${c.name.replace(/[^a-z0-9]+/gi, '-')}.${syntax === 'yaml' ? 'yaml' : 'intercept'}`, c.text);
    const out = cli('check', file);
    expect(out.code).toBe(exitFor(expectedOf(c).map((x) => x.split('@')[0])));
    expect(out.stderr).toContain(`${file}:${c.line}:${c.col}: ${sev(c.code)}[${c.code}]`);
    expect(out.stderr).not.toMatch(STACK_LINE);
  });
});

describe('errors exit 2, warnings 1, notes 0', () => {
  // (Each case above checks its own exit code; these make sure all three are reached.)
  it.each([
    ['error', 2],
    ['warning', 1],
    ['info', 0],
  ] as const)('a %s-only case exits %i', (severity, code) => {
    const c = badCases.find((x) => sev(x.code) === severity && (x.also ?? []).every((a) => sev(a.split('@')[0]) === severity));
    expect(c, severity).toBeDefined();
    const s = scratchDir();
    try {
      expect(cli('check', s.write(`x.${c!.syntax}`, c!.text)).code).toBe(code);
    } finally {
      s.cleanup();
    }
  });
});

// ---- several mistakes at once ------------------------------------------------------------

describe('a file with several independent mistakes', () => {
  it('reports all of them in one run (.intercept, parser recovery included)', () => {
    const text = readFileSync(join(badDir, 'many-errors.intercept'), 'utf8');
    const r = load(text);
    expect(found(r.diagnostics)).toEqual([
      'unexpected-character@4:13', // uid 1337`
      'invalid-port@5:18', //         inbound-port 0
      'double-comma@8:22', //         capture ports 80,, 443
      'unknown-keyword@11:5', //      captur cidrs *
      'cidr-host-bits@12:19', //      exclude cidrs 10.0.0.1/8
      'unknown-block@14:3', //        dnss { ... }
      'multi-word-block-name@16:19', // self-redirect on {}
      'unnamed-block@18:3', //        { families ipv4 }
      'invalid-switch@19:16', //      drop-invalid maybe
    ]);
  });

  it('reports all of them in one run (YAML)', () => {
    const text = readFileSync(join(badDir, 'many-errors.yaml'), 'utf8');
    const r = load(text, 'yaml');
    expect(found(r.diagnostics)).toEqual([
      'invalid-port@3:17',
      'unknown-keyword@6:3',
      'cidr-host-bits@9:31',
      'unknown-block@10:1',
      'invalid-switch@12:15',
    ]);
  });

  it('check prints each of them, and the summary counts them', () => {
    const out = cli('check', join(badDir, 'many-errors.intercept'));
    expect(out.code).toBe(2);
    expect(out.stderr.match(/^\S+:\d+:\d+: error\[/gm)).toHaveLength(9);
    expect(out.stderr).toMatch(/^9 errors, 0 warnings$/m);
  });
});

// ---- the text a user sees ------------------------------------------------------------------

describe('rendered text (snapshots)', () => {
  const files = readdirSync(badDir).filter((f) => f.startsWith('snap-')).sort();

  it('has a handful of inputs in both syntaxes', () => {
    expect(files.length).toBeGreaterThanOrEqual(5);
    expect(files.some((f) => f.endsWith('.yaml'))).toBe(true);
  });

  it.each(files)('%s', (f) => {
    const text = readFileSync(join(badDir, f), 'utf8');
    const r = load(text, syntaxOf(f), f);
    expect(r.diagnostics.length).toBeGreaterThan(0);
    const rendered = renderText(r.diagnostics, { sources: new Map([[f, r.source!]]) });
    // Every located diagnostic shows its line and a caret under the offending text.
    for (const d of r.diagnostics) {
      if (!d.span) continue;
      const lineText = r.source!.lineText(d.span.start.line);
      expect(rendered).toContain(`${d.span.start.line} | ${lineText.replace(/\t/g, ' ')}`);
      const caretLine = `${' '.repeat(String(d.span.start.line).length)} | ${' '.repeat(d.span.start.col - 1)}^`;
      expect(rendered).toContain(caretLine);
    }
    expect(rendered).toMatchSnapshot();
  });

  it('colours only when asked to', () => {
    const r = load('policy p {\n  inbound { capture ports 0 }\n}\n');
    const plain = renderText(r.diagnostics, { sources: new Map([['policy.intercept', r.source!]]) });
    const colour = renderText(r.diagnostics, { sources: new Map([['policy.intercept', r.source!]]), color: true });
    expect(plain).not.toContain('\x1b[');
    expect(colour).toContain('\x1b[31;1merror[invalid-port]\x1b[0m');
    // eslint-disable-next-line no-control-regex -- the pattern is the ANSI colour escape (ESC [ ... m) that renderText writes; matching ESC is the point
    expect(colour.replace(/\x1b\[[0-9;]*m/g, '')).toBe(plain);
  });
});

describe('what a diagnostic shows of the input', () => {
  const s = scratchDir();
  afterAll(() => s.cleanup());

  it('a long line is shown as a window around the caret, so output stays proportional to the mistakes', () => {
    // 3,000 duplicates of one port on one line (about 20 KB): each warning shows a short excerpt.
    const f = s.write('long.intercept', `policy p {\n  proxy { outbound-port 15001 }\n  outbound { capture cidrs *; exclude ports 80${', 80'.repeat(3000)} }\n}\n`);
    const r = cli('check', '--max-diagnostics', '0', f);
    const lines = r.stderr.split('\n');
    expect(lines.filter((l) => /warning\[duplicate-value\]/.test(l))).toHaveLength(3000);
    expect(Math.max(...lines.map((l) => l.length))).toBeLessThanOrEqual(140);
    expect(r.stderr.length).toBeLessThan(3000 * 600);
    // The caret still sits under the item it names: the 1,500th duplicate.
    const i = lines.findIndex((l) => l.startsWith(`${f}:3:${45 + 4 * 1500}:`));
    expect(i, 'the 1,500th duplicate').toBeGreaterThan(-1);
    const [src, caret] = [lines[i + 2], lines[i + 3]];
    expect(src.startsWith('3 | …')).toBe(true);
    expect(src.slice(caret.indexOf('^'), caret.lastIndexOf('^') + 1)).toBe('80');
  });

  it('control characters of the input are shown as pictures, never sent to the terminal', () => {
    const f = s.write('esc.intercept', 'policy p {\n  proxy { outbound-port 15001 }\n  outbound { capture cidrs *; exclude ports 8\x1b[31m0 }\n}\n');
    const r = cli('check', f);
    expect(r.code).toBe(2);
    expect(r.stderr).not.toContain('\x1b');
    expect(r.stderr).toContain('\u241b[31m');
  });
});

describe('many diagnostics in one file', () => {
  const s = scratchDir();
  afterAll(() => s.cleanup());
  const f = () => s.write('many.intercept', `policy p {\n  proxy { outbound-port 15001 }\n  outbound { capture cidrs *; exclude ports 80${', 80'.repeat(120)} }\n}\n`);
  const shown = (stderr: string) => stderr.split('\n').filter((l) => /warning\[duplicate-value\]/.test(l)).length;

  it('text shows the first 50 of a file and counts the rest; the summary counts them all', () => {
    const file = f();
    const r = cli('check', file);
    expect(r.code).toBe(1);
    expect(shown(r.stderr)).toBe(50);
    expect(r.stderr).toContain(`... and 70 more in ${file} (--max-diagnostics N shows more, 0 all)\n0 errors, 120 warnings\n`);
  });

  it('--max-diagnostics sets the bound (0: all); JSON always has every one', () => {
    const file = f();
    expect(shown(cli('check', '--max-diagnostics', '7', file).stderr)).toBe(7);
    expect(shown(cli('check', '--max-diagnostics', '0', file).stderr)).toBe(120);
    const j = JSON.parse(cli('check', '--format', 'json', file).stdout) as { diagnostics: unknown[] };
    expect(j.diagnostics).toHaveLength(120);
    const bad = cli('check', '--max-diagnostics', 'lots', file);
    expect(bad.code).toBe(3);
    expect(bad.stderr).toContain('usage-bad-option-value');
  });
});
