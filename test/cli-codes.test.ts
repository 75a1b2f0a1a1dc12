// The command line's own codes: every usage-* code (exit 3) from a wrong command line, and
// every internal-* code (a meshcap bug) from a fault injected into the compiler, in every
// output format. The policy codes are in test/bad-input.test.ts.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { backendByName, type Backend } from '../backends/index.js';
import { catalogue, codeClass, type Code } from '../src/diagnostics/catalogue.js';
import { compile } from '../src/compile/pipeline.js';
import type { RuleSet } from '../src/ir/types.js';
import { commands } from '../src/cli/run.js';
import { cli, scratchDir, STACK_LINE } from './helpers.js';

// Faults the tests below switch on, one at a time.
const fault = vi.hoisted(() => ({ checkIr: false, schema: false, undecided: false, fmt: false }));

vi.mock('../src/ir/check.js', async (importOriginal) => {
  const m = await importOriginal<typeof import('../src/ir/check.js')>();
  return {
    ...m,
    checkRuleSet: (rs: RuleSet) =>
      fault.checkIr ? [{ family: 'ipv4', table: 'nat', chain: 'OUTPUT', index: 1, message: 'made-up problem' }, ...m.checkRuleSet(rs)] : m.checkRuleSet(rs),
  };
});
vi.mock('../backends/nftables/schema.js', async (importOriginal) => {
  const m = await importOriginal<typeof import('../backends/nftables/schema.js')>();
  return { ...m, validateNft: (x: unknown) => (fault.schema ? ['$.nftables[0]: made-up problem'] : m.validateNft(x)) };
});
vi.mock('../src/verify/engine.js', async (importOriginal) => {
  const m = await importOriginal<typeof import('../src/verify/engine.js')>();
  return {
    ...m,
    equivalent: (...a: Parameters<typeof m.equivalent>) =>
      fault.undecided ? { result: 'undecided' as const, classes: 0, ms: 0, differences: [], reason: 'made-up limit' } : m.equivalent(...a),
  };
});
vi.mock('../grammar/printer.js', async (importOriginal) => {
  const m = await importOriginal<typeof import('../grammar/printer.js')>();
  return { ...m, printIntercept: (...a: Parameters<typeof m.printIntercept>) => (fault.fmt ? m.printIntercept(...a).replace('15001', '15002') : m.printIntercept(...a)) };
});

const SPEC = 'specs/istio-sidecar.intercept';
const CLEAN = 'test/fixtures/cli/clean.intercept';

/** The `error[CODE]` tags in a text. */
const tags = (s: string) => [...s.matchAll(/error\[([a-z0-9-]+)\]/g)].map((m) => m[1]);

// ---- usage ---------------------------------------------------------------------------------

const usageCases: [Code, string[]][] = [
  ['usage-unknown-command', ['chekc', CLEAN]],
  ['usage-unknown-option', ['check', '--frobnicate', CLEAN]],
  ['usage-missing-option-value', ['check', CLEAN, '--format']],
  ['usage-bad-option-value', ['check', '--format', 'xml', CLEAN]],
  ['usage-conflicting-options', ['fmt', '--check', '--write', CLEAN]],
  ['usage-unknown-backend', ['compile', '--backend', 'nope', SPEC]],
  ['usage-missing-argument', ['compile']],
  ['usage-extra-argument', ['compile', SPEC, SPEC]],
  ['usage-bad-argument', ['schema', 'xml']],
  ['usage-unknown-code', ['explain', 'no-such-code']],
];

