// The meaning's indexes and its constants at scale (issue "Proof at scale"):
//  - the lookup structures of src/meaning/sets.ts answer exactly what a scan of the list
//    with `.some` answers, on random lists and values;
//  - `constants(field, pkt)` that depend on the fields the engine has already fixed stay
//    sound on random small policies: over the values where the policy's lists start or
//    stop (every boundary the unfiltered lists have, and their neighbours), values that
//    the returned constants put in one class get one outcome;
//  - given an excluded port, the destination's constants are empty (cause 2 of the issue).
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Family } from '../../src/ir/types.js';
import type { Interface, Owner, Policy } from '../../src/language/ast.js';
import { loadText } from '../../src/language/load.js';
import { Meaning } from '../../src/meaning/meaning.js';
import { AddrSet, NameSet, OwnerSet, PortSet } from '../../src/meaning/sets.js';
import { canonicalAddress, parseAddress, parseCidr } from '../../src/net/ip.js';
import type { Packet } from '../../src/sim/packet.js';
import type { Constants } from '../../src/verify/side.js';
import { rng } from '../harness/battery.js';
import { policyText, relative } from './policy-text.js';

const MAX: Record<Family, bigint> = { ipv4: (1n << 32n) - 1n, ipv6: (1n << 128n) - 1n };

// ---- the lookups against naive scans ---------------------------------------------------------

