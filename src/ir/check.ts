// What the kernel would refuse in a rule set (netfilter-facts §1.5-1.8): owner matches
// outside OUTPUT/POSTROUTING, -i/-o in the wrong hooks, REDIRECT outside nat
// PREROUTING/OUTPUT, TPROXY outside mangle PREROUTING, jumps to missing chains, loops.
// A rule set that passes loads; one that does not is a meshcap bug or a bad import.
import { oneValueMatches, type KeyMatch, type OneValueMatch } from './keys.js';
import type { Chain, Hook, Match, Rule, RuleSet, Table } from './types.js';
import { forEachRule, jumpTargets } from './walk.js';

export interface IrProblem {
  table: string;
  family: string;
  chain: string;
  /** 1-based rule index */
  index: number;
  message: string;
  /** The rule is valid, but not in a chain these hooks reach (an imported rule set's error: rules-invalid-hook). */
  hook?: boolean;
}

/** Which hooks reach each chain of a table. */
export function reachingHooks(t: Table): Map<string, Set<Hook>> {
  const byName = new Map(t.chains.map((c) => [c.name, c]));
  const hooks = new Map<string, Set<Hook>>();
  const visit = (c: Chain, h: Hook, depth: number) => {
    if (depth > 64) return;
    const s = hooks.get(c.name) ?? new Set<Hook>();
    if (s.has(h)) return;
    s.add(h);
    hooks.set(c.name, s);
    for (const r of c.rules) {
      for (const j of jumpTargets(r.action)) {
        const target = byName.get(j.chain);
        if (target) visit(target, h, depth + 1);
      }
    }
  };
  for (const c of t.chains) if (c.base) visit(c, c.base.hook, 0);
  return hooks;
}

export interface JumpProblem extends IrProblem {
  kind: 'missing' | 'loop';
  rule: Rule;
  target: string;
}

/**
 * The jumps the kernel refuses in any table: to a chain the table does not have, and the
 * one that closes a loop (a chain reached again from itself). Found without recursion, so
 * a rule file of any depth is answered.
 */
export function jumpProblems(rs: RuleSet): JumpProblem[] {
  const out: JumpProblem[] = [];
  for (const t of rs.tables) {
    const byName = new Map(t.chains.map((c) => [c.name, c]));
    const state = new Map<string, 'open' | 'done'>();
    const report = (c: Chain, i: number, kind: JumpProblem['kind'], target: string) =>
      out.push({ table: t.name, family: t.family, chain: c.name, index: i + 1, kind, rule: c.rules[i], target, message: kind === 'missing' ? `jump to missing chain ${target}` : `jump to ${target} closes a loop` });
    for (const root of t.chains) {
      if (state.has(root.name)) continue;
      // Depth-first, with an explicit stack of (chain, its next target to look at: the
      // targets of its rules in order, a verdict map's several).
      const stack: [Chain, { i: number; a: { kind: 'jump' | 'goto'; chain: string } }[], number][] = [[root, targetsOf(root), 0]];
      state.set(root.name, 'open');
      while (stack.length) {
        const top = stack[stack.length - 1];
        const [c, ts, k] = top;
        if (k >= ts.length) {
          state.set(c.name, 'done');
          stack.pop();
          continue;
        }
        top[2]++;
        const { i, a } = ts[k];
        const next = byName.get(a.chain);
        if (!next) report(c, i, 'missing', a.chain);
        else if (state.get(next.name) === 'open') report(c, i, 'loop', a.chain);
        else if (!state.has(next.name)) {
          state.set(next.name, 'open');
          stack.push([next, targetsOf(next), 0]);
        }
      }
    }
  }
  return out;
}

const targetsOf = (c: Chain) => c.rules.flatMap((r, i) => jumpTargets(r.action).map((a) => ({ i, a })));

/** iptables' built-in chains (nft base chains are named freely). */
const BUILT_IN = new Set(['PREROUTING', 'INPUT', 'FORWARD', 'OUTPUT', 'POSTROUTING']);

