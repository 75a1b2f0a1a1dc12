// The exhaustive equivalence engine. Decides whether two sides (rule sets, or the
// policy's meaning) give the same outcome for EVERY packet: every hook, family, protocol,
// conntrack state, interface, owner, mark, port and address.
//
// Method: split the header space one field at a time, lazily. At each field the values
// that matter are the ones the still-live rules of both sides (and the meaning's
// constants) mention: names and ids as classes including "any other", ports and addresses
// as intervals between the rules' boundaries (sweep line), marks as the values the rules
// compare with (bit patterns when masks are partial). Values that every live rule treats
// alike form one class. Each class specializes both sides (matches on the field are
// decided, dead rules dropped, rules after an unconditional verdict cut) and the search
// goes on with the next field. The last field (destination address) is swept with an
// index of the live rules per chain, so a rule set with 10,000 CIDRs costs one pass.
// Marks are state that actions change on the way, so mark matches are never specialized:
// the final evaluation runs the simulator's own semantics on the residual rules.
import type { Chain, Family, Hook, Match, Protocol, Rule, RuleSet, Table } from '../ir/types.js';
import { canonicalAddress, formatAddress, parseAddress, parseCidr } from '../net/ip.js';
import type { Outcome, Packet } from '../sim/packet.js';
import { matches, primeAddress, simulate, type RuleFinder, type SimResult } from '../sim/simulate.js';
import { rangeToCidrs } from '../net/intervals.js';
import { sameOutcome, outcomeText } from './compare.js';
import type { Constants, ConstantsFor, Side } from './side.js';

export type { Constants, ConstantsFor, Side } from './side.js';

export interface DiffRange {
  /** A readable description of the packet class. */
  description: string;
  /** The class before its destination range is described (merging happens at the end). */
  desc?: Desc;
  dst?: [bigint, bigint][];
  /** A concrete packet of the class. */
  packet: Packet;
  a: Outcome;
  b: Outcome;
}

export interface EquivResult {
  result: 'equal' | 'different' | 'undecided';
  /** Packet classes evaluated (leaves of the search). */
  classes: number;
  ms: number;
  counterexample?: { packet: Packet; a: SimResult; b: SimResult };
  differences: DiffRange[];
  reason?: string;
}

export interface EquivOptions {
  /** Stop after this many differing classes (1: just find a counterexample). */
  maxDifferences?: number;
  families?: Family[];
}

class Undecided extends Error {}

const ALL = 0xffffffff;
/** How a class is described; computed only when a difference needs it. */
type Desc = Record<string, string | (() => string)>;
const val = (x: string | (() => string) | undefined) => (typeof x === 'function' ? x() : x);

interface Ctx {
  a: Side;
  b: Side;
  classes: number;
  diffs: DiffRange[];
  max: number;
  lastKey?: string;
}

const MAX_ADDR: Record<Family, bigint> = { ipv4: (1n << 32n) - 1n, ipv6: (1n << 128n) - 1n };

// ---- specialization ------------------------------------------------------------------

const TERMINAL = new Set(['accept', 'drop', 'return', 'goto', 'redirect', 'tproxy', 'dnat']);

/** Decide every match of the given kinds for `pkt`; drop rules that cannot match. */
function specialize(rs: RuleSet, kinds: Set<Match['kind']>, pkt: Packet, hook: Hook): RuleSet {
  let changed = false;
  const tables = rs.tables.map((t) => {
    let tchanged = false;
    const chains = t.chains.map((c) => {
      const rules: Rule[] = [];
      let cchanged = false;
      for (const r of c.rules) {
        let keep = true;
        let kept: Match[] | undefined;
        for (let i = 0; i < r.matches.length; i++) {
          const m = r.matches[i];
          if (!kinds.has(m.kind)) {
            kept?.push(m);
            continue;
          }
          if (!kept) kept = r.matches.slice(0, i);
          if (!matches(m, pkt, hook)) {
            keep = false;
            break;
          }
        }
        if (!keep) {
          cchanged = true;
          continue;
        }
        const nr = kept ? { ...r, matches: kept } : r;
        if (kept) cchanged = true;
        rules.push(nr);
        if (nr.matches.length === 0 && TERMINAL.has(nr.action.kind)) {
          if (rules.length < c.rules.length) cchanged = true;
          break; // nothing after an unconditional verdict is reachable
        }
      }
      if (!cchanged) return c;
      tchanged = true;
      return { ...c, rules };
    });
    if (!tchanged) return t;
    changed = true;
    return { ...t, chains };
  });
  return changed ? { ...rs, tables } : rs;
}

const kindsCache = new WeakMap<RuleSet, Set<string>>();
/** The match kinds a rule set still has, and `act:KIND` for its statements (cached per residual). */
function kindsOf(rs: RuleSet): Set<string> {
  let k = kindsCache.get(rs);
  if (!k) {
    k = new Set();
    for (const t of rs.tables) for (const c of t.chains) for (const r of c.rules) {
      for (const m of r.matches) k.add(m.kind);
      k.add(`act:${r.action.kind}`);
      for (const e of r.effects ?? []) k.add(`act:${e.kind}`);
    }
    kindsCache.set(rs, k);
  }
  return k;
}

const MARK_KINDS = ['mark', 'connmark', 'act:mark-set', 'act:tproxy', 'act:connmark-save', 'act:connmark-restore'];

