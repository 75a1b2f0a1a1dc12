// The interval fields before the last (ports, source address): one sweep over the
// boundaries where some rule's match or some meaning constant starts or stops holding,
// keeping which rules on the field survive; segments whose residuals have the same
// structure (and that the same meaning constants cover) form one class, wherever they lie.
import type { Match } from '../ir/types.js';
import type { Range } from '../net/intervals.js';
import type { Packet } from '../sim/packet.js';
import type { Ctx, Desc } from './context.js';
import { showSet } from './describe.js';
import { domainMax, IFIELDS, meaningLabelled, rangesOf, setField } from './interval-fields.js';
import { kindsOf, sideSpecialize, sideWith } from './residual.js';
import type { Side } from './side.js';
import { plan, residual, signature, type Cond, type Plan } from './split.js';
import { parseHost, sweepLast } from './sweep.js';
import { canonicalAddress } from '../net/ip.js';
import { simulate } from '../sim/simulate.js';
import { sameOutcome } from './compare.js';
import { describe } from './describe.js';

export function exploreInterval(ctx: Ctx, idx: number, a: Side, b: Side, pkt: Packet, desc: Desc): void {
  if (ctx.diffs.length >= ctx.max) return;
  const field = IFIELDS[idx];
  // The last field: in a fine search the old sweep (one class per segment); in a proof,
  // classes as for the other fields, each evaluated once.
  if (field === 'daddr' && ctx.fine) return sweepLast(ctx, a, b, pkt, desc);
  const hasPorts = pkt.protocol === 'tcp' || pkt.protocol === 'udp' || pkt.protocol === 'sctp';
  if ((field === 'sport' || field === 'dport') && !hasPorts) return exploreInterval(ctx, idx + 1, a, b, pkt, desc);
  const family = pkt.family;
  const max = domainMax(field, family);
  const kinds = new Set<Match['kind']>([field]);
  const sides = [a, b];
  // Interval baseline: every match on the field false, so the changes are the survivors.
  const plans = sides.map((s) => (s.kind === 'rules' && kindsOf(s.rs).has(field) ? plan(s.rs, kinds, () => false) : undefined));
  const extra = meaningLabelled(ctx, field, family, pkt);
  if (!plans.some((p) => p?.conds.length) && !extra.length) return field === 'daddr' ? leaf(ctx, a, b, pkt, desc, undefined) : exploreInterval(ctx, idx + 1, a, b, pkt, desc);

  // Events (a match or meaning constant starts or stops holding), as parallel arrays
  // sorted by position: numbers where the domain allows (ports, IPv4), else BigInts.
  const small = max <= BigInt(Number.MAX_SAFE_INTEGER);
  const atB: bigint[] = [];
  const evSide: number[] = [];
  const evRef: (Match | string)[] = [];
  const evD: number[] = [];
  const span = (r: Range, side: number, ref: Match | string) => {
    atB.push(r[0]);
    evSide.push(side);
    evRef.push(ref);
    evD.push(1);
    if (r[1] < max) {
      atB.push(r[1] + 1n);
      evSide.push(side);
      evRef.push(ref);
      evD.push(-1);
    }
  };
  plans.forEach((p, side) => {
    if (p) for (const m of p.byMatch.keys()) for (const r of rangesOf(m, family, max)) span(r, side, m);
  });
  for (const x of extra) span(x.r, 2, x.label);
  const order = Array.from({ length: atB.length }, (_, i) => i);
  if (small) {
    const atN = Float64Array.from(atB, Number);
    order.sort((x, y) => atN[x] - atN[y]);
  } else order.sort((x, y) => (atB[x] < atB[y] ? -1 : atB[x] > atB[y] ? 1 : 0));

  // The sweep: per side, how many of each rule's matches hold, and the rules all of whose
  // matches hold; the meaning constants that cover the segment.
  const counts = [new Map<Cond, number>(), new Map<Cond, number>()];
  const live = [new Set<Cond>(), new Set<Cond>()];
  const labels = new Map<string, number>();
  const held = [new Map<Match, number>(), new Map<Match, number>()];
  const mid = plans.map((p) => new Map([...(p?.byMatch.keys() ?? [])].map((m, i) => [m, i])));
  const groups = new Map<string, { lo: bigint; segs: Range[]; ch: Cond[][] }>();
  let key = '';
  let e = 0;
  let lo = 0n;
  while (lo <= max) {
    let dirty = lo === 0n;
    for (; e < order.length && atB[order[e]] === lo; e++) {
      const ev = order[e];
      const side = evSide[ev];
      const d = evD[ev];
      dirty = true;
      if (side === 2) {
        const l = evRef[ev] as string;
        labels.set(l, (labels.get(l) ?? 0) + d);
        continue;
      }
      const m = evRef[ev] as Match;
      if (ctx.fine) held[side].set(m, (held[side].get(m) ?? 0) + d);
      const cnt = counts[side];
      for (const c of (plans[side] as Plan).byMatch.get(m)!) {
        const n = (cnt.get(c) ?? 0) + d;
        cnt.set(c, n);
        if (n === c.ms.length) live[side].add(c);
        else live[side].delete(c);
      }
    }
    const hi = e < order.length ? atB[order[e]] - 1n : max;
    if (dirty) {
      const chs = live.map((l) => [...l].sort((x, y) => x.chain - y.chain || x.idx - y.idx));
      const ls = [...labels].filter(([, n]) => n > 0).map(([l]) => l).sort();
      // Fine: the matches that hold (as the rules split the field); else the structure.
      const sig = ctx.fine ? [0, 1].map((i) => [...held[i]].filter(([, n]) => n > 0).map(([m]) => mid[i].get(m)).sort().join(',')) : chs.map(signature);
      key = `${sig[0]}|${sig[1]}|${ls.join(',')}`;
      const g = groups.get(key);
      if (g) g.segs.push([lo, hi]);
      else groups.set(key, { lo, segs: [[lo, hi]], ch: chs });
    } else groups.get(key)!.segs.push([lo, hi]);
    lo = hi + 1n;
  }
  for (const g of groups.values()) {
    const p = setField(pkt, field, g.lo);
    const d = groups.size > 1 ? { ...desc, [field]: () => showSet(field, family, g.segs, max) ?? 'any' } : desc;
    const next = sides.map((s, i) => {
      const pl = plans[i];
      return pl ? sideWith(s, residual(pl, g.ch[i]), p) : sideSpecialize(s, kinds, p, p.hook);
    });
    if (field === 'daddr') leaf(ctx, next[0], next[1], p, desc, g.segs);
    else exploreInterval(ctx, idx + 1, next[0], next[1], p, d);
    if (ctx.diffs.length >= ctx.max) return;
  }
}

/** One class of the last field: both sides evaluated once. */
function leaf(ctx: Ctx, a: Side, b: Side, p: Packet, desc: Desc, segs: Range[] | undefined): void {
  ctx.classes++;
  const ev = (s: Side) => (s.kind === 'rules' ? simulate(s.rs, p, undefined, false) : s.evaluate(p)).outcome;
  const ra = ev(a);
  const rb = ev(b);
  if (sameOutcome(ra, rb) || ctx.diffs.length >= ctx.max) return;
  const q = { ...p, dst: canonicalAddress(p.family, parseHost(p.dst)), src: canonicalAddress(p.family, parseHost(p.src)) };
  ctx.diffs.push(segs ? { description: '', desc, dst: segs, packet: q, a: ra, b: rb } : { description: describe(desc, q), packet: q, a: ra, b: rb });
}
