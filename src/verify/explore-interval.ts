// The interval fields before the last (ports, source address): one sweep over the
// boundaries where some rule's match or some meaning constant starts or stops holding,
// keeping which rules on the field survive; segments whose residuals have the same
// structure (and that the same meaning constants cover) form one class, wherever they lie.
import type { Match } from '../ir/types.js';
import type { Range } from '../net/intervals.js';
import type { Packet } from '../sim/packet.js';
import type { Ctx, Desc } from './context.js';
import { showSet } from './describe.js';
import { domainMax, IFIELDS, meaningLabelled, rangesOf, setField, sortedUnique } from './interval-fields.js';
import { kindsOf, sideSpecialize, sideWith } from './residual.js';
import type { Side } from './side.js';
import { plan, residual, signature, type Cond, type Plan } from './split.js';
import { sweepLast } from './sweep.js';

interface Ev {
  at: bigint;
  /** A rule's match on side 0 or 1, or a meaning constant (2). */
  side: 0 | 1 | 2;
  m?: Match;
  label?: string;
  d: 1 | -1;
}

export function exploreInterval(ctx: Ctx, idx: number, a: Side, b: Side, pkt: Packet, desc: Desc): void {
  if (ctx.diffs.length >= ctx.max) return;
  const field = IFIELDS[idx];
  if (field === 'daddr') return sweepLast(ctx, a, b, pkt, desc);
  const hasPorts = pkt.protocol === 'tcp' || pkt.protocol === 'udp' || pkt.protocol === 'sctp';
  if ((field === 'sport' || field === 'dport') && !hasPorts) return exploreInterval(ctx, idx + 1, a, b, pkt, desc);
  const family = pkt.family;
  const max = domainMax(field, family);
  const kinds = new Set<Match['kind']>([field]);
  const sides = [a, b];
  // Interval baseline: every match on the field false, so the changes are the survivors.
  const plans = sides.map((s) => (s.kind === 'rules' && kindsOf(s.rs).has(field) ? plan(s.rs, kinds, () => false) : undefined));
  const extra = meaningLabelled(ctx, field, family, pkt);
  if (!plans.some((p) => p?.conds.length) && !extra.length) return exploreInterval(ctx, idx + 1, a, b, pkt, desc);

  const evs: Ev[] = [];
  const span = (r: Range, e: Omit<Ev, 'at' | 'd'>) => {
    evs.push({ ...e, at: r[0], d: 1 });
    if (r[1] < max) evs.push({ ...e, at: r[1] + 1n, d: -1 });
  };
  plans.forEach((p, side) => {
    if (p) for (const m of p.byMatch.keys()) for (const r of rangesOf(m, family, max)) span(r, { side: side as 0 | 1, m });
  });
  for (const x of extra) span(x.r, { side: 2, label: x.label });
  evs.sort((x, y) => (x.at < y.at ? -1 : x.at > y.at ? 1 : 0));
  const bounds = sortedUnique([0n, ...evs.map((e) => e.at)]);

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
  for (let k = 0; k < bounds.length; k++) {
    const lo = bounds[k];
    const hi = k + 1 < bounds.length ? bounds[k + 1] - 1n : max;
    let dirty = k === 0;
    for (; e < evs.length && evs[e].at === lo; e++) {
      const ev = evs[e];
      dirty = true;
      if (ev.side === 2) {
        labels.set(ev.label!, (labels.get(ev.label!) ?? 0) + ev.d);
        continue;
      }
      held[ev.side].set(ev.m!, (held[ev.side].get(ev.m!) ?? 0) + ev.d);
      const cnt = counts[ev.side];
      for (const c of (plans[ev.side] as Plan).byMatch.get(ev.m!)!) {
        const n = (cnt.get(c) ?? 0) + ev.d;
        cnt.set(c, n);
        if (n === c.ms.length) live[ev.side].add(c);
        else live[ev.side].delete(c);
      }
    }
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
  }
  for (const g of groups.values()) {
    const p = setField(pkt, field, g.lo);
    const d = groups.size > 1 ? { ...desc, [field]: () => showSet(field, family, g.segs, max) ?? 'any' } : desc;
    const next = sides.map((s, i) => {
      const pl = plans[i];
      return pl ? sideWith(s, residual(pl, g.ch[i]), p) : sideSpecialize(s, kinds, p, p.hook);
    });
    exploreInterval(ctx, idx + 1, next[0], next[1], p, d);
    if (ctx.diffs.length >= ctx.max) return;
  }
}
