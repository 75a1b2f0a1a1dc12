// The interval fields (ports, addresses): each match as sorted, disjoint ranges (cached),
// its occurrences in the live rules, and the boundaries where some of them changes.
import type { Family, Match, Rule } from '../ir/types.js';
import { forEachMatch } from '../ir/walk.js';
import { formatAddress } from '../net/ip.js';
import { cidrToRange, complementRanges, unionRanges, type Range } from '../net/intervals.js';
import type { Packet } from '../sim/packet.js';
import { primeAddress } from '../sim/simulate.js';
import { MAX_ADDR, meaningConsts, type Ctx } from './context.js';
import { kindsOf } from './residual.js';
import type { Side } from './side.js';

export type IField = 'sport' | 'dport' | 'saddr' | 'daddr';
export const IFIELDS: IField[] = ['sport', 'dport', 'saddr', 'daddr'];

export interface Occ {
  side: 0 | 1;
  rule: Rule;
  match: Match;
  ranges: Range[];
}

export function domainMax(field: IField, family: Family): bigint {
  return field === 'sport' || field === 'dport' ? 65535n : MAX_ADDR[family];
}

const rangeCache = new WeakMap<Match, Map<Family, Range[]>>();

export function rangesOf(m: Match, family: Family, max: bigint): Range[] {
  let byFam = rangeCache.get(m);
  if (!byFam) rangeCache.set(m, (byFam = new Map<Family, Range[]>()));
  let r = byFam.get(family);
  if (!r) byFam.set(family, (r = computeRanges(m, family, max)));
  return r;
}

function computeRanges(m: Match, family: Family, max: bigint): Range[] {
  const rs: Range[] = [];
  if (m.kind === 'sport' || m.kind === 'dport') for (const [lo, hi] of m.ranges) rs.push([BigInt(lo), BigInt(hi)]);
  else if (m.kind === 'saddr' || m.kind === 'daddr') {
    for (const c of m.cidrs) {
      if (c.family !== family) continue;
      const r = cidrToRange(c);
      if (r) rs.push(r);
    }
  }
  const u = unionRanges(rs);
  return 'neg' in m && m.neg ? complementRanges(u, max) : u;
}

export function occurrences(sides: Side[], field: IField, family: Family, max: bigint): Occ[] {
  const out: Occ[] = [];
  sides.forEach((s, i) => {
    if (s.kind !== 'rules' || !kindsOf(s.rs).has(field)) return;
    forEachMatch(s.rs, (m, r) => {
      if (m.kind === field) out.push({ side: i as 0 | 1, rule: r, match: m, ranges: rangesOf(m, family, max) });
    });
  });
  return out;
}

export function setField(p: Packet, field: IField, v: bigint): Packet {
  if (field === 'sport' || field === 'dport') return { ...p, [field]: Number(v) };
  const text = formatAddress(p.family, v);
  primeAddress(text, v);
  return { ...p, [field === 'saddr' ? 'src' : 'dst']: text };
}

const cmp = (x: bigint, y: bigint) => (x < y ? -1 : x > y ? 1 : 0);

/** Sorted, without repeats (V8 hashes a BigInt by its low 64 bits: no Set of IPv6 values). */
export function sortedUnique(xs: bigint[]): bigint[] {
  xs.sort(cmp);
  let n = 0;
  for (let i = 0; i < xs.length; i++) if (i === 0 || xs[i] !== xs[n - 1]) xs[n++] = xs[i];
  xs.length = n;
  return xs;
}

/** Boundaries where some occurrence (or meaning constant) starts or stops being true. */
export function boundaries(occs: Occ[], extra: Range[], max: bigint): bigint[] {
  const xs: bigint[] = [0n];
  const add = (lo: bigint, hi: bigint) => {
    xs.push(lo);
    if (hi + 1n <= max) xs.push(hi + 1n);
  };
  for (const o of occs) for (const [lo, hi] of o.ranges) add(lo, hi);
  for (const [lo, hi] of extra) add(lo, hi);
  return sortedUnique(xs);
}

/** The meaning's constants for an interval field, each with its class label. */
export function meaningLabelled(ctx: Ctx, field: IField, family: Family, pkt: Packet): { r: Range; label: string }[] {
  const k = meaningConsts(ctx, field, pkt);
  if (field === 'sport' || field === 'dport') return k.ports.map(([lo, hi], i) => ({ r: [BigInt(lo), BigInt(hi)], label: k.labels.ports[i] }));
  const out: { r: Range; label: string }[] = [];
  k.cidrs.forEach((c, i) => {
    if (c.family !== family) return;
    const r = cidrToRange(c);
    if (r) out.push({ r, label: k.labels.cidrs[i] });
  });
  return out;
}

export function meaningRanges(ctx: Ctx, field: IField, family: Family, pkt: Packet): Range[] {
  return meaningLabelled(ctx, field, family, pkt).map((x) => x.r);
}