describe('usage errors: one usage-* code each, exit 3', () => {
  it('every usage code of the catalogue has a case', () => {
    const usage = Object.keys(catalogue).filter((c) => codeClass(c as Code) === 'usage');
    expect(usageCases.map(([c]) => c).sort()).toEqual(usage.sort());
  });

  it.each(usageCases)('%s: %j', (code, argv) => {
    const r = cli(...argv);
    expect(r.code).toBe(3);
    expect(r.stdout).toBe('');
    expect(tags(r.stderr)).toEqual([code]);
    expect(r.stderr).toMatch(new RegExp(`^meshcap: error\\[${code}\\]: `));
    expect(r.stderr).toMatch(/\(see 'meshcap [a-z ]*--help'\)\n$/);
    expect(r.stderr).not.toMatch(STACK_LINE);
  });

  it('no command at all: the help on stdout, usage-missing-argument on stderr', () => {
    const r = cli();
    expect(r.code).toBe(3);
    expect(r.stdout).toContain('Usage: meshcap COMMAND');
    expect(tags(r.stderr)).toEqual(['usage-missing-argument']);
  });

  it.each([
    ['a misspelt command', ['compil', SPEC], 'usage-unknown-command', "did you mean 'compile'?"],
    ['a misspelt option', ['compile', '--backnd', 'nftables', SPEC], 'usage-unknown-option', "did you mean '--backend'?"],
    ['a misspelt backend', ['compile', '--backend', 'nftabels', SPEC], 'usage-unknown-backend', "did you mean 'nftables'?"],
    ['a misspelt trace backend', ['trace', SPEC, '--backend', 'iptable', '--packet', 'out tcp 10.1.0.5:40000 -> 10.2.0.9:9080'], 'usage-unknown-backend', "did you mean 'iptables'?"],
  ])('%s: a did-you-mean hint, exit 3', (_name, argv, code, hint) => {
    const r = cli(...argv);
    expect(r.code).toBe(3);
    expect(tags(r.stderr)).toEqual([code]);
    expect(r.stderr).toContain(`  hint: ${hint}\n`);
  });

  it('nothing close: no guess', () => {
    const r = cli('zzzzzz');
    expect(r.code).toBe(3);
    expect(r.stderr).not.toContain('did you mean');
  });

  it("an empty --backend ('' or a trailing comma) is refused, not read as the default", () => {
    for (const b of ['', 'iptables,']) {
      const r = cli('compile', '--backend', b, SPEC);
      expect(r.code, b).toBe(3);
      expect(tags(r.stderr)).toEqual(['usage-bad-option-value']);
      expect(r.stdout).toBe('');
    }
  });

  it('the unknown-option message names the option; a missing value names the option too', () => {
    expect(cli('check', '--frobnicate', CLEAN).stderr).toContain("error[usage-unknown-option]: unknown option '--frobnicate'");
    expect(cli('compile', SPEC, '-o').stderr).toContain("error[usage-missing-option-value]: option '--out' needs a value");
  });

  it.each([
    ['an unknown backend of trace', ['trace', SPEC, '--backend', 'pf', '--packet', 'out tcp 10.1.0.5:40000 -> 10.2.0.9:9080'], 'usage-unknown-backend'],
    ['a backend of the other family', ['trace', SPEC, '--backend', 'ip6tables', '--packet', 'out tcp 10.1.0.5:40000 -> 10.2.0.9:9080'], 'usage-conflicting-options'],
    ['trace without --packet', ['trace', SPEC], 'usage-missing-argument'],
    ['verify with --max 0', ['verify', SPEC, '--against', SPEC, '--max', '0'], 'usage-bad-option-value'],
    ['diff with one file', ['diff', SPEC], 'usage-missing-argument'],
    ['import from an unknown source', ['import', 'linkerd'], 'usage-bad-argument'],
    ['import with --config and flags', ['import', 'istio-iptables', '--config', 'x.json', '--', '-p', '1'], 'usage-conflicting-options'],
    ['a boolean option given a value', ['check', '--verbose=yes', CLEAN], 'usage-bad-option-value'],
  ])('%s', (_name, argv, code) => {
    const r = cli(...argv);
    expect(r.code).toBe(3);
    expect(tags(r.stderr)).toEqual([code]);
  });

  it('compile() itself reports an unknown backend as a usage code, never an input one', () => {
    const ctx = compile(SPEC, { backends: ['nope'] });
    expect(ctx.diagnostics.map((d) => d.code)).toEqual(['usage-unknown-backend']);
    expect(ctx.diagnostics[0].message).toBe("unknown backend 'nope'; the backends are: iptables, ip6tables, nftables, shell");
  });
});

// ---- internal failures -----------------------------------------------------------------------

