// The simulator against the semantics of shared/docs/netfilter-facts.md §1, on small
// hand-built rule sets, and the packet forms trace takes (JSON and compact).
import { describe, expect, it } from 'vitest';
import type { Action, Chain, Hook, Match, Rule, RuleSet, Table, TableFamily } from '../../src/ir/types.js';
import { iptablesBase } from '../../src/ir/types.js';
import { normalizePacket, parseCompactPacket, type Packet } from '../../src/sim/packet.js';
import { baseChainsFor, simulate } from '../../src/sim/simulate.js';

// ---- builders ----------------------------------------------------------------------------
const R = (action: Action, ...matches: Match[]): Rule => ({ matches, action, origin: { span: null, purpose: 'test' } });
const base = (table: string, hook: Hook, rules: Rule[], policy: 'accept' | 'drop' = 'accept'): Chain => ({
  name: hook.toUpperCase(),
  base: { ...iptablesBase(table, hook), policy },
  rules,
});
const user = (name: string, rules: Rule[]): Chain => ({ name, rules });
const T = (name: string, chains: Chain[], family: TableFamily = 'ipv4'): Table => ({ family, name, chains });
const RS = (...tables: Table[]): RuleSet => ({ name: 'test', tables, routing: { loopbackAddresses: [] } });

const ACCEPT: Action = { kind: 'accept' };
const DROP: Action = { kind: 'drop' };
const RETURN: Action = { kind: 'return' };
const jump = (chain: string): Action => ({ kind: 'jump', chain });
const goto = (chain: string): Action => ({ kind: 'goto', chain });
const setMark = (value: number, mask = 0xffffffff): Action => ({ kind: 'mark-set', value, mask });
const log = (prefix: string): Action => ({ kind: 'log', prefix });
const tcp: Match = { kind: 'protocol', neg: false, protocol: 'tcp' };
const markIs = (value: number, neg = false): Match => ({ kind: 'mark', neg, value, mask: 0xffffffff });

function pkt(over: Partial<Packet> = {}): Packet {
  const hook = over.hook ?? 'output';
  return {
    hook,
    family: 'ipv4',
    protocol: 'tcp',
    src: '10.1.0.5',
    dst: '10.2.0.9',
    sport: 40000,
    dport: 9080,
    iif: hook === 'prerouting' ? 'eth0' : '',
    oif: hook === 'output' ? 'eth0' : '',
    ...(hook === 'output' ? { uid: 1000, gid: 1000 } : {}),
    mark: 0,
    ctmark: 0,
    ctstate: 'new',
    ...over,
  };
}
const v6 = (over: Partial<Packet> = {}) => pkt({ family: 'ipv6', src: 'fd00:1::5', dst: '2001:db8:1::9', ...over });

/** The effects along the path, as `table/chain#index effect`. */
const steps = (rs: RuleSet, p: Packet) => simulate(rs, p).path.map((s) => `${s.table}/${s.chain}#${s.index} ${s.effect}`);

// ---- §1.1 policies -------------------------------------------------------------------------
describe('base chain policy (facts §1.1)', () => {
  for (const policy of ['accept', 'drop'] as const) {
    it(`RETURN in a base chain applies the policy (${policy})`, () => {
      const rs = RS(T('filter', [base('filter', 'output', [R(RETURN), R(policy === 'accept' ? DROP : ACCEPT)], policy)]));
      const r = simulate(rs, pkt());
      expect(r.outcome.verdict).toBe(policy);
      expect(r.path.map((s) => s.effect)).toEqual(['return', `policy ${policy}`]);
    });

    it(`falling off the end of a base chain applies the policy (${policy})`, () => {
      const rs = RS(T('filter', [base('filter', 'output', [R(DROP, markIs(7)), R(ACCEPT, markIs(8))], policy)]));
      const r = simulate(rs, pkt());
      expect(r.outcome.verdict).toBe(policy);
      expect(r.path).toHaveLength(1);
      expect(r.path[0]).toMatchObject({ index: 0, effect: `policy ${policy}` });
    });

    it(`RETURN from a user chain goes back to the caller, not to the policy (${policy})`, () => {
      const other = policy === 'accept' ? DROP : ACCEPT;
      const rs = RS(T('filter', [base('filter', 'output', [R(jump('SUB')), R(other)], policy), user('SUB', [R(RETURN)])]));
      expect(simulate(rs, pkt()).outcome.verdict).toBe(other.kind);
    });
  }

  it('an empty user chain returns to the rule after the jump', () => {
    const rs = RS(T('filter', [base('filter', 'output', [R(jump('EMPTY')), R(DROP)]), user('EMPTY', [])]));
    expect(simulate(rs, pkt()).outcome.verdict).toBe('drop');
  });
});

