// The optimized proof against naive references, on small random inputs:
//  (1) the policy's meaning (src/meaning) against the reference meaning
//      (test/harness/reference-meaning.ts, a plain copy of the meaning before it was made
//      fast): on random valid policies, and on deliberately broken lowerings of them, the
//      engine gives the same verdict with either meaning, and every packet one reports as
//      a difference is a difference for the other (both meanings and the simulator are
//      evaluated on it);
//  (2) the engine against the simulator: on small random rule-set pairs, a packet of the
//      battery (test/harness/battery.ts) that differs means the engine must say
//      different, and every difference the engine reports is confirmed packet by packet.
// Fixed seeds: a failure names its seed, and replays.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Action, CtState, Family, Match, Rule, RuleSet } from '../../src/ir/types.js';
import { iptablesBase } from '../../src/ir/types.js';
import type { Policy } from '../../src/language/ast.js';
import { loadText } from '../../src/language/load.js';
import { lower } from '../../src/lower/lower.js';
import { Meaning, meaningSide } from '../../src/meaning/meaning.js';
import type { Packet } from '../../src/sim/packet.js';
import { simulate } from '../../src/sim/simulate.js';
import { outcomeText, packetText, sameOutcome } from '../../src/verify/compare.js';
import { equivalent, type EquivResult } from '../../src/verify/engine.js';
import { rulesSide } from '../../src/verify/side.js';
import { sweepCheck } from '../../src/verify/explore-interval.js';
import { battery, compareOn, rng } from '../harness/battery.js';
import { mutate, type MutationKind } from '../harness/mutate.js';
import { ReferenceMeaning, referenceSide } from '../harness/reference-meaning.js';
import { randomPolicy } from '../kernel/oracle/random-policy.js';
import { Rand } from '../rand.js';

// Every interval field's atoms in these proofs are also made the plain way (one sweep of
// the rules and the meaning's constants together) and must be the same.
beforeAll(() => {
  sweepCheck.on = true;
});
afterAll(() => {
  sweepCheck.on = false;
});

// ---- random policies -------------------------------------------------------------------------

/**
 * Random policies for what the kernel oracle's generator leaves out: names for owners,
 * prefix interfaces, IPv6-only policies, outbound capture ports, localhost and
 * passthrough variants, self-redirect off, tproxy with its defaults.
 */
