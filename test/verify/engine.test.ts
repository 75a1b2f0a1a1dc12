// The exhaustive equivalence engine on small hand-built rule sets (each property the
// engine promises, one at a time), then a soundness property: on random pairs of rule
// sets, 'equal' is never contradicted by a packet battery and 'different' is always
// confirmed by the simulator.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Action, CtState, Family, Hook, IrCidr, Match, Rule, RuleSet, Table } from '../../src/ir/types.js';
import { iptablesBase } from '../../src/ir/types.js';
import type { Packet } from '../../src/sim/packet.js';
import { simulate } from '../../src/sim/simulate.js';
import { battery, compareOn } from '../harness/battery.js';
import { outcomeText, sameOutcome } from '../../src/verify/compare.js';
import { equivalent, type EquivResult } from '../../src/verify/engine.js';
import { rulesSide } from '../../src/verify/side.js';

// ---- a tiny rule-set builder -----------------------------------------------------------------

const ALL = 0xffffffff;
const R = (matches: Match[], action: Action): Rule => ({ matches, action, origin: { span: null, purpose: 'test' } });
const cidrOf = (text: string): IrCidr => {
  const [addr, prefix] = text.split('/');
  const family: Family = addr.includes(':') ? 'ipv6' : 'ipv4';
  return { family, addr, prefix: prefix === undefined ? (family === 'ipv4' ? 32 : 128) : Number(prefix) };
};
const m = {
  tcp: (neg = false): Match => ({ kind: 'protocol', neg, protocol: 'tcp' }),
  udp: (neg = false): Match => ({ kind: 'protocol', neg, protocol: 'udp' }),
  dport: (ranges: [number, number][] | number, neg = false): Match => ({ kind: 'dport', neg, ranges: typeof ranges === 'number' ? [[ranges, ranges]] : ranges }),
  sport: (ranges: [number, number][] | number, neg = false): Match => ({ kind: 'sport', neg, ranges: typeof ranges === 'number' ? [[ranges, ranges]] : ranges }),
  daddr: (cidrs: string[], neg = false): Match => ({ kind: 'daddr', neg, cidrs: cidrs.map(cidrOf) }),
  saddr: (cidrs: string[], neg = false): Match => ({ kind: 'saddr', neg, cidrs: cidrs.map(cidrOf) }),
  uid: (id: number | string, neg = false): Match => ({ kind: 'uid', neg, id }),
  gid: (id: number | string, neg = false): Match => ({ kind: 'gid', neg, id }),
  oif: (name: string, neg = false): Match => ({ kind: 'oif', neg, name: name.replace(/\+$/, ''), prefix: name.endsWith('+') }),
  iif: (name: string, neg = false): Match => ({ kind: 'iif', neg, name: name.replace(/\+$/, ''), prefix: name.endsWith('+') }),
  mark: (value: number, mask = ALL, neg = false): Match => ({ kind: 'mark', neg, value, mask }),
  ctstate: (states: CtState[], neg = false): Match => ({ kind: 'ctstate', neg, states }),
};
const a = {
  accept: { kind: 'accept' } as Action,
  drop: { kind: 'drop' } as Action,
  ret: { kind: 'return' } as Action,
  jump: (chain: string): Action => ({ kind: 'jump', chain }),
  redirect: (port: number): Action => ({ kind: 'redirect', port }),
  setMark: (value: number, mask = ALL): Action => ({ kind: 'mark-set', value, mask }),
};

/** A table with base chains (`OUTPUT: [...]`) and user chains (any other name). */
function table(name: 'nat' | 'mangle' | 'filter' | 'raw', family: Family | 'inet', chains: Record<string, Rule[]>): Table {
  return {
    family,
    name,
    chains: Object.entries(chains).map(([c, rules]) =>
      /^(PREROUTING|INPUT|OUTPUT|POSTROUTING)$/.test(c) ? { name: c, base: iptablesBase(name, c.toLowerCase() as Hook), rules } : { name: c, rules },
    ),
  };
}
const ruleset = (...tables: Table[]): RuleSet => ({ name: 'test', tables, routing: { loopbackAddresses: [] } });
const eq = (x: RuleSet, y: RuleSet, opts: Parameters<typeof equivalent>[2] = {}): EquivResult => equivalent(rulesSide('A', x), rulesSide('B', y), opts);
const clone = <T>(x: T): T => JSON.parse(JSON.stringify(x)) as T;

/** The simulator confirms the counterexample: both traces, different outcomes. */
function confirmed(r: EquivResult, x: RuleSet, y: RuleSet): Packet {
  expect(r.result).toBe('different');
  const c = r.counterexample!;
  expect(c).toBeDefined();
  const sa = simulate(x, c.packet);
  const sb = simulate(y, c.packet);
  expect(sameOutcome(sa.outcome, sb.outcome), `counterexample ${JSON.stringify(c.packet)}`).toBe(false);
  expect(sa.outcome).toEqual(c.a.outcome);
  expect(sb.outcome).toEqual(c.b.outcome);
  // The traces say why (a side without chains for the packet has an empty one).
  expect(c.a.path.length + c.b.path.length).toBeGreaterThan(0);
  return c.packet;
}

