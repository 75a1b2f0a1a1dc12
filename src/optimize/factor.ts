// factor-chains: where a chain says `M return` and the rules just before it all test M too
// (Istio's loopback rules: `-o lo ... ; -o lo -j RETURN`), those rules move into a chain of
// their own, entered by one `M goto` in their place, without M. A packet without M meets
// one rule instead of all of them; a packet with M meets as many as before.
// Sound: the goto chain's rules see exactly the packets that have M, in the same order; a
// return there, or falling off its end, returns from the original chain, which is what
// they and `M return` did. Before that, `M return` moves up over the returns just before
// it (two verdicts alike with nothing else to do commute), so that it meets the run.
import type { Chain, Match, Rule, RuleSet, Table } from '../ir/types.js';
import { matchKey, readsMutable } from './rules.js';

const OWN_PREFIX = 'MESHCAP_';

const plainReturn = (r: Rule) => r.action.kind === 'return' && !(r.effects ?? []).length;
const has = (r: Rule, key: string) => r.matches.some((m) => matchKey(m) === key);

/** A chain name for the run's new chain: the chain's, and what M tests; meshcap's prefix (apply owns such chains). */
function nameFor(chain: string, m: Match, taken: Set<string>): string {
  const what = 'name' in m ? `${m.kind}_${m.name}` : m.kind;
  const base = `${chain.startsWith(OWN_PREFIX) ? '' : OWN_PREFIX}${chain}_${what}`.replace(/[^A-Za-z0-9_]/g, '_').toUpperCase().slice(0, 28);
  let name = base;
  for (let n = 2; taken.has(name); n++) name = `${base}_${n}`;
  taken.add(name);
  return name;
}

/** One factoring in `c`, if there is one: the chain rewritten and the new chain. */
function factorOnce(c: Chain, taken: Set<string>): [Chain, Chain] | undefined {
  // Walking up from every return is quadratic in a chain of 10,000 returns (excluded
  // interfaces, each testing its own M): so keep, while scanning down, where the current
  // run of plain returns starts and the last rule that tests each match. The walk up
  // stops at the first rule that is not a plain return or tests M: the later of the two.
  const last = new Map<string, number>();
  let runStart = 0;
  const note = (k: number) => {
    const r = c.rules[k];
    for (const m of r.matches) last.set(matchKey(m), k);
    if (!plainReturn(r)) runStart = k + 1;
  };
  if (c.rules.length) note(0);
  for (let k = 1; k < c.rules.length; note(k), k++) {
    const ret = c.rules[k];
    if (ret.matches.length !== 1 || !plainReturn(ret) || readsMutable(ret.matches[0])) continue;
    const key = matchKey(ret.matches[0]);
    // Up over the returns that do not test M.
    const tests = last.get(key) ?? -1;
    const at = tests >= runStart ? tests + 1 : runStart;
    let from = at;
    while (from > 0 && has(c.rules[from - 1], key)) from--;
    if (at - from < 2) continue;
    const name = nameFor(c.name, ret.matches[0], taken);
    const run = c.rules.slice(from, at).map((r) => {
      const i = r.matches.findIndex((m) => matchKey(m) === key);
      return { ...r, matches: r.matches.filter((_, j) => j !== i) };
    });
    const entry: Rule = { ...ret, action: { kind: 'goto', chain: name }, origin: { ...ret.origin, purpose: `${ret.origin.purpose}, after the rules that test the same` } };
    const rules = [...c.rules.slice(0, from), entry, ...c.rules.slice(at, k), ...c.rules.slice(k + 1)];
    return [{ ...c, rules }, { name, rules: run }];
  }
  return undefined;
}

function factorTable(t: Table): Table {
  const taken = new Set(t.chains.map((c) => c.name));
  const chains: Chain[] = [];
  for (const c of t.chains) {
    let cur = c;
    const added: Chain[] = [];
    for (let f = factorOnce(cur, taken); f; f = factorOnce(cur, taken)) {
      cur = f[0];
      added.push(f[1]);
    }
    chains.push(cur, ...added);
  }
  return { ...t, chains };
}

export function factorChains(rs: RuleSet): RuleSet {
  return { ...rs, tables: rs.tables.map(factorTable) };
}
