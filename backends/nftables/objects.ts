// The libnftables JSON meshcap writes and reads (libnftables-json(5)), as TypeScript
// types: the `{"nftables": [...]}` document, its commands (add, flush, destroy; on input
// also create, insert, delete and the bare objects of a listing), the objects (table,
// chain, set, rule, metainfo), and the expressions and statements of a rule. Each
// vocabulary the schema enumerates is also a runtime list here, checked against its type
// at compile time, so schema.json can be tested against it (test/backends/nftables.test.ts).
//
// Two dialects: `Nft*` is exactly what the emitter writes (what schema.json accepts);
// `Read*` is what the importer understands on top of that (nft -j list ruleset: handles,
// counter values, element wrappers, address ranges, ip/ip6 tables, named priorities).
// Untrusted input is typed `Unchecked<T>`: T's keys, values still to be narrowed.
import type { CtState, Hook } from '../../src/ir/types.js';

/** `{a: A} | {b: B}` where the other keys are absent, so `x.b?.y` reads on every member. */
export type OneOf<M> = { [K in keyof M]: { [P in K]: M[P] } & { [P in Exclude<keyof M, K>]?: never } }[keyof M];

/** What an untrusted document may hold where a T is expected: T's keys, values unchecked. */
export type Unchecked<T> = { readonly [K in keyof T]?: unknown };

/** Every key of K exactly once (a missing or extra key is a compile error), as a list. */
function keysOf<K extends string>(r: Record<K, true>): readonly K[] {
  return Object.keys(r) as K[];
}

// ---- fixed names --------------------------------------------------------------------------

/** The one table family the emitter uses: an inet table holds both families. */
export const NFT_FAMILY = 'inet';
export type NftFamily = typeof NFT_FAMILY;
/** The table's name when the policy name has no usable character. */
export const DEFAULT_TABLE_NAME = 'meshcap';
/** Named interval sets are `s1`, `s2`, ... in the order they are needed. */
export const SET_NAME_PREFIX = 's';
/** The one set flag emitted: interval sets hold prefixes and ranges. */
export const SET_FLAG_INTERVAL = 'interval';
/** Rule comments start with this, so a listing shows which rules are meshcap's. */
export const COMMENT_PREFIX = 'meshcap';

// ---- vocabularies (runtime lists; schema.json enumerates the same) -------------------------

export const META_KEYS = ['l4proto', 'nfproto', 'iifname', 'oifname', 'skuid', 'skgid', 'mark'] as const;
export type MetaKey = (typeof META_KEYS)[number];
export const CT_KEYS = ['state', 'mark', 'zone'] as const;
export type CtKey = (typeof CT_KEYS)[number];
export const PAYLOAD_PROTOCOLS = ['ip', 'ip6', 'th'] as const;
export type PayloadProtocol = (typeof PAYLOAD_PROTOCOLS)[number];
/** Read only: `tcp dport` etc. carry an implicit `meta l4proto` (netfilter facts §1.12). */
export const READ_PAYLOAD_PROTOCOLS = ['ip', 'ip6', 'th', 'tcp', 'udp', 'sctp'] as const;
export type ReadPayloadProtocol = (typeof READ_PAYLOAD_PROTOCOLS)[number];
export const PAYLOAD_FIELDS = ['saddr', 'daddr', 'sport', 'dport'] as const;
export type PayloadField = (typeof PAYLOAD_FIELDS)[number];
export const MATCH_OPS = ['==', '!=', 'in'] as const;
export type MatchOp = (typeof MATCH_OPS)[number];
export const L3_FAMILIES = ['ip', 'ip6'] as const;
/** tproxy and dnat in an inet table name the family of their address. */
export type L3Family = (typeof L3_FAMILIES)[number];
export const SET_TYPES = ['ipv4_addr', 'ipv6_addr', 'inet_service'] as const;
export type SetType = (typeof SET_TYPES)[number];
export const CHAIN_TYPES = ['filter', 'nat', 'route'] as const;
export type ChainType = (typeof CHAIN_TYPES)[number];
export const HOOKS = ['prerouting', 'input', 'forward', 'output', 'postrouting'] as const satisfies readonly Hook[];
export const CHAIN_POLICIES = ['accept', 'drop'] as const;
export type ChainPolicy = (typeof CHAIN_POLICIES)[number];
export const CT_STATES = ['new', 'established', 'related', 'invalid', 'untracked'] as const satisfies readonly CtState[];
/** Table families read: inet (what meshcap writes), ip and ip6. */
export const READ_TABLE_FAMILIES = ['inet', 'ip', 'ip6'] as const;
export type ReadTableFamily = (typeof READ_TABLE_FAMILIES)[number];
/** Standard priority names a listing or hand-written input may use, with their values. */
export const PRIORITY_NAMES = { raw: -300, mangle: -150, dstnat: -100, filter: 0, security: 50, srcnat: 100 } as const;
export type PriorityName = keyof typeof PRIORITY_NAMES;

