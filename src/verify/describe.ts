// Descriptions of packet classes for people ("outbound IPv4 TCP to 10.0.0.0/8 port 80"):
// computed only when a difference is reported, so none of this is on the search's path.
import type { Family } from '../ir/types.js';
import { canonicalAddress } from '../net/ip.js';
import { complementRanges, rangeToCidrs, unionRanges, type Range } from '../net/intervals.js';
import type { Packet } from '../sim/packet.js';
import { val, type Desc } from './context.js';
import { intersect } from './facts.js';
import type { IField } from './interval-fields.js';

export function describe(desc: Desc, pkt: Packet): string {
  const parts: string[] = [pkt.hook === 'output' ? 'outbound' : 'inbound', pkt.family === 'ipv4' ? 'IPv4' : 'IPv6'];
  const d = Object.fromEntries(Object.entries(desc).map(([k, v]) => [k, val(v)]));
  if (d.protocol) parts.push(d.protocol);
  for (const k of ['ctstate', 'socket', 'iif', 'oif', 'uid', 'gid', 'marks']) if (d[k]) parts.push(d[k]);
  if (d.saddr || d.sport) parts.push(`from ${d.saddr ?? 'any'}${d.sport ? ` port ${d.sport}` : ''}`);
  if (d.daddr || d.dport) parts.push(`to ${d.daddr ?? 'any'}${d.dport ? ` port ${d.dport}` : ''}`);
  return parts.join(' ');
}

function showRange(field: IField, family: Family, lo: bigint, hi: bigint, max: bigint): string | undefined {
  if (lo === 0n && hi === max) return undefined;
  if (field === 'sport' || field === 'dport') return lo === hi ? String(lo) : `${lo}-${hi}`;
  const cidrs = rangeToCidrs(family, lo, hi, 3);
  if (cidrs.length <= 3) return cidrs.join(', ');
  return `${canonicalAddress(family, lo)}–${canonicalAddress(family, hi)}`;
}

/**
 * A set of values of a field (sorted, disjoint ranges) for people: the ranges, or what is
 * left out when that is shorter ("≠ 127.0.0.1", "∉ {3306, 8080}"). `domain`: the values
 * the kernel can produce here (docs/facts.md); what is left out is said relative to it.
 */
export function showSet(field: IField, family: Family, segs: Range[], max: bigint, domain?: Range[]): string | undefined {
  const whole = domain ? unionRanges(domain) : [[0n, max] as Range];
  const merged = domain ? intersect(unionRanges(segs), whole) : unionRanges(segs);
  if (merged.length === whole.length && merged.every((r, i) => r[0] === whole[i][0] && r[1] === whole[i][1])) return undefined;
  const gaps = domain ? intersect(complementRanges(merged, max), whole) : complementRanges(merged, max);
  const one = (lo: bigint, hi: bigint) => showRange(field, family, lo, hi, max) ?? 'any';
  const list = (xs: Range[]) => xs.slice(0, 4).map(([lo, hi]) => one(lo, hi)).join(', ') + (xs.length > 4 ? `, … (${xs.length} ranges)` : '');
  const direct = list(merged);
  if (gaps.length <= 4) {
    const out = gaps.length === 1 && !list(gaps).includes(',') ? `≠ ${list(gaps)}` : `∉ {${list(gaps)}}`;
    if (out.length < direct.length) return out;
  }
  return direct;
}
