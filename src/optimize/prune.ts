// The passes that remove what no packet needs: rules no packet reaches (after an
// unconditional verdict, or shadowed by an earlier verdict that takes all their packets),
// trailing returns (falling off a chain's end is the same return), jumps to chains that
// only return, and chains nothing jumps to.
import type { Chain, Match, Rule, RuleSet, Table } from '../ir/types.js';
import { covers, isTerminal, matchKey, readsMutable } from './rules.js';

/** How many earlier verdicts each rule is compared with (the test is quadratic). */
const SHADOW_WINDOW = 64;

const mapChains = (rs: RuleSet, f: (c: Chain, t: Table) => Chain): RuleSet => ({ ...rs, tables: rs.tables.map((t) => ({ ...t, chains: t.chains.map((c) => f(c, t)) })) });

function liveRules(rules: readonly Rule[]): Rule[] {
  const out: Rule[] = [];
  const verdicts: Rule[] = [];
  for (const r of rules) {
    if (verdicts.some((q) => covers(q, r))) continue;
    out.push(r);
    if (isTerminal(r.action)) {
      // Nothing after an unconditional verdict is reached.
      if (!r.matches.length) break;
      if (!r.matches.some(readsMutable)) verdicts.push(r);
      if (verdicts.length > SHADOW_WINDOW) verdicts.shift();
    }
  }
  // A return as the last rule does what falling off the end does.
  while (out.length && out[out.length - 1].action.kind === 'return' && !(out[out.length - 1].effects ?? []).length) out.pop();
  return out;
}

/** dead-rules: rules no packet reaches, and trailing returns. */
export function deadRules(rs: RuleSet): RuleSet {
  return mapChains(rs, (c) => ({ ...c, rules: liveRules(c.rules) }));
}

/** empty-jumps: a jump (with no other statement) to a chain that only returns does nothing. */
export function emptyJumps(rs: RuleSet): RuleSet {
  return {
    ...rs,
    tables: rs.tables.map((t) => {
      let chains = t.chains;
      for (;;) {
        const noop = new Set(chains.filter((c) => !c.base && c.rules.every((r) => r.action.kind === 'return' && !(r.effects ?? []).length)).map((c) => c.name));
        let changed = false;
        chains = chains.map((c) => {
          const rules = c.rules.filter((r) => !(r.action.kind === 'jump' && noop.has(r.action.chain) && !(r.effects ?? []).length));
          if (rules.length !== c.rules.length) changed = true;
          return rules.length === c.rules.length ? c : { ...c, rules };
        });
        if (!changed) return { ...t, chains };
      }
    }),
  };
}

const targetOf = (r: Rule): string | undefined => (r.action.kind === 'jump' || r.action.kind === 'goto' ? r.action.chain : undefined);

/** unused-chains: chains no base chain reaches. */
export function unusedChains(rs: RuleSet): RuleSet {
  return {
    ...rs,
    tables: rs.tables.map((t) => {
      const byName = new Map(t.chains.map((c) => [c.name, c]));
      const seen = new Set<string>();
      const todo = t.chains.filter((c) => c.base).map((c) => c.name);
      while (todo.length) {
        const n = todo.pop()!;
        if (seen.has(n)) continue;
        seen.add(n);
        for (const r of byName.get(n)?.rules ?? []) {
          const to = targetOf(r);
          if (to && !seen.has(to)) todo.push(to);
        }
      }
      return { ...t, chains: t.chains.filter((c) => seen.has(c.name)) };
    }),
  };
}

/**
 * inline-chains: a chain entered from one place takes the place of the jump. At the end
 * of the caller, its returns return from the caller, which is where the packet went after
 * the jump anyway; elsewhere only a one-rule chain whose rule does not leave the chain.
 * Only where the packet meets fewer rules: the jump is unconditional (it and nothing else
 * goes), or the chain has one rule (the jump's matches go onto it). A jump whose matches
 * read marks stays (the chain's rules may change them before the next test).
 */
export function inlineChains(rs: RuleSet): RuleSet {
  return {
    ...rs,
    tables: rs.tables.map((t) => {
      let chains = inlineOneRuleChains(t.chains);
      for (;;) {
        const refs = new Map<string, number>();
        for (const c of chains) for (const r of c.rules) {
          const to = targetOf(r);
          if (to) refs.set(to, (refs.get(to) ?? 0) + 1);
        }
        const byName = new Map(chains.map((c) => [c.name, c]));
        let done: string | undefined;
        chains = chains.map((c) => {
          if (done) return c;
          for (let i = 0; i < c.rules.length; i++) {
            const j = c.rules[i];
            if (j.action.kind !== 'jump' || (j.effects ?? []).length || j.matches.some(readsMutable)) continue;
            const callee = byName.get(j.action.chain);
            if (!callee || callee.base || callee === c || refs.get(callee.name) !== 1) continue;
            const one = callee.rules.length === 1 ? callee.rules[0].action.kind : undefined;
            // Anywhere: one rule that does not leave the chain (return, goto would leave the caller instead).
            const anywhere = one !== undefined && one !== 'return' && one !== 'goto';
            const atEnd = i === c.rules.length - 1 && (!j.matches.length || one !== undefined);
            if (!anywhere && !atEnd) continue;
            done = callee.name;
            const inlined = callee.rules.map((r) => ({ ...r, matches: withJumpMatches(j, r) }));
            return { ...c, rules: [...c.rules.slice(0, i), ...inlined, ...c.rules.slice(i + 1)] };
          }
          return c;
        });
        if (!done) return { ...t, chains };
        chains = chains.filter((c) => c.name !== done);
      }
    }),
  };
}

/** An inlined rule's matches: the jump's, then its own but those the jump already tests (iptables refuses `-p tcp` twice). */
function withJumpMatches(j: Rule, r: Rule): Match[] {
  const own = new Set(j.matches.map(matchKey));
  return [...j.matches, ...r.matches.filter((m) => !own.has(matchKey(m)))];
}

const plainJump = (r: Rule) => r.action.kind === 'jump' && !(r.effects ?? []).length && !r.matches.some(readsMutable);

/**
 * A chain of one rule that does not leave it (not a return or goto), entered only by plain
 * jumps, replaces every one of them: the jump's matches, then its rule. A packet that
 * matches both does what the rule does and goes on after the jump, as before; one that
 * does not goes on too. One rule fewer, and a packet that jumps meets one rule less.
 */
function inlineOneRuleChains(chains: Chain[]): Chain[] {
  const refs = new Map<string, Rule[]>();
  for (const c of chains) for (const r of c.rules) {
    const to = targetOf(r);
    if (to) refs.set(to, [...(refs.get(to) ?? []), r]);
  }
  const one = new Map<string, Rule>();
  for (const c of chains) {
    const [r] = c.rules;
    const uses = refs.get(c.name) ?? [];
    if (c.base || c.rules.length !== 1 || r.action.kind === 'return' || r.action.kind === 'goto' || targetOf(r) === c.name) continue;
    if (uses.length < 2 || !uses.every(plainJump)) continue;
    one.set(c.name, r);
  }
  // One level at a time: a chain inlined here is not also a rule being inlined elsewhere.
  for (const r of one.values()) {
    const to = targetOf(r);
    if (to) one.delete(to);
  }
  if (!one.size) return chains;
  return chains
    .filter((c) => !one.has(c.name))
    .map((c) => ({
      ...c,
      rules: c.rules.map((j) => {
        const to = targetOf(j);
        const r = to !== undefined ? one.get(to) : undefined;
        if (!r) return j;
        return { ...r, matches: withJumpMatches(j, r) };
      }),
    }));
}