const simplifyCache = new WeakMap<RuleSet, Map<string, RuleSet>>();

function sideSpecialize(s: Side, kinds: Set<Match['kind']>, pkt: Packet, hook: Hook, ctKnown = true): Side {
  if (s.kind !== 'rules') return s;
  const present = kindsOf(s.rs);
  const touches = [...kinds].some((k) => present.has(k));
  const spec = touches ? specialize(s.rs, kinds, pkt, hook) : s.rs;
  const ct = ctKnown ? (pkt.ctstate === 'new' ? 'new' : 'old') : '?';
  const key = `${pkt.hook}:${ct}`;
  let m = simplifyCache.get(spec);
  if (!m) simplifyCache.set(spec, (m = new Map()));
  let out = m.get(key);
  if (!out) m.set(key, (out = simplify(spec, pkt.hook, ctKnown ? pkt.ctstate : undefined)));
  return out === s.rs ? s : { ...s, rs: out };
}

/**
 * Drop what cannot change the outcome for the packets still being explored: base chains
 * of other hooks, nat chains when the connection is not new, chains no live base chain
 * reaches, trailing RETURNs (falling off a chain does the same), and jumps to empty
 * chains. Repeated until nothing changes. This is what keeps, say, 10,000 RETURN rules
 * out of the exploration of UDP, which none of them can capture.
 */
function simplify(rs: RuleSet, hook: Packet['hook'], ctstate: Packet['ctstate'] | undefined): RuleSet {
  const hooks = hook === 'output' ? ['output', 'postrouting'] : ['prerouting', 'input'];
  let changed = false;
  const tables: Table[] = [];
  for (const t of rs.tables) {
    const work = new Map<string, Rule[]>(t.chains.map((c) => [c.name, c.rules]));
    const live = t.chains.filter((c) => c.base && hooks.includes(c.base.hook) && !(c.base.type === 'nat' && ctstate !== undefined && ctstate !== 'new'));
    let reach = new Set<string>();
    for (let round = 0; round < 64; round++) {
      reach = new Set<string>();
      const stack = live.map((c) => c.name);
      while (stack.length) {
        const n = stack.pop()!;
        if (reach.has(n)) continue;
        reach.add(n);
        for (const r of work.get(n) ?? []) if (r.action.kind === 'jump' || r.action.kind === 'goto') stack.push(r.action.chain);
      }
      let again = false;
      for (const n of reach) {
        const rules = work.get(n);
        if (!rules) continue;
        let end = rules.length;
        while (end > 0 && rules[end - 1].action.kind === 'return' && !rules[end - 1].effects?.length) end--;
        let next = end < rules.length ? rules.slice(0, end) : rules;
        if (next.some((r) => r.action.kind === 'jump' && !r.effects?.length && (work.get(r.action.chain)?.length ?? 1) === 0)) {
          next = next.filter((r) => !(r.action.kind === 'jump' && !r.effects?.length && (work.get(r.action.chain)?.length ?? 1) === 0));
        }
        if (next !== rules) {
          work.set(n, next);
          again = true;
        }
      }
      if (!again) break;
    }
    const chains = t.chains.filter((c) => reach.has(c.name)).map((c) => (work.get(c.name) === c.rules ? c : { ...c, rules: work.get(c.name)! }));
    if (chains.length !== t.chains.length || chains.some((c, i) => c !== t.chains[i])) changed = true;
    if (chains.length) tables.push(chains.length === t.chains.length && chains.every((c, i) => c === t.chains[i]) ? t : { ...t, chains });
    else changed = true;
  }
  return changed ? { ...rs, tables } : rs;
}

function allMatches(s: Side, kinds: Set<Match['kind']>): Match[] {
  if (s.kind !== 'rules') return [];
  const present = kindsOf(s.rs);
  if (![...kinds].some((k) => present.has(k))) return [];
  const out: Match[] = [];
  for (const t of s.rs.tables) for (const c of t.chains) for (const r of c.rules) for (const m of r.matches) if (kinds.has(m.kind)) out.push(m);
  return out;
}

function hasNat(s: Side): boolean {
  return s.kind === 'rules' && s.rs.tables.some((t) => t.chains.some((c) => c.base?.type === 'nat'));
}

// ---- discrete fields -------------------------------------------------------------------------

interface DField {
  name: string;
  kinds: Set<Match['kind']>;
  candidates(ctx: Ctx, a: Side, b: Side, pkt: Packet): unknown[];
  set(pkt: Packet, v: unknown): Packet;
  /** Extra signature beyond the matches (e.g. nat sees only new connections). */
  extra?(v: unknown, a: Side, b: Side): string;
  /** Split even when no rule matches on the field (its value changes other things). */
  always?: boolean;
  /** How a meaning side's constants classify a value. */
  meaningKey?(v: unknown, c: Constants): string;
  meaningField?: 'uid' | 'gid' | 'iif' | 'oif';
  show(group: unknown[], all: unknown[]): string | undefined;
}

function freshName(taken: Set<string>, prefixes: string[]): string {
  for (let i = 0; ; i++) {
    const n = `zz${i}`;
    if (!taken.has(n) && !prefixes.some((p) => p !== '' && n.startsWith(p))) return n;
  }
}

