// verdict-maps and fold-keys: runs of adjacent rules alike but for one interface name or
// owner id become one rule, so a packet is tested once instead of once per value:
// `oifname vmap { "lo" : return, "eth9" : goto x }` where the rules' verdicts differ,
// `oifname { "eth8", "eth9" } return` (a list match) where they are the same.
// Sound because an interface and an owner do not change on a packet's way, and:
// - a verdict map's entries are distinct values, so no packet matches two rules of the
//   run, and after the one it matches (a jump's return included) the rest would not match;
// - a list holds the run's values: with a verdict that ends the chain's walk the first
//   rule a packet matches decides, as the list does; with one that comes back (a jump, a
//   mark) the run folds only when its values are disjoint, so a packet matches at most one.
// nft-only (iptables has no sets of names or owners): the backends' capabilities say
// which of the two a release takes (backends/nftables/versions.ts), and the compiler
// passes them to the optimizer as data.
import { ifaceNames, type KeyMatch } from '../ir/keys.js';
import type { IfaceName, KeyKind, Match, Rule, RuleSet, VmapEntry } from '../ir/types.js';
import { unionPorts } from '../net/intervals.js';
import { isTerminal, matchKey, sameAction, sameEffects } from './rules.js';

/** The values of a positive key match a set can hold: exact names (no prefix), or numeric id ranges. */
type Values = { names: IfaceName[] } | { ids: [number, number][] };

function valuesOf(m: Match): Values | undefined {
  if (m.kind === 'iif' || m.kind === 'oif') {
    if (m.neg) return undefined;
    const names = ifaceNames(m);
    return names.some((n) => n.prefix || !n.name) ? undefined : { names };
  }
  if (m.kind === 'uid' || m.kind === 'gid') {
    if (m.neg) return undefined;
    if ('ids' in m) return { ids: m.ids };
    return typeof m.id === 'number' ? { ids: [[m.id, m.id]] } : undefined;
  }
  return undefined;
}

/** The index of the one match in which a and b differ, if it is a key match with set values on both. */
function differingKey(a: Rule, b: Rule): number | undefined {
  if (a.matches.length !== b.matches.length) return undefined;
  let at: number | undefined;
  for (let i = 0; i < a.matches.length; i++) {
    if (matchKey(a.matches[i]) === matchKey(b.matches[i])) continue;
    if (at !== undefined || a.matches[i].kind !== b.matches[i].kind) return undefined;
    at = i;
  }
  if (at === undefined || !valuesOf(a.matches[at]) || !valuesOf(b.matches[at])) return undefined;
  return at;
}

/** How many of the lists, from the first, hold no value twice (one list's own values may repeat: it is one rule). */
function disjointPrefix(vs: readonly (Values | undefined)[]): number {
  const names = new Set<string>();
  const ids: [number, number][] = [];
  for (let k = 0; k < vs.length; k++) {
    const v = vs[k];
    if (!v) return k;
    if ('names' in v) {
      if (v.names.some((n) => names.has(n.name))) return k;
      for (const n of v.names) names.add(n.name);
    } else {
      if (v.ids.some(([lo, hi]) => ids.some(([a, b]) => lo <= b && a <= hi))) return k;
      ids.push(...v.ids);
    }
  }
  return vs.length;
}

/** The longest run from i whose rules differ from rules[i] only in the key match at one index (and pass `ok`). */
function runFrom(rules: readonly Rule[], i: number, ok: (head: Rule, r: Rule) => boolean): { end: number; at: number } | undefined {
  const head = rules[i];
  let at: number | undefined;
  let j = i + 1;
  for (; j < rules.length; j++) {
    const r = rules[j];
    if (!ok(head, r)) break;
    const d = differingKey(head, r);
    if (d === undefined || (at !== undefined && d !== at)) break;
    at = d;
  }
  return at === undefined ? undefined : { end: j, at };
}

const purposeOf = (run: readonly Rule[]) => [...new Set(run.map((r) => r.origin.purpose))].join('; ');

function merged(kind: Match['kind'], vs: Values[]): Match {
  if ('names' in vs[0]) {
    const seen = new Set<string>();
    const names = vs.flatMap((v) => (v as { names: IfaceName[] }).names).filter((n) => !seen.has(n.name) && !!seen.add(n.name));
    return { kind: kind as 'iif' | 'oif', neg: false, names };
  }
  return { kind: kind as 'uid' | 'gid', neg: false, ids: unionPorts(vs.flatMap((v) => (v as { ids: [number, number][] }).ids)) };
}

