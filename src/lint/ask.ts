// Lint's questions to the exhaustive equivalence engine, over every packet. A question
// names the packets it is about (an app's connections to a cluster CIDR, queries to a
// DNS server, connections to a container port, the proxy's own connections) and what
// they should get: either the treatment of a reference rule set (the policy without an
// exclusion) or an expected outcome (captured, passed). The engine compares the compiled
// rules with a side that is those same rules except on the packets asked about, where it
// gives the reference's (or the expected) treatment; every difference is a packet class
// asked about that the rules treat otherwise, and the engine reports it as a class
// (its description) and a member a person would send.
//
// The reference side is a meaning side (src/verify/side.ts): it tells the engine every
// value at which its behaviour may change. Outside the packets asked about it follows the
// compiled rules, whose values the engine takes from the rules side; inside, it depends on
// the question's values and on the reference rule set's, which are collected from its
// matches (more values than needed only make more classes).
import { ifaceNames, oneValueMatches } from '../ir/keys.js';
import type { Family, Match, RuleSet } from '../ir/types.js';
import { hookPath, type Outcome, type Packet } from '../sim/packet.js';
import { simulate, type SimResult } from '../sim/simulate.js';
import { sameOutcome } from '../verify/compare.js';
import { equivalent, type Constants, type ConstantsFor, type Side } from '../verify/engine.js';
import { specialize } from '../verify/residual.js';
import { jumpTargets } from '../ir/walk.js';
import { rulesSide } from '../verify/side.js';

type Field = Parameters<ConstantsFor>[0];

export interface Question {
  /** The packets asked about (every packet when absent); decided by hook, family, protocol, ctstate and the values of `values`. */
  about?: (p: Packet) => boolean;
  /** Per field, the values at which `about` may change. */
  values?: Partial<Record<Field, Partial<Constants>>>;
  /** What the packets asked about should get: a reference rule set's treatment, or an outcome `ok` accepts (else `expected`). */
  reference?: RuleSet;
  ok?: (o: Outcome) => boolean;
  expected?: Outcome;
  /**
   * The packets asked about all take this path and hold these values: the search runs
   * on the rules narrowed to them (the other path's chains emptied, matches on the fixed
   * fields decided), and the member reported gets the values back.
   */
  fixed?: { hook: Packet['hook']; values: Partial<Packet>; kinds: Match['kind'][] };
  /** What the question asks beyond the rules (its `about`, `ok`, `expected` and filter), for the cache; without it, a question with those is not cached. */
  key?: string;
}

export interface Answer {
  /** The class, as the engine describes it. */
  description: string;
  /** A member of the class, as a person would send it, and what the rules and the reference do with it. */
  packet: Packet;
  got: SimResult;
  want: Outcome;
  /** Packet classes the engine evaluated. */
  classes: number;
}

export const captured = (o: Outcome) => o.verdict === 'accept' && (o.redirect !== null || o.tproxy !== null);
export const PASSED: Outcome = { verdict: 'accept', redirect: null, tproxy: null, mark: 0, ctmark: 0, ctZone: null };
export const redirected = (port: number): Outcome => ({ ...PASSED, redirect: { port } });

const EMPTY = (): Constants => ({ ports: [], cidrs: [], owners: [], ifaces: [], marks: [] });

/** Every value a rule set's matches compare a field with. */
function ruleValues(rs: RuleSet): Record<Field, Constants> {
  const out = Object.fromEntries((['sport', 'dport', 'saddr', 'daddr', 'uid', 'gid', 'iif', 'oif', 'marks'] as Field[]).map((f) => [f, EMPTY()])) as Record<Field, Constants>;
  const add = (m: Match) => {
    if (m.kind === 'sport' || m.kind === 'dport') out[m.kind].ports.push(...m.ranges);
    else if (m.kind === 'saddr' || m.kind === 'daddr') out[m.kind].cidrs.push(...m.cidrs);
    else if (m.kind === 'uid' || m.kind === 'gid') out[m.kind].owners.push(...ownerValues(m));
    else if (m.kind === 'iif' || m.kind === 'oif') out[m.kind].ifaces.push(...ifaceNames(m));
    else if (m.kind === 'mark' || m.kind === 'connmark') out.marks.marks.push(m.value);
  };
  for (const t of rs.tables) for (const c of t.chains) for (const r of c.rules) r.matches.forEach(add);
  return out;
}

/**
 * Every id an owner match names: owners are discrete values to the engine, so a range's
 * inner ids must be values too (its ends alone would leave 107 of 106-108 with the ids no
 * rule names). A range too wide to list keeps its ends: the engine reads the rules' range
 * id by id and ends undecided on it anyway (src/verify/desugar.ts).
 */