describe('the indexed lookups agree with scans of the lists', () => {
  const arbPort = fc.oneof(fc.integer({ min: 0, max: 120 }), fc.constantFrom(0, 1, 53, 65534, 65535));
  const arbRange = fc.tuple(arbPort, fc.integer({ min: 0, max: 12 })).map(([lo, n]) => ({ lo, hi: Math.min(65535, lo + n) }));

  it('ports: has(), within()', () => {
    fc.assert(
      fc.property(fc.array(arbRange, { maxLength: 12 }), fc.array(arbRange, { maxLength: 6 }), fc.array(arbPort, { minLength: 1, maxLength: 30 }), (rs, others, probes) => {
        const s = new PortSet(rs);
        const o = new PortSet(others);
        const inWithin = (p: number) => s.within(o).some(([lo, hi]) => lo <= p && p <= hi);
        for (const p of [...probes, ...rs.flatMap((r) => [r.lo - 1, r.lo, r.hi, r.hi + 1])]) {
          const naive = rs.some((r) => r.lo <= p && p <= r.hi);
          expect(s.has(p), `${p} in ${JSON.stringify(rs)}`).toBe(naive);
          expect(inWithin(p)).toBe(naive && others.some((r) => r.lo <= p && p <= r.hi));
        }
        // Sorted, disjoint, not touching.
        s.ranges.forEach(([lo, hi], i) => {
          expect(lo).toBeLessThanOrEqual(hi);
          if (i) expect(lo).toBeGreaterThan(s.ranges[i - 1][1] + 1);
        });
      }),
      { seed: 101, numRuns: 300 },
    );
  });

  // Small address spaces, so that CIDRs overlap, nest and touch.
  type AR = { family: Family; first: bigint; last: bigint };
  const arbCidr = fc.oneof(
    fc.tuple(fc.integer({ min: 0, max: 63 }), fc.integer({ min: 26, max: 32 })).map(([x, prefix]): AR => {
      const first = (0x0a000000n + BigInt(x) * 4n) & ~((1n << BigInt(32 - prefix)) - 1n);
      return { family: 'ipv4', first, last: first + (1n << BigInt(32 - prefix)) - 1n };
    }),
    fc.tuple(fc.integer({ min: 0, max: 63 }), fc.integer({ min: 122, max: 128 })).map(([x, prefix]): AR => {
      const first = BigInt(x) * 2n & ~((1n << BigInt(128 - prefix)) - 1n);
      return { family: 'ipv6', first, last: first + (1n << BigInt(128 - prefix)) - 1n };
    }),
    fc.constantFrom<AR>({ family: 'ipv4', first: 0n, last: MAX.ipv4 }, { family: 'ipv6', first: MAX.ipv6, last: MAX.ipv6 }),
  );
  const arbProbe = fc.tuple(fc.constantFrom<Family>('ipv4', 'ipv6'), fc.integer({ min: -2, max: 300 })).map(([family, x]): [Family, bigint] => {
    const v = family === 'ipv4' ? 0x0a000000n + BigInt(x) : BigInt(x);
    return [family, v < 0n ? MAX[family] : v];
  });

  it('addresses: has(), meets(), cidrs(), minusCidrs()', () => {
    fc.assert(
      fc.property(fc.array(arbCidr, { maxLength: 12 }), fc.array(arbCidr, { maxLength: 6 }), fc.array(arbProbe, { minLength: 1, maxLength: 30 }), (cs, others, probes) => {
        const s = new AddrSet(cs);
        const o = new AddrSet(others);
        const naive = (list: typeof cs, f: Family, v: bigint) => list.some((c) => c.family === f && c.first <= v && v <= c.last);
        const inCidrs = (list: { family: Family; addr: string; prefix: number }[], f: Family, v: bigint) =>
          list.some((c) => {
            const r = parseCidr(`${c.addr}/${c.prefix}`);
            if (!r.ok) throw new Error(`not a CIDR: ${c.addr}/${c.prefix}`);
            return c.family === f && r.cidr.first <= v && v <= r.cidr.last;
          });
        const edges = cs.flatMap((c): [Family, bigint][] => [c.first - 1n, c.first, c.last, c.last + 1n].filter((v) => v >= 0n && v <= MAX[c.family]).map((v) => [c.family, v]));
        for (const [f, v] of [...probes, ...edges]) {
          const want = naive(cs, f, v);
          expect(s.has(f, v), `${f} ${v} in ${cs.map((c) => `${c.first}-${c.last}`).join(',')}`).toBe(want);
          expect(inCidrs(s.cidrs(f), f, v)).toBe(want);
          expect(inCidrs(s.minusCidrs(f, o), f, v)).toBe(want && !naive(others, f, v));
          // meets: [v, v + 3]
          const hi = v + 3n > MAX[f] ? MAX[f] : v + 3n;
          expect(s.meets(f, v, hi)).toBe(cs.some((c) => c.family === f && c.first <= hi && c.last >= v));
        }
      }),
      { seed: 202, numRuns: 300 },
    );
  });

  it('single addresses (DNS servers, passthrough)', () => {
    fc.assert(
      fc.property(fc.array(arbProbe, { maxLength: 15 }), fc.array(arbProbe, { minLength: 1, maxLength: 30 }), (as, probes) => {
        const list = as.map(([family, value]) => ({ family, value }));
        const s = AddrSet.ofAddresses(list);
        for (const [f, v] of [...probes, ...as]) expect(s.has(f, v)).toBe(list.some((a) => a.family === f && a.value === v));
      }),
      { seed: 303, numRuns: 300 },
    );
  });

  it('owners: ids and names, never an id for a name that spells it', () => {
    const arbOwner = fc.oneof(
      fc.integer({ min: 0, max: 20 }).map((id): Owner => ({ kind: 'id', id, span: null })),
      fc.constantFrom('app', 'envoy', '5', 'proxy').map((name): Owner => ({ kind: 'name', name, span: null })),
    );
    const arbValue = fc.oneof(fc.integer({ min: 0, max: 22 }), fc.constantFrom('app', 'envoy', '5', '6', 'nobody'), fc.constant(undefined));
    fc.assert(
      fc.property(fc.array(arbOwner, { maxLength: 10 }), fc.array(arbValue, { minLength: 1, maxLength: 30 }), (os, probes) => {
        const s = new OwnerSet(os);
        for (const v of probes) {
          const naive = v !== undefined && os.some((o) => (o.kind === 'id' ? o.id === v : o.name === v));
          expect(s.has(v), `${String(v)} in ${JSON.stringify(os)}`).toBe(naive);
        }
        expect(new Set(s.values).size).toBe(s.values.length);
      }),
      { seed: 404, numRuns: 300 },
    );
  });

  it('interfaces: exact names and prefixes', () => {
    const arbName = fc.array(fc.constantFrom('e', 't', 'h', '0', '1', 'v'), { maxLength: 4 }).map((cs) => cs.join(''));
    const arbIface = fc.tuple(arbName, fc.boolean()).map(([name, prefix]): Interface => ({ name, prefix, span: null }));
    fc.assert(
      fc.property(fc.array(arbIface, { maxLength: 10 }), fc.array(arbName, { minLength: 1, maxLength: 30 }), (is, probes) => {
        const s = new NameSet(is);
        for (const n of [...probes, ...is.map((i) => i.name), ...is.map((i) => i.name + 'x')]) {
          const naive = is.some((i) => (i.prefix ? n.startsWith(i.name) : n === i.name));
          expect(s.has(n), `${n} in ${JSON.stringify(is)}`).toBe(naive);
          // The patterns (what the engine is given) say the same.
          expect(s.patterns.some((i) => (i.prefix ? n.startsWith(i.name) : n === i.name))).toBe(naive);
        }
      }),
      { seed: 505, numRuns: 300 },
    );
  });
});

