// What the kernel would refuse in a rule set (netfilter-facts §1.5-1.8): owner matches
// outside OUTPUT/POSTROUTING, -i/-o in the wrong hooks, REDIRECT outside nat
// PREROUTING/OUTPUT, TPROXY outside mangle PREROUTING, jumps to missing chains, loops.
// A rule set that passes loads; one that does not is a meshcap bug or a bad import.
import type { Chain, Hook, Rule, RuleSet, Table } from './types.js';
import { forEachRule } from './walk.js';

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
      if (r.action.kind === 'jump' || r.action.kind === 'goto') {
        const target = byName.get(r.action.chain);
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
      // Depth-first, with an explicit stack of (chain, next rule to look at).
      const stack: [Chain, number][] = [[root, 0]];
      state.set(root.name, 'open');
      while (stack.length) {
        const top = stack[stack.length - 1];
        const [c, i] = top;
        if (i >= c.rules.length) {
          state.set(c.name, 'done');
          stack.pop();
          continue;
        }
        top[1]++;
        const a = c.rules[i].action;
        if (a.kind !== 'jump' && a.kind !== 'goto') continue;
        const next = byName.get(a.chain);
        if (!next) report(c, i, 'missing', a.chain);
        else if (state.get(next.name) === 'open') report(c, i, 'loop', a.chain);
        else if (!state.has(next.name)) {
          state.set(next.name, 'open');
          stack.push([next, 0]);
        }
      }
    }
  }
  return out;
}

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
    // iptables refuses -i in its built-in OUTPUT and POSTROUTING chains and -o in PREROUTING
    // and INPUT, but not in a user chain they reach (Docker's `-A DOCKER -i docker0 -j RETURN`,
    // reached from OUTPUT, loads and never matches there), and nft takes either anywhere.
    const own = c.base && c.name === c.base.hook.toUpperCase() ? [c.base.hook] : [];
    for (const m of r.matches) {
      if ((m.kind === 'uid' || m.kind === 'gid') && hs.some((h) => h !== 'output' && h !== 'postrouting')) bad(`owner match reached from ${hs.join('/')}: valid only in OUTPUT and POSTROUTING`, true);
      if (m.kind === 'iif' && own.some((h) => h === 'output' || h === 'postrouting')) bad(`-i reached from ${own.join('/')}: valid only in PREROUTING, INPUT and FORWARD`, true);
      if (m.kind === 'oif' && own.some((h) => h === 'prerouting' || h === 'input')) bad(`-o reached from ${own.join('/')}: valid only in OUTPUT, POSTROUTING and FORWARD`, true);
      if ((m.kind === 'sport' || m.kind === 'dport') && t.family !== 'inet' && !r.matches.some((x) => x.kind === 'protocol' && !x.neg && (x.protocol === 'tcp' || x.protocol === 'udp' || x.protocol === 'sctp'))) bad(`a port match needs a tcp, udp or sctp protocol match`);
    }
    const a = r.action;
    if ((a.kind === 'jump' || a.kind === 'goto') && !names.has(a.chain)) bad(`${a.kind} to missing chain ${a.chain}`);
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