/** A sidecar-like nat OUTPUT: the proxy returns, excluded ports return, TCP is redirected. */
function sidecar(family: Family, excluded: number[], extra: Rule[] = []): Table {
  return table('nat', family, {
    OUTPUT: [R([], a.jump('OUT'))],
    OUT: [R([m.uid(1337)], a.ret), ...excluded.map((p) => R([m.tcp(), m.dport(p)], a.ret)), ...extra, R([m.tcp()], a.jump('REDIR'))],
    REDIR: [R([m.tcp()], a.redirect(15001))],
  });
}

// ---- unit properties -----------------------------------------------------------------------------

describe('equivalent(): hand-built rule sets', () => {
  it('identical rule sets (and a deep copy) are equal, over many classes', () => {
    const x = ruleset(sidecar('ipv4', [3306, 8080]), sidecar('ipv6', [3306]));
    const same = eq(x, x);
    expect(same.result).toBe('equal');
    expect(same.differences).toEqual([]);
    expect(same.counterexample).toBeUndefined();
    expect(same.classes).toBeGreaterThan(4);
    expect(eq(x, clone(x)).result).toBe('equal');
  });

  it('two RETURNs on disjoint ports, swapped, are equal; so is a range written as two', () => {
    const x = ruleset(sidecar('ipv4', [3306, 8080]));
    const y = ruleset(sidecar('ipv4', [8080, 3306]));
    expect(eq(x, y).result).toBe('equal');
    const ranges = ruleset(sidecar('ipv4', [], [R([m.tcp(), m.dport([[8000, 8100]])], a.ret)]));
    const split = ruleset(sidecar('ipv4', [], [R([m.tcp(), m.dport([[8051, 8100]])], a.ret), R([m.tcp(), m.dport([[8000, 8050]])], a.ret)]));
    expect(eq(ranges, split).result).toBe('equal');
  });

  it('rules after an unconditional verdict do not count; swapping overlapping rules does', () => {
    const x = ruleset(table('filter', 'ipv4', { OUTPUT: [R([m.tcp()], a.drop)] }));
    const dead = ruleset(table('filter', 'ipv4', { OUTPUT: [R([m.tcp()], a.drop), R([], a.accept), R([m.udp()], a.drop)] }));
    expect(eq(x, dead).result).toBe('equal');
    // Overlapping (port 80 is in both): the order matters.
    const p = ruleset(table('filter', 'ipv4', { OUTPUT: [R([m.tcp(), m.dport(80)], a.accept), R([m.tcp(), m.dport([[1, 1024]])], a.drop)] }));
    const q = ruleset(table('filter', 'ipv4', { OUTPUT: [R([m.tcp(), m.dport([[1, 1024]])], a.drop), R([m.tcp(), m.dport(80)], a.accept)] }));
    const r = eq(p, q, { maxDifferences: 10 });
    expect(confirmed(r, p, q).dport).toBe(80);
    expect(r.differences.every((d) => d.packet.dport === 80)).toBe(true);
  });

  it('a one-port change is different, and the counterexample has exactly that port', () => {
    const x = ruleset(sidecar('ipv4', [3306]));
    const y = ruleset(sidecar('ipv4', []));
    const r = eq(x, y, { maxDifferences: 50 });
    const pkt = confirmed(r, x, y);
    expect(pkt).toMatchObject({ hook: 'output', family: 'ipv4', protocol: 'tcp', dport: 3306, ctstate: 'new' });
    expect(pkt.uid).not.toBe(1337);
    expect(outcomeText(r.counterexample!.a.outcome)).toBe('pass');
    expect(outcomeText(r.counterexample!.b.outcome)).toBe('redirect 15001');
    // Every differing class is port 3306, and the traces say why.
    expect(r.differences.length).toBeGreaterThan(0);
    for (const d of r.differences) {
      expect(d.packet.dport).toBe(3306);
      expect(d.description).toContain('port 3306');
      expect(d.description).toContain('TCP');
    }
    expect(r.counterexample!.a.path.some((s) => s.effect === 'return' && s.chain === 'OUT')).toBe(true);
    expect(r.counterexample!.b.path.some((s) => s.effect.includes('redirect to port 15001'))).toBe(true);
    // The neighbours are not different.
    for (const dport of [3305, 3307]) expect(sameOutcome(simulate(x, { ...pkt, dport }).outcome, simulate(y, { ...pkt, dport }).outcome)).toBe(true);
  });

  it('a one-port change in a range boundary is found at that boundary', () => {
    const x = ruleset(sidecar('ipv4', [], [R([m.tcp(), m.dport([[8000, 8100]])], a.ret)]));
    const y = ruleset(sidecar('ipv4', [], [R([m.tcp(), m.dport([[8000, 8101]])], a.ret)]));
    const r = eq(x, y, { maxDifferences: 50 });
    expect(confirmed(r, x, y).dport).toBe(8101);
    expect(r.differences.every((d) => d.packet.dport === 8101)).toBe(true);
  });

  it('differences are merged ranges: excluding 10.0.0.0/8 is one IPv4 class, IPv6 is not affected', () => {
    const x = ruleset(sidecar('ipv4', [], [R([m.daddr(['10.0.0.0/8'])], a.ret)]), sidecar('ipv6', []));
    const y = ruleset(sidecar('ipv4', []), sidecar('ipv6', []));
    const r = eq(x, y, { maxDifferences: 100 });
    confirmed(r, x, y);
    expect(r.differences).toHaveLength(1);
    const d = r.differences[0];
    expect(d.description).toContain('10.0.0.0/8');
    expect(d.description).toMatch(/^outbound IPv4 TCP/);
    expect(d.packet.family).toBe('ipv4');
    expect(d.packet.dst.startsWith('10.')).toBe(true);
    expect(outcomeText(d.a)).toBe('pass');
    expect(outcomeText(d.b)).toBe('redirect 15001');
    expect(r.differences.some((x) => x.packet.family === 'ipv6' || x.description.includes('IPv6'))).toBe(false);
    // IPv6 alone: equal.
    expect(eq(x, y, { families: ['ipv6'] }).result).toBe('equal');
  });

  it('several excluded CIDRs merge into one readable class per outcome pair', () => {
    const x = ruleset(sidecar('ipv4', [], [R([m.daddr(['10.0.0.0/9'])], a.ret), R([m.daddr(['10.128.0.0/9'])], a.ret), R([m.daddr(['192.168.0.0/16'])], a.ret)]));
    const y = ruleset(sidecar('ipv4', []));
    const r = eq(x, y, { maxDifferences: 100 });
    confirmed(r, x, y);
    expect(r.differences).toHaveLength(1);
    expect(r.differences[0].description).toContain('10.0.0.0/8');
    expect(r.differences[0].description).toContain('192.168.0.0/16');
  });

  it('marks: setting a mark differs from not setting it; the same mark set twice does not', () => {
    const x = ruleset(table('mangle', 'ipv4', { OUTPUT: [R([m.tcp()], a.setMark(0x1))] }));
    const y = ruleset(table('mangle', 'ipv4', { OUTPUT: [] }));
    const r = eq(x, y);
    const pkt = confirmed(r, x, y);
    expect(pkt.protocol).toBe('tcp');
    expect(r.counterexample!.a.outcome.mark).toBe(1);
    expect(r.counterexample!.b.outcome.mark).toBe(pkt.mark);
    const twice = ruleset(table('mangle', 'ipv4', { OUTPUT: [R([m.tcp()], a.setMark(0x1)), R([m.tcp()], a.setMark(0x1))] }));
    expect(eq(x, twice).result).toBe('equal');
  });

  it('marks flow between tables: a mark set in mangle is matched in nat', () => {
    const base = (mark: number) =>
      ruleset(
        table('mangle', 'ipv4', { OUTPUT: [R([m.tcp(), m.dport(9000)], a.setMark(mark))] }),
        table('nat', 'ipv4', { OUTPUT: [R([m.mark(0x7)], a.ret), R([m.tcp()], a.redirect(15001))] }),
      );
    const x = base(0x7);
    const y = base(0x8);
    const r = eq(x, y, { maxDifferences: 20 });
    const pkt = confirmed(r, x, y);
    expect(pkt.dport).toBe(9000);
    expect(eq(x, base(0x7)).result).toBe('equal');
  });

  it('connection marks are part of the outcome: saving the mark differs from not saving it', () => {
    const save: Action = { kind: 'connmark-save', nfmask: ALL, ctmask: ALL };
    // No rule compares marks: only the copy tells the two apart, for a mark other than the connection's.
    const x = ruleset(table('mangle', 'ipv4', { PREROUTING: [R([m.tcp()], save)] }));
    const y = ruleset(table('mangle', 'ipv4', { PREROUTING: [] }));
    const pkt = confirmed(eq(x, y), x, y);
    expect(pkt.mark).not.toBe(pkt.ctmark);
    expect(eq(x, y).counterexample!.a.outcome.ctmark).toBe(pkt.mark);
    // After a RETURN the save is unreachable: equal to saving nothing.
    const ret = ruleset(table('mangle', 'ipv4', { PREROUTING: [R([], a.ret), R([m.tcp()], save)] }));
    expect(eq(ret, y).result).toBe('equal');
  });

  it('restoring the mark from the connection differs from not restoring it, with no mark match anywhere', () => {
    const restore: Action = { kind: 'connmark-restore', nfmask: ALL, ctmask: ALL };
    const x = ruleset(table('mangle', 'ipv4', { OUTPUT: [R([m.tcp()], restore)] }));
    const y = ruleset(table('mangle', 'ipv4', { OUTPUT: [] }));
    const pkt = confirmed(eq(x, y), x, y);
    expect(pkt.mark).not.toBe(pkt.ctmark);
  });

  it('a mark an action writes meets the connection mark it is saved over', () => {
    const save: Action = { kind: 'connmark-save', nfmask: ALL, ctmask: ALL };
    // Both save 0x5 set by MARK; one of them only for port 80: different wherever ctmark is not 0x5.
    const x = ruleset(table('mangle', 'ipv4', { PREROUTING: [R([m.tcp()], a.setMark(0x5)), R([m.tcp()], save)] }));
    const y = ruleset(table('mangle', 'ipv4', { PREROUTING: [R([m.tcp()], a.setMark(0x5)), R([m.tcp(), m.dport(80)], save)] }));
    const pkt = confirmed(eq(x, y), x, y);
    expect(pkt.dport).not.toBe(80);
    expect(pkt.ctmark).not.toBe(0x5);
  });

  it('partial-mask marks over few bits are decided bit by bit', () => {
    const x = ruleset(table('filter', 'ipv4', { OUTPUT: [R([m.mark(0x1, 0x3)], a.drop)] }));
    const y = ruleset(table('filter', 'ipv4', { OUTPUT: [R([m.mark(0x1, 0x1)], a.drop)] }));
    const r = eq(x, y);
    const pkt = confirmed(r, x, y);
    expect(pkt.mark & 0x3).toBe(0x3); // bit 1 set: (mark & 3) != 1 but (mark & 1) == 1
    // The same test written with another mask that means the same: equal.
    const z = ruleset(table('filter', 'ipv4', { OUTPUT: [R([m.mark(0x1, 0x1), m.mark(0x2, 0x2, true)], a.drop)] }));
    expect(eq(x, z).result).toBe('equal');
  });

  it("partial-mask marks over more than 6 bits are 'undecided' with a reason, never 'equal'", () => {
    const x = ruleset(table('filter', 'ipv4', { OUTPUT: [R([m.mark(0x1, 0xff)], a.drop)] }));
    const r = eq(x, x);
    expect(r.result).toBe('undecided');
    expect(r.reason).toMatch(/mask/);
    expect(r.reason).toMatch(/\b8 bits\b/);
    expect(r.differences).toEqual([]);
    const y = ruleset(table('filter', 'ipv4', { OUTPUT: [R([m.mark(0x1, 0xff)], a.accept)] }));
    expect(eq(x, y).result).not.toBe('equal');
    // A partial-mask mark-set counts its bits too; two that differ are never 'equal'.
    const s = ruleset(table('mangle', 'ipv4', { OUTPUT: [R([], a.setMark(0x100, 0xff00))] }));
    const t = ruleset(table('mangle', 'ipv4', { OUTPUT: [R([], a.setMark(0x200, 0xff00))] }));
    expect(eq(s, t).result).not.toBe('equal');
    // Over few bits, partial masks are enumerated and decided.
    const p = ruleset(table('filter', 'ipv4', { OUTPUT: [R([m.mark(0x1, 0x3)], a.drop)] }));
    expect(eq(p, p).result).toBe('equal');
  });

  it('ctstate: nat rules only see new connections', () => {
    const x = ruleset(table('nat', 'ipv4', { OUTPUT: [R([m.tcp(), m.ctstate(['new'])], a.redirect(15001))] }));
    const y = ruleset(table('nat', 'ipv4', { OUTPUT: [R([m.tcp()], a.redirect(15001))] }));
    expect(eq(x, y).result).toBe('equal');
    const none = ruleset(table('nat', 'ipv4', { OUTPUT: [] }));
    const r = eq(y, none, { maxDifferences: 100 });
    expect(confirmed(r, y, none).ctstate).toBe('new');
    expect(r.differences.every((d) => d.packet.ctstate === 'new')).toBe(true);
    // In a filter table the state matters for every packet.
    const fx = ruleset(table('filter', 'ipv4', { OUTPUT: [R([m.tcp(), m.ctstate(['new'])], a.drop)] }));
    const fy = ruleset(table('filter', 'ipv4', { OUTPUT: [R([m.tcp()], a.drop)] }));
    const fr = eq(fx, fy, { maxDifferences: 100 });
    expect(confirmed(fr, fx, fy).ctstate).not.toBe('new');
    // The states no rule tells apart are one class.
    expect(fr.differences).toHaveLength(1);
    expect(fr.differences[0].description).toContain('(established/related/invalid/untracked)');
  });

  it('owner matches: a uid that no rule names ("any other uid") is explored', () => {
    // x: everyone but 1337 is redirected; y: only uid 1000 is.
    const x = ruleset(table('nat', 'ipv4', { OUTPUT: [R([m.tcp(), m.uid(1337, true)], a.redirect(15001))] }));
    const y = ruleset(table('nat', 'ipv4', { OUTPUT: [R([m.tcp(), m.uid(1000)], a.redirect(15001))] }));
    const r = eq(x, y, { maxDifferences: 100 });
    const pkt = confirmed(r, x, y);
    expect(pkt.hook).toBe('output');
    expect(pkt.uid === undefined ? 'none' : pkt.uid).not.toBe(1337);
    expect(pkt.uid).not.toBe(1000);
    expect(r.differences.length).toBe(1);
    expect(r.differences[0].description).toMatch(/uid ∉ \{1337, 1000\}|uid ∉ \{1000, 1337\}/);
    // Every uid but 1337 redirected, written with an explicit 1000 rule first: equal.
    const z = ruleset(table('nat', 'ipv4', { OUTPUT: [R([m.tcp(), m.uid(1000)], a.redirect(15001)), R([m.tcp(), m.uid(1337, true)], a.redirect(15001))] }));
    expect(eq(x, z).result).toBe('equal');
  });

  it('owner matches: names are ids of their own', () => {
    const x = ruleset(table('nat', 'ipv4', { OUTPUT: [R([m.uid('envoy')], a.ret), R([m.tcp()], a.redirect(15001))] }));
    const y = ruleset(table('nat', 'ipv4', { OUTPUT: [R([m.uid(1337)], a.ret), R([m.tcp()], a.redirect(15001))] }));
    const r = eq(x, y, { maxDifferences: 10 });
    confirmed(r, x, y);
    expect(new Set(r.differences.map((d) => d.packet.uid))).toEqual(new Set(['envoy', 1337]));
  });

  it("interface prefix matches ('eth+') and exact names are told apart", () => {
    const x = ruleset(table('filter', 'ipv4', { OUTPUT: [R([m.oif('eth+')], a.drop)] }));
    const y = ruleset(table('filter', 'ipv4', { OUTPUT: [R([m.oif('eth0')], a.drop)] }));
    const r = eq(x, y, { maxDifferences: 10 });
    const pkt = confirmed(r, x, y);
    expect(pkt.oif.startsWith('eth')).toBe(true);
    expect(pkt.oif).not.toBe('eth0');
    // 'eth' itself is matched by the prefix but not by the exact name 'eth0'; both are found.
    const exact = ruleset(table('filter', 'ipv4', { OUTPUT: [R([m.oif('eth')], a.drop)] }));
    const er = eq(x, exact, { maxDifferences: 10 });
    expect(confirmed(er, x, exact).oif.startsWith('eth')).toBe(true);
    expect(er.differences.every((d) => d.packet.oif !== 'eth')).toBe(true);
    // A prefix and a longer prefix inside it.
    const longer = ruleset(table('filter', 'ipv4', { OUTPUT: [R([m.oif('eth1+')], a.accept), R([m.oif('eth+')], a.drop)] }));
    const lr = eq(x, longer, { maxDifferences: 10 });
    expect(confirmed(lr, x, longer).oif.startsWith('eth1')).toBe(true);
    // Arriving packets: iif prefix.
    const ix = ruleset(table('mangle', 'ipv4', { PREROUTING: [R([m.iif('veth+')], a.drop)] }));
    const iy = ruleset(table('mangle', 'ipv4', { PREROUTING: [R([m.iif('veth0')], a.drop), R([m.iif('veth1')], a.drop)] }));
    const ir = eq(ix, iy);
    const ipkt = confirmed(ir, ix, iy);
    expect(ipkt.hook).toBe('prerouting');
    expect(ipkt.iif.startsWith('veth')).toBe(true);
    expect(['veth0', 'veth1']).not.toContain(ipkt.iif);
  });

  it('source ports and addresses are compared too', () => {
    const x = ruleset(table('filter', 'ipv4', { OUTPUT: [R([m.udp(), m.sport(15053), m.saddr(['127.0.0.0/8'])], a.drop)] }));
    const y = ruleset(table('filter', 'ipv4', { OUTPUT: [R([m.udp(), m.sport(15053), m.saddr(['127.0.0.0/9'])], a.drop)] }));
    const r = eq(x, y, { maxDifferences: 10 });
    const pkt = confirmed(r, x, y);
    expect(pkt).toMatchObject({ protocol: 'udp', sport: 15053 });
    expect(r.differences).toHaveLength(1);
    expect(r.differences[0].description).toContain('127.128.0.0/9');
  });

  it('nft multi-statement rules: a RETURN, or a jump to an empty chain, that sets a mark still sets it', () => {
    // Regression: the engine's residual simplification dropped trailing RETURNs and jumps to
    // empty chains with their statements, and said 'equal' here.
    const none = ruleset(table('mangle', 'inet', { OUTPUT: [R([m.udp()], a.accept)] }));
    const ret = ruleset(table('mangle', 'inet', { OUTPUT: [R([m.udp()], a.accept), { ...R([], a.ret), effects: [a.setMark(0x1)] }] }));
    const r = eq(ret, none);
    const pkt = confirmed(r, ret, none);
    expect(pkt.protocol).not.toBe('udp');
    expect(r.counterexample!.a.outcome.mark).toBe(1);
    const jump = ruleset(table('mangle', 'inet', { OUTPUT: [{ ...R([m.tcp()], a.jump('EMPTY')), effects: [a.setMark(0x1)] }, R([m.udp()], a.accept)], EMPTY: [] }));
    const j = eq(jump, none);
    expect(confirmed(j, jump, none).protocol).toBe('tcp');
    // Without the statement they are no-ops, and equal.
    expect(eq(ruleset(table('mangle', 'inet', { OUTPUT: [R([m.udp()], a.accept), R([], a.ret)] })), none).result).toBe('equal');
    expect(eq(ruleset(table('mangle', 'inet', { OUTPUT: [R([m.tcp()], a.jump('EMPTY')), R([m.udp()], a.accept)], EMPTY: [] })), none).result).toBe('equal');
  });

  it("'-o +' (a prefix that every name has) is decided", () => {
    // Regression: the engine looked forever for an interface name that starts no prefix.
    const any = ruleset(table('filter', 'ipv4', { OUTPUT: [R([m.oif('+')], a.drop)] }));
    const all = ruleset(table('filter', 'ipv4', { OUTPUT: [R([], a.drop)] }));
    expect(eq(any, all).result).toBe('equal');
    const eth = ruleset(table('filter', 'ipv4', { OUTPUT: [R([m.oif('eth+')], a.drop)] }));
    const r = eq(any, eth);
    expect(confirmed(r, any, eth).oif.startsWith('eth')).toBe(false);
  });

  it('inet tables: the family is a match like any other', () => {
    const v4only = ruleset(table('filter', 'inet', { OUTPUT: [R([{ kind: 'nfproto', neg: false, family: 'ipv4' }, m.tcp()], a.drop)] }));
    const split = ruleset(table('filter', 'ipv4', { OUTPUT: [R([m.tcp()], a.drop)] }));
    expect(eq(v4only, split).result).toBe('equal');
    const both = ruleset(table('filter', 'inet', { OUTPUT: [R([m.tcp()], a.drop)] }));
    const r = eq(both, split, { maxDifferences: 10 });
    expect(confirmed(r, both, split).family).toBe('ipv6');
    expect(r.differences.every((d) => d.packet.family === 'ipv6')).toBe(true);
  });

  it('maxDifferences bounds the list; 1 is just a counterexample', () => {
    const x = ruleset(sidecar('ipv4', [1, 3, 5, 7, 9]));
    const y = ruleset(sidecar('ipv4', []));
    expect(eq(x, y, { maxDifferences: 1 }).differences).toHaveLength(1);
    expect(eq(x, y, { maxDifferences: 3 }).differences).toHaveLength(3);
    const all = eq(x, y, { maxDifferences: 100 });
    expect(all.differences.map((d) => d.packet.dport).sort((p, q) => p - q)).toEqual([1, 3, 5, 7, 9]);
  });
});