// ---- constants with fixed fields on random small policies ------------------------------------

/** Random small policies: every list the language has, drawn from values that overlap. */
const sub = <T>(xs: T[]) => fc.subarray(xs, { minLength: 1, maxLength: Math.min(4, xs.length) });
const list = (xs: string[]) => sub(xs).map((v) => v.join(', '));
const opt = <T>(a: fc.Arbitrary<T>) => fc.option(a, { nil: undefined, freq: 2 });
const PORTS = ['22', '53', '80', '443', '3306', '8080', '9000-9100', '15001', '15006', '15008', '15020', '15053', '20000-20002', '20004', '1-1024'];
const CIDRS = ['10.0.0.0/8', '10.1.0.0/16', '10.1.2.0/24', '10.1.2.3/32', '10.1.2.4/31', '127.0.0.0/8', '127.0.0.1/32', '169.254.169.254/32', '192.168.0.0/16', 'fd00::/8', '::1/128', 'fd00:1::/64', '2001:db8::/32'];
const HOSTS = ['10.96.0.10', '10.1.2.3', '127.0.0.53', '127.0.0.1', '127.0.0.6', 'fd00::a', '::1', '::6', '10.1.2.5'];
const arbParts = fc.record({
  uid: opt(fc.oneof(list(['1337', '1000', 'envoy', '1336-1338']), fc.constant('none'))),
  gid: opt(fc.oneof(list(['1337', '888', 'proxy']), fc.constant('none'))),
  tunnelPort: opt(fc.constantFrom('15008', 'none', '80')),
  mode: opt(fc.constantFrom('redirect', 'tproxy', 'tproxy mark 7 table 100 local-mark 8')),
  inCapture: opt(fc.oneof(fc.constant('*'), fc.constant('none'), list(PORTS))),
  inExclude: opt(list(PORTS)),
  inExcludeSources: opt(list(CIDRS)),
  outCidrs: opt(fc.oneof(fc.constant('*'), fc.constant('none'), list(CIDRS))),
  outExcludeCidrs: opt(list(CIDRS)),
  outPorts: opt(list(PORTS)),
  outExcludePorts: opt(list(PORTS)),
  outExcludeForUids: opt(list(['tcp:22:1000', 'udp:53:1337', '1000', 'tcp:9000-9100:1336-1338', '*:*:envoy', '80:0'])),
  groups: opt(fc.oneof(fc.constant('*'), list(['1000', '2000', 'app', '1337']))),
  excludeGroups: opt(list(['888', '999', '1000', 'batch'])),
  passthrough: opt(fc.oneof(fc.constant('none'), list(HOSTS))),
  localhost: opt(fc.oneof(list(['127.0.0.1/32', '127.0.0.0/8', '::1/128', '10.1.2.0/24', 'fd00::/8']), fc.constant('none'))),
  selfRedirect: opt(fc.constantFrom('on', 'off')),
  dns: opt(fc.oneof(fc.constant('all'), fc.constant('off'), list(HOSTS).map((s) => `servers ${s}`))),
  ifExclude: opt(list(['eth1', 'veth+', 'eth+', 'lo', 'tap0', 'v+'])),
  ifReroute: opt(list(['eth2', 'tap+', 'veth7', 'lo'])),
  vnet: opt(list(['eth2:10.1.0.0/16', 'docker0:172.17.0.0/16', 'v+:fd00::/8', 'tap0:10.1.2.3/32'])),
  dnsTcp: opt(fc.constantFrom('capture', 'pass')),
  dnsZones: opt(fc.constantFrom('on', 'off')),
  order: opt(fc.constantFrom('proxy-first', 'exclusions-first')),
  dropInvalid: opt(fc.constantFrom('on', 'off')),
  families: opt(fc.constantFrom('ipv4, ipv6', 'ipv4', 'ipv6')),
});

