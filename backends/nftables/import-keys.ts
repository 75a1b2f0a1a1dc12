// A rule that selects by a set of interface names or owner ids (`oifname { "a", "b" }
// return`) or through a verdict map (`oifname vmap { "a" : return, "lo" : goto x }`) is
// read as the rules it stands for, one per value, in order: the IR keeps one value per
// match (dispatch.ts writes such rules). Sound because the values are distinct exact
// values of a field a packet has one of, so at most one of the rules matches a packet; a
// wildcard name (`eth*`) may overlap another, so it is read in a set only before a verdict
// that ends the chain's walk (then the first that matches decides, as the set does).
import type { Rule, Table } from '../../src/ir/types.js';
import { isArr, listOf, parseRule, PathError, show, type Sets } from './import-rule.js';
import { isObj, type NftMetaBody, type ReadExpr, type ReadMatchBody } from './objects.js';

const KEYS = new Set(['iifname', 'oifname', 'skuid', 'skgid']);
/** Verdicts after which no later rule of the chain sees the packet. */
const FINAL = new Set(['accept', 'drop', 'return', 'goto', 'redirect', 'dnat', 'tproxy']);

const keyOf = (left: unknown): string | undefined => {
  if (!isObj<{ meta: unknown }>(left) || !isObj<NftMetaBody>(left.meta)) return undefined;
  const k = show(left.meta.key);
  return KEYS.has(k) ? k : undefined;
};
const isSet = (right: unknown) => (typeof right === 'string' && right.startsWith('@')) || (isObj<{ set: unknown }>(right) && isArr(right.set));
const wildcard = (v: unknown) => typeof v === 'string' && v.endsWith('*');

interface Alternative {
  /** The one-value match, as an expression parseRule reads. */
  match: unknown;
  verdict?: unknown;
  path: string;
}

export function parseRules(expr: unknown[], p: string, table: Table, sets: Sets, comment: string | undefined, file: string): Rule[] {
  const rest: unknown[] = [];
  let alts: Alternative[] | undefined;
  let map = false;
  const one = (q: string) => {
    if (alts) throw new PathError(q, 'a rule with two sets or maps of names or ids is not read');
  };
  expr.forEach((e, i) => {
    const q = `${p}[${i}]`;
    const m = isObj<ReadExpr>(e) && isObj<ReadMatchBody>(e.match) ? e.match : undefined;
    if (m && keyOf(m.left) && isSet(m.right)) {
      const vals = [...new Map(listOf(m.right, sets, `${q}.match.right`).map(([v, vq]) => [JSON.stringify(v), [v, vq] as const])).values()];
      // Not any of them: every one of them is not.
      if (m.op === '!=') for (const [v] of vals) rest.push({ match: { ...m, right: v } });
      else {
        one(q);
        alts = vals.map(([v, vq]) => ({ match: { match: { op: '==', left: m.left, right: v } }, path: vq }));
      }
      return;
    }
    const vm = isObj<{ vmap: unknown }>(e) ? e.vmap : undefined;
    if (vm !== undefined) {
      one(q);
      if (i !== expr.length - 1) throw new PathError(`${q}.vmap`, 'a verdict map is read only as the last statement of a rule');
      const body = isObj<{ key: unknown; data: unknown }>(vm) ? vm : undefined;
      const data = body && isObj<{ set: unknown }>(body.data) && isArr(body.data.set) ? body.data.set : undefined;
      if (!body || !keyOf(body.key) || !data) throw new PathError(`${q}.vmap`, 'only a verdict map of interface names or owner ids is read');
      const seen = new Set<string>();
      alts = data.map((el, k) => {
        const eq = `${q}.vmap.data.set[${k}]`;
        if (!isArr(el) || el.length !== 2) throw new PathError(eq, 'expected [key, verdict]');
        if (wildcard(el[0])) throw new PathError(eq, 'a wildcard name in a verdict map is not read');
        if (seen.has(JSON.stringify(el[0]))) throw new PathError(eq, `key ${show(el[0])} is in the map twice`);
        seen.add(JSON.stringify(el[0]));
        return { match: { match: { op: '==', left: body.key, right: el[0] } }, verdict: el[1], path: eq };
      });
      map = true;
      return;
    }
    rest.push(e);
  });
  const base = parseRule(rest, p, table, sets, comment, file);
  if (!alts) return [base];
  if (!map && alts.some((a) => wildcard((a.match as { match: { right: unknown } }).match.right)) && (!FINAL.has(base.action.kind) || base.effects?.length))
    throw new PathError(p, 'a wildcard name in a set is read only before a verdict that ends the chain');
  return alts.map((a) => {
    const r = parseRule(a.verdict === undefined ? [a.match] : [a.match, a.verdict], a.path, table, sets, comment, file);
    const matches = [...base.matches, ...r.matches];
    if (!map) return { ...base, matches, origin: { ...base.origin } };
    // The map is the rule's verdict: what ran before it (effects) runs, then the element's verdict.
    if (base.action.kind !== 'counter') throw new PathError(p, 'a verdict map after a verdict is not read');
    const effects = [...(base.effects ?? [])];
    return { matches, ...(effects.length ? { effects } : {}), action: r.action, origin: { ...base.origin } };
  });
}