// ---- soundness on random rule sets ------------------------------------------------------------

const PORTS: [number, number][][] = [[[53, 53]], [[80, 80]], [[443, 443]], [[3306, 3306]], [[8000, 8100]], [[15001, 15001]], [[80, 80], [443, 443]], [[1, 1024]]];
const CIDRS: string[][] = [['10.0.0.0/8'], ['10.1.0.0/16'], ['10.1.2.3/32'], ['192.168.0.0/16'], ['0.0.0.0/0'], ['127.0.0.1/32'], ['10.0.0.0/8', '192.168.0.0/16'], ['fd00::/8']];
const OWNERS = [0, 1000, 1337];
const IFACES = ['eth0', 'eth+', 'lo', 'veth+', 'veth1'];
const MARKS: [number, number][] = [[1, ALL], [2, ALL], [1337, ALL], [0x1, 0x1], [0x2, 0x3], [0x4, 0x4]];
const STATES: CtState[][] = [['new'], ['established', 'related'], ['invalid'], ['new', 'established']];

const arbMatch: fc.Arbitrary<Match> = fc.oneof(
  fc.record({ kind: fc.constant('protocol' as const), neg: fc.boolean(), protocol: fc.constantFrom('tcp' as const, 'udp' as const, 'icmp' as const) }),
  fc.record({ kind: fc.constantFrom('dport' as const, 'sport' as const), neg: fc.boolean(), ranges: fc.constantFrom(...PORTS) }),
  fc.record({ kind: fc.constantFrom('daddr' as const, 'saddr' as const), neg: fc.boolean(), cidrs: fc.constantFrom(...CIDRS).map((cs) => cs.map(cidrOf)) }),
  fc.record({ kind: fc.constantFrom('uid' as const, 'gid' as const), neg: fc.boolean(), id: fc.constantFrom(...OWNERS) }),
  fc.record({ kind: fc.constantFrom('oif' as const, 'iif' as const), neg: fc.boolean(), name: fc.constantFrom(...IFACES) }).map((x) => m[x.kind](x.name, x.neg)),
  // Partial masks are rarer: with any of them, a full-mask mark-set makes the engine give up ('undecided').
  fc.record({ neg: fc.boolean(), mv: fc.oneof({ weight: 3, arbitrary: fc.constantFrom(...MARKS.slice(0, 3)) }, { weight: 1, arbitrary: fc.constantFrom(...MARKS.slice(3)) }) }).map(({ neg, mv }) => m.mark(mv[0], mv[1], neg)),
  fc.record({ neg: fc.boolean(), states: fc.constantFrom(...STATES) }).map(({ neg, states }) => m.ctstate(states, neg)),
);

