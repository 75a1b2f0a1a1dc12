// The command line: exit codes (0 clean, 1 findings, 2 bad input, 3 usage), help and
// version, the diagnostic formats, fmt's modes, explain, and the built binary itself.
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { commands } from '../src/cli/run.js';
import { catalogue } from '../src/diagnostics/catalogue.js';
import { RULES } from '../src/lint/rules.js';
import type { toJson } from '../src/diagnostics/render.js';
import { policyFingerprint } from '../src/language/fingerprint.js';
import { cli, load, scratchDir, STACK_LINE } from './helpers.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const fx = (name: string) => join(root, 'test', 'fixtures', 'cli', name);
const CLEAN = fx('clean.intercept');
const CLEAN_YAML = fx('clean.yaml');
const UNFORMATTED = fx('unformatted.intercept');
const WARNINGS = fx('warnings.intercept');
const NOTE = fx('note.intercept');
const ERRORS = fx('errors.intercept');
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string };

/** `--format json`: the diagnostics as the CLI prints them. */
interface JsonReport {
  diagnostics: ReturnType<typeof toJson>[];
}
/** The parts of a SARIF 2.1.0 log that meshcap writes (`--format sarif`). */
interface SarifRegion {
  startLine: number;
  startColumn: number;
  endLine: number;
  endColumn: number;
}
interface SarifResult {
  ruleId: string;
  ruleIndex: number;
  level: string;
  message: { text: string };
  locations?: { physicalLocation: { artifactLocation: { uri: string }; region?: SarifRegion } }[];
}
interface SarifLog {
  $schema: string;
  version: string;
  runs: {
    tool: { driver: { name: string; version: string; rules: { id: string; shortDescription: { text: string }; defaultConfiguration: { level: string } }[] } };
    results: SarifResult[];
  }[];
}

const scratch = scratchDir('meshcap-cli-');
afterAll(() => scratch.cleanup());

function noStack(r: { stdout: string; stderr: string }) {
  expect(r.stdout).not.toMatch(STACK_LINE);
  expect(r.stderr).not.toMatch(STACK_LINE);
}

// ---- help, version, usage errors ----------------------------------------------------------

describe('help and version', () => {
  it.each(['--help', '-h', 'help'])('%s prints the help, naming every command, and exits 0', (flag) => {
    const r = cli(flag);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('Usage: meshcap COMMAND');
    for (const c of commands) expect(r.stdout).toMatch(new RegExp(`^  ${c.name} +${c.summary.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`, 'm'));
    expect(r.stderr).toBe('');
  });

  it('no command at all prints the help but is a usage error (3)', () => {
    const r = cli();
    expect(r.code).toBe(3);
    expect(r.stdout).toContain('Usage: meshcap COMMAND');
  });

  it.each(commands.map((c) => c.name))('%s --help (and help %s) prints its usage and exits 0', (name) => {
    const r = cli(name, '--help');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`meshcap ${name}`);
    expect(r.stderr).toBe('');
    expect(cli(name, '-h').stdout).toBe(r.stdout);
    expect(cli('help', name).stdout).toBe(r.stdout);
  });

  it.each(['--version', '-V', 'version'])('%s prints the package version', (flag) => {
    const r = cli(flag);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(`meshcap ${pkg.version}\n`);
  });
});

describe('usage errors exit 3', () => {
  it('an unknown command, naming the real ones', () => {
    const r = cli('chekc', CLEAN);
    expect(r.code).toBe(3);
    expect(r.stderr).toContain("unknown command 'chekc'");
    expect(r.stderr).toContain(commands.map((c) => c.name).join(', '));
    expect(r.stderr).toContain("(see 'meshcap --help')");
    expect(r.stdout).toBe('');
  });

  it.each(['check', 'fmt', 'explain'])('%s: an unknown option', (name) => {
    const r = cli(name, '--frobnicate', CLEAN);
    expect(r.code).toBe(3);
    expect(r.stderr).toContain('--frobnicate');
    expect(r.stderr).toContain(`(see 'meshcap ${name} --help')`);
    noStack(r);
  });

  it.each(['check', 'fmt'])('%s: no FILE argument', (name) => {
    const r = cli(name);
    expect(r.code).toBe(3);
    expect(r.stderr).toContain(`${name} needs at least one FILE`);
  });

  it.each([
    ['check', '--format', 'xml'],
    ['fmt', '--format', 'xml'],
    ['fmt', '--to', 'json'],
  ])('%s %s %s: a value that is not one of the choices', (name, opt, value) => {
    const r = cli(name, opt, value, CLEAN);
    expect(r.code).toBe(3);
    expect(r.stderr).toContain(`${opt} must be one of:`);
    expect(r.stderr).toContain(`(got '${value}')`);
  });

  it('--format without its value', () => {
    const r = cli('check', CLEAN, '--format');
    expect(r.code).toBe(3);
  });

  it('fmt --check and --write together', () => {
    const r = cli('fmt', '--check', '--write', CLEAN);
    expect(r.code).toBe(3);
    expect(r.stderr).toContain('--check and --write exclude each other');
  });

  it('explain without a code, or with two', () => {
    expect(cli('explain').code).toBe(3);
    expect(cli('explain', 'invalid-port', 'invalid-cidr').code).toBe(3);
  });
});

