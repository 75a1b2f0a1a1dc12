// libnftables JSON -> IR: one rule's `expr` list (matches, then statements), with the
// named sets of its table. Each value comes in as `unknown` and is narrowed against the
// shapes of objects.ts; whatever is outside meshcap's model is a PathError naming its
// JSON path (import.ts turns it into a diagnostic).
import { FULL_MASK, type Action, type CtState, type Family, type IrCidr, type Match, type Rule, type Table } from '../../src/ir/types.js';
import { parseAddress, parseCidr } from '../../src/net/ip.js';
import { rangeToCidrs } from '../../src/net/intervals.js';
import {
  CT_KEYS,
  CT_STATES,
  isObj,
  isOneOf,
  L3_FAMILIES,
  MATCH_OPS,
  META_KEYS,
  PAYLOAD_FIELDS,
  READ_PAYLOAD_PROTOCOLS,
  STATEMENT_KINDS,
  type CtKey,
  type MetaKey,
  NFT_LOG_LEVELS,
  type NftAnd,
  type NftLogLevel,
  type NftCtBody,
  type NftKeyExpr,
  type NftMetaBody,
  type NftPrefixBody,
  type NftXor,
  type ReadElement,
  type ReadExpr,
  type ReadLeft,
  type ReadMatchBody,
  type ReadPayloadBody,
  type ReadStatementBodies,
  type Unchecked,
} from './objects.js';

/** The elements of a table's named sets, as read (untrusted until a match uses them). */
export type Sets = Map<string, unknown[]>;

export class PathError extends Error {
  constructor(
    readonly path: string,
    msg: string,
  ) {
    super(msg);
  }
}

export const isArr = (x: unknown): x is unknown[] => Array.isArray(x);
/** An untrusted value in a message, as a template literal would show it. */
export const show = (x: unknown): string => String(x);
/** A case the types say cannot happen (a switch that must handle every word). */
export function unreachable(x: never): never {
  throw new Error(`unreachable: ${String(x)}`);
}
/** The word, if x is one of the vocabulary's; otherwise undefined. */
const word = <W extends string>(x: unknown, words: readonly W[]): W | undefined => (isOneOf(x, words) ? x : undefined);

const isMeta = (x: unknown, key: MetaKey): boolean => isObj<NftKeyExpr>(x) && isObj<NftMetaBody>(x.meta) && x.meta.key === key;
const isCt = (x: unknown, key: CtKey): boolean => isObj<NftKeyExpr>(x) && isObj<NftCtBody>(x.ct) && x.ct.key === key;

// ---- values ---------------------------------------------------------------------------

function addrValues(right: unknown, fam: Family, sets: Sets, p: string): IrCidr[] {
  const one = (x: unknown, q: string): IrCidr[] => {
    if (typeof x === 'string') {
      const c = parseCidr(x);
      if (!c.ok || c.cidr.family !== fam) throw new PathError(q, `'${x}' is not an ${fam} address`);
      return [{ family: fam, addr: c.cidr.addr, prefix: c.cidr.prefix }];
    }
    if (isObj<{ prefix: unknown }>(x) && isObj<NftPrefixBody>(x.prefix)) {
      const c = parseCidr(`${show(x.prefix.addr)}/${show(x.prefix.len)}`);
      if (!c.ok && c.kind !== 'host-bits') throw new PathError(q, 'bad prefix');
      const canon = c.ok ? `${c.cidr.addr}/${c.cidr.prefix}` : c.canonical;
      const [addr, len] = canon.split('/');
      return [{ family: fam, addr, prefix: Number(len) }];
    }
    if (isObj<{ range: unknown }>(x) && isArr(x.range)) {
      const a = parseAddress(show(x.range[0]));
      const b = parseAddress(show(x.range[1]));
      if (!a.ok || !b.ok) throw new PathError(q, 'bad address range');
      return rangeToCidrs(fam, a.value, b.value).map((s) => {
        const [addr, len] = s.split('/');
        return { family: fam, addr, prefix: Number(len) };
      });
    }
    throw new PathError(q, 'expected an address, prefix or range');
  };
  return listOf(right, sets, p).flatMap(([x, q]) => one(x, q));
}

