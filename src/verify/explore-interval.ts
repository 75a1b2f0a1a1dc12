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
import { byPosition, changeSet, condSig, planOf, residualOf, type Changes, type Cond, type Plan } from './split.js';
import { parseHost, sweepLast } from './sweep.js';
import { canonicalAddress } from '../net/ip.js';
import { simulate } from '../sim/simulate.js';
import { sameOutcome } from './compare.js';
import { describe } from './describe.js';
import { allowed, intersect, realistic } from './facts.js';

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
  const plans = sides.map((s) => (s.kind === 'rules' && kindsOf(s.rs).has(field) ? planOf(ctx, s.rs, kinds, `i:${field}`, () => false) : undefined));
  const extra = meaningLabelled(ctx, field, family, pkt);
  // Only the values the kernel can produce for this packet (docs/facts.md).
  const allow = allowed(field, pkt);
  if (!plans.some((p) => p?.nconds) && !extra.length) {
    const q = setField(pkt, field, ctx.fine ? realistic(field, pkt, allow ?? [[0n, max]]) : (allow?.[0][0] ?? 0n));
    return field === 'daddr' ? leaf(ctx, a, b, q, desc, undefined) : exploreInterval(ctx, idx + 1, a, b, q, desc);
  }

  const groups = groupsOf(ctx, plans, extra, family, max, allow);
  for (const g of groups) {
    // A reported class gets a member a person recognises; a proof takes any.
    const p = setField(pkt, field, ctx.fine ? realistic(field, pkt, segsOf(g)) : g.lo);
    const d = groups.length > 1 ? { ...desc, [field]: () => showSet(field, family, segsOf(g), max, allow) ?? 'any' } : desc;
    const next = sides.map((s, i) => {
      const pl = plans[i];
      return pl ? sideWith(s, residualOf(pl, g.ch[i]), p) : sideSpecialize(s, kinds, p, p.hook);
    });
    if (field === 'daddr') leaf(ctx, next[0], next[1], p, desc, () => segsOf(g));
    else exploreInterval(ctx, idx + 1, next[0], next[1], p, d);
    if (ctx.diffs.length >= ctx.max) return;
  }
}

/** Segments where the same matches on the field hold (both sides) and the same constants. */
interface Atom {
  lo: bigint;
  segs: Range[];
  /** Per side, the structural ids of the matches that hold. */
  held: number[][];
  key: string;
  /** The constants' labels part of the key. */
  labels: string;
}
interface Group {
  lo: bigint;
  atoms: Atom[];
  ch: Changes[];
}

/** A plan's matches by structural id (over its live chain plans): a sweep sees each distinct match once. */
function repsOf(ctx: Ctx, p: Plan): Reps {
  const k = `r|${p.key}`;
  const done = ctx.atoms!.get(k) as Reps | undefined;
  if (done) return done;
  // One chain on the field (the usual case): its own maps, and its key made once per chain plan.
  if (p.live.length === 1) {
    const cp = p.live[0];
    let key = cp.memo.get('ids') as string | undefined;
    if (key === undefined) cp.memo.set('ids', (key = [...cp.byId.keys()].join(',')));
    const r = { conds: cp.byId, match: cp.rep, key };
    ctx.atoms!.set(k, r);
    return r;
  }
  const conds = new Map<number, Cond[]>();
  const match = new Map<number, Match>();
  for (const cp of p.live) {
    // forEach: no [key, value] pair per entry.
    cp.byId.forEach((cs, id) => {
      const l = conds.get(id);
      if (l) l.push(...cs);
      else {
        conds.set(id, [...cs]);
        match.set(id, cp.rep.get(id)!);
      }
    });
  }
  const r = { conds, match, key: [...conds.keys()].join(',') };
  ctx.atoms!.set(k, r);
  return r;
}
interface Reps {
  conds: Map<number, Cond[]>;
  match: Map<number, Match>;
  /** The ids, as a key of sweeps. */
  key: string;
}

/** A group's segments in order. */
function segsOf(g: Group): Range[] {
  if (g.atoms.length === 1) return g.atoms[0].segs;
  return g.atoms.flatMap((x) => x.segs).sort((x, y) => (x[0] < y[0] ? -1 : 1));
}

/**
 * The classes of a field: the atoms (swept once per set of matches, shared by every class
 * whose residuals have the same rules on the field), then per atom the surviving rules.
 */