/** An action for a rule in chain `i` of `n` (jumps only forward: no loops). */
const arbAction = (i: number, n: number): fc.Arbitrary<Action> => {
  const xs: fc.Arbitrary<Action>[] = [
    fc.constant(a.accept),
    fc.constant(a.drop),
    fc.constant(a.ret),
    fc.constantFrom(15001, 15006).map(a.redirect),
    fc.constantFrom(...MARKS).map(([v, mask]) => a.setMark(v, mask)),
  ];
  if (i + 1 < n) xs.push(fc.integer({ min: i + 1, max: n - 1 }).map((j) => a.jump(`C${j}`)));
  return fc.oneof(...xs);
};

interface Shape {
  tables: { name: 'nat' | 'mangle' | 'filter'; family: 'ipv4' | 'ipv6' | 'inet'; hook: 'OUTPUT' | 'PREROUTING'; chains: Rule[][] }[];
}

/** Non-terminal statements an nft rule may carry before its verdict. */
const arbEffects: fc.Arbitrary<Action[]> = fc.oneof(
  { weight: 5, arbitrary: fc.constant<Action[]>([]) },
  { weight: 1, arbitrary: fc.array(fc.oneof(fc.constantFrom(...MARKS).map(([v, mask]) => a.setMark(v, mask)), fc.constant<Action>({ kind: 'counter' })), { minLength: 1, maxLength: 2 }) },
);

