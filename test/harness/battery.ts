// A packet battery: packets chosen to hit every rule's boundaries (each port, CIDR edge,
// uid, gid, mark, interface, hook, family, protocol and conntrack state that any rule of
// the compared rule sets mentions, and the values just outside them), plus seeded random
// combinations. Tests use it as a second, independent check beside the exhaustive engine,
// and the mutation harness to confirm the engine's verdicts on samples.
import { ifaceNames } from '../../src/ir/keys.js';
import type { CtState, Family, Match, Protocol, RuleSet } from '../../src/ir/types.js';
import { canonicalAddress, parseCidr } from '../../src/net/ip.js';
import { forEachRule } from '../../src/ir/walk.js';
import type { Packet } from '../../src/sim/packet.js';
import { simulate, type SimResult } from '../../src/sim/simulate.js';
import { sameOutcome } from '../../src/verify/compare.js';
import { producible } from '../../src/verify/facts.js';

interface Pools {
  addrs: Record<Family, Set<string>>;
  ports: Set<number>;
  owners: Set<number | string>;
  marks: Set<number>;
  ifaces: Set<string>;
}

/** A small deterministic PRNG (mulberry32), so that batteries are repeatable. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function addCidrEdges(pools: Pools, family: Family, addr: string, prefix: number) {
  const c = parseCidr(`${addr}/${prefix}`);
  if (!c.ok) return;
  const max = (1n << BigInt(family === 'ipv4' ? 32 : 128)) - 1n;
  for (const v of [c.cidr.first, c.cidr.last, c.cidr.first - 1n, c.cidr.last + 1n, (c.cidr.first + c.cidr.last) / 2n]) {
    if (v >= 0n && v <= max) pools.addrs[family].add(canonicalAddress(family, v));
  }
}

function collect(rs: RuleSet[], extra: Partial<{ addrs: string[]; ports: number[] }> = {}): Pools {
  const pools: Pools = {
    addrs: { ipv4: new Set(['10.1.0.5', '10.2.0.9', '8.8.8.8', '127.0.0.1', '127.0.0.6', '169.254.169.254']), ipv6: new Set(['fd00:1::5', '2001:db8:1::9', '::1', '::6', 'fe80::1']) },
    ports: new Set([22, 53, 80, 443, 8080, 9080, 15001, 15006, 15008, 15020, 15021, 15053, 15090, 40000]),
    owners: new Set<number | string>([0, 1000, 1337]),
    marks: new Set([0, 1337, 1338]),
    ifaces: new Set(['eth0', 'lo', 'eth1']),
  };
  for (const a of extra.addrs ?? []) pools.addrs[a.includes(':') ? 'ipv6' : 'ipv4'].add(a);
  for (const p of extra.ports ?? []) pools.ports.add(p);
  const visit = (m: Match) => {
    switch (m.kind) {
      case 'saddr':
      case 'daddr':
        for (const c of m.cidrs) addCidrEdges(pools, c.family, c.addr, c.prefix);
        break;
      case 'sport':
      case 'dport':
        for (const [lo, hi] of m.ranges) for (const p of [lo, hi, lo - 1, hi + 1]) if (p >= 1 && p <= 65535) pools.ports.add(p);
        break;
      case 'uid':
      case 'gid':
        for (const id of 'ids' in m ? m.ids.flat() : [m.id]) {
          pools.owners.add(id);
          if (typeof id === 'number') pools.owners.add(id + 1);
        }
        break;
      case 'mark':
      case 'connmark':
        pools.marks.add(m.value);
        pools.marks.add((m.value ^ 1) >>> 0);
        break;
      case 'iif':
      case 'oif':
        for (const n of ifaceNames(m)) {
          pools.ifaces.add(n.name);
          if (n.prefix) pools.ifaces.add(n.name + '0');
        }
        break;
    }
  };
  for (const r of rs) {
    forEachRule(r, (rule) => {
      rule.matches.forEach(visit);
      const a = rule.action;
      if (a.kind === 'redirect' || a.kind === 'tproxy') pools.ports.add(a.port);
      if (a.kind === 'mark-set') pools.marks.add(a.value);
      if (a.kind === 'tproxy') pools.marks.add(a.mark);
    });
  }
  return pools;
}

const PROTOS: Protocol[] = ['tcp', 'udp', 'icmp'];
const STATES: CtState[] = ['new', 'established', 'related', 'invalid'];

export interface BatteryOptions {
  /** How many packets at least (default 2000). */
  size?: number;
  seed?: number;
  families?: Family[];
  extraAddrs?: string[];
  extraPorts?: number[];
}

/**
 * Packets for comparing rule sets: every pool value in every field against a few base
 * packets (one dimension at a time, so each boundary is hit), then random combinations.
 */