// ---- check ---------------------------------------------------------------------------------

describe('check', () => {
  it('a clean file: exit 0, silent', () => {
    for (const f of [CLEAN, CLEAN_YAML]) {
      const r = cli('check', f);
      expect(r, f).toEqual({ code: 0, stdout: '', stderr: '' });
    }
  });

  it("-v says 'ok' for each clean file", () => {
    const r = cli('check', '-v', CLEAN, CLEAN_YAML);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(`ok: ${CLEAN} (policy clean)\nok: ${CLEAN_YAML} (policy clean)\n`);
  });

  it('warnings only: exit 1, with the findings and a summary on stderr', () => {
    const r = cli('check', WARNINGS);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain(`${WARNINGS}:3:34: warning[duplicate-value]`);
    expect(r.stderr).toContain(`${WARNINGS}:9:3: warning[ipv6-bypass]`);
    expect(r.stderr).toMatch(/^0 errors, 2 warnings$/m);
  });

  it('a note only: exit 0, but the note is shown', () => {
    const r = cli('check', NOTE);
    expect(r.code).toBe(0);
    expect(r.stderr).toContain('info[name-resolved-at-load]');
    expect(r.stderr).toMatch(/^0 errors, 0 warnings, 1 note$/m);
  });

  it('errors: exit 2, each with its line, caret and hint', () => {
    const r = cli('check', ERRORS);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`${ERRORS}:3:19: error[invalid-port]: '0' is not a port`);
    expect(r.stderr).toContain('3 |     capture ports 0\n  |                   ^\n');
    expect(r.stderr).toContain("  hint: did you mean '10.0.0.0/8'?");
    expect(r.stderr).toMatch(/^2 errors, 0 warnings$/m);
    noStack(r);
  });

  it('several files: the worst one decides the exit code', () => {
    expect(cli('check', CLEAN, NOTE).code).toBe(0);
    expect(cli('check', CLEAN, WARNINGS).code).toBe(1);
    expect(cli('check', WARNINGS, ERRORS, CLEAN).code).toBe(2);
    const r = cli('check', WARNINGS, ERRORS);
    expect(r.stderr).toMatch(/^2 errors, 2 warnings$/m);
  });

  it('a file that does not exist: exit 2, a plain message, no stack trace', () => {
    const missing = join(scratch.dir, 'nope.intercept');
    const r = cli('check', missing);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`error[file-unreadable]: cannot read ${missing}: no such file`);
    noStack(r);
    // ... and the other files are still checked.
    const both = cli('check', missing, WARNINGS);
    expect(both.code).toBe(2);
    expect(both.stderr).toContain('warning[ipv6-bypass]');
  });

  it('a directory without policies: exit 2, said to be a directory (whatever its name ends in)', () => {
    const dir = join(scratch.dir, 'policies.intercept');
    mkdirSync(dir, { recursive: true });
    for (const d of [dir]) {
      const r = cli('check', d);
      expect(r.code, d).toBe(2);
      expect(r.stderr).toContain(`cannot read ${d}: it is a directory`);
      noStack(r);
    }
  });

  it('a file of another type: exit 2, unknown-file-type', () => {
    const txt = scratch.write('policy.txt', readFileSync(CLEAN, 'utf8'));
    const r = cli('check', txt);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('error[unknown-file-type]');
    expect(r.stderr).toContain('policies end in .intercept, .yaml or .yml');
  });

  it('.yml is YAML too', () => {
    const yml = join(scratch.dir, 'clean.yml');
    copyFileSync(CLEAN_YAML, yml);
    expect(cli('check', yml).code).toBe(0);
  });
});

