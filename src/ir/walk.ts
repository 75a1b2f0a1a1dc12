// The one walk over a rule set: every table, chain, rule and match in order. Callbacks
// rather than generators, since the engine walks rule sets on its hottest paths.
import type { Action, Chain, Match, Rule, RuleSet, Table } from './types.js';

export function forEachChain(rs: RuleSet, fn: (chain: Chain, table: Table) => void): void {
  for (const t of rs.tables) for (const c of t.chains) fn(c, t);
}

export function forEachRule(rs: RuleSet, fn: (rule: Rule, index: number, chain: Chain, table: Table) => void): void {
  for (const t of rs.tables) for (const c of t.chains) for (let i = 0; i < c.rules.length; i++) fn(c.rules[i], i, c, t);
}

export function forEachMatch(rs: RuleSet, fn: (match: Match, rule: Rule, chain: Chain, table: Table) => void): void {
  for (const t of rs.tables) for (const c of t.chains) for (const r of c.rules) for (const m of r.matches) fn(m, r, c, t);
}

/** Whether some chain satisfies `pred` (stops at the first that does). */
export function someChain(rs: RuleSet, pred: (chain: Chain, table: Table) => boolean): boolean {
  for (const t of rs.tables) for (const c of t.chains) if (pred(c, t)) return true;
  return false;
}

/** The chains an action enters: a jump's or goto's, or those of a verdict map's entries. */
export function jumpTargets(a: Action): { kind: 'jump' | 'goto'; chain: string }[] {
  if (a.kind === 'jump' || a.kind === 'goto') return [a];
  if (a.kind === 'vmap') return a.entries.flatMap((e) => (e.action.kind === 'jump' || e.action.kind === 'goto' ? [e.action] : []));
  return [];
}
