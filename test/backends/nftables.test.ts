// The nftables backend: the emitter's JSON shapes (shared/docs/netfilter-facts.md §2),
// named sets, per-family dispatch, version targets (capability -> first release), the
// schema and its agreement with the types of objects.ts, the importer's two input forms
// and its errors, and the round trip emit -> import -> equivalent for every spec.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import { emitNftables, INLINE_SET_MAX, NftEmitError, nftTableName } from '../../backends/nftables/emit.js';
import { importNftables } from '../../backends/nftables/import.js';
import {
  CHAIN_POLICIES,
  CHAIN_TYPES,
  COMMAND_KINDS,
  CT_KEYS,
  CT_STATES,
  HOOKS,
  L3_FAMILIES,
  LEFT_KINDS,
  MATCH_OPS,
  META_KEYS,
  NFT_FAMILY,
  OBJECT_KINDS,
  PAYLOAD_FIELDS,
  PAYLOAD_PROTOCOLS,
  SET_FLAG_INTERVAL,
  SET_TYPES,
  STATEMENT_KINDS,
  VERDICT_KINDS,
  type CommandKind,
  type LeftKind,
  type NftChain,
  type NftCommand,
  type NftCommandBodies,
  type NftDocument,
  type NftElement,
  type NftExpr,
  type NftKeyExpr,
  type NftLeftBodies,
  type NftObject,
  type NftObjectBodies,
  type NftRight,
  type NftRule,
  type NftSet,
  type NftStatementBodies,
  type ObjectKind,
  type StatementKind,
} from '../../backends/nftables/objects.js';
import { generatedValidator, generatedValidatorPath, nftSchema, validateNft, type JsonSchema } from '../../backends/nftables/schema.js';
import { CAPABILITY_SINCE, capabilities, compareVersions, DEFAULT_NFT_VERSION, KNOWN_NFT_VERSIONS, NFT_VERSIONS } from '../../backends/nftables/versions.js';
import type { Action, Chain, Family, Hook, IrCidr, Match, Rule, RuleSet, Table } from '../../src/ir/types.js';
import { iptablesBase } from '../../src/ir/types.js';
import { loadFile, loadText } from '../../src/language/load.js';
import { lower } from '../../src/lower/lower.js';
import type { Packet } from '../../src/sim/packet.js';
import { simulate } from '../../src/sim/simulate.js';
import { corpusRoot } from '../harness/istio-corpus.js';
import { packetText } from '../../src/verify/compare.js';
import { equivalent } from '../../src/verify/engine.js';
import { rulesSide } from '../../src/verify/side.js';
import type Ajv2020Module from 'ajv/dist/2020.js';

// ---- builders ----------------------------------------------------------------------------
const R = (action: Action, ...matches: Match[]): Rule => ({ matches, action, origin: { span: null, purpose: 'why' } });
const base = (table: string, hook: Hook, rules: Rule[], policy: 'accept' | 'drop' = 'accept'): Chain => ({ name: hook.toUpperCase(), base: { ...iptablesBase(table, hook), policy }, rules });
const user = (name: string, rules: Rule[]): Chain => ({ name, rules });
const T = (name: string, chains: Chain[], family: Family = 'ipv4'): Table => ({ family, name, chains });
const RS = (...tables: Table[]): RuleSet => ({ name: 'unit', tables, routing: { loopbackAddresses: [] } });
const EMPTY: RuleSet = { name: 'nothing', tables: [], routing: { loopbackAddresses: [] } };
const tcp: Match = { kind: 'protocol', neg: false, protocol: 'tcp' };
const v4 = (addr: string, prefix = 32): IrCidr => ({ family: 'ipv4', addr, prefix });
const v6 = (addr: string, prefix = 128): IrCidr => ({ family: 'ipv6', addr, prefix });
const ALL = 0xffffffff;

/** The emitter's output, typed (the schema checks it where a test needs that). */
const parsed = (text: string): NftDocument => JSON.parse(text) as NftDocument;
const cmds = (text: string): NftCommand[] => parsed(text).nftables;
/** The rule objects of the chain, in order. */
const rulesIn = (text: string, chain: string): NftRule[] => cmds(text).flatMap((c) => (c.add?.rule?.chain === chain ? [c.add.rule] : []));
const allRules = (text: string): NftRule[] => cmds(text).flatMap((c) => (c.add?.rule ? [c.add.rule] : []));
const chainsOf = (text: string): NftChain[] => cmds(text).flatMap((c) => (c.add?.chain ? [c.add.chain] : []));
/** The sets that carry elements (not the 1.0.6 declarations). */
const filledSets = (text: string): NftSet[] => cmds(text).flatMap((c) => (c.add?.set?.elem ? [c.add.set] : []));
/** The match of a rule's i-th expression (fails the test when it is not a match). */
const matchAt = (r: NftRule, i: number) => {
  const mt = r.expr[i].match;
  if (!mt) throw new Error(`expr[${i}] is not a match: ${JSON.stringify(r.expr[i])}`);
  return mt;
};
const isRec = (x: unknown): x is Record<string, unknown> => typeof x === 'object' && x !== null && !Array.isArray(x);

/** A JSON tree read and edited by path, for tests that break the types on purpose. */
type JsonPath = (string | number)[];
const getAt = (x: unknown, path: JsonPath): unknown => path.reduce<unknown>((o, k) => (typeof o === 'object' && o !== null ? (o as Record<string | number, unknown>)[k] : undefined), x);
function parentAt(x: unknown, path: JsonPath): Record<string | number, unknown> {
  const parent = getAt(x, path.slice(0, -1));
  if (typeof parent !== 'object' || parent === null) throw new Error(`no object at ${path.slice(0, -1).join('.')}`);
  return parent as Record<string | number, unknown>;
}
function arrayAt(x: unknown, path: JsonPath): unknown[] {
  const a = getAt(x, path);
  if (!Array.isArray(a)) throw new Error(`no array at ${path.join('.')}`);
  return a;
}
const setAt = (x: unknown, path: JsonPath, v: unknown): void => void (parentAt(x, path)[path[path.length - 1]] = v);
const deleteAt = (x: unknown, path: JsonPath): void => void delete parentAt(x, path)[path[path.length - 1]];

/** Every (key, value, path) of a JSON value, depth first. */
function walk(x: unknown, fn: (key: string, value: unknown, path: string) => void, path = '$'): void {
  if (Array.isArray(x)) x.forEach((v, i) => walk(v, fn, `${path}[${i}]`));
  else if (typeof x === 'object' && x !== null)
    for (const [k, v] of Object.entries(x)) {
      fn(k, v, `${path}.${k}`);
      walk(v, fn, `${path}.${k}`);
    }
}

function mustImport(text: string, name = 'doc.json'): RuleSet {
  const r = importNftables(text, name);
  expect(r.diagnostics.map((d) => `${d.code}: ${d.message}`)).toEqual([]);
  expect(r.ruleset).toBeDefined();
  return r.ruleset!;
}

function expectEqual(a: RuleSet, b: RuleSet, families?: Family[]): void {
  const r = equivalent(rulesSide('a', a), rulesSide('b', b), { families });
  expect(r.result, r.counterexample ? packetText(r.counterexample.packet) : r.reason).toBe('equal');
}

const pkt = (p: Partial<Packet>): Packet => ({
  hook: 'output',
  family: 'ipv4',
  protocol: 'tcp',
  src: '10.0.0.5',
  dst: '10.0.0.9',
  sport: 40000,
  dport: 8080,
  iif: '',
  oif: 'eth0',
  uid: 1000,
  gid: 1000,
  mark: 0,
  ctmark: 0,
  ctstate: 'new',
  ...p,
});

const doc = (...items: unknown[]) => JSON.stringify({ nftables: items });
const TBL = { family: 'inet', name: 'mesh' };
const chainObj = (name: string, extra: Record<string, unknown> = {}) => ({ add: { chain: { family: 'inet', table: 'mesh', name, ...extra } } });
const ruleObj = (chain: string, ...expr: unknown[]) => ({ add: { rule: { family: 'inet', table: 'mesh', chain, expr } } });
const m = (left: unknown, right: unknown, op = '==') => ({ match: { op, left, right } });
const META = (key: string) => ({ meta: { key } });
const PAY = (protocol: string, field: string) => ({ payload: { protocol, field } });

const specs = readdirSync('specs').filter((f) => /\.(intercept|ya?ml)$/.test(f));
const specIr = (f: string) => {
  const policy = loadFile(join('specs', f)).policy!;
  return { policy, ir: lower(policy) };
};