function validPolicy(text: string): Policy | undefined {
  const l = loadText('policy.intercept', text, 'intercept');
  return l.diagnostics.some((d) => d.severity === 'error') ? undefined : l.policy;
}

type Field = 'iif' | 'oif' | 'uid' | 'gid' | 'mark' | 'ctmark' | 'sport' | 'dport' | 'saddr' | 'daddr';
/** The order in which the engine fixes the fields (src/verify/explore.ts). */
const ORDER: Field[] = ['iif', 'oif', 'uid', 'gid', 'mark', 'ctmark', 'sport', 'dport', 'saddr', 'daddr'];

/**
 * Every value where one of the policy's lists starts or stops, and its neighbours: the
 * points of the unfiltered lists, where the meaning's outcome can change at all.
 */
function pools(p: Policy) {
  const ports = new Set<number>([0, 1, 52, 53, 54, 80, 8080, 15001, 15006, 15008, 15053, 40000, 65535]);
  const addPort = (lo: number, hi = lo) => [lo - 1, lo, hi, hi + 1, (lo + hi) >> 1].forEach((x) => x >= 0 && x <= 65535 && ports.add(x));
  const ic = p.inbound.capturePorts.value;
  if (ic.kind === 'list') ic.items.forEach((r) => addPort(r.lo, r.hi));
  [...p.inbound.excludePorts.value, ...p.outbound.capturePorts.value, ...p.outbound.excludePorts.value, ...p.outbound.excludePortsForUids.value.map((x) => x.ports)].forEach((r) => addPort(r.lo, r.hi));
  [p.proxy.inboundPort.value, p.proxy.outboundPort.value, p.proxy.tunnelPort.value, p.dns.port.value].forEach((x) => x !== null && addPort(x));
  const addrs: Record<Family, Set<string>> = { ipv4: new Set(['0.0.0.0', '255.255.255.255', '8.8.8.8']), ipv6: new Set(['::', 'ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff', '2001:db9::1']) };
  const addRange = (f: Family, first: bigint, last: bigint) => {
    for (const v of [first - 1n, first, (first + last) / 2n, last, last + 1n]) if (v >= 0n && v <= MAX[f]) addrs[f].add(canonicalAddress(f, v));
  };
  const oc = p.outbound.captureCidrs.value;
  [...(oc.kind === 'list' ? oc.items : []), ...p.outbound.excludeCidrs.value, ...p.loopback.localhost.value, ...p.inbound.excludeSources.value, ...p.interfaces.vnet.value.map((v) => v.cidr)].forEach((c) => addRange(c.family, c.first, c.last));
  const dns = p.dns.capture.value;
  [...p.loopback.passthrough.value, ...(dns.kind === 'servers' ? dns.servers : [])].forEach((a) => addRange(a.family, a.value, a.value));
  const owners = new Set<number | string>([0, 4000000000, 'nobody']);
  const g = p.outbound.groups.value;
  [...p.proxy.uids.value, ...p.proxy.gids.value, ...(g.kind === 'list' ? g.items : []), ...p.outbound.excludeGroups.value, ...p.outbound.excludePortsForUids.value.flatMap((x) => x.uids)].forEach((o) => {
    owners.add(o.kind === 'id' ? o.id : o.name);
    if (o.kind === 'id') owners.add(o.id + 1);
  });
  const ifaces = new Set<string>(['', 'lo', 'eth0', 'lo0', 'zz0']);
  [...p.interfaces.exclude.value, ...p.interfaces.reroute.value, ...p.interfaces.vnet.value.map((v) => v.iface)].forEach((i) => [i.name, i.name + '0', i.name + 'x', i.name.slice(0, -1)].forEach((n) => ifaces.add(n)));
  const marks = new Set<number>([0, 1]);
  const mode = p.inbound.mode.value;
  if (mode.kind === 'tproxy') [mode.mark, mode.localMark, mode.mark + 1, mode.localMark + 1].forEach((x) => marks.add(x >>> 0));
  return { ports: [...ports], addrs: { ipv4: [...addrs.ipv4], ipv6: [...addrs.ipv6] }, owners: [...owners], ifaces: [...ifaces], marks: [...marks] };
}
type Pools = ReturnType<typeof pools>;