function ifaceCandidates(ms: Match[], extra: { name: string; prefix: boolean }[]): string[] {
  const pats = [...ms.map((m) => m as { name: string; prefix: boolean }), ...extra];
  const exact = new Set(pats.filter((p) => !p.prefix).map((p) => p.name));
  const prefixes = [...new Set(pats.filter((p) => p.prefix).map((p) => p.name))];
  const out = new Set<string>(['', ...exact]);
  for (const p of prefixes) {
    out.add(p);
    // A name with this prefix that is not an exact name and starts no longer prefix.
    for (let i = 0; i < 64; i++) {
      const n = p + String.fromCharCode(0x21 + i);
      if (!exact.has(n) && !prefixes.some((q) => q.length > p.length && n.startsWith(q))) {
        out.add(n);
        break;
      }
    }
  }
  out.add(freshName(out, prefixes));
  return [...out];
}

function ownerCandidates(ms: Match[], extra: (number | string)[]): (number | string)[] {
  const ids = new Set<number | string>([...ms.map((m) => (m as { id: number | string }).id), ...extra]);
  const nums = [...ids].filter((x): x is number => typeof x === 'number');
  let fresh = 4000000000;
  while (ids.has(fresh)) fresh++;
  void nums;
  return [...ids, fresh];
}

const showDiscrete = (label: string, fmt: (v: unknown) => string, isOther: (v: unknown) => boolean) => (group: unknown[], all: unknown[]) => {
  if (group.length === all.length) return undefined;
  if (group.some(isOther)) {
    const named = all.filter((v) => !group.includes(v) && !isOther(v));
    return `${label} ∉ {${named.map(fmt).join(', ')}}`.replace(/∉ \{([^,}]*)\}$/, '≠ $1');
  }
  return group.length === 1 ? `${label}=${fmt(group[0])}` : `${label} ∈ {${group.map(fmt).join(', ')}}`;
};

const DFIELDS: DField[] = [
  {
    name: 'protocol',
    kinds: new Set(['protocol']),
    always: true,
    candidates: (_c, _a, _b, pkt) => (pkt.family === 'ipv4' ? ['tcp', 'udp', 'sctp', 'icmp'] : ['tcp', 'udp', 'sctp', 'icmpv6']),
    set: (p, v) => ({ ...p, protocol: v as Protocol, sport: v === 'icmp' || v === 'icmpv6' ? 0 : p.sport, dport: v === 'icmp' || v === 'icmpv6' ? 0 : p.dport }),
    // Port matches depend on whether the protocol has ports.
    extra: (v) => String(v),
    show: (g, all) => (g.length === all.length ? undefined : g.map(String).join('/').toUpperCase()),
  },
  {
    name: 'ctstate',
    kinds: new Set(['ctstate']),
    always: true,
    candidates: () => ['new', 'established', 'related', 'invalid', 'untracked'],
    set: (p, v) => ({ ...p, ctstate: v as Packet['ctstate'] }),
    extra: (v, a, b) => (v === 'new' && (hasNat(a) || hasNat(b)) ? 'nat' : ''),
    show: (g, all) => (g.length === all.length ? undefined : `(${g.join('/')})`),
  },
  {
    name: 'socket',
    kinds: new Set(['socket']),
    candidates: (_c, a, b) => (allMatches(a, new Set(['socket'])).length + allMatches(b, new Set(['socket'])).length ? [false, true] : [false]),
    set: (p, v) => ({ ...p, transparentSocket: v as boolean }),
    show: (g, all) => (g.length === all.length ? undefined : g[0] ? 'transparent socket' : 'no transparent socket'),
  },
  {
    name: 'iif',
    kinds: new Set(['iif']),
    meaningField: 'iif',
    candidates: (c, a, b, pkt) => (pkt.hook === 'output' ? [''] : ifaceCandidates([...allMatches(a, new Set(['iif'])), ...allMatches(b, new Set(['iif']))], meaningConsts(c, 'iif', pkt).ifaces)),
    set: (p, v) => ({ ...p, iif: v as string }),
    meaningKey: (v, k) => k.ifaces.map((i) => (i.prefix ? String(v).startsWith(i.name) : v === i.name) ? 1 : 0).join(''),
    show: showDiscrete('iif', (v) => (v === '' ? '(none)' : String(v)), (v) => String(v).startsWith('zz')),
  },
  {
    name: 'oif',
    kinds: new Set(['oif']),
    meaningField: 'oif',
    candidates: (c, a, b, pkt) => (pkt.hook === 'prerouting' ? [''] : ifaceCandidates([...allMatches(a, new Set(['oif'])), ...allMatches(b, new Set(['oif']))], meaningConsts(c, 'oif', pkt).ifaces)),
    set: (p, v) => ({ ...p, oif: v as string }),
    meaningKey: (v, k) => k.ifaces.map((i) => (i.prefix ? String(v).startsWith(i.name) : v === i.name) ? 1 : 0).join(''),
    show: showDiscrete('oif', (v) => (v === '' ? '(none)' : String(v)), (v) => String(v).startsWith('zz')),
  },
  {
    name: 'uid',
    kinds: new Set(['uid']),
    meaningField: 'uid',
    candidates: (c, a, b, pkt) => (pkt.hook === 'prerouting' ? [undefined] : ownerCandidates([...allMatches(a, new Set(['uid'])), ...allMatches(b, new Set(['uid']))], meaningConsts(c, 'uid', pkt).owners)),
    set: (p, v) => {
      const q = { ...p };
      if (v === undefined) delete q.uid;
      else q.uid = v as number;
      return q;
    },
    meaningKey: (v, k) => (k.owners.includes(v as number) ? String(v) : 'other'),
    show: showDiscrete('uid', String, (v) => typeof v === 'number' && v >= 4000000000),
  },
  {
    name: 'gid',
    kinds: new Set(['gid']),
    meaningField: 'gid',
    candidates: (c, a, b, pkt) => (pkt.hook === 'prerouting' ? [undefined] : ownerCandidates([...allMatches(a, new Set(['gid'])), ...allMatches(b, new Set(['gid']))], meaningConsts(c, 'gid', pkt).owners)),
    set: (p, v) => {
      const q = { ...p };
      if (v === undefined) delete q.gid;
      else q.gid = v as number;
      return q;
    },
    meaningKey: (v, k) => (k.owners.includes(v as number) ? String(v) : 'other'),
    show: showDiscrete('gid', String, (v) => typeof v === 'number' && v >= 4000000000),
  },
];