describe('internal failures: internal-* codes in every format', () => {
  const restore: (() => void)[] = [];
  afterEach(() => {
    Object.assign(fault, { checkIr: false, schema: false, undecided: false, fmt: false });
    for (const r of restore.splice(0)) r();
  });

  /** Replace a backend's method for one test. */
  function patch<K extends 'emit' | 'reimport'>(name: string, key: K, f: (orig: Backend[K]) => Backend[K]) {
    const b = backendByName(name)!;
    const orig = b[key];
    b[key] = f(orig);
    restore.push(() => (b[key] = orig));
  }

  const compileCases: [Code, () => void, string[]][] = [
    ['internal-check-ir', () => (fault.checkIr = true), []],
    ['internal-schema', () => (fault.schema = true), ['--backend', 'nftables']],
    [
      'internal-reimport',
      () => patch('iptables', 'reimport', () => () => ({ diagnostics: [] })),
      [],
    ],
    [
      'internal-routing',
      () =>
        patch('shell', 'reimport', (orig) => (text, path) => {
          const r = orig(text, path);
          return { ...r, routing: { ...r.routing!, loopbackAddresses: [...r.routing!.loopbackAddresses, '::42'] } };
        }),
      ['--backend', 'shell'],
    ],
    [
      'internal-verify-different',
      () =>
        patch('iptables', 'reimport', (orig) => (text, path) => {
          const r = orig(text, path);
          // Drop every rule: the output no longer does what the IR does.
          for (const t of r.ruleset!.tables) for (const c of t.chains) c.rules = [];
          return r;
        }),
      [],
    ],
    ['internal-verify-undecided', () => (fault.undecided = true), []],
  ];

  it.each(compileCases)('compile: %s, exit 1, nothing written', (code, inject, extra) => {
    inject();
    const r = cli('compile', SPEC, ...extra);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(tags(r.stderr)).toContain(code);
    expect(tags(r.stderr).every((t) => t.startsWith('internal-')), r.stderr).toBe(true);
    expect(r.stderr).toMatch(/^\d+ errors?, 0 warnings$/m);

    const json = cli('compile', SPEC, ...extra, '--format', 'json');
    expect(json.code).toBe(1);
    const ds = (JSON.parse(json.stdout) as { diagnostics: { code: string; severity: string; file: null }[] }).diagnostics;
    expect(ds.map((d) => d.code)).toContain(code);
    expect(ds.find((d) => d.code === code)).toMatchObject({ severity: 'error', file: null });

    const sarif = JSON.parse(cli('compile', SPEC, ...extra, '--format', 'sarif').stdout) as { runs: { results: { ruleId: string }[]; tool: { driver: { rules: { id: string }[] } } }[] };
    expect(sarif.runs[0].results.map((x) => x.ruleId)).toContain(code);
    expect(sarif.runs[0].tool.driver.rules.map((x) => x.id)).toContain(code);

    expect(cli('compile', SPEC, ...extra, '--format', 'github').stdout).toContain(`title=${code}::`);
  });

  it('compile: a failed proof still prints the counterexample and both traces', () => {
    compileCases.find(([c]) => c === 'internal-verify-different')![1]();
    const r = cli('compile', SPEC);
    expect(r.stderr).toMatch(/error\[internal-verify-different\]: verification failed: IR = iptables output: they differ/);
    expect(r.stderr).toMatch(/\nIR = iptables output: counterexample: (out|in) tcp /);
  });

  it('every internal code of the catalogue has a case', () => {
    const internal = Object.keys(catalogue).filter((c) => codeClass(c as Code) === 'internal');
    const covered = new Set<string>([...compileCases.map(([c]) => c), 'internal-format', 'internal-error']);
    expect([...covered].sort()).toEqual(internal.sort());
  });

  it('trace --backend: an output that does not read back is internal-reimport, exit 2 as before, reported as compile reports its failures', () => {
    patch('iptables', 'reimport', () => () => ({ diagnostics: [] }));
    const r = cli('trace', SPEC, '--backend', 'iptables', '--packet', 'out tcp 10.1.0.5:40000 -> 10.2.0.9:9080');
    expect(r.code).toBe(2);
    expect(tags(r.stderr)).toEqual(['internal-reimport']);
    expect(r.stderr).toMatch(/^error\[internal-reimport\]: the iptables output does not read back/);
  });

  it('fmt: a layout that would change the meaning is internal-format, and nothing is written', () => {
    fault.fmt = true;
    const s = scratchDir();
    try {
      const f = s.write('p.intercept', 'policy p {\n  proxy { outbound-port 15001 }\n  inbound { capture ports * }\n}\n');
      const r = cli('fmt', f);
      expect(r.code).toBe(2);
      expect(r.stdout).toBe('');
      expect(tags(r.stderr)).toEqual(['internal-format']);
      expect(r.stderr).toContain(`formatting ${f} would change its meaning`);
    } finally {
      s.cleanup();
    }
  });

  it('an uncaught exception is internal-error, exit 2, no stack trace; in JSON when asked', () => {
    commands.push({
      name: 'explode',
      summary: 'a test command that throws',
      usage: 'meshcap explode',
      run() {
        throw new TypeError('made-up bug');
      },
    });
    restore.push(() => void commands.pop());
    const r = cli('explode');
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^meshcap: error\[internal-error\]: internal error: made-up bug\n/);
    expect(r.stderr).not.toMatch(STACK_LINE);
    const j = cli('explode', '--format', 'json');
    expect(j.code).toBe(2);
    expect(JSON.parse(j.stdout)).toMatchObject({ diagnostics: [{ code: 'internal-error', message: 'internal error: made-up bug' }] });
  });
});