const arbRule = (i: number, n: number, family: string): fc.Arbitrary<Rule> =>
  fc
    .record({
      matches: fc.array(family === 'inet' ? fc.oneof({ weight: 4, arbitrary: arbMatch }, { weight: 1, arbitrary: fc.record({ kind: fc.constant('nfproto' as const), neg: fc.boolean(), family: fc.constantFrom('ipv4' as const, 'ipv6' as const) }) }) : arbMatch, { maxLength: 3 }),
      effects: arbEffects,
      action: arbAction(i, n),
    })
    .map((r) => (r.effects.length ? { ...R(r.matches, r.action), effects: r.effects } : R(r.matches, r.action)));

const arbTable = fc
  .record({
    name: fc.constantFrom('nat' as const, 'mangle' as const, 'filter' as const),
    family: fc.constantFrom('ipv4' as const, 'ipv4' as const, 'ipv6' as const, 'inet' as const),
    hook: fc.constantFrom('OUTPUT' as const, 'PREROUTING' as const),
    n: fc.integer({ min: 1, max: 3 }),
  })
  .chain(({ name, family, hook, n }) =>
    fc.tuple(...Array.from({ length: n }, (_, i) => fc.array(arbRule(i, n, family), { minLength: i === 0 ? 1 : 0, maxLength: 4 }))).map((chains) => ({ name, family, hook, chains })),
  );