/** A listing wraps an element with a counter as `{"elem": {"val": X, ...}}`. */
function elemValue(x: unknown): unknown {
  if (!isObj<Extract<ReadElement, { elem: unknown }>>(x) || !('elem' in x)) return x;
  const e = x.elem;
  return isObj<{ val: unknown }>(e) ? (e.val ?? e) : e;
}

/** The values a right-hand side stands for, each with its JSON path. */
export function listOf(right: unknown, sets: Sets, p: string): [unknown, string][] {
  if (typeof right === 'string' && right.startsWith('@')) {
    const s = sets.get(right.slice(1));
    if (!s) throw new PathError(p, `set ${right} is not defined`);
    return s.map((x, i) => [elemValue(x), `${p}(${right})[${i}]`]);
  }
  if (isObj<{ set: unknown }>(right) && isArr(right.set)) return right.set.map((x, i) => [x, `${p}.set[${i}]`]);
  return [[right, p]];
}

function portValues(right: unknown, sets: Sets, p: string): [number, number][] {
  return listOf(right, sets, p).map(([x, q]) => {
    if (typeof x === 'number') return [x, x];
    if (isObj<{ range: unknown }>(x) && isArr(x.range)) {
      const [lo, hi] = x.range;
      // nft refuses a range whose end is below its start; read as given, it would match
      // nothing the engine and the simulator agree on.
      if (typeof lo === 'number' && typeof hi === 'number') {
        if (lo > hi) throw new PathError(q, `the port range ${lo}-${hi} ends below its start`);
        return [lo, hi];
      }
    }
    throw new PathError(q, 'expected a port or a range');
  });
}

const isSetRight = (right: unknown) => (typeof right === 'string' && right.startsWith('@')) || (isObj<{ set: unknown }>(right) && isArr(right.set));

/** An id of `meta skuid` (a number) or a range of them, as an IR range. */
function idRange(x: unknown, p: string): [number, number] {
  if (typeof x === 'number' && Number.isInteger(x) && x >= 0 && x <= 4294967294) return [x, x];
  if (isObj<{ range: unknown }>(x) && isArr(x.range)) {
    const [lo, hi] = x.range;
    if (typeof lo === 'number' && typeof hi === 'number' && Number.isInteger(lo) && Number.isInteger(hi) && 0 <= lo && lo <= hi && hi <= 4294967294) return [lo, hi];
  }
  throw new PathError(p, 'expected an id 0-4294967294 or a range of them');
}

/**
 * An interface or owner match: one name (`eth*`: a prefix) or id (a name resolved at
 * load), a range of ids (`meta skuid 106-108`), or a set of them (`oifname { "lo",
 * "veth*" }`, `meta skuid { 106-108, 1337 }`): the IR's list shapes.
 */
export function keyMatch(key: 'iifname' | 'oifname' | 'skuid' | 'skgid', neg: boolean, right: unknown, sets: Sets, p: string): Match {
  if (key === 'iifname' || key === 'oifname') {
    const kind = key === 'iifname' ? 'iif' : 'oif';
    const name = (x: unknown, q: string) => {
      if (typeof x !== 'string' || !x) throw new PathError(q, 'expected an interface name');
      const prefix = x.endsWith('*');
      return { name: prefix ? x.slice(0, -1) : x, prefix };
    };
    if (!isSetRight(right)) return { kind, neg, ...name(right, p) };
    return { kind, neg, names: listOf(right, sets, p).map(([x, q]) => name(x, q)) };
  }
  const kind = key === 'skuid' ? 'uid' : 'gid';
  if (typeof right === 'string' && !right.startsWith('@')) return { kind, neg, id: right };
  if (typeof right === 'number') return { kind, neg, id: idRange(right, p)[0] };
  return { kind, neg, ids: listOf(right, sets, p).map(([x, q]) => idRange(x, q)) };
}

function num(x: unknown, p: string): number {
  if (typeof x === 'number' && Number.isInteger(x) && x >= 0 && x <= FULL_MASK) return x >>> 0;
  throw new PathError(p, 'expected a 32-bit number');
}

// ---- matches --------------------------------------------------------------------------

/**
 * Expressions of other tools' rules (kube-proxy's nftables mode, firewalld) that meshcap
 * does not model: read as a match that may or may not hold (docs/snapshot.md), named by
 * its JSON path until import.ts gives it its place.
 */
