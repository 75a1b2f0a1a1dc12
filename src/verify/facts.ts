// What the kernel can produce: the facts that take packets no one can send out of the
// proof's search space (docs/facts.md gives each one with its source and how it was seen),
// and the values a reported packet is given so that a person recognises it (an ephemeral
// source port, a routable address, eth0, uid 1000). The facts restrict the classes before
// they are explored, so a proof says nothing about such packets and no difference is ever
// found among them; the picks only choose a member of a class, never change the class.
import type { Family } from '../ir/types.js';
import { parseAddress } from '../net/ip.js';
import type { Range } from '../net/intervals.js';
import type { Packet } from '../sim/packet.js';
import type { IField } from './interval-fields.js';

const addr = (s: string) => {
  const a = parseAddress(s);
  if (!a.ok) throw new Error(s);
  return a.value;
};
const cidr = (s: string): Range => {
  const [a, len] = s.split('/');
  const bits = a.includes(':') ? 128n : 32n;
  const lo = addr(a);
  return [lo, lo + (1n << (bits - BigInt(len))) - 1n];
};

const V4_MAX = (1n << 32n) - 1n;
const V6_MAX = (1n << 128n) - 1n;
const LOOP_V4 = cidr('127.0.0.0/8');
const LOOP_V6: Range = [1n, 1n];
const without = (r: Range, max: bigint): Range[] => [...(r[0] > 0n ? [[0n, r[0] - 1n] as Range] : []), ...(r[1] < max ? [[r[1] + 1n, max] as Range] : [])];
const NOT_LOOP_V4 = without(LOOP_V4, V4_MAX);
const NOT_LOOP_V6 = without(LOOP_V6, V6_MAX);
const PORTS: Range[] = [[1n, 65535n]];

const hasPorts = (p: Packet) => p.protocol === 'tcp' || p.protocol === 'udp' || p.protocol === 'sctp';

/**
 * The values of an interval field the kernel can produce for a packet whose discrete
 * fields (hook, protocol, interfaces) are fixed; undefined: all of them. Facts F2-F5 of
 * docs/facts.md.
 */
export function allowed(field: IField, p: Packet): Range[] | undefined {
  if (field === 'sport' || field === 'dport') return hasPorts(p) ? PORTS : undefined; // F2
  const out = p.hook === 'output';
  const viaLo = out ? p.oif === 'lo' : p.iif === 'lo';
  if (viaLo) return undefined;
  const v4 = p.family === 'ipv4';
  if (field === 'daddr') {
    if (out) return v4 ? NOT_LOOP_V4 : NOT_LOOP_V6; // F3
    return v4 ? undefined : NOT_LOOP_V6; // F5
  }
  if (v4) return NOT_LOOP_V4; // F4 (out), F5 (in)
  return out ? undefined : NOT_LOOP_V6; // F5
}

/** F1: a packet on the output path has an output interface, an arriving one an input interface. */
export const IFACE_REQUIRED = true;

/** The values of `segs` (sorted, disjoint) that `allow` keeps. */
export function intersect(segs: Range[], allow: Range[] | undefined): Range[] {
  if (!allow) return segs;
  const out: Range[] = [];
  let j = 0;
  for (const [lo, hi] of segs) {
    while (j < allow.length && allow[j][1] < lo) j++;
    for (let k = j; k < allow.length && allow[k][0] <= hi; k++) {
      const a = lo > allow[k][0] ? lo : allow[k][0];
      const b = hi < allow[k][1] ? hi : allow[k][1];
      if (a <= b) out.push([a, b]);
    }
  }
  return out;
}

const inSegs = (segs: Range[], v: bigint) => segs.some(([lo, hi]) => lo <= v && v <= hi);

const PREFERRED: Record<Family, Range[]> = {
  ipv4: ['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16', '100.64.0.0/10', '1.0.0.0/8', '8.0.0.0/7', '11.0.0.0/8', '12.0.0.0/6', '16.0.0.0/4', '32.0.0.0/3', '64.0.0.0/3', '128.0.0.0/2', '192.0.0.0/3', '127.0.0.0/8'].map(cidr),
  ipv6: ['fd00::/8', '2000::/3', 'fc00::/8', '::1/128', '::ffff:0:0/96'].map(cidr),
};
/** Typical addresses: the pod's own (the source of what it sends) and a peer's. */
const TYPICAL: Record<Family, { pod: bigint; peer: bigint }> = {
  ipv4: { pod: addr('10.1.0.5'), peer: addr('10.2.0.9') },
  ipv6: { pod: addr('fd00:1::5'), peer: addr('fd00:2::9') },
};
const EPHEMERAL = 40000n;
const SERVICE_PORTS = [80n, 443n, 8080n, 9080n];

/**
 * A member of `segs` (sorted, disjoint, not empty) a person would recognise as a value of
 * the field: an ephemeral source port, a common service port, a routable address (a host,
 * not a network's first address) in the pod's or a peer's usual range.
 */
export function realistic(field: IField, p: Pick<Packet, 'family' | 'hook'> & Partial<Pick<Packet, 'iif' | 'oif'>>, segs: Range[]): bigint {
  if (!segs.length) throw new Error('realistic: an empty class');
  if (field === 'sport' || field === 'dport') {
    const wanted = field === 'sport' ? [EPHEMERAL] : SERVICE_PORTS;
    for (const v of wanted) if (inSegs(segs, v)) return v;
    if (field === 'sport') {
      // The ephemeral range (ip_local_port_range 32768-60999) first.
      const e = intersect(segs, [[32768n, 60999n]]);
      if (e.length) return e[0][0];
    }
    const nz = intersect(segs, [[1n, 65535n]]);
    return nz.length ? nz[0][0] : segs[0][0];
  }
  const fam = p.family;
  // Through lo both ends are the pod's own (docs/facts.md F3): its address, or 127.0.0.1.
  const viaLo = p.hook === 'output' ? p.oif === 'lo' : p.iif === 'lo';
  const pod = viaLo || (field === 'saddr') === (p.hook === 'output');
  const typical = pod ? TYPICAL[fam].pod : TYPICAL[fam].peer;
  if (inSegs(segs, typical)) return typical;
  if (viaLo && fam === 'ipv4' && inSegs(segs, LOOP_V4[0] + 1n)) return LOOP_V4[0] + 1n;
  for (const pref of PREFERRED[fam]) {
    const hit = intersect(segs, [pref]);
    if (!hit.length) continue;
    const [lo, hi] = hit.find(([a, b]) => b > a) ?? hit[0];
    // A host of the range: not its first address (a network's), when there is a choice.
    return hi > lo ? lo + 1n : lo;
  }
  const [lo, hi] = segs[0];
  return hi > lo ? lo + 1n : lo;
}

/** A typical owner for "any other uid/gid" (a first ordinary user). */
export const TYPICAL_OWNER = 1000;
/** Typical names for "any other interface". */
export const TYPICAL_IFACES = ['eth0', 'eth1', 'ens3', 'net0'];

/** Whether the kernel can produce a packet (facts F1-F5): what a packet sample should hold to. */
export function producible(p: Packet): boolean {
  if (p.hook === 'output' ? p.oif === '' : p.iif === '') return false; // F1
  const value: Record<IField, bigint> = { sport: BigInt(p.sport), dport: BigInt(p.dport), saddr: addr(p.src), daddr: addr(p.dst) };
  for (const f of ['sport', 'dport', 'saddr', 'daddr'] as const) {
    const al = allowed(f, p);
    if (al && !inSegs(al, value[f])) return false;
  }
  return true;
}