function groupsOf(ctx: Ctx, plans: (Plan | undefined)[], extra: { r: Range; label: string }[], family: Packet['family'], max: bigint, allow: Range[] | undefined): Group[] {
  const ex = extra.map((x) => `${x.r[0]}-${x.r[1]}:${x.label}`).join(',') + (allow ? `|a:${allow.map((r) => `${r[0]}-${r[1]}`).join(',')}` : '');
  ctx.atoms ??= new Map();
  // The groups depend on the chains that split (their plans, fixed once made), the
  // constants and the family only: residuals that keep those chains share them.
  const gk = `g|${family}|${max}|${plans.map((p) => p?.key ?? '').join('|')}|${ex}`;
  const done = ctx.atoms.get(gk) as Group[] | undefined;
  if (done) return done;
  const reps = plans.map((p) => (p ? repsOf(ctx, p) : undefined));
  // The domain (ports or addresses) is part of the key: with no rule on the field, two fields' sweeps would meet.
  const rk = `${family}|${max}|${reps.map((r) => r?.key ?? '').join('|')}`;
  const key = `${rk}|${ex}`;
  let atoms = ctx.atoms.get(key) as Atom[] | undefined;
  if (!atoms) {
    // The rules' sweep is made once per set of matches; the meaning's constants and the
    // values the kernel allows (a few ranges, varying from class to class) only cut it.
    let base = ctx.atoms.get(rk) as Atom[] | undefined;
    if (!base) ctx.atoms.set(rk, (base = sweep(reps, [], family, max)));
    atoms = restrict(extra.length ? overlay(base, sweep([], extra, family, max)) : base, allow);
    if (sweepCheck.on) sameAtoms(atoms, restrict(sweep(reps, extra, family, max), allow));
    ctx.atoms.set(key, atoms);
  }
  const groups = new Map<string, Group>();
  const cnt = new Map<Cond, number>();
  const lives: Cond[][] = [[], []];
  const root: Node = {};
  const out: Group[] = [];
  for (let ai = 0; ai < atoms.length; ai++) {
    const at = atoms[ai];
    for (let side = 0; side < 2; side++) {
      const r = reps[side];
      if (r) liveIn(r, at.held[side], lives[side], cnt);
      else lives[side].length = 0;
    }
    // Fine: the matches that hold (as the rules split the field); else the structure.
    let g: Group | undefined;
    if (ctx.fine) g = groups.get(at.key);
    else {
      let n = root;
      for (let side = 0; side < 2; side++) {
        const l = lives[side];
        for (let i = 0; i < l.length; i++) n = step(n, condSig(l[i]));
        n = step(n, '|');
      }
      n = step(n, at.labels);
      g = n.g;
      if (!g) n.g = g = { lo: at.lo, atoms: [], ch: lives.map((l) => changeSet([...l])) };
    }
    if (!g) groups.set(at.key, (g = { lo: at.lo, atoms: [], ch: lives.map((l) => changeSet([...l])) }));
    if (!g.atoms.length) out.push(g);
    g.atoms.push(at);
  }
  ctx.atoms.set(gk, out);
  return out;
}

// A proof's classes by the rules that survive on each side and the labels, looked up
// rule by rule (no key is built per atom: a sweep of 10,000 DNS servers has 10,000 atoms).
interface Node {
  next?: Map<string, Node>;
  g?: Group;
}
function step(n: Node, s: string): Node {
  n.next ??= new Map();
  let x = n.next.get(s);
  if (!x) n.next.set(s, (x = {}));
  return x;
}

/** The rules of a side that survive in an atom: those whose matches on the field all hold (indexed loops: this runs per atom). */
function liveIn(r: Reps, held: number[], live: Cond[], cnt: Map<Cond, number>): void {
  live.length = 0;
  let multi = false;
  for (let i = 0; i < held.length; i++) {
    const cs = r.conds.get(held[i])!;
    for (let j = 0; j < cs.length; j++) {
      if (cs[j].ms.length === 1) live.push(cs[j]);
      else multi = true;
    }
  }
  if (multi) {
    cnt.clear();
    for (let i = 0; i < held.length; i++) {
      const cs = r.conds.get(held[i])!;
      for (let j = 0; j < cs.length; j++) {
        const c = cs[j];
        if (c.ms.length === 1) continue;
        const n = (cnt.get(c) ?? 0) + 1;
        cnt.set(c, n);
        if (n === c.ms.length) live.push(c);
      }
    }
  }
  // Mostly one or two rules (a server in the raw and the nat table): no sort's work array.
  if (live.length === 2) {
    if (byPosition(live[0], live[1]) > 0) live.reverse();
  } else if (live.length > 2) live.sort(byPosition);
}

/** The atoms' values the kernel can produce; atoms left with none are gone. */
function restrict(atoms: Atom[], allow: Range[] | undefined): Atom[] {
  if (!allow) return atoms;
  const out: Atom[] = [];
  for (const at of atoms) {
    const segs = intersect(at.segs, allow);
    if (segs.length) out.push({ ...at, lo: segs[0][0], segs });
  }
  return out;
}

/** Set by tests: every overlay is checked against the sweep of the rules and the constants together. */
export const sweepCheck = { on: false };
function sameAtoms(got: Atom[], want: Atom[]): void {
  const show = (as: Atom[]) => as.map((a) => `${a.key}@${a.lo}:${a.segs.map(([lo, hi]) => `${lo}-${hi}`).join(',')}`).join('\n');
  if (show(got) !== show(want)) throw new Error(`overlay differs from the sweep:\n${show(got)}\n--- sweep\n${show(want)}`);
}

