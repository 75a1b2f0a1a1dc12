// The netfilter simulator: one packet through every base chain of its hook path, in
// priority order, across all tables of its family, with the semantics of
// shared/docs/netfilter-facts.md §1 (policies, return/jump/goto, nat only for new
// connections, owner matches, redirect and tproxy, marks flowing between chains,
// first CT zone wins).
import type { Action, Chain, Hook, IrCidr, Match, Rule, RuleSet, Table } from '../ir/types.js';
import { forEachChain } from '../ir/walk.js';
import { parseAddress, parseCidr } from '../net/ip.js';
import { ifaceHit, ownerHit, vmapEntry, type IfaceMatch, type OwnerMatch } from '../ir/keys.js';
import { hookPath, type Outcome, type Packet } from './packet.js';

export interface TraceStep {
  family: string;
  table: string;
  chain: string;
  /** 1-based index of the rule in its chain; 0 for the chain policy. */
  index: number;
  rule?: Rule;
  /** What happened: 'jump MESHCAP_OUTPUT', 'return', 'redirect to 15001', 'policy accept'. */
  effect: string;
}

export interface SimResult {
  outcome: Outcome;
  path: TraceStep[];
  /** The packet as it leaves the last chain (marks and connection mark as set on the way). */
  packet?: Packet;
}

// Address parsing is the hot path of the simulator; cache both directions.
const addrCache = new Map<string, bigint>();
/** An address text's value, cached (also used by the policy's meaning). */
export function addrValue(s: string): bigint {
  let v = addrCache.get(s);
  if (v === undefined) {
    const a = parseAddress(s);
    if (!a.ok) throw new Error(`bad address ${s}`);
    v = a.value;
    addrCache.set(s, v);
  }
  return v;
}
/** Tell the simulator an address text's value (the engine makes many addresses). */
export function primeAddress(text: string, value: bigint): void {
  if (addrCache.size > 200000) addrCache.clear();
  addrCache.set(text, value);
}

const cidrCache = new Map<string, [bigint, bigint]>();
function cidrRange(c: IrCidr): [bigint, bigint] {
  const key = `${c.addr}/${c.prefix}`;
  let r = cidrCache.get(key);
  if (!r) {
    const p = parseCidr(key);
    if (!p.ok) throw new Error(`bad CIDR ${key}`);
    r = [p.cidr.first, p.cidr.last];
    cidrCache.set(key, r);
  }
  return r;
}

function hasPorts(p: Packet): boolean {
  return p.protocol === 'tcp' || p.protocol === 'udp' || p.protocol === 'sctp';
}

function ifMatch(name: string, m: IfaceMatch): boolean {
  if ('names' in m) return ifaceHit(name, m.names);
  return m.prefix ? name.startsWith(m.name) : name === m.name;
}

function ownerMatches(value: number | string | undefined, m: OwnerMatch): boolean {
  // xt_owner: a packet without a socket matches exactly the inverted owner matches.
  if (value === undefined) return m.neg;
  return ownerHit(value, m) !== m.neg;
}

export function matches(m: Match, p: Packet, hook: Hook): boolean {
  switch (m.kind) {
    case 'protocol':
      return (p.protocol === m.protocol) !== m.neg;
    case 'saddr':
    case 'daddr': {
      const v = addrValue(m.kind === 'saddr' ? p.src : p.dst);
      const hit = m.cidrs.some((c) => {
        if (c.family !== p.family) return false;
        const [lo, hi] = cidrRange(c);
        return lo <= v && v <= hi;
      });
      return hit !== m.neg;
    }
    case 'sport':
    case 'dport': {
      if (!hasPorts(p)) return false;
      const v = m.kind === 'sport' ? p.sport : p.dport;
      return m.ranges.some(([lo, hi]) => lo <= v && v <= hi) !== m.neg;
    }
    case 'iif':
      return ifMatch(hook === 'prerouting' || hook === 'input' || hook === 'forward' ? p.iif : '', m) !== m.neg;
    case 'oif':
      return ifMatch(hook === 'output' || hook === 'postrouting' || hook === 'forward' ? p.oif : '', m) !== m.neg;
    case 'uid':
      return ownerMatches(hook === 'output' || hook === 'postrouting' ? p.uid : undefined, m);
    case 'gid':
      return ownerMatches(hook === 'output' || hook === 'postrouting' ? p.gid : undefined, m);
    case 'mark':
      return (((p.mark & m.mask) >>> 0) === m.value >>> 0) !== m.neg;
    case 'connmark':
      return (((p.ctmark & m.mask) >>> 0) === m.value >>> 0) !== m.neg;
    case 'ctstate':
      return m.states.includes(p.ctstate) !== m.neg;
    case 'nfproto':
      return (p.family === m.family) !== m.neg;
    case 'socket':
      // The model knows only transparent sockets; both forms match a packet of one.
      return !!p.transparentSocket;
    case 'unmodelled': {
      const v = assumed?.get(m.id);
      if (v !== undefined) return v;
      consulted?.set(m.id, `${m.id.replace(/#\d+$/, '')}: ${m.text}`);
      return false;
    }
  }
}