const NO_CONSTS: Constants = { ports: [], cidrs: [], owners: [], ifaces: [], marks: [] };

function meaningConsts(c: Ctx, field: Parameters<ConstantsFor>[0], pkt: Packet): Constants {
  const sides = [c.a, c.b].filter((s): s is Extract<Side, { kind: 'meaning' }> => s.kind === 'meaning');
  if (!sides.length) return NO_CONSTS;
  const out: Constants = { ports: [], cidrs: [], owners: [], ifaces: [], marks: [] };
  for (const s of sides) {
    const k = s.constants(field, pkt);
    out.ports.push(...k.ports);
    out.cidrs.push(...k.cidrs);
    out.owners.push(...k.owners);
    out.ifaces.push(...k.ifaces);
    out.marks.push(...k.marks);
  }
  return out;
}

/**
 * Initial mark and ctmark values that cover every way the sides can treat them. Actions
 * with full masks overwrite the mark whatever it was, so only the values that matches
 * compare with matter, plus one value that matches none of them. Partial masks make the
 * mark's bits matter one by one: those are enumerated when there are few.
 */
function markCandidates(ctx: Ctx, a: Side, b: Side, pkt: Packet): [number, number][] {
  const meaningMarks = meaningConsts(ctx, 'marks', pkt).marks;
  // Nothing reads or writes marks any more: one class.
  if (!meaningMarks.length && [a, b].every((s) => s.kind !== 'rules' || !MARK_KINDS.some((k) => kindsOf(s.rs).has(k)))) return [[0, 0]];
  const markVals = new Set<number>(meaningMarks);
  const ctVals = new Set<number>(meaningMarks);
  // Any partial mask makes the mark's bits matter one by one: then every bit any mask
  // looks at (whole-mark masks included) is enumerated, when there are few of them.
  let relevant = 0;
  let partial = false;
  let moves = false;
  for (const s of [a, b]) {
    if (s.kind !== 'rules') continue;
    for (const t of s.rs.tables) for (const c of t.chains) for (const r of c.rules) {
      for (const m of r.matches) {
        if (m.kind === 'mark' || m.kind === 'connmark') {
          (m.kind === 'mark' ? markVals : ctVals).add(m.value);
          if (m.mask !== ALL) partial = true;
          relevant |= m.mask;
        }
      }
      for (const x of [...(r.effects ?? []), r.action]) {
        if ((x.kind === 'mark-set' || x.kind === 'tproxy') && x.mask !== ALL) partial = true;
        if (x.kind === 'mark-set' || x.kind === 'tproxy') relevant |= x.mask;
        if (x.kind === 'connmark-save' || x.kind === 'connmark-restore') {
          moves = true;
          if (x.nfmask !== ALL || x.ctmask !== ALL) partial = true;
        }
      }
    }
  }
  // A mark copied to or from the connection can meet either kind of match.
  if (moves) {
    for (const v of markVals) ctVals.add(v);
    for (const v of ctVals) markVals.add(v);
  }
  const withOther = (vals: Set<number>): number[] => {
    let other = 0;
    while (vals.has(other)) other++;
    return [...vals, other];
  };
  let mc: number[];
  let cc: number[];
  if (!partial) {
    mc = withOther(markVals);
    cc = withOther(ctVals);
  } else {
    const bits: number[] = [];
    for (let i = 0; i < 32; i++) if ((relevant >>> i) & 1) bits.push(i);
    if (bits.length > 6) throw new Undecided(`marks are compared under partial masks over ${bits.length} bits (the engine enumerates at most 6)`);
    const all: number[] = [];
    for (let k = 0; k < 1 << bits.length; k++) {
      let v = 0;
      bits.forEach((bit, i) => {
        if ((k >> i) & 1) v |= 1 << bit;
      });
      all.push(v >>> 0);
    }
    mc = [...new Set([...all, ...markVals])];
    cc = [...new Set([...all, ...ctVals])];
  }
  const out: [number, number][] = [];
  for (const m of mc) for (const c of cc) out.push([m, c]);
  return out;
}

// ---- interval fields ---------------------------------------------------------------------------

type IField = 'sport' | 'dport' | 'saddr' | 'daddr';
const IFIELDS: IField[] = ['sport', 'dport', 'saddr', 'daddr'];

