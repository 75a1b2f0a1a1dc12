// src/net/intervals.ts against naive references: sets of values on small domains,
// pairwise (quadratic) containment, and a dynamic program for the smallest CIDR cover.
// Seeds are fixed, so a failure repeats.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { canonicalAddress, parseCidr, type Family } from '../src/net/ip.js';
import {
  cidrToRange,
  complementPorts,
  complementRanges,
  mergeOverlapping,
  mergeOverlappingPorts,
  outermost,
  rangeToCidrs,
  unionPorts,
  unionRanges,
  type AddrRange,
  type Range,
} from '../src/net/intervals.js';

const MAX = 63;
const run = { seed: 20261207, numRuns: 2000 };

const range = fc.tuple(fc.integer({ min: 0, max: MAX }), fc.integer({ min: 0, max: 12 })).map(([lo, w]): Range => [BigInt(lo), BigInt(Math.min(MAX, lo + w))]);
const ranges = fc.array(range, { maxLength: 8 });

function valuesOf(rs: readonly Range[]): Set<number> {
  const s = new Set<number>();
  for (const [lo, hi] of rs) for (let v = Number(lo); v <= Number(hi); v++) s.add(v);
  return s;
}

/** Maximal runs of consecutive values of a set, in order. */
function runsOf(s: Set<number>, max = MAX): Range[] {
  const out: Range[] = [];
  for (let v = 0; v <= max; v++) {
    if (!s.has(v)) continue;
    const last = out[out.length - 1];
    if (last && last[1] === BigInt(v - 1)) last[1] = BigInt(v);
    else out.push([BigInt(v), BigInt(v)]);
  }
  return out;
}

/** Ranges that share a value, joined transitively (union-find over all pairs). */
function overlapComponents(rs: readonly Range[]): Range[] {
  const parent = rs.map((_, i) => i);
  const find = (i: number): number => (parent[i] === i ? i : (parent[i] = find(parent[i])));
  for (let i = 0; i < rs.length; i++) for (let j = 0; j < i; j++) if (rs[i][0] <= rs[j][1] && rs[j][0] <= rs[i][1]) parent[find(i)] = find(j);
  const comps = new Map<number, Range>();
  rs.forEach((r, i) => {
    const c = comps.get(find(i));
    if (!c) comps.set(find(i), [r[0], r[1]]);
    else comps.set(find(i), [r[0] < c[0] ? r[0] : c[0], r[1] > c[1] ? r[1] : c[1]]);
  });
  return [...comps.values()].sort((x, y) => Number(x[0] - y[0]));
}

describe('ranges', () => {
  it('unionRanges is the set of covered values as maximal runs (touching ranges merge)', () => {
    fc.assert(
      fc.property(ranges, (rs) => {
        const text = () => rs.map(([lo, hi]) => `${lo}-${hi}`).join(',');
        const before = text();
        expect(unionRanges(rs)).toEqual(runsOf(valuesOf(rs)));
        expect(text()).toBe(before); // input untouched
      }),
      run,
    );
    expect(unionRanges([[1n, 2n], [3n, 4n]])).toEqual([[1n, 4n]]);
  });

  it('mergeOverlapping joins only ranges that share a value (touching ones stay apart)', () => {
    fc.assert(
      fc.property(ranges, (rs) => {
        const got = mergeOverlapping(rs);
        expect(got).toEqual(overlapComponents(rs));
        expect(valuesOf(got)).toEqual(valuesOf(rs));
        for (let i = 1; i < got.length; i++) expect(got[i][0] > got[i - 1][1]).toBe(true);
      }),
      run,
    );
    expect(mergeOverlapping([[3n, 4n], [1n, 2n], [2n, 2n]])).toEqual([[1n, 2n], [3n, 4n]]);
  });

  it('complementRanges is the values of [0, max] not covered', () => {
    fc.assert(
      fc.property(ranges, fc.boolean(), (rs, touching) => {
        const norm = touching ? mergeOverlapping(rs) : unionRanges(rs);
        const covered = valuesOf(rs);
        const rest = new Set<number>();
        for (let v = 0; v <= MAX; v++) if (!covered.has(v)) rest.add(v);
        expect(complementRanges(norm, BigInt(MAX))).toEqual(runsOf(rest));
      }),
      run,
    );
    expect(complementRanges([], 9n)).toEqual([[0n, 9n]]);
    expect(complementRanges([[0n, 9n]], 9n)).toEqual([]);
  });

  it('the port wrappers give the same as the bigint functions', () => {
    const ports = fc.array(fc.tuple(fc.integer({ min: 0, max: MAX }), fc.integer({ min: 0, max: 12 })).map(([lo, w]): [number, number] => [lo, Math.min(MAX, lo + w)]), { maxLength: 8 });
    const num = (rs: Range[]) => rs.map(([lo, hi]) => [Number(lo), Number(hi)]);
    fc.assert(
      fc.property(ports, (ps) => {
        const big = ps.map(([lo, hi]): Range => [BigInt(lo), BigInt(hi)]);
        expect(unionPorts(ps)).toEqual(num(runsOf(valuesOf(big))));
        expect(mergeOverlappingPorts(ps)).toEqual(num(overlapComponents(big)));
        expect(complementPorts(unionPorts(ps), MAX)).toEqual(num(complementRanges(unionRanges(big), BigInt(MAX))));
      }),
      run,
    );
  });
});