export const UNMODELLED_EXPRS = ['fib', 'numgen', 'jhash', 'symhash', 'rt', 'osf', 'exthdr', 'tcp option'] as const;
export const UNMODELLED_CT_KEYS = ['status', 'direction', 'expiration', 'helper', 'label', 'l3proto', 'protocol', 'proto-src', 'proto-dst', 'saddr', 'daddr', 'id', 'count', 'bytes', 'packets', 'avgpkt'] as const;
export const UNMODELLED_META_KEYS = ['pkttype', 'iiftype', 'oiftype', 'iif', 'oif', 'cgroup', 'length', 'cpu', 'priority', 'protocol', 'nftrace', 'secpath', 'ibrname', 'obrname', 'time', 'day', 'hour', 'sdif', 'sdifname'] as const;

function unmodelledLeft(left: unknown): string | undefined {
  if (!isObj<Record<string, unknown>>(left)) return undefined;
  const [k] = Object.keys(left);
  if ((UNMODELLED_EXPRS as readonly string[]).includes(k)) return k;
  const body = left[k];
  const key = isObj<{ key: unknown }>(body) ? body.key : undefined;
  if (k === 'ct' && isOneOf(key, UNMODELLED_CT_KEYS)) return `ct ${key}`;
  if (k === 'meta' && isOneOf(key, UNMODELLED_META_KEYS)) return `meta ${key}`;
  return undefined;
}

function parseMatch(m: Unchecked<ReadMatchBody>, p: string, table: Table, sets: Sets): Match[] {
  const other = unmodelledLeft(m.left);
  if (other) return [{ kind: 'unmodelled', id: p, text: `${other} ${show(m.op)} ${JSON.stringify(m.right ?? null)}` }];
  const op = m.op;
  if (!isOneOf(op, MATCH_OPS)) throw new PathError(`${p}.op`, `operator '${show(op)}' is not read`);
  const neg = op === '!=';
  const left = m.left;
  const right = m.right;
  if (!isObj<ReadLeft>(left)) throw new PathError(`${p}.left`, 'expected an expression');
  const lp = `${p}.left`;
  if (isObj<NftMetaBody>(left.meta)) {
    const key = left.meta.key;
    if (!isOneOf(key, META_KEYS)) throw new PathError(`${lp}.meta.key`, `meta '${show(key)}' is not read`);
    switch (key) {
      case 'l4proto':
      case 'nfproto': {
        const vals = listOf(right, sets, `${p}.right`);
        if (vals.length !== 1) throw new PathError(`${p}.right`, `a set of ${key} values is not read`);
        const v = show(vals[0][0]);
        if (key === 'nfproto') {
          if (v !== 'ipv4' && v !== 'ipv6') throw new PathError(`${p}.right`, `nfproto '${v}' is not read`);
          return [{ kind: 'nfproto', neg, family: v }];
        }
        const proto = v === 'ipv6-icmp' ? 'icmpv6' : v;
        if (proto !== 'tcp' && proto !== 'udp' && proto !== 'icmp' && proto !== 'icmpv6' && proto !== 'sctp') throw new PathError(`${p}.right`, `protocol '${v}' is not read`);
        return [{ kind: 'protocol', neg, protocol: proto }];
      }
      case 'iifname':
      case 'oifname':
        return [keyMatch(key, neg, right, sets, `${p}.right`)];
      case 'skuid':
      case 'skgid':
        return [keyMatch(key, neg, right, sets, `${p}.right`)];
      case 'mark':
        return [{ kind: 'mark', neg, value: num(right, `${p}.right`), mask: FULL_MASK }];
      default:
        return unreachable(key);
    }
  }
  if (isObj<NftCtBody>(left.ct)) {
    const raw = left.ct.key;
    const key = word(raw, CT_KEYS);
    if (key === 'state') {
      const states: CtState[] = [];
      for (const s of (isArr(right) ? right : [right]).map(show)) {
        if (!isOneOf(s, CT_STATES)) throw new PathError(`${p}.right`, `ct state '${s}' is not read`);
        states.push(s);
      }
      return [{ kind: 'ctstate', neg, states }];
    }
    if (key === 'mark') return [{ kind: 'connmark', neg, value: num(right, `${p}.right`), mask: FULL_MASK }];
    throw new PathError(`${lp}.ct.key`, `ct '${show(raw)}' is not read`);
  }
  if (isArr(left['&'])) {
    const [inner, mask] = left['&'];
    if (isMeta(inner, 'mark')) return [{ kind: 'mark', neg, value: num(right, `${p}.right`), mask: num(mask, `${lp}['&'][1]`) }];
    if (isCt(inner, 'mark')) return [{ kind: 'connmark', neg, value: num(right, `${p}.right`), mask: num(mask, `${lp}['&'][1]`) }];
    throw new PathError(lp, 'only marks are read under a mask');
  }
  if (isObj<ReadPayloadBody>(left.payload)) {
    const protoText = show(left.payload.protocol);
    const fieldText = show(left.payload.field);
    const proto = word(protoText, READ_PAYLOAD_PROTOCOLS);
    const field = word(fieldText, PAYLOAD_FIELDS);
    const l3 = word(proto, L3_FAMILIES);
    if (l3 && (field === 'saddr' || field === 'daddr')) {
      const fam: Family = l3 === 'ip' ? 'ipv4' : 'ipv6';
      const out: Match[] = [];
      // `ip daddr` carries an implicit `meta nfproto ipv4` in inet tables: an IPv6 packet
      // matches neither `ip daddr X` nor `ip daddr != X`.
      if (table.family === 'inet') out.push({ kind: 'nfproto', neg: false, family: fam });
      out.push({ kind: field, neg, cidrs: addrValues(right, fam, sets, `${p}.right`) });
      return out;
    }
    if (proto && proto !== 'ip' && proto !== 'ip6' && (field === 'sport' || field === 'dport')) {
      const out: Match[] = [];
      // `tcp dport` implies `meta l4proto tcp`; `th dport` implies nothing (netfilter facts §1.12).
      if (proto !== 'th') out.push({ kind: 'protocol', neg: false, protocol: proto });
      out.push({ kind: field, neg, ranges: portValues(right, sets, `${p}.right`) });
      return out;
    }
    throw new PathError(`${lp}.payload`, `payload ${protoText} ${fieldText} is not read`);
  }
  if (isObj<{ key: unknown }>(left.socket) && left.socket.key === 'transparent') return [{ kind: 'socket', transparent: right === 1 || right === true }];
  throw new PathError(lp, `expression ${Object.keys(left).join(',')} is not read`);
}