function poolOf(pl: Pools, field: Field, family: Family): unknown[] {
  if (field === 'sport' || field === 'dport') return pl.ports;
  if (field === 'saddr' || field === 'daddr') return pl.addrs[family];
  if (field === 'uid' || field === 'gid') return pl.owners;
  if (field === 'iif' || field === 'oif') return pl.ifaces;
  return pl.marks;
}

function randomPacket(pl: Pools, rand: () => number): Packet {
  const pick = <T>(xs: T[]): T => xs[Math.floor(rand() * xs.length)];
  const family: Family = rand() < 0.5 ? 'ipv4' : 'ipv6';
  const hook = rand() < 0.6 ? 'output' : 'prerouting';
  const protocol = pick(['tcp', 'tcp', 'udp', 'udp', 'sctp', family === 'ipv4' ? 'icmp' : 'icmpv6'] as const);
  const ported = protocol !== 'icmp' && protocol !== 'icmpv6';
  const p: Packet = {
    hook,
    family,
    protocol,
    src: pick(pl.addrs[family]),
    dst: pick(pl.addrs[family]),
    sport: ported ? pick(pl.ports) : 0,
    dport: ported ? pick(pl.ports) : 0,
    iif: hook === 'prerouting' ? pick(pl.ifaces) : '',
    oif: hook === 'output' ? pick(pl.ifaces) : '',
    mark: pick(pl.marks),
    ctmark: pick(pl.marks),
    ctstate: pick(['new', 'new', 'established', 'related', 'invalid', 'untracked'] as const),
  };
  if (hook === 'output') {
    p.uid = pick(pl.owners);
    p.gid = pick(pl.owners);
  }
  return p;
}

const keyOf = (f: Field): keyof Packet => (f === 'saddr' ? 'src' : f === 'daddr' ? 'dst' : f);
function withValue(p: Packet, f: Field, v: unknown): Packet {
  const q = { ...p } as Record<string, unknown>;
  q[keyOf(f)] = v;
  return q as unknown as Packet;
}

/**
 * The packet as the engine has it when it asks for `field`: the later fields not fixed.
 * Here they get RANDOM values (another packet's), not the engine's start values, so that
 * constants that read a field not yet fixed are caught.
 */