interface Occ {
  side: 0 | 1;
  rule: Rule;
  match: Match;
  ranges: [bigint, bigint][];
}

function domainMax(field: IField, family: Family): bigint {
  return field === 'sport' || field === 'dport' ? 65535n : MAX_ADDR[family];
}

const rangeCache = new WeakMap<Match, Map<Family, [bigint, bigint][]>>();

function rangesOf(m: Match, family: Family, max: bigint): [bigint, bigint][] {
  let byFam = rangeCache.get(m);
  if (!byFam) rangeCache.set(m, (byFam = new Map()));
  let r = byFam.get(family);
  if (!r) byFam.set(family, (r = computeRanges(m, family, max)));
  return r;
}

function computeRanges(m: Match, family: Family, max: bigint): [bigint, bigint][] {
  let rs: [bigint, bigint][] = [];
  if (m.kind === 'sport' || m.kind === 'dport') rs = m.ranges.map(([lo, hi]) => [BigInt(lo), BigInt(hi)]);
  else if (m.kind === 'saddr' || m.kind === 'daddr') {
    for (const c of m.cidrs) {
      if (c.family !== family) continue;
      const p = parseCidr(`${c.addr}/${c.prefix}`);
      if (p.ok) rs.push([p.cidr.first, p.cidr.last]);
    }
  }
  rs.sort((x, y) => (x[0] < y[0] ? -1 : x[0] > y[0] ? 1 : 0));
  // Union.
  const u: [bigint, bigint][] = [];
  for (const r of rs) {
    const last = u[u.length - 1];
    if (last && r[0] <= last[1] + 1n) {
      if (r[1] > last[1]) last[1] = r[1];
    } else u.push([r[0], r[1]]);
  }
  if (!('neg' in m) || !m.neg) return u;
  const comp: [bigint, bigint][] = [];
  let next = 0n;
  for (const [lo, hi] of u) {
    if (lo > next) comp.push([next, lo - 1n]);
    next = hi + 1n;
  }
  if (next <= max) comp.push([next, max]);
  return comp;
}

function occurrences(sides: Side[], field: IField, family: Family, max: bigint): Occ[] {
  const out: Occ[] = [];
  sides.forEach((s, i) => {
    if (s.kind !== 'rules' || !kindsOf(s.rs).has(field)) return;
    for (const t of s.rs.tables) for (const c of t.chains) for (const r of c.rules) for (const m of r.matches) {
      if (m.kind === field) out.push({ side: i as 0 | 1, rule: r, match: m, ranges: rangesOf(m, family, max) });
    }
  });
  return out;
}

function setField(p: Packet, field: IField, v: bigint): Packet {
  if (field === 'sport' || field === 'dport') return { ...p, [field]: Number(v) };
  const text = formatAddress(p.family, v);
  primeAddress(text, v);
  return { ...p, [field === 'saddr' ? 'src' : 'dst']: text };
}

/** Boundaries where some occurrence (or meaning constant) starts or stops being true. */
function boundaries(occs: Occ[], extra: [bigint, bigint][], max: bigint): bigint[] {
  const set = new Set<bigint>([0n]);
  const add = (lo: bigint, hi: bigint) => {
    set.add(lo);
    if (hi + 1n <= max) set.add(hi + 1n);
  };
  for (const o of occs) for (const [lo, hi] of o.ranges) add(lo, hi);
  for (const [lo, hi] of extra) add(lo, hi);
  return [...set].sort((x, y) => (x < y ? -1 : x > y ? 1 : 0));
}

function meaningRanges(ctx: Ctx, field: IField, family: Family, pkt: Packet): [bigint, bigint][] {
  const k = meaningConsts(ctx, field, pkt);
  if (field === 'sport' || field === 'dport') return k.ports.map(([lo, hi]) => [BigInt(lo), BigInt(hi)]);
  const out: [bigint, bigint][] = [];
  for (const c of k.cidrs) {
    if (c.family !== family) continue;
    const p = parseCidr(`${c.addr}/${c.prefix}`);
    if (p.ok) out.push([p.cidr.first, p.cidr.last]);
  }
  return out;
}

// ---- evaluation ---------------------------------------------------------------------------------

function evaluate(s: Side, p: Packet, find?: RuleFinder): SimResult {
  return s.kind === 'rules' ? simulate(s.rs, p, find, false) : s.evaluate(p);
}

function describe(desc: Desc, pkt: Packet): string {
  const parts: string[] = [pkt.hook === 'output' ? 'outbound' : 'inbound', pkt.family === 'ipv4' ? 'IPv4' : 'IPv6'];
  const d = Object.fromEntries(Object.entries(desc).map(([k, v]) => [k, val(v)]));
  if (d.protocol) parts.push(d.protocol);
  for (const k of ['ctstate', 'socket', 'iif', 'oif', 'uid', 'gid', 'marks']) if (d[k]) parts.push(d[k]);
  if (d.saddr || d.sport) parts.push(`from ${d.saddr ?? 'any'}${d.sport ? ` port ${d.sport}` : ''}`);
  if (d.daddr || d.dport) parts.push(`to ${d.daddr ?? 'any'}${d.dport ? ` port ${d.dport}` : ''}`);
  return parts.join(' ');
}

