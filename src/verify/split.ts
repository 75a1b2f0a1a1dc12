// Splitting a rule set on one field without specializing it once per value: a plan of the
// rules that match on the field (their chain, position and what is left of them once the
// field is decided), the signature of a class (which of those rules survive, relative to a
// baseline, and where), and the residual built from that signature alone. Two classes
// with the same signature have residual rule sets of the same structure, so they behave
// alike on every packet that agrees on the other fields: one class. A class costs the
// rules it changes, not the whole rule set.
import type { Action, Chain, Match, Rule, RuleSet } from '../ir/types.js';
import { kindsOfChain } from './residual.js';

const TERMINAL = new Set(['accept', 'drop', 'return', 'goto', 'redirect', 'tproxy', 'dnat']);

/** A rule that matches on the field. */
export interface Cond {
  /** Its chain's stable id (chainId). */
  chain: number;
  idx: number;
  rule: Rule;
  /** Its matches on the field. */
  ms: Match[];
  /** Whether it survives at the baseline value. */
  base: boolean;
  /** Rules of its chain before it that survive at the baseline. */
  slot: number;
  /** The rule once the field is decided (its matches on the field gone). */
  stripped: Rule;
  /** Its part of a signature (computed once). */
  sig?: string;
  /** Its split, shared by every plan. */
  sp: Split;
}

/**
 * The split of one chain on the field, made once per chain object, field and baseline in
 * a proof: residual rule sets keep the chains a class does not change, so every class
 * that still holds a chain (10,000 DNS rules, say) shares its split and its residuals.
 */
export interface ChainPlan {
  chain: Chain;
  /** A number for cache keys (one per chain plan). */
  uid: number;
  conds: Cond[];
  /** The rules of each match on the field, by the match's structural id (equal matches hold alike). */
  byId: Map<number, Cond[]>;
  /** A match of each structural id. */
  rep: Map<number, Match>;
  /** The rules that survive at the baseline, with their positions. */
  baseRules: { idxs: number[]; rules: Rule[] };
  /** The chain at the baseline (undefined: the chain itself). */
  baseChain: Chain | undefined;
  /** Residual chains by the chain's part of a signature (stable objects, so the plans below hit). */
  res: Map<string, Chain>;
  /** What the fields build from the plan once (indexes by key, structural ids). */
  memo: Map<string, unknown>;
}

export interface Plan {
  rs: RuleSet;
  chains: Chain[];
  /** Per chain (parallel to `chains`), its plan. */
  cps: ChainPlan[];
  /** The chain plans with rules on the field, each once, in chain order. */
  live: ChainPlan[];
  /** How many rules match on the field. */
  nconds: number;
  /** A number for cache keys. */
  id: number;
  /** The live chain plans' uids: plans with the same key split alike. */
  key: string;
  /** Residuals by signature: classes of the same structure share one rule set. */
  res: Map<string, RuleSet>;
}

/** The changes of a class, by chain, with their signatures (made once per class, used per plan). */
export interface Changes {
  ch: Cond[];
  sig: string;
  parts: Map<number, { ch: Cond[]; sig: string }>;
}

let plans = 0;
let chainPlans = 0;
const chainIds = new WeakMap<Chain, number>();
let nextChain = 0;
/** A stable number per chain object. */
export function chainId(c: Chain): number {
  let id = chainIds.get(c);
  if (id === undefined) chainIds.set(c, (id = nextChain++));
  return id;
}

// The store is the proof's: its plans, chain plans and residuals go with it (kept for the
// whole compile they would hold every proof's residuals at once).
type PlanStore = { plans?: WeakMap<RuleSet, Map<string, Plan>>; chainPlans?: WeakMap<Chain, Map<string, ChainPlan>> };