// ---- §1.2 jump and goto --------------------------------------------------------------------
describe('jump and goto (facts §1.2)', () => {
  // OUTPUT -> A; A -(jump|goto)-> B; B returns. After a jump, RETURN resumes in A (mark |= 1);
  // after a goto, it resumes in OUTPUT (mark |= 0x10), skipping the rest of A.
  const build = (how: 'jump' | 'goto') =>
    RS(
      T('mangle', [
        base('mangle', 'output', [R(jump('A')), R(setMark(0x10, 0x10))]),
        user('A', [R(how === 'jump' ? jump('B') : goto('B')), R(setMark(0x1, 0x1))]),
        user('B', [R(setMark(0x100, 0x100)), R(RETURN), R(setMark(0x1000, 0x1000))]),
      ]),
    );

  it('jump pushes a return point: RETURN resumes after the jump', () => {
    const r = simulate(build('jump'), pkt());
    expect(r.outcome.mark).toBe(0x111);
    expect(r.path.map((s) => `${s.chain}#${s.index}`)).toEqual(['OUTPUT#1', 'A#1', 'B#1', 'B#2', 'A#2', 'OUTPUT#2', 'OUTPUT#0']);
  });

  it('goto does not: RETURN resumes in the chain that jumped to the goto-ing chain', () => {
    const r = simulate(build('goto'), pkt());
    expect(r.outcome.mark).toBe(0x110);
    expect(r.path.map((s) => `${s.chain}#${s.index}`)).toEqual(['OUTPUT#1', 'A#1', 'B#1', 'B#2', 'OUTPUT#2', 'OUTPUT#0']);
  });

  it('RETURN after a goto from the base chain applies the base policy', () => {
    const rs = RS(T('filter', [base('filter', 'output', [R(goto('B')), R(ACCEPT)], 'drop'), user('B', [R(RETURN)])]));
    const r = simulate(rs, pkt());
    expect(r.outcome.verdict).toBe('drop');
    // and so does falling off the end of the goto target
    const rs2 = RS(T('filter', [base('filter', 'output', [R(goto('B')), R(ACCEPT)], 'drop'), user('B', [])]));
    expect(simulate(rs2, pkt()).outcome.verdict).toBe('drop');
  });

  it('a jump to a chain missing from the table is an error, not a silent pass', () => {
    const rs = RS(T('filter', [base('filter', 'output', [R(jump('NOPE'))])]));
    expect(() => simulate(rs, pkt())).toThrow(/NOPE/);
  });

  it('a rule loop is detected', () => {
    const rs = RS(T('filter', [base('filter', 'output', [R(goto('L'))]), user('L', [R(goto('L'))])]));
    expect(() => simulate(rs, pkt())).toThrow(/loop/);
  });
});

// ---- §1.3 accept and drop ------------------------------------------------------------------
describe('accept and drop across base chains (facts §1.3)', () => {
  it('accept ends only the current base chain: a drop in a later chain of the hook still applies', () => {
    const rs = RS(T('mangle', [base('mangle', 'output', [R(ACCEPT), R(DROP)])]), T('filter', [base('filter', 'output', [R(DROP)])]));
    const r = simulate(rs, pkt());
    expect(r.outcome.verdict).toBe('drop');
    expect(steps(rs, pkt())).toEqual(['mangle/OUTPUT#1 accept', 'filter/OUTPUT#1 drop']);
  });

  it('accept in OUTPUT does not skip POSTROUTING', () => {
    const rs = RS(T('mangle', [base('mangle', 'output', [R(ACCEPT)]), base('mangle', 'postrouting', [R(setMark(5))])]));
    const r = simulate(rs, pkt());
    expect(r.outcome).toMatchObject({ verdict: 'accept', mark: 5 });
  });

  it('drop is final: no later chain of the hook or of the next hook runs', () => {
    const rs = RS(
      T('raw', [base('raw', 'output', [R(DROP), R(setMark(1))])]),
      T('mangle', [base('mangle', 'output', [R(setMark(2))]), base('mangle', 'postrouting', [R(setMark(3))])]),
    );
    const r = simulate(rs, pkt());
    expect(r.outcome.verdict).toBe('drop');
    expect(r.outcome.mark).toBe(0);
    expect(r.path.map((s) => `${s.table}/${s.chain}`)).toEqual(['raw/OUTPUT']);
  });

  it('a drop policy of a later chain drops what an earlier chain accepted', () => {
    const rs = RS(T('mangle', [base('mangle', 'prerouting', [R(ACCEPT)])]), T('filter', [base('filter', 'input', [], 'drop')]));
    expect(simulate(rs, pkt({ hook: 'prerouting' })).outcome.verdict).toBe('drop');
  });
});