// ---- expressions ---------------------------------------------------------------------------

export interface NftMetaBody {
  key: MetaKey;
}
export interface NftCtBody {
  key: CtKey;
}
export interface NftPayloadBody {
  protocol: PayloadProtocol;
  field: PayloadField;
}
/** `meta mark`, `ct mark`, `ct zone`...: what a mask applies to and a mangle sets. */
export type NftKeyExpr = OneOf<{ meta: NftMetaBody; ct: NftCtBody }>;
/** `(key & mask)` */
export interface NftAnd {
  '&': [NftKeyExpr, number];
}
/** `(key & mask) ^ value`: a partial mark set. */
export interface NftXor {
  '^': [NftAnd, number];
}

/** The left-hand side of a match, by its one key. */
export interface NftLeftBodies {
  meta: NftMetaBody;
  ct: NftCtBody;
  payload: NftPayloadBody;
  socket: { key: 'transparent' };
  '&': NftAnd['&'];
}
export type NftLeft = OneOf<NftLeftBodies>;
export type LeftKind = keyof NftLeftBodies;
export const LEFT_KINDS = keysOf<LeftKind>({ meta: true, ct: true, payload: true, socket: true, '&': true });

export interface NftPrefixBody {
  addr: string;
  len: number;
}
/** A set element or a value: an address, a port, a prefix, a port range. */
export type NftElement = string | number | OneOf<{ prefix: NftPrefixBody; range: [number, number] }>;
/** The right-hand side: a value, an anonymous set, a named set (the string `@name`), or ct state's flag list. */
export type NftRight = NftElement | { set: NftElement[] } | CtState[];

export interface NftMatchBody {
  op: MatchOp;
  left: NftLeft;
  right: NftRight;
}

// ---- statements ----------------------------------------------------------------------------

export interface NftStatementBodies {
  accept: null;
  drop: null;
  return: null;
  jump: { target: string };
  goto: { target: string };
  redirect: { port: number };
  /** In an inet table, without an address: for both families. */
  tproxy: { family?: L3Family; port: number; addr?: string };
  dnat: { family: L3Family; addr: string; port?: number };
  mangle: { key: NftKeyExpr; value: number | NftKeyExpr | NftXor };
  counter: null;
  /** nft's syslog level names (libnftables-json(5)); absent, the kernel's default. */
  log: { prefix: string; level?: NftLogLevel };
  /** A verdict map: the verdict of the element the key equals; no element, the rule goes on. */
  vmap: { key: NftKeyExpr; data: { set: [NftElement, NftVerdict][] } };
}
export const NFT_LOG_LEVELS = ['emerg', 'alert', 'crit', 'err', 'warn', 'notice', 'info', 'debug'] as const;
export type NftLogLevel = (typeof NFT_LOG_LEVELS)[number];
export type StatementKind = keyof NftStatementBodies;
export const STATEMENT_KINDS = keysOf<StatementKind>({ accept: true, drop: true, return: true, jump: true, goto: true, redirect: true, tproxy: true, dnat: true, mangle: true, counter: true, log: true, vmap: true });
export type VerdictKind = 'accept' | 'drop' | 'return' | 'jump' | 'goto';
export const VERDICT_KINDS = keysOf<VerdictKind>({ accept: true, drop: true, return: true, jump: true, goto: true });
export type NftStatement = OneOf<NftStatementBodies>;
export type NftVerdict = OneOf<Pick<NftStatementBodies, VerdictKind>>;
/** One element of a rule's `expr`: a match or a statement. */
export type NftExpr = OneOf<NftStatementBodies & { match: NftMatchBody }>;

// ---- objects and commands ------------------------------------------------------------------

export interface NftTableRef {
  family: NftFamily;
  name: string;
}
export interface NftTable extends NftTableRef {
  /** nft 1.0.8 and later. */
  comment?: string;
}
export interface NftChain {
  family: NftFamily;
  table: string;
  name: string;
  /** Base chains only: type, hook, prio and policy together. */
  type?: ChainType;
  hook?: Hook;
  prio?: number;
  policy?: ChainPolicy;
}
export interface NftSetRef {
  family: NftFamily;
  table: string;
  name: string;
}
export interface NftSet extends NftSetRef {
  type: SetType;
  flags: [typeof SET_FLAG_INTERVAL];
  /** Absent: a declaration only. */
  elem?: NftElement[];
}
export interface NftRule {
  family: NftFamily;
  table: string;
  chain: string;
  expr: NftExpr[];
  comment?: string;
}