const arbShape: fc.Arbitrary<Shape> = fc
  .array(arbTable, { minLength: 1, maxLength: 2 })
  .map((tables) => ({ tables: tables.filter((t, i) => tables.findIndex((u) => u.name === t.name && u.family === t.family && u.hook === t.hook) === i) }))
  // 1-8 rules in all.
  .filter((s) => {
    const n = s.tables.reduce((k, t) => k + t.chains.reduce((j, c) => j + c.length, 0), 0);
    return n >= 1 && n <= 8;
  });

function build(s: Shape): RuleSet {
  // User chains are named per base chain (C1_OUTPUT), so two base chains of one table
  // keep theirs apart.
  const byName = new Map<string, Record<string, Rule[]>>();
  for (const t of s.tables) {
    const key = `${t.family}/${t.name}`;
    const chains = byName.get(key) ?? {};
    byName.set(key, chains);
    t.chains.forEach((rules, i) => {
      chains[i === 0 ? t.hook : `C${i}_${t.hook}`] = rules.map((r) => (r.action.kind === 'jump' ? { ...r, action: a.jump(`${r.action.chain}_${t.hook}`) } : r));
    });
  }
  return ruleset(
    ...[...byName.entries()].map(([key, chains]) => {
      const [family, name] = key.split('/');
      return table(name as 'nat', family as Family, chains);
    }),
  );
}