function variantPolicy(seed: number): string {
  const r = new Rand(seed);
  const L: string[] = [`policy variant-${seed} {`];
  const opt = (p: number, line: string) => r.chance(p) && L.push(line);
  const families = r.pick(['default', 'ipv4, ipv6', 'ipv4', 'ipv6']);
  // An IPv6-only policy keeps the IPv6 items of its address lists (IPv4 ones are errors there).
  const addrs = (xs: string[]) => (families !== 'ipv6' ? xs : xs.map((x) => x.split(', ').filter((a) => a.includes(':') || !a.includes('.')).join(', ')).filter((x) => x && !x.endsWith(' ')));
  L.push('  proxy {');
  opt(50, `    uid ${r.pick(['1337', 'envoy', '1337, 1000', '0', '1337, envoy', 'none', '106-108, 1337'])}`);
  opt(50, `    gid ${r.pick(['1337', 'none', '1337, 888', 'proxy'])}`);
  opt(30, `    tunnel-port ${r.pick(['15008', 'none', '4567'])}`);
  L.push('  }', '  inbound {');
  opt(40, `    mode ${r.pick(['redirect', 'tproxy', 'tproxy mark 7 table 100 local-mark 8'])}`);
  const inCap = r.pick(['*', '*', 'none', '80, 8080', '8000-8100', '53, 15020', '1-1000']);
  L.push(`    capture ports ${inCap}`);
  if (inCap === '*') opt(60, `    exclude ports ${r.pick(['15090, 15021, 15020', '8080', '3306, 8000-8100', '15008'])}`);
  if (inCap !== 'none') opt(30, `    exclude sources ${r.pick(addrs(['0.0.0.0/0', '10.0.0.0/8, fd00::/8', '127.0.0.6/32', '::/0']))}`);
  L.push('  }', '  outbound {');
  const outCap = r.pick(addrs(['*', 'none', '10.0.0.0/8, fd00::/8', '127.0.0.0/8, 10.1.0.0/16', '::/0, 192.168.0.0/16', '::1/128', '10.1.0.5/32, 127.0.0.1/32']));
  L.push(`    capture cidrs ${outCap}`);
  opt(50, `    exclude cidrs ${r.pick(addrs(['169.254.169.254/32', '10.96.0.0/12, fd00:ec2::254/128', '10.1.0.0/16', '127.0.0.1/32', 'fd00::/8']))}`);
  opt(30, `    capture ports ${r.pick(['3306', '9000, 9100-9200', '53', '15006'])}`);
  opt(40, `    exclude ports ${r.pick(['53', '3306, 15020', '22', '15001', '1-1024'])}`);
  const groups = r.pick(['*', '*', '1000', '1000, 2000', 'app, 1337']);
  opt(50, `    groups ${groups}`);
  if (groups === '*') opt(50, `    exclude groups ${r.pick(['888', '888, 999', 'batch, 1000'])}`);
  L.push('  }', '  loopback {');
  opt(50, `    passthrough ${r.pick(addrs(['none', '127.0.0.6, ::6', '127.0.0.7, ::1', '::6']))}`);
  opt(50, `    localhost ${r.pick(addrs(['127.0.0.1/32, ::1/128', '127.0.0.0/8', '::1/128', '127.0.0.0/8, ::/127', '127.0.0.6/32, fd00::/8']))}`);
  opt(40, `    self-redirect ${r.pick(['on', 'off'])}`);
  L.push('  }', '  dns {');
  const dns = r.pick(['off', 'all', ...addrs(['10.96.0.10, fd00::a', '127.0.0.53', 'fd00::a', '127.0.0.1, ::1']).map((x) => `servers ${x}`)]);
  L.push(`    capture ${dns}`);
  if (dns !== 'off') opt(50, `    port ${r.pick(['15053', '5353'])}`);
  L.push('  }', '  interfaces {');
  opt(40, `    exclude ${r.pick(['eth1', 'veth+', 'not-istio-nic, eth9', 'eth+, tap0', 'lo'])}`);
  opt(30, `    reroute ${r.pick(['eth2', 'tap+', 'eth2, veth7', 'veth+'])}`);
  L.push('  }');
  opt(30, `  drop-invalid ${r.pick(['on', 'off'])}`);
  if (families !== 'default') L.push(`  families ${families}`);
  L.push('}');
  return L.join('\n') + '\n';
}

function policyOf(text: string): Policy | undefined {
  const l = loadText('random.intercept', text, 'intercept');
  return l.diagnostics.some((d) => d.severity === 'error') ? undefined : l.policy;
}

/** The random valid policies of the test: both generators, fixed seeds. */
function policies(count: number): { name: string; text: string; policy: Policy }[] {
  const out: { name: string; text: string; policy: Policy }[] = [];
  for (let seed = 1; out.length < count && seed < count * 10; seed++) {
    for (const [name, text] of [
      [`oracle seed ${seed}`, randomPolicy(seed)],
      [`variant seed ${seed}`, variantPolicy(seed)],
    ] as const) {
      const policy = policyOf(text);
      if (policy && out.length < count) out.push({ name, text, policy });
    }
  }
  return out;
}

// ---- broken lowerings ------------------------------------------------------------------------

/** A rule's action flipped: a return becomes a redirect (or an accept), a redirect a return, a port moves. */
function flipAction(rs: RuleSet, rand: () => number): RuleSet | undefined {
  const m = structuredClone(rs);
  const rules = m.tables.flatMap((t) => t.chains.flatMap((c) => c.rules));
  const cands = rules.filter((r) => ['return', 'redirect', 'accept', 'ct-zone', 'mark-set'].includes(r.action.kind));
  if (!cands.length) return undefined;
  const r = cands[Math.floor(rand() * cands.length)];
  const a = r.action;
  if (a.kind === 'return') r.action = rand() < 0.5 ? { kind: 'redirect', port: 15001 } : { kind: 'accept' };
  else if (a.kind === 'redirect') r.action = rand() < 0.5 ? { kind: 'return' } : { kind: 'redirect', port: a.port + 1 };
  else if (a.kind === 'accept') r.action = { kind: 'return' };
  else if (a.kind === 'ct-zone') r.action = { kind: 'ct-zone', zone: a.zone === 1 ? 2 : 1 };
  else if (a.kind === 'mark-set') r.action = { ...a, value: (a.value ^ 1) >>> 0 };
  return m;
}

