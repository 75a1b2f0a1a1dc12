// Which probes to send for one rule set: read off the rules themselves, so every port range,
// CIDR, owner and interface they mention is probed at and just beside its edges, from the
// proxy's ids and an ordinary user's, over IPv4 and IPv6, outbound, inbound, to localhost,
// to the pod's own address, from the passthrough address, UDP and TCP DNS.
import type { Family, RuleSet } from '../../../src/ir/types.js';
import { ifaceNames } from '../../../src/ir/keys.js';
import { canonicalAddress, parseCidr } from '../../../src/net/ip.js';
import { extraLink, LOOPBACK, MAIN_IF, NONLOCAL, PASSTHROUGH_V6, PEER, POD } from './lab.js';

export interface Probe {
  id: number;
  /** out: the pod's agent sends it; in: the peer's. */
  dir: 'out' | 'in';
  proto: 'tcp' | 'udp';
  family: Family;
  src: string;
  sport: number;
  dst: string;
  dport: number;
  uid?: number;
  gid?: number;
  /** The names the rules use for uid and gid (the lab's /etc/passwd and /etc/group give them these ids). */
  uidName?: string;
  gidName?: string;
  /** The pod's interface the packet leaves by (out) or arrives on (in). */
  podIf: string;
  /** What the probe is for, in words (printed with a disagreement). */
  why: string;
}

export interface Plan {
  probes: Probe[];
  /** Ports the pod and the peer listen on. */
  tcpPorts: number[];
  udpPorts: number[];
  /** Pod ports whose listeners are transparent (TPROXY targets). */
  transparent: number[];
  /** A port nobody listens on. */
  closedPort: number;
  /** Extra pod interfaces named by the rules. */
  extraIfs: string[];
  /** Addresses the peer holds on its lo (destinations the rules distinguish). */
  peerTargets: string[];
  /** User and group names the rules use, with the ids the pod's namespace gives them. */
  names: { users: Map<string, number>; groups: Map<string, number> };
}

const APP = 1000;
const CLOSED_PORT = 7;
const BASE_PORTS = [53, 80, 8080];
const UDP_PORTS = [53, 5353];

function isUsableRemote(text: string, family: Family): boolean {
  const v4Bad = ['0.0.0.0/8', '127.0.0.0/8', '224.0.0.0/4', '240.0.0.0/4', '10.77.0.0/16', '10.78.0.0/16'];
  const v6Bad = ['::/127', '::6/128', 'ff00::/8', 'fe80::/10', '::ffff:0:0/96', 'fd77::/16', 'fd78::/16', '::/96'];
  const a = parseCidr(`${text}/${family === 'ipv4' ? 32 : 128}`);
  if (!a.ok) return false;
  return !(family === 'ipv4' ? v4Bad : v6Bad).some((b) => {
    const c = parseCidr(b);
    return c.ok && c.cidr.first <= a.cidr.first && a.cidr.first <= c.cidr.last;
  });
}

/** Addresses inside and just outside each CIDR: first+1, last-1, first-1, last+1. */
function edgePoints(addr: string, prefix: number, family: Family): string[] {
  const c = parseCidr(`${addr}/${prefix}`);
  if (!c.ok) return [];
  const bits = family === 'ipv4' ? 32 : 128;
  const max = (1n << BigInt(bits)) - 1n;
  const { first, last } = c.cidr;
  const inside = last - first >= 2n ? [first + 1n, last - 1n] : [first];
  const outside = [first - 1n, last + 1n].filter((v) => v >= 0n && v <= max);
  return [...inside, ...outside].map((v) => canonicalAddress(family, v));
}

function* walk(rs: RuleSet) {
  for (const t of rs.tables) for (const c of t.chains) for (const r of c.rules) yield r;
}