export function battery(rulesets: RuleSet[], opts: BatteryOptions = {}): Packet[] {
  const pools = collect(rulesets, { addrs: opts.extraAddrs, ports: opts.extraPorts });
  const rand = rng(opts.seed ?? 1);
  const pick = <T>(xs: Iterable<T>): T => {
    const a = [...xs];
    return a[Math.floor(rand() * a.length)];
  };
  const families = opts.families ?? ['ipv4', 'ipv6'];
  const out: Packet[] = [];
  const seen = new Set<string>();
  const push = (p: Packet) => {
    // Only packets the kernel can produce: what the engine's proofs are about (docs/facts.md).
    if (!producible(p)) return;
    const k = JSON.stringify(p);
    if (!seen.has(k)) {
      seen.add(k);
      out.push(p);
    }
  };
  const bases = (family: Family): Packet[] => {
    const pod = family === 'ipv4' ? '10.1.0.5' : 'fd00:1::5';
    const peer = family === 'ipv4' ? '10.2.0.9' : '2001:db8:1::9';
    const local = family === 'ipv4' ? '127.0.0.1' : '::1';
    const common = { family, sport: 40000, mark: 0, ctmark: 0, ctstate: 'new' as CtState };
    return [
      { ...common, hook: 'output', protocol: 'tcp', src: pod, dst: peer, dport: 9080, iif: '', oif: 'eth0', uid: 1000, gid: 1000 },
      { ...common, hook: 'output', protocol: 'tcp', src: pod, dst: pod, dport: 8080, iif: '', oif: 'lo', uid: 1337, gid: 1337 },
      { ...common, hook: 'output', protocol: 'udp', src: pod, dst: peer, dport: 53, iif: '', oif: 'eth0', uid: 1000, gid: 1000 },
      { ...common, hook: 'output', protocol: 'tcp', src: local, dst: local, dport: 8080, iif: '', oif: 'lo', uid: 1000, gid: 1000 },
      { ...common, hook: 'prerouting', protocol: 'tcp', src: peer, dst: pod, dport: 8080, iif: 'eth0', oif: '' },
      { ...common, hook: 'prerouting', protocol: 'udp', src: peer, dst: pod, sport: 53, dport: 40000, iif: 'eth0', oif: '' },
    ];
  };
  for (const family of families) {
    for (const b of bases(family)) {
      push(b);
      const addrs = [...pools.addrs[family]];
      for (const a of addrs) {
        push({ ...b, dst: a });
        push({ ...b, src: a });
      }
      for (const p of pools.ports) {
        push({ ...b, dport: p });
        push({ ...b, sport: p });
      }
      for (const pr of PROTOS) push({ ...b, protocol: family === 'ipv6' && pr === 'icmp' ? 'icmpv6' : pr, dport: pr === 'icmp' ? 0 : b.dport });
      for (const s of STATES) push({ ...b, ctstate: s });
      for (const m of pools.marks) {
        push({ ...b, mark: m });
        push({ ...b, ctmark: m });
      }
      for (const i of pools.ifaces) push(b.hook === 'output' ? { ...b, oif: i } : { ...b, iif: i });
      if (b.hook === 'output') {
        for (const o of pools.owners) {
          push({ ...b, uid: o });
          push({ ...b, gid: o });
          push({ ...b, uid: o, gid: o });
        }
      }
    }
  }
  const target = opts.size ?? 2000;
  let guard = 0;
  while (out.length < target && guard++ < target * 20) {
    const family = pick(families);
    const hook = rand() < 0.6 ? 'output' : 'prerouting';
    const protocol = pick(PROTOS);
    const p: Packet = {
      hook,
      family,
      protocol: family === 'ipv6' && protocol === 'icmp' ? 'icmpv6' : protocol,
      src: pick(pools.addrs[family]),
      dst: pick(pools.addrs[family]),
      sport: protocol === 'icmp' ? 0 : pick(pools.ports),
      dport: protocol === 'icmp' ? 0 : pick(pools.ports),
      iif: hook === 'prerouting' ? pick(pools.ifaces) : '',
      oif: hook === 'output' ? pick(pools.ifaces) : '',
      mark: rand() < 0.7 ? 0 : pick(pools.marks),
      ctmark: rand() < 0.7 ? 0 : pick(pools.marks),
      ctstate: rand() < 0.7 ? 'new' : pick(STATES),
    };
    if (hook === 'output') {
      p.uid = pick(pools.owners);
      p.gid = rand() < 0.5 ? p.uid : pick(pools.owners);
    }
    push(p);
  }
  return out;
}

/** Two rule sets on a battery of packets: the packets whose outcomes differ (a sample, not a proof). */
export interface Difference {
  packet: Packet;
  a: SimResult;
  b: SimResult;
}

export function compareOn(a: RuleSet, b: RuleSet, packets: Packet[], limit = Infinity): { differences: Difference[]; compared: number } {
  const differences: Difference[] = [];
  for (const p of packets) {
    const ra = simulate(a, p);
    const rb = simulate(b, p);
    if (!sameOutcome(ra.outcome, rb.outcome)) {
      differences.push({ packet: p, a: ra, b: rb });
      if (differences.length >= limit) break;
    }
  }
  return { differences, compared: packets.length };
}