function asEngineSees(p: Packet, field: Field, other: Packet): Packet {
  const first = ORDER.indexOf(field === 'ctmark' ? 'mark' : field);
  const later = ORDER.slice(field === 'mark' || field === 'ctmark' ? first + 2 : first + 1);
  const q = { ...p } as Record<string, unknown>;
  const o = other as unknown as Record<string, unknown>;
  for (const f of later) {
    const k = keyOf(f);
    if ((f === 'iif' && p.hook === 'output') || (f === 'oif' && p.hook !== 'output') || ((f === 'uid' || f === 'gid') && p.hook !== 'output')) continue;
    if (f === 'saddr' || f === 'daddr') q[k] = p.family === other.family ? o[k] : p.family === 'ipv4' ? '0.0.0.0' : '::';
    else q[k] = o[k];
  }
  return q as unknown as Packet;
}

const addr = (s: string) => {
  const a = parseAddress(s);
  if (!a.ok) throw new Error(s);
  return a.value;
};

/**
 * The class of a value under the constants, as the engine forms classes: the labels
 * (`alike`) of the entries that hold at the value, an entry without a label being its own
 * class; for ports and addresses the set of them (src/verify/explore-interval.ts), for
 * owners and interfaces the sorted list (src/verify/explore.ts). So values whose entries
 * share labels fall in one class, and must get one outcome.
 */
function classOf(f: Field, v: unknown, k: Constants, family: Family): string {
  const label = (kind: 'ports' | 'cidrs' | 'owners' | 'ifaces', i: number) => {
    const l = k.alike?.[kind]?.[i];
    return l === undefined ? `#${i}` : `:${l}`;
  };
  const held = (kind: 'ports' | 'cidrs' | 'owners' | 'ifaces', holds: boolean[], asSet: boolean) => {
    const ls = holds.flatMap((h, i) => (h ? [label(kind, i)] : []));
    return (asSet ? [...new Set(ls)] : ls).sort().join(',');
  };
  switch (f) {
    case 'sport':
    case 'dport':
      return held('ports', k.ports.map(([lo, hi]) => lo <= (v as number) && (v as number) <= hi), true);
    case 'saddr':
    case 'daddr': {
      const x = addr(v as string);
      const holds = k.cidrs.map((c) => {
        if (c.family !== family) return false;
        const r = parseCidr(`${c.addr}/${c.prefix}`);
        if (!r.ok) throw new Error(`bad constant ${c.addr}/${c.prefix}`);
        return r.cidr.first <= x && x <= r.cidr.last;
      });
      return held('cidrs', holds, true);
    }
    case 'uid':
    case 'gid':
      return held('owners', k.owners.map((o) => o === v), false);
    case 'iif':
    case 'oif':
      return held('ifaces', k.ifaces.map((i) => (i.prefix ? String(v).startsWith(i.name) : v === i.name)), false);
    case 'mark':
    case 'ctmark':
      return k.marks.includes(v as number) ? `=${String(v)}` : 'other';
  }
}

/**
 * For `n` random packets and a field each: every value of the field's pool, grouped by
 * the class the constants (asked with the later fields not fixed) give it; one outcome per
 * class. Returns the first violation, and how many classes held more than one value.
 */