/**
 * The rules' atoms cut where the constants' labels change (`marks`: the sweep of the
 * constants alone): the atoms the sweep of both would make, in the same order, at the
 * cost of the rules' segments instead of a sort of every boundary again.
 */
function overlay(base: Atom[], marks: Atom[]): Atom[] {
  const cuts: { lo: bigint; hi: bigint; labels: string }[] = [];
  for (const m of marks) for (const [lo, hi] of m.segs) cuts.push({ lo, hi, labels: m.labels });
  cuts.sort((x, y) => (x.lo < y.lo ? -1 : x.lo > y.lo ? 1 : 0));
  // The cut holding v (the cuts cover the field's whole domain, from 0 on).
  const find = (v: bigint) => {
    let l = 0;
    let h = cuts.length - 1;
    while (l < h) {
      const m = (l + h + 1) >> 1;
      if (cuts[m].lo <= v) l = m;
      else h = m - 1;
    }
    return l;
  };
  const out: Atom[] = [];
  for (const at of base) {
    const held = at.key.slice(0, at.key.indexOf('#'));
    const mine = new Map<string, Atom>();
    for (const [lo0, hi] of at.segs) {
      let lo = lo0;
      for (let k = find(lo); lo <= hi; k++) {
        const end = cuts[k].hi < hi ? cuts[k].hi : hi;
        const labels = cuts[k].labels;
        let a = mine.get(labels);
        if (!a) {
          mine.set(labels, (a = { lo, segs: [], held: at.held, key: `${held}${labels}`, labels }));
          out.push(a);
        }
        a.segs.push([lo, end]);
        lo = end + 1n;
      }
    }
  }
  return out.sort((x, y) => (x.lo < y.lo ? -1 : x.lo > y.lo ? 1 : 0));
}

/** The sweep over the boundaries where some match or constant starts or stops holding. */
function sweep(reps: (Reps | undefined)[], extra: { r: Range; label: string }[], family: Packet['family'], max: bigint): Atom[] {
  const small = max <= BigInt(Number.MAX_SAFE_INTEGER);
  // Events as parallel arrays sorted by position.
  const atB: bigint[] = [];
  const evSide: number[] = [];
  const evRef: (number | string)[] = [];
  const evD: number[] = [];
  const span = (r: Range, side: number, ref: number | string) => {
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
  reps.forEach((p, side) => {
    if (p) p.match.forEach((m, id) => rangesOf(m, family, max).forEach((r) => span(r, side, id)));
  });
  for (const x of extra) span(x.r, 2, x.label);
  const order = Array.from({ length: atB.length }, (_, i) => i);
  if (small) {
    const atN = Float64Array.from(atB, Number);
    order.sort((x, y) => atN[x] - atN[y]);
  } else order.sort((x, y) => (atB[x] < atB[y] ? -1 : atB[x] > atB[y] ? 1 : 0));
  const held = [new Map<number, number>(), new Map<number, number>()];
  const labels = new Map<string, number>();
  const atoms = new Map<string, Atom>();
  let cur: Atom | undefined;
  let e = 0;
  let lo = 0n;
  while (lo <= max) {
    let dirty = lo === 0n;
    for (; e < order.length && atB[order[e]] === lo; e++) {
      const ev = order[e];
      const side = evSide[ev];
      dirty = true;
      const m = side === 2 ? labels : held[side];
      const ref = evRef[ev] as never;
      const n = (m.get(ref) ?? 0) + evD[ev];
      if (n) m.set(ref, n);
      else m.delete(ref);
    }
    const hi = e < order.length ? atB[order[e]] - 1n : max;
    if (dirty) {
      const hs = held.map((h) => [...h.keys()]);
      const key = `${hs.map((h) => [...h].sort((x, y) => x - y).join(',')).join('|')}#${[...labels.keys()].sort().join(',')}`;
      cur = atoms.get(key);
      if (cur) cur.segs.push([lo, hi]);
      else atoms.set(key, (cur = { lo, segs: [[lo, hi]], held: hs, key, labels: key.slice(key.indexOf('#')) }));
    } else cur!.segs.push([lo, hi]);
    lo = hi + 1n;
  }
  return [...atoms.values()];
}

/** One class of the last field: both sides evaluated once. */
function leaf(ctx: Ctx, a: Side, b: Side, p: Packet, desc: Desc, segs: (() => Range[]) | undefined): void {
  ctx.classes++;
  ctx.onClass?.(p);
  const ev = (s: Side) => (s.kind === 'rules' ? simulate(s.rs, p, undefined, false) : s.evaluate(p)).outcome;
  const ra = ev(a);
  const rb = ev(b);
  if (sameOutcome(ra, rb) || ctx.diffs.length >= ctx.max) return;
  const q = { ...p, dst: canonicalAddress(p.family, parseHost(p.dst)), src: canonicalAddress(p.family, parseHost(p.src)) };
  ctx.diffs.push(segs ? { description: '', desc, dst: segs(), packet: q, a: ra, b: rb } : { description: describe(desc, q), packet: q, a: ra, b: rb });
}
