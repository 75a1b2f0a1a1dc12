// Residual rule sets: once a field's value is fixed, its matches are decided, dead rules
// and unreachable chains dropped (cached per residual), so the search below sees less.
import type { Chain, Family, Hook, Match, Rule, RuleSet, Table } from '../ir/types.js';
import { forEachChain, someChain } from '../ir/walk.js';
import type { Packet } from '../sim/packet.js';
import { matches } from '../sim/simulate.js';
import type { Side } from './side.js';

const TERMINAL = new Set(['accept', 'drop', 'return', 'goto', 'redirect', 'tproxy', 'dnat']);

/**
 * Decide every match of the given kinds for `pkt`; drop rules that cannot match. With
 * `value` (naming the packet's value of those kinds, on which alone their matches
 * depend), each chain's result is kept per chain object, so rule sets that share a chain
 * share its residual (and what is cached below it).
 */
export function specialize(rs: RuleSet, kinds: Set<Match['kind']>, pkt: Packet, hook: Hook, value?: string): RuleSet {
  let changed = false;
  const ck = value === undefined ? undefined : `${[...kinds].join()}=${value}@${hook}`;
  const tables = rs.tables.map((t) => {
    let tchanged = false;
    const chains = t.chains.map((c) => {
      let out: Chain | undefined;
      if (ck === undefined) out = specializeChain(c, kinds, pkt, hook);
      else {
        let m = chainSpec.get(c);
        if (!m) chainSpec.set(c, (m = new Map<string, Chain>()));
        out = m.get(ck);
        if (!out) m.set(ck, (out = specializeChain(c, kinds, pkt, hook)));
      }
      if (out !== c) tchanged = true;
      return out;
    });
    if (!tchanged) return t;
    changed = true;
    return { ...t, chains };
  });
  return changed ? { ...rs, tables } : rs;
}

const chainSpec = new WeakMap<Chain, Map<string, Chain>>();

function specializeChain(c: Chain, kinds: Set<Match['kind']>, pkt: Packet, hook: Hook): Chain {
  const rules: Rule[] = [];
  let cchanged = false;
  for (const r of c.rules) {
    let keep = true;
    let kept: Match[] | undefined;
    for (let i = 0; i < r.matches.length; i++) {
      const m = r.matches[i];
      if (!kinds.has(m.kind)) {
        kept?.push(m);
        continue;
      }
      if (!kept) kept = r.matches.slice(0, i);
      if (!matches(m, pkt, hook)) {
        keep = false;
        break;
      }
    }
    if (!keep) {
      cchanged = true;
      continue;
    }
    const nr = kept ? { ...r, matches: kept } : r;
    if (kept) cchanged = true;
    rules.push(nr);
    if (nr.matches.length === 0 && TERMINAL.has(nr.action.kind)) {
      if (rules.length < c.rules.length) cchanged = true;
      break; // nothing after an unconditional verdict is reachable
    }
  }
  return cchanged ? { ...c, rules } : c;
}

const chainKinds = new WeakMap<Chain, Set<string>>();
const ACT = new Map<string, string>();
const act = (k: string) => {
  let s = ACT.get(k);
  if (s === undefined) ACT.set(k, (s = `act:${k}`));
  return s;
};
/** A chain's match kinds and `act:KIND` for its statements (cached per chain object). */
export function kindsOfChain(c: Chain): Set<string> {
  let k = chainKinds.get(c);
  if (!k) {
    k = new Set<string>();
    for (const r of c.rules) {
      for (const m of r.matches) k.add(m.kind);
      k.add(act(r.action.kind));
      if (r.effects) for (const e of r.effects) k.add(act(e.kind));
    }
    chainKinds.set(c, k);
  }
  return k;
}

const kindsCache = new WeakMap<RuleSet, Set<string>>();
/** The match kinds a rule set still has, and `act:KIND` for its statements (cached per residual, made from its chains'). */
export function kindsOf(rs: RuleSet): Set<string> {
  let k = kindsCache.get(rs);
  if (!k) {
    const kinds = new Set<string>();
    forEachChain(rs, (c) => {
      for (const x of kindsOfChain(c)) kinds.add(x);
    });
    kindsCache.set(rs, (k = kinds));
  }
  return k;
}

const simplifyCache = new WeakMap<RuleSet, Map<string, RuleSet>>();

const specCache = new WeakMap<RuleSet, Map<string, RuleSet>>();

/**
 * A side with the given kinds decided for `pkt`. With `key` (naming the truth of every
 * match of those kinds), the residual is shared by every call with that key.
 */
export function sideSpecialize(s: Side, kinds: Set<Match['kind']>, pkt: Packet, hook: Hook, ctKnown = true, key?: string, value?: string): Side {
  if (s.kind !== 'rules') return s;
  const present = kindsOf(s.rs);
  const touches = [...kinds].some((k) => present.has(k));
  if (!touches) return sideWith(s, s.rs, pkt, ctKnown);
  if (key === undefined) return sideWith(s, specialize(s.rs, kinds, pkt, hook, value), pkt, ctKnown);
  let m = specCache.get(s.rs);
  if (!m) specCache.set(s.rs, (m = new Map<string, RuleSet>()));
  let out = m.get(key);
  if (!out) m.set(key, (out = specialize(s.rs, kinds, pkt, hook, value)));
  return sideWith(s, out, pkt, ctKnown);
}

