// The key matches (interfaces, owners) in either shape: one value (`name`, `id`) or a list
// (`names`, `ids` ranges). One place says what a list stands for, so the simulator, the
// backends and the equivalence engine's desugaring agree.
import type { IfaceName, Match, Rule, VmapEntry } from './types.js';

export type IfaceMatch = Extract<Match, { kind: 'iif' | 'oif' }>;
export type OwnerMatch = Extract<Match, { kind: 'uid' | 'gid' }>;
export type KeyMatch = IfaceMatch | OwnerMatch;
/** A key match of one value (an interface name or prefix, an id or a name). */
export type OneValueMatch = Extract<KeyMatch, { name: string }> | Extract<KeyMatch, { id: number | string }>;

export const isKeyMatch = (m: Match): m is KeyMatch => m.kind === 'iif' || m.kind === 'oif' || m.kind === 'uid' || m.kind === 'gid';

/** The names an interface match tests (one for the single shape). */
export function ifaceNames(m: IfaceMatch): IfaceName[] {
  return 'names' in m ? m.names : [{ name: m.name, prefix: m.prefix }];
}

/** Whether an interface name is one of the names or starts with one of the prefixes. */
export function ifaceHit(name: string, names: readonly IfaceName[]): boolean {
  for (const n of names) if (n.prefix ? name.startsWith(n.name) : name === n.name) return true;
  return false;
}

/** Whether an owner (a numeric id or a name) is one a match's ids name. */
export function ownerHit(value: number | string, m: OwnerMatch): boolean {
  if ('ids' in m) return typeof value === 'number' && m.ids.some(([lo, hi]) => lo <= value && value <= hi);
  return value === m.id;
}

/** The most ids an owner range may hold where it is read as one rule per id (the language's and the importers' limit). */
export const MAX_OWNER_RANGE = 256;

/**
 * The one-value matches a list match stands for, in order, none covering another (a name
 * inside a listed prefix, an id in two ranges): a packet matches at most one of them,
 * and it matches one exactly when it matches the list. A one-value match is itself.
 */
export function oneValueMatches(m: KeyMatch): OneValueMatch[] {
  if (m.kind === 'iif' || m.kind === 'oif') {
    if (!('names' in m)) return [m];
    // A name a listed prefix covers adds nothing (an identical entry is kept once, below).
    const covered = (n: IfaceName, i: number) => m.names.some((o, j) => j !== i && o.prefix && n.name.startsWith(o.name) && !(n.prefix && n.name === o.name));
    const names = m.names.filter((n, i) => !covered(n, i));
    const seen = new Set<string>();
    const out: OneValueMatch[] = [];
    for (const n of names) {
      const k = `${n.prefix}:${n.name}`;
      if (seen.has(k)) continue;
      seen.add(k);
      out.push({ kind: m.kind, neg: false, name: n.name, prefix: n.prefix });
    }
    return out;
  }
  return ownerValues(m as OwnerMatch);
}

function ownerValues(m: OwnerMatch): OneValueMatch[] {
  if (!('ids' in m)) return [m];
  const kind = m.kind;
  const ids = new Set<number>();
  for (const [lo, hi] of m.ids) {
    if (hi - lo + 1 > MAX_OWNER_RANGE) throw new Error(`an owner range of ${hi - lo + 1} ids is more than ${MAX_OWNER_RANGE}`);
    for (let id = lo; id <= hi; id++) ids.add(id);
  }
  return [...ids].sort((a, b) => a - b).map((id) => ({ kind, neg: false, id }));
}

/** The entry of a verdict map a packet takes, given whether each entry's match holds. */
export function vmapEntry(entries: readonly VmapEntry[], holds: (m: VmapEntry['match']) => boolean): VmapEntry | undefined {
  for (const e of entries) if (holds(e.match)) return e;
  return undefined;
}

/** Whether a rule holds a list-shaped key match or a verdict map (what the engine desugars). */
export function hasKeyList(r: Rule): boolean {
  return r.action.kind === 'vmap' || r.matches.some((m) => ('names' in m && (m.kind === 'iif' || m.kind === 'oif')) || ('ids' in m && (m.kind === 'uid' || m.kind === 'gid')));
}