describe('check --format', () => {
  it('json: {diagnostics:[{code,severity,message,file,range}]} on stdout, nothing on stderr', () => {
    const r = cli('check', '--format', 'json', ERRORS, WARNINGS);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe('');
    const out = JSON.parse(r.stdout) as JsonReport;
    expect(Object.keys(out)).toEqual(['diagnostics']);
    expect(out.diagnostics).toHaveLength(4);
    for (const d of out.diagnostics) {
      expect(Object.keys(d).filter((k) => k !== 'hint').sort()).toEqual(['code', 'file', 'message', 'range', 'severity']);
      expect(Object.keys(catalogue)).toContain(d.code);
      expect(['error', 'warning', 'info']).toContain(d.severity);
      expect(typeof d.message).toBe('string');
      if ('hint' in d) expect(typeof d.hint).toBe('string');
    }
    expect(out.diagnostics[0]).toEqual({
      code: 'invalid-port',
      severity: 'error',
      message: "'0' is not a port: ports are whole numbers 1-65535",
      file: ERRORS,
      range: { start: { line: 3, column: 19, offset: 46 }, end: { line: 3, column: 20, offset: 47 } },
    });
    expect(out.diagnostics.map((d) => `${d.file === ERRORS ? 'E' : 'W'} ${d.code}`)).toEqual(['E invalid-port', 'E cidr-host-bits', 'W duplicate-value', 'W ipv6-bypass']);
    expect(out.diagnostics[1].hint).toBe("did you mean '10.0.0.0/8'?");
  });

  it('json: a clean file is an empty list, exit 0', () => {
    const r = cli('check', '--format', 'json', CLEAN);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual({ diagnostics: [] });
  });

  it('an unreadable file: named in every format, with no range', () => {
    const missing = join(scratch.dir, 'missing.yaml');
    const r = cli('check', '--format', 'json', missing);
    expect(r.code).toBe(2);
    const out = JSON.parse(r.stdout) as JsonReport;
    expect(out.diagnostics).toMatchObject([{ code: 'file-unreadable', file: missing, range: null }]);
    const sarif = JSON.parse(cli('check', '--format', 'sarif', missing).stdout) as SarifLog;
    expect(sarif.runs[0].results[0].locations?.[0].physicalLocation.artifactLocation.uri).toBe(missing);
    expect(cli('check', '--format', 'github', missing).stdout).toContain(`::error file=${missing},title=file-unreadable::`);
  });

  it('sarif: a valid SARIF 2.1.0 log', () => {
    const r = cli('check', '--format', 'sarif', ERRORS, WARNINGS);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe('');
    const log = JSON.parse(r.stdout) as SarifLog;
    expect(log.version).toBe('2.1.0');
    expect(log.$schema).toMatch(/sarif-2\.1\.0/);
    expect(log.runs).toHaveLength(1);
    const run = log.runs[0];
    expect(run.tool.driver.name).toBe('meshcap');
    expect(run.tool.driver.version).toBe(pkg.version);
    const rules = run.tool.driver.rules;
    expect(rules.map((x) => x.id)).toEqual(['cidr-host-bits', 'duplicate-value', 'invalid-port', 'ipv6-bypass']);
    for (const rule of rules) {
      expect(rule.shortDescription.text).toBe(catalogue[rule.id as keyof typeof catalogue].explain);
      expect(['error', 'warning', 'note']).toContain(rule.defaultConfiguration.level);
    }
    expect(run.results).toHaveLength(4);
    for (const res of run.results) {
      expect(rules[res.ruleIndex].id).toBe(res.ruleId);
      expect(['error', 'warning', 'note']).toContain(res.level);
      expect(typeof res.message.text).toBe('string');
      expect(res.locations).toHaveLength(1);
      const loc = res.locations?.[0].physicalLocation;
      expect([ERRORS, WARNINGS]).toContain(loc?.artifactLocation.uri);
      for (const k of ['startLine', 'startColumn', 'endLine', 'endColumn'] as const) expect(loc?.region?.[k]).toBeGreaterThanOrEqual(1);
    }
    expect(run.results[0]).toMatchObject({
      ruleId: 'invalid-port',
      level: 'error',
      locations: [{ physicalLocation: { region: { startLine: 3, startColumn: 19, endLine: 3, endColumn: 20 } } }],
    });
    expect(run.results.find((x) => x.ruleId === 'ipv6-bypass')?.level).toBe('warning');
  });

  it('sarif: a note is level "note"; a clean run has no results', () => {
    const note = JSON.parse(cli('check', '--format', 'sarif', NOTE).stdout) as SarifLog;
    expect(note.runs[0].results.map((x) => x.level)).toEqual(['note']);
    const clean = JSON.parse(cli('check', '--format', 'sarif', CLEAN).stdout) as SarifLog;
    expect(clean.runs[0].results).toEqual([]);
    expect(clean.runs[0].tool.driver.rules).toEqual([]);
  });

  it('github: one workflow command per diagnostic', () => {
    const r = cli('check', '--format', 'github', ERRORS, WARNINGS, NOTE);
    expect(r.code).toBe(2);
    const lines = r.stdout.trimEnd().split('\n');
    expect(lines).toHaveLength(5);
    for (const l of lines) expect(l).toMatch(/^::(error|warning|notice) file=[^,]+,line=\d+,col=\d+,endLine=\d+,endColumn=\d+,title=[a-z0-9-]+::\S.*$/);
    expect(lines[0]).toBe(`::error file=${ERRORS},line=3,col=19,endLine=3,endColumn=20,title=invalid-port::'0' is not a port: ports are whole numbers 1-65535`);
    expect(lines.filter((l) => l.startsWith('::warning'))).toHaveLength(2);
    expect(lines.filter((l) => l.startsWith('::notice'))).toHaveLength(1);
    expect(lines[1]).toContain("(hint: did you mean '10.0.0.0/8'?)");
  });

  it('github: a clean run prints nothing', () => {
    expect(cli('check', '--format', 'github', CLEAN)).toEqual({ code: 0, stdout: '', stderr: '' });
  });
});

