// The discrete fields (protocol, conntrack state, socket, interfaces, owners): for each,
// the candidate values that cover every way the live rules and the meaning treat it.
import type { Hook, Match, Protocol } from '../ir/types.js';
import type { Packet } from '../sim/packet.js';
import { meaningConsts, type Ctx, type Merged } from './context.js';
import { TYPICAL_IFACES, TYPICAL_OWNER } from './facts.js';
import { allMatches, hasNat } from './residual.js';
import type { Side } from './side.js';

export interface DField {
  name: string;
  kinds: Set<Match['kind']>;
  candidates(ctx: Ctx, a: Side, b: Side, pkt: Packet): unknown[];
  set(pkt: Packet, v: unknown): Packet;
  /** Extra signature beyond the matches (e.g. nat sees only new connections). */
  extra?(v: unknown, a: Side, b: Side): string;
  /** Split even when no rule matches on the field (its value changes other things). */
  always?: boolean;
  meaningField?: 'uid' | 'gid' | 'iif' | 'oif';
  /**
   * The keys a match, a value and a meaning constant are known by: a match (or constant)
   * can hold at a value only if its key is one of the value's (the rest hold alike).
   */
  index?: { match(m: Match): string; value(v: unknown): string[]; consts(k: Merged): { key: string; label: string }[] };
  show(group: unknown[], all: unknown[]): string | undefined;
  /**
   * Values the facts (facts.ts) treat apart even where no rule does: lo, through which
   * loopback addresses travel. Classes never mix values of different fact keys.
   */
  factKey?(v: unknown): string;
}

/** A name no rule names and no prefix covers: a typical one (eth0) when it is free. */
function freshName(taken: Set<string>, prefixes: string[]): string {
  const free = (n: string) => !taken.has(n) && !prefixes.some((p) => p !== '' && n.startsWith(p));
  for (const n of TYPICAL_IFACES) if (free(n)) return n;
  for (let i = 0; ; i++) if (free(`zz${i}`)) return `zz${i}`;
}

function ifaceCandidates(ms: Match[], extra: { name: string; prefix: boolean }[]): string[] {
  const pats = [...ms.map((m) => m as { name: string; prefix: boolean }), ...extra];
  const exact = new Set(pats.filter((p) => !p.prefix).map((p) => p.name));
  const prefixes = [...new Set(pats.filter((p) => p.prefix).map((p) => p.name))];
  // No '': a packet on a hook that sets the interface has one (docs/facts.md F1).
  const out = new Set<string>(['lo', ...exact]);
  for (const p of prefixes) {
    if (p !== '') out.add(p);
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
  // "Any other owner": a first ordinary user, as people would write it.
  let fresh = TYPICAL_OWNER;
  while (ids.has(fresh)) fresh++;
  return [...ids, fresh];
}

const ifaceKey = (m: { name: string; prefix: boolean }) => (m.prefix ? 'p:' : 'e:') + m.name;
// A name's keys, made once per name (the same 10,000 names are candidates at every class).
const nameKeys = new Map<string, string[]>();
const ifaceIndex: DField['index'] = {
  match: (m) => ifaceKey(m as { name: string; prefix: boolean }),
  value: (v) => {
    const n = String(v);
    let out = nameKeys.get(n);
    if (out) return out;
    out = ['e:' + n];
    for (let i = 0; i <= n.length; i++) out.push('p:' + n.slice(0, i));
    if (nameKeys.size > 200000) nameKeys.clear();
    nameKeys.set(n, out);
    return out;
  },
  consts: (k) => k.ifaces.map((c, i) => ({ key: ifaceKey(c), label: k.labels.ifaces[i] })),
};
const ownerKey = (v: unknown) => `${typeof v}:${String(v)}`;
const ownerIndex: DField['index'] = {
  match: (m) => ownerKey((m as { id: number | string }).id),
  value: (v) => (v === undefined ? [] : [ownerKey(v)]),
  consts: (k) => k.owners.map((c, i) => ({ key: ownerKey(c), label: k.labels.owners[i] })),
};

/** The last candidate of an indexed field stands for every value no rule names. */
const isOther = (v: unknown, all: unknown[]) => v === all[all.length - 1];
const showDiscrete = (label: string, fmt: (v: unknown) => string) => (group: unknown[], all: unknown[]) => {
  if (group.length === all.length) return undefined;
  if (group.some((v) => isOther(v, all))) {
    const inGroup = new Set(group);
    const named = all.filter((v) => !inGroup.has(v) && !isOther(v, all));
    return `${label} ∉ {${named.map(fmt).join(', ')}}`.replace(/∉ \{([^,}]*)\}$/, '≠ $1');
  }
  return group.length === 1 ? `${label}=${fmt(group[0])}` : `${label} ∈ {${group.map(fmt).join(', ')}}`;
};

/** An interface field: none on the hook where it cannot be set, else the names the rules and the meaning mention. */
function ifaceField(name: 'iif' | 'oif', unsetOn: Hook): DField {
  return {
    name,
    kinds: new Set([name]),
    meaningField: name,
    candidates: (c, a, b, pkt) => (pkt.hook === unsetOn ? [''] : ifaceCandidates([...allMatches(a, new Set([name])), ...allMatches(b, new Set([name]))], meaningConsts(c, name, pkt).ifaces)),
    set: (p, v) => ({ ...p, [name]: v as string }),
    index: ifaceIndex,
    factKey: (v) => (v === 'lo' ? 'lo' : ''),
    show: showDiscrete(name, (v) => (v === '' ? '(none)' : String(v))),
  };
}

export const DFIELDS: DField[] = [
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
  ifaceField('iif', 'output'),
  ifaceField('oif', 'prerouting'),
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
    index: ownerIndex,
    show: showDiscrete('uid', String),
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
    index: ownerIndex,
    show: showDiscrete('gid', String),
  },
];