function checkFixed(p: Policy, seed: number, n: number): { violation?: string; shared: number; acrossEntries: number } {
  const m = new Meaning(p);
  const pl = pools(p);
  const rand = rng(seed);
  let shared = 0;
  // Values in one class that the entries alone (without labels) would have told apart.
  let acrossEntries = 0;
  for (let i = 0; i < n; i++) {
    const pkt = randomPacket(pl, rand);
    const ported = pkt.protocol === 'tcp' || pkt.protocol === 'udp' || pkt.protocol === 'sctp';
    const fields = ORDER.filter((f) => (f !== 'sport' && f !== 'dport') || ported).filter((f) => (pkt.hook === 'output' ? f !== 'iif' : f !== 'oif' && f !== 'uid' && f !== 'gid'));
    const field = fields[Math.floor(rand() * fields.length)];
    const k = m.constants(field === 'mark' || field === 'ctmark' ? 'marks' : field, asEngineSees(pkt, field, randomPacket(pl, rand)));
    const unlabelled = { ...k, alike: undefined };
    const classes = new Map<string, { v: unknown; out: string; entries: string }>();
    for (const v of poolOf(pl, field, pkt.family)) {
      const q = withValue(pkt, field, v);
      const out = relative(m.evaluate(q).outcome, q);
      const c = classOf(field, v, k, pkt.family);
      const entries = classOf(field, v, unlabelled, pkt.family);
      const seen = classes.get(c);
      if (!seen) classes.set(c, { v, out, entries });
      else {
        shared++;
        if (seen.entries !== entries) acrossEntries++;
        if (seen.out !== out) return { violation: `${field}: ${String(seen.v)} and ${String(v)} in one class (${c}) of ${JSON.stringify(k)}, outcomes ${seen.out} and ${out}, packet ${JSON.stringify(pkt)}`, shared, acrossEntries };
      }
    }
  }
  return { shared, acrossEntries };
}

describe('constants given the fixed fields', () => {
  it('are sound on random small policies (values in one class get one outcome)', () => {
    let valid = 0;
    let acrossEntries = 0;
    fc.assert(
      fc.property(arbParts, fc.integer({ min: 1, max: 2 ** 30 }), (x, seed) => {
        const text = policyText(x);
        const p = validPolicy(text);
        fc.pre(p !== undefined);
        valid++;
        const r = checkFixed(p, seed, 150);
        acrossEntries += r.acrossEntries;
        expect(r.violation, `${text}\n${r.violation}`).toBeUndefined();
      }),
      { seed: 606, numRuns: 150 },
    );
    expect(valid).toBeGreaterThan(100);
    // The labels were exercised: values of different entries shared a class.
    expect(acrossEntries).toBeGreaterThan(100);
  }, 120_000);

  it('a constants() that drops a list is caught (the check can fail)', () => {
    const p = validPolicy('policy t {\n  outbound {\n    capture cidrs *\n    exclude cidrs 10.0.0.0/8\n    exclude ports 3306\n  }\n}\n')!;
    const m = new Meaning(p);
    const bad = Object.create(m) as Meaning;
    bad.constants = (f, q) => (f === 'daddr' ? { ports: [], cidrs: [], owners: [], ifaces: [], marks: [] } : m.constants(f, q));
    const pkt: Packet = { hook: 'output', family: 'ipv4', protocol: 'tcp', src: '10.1.0.1', dst: '10.0.0.1', sport: 40000, dport: 80, iif: '', oif: 'eth0', uid: 0, gid: 0, mark: 0, ctmark: 0, ctstate: 'new' };
    const k = bad.constants('daddr', pkt);
    // 10.0.0.1 (excluded) and 8.8.8.8 (captured) fall in one class of the bad constants.
    expect(classOf('daddr', '10.0.0.1', k, 'ipv4')).toBe(classOf('daddr', '8.8.8.8', k, 'ipv4'));
    expect(relative(m.evaluate(pkt).outcome, pkt)).not.toBe(relative(m.evaluate({ ...pkt, dst: '8.8.8.8' }).outcome, pkt));
    expect(classOf('daddr', '10.0.0.1', m.constants('daddr', pkt), 'ipv4')).not.toBe(classOf('daddr', '8.8.8.8', m.constants('daddr', pkt), 'ipv4'));
  });
});