function ownerValues(m: Extract<Match, { kind: 'uid' | 'gid' }>): (number | string)[] {
  if (!('ids' in m)) return [m.id];
  try {
    return oneValueMatches(m).map((x) => (x as { id: number | string }).id);
  } catch {
    return m.ids.flat();
  }
}

function merge(a: Constants, b: Partial<Constants> | undefined): Constants {
  if (!b) return a;
  return { ports: [...a.ports, ...(b.ports ?? [])], cidrs: [...a.cidrs, ...(b.cidrs ?? [])], owners: [...a.owners, ...(b.owners ?? [])], ifaces: [...a.ifaces, ...(b.ifaces ?? [])], marks: [...a.marks, ...(b.marks ?? [])] };
}

/** The reference side of a question about the rules `ir`. */
export function referenceSide(ir: RuleSet, q: Question): Side {
  // About every packet: the reference rule set itself (the engine splits by its rules).
  if (!q.about && q.reference) return rulesSide('reference', q.reference);
  const about = q.about ?? (() => true);
  const refValues = q.reference ? ruleValues(q.reference) : undefined;
  return {
    kind: 'meaning',
    label: 'expected',
    evaluate: (p) => {
      if (!about(p)) return simulate(ir, p, undefined, false);
      if (q.reference) return simulate(q.reference, p, undefined, false);
      const r = simulate(ir, p, undefined, false);
      return q.ok!(r.outcome) ? r : { outcome: q.expected!, path: [] };
    },
    constants: (field) => merge(refValues ? refValues[field] : EMPTY(), q.values?.[field]),
  };
}

/**
 * Ask the engine: the first class of packets asked about that the rules treat otherwise
 * than the question wants (null: none, over every packet; 'undecided': the engine could
 * not tell). `accept` filters the differences (e.g. only those where the reference captures).
 */
export function ask(ir: RuleSet, families: Family[], q: Question, accept?: (got: Outcome, want: Outcome) => boolean): Answer | null | 'undecided' {
  // Against a reference rule set: a path on which both meet the same rules gives every packet the same outcome.
  const fx = q.fixed ?? (!q.about && q.reference ? onePath(ir, q.reference) : undefined);
  const rules = fx ? narrow(ir, fx) : ir;
  // Workloads whose rules agree on the path asked about get the same answer: asked once.
  const cacheable = q.key !== undefined || (!q.about && !accept);
  const key = cacheable ? JSON.stringify([q.key, fx, families, fx ? reachable(ir, fx.hook) : [reachable(ir, 'output'), reachable(ir, 'prerouting')], q.reference && (fx ? reachable(q.reference, fx.hook) : [reachable(q.reference, 'output'), reachable(q.reference, 'prerouting')])]) : '';
  const hit = cacheable ? answers.get(key) : undefined;
  if (hit !== undefined) {
    if (hit === null || hit === 'undecided') return hit;
    // The trace on these rules (their statements' places, for the message).
    const got = simulate(ir, hit.packet);
    if (sameOutcome(got.outcome, hit.got.outcome)) return { ...hit, got };
  }
  const answer = solve(ir, rules, families, q, fx, accept);
  if (cacheable) {
    if (answers.size > 20000) answers.clear();
    answers.set(key, answer);
  }
  return answer;
}

const answers = new Map<string, Answer | null | 'undecided'>();

/** Forget the answers (benchmarks time the asking itself). */
export function clearAnswers(): void {
  answers.clear();
}

function solve(ir: RuleSet, rules: RuleSet, families: Family[], q: Question, fx: Question['fixed'], accept?: (got: Outcome, want: Outcome) => boolean): Answer | null | 'undecided' {
  const question = fx ? { ...q, reference: q.reference && narrow(q.reference, fx) } : q;
  const ref = referenceSide(rules, question);
  const r = equivalent(rulesSide('policy', rules), ref, { families, maxDifferences: accept ? 8 : 1 });
  if (r.result === 'undecided') return 'undecided';
  if (r.result === 'equal') return null;
  const d = r.differences.find((x) => !accept || accept(x.a, x.b));
  if (!d) return null;
  if (fx) {
    // The member with the fixed values back, on the whole rules: what it meets is what the narrowed rules gave it.
    const packet = { ...d.packet, ...fx.values };
    if (!sameOutcome(simulate(ir, packet, undefined, false).outcome, d.a)) return 'undecided';
    const nice = readable(packet, ir, referenceSide(ir, q), d.a, d.b);
    return { description: d.description, packet: nice.packet, got: nice.got, want: nice.want, classes: r.classes };
  }
  const nice = readable(d.packet, rules, ref, d.a, d.b);
  return { description: d.description, packet: nice.packet, got: nice.got, want: nice.want, classes: r.classes };
}