// A v4 + v6 rule set with every row of the §2 table, in iptables' layout (as the lowering makes it).
const shapes = RS(
  T('nat', [
    base('nat', 'output', [
      R({ kind: 'return' }, { kind: 'uid', neg: false, id: 1337 }),
      R({ kind: 'return' }, { kind: 'daddr', neg: false, cidrs: [v4('127.0.0.1')] }),
      R({ kind: 'return' }, { kind: 'saddr', neg: false, cidrs: [v4('10.1.0.0', 16)] }),
      R({ kind: 'return' }, tcp, { kind: 'dport', neg: false, ranges: [[15090, 15090], [15021, 15021]] }),
      R({ kind: 'return' }, tcp, { kind: 'dport', neg: false, ranges: [[1000, 2000]] }),
      R({ kind: 'accept' }, { kind: 'ctstate', neg: false, states: ['established', 'related'] }),
      R({ kind: 'mark-set', value: 0x539, mask: ALL }, { kind: 'oif', neg: false, name: 'lo', prefix: false }),
      R({ kind: 'connmark-save', nfmask: ALL, ctmask: ALL }, { kind: 'mark', neg: false, value: 0x539, mask: ALL }),
      R({ kind: 'goto', chain: 'MESH' }, { kind: 'iif', neg: false, name: 'veth', prefix: true }),
      R({ kind: 'jump', chain: 'MESH' }, tcp, { kind: 'dport', neg: true, ranges: [[15006, 15006]] }),
    ]),
    user('MESH', [R({ kind: 'redirect', port: 15001 }, tcp)]),
  ]),
  T('mangle', [
    base('mangle', 'prerouting', [
      R({ kind: 'tproxy', port: 15006, mark: 1337, mask: ALL, addr: '127.0.0.1' }, tcp, { kind: 'dport', neg: false, ranges: [[9000, 9000]] }),
    ]),
  ]),
  T('mangle', [base('mangle', 'prerouting', [R({ kind: 'tproxy', port: 15006, mark: 1337, mask: ALL }, tcp, { kind: 'saddr', neg: true, cidrs: [v6('2001:db8::', 32)] })])], 'ipv6'),
);

// A partial mark mask on its own (the engine decides partial masks over at most 6 bits).
const maskedTp = RS(T('mangle', [base('mangle', 'prerouting', [R({ kind: 'tproxy', port: 15006, mark: 0x400, mask: 0x400 }, tcp, { kind: 'mark', neg: true, value: 0x400, mask: 0x400 })])]));