describe('labels (alike)', () => {
  const p = validPolicy('policy t {\n  outbound {\n    capture cidrs 192.168.0.0/16\n    capture ports 80, 8080\n    exclude ports 3306, 5432\n  }\n}\n')!;
  const m = new Meaning(p);
  const pkt: Packet = { hook: 'output', family: 'ipv4', protocol: 'tcp', src: '10.1.0.1', dst: '10.0.0.1', sport: 40000, dport: 1, iif: '', oif: 'eth0', uid: 0, gid: 0, mark: 0, ctmark: 0, ctstate: 'new' };
  const out = (dport: number) => relative(m.evaluate({ ...pkt, dport }).outcome, pkt);

  it('the entries of one list share a label; different lists do not', () => {
    const k = m.constants('dport', pkt);
    expect(classOf('dport', 80, k, 'ipv4')).toBe(classOf('dport', 8080, k, 'ipv4'));
    expect(classOf('dport', 3306, k, 'ipv4')).toBe(classOf('dport', 5432, k, 'ipv4'));
    expect(classOf('dport', 80, k, 'ipv4')).not.toBe(classOf('dport', 3306, k, 'ipv4'));
    expect(out(80)).toBe(out(8080));
    expect(out(80)).not.toBe(out(3306));
  });

  it('a labelling that gives two lists one label is caught (the check can fail)', () => {
    const k = m.constants('dport', pkt);
    const bad: Constants = { ...k, alike: { ...k.alike, ports: k.ports.map(() => 0) } };
    expect(classOf('dport', 80, bad, 'ipv4')).toBe(classOf('dport', 3306, bad, 'ipv4'));
    expect(out(80)).not.toBe(out(3306));
  });
});

describe('constants at scale', () => {
  const cidrs = Array.from({ length: 2000 }, (_, i) => `10.${i >> 7}.${(i & 127) * 2}.0/24`);
  const ports = Array.from({ length: 500 }, (_, i) => 20000 + 2 * i);
  const p = validPolicy(`policy s {\n  outbound {\n    capture cidrs *\n    exclude cidrs ${cidrs.join(', ')}\n    exclude ports ${ports.join(', ')}, 30000-30999\n  }\n}\n`)!;
  const m = new Meaning(p);
  const pkt: Packet = { hook: 'output', family: 'ipv4', protocol: 'tcp', src: '10.200.0.1', dst: '0.0.0.0', sport: 40000, dport: 20002, iif: '', oif: 'eth0', uid: 0, gid: 0, mark: 0, ctmark: 0, ctstate: 'new' };

  it('an excluded destination port leaves the destination nothing to decide', () => {
    expect(m.constants('daddr', pkt).cidrs).toEqual([]);
    expect(m.constants('daddr', { ...pkt, dport: 30500 }).cidrs).toEqual([]);
  });

  it('other ports get the excluded CIDRs and localhost, each once', () => {
    const k = m.constants('daddr', { ...pkt, dport: 20001 }).cidrs;
    expect(k).toHaveLength(2001);
    expect(new Set(k.map((c) => `${c.addr}/${c.prefix}`)).size).toBe(2001);
    expect(k).toContainEqual({ family: 'ipv4', addr: '127.0.0.1', prefix: 32 });
    // UDP is redirected only as DNS: no CIDR matters.
    expect(m.constants('daddr', { ...pkt, protocol: 'udp', dport: 20001 }).cidrs).toEqual([]);
  });

  it('the destination ports come merged: adjacent excluded ports are one range', () => {
    const k = m.constants('dport', pkt).ports;
    expect(k).toContainEqual([30000, 30999]);
    expect(k.filter(([lo, hi]) => lo >= 20000 && hi <= 30999)).toHaveLength(501);
  });

  it('and all of them carry one label, as do the excluded CIDRs', () => {
    const k = m.constants('dport', pkt);
    const ls = k.alike?.ports ?? [];
    expect(ls).toHaveLength(k.ports.length);
    expect(new Set(k.ports.flatMap(([lo, hi], i) => (lo >= 20000 && hi <= 30999 ? [ls[i]] : []))).size).toBe(1);
    const d = m.constants('daddr', { ...pkt, dport: 20001 });
    expect(d.alike?.cidrs).toHaveLength(2001);
    expect(new Set(d.alike?.cidrs).size).toBe(1);
  });
});