export function checkRuleSet(rs: RuleSet): IrProblem[] {
  const out: IrProblem[] = jumpProblems(rs).filter((p) => p.kind === 'loop');
  // What a rule's checks need of its table, worked out once per table.
  const perTable = new Map<Table, { names: Set<string>; hooks: Map<string, Set<Hook>> }>();
  forEachRule(rs, (r, i, c, t) => {
    let info = perTable.get(t);
    if (!info) perTable.set(t, (info = { names: new Set(t.chains.map((x) => x.name)), hooks: reachingHooks(t) }));
    const { names } = info;
    const hs = [...(info.hooks.get(c.name) ?? [])];
    const bad = (message: string, hook = false) => out.push({ table: t.name, family: t.family, chain: c.name, index: i + 1, message, ...(hook && { hook }) });
    const keyed = r.action.kind === 'vmap' ? r.action.entries.map((e) => e.match) : [];
    for (const m of [...r.matches, ...keyed]) {
      if ((m.kind === 'uid' || m.kind === 'gid') && hs.some((h) => h !== 'output' && h !== 'postrouting')) bad(`owner match reached from ${hs.join('/')}: valid only in OUTPUT and POSTROUTING`, true);
      // iptables refuses -i/-o in a built-in chain of the wrong hook; in a user chain the
      // kernel takes them (Docker's DOCKER chain, jumped to from OUTPUT, starts `-i docker0
      // -j RETURN`), and there the interface is simply none: the match never holds. nft
      // takes iifname/oifname in any base chain (a forwarded packet has both in postrouting).
      const builtIn = !!c.base && BUILT_IN.has(c.name);
      if (m.kind === 'iif' && builtIn && hs.some((h) => h === 'output' || h === 'postrouting')) bad(`-i reached from ${hs.join('/')}: valid only in PREROUTING, INPUT and FORWARD`, true);
      if (m.kind === 'oif' && builtIn && hs.some((h) => h === 'prerouting' || h === 'input')) bad(`-o reached from ${hs.join('/')}: valid only in OUTPUT, POSTROUTING and FORWARD`, true);
      if ((m.kind === 'sport' || m.kind === 'dport') && t.family !== 'inet' && !r.matches.some((x) => x.kind === 'protocol' && !x.neg && (x.protocol === 'tcp' || x.protocol === 'udp' || x.protocol === 'sctp'))) bad(`a port match needs a tcp, udp or sctp protocol match`);
    }
    for (const m of r.matches) for (const problem of listProblems(m)) bad(problem);
    if (r.action.kind === 'vmap') for (const problem of vmapProblems(r)) bad(problem);
    const a = r.action;
    for (const j of jumpTargets(a)) if (!names.has(j.chain)) bad(`${j.kind} to missing chain ${j.chain}`);
    if ((a.kind === 'redirect' || a.kind === 'dnat') && (t.name !== 'nat' && !(t.family === 'inet' || hs.length === 0)) ) bad(`${a.kind} outside the nat table`);
    if ((a.kind === 'redirect' || a.kind === 'dnat') && hs.some((h) => h !== 'prerouting' && h !== 'output')) bad(`${a.kind} reached from ${hs.join('/')}: valid only in PREROUTING and OUTPUT`, true);
    if (a.kind === 'redirect' && !r.matches.some((x) => x.kind === 'protocol' && !x.neg)) bad('redirect needs a protocol match');
    if (a.kind === 'tproxy' && !r.matches.some((x) => x.kind === 'protocol' && !x.neg && (x.protocol === 'tcp' || x.protocol === 'udp'))) bad('TPROXY needs a tcp or udp protocol match');
    if (a.kind === 'tproxy' && (t.name !== 'mangle' && t.family !== 'inet')) bad('TPROXY outside the mangle table');
    if (a.kind === 'tproxy' && hs.some((h) => h !== 'prerouting')) bad(`TPROXY reached from ${hs.join('/')}: valid only in PREROUTING`, true);
    if (a.kind === 'ct-zone' && t.name !== 'raw' && t.family !== 'inet') bad('CT outside the raw table');
  });
  return out;
}

/** What a list of names or id ranges must be: ids in the kernel's range, each range in order. */
function listProblems(m: Match): string[] {
  if ((m.kind === 'uid' || m.kind === 'gid') && 'ids' in m) {
    if (!m.ids.length) return [`an empty ${m.kind} list`];
    return m.ids.filter(([lo, hi]) => !(Number.isInteger(lo) && Number.isInteger(hi) && 0 <= lo && lo <= hi && hi <= MAX_ID)).map(([lo, hi]) => `${m.kind} range ${lo}-${hi} is not ids 0-${MAX_ID} in order`);
  }
  if ((m.kind === 'iif' || m.kind === 'oif') && 'names' in m && !m.names.length) return [`an empty ${m.kind} list`];
  return [];
}

/** The largest owner id (4294967295 is the kernel's "no id"). */
const MAX_ID = 4294967294;

/** A verdict map: entries of its key, positive, no packet in two of them, and nothing run before it. */
function vmapProblems(r: Rule): string[] {
  const a = r.action;
  if (a.kind !== 'vmap') return [];
  const out: string[] = [];
  if (!a.entries.length) out.push('a verdict map without entries');
  if (r.effects?.length) out.push('a verdict map after other statements');
  const seen = new Set<string>();
  for (const e of a.entries) {
    if (e.match.kind !== a.key || e.match.neg) out.push(`a verdict map entry on ${e.match.neg ? 'a negated ' : ''}${e.match.kind} in a map by ${a.key}`);
    out.push(...listProblems(e.match));
    for (const one of e.match.kind === a.key ? safeOneValues(e.match) : []) {
      if ('prefix' in one && one.prefix) out.push(`a verdict map entry on the prefix ${one.name}*`);
      const k = JSON.stringify(one);
      if (seen.has(k)) out.push(`two verdict map entries hold ${'name' in one ? one.name : String(one.id)}`);
      seen.add(k);
    }
  }
  return out;
}

const safeOneValues = (m: KeyMatch): OneValueMatch[] => {
  try {
    return oneValueMatches(m).map((x) => ({ ...x, neg: false }));
  } catch {
    return [];
  }
};
