// Residual rule sets: once a field's value is fixed, its matches are decided, dead rules
// and unreachable chains dropped (cached per residual), so the search below sees less.
import type { Family, Hook, Match, Rule, RuleSet, Table } from '../ir/types.js';
import { forEachMatch, forEachRule, someChain } from '../ir/walk.js';
import type { Packet } from '../sim/packet.js';
import { matches } from '../sim/simulate.js';
import type { Side } from './side.js';

const TERMINAL = new Set(['accept', 'drop', 'return', 'goto', 'redirect', 'tproxy', 'dnat']);

/** Decide every match of the given kinds for `pkt`; drop rules that cannot match. */
export function specialize(rs: RuleSet, kinds: Set<Match['kind']>, pkt: Packet, hook: Hook): RuleSet {
  let changed = false;
  const tables = rs.tables.map((t) => {
    let tchanged = false;
    const chains = t.chains.map((c) => {
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
      if (!cchanged) return c;
      tchanged = true;
      return { ...c, rules };
    });
    if (!tchanged) return t;
    changed = true;
    return { ...t, chains };
  });
  return changed ? { ...rs, tables } : rs;
}

const kindsCache = new WeakMap<RuleSet, Set<string>>();
/** The match kinds a rule set still has, and `act:KIND` for its statements (cached per residual). */
export function kindsOf(rs: RuleSet): Set<string> {
  let k = kindsCache.get(rs);
  if (!k) {
    const kinds = new Set<string>();
    forEachRule(rs, (r) => {
      for (const m of r.matches) kinds.add(m.kind);
      kinds.add(`act:${r.action.kind}`);
      for (const e of r.effects ?? []) kinds.add(`act:${e.kind}`);
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
export function sideSpecialize(s: Side, kinds: Set<Match['kind']>, pkt: Packet, hook: Hook, ctKnown = true, key?: string): Side {
  if (s.kind !== 'rules') return s;
  const present = kindsOf(s.rs);
  const touches = [...kinds].some((k) => present.has(k));
  if (!touches) return sideWith(s, s.rs, pkt, ctKnown);
  if (key === undefined) return sideWith(s, specialize(s.rs, kinds, pkt, hook), pkt, ctKnown);
  let m = specCache.get(s.rs);
  if (!m) specCache.set(s.rs, (m = new Map<string, RuleSet>()));
  let out = m.get(key);
  if (!out) m.set(key, (out = specialize(s.rs, kinds, pkt, hook)));
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
        for (const r of work.get(n) ?? []) if (r.action.kind === 'jump' || r.action.kind === 'goto') stack.push(r.action.chain);
      }
      let again = false;
      for (const n of reach) {
        const rules = work.get(n);
        if (!rules) continue;
        let end = rules.length;
        while (end > 0 && rules[end - 1].action.kind === 'return' && !rules[end - 1].effects?.length) end--;
        let next = end < rules.length ? rules.slice(0, end) : rules;
        if (next.some((r) => r.action.kind === 'jump' && !r.effects?.length && (work.get(r.action.chain)?.length ?? 1) === 0)) {
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

export function allMatches(s: Side, kinds: Set<Match['kind']>): Match[] {
  if (s.kind !== 'rules') return [];
  const present = kindsOf(s.rs);
  if (![...kinds].some((k) => present.has(k))) return [];
  const out: Match[] = [];
  forEachMatch(s.rs, (m) => {
    if (kinds.has(m.kind)) out.push(m);
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
  return { ...s, rs: kindsOf(rs).has('nfproto') ? specialize(rs, new Set(['nfproto']), pkt, pkt.hook) : rs };
}