/** Plan a split of `rs` on `kinds`; `base(m)` is the truth of a match at the baseline, which `key` names. */
export function plan(st: PlanStore, rs: RuleSet, kinds: Set<Match['kind']>, key: string, base: (m: Match) => boolean): Plan {
  const kk = [...kinds].sort().join();
  let sp = splits.get(kk);
  if (!sp) splits.set(kk, (sp = new WeakMap<Rule, Split | null>()));
  const store = (st.chainPlans ??= new WeakMap());
  const p: Plan = { rs, chains: [], cps: [], live: [], nconds: 0, id: plans++, key: '', res: new Map() };
  const seen = new Set<ChainPlan>();
  for (const t of rs.tables) {
    for (const c of t.chains) {
      p.chains.push(c);
      let m = store.get(c);
      if (!m) store.set(c, (m = new Map<string, ChainPlan>()));
      let cp = m.get(key);
      if (!cp) m.set(key, (cp = chainPlan(c, kinds, base, sp)));
      p.cps.push(cp);
      if (cp.conds.length && !seen.has(cp)) {
        seen.add(cp);
        p.live.push(cp);
        p.nconds += cp.conds.length;
      }
    }
  }
  p.key = p.live.map((cp) => cp.uid).join(',');
  return p;
}

function chainPlan(c: Chain, kinds: Set<Match['kind']>, base: (m: Match) => boolean, sp: WeakMap<Rule, Split | null>): ChainPlan {
  const ci = chainId(c);
  const cp: ChainPlan = { chain: c, uid: chainPlans++, conds: [], byId: new Map(), rep: new Map(), baseRules: { idxs: [], rules: [] }, baseChain: undefined, res: new Map(), memo: new Map() };
  // A chain without the field: nothing to split (not even a walk).
  const has = kindsOfChain(c);
  if (![...kinds].some((k) => has.has(k))) return cp;
  const { idxs, rules: kept } = cp.baseRules;
  for (let idx = 0; idx < c.rules.length; idx++) {
    const r = c.rules[idx];
    let x = sp.get(r);
    if (x === undefined) sp.set(r, (x = splitRule(r, kinds)));
    if (x === null) {
      idxs.push(idx);
      kept.push(r);
      continue;
    }
    // sig is set later: declared here so that setting it does not grow every rule's object.
    const cond: Cond = { chain: ci, idx, rule: r, ms: x.ms, base: x.ms.every(base), slot: kept.length, stripped: x.stripped, sp: x, sig: undefined };
    cp.conds.push(cond);
    for (let i = 0; i < x.ms.length; i++) {
      const id = x.ids[i];
      const m = x.ms[i];
      const l = cp.byId.get(id);
      // A rule is listed once per match (a class holds it when all of them hold).
      if (l) l.push(cond);
      else {
        cp.byId.set(id, [cond]);
        cp.rep.set(id, m);
      }
    }
    if (cond.base) {
      idxs.push(idx);
      kept.push(x.stripped);
    }
  }
  const rules = cut(kept);
  cp.baseChain = !cp.conds.length && rules.length === c.rules.length ? undefined : { ...c, rules };
  return cp;
}

/** A rule's matches on some kinds and the rule without them (null: none), made once per rule and kinds. */
export interface Split {
  ms: Match[];
  /** Their structural ids. */
  ids: number[];
  stripped: Rule;
  /** The stripped rule's structural key (made once). */
  key?: string;
}
const splits = new Map<string, WeakMap<Rule, Split | null>>();
function splitRule(r: Rule, kinds: Set<Match['kind']>): Split | null {
  if (!r.matches.some((m) => kinds.has(m.kind))) return null;
  const ms = r.matches.filter((m) => kinds.has(m.kind));
  return { ms, ids: ms.map(idOf), stripped: { ...r, matches: r.matches.filter((m) => !kinds.has(m.kind)) } };
}

function cut(rules: Rule[]): Rule[] {
  const i = rules.findIndex((r) => r.matches.length === 0 && TERMINAL.has(r.action.kind));
  return i >= 0 && i + 1 < rules.length ? rules.slice(0, i + 1) : rules;
}

/** The rules whose survival differs from the baseline, in chain order. */
export function changes(survives: (c: Cond) => boolean, candidates: Iterable<Cond>): Cond[] {
  const out: Cond[] = [];
  for (const c of candidates) if (survives(c) !== c.base) out.push(c);
  return out.sort((x, y) => x.chain - y.chain || x.idx - y.idx);
}

