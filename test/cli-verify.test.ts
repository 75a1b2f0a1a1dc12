// The verify and diff commands, run in-process through run() with captured output: exit
// codes, the text and JSON reports, and that every reported difference is real (the
// simulator, on the same rule sets, confirms it).
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { restrictTo } from '../backends/index.js';
import { importIptables } from '../backends/iptables/import.js';
import { cliOutErr } from './helpers.js';
import type { RuleSet } from '../src/ir/types.js';
import { loadFile } from '../src/language/load.js';
import { lower } from '../src/lower/lower.js';
import type { Outcome, Packet } from '../src/sim/packet.js';
import { simulate } from '../src/sim/simulate.js';
import { SourceFile } from '../src/source.js';
import { sameOutcome } from '../src/verify/compare.js';
import { corpusRoot } from './harness/istio-corpus.js';
import type { stepJson } from '../src/cli/trace-render.js';

/** One side of a `verify --format json` counterexample: its outcome and trace. */
interface SideJson {
  outcome: Outcome;
  path: ReturnType<typeof stepJson>[];
}
/** `verify --format json`. */
interface VerifyJson {
  result: string;
  families: string[];
  classes: number;
  ms: number;
  reason?: string;
  differences: { description: string; packet: Packet; policy: Outcome; against: Outcome }[];
  counterexample: { packet: Packet; policy: SideJson; against: SideJson } | null;
}
/** `diff --format json`. */
interface DiffJson {
  result: string;
  families: string[];
  classes: number;
  reason?: string;
  changes: { description: string; packet: Packet; before: Outcome; after: Outcome }[];
}

const cli = cliOutErr;