// ---- §1.4 nat sees only new connections ----------------------------------------------------
describe('nat chains see only the first packet of a connection (facts §1.4)', () => {
  const rs = RS(
    T('nat', [base('nat', 'output', [R({ kind: 'redirect', port: 15001 }, tcp)])]),
    T('mangle', [base('mangle', 'output', [R(setMark(9))])]),
  );
  it('a new connection is redirected', () => {
    expect(simulate(rs, pkt({ ctstate: 'new' })).outcome.redirect).toEqual({ port: 15001 });
  });
  for (const ctstate of ['established', 'related', 'invalid', 'untracked'] as const) {
    it(`a ${ctstate} packet skips nat but not mangle`, () => {
      const r = simulate(rs, pkt({ ctstate }));
      expect(r.outcome.redirect).toBeNull();
      expect(r.outcome.mark).toBe(9);
      expect(r.path.every((s) => s.table !== 'nat')).toBe(true);
    });
  }
});

describe('a packet the pod sent to itself meets nat once (kernel oracle)', () => {
  const rs = RS(
    T('nat', [base('nat', 'prerouting', [R({ kind: 'redirect', port: 15006 }, tcp)])]),
    T('mangle', [base('mangle', 'prerouting', [R(setMark(7))])]),
  );
  const looped = pkt({ hook: 'prerouting', iif: 'lo', src: '10.1.0.5', dst: '10.1.0.5', looped: true });
  it('coming back in through lo it skips nat PREROUTING but not mangle', () => {
    const r = simulate(rs, looped);
    expect(r.outcome.redirect).toBeNull();
    expect(r.outcome.mark).toBe(7);
  });
  it('the same packet arriving from outside is redirected', () => {
    expect(simulate(rs, { ...looped, looped: undefined, iif: 'eth0' }).outcome.redirect).toEqual({ port: 15006 });
  });
  it('trace packets take looped, on prerouting only', () => {
    expect(normalizePacket({ hook: 'prerouting', src: '10.1.0.5', dst: '10.1.0.5', dport: 80, iif: 'lo', looped: true }).packet?.looped).toBe(true);
    expect(normalizePacket({ hook: 'output', src: '10.1.0.5', dst: '10.1.0.5', dport: 80, looped: true }).problems.map((p) => p.path)).toEqual(['$.looped']);
    expect(normalizePacket({ hook: 'prerouting', src: '10.1.0.5', dst: '10.1.0.5', dport: 80, looped: 'yes' }).problems.map((p) => p.path)).toEqual(['$.looped']);
  });
});

// ---- §1.5 / §1.6 REDIRECT and TPROXY outcomes ----------------------------------------------
describe('REDIRECT and TPROXY (facts §1.5, §1.6)', () => {
  it('REDIRECT records the port, accepts and ends the chain', () => {
    const rs = RS(T('nat', [base('nat', 'output', [R({ kind: 'redirect', port: 15001 }, tcp), R(DROP)], 'drop')]));
    const r = simulate(rs, pkt());
    expect(r.outcome).toMatchObject({ verdict: 'accept', redirect: { port: 15001 }, tproxy: null });
    expect(r.path.map((s) => s.effect)).toEqual(['redirect to port 15001']);
    // a UDP packet does not match the tcp rule and reaches the DROP
    expect(simulate(rs, pkt({ protocol: 'udp' })).outcome).toMatchObject({ verdict: 'drop', redirect: null });
  });

  it('REDIRECT in a user chain reached by a jump', () => {
    const rs = RS(T('nat', [base('nat', 'prerouting', [R(jump('IN'), tcp)]), user('IN', [R({ kind: 'redirect', port: 15006 }, tcp)])]));
    expect(simulate(rs, pkt({ hook: 'prerouting', dport: 8080 })).outcome.redirect).toEqual({ port: 15006 });
  });

  it('TPROXY records the port and sets the mark (value under the mask)', () => {
    const rs = RS(T('mangle', [base('mangle', 'prerouting', [R({ kind: 'tproxy', port: 15006, mark: 0x539, mask: 0xffffffff }, tcp), R(setMark(1))])]));
    const r = simulate(rs, pkt({ hook: 'prerouting', mark: 0xabc00000 }));
    expect(r.outcome).toMatchObject({ verdict: 'accept', redirect: null, tproxy: { port: 15006, mark: 0x539 }, mark: 0x539 });
    // a partial mask keeps the other bits
    const rs2 = RS(T('mangle', [base('mangle', 'prerouting', [R({ kind: 'tproxy', port: 15006, mark: 0x39, mask: 0xff }, tcp)])]));
    const r2 = simulate(rs2, pkt({ hook: 'prerouting', mark: 0x12ff }));
    expect(r2.outcome.tproxy).toEqual({ port: 15006, mark: 0x1239 });
    expect(r2.outcome.mark).toBe(0x1239);
  });

  it('the TPROXY mark is visible to later chains of the path', () => {
    const rs = RS(
      T('mangle', [base('mangle', 'prerouting', [R({ kind: 'tproxy', port: 15006, mark: 0x539, mask: 0xffffffff }, tcp)])]),
      T('filter', [base('filter', 'input', [R(DROP, markIs(0x539, true))])]),
    );
    expect(simulate(rs, pkt({ hook: 'prerouting' })).outcome.verdict).toBe('accept');
  });
});

