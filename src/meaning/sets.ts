// The policy's lists as lookup structures, built once per meaning: ports and addresses as
// sorted, merged ranges searched by bisection (O(log N)), owners and interface names as
// hash sets (O(1); a prefix `eth+` is looked up by the name's prefixes, O(name length)).
// Each answers exactly what a scan of the list with `.some` answers; the tests compare
// them (test/verify/meaning-index.test.ts).
import type { Family } from '../ir/types.js';
import type { Interface, Owner } from '../language/ast.js';
import { complementRanges, rangeToCidrs, unionRanges, type Range } from '../net/intervals.js';
import type { Constants } from '../verify/side.js';

export type CidrConst = Constants['cidrs'][number];

const MAX: Record<Family, bigint> = { ipv4: (1n << 32n) - 1n, ipv6: (1n << 128n) - 1n };

/** Index of the last range whose start is <= v, or -1. */
function bisect<T extends number | bigint>(los: readonly T[], v: T): number {
  let lo = 0;
  let hi = los.length - 1;
  let at = -1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (los[mid] <= v) {
      at = mid;
      lo = mid + 1;
    } else hi = mid - 1;
  }
  return at;
}

/** A set of ports: the union of a list of ranges. */
export class PortSet {
  /** Sorted, disjoint, touching ones merged. */
  readonly ranges: [number, number][];
  private readonly los: number[];

  constructor(rs: readonly { lo: number; hi: number }[]) {
    this.ranges = unionRanges(rs.map((r): Range => [BigInt(r.lo), BigInt(r.hi)])).map(([lo, hi]) => [Number(lo), Number(hi)]);
    this.los = this.ranges.map((r) => r[0]);
  }

  get empty(): boolean {
    return this.ranges.length === 0;
  }

  has(p: number): boolean {
    const i = bisect(this.los, p);
    return i >= 0 && p <= this.ranges[i][1];
  }

  /** The part of this set inside `other`, as ranges. */
  within(other: PortSet): [number, number][] {
    return intersect(
      this.ranges.map(([lo, hi]): Range => [BigInt(lo), BigInt(hi)]),
      other.ranges.map(([lo, hi]): Range => [BigInt(lo), BigInt(hi)]),
    ).map(([lo, hi]) => [Number(lo), Number(hi)]);
  }
}

/** The intersection of two sorted, disjoint range lists. */
export function intersect(a: readonly Range[], b: readonly Range[]): Range[] {
  const out: Range[] = [];
  let i = 0;
  let j = 0;
  while (i < a.length && j < b.length) {
    const lo = a[i][0] > b[j][0] ? a[i][0] : b[j][0];
    const hi = a[i][1] < b[j][1] ? a[i][1] : b[j][1];
    if (lo <= hi) out.push([lo, hi]);
    if (a[i][1] < b[j][1]) i++;
    else j++;
  }
  return out;
}

/** A set of addresses of both families: the union of CIDRs or single addresses. */
export class AddrSet {
  private readonly rs: Record<Family, Range[]>;
  private readonly los: Record<Family, bigint[]>;
  private readonly cidrCache = new Map<Family, CidrConst[]>();
  private readonly minusCache = new Map<AddrSet, Map<Family, CidrConst[]>>();

  constructor(items: readonly { family: Family; first: bigint; last: bigint }[]) {
    const by = (f: Family) => unionRanges(items.filter((c) => c.family === f).map((c): Range => [c.first, c.last]));
    this.rs = { ipv4: by('ipv4'), ipv6: by('ipv6') };
    this.los = { ipv4: this.rs.ipv4.map((r) => r[0]), ipv6: this.rs.ipv6.map((r) => r[0]) };
  }

  static ofAddresses(as: readonly { family: Family; value: bigint }[]): AddrSet {
    return new AddrSet(as.map((a) => ({ family: a.family, first: a.value, last: a.value })));
  }

  /** Sorted, disjoint ranges (touching ones merged) of one family. */
  ranges(f: Family): Range[] {
    return this.rs[f];
  }

  any(f: Family): boolean {
    return this.rs[f].length > 0;
  }

  has(f: Family, v: bigint): boolean {
    const i = bisect(this.los[f], v);
    return i >= 0 && v <= this.rs[f][i][1];
  }

  /** Whether some address of [lo, hi] is in the set. */
  meets(f: Family, lo: bigint, hi: bigint): boolean {
    const i = bisect(this.los[f], hi);
    return i >= 0 && this.rs[f][i][1] >= lo;
  }

  /** The set of one family as the fewest CIDRs (computed once). */
  cidrs(f: Family): CidrConst[] {
    let c = this.cidrCache.get(f);
    if (!c) this.cidrCache.set(f, (c = cidrsOf(f, this.rs[f])));
    return c;
  }

  /** This set minus `other`, of one family, as the fewest CIDRs (computed once). */
  minusCidrs(f: Family, other: AddrSet): CidrConst[] {
    let by = this.minusCache.get(other);
    if (!by) this.minusCache.set(other, (by = new Map<Family, CidrConst[]>()));
    let c = by.get(f);
    if (!c) by.set(f, (c = cidrsOf(f, intersect(this.rs[f], complementRanges(other.rs[f], MAX[f])))));
    return c;
  }
}

export function cidrsOf(f: Family, rs: readonly Range[]): CidrConst[] {
  const out: CidrConst[] = [];
  for (const [lo, hi] of rs) {
    for (const c of rangeToCidrs(f, lo, hi)) {
      const slash = c.indexOf('/');
      out.push({ family: f, addr: c.slice(0, slash), prefix: Number(c.slice(slash + 1)) });
    }
  }
  return out;
}

/** Owners (uids or gids), numeric or names: a packet's owner is in the set when it is one of them. */
export class OwnerSet {
  readonly values: (number | string)[];
  private readonly set: Set<number | string>;

  constructor(os: readonly Owner[]) {
    this.set = new Set(os.map((o) => (o.kind === 'id' ? o.id : o.name)));
    this.values = [...this.set];
  }

  get empty(): boolean {
    return this.set.size === 0;
  }

  has(v: number | string | undefined): boolean {
    return v !== undefined && this.set.has(v);
  }
}

/** Interface names, exact (`eth0`) or prefixes (`eth+`). */
export class NameSet {
  /** The patterns without duplicates, as the engine takes them. */
  readonly patterns: { name: string; prefix: boolean }[];
  private readonly exact: Set<string>;
  private readonly prefixes: Set<string>;
  private readonly lengths: number[];

  constructor(is: readonly Interface[]) {
    this.exact = new Set(is.filter((i) => !i.prefix).map((i) => i.name));
    this.prefixes = new Set(is.filter((i) => i.prefix).map((i) => i.name));
    this.lengths = [...new Set([...this.prefixes].map((p) => p.length))].sort((a, b) => a - b);
    this.patterns = [...[...this.exact].map((name) => ({ name, prefix: false })), ...[...this.prefixes].map((name) => ({ name, prefix: true }))];
  }

  has(name: string): boolean {
    if (this.exact.has(name)) return true;
    for (const n of this.lengths) {
      if (n > name.length) break;
      if (this.prefixes.has(name.slice(0, n))) return true;
    }
    return false;
  }
}