function showRange(field: IField, family: Family, lo: bigint, hi: bigint, max: bigint): string | undefined {
  if (lo === 0n && hi === max) return undefined;
  if (field === 'sport' || field === 'dport') return lo === hi ? String(lo) : `${lo}-${hi}`;
  const cidrs = rangeToCidrs(family, lo, hi);
  if (cidrs.length <= 3) return cidrs.join(', ');
  return `${canonicalAddress(family, lo)}–${canonicalAddress(family, hi)}`;
}

/**
 * A set of values of a field (sorted, disjoint ranges) for people: the ranges, or what is
 * left out when that is shorter ("≠ 127.0.0.1", "∉ {3306, 8080}").
 */
export function showSet(field: IField, family: Family, segs: [bigint, bigint][], max: bigint): string | undefined {
  const merged: [bigint, bigint][] = [];
  for (const [lo, hi] of [...segs].sort((x, y) => (x[0] < y[0] ? -1 : x[0] > y[0] ? 1 : 0))) {
    const last = merged[merged.length - 1];
    if (last && lo <= last[1] + 1n) {
      if (hi > last[1]) last[1] = hi;
    } else merged.push([lo, hi]);
  }
  if (merged.length === 1 && merged[0][0] === 0n && merged[0][1] === max) return undefined;
  const gaps: [bigint, bigint][] = [];
  let next = 0n;
  for (const [lo, hi] of merged) {
    if (lo > next) gaps.push([next, lo - 1n]);
    next = hi + 1n;
  }
  if (next <= max) gaps.push([next, max]);
  const one = (lo: bigint, hi: bigint) => showRange(field, family, lo, hi, max) ?? 'any';
  const list = (xs: [bigint, bigint][]) => xs.slice(0, 4).map(([lo, hi]) => one(lo, hi)).join(', ') + (xs.length > 4 ? `, … (${xs.length} ranges)` : '');
  if (gaps.length < merged.length && gaps.length <= 4) return gaps.length === 1 && !list(gaps).includes(',') ? `≠ ${list(gaps)}` : `∉ {${list(gaps)}}`;
  return list(merged);
}

/** The last field: one sweep, evaluating each segment with an index of live rules. */
function sweepLast(ctx: Ctx, a: Side, b: Side, pkt: Packet, desc: Desc): void {
  const field: IField = 'daddr';
  const family = pkt.family;
  const max = domainMax(field, family);
  const occs = occurrences([a, b], field, family, max);
  const extraRanges = meaningRanges(ctx, field, family, pkt);
  if (!occs.length && !extraRanges.length) {
    // Nothing looks at the destination any more: one class.
    ctx.classes++;
    const ra = evaluate(a, pkt).outcome;
    const rb = evaluate(b, pkt).outcome;
    if (!sameOutcome(ra, rb) && ctx.diffs.length < ctx.max) {
      const p = { ...pkt, dst: canonicalAddress(pkt.family, parseHost(pkt.dst)), src: canonicalAddress(pkt.family, parseHost(pkt.src)) };
      ctx.diffs.push({ description: describe(desc, p), packet: p, a: ra, b: rb });
    }
    return;
  }
  const bounds = boundaries(occs, extraRanges, max);

  // Per side (a rule object may be shared by both sides' residual rule sets), per rule:
  // how many of its daddr matches hold now and how many it has; per chain, a bitset of
  // the rules whose daddr matches all hold.
  interface Index {
    need: Map<Rule, number>;
    have: Map<Rule, number>;
    bits: Map<Chain, Uint32Array>;
    where: Map<Rule, [Uint32Array, number]>;
    finder: RuleFinder;
  }
  const indexFor = (s: Side, side: 0 | 1): Index => {
    const ix: Index = { need: new Map(), have: new Map(), bits: new Map(), where: new Map(), finder: () => -1 };
    for (const o of occs) if (o.side === side) ix.need.set(o.rule, (ix.need.get(o.rule) ?? 0) + 1);
    if (s.kind === 'rules') {
      for (const t of s.rs.tables) for (const c of t.chains) {
        const bs = new Uint32Array((c.rules.length >> 5) + 1);
        c.rules.forEach((r, i) => {
          ix.where.set(r, [bs, i]);
          if (!ix.need.has(r)) bs[i >> 5] |= 1 << (i & 31);
        });
        ix.bits.set(c, bs);
      }
    }
    ix.finder = (chain, from, packet, hook) => {
      const bs = ix.bits.get(chain);
      if (!bs) return -1;
      const n = chain.rules.length;
      let i = from;
      while (i < n) {
        const w = bs[i >> 5] >>> (i & 31);
        if (w === 0) {
          i = ((i >> 5) + 1) << 5;
          continue;
        }
        i += 31 - Math.clz32(w & -w);
        if (i >= n) break;
        const r = chain.rules[i];
        // Only daddr is indexed; the rest (marks) is decided on the live packet.
        if (r.matches.every((m) => m.kind === 'daddr' || matches(m, packet, hook))) return i;
        i++;
      }
      return -1;
    };
    return ix;
  };
  // A small residual is cheaper to scan than to index.
  const small = occs.length < 48;
  const ixs = small ? [] : [indexFor(a, 0), indexFor(b, 1)];
  // Events at each boundary: +1 where a true-range starts, -1 after it ends.
  const events = new Map<bigint, [0 | 1, Rule, number][]>();
  const ev = (at: bigint, side: 0 | 1, r: Rule, d: number) => {
    let l = events.get(at);
    if (!l) events.set(at, (l = []));
    l.push([side, r, d]);
  };
  if (!small) {
    for (const o of occs) for (const [lo, hi] of o.ranges) {
      ev(lo, o.side, o.rule, 1);
      if (hi < max) ev(hi + 1n, o.side, o.rule, -1);
    }
  }

  let prevKey: string | undefined;
  let open: DiffRange | undefined;
  let openLo = 0n;
  const close = (hi: bigint) => {
    if (!open) return;
    open.desc = desc;
    open.dst = [[openLo, hi]];
    ctx.diffs.push(open);
    open = undefined;
  };
  for (let k = 0; k < bounds.length; k++) {
    const lo = bounds[k];
    for (const [side, r, d] of small ? [] : events.get(lo) ?? []) {
      const ix = ixs[side];
      const h = (ix.have.get(r) ?? 0) + d;
      ix.have.set(r, h);
      const w = ix.where.get(r);
      if (w) {
        const [bs, i] = w;
        if (h >= (ix.need.get(r) ?? 0)) bs[i >> 5] |= 1 << (i & 31);
        else bs[i >> 5] &= ~(1 << (i & 31));
      }
    }
    const p = setField(pkt, field, lo);
    ctx.classes++;
    const ra = evaluate(a, p, small ? undefined : ixs[0].finder).outcome;
    const rb = evaluate(b, p, small ? undefined : ixs[1].finder).outcome;
    const hi = k + 1 < bounds.length ? bounds[k + 1] - 1n : max;
    if (sameOutcome(ra, rb)) {
      close(lo - 1n);
      prevKey = undefined;
      continue;
    }
    const key = `${outcomeText(ra)}|${outcomeText(rb)}`;
    if (open && key === prevKey) continue; // extends the open range
    close(lo - 1n);
    if (ctx.diffs.length >= ctx.max) return;
    open = { description: '', packet: { ...p, src: canonicalAddress(p.family, parseHost(p.src)), dst: canonicalAddress(p.family, lo) }, a: ra, b: rb };
    openLo = lo;
    prevKey = key;
    void hi;
  }
  close(max);
}