const bits = (f: Family) => (f === 'ipv4' ? 32 : 128);

/** The fewest aligned blocks that tile [lo, hi] exactly (for small widths), by dynamic programming. */
function fewestBlocks(lo: bigint, hi: bigint, width: number): number {
  const n = Number(hi - lo) + 1;
  const best = new Array<number>(n + 1).fill(Infinity);
  best[n] = 0;
  for (let i = n - 1; i >= 0; i--) {
    const at = lo + BigInt(i);
    for (let size = 0; size <= width; size++) {
      const blk = 1n << BigInt(size);
      if (at % blk !== 0n || i + Number(blk) > n) break;
      best[i] = Math.min(best[i], 1 + best[i + Number(blk)]);
    }
  }
  return best[0];
}

function checkCover(f: Family, lo: bigint, hi: bigint): string[] {
  const cidrs = rangeToCidrs(f, lo, hi);
  let next = lo;
  for (const text of cidrs) {
    const p = parseCidr(text);
    expect(p.ok, text).toBe(true);
    if (!p.ok) continue;
    expect(p.cidr.family).toBe(f);
    expect(`${p.cidr.addr}/${p.cidr.prefix}`).toBe(text); // canonical text
    const r = cidrToRange(p.cidr)!;
    expect(r[0]).toBe(next);
    next = r[1] + 1n;
  }
  expect(next).toBe(hi + 1n);
  return cidrs;
}

describe('CIDRs', () => {
  for (const f of ['ipv4', 'ipv6'] as const) {
    const max = (1n << BigInt(bits(f))) - 1n;
    const addr = fc.bigInt({ min: 0n, max });
    const prefix = fc.integer({ min: 0, max: bits(f) });

    it(`${f}: CIDR -> range -> CIDRs gives the CIDR back`, () => {
      fc.assert(
        fc.property(addr, prefix, (a, p) => {
          const host = (1n << BigInt(bits(f) - p)) - 1n;
          const first = a & (max ^ host);
          const text = `${canonicalAddress(f, first)}/${p}`;
          expect(cidrToRange({ addr: canonicalAddress(f, first), prefix: p })).toEqual([first, first | host]);
          expect(rangeToCidrs(f, first, first | host)).toEqual([text]);
        }),
        run,
      );
    });

    it(`${f}: range -> CIDRs -> ranges tiles the range exactly, with the fewest CIDRs`, () => {
      // Small widths at any offset (checked against the dynamic program), and any range.
      fc.assert(
        fc.property(addr, fc.integer({ min: 0, max: 300 }), (a, w) => {
          const lo = a > max - 300n ? max - 300n : a;
          const hi = lo + BigInt(w);
          expect(checkCover(f, lo, hi).length).toBe(fewestBlocks(lo, hi, bits(f)));
        }),
        { ...run, numRuns: 300 },
      );
      fc.assert(
        fc.property(addr, addr, (x, y) => {
          checkCover(f, x < y ? x : y, x < y ? y : x);
        }),
        { ...run, numRuns: 300 },
      );
    });

    it(`${f}: with a limit, the first limit + 1 CIDRs of the full list (or all of it when shorter)`, () => {
      fc.assert(
        fc.property(addr, addr, fc.integer({ min: 0, max: 6 }), (x, y, limit) => {
          const [lo, hi] = x < y ? [x, y] : [y, x];
          const all = rangeToCidrs(f, lo, hi);
          expect(rangeToCidrs(f, lo, hi, limit)).toEqual(all.slice(0, limit + 1));
        }),
        { ...run, numRuns: 300 },
      );
    });
  }

  it('cidrToRange refuses host bits and bad text', () => {
    expect(cidrToRange({ addr: '10.0.0.1', prefix: 24 })).toBeUndefined();
    expect(cidrToRange({ addr: 'nope', prefix: 8 })).toBeUndefined();
    expect(cidrToRange({ addr: 'fd00::', prefix: 8 })).toEqual([0xfd00n << 112n, (0xfd00n << 112n) | ((1n << 120n) - 1n)]);
  });
});

