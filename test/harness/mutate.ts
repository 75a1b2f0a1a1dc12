// Mutation testing of the equivalence engine: random single mutations of a rule set
// (drop a rule, swap neighbours, flip a negation, change a port, CIDR or uid). Each
// mutant the engine calls different must come with a counterexample the plain simulator
// confirms; each it calls equal must survive a large random packet sample.
import type { Match, Rule, RuleSet } from '../../src/ir/types.js';
import { battery, compareOn, rng } from './battery.js';
import { sameOutcome } from '../../src/verify/compare.js';
import { equivalent } from '../../src/verify/engine.js';
import { rulesSide } from '../../src/verify/side.js';
import { simulate } from '../../src/sim/simulate.js';
import type { Family } from '../../src/ir/types.js';
import { parseCidr } from '../../src/net/ip.js';

export type MutationKind = 'drop-rule' | 'swap-rules' | 'flip-negation' | 'change-port' | 'change-cidr' | 'change-owner';

export interface Mutant {
  kind: MutationKind;
  where: string;
  rs: RuleSet;
}

const KINDS: MutationKind[] = ['drop-rule', 'swap-rules', 'flip-negation', 'change-port', 'change-cidr', 'change-owner'];

function allRules(rs: RuleSet): { t: number; c: number; i: number; rule: Rule }[] {
  const out: { t: number; c: number; i: number; rule: Rule }[] = [];
  rs.tables.forEach((tb, t) => tb.chains.forEach((ch, c) => ch.rules.forEach((rule, i) => out.push({ t, c, i, rule }))));
  return out;
}

/** One random single mutation, or undefined when the kind does not apply. */
export function mutate(rs: RuleSet, kind: MutationKind, rand: () => number): Mutant | undefined {
  const m = structuredClone<RuleSet>(rs);
  // Origins stay shared: they are never changed, and structuredClone would strip their
  // spans (a SourceSpan copies as its `file` alone).
  m.tables.forEach((tb, t) => tb.chains.forEach((ch, c) => ch.rules.forEach((r, i) => (r.origin = rs.tables[t].chains[c].rules[i].origin))));
  const rules = allRules(m);
  const pick = <T>(xs: T[]) => xs[Math.floor(rand() * xs.length)];
  const at = (x: { t: number; c: number; i: number }) => `${m.tables[x.t].family} ${m.tables[x.t].name} ${m.tables[x.t].chains[x.c].name} #${x.i + 1}`;
  const withMatch = (pred: (mt: Match) => boolean) => rules.flatMap((r) => r.rule.matches.map((mt, j) => ({ ...r, j, mt })).filter((x) => pred(x.mt)));
  switch (kind) {
    case 'drop-rule': {
      if (!rules.length) return undefined;
      const x = pick(rules);
      m.tables[x.t].chains[x.c].rules.splice(x.i, 1);
      return { kind, where: at(x), rs: m };
    }
    case 'swap-rules': {
      const xs = rules.filter((r) => r.i + 1 < m.tables[r.t].chains[r.c].rules.length);
      if (!xs.length) return undefined;
      const x = pick(xs);
      const arr = m.tables[x.t].chains[x.c].rules;
      [arr[x.i], arr[x.i + 1]] = [arr[x.i + 1], arr[x.i]];
      return { kind, where: at(x), rs: m };
    }
    case 'flip-negation': {
      const xs = withMatch((mt) => 'neg' in mt);
      if (!xs.length) return undefined;
      const x = pick(xs);
      const mt = x.mt as Match & { neg: boolean };
      mt.neg = !mt.neg;
      return { kind, where: `${at(x)} match ${x.j + 1}`, rs: m };
    }
    case 'change-port': {
      const xs = withMatch((mt) => mt.kind === 'sport' || mt.kind === 'dport');
      if (!xs.length) return undefined;
      const x = pick(xs);
      const mt = x.mt as unknown as { ranges: [number, number][] };
      const k = Math.floor(rand() * mt.ranges.length);
      const d = rand() < 0.5 ? 1 : -1;
      const [lo, hi] = mt.ranges[k];
      mt.ranges[k] = [Math.min(65535, Math.max(1, lo + d)), Math.min(65535, Math.max(1, hi + d))];
      return { kind, where: `${at(x)} port`, rs: m };
    }
    case 'change-cidr': {
      const xs = withMatch((mt) => mt.kind === 'saddr' || mt.kind === 'daddr');
      if (!xs.length) return undefined;
      const x = pick(xs);
      const mt = x.mt as unknown as { cidrs: { family: Family; addr: string; prefix: number }[] };
      const k = Math.floor(rand() * mt.cidrs.length);
      const c = mt.cidrs[k];
      const bits = c.family === 'ipv4' ? 32 : 128;
      // Widen or narrow the prefix by one (narrowing keeps the lower half).
      const prefix = c.prefix === bits ? bits - 1 : rand() < 0.5 ? c.prefix + 1 : Math.max(0, c.prefix - 1);
      mt.cidrs[k] = { ...c, prefix };
      // Keep the address canonical for the new prefix.
      const p = parseCidr(`${c.addr}/${prefix}`);
      mt.cidrs[k].addr = p.ok ? p.cidr.addr : p.kind === 'host-bits' ? p.canonical.split('/')[0] : c.addr;
      return { kind, where: `${at(x)} CIDR ${c.addr}/${c.prefix} -> /${prefix}`, rs: m };
    }
    case 'change-owner': {
      const xs = withMatch((mt) => (mt.kind === 'uid' || mt.kind === 'gid') && 'id' in mt && typeof mt.id === 'number');
      if (!xs.length) return undefined;
      const x = pick(xs);
      const mt = x.mt as unknown as { id: number };
      mt.id = mt.id + 1;
      return { kind, where: `${at(x)} owner`, rs: m };
    }
  }
}