const MUTATIONS: (MutationKind | 'flip-action')[] = ['drop-rule', 'flip-action', 'flip-negation', 'change-port', 'change-cidr', 'swap-rules'];

/** Three broken lowerings of a policy, of kinds chosen by the seed. */
function broken(ir: RuleSet, seed: number): { kind: string; rs: RuleSet }[] {
  const rand = rng(seed);
  const out: { kind: string; rs: RuleSet }[] = [];
  for (let tries = 0; out.length < 3 && tries < 10; tries++) {
    const kind = MUTATIONS[Math.floor(rand() * MUTATIONS.length)];
    const rs = kind === 'flip-action' ? flipAction(ir, rand) : mutate(ir, kind, rand)?.rs;
    if (rs) out.push({ kind, rs });
  }
  return out;
}

// ---- (1) meaning against the reference meaning ---------------------------------------------

/** The packets a result reports as differing: the counterexample and each difference's packet. */
const reported = (r: EquivResult): Packet[] => [...(r.counterexample ? [r.counterexample.packet] : []), ...r.differences.map((d) => d.packet)];

interface Tally {
  cases: number;
  different: number;
  packets: number;
}

function crossCheck(name: string, p: Policy, ir: RuleSet, what: string, t: Tally): void {
  const real = new Meaning(p);
  const ref = new ReferenceMeaning(p);
  const a = equivalent(meaningSide('meaning', real), rulesSide(what, ir), { maxDifferences: 2 });
  const b = equivalent(referenceSide('reference meaning', ref), rulesSide(what, ir), { maxDifferences: 2 });
  const where = `${name}, ${what}`;
  expect(a.result, `${where}: the meaning is ${a.result}${a.reason ? ` (${a.reason})` : ''}`).not.toBe('undecided');
  expect(a.result, `${where}: the meaning says ${a.result}, the reference ${b.result}`).toBe(b.result);
  t.cases++;
  if (a.result === 'different') t.different++;
  for (const pkt of [...reported(a), ...reported(b)]) {
    const m = real.evaluate(pkt).outcome;
    const r = ref.evaluate(pkt).outcome;
    const s = simulate(ir, pkt).outcome;
    const at = `${where}, packet ${packetText(pkt)}: meaning ${outcomeText(m)}, reference ${outcomeText(r)}, rules ${outcomeText(s)}`;
    expect(sameOutcome(m, r), at).toBe(true);
    expect(sameOutcome(m, s), at).toBe(false);
    t.packets++;
  }
}

