// The recursive search over the discrete fields one by one, then the marks (the interval
// fields follow in explore-interval.ts); each class of values specializes both sides
// before the next field. Interfaces and owners go through an index (value -> the rules
// that mention it), so a value costs the rules that mention it, and values whose residuals
// have the same structure form one class.
import type { Match } from '../ir/types.js';
import { forEachChain } from '../ir/walk.js';
import type { Packet } from '../sim/packet.js';
import { matches } from '../sim/simulate.js';
import { meaningConsts, type Ctx, type Desc, type Merged } from './context.js';
import { DFIELDS, type DField } from './discrete.js';
import { exploreInterval } from './explore-interval.js';
import { markCandidates } from './marks.js';
import { allMatches, kindsOf, kindsOfChain, sideSpecialize, sideWith } from './residual.js';
import type { Side } from './side.js';
import { chainId, changes, changeSet, idOf, planOf, residualOf, signature, type Changes, type ChainPlan, type Cond, type Plan } from './split.js';

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
  if (f.index) return exploreIndexed(ctx, idx, f, f.index, a, b, pkt, desc);
  const ms = [...allMatches(a, f.kinds), ...allMatches(b, f.kinds)];
  if (!ms.length && !f.always && !(f.factKey && f.candidates(ctx, a, b, pkt).length > 1) && !(f.meaningField && (ctx.a.kind === 'meaning' || ctx.b.kind === 'meaning'))) {
    // No live rule looks at this field: one class, any value.
    const cs = f.candidates(ctx, a, b, pkt);
    const v = cs[cs.length - 1];
    return exploreDiscrete(ctx, idx + 1, a, b, f.set(pkt, v), desc);
  }
  const cands = f.candidates(ctx, a, b, pkt);
  const groups = new Map<string, unknown[]>();
  for (const v of cands) {
    const p = f.set(pkt, v);
    let key = (f.extra?.(v, a, b) ?? '') + (f.factKey?.(v) ?? '');
    for (const m of ms) key += matches(m, p, p.hook) ? '1' : '0';
    const g = groups.get(key);
    if (g) g.push(v);
    else groups.set(key, [v]);
  }
  for (const [key, g] of groups) {
    const p = f.set(pkt, g[0]);
    const shown = f.show(g, cands);
    const d = shown ? { ...desc, [f.name]: shown } : desc;
    // The key names the truth of every match on the field: residuals shared per key.
    const k = `${f.name}:${key}`;
    // Matches on the field depend on its value (and the hook) alone: chains are specialized once per value.
    const v = `${typeof g[0]}:${String(g[0])}`;
    exploreDiscrete(ctx, idx + 1, sideSpecialize(a, f.kinds, p, p.hook, ctKnownAt(idx), k, v), sideSpecialize(b, f.kinds, p, p.hook, ctKnownAt(idx), k, v), p, d);
    if (ctx.diffs.length >= ctx.max) return;
  }
}

const ctKnownAt = (idx: number) => idx >= DFIELDS.findIndex((x) => x.name === 'ctstate');

/** The classes of an indexed field, as the chains that look at it and the constants split its values. */
interface Indexed {
  cands: unknown[];
  v0: unknown;
  groups: { vals: unknown[]; ch: Changes[]; shown: string }[];
  shown: Map<string, unknown[]>;
}

/** The chains of a side that look at the field, by stable id: they alone decide its candidates and classes. */
function fieldChains(s: Side, kinds: Set<Match['kind']>): string {
  if (s.kind !== 'rules' || ![...kinds].some((k) => kindsOf(s.rs).has(k))) return '';
  let out = '';
  forEachChain(s.rs, (c) => {
    const has = kindsOfChain(c);
    if ([...kinds].some((k) => has.has(k))) out += `${chainId(c)},`;
  });
  return out;
}

/**
 * A field with an index: each value costs the rules (and constants) that mention it. The
 * classes depend only on the chains that look at the field, the meaning's constants and
 * the hook, so classes that keep those chains share them (a list of 10,000 interfaces is
 * grouped once per such chain, not once per class).
 */