/**
 * Unmodelled matches (other tools' rules): the truth assumed for each in this run, and
 * the ones a run met without an assumption. Module state, set only inside simulate(),
 * which runs to completion (no await), so no two runs share it.
 */
let assumed: Map<string, boolean> | undefined;
let consulted: Map<string, string> | undefined;
/** At most this many unmodelled matches on one packet's way are tried both ways (2^N runs). */
export const MAX_UNMODELLED = 8;

export function describeAction(a: Action): string {
  switch (a.kind) {
    case 'jump':
    case 'goto':
      return `${a.kind} ${a.chain}`;
    case 'redirect':
      return `redirect to port ${a.port}`;
    case 'tproxy':
      return `tproxy to port ${a.port}, mark 0x${a.mark.toString(16)}/0x${a.mask.toString(16)}`;
    case 'mark-set':
      return `set mark 0x${a.value.toString(16)}/0x${a.mask.toString(16)}`;
    case 'connmark-save':
      return 'save mark to connection';
    case 'connmark-restore':
      return 'restore mark from connection';
    case 'ct-zone':
      return `conntrack zone ${a.zone}`;
    case 'dnat':
      return `dnat to ${a.addr}${a.port ? ':' + a.port : ''}`;
    case 'log':
      return `log '${a.prefix}'`;
    default:
      return a.kind;
  }
}

interface State {
  packet: Packet;
  outcome: Outcome;
  path: TraceStep[];
  /** Keep the trace (off in the equivalence engine's inner loop). */
  record: boolean;
}

const baseCache = new WeakMap<RuleSet, Map<string, { table: Table; chain: Chain }[]>>();

/** Base chains of a hook for the packet's family, in the order the kernel runs them. */
export function baseChainsFor(rs: RuleSet, family: string, hook: Hook): { table: Table; chain: Chain }[] {
  let m = baseCache.get(rs);
  if (!m) baseCache.set(rs, (m = new Map<string, { table: Table; chain: Chain }[]>()));
  const key = `${family}:${hook}`;
  let r = m.get(key);
  if (!r) m.set(key, (r = computeBaseChains(rs, family, hook)));
  return r;
}

function computeBaseChains(rs: RuleSet, family: string, hook: Hook): { table: Table; chain: Chain }[] {
  const out: { table: Table; chain: Chain; order: number }[] = [];
  let order = 0;
  forEachChain(rs, (chain, table) => {
    if ((table.family === family || table.family === 'inet') && chain.base?.hook === hook) out.push({ table, chain, order: order++ });
  });
  return out.sort((a, b) => a.chain.base!.priority - b.chain.base!.priority || a.order - b.order);
}

/**
 * Finds the first rule at or after `from` in `chain` that matches the packet, or -1. The
 * plain simulator scans; the equivalence engine plugs in an indexed search. Either way
 * the actions below give the semantics, in one place.
 */
export type RuleFinder = (chain: Chain, from: number, packet: Packet, hook: Hook) => number;

export const scanFinder: RuleFinder = (chain, from, packet, hook) => {
  for (let i = from; i < chain.rules.length; i++) if (chain.rules[i].matches.every((m) => matches(m, packet, hook))) return i;
  return -1;
};