describe('the meaning against the reference meaning', () => {
  const ps = policies(56);

  it('the generators make enough valid policies, of every kind', () => {
    expect(ps.length).toBe(56);
    const has = (f: (p: Policy) => boolean) => ps.some((x) => f(x.policy));
    expect(has((p) => p.inbound.mode.value.kind === 'tproxy')).toBe(true);
    expect(has((p) => p.interfaces.reroute.value.length > 0)).toBe(true);
    expect(has((p) => p.interfaces.exclude.value.some((i) => i.prefix))).toBe(true);
    expect(has((p) => p.dns.capture.value.kind === 'servers')).toBe(true);
    expect(has((p) => p.outbound.excludeGroups.value.length > 0)).toBe(true);
    expect(has((p) => p.proxy.uids.value.some((o) => o.kind === 'name'))).toBe(true);
    expect(has((p) => !p.families.value.includes('ipv4'))).toBe(true);
  });

  it('same verdicts and the same differing packets, on random policies and broken lowerings of them', () => {
    const t: Tally = { cases: 0, different: 0, packets: 0 };
    ps.forEach(({ name, policy }, i) => {
      const ir = lower(policy);
      crossCheck(name, policy, ir, 'IR', t);
      for (const b of broken(ir, 1000 + i)) crossCheck(name, policy, b.rs, `IR, ${b.kind}`, t);
    });
    // Hundreds of cases, most of the broken ones caught: the check has something to compare.
    expect(t.cases).toBeGreaterThanOrEqual(200);
    expect(t.different).toBeGreaterThan(t.cases / 3);
    expect(t.packets).toBeGreaterThan(t.different);
  }, 60_000);

  it('a meaning that differs from the reference is caught (the check can fail)', () => {
    const p = policyOf('policy t {\n  outbound {\n    capture cidrs *\n    exclude ports 3306\n  }\n}\n')!;
    const ir = lower(p);
    const real = new Meaning(p);
    // A meaning that forgets the excluded port: proven different from the IR, while the
    // reference is proven equal, and on the reported packet it disagrees with the reference.
    const forgetful = { ...meaningSide('forgetful', real), evaluate: (q: Packet) => real.evaluate(q.dport === 3306 ? { ...q, dport: 3307 } : q) };
    const a = equivalent(forgetful, rulesSide('IR', ir));
    const b = equivalent(referenceSide('reference', new ReferenceMeaning(p)), rulesSide('IR', ir));
    expect(a.result).toBe('different');
    expect(b.result).toBe('equal');
    expect(a.counterexample!.packet.dport).toBe(3306);
    expect(sameOutcome(forgetful.evaluate(a.counterexample!.packet).outcome, new ReferenceMeaning(p).evaluate(a.counterexample!.packet).outcome)).toBe(false);
  });
});

// ---- (2) the engine against the simulator on random rule-set pairs ---------------------------

const O = { span: null, purpose: 'random' };

/** A small random rule set: nat and mangle base chains and a user chain, matches from small pools. */
function randomRuleSet(seed: number): RuleSet {
  const r = new Rand(seed);
  const family: Family = r.chance(70) ? 'ipv4' : 'ipv6';
  const cidrs = family === 'ipv4' ? ['10.0.0.0/8', '10.1.0.0/16', '10.1.0.5/32', '127.0.0.0/8', '192.168.0.0/24', '0.0.0.0/1'] : ['fd00::/8', 'fd00:1::/32', '::1/128', '2001:db8::/32', '::/1'];
  const cidr = () => {
    const [addr, prefix] = r.pick(cidrs).split('/');
    return { family, addr, prefix: Number(prefix) };
  };
  const ports: [number, number][] = [[53, 53], [80, 80], [443, 443], [8000, 8100], [15001, 15001], [1, 1024], [3306, 3306]];
  const match = (): Match => {
    const neg = r.chance(25);
    switch (r.int(0, 8)) {
      case 0:
        return { kind: 'protocol', neg, protocol: r.pick(['tcp', 'udp'] as const) };
      case 1:
        return { kind: r.pick(['dport', 'sport'] as const), neg, ranges: r.sample(ports, 1, 3) };
      case 2:
        return { kind: r.pick(['daddr', 'saddr'] as const), neg, cidrs: r.list(1, 2, cidr) };
      case 3:
        return { kind: r.pick(['uid', 'gid'] as const), neg, id: r.pick([0, 1000, 1337, 'envoy']) };
      case 4:
        return { kind: r.pick(['oif', 'iif'] as const), neg, name: r.pick(['lo', 'eth0', 'eth1', 'veth']), prefix: r.chance(30) };
      case 5:
        return { kind: 'mark', neg, value: r.pick([1337, 7, 0x100]), mask: 0xffffffff }; // full masks: partial ones the engine enumerates only up to a few
      case 6:
        return { kind: 'ctstate', neg, states: r.sample(['new', 'established', 'related', 'invalid'] as CtState[], 1, 2) };
      default:
        return { kind: 'connmark', neg, value: r.pick([1337, 7]), mask: 0xffffffff };
    }
  };
  // A port match needs its protocol (as iptables requires); an owner match only in OUTPUT.
  const rule = (actions: Action[], hook: 'output' | 'prerouting'): Rule => {
    let ms = r.list(0, 3, match).filter((m) => (hook === 'output' ? m.kind !== 'iif' : m.kind !== 'oif' && m.kind !== 'uid' && m.kind !== 'gid'));
    if (ms.some((m) => m.kind === 'dport' || m.kind === 'sport')) ms = [{ kind: 'protocol', neg: false, protocol: r.pick(['tcp', 'udp'] as const) }, ...ms.filter((m) => m.kind !== 'protocol')];
    return { matches: ms, action: r.pick(actions), origin: O };
  };
  const natActions = (user: boolean): Action[] => [{ kind: 'return' }, { kind: 'accept' }, { kind: 'redirect', port: r.pick([15001, 15006]) }, ...(user ? [] : [{ kind: 'jump', chain: 'USER' } as Action])];
  const mangleActions: Action[] = [{ kind: 'mark-set', value: r.pick([1337, 7]), mask: 0xffffffff }, { kind: 'accept' }, { kind: 'return' }, { kind: 'connmark-save', nfmask: 0xffffffff, ctmask: 0xffffffff }];
  return {
    name: `random-${seed}`,
    tables: [
      {
        family,
        name: 'mangle',
        chains: [
          { name: 'OUTPUT', base: iptablesBase('mangle', 'output'), rules: r.list(0, 2, () => rule(mangleActions, 'output')) },
          { name: 'PREROUTING', base: iptablesBase('mangle', 'prerouting'), rules: r.list(0, 2, () => rule(mangleActions, 'prerouting')) },
        ],
      },
      {
        family,
        name: 'nat',
        chains: [
          { name: 'OUTPUT', base: iptablesBase('nat', 'output'), rules: r.list(1, 4, () => rule(natActions(false), 'output')) },
          { name: 'PREROUTING', base: iptablesBase('nat', 'prerouting'), rules: r.list(1, 4, () => rule(natActions(false), 'prerouting')) },
          // Called from both hooks: only matches valid in both.
          { name: 'USER', rules: r.list(1, 3, () => rule(natActions(true), 'prerouting')) },
        ],
      },
    ],
    routing: { loopbackAddresses: [] },
  };
}