const SPEC = 'specs/istio-sidecar.intercept';
const CORPUS = join(corpusRoot(), 'corpus', 'istio-kernel', 'iptables-save', 'inbound-ports-wildcard.v4.legacy.txt');
const STACK = /^\s+at .+[:(]/m;

const tmp = mkdtempSync(join(tmpdir(), 'meshcap-cli-verify-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
const write = (name: string, text: string) => {
  const p = join(tmp, name);
  writeFileSync(p, text);
  return p;
};

const irOf = (path: string): RuleSet => lower(loadFile(path).policy!);
function rulesOf(path: string, family: 'ipv4' | 'ipv6'): RuleSet {
  const r = importIptables(new SourceFile(path, readFileSync(path, 'utf8')), family, path);
  expect(r.diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
  return r.ruleset!;
}

/** The sidecar spec with 3306 and 10.0.0.0/8 excluded from outbound capture. */
const MODIFIED = readFileSync(SPEC, 'utf8').replace('    capture cidrs *\n', '    capture cidrs *\n    exclude cidrs 10.0.0.0/8\n    exclude ports 3306\n');

let v4 = '';
let v6 = '';
beforeAll(() => {
  const out = join(tmp, 'out');
  const r = cli('compile', '--backend', 'iptables', '-o', out, SPEC);
  expect(r.code, r.err).toBe(0);
  v4 = join(out, 'istio-sidecar.iptables.rules');
  const r6 = cli('compile', '--backend', 'ip6tables', '-o', out, SPEC);
  expect(r6.code, r6.err).toBe(0);
  v6 = join(out, 'istio-sidecar.ip6tables.rules');
  expect(readFileSync(v4, 'utf8')).toContain('*nat');
  expect(readFileSync(v6, 'utf8')).toContain('::1/128');
});

// ---- verify ---------------------------------------------------------------------------------

describe('meshcap verify', () => {
  it('exit 0 against the compiled IPv4 file', () => {
    const r = cli('verify', SPEC, '--against', v4);
    expect(r.code, r.out + r.err).toBe(0);
    expect(r.err).toBe('');
    expect(r.out).toMatch(/^equal: specs\/istio-sidecar\.intercept and .*istio-sidecar\.iptables\.rules give the same outcome for every ipv4 packet \(\d+ packet classes\)\n$/);
  });

  it('exit 0 against the IPv4 and IPv6 files given as two --against options', () => {
    const r = cli('verify', SPEC, '--against', v4, '--against', v6);
    expect(r.code, r.out + r.err).toBe(0);
    expect(r.out).toContain('for every ipv4 and ipv6 packet');
    const j = JSON.parse(cli('verify', '--format', 'json', SPEC, '--against', v4, '--against', v6).out) as VerifyJson;
    expect(j).toMatchObject({ result: 'equal', families: ['ipv4', 'ipv6'], differences: [], counterexample: null });
    expect(j.classes).toBeGreaterThan(10);
  });

  it('the IPv6 file alone is compared as IPv6 (from its name)', () => {
    const r = cli('verify', '--format', 'json', SPEC, '--against', v6);
    expect(r.code).toBe(0);
    expect((JSON.parse(r.out) as VerifyJson).families).toEqual(['ipv6']);
  });

  it('exit 1 against a rule set that differs, with a counterexample and both traces', () => {
    const r = cli('verify', SPEC, '--against', CORPUS);
    expect(r.code, r.err).toBe(1);
    expect(r.err).toBe('');
    expect(r.out).toMatch(/^different: \d+\+? packet class\(es\) are treated differently\n/);
    // Inbound: Istio's capture of the excluded ports (this Istio run excluded none).
    expect(r.out).toMatch(/inbound IPv4 TCP \(new\) .*port .*15020.*: pass \(policy\) → redirect 15006 \(/);
    const ce = r.out.indexOf('\ncounterexample: ');
    expect(ce).toBeGreaterThan(0);
    const tail = r.out.slice(ce);
    expect(tail).toMatch(/\ncounterexample: (out|in) tcp \S+ -> \S+/);
    // Both traces: the policy's rules with their source lines, then the corpus file's.
    const pol = tail.indexOf('\npolicy:\n');
    const theirs = tail.indexOf(`\n${CORPUS}:\n`);
    expect(pol).toBeGreaterThan(0);
    expect(theirs).toBeGreaterThan(pol);
    expect(tail.slice(pol, theirs)).toMatch(/nat\/OUTPUT #1 +jump MESHCAP_OUTPUT +\(specs\/istio-sidecar\.intercept:\d+\)/);
    expect(tail.slice(pol, theirs)).toMatch(/\n {2}=> \S/);
    expect(tail.slice(theirs)).toContain('ISTIO_OUTPUT');
    expect(tail.slice(theirs)).toMatch(/\n {2}=> \S/);
    const outcomes = [...tail.matchAll(/\n {2}=> (.+)/g)].map((m) => m[1]);
    expect(outcomes).toHaveLength(2);
    expect(outcomes[0]).not.toBe(outcomes[1]);
    expect(r.out).not.toMatch(STACK);
  });

  it('--format json: {result, families, classes, differences, counterexample}, each difference real', () => {
    const r = cli('verify', '--format', 'json', '--max', '10', SPEC, '--against', CORPUS);
    expect(r.code).toBe(1);
    const j = JSON.parse(r.out) as VerifyJson;
    expect(Object.keys(j)).toEqual(expect.arrayContaining(['result', 'families', 'classes', 'differences', 'counterexample']));
    expect(j.result).toBe('different');
    expect(j.families).toEqual(['ipv4']);
    expect(typeof j.classes).toBe('number');
    expect(j.differences.length).toBeGreaterThan(0);
    expect(j.differences.length).toBeLessThanOrEqual(10);
    const mine = restrictTo(irOf(SPEC), 'ipv4');
    const theirs = rulesOf(CORPUS, 'ipv4');
    for (const d of j.differences) {
      expect(typeof d.description).toBe('string');
      expect(d.description).toMatch(/^(outbound|inbound) IPv4 /);
      const a = simulate(mine, d.packet).outcome;
      const b = simulate(theirs, d.packet).outcome;
      expect(a).toEqual(d.policy);
      expect(b).toEqual(d.against);
      expect(sameOutcome(a, b), d.description).toBe(false);
    }
    const c = j.counterexample;
    expect(c).not.toBeNull();
    if (!c) return;
    expect(Object.keys(c).sort()).toEqual(['against', 'packet', 'policy']);
    expect(c.policy.outcome).toEqual(simulate(mine, c.packet).outcome);
    expect(c.against.outcome).toEqual(simulate(theirs, c.packet).outcome);
    expect(sameOutcome(c.policy.outcome, c.against.outcome)).toBe(false);
    for (const side of [c.policy, c.against]) {
      expect(side.path.length).toBeGreaterThan(0);
      for (const s of side.path) expect(s).toEqual(expect.objectContaining({ table: expect.any(String) as unknown, chain: expect.any(String) as unknown, effect: expect.any(String) as unknown }));
    }
    expect(c.policy.path[0]).toMatchObject({ table: 'nat', chain: 'OUTPUT', source: expect.stringMatching(/^specs\/istio-sidecar\.intercept:\d+$/) as unknown });
  });

  it('--max bounds the classes listed', () => {
    const r = cli('verify', '--format', 'json', '--max', '1', SPEC, '--against', CORPUS);
    expect(r.code).toBe(1);
    expect((JSON.parse(r.out) as VerifyJson).differences).toHaveLength(1);
    // The headline counts every differing class, whatever --max shows.
    const j = JSON.parse(r.out) as VerifyJson & { total: number; totalExact: boolean };
    expect(j.totalExact).toBe(true);
    expect(j.total).toBeGreaterThan(1);
    const all = JSON.parse(cli('verify', '--format', 'json', '--max', '1000', SPEC, '--against', CORPUS).out) as VerifyJson & { total: number };
    expect(all.differences).toHaveLength(j.total);
    expect(cli('verify', SPEC, '--max', '1', '--against', CORPUS).out).toMatch(new RegExp(`^different: ${j.total} packet class\\(es\\) are treated differently \\(the first 1 below; --max N for more\\)`));
  });

  it('exit 2 on a malformed rule file, with a diagnostic naming the line', () => {
    const bad = write('bad.v4.rules', '*nat\n:OUTPUT ACCEPT [0:0]\n-A OUTPUT -p tcp -j REDIRECT --to-ports 15001\n-A OUTPUT -m frobnicate --x 1 -j RETURN\nCOMMIT\n');
    const r = cli('verify', SPEC, '--against', bad);
    expect(r.code).toBe(2);
    expect(r.out).toBe('');
    expect(r.err).toContain(`${bad}:4:`);
    expect(r.err).toContain('frobnicate');
    expect(r.err).toContain('-A OUTPUT -m frobnicate');
    expect(r.err).not.toMatch(STACK);
    // Only the bad file of two is blamed.
    const two = cli('verify', SPEC, '--against', v4, '--against', bad);
    expect(two.code).toBe(2);
    expect(two.err).toContain(`${bad}:4:`);
    expect(two.err).not.toContain(v4);
  });

  it('exit 2 on an unreadable rule file, and on an invalid policy', () => {
    const missing = join(tmp, 'missing.v4.rules');
    const r = cli('verify', SPEC, '--against', missing);
    expect(r.code).toBe(2);
    expect(r.err).toContain(missing);
    expect(r.err).toContain('no such file');
    expect(r.err).not.toMatch(STACK);
    const dir = cli('verify', SPEC, '--against', tmp);
    expect(dir.code).toBe(2);
    expect(dir.err).not.toMatch(STACK);
    const badPolicy = write('broken.intercept', 'policy broken {\n  proxy {\n    outbound-port 99999\n  }\n}\n');
    const p = cli('verify', badPolicy, '--against', v4);
    expect(p.code).toBe(2);
    expect(p.err).toContain(`${badPolicy}:3:`);
  });

  it('exit 3 without --against, and on other usage errors', () => {
    const r = cli('verify', SPEC);
    expect(r.code).toBe(3);
    expect(r.out).toBe('');
    expect(r.err).toContain('--against');
    expect(cli('verify', '--against', v4).code).toBe(3);
    expect(cli('verify', SPEC, '--against', v4, '--format', 'xml').code).toBe(3);
    expect(cli('verify', SPEC, '--against', v4, '--max', '0').code).toBe(3);
    // A policy is not a rule set.
    const other = cli('verify', SPEC, '--against', SPEC);
    expect(other.code).toBe(3);
    expect(other.err).toContain('meshcap diff');
  });
});

// ---- diff -----------------------------------------------------------------------------------

describe('meshcap diff', () => {
  it('lists readable classes (port 3306, 10.0.0.0/8) that go from redirect 15001 to pass; exit 1', () => {
    const b = write('modified.intercept', MODIFIED);
    const r = cli('diff', SPEC, b);
    expect(r.code, r.err).toBe(1);
    expect(r.err).toBe('');
    const lines = r.out.trimEnd().split('\n');
    // Each class: its line, an example packet, and the rule on each side that decided it.
    const body = lines.slice(1).filter((l) => !l.startsWith('    '));
    expect(lines[0]).toBe(`${body.length} packet class(es) change from ${SPEC} to ${b}:`);
    expect(lines.length - 1).toBe(4 * body.length);
    expect(body.every((l) => l.startsWith('  '))).toBe(true);
    expect(lines.filter((l) => l.startsWith('    e.g. out tcp '))).toHaveLength(body.length);
    expect(lines.filter((l) => l.startsWith(`    A: ${SPEC}:`))).toHaveLength(body.length);
    expect(lines.filter((l) => l.startsWith(`    B: ${b}:`))).toHaveLength(body.length);
    // The exclusion is what decided on B's side: its RETURN rules, from the lines that say so.
    expect(lines.filter((l) => l.startsWith('    B: ')).every((l) => l.endsWith('-j RETURN'))).toBe(true);
    const cidr = body.filter((l) => l.includes('10.0.0.0/8'));
    expect(cidr).toHaveLength(1);
    expect(cidr[0]).toMatch(/^ {2}outbound IPv4 TCP \(new\) .*to 10\.0\.0\.0\/8.*: redirect 15001 → pass$/);
    const port = body.filter((l) => / port 3306: redirect 15001 → pass$/.test(l));
    expect(port.map((l) => l.slice(2, 15))).toEqual(expect.arrayContaining(['outbound IPv4', 'outbound IPv6']));
    // 10.0.0.0/8 is IPv4 only; nothing changes for inbound traffic.
    expect(body.filter((l) => l.includes('IPv6')).some((l) => l.includes('10.0.0.0/8'))).toBe(false);
    expect(body.some((l) => l.includes('inbound'))).toBe(false);
    // Every line changes towards 'pass' (the change only excludes).
    expect(body.every((l) => l.endsWith('→ pass'))).toBe(true);
  });

  it('the reverse diff says the opposite', () => {
    const b = write('modified2.intercept', MODIFIED);
    const r = cli('diff', b, SPEC);
    expect(r.code).toBe(1);
    expect(r.out).toMatch(/to 10\.0\.0\.0\/8.*: pass → redirect 15001\n/);
  });

  it("identical policies: exit 0, 'no packet changes'", () => {
    const same = write('same.intercept', readFileSync(SPEC, 'utf8').replace('policy istio-sidecar', '# a copy\npolicy istio-sidecar'));
    const r = cli('diff', SPEC, same);
    expect(r.code, r.err).toBe(0);
    expect(r.out).toMatch(/^no packet changes \(ipv4, ipv6; \d+ packet classes compared\)\n$/);
    // The YAML twin of a spec means the same.
    expect(cli('diff', 'specs/istio-dns-capture.intercept', 'specs/istio-dns-capture.yaml').code).toBe(0);
  });

  it('between a policy and a rule file: the families the file speaks for', () => {
    const eqr = cli('diff', SPEC, v4);
    expect(eqr.code, eqr.out + eqr.err).toBe(0);
    expect(eqr.out).toMatch(/^no packet changes \(ipv4; /);
    const b = write('modified3.intercept', MODIFIED);
    const r = cli('diff', b, v4);
    expect(r.code).toBe(1);
    expect(r.out).toMatch(/to 10\.0\.0\.0\/8.*: pass → redirect 15001\n/);
    expect(r.out).toMatch(/port 3306: pass → redirect 15001\n/);
    expect(r.out).not.toContain('IPv6');
    // And against Istio's own rules.
    const c = cli('diff', SPEC, CORPUS);
    expect(c.code).toBe(1);
    expect(c.out).toMatch(/inbound IPv4 TCP .*: pass → redirect 15006/);
  });

  it('--format json: {result, families, classes, changes: [{description, packet, before, after}]}, each change real', () => {
    const b = write('modified4.intercept', MODIFIED);
    const r = cli('diff', '--format', 'json', SPEC, b);
    expect(r.code).toBe(1);
    const j = JSON.parse(r.out) as DiffJson;
    expect(Object.keys(j).sort()).toEqual(['changes', 'classes', 'families', 'result', 'total', 'totalExact']);
    expect(j).toMatchObject({ result: 'different', families: ['ipv4', 'ipv6'] });
    expect(j.classes).toBeGreaterThan(0);
    const A = irOf(SPEC);
    const B = irOf(b);
    expect(j.changes.length).toBeGreaterThan(1);
    for (const c of j.changes) {
      expect(Object.keys(c).sort()).toEqual(['after', 'before', 'decidedBy', 'description', 'packet']);
      const by = (c as unknown as { decidedBy: { before: { source: string }; after: { source: string } } }).decidedBy;
      expect(by.before.source).toMatch(new RegExp(`^${SPEC}:\\d+$`));
      expect(by.after.source.startsWith(`${b}:`)).toBe(true);
      // Realistic members of the class: an ephemeral source port, no port 0, an owner and an interface people use.
      expect(c.packet.sport).toBe(40000);
      expect(c.packet.dport).toBeGreaterThan(0);
      expect(simulate(A, c.packet).outcome).toEqual(c.before);
      expect(simulate(B, c.packet).outcome).toEqual(c.after);
      expect(c.before.redirect).not.toBeNull();
      expect(c.after.redirect).toBeNull();
    }
    expect(j.changes.some((c) => c.description.includes('10.0.0.0/8') && c.packet.dst.startsWith('10.'))).toBe(true);
    expect(j.changes.some((c) => c.packet.dport === 3306)).toBe(true);
    const none = JSON.parse(cli('diff', '--format', 'json', SPEC, SPEC).out) as DiffJson;
    expect(none).toMatchObject({ result: 'equal', changes: [] });
  });

  it('exit 2 on an unreadable side, 3 on usage errors', () => {
    const r = cli('diff', SPEC, join(tmp, 'nope.intercept'));
    expect(r.code).toBe(2);
    expect(r.err).toContain('nope.intercept');
    expect(r.err).not.toMatch(STACK);
    expect(cli('diff', SPEC).code).toBe(3);
    expect(cli('diff', SPEC, SPEC, SPEC).code).toBe(3);
  });
});

describe('rule files whose jumps the kernel refuses', () => {
  const loop = () => write('loop.rules', '*nat\n:PREROUTING ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n:A - [0:0]\n:B - [0:0]\n-A OUTPUT -j A\n-A A -j B\n-A B -j A\nCOMMIT\n');
  const nft = (expr: string) =>
    write(
      'jump.nft.json',
      JSON.stringify({
        nftables: [
          { add: { table: { family: 'inet', name: 't' } } },
          { add: { chain: { family: 'inet', table: 't', name: 'out', type: 'nat', hook: 'output', prio: -100, policy: 'accept' } } },
          { add: { chain: { family: 'inet', table: 't', name: 'c' } } },
          { add: { rule: { family: 'inet', table: 't', chain: 'out', expr: [{ jump: { target: 'c' } }] } } },
          { add: { rule: { family: 'inet', table: 't', chain: 'c', expr: [JSON.parse(expr) as object] } } },
        ],
      }),
    );

  it('a jump loop in iptables text: rules-jump-loop at the closing rule, exit 2 (verify and diff)', () => {
    const f = loop();
    for (const r of [cli('verify', SPEC, '--against', f), cli('diff', f, f)]) {
      expect(r.code).toBe(2);
      expect(r.err).toMatch(new RegExp(`^${f.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:8:1: error\\[rules-jump-loop\\]: this jump from chain 'B' to 'A' closes a loop in table nat`));
      expect(r.err).not.toMatch(/internal/);
    }
  });

  it('nft JSON: a loop and a jump to a missing chain are located diagnostics, not internal errors', () => {
    const looped = cli('verify', SPEC, '--against', nft('{"jump":{"target":"out"}}'));
    expect(looped.code).toBe(2);
    expect(looped.err).toContain("error[rules-jump-loop]: this jump from chain 'c' to 'out' closes a loop in table t");
    const missing = cli('verify', SPEC, '--against', nft('{"jump":{"target":"nowhere"}}'));
    expect(missing.code).toBe(2);
    expect(missing.err).toContain("error[rules-missing-chain]: chain 'nowhere' is not declared in table t");
    expect(missing.err).not.toMatch(/internal/);
  });
});

describe('diff at scale', () => {
  it('two 10,000-CIDR policies that differ in one item: diff names that item alone', () => {
    const cidrs = Array.from({ length: 10000 }, (_, i) => `10.${i >> 8}.${i & 255}.0/24`);
    const policy = (xs: string[]) =>
      `policy big {\n  proxy { uid 1337; outbound-port 15001; inbound-port 15006 }\n  inbound { capture ports * }\n  outbound {\n    capture cidrs *\n    exclude cidrs ${xs.join(', ')}\n  }\n}\n`;
    const a = write('big-a.intercept', policy(cidrs));
    const b = write('big-b.intercept', policy(cidrs.filter((_, i) => i !== 5000)));
    const r = cli('diff', a, b);
    expect(r.code).toBe(1);
    const lines = r.out.trimEnd().split('\n');
    expect(lines[0]).toBe(`1 packet class(es) change from ${a} to ${b}:`);
    expect(lines).toHaveLength(5);
    expect(lines[1]).toMatch(/to 10\.19\.136\.0\/24: pass → redirect 15001$/);
    expect(lines[2]).toMatch(/^ {4}e\.g\. out tcp 10\.1\.0\.5:40000 -> 10\.19\.136\.1:80 /);
    expect(lines[3]).toMatch(new RegExp(`^ {4}A: ${a}:\\d+ nat/MESHCAP_OUTPUT #\\d+: -A MESHCAP_OUTPUT -d 10\\.19\\.136\\.0/24 -j RETURN$`));
  });
});