// ---- statements -----------------------------------------------------------------------

function statement(s: Unchecked<ReadExpr>, p: string): Action {
  const [k] = Object.keys(s);
  if (!isOneOf(k, STATEMENT_KINDS)) throw new PathError(`${p}.${k}`, `statement '${k}' is not read`);
  const v = s[k];
  switch (k) {
    case 'accept':
    case 'drop':
    case 'return':
      return { kind: k };
    case 'jump':
    case 'goto':
      if (!isObj<ReadStatementBodies['jump']>(v) || typeof v.target !== 'string') throw new PathError(`${p}.${k}`, 'expected a target');
      return { kind: k, chain: v.target };
    case 'redirect':
      if (!isObj<ReadStatementBodies['redirect']>(v) || typeof v.port !== 'number') throw new PathError(`${p}.redirect`, 'only `redirect to :PORT` is read');
      return { kind: 'redirect', port: v.port };
    case 'tproxy': {
      if (!isObj<ReadStatementBodies['tproxy']>(v) || typeof v.port !== 'number') throw new PathError(`${p}.tproxy`, 'expected a port');
      const a: Action = { kind: 'tproxy', port: v.port, mark: 0, mask: 0 };
      if (typeof v.addr === 'string') a.addr = v.addr;
      return a;
    }
    case 'mangle': {
      if (!isObj<ReadStatementBodies['mangle']>(v) || !isObj(v.key)) throw new PathError(`${p}.mangle`, 'expected key and value');
      const key = v.key;
      const val = v.value;
      if (isMeta(key, 'mark') && typeof val === 'number') return { kind: 'mark-set', value: val >>> 0, mask: FULL_MASK };
      if (isMeta(key, 'mark') && isCt(val, 'mark')) return { kind: 'connmark-restore', nfmask: FULL_MASK, ctmask: FULL_MASK };
      if (isCt(key, 'mark') && isMeta(val, 'mark')) return { kind: 'connmark-save', nfmask: FULL_MASK, ctmask: FULL_MASK };
      if (isCt(key, 'zone') && typeof val === 'number') return { kind: 'ct-zone', zone: val };
      if (isMeta(key, 'mark') && isObj<NftXor>(val) && isArr(val['^'])) {
        const [inner, x] = val['^'];
        if (isObj<NftAnd>(inner) && isArr(inner['&']) && isMeta(inner['&'][0], 'mark')) return { kind: 'mark-set', value: num(x, p), mask: ~num(inner['&'][1], p) >>> 0 };
      }
      throw new PathError(`${p}.mangle`, 'this mangle statement is not read');
    }
    case 'counter':
      return { kind: 'counter' };
    case 'log':
    {
      const body = isObj<ReadStatementBodies['log']>(v) ? v : {};
      const level = typeof body.level === 'string' ? NFT_LOG_LEVELS.indexOf(body.level as NftLogLevel) : -2;
      if (level === -1) throw new PathError(`${p}.log.level`, `'${String(body.level)}' is not a log level`);
      return { kind: 'log', prefix: typeof body.prefix === 'string' ? body.prefix : '', ...(level >= 0 ? { level } : {}) };
    }
    case 'dnat': {
      if (!isObj<ReadStatementBodies['dnat']>(v) || typeof v.addr !== 'string') throw new PathError(`${p}.dnat`, 'expected an address');
      return typeof v.port === 'number' ? { kind: 'dnat', addr: v.addr, port: v.port } : { kind: 'dnat', addr: v.addr };
    }
    case 'vmap':
      // import-keys.ts reads a verdict map, as the rule's last statement.
      throw new PathError(`${p}.vmap`, 'a verdict map is read only as the last statement of a rule');
    default:
      return unreachable(k);
  }
}

