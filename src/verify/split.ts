// Splitting a rule set on one field without specializing it once per value: a plan of the
// rules that match on the field (their chain, position and what is left of them once the
// field is decided), the signature of a class (which of those rules survive, relative to a
// baseline, and where), and the residual built from that signature alone. Two classes
// with the same signature have residual rule sets of the same structure, so they behave
// alike on every packet that agrees on the other fields: one class. A class costs the
// rules it changes, not the whole rule set.
import type { Action, Chain, Match, Rule, RuleSet } from '../ir/types.js';

const TERMINAL = new Set(['accept', 'drop', 'return', 'goto', 'redirect', 'tproxy', 'dnat']);

/** A rule that matches on the field. */
export interface Cond {
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

export interface Plan {
  rs: RuleSet;
  chains: Chain[];
  conds: Cond[];
  /** The rules of each match on the field. */
  byMatch: Map<Match, Cond[]>;
  /** Per chain: the rules that survive at the baseline, with their positions. */
  baseRules: { idxs: number[]; rules: Rule[] }[];
  baseChains: (Chain | undefined)[];
  /** A number for cache keys. */
  id: number;
  /** Residuals by signature: classes of the same structure share one rule set. */
  res: Map<string, RuleSet>;
  /** The ids of its matches on the field (a key of interval sweeps), made once. */
  matchKey?: string;
  /** Its matches on the field by structural id (equal matches hold alike), made once. */
  reps?: { conds: Map<number, Cond[]>; match: Map<number, Match> };
}

let plans = 0;

/** Plan a split of `rs` on `kinds`; `base(m)` is the truth of a match at the baseline. */
export function plan(rs: RuleSet, kinds: Set<Match['kind']>, base: (m: Match) => boolean): Plan {
  const kk = [...kinds].sort().join();
  let sp = splits.get(kk);
  if (!sp) splits.set(kk, (sp = new WeakMap<Rule, Split | null>()));
  const p: Plan = { rs, chains: [], conds: [], byMatch: new Map(), baseRules: [], baseChains: [], id: plans++, res: new Map() };
  for (const t of rs.tables) {
    for (const c of t.chains) {
      const ci = p.chains.length;
      p.chains.push(c);
      const idxs: number[] = [];
      const kept: Rule[] = [];
      let hasCond = false;
      for (let idx = 0; idx < c.rules.length; idx++) {
        const r = c.rules[idx];
        let x = sp.get(r);
        if (x === undefined) sp.set(r, (x = splitRule(r, kinds)));
        if (x === null) {
          idxs.push(idx);
          kept.push(r);
          continue;
        }
        hasCond = true;
        const cond: Cond = { chain: ci, idx, rule: r, ms: x.ms, base: x.ms.every(base), slot: kept.length, stripped: x.stripped, sp: x };
        p.conds.push(cond);
        for (const m of x.ms) {
          const l = p.byMatch.get(m);
          if (l) l.push(cond);
          else p.byMatch.set(m, [cond]);
        }
        if (cond.base) {
          idxs.push(idx);
          kept.push(x.stripped);
        }
      }
      p.baseRules.push({ idxs, rules: kept });
      const rules = cut(kept);
      p.baseChains.push(!hasCond && rules.length === c.rules.length ? undefined : { ...c, rules });
    }
  }
  return p;
}

/** A rule's matches on some kinds and the rule without them (null: none), made once per rule and kinds. */
export interface Split {
  ms: Match[];
  stripped: Rule;
  /** The stripped rule's structural key (made once). */
  key?: string;
}
const splits = new Map<string, WeakMap<Rule, Split | null>>();
function splitRule(r: Rule, kinds: Set<Match['kind']>): Split | null {
  if (!r.matches.some((m) => kinds.has(m.kind))) return null;
  return { ms: r.matches.filter((m) => kinds.has(m.kind)), stripped: { ...r, matches: r.matches.filter((m) => !kinds.has(m.kind)) } };
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
  for (const c of ch) s += c.sig ??= c.base ? `-${c.chain}.${c.idx};` : `+${c.chain}.${c.slot}.${ruleKey(c)};`;
  return s;
}

/**
 * A plan per rule set and key (the field and its baseline), made once per proof: the
 * store is the proof's, so its plans and residuals go with it.
 */
export function planOf(store: { plans?: WeakMap<RuleSet, Map<string, Plan>> }, rs: RuleSet, key: string, make: () => Plan): Plan {
  store.plans ??= new WeakMap();
  let m = store.plans.get(rs);
  if (!m) store.plans.set(rs, (m = new Map<string, Plan>()));
  let p = m.get(key);
  if (!p) m.set(key, (p = make()));
  return p;
}

/** The residual of a class, shared by every class of the same signature (so caches below hit). */
export function residualOf(p: Plan, ch: Cond[], sig = signature(ch)): RuleSet {
  let r = p.res.get(sig);
  if (!r) p.res.set(sig, (r = residual(p, ch)));
  return r;
}

/** The residual rule set of a class: the baseline with its changes applied. */
export function residual(p: Plan, ch: Cond[]): RuleSet {
  if (!p.conds.length && p.baseChains.every((c) => !c)) return p.rs;
  const byChain = new Map<number, Cond[]>();
  for (const c of ch) {
    const l = byChain.get(c.chain);
    if (l) l.push(c);
    else byChain.set(c.chain, [c]);
  }
  const chainOut = (ci: number): Chain => {
    const own = byChain.get(ci);
    if (!own) return p.baseChains[ci] ?? p.chains[ci];
    const rules: Rule[] = [];
    const { idxs, rules: base } = p.baseRules[ci];
    let j = 0;
    for (const c of own) {
      while (j < base.length && idxs[j] < c.idx) rules.push(base[j++]);
      if (c.base) j++; // removed: it is the baseline rule at this position
      else rules.push(c.stripped);
    }
    while (j < base.length) rules.push(base[j++]);
    return { ...p.chains[ci], rules: cut(rules) };
  };
  let ci = 0;
  return { ...p.rs, tables: p.rs.tables.map((t) => ({ ...t, chains: t.chains.map(() => chainOut(ci++)) })) };
}
