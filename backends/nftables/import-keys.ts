// A rule that ends in a verdict map (`oifname vmap { "lo" : return, "eth0" : goto x }`)
// is read as the IR's verdict map: the rule's matches, then one entry per element (its
// key as a one-value match, its verdict). Sets of names and ids are read by
// import-rule.ts as the IR's list matches; a map's keys must be distinct exact values (a
// packet takes at most one entry), as nft itself requires of a map's keys.
import type { KeyKind, Rule, Table, VmapEntry } from '../../src/ir/types.js';
import { isArr, keyMatch, parseRule, PathError, show, type Sets } from './import-rule.js';
import { isObj, type NftMetaBody } from './objects.js';

const KEYS: Record<string, { kind: KeyKind; meta: 'iifname' | 'oifname' | 'skuid' | 'skgid' }> = {
  iifname: { kind: 'iif', meta: 'iifname' },
  oifname: { kind: 'oif', meta: 'oifname' },
  skuid: { kind: 'uid', meta: 'skuid' },
  skgid: { kind: 'gid', meta: 'skgid' },
};

const keyOf = (left: unknown) => {
  if (!isObj<{ meta: unknown }>(left) || !isObj<NftMetaBody>(left.meta)) return undefined;
  return KEYS[show(left.meta.key)];
};

const VERDICTS = new Set(['accept', 'drop', 'return', 'jump', 'goto']);

export function parseRules(expr: unknown[], p: string, table: Table, sets: Sets, comment: string | undefined, file: string): Rule[] {
  const at = expr.findIndex((e) => isObj<{ vmap: unknown }>(e) && e.vmap !== undefined);
  if (at < 0) return [parseRule(expr, p, table, sets, comment, file)];
  const q = `${p}[${at}]`;
  if (at !== expr.length - 1) throw new PathError(`${q}.vmap`, 'a verdict map is read only as the last statement of a rule');
  const vm = (expr[at] as { vmap: unknown }).vmap;
  const body = isObj<{ key: unknown; data: unknown }>(vm) ? vm : undefined;
  const key = body ? keyOf(body.key) : undefined;
  const data = body && isObj<{ set: unknown }>(body.data) && isArr(body.data.set) ? body.data.set : undefined;
  if (!body || !key || !data) throw new PathError(`${q}.vmap`, 'only a verdict map of interface names or owner ids is read');
  const base = parseRule(expr.slice(0, at), p, table, sets, comment, file);
  if (base.action.kind !== 'counter' || base.effects?.length) throw new PathError(p, 'a verdict map after other statements is not read');
  const seen = new Set<string>();
  const entries: VmapEntry[] = data.map((el, k) => {
    const eq = `${q}.vmap.data.set[${k}]`;
    if (!isArr(el) || el.length !== 2) throw new PathError(eq, 'expected [key, verdict]');
    if (typeof el[0] === 'string' && el[0].endsWith('*')) throw new PathError(`${eq}[0]`, 'a wildcard name in a verdict map is not read');
    if (seen.has(JSON.stringify(el[0]))) throw new PathError(`${eq}[0]`, `key ${JSON.stringify(el[0])} is in the map twice`);
    seen.add(JSON.stringify(el[0]));
    const match = keyMatch(key.meta, false, el[0], sets, `${eq}[0]`);
    if (match.kind !== key.kind) throw new PathError(`${eq}[0]`, 'expected a key of the map');
    const action = parseRule([el[1]], `${eq}[1]`, table, sets, comment, file).action;
    if (!VERDICTS.has(action.kind)) throw new PathError(`${eq}[1]`, 'expected a verdict');
    return { match, action } as VmapEntry;
  });
  return [{ matches: base.matches, action: { kind: 'vmap', key: key.kind, entries }, origin: base.origin }];
}
