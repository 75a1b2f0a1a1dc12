// The facts (docs/facts.md) that take packets the kernel cannot produce out of the
// proof's search space, the realistic members of reported classes, the counts that do not
// stop at --max, and the rule each side's outcome was decided by. Each property is shown on
// a pair of rule sets that differs only where the fact applies (equal) and on one that
// differs just beside it (still different), so the facts cannot hide real differences.
import { describe, expect, it } from 'vitest';
import type { Action, Family, Hook, IrCidr, Match, Rule, RuleSet, Table } from '../../src/ir/types.js';
import { iptablesBase } from '../../src/ir/types.js';
import { parseAddress } from '../../src/net/ip.js';
import { simulate } from '../../src/sim/simulate.js';
import { sameOutcome } from '../../src/verify/compare.js';
import { equivalent, type EquivResult } from '../../src/verify/engine.js';
import { allowed, intersect, realistic } from '../../src/verify/facts.js';
import { rulesSide } from '../../src/verify/side.js';

const span = (line: number) => ({ file: 'x.rules', start: { line, col: 1, offset: 0 }, end: { line, col: 2, offset: 1 } });
const R = (matches: Match[], action: Action, line = 0): Rule => ({ matches, action, origin: { span: line ? span(line) : null, purpose: 'test' } });
const cidr = (text: string): IrCidr => {
  const [addr, prefix] = text.split('/');
  const family: Family = addr.includes(':') ? 'ipv6' : 'ipv4';
  return { family, addr, prefix: prefix === undefined ? (family === 'ipv4' ? 32 : 128) : Number(prefix) };
};
const m = {
  tcp: (): Match => ({ kind: 'protocol', neg: false, protocol: 'tcp' }),
  udp: (): Match => ({ kind: 'protocol', neg: false, protocol: 'udp' }),
  dport: (lo: number, hi = lo): Match => ({ kind: 'dport', neg: false, ranges: [[lo, hi]] }),
  sport: (lo: number, hi = lo): Match => ({ kind: 'sport', neg: false, ranges: [[lo, hi]] }),
  daddr: (c: string, neg = false): Match => ({ kind: 'daddr', neg, cidrs: [cidr(c)] }),
  saddr: (c: string, neg = false): Match => ({ kind: 'saddr', neg, cidrs: [cidr(c)] }),
  oif: (name: string, neg = false): Match => ({ kind: 'oif', neg, name, prefix: false }),
  iif: (name: string, neg = false): Match => ({ kind: 'iif', neg, name, prefix: false }),
  uid: (id: number, neg = false): Match => ({ kind: 'uid', neg, id }),
};
const redirect = (port: number): Action => ({ kind: 'redirect', port });
const ret: Action = { kind: 'return' };
function table(name: 'nat' | 'filter', family: Family, chains: Record<string, Rule[]>): Table {
  return { family, name, chains: Object.entries(chains).map(([c, rules]) => ({ name: c, base: iptablesBase(name, c.toLowerCase() as Hook), rules })) };
}
const rs = (...tables: Table[]): RuleSet => ({ name: 't', tables, routing: { loopbackAddresses: [] } });
const eq = (x: RuleSet, y: RuleSet, max = 1, count?: number): EquivResult => equivalent(rulesSide('A', x), rulesSide('B', y), { maxDifferences: max, count });
const empty = (f: Family = 'ipv4') => rs(table('nat', f, { OUTPUT: [], PREROUTING: [] }));
const out = (f: Family, ...rules: Rule[]) => rs(table('nat', f, { OUTPUT: rules, PREROUTING: [] }));
const inb = (f: Family, ...rules: Rule[]) => rs(table('nat', f, { OUTPUT: [], PREROUTING: rules }));
const v = (s: string) => {
  const a = parseAddress(s);
  if (!a.ok) throw new Error(s);
  return a.value;
};