// ---- fmt ---------------------------------------------------------------------------------

describe('fmt', () => {
  const canonical = readFileSync(CLEAN, 'utf8').replace(/^#.*\n/, '');

  it('prints the canonical layout on stdout', () => {
    const r = cli('fmt', UNFORMATTED);
    expect(r).toEqual({ code: 0, stdout: canonical, stderr: '' });
    expect(cli('fmt', CLEAN).stdout).toBe(readFileSync(CLEAN, 'utf8'));
  });

  it('--check: exit 1 and the name of each unformatted file; 0 when all are formatted', () => {
    const bad = cli('fmt', '--check', UNFORMATTED, CLEAN);
    expect(bad.code).toBe(1);
    expect(bad.stdout).toBe('');
    expect(bad.stderr).toBe(`not formatted: ${UNFORMATTED}\n`);
    expect(cli('fmt', '--check', CLEAN, CLEAN_YAML)).toEqual({ code: 0, stdout: '', stderr: '' });
  });

  it('--write on a YAML policy without its policy: name: exit 2, the file untouched (no policy: "" added)', () => {
    const text = 'proxy:\n  uid: 1337\ninbound:\n  capture-ports: "*"\n';
    const f = scratch.write('nameless.yaml', text);
    const r = cli('fmt', '--write', f);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("error[missing-value]: 'policy' needs a value");
    expect(readFileSync(f, 'utf8')).toBe(text);
    noStack(r);
  });

  it('--check in json, sarif and github: one not-formatted finding per unformatted file, exit 1', () => {
    const j = cli('fmt', '--check', '--format', 'json', UNFORMATTED, CLEAN);
    expect(j.code).toBe(1);
    const ds = (JSON.parse(j.stdout) as { diagnostics: { code: string; file?: string }[] }).diagnostics;
    expect(ds.map((d) => [d.code, d.file])).toEqual([['not-formatted', UNFORMATTED]]);
    const gh = cli('fmt', '--check', '--format', 'github', UNFORMATTED);
    expect(gh.code).toBe(1);
    expect(gh.stdout).toMatch(new RegExp(`^::warning file=${UNFORMATTED.replace(/[.]/g, '\\.')},title=not-formatted::`));
    const sarif = cli('fmt', '--check', '--format', 'sarif', UNFORMATTED);
    expect(sarif.code).toBe(1);
    expect(sarif.stdout).toContain('"ruleId": "not-formatted"');
    expect(cli('fmt', '--check', '--format', 'json', CLEAN).code).toBe(0);
  });

  it('--check on a file with syntax errors: exit 2, the errors shown', () => {
    const f = scratch.write('broken.intercept', 'policy p {\n  inbound { capture ports * \n');
    const r = cli('fmt', '--check', f);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('error[unclosed-block]');
    noStack(r);
  });

  it('formats a file with semantic errors (only syntax errors stop it)', () => {
    const r = cli('fmt', ERRORS);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(readFileSync(ERRORS, 'utf8'));
  });

  it('--write rewrites a file in place, and leaves a formatted one alone', () => {
    const f = join(scratch.dir, 'rewrite.intercept');
    copyFileSync(UNFORMATTED, f);
    const r = cli('fmt', '--write', f);
    expect(r).toEqual({ code: 0, stdout: '', stderr: '' });
    expect(readFileSync(f, 'utf8')).toBe(canonical);
    expect(cli('fmt', '--check', f).code).toBe(0);
    const before = statSync(f).mtimeMs;
    expect(cli('fmt', '--write', f).code).toBe(0);
    expect(statSync(f).mtimeMs).toBe(before);
  });

  it('--to yaml prints the YAML twin, the same policy', () => {
    const r = cli('fmt', '--to', 'yaml', UNFORMATTED);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(readFileSync(CLEAN_YAML, 'utf8').replace(/^#.*\n/, ''));
    const a = load(readFileSync(UNFORMATTED, 'utf8')).policy!;
    const b = load(r.stdout, 'yaml').policy!;
    expect(policyFingerprint(b)).toBe(policyFingerprint(a));
  });

  it('--to intercept converts YAML back', () => {
    const r = cli('fmt', '--to', 'intercept', CLEAN_YAML);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(readFileSync(CLEAN, 'utf8').replace('# A clean, canonical policy: check is silent, fmt --check passes.', '# The YAML twin of clean.intercept.'));
  });

  it('--to yaml --check: a file in the other syntax is never "formatted"', () => {
    expect(cli('fmt', '--to', 'yaml', '--check', CLEAN).code).toBe(1);
  });

  it('--to yaml --write writes FILE.yaml beside it, and never overwrites', () => {
    const f = join(scratch.dir, 'convert.intercept');
    copyFileSync(CLEAN, f);
    const r = cli('fmt', '--to', 'yaml', '--write', f);
    expect(r.code).toBe(0);
    const y = join(scratch.dir, 'convert.yaml');
    expect(readFileSync(y, 'utf8')).toBe(cli('fmt', '--to', 'yaml', CLEAN).stdout);
    expect(readFileSync(f, 'utf8')).toBe(readFileSync(CLEAN, 'utf8'));
    const again = cli('fmt', '--to', 'yaml', '--write', f);
    expect(again.code).toBe(2);
    expect(again.stderr).toContain('already exists');
  });

  it('a missing file, a directory, another type: exit 2, no stack trace', () => {
    const dir = join(scratch.dir, 'fmtdir.yaml');
    mkdirSync(dir, { recursive: true });
    const cases: [string, string][] = [
      [join(scratch.dir, 'nope.yaml'), 'no such file'],
      [dir, 'it is a directory'],
      [scratch.write('x.json', '{}'), 'cannot tell the syntax'],
    ];
    for (const [f, msg] of cases) {
      const r = cli('fmt', f);
      expect(r.code, f).toBe(2);
      expect(r.stderr).toContain(msg);
      expect(r.stdout).toBe('');
      noStack(r);
    }
  });

  it('--format json reports fmt diagnostics as JSON', () => {
    const f = scratch.write('unclosed.intercept', 'policy p {\n');
    const r = cli('fmt', '--format', 'json', f);
    expect(r.code).toBe(2);
    expect((JSON.parse(r.stdout) as JsonReport).diagnostics.map((d) => d.code)).toEqual(['unclosed-block']);
  });
});

// ---- explain -------------------------------------------------------------------------------

describe('explain', () => {
  it('CODE prints its severity, message, hint and explanation', () => {
    const r = cli('explain', 'cidr-host-bits');
    expect(r.code).toBe(0);
    const e = catalogue['cidr-host-bits'];
    // The message and hint as meshcap says them about the entry's example, not the template.
    expect(r.stdout.startsWith(`cidr-host-bits (error)\n\n  '10.1.2.3/8' has host bits set`)).toBe(true);
    expect(r.stdout).not.toContain(e.message);
    expect(r.stdout).toContain(`\n  hint: `);
    expect(r.stdout).toContain(`\n\n${e.explain}\n`);
    expect(r.stdout).toContain(`\nCorrected:\n    policy p {\n`);
    expect(r.stdout.endsWith('\nDocs: docs/language.md#values\n')).toBe(true);
  });

  it('a code without a hint', () => {
    const r = cli('explain', 'syntax-error');
    expect(r.code).toBe(0);
    expect(r.stdout).not.toContain('hint:');
    expect(r.stdout).toContain(catalogue['syntax-error'].explain);
  });

  it('an unknown code: exit 3, with a suggestion', () => {
    const r = cli('explain', 'cidr-host-bit');
    expect(r.code).toBe(3);
    expect(r.stderr).toContain("no diagnostic 'cidr-host-bit': did you mean 'cidr-host-bits'?");
  });

  it('--list: every code of the catalogue, then the lint rules that are not codes, one per line, with its severity', () => {
    const r = cli('explain', '--list');
    expect(r.code).toBe(0);
    const lines = r.stdout.trimEnd().split('\n');
    expect(lines.map((l) => l.split(/\s+/)[0])).toEqual([...Object.keys(catalogue), ...Object.keys(RULES).filter((id) => !(id in catalogue))]);
    for (const [i, [, e]] of Object.entries(catalogue).entries()) expect(lines[i].split(/\s+/)[1]).toBe(e.severity);
  });
});

// ---- the built binary ----------------------------------------------------------------------

describe('the built binary', () => {
  const bin = join(root, 'dist', 'src', 'cli', 'main.js');

  /** Newest modification time of the TypeScript sources the binary is built from. */
  function newestSource(dir: string): number {
    let t = 0;
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const p = join(dir, e.name);
      if (e.isDirectory()) t = Math.max(t, newestSource(p));
      else if (e.name.endsWith('.ts')) t = Math.max(t, statSync(p).mtimeMs);
    }
    return t;
  }

  beforeAll(() => {
    // `npm test` builds first (pretest); a bare `vitest run` may find dist/ missing or stale.
    const stale = !existsSync(bin) || statSync(bin).mtimeMs < Math.max(newestSource(join(root, 'src')), newestSource(join(root, 'grammar')));
    if (stale) spawnSync(process.execPath, [join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', root], { cwd: root, encoding: 'utf8' });
    expect(existsSync(bin), 'dist/src/cli/main.js (npx tsc -p .)').toBe(true);
  }, 180_000);

  const runBin = (...args: string[]) => {
    const r = spawnSync(process.execPath, [bin, ...args], { cwd: root, encoding: 'utf8', env: { ...process.env, NO_COLOR: '1', MESHCAP_DEBUG: '' } });
    return { code: r.status, stdout: r.stdout, stderr: r.stderr };
  };

  // Each spawn is a fresh Node process (a second or more on a busy machine): few of them.
  it('works end to end: exit codes, output, and never a stack trace', () => {
    expect(runBin('check', CLEAN)).toEqual({ code: 0, stdout: '', stderr: '' });

    const bad = runBin('check', ERRORS, WARNINGS);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain(`${ERRORS}:3:19: error[invalid-port]`);
    expect(bad.stderr).toContain(`${WARNINGS}:9:3: warning[ipv6-bypass]`);
    expect(bad.stderr).toMatch(/^2 errors, 2 warnings$/m);

    // Bad input of every kind at once (a missing file, a directory, YAML garbage, binary
    // bytes): a message for each, exit 2, no trace.
    const garbage = scratch.write('garbage.yaml', '\u0000\u0001policy: [\n{{{\n');
    const binary = scratch.write('binary.intercept', Buffer.from([0xff, 0xfe, 0x00, 0x7b, 0x7d, 0x0a]).toString('latin1'));
    const emptyDir = join(scratch.dir, 'no-policies-here');
    mkdirSync(emptyDir, { recursive: true });
    const all = runBin('check', join(scratch.dir, 'missing.intercept'), emptyDir, garbage, binary);
    expect(all.code).toBe(2);
    expect(all.stderr).toContain('no such file');
    expect(all.stderr).toContain('it is a directory');
    expect(all.stderr).toContain(`${garbage}:2:1: error[yaml-syntax]`);
    expect(all.stderr).toContain(`${binary}:1:1: error[unexpected-character]`);

    const usage = runBin('check', '--format');
    expect(usage.code).toBe(3);

    for (const r of [bad, all, usage]) {
      expect(r.stderr + r.stdout).not.toMatch(STACK_LINE);
      expect(r.stderr + r.stdout).not.toContain('internal error');
    }
  }, 120_000);

  it('prints the version and converts between the syntaxes', () => {
    expect(runBin('--version').stdout).toBe(`meshcap ${pkg.version}\n`);
    const a = runBin('fmt', '--to', 'yaml', CLEAN);
    expect(a.code).toBe(0);
    expect(a.stdout.replace(/^#.*\n/, '')).toBe(readFileSync(CLEAN_YAML, 'utf8').replace(/^#.*\n/, ''));
  }, 60_000);
});