function exploreInterval(ctx: Ctx, idx: number, a: Side, b: Side, pkt: Packet, desc: Desc): void {
  if (ctx.diffs.length >= ctx.max) return;
  const field = IFIELDS[idx];
  if (field === 'daddr') return sweepLast(ctx, a, b, pkt, desc);
  const hasPorts = pkt.protocol === 'tcp' || pkt.protocol === 'udp' || pkt.protocol === 'sctp';
  if ((field === 'sport' || field === 'dport') && !hasPorts) return exploreInterval(ctx, idx + 1, a, b, pkt, desc);
  const family = pkt.family;
  const max = domainMax(field, family);
  const occs = occurrences([a, b], field, family, max);
  const extra = meaningRanges(ctx, field, family, pkt);
  if (!occs.length && !extra.length) return exploreInterval(ctx, idx + 1, a, b, pkt, desc);
  const bounds = boundaries(occs, extra, max);
  // Group segments whose values every occurrence treats alike.
  const groups = new Map<string, { lo: bigint; segs: [bigint, bigint][] }>();
  // Each occurrence's ranges are sorted and disjoint: walk them along the sweep.
  const lists = [...occs.map((o) => o.ranges), ...extra.map((r) => [r])];
  const ptr = new Int32Array(lists.length);
  for (let k = 0; k < bounds.length; k++) {
    const lo = bounds[k];
    const hi = k + 1 < bounds.length ? bounds[k + 1] - 1n : max;
    let key = '';
    for (let i = 0; i < lists.length; i++) {
      const rs = lists[i];
      let j = ptr[i];
      while (j < rs.length && rs[j][1] < lo) j++;
      ptr[i] = j;
      key += j < rs.length && rs[j][0] <= lo ? '1' : '0';
    }
    const g = groups.get(key);
    if (g) g.segs.push([lo, hi]);
    else groups.set(key, { lo, segs: [[lo, hi]] });
  }
  const kinds = new Set<Match['kind']>([field]);
  for (const g of groups.values()) {
    const p = setField(pkt, field, g.lo);
    const d = { ...desc };
    if (groups.size > 1) {
      d[field] = () => showSet(field, family, g.segs, max) ?? 'any';
    }
    exploreInterval(ctx, idx + 1, sideSpecialize(a, kinds, p, p.hook), sideSpecialize(b, kinds, p, p.hook), p, d);
    if (ctx.diffs.length >= ctx.max) return;
  }
}