const chainIndex = new WeakMap<Table, Map<string, Chain>>();
const ruleCount = new WeakMap<Table, number>();
function countRules(t: Table): number {
  const n = t.chains.reduce((k, c) => k + c.rules.length, 0);
  ruleCount.set(t, n);
  return n;
}

/** A non-terminal statement of a multi-statement (nft) rule. */
function applyEffect(st: State, a: Action): void {
  switch (a.kind) {
    case 'mark-set':
      st.packet.mark = ((st.packet.mark & ~a.mask) ^ a.value) >>> 0;
      return;
    case 'connmark-save':
      st.packet.ctmark = ((st.packet.ctmark & ~a.ctmask) | (st.packet.mark & a.nfmask)) >>> 0;
      return;
    case 'connmark-restore':
      st.packet.mark = ((st.packet.mark & ~a.nfmask) | (st.packet.ctmark & a.ctmask)) >>> 0;
      return;
    case 'ct-zone':
      if (st.outcome.ctZone === null) st.outcome.ctZone = a.zone;
      return;
    case 'log':
    case 'counter':
      return;
    default:
      throw new Error(`${a.kind} is not a non-terminal statement`);
  }
}

/** Run one base chain. Returns 'accept' | 'drop' (the chain's final verdict). */
function runBase(st: State, table: Table, base: Chain, hook: Hook, find: RuleFinder): 'accept' | 'drop' {
  let chains = chainIndex.get(table);
  if (!chains) {
    chains = new Map(table.chains.map((c) => [c.name, c]));
    chainIndex.set(table, chains);
  }
  // Call stack of return points: [chain, index of the next rule].
  const stack: [Chain, number][] = [];
  let chain = base;
  let i = 0;
  const step = (index: number, effect: string, rule?: Rule) => {
    if (st.record) st.path.push({ family: table.family, table: table.name, chain: chain.name, index, rule, effect });
  };
  /** Return from the current chain: to the caller, or (from the base chain) its policy. */
  const unwind = (): 'accept' | 'drop' | undefined => {
    const back = stack.pop();
    if (!back) {
      step(0, `policy ${base.base!.policy}`);
      return base.base!.policy;
    }
    [chain, i] = back;
    return undefined;
  };
  // Rule files are checked for jump loops when read, so this only stops a loop that got
  // past that check; a long chain of non-terminal rules is no loop (hence the table's size).
  let guard = 0;
  const limit = 100000 + 4 * (ruleCount.get(table) ?? countRules(table));
  for (;;) {
    if (++guard > limit) throw new Error(`rule loop in table ${table.name}`);
    const found = i < chain.rules.length ? find(chain, i, st.packet, hook) : -1;
    if (found < 0) {
      // Falling off the end is an implicit return.
      const v = unwind();
      if (v) return v;
      continue;
    }
    const rule = chain.rules[found];
    const idx = found + 1;
    i = found + 1;
    for (const e of rule.effects ?? []) applyEffect(st, e);
    let a = rule.action;
    if (a.kind === 'vmap') {
      const e = vmapEntry(a.entries, (m) => matches(m, st.packet, hook));
      if (!e) {
        step(idx, 'vmap: no entry', rule);
        continue;
      }
      a = e.action;
    }
    switch (a.kind) {
      case 'accept':
        step(idx, 'accept', rule);
        return 'accept';
      case 'drop':
        step(idx, 'drop', rule);
        return 'drop';
      case 'return': {
        step(idx, 'return', rule);
        const v = unwind();
        if (v) return v;
        continue;
      }
      case 'jump':
      case 'goto': {
        const target = chains.get(a.chain);
        if (!target) throw new Error(`jump to missing chain ${a.chain} in table ${table.name}`);
        step(idx, `${a.kind} ${a.chain}`, rule);
        if (a.kind === 'jump') stack.push([chain, i]);
        chain = target;
        i = 0;
        continue;
      }
      case 'redirect':
        step(idx, describeAction(a), rule);
        st.outcome.redirect = { port: a.port };
        return 'accept';
      case 'dnat':
        step(idx, describeAction(a), rule);
        st.outcome.redirect = a.port ? { port: a.port } : st.outcome.redirect;
        return 'accept';
      case 'tproxy':
        step(idx, describeAction(a), rule);
        st.packet.mark = ((st.packet.mark & ~a.mask) ^ a.mark) >>> 0;
        st.outcome.tproxy = { port: a.port, mark: st.packet.mark };
        return 'accept';
      case 'mark-set':
      case 'connmark-save':
      case 'connmark-restore':
      case 'ct-zone': {
        const zoneBefore = st.outcome.ctZone;
        applyEffect(st, a);
        const ignored = a.kind === 'ct-zone' && zoneBefore !== null;
        step(idx, describeAction(a) + (ignored ? ' (ignored: zone already set)' : ''), rule);
        continue;
      }
      case 'log':
      case 'counter':
        step(idx, describeAction(a), rule);
        continue;
    }
  }
}