type Mutation = { op: 'same' | 'drop' | 'swap' | 'negate' | 'action' | 'port' | 'cidr' | 'insert' | 'effects' | 'other'; at: number; pick: number };
const arbMutation: fc.Arbitrary<Mutation> = fc.record({
  op: fc.constantFrom('same' as const, 'drop' as const, 'swap' as const, 'negate' as const, 'action' as const, 'port' as const, 'cidr' as const, 'insert' as const, 'effects' as const, 'other' as const),
  at: fc.nat(),
  pick: fc.nat(),
});

/** A small change to one rule set (or, for 'other', an unrelated one). */
function mutate(s: Shape, mu: Mutation, other: Shape): Shape {
  if (mu.op === 'other') return other;
  const t = clone(s);
  const chains = t.tables.flatMap((x) => x.chains);
  const all = chains.flatMap((c, ci) => c.map((_, ri) => [ci, ri] as const));
  if (!all.length || mu.op === 'same') return t;
  const [ci, ri] = all[mu.at % all.length];
  const c = chains[ci];
  const rule = c[ri];
  switch (mu.op) {
    case 'drop':
      c.splice(ri, 1);
      break;
    case 'swap':
      if (ri + 1 < c.length) [c[ri], c[ri + 1]] = [c[ri + 1], c[ri]];
      break;
    case 'negate': {
      const mt = rule.matches[mu.pick % Math.max(1, rule.matches.length)];
      if (mt && 'neg' in mt) mt.neg = !mt.neg;
      break;
    }
    case 'action': {
      const xs: Action[] = [a.accept, a.drop, a.ret, a.redirect(15001), a.setMark(1)];
      rule.action = xs[mu.pick % xs.length];
      break;
    }
    case 'port': {
      const mt = rule.matches.find((x) => x.kind === 'dport' || x.kind === 'sport');
      if (mt && (mt.kind === 'dport' || mt.kind === 'sport')) mt.ranges = mt.ranges.map(([lo, hi]) => [lo, Math.min(65535, hi + 1)]);
      else rule.matches.push(m.dport(PORTS[mu.pick % PORTS.length]));
      break;
    }
    case 'cidr': {
      const mt = rule.matches.find((x) => x.kind === 'daddr' || x.kind === 'saddr');
      if (mt && (mt.kind === 'daddr' || mt.kind === 'saddr')) mt.cidrs = CIDRS[mu.pick % CIDRS.length].map(cidrOf);
      else rule.matches.push(m.daddr(CIDRS[mu.pick % CIDRS.length]));
      break;
    }
    case 'effects':
      if (rule.effects?.length) delete rule.effects;
      else rule.effects = [a.setMark(MARKS[mu.pick % MARKS.length][0])];
      break;
    case 'insert':
      c.splice(ri, 0, R([m.tcp(), m.dport(PORTS[mu.pick % PORTS.length])], [a.ret, a.accept, a.drop][mu.pick % 3]));
      break;
  }
  return t;
}