// Structural ids of matches and actions (interned), so equal rules of different
// residuals get equal keys without long strings.
const intern = new Map<string, number>();
const objIds = new WeakMap<object, number>();
export function idOf(x: Match | Action): number {
  let id = objIds.get(x);
  if (id === undefined) {
    const s = JSON.stringify(x);
    id = intern.get(s);
    if (id === undefined) intern.set(s, (id = intern.size));
    objIds.set(x, id);
  }
  return id;
}
// Kept with the rule's split (shared by every plan of the same rule and kinds).
function ruleKey(c: Cond): string {
  const r = c.stripped;
  return (c.sp.key ??= `${r.matches.map(idOf).join(',')}>${(r.effects ?? []).map(idOf).join(',')}>${idOf(r.action)}`);
}

/** A class's signature: equal signatures give residuals of the same structure. */
export function signature(ch: Cond[]): string {
  let s = '';
  for (const c of ch) s += condSig(c);
  return s;
}

/** One rule's part of a signature. */
export function condSig(c: Cond): string {
  return (c.sig ??= c.base ? `-${c.chain}.${c.idx};` : `+${c.chain}.${c.slot}.${ruleKey(c)};`);
}

/** Rules in chain order. */
export const byPosition = (x: Cond, y: Cond) => x.chain - y.chain || x.idx - y.idx;

/**
 * A plan per rule set and key (the field and its baseline), made once per proof: the
 * store is the proof's, so its plans and residuals go with it.
 */
export function planOf(store: PlanStore, rs: RuleSet, kinds: Set<Match['kind']>, key: string, base: (m: Match) => boolean): Plan {
  store.plans ??= new WeakMap();
  let m = store.plans.get(rs);
  if (!m) store.plans.set(rs, (m = new Map<string, Plan>()));
  let p = m.get(key);
  if (!p) m.set(key, (p = plan(store, rs, kinds, key, base)));
  return p;
}

/** A class's changes (in chain order) by chain, with the signatures residuals are shared by. */
export function changeSet(ch: Cond[]): Changes {
  const parts = new Map<number, { ch: Cond[]; sig: string }>();
  for (const c of ch) {
    const l = parts.get(c.chain);
    if (l) l.ch.push(c);
    else parts.set(c.chain, { ch: [c], sig: '' });
  }
  let sig = '';
  for (const part of parts.values()) sig += part.sig = signature(part.ch);
  return { ch, sig, parts };
}

/** The residual of a class, shared by every class of the same signature (so caches below hit). */
export function residualOf(p: Plan, cs: Changes): RuleSet {
  let r = p.res.get(cs.sig);
  if (!r) p.res.set(cs.sig, (r = residual(p, cs)));
  return r;
}

/** The residual rule set of a class: the baseline with its changes applied, chain by chain. */
export function residual(p: Plan, cs: Changes): RuleSet {
  if (!p.nconds && p.cps.every((cp) => !cp.baseChain)) return p.rs;
  let ci = 0;
  return { ...p.rs, tables: p.rs.tables.map((t) => ({ ...t, chains: t.chains.map(() => chainOut(p.cps[ci++], cs)) })) };
}

function chainOut(cp: ChainPlan, cs: Changes): Chain {
  const part = cp.conds.length ? cs.parts.get(cp.conds[0].chain) : undefined;
  if (!part) return cp.baseChain ?? cp.chain;
  let c = cp.res.get(part.sig);
  if (c) return c;
  const rules: Rule[] = [];
  const { idxs, rules: base } = cp.baseRules;
  let j = 0;
  for (const x of part.ch) {
    while (j < base.length && idxs[j] < x.idx) rules.push(base[j++]);
    if (x.base) j++; // removed: it is the baseline rule at this position
    else rules.push(x.stripped);
  }
  while (j < base.length) rules.push(base[j++]);
  cp.res.set(part.sig, (c = { ...cp.chain, rules: cut(rules) }));
  return c;
}