// ---- marks and connmarks -------------------------------------------------------------------
describe('marks (xmark) and connmarks flow between chains', () => {
  it('mark-set is mark = (mark & ~mask) ^ value', () => {
    const one = (mark: number, value: number, mask: number) =>
      simulate(RS(T('mangle', [base('mangle', 'output', [R(setMark(value, mask))])])), pkt({ mark })).outcome.mark;
    expect(one(0xf0, 0x0f, 0xff)).toBe(0x0f); // --set-mark 0xf/0xff
    expect(one(0xf0, 0x0f, 0x0f)).toBe(0xff); // only the masked bits change
    expect(one(0xf0, 0x01, 0)).toBe(0xf1); // --xor-mark
    expect(one(0xf1, 0x01, 0)).toBe(0xf0);
    expect(one(0xf0, 0, 0x30)).toBe(0xc0); // --and-mark ~0x30
    expect(one(0, 0x80000000, 0xffffffff)).toBe(0x80000000); // unsigned
  });

  it('a mark set in mangle is matched in a later nat chain and in POSTROUTING', () => {
    const rs = RS(
      T('mangle', [base('mangle', 'output', [R(setMark(0x539))]), base('mangle', 'postrouting', [R(setMark(0x1, 0x1), markIs(0x539))])]),
      T('nat', [base('nat', 'output', [R({ kind: 'redirect', port: 15001 }, tcp, markIs(0x539))])]),
    );
    const r = simulate(rs, pkt());
    expect(r.outcome.redirect).toEqual({ port: 15001 });
    expect(r.outcome.mark).toBe(0x539 | 1);
  });

  it('connmark save and restore carry the mark through the connection', () => {
    const rs = RS(
      T('mangle', [
        base('mangle', 'prerouting', [
          R(setMark(0x7)),
          R({ kind: 'connmark-save', nfmask: 0xffffffff, ctmask: 0xffffffff }),
          R(setMark(0)), // clear the packet mark
        ]),
      ]),
      T('filter', [
        base('filter', 'input', [
          R({ kind: 'connmark-restore', nfmask: 0xffffffff, ctmask: 0xffffffff }, { kind: 'connmark', neg: false, value: 0x7, mask: 0xffffffff }),
          R(setMark(0x100, 0x100), markIs(0x7)),
        ]),
      ]),
    );
    const r = simulate(rs, pkt({ hook: 'prerouting' }));
    expect(r.outcome.mark).toBe(0x107);
    expect(r.path.map((s) => s.effect)).toContain('restore mark from connection');
  });

  it('connmark masks: save ctmark = (ctmark & ~ctmask) | (mark & nfmask), restore mark = (mark & ~nfmask) | (ctmark & ctmask)', () => {
    const rs = RS(
      T('mangle', [
        base('mangle', 'output', [R({ kind: 'connmark-save', nfmask: 0x0f, ctmask: 0xff })]),
        base('mangle', 'postrouting', [R(setMark(0x10000, 0x10000), { kind: 'connmark', neg: false, value: 0xa03, mask: 0xffffffff })]),
      ]),
    );
    // ctmark 0xaff -> (0xaff & ~0xff) | (0x33 & 0x0f) = 0xa03; the postrouting rule sees it.
    expect(simulate(rs, pkt({ mark: 0x33, ctmark: 0xaff })).outcome.mark).toBe(0x10033);
    const restore = RS(T('mangle', [base('mangle', 'output', [R({ kind: 'connmark-restore', nfmask: 0xf0, ctmask: 0x30 })])]));
    // mark 0xff, ctmark 0x12 -> (0xff & ~0xf0) | (0x12 & 0x30) = 0x0f | 0x10 = 0x1f
    expect(simulate(restore, pkt({ mark: 0xff, ctmark: 0x12 })).outcome.mark).toBe(0x1f);
  });
});

