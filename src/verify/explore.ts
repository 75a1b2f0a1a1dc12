// The recursive search: the discrete fields one by one, then the marks, then the interval
// fields; each class of values specializes both sides before the next field.
import type { Match } from '../ir/types.js';
import type { Packet } from '../sim/packet.js';
import { matches } from '../sim/simulate.js';
import { meaningConsts, NO_CONSTS, type Ctx, type Desc } from './context.js';
import { showSet } from './describe.js';
import { DFIELDS } from './discrete.js';
import { boundaries, domainMax, IFIELDS, meaningRanges, occurrences, setField } from './interval-fields.js';
import { markCandidates } from './marks.js';
import { allMatches, sideSpecialize } from './residual.js';
import { sweepLast } from './sweep.js';
import type { Side } from './side.js';

function exploreInterval(ctx: Ctx, idx: number, a: Side, b: Side, pkt: Packet, desc: Desc): void {
  if (ctx.diffs.length >= ctx.max) return;
  const field = IFIELDS[idx];
  if (field === 'daddr') return sweepLast(ctx, a, b, pkt, desc);
  const hasPorts = pkt.protocol === 'tcp' || pkt.protocol === 'udp' || pkt.protocol === 'sctp';
  if ((field === 'sport' || field === 'dport') && !hasPorts) return exploreInterval(ctx, idx + 1, a, b, pkt, desc);
  const family = pkt.family;
  const max = domainMax(field, family);
  const occs = occurrences([a, b], field, family, max);
  const extra = meaningRanges(ctx, field, family, pkt);
  if (!occs.length && !extra.length) return exploreInterval(ctx, idx + 1, a, b, pkt, desc);
  const bounds = boundaries(occs, extra, max);
  // Group segments whose values every occurrence treats alike.
  const groups = new Map<string, { lo: bigint; segs: [bigint, bigint][] }>();
  // Each occurrence's ranges are sorted and disjoint: walk them along the sweep.
  const lists = [...occs.map((o) => o.ranges), ...extra.map((r) => [r])];
  const ptr = new Int32Array(lists.length);
  for (let k = 0; k < bounds.length; k++) {
    const lo = bounds[k];
    const hi = k + 1 < bounds.length ? bounds[k + 1] - 1n : max;
    let key = '';
    for (let i = 0; i < lists.length; i++) {
      const rs = lists[i];
      let j = ptr[i];
      while (j < rs.length && rs[j][1] < lo) j++;
      ptr[i] = j;
      key += j < rs.length && rs[j][0] <= lo ? '1' : '0';
    }
    const g = groups.get(key);
    if (g) g.segs.push([lo, hi]);
    else groups.set(key, { lo, segs: [[lo, hi]] });
  }
  const kinds = new Set<Match['kind']>([field]);
  for (const g of groups.values()) {
    const p = setField(pkt, field, g.lo);
    const d = { ...desc };
    if (groups.size > 1) {
      d[field] = () => showSet(field, family, g.segs, max) ?? 'any';
    }
    exploreInterval(ctx, idx + 1, sideSpecialize(a, kinds, p, p.hook), sideSpecialize(b, kinds, p, p.hook), p, d);
    if (ctx.diffs.length >= ctx.max) return;
  }
}

export function exploreDiscrete(ctx: Ctx, idx: number, a: Side, b: Side, pkt: Packet, desc: Desc): void {
  if (ctx.diffs.length >= ctx.max) return;
  if (idx === DFIELDS.length) {
    // Marks: state, enumerated but never specialized.
    const cands = markCandidates(ctx, a, b, pkt);
    for (const [mark, ctmark] of cands) {
      const d = cands.length > 1 && (mark || ctmark) ? { ...desc, marks: `mark=${mark}${ctmark ? ` ctmark=${ctmark}` : ''}` } : desc;
      exploreInterval(ctx, 0, a, b, { ...pkt, mark, ctmark }, d);
      if (ctx.diffs.length >= ctx.max) return;
    }
    return;
  }
  const f = DFIELDS[idx];
  const ms = [...allMatches(a, f.kinds), ...allMatches(b, f.kinds)];
  if (!ms.length && !f.always && !(f.meaningField && (ctx.a.kind === 'meaning' || ctx.b.kind === 'meaning'))) {
    // No live rule looks at this field: one class, any value (the first candidate).
    const v = f.candidates(ctx, a, b, pkt)[0];
    return exploreDiscrete(ctx, idx + 1, a, b, f.set(pkt, v), desc);
  }
  const cands = f.candidates(ctx, a, b, pkt);
  const consts = f.meaningField ? meaningConsts(ctx, f.meaningField, pkt) : NO_CONSTS;
  const groups = new Map<string, unknown[]>();
  for (const v of cands) {
    const p = f.set(pkt, v);
    let key = f.extra?.(v, a, b) ?? '';
    for (const m of ms) key += matches(m, p, p.hook) ? '1' : '0';
    if (f.meaningKey && (ctx.a.kind === 'meaning' || ctx.b.kind === 'meaning')) key += '|' + f.meaningKey(v, consts);
    const g = groups.get(key);
    if (g) g.push(v);
    else groups.set(key, [v]);
  }
  for (const g of groups.values()) {
    const p = f.set(pkt, g[0]);
    const shown = f.show(g, cands);
    const d = shown ? { ...desc, [f.name]: shown } : desc;
    const ctKnown = idx >= DFIELDS.findIndex((x) => x.name === 'ctstate');
    exploreDiscrete(ctx, idx + 1, sideSpecialize(a, f.kinds, p, p.hook, ctKnown), sideSpecialize(b, f.kinds, p, p.hook, ctKnown), p, d);
    if (ctx.diffs.length >= ctx.max) return;
  }
}