// ---- emitter: shapes -----------------------------------------------------------------------
describe('emitNftables: the JSON shapes of netfilter-facts §2', () => {
  const text = emitNftables(shapes, { comments: false });

  it('one inet table named after the policy; every object belongs to it', () => {
    expect(nftTableName(shapes)).toBe('unit');
    const tables = cmds(text).filter((c) => c.add?.table);
    // 1.0.6 adds it twice: before and after deleting it, so that re-applying replaces it.
    expect(tables).toEqual([{ add: { table: { family: 'inet', name: 'unit' } } }, { add: { table: { family: 'inet', name: 'unit' } } }]);
    walk(cmds(text), (k, v) => {
      if (['chain', 'rule', 'set'].includes(k) && isRec(v) && 'family' in v) {
        expect(v.family).toBe('inet');
        expect(v.table).toBe('unit');
      }
    });
  });

  it('base chains as nft prints them; regular chains with only family, table, name', () => {
    const chains = chainsOf(text);
    expect(chains).toContainEqual({ family: 'inet', table: 'unit', name: 'nat-output', type: 'nat', hook: 'output', prio: -100, policy: 'accept' });
    expect(chains).toContainEqual({ family: 'inet', table: 'unit', name: 'mangle-prerouting', type: 'filter', hook: 'prerouting', prio: -150, policy: 'accept' });
    expect(chains).toContainEqual({ family: 'inet', table: 'unit', name: 'v4-nat-MESH' });
    for (const c of chains) expect(Object.keys(c).sort()).toEqual(c.hook ? ['family', 'hook', 'name', 'policy', 'prio', 'table', 'type'] : ['family', 'name', 'table']);
  });

  it('each IR rule becomes the expression list nft prints', () => {
    const out = rulesIn(text, 'v4-nat-OUTPUT').map((r) => r.expr);
    const l4tcp = m(META('l4proto'), 'tcp');
    expect(out).toEqual([
      [m(META('skuid'), 1337), { return: null }],
      [m(PAY('ip', 'daddr'), '127.0.0.1'), { return: null }],
      [m(PAY('ip', 'saddr'), { prefix: { addr: '10.1.0.0', len: 16 } }), { return: null }],
      [l4tcp, m(PAY('th', 'dport'), { set: [15090, 15021] }), { return: null }],
      [l4tcp, m(PAY('th', 'dport'), { range: [1000, 2000] }), { return: null }],
      [m({ ct: { key: 'state' } }, ['established', 'related'], 'in'), { accept: null }],
      [m(META('oifname'), 'lo'), { mangle: { key: META('mark'), value: 1337 } }],
      [m(META('mark'), 1337), { mangle: { key: { ct: { key: 'mark' } }, value: META('mark') } }],
      [m(META('iifname'), 'veth*'), { goto: { target: 'v4-nat-MESH' } }],
      [l4tcp, m(PAY('th', 'dport'), 15006, '!='), { jump: { target: 'v4-nat-MESH' } }],
    ]);
    expect(rulesIn(text, 'v4-nat-MESH').map((r) => r.expr)).toEqual([[l4tcp, { redirect: { port: 15001 } }]]);
  });

  it('tproxy: family ip/ip6 by the chain it is in, then the mark, then accept', () => {
    const [withAddr] = rulesIn(text, 'v4-mangle-PREROUTING').map((r) => r.expr);
    expect(withAddr.slice(2)).toEqual([{ tproxy: { family: 'ip', addr: '127.0.0.1', port: 15006 } }, { mangle: { key: META('mark'), value: 1337 } }, { accept: null }]);
    // A partial mask: mark = (mark & ~mask) ^ value; a masked match is (mark & mask) == value.
    const mt = emitNftables(maskedTp, { comments: false });
    const [masked] = rulesIn(mt, 'v4-mangle-PREROUTING').map((r) => r.expr);
    expect(masked).toEqual([
      m(META('l4proto'), 'tcp'),
      m({ '&': [META('mark'), 0x400] }, 0x400, '!='),
      { tproxy: { family: 'ip', port: 15006 } },
      { mangle: { key: META('mark'), value: { '^': [{ '&': [META('mark'), ~0x400 >>> 0] }, 0x400] } } },
      { accept: null },
    ]);
    expectEqual(maskedTp, mustImport(mt));
    const [six] = rulesIn(text, 'v6-mangle-PREROUTING').map((r) => r.expr);
    expect(six).toEqual([m(META('l4proto'), 'tcp'), m(PAY('ip6', 'saddr'), { prefix: { addr: '2001:db8::', len: 32 } }, '!='), { tproxy: { family: 'ip6', port: 15006 } }, { mangle: { key: META('mark'), value: 1337 } }, { accept: null }]);
  });

  it('dispatch: one base chain per (kind, hook) jumping per family on meta nfproto', () => {
    expect(rulesIn(text, 'mangle-prerouting').map((r) => r.expr)).toEqual([
      [m(META('nfproto'), 'ipv4'), { jump: { target: 'v4-mangle-PREROUTING' } }],
      [m(META('nfproto'), 'ipv6'), { jump: { target: 'v6-mangle-PREROUTING' } }],
    ]);
    expect(rulesIn(text, 'nat-output').map((r) => r.expr)).toEqual([[m(META('nfproto'), 'ipv4'), { jump: { target: 'v4-nat-OUTPUT' } }]]);
  });

  it('a base chain with policy drop drops only its own family after its rules', () => {
    const t = emitNftables(RS(T('filter', [base('filter', 'output', [R({ kind: 'accept' }, tcp)], 'drop')])), { comments: false });
    expect(rulesIn(t, 'filter-output').map((r) => r.expr)).toEqual([[m(META('nfproto'), 'ipv4'), { jump: { target: 'v4-filter-OUTPUT' } }], [m(META('nfproto'), 'ipv4'), { drop: null }]]);
    expect(chainsOf(t).find((c) => c.name === 'filter-output')?.policy).toBe('accept');
  });

  it('the hand-built rule set reads back equal to its IR', () => {
    expectEqual(shapes, mustImport(text));
  });

  for (const f of specs) {
    describe(`specs/${f}`, () => {
      const { policy, ir } = specIr(f);
      const out = emitNftables(ir);
      const outCounters = emitNftables(ir, { counters: true });

      it('one inet table named after the policy', () => {
        const tables = cmds(out).filter((c) => c.add?.table);
        // 1.0.6 adds it twice: before and after deleting it, so that re-applying replaces it.
        expect(tables).toEqual([{ add: { table: { family: 'inet', name: policy.name } } }, { add: { table: { family: 'inet', name: policy.name } } }]);
        for (const c of cmds(out)) {
          const [verb] = Object.keys(c);
          expect(['add', 'flush', 'destroy', 'delete']).toContain(verb);
          const body = c.add ?? c.flush ?? c.destroy ?? c.delete;
          const [kind] = Object.keys(body);
          expect(getAt(body, [kind, 'family'])).toBe('inet');
          expect(getAt(body, [kind, kind === 'table' ? 'name' : 'table'])).toBe(policy.name);
        }
      });

      it('every match has an op; value sets are {"set": [...]}: only ct state takes a bare (flag) list', () => {
        let n = 0;
        walk(cmds(outCounters), (k, v, path) => {
          if (k !== 'match' || !isRec(v)) return;
          n++;
          expect(['==', '!=', 'in'], path).toContain(v.op);
          if (Array.isArray(v.right)) expect(v.left, path).toEqual({ ct: { key: 'state' } });
          if (isRec(v.right) && v.right.set) expect(Array.isArray(v.right.set) && v.right.set.length >= 2, path).toBe(true);
        });
        expect(n).toBeGreaterThan(10);
      });

      it('meta l4proto comes before redirect and tproxy in the same rule; tproxy names its family', () => {
        let n = 0;
        for (const r of allRules(out)) {
          const at = r.expr.findIndex((e) => e.redirect || e.tproxy);
          if (at < 0) continue;
          n++;
          const l4 = r.expr.findIndex((e) => e.match?.left.meta?.key === 'l4proto' && e.match.op === '==');
          expect(l4, JSON.stringify(r.expr)).toBeGreaterThanOrEqual(0);
          expect(l4).toBeLessThan(at);
          const tp = r.expr[at].tproxy;
          if (tp) expect(tp.family).toBe(r.chain.startsWith('v4-') ? 'ip' : 'ip6');
        }
        expect(n).toBeGreaterThan(0);
      });

      it('no handle anywhere; no counter unless counters:true, then one on every policy rule', () => {
        walk(cmds(outCounters), (k, _v, path) => expect(k, path).not.toBe('handle'));
        walk(cmds(out), (k, _v, path) => expect(k, path).not.toBe('counter'));
        for (const r of allRules(outCounters)) {
          const fromPolicy = /^v[46]-/.test(r.chain);
          const counters = r.expr.filter((e) => 'counter' in e);
          expect(counters, r.chain).toEqual(fromPolicy ? [{ counter: null }] : []);
          if (fromPolicy) {
            // After the matches, before the statements.
            const at = r.expr.findIndex((e) => 'counter' in e);
            expect(r.expr.slice(0, at).every((e) => e.match)).toBe(true);
            expect(r.expr.slice(at + 1).some((e) => e.match)).toBe(false);
          }
        }
        // Only the counters differ.
        const strip = (t: string) => cmds(t).map((c) => (c.add?.rule ? { ...c.add.rule, expr: c.add.rule.expr.filter((e) => !('counter' in e)) } : c));
        expect(strip(outCounters)).toEqual(strip(out));
      });

      it('prefixes are {"prefix": {addr, len}}, never "a/n" strings', () => {
        let prefixes = 0;
        walk(cmds(out), (k, v, path) => {
          if (typeof v === 'string' && k !== 'comment') expect(v, path).not.toMatch(/\//);
          if (k === 'prefix' && isRec(v)) {
            prefixes++;
            expect(Object.keys(v).sort()).toEqual(['addr', 'len']);
            expect(Number.isInteger(v.len)).toBe(true);
          }
        });
        void prefixes;
      });
    });
  }
});

// ---- named sets ----------------------------------------------------------------------------
describe('lists longer than 16 become named interval sets', () => {
  const ports = (n: number, from = 100): [number, number][] => Array.from({ length: n }, (_, i) => [from + 2 * i, from + 2 * i]);
  const portRules = (ranges: [number, number][]) => RS(T('nat', [base('nat', 'output', [R({ kind: 'redirect', port: 15001 }, tcp, { kind: 'dport', neg: false, ranges })])]));

  it(`${INLINE_SET_MAX} ports stay an anonymous set inline`, () => {
    expect(INLINE_SET_MAX).toBe(16);
    const t = emitNftables(portRules(ports(16)), { comments: false });
    const [r] = rulesIn(t, 'v4-nat-OUTPUT');
    expect(matchAt(r, 1).right).toEqual({ set: ports(16).map(([p]) => p) });
    expect(cmds(t).some((c) => c.add?.set)).toBe(false);
  });

  it('17 ports: a named inet_service interval set, the rule refers to @name, declared before the rule', () => {
    for (const v of ['1.0.6', '1.0.7']) {
      const rs = portRules([...ports(16), [5000, 6000]]);
      const t = emitNftables(rs, { comments: false, nftVersion: v });
      const all = cmds(t);
      const ri = all.findIndex((c) => c.add?.rule?.chain === 'v4-nat-OUTPUT');
      const ref = matchAt(all[ri].add!.rule!, 1).right;
      expect(ref).toMatch(/^@[A-Za-z0-9_]+$/);
      const name = typeof ref === 'string' ? ref.slice(1) : '';
      const filled = all.map((c, i) => [c, i] as const).filter(([c]) => c.add?.set?.name === name && c.add.set.elem);
      expect(filled).toHaveLength(1);
      const [[setCmd, si]] = filled;
      expect(si).toBeLessThan(ri);
      expect(setCmd.add?.set).toEqual({ family: 'inet', table: 'unit', name, type: 'inet_service', flags: ['interval'], elem: [...ports(16).map(([p]) => p), { range: [5000, 6000] }] });
      expect(validateNft(JSON.parse(t))).toEqual([]);
      expectEqual(rs, mustImport(t));
    }
  });

  it('17 IPv4 or IPv6 CIDRs: ipv4_addr / ipv6_addr sets of prefixes and addresses', () => {
    const c4 = [v4('10.0.0.1'), ...Array.from({ length: 16 }, (_, i) => v4(`10.${i + 1}.0.0`, 16))];
    const c6 = [v6('fd00::1'), ...Array.from({ length: 16 }, (_, i) => v6(`fd00:${i + 1}::`, 32))];
    const rs = RS(
      T('nat', [base('nat', 'output', [R({ kind: 'return' }, { kind: 'daddr', neg: false, cidrs: c4 }), R({ kind: 'redirect', port: 15001 }, tcp)])]),
      T('nat', [base('nat', 'output', [R({ kind: 'return' }, { kind: 'saddr', neg: true, cidrs: c6 }), R({ kind: 'redirect', port: 15001 }, tcp)])], 'ipv6'),
    );
    const t = emitNftables(rs, { comments: false });
    const sets = filledSets(t);
    expect(sets.map((s) => s.type)).toEqual(['ipv4_addr', 'ipv6_addr']);
    expect(sets[0].elem?.slice(0, 2)).toEqual(['10.0.0.1', { prefix: { addr: '10.1.0.0', len: 16 } }]);
    expect(sets[1].elem?.slice(0, 2)).toEqual(['fd00::1', { prefix: { addr: 'fd00:1::', len: 32 } }]);
    expect(matchAt(rulesIn(t, 'v4-nat-OUTPUT')[0], 0)).toEqual({ op: '==', left: PAY('ip', 'daddr'), right: `@${sets[0].name}` });
    expect(matchAt(rulesIn(t, 'v6-nat-OUTPUT')[0], 0)).toEqual({ op: '!=', left: PAY('ip6', 'saddr'), right: `@${sets[1].name}` });
    expect(sets[0].name).not.toBe(sets[1].name);
    expect(validateNft(JSON.parse(t))).toEqual([]);
    expectEqual(rs, mustImport(t));
  });

  it('overlapping items of a long list are merged: a named set (no auto-merge) refuses overlaps', () => {
    // nft: "conflicting intervals specified" for a named interval set with 1-100 and 50.
    const ranges: [number, number][] = [[1, 100], [50, 50], [100, 120], ...ports(16, 201)];
    const cidrs = [v4('10.0.0.0', 8), v4('10.1.0.0', 16), v4('10.1.2.3'), ...Array.from({ length: 16 }, (_, i) => v4(`192.168.${i}.0`, 24))];
    const rs = RS(T('nat', [base('nat', 'output', [R({ kind: 'return' }, { kind: 'daddr', neg: false, cidrs }), R({ kind: 'redirect', port: 15001 }, tcp, { kind: 'dport', neg: false, ranges })])]));
    const t = emitNftables(rs, { comments: false });
    const sets = filledSets(t);
    expect(sets).toHaveLength(2);
    const [addrs, svc]: NftElement[][] = sets.map((s) => s.elem ?? []);
    expect(addrs.filter((e) => JSON.stringify(e).includes('"10.'))).toEqual([{ prefix: { addr: '10.0.0.0', len: 8 } }]);
    expect(svc.slice(0, 2)).toEqual([{ range: [1, 120] }, 201]);
    // Pairwise disjoint intervals.
    const iv = svc.map((e): [number, number] => (typeof e === 'number' ? [e, e] : typeof e === 'object' && e.range ? e.range : [NaN, NaN])).sort((a, b) => a[0] - b[0]);
    for (let i = 1; i < iv.length; i++) expect(iv[i][0]).toBeGreaterThan(iv[i - 1][1]);
    expectEqual(rs, mustImport(t));
  });

  it('nft 1.0.6 (add + delete + add table): a named set is declared once with its elements, and re-applying replaces them', () => {
    const a = portRules([...ports(16), [5000, 6000]]);
    const c = portRules(ports(17, 300));
    const ta = emitNftables(a, { comments: false, nftVersion: '1.0.6' });
    const tc = emitNftables(c, { comments: false, nftVersion: '1.0.6' });
    const setCmds = cmds(tc).filter((x) => x.add?.set || x.flush?.set);
    expect(setCmds.map((x) => (x.flush ? 'flush' : x.add?.set?.elem ? 'fill' : 'declare'))).toEqual(['fill']);
    expect(cmds(tc).slice(0, 3).map((x) => Object.keys(x)[0])).toEqual(['add', 'delete', 'add']);
    expect(validateNft(JSON.parse(tc))).toEqual([]);
    // Applying A then C in one go, as a node would across two runs: C's meaning only.
    const both = doc(...cmds(ta), ...cmds(tc));
    expectEqual(c, mustImport(both));
    expect(equivalent(rulesSide('a', a), rulesSide('both', mustImport(both))).result).toBe('different');
    // 1.0.7+: destroy table drops the sets too.
    const c7 = emitNftables(c, { comments: false, nftVersion: '1.0.7' });
    expect(cmds(c7).some((x) => x.flush)).toBe(false);
    expectEqual(c, mustImport(doc(...cmds(emitNftables(a, { comments: false, nftVersion: '1.0.7' })), ...cmds(c7))));
  });
});

// ---- families ----------------------------------------------------------------------------
describe('nothing meant for one family catches the other', () => {
  // IPv4 only, and nothing in it names an address: without the dispatch every rule would
  // apply to IPv6 packets in the inet table.
  const v4only = RS(
    T('raw', [base('raw', 'output', [R({ kind: 'ct-zone', zone: 2 }, { kind: 'protocol', neg: false, protocol: 'udp' })])]),
    T('mangle', [base('mangle', 'prerouting', [R({ kind: 'tproxy', port: 15006, mark: 1337, mask: ALL }, tcp)]), base('mangle', 'output', [R({ kind: 'mark-set', value: 7, mask: ALL })])]),
    T('nat', [base('nat', 'output', [R({ kind: 'jump', chain: 'OUT' })]), user('OUT', [R({ kind: 'redirect', port: 15001 }, tcp)]), base('nat', 'prerouting', [R({ kind: 'redirect', port: 15006 }, tcp)])]),
    T('filter', [base('filter', 'output', [R({ kind: 'accept' }, { kind: 'uid', neg: false, id: 1337 })], 'drop')]),
  );

  it('IPv6 packets pass the emitted-then-imported IPv4-only rules unchanged (proven over every packet)', () => {
    const back = mustImport(emitNftables(v4only));
    expectEqual(back, EMPTY, ['ipv6']);
    expectEqual(v4only, back);
    // ... while IPv4 packets are caught.
    expect(equivalent(rulesSide('back', back), rulesSide('nothing', EMPTY), { families: ['ipv4'] }).result).toBe('different');
    expect(simulate(back, pkt({ family: 'ipv6', src: 'fd00::5', dst: 'fd00::9' })).outcome).toEqual({ verdict: 'accept', redirect: null, tproxy: null, mark: 0, ctmark: 0, ctZone: null });
  });

  it('the check has teeth: without the nfproto dispatch, IPv6 packets are caught', () => {
    const d = parsed(emitNftables(v4only));
    for (const c of d.nftables) if (c.add?.rule) c.add.rule.expr = c.add.rule.expr.filter((e) => e.match?.left.meta?.key !== 'nfproto');
    const r = equivalent(rulesSide('back', mustImport(JSON.stringify(d))), rulesSide('nothing', EMPTY), { families: ['ipv6'] });
    expect(r.result).toBe('different');
    expect(r.counterexample!.packet.family).toBe('ipv6');
  });

  it('an IPv4-only policy: the nft output leaves every IPv6 packet alone', () => {
    const text = readFileSync('specs/istio-sidecar.intercept', 'utf8').replace(/families ipv4, ipv6/, 'families ipv4');
    expect(text).toMatch(/families ipv4\n/);
    const l = loadText('v4.intercept', text, 'intercept');
    expect(l.policy).toBeDefined();
    const ir = lower(l.policy!);
    expect(ir.tables.every((t) => t.family === 'ipv4')).toBe(true);
    const out = emitNftables(ir);
    expect(out).not.toContain('"ipv6"');
    const back = mustImport(out);
    expectEqual(back, EMPTY, ['ipv6']);
    expectEqual(ir, back);
  });
});

// ---- versions ------------------------------------------------------------------------------
describe('nft version targets (versions.ts)', () => {
  const { ir, policy } = specIr('istio-sidecar.intercept');
  const head = (v: string) => cmds(emitNftables(ir, { nftVersion: v })).slice(0, capabilities(v)!.destroy ? 2 : 3);
  const tbl = { family: 'inet', name: policy.name };

  it('1.0.6 (the default): add table (so that it exists), delete it, add it again; no destroy, no flush', () => {
    expect(DEFAULT_NFT_VERSION).toBe('1.0.6');
    expect(head('1.0.6')).toEqual([{ add: { table: tbl } }, { delete: { table: tbl } }, { add: { table: tbl } }]);
    expect(cmds(emitNftables(ir)).some((c) => c.flush)).toBe(false);
    expect(emitNftables(ir)).toBe(emitNftables(ir, { nftVersion: '1.0.6' }));
    expect(emitNftables(ir, { nftVersion: '1.0.6' })).not.toContain('destroy');
  });

  it('1.0.7: destroy table, then add table (no comment on it yet)', () => {
    expect(head('1.0.7')).toEqual([{ destroy: { table: tbl } }, { add: { table: tbl } }]);
    expect(cmds(emitNftables(ir, { nftVersion: '1.0.7' })).some((c) => c.flush)).toBe(false);
  });

  it('1.0.8: the table carries a comment', () => {
    const [d, a] = head('1.0.8');
    expect(d).toEqual({ destroy: { table: tbl } });
    expect(a.add?.table?.comment).toEqual(expect.stringContaining(policy.name));
  });

  it('every version of the table is lowered by its capabilities, and validates', () => {
    for (const v of Object.keys(NFT_VERSIONS)) {
      const caps = capabilities(v)!;
      const [first, second] = head(v);
      expect('destroy' in first, v).toBe(caps.destroy);
      expect('delete' in second, v).toBe(!caps.destroy);
      const add = (caps.destroy ? second : first).add?.table;
      expect(add, v).toBeDefined();
      expect(add !== undefined && 'comment' in add, v).toBe(caps.tableComments);
      expect(validateNft(JSON.parse(emitNftables(ir, { nftVersion: v })))).toEqual([]);
    }
  });

  it('capability -> first version gives, for every accepted version, the table written out by hand before', () => {
    // versions.ts listed every capability per version until it became capability -> first version.
    const before: Record<string, { destroy: boolean; tableComments: boolean }> = {
      '1.0.6': { destroy: false, tableComments: false },
      '1.0.7': { destroy: true, tableComments: false },
      '1.0.8': { destroy: true, tableComments: true },
      '1.0.9': { destroy: true, tableComments: true },
      '1.1.0': { destroy: true, tableComments: true },
      '1.1.1': { destroy: true, tableComments: true },
    };
    expect(Object.keys(NFT_VERSIONS)).toEqual(Object.keys(before));
    expect([...KNOWN_NFT_VERSIONS]).toEqual(Object.keys(before));
    // Anonymous sets of names and ids, and verdict maps, are older than every known release.
    for (const v of Object.keys(before)) {
      expect(capabilities(v), v).toEqual({ ...before[v], keySets: true, verdictMaps: true });
      expect(NFT_VERSIONS[v], v).toEqual({ ...before[v], keySets: true, verdictMaps: true });
    }
    expect(Object.keys(CAPABILITY_SINCE).sort()).toEqual(['destroy', 'keySets', 'tableComments', 'verdictMaps']);
    // Every capability appears at a known version or before the oldest, and the known versions are in order.
    for (const since of Object.values(CAPABILITY_SINCE)) expect(KNOWN_NFT_VERSIONS.includes(since as never) || compareVersions(since, KNOWN_NFT_VERSIONS[0]) < 0, since).toBe(true);
    for (let i = 1; i < KNOWN_NFT_VERSIONS.length; i++) expect(compareVersions(KNOWN_NFT_VERSIONS[i - 1], KNOWN_NFT_VERSIONS[i])).toBeLessThan(0);
    expect(compareVersions('1.0.10', '1.0.9')).toBeGreaterThan(0);
    expect(compareVersions('1.1', '1.1.0')).toBe(0);
  });

  it('an unknown version is an error', () => {
    expect(capabilities('9.9.9')).toBeUndefined();
    // Names of Object.prototype are not versions either.
    for (const v of ['constructor', 'toString', '__proto__']) {
      expect(capabilities(v), v).toBeUndefined();
      expect(NFT_VERSIONS[v], v).toBeUndefined();
    }
    expect(() => emitNftables(ir, { nftVersion: '9.9.9' })).toThrow(NftEmitError);
    expect(() => emitNftables(ir, { nftVersion: '1.0.5' })).toThrow(/1\.0\.5/);
  });
});

// ---- schema ---------------------------------------------------------------------------------
describe('the schema', () => {
  it('is draft 2020-12 with additionalProperties false at the top', () => {
    const s = nftSchema();
    expect(s.$schema).toBe('https://json-schema.org/draft/2020-12/schema');
    expect(s.additionalProperties).toBe(false);
    expect(s.required).toEqual(['nftables']);
  });

  it("validates every spec's output, for every version, with and without counters and comments", () => {
    let n = 0;
    for (const f of specs) {
      const { ir } = specIr(f);
      for (const v of Object.keys(NFT_VERSIONS))
        for (const counters of [false, true])
          for (const comments of [false, true]) {
            expect(validateNft(JSON.parse(emitNftables(ir, { nftVersion: v, counters, comments }))), `${f} ${v} ${counters} ${comments}`).toEqual([]);
            n++;
          }
    }
    expect(n).toBeGreaterThanOrEqual(specs.length * 8);
  });

  describe('catches hand-made typos that nft would silently ignore', () => {
    const good = parsed(emitNftables(shapes, { comments: true }));
    // A mutation breaks the types on purpose: it edits the document as a plain JSON tree.
    const mutate = (f: (d: unknown) => void): string[] => {
      const d = structuredClone(good);
      f(d);
      return validateNft(d);
    };
    const at = (pred: (c: NftCommand) => boolean) => good.nftables.findIndex(pred);
    const exprAt = (i: number, pred: (e: NftExpr) => boolean) => good.nftables[i].add?.rule?.expr.findIndex(pred) ?? -1;
    const isPortSet = (e: NftExpr) => typeof e.match?.right === 'object' && 'set' in e.match.right;
    const iRule = at((c) => c.add?.rule?.chain === 'v4-nat-OUTPUT');
    const iTp = at((c) => !!c.add?.rule?.expr.some((e) => e.tproxy));
    const iBase = at((c) => !!c.add?.chain?.hook);
    const iPort = at((c) => !!c.add?.rule?.expr.some(isPortSet));
    const rule = (i: number) => ['nftables', i, 'add', 'rule'];

    it('the unmutated document is valid', () => {
      expect(validateNft(good)).toEqual([]);
      for (const i of [iRule, iTp, iBase, iPort]) expect(i).toBeGreaterThan(0);
    });

    const cases: [string, (d: unknown) => void, string][] = [
      ['an unknown key at the top', (d) => setAt(d, ['nftabels'], []), ''],
      ['an unknown key beside a command', (d) => setAt(d, ['nftables', 0, 'flush'], { table: { family: 'inet', name: 'unit' } }), '/nftables/0'],
      ['an unknown key in a table', (d) => setAt(d, ['nftables', 0, 'add', 'table', 'flags'], ['dormant']), '/nftables/0'],
      ['"priority" for "prio" in a chain', (d) => setAt(d, ['nftables', iBase, 'add', 'chain', 'priority'], getAt(d, ['nftables', iBase, 'add', 'chain', 'prio'])), `/nftables/${iBase}`],
      ['an unknown key in a rule', (d) => setAt(d, [...rule(iRule), 'handle'], 4), `/nftables/${iRule}`],
      ['an unknown key beside a match in an expression', (d) => setAt(d, [...rule(iRule), 'expr', 0, 'negate'], true), `/nftables/${iRule}/add/rule/expr/0`],
      ['an unknown key in a match', (d) => setAt(d, [...rule(iRule), 'expr', 0, 'match', 'negate'], true), `/nftables/${iRule}/add/rule/expr/0`],
      ['a typo in a payload', (d) => setAt(d, [...rule(iRule + 1), 'expr', 0, 'match', 'left', 'payload', 'feild'], 'daddr'), `/nftables/${iRule + 1}/add/rule/expr/0`],
      ['a typo in tproxy', (d) => setAt(d, [...rule(iTp), 'expr', exprAt(iTp, (e) => !!e.tproxy), 'tproxy', 'adress'], '127.0.0.1'), `/nftables/${iTp}/add/rule/expr`],
      ['a bare array for a port set', (d) => setAt(d, [...rule(iPort), 'expr', exprAt(iPort, isPortSet), 'match', 'right'], [15090, 15021]), `/nftables/${iPort}/add/rule/expr`],
      ['a missing op', (d) => deleteAt(d, [...rule(iRule), 'expr', 0, 'match', 'op']), `/nftables/${iRule}/add/rule/expr/0`],
      ['a counter with a value', (d) => arrayAt(d, [...rule(iRule), 'expr']).splice(1, 0, { counter: { packets: 0, bytes: 0 } }), `/nftables/${iRule}/add/rule/expr/1`],
      ['a handle on a table', (d) => setAt(d, ['nftables', 0, 'add', 'table', 'handle'], 1), '/nftables/0'],
    ];
    for (const [what, f, path] of cases)
      it(what, () => {
        const problems = mutate(f);
        expect(problems.length).toBeGreaterThan(0);
        expect(problems.some((p) => p.startsWith(path || '$') || (path === '' && p.startsWith('$:'))), problems.join('\n')).toBe(true);
      });
  });
});

// ---- schema.json and objects.ts --------------------------------------------------------------
describe('schema.json and the types of objects.ts describe the same JSON', () => {
  const s = nftSchema();
  const defs = s.$defs ?? {};
  /** A definition, following one $ref. */
  const def = (x: JsonSchema): JsonSchema => (x.$ref ? defs[x.$ref.replace('#/$defs/', '')] : x);
  const prop = (x: JsonSchema | undefined, ...keys: string[]): JsonSchema => keys.reduce<JsonSchema>((o, k) => def(o.properties?.[k] ?? {}), x ?? {});
  /** The one key each alternative of a oneOf/anyOf requires: the kinds the schema accepts there. */
  const kinds = (alts: JsonSchema[] | undefined): string[] => (alts ?? []).map(def).flatMap((a) => (a.oneOf ? kinds(a.oneOf) : (a.required ?? [])));
  const sorted = (xs: readonly unknown[]) => [...xs].map(String).sort();

  it('every vocabulary is the same list in both', () => {
    const match = prop(defs.match, 'match');
    const statement = (k: string) => (defs.statement.oneOf ?? []).find((a) => a.required?.[0] === k)!;
    const pairs: [string, unknown[] | undefined, readonly string[]][] = [
      ['meta keys', prop(defs.meta, 'meta', 'key').enum, META_KEYS],
      ['ct keys', prop(defs.ct, 'ct', 'key').enum, CT_KEYS],
      ['payload protocols', prop(defs.payload, 'payload', 'protocol').enum, PAYLOAD_PROTOCOLS],
      ['payload fields', prop(defs.payload, 'payload', 'field').enum, PAYLOAD_FIELDS],
      ['match operators', match.properties?.op.enum, MATCH_OPS],
      ['ct states', match.properties?.right.anyOf?.find((a) => a.type === 'array')?.items?.enum, CT_STATES],
      ['set types', prop(defs.set, 'type').enum, SET_TYPES],
      ['chain types', prop(defs.chain, 'type').enum, CHAIN_TYPES],
      ['hooks', prop(defs.chain, 'hook').enum, HOOKS],
      ['chain policies', prop(defs.chain, 'policy').enum, CHAIN_POLICIES],
      ['tproxy families', prop(statement('tproxy'), 'tproxy', 'family').enum, L3_FAMILIES],
      ['dnat families', prop(statement('dnat'), 'dnat', 'family').enum, L3_FAMILIES],
    ];
    for (const [what, inSchema, inTypes] of pairs) expect(sorted(inSchema ?? []), what).toEqual(sorted(inTypes));
    expect(defs.family.const).toBe(NFT_FAMILY);
    expect(prop(defs.set, 'flags').items?.const).toBe(SET_FLAG_INTERVAL);
  });

  it('every kind of command, object, expression and statement is the same list in both', () => {
    expect(sorted(kinds(defs.command.oneOf))).toEqual(sorted(COMMAND_KINDS));
    expect(sorted(kinds(defs.object.oneOf))).toEqual(sorted(OBJECT_KINDS));
    expect(sorted(kinds(defs.verdict.oneOf))).toEqual(sorted(VERDICT_KINDS));
    expect(sorted([...kinds(defs.verdict.oneOf), ...kinds(defs.statement.oneOf)])).toEqual(sorted(STATEMENT_KINDS));
    expect(sorted(kinds(defs.expr.anyOf))).toEqual(sorted(['match', ...STATEMENT_KINDS]));
    expect(sorted(kinds(prop(defs.match, 'match', 'left').anyOf))).toEqual(sorted(LEFT_KINDS));
  });

  // One typed sample (or more) per kind: a kind added to objects.ts without a sample here is
  // a compile error; each sample must validate.
  const key: NftKeyExpr = { meta: { key: 'mark' } };
  const statements: { [K in StatementKind]: Pick<NftStatementBodies, K>[] } = {
    accept: [{ accept: null }],
    drop: [{ drop: null }],
    return: [{ return: null }],
    jump: [{ jump: { target: 'c' } }],
    goto: [{ goto: { target: 'c' } }],
    redirect: [{ redirect: { port: 15001 } }],
    tproxy: [{ tproxy: { family: 'ip', port: 15006 } }, { tproxy: { family: 'ip6', port: 15006, addr: '::1' } }],
    dnat: [{ dnat: { family: 'ip', addr: '10.0.0.1' } }, { dnat: { family: 'ip6', addr: 'fd00::1', port: 53 } }],
    mangle: [
      { mangle: { key, value: 7 } },
      { mangle: { key: { ct: { key: 'mark' } }, value: key } },
      { mangle: { key, value: { ct: { key: 'mark' } } } },
      { mangle: { key: { ct: { key: 'zone' } }, value: 2 } },
      { mangle: { key, value: { '^': [{ '&': [key, 0xfffffbff] }, 0x400] } } },
    ],
    counter: [{ counter: null }],
    log: [{ log: { prefix: 'p' } }],
    vmap: [{ vmap: { key: { meta: { key: 'oifname' } }, data: { set: [['lo', { goto: { target: 'c' } }], ['eth0', { return: null }]] } } }, { vmap: { key: { meta: { key: 'skuid' } }, data: { set: [[0, { accept: null }], [1337, { jump: { target: 'c' } }]] } } }],
  };
  const lefts: { [K in LeftKind]: Pick<NftLeftBodies, K>[] } = {
    meta: META_KEYS.map((k) => ({ meta: { key: k } })),
    ct: CT_KEYS.map((k) => ({ ct: { key: k } })),
    payload: PAYLOAD_PROTOCOLS.flatMap((protocol) => PAYLOAD_FIELDS.map((field) => ({ payload: { protocol, field } }))),
    socket: [{ socket: { key: 'transparent' } }],
    '&': [{ '&': [key, 0xff] }, { '&': [{ ct: { key: 'mark' } }, 1] }],
  };
  const rights: NftRight[] = ['10.0.0.1', 'lo', '@s1', 1337, { prefix: { addr: 'fd00::', len: 8 } }, { range: [1, 2] }, { set: [1, { range: [3, 4] }, '10.0.0.1', { prefix: { addr: '10.0.0.0', len: 8 } }] }, ['established', 'related']];
  const ref = { family: NFT_FAMILY, table: 't', name: 'n' } as const;
  const objects: { [K in ObjectKind]: Pick<NftObjectBodies, K>[] } = {
    table: [{ table: { family: NFT_FAMILY, name: 't' } }, { table: { family: NFT_FAMILY, name: 't', comment: 'c' } }],
    chain: [{ chain: ref }, ...CHAIN_TYPES.map((type) => ({ chain: { ...ref, type, hook: 'output' as const, prio: -100, policy: 'accept' as const } }))],
    set: [...SET_TYPES.map((type): Pick<NftObjectBodies, 'set'> => ({ set: { ...ref, type, flags: [SET_FLAG_INTERVAL] } })), { set: { ...ref, type: 'inet_service', flags: [SET_FLAG_INTERVAL], elem: [80, { range: [1000, 2000] }] } }],
    rule: [{ rule: { family: NFT_FAMILY, table: 't', chain: 'c', expr: [{ accept: null }], comment: 'c' } }],
  };
  const commands: { [K in CommandKind]: Pick<NftCommandBodies, K>[] } = {
    add: Object.values(objects).flat().map((o: NftObject) => ({ add: o })),
    flush: [{ flush: { table: { family: NFT_FAMILY, name: 't' } } }, { flush: { set: ref } }],
    destroy: [{ destroy: { table: { family: NFT_FAMILY, name: 't' } } }],
    delete: [{ delete: { table: { family: NFT_FAMILY, name: 't' } } }],
  };
  const rule = (...expr: NftExpr[]): NftDocument => ({ nftables: [{ add: { rule: { family: NFT_FAMILY, table: 't', chain: 'c', expr } } }] });

  it('a sample of every statement, left-hand side, right-hand side, object and command validates', () => {
    for (const [k, xs] of Object.entries(statements)) for (const x of xs) expect(validateNft(rule(x as NftExpr)), `${k}: ${JSON.stringify(x)}`).toEqual([]);
    for (const [k, xs] of Object.entries(lefts)) for (const left of xs) expect(validateNft(rule({ match: { op: '==', left, right: 1 } })), `${k}: ${JSON.stringify(left)}`).toEqual([]);
    for (const right of rights) for (const op of MATCH_OPS) expect(validateNft(rule({ match: { op, left: { meta: { key: 'mark' } }, right } })), JSON.stringify(right)).toEqual([]);
    for (const [k, xs] of Object.entries(commands)) for (const c of xs) expect(validateNft({ nftables: [c as NftCommand] }), `${k}: ${JSON.stringify(c)}`).toEqual([]);
    for (const [k, xs] of Object.entries({ ...statements, ...lefts, ...objects, ...commands })) for (const x of xs) expect(Object.keys(x), k).toEqual([k]);
  });

  it('what only the importer reads (a listing) is not what the schema accepts', () => {
    const listed: unknown[] = [
      { counter: { packets: 0, bytes: 0 } },
      { match: { op: '==', left: { payload: { protocol: 'tcp', field: 'dport' } }, right: 80 } },
      { match: { op: '==', left: { meta: { key: 'mark' } }, right: { range: ['10.0.0.1', '10.0.0.9'] } } },
    ];
    for (const x of listed) expect(validateNft({ nftables: [{ add: { rule: { family: NFT_FAMILY, table: 't', chain: 'c', expr: [x] } } }] }), JSON.stringify(x)).not.toEqual([]);
    expect(validateNft({ nftables: [{ metainfo: { version: '1.0.6', release_name: 'x', json_schema_version: 1 } }] })).not.toEqual([]);
    expect(validateNft({ nftables: [{ add: { table: { family: 'ip', name: 't' } } }] })).not.toEqual([]);
  });
});

// ---- importer ------------------------------------------------------------------------------
describe('importNftables', () => {
  it('reads the listing form: metainfo, bare objects, handles, counters, named sets with elem', () => {
    const listing = doc(
      { metainfo: { version: '1.0.6', release_name: 'Lester Gooch #5', json_schema_version: 1 } },
      { table: { family: 'inet', name: 'mesh', handle: 1 } },
      {
        set: {
          family: 'inet', table: 'mesh', name: 'exclude_v4', type: 'ipv4_addr', handle: 3, flags: ['interval'],
          elem: [{ prefix: { addr: '10.0.0.0', len: 8 } }, { range: ['192.168.1.1', '192.168.1.20'] }, { elem: { val: '172.16.0.1', counter: { packets: 3, bytes: 180 } } }],
        },
      },
      { chain: { family: 'inet', table: 'mesh', name: 'output', handle: 1, type: 'nat', hook: 'output', prio: -100, policy: 'accept' } },
      { chain: { family: 'inet', table: 'mesh', name: 'sub', handle: 2 } },
      { rule: { family: 'inet', table: 'mesh', chain: 'output', handle: 4, expr: [m(META('skuid'), 1337), { counter: { packets: 0, bytes: 0 } }, { return: null }] } },
      { rule: { family: 'inet', table: 'mesh', chain: 'output', handle: 5, expr: [m(PAY('ip', 'daddr'), '@exclude_v4'), { counter: { packets: 12, bytes: 720 } }, { return: null }] } },
      { rule: { family: 'inet', table: 'mesh', chain: 'output', handle: 6, expr: [{ counter: { packets: 0, bytes: 0 } }, { jump: { target: 'sub' } }] } },
      { rule: { family: 'inet', table: 'mesh', chain: 'sub', handle: 7, expr: [m(META('l4proto'), 'tcp'), { redirect: { port: 15001 } }] } },
    );
    const rs = mustImport(listing);
    expect(rs.tables.map((t) => [t.family, t.name])).toEqual([['inet', 'mesh']]);
    const out = rs.tables[0].chains.find((c) => c.name === 'output')!;
    expect(out.base).toEqual({ hook: 'output', priority: -100, type: 'nat', policy: 'accept' });
    expect(out.rules.map((r) => r.action.kind)).toEqual(['return', 'return', 'jump']);
    expect(out.rules.every((r) => !r.effects)).toBe(true);
    const redirected = (p: Partial<Packet>) => simulate(rs, pkt(p)).outcome.redirect?.port ?? null;
    expect(redirected({ dst: '8.8.8.8' })).toBe(15001);
    expect(redirected({ dst: '8.8.8.8', uid: 1337 })).toBeNull();
    expect(redirected({ dst: '10.200.0.1' })).toBeNull();
    expect(redirected({ dst: '192.168.1.20' })).toBeNull();
    expect(redirected({ dst: '192.168.1.21' })).toBe(15001);
    expect(redirected({ dst: '172.16.0.1' })).toBeNull();
    expect(redirected({ dst: '172.16.0.2' })).toBe(15001);
    // The set is IPv4: an IPv6 packet skips the `ip daddr` rule and is redirected.
    expect(redirected({ family: 'ipv6', src: 'fd00::5', dst: 'fd00::9' })).toBe(15001);
  });

  it('reads the command form, with bare objects meaning add', () => {
    const rs = mustImport(doc({ add: { table: TBL } }, { table: { family: 'inet', name: 'mesh' } }, chainObj('out', { type: 'filter', hook: 'output', prio: 0, policy: 'drop' }), { rule: { family: 'inet', table: 'mesh', chain: 'out', expr: [m(META('oifname'), 'lo'), { accept: null }] } }));
    expect(rs.tables).toHaveLength(1);
    expect(rs.tables[0].chains[0].rules).toHaveLength(1);
    expect(simulate(rs, pkt({ oif: 'lo' })).outcome.verdict).toBe('accept');
    expect(simulate(rs, pkt({ oif: 'eth0' })).outcome.verdict).toBe('drop');
  });

  it('insert puts the rule first', () => {
    const base0 = [{ add: { table: TBL } }, chainObj('out', { type: 'filter', hook: 'output', prio: 0, policy: 'accept' })];
    const rs = mustImport(doc(...base0, ruleObj('out', m(PAY('tcp', 'dport'), 80), { drop: null }), { insert: { rule: { family: 'inet', table: 'mesh', chain: 'out', expr: [m(META('skuid'), 1337), { accept: null }] } } }));
    expect(rs.tables[0].chains[0].rules.map((r) => r.action.kind)).toEqual(['accept', 'drop']);
    expect(simulate(rs, pkt({ dport: 80, uid: 1337 })).outcome.verdict).toBe('accept');
    expect(simulate(rs, pkt({ dport: 80 })).outcome.verdict).toBe('drop');
  });

  it('flush table empties the chains (and keeps them); later rules are read', () => {
    const rs = mustImport(
      doc({ add: { table: TBL } }, chainObj('out', { type: 'filter', hook: 'output', prio: 0, policy: 'accept' }), ruleObj('out', { drop: null }), { flush: { table: TBL } }, ruleObj('out', m(PAY('tcp', 'dport'), 81), { drop: null })),
    );
    expect(rs.tables[0].chains[0].rules).toHaveLength(1);
    expect(simulate(rs, pkt({ dport: 80 })).outcome.verdict).toBe('accept');
    expect(simulate(rs, pkt({ dport: 81 })).outcome.verdict).toBe('drop');
  });

  it('named sets follow nft: add set adds elements, flush table keeps them, flush set empties them', () => {
    const set = (elem?: unknown[]) => ({ add: { set: { family: 'inet', table: 'mesh', name: 'p', type: 'inet_service', flags: ['interval'], ...(elem ? { elem } : {}) } } });
    const head = [{ add: { table: TBL } }, chainObj('out', { type: 'filter', hook: 'output', prio: 0, policy: 'accept' })];
    const rule = ruleObj('out', m(PAY('tcp', 'dport'), '@p'), { drop: null });
    const dropped = (rs: RuleSet, port: number) => simulate(rs, pkt({ dport: port })).outcome.verdict === 'drop';
    const merged = mustImport(doc(...head, set([80]), { flush: { table: TBL } }, set([81]), rule));
    expect([dropped(merged, 80), dropped(merged, 81)]).toEqual([true, true]);
    const replaced = mustImport(doc(...head, set([80]), { flush: { table: TBL } }, set(), { flush: { set: { family: 'inet', table: 'mesh', name: 'p' } } }, set([81]), rule));
    expect([dropped(replaced, 80), dropped(replaced, 81)]).toEqual([false, true]);
    const bad = importNftables(doc(...head, { flush: { set: { family: 'inet', table: 'mesh', name: 'nope' } } }), 'x.json');
    expect(bad.diagnostics.map((d) => d.message)).toEqual([expect.stringContaining('$.nftables[2].flush.set')]);
  });

  describe('protocol dependencies (facts §1.12)', () => {
    const head = [{ add: { table: TBL } }, chainObj('out', { type: 'filter', hook: 'output', prio: 0, policy: 'accept' })];
    it('tcp dport implies meta l4proto tcp', () => {
      const rs = mustImport(doc(...head, ruleObj('out', m(PAY('tcp', 'dport'), 53), { drop: null })));
      expect(rs.tables[0].chains[0].rules[0].matches).toEqual([{ kind: 'protocol', neg: false, protocol: 'tcp' }, { kind: 'dport', neg: false, ranges: [[53, 53]] }]);
      expect(simulate(rs, pkt({ protocol: 'tcp', dport: 53 })).outcome.verdict).toBe('drop');
      expect(simulate(rs, pkt({ protocol: 'udp', dport: 53 })).outcome.verdict).toBe('accept');
    });
    it('tcp dport != X still needs TCP', () => {
      const rs = mustImport(doc(...head, ruleObj('out', m(PAY('tcp', 'dport'), 53, '!='), { drop: null })));
      expect(simulate(rs, pkt({ protocol: 'tcp', dport: 80 })).outcome.verdict).toBe('drop');
      expect(simulate(rs, pkt({ protocol: 'udp', dport: 80 })).outcome.verdict).toBe('accept');
    });
    it('th dport implies nothing', () => {
      const rs = mustImport(doc(...head, ruleObj('out', m(PAY('th', 'dport'), 53), { drop: null })));
      expect(rs.tables[0].chains[0].rules[0].matches).toEqual([{ kind: 'dport', neg: false, ranges: [[53, 53]] }]);
      expect(simulate(rs, pkt({ protocol: 'tcp', dport: 53 })).outcome.verdict).toBe('drop');
      expect(simulate(rs, pkt({ protocol: 'udp', dport: 53 })).outcome.verdict).toBe('drop');
      expect(simulate(rs, pkt({ protocol: 'udp', dport: 54 })).outcome.verdict).toBe('accept');
    });
  });

  it('ip daddr != X does not match IPv6 packets in an inet table (nor ip6 saddr != Y IPv4 ones)', () => {
    const head = [{ add: { table: TBL } }, chainObj('out', { type: 'filter', hook: 'output', prio: 0, policy: 'accept' })];
    const rs = mustImport(doc(...head, ruleObj('out', m(PAY('ip', 'daddr'), '10.0.0.1', '!='), { drop: null })));
    expect(simulate(rs, pkt({ dst: '10.0.0.2' })).outcome.verdict).toBe('drop');
    expect(simulate(rs, pkt({ dst: '10.0.0.1' })).outcome.verdict).toBe('accept');
    expect(simulate(rs, pkt({ family: 'ipv6', src: 'fd00::5', dst: 'fd00::9' })).outcome.verdict).toBe('accept');
    expect(simulate(rs, pkt({ family: 'ipv6', src: 'fd00::5', dst: '::1' })).outcome.verdict).toBe('accept');
    const six = mustImport(doc(...head, ruleObj('out', m(PAY('ip6', 'saddr'), '::1', '!='), { drop: null })));
    expect(simulate(six, pkt({ family: 'ipv6', src: 'fd00::5', dst: 'fd00::9' })).outcome.verdict).toBe('drop');
    expect(simulate(six, pkt({})).outcome.verdict).toBe('accept');
    // Over every packet: the IPv6 half of the rule set does nothing.
    expectEqual(rs, EMPTY, ['ipv6']);
    expectEqual(six, EMPTY, ['ipv4']);
  });

  it('tproxy ... meta mark set M accept is one TPROXY action', () => {
    const head = [{ add: { table: TBL } }, chainObj('pre', { type: 'filter', hook: 'prerouting', prio: -150, policy: 'accept' })];
    const rs = mustImport(doc(...head, ruleObj('pre', m(META('l4proto'), 'tcp'), { tproxy: { family: 'ip', port: 15006 } }, { mangle: { key: META('mark'), value: 1337 } }, { accept: null })));
    const [r] = rs.tables[0].chains[0].rules;
    expect(r.effects).toBeUndefined();
    expect(r.action).toEqual({ kind: 'tproxy', port: 15006, mark: 1337, mask: ALL });
    const o = simulate(rs, pkt({ hook: 'prerouting', iif: 'eth0', oif: '', uid: undefined, gid: undefined })).outcome;
    expect(o.tproxy).toEqual({ port: 15006, mark: 1337 });
    expect(o.mark).toBe(1337);
  });

  it('a multi-statement rule keeps its statements in order before its verdict', () => {
    const head = [{ add: { table: TBL } }, chainObj('out', { type: 'filter', hook: 'output', prio: 0, policy: 'accept' }), chainObj('x')];
    const rs = mustImport(
      doc(...head, ruleObj('out', { mangle: { key: META('mark'), value: 1 } }, { mangle: { key: META('mark'), value: { ct: { key: 'mark' } } } }, { jump: { target: 'x' } }), ruleObj('x', m(META('mark'), 7), { drop: null })),
    );
    const [r] = rs.tables[0].chains.find((c) => c.name === 'out')!.rules;
    expect(r.effects).toEqual([{ kind: 'mark-set', value: 1, mask: ALL }, { kind: 'connmark-restore', nfmask: ALL, ctmask: ALL }]);
    expect(r.action).toEqual({ kind: 'jump', chain: 'x' });
    // mark = 1, then mark = ctmark (7): x sees 7 and drops. The other order would leave 1.
    const o = simulate(rs, pkt({ ctmark: 7 })).outcome;
    expect(o).toMatchObject({ verdict: 'drop', mark: 7 });
    expect(simulate(rs, pkt({ ctmark: 8 })).outcome).toMatchObject({ verdict: 'accept', mark: 8 });
  });

  describe('errors name the JSON path, with code rules-syntax', () => {
    const head = [{ add: { table: TBL } }, chainObj('out', { type: 'filter', hook: 'output', prio: 0, policy: 'accept' }), chainObj('x')];
    const errs = (text: string) => {
      const r = importNftables(text, 'bad.json');
      expect(r.ruleset).toBeUndefined();
      for (const d of r.diagnostics) {
        expect(d.code).toBe('rules-syntax');
        expect(d.severity).toBe('error');
        expect(d.span?.file).toBe('bad.json');
      }
      return r.diagnostics.map((d) => d.message);
    };

    it('an unknown statement', () => {
      const ms = errs(doc(...head, ruleObj('out', m(META('l4proto'), 'tcp'), { queue: { num: 1 } })));
      expect(ms).toHaveLength(1);
      expect(ms[0]).toContain('$.nftables[3].add.rule.expr[1].queue');
      expect(ms[0]).toContain('queue');
    });

    it('an unknown expression (fib, which other tools use, is unmodelled instead: test/cli-live.test.ts)', () => {
      const ms = errs(doc(...head, ruleObj('out', { match: { op: '==', left: { frob: { flags: ['daddr'] } }, right: 'local' } }, { accept: null })));
      expect(ms).toEqual([expect.stringContaining('$.nftables[3].add.rule.expr[0].match.left')]);
      expect(ms[0]).toContain('frob');
      const fib = importNftables(doc(...head, ruleObj('out', { match: { op: '==', left: { fib: { flags: ['daddr'], result: 'type' } }, right: 'local' } }, { accept: null })), 'fib.json');
      expect(fib.diagnostics.map((d) => d.code)).toEqual(['rules-unmodelled']);
      expect(fib.ruleset!.tables[0].chains[0].rules[0].matches).toEqual([{ kind: 'unmodelled', id: 'fib.json:1#0', text: 'fib == "local" at $.nftables[3].add.rule.expr[0]' }]);
    });

    it('an unknown meta key and an unknown payload field', () => {
      expect(errs(doc(...head, ruleObj('out', m(META('frob'), 5), { accept: null })))).toEqual([expect.stringContaining('$.nftables[3].add.rule.expr[0].match.left.meta.key')]);
      expect(errs(doc(...head, ruleObj('out', m(PAY('ip', 'ttl'), 5), { accept: null })))).toEqual([expect.stringContaining('$.nftables[3].add.rule.expr[0].match.left.payload')]);
    });

    it('a rule in an unknown chain', () => {
      const ms = errs(doc(...head, ruleObj('nope', { accept: null })));
      expect(ms).toEqual([expect.stringContaining('$.nftables[3].add.rule.chain')]);
      expect(ms[0]).toContain("'nope'");
    });

    it('malformed JSON', () => {
      const ms = errs('{"nftables": [ {"add": ');
      expect(ms).toHaveLength(1);
      expect(ms[0]).toMatch(/not JSON/);
      expect(errs('[]')).toEqual([expect.stringContaining("'nftables'")]);
    });

    it('every bad command is reported, not only the first', () => {
      const ms = errs(doc(...head, ruleObj('out', { queue: null }), ruleObj('nope', { accept: null }), { replace: { rule: {} } }));
      expect(ms).toEqual([expect.stringContaining('$.nftables[3]'), expect.stringContaining('$.nftables[4]'), expect.stringContaining('$.nftables[5]')]);
    });
  });

  it(`reads every listing of the Istio kernel corpus without diagnostics`, () => {
    const dir = join(corpusRoot(), 'corpus', 'istio-kernel', 'nft-json');
    const files = readdirSync(dir).filter((f) => f.endsWith('.json'));
    expect(files.length).toBeGreaterThanOrEqual(20);
    for (const f of files) {
      const r = importNftables(readFileSync(join(dir, f), 'utf8'), f);
      expect(r.diagnostics.map((d) => d.message), f).toEqual([]);
      expect(r.ruleset!.tables.length, f).toBeGreaterThan(0);
      expect(r.ruleset!.tables.every((t) => t.family === 'inet'), f).toBe(true);
    }
  });
});

// ---- round trip ------------------------------------------------------------------------------
describe('every spec: emit -> import -> equivalent to the IR', () => {
  it('there are specs to check', () => expect(specs.length).toBeGreaterThanOrEqual(5));
  for (const f of specs)
    for (const nftVersion of ['1.0.6', '1.0.8'])
      it(`${f} (nft ${nftVersion}, counters and comments)`, () => {
        const { policy, ir } = specIr(f);
        const text = emitNftables(ir, { nftVersion, counters: true, comments: true });
        const back = mustImport(text, `${f}.nft.json`);
        const families = [...policy.families.value];
        const r = equivalent(rulesSide('IR', ir), rulesSide('nft', back), { families });
        expect(r.result, r.counterexample ? packetText(r.counterexample.packet) : r.reason).toBe('equal');
        expect(r.classes).toBeGreaterThan(0);
      });

  it('the round trip has teeth: one changed redirect port is found', () => {
    const { policy, ir } = specIr('istio-sidecar.intercept');
    const d = parsed(emitNftables(ir));
    const r = d.nftables.find((c) => c.add?.rule?.expr.some((e) => e.redirect?.port === 15001));
    const redirect = r?.add?.rule?.expr.find((e) => e.redirect)?.redirect;
    expect(redirect).toBeDefined();
    redirect!.port = 15002;
    const eq = equivalent(rulesSide('IR', ir), rulesSide('nft', mustImport(JSON.stringify(d))), { families: [...policy.families.value] });
    expect(eq.result).toBe('different');
    expect(eq.counterexample!.b.outcome.redirect).toEqual({ port: 15002 });
  });
});

describe('the generated validator (npm run build writes it)', () => {
  it('exists, was made from the current schema, and judges documents as ajv compiling the schema does', async () => {
    const generated = generatedValidator();
    expect(generated, 'backends/nftables/schema.validate.cjs missing or stale: run npm run build').toBeDefined();
    const { createRequire } = await import('node:module');
    const Ajv2020 = (createRequire(import.meta.url)('ajv/dist/2020') as { default: typeof Ajv2020Module.default }).default;
    const compiled = new Ajv2020({ allErrors: true, strict: true, allowUnionTypes: true }).compile(nftSchema());
    const docs: unknown[] = [];
    for (const f of readdirSync('specs')) {
      const doc = parsed(emitNftables(lower(loadFile(join('specs', f)).policy!), { comments: true }));
      docs.push(doc);
      // The same document with a typo, a wrong type and a missing key.
      const typo: unknown = structuredClone(doc);
      setAt(typo, ['nftables', 0, 'add', 'table'], { ...doc.nftables[0].add?.table, famliy: 'inet' });
      const wrongType: unknown = structuredClone(doc);
      arrayAt(wrongType, ['nftables']).push({ add: { rule: { family: 'inet', table: 't', chain: 'c', expr: 'nope' } } });
      const missing: unknown = structuredClone(doc);
      arrayAt(missing, ['nftables']).push({ add: { chain: { family: 'inet', table: 't' } } });
      docs.push(typo, wrongType, missing);
    }
    docs.push({}, { nftables: 'x' }, []);
    for (const d of docs) {
      expect(generated!(d)).toBe(compiled(d));
      expect(generated!.errors ?? null).toEqual(compiled.errors ?? null);
    }
    expect(docs.filter((d) => !compiled(d)).length).toBeGreaterThan(20);
  });

  it('a damaged or stale generated file is ignored (the schema is compiled instead)', async () => {
    const { mkdirSync, mkdtempSync, rmSync, writeFileSync } = await import('node:fs');
    // Inside the project, so that the generated code's require('ajv/...') resolves as it
    // does from backends/nftables/.
    mkdirSync(join('node_modules', '.cache'), { recursive: true });
    const dir = mkdtempSync(join('node_modules', '.cache', 'meshcap-validator-'));
    onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
    const good = readFileSync(generatedValidatorPath(), 'utf8');
    const truncated = join(dir, 'truncated.cjs');
    writeFileSync(truncated, good.slice(0, Math.floor(good.length / 2)));
    expect(generatedValidator(truncated)).toBeUndefined();
    const stale = join(dir, 'stale.cjs');
    writeFileSync(stale, good.replace(/^\/\/ source sha256 [0-9a-f]+/, '// source sha256 0000'));
    expect(generatedValidator(stale)).toBeUndefined();
    const copy = join(dir, 'copy.cjs');
    writeFileSync(copy, good);
    expect(typeof generatedValidator(copy)).toBe('function');
  });
});