/** Runs of the property (MESHCAP_FUZZ_RUNS=5000 for a longer hunt). */
const RUNS = Number(process.env.MESHCAP_FUZZ_RUNS ?? 100);

describe('equivalent(): soundness on random rule sets', () => {
  it("'equal' is never contradicted by a 1500-packet battery; 'different' is confirmed by the simulator", () => {
    const seen = { equal: 0, different: 0, undecided: 0 };
    fc.assert(
      fc.property(arbShape, arbShape, arbMutation, (s, other, mu) => {
        const x = build(s);
        const y = build(mutate(s, mu, other));
        const r = eq(x, y, { maxDifferences: 5 });
        seen[r.result]++;
        if (r.result === 'undecided') {
          expect(r.reason).toBeTruthy();
          return;
        }
        if (r.result === 'different') {
          const c = r.counterexample!;
          expect(sameOutcome(simulate(x, c.packet).outcome, simulate(y, c.packet).outcome)).toBe(false);
          // Every listed class is a real difference at its packet.
          for (const d of r.differences) expect(sameOutcome(simulate(x, d.packet).outcome, simulate(y, d.packet).outcome), d.description).toBe(false);
          return;
        }
        const packets = battery([x, y], { size: 1500, seed: 7 });
        const cmp = compareOn(x, y, packets, 1);
        expect(cmp.differences.map((d) => JSON.stringify(d.packet)), 'the engine said equal').toEqual([]);
      }),
      { numRuns: RUNS, endOnFailure: true },
    );
    // The generator reaches both verdicts often enough for the property to mean something.
    expect(seen.equal).toBeGreaterThan(RUNS / 10);
    expect(seen.different).toBeGreaterThan(RUNS / 10);
  }, Math.max(60_000, RUNS * 300));
});