// ---- CT zones ------------------------------------------------------------------------------
describe('conntrack zones', () => {
  it('the first CT zone wins, also across chains', () => {
    const rs = RS(
      T('raw', [base('raw', 'output', [R(jump('Z')), R({ kind: 'ct-zone', zone: 3 })]), user('Z', [R({ kind: 'ct-zone', zone: 1 }), R({ kind: 'ct-zone', zone: 2 })])]),
    );
    const r = simulate(rs, pkt({ protocol: 'udp', dport: 53 }));
    expect(r.outcome.ctZone).toBe(1);
    expect(r.path.filter((s) => s.effect.includes('ignored'))).toHaveLength(2);
  });

  it('no CT rule: no zone', () => {
    expect(simulate(RS(T('raw', [base('raw', 'output', [R(log('x'))])])), pkt()).outcome.ctZone).toBeNull();
  });
});

// ---- §1.7 owner matches ---------------------------------------------------------------------
describe('owner matches (facts §1.7, xt_owner)', () => {
  const ownerRs = (hook: Hook, neg: boolean) => RS(T('mangle', [base('mangle', hook, [R(setMark(1), { kind: 'uid', neg, id: 1337 })])]));

  it('on OUTPUT the socket owner is matched', () => {
    expect(simulate(ownerRs('output', false), pkt({ uid: 1337 })).outcome.mark).toBe(1);
    expect(simulate(ownerRs('output', false), pkt({ uid: 1000 })).outcome.mark).toBe(0);
    expect(simulate(ownerRs('output', true), pkt({ uid: 1000 })).outcome.mark).toBe(1);
    expect(simulate(ownerRs('output', true), pkt({ uid: 1337 })).outcome.mark).toBe(0);
  });

  it('a packet without a socket (prerouting) matches only negated owner matches', () => {
    expect(simulate(ownerRs('prerouting', false), pkt({ hook: 'prerouting' })).outcome.mark).toBe(0);
    expect(simulate(ownerRs('prerouting', true), pkt({ hook: 'prerouting' })).outcome.mark).toBe(1);
    // even when the packet object carries a uid, PREROUTING has no socket
    expect(simulate(ownerRs('prerouting', false), pkt({ hook: 'prerouting', uid: 1337 })).outcome.mark).toBe(0);
    expect(simulate(ownerRs('prerouting', true), pkt({ hook: 'prerouting', uid: 1337 })).outcome.mark).toBe(1);
  });

  it('gid matches follow the same rule', () => {
    const rs = (neg: boolean) => RS(T('mangle', [base('mangle', 'input', [R(setMark(1), { kind: 'gid', neg, id: 1337 })])]));
    expect(simulate(rs(false), pkt({ hook: 'prerouting' })).outcome.mark).toBe(0);
    expect(simulate(rs(true), pkt({ hook: 'prerouting' })).outcome.mark).toBe(1);
  });

  it('owner names match names only', () => {
    const rs = RS(T('mangle', [base('mangle', 'output', [R(setMark(1), { kind: 'uid', neg: false, id: 'envoy' })])]));
    expect(simulate(rs, pkt({ uid: 'envoy' })).outcome.mark).toBe(1);
    expect(simulate(rs, pkt({ uid: 1337 })).outcome.mark).toBe(0);
  });
});

// ---- interfaces ----------------------------------------------------------------------------
describe('interface matches (facts §1.8)', () => {
  it('-o matches on output, -i on prerouting, prefixes with +', () => {
    const rs = RS(
      T('mangle', [
        base('mangle', 'output', [R(setMark(1), { kind: 'oif', neg: false, name: 'eth', prefix: true })]),
        base('mangle', 'prerouting', [R(setMark(2), { kind: 'iif', neg: false, name: 'lo', prefix: false })]),
      ]),
    );
    expect(simulate(rs, pkt({ oif: 'eth1' })).outcome.mark).toBe(1);
    expect(simulate(rs, pkt({ oif: 'lo' })).outcome.mark).toBe(0);
    expect(simulate(rs, pkt({ hook: 'prerouting', iif: 'lo' })).outcome.mark).toBe(2);
    expect(simulate(rs, pkt({ hook: 'prerouting', iif: 'lo0' })).outcome.mark).toBe(0);
  });
});