interface PrefixItem {
  family: Family;
  addr: string;
  prefix: number;
}

describe('outermost', () => {
  // Prefixes of a small corner of each family, so that nesting and duplicates are common.
  const prefixItem = fc.oneof(
    fc.tuple(fc.integer({ min: 0, max: 63 }), fc.integer({ min: 26, max: 32 })).map(([v, p]): PrefixItem => {
      const first = (BigInt(v) >> BigInt(32 - p)) << BigInt(32 - p);
      return { family: 'ipv4', addr: canonicalAddress('ipv4', 0x0a000000n + first), prefix: p };
    }),
    fc.tuple(fc.integer({ min: 0, max: 63 }), fc.integer({ min: 122, max: 128 })).map(([v, p]): PrefixItem => {
      const first = (BigInt(v) >> BigInt(128 - p)) << BigInt(128 - p);
      return { family: 'ipv6', addr: canonicalAddress('ipv6', (0xfd00n << 112n) + first), prefix: p };
    }),
  );
  const rangeOfCidr = (c: PrefixItem): AddrRange => {
    const p = parseCidr(`${c.addr}/${c.prefix}`);
    if (!p.ok) throw new Error('test generator made a bad CIDR');
    return p.cidr;
  };
  const inside = (o: AddrRange, i: AddrRange) => o.family === i.family && o.first <= i.first && i.last <= o.last;

  /** Quadratic reference: drop what another holds strictly, and repeats of an earlier equal one. */
  function naive<T>(xs: T[], rangeOf: (x: T) => AddrRange): T[] {
    const rs = xs.map(rangeOf);
    return xs.filter((_, i) => !rs.some((o, j) => j !== i && inside(o, rs[i]) && (!inside(rs[i], o) || j < i)));
  }

  it('keeps the CIDRs no other holds, in input order, the first of equal ones', () => {
    fc.assert(
      fc.property(fc.array(prefixItem, { maxLength: 12 }), (cs) => {
        expect(outermost(cs, rangeOfCidr)).toEqual(naive(cs, rangeOfCidr));
      }),
      run,
    );
  });

  it("'address' order: the same items sorted by family and first address", () => {
    fc.assert(
      fc.property(fc.array(prefixItem, { maxLength: 12 }), (cs) => {
        const want = naive(cs, rangeOfCidr).sort((x, y) => {
          const a = rangeOfCidr(x);
          const b = rangeOfCidr(y);
          return a.family !== b.family ? (a.family === 'ipv4' ? -1 : 1) : Number(a.first - b.first);
        });
        expect(outermost(cs, rangeOfCidr, 'address')).toEqual(want);
      }),
      run,
    );
  });

  it('also holds for ranges that are not prefixes, and keeps objects identical', () => {
    const item = fc.tuple(range, fc.boolean()).map(([[lo, hi], v6]): AddrRange => ({ family: v6 ? 'ipv6' : 'ipv4', first: lo, last: hi }));
    fc.assert(
      fc.property(fc.array(item, { maxLength: 10 }), (xs) => {
        const got = outermost(xs, (x) => x);
        const want = naive(xs, (x) => x);
        expect(got.length).toBe(want.length);
        got.forEach((x, i) => expect(x).toBe(want[i]));
      }),
      run,
    );
  });
});
