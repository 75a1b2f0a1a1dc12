// What the engine reads a list of interface names or owner ids, and a verdict map, as:
// the one-value rules they stand for, in order (a list match: one rule per value, none
// covering another, so a packet meets at most one of them, exactly when it meets the
// list; a negated list: every value negated in the one rule; a verdict map: one rule per
// entry with the entry's verdict). So the engine splits on their values as on any other
// rule's, and the rest of it never sees either shape. The simulator runs them as written
// (a set or map lookup is one rule a packet is tested against: compile --cost).
import { hasKeyList, isKeyMatch, oneValueMatches } from '../ir/keys.js';
import type { Match, Rule, RuleSet } from '../ir/types.js';
import { Undecided } from './context.js';
import type { Side } from './side.js';

function expandMatches(r: Rule): Match[][] {
  let alts: Match[][] = [[]];
  for (const m of r.matches) {
    const list = isKeyMatch(m) && ('names' in m || 'ids' in m);
    if (!list) {
      for (const a of alts) a.push(m);
      continue;
    }
    const one = oneValueMatches(m);
    if (m.neg) for (const a of alts) a.push(...one.map((x) => ({ ...x, neg: true })));
    else alts = alts.flatMap((a) => one.map((x) => [...a, x]));
  }
  return alts;
}

/** The one-value rules a rule stands for. */
export function desugarRule(r: Rule): Rule[] {
  if (!hasKeyList(r)) return [r];
  try {
    return expandRule(r);
  } catch (e) {
    // Only an owner range wider than the engine reads id by id.
    throw new Undecided(`${(e as Error).message}: the engine reads owner ranges id by id`);
  }
}

function expandRule(r: Rule): Rule[] {
  const a = r.action;
  const out: Rule[] = [];
  for (const matches of expandMatches(r)) {
    if (a.kind !== 'vmap') out.push({ ...r, matches });
    else for (const e of a.entries) for (const m of oneValueMatches(e.match)) out.push({ ...r, matches: [...matches, m], action: e.action });
  }
  return out;
}

const cache = new WeakMap<RuleSet, RuleSet>();

/** The rule set with every list key match and verdict map desugared (itself when it has none). */
export function desugar(rs: RuleSet): RuleSet {
  let out = cache.get(rs);
  if (out) return out;
  let changed = false;
  const tables = rs.tables.map((t) => ({
    ...t,
    chains: t.chains.map((c) => {
      if (!c.rules.some(hasKeyList)) return c;
      changed = true;
      return { ...c, rules: c.rules.flatMap(desugarRule) };
    }),
  }));
  out = changed ? { ...rs, tables } : rs;
  cache.set(rs, out);
  return out;
}

export function desugarSide(s: Side): Side {
  if (s.kind !== 'rules') return s;
  const rs = desugar(s.rs);
  return rs === s.rs ? s : { ...s, rs };
}
