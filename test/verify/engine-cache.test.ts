// The engine's per-chain caches (chain plans, residual chains, chains specialized per
// value, the indexed fields' classes shared by every class that keeps the chains that
// look at the field) against the naive path: the same proof on fresh copies of both rule
// sets, where no object is shared and every cache starts empty. On random rule sets with
// long lists of alike rules (interfaces, owners, ports, addresses, DNS-like /32s), whose
// second side shares every chain but one with the first, after other proofs on the same
// objects have filled the caches: the same verdict, the same classes, the same differing
// classes (described alike, at the same packets). A verdict of equal is also checked
// against a battery of packets run through the simulator.
import { describe, expect, it } from 'vitest';
import type { Action, Chain, Family, Match, Rule, RuleSet } from '../../src/ir/types.js';
import { iptablesBase } from '../../src/ir/types.js';
import { equivalent, type EquivResult } from '../../src/verify/engine.js';
import { rulesSide } from '../../src/verify/side.js';
import { battery, compareOn } from '../harness/battery.js';
import { Rand } from '../rand.js';

const R = (matches: Match[], action: Action): Rule => ({ matches, action, origin: { span: null, purpose: 'test' } });
const ACTIONS: Action[] = [{ kind: 'return' }, { kind: 'accept' }, { kind: 'redirect', port: 15001 }, { kind: 'jump', chain: 'CAP' }];

/** One rule of a list: the item, maybe with a protocol and a port beside it. */
function item(r: Rand, kind: 'iif' | 'oif' | 'gid' | 'uid' | 'dport' | 'daddr' | 'dns', i: number, action: Action): Rule {
  const extra: Match[] = r.chance(30) ? [{ kind: 'protocol', neg: false, protocol: r.pick(['tcp', 'udp'] as const) }] : [];
  switch (kind) {
    case 'iif':
    case 'oif':
      return R([{ kind, neg: false, name: r.chance(15) ? `veth${i % 3}` : `veth${i}`, prefix: r.chance(10) }, ...extra], action);
    case 'gid':
    case 'uid':
      return R([{ kind, neg: r.chance(5), id: 2000 + (r.chance(15) ? i % 3 : i) }, ...extra], action);
    case 'dport':
      return R([{ kind: 'protocol', neg: false, protocol: 'tcp' }, { kind: 'dport', neg: false, ranges: [[1000 + i, 1000 + i + (r.chance(20) ? 5 : 0)]] }], action);
    case 'daddr': {
      // Mostly disjoint /24s; some /16s cover others.
      const wide = r.chance(15);
      return R([{ kind: 'daddr', neg: false, cidrs: [{ family: 'ipv4', addr: wide ? `10.${i % 2}.0.0` : `10.${i % 2}.${i}.0`, prefix: wide ? 16 : 24 }] }, ...extra], action);
    }
    case 'dns':
      return R([{ kind: 'daddr', neg: false, cidrs: [{ family: 'ipv4', addr: `172.16.0.${10 + i}`, prefix: 32 }] }, { kind: 'protocol', neg: false, protocol: 'udp' }, { kind: 'dport', neg: false, ranges: [[53, 53]] }], action);
  }
}

const KINDS = ['iif', 'oif', 'gid', 'uid', 'dport', 'daddr', 'dns'] as const;

/** A list chain of one kind: n alike rules (one action for most), then a rule for the rest. */
function listChain(r: Rand): Rule[] {
  const kind = r.pick(KINDS);
  const common = r.pick(ACTIONS);
  const rules = r.list(2, 12, () => null).map((_, i) => item(r, kind, i, r.chance(85) ? common : r.pick(ACTIONS)));
  if (r.chance(60)) rules.push(R(r.chance(50) ? [] : [{ kind: 'protocol', neg: false, protocol: 'tcp' }], r.pick(ACTIONS.filter((x) => x.kind !== 'jump'))));
  return rules;
}

