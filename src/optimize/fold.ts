// fold-sets: runs of adjacent rules that differ in one list match (addresses or ports)
// become one rule matching the union, so 10,000 excluded CIDRs are one rule against one
// set. Sound because the rules are adjacent: a packet that matches any of them meets the
// first one it matches with nothing in between; when the action returns to the chain
// (a jump, a mark), the packet would meet the next one too, so those fold only when no
// packet can match two of them (the lists are disjoint).
import type { Rule, RuleSet } from '../ir/types.js';
import { isList, isTerminal, matchKey, rangesOf, sameAction, sameEffects, unionList, type ListMatch } from './rules.js';

/** The index of the one match in which a and b differ, if they differ in exactly one list match. */
function differingList(a: Rule, b: Rule): number | undefined {
  if (a.matches.length !== b.matches.length) return undefined;
  let at: number | undefined;
  for (let i = 0; i < a.matches.length; i++) {
    const x = a.matches[i];
    const y = b.matches[i];
    if (matchKey(x) === matchKey(y)) continue;
    if (at !== undefined || x.kind !== y.kind || !isList(x) || !isList(y) || x.neg || y.neg) return undefined;
    at = i;
  }
  return at;
}

/** Up to this many elements a folded list may mix statements (nft keeps it an anonymous set). */
export const SMALL_SET = 16;

const size = (run: Rule[], at: number) => run.reduce((n, r) => n + listSize(r.matches[at] as ListMatch), 0);
const listSize = (m: ListMatch) => ('cidrs' in m ? m.cidrs.length : m.ranges.length);

/** Rules i..j-1 of a run that differ from rules[i] only in the list match at `at`, folded. */
function foldRun(run: Rule[], at: number): Rule[] {
  const head = run[0];
  const lists = run.map((r) => r.matches[at] as ListMatch);
  const terminal = isTerminal(head.action) && !(head.effects ?? []).length;
  if (!terminal) {
    // A jump or a mark comes back for the next rule: fold only lists no packet is in twice.
    const all = lists.flatMap((l) => rangesOf(l)).sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
    for (let k = 1; k < all.length; k++) if (all[k][0] <= all[k - 1][1]) return run;
  }
  const merged = unionList(lists);
  // The folded rule says why each of its rules existed (and points at the first's statement).
  const purpose = [...new Set(run.map((r) => r.origin.purpose))].join('; ');
  return [{ ...head, matches: head.matches.map((m, i) => (i === at ? merged : m)), origin: { ...head.origin, purpose } }];
}

function foldRuns(rules: readonly Rule[], mix: boolean): Rule[] {
  const out: Rule[] = [];
  let i = 0;
  while (i < rules.length) {
    const head = rules[i];
    let j = i + 1;
    let at: number | undefined;
    while (j < rules.length) {
      const r = rules[j];
      if (!sameAction(head.action, r.action) || !sameEffects(head, r)) break;
      const d = differingList(head, r);
      if (d === undefined || (at !== undefined && d !== at)) break;
      // First the lists of one statement, so that a long list keeps its statement's name
      // (`excluded-outbound-cidrs`) for the backends; then lists of different statements,
      // only into a small (anonymous) set.
      if (!mix && (head.matches[d] as ListMatch).set !== (r.matches[d] as ListMatch).set) break;
      if (mix && size(rules.slice(i, j + 1), d) > SMALL_SET) break;
      at = d;
      j++;
    }
    out.push(...(at === undefined ? [head] : foldRun(rules.slice(i, j), at)));
    i = j;
  }
  return out;
}

export function foldRules(rules: readonly Rule[]): Rule[] {
  return foldRuns(foldRuns(rules, false), true);
}

export function foldSets(rs: RuleSet): RuleSet {
  return { ...rs, tables: rs.tables.map((t) => ({ ...t, chains: t.chains.map((c) => ({ ...c, rules: foldRules(c.rules) })) })) };
}