/**
 * One packet through the rule set. A rule set with unmodelled matches is run once per
 * truth of each one the packet meets (on demand): if every run has the same outcome, that
 * is the outcome; if not, the outcome says which unmodelled matches it depends on
 * (`unknown`), and is the same as no other outcome (compare.ts).
 */
export function simulate(rs: RuleSet, packet: Packet, find: RuleFinder = scanFinder, record = true): SimResult {
  const outer = [assumed, consulted] as const;
  const met = new Map<string, string>();
  let first: SimResult | undefined;
  let same = true;
  // Depth first over the truths of the unmodelled matches met: a run takes the unassigned
  // ones as false; the first of them is then tried both ways. Stops at the first outcome
  // that differs, or when too many are met.
  const run = (assign: Map<string, boolean>): void => {
    assumed = assign;
    consulted = new Map();
    const r = simulateOnce(rs, packet, find, first ? false : record);
    const fresh = [...consulted];
    if (!first) first = r;
    else if (!sameBase(r.outcome, first.outcome)) same = false;
    for (const [id, text] of fresh) met.set(id, text);
    if (!same || !fresh.length || met.size > MAX_UNMODELLED) return;
    const [id] = fresh[0];
    run(new Map([...assign, [id, false]]));
    if (same && met.size <= MAX_UNMODELLED) run(new Map([...assign, [id, true]]));
  };
  try {
    run(new Map());
    const r = first!;
    if (!met.size || (same && met.size <= MAX_UNMODELLED)) return r;
    return { ...r, outcome: { ...r.outcome, unknown: [...met.values()] } };
  } finally {
    [assumed, consulted] = outer;
  }
}

function sameBase(x: SimResult['outcome'], y: SimResult['outcome']): boolean {
  return x.verdict === y.verdict && x.mark === y.mark && x.ctmark === y.ctmark && x.ctZone === y.ctZone && (x.redirect?.port ?? null) === (y.redirect?.port ?? null) && (x.tproxy?.port ?? null) === (y.tproxy?.port ?? null) && (x.tproxy?.mark ?? null) === (y.tproxy?.mark ?? null);
}

function simulateOnce(rs: RuleSet, packet: Packet, find: RuleFinder, record: boolean): SimResult {
  const st: State = {
    packet: { ...packet },
    outcome: { verdict: 'accept', redirect: null, tproxy: null, mark: packet.mark >>> 0, ctmark: packet.ctmark >>> 0, ctZone: null },
    path: [],
    record,
  };
  for (const hook of hookPath[packet.hook]) {
    for (const { table, chain } of baseChainsFor(rs, packet.family, hook)) {
      // NAT chains see only the first packet of a connection, and only once: a packet the
      // pod sent to itself does not meet them again when it comes back in through lo.
      if (chain.base!.type === 'nat' && (packet.ctstate !== 'new' || packet.looped)) continue;
      // One NAT binding per connection and direction: after a redirect, later nat
      // chains of the same hook do not run again for it.
      if (chain.base!.type === 'nat' && st.outcome.redirect && (hook === 'output' || hook === 'prerouting')) continue;
      const v = runBase(st, table, chain, hook, find);
      if (v === 'drop') {
        st.outcome.verdict = 'drop';
        st.outcome.mark = st.packet.mark;
        st.outcome.ctmark = st.packet.ctmark >>> 0;
        return { outcome: st.outcome, path: st.path, packet: st.packet };
      }
    }
  }
  st.outcome.mark = st.packet.mark >>> 0;
  st.outcome.ctmark = st.packet.ctmark >>> 0;
  return { outcome: st.outcome, path: st.path, packet: st.packet };
}