describe('facts: what the kernel cannot produce is not searched', () => {
  it('F2: port 0 is no port (a rule for port 0 alone changes nothing; port 1 does)', () => {
    expect(eq(empty(), out('ipv4', R([m.tcp(), m.dport(0)], redirect(15001)))).result).toBe('equal');
    expect(eq(empty(), out('ipv4', R([m.udp(), m.sport(0)], redirect(15001)))).result).toBe('equal');
    expect(eq(empty(), inb('ipv4', R([m.tcp(), m.dport(0)], redirect(15006)))).result).toBe('equal');
    const r = eq(empty(), out('ipv4', R([m.tcp(), m.dport(0, 1)], redirect(15001))));
    expect(r.result).toBe('different');
    expect(r.counterexample!.packet.dport).toBe(1);
  });

  it('F3: a packet to a loopback address leaves through lo (the same rule for lo is a difference)', () => {
    for (const [f, lo] of [['ipv4', '127.0.0.0/8'], ['ipv6', '::1/128']] as const) {
      expect(eq(empty(f), out(f, R([m.tcp(), m.daddr(lo), m.oif('lo', true)], redirect(15001)))).result, f).toBe('equal');
      const r = eq(empty(f), out(f, R([m.tcp(), m.daddr(lo), m.oif('lo')], redirect(15001))));
      expect(r.result, f).toBe('different');
      expect(r.counterexample!.packet.oif).toBe('lo');
      // Even when no rule names an interface, lo is explored apart: loopback destinations live there.
      const any = eq(empty(f), out(f, R([m.tcp(), m.daddr(lo)], redirect(15001))));
      expect(any.result, f).toBe('different');
      expect(any.counterexample!.packet.oif).toBe('lo');
    }
  });

  it('F4: IPv4 cannot send from 127.0.0.0/8 through another interface; IPv6 can send from ::1', () => {
    expect(eq(empty(), out('ipv4', R([m.tcp(), m.saddr('127.0.0.0/8'), m.oif('lo', true)], redirect(15001)))).result).toBe('equal');
    const v6 = eq(empty('ipv6'), out('ipv6', R([m.tcp(), m.saddr('::1/128'), m.oif('lo', true)], redirect(15001))));
    expect(v6.result).toBe('different');
    expect(v6.counterexample!.packet).toMatchObject({ src: '::1', oif: 'eth0' });
  });

  it('F5: arriving on eth0, IPv6 loopback and IPv4 loopback sources are not searched; IPv4 127.0.0.1 destinations are', () => {
    expect(eq(empty('ipv6'), inb('ipv6', R([m.tcp(), m.daddr('::1/128'), m.iif('lo', true)], redirect(15006)))).result).toBe('equal');
    expect(eq(empty('ipv6'), inb('ipv6', R([m.tcp(), m.saddr('::1/128'), m.iif('lo', true)], redirect(15006)))).result).toBe('equal');
    expect(eq(empty(), inb('ipv4', R([m.tcp(), m.saddr('127.0.0.0/8'), m.iif('lo', true)], redirect(15006)))).result).toBe('equal');
    // A redirect rewrites only the destination, so a 127.0.0.1 destination from eth0 can be delivered.
    const r = eq(empty(), inb('ipv4', R([m.tcp(), m.daddr('127.0.0.1'), m.iif('lo', true)], redirect(15006))));
    expect(r.result).toBe('different');
    expect(r.counterexample!.packet).toMatchObject({ dst: '127.0.0.1', iif: 'eth0' });
  });

  it('allowed() and intersect(): the domains, per hook and interface', () => {
    const p = { hook: 'output', family: 'ipv4', protocol: 'tcp', iif: '', oif: 'eth0' } as const;
    expect(allowed('daddr', { ...p } as never)).toEqual([[0n, v('126.255.255.255')], [v('128.0.0.0'), (1n << 32n) - 1n]]);
    expect(allowed('daddr', { ...p, oif: 'lo' } as never)).toBeUndefined();
    expect(allowed('dport', { ...p, protocol: 'icmp' } as never)).toBeUndefined();
    expect(allowed('sport', p as never)).toEqual([[1n, 65535n]]);
    expect(intersect([[0n, 10n], [20n, 30n]], [[5n, 25n]])).toEqual([[5n, 10n], [20n, 25n]]);
    expect(intersect([[0n, 10n]], [[11n, 12n]])).toEqual([]);
  });
});