describe('the engine against the simulator on random rule-set pairs', () => {
  it('a battery difference means the engine says different; each engine difference is confirmed', () => {
    let pairs = 0;
    let different = 0;
    let batteryCaught = 0;
    for (let seed = 1; seed <= 120; seed++) {
      const a = randomRuleSet(seed);
      const rand = rng(seed);
      // A random neighbour (one mutation), or (every fifth seed) an unrelated rule set.
      const kind = MUTATIONS[seed % MUTATIONS.length];
      const b = seed % 5 === 0 ? randomRuleSet(seed + 10_000) : kind === 'flip-action' ? flipAction(a, rand) : mutate(a, kind, rand)?.rs;
      if (!b) continue;
      pairs++;
      const families = [a.tables[0].family as Family];
      const sameFamily = b.tables[0].family === a.tables[0].family;
      const r = equivalent(rulesSide('a', a), rulesSide('b', b), { maxDifferences: 4, families: sameFamily ? families : ['ipv4', 'ipv6'] });
      const where = `seed ${seed} (${seed % 5 === 0 ? 'unrelated' : kind})`;
      expect(r.result, `${where}: ${r.reason ?? ''}`).not.toBe('undecided');
      const cmp = compareOn(a, b, battery([a, b], { families: sameFamily ? families : ['ipv4', 'ipv6'], size: 600, seed }), 1);
      if (cmp.differences.length) {
        batteryCaught++;
        expect(r.result, `${where}: the battery finds ${packetText(cmp.differences[0].packet)} differing, the engine says ${r.result}`).toBe('different');
      }
      if (r.result === 'different') {
        different++;
        for (const pkt of reported(r)) {
          const x = simulate(a, pkt).outcome;
          const y = simulate(b, pkt).outcome;
          expect(sameOutcome(x, y), `${where}: the engine reports ${packetText(pkt)}, the simulator gives ${outcomeText(x)} both times`).toBe(false);
        }
      }
    }
    expect(pairs).toBeGreaterThan(100);
    expect(different).toBeGreaterThan(pairs / 3);
    // The battery is a sample: it misses some differences the engine proves, never the other way.
    expect(batteryCaught).toBeGreaterThan(different / 3);
    expect(batteryCaught).toBeLessThanOrEqual(different);
  }, 60_000);
});