/** fold-keys: a run with one action becomes one rule on the list of its values. */
export function foldKeyRules(rules: readonly Rule[]): Rule[] {
  const out: Rule[] = [];
  let i = 0;
  while (i < rules.length) {
    const head = rules[i];
    const run = runFrom(rules, i, (h, r) => sameAction(h.action, r.action) && sameEffects(h, r) && h.action.kind !== 'vmap');
    if (!run) {
      out.push(head);
      i++;
      continue;
    }
    let end = run.end;
    const vs = rules.slice(i, end).map((r) => valuesOf(r.matches[run.at])!);
    // A verdict that comes back for the next rule: only values no packet has twice.
    if (!(isTerminal(head.action) && !(head.effects ?? []).length)) end = i + disjointPrefix(vs);
    if (end - i < 2) {
      out.push(head);
      i++;
      continue;
    }
    const m = merged(head.matches[run.at].kind, vs.slice(0, end - i));
    out.push({ ...head, matches: head.matches.map((x, k) => (k === run.at ? m : x)), origin: { ...head.origin, purpose: purposeOf(rules.slice(i, end)) } });
    i = end;
  }
  return out;
}

type Verdict = VmapEntry['action'];
const isVerdict = (a: Rule['action']): a is Verdict => a.kind === 'accept' || a.kind === 'drop' || a.kind === 'return' || a.kind === 'jump' || a.kind === 'goto';

/** The one value of a key match a map entry holds: one name, one id, or one range of ids. */
function entryMatch(m: Match): VmapEntry['match'] | undefined {
  const v = valuesOf(m);
  if (!v) return undefined;
  if ('names' in v) return v.names.length === 1 ? { kind: m.kind as 'iif' | 'oif', neg: false, name: v.names[0].name, prefix: false } : undefined;
  return v.ids.length === 1 ? (v.ids[0][0] === v.ids[0][1] ? { kind: m.kind as 'uid' | 'gid', neg: false, id: v.ids[0][0] } : { kind: m.kind as 'uid' | 'gid', neg: false, ids: v.ids }) : undefined;
}

/** verdict-maps: a run of verdicts on distinct values, not all the same, becomes one rule with a verdict map. */
export function verdictMapRules(rules: readonly Rule[]): Rule[] {
  const out: Rule[] = [];
  let i = 0;
  const plain = (r: Rule) => isVerdict(r.action) && !(r.effects ?? []).length;
  while (i < rules.length) {
    const head = rules[i];
    const run = plain(head) ? runFrom(rules, i, (_h, r) => plain(r)) : undefined;
    let end = run?.end ?? i + 1;
    const entries = run ? rules.slice(i, end).map((r) => entryMatch(r.matches[run.at])) : [];
    // The run up to its first value a map entry cannot hold or one seen before.
    if (run) end = i + disjointPrefix(entries.map((e) => e && valuesOf(e)));
    if (!run || end - i < 2) {
      out.push(head);
      i++;
      continue;
    }
    // One verdict for all: a list, not a map (fold-keys'), and no later part of the run differs either.
    if (new Set(rules.slice(i, end).map((r) => JSON.stringify(r.action))).size < 2) {
      out.push(...rules.slice(i, end));
      i = end;
      continue;
    }
    const key = head.matches[run.at].kind as KeyKind;
    const mapEntries: VmapEntry[] = rules.slice(i, end).map((r, k) => ({ match: entries[k] as KeyMatch, action: r.action as Verdict }));
    out.push({ matches: head.matches.filter((_, k) => k !== run.at), action: { kind: 'vmap', key, entries: mapEntries }, origin: { ...head.origin, purpose: purposeOf(rules.slice(i, end)) } });
    i = end;
  }
  return out;
}

const perChain = (f: (rules: readonly Rule[]) => Rule[]) => (rs: RuleSet): RuleSet => ({ ...rs, tables: rs.tables.map((t) => ({ ...t, chains: t.chains.map((c) => ({ ...c, rules: f(c.rules) })) })) });

export const foldKeys = perChain(foldKeyRules);
export const verdictMaps = perChain(verdictMapRules);