describe('reported classes: realistic members, every class counted, the deciding rules', () => {
  it('realistic(): an ephemeral source port, a service port, the pod and a peer, a host of a network', () => {
    const o = { hook: 'output', family: 'ipv4' } as const;
    expect(realistic('sport', o, [[0n, 65535n]])).toBe(40000n);
    expect(realistic('sport', o, [[53n, 53n]])).toBe(53n);
    expect(realistic('dport', o, [[0n, 65535n]])).toBe(80n);
    expect(realistic('dport', o, [[0n, 79n]])).toBe(1n);
    expect(realistic('saddr', o, [[0n, (1n << 32n) - 1n]])).toBe(v('10.1.0.5'));
    expect(realistic('daddr', o, [[0n, (1n << 32n) - 1n]])).toBe(v('10.2.0.9'));
    expect(realistic('daddr', o, [[v('192.168.0.0'), v('192.168.0.255')]])).toBe(v('192.168.0.1'));
    expect(realistic('daddr', o, [[v('0.0.0.0'), v('9.255.255.255')]])).toBe(v('1.0.0.1'));
    expect(realistic('daddr', { ...o, oif: 'lo' }, [[0n, (1n << 32n) - 1n]])).toBe(v('10.1.0.5'));
    expect(realistic('daddr', { ...o, oif: 'lo' }, [[v('127.0.0.0'), v('127.255.255.255')]])).toBe(v('127.0.0.1'));
    expect(realistic('daddr', { hook: 'output', family: 'ipv6' }, [[0n, (1n << 128n) - 1n]])).toBe(v('fd00:2::9'));
  });

  it('the counterexample is a packet people send: eth0, uid 1000, port 40000 -> 80, routable addresses', () => {
    const x = out('ipv4', R([m.uid(1337)], ret), R([m.tcp()], redirect(15001)));
    const r = eq(x, empty());
    expect(r.result).toBe('different');
    expect(r.counterexample!.packet).toMatchObject({ protocol: 'tcp', src: '10.1.0.5', sport: 40000, dst: '10.2.0.9', dport: 80, uid: 1000, oif: 'eth0' });
  });

  it('total counts every differing class whatever maxDifferences shows', () => {
    const x = out('ipv4', ...[1, 3, 5, 7, 9].map((p) => R([m.tcp(), m.dport(p * 1000)], redirect(15001))));
    const all = eq(x, empty(), 100, 100);
    expect(all.totalExact).toBe(true);
    expect(all.differences).toHaveLength(all.total);
    const few = eq(x, empty(), 2, 100);
    expect(few.differences).toHaveLength(2);
    expect(few.total).toBe(all.total);
    expect(few.total).toBeGreaterThanOrEqual(5);
    // Counting stops at `count`, and says so.
    const capped = eq(x, empty(), 1, 2);
    expect(capped.totalExact).toBe(false);
    expect(capped.total).toBeLessThan(all.total);
  });

  it("each difference names the rule on each side that decided it, with its line; the members keep their class's outcomes", () => {
    const x = out('ipv4', R([m.tcp(), m.daddr('10.0.0.0/8')], ret, 3), R([m.tcp()], redirect(15001), 4));
    const y = out('ipv4', R([m.tcp()], redirect(15001), 7));
    const r = eq(x, y, 10);
    expect(r.result).toBe('different');
    expect(r.differences).toHaveLength(1);
    const d = r.differences[0];
    expect(d.description).toContain('10.0.0.0/8');
    expect(d.by!.a!.rule!.origin.span!.start.line).toBe(3);
    expect(d.by!.b!.rule!.origin.span!.start.line).toBe(7);
    expect(d.packet.dst).toBe('10.2.0.9');
    expect(sameOutcome(simulate(x, d.packet).outcome, d.a)).toBe(true);
    expect(sameOutcome(simulate(y, d.packet).outcome, d.b)).toBe(true);
    // No rule on one side: the chain policy of the table where the other side decided.
    const z = eq(x, empty(), 10).differences[0];
    expect(z.by!.b).toMatchObject({ table: 'nat', chain: 'OUTPUT', index: 0 });
  });
});