/** A side with its rule set replaced by a residual (already specialized), then simplified. */
export function sideWith(s: Side, spec: RuleSet, pkt: Packet, ctKnown = true): Side {
  if (s.kind !== 'rules') return s;
  const ct = ctKnown ? (pkt.ctstate === 'new' ? 'new' : 'old') : '?';
  const key = `${pkt.hook}:${ct}`;
  let m = simplifyCache.get(spec);
  if (!m) simplifyCache.set(spec, (m = new Map<string, RuleSet>()));
  let out = m.get(key);
  if (!out) m.set(key, (out = simplify(spec, pkt.hook, ctKnown ? pkt.ctstate : undefined)));
  return out === s.rs ? s : { ...s, rs: out };
}

/**
 * Drop what cannot change the outcome for the packets still being explored: base chains
 * of other hooks, nat chains when the connection is not new, chains no live base chain
 * reaches, trailing RETURNs (falling off a chain does the same), and jumps to empty
 * chains. Repeated until nothing changes. This is what keeps, say, 10,000 RETURN rules
 * out of the exploration of UDP, which none of them can capture.
 */
const NONE: Rule[] = [];
const targetsCache = new WeakMap<Rule[], { all: string[]; plain: string[] }>();
/** The chains a chain's rules jump or go to, and those of plain jumps (no other statement); made once per rules array. */
function targetsOf(rules: Rule[]): { all: string[]; plain: string[] } {
  let t = targetsCache.get(rules);
  if (!t) {
    t = { all: [], plain: [] };
    for (const r of rules) {
      if (r.action.kind !== 'jump' && r.action.kind !== 'goto') continue;
      t.all.push(r.action.chain);
      if (r.action.kind === 'jump' && !r.effects?.length) t.plain.push(r.action.chain);
    }
    targetsCache.set(rules, t);
  }
  return t;
}

export function simplify(rs: RuleSet, hook: Packet['hook'], ctstate: Packet['ctstate'] | undefined): RuleSet {
  const hooks = hook === 'output' ? ['output', 'postrouting'] : ['prerouting', 'input'];
  let changed = false;
  const tables: Table[] = [];
  for (const t of rs.tables) {
    const work = new Map<string, Rule[]>(t.chains.map((c) => [c.name, c.rules]));
    const live = t.chains.filter((c) => c.base && hooks.includes(c.base.hook) && !(c.base.type === 'nat' && ctstate !== undefined && ctstate !== 'new'));
    let reach = new Set<string>();
    for (let round = 0; round < 64; round++) {
      reach = new Set<string>();
      const stack = live.map((c) => c.name);
      while (stack.length) {
        const n = stack.pop()!;
        if (reach.has(n)) continue;
        reach.add(n);
        for (const c of targetsOf(work.get(n) ?? NONE).all) stack.push(c);
      }
      let again = false;
      for (const n of reach) {
        const rules = work.get(n);
        if (!rules) continue;
        let end = rules.length;
        while (end > 0 && rules[end - 1].action.kind === 'return' && !rules[end - 1].effects?.length) end--;
        let next = end < rules.length ? rules.slice(0, end) : rules;
        if (targetsOf(next).plain.some((c) => (work.get(c)?.length ?? 1) === 0)) {
          next = next.filter((r) => !(r.action.kind === 'jump' && !r.effects?.length && (work.get(r.action.chain)?.length ?? 1) === 0));
        }
        if (next !== rules) {
          work.set(n, next);
          again = true;
        }
      }
      if (!again) break;
    }
    const chains = t.chains.filter((c) => reach.has(c.name)).map((c) => (work.get(c.name) === c.rules ? c : { ...c, rules: work.get(c.name)! }));
    if (chains.length !== t.chains.length || chains.some((c, i) => c !== t.chains[i])) changed = true;
    if (chains.length) tables.push(chains.length === t.chains.length && chains.every((c, i) => c === t.chains[i]) ? t : { ...t, chains });
    else changed = true;
  }
  return changed ? { ...rs, tables } : rs;
}

const chainMatches = new WeakMap<Chain, Map<string, Match[]>>();
export function allMatches(s: Side, kinds: Set<Match['kind']>): Match[] {
  if (s.kind !== 'rules') return [];
  const present = kindsOf(s.rs);
  if (![...kinds].some((k) => present.has(k))) return [];
  const out: Match[] = [];
  const kk = [...kinds].join();
  // Per chain (made once per chain object): residuals share most of their chains.
  forEachChain(s.rs, (c) => {
    if (![...kinds].some((k) => kindsOfChain(c).has(k))) return;
    let m = chainMatches.get(c);
    if (!m) chainMatches.set(c, (m = new Map<string, Match[]>()));
    let l = m.get(kk);
    if (!l) {
      l = [];
      for (const r of c.rules) for (const x of r.matches) if (kinds.has(x.kind)) l.push(x);
      m.set(kk, l);
    }
    for (const x of l) out.push(x);
  });
  return out;
}

export function hasNat(s: Side): boolean {
  return s.kind === 'rules' && someChain(s.rs, (c) => c.base?.type === 'nat');
}

export function restrictFamily(s: Side, f: Family, pkt: Packet): Side {
  if (s.kind !== 'rules') return s;
  const rs = { ...s.rs, tables: s.rs.tables.filter((t: Table) => t.family === f || t.family === 'inet') };
  // In inet tables the family is a match like any other (nft meta nfproto).
  return { ...s, rs: kindsOf(rs).has('nfproto') ? specialize(rs, new Set(['nfproto']), pkt, pkt.hook, f) : rs };
}
