// The IR: one netfilter rule-set model. The lowering produces it, every backend emits
// it, every importer reads back into it, and the simulator evaluates it. It is plain
// serializable data (no classes, no bigint): `meshcap compile --emit ir` prints it.
import type { Span } from '../source.js';

export type Family = 'ipv4' | 'ipv6';
export type TableFamily = Family | 'inet';
export type Hook = 'prerouting' | 'input' | 'forward' | 'output' | 'postrouting';
export type Protocol = 'tcp' | 'udp' | 'icmp' | 'icmpv6' | 'sctp';
export type CtState = 'new' | 'established' | 'related' | 'invalid' | 'untracked';

/** An address prefix, canonical (host bits clear). */
export interface IrCidr {
  family: Family;
  addr: string;
  prefix: number;
}

/** An interface name, or a prefix of names (`prefix`). */
export interface IfaceName {
  name: string;
  prefix: boolean;
}

export type Match =
  | { kind: 'protocol'; neg: boolean; protocol: Protocol }
  /**
   * `set` names the list after the policy statement it comes from (`excluded-outbound-cidrs`):
   * a backend that has named sets uses it; it never changes what the rule matches.
   */
  | { kind: 'saddr' | 'daddr'; neg: boolean; cidrs: IrCidr[]; set?: string }
  | { kind: 'sport' | 'dport'; neg: boolean; ranges: [number, number][]; set?: string }
  /** `eth+` in iptables (prefix) / `eth*` in nft. */
  | { kind: 'iif' | 'oif'; neg: boolean; name: string; prefix: boolean }
  /** Any of several names (nft `oifname { "lo", "veth*" }`); `neg`: none of them. */
  | { kind: 'iif' | 'oif'; neg: boolean; names: IfaceName[] }
  /** Owner match: a numeric id or a name resolved when the rules are loaded. */
  | { kind: 'uid' | 'gid'; neg: boolean; id: number | string }
  /** Any id in the ranges (the kernel's `--uid-owner 106-108`, nft `meta skuid { 106-108, 1337 }`); `neg`: none. */
  | { kind: 'uid' | 'gid'; neg: boolean; ids: [number, number][] }
  /** (packet mark & mask) == value */
  | { kind: 'mark' | 'connmark'; neg: boolean; value: number; mask: number }
  | { kind: 'ctstate'; neg: boolean; states: CtState[] }
  | { kind: 'socket'; transparent: boolean }
  /** The packet's family (nft `meta nfproto`, and the implicit dependency of `ip daddr` in inet tables). */
  | { kind: 'nfproto'; neg: boolean; family: Family }
  /**
   * A match of another tool's rule that meshcap does not model (`-m addrtype`, `-m
   * statistic`, nft `fib`): it may or may not hold, so the simulator tries both and an
   * outcome that depends on it is unknown (docs/snapshot.md). Only importers make it.
   * `id` is unique per match of a rule set; `text` is the rule's own words for it.
   */
  | { kind: 'unmodelled'; id: string; text: string };

export type Action =
  | { kind: 'accept' }
  | { kind: 'drop' }
  | { kind: 'return' }
  | { kind: 'jump'; chain: string }
  | { kind: 'goto'; chain: string }
  | { kind: 'redirect'; port: number }
  | { kind: 'tproxy'; port: number; mark: number; mask: number; addr?: string }
  /** mark = (mark & ~mask) ^ value  (iptables --set-xmark; --set-mark v is v/0xffffffff) */
  | { kind: 'mark-set'; value: number; mask: number }
  /** ctmark = (ctmark & ~ctmask) | (mark & nfmask) */
  | { kind: 'connmark-save'; nfmask: number; ctmask: number }
  /** mark = (mark & ~nfmask) | (ctmark & ctmask) */
  | { kind: 'connmark-restore'; nfmask: number; ctmask: number }
  | { kind: 'ct-zone'; zone: number }
  | { kind: 'dnat'; addr: string; port?: number }
  /** LOG (non-terminating): `level` is the syslog level 0-7; absent, the kernel's default (4, warning). */
  | { kind: 'log'; prefix: string; level?: number }
  /** A rule that only counts. */
  | { kind: 'counter' }
  /**
   * A verdict map (nft `oifname vmap { "lo" : return, "eth0" : goto x }`): the verdict of
   * the entry whose match holds (entries are disjoint: at most one does); none, the rule
   * goes on like a counter. It stands for one rule per entry, in order (what the
   * equivalence engine reads it as), tested as one.
   */
  | { kind: 'vmap'; key: KeyKind; entries: VmapEntry[] };

/** The fields a verdict map selects by. */
export type KeyKind = 'iif' | 'oif' | 'uid' | 'gid';
/** The match of one entry (a positive match of the map's key) and its verdict. */
export interface VmapEntry {
  match: Extract<Match, { kind: KeyKind }>;
  action: Extract<Action, { kind: 'accept' | 'drop' | 'return' | 'jump' | 'goto' }>;
}

/** Where a rule came from: the policy statement and why the rule exists. */
export interface Origin {
  span: Span | null;
  purpose: string;
}

export interface Rule {
  matches: Match[];
  /** Non-terminal statements run before the action, in order (nft rules can have several). */
  effects?: Action[];
  action: Action;
  origin: Origin;
}

export interface BaseHook {
  hook: Hook;
  priority: number;
  /** nft chain type; for iptables it follows from the table. */
  type: 'filter' | 'nat' | 'route';
  policy: 'accept' | 'drop';
}

export interface Chain {
  name: string;
  /** Present for base chains (PREROUTING, OUTPUT, ...). */
  base?: BaseHook;
  rules: Rule[];
}

export interface Table {
  family: TableFamily;
  /** iptables: nat, mangle, raw, filter. nft: any name. */
  name: string;
  chains: Chain[];
}

/** Facts a rule set needs that netfilter rules cannot carry (the shell backend installs them). */
export interface Routing {
  /** TPROXY: `ip rule add fwmark MARK lookup TABLE` and `ip route add local default dev lo table TABLE`. */
  tproxy?: { mark: number; table: number; families: Family[] };
  /** Addresses to add to lo (e.g. ::6 for IPv6 passthrough). */
  loopbackAddresses: string[];
}

export interface RuleSet {
  /** Where the rule set came from (policy name or imported file). */
  name: string;
  tables: Table[];
  routing: Routing;
}

/** Legacy iptables table priorities per hook (netfilter_ipv4.h). */
export const TABLE_PRIORITY: Record<string, number> = {
  raw: -300,
  mangle: -150,
  'nat:prerouting': -100,
  'nat:output': -100,
  'nat:input': 100,
  'nat:postrouting': 100,
  filter: 0,
};

export const BUILTIN_CHAINS: Record<string, Hook[]> = {
  raw: ['prerouting', 'output'],
  mangle: ['prerouting', 'input', 'forward', 'output', 'postrouting'],
  nat: ['prerouting', 'input', 'output', 'postrouting'],
  filter: ['input', 'forward', 'output'],
};

export function hookChainName(h: Hook): string {
  return h.toUpperCase();
}

export function iptablesBase(table: string, hook: Hook): BaseHook {
  const priority = TABLE_PRIORITY[`${table}:${hook}`] ?? TABLE_PRIORITY[table] ?? 0;
  const type = table === 'nat' ? 'nat' : table === 'mangle' && hook === 'output' ? 'route' : 'filter';
  return { hook, priority, type, policy: 'accept' };
}

/** A mark mask that keeps every bit (iptables' default `/0xffffffff`). */
export const FULL_MASK = 0xffffffff;
