// The nftables backend through the command line, in-process with run(): compile options,
// -o DIR, the schema command, and verify against an nft JSON rule set.
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { emitNftables } from '../backends/nftables/emit.js';
import type { NftCommand, NftDocument, NftExpr } from '../backends/nftables/objects.js';
import { validateNft, type JsonSchema } from '../backends/nftables/schema.js';
import { cliOutErr } from './helpers.js';
import { loadFile } from '../src/language/load.js';
import { lower } from '../src/lower/lower.js';
import { finalIr, optimize } from '../src/optimize/passes.js';

const cli = cliOutErr;

const SPEC = 'specs/istio-sidecar.intercept';
const TPROXY = 'specs/istio-tproxy.intercept';
const STACK = /^\s+at .+[:(]/m;
const tmp = mkdtempSync(join(tmpdir(), 'meshcap-cli-nft-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
let n = 0;
const tmpPath = (name: string) => join(tmp, `${n++}-${name}`);
const parsed = (text: string): NftDocument => JSON.parse(text) as NftDocument;
const cmds = (text: string): NftCommand[] => parsed(text).nftables;

describe('meshcap compile --backend nftables', () => {
  it('prints nft JSON that parses and validates, and nothing else', () => {
    const ir = lower(loadFile(SPEC).policy!);
    const r = cli('compile', '--backend', 'nftables', SPEC);
    expect(r.code, r.err).toBe(0);
    expect(r.err).toBe('');
    const doc: unknown = JSON.parse(r.out);
    expect(validateNft(doc)).toEqual([]);
    expect(r.out).toBe(emitNftables(finalIr(ir, optimize(ir)), { comments: true }));
    expect(cmds(r.out)[0]).toEqual({ add: { table: { family: 'inet', name: 'istio-sidecar' } } });
  });

  it('--nft-version 1.0.8 destroys the table first (and comments it); the default adds, deletes and adds it', () => {
    const r = cli('compile', '--backend', 'nftables', '--nft-version', '1.0.8', SPEC);
    expect(r.code, r.err).toBe(0);
    const c = cmds(r.out);
    expect(c[0]).toEqual({ destroy: { table: { family: 'inet', name: 'istio-sidecar' } } });
    expect(typeof c[1].add?.table?.comment).toBe('string');
    expect(validateNft(JSON.parse(r.out))).toEqual([]);
    const d = cli('compile', '--backend', 'nftables', SPEC);
    expect(d.out).not.toContain('"destroy"');
    expect(cmds(d.out)[1]).toEqual({ delete: { table: { family: 'inet', name: 'istio-sidecar' } } });
    expect(cmds(d.out)[2]).toEqual({ add: { table: { family: 'inet', name: 'istio-sidecar' } } });
  });

  it('--nft-version newer than every known release: emitted for the newest known one, with a note (exit 0)', () => {
    const r = cli('compile', '--backend', 'nftables', '--nft-version', '9.9.9', SPEC);
    expect(r.code, r.err).toBe(0);
    expect(r.out).toBe(cli('compile', '--backend', 'nftables', '--nft-version', '1.1.1', SPEC).out);
    expect(r.err).toContain('info[nft-version-assumed]: nft 9.9.9 is newer than the newest release meshcap knows; emitting for nft 1.1.1');
  });

  it.each(['0.9.0', '1.0', 'abc', 'constructor', ''])('--nft-version %j, older or not a release: a usage error (exit 3) naming the known versions', (v) => {
    const r = cli('compile', '--backend', 'nftables', '--nft-version', v, SPEC);
    expect(r.code).toBe(3);
    expect(r.out).toBe('');
    expect(r.err).toContain('1.0.6');
    expect(r.err).not.toMatch(STACK);
  });

  it('--counters puts a counter on every policy rule', () => {
    const plain = cli('compile', '--backend', 'nftables', SPEC);
    const r = cli('compile', '--backend', 'nftables', '--counters', SPEC);
    expect(r.code, r.err).toBe(0);
    expect(plain.out).not.toContain('"counter"');
    const rules = cmds(r.out).flatMap((c) => (c.add?.rule ? [c.add.rule] : []));
    expect(rules.length).toBeGreaterThan(5);
    for (const rule of rules) expect(rule.expr.filter((e) => 'counter' in e)).toEqual([{ counter: null }]);
    expect(validateNft(JSON.parse(r.out))).toEqual([]);
  });

  it('-o DIR writes NAME.nft.json (the same text), nothing on stdout', () => {
    const dir = tmpPath('out');
    const r = cli('compile', '--backend', 'nftables', '-o', dir, TPROXY);
    expect(r.code, r.err).toBe(0);
    expect(r.out).toBe('');
    expect(readdirSync(dir).sort()).toEqual(['istio-tproxy.nft.json', 'istio-tproxy.summary.json']);
    const text = readFileSync(join(dir, 'istio-tproxy.nft.json'), 'utf8');
    expect(r.err).toContain(join(dir, 'istio-tproxy.nft.json'));
    expect(text).toBe(cli('compile', '--backend', 'nftables', TPROXY).out);
    expect(validateNft(JSON.parse(text))).toEqual([]);
  });
});

describe('meshcap schema nftables', () => {
  it('prints a draft 2020-12 JSON Schema with additionalProperties false at the top', () => {
    const r = cli('schema', 'nftables');
    expect(r.code, r.err).toBe(0);
    const s = JSON.parse(r.out) as JsonSchema;
    expect(s.$schema).toBe('https://json-schema.org/draft/2020-12/schema');
    expect(s.additionalProperties).toBe(false);
    expect(s.type).toBe('object');
    expect(s.required).toEqual(['nftables']);
    expect(s.$defs).toBeDefined();
  });

  it('an unknown format is a usage error', () => {
    const r = cli('schema', 'iptables');
    expect(r.code).toBe(3);
    expect(r.out).toBe('');
  });
});

describe('meshcap verify POLICY --against OUT.nft.json', () => {
  const dir = tmpPath('verify');
  const file = join(dir, 'istio-sidecar.nft.json');

  it('the compiled output is proven equal (exit 0)', () => {
    expect(cli('compile', '--backend', 'nftables', '-o', dir, SPEC).code).toBe(0);
    expect(existsSync(file)).toBe(true);
    const r = cli('verify', SPEC, '--against', file);
    expect(r.code, r.out + r.err).toBe(0);
    expect(r.out).toMatch(/^equal: /);
    expect(r.out).toContain('ipv4 and ipv6');
  });

  it('a tampered copy (one port changed) is different (exit 1) with a counterexample', () => {
    const text = readFileSync(file, 'utf8');
    expect(text).toContain('"port": 15001');
    const bad = join(dir, 'tampered.nft.json');
    writeFileSync(bad, text.replace('"port": 15001', '"port": 15002'));
    const r = cli('verify', SPEC, '--against', bad);
    expect(r.code, r.out + r.err).toBe(1);
    expect(r.out).toMatch(/^different: /);
    expect(r.out).toContain('counterexample');
    expect(r.out).toContain('15002');
    const j = cli('verify', '--format', 'json', SPEC, '--against', bad);
    expect(j.code).toBe(1);
    const rep = JSON.parse(j.out) as { result: string; counterexample: Record<'policy' | 'against', { outcome: { redirect: unknown } }> };
    expect(rep.result).toBe('different');
    expect(rep.counterexample.against.outcome.redirect).toEqual({ port: 15002 });
    expect(rep.counterexample.policy.outcome.redirect).toEqual({ port: 15001 });
  });

  it('a tampered match port is found too', () => {
    const text = readFileSync(file, 'utf8');
    const d = parsed(text);
    // The rule that keeps the proxy's tunnel/inbound port out of capture: change its port.
    const isDport = (e: NftExpr) => e.match?.left.payload?.field === 'dport';
    const rule = d.nftables.find((c) => c.add?.rule?.expr.some((e) => isDport(e) && typeof e.match?.right === 'number'));
    expect(rule).toBeDefined();
    const mt = rule?.add?.rule?.expr.find(isDport)?.match;
    if (typeof mt?.right !== 'number') throw new Error(`expected a port: ${JSON.stringify(mt)}`);
    mt.right = mt.right + 1;
    const bad = join(dir, 'tampered-match.nft.json');
    writeFileSync(bad, JSON.stringify(d));
    expect(cli('verify', SPEC, '--against', bad).code).toBe(1);
  });

  it('a malformed nft JSON file is unreadable input (exit 2), not a crash', () => {
    const bad = join(dir, 'broken.nft.json');
    writeFileSync(bad, '{"nftables": [ {"add": ');
    const r = cli('verify', SPEC, '--against', bad);
    expect(r.code).toBe(2);
    expect(r.out + r.err).not.toMatch(STACK);
    expect(r.err).toContain('rules-syntax');
  });
});
