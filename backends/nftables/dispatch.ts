// One nft rule for a run of IR rules that select by one field: adjacent rules alike but
// for one interface name or owner id, each ending in a verdict, become `oifname { "a",
// "b" } return` (one verdict) or `oifname vmap { "a" : return, "lo" : goto x }` (several):
// one lookup instead of one rule per value. Sound because the values are distinct exact
// values of a field a packet has one of, so no packet matches two rules of the run, and a
// verdict ends the rule (a jump's return goes on after the run, as after the last of its
// rules: none of the others matched). The IR keeps one value per match; the importers
// read the set or map back as the rules it stands for, so every emitted one is proven
// equal to the IR like any other. Which forms a release takes is versions.ts's data.
import type { Match, Rule } from '../../src/ir/types.js';
import type { MetaKey } from './objects.js';
import type { NftCapabilities } from './versions.js';

export type KeyMatch = Extract<Match, { kind: 'iif' | 'oif' | 'uid' | 'gid' }>;

/** A run of rules emitted as one: `at` is the index of the match that differs. */
export interface Run {
  rules: Rule[];
  at: number;
  /** One verdict for all (an anonymous set), or one per value (a verdict map). */
  form: 'set' | 'vmap';
}

export const META_OF: Record<KeyMatch['kind'], MetaKey> = { iif: 'iifname', oif: 'oifname', uid: 'skuid', gid: 'skgid' };

/** What a match tests (a list's `set` name is only what a backend calls it). */
function matchKey(m: Match): string {
  if ('set' in m) {
    const { set: _set, ...rest } = m;
    void _set;
    return JSON.stringify(rest);
  }
  return JSON.stringify(m);
}

const VERDICTS = new Set(['accept', 'drop', 'return', 'jump', 'goto']);

/** The value a key match selects, if it is one exact value a set can hold. */
export function keyValue(m: Match): string | number | undefined {
  if (m.kind === 'iif' || m.kind === 'oif') return m.neg || m.prefix || m.name.includes('*') || !m.name ? undefined : m.name;
  if (m.kind === 'uid' || m.kind === 'gid') return !m.neg && typeof m.id === 'number' ? m.id : undefined;
  return undefined;
}

/** Whether a rule can join a run at all: a verdict and nothing before it. */
const joinable = (r: Rule) => VERDICTS.has(r.action.kind) && !(r.effects ?? []).length;

/** The match index where b differs from a, if that is their only difference and a key match on both. */
function differingKey(a: Rule, b: Rule, at: number | undefined): number | undefined {
  if (a.matches.length !== b.matches.length) return undefined;
  let d: number | undefined;
  for (let i = 0; i < a.matches.length; i++) {
    if (matchKey(a.matches[i]) === matchKey(b.matches[i])) continue;
    if (d !== undefined || a.matches[i].kind !== b.matches[i].kind) return undefined;
    d = i;
  }
  // Identical rules: the second is dead, but that is the optimizer's to say, not the emitter's.
  if (d === undefined || (at !== undefined && d !== at)) return undefined;
  return keyValue(a.matches[d]) !== undefined && keyValue(b.matches[d]) !== undefined ? d : undefined;
}

const sameVerdict = (a: Rule, b: Rule) => JSON.stringify(a.action) === JSON.stringify(b.action);

/**
 * The rules of one chain in runs: a run of one is written as it is. `independent` says
 * whether a rule is written once for both families (only those are grouped: a rule split
 * per family is two nft rules already).
 */
export function runs(rules: readonly Rule[], caps: NftCapabilities, independent: (r: Rule) => boolean): Run[] {
  const out: Run[] = [];
  let i = 0;
  while (i < rules.length) {
    const head = rules[i];
    let j = i + 1;
    let at: number | undefined;
    const seen = new Set<string | number>();
    if ((caps.keySets || caps.verdictMaps) && joinable(head) && independent(head)) {
      while (j < rules.length) {
        const r = rules[j];
        if (!joinable(r) || !independent(r)) break;
        const d = differingKey(head, r, at);
        if (d === undefined) break;
        if (!seen.size) seen.add(keyValue(head.matches[d])!);
        const v = keyValue(r.matches[d])!;
        if (seen.has(v)) break;
        // Another verdict needs a map (the loop runs only when the release has a set or a
        // map, so one verdict always can be written). Asked of this rule alone: every rule
        // before it in the run has the head's verdict or maps were there (asking it of the
        // whole run at each step made a run of 10,000 rules quadratic).
        if (!caps.verdictMaps && !sameVerdict(head, r)) break;
        seen.add(v);
        at = d;
        j++;
      }
    }
    const run = rules.slice(i, j);
    if (at === undefined) out.push({ rules: run, at: -1, form: 'set' });
    else out.push({ rules: run, at, form: caps.keySets && run.every((x) => sameVerdict(head, x)) ? 'set' : 'vmap' });
    i = j;
  }
  return out;
}