// ---- §1.10 priorities and families ---------------------------------------------------------
describe('base chain order and families (facts §1.10)', () => {
  // Tables listed out of order: the kernel runs raw, mangle, nat, filter.
  const rs = RS(
    T('filter', [base('filter', 'output', [R(log('filter'))])]),
    T('nat', [base('nat', 'output', [R(log('nat'))]), base('nat', 'postrouting', [R(log('nat-post'))])]),
    T('mangle', [base('mangle', 'output', [R(log('mangle'))]), base('mangle', 'postrouting', [R(log('mangle-post'))])]),
    T('raw', [base('raw', 'output', [R(log('raw'))])]),
  );

  it('base chains of one hook run by priority across tables, then the next hook', () => {
    expect(simulate(rs, pkt()).path.filter((s) => s.index > 0).map((s) => s.effect)).toEqual([
      "log 'raw'",
      "log 'mangle'",
      "log 'nat'",
      "log 'filter'",
      "log 'mangle-post'",
      "log 'nat-post'",
    ]);
  });

  it('baseChainsFor sorts by priority, keeping table order for equal priorities', () => {
    const custom = RS(
      T('b', [{ name: 'late', base: { hook: 'output', priority: 10, type: 'filter', policy: 'accept' }, rules: [] }], 'inet'),
      T('a', [{ name: 'early', base: { hook: 'output', priority: -10, type: 'filter', policy: 'accept' }, rules: [] }], 'inet'),
      T('c', [{ name: 'same1', base: { hook: 'output', priority: 0, type: 'filter', policy: 'accept' }, rules: [] }]),
      T('d', [{ name: 'same2', base: { hook: 'output', priority: 0, type: 'filter', policy: 'accept' }, rules: [] }]),
    );
    expect(baseChainsFor(custom, 'ipv4', 'output').map((x) => x.chain.name)).toEqual(['early', 'same1', 'same2', 'late']);
    expect(baseChainsFor(custom, 'ipv6', 'output').map((x) => x.chain.name)).toEqual(['early', 'late']);
  });

  it('a packet sees only the tables of its family (and inet ones)', () => {
    const mixed = RS(
      T('filter', [base('filter', 'output', [R(DROP)])], 'ipv6'),
      T('mangle', [base('mangle', 'output', [R(setMark(4))])], 'ipv4'),
      T('meshcap', [{ name: 'out', base: { hook: 'output', priority: 0, type: 'filter', policy: 'accept' }, rules: [R(setMark(0x10, 0x10))] }], 'inet'),
    );
    expect(simulate(mixed, pkt()).outcome).toMatchObject({ verdict: 'accept', mark: 0x14 });
    expect(simulate(mixed, v6()).outcome).toMatchObject({ verdict: 'drop' });
    expect(simulate(mixed, v6()).path.map((s) => s.table)).not.toContain('mangle');
  });

  it('an address match of the other family never matches', () => {
    const rs2 = RS(T('filter', [base('filter', 'output', [R(DROP, { kind: 'daddr', neg: false, cidrs: [{ family: 'ipv4', addr: '0.0.0.0', prefix: 0 }] })])], 'inet'));
    expect(simulate(rs2, pkt()).outcome.verdict).toBe('drop');
    expect(simulate(rs2, v6()).outcome.verdict).toBe('accept');
  });

  it('a long chain of non-terminal rules is no loop (150,000 MARK rules, then the verdict)', () => {
    const marks = Array.from({ length: 150_000 }, (_, i): Rule => ({ matches: [], action: { kind: 'mark-set', value: i % 7, mask: 0xffffffff }, origin: { span: null, purpose: 'test' } }));
    const r = simulate(RS(T('mangle', [base('mangle', 'output', [...marks, R(DROP)])])), pkt(), undefined, false);
    expect(r.outcome.verdict).toBe('drop');
    expect(r.outcome.mark).toBe(149_999 % 7);
  });

  it('a hook with no base chain passes the packet unchanged', () => {
    const r = simulate(RS(T('nat', [base('nat', 'output', [R(DROP)])])), pkt({ hook: 'prerouting', mark: 3 }));
    expect(r.outcome).toEqual({ verdict: 'accept', redirect: null, tproxy: null, mark: 3, ctmark: 0, ctZone: null });
    expect(r.path).toEqual([]);
  });
});

// ---- ports and protocols -------------------------------------------------------------------
describe('port matches', () => {
  const all: [number, number][] = [[0, 65535]];
  it('never match icmp, positive or negated', () => {
    for (const kind of ['dport', 'sport'] as const) {
      for (const neg of [false, true]) {
        const rs = RS(T('filter', [base('filter', 'output', [R(DROP, { kind, neg, ranges: neg ? [[80, 80]] : all })])]));
        expect(simulate(rs, pkt({ protocol: 'icmp', dport: 0, sport: 0 })).outcome.verdict, `${neg ? '! ' : ''}${kind}`).toBe('accept');
        expect(simulate(rs, v6({ protocol: 'icmpv6', dport: 0, sport: 0 })).outcome.verdict).toBe('accept');
        // the same rule does match TCP and UDP
        expect(simulate(rs, pkt({ protocol: 'udp' })).outcome.verdict).toBe('drop');
      }
    }
  });

  it('ranges are inclusive at both ends', () => {
    const rs = RS(T('filter', [base('filter', 'output', [R(DROP, tcp, { kind: 'dport', neg: false, ranges: [[100, 200], [300, 300]] })])]));
    const v = (dport: number) => simulate(rs, pkt({ dport })).outcome.verdict;
    expect([99, 100, 200, 201, 299, 300, 301].map(v)).toEqual(['accept', 'drop', 'drop', 'accept', 'accept', 'drop', 'accept']);
  });

  it('CIDR edges', () => {
    const rs = RS(T('filter', [base('filter', 'output', [R(DROP, { kind: 'daddr', neg: false, cidrs: [{ family: 'ipv4', addr: '10.1.0.0', prefix: 16 }] })])]));
    const v = (dst: string) => simulate(rs, pkt({ dst })).outcome.verdict;
    expect(['10.0.255.255', '10.1.0.0', '10.1.255.255', '10.2.0.0'].map(v)).toEqual(['accept', 'drop', 'drop', 'accept']);
  });
});