/** The one path (output, prerouting) on which two rule sets differ, when the other meets the same rules in both. */
function onePath(a: RuleSet, b: RuleSet): Question['fixed'] {
  if (reachable(a, 'prerouting') === reachable(b, 'prerouting')) return { hook: 'output', values: {}, kinds: [] };
  if (reachable(a, 'output') === reachable(b, 'output')) return { hook: 'prerouting', values: {}, kinds: [] };
  return undefined;
}

/** The base chains of a path and every chain they reach, as text: equal texts, equal outcomes on that path. */
function reachable(rs: RuleSet, hook: Packet['hook']): string {
  const parts: string[] = [];
  for (const t of rs.tables) {
    const byName = new Map(t.chains.map((c) => [c.name, c]));
    const seen = new Set<string>();
    const todo = t.chains.filter((c) => c.base && hookPath[hook].includes(c.base.hook)).map((c) => c.name);
    while (todo.length) {
      const name = todo.pop()!;
      if (seen.has(name)) continue;
      seen.add(name);
      const c = byName.get(name);
      if (!c) continue;
      for (const r of c.rules) for (const a of [r.action, ...(r.effects ?? [])]) for (const j of jumpTargets(a)) todo.push(j.chain);
    }
    const chains = t.chains.filter((c) => seen.has(c.name)).map((c) => ({ name: c.name, base: c.base, rules: c.rules.map((r) => [r.matches, r.effects, r.action]) }));
    parts.push(JSON.stringify([t.family, t.name, chains]));
  }
  return parts.join('\n');
}

/** The rules as packets on one path with some fixed values meet them. */
function narrow(rs: RuleSet, fx: NonNullable<Question['fixed']>): RuleSet {
  const path = hookPath[fx.hook];
  const one: RuleSet = { ...rs, tables: rs.tables.map((t) => ({ ...t, chains: t.chains.map((c) => (c.base && !path.includes(c.base.hook) ? { ...c, rules: [], base: { ...c.base, policy: 'accept' as const } } : c)) })) };
  const zero = { family: 'ipv4' as const, protocol: 'tcp' as const, src: '0.0.0.0', dst: '0.0.0.0', sport: 0, dport: 0, iif: '', oif: '', mark: 0, ctmark: 0, ctstate: 'new' as const };
  return fx.kinds.length ? specialize(one, new Set(fx.kinds), { hook: fx.hook, ...zero, ...fx.values }, fx.hook) : one;
}

const APP_UID = 1000;
const POD = { ipv4: '10.1.0.5', ipv6: 'fd00::5' } as const;
const PEER = { ipv4: '10.2.0.9', ipv6: 'fd00::9' } as const;

/**
 * The engine's member of a class keeps the least value of each field it did not need (port
 * 0, the unspecified address, no interface). The same packet as a person would send it
 * (the pod's address, port 40000, uid 1000, eth0) is shown instead when the simulator
 * confirms that both sides treat it as they treat the engine's.
 */
function readable(p: Packet, ir: RuleSet, ref: Side, a: Outcome, b: Outcome): { packet: Packet; got: SimResult; want: Outcome } {
  const out = p.hook === 'output';
  const zero = (x: string) => x === '0.0.0.0' || x === '::';
  const nice: Packet = {
    ...p,
    src: zero(p.src) ? (out ? POD : PEER)[p.family] : p.src,
    dst: zero(p.dst) ? (out ? PEER : POD)[p.family] : p.dst,
    sport: p.sport || (p.protocol === 'tcp' || p.protocol === 'udp' ? 40000 : 0),
    dport: p.dport || (p.protocol === 'tcp' || p.protocol === 'udp' ? 80 : 0),
    ...(out ? { oif: p.oif || 'eth0' } : { iif: p.iif || 'eth0' }),
    ...(out && p.uid === undefined ? {} : out ? { uid: p.uid === 4000000000 ? APP_UID : p.uid, gid: p.gid === 4000000000 ? APP_UID : p.gid } : {}),
  };
  const got = simulate(ir, nice);
  const want = ref.kind === 'meaning' ? ref.evaluate(nice).outcome : simulate(ref.rs, nice, undefined, false).outcome;
  if (sameOutcome(got.outcome, a) && sameOutcome(want, b)) return { packet: nice, got, want };
  return { packet: p, got: simulate(ir, p), want: b };
}