function exploreIndexed(ctx: Ctx, idx: number, f: DField, ix: NonNullable<DField['index']>, a: Side, b: Side, pkt: Packet, desc: Desc): void {
  const mc = f.meaningField ? meaningConsts(ctx, f.meaningField, pkt) : undefined;
  const ck = mc ? `${JSON.stringify(f.meaningField === 'iif' || f.meaningField === 'oif' ? mc.ifaces : mc.owners)}${mc.labels[f.meaningField === 'iif' || f.meaningField === 'oif' ? 'ifaces' : 'owners'].join()}` : '';
  const key = `ix|${f.name}|${pkt.hook}|${fieldChains(a, f.kinds)}|${fieldChains(b, f.kinds)}|${ck}`;
  ctx.atoms ??= new Map();
  let x = ctx.atoms.get(key) as Indexed | undefined;
  const cands = x?.cands ?? f.candidates(ctx, a, b, pkt);
  // The baseline: the last candidate (a value nothing names, or the only one).
  const v0 = cands[cands.length - 1];
  const p0 = f.set(pkt, v0);
  const pk = `${f.name}:${typeof v0}:${String(v0)}:${p0.hook}`;
  const plans = [a, b].map((s) => (s.kind === 'rules' && [...f.kinds].some((k) => kindsOf(s.rs).has(k)) ? planOf(ctx, s.rs, f.kinds, pk, (m) => matches(m, p0, p0.hook)) : undefined));
  if (!x) ctx.atoms.set(key, (x = indexedGroups(ctx, f, ix, plans, pkt, cands, mc)));
  const { groups, shown } = x;
  for (const g of groups) {
    // The class's member a person recognises: the typical value (eth0, uid 1000) if it is one.
    const p = f.set(pkt, g.vals.includes(v0) ? v0 : g.vals[0]);
    const d = shown.size > 1 ? { ...desc, [f.name]: () => f.show(shown.get(g.shown)!, cands) ?? '' } : desc;
    const next = [a, b].map((s, i) => {
      const pl = plans[i];
      return pl ? sideWith(s, residualOf(pl, g.ch[i]), p, ctKnownAt(idx)) : sideSpecialize(s, f.kinds, p, p.hook, ctKnownAt(idx));
    });
    exploreDiscrete(ctx, idx + 1, next[0], next[1], p, d);
    if (ctx.diffs.length >= ctx.max) return;
  }
}

function indexedGroups(ctx: Ctx, f: DField, ix: NonNullable<DField['index']>, plans: (Plan | undefined)[], pkt: Packet, cands: unknown[], mc: Merged | undefined): Indexed {
  const v0 = cands[cands.length - 1];
  const p0 = f.set(pkt, v0);
  // The rules by index key, per chain plan (made once per chain plan).
  const byKey = plans.map((pl) => (pl ? pl.live.map((cp) => keyIndex(cp, f.name, ix)) : []));
  const consts = new Map<string, string[]>();
  if (mc) for (const c of ix.consts(mc)) {
    const l = consts.get(c.key);
    if (l) l.push(c.label);
    else consts.set(c.key, [c.label]);
  }
  const keys0 = ix.value(v0);
  const groups = new Map<string, { vals: unknown[]; ch: Changes[]; shown: string }>();
  // The classes as the rules and the meaning split the values, which is what a description
  // says (classes the facts alone split, lo or not, describe alike and merge when reported).
  const shown = new Map<string, unknown[]>();
  const touched = [new Set<Cond>(), new Set<Cond>()];
  const holds = (c: Cond, p: Packet) => {
    for (const m of c.ms) if (!matches(m, p, p.hook)) return false;
    return true;
  };
  const none: Cond[] = [];
  for (const v of cands) {
    // The packet is made only for a value some rule mentions.
    let q: Packet | undefined;
    const pk = () => (q ??= f.set(pkt, v));
    const vk = ix.value(v);
    const chs = plans.map((pl, i) => {
      const t = touched[i];
      t.clear();
      if (!pl) return none;
      for (const bk of byKey[i]) {
        for (const k of vk) {
          const l = bk.get(k);
          if (l) for (const c of l) t.add(c);
        }
        for (const k of keys0) {
          const l = bk.get(k);
          if (l) for (const c of l) t.add(c);
        }
      }
      if (!t.size) return none;
      const p = pk();
      return changes((c) => holds(c, p), t);
    });
    // Fine: the matches whose truth differs from the baseline's; else the structure.
    const sig = ctx.fine
      ? plans.map((pl, i) => {
          if (!pl) return '';
          const p = pk();
          const ms = new Set<Match>();
          for (const c of touched[i]) for (const m of c.ms) ms.add(m);
          return [...new Set([...ms].filter((m) => matches(m, p, p.hook) !== matches(m, p0, p0.hook)).map(idOf))].sort().join(',');
        })
      : chs.map(signature);
    let labels = '';
    if (consts.size) {
      const ls: string[] = [];
      for (const k of vk) for (const l of consts.get(k) ?? []) ls.push(l);
      labels = ls.sort().join(',');
    }
    const shownKey = `${sig[0]}|${sig[1]}|${labels}`;
    const key = `${shownKey}|${f.factKey?.(v) ?? ''}`;
    const g = groups.get(key);
    if (g) g.vals.push(v);
    else groups.set(key, { vals: [v], ch: chs.map(changeSet), shown: shownKey });
    const sv = shown.get(shownKey);
    if (sv) sv.push(v);
    else shown.set(shownKey, [v]);
  }
  // The class of the typical value (eth0, uid 1000) first: the first difference reported
  // is then about the traffic most packets are.
  const ordered = [...groups.values()].sort((x, y) => Number(y.vals.includes(v0)) - Number(x.vals.includes(v0)));
  return { cands, v0, groups: ordered, shown };
}

/** A chain plan's rules by the field's index key. */
function keyIndex(cp: ChainPlan, field: string, ix: NonNullable<DField['index']>): Map<string, Cond[]> {
  const mk = `k:${field}`;
  let m = cp.memo.get(mk) as Map<string, Cond[]> | undefined;
  if (m) return m;
  m = new Map<string, Cond[]>();
  for (const [id, cs] of cp.byId) {
    const k = ix.match(cp.rep.get(id)!);
    const l = m.get(k);
    if (l) l.push(...cs);
    else m.set(k, [...cs]);
  }
  cp.memo.set(mk, m);
  return m;
}