// ---- packets -------------------------------------------------------------------------------
describe('normalizePacket', () => {
  it('fills the defaults of an outgoing packet', () => {
    const r = normalizePacket({ src: '10.1.0.5', dst: '10.2.0.9', dport: 80 });
    expect(r.problems).toEqual([]);
    expect(r.packet).toEqual({
      hook: 'output',
      family: 'ipv4',
      protocol: 'tcp',
      src: '10.1.0.5',
      dst: '10.2.0.9',
      sport: 40000,
      dport: 80,
      iif: '',
      oif: 'eth0',
      uid: 0,
      gid: 0,
      mark: 0,
      ctmark: 0,
      ctstate: 'new',
    });
  });

  it('fills the defaults of an incoming packet (iif eth0, no owner)', () => {
    const r = normalizePacket({ hook: 'prerouting', src: '2001:db8::9', dst: 'fd00::5', dport: 8080 });
    expect(r.packet).toMatchObject({ hook: 'prerouting', family: 'ipv6', iif: 'eth0', oif: '' });
    expect(r.packet).not.toHaveProperty('uid');
    expect(r.packet).not.toHaveProperty('gid');
  });

  it('canonicalises addresses and keeps given fields', () => {
    const r = normalizePacket({ src: 'FD00:0:0::5', dst: '2001:db8::9', protocol: 'udp', dport: 53, sport: 1, uid: 'envoy', mark: 0xffffffff, ctstate: 'established', transparentSocket: true });
    expect(r.packet).toMatchObject({ src: 'fd00::5', protocol: 'udp', sport: 1, uid: 'envoy', mark: 0xffffffff, ctstate: 'established', transparentSocket: true });
  });

  it('icmp needs no dport', () => {
    expect(normalizePacket({ protocol: 'icmp', src: '10.1.0.5', dst: '10.2.0.9' }).packet?.dport).toBe(0);
  });

  const problem = (raw: unknown) => {
    const r = normalizePacket(raw);
    expect(r.packet).toBeUndefined();
    return r.problems;
  };

  it('refuses an unknown field, naming it', () => {
    const ps = problem({ src: '10.1.0.5', dst: '10.2.0.9', dport: 80, dstport: 80 });
    expect(ps).toHaveLength(1);
    expect(ps[0].path).toBe('$.dstport');
    expect(ps[0].message).toMatch(/unknown field 'dstport'/);
  });

  it('refuses a bad address', () => {
    const bad = problem({ src: '10.1.0.256', dst: '10.2.0.9', dport: 80 });
    expect(bad.map((p) => p.path)).toEqual(['$.src']);
    expect(bad[0].message).toContain('not an address');
    expect(problem({ src: '10.1.0.5', dport: 80 })).toEqual([expect.objectContaining({ path: '$.dst' })]);
  });

  it('refuses mixed families', () => {
    expect(problem({ src: '10.1.0.5', dst: 'fd00::5', dport: 80 }).map((p) => p.path)).toContain('$.dst');
    expect(problem({ family: 'ipv6', src: '10.1.0.5', dst: '10.2.0.9', dport: 80 }).map((p) => p.path)).toContain('$.family');
  });

  it('refuses a TCP or UDP packet without dport', () => {
    for (const protocol of ['tcp', 'udp']) {
      expect(problem({ protocol, src: '10.1.0.5', dst: '10.2.0.9' })).toEqual([expect.objectContaining({ path: '$.dport', message: `dport is required for ${protocol}` })]);
    }
  });

  it('refuses out-of-range numbers and bad enums', () => {
    expect(problem({ src: '10.1.0.5', dst: '10.2.0.9', dport: 65536 }).map((p) => p.path)).toEqual(['$.dport']);
    expect(problem({ src: '10.1.0.5', dst: '10.2.0.9', dport: 80, sport: -1 }).map((p) => p.path)).toEqual(['$.sport']);
    expect(problem({ src: '10.1.0.5', dst: '10.2.0.9', dport: 80, mark: 1.5 }).map((p) => p.path)).toEqual(['$.mark']);
    expect(problem({ src: '10.1.0.5', dst: '10.2.0.9', dport: 80, hook: 'input' }).map((p) => p.path)).toEqual(['$.hook']);
    expect(problem({ src: '10.1.0.5', dst: '10.2.0.9', dport: 80, protocol: 'gre' }).map((p) => p.path)).toEqual(['$.protocol']);
    expect(problem({ src: '10.1.0.5', dst: '10.2.0.9', dport: 80, ctstate: 'NEW' }).map((p) => p.path)).toEqual(['$.ctstate']);
    expect(problem({ src: '10.1.0.5', dst: '10.2.0.9', dport: 80, oif: 'a-very-long-interface' }).map((p) => p.path)).toEqual(['$.oif']);
  });

  it('refuses what is not an object', () => {
    for (const raw of [null, 3, 'x', []]) expect(problem(raw)).toEqual([{ path: '$', message: 'a packet is a JSON object' }]);
  });
});

