// What the optimizer's passes need to know about rules and matches: which actions end a
// packet's walk through a chain, which matches read state the rules themselves change
// (marks), when one match implies another, and list matches as interval sets.
import type { Action, IrCidr, Match, Rule } from '../ir/types.js';
import { cidrToRange, rangeToCidrs, unionRanges, unionPorts, type Range } from '../net/intervals.js';
import { parseCidr } from '../net/ip.js';

export type ListMatch = Extract<Match, { kind: 'saddr' | 'daddr' | 'sport' | 'dport' }>;

/** After these the walk does not come back to the next rule of the chain (netfilter-facts §1). */
export function isTerminal(a: Action): boolean {
  return a.kind === 'accept' || a.kind === 'drop' || a.kind === 'return' || a.kind === 'goto' || a.kind === 'redirect' || a.kind === 'tproxy' || a.kind === 'dnat';
}

export function isList(m: Match): m is ListMatch {
  return m.kind === 'saddr' || m.kind === 'daddr' || m.kind === 'sport' || m.kind === 'dport';
}

/** Matches on state that rules change on the way (marks), or that the model reads loosely (socket). */
export function readsMutable(m: Match): boolean {
  return m.kind === 'mark' || m.kind === 'connmark' || m.kind === 'socket';
}

// Made once per match object: the shadow test compares each rule with up to 64 earlier
// verdicts, so a 10,000-rule chain asks for the same keys and ranges many times.
const keys = new WeakMap<Match, string>();

/** A match as a comparable key (the list's name is documentation, not meaning). */
export function matchKey(m: Match): string {
  let k = keys.get(m);
  if (k === undefined) {
    if (isList(m)) {
      const { set: _set, ...rest } = m;
      void _set;
      k = JSON.stringify(rest);
    } else k = JSON.stringify(m);
    keys.set(m, k);
  }
  return k;
}

export const sameAction = (a: Action, b: Action): boolean => JSON.stringify(a) === JSON.stringify(b);
export const sameEffects = (a: Rule, b: Rule): boolean => JSON.stringify(a.effects ?? []) === JSON.stringify(b.effects ?? []);

function cidrRangeOf(c: IrCidr): Range {
  const r = cidrToRange(c);
  if (!r) throw new Error(`bad prefix ${c.addr}/${c.prefix} in the IR`);
  return r;
}

// IPv6 values live above every IPv4 one, so a mixed list's intervals never mix families.
const V6_BASE = 1n << 130n;
function familyRangeOf(c: IrCidr): Range {
  const [lo, hi] = cidrRangeOf(c);
  return c.family === 'ipv4' ? [lo, hi] : [lo + V6_BASE, hi + V6_BASE];
}

const ranges = new WeakMap<ListMatch, Range[]>();

/** A list match's values as sorted, merged intervals (bigint for both kinds; made once per match, not to be changed). */
export function rangesOf(m: ListMatch): Range[] {
  let r = ranges.get(m);
  if (!r) {
    r = 'cidrs' in m ? unionRanges(m.cidrs.map(familyRangeOf)) : unionRanges(m.ranges.map(([lo, hi]): Range => [BigInt(lo), BigInt(hi)]));
    ranges.set(m, r);
  }
  return r;
}

/** Whether every value of `inner` is in `outer` (both sorted and merged). */
export function rangesWithin(inner: Range[], outer: Range[]): boolean {
  let j = 0;
  for (const [lo, hi] of inner) {
    while (j < outer.length && outer[j][1] < lo) j++;
    if (j >= outer.length || outer[j][0] > lo || outer[j][1] < hi) return false;
  }
  return true;
}

export function rangesDisjoint(a: Range[], b: Range[]): boolean {
  let i = 0;
  let j = 0;
  while (i < a.length && j < b.length) {
    if (a[i][1] < b[j][0]) i++;
    else if (b[j][1] < a[i][0]) j++;
    else return false;
  }
  return true;
}

/**
 * The union of list matches of one kind, with the elements merged: prefixes that touch
 * become the fewest covering prefixes, ports that touch one range.
 */
export function unionList(ms: ListMatch[]): ListMatch {
  const first = ms[0];
  // Lists from different statements make a set named after none of them.
  const set = ms[0].set;
  const named = set && ms.every((m) => m.set === set) ? { set } : {};
  if (first.kind === 'sport' || first.kind === 'dport') {
    const ranges = ms.flatMap((m) => (m.kind === 'sport' || m.kind === 'dport' ? m.ranges : []));
    return { kind: first.kind, neg: first.neg, ranges: unionPorts(ranges), ...named };
  }
  const all = ms.flatMap((m) => (m.kind === 'saddr' || m.kind === 'daddr' ? m.cidrs : []));
  const cidrs: IrCidr[] = [];
  for (const family of ['ipv4', 'ipv6'] as const) {
    const cs = all.filter((c) => c.family === family);
    for (const [lo, hi] of unionRanges(cs.map(cidrRangeOf))) {
      for (const text of rangeToCidrs(family, lo, hi)) {
        const p = parseCidr(text);
        if (!p.ok) throw new Error(`bad prefix ${text}`);
        cidrs.push({ family, addr: p.cidr.addr, prefix: p.cidr.prefix });
      }
    }
  }
  return { kind: first.kind, neg: first.neg, cidrs, ...named };
}

/**
 * Whether every packet that satisfies `r` satisfies `q` (a sufficient, syntactic test):
 * each match of q is implied by some match of r. Matches on marks are never used (the
 * rules between the two may change them).
 */
export function implies(r: Match, q: Match): boolean {
  if (readsMutable(q) || readsMutable(r)) return false;
  if (r.kind !== q.kind) return false;
  if (isList(r) && isList(q)) {
    if (r.neg !== q.neg) return false;
    const rr = rangesOf(r);
    const qr = rangesOf(q);
    // x in R => x in Q when R within Q; x not in R => x not in Q when Q within R.
    return r.neg ? rangesWithin(qr, rr) : rangesWithin(rr, qr);
  }
  if ((r.kind === 'iif' || r.kind === 'oif') && (q.kind === 'iif' || q.kind === 'oif') && 'name' in r && 'name' in q && !r.neg && !q.neg && q.prefix) {
    return r.name.startsWith(q.name);
  }
  return matchKey(r) === matchKey(q);
}

/** Whether every packet that satisfies rule r's matches satisfies rule q's. */
export function covers(q: Rule, r: Rule): boolean {
  // Indexed loops, no callbacks: dead-rules asks this of every rule against up to 64
  // earlier verdicts (10,000 excluded interfaces: some 640,000 calls, two closures each).
  const qm = q.matches;
  const rm = r.matches;
  outer: for (let i = 0; i < qm.length; i++) {
    const mq = qm[i];
    for (let j = 0; j < rm.length; j++) {
      // implies needs the kinds equal: a cheap test before its own.
      if (rm[j].kind === mq.kind && implies(rm[j], mq)) continue outer;
    }
    return false;
  }
  return true;
}