function exploreDiscrete(ctx: Ctx, idx: number, a: Side, b: Side, pkt: Packet, desc: Desc): void {
  if (ctx.diffs.length >= ctx.max) return;
  if (idx === DFIELDS.length) {
    // Marks: state, enumerated but never specialized.
    const cands = markCandidates(ctx, a, b, pkt);
    for (const [mark, ctmark] of cands) {
      const d = cands.length > 1 && (mark || ctmark) ? { ...desc, marks: `mark=${mark}${ctmark ? ` ctmark=${ctmark}` : ''}` } : desc;
      exploreInterval(ctx, 0, a, b, { ...pkt, mark, ctmark }, d);
      if (ctx.diffs.length >= ctx.max) return;
    }
    return;
  }
  const f = DFIELDS[idx];
  const ms = [...allMatches(a, f.kinds), ...allMatches(b, f.kinds)];
  if (!ms.length && !f.always && !(f.meaningField && (ctx.a.kind === 'meaning' || ctx.b.kind === 'meaning'))) {
    // No live rule looks at this field: one class, any value (the first candidate).
    const v = f.candidates(ctx, a, b, pkt)[0];
    return exploreDiscrete(ctx, idx + 1, a, b, f.set(pkt, v), desc);
  }
  const cands = f.candidates(ctx, a, b, pkt);
  const consts = f.meaningField ? meaningConsts(ctx, f.meaningField, pkt) : NO_CONSTS;
  const groups = new Map<string, unknown[]>();
  for (const v of cands) {
    const p = f.set(pkt, v);
    let key = f.extra?.(v, a, b) ?? '';
    for (const m of ms) key += matches(m, p, p.hook) ? '1' : '0';
    if (f.meaningKey && (ctx.a.kind === 'meaning' || ctx.b.kind === 'meaning')) key += '|' + f.meaningKey(v, consts);
    const g = groups.get(key);
    if (g) g.push(v);
    else groups.set(key, [v]);
  }
  for (const g of groups.values()) {
    const p = f.set(pkt, g[0]);
    const shown = f.show(g, cands);
    const d = shown ? { ...desc, [f.name]: shown } : desc;
    const ctKnown = idx >= DFIELDS.findIndex((x) => x.name === 'ctstate');
    exploreDiscrete(ctx, idx + 1, sideSpecialize(a, f.kinds, p, p.hook, ctKnown), sideSpecialize(b, f.kinds, p, p.hook, ctKnown), p, d);
    if (ctx.diffs.length >= ctx.max) return;
  }
}

function restrictFamily(s: Side, f: Family, pkt: Packet): Side {
  if (s.kind !== 'rules') return s;
  const rs = { ...s.rs, tables: s.rs.tables.filter((t: Table) => t.family === f || t.family === 'inet') };
  // In inet tables the family is a match like any other (nft meta nfproto).
  return { ...s, rs: kindsOf(rs).has('nfproto') ? specialize(rs, new Set(['nfproto']), pkt, pkt.hook) : rs };
}

/** Decide whether a and b give the same outcome for every packet. */
export function equivalent(a: Side, b: Side, opts: EquivOptions = {}): EquivResult {
  const t0 = performance.now();
  const ctx: Ctx = { a, b, classes: 0, diffs: [], max: opts.maxDifferences ?? 1 };
  const families = opts.families ?? ['ipv4', 'ipv6'];
  try {
    for (const hook of ['output', 'prerouting'] as const) {
      for (const family of families) {
        const zero = family === 'ipv4' ? '0.0.0.0' : '::';
        const pkt: Packet = { hook, family, protocol: 'tcp', src: zero, dst: zero, sport: 0, dport: 0, iif: '', oif: '', mark: 0, ctmark: 0, ctstate: 'new' };
        exploreDiscrete(ctx, 0, restrictFamily(a, family, pkt), restrictFamily(b, family, pkt), pkt, {});
        if (ctx.diffs.length >= ctx.max) break;
      }
      if (ctx.diffs.length >= ctx.max) break;
    }
  } catch (e) {
    if (e instanceof Undecided) return { result: 'undecided', classes: ctx.classes, ms: performance.now() - t0, differences: [], reason: e.message };
    throw e;
  }
  const ms = performance.now() - t0;
  if (!ctx.diffs.length) return { result: 'equal', classes: ctx.classes, ms, differences: [] };
  // Merge the classes that differ alike and differ only in their destinations.
  const merged = new Map<string, DiffRange>();
  for (const d of ctx.diffs) {
    if (!d.desc || !d.dst) {
      merged.set(`${merged.size}`, d);
      continue;
    }
    const key = `${d.packet.hook}|${d.packet.family}|${describe(d.desc, d.packet)}|${outcomeText(d.a)}|${outcomeText(d.b)}`;
    const m = merged.get(key);
    if (m) m.dst!.push(...d.dst);
    else merged.set(key, { ...d, dst: [...d.dst] });
  }
  for (const d of merged.values()) {
    if (d.desc && d.dst) {
      const r = showSet('daddr', d.packet.family, d.dst, MAX_ADDR[d.packet.family]);
      d.description = describe({ ...d.desc, ...(r ? { daddr: r } : {}) }, d.packet);
    }
    delete d.desc;
    delete d.dst;
  }
  ctx.diffs = [...merged.values()];
  // Confirm the first difference with the plain simulator on the original sides, traces on.
  const first = ctx.diffs[0];
  const full = (s: Side) => (s.kind === 'rules' ? simulate(s.rs, first.packet) : s.evaluate(first.packet));
  const ra = full(a);
  const rb = full(b);
  if (sameOutcome(ra.outcome, rb.outcome)) {
    return { result: 'undecided', classes: ctx.classes, ms, differences: [], reason: `internal: the engine found a difference the simulator does not confirm at ${JSON.stringify(first.packet)}` };
  }
  return { result: 'different', classes: ctx.classes, ms, differences: ctx.diffs, counterexample: { packet: first.packet, a: ra, b: rb } };
}

export function parseHost(s: string): bigint {
  const a = parseAddress(s);
  if (!a.ok) throw new Error(s);
  return a.value;
}