describe('parseCompactPacket', () => {
  it('takes marks in hex, as iptables-save prints them, and looped=true (whose iif is lo)', () => {
    const r = parseCompactPacket('in tcp 10.1.0.5:40001 -> 10.1.0.5:9080 mark=0x539 ctmark=0X53A looped=true');
    expect(r.problems).toEqual([]);
    expect(r.packet).toMatchObject({ mark: 1337, ctmark: 1338, looped: true, iif: 'lo' });
    expect(parseCompactPacket('in tcp 10.1.0.5:40001 -> 10.1.0.5:9080 iif=eth0 looped=true').problems.map((p) => p.path)).toEqual(['$.iif']);
  });
  it('numbers and booleans only where the field is one: oif=0x1 and iif=false are interface names', () => {
    expect(parseCompactPacket('out tcp 10.1.0.5:40001 -> 10.2.0.9:80 oif=0x1').packet?.oif).toBe('0x1');
    expect(parseCompactPacket('in tcp 10.2.0.9:40001 -> 10.1.0.5:80 iif=false').packet?.iif).toBe('false');
  });
  it('reads an IPv4 outgoing packet with options', () => {
    const r = parseCompactPacket('out tcp 10.1.0.5:40001 -> 10.2.0.9:9080 uid=1337 gid=1337 oif=lo mark=7 ctstate=established');
    expect(r.problems).toEqual([]);
    expect(r.packet).toEqual({
      hook: 'output',
      family: 'ipv4',
      protocol: 'tcp',
      src: '10.1.0.5',
      dst: '10.2.0.9',
      sport: 40001,
      dport: 9080,
      iif: '',
      oif: 'lo',
      uid: 1337,
      gid: 1337,
      mark: 7,
      ctmark: 0,
      ctstate: 'established',
    });
  });

  it('reads an IPv6 incoming packet in brackets', () => {
    const r = parseCompactPacket('in udp [2001:db8::9]:53 -> [fd00:1::5]:40000 iif=eth1');
    expect(r.packet).toMatchObject({ hook: 'prerouting', family: 'ipv6', protocol: 'udp', src: '2001:db8::9', sport: 53, dst: 'fd00:1::5', dport: 40000, iif: 'eth1', oif: '' });
  });

  it('takes a source without port (default sport) and icmp without ports', () => {
    expect(parseCompactPacket('out tcp 10.1.0.5 -> 10.2.0.9:80').packet).toMatchObject({ sport: 40000, dport: 80 });
    expect(parseCompactPacket('out icmp 10.1.0.5 -> 10.2.0.9').packet).toMatchObject({ protocol: 'icmp', dport: 0 });
    expect(parseCompactPacket('in tcp [::1] -> [::1]:8080').packet).toMatchObject({ family: 'ipv6', src: '::1', dport: 8080 });
  });

  it('refuses malformed forms', () => {
    for (const t of ['up tcp 10.1.0.5 -> 10.2.0.9:80', 'out tcp 10.1.0.5 10.2.0.9:80', 'out tcp fd00::5 -> fd00::6:80', 'out tcp 10.1.0.5 -> 10.2.0.9:80 uid', 'out tcp 10.1.0.5 -> 10.2.0.9']) {
      const r = parseCompactPacket(t);
      expect(r.packet, t).toBeUndefined();
      expect(r.problems.length, t).toBeGreaterThan(0);
    }
    expect(parseCompactPacket('out tcp 10.1.0.5 -> 10.2.0.9:80 colour=red').problems[0].path).toBe('$.colour');
  });
});
