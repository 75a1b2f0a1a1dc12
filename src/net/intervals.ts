// Sets of integers (ports, marks, addresses) as ranges, and ranges as CIDRs: the one place
// where ranges are sorted, merged, complemented and turned into prefixes and back.
import { canonicalAddress, parseCidr, type Family } from './ip.js';

/** A closed range [lo, hi] of integers (lo <= hi): addresses, or ports through the wrappers. */
export type Range = [bigint, bigint];
export type PortRange = [number, number];

/** An address range with its family (net/ip's Cidr is one). */
export interface AddrRange {
  family: Family;
  first: bigint;
  last: bigint;
}

const byLo = (x: Range, y: Range) => (x[0] < y[0] ? -1 : x[0] > y[0] ? 1 : 0);

function merge(rs: readonly Range[], touching: boolean): Range[] {
  const out: Range[] = [];
  const gap = touching ? 1n : 0n;
  for (const [lo, hi] of [...rs].sort(byLo)) {
    const last = out[out.length - 1];
    if (last && lo <= last[1] + gap) {
      if (hi > last[1]) last[1] = hi;
    } else out.push([lo, hi]);
  }
  return out;
}

/**
 * The union of ranges as sorted, disjoint ranges. Touching ranges MERGE ([1,2] and [3,4]
 * give [1,4]): the result is the set's canonical form, with at least one value missing
 * between two ranges. New arrays; the input is not changed.
 */
export function unionRanges(rs: readonly Range[]): Range[] {
  return merge(rs, true);
}

/**
 * Sorted ranges with no two overlapping, merging only ranges that share a value:
 * touching ranges are KEPT APART ([1,2] and [3,4] stay two). Covers the same values as
 * the input. New arrays; the input is not changed.
 */
export function mergeOverlapping(rs: readonly Range[]): Range[] {
  return merge(rs, false);
}

/**
 * The values of [0, max] in none of `rs`, as sorted, disjoint ranges (touching ones
 * merged). `rs` must be sorted and non-overlapping (the output of unionRanges or
 * mergeOverlapping) and lie within [0, max].
 */
export function complementRanges(rs: readonly Range[], max: bigint): Range[] {
  const out: Range[] = [];
  let next = 0n;
  for (const [lo, hi] of rs) {
    if (lo > next) out.push([next, lo - 1n]);
    next = hi + 1n;
  }
  if (next <= max) out.push([next, max]);
  return out;
}

const toBig = (rs: readonly PortRange[]): Range[] => rs.map(([lo, hi]) => [BigInt(lo), BigInt(hi)]);
const toNum = (rs: readonly Range[]): PortRange[] => rs.map(([lo, hi]) => [Number(lo), Number(hi)]);

/** unionRanges for number ranges (ports): overlapping and touching ranges merge. */
export function unionPorts(rs: readonly PortRange[]): PortRange[] {
  return toNum(unionRanges(toBig(rs)));
}

/** mergeOverlapping for number ranges (ports): touching ranges are kept apart. */
export function mergeOverlappingPorts(rs: readonly PortRange[]): PortRange[] {
  return toNum(mergeOverlapping(toBig(rs)));
}

/** complementRanges for number ranges (ports) within [0, max]. */
export function complementPorts(rs: readonly PortRange[], max: number): PortRange[] {
  return toNum(complementRanges(toBig(rs), BigInt(max)));
}

/** The first and last address of ADDR/PREFIX, or undefined when it is not a CIDR (host bits set, bad text). */
export function cidrToRange(c: { addr: string; prefix: number }): Range | undefined {
  const p = parseCidr(`${c.addr}/${c.prefix}`);
  return p.ok ? [p.cidr.first, p.cidr.last] : undefined;
}

/**
 * Smallest list of CIDRs covering [lo, hi], in address order. With `limit`, stops after
 * limit + 1 of them (enough to tell a caller the range needs more than `limit`: an IPv6
 * range can need 254, each costly to print).
 */
export function rangeToCidrs(family: Family, lo: bigint, hi: bigint, limit = Infinity): string[] {
  const bits = family === 'ipv4' ? 32 : 128;
  const out: string[] = [];
  let cur = lo;
  while (cur <= hi && out.length <= limit) {
    let size = 0;
    while (size < bits) {
      const blk = 1n << BigInt(size + 1);
      if (cur % blk !== 0n || cur + blk - 1n > hi) break;
      size++;
    }
    out.push(`${canonicalAddress(family, cur)}/${bits - size}`);
    cur += 1n << BigInt(size);
  }
  return out;
}

/**
 * The items whose range lies inside no other item's range of the same family; of equal
 * ranges the first one (in input order) is kept. For prefixes this is what makes a CIDR
 * list disjoint without changing the addresses it covers. `rangeOf` is called once per
 * item, in input order. Order of the result: 'input' keeps the input order; 'address'
 * sorts by family (ipv4 first), then first address. O(n log n).
 */
export function outermost<T>(items: readonly T[], rangeOf: (item: T) => AddrRange, order: 'input' | 'address' = 'input'): T[] {
  const rs = items.map(rangeOf);
  const idx = items.map((_, i) => i);
  // Family, then first address, then the larger range first, then input order: an item
  // is inside another exactly when an earlier one in this order reaches its last address.
  idx.sort((i, j) => {
    const a = rs[i];
    const b = rs[j];
    if (a.family !== b.family) return a.family === 'ipv4' ? -1 : 1;
    if (a.first !== b.first) return a.first < b.first ? -1 : 1;
    if (a.last !== b.last) return a.last > b.last ? -1 : 1;
    return i - j;
  });
  const keep = new Array<boolean>(items.length).fill(false);
  const kept: number[] = [];
  let family: Family | undefined;
  let reach = -1n;
  for (const i of idx) {
    const r = rs[i];
    if (r.family !== family) {
      family = r.family;
      reach = -1n;
    }
    if (r.last <= reach) continue;
    keep[i] = true;
    kept.push(i);
    reach = r.last;
  }
  return order === 'address' ? kept.map((i) => items[i]) : items.filter((_, i) => keep[i]);
}