export interface NftObjectBodies {
  table: NftTable;
  chain: NftChain;
  set: NftSet;
  rule: NftRule;
}
export type ObjectKind = keyof NftObjectBodies;
export const OBJECT_KINDS = keysOf<ObjectKind>({ table: true, chain: true, set: true, rule: true });
export type NftObject = OneOf<NftObjectBodies>;

export interface NftCommandBodies {
  add: NftObject;
  /** `flush table` empties the chains (sets keep their elements); `flush set` empties a set. */
  flush: OneOf<{ table: NftTableRef; set: NftSetRef }>;
  /** nft 1.0.7 and later: delete if it exists. */
  destroy: { table: NftTableRef };
  /** Before 1.0.7, after `add table` (so that it exists): the table goes, with its chains and sets. */
  delete: { table: NftTableRef };
}
export type CommandKind = keyof NftCommandBodies;
export const COMMAND_KINDS = keysOf<CommandKind>({ add: true, flush: true, destroy: true, delete: true });
export type NftCommand = OneOf<NftCommandBodies>;

/** What the emitter writes, and what schema.json describes. */
export interface NftDocument {
  nftables: NftCommand[];
}

// ---- what the importer reads on top (nft -j list ruleset, hand-written input) -------------

export interface ReadMetainfo {
  version: string;
  release_name: string;
  json_schema_version: number;
}
export type ReadElement = NftElement | { range: [string, string] } | { elem: { val: NftElement | { range: [string, string] }; counter?: ReadCounter } };
export interface ReadCounter {
  packets: number;
  bytes: number;
}
export interface ReadTable {
  family: ReadTableFamily;
  name: string;
  handle?: number;
  comment?: string;
}
export interface ReadChain extends Omit<NftChain, 'family' | 'prio'> {
  family: ReadTableFamily;
  prio?: number | PriorityName;
  handle?: number;
}
export interface ReadSet extends Omit<NftSet, 'family' | 'elem'> {
  family: ReadTableFamily;
  elem?: ReadElement[];
  handle?: number;
}
export interface ReadRule extends Omit<NftRule, 'family' | 'expr'> {
  family: ReadTableFamily;
  expr: ReadExpr[];
  handle?: number;
}
export interface ReadObjectBodies {
  table: ReadTable;
  chain: ReadChain;
  set: ReadSet;
  rule: ReadRule;
}
export type ReadObject = OneOf<ReadObjectBodies>;
export interface ReadPayloadBody {
  protocol: ReadPayloadProtocol;
  field: PayloadField;
}
export type ReadLeft = OneOf<Omit<NftLeftBodies, 'payload'> & { payload: ReadPayloadBody }>;
export interface ReadMatchBody {
  op: MatchOp;
  left: ReadLeft;
  right: NftRight;
}
/** A listing's counter carries its values; `log` may have no prefix. */
export type ReadStatementBodies = Omit<NftStatementBodies, 'counter' | 'log'> & { counter: ReadCounter | null; log: { prefix?: string; level?: string } };
export type ReadExpr = OneOf<ReadStatementBodies & { match: ReadMatchBody }>;

/** One item of an input document: a command, or a listing's bare object (meaning add). */
export interface ReadItemBodies extends ReadObjectBodies {
  metainfo: ReadMetainfo;
  add: ReadObject;
  create: ReadObject;
  insert: ReadObject;
  flush: OneOf<{ table: Omit<ReadTable, 'handle'>; set: Omit<ReadSet, 'type' | 'flags'> }>;
  destroy: { table: Omit<ReadTable, 'handle'> };
  delete: { table: Omit<ReadTable, 'handle'> };
}
export type ReadItemKind = keyof ReadItemBodies;
export const READ_ITEM_KINDS = keysOf<ReadItemKind>({ metainfo: true, add: true, create: true, insert: true, flush: true, destroy: true, delete: true, table: true, chain: true, set: true, rule: true });
export type ReadItem = OneOf<ReadItemBodies>;
export interface ReadDocument {
  nftables: ReadItem[];
}

// ---- guards for untrusted input -------------------------------------------------------------

/** A JSON object (not null, not an array), whose keys may be those of T. */
export function isObj<T extends object = Record<string, unknown>>(x: unknown): x is Unchecked<T> {
  return typeof x === 'object' && x !== null && !Array.isArray(x);
}

/** Whether a string is one of a vocabulary's words. */
export function isOneOf<W extends string>(x: unknown, words: readonly W[]): x is W {
  return typeof x === 'string' && (words as readonly string[]).includes(x);
}
