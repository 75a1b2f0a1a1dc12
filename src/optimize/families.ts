// share-families: the IPv4 and IPv6 tables of one kind (nat, mangle, raw) become one inet
// table, so nftables holds one chain set for both families instead of two copies behind a
// `meta nfproto` dispatch. Each chain's two rule lists are interleaved, keeping each
// family's order: a pair of rules that do the same thing becomes one rule (their address
// lists, one per family, become one list holding both), and a rule of one family only gets
// an `nfproto` match, so the other family's packets pass it as they never met it.
// Sound because a packet of one family meets, in order, exactly its own family's rules:
// the other family's rules cannot match it, and a shared rule acts on it as its own did
// (an address list matches a packet by its own family's addresses only).
import type { Action, Chain, Family, Match, Rule, RuleSet, Table } from '../ir/types.js';
import { matchKey, sameAction, sameEffects } from './rules.js';

type AddrMatch = Extract<Match, { kind: 'saddr' | 'daddr' }>;
const isAddr = (m: Match): m is AddrMatch => m.kind === 'saddr' || m.kind === 'daddr';
const allOf = (m: AddrMatch, f: Family) => m.cidrs.every((c) => c.family === f);

/** Actions that name an address: their family is part of what they do. */
const familyBound = (a: Action): boolean => a.kind === 'dnat' || (a.kind === 'tproxy' && a.addr !== undefined);

/** The one rule that does for both families what a (IPv4) and b (IPv6) do, if there is one. */
export function shared(a: Rule, b: Rule): Rule | undefined {
  if (!sameAction(a.action, b.action) || !sameEffects(a, b) || familyBound(a.action) || (a.effects ?? []).some(familyBound)) return undefined;
  if (a.matches.length !== b.matches.length) return undefined;
  const matches: Match[] = [];
  for (let i = 0; i < a.matches.length; i++) {
    const x = a.matches[i];
    const y = b.matches[i];
    if (x.kind === 'nfproto' || y.kind === 'nfproto') return undefined;
    if (isAddr(x) && isAddr(y)) {
      if (x.kind !== y.kind || x.neg !== y.neg || !allOf(x, 'ipv4') || !allOf(y, 'ipv6')) return undefined;
      matches.push({ kind: x.kind, neg: x.neg, cidrs: [...x.cidrs, ...y.cidrs], ...(x.set !== undefined && x.set === y.set ? { set: x.set } : {}) });
    } else if (!isAddr(x) && matchKey(x) === matchKey(y)) matches.push(x);
    else return undefined;
  }
  return { ...a, matches };
}

const only = (r: Rule, family: Family): Rule => ({ ...r, matches: [{ kind: 'nfproto', neg: false, family }, ...r.matches] });

/** Above this many rule pairs a chain's lists are aligned position by position (the alignment is quadratic). */
const ALIGN_LIMIT = 1_000_000;

/** Both lists in one, each family's rules in its order, as many shared as the longest alignment allows. */
export function interleave(a: readonly Rule[], b: readonly Rule[]): Rule[] {
  const n = a.length;
  const m = b.length;
  const pair = (i: number, j: number) => shared(a[i], b[j]);
  const out: Rule[] = [];
  if (n * m > ALIGN_LIMIT) {
    let i = 0;
    for (; i < Math.min(n, m); i++) {
      const s = pair(i, i);
      if (!s) break;
      out.push(s);
    }
    return [...out, ...a.slice(i).map((r) => only(r, 'ipv4')), ...b.slice(i).map((r) => only(r, 'ipv6'))];
  }
  // The longest common subsequence of rules that can be shared, from the ends.
  const ok: (Rule | undefined)[][] = a.map((_, i) => b.map((_, j) => pair(i, j)));
  const len: number[][] = Array.from({ length: n + 1 }, () => new Array<number>(m + 1).fill(0));
  for (let i = n - 1; i >= 0; i--) for (let j = m - 1; j >= 0; j--) len[i][j] = ok[i][j] ? len[i + 1][j + 1] + 1 : Math.max(len[i + 1][j], len[i][j + 1]);
  let i = 0;
  let j = 0;
  while (i < n || j < m) {
    const s = i < n && j < m ? ok[i][j] : undefined;
    if (s && len[i][j] === len[i + 1][j + 1] + 1) {
      out.push(s);
      i++;
      j++;
    } else if (j >= m || (i < n && len[i + 1][j] >= len[i][j + 1])) out.push(only(a[i++], 'ipv4'));
    else out.push(only(b[j++], 'ipv6'));
  }
  return out;
}

const sameBase = (x: Chain['base'], y: Chain['base']) => JSON.stringify(x) === JSON.stringify(y);

/** One inet table for a kind's IPv4 and IPv6 tables (either may be absent), or undefined where they cannot share. */
function merge(v4: Table | undefined, v6: Table | undefined): Table | undefined {
  const name = (v4 ?? v6)!.name;
  const c4 = new Map((v4?.chains ?? []).map((c) => [c.name, c]));
  const c6 = new Map((v6?.chains ?? []).map((c) => [c.name, c]));
  const names = [...new Set([...c4.keys(), ...c6.keys()])];
  const chains: Chain[] = [];
  for (const n of names) {
    const x = c4.get(n);
    const y = c6.get(n);
    const base = x?.base ?? y?.base;
    // A base chain's policy would apply to both families; and one name is one hook.
    if ((x?.base && y?.base && !sameBase(x.base, y.base)) || (x && y && !x.base !== !y.base)) return undefined;
    if (base && base.policy !== 'accept') return undefined;
    if (x && y) chains.push({ ...x, rules: interleave(x.rules, y.rules) });
    // A base chain of one family alone: the other family's packets now enter it too.
    else if (base) chains.push(x ? { ...x, rules: x.rules.map((r) => only(r, 'ipv4')) } : { ...y!, rules: y!.rules.map((r) => only(r, 'ipv6')) });
    // A regular chain of one family alone is entered only from that family's rules.
    else chains.push((x ?? y)!);
  }
  return { family: 'inet', name, chains };
}

export function shareFamilies(rs: RuleSet): RuleSet {
  const tables: Table[] = [];
  const done = new Set<Table>();
  for (const t of rs.tables) {
    if (done.has(t)) continue;
    if (t.family === 'inet') {
      tables.push(t);
      continue;
    }
    const v4 = rs.tables.find((x) => x.family === 'ipv4' && x.name === t.name);
    const v6 = rs.tables.find((x) => x.family === 'ipv6' && x.name === t.name);
    for (const x of [v4, v6]) if (x) done.add(x);
    const m = merge(v4, v6);
    if (m) tables.push(m);
    else tables.push(...[v4, v6].filter((x): x is Table => !!x));
  }
  return { ...rs, tables };
}
