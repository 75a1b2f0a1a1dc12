// The last field (destination address), swept in one pass with an index of the live rules
// per chain, so a rule set with 10,000 CIDRs costs one pass instead of one search per CIDR.
import type { Chain, Rule } from '../ir/types.js';
import { forEachChain } from '../ir/walk.js';
import { canonicalAddress, parseAddress } from '../net/ip.js';
import type { Packet } from '../sim/packet.js';
import { matches, simulate, type RuleFinder, type SimResult } from '../sim/simulate.js';
import { sameOutcome, outcomeText } from './compare.js';
import type { Ctx, Desc, DiffRange } from './context.js';
import { describe } from './describe.js';
import { boundaries, domainMax, meaningRanges, occurrences, setField, type IField } from './interval-fields.js';
import { allowed, intersect, realistic } from './facts.js';
import type { Side } from './side.js';

function evaluate(s: Side, p: Packet, find?: RuleFinder): SimResult {
  return s.kind === 'rules' ? simulate(s.rs, p, find, false) : s.evaluate(p);
}

/** The last field: one sweep, evaluating each segment with an index of live rules. */
export function sweepLast(ctx: Ctx, a: Side, b: Side, pkt: Packet, desc: Desc): void {
  const field: IField = 'daddr';
  const family = pkt.family;
  const max = domainMax(field, family);
  const occs = occurrences([a, b], field, family, max);
  const extraRanges = meaningRanges(ctx, field, family, pkt);
  // Only the destinations the kernel can produce for this packet (docs/facts.md).
  const allow = allowed(field, pkt);
  if (!occs.length && !extraRanges.length) {
    // Nothing looks at the destination any more: one class.
    ctx.classes++;
    const q = setField(pkt, field, ctx.fine ? realistic(field, pkt, allow ?? [[0n, max]]) : (allow?.[0][0] ?? 0n));
    ctx.onClass?.(q);
    const ra = evaluate(a, q).outcome;
    const rb = evaluate(b, q).outcome;
    if (!sameOutcome(ra, rb) && ctx.diffs.length < ctx.max) {
      const p = { ...q, dst: canonicalAddress(q.family, parseHost(q.dst)), src: canonicalAddress(q.family, parseHost(q.src)) };
      ctx.diffs.push({ description: describe(desc, p), desc, dst: allow ?? [[0n, max]], packet: p, a: ra, b: rb });
    }
    return;
  }
  const bounds = boundaries(occs, allow ? [...extraRanges, ...allow] : extraRanges, max);

  // Per side (a rule object may be shared by both sides' residual rule sets), per rule:
  // how many of its daddr matches hold now and how many it has; per chain, a bitset of
  // the rules whose daddr matches all hold.
  interface Index {
    need: Map<Rule, number>;
    have: Map<Rule, number>;
    bits: Map<Chain, Uint32Array>;
    where: Map<Rule, [Uint32Array, number]>;
    finder: RuleFinder;
  }
  const indexFor = (s: Side, side: 0 | 1): Index => {
    const ix: Index = { need: new Map(), have: new Map(), bits: new Map(), where: new Map(), finder: () => -1 };
    for (const o of occs) if (o.side === side) ix.need.set(o.rule, (ix.need.get(o.rule) ?? 0) + 1);
    if (s.kind === 'rules') {
      forEachChain(s.rs, (c) => {
        const bs = new Uint32Array((c.rules.length >> 5) + 1);
        c.rules.forEach((r, i) => {
          ix.where.set(r, [bs, i]);
          if (!ix.need.has(r)) bs[i >> 5] |= 1 << (i & 31);
        });
        ix.bits.set(c, bs);
      });
    }
    ix.finder = (chain, from, packet, hook) => {
      const bs = ix.bits.get(chain);
      if (!bs) return -1;
      const n = chain.rules.length;
      let i = from;
      while (i < n) {
        const w = bs[i >> 5] >>> (i & 31);
        if (w === 0) {
          i = ((i >> 5) + 1) << 5;
          continue;
        }
        i += 31 - Math.clz32(w & -w);
        if (i >= n) break;
        const r = chain.rules[i];
        // Only daddr is indexed; the rest (marks) is decided on the live packet.
        if (r.matches.every((m) => m.kind === 'daddr' || matches(m, packet, hook))) return i;
        i++;
      }
      return -1;
    };
    return ix;
  };
  // A small residual is cheaper to scan than to index.
  const small = occs.length < 48;
  const ixs = small ? [] : [indexFor(a, 0), indexFor(b, 1)];
  // Events at each boundary: +1 where a true-range starts, -1 after it ends.
  const events = new Map<bigint, [0 | 1, Rule, number][]>();
  const ev = (at: bigint, side: 0 | 1, r: Rule, d: number) => {
    let l = events.get(at);
    if (!l) events.set(at, (l = []));
    l.push([side, r, d]);
  };
  if (!small) {
    for (const o of occs) for (const [lo, hi] of o.ranges) {
      ev(lo, o.side, o.rule, 1);
      if (hi < max) ev(hi + 1n, o.side, o.rule, -1);
    }
  }

  let prevKey: string | undefined;
  let open: DiffRange | undefined;
  let openLo = 0n;
  const close = (hi: bigint) => {
    if (!open) return;
    open.desc = desc;
    open.dst = [[openLo, hi]];
    ctx.diffs.push(open);
    open = undefined;
  };
  for (let k = 0; k < bounds.length; k++) {
    const lo = bounds[k];
    for (const [side, r, d] of small ? [] : events.get(lo) ?? []) {
      const ix = ixs[side];
      const h = (ix.have.get(r) ?? 0) + d;
      ix.have.set(r, h);
      const w = ix.where.get(r);
      if (w) {
        const [bs, i] = w;
        if (h >= (ix.need.get(r) ?? 0)) bs[i >> 5] |= 1 << (i & 31);
        else bs[i >> 5] &= ~(1 << (i & 31));
      }
    }
    const hi0 = k + 1 < bounds.length ? bounds[k + 1] - 1n : max;
    if (allow && !intersect([[lo, hi0]], allow).length) {
      close(lo - 1n);
      prevKey = undefined;
      continue;
    }
    const p = setField(pkt, field, lo);
    ctx.classes++;
    ctx.onClass?.(p);
    const ra = evaluate(a, p, small ? undefined : ixs[0].finder).outcome;
    const rb = evaluate(b, p, small ? undefined : ixs[1].finder).outcome;
    const hi = k + 1 < bounds.length ? bounds[k + 1] - 1n : max;
    if (sameOutcome(ra, rb)) {
      close(lo - 1n);
      prevKey = undefined;
      continue;
    }
    const key = `${outcomeText(ra, p)}|${outcomeText(rb, p)}`;
    if (open && key === prevKey) continue; // extends the open range
    close(lo - 1n);
    if (ctx.diffs.length >= ctx.max) return;
    open = { description: '', packet: { ...p, src: canonicalAddress(p.family, parseHost(p.src)), dst: canonicalAddress(p.family, lo) }, a: ra, b: rb };
    openLo = lo;
    prevKey = key;
    void hi;
  }
  close(max);
}

export function parseHost(s: string): bigint {
  const a = parseAddress(s);
  if (!a.ok) throw new Error(s);
  return a.value;
}