export interface MutationStats {
  mutants: number;
  different: number;
  equal: number;
  undecided: number;
  /** "different" verdicts whose counterexample the simulator confirms. */
  confirmedDifferent: number;
  /** "equal" verdicts that a random packet sample could not refute. */
  confirmedEqual: number;
  byKind: Record<string, { mutants: number; different: number }>;
  failures: string[];
}

export function mutationRun(original: RuleSet, families: Family[], count: number, seed: number, samples = 3000): MutationStats {
  const rand = rng(seed);
  const st: MutationStats = { mutants: 0, different: 0, equal: 0, undecided: 0, confirmedDifferent: 0, confirmedEqual: 0, byKind: {}, failures: [] };
  let guard = 0;
  while (st.mutants < count && guard++ < count * 20) {
    const kind = KINDS[Math.floor(rand() * KINDS.length)];
    const mu = mutate(original, kind, rand);
    if (!mu) continue;
    st.mutants++;
    const bk = (st.byKind[kind] ??= { mutants: 0, different: 0 });
    bk.mutants++;
    const r = equivalent(rulesSide('original', original), rulesSide('mutant', mu.rs), { families });
    if (r.result === 'undecided') {
      st.undecided++;
      st.failures.push(`${mu.kind} at ${mu.where}: undecided (${r.reason})`);
    } else if (r.result === 'different') {
      st.different++;
      bk.different++;
      const c = r.counterexample!;
      const a = simulate(original, c.packet).outcome;
      const b = simulate(mu.rs, c.packet).outcome;
      if (!sameOutcome(a, b)) st.confirmedDifferent++;
      else st.failures.push(`${mu.kind} at ${mu.where}: counterexample not confirmed`);
    } else {
      st.equal++;
      const packets = battery([original, mu.rs], { families, size: samples, seed: seed + st.mutants });
      const cmp = compareOn(original, mu.rs, packets, 1);
      if (!cmp.differences.length) st.confirmedEqual++;
      else st.failures.push(`${mu.kind} at ${mu.where}: engine said equal, but ${JSON.stringify(cmp.differences[0].packet)} differs`);
    }
  }
  return st;
}