// ---- rules ----------------------------------------------------------------------------

const TERMINAL = new Set<Action['kind']>(['accept', 'drop', 'return', 'jump', 'goto', 'redirect', 'dnat']);

export function parseRule(expr: unknown[], p: string, table: Table, sets: Sets, comment: string | undefined, file: string): Rule {
  const matches: Match[] = [];
  const stmts: Action[] = [];
  expr.forEach((e, i) => {
    const q = `${p}[${i}]`;
    if (!isObj<ReadExpr>(e)) throw new PathError(q, 'expected an object');
    if (isObj<ReadMatchBody>(e.match)) {
      if (stmts.length) throw new PathError(q, 'a match after a statement is not read');
      matches.push(...parseMatch(e.match, `${q}.match`, table, sets));
    } else {
      const s = statement(e, q);
      if (s.kind !== 'counter') stmts.push(s);
    }
  });
  const origin = { span: { file, start: { line: 1, col: 1, offset: 0 }, end: { line: 1, col: 1, offset: 0 } }, purpose: comment ?? 'imported rule' };
  // nft's tproxy does not end the rule: `tproxy ... meta mark set M accept` is IR's TPROXY.
  const tp = stmts.findIndex((s) => s.kind === 'tproxy');
  const t = stmts[tp];
  if (t?.kind === 'tproxy') {
    const rest = stmts.slice(tp + 1);
    const mark = rest.find((s) => s.kind === 'mark-set');
    if (rest[rest.length - 1]?.kind !== 'accept' || rest.length > (mark ? 2 : 1)) throw new PathError(p, 'tproxy is read only as `tproxy [meta mark set M] accept`');
    const action: Action = { ...t, mark: mark?.value ?? 0, mask: mark?.mask ?? 0 };
    const effects = stmts.slice(0, tp);
    return { matches, ...(effects.length ? { effects } : {}), action, origin };
  }
  const last = stmts[stmts.length - 1];
  let action: Action;
  let effects: Action[];
  if (last && TERMINAL.has(last.kind)) {
    action = last;
    effects = stmts.slice(0, -1);
  } else {
    // No verdict: the rule's statements run and evaluation goes on with the next rule.
    action = { kind: 'counter' };
    effects = stmts;
  }
  for (const e of effects) if (TERMINAL.has(e.kind)) throw new PathError(p, `'${e.kind}' before the end of a rule is not read`);
  return { matches, ...(effects.length ? { effects } : {}), action, origin };
}