function ruleSet(r: Rand): RuleSet {
  const family: Family = 'ipv4';
  const out: Chain = { name: 'OUTPUT', base: iptablesBase('nat', 'output'), rules: [R([], { kind: 'jump', chain: 'L1' }), ...(r.chance(50) ? [R([], { kind: 'jump', chain: 'L2' })] : [])] };
  const pre: Chain = { name: 'PREROUTING', base: iptablesBase('nat', 'prerouting'), rules: [R([], { kind: 'jump', chain: r.pick(['L1', 'L2']) })] };
  const chains: Chain[] = [out, pre, { name: 'L1', rules: listChain(r) }, { name: 'L2', rules: listChain(r) }, { name: 'CAP', rules: [R([{ kind: 'protocol', neg: false, protocol: 'tcp' }], { kind: 'redirect', port: 15006 })] }];
  return { name: 'x', tables: [{ family, name: 'nat', chains }], routing: { loopbackAddresses: [] } };
}

/** The rule set with one list chain changed (a rule dropped, its action changed, or a rule added); every other chain is the same object. */
function changeOne(r: Rand, x: RuleSet): RuleSet {
  const t = x.tables[0];
  const name = r.pick(['L1', 'L2']);
  const ci = t.chains.findIndex((c) => c.name === name);
  const c = t.chains[ci];
  const rules = [...c.rules];
  const at = r.int(0, rules.length - 1);
  const op = r.int(0, 3);
  if (op === 0) rules.splice(at, 1);
  else if (op === 1) rules[at] = { ...rules[at], action: r.pick(ACTIONS) };
  else if (op === 2) rules.splice(at, 0, item(r, r.pick(KINDS), 50 + at, r.pick(ACTIONS)));
  // op 3: the same rules in a new chain object (equal, but nothing shared at that chain)
  const chains = t.chains.map((d, i) => (i === ci ? { ...d, rules } : d));
  return { ...x, tables: [{ ...t, chains }] };
}

const fresh = <T>(x: T): T => JSON.parse(JSON.stringify(x)) as T;

/** What a proof says, as plain data: verdict, classes, and each differing class. */
function said(e: EquivResult) {
  return {
    result: e.result,
    classes: e.classes,
    total: e.total,
    differences: e.differences.map((d) => ({ description: d.description, packet: d.packet, a: d.a, b: d.b })),
  };
}

describe('the engine with its per-chain caches, against fresh copies', () => {
  it('gives the same verdict, classes and differing classes on 300 random pairs (fixed seeds)', () => {
    const seen = { equal: 0, different: 0 };
    for (let seed = 1; seed <= 300; seed++) {
      const r = new Rand(seed);
      const x = ruleSet(r);
      const y = changeOne(r, x);
      const z = changeOne(r, x);
      // Fill the caches with proofs on the same objects first.
      equivalent(rulesSide('x', x), rulesSide('x', x));
      equivalent(rulesSide('x', x), rulesSide('z', z), { maxDifferences: 3 });
      const cached = equivalent(rulesSide('x', x), rulesSide('y', y), { maxDifferences: 50 });
      const naive = equivalent(rulesSide('x', fresh(x)), rulesSide('y', fresh(y)), { maxDifferences: 50 });
      expect(said(cached), `seed ${seed}`).toEqual(said(naive));
      expect(cached.result, `seed ${seed}`).not.toBe('undecided');
      if (cached.result === 'equal') {
        seen.equal++;
        const cmp = compareOn(x, y, battery([x, y], { size: 400, seed }), 1);
        expect(cmp.differences.map((d) => JSON.stringify(d.packet)), `seed ${seed}: the engine said equal`).toEqual([]);
      } else seen.different++;
    }
    // Both verdicts come up often enough for the comparison to mean something.
    expect(seen.equal).toBeGreaterThan(30);
    expect(seen.different).toBeGreaterThan(30);
  }, 120_000);
});