export function planProbes(rs: RuleSet, opts: { maxPorts?: number; maxTargets?: number } = {}): Plan {
  const portSet = new Set<number>(BASE_PORTS);
  const transparent = new Set<number>();
  const cidrs: { addr: string; prefix: number; family: Family }[] = [];
  const uids = new Set<number>();
  const gids = new Set<number>();
  const ifs = new Set<string>();
  // Owner names are resolved when the rules load (netfilter-facts §1.15): the lab defines
  // them in the pod's namespace (/etc/netns/POD/{passwd,group}) with ids of our choosing.
  const users = new Map<string, number>();
  const groups = new Map<string, number>();
  const named = (m: Map<string, number>, name: string, base: number) => {
    if (!m.has(name)) m.set(name, base + m.size + 1);
    return m.get(name)!;
  };
  const edgePorts: number[] = [];
  for (const r of walk(rs)) {
    for (const m of r.matches) {
      if (m.kind === 'dport' || m.kind === 'sport') for (const [lo, hi] of m.ranges) edgePorts.push(lo, hi, lo - 1, hi + 1);
      if (m.kind === 'daddr' || m.kind === 'saddr') cidrs.push(...m.cidrs);
      // An owner range: both ends (and the id past it) as probes' owners.
      if ((m.kind === 'uid' || m.kind === 'gid') && 'ids' in m) for (const [lo, hi] of m.ids) for (const id of [lo, hi, hi + 1]) (m.kind === 'uid' ? uids : gids).add(id);
      if (m.kind === 'uid' && 'id' in m) uids.add(typeof m.id === 'number' ? m.id : named(users, m.id, 2100));
      if (m.kind === 'gid' && 'id' in m) gids.add(typeof m.id === 'number' ? m.id : named(groups, m.id, 2200));
      if (m.kind === 'iif' || m.kind === 'oif') for (const n of ifaceNames(m)) if (n.name !== 'lo') ifs.add(n.prefix ? `${n.name}0` : n.name);
    }
    for (const a of [r.action, ...(r.effects ?? [])]) {
      if (a.kind === 'redirect') portSet.add(a.port);
      if (a.kind === 'tproxy') {
        portSet.add(a.port);
        transparent.add(a.port);
      }
    }
  }
  const maxPorts = opts.maxPorts ?? 24;
  for (const p of edgePorts) if (portSet.size < maxPorts && p >= 1 && p <= 65535 && p !== CLOSED_PORT) portSet.add(p);
  const tcpPorts = [...portSet].sort((a, b) => a - b);
  // UDP listens wherever TCP does: a UDP redirect to a wrong port must show.
  const udpPorts = [...new Set([...UDP_PORTS, ...tcpPorts])].sort((a, b) => a - b);
  ifs.delete(MAIN_IF);
  const extraIfs = [...ifs].filter((n) => n.length <= 15).sort();

  // Destinations the rules tell apart: edge points of every CIDR they match on.
  // Points inside every CIDR come first, then the ones just outside, so that a cap cuts
  // outside points before any CIDR goes unprobed.
  const remote: Record<Family, string[]> = { ipv4: [], ipv6: [] };
  const local127: string[] = [];
  const maxTargets = opts.maxTargets ?? 16;
  const points = cidrs.map((c) => ({ family: c.family, pts: edgePoints(c.addr, c.prefix, c.family) }));
  for (const round of [0, 1, 2, 3]) {
    for (const { family, pts } of points) {
      const p = pts[round];
      if (p === undefined) continue;
      if (family === 'ipv4' && p.startsWith('127.')) {
        if (!local127.includes(p) && local127.length < 4) local127.push(p);
      } else if (isUsableRemote(p, family) && !remote[family].includes(p) && remote[family].length < maxTargets) remote[family].push(p);
    }
  }
  const peerTargets = [...remote.ipv4, ...remote.ipv6];

  // Owners: an ordinary user, root, and each uid and gid the rules name, alone and together.
  const owners: [number, number][] = [
    [APP, APP],
    [0, 0],
  ];
  for (const u of uids) owners.push([u, APP]);
  for (const g of gids) owners.push([APP, g]);
  const [u0] = uids;
  const [g0] = gids;
  if (u0 !== undefined && g0 !== undefined) owners.push([u0, g0]);
  const uniqueOwners = [...new Map(owners.map((o) => [o.join(':'), o])).values()];

  const probes: Probe[] = [];
  const listening = new Set([...tcpPorts, ...udpPorts, CLOSED_PORT]);
  let sport = 30000;
  const nextSport = () => {
    do sport++;
    while (listening.has(sport));
    return sport;
  };
  const nameOf = (m: Map<string, number>, id: number | undefined) => [...m].find(([, v]) => v === id)?.[0];
  const add = (p: Omit<Probe, 'id' | 'sport'>) => {
    const uidName = nameOf(users, p.uid);
    const gidName = nameOf(groups, p.gid);
    probes.push({ ...p, id: probes.length + 1, sport: nextSport(), ...(uidName ? { uidName } : {}), ...(gidName ? { gidName } : {}) });
  };
  const someTcp = [80, 8080, CLOSED_PORT, ...tcpPorts.filter((p) => p >= 15000).slice(0, 5)];

  for (const family of ['ipv4', 'ipv6'] as Family[]) {
    const pod = POD[family];
    for (const [uid, gid] of uniqueOwners) {
      const who = `uid ${uid} gid ${gid}`;
      // Outbound to the peer: every destination the rules tell apart, every port.
      for (const dst of [PEER[family], ...remote[family]]) add({ dir: 'out', proto: 'tcp', family, src: pod, dst, dport: 80, uid, gid, podIf: MAIN_IF, why: `outbound TCP to ${dst}, ${who}` });
      for (const dport of [...tcpPorts, CLOSED_PORT]) add({ dir: 'out', proto: 'tcp', family, src: pod, dst: PEER[family], dport, uid, gid, podIf: MAIN_IF, why: `outbound TCP to port ${dport}, ${who}` });
      // To localhost and to the pod's own address (through lo).
      const locals = [LOOPBACK[family], pod, ...(family === 'ipv4' ? local127.filter((a) => a !== '127.0.0.1') : [])];
      for (const dst of locals) for (const dport of someTcp) add({ dir: 'out', proto: 'tcp', family, src: dst, dst, dport, uid, gid, podIf: 'lo', why: `TCP to the pod itself (${dst}), ${who}` });
      // From the passthrough address to the pod's own address (the proxy's inbound leg).
      const pass = family === 'ipv4' ? '127.0.0.6' : PASSTHROUGH_V6;
      for (const dport of [80, 8080]) add({ dir: 'out', proto: 'tcp', family, src: pass, dst: pod, dport, uid, gid, podIf: 'lo', why: `passthrough ${pass} to the pod's address, ${who}` });
      // DNS and other UDP, and TCP DNS, to the peer, to localhost and to every local DNS address the rules name.
      const dnsDsts = [PEER[family], ...remote[family].slice(0, 2), LOOPBACK[family], ...(family === 'ipv4' ? local127 : [])];
      for (const dst of [...new Set(dnsDsts)]) {
        const local = dst.startsWith('127.') || dst === '::1';
        const src = local ? dst : pod;
        for (const dport of UDP_PORTS) add({ dir: 'out', proto: 'udp', family, src, dst, dport, uid, gid, podIf: local ? 'lo' : MAIN_IF, why: `UDP to ${dst}:${dport}, ${who}` });
        if (local) add({ dir: 'out', proto: 'tcp', family, src, dst, dport: 53, uid, gid, podIf: 'lo', why: `TCP DNS to ${dst}, ${who}` });
      }
      // Out through each other interface the rules name.
      extraIfs.forEach((name, k) => {
        const l = extraLink(k + 1);
        add({ dir: 'out', proto: 'tcp', family, src: l.pod[family], dst: l.peer[family], dport: 80, uid, gid, podIf: name, why: `outbound TCP via ${name}, ${who}` });
      });
    }
    // Inbound from the peer: every port, the proxy's own ports, UDP.
    for (const dport of [...tcpPorts, CLOSED_PORT]) add({ dir: 'in', proto: 'tcp', family, src: PEER[family], dst: pod, dport, podIf: MAIN_IF, why: `inbound TCP to port ${dport}` });
    for (const dport of UDP_PORTS) add({ dir: 'in', proto: 'udp', family, src: PEER[family], dst: pod, dport, podIf: MAIN_IF, why: `inbound UDP to port ${dport}` });
    // To an address that is not the pod's: delivered only by TPROXY's policy routing.
    for (const dport of [80, 8080]) add({ dir: 'in', proto: 'tcp', family, src: PEER[family], dst: NONLOCAL[family], dport, podIf: MAIN_IF, why: `inbound TCP to a non-local address, port ${dport}` });
    extraIfs.forEach((name, k) => {
      const l = extraLink(k + 1);
      for (const dport of [80, 8080, ...tcpPorts.filter((p) => p >= 15000).slice(0, 2)])
        add({ dir: 'in', proto: 'tcp', family, src: l.peer[family], dst: l.pod[family], dport, podIf: name, why: `inbound TCP via ${name}, port ${dport}` });
      // Traffic through the interface for somewhere else (a VM behind it): what `reroute` is for.
      for (const dport of [80, 8080])
        add({ dir: 'in', proto: 'tcp', family, src: l.peer[family], dst: l.nonlocal[family], dport, podIf: name, why: `TCP via ${name} to ${l.nonlocal[family]} (not the pod's), port ${dport}` });
    });
  }
  return { probes, tcpPorts, udpPorts, transparent: [...transparent], closedPort: CLOSED_PORT, extraIfs, peerTargets, names: { users, groups } };
}
