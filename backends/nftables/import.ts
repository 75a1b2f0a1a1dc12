// libnftables JSON -> IR. Reads the command form (`{"add": {...}}`, what meshcap and
// `nft -j -f` take) and the listing form (`nft -j list ruleset`: metainfo, bare objects,
// handles, counters, named sets). An expression or statement outside meshcap's model is
// an error naming its JSON path, never dropped.
import { diag, type Diagnostic } from '../../src/diagnostics/diagnostic.js';
import type { Action, Chain, CtState, Family, IrCidr, Match, Protocol, Rule, RuleSet, Table, TableFamily } from '../../src/ir/types.js';
import { canonicalAddress, parseAddress, parseCidr } from '../../src/net/ip.js';
import type { Span } from '../../src/source.js';
import { rangeToCidrs } from '../../src/net/intervals.js';

export interface NftImportResult {
  ruleset?: RuleSet;
  diagnostics: Diagnostic[];
}

type J = Record<string, unknown>;

class PathError extends Error {
  constructor(
    readonly path: string,
    msg: string,
  ) {
    super(msg);
  }
}

const isObj = (x: unknown): x is J => typeof x === 'object' && x !== null && !Array.isArray(x);
const ALL = 0xffffffff;
const TABLE_FAMILIES: Record<string, TableFamily> = { inet: 'inet', ip: 'ipv4', ip6: 'ipv6' };

interface Ctx {
  tables: Map<string, { table: Table; chains: Map<string, Chain>; sets: Map<string, unknown[]> }>;
  file: string;
}

export function importNftables(text: string, file: string, name = file): NftImportResult {
  const fileSpan = (): Span => ({ file, start: { line: 1, col: 1, offset: 0 }, end: { line: 1, col: 1, offset: 0 } });
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (e) {
    return { diagnostics: [diag('rules-syntax', fileSpan(), { detail: `not JSON: ${(e as Error).message}` })] };
  }
  const ctx: Ctx = { tables: new Map(), file };
  const ds: Diagnostic[] = [];
  if (!isObj(doc) || !Array.isArray(doc.nftables)) return { diagnostics: [diag('rules-syntax', fileSpan(), { detail: "$: expected an object with an array 'nftables'" })] };
  doc.nftables.forEach((item, i) => {
    const path = `$.nftables[${i}]`;
    try {
      command(ctx, item, path);
    } catch (e) {
      if (e instanceof PathError) ds.push(diag('rules-syntax', fileSpan(), { detail: `${e.path}: ${e.message}` }));
      else throw e;
    }
  });
  if (ds.length) return { diagnostics: ds };
  return { ruleset: { name, tables: [...ctx.tables.values()].map((t) => t.table), routing: { loopbackAddresses: [] } }, diagnostics: [] };
}

function command(ctx: Ctx, item: unknown, path: string): void {
  if (!isObj(item)) throw new PathError(path, 'expected an object');
  const keys = Object.keys(item);
  if (keys.length !== 1) throw new PathError(path, `expected one key, found ${keys.join(', ')}`);
  const [k] = keys;
  const v = item[k];
  switch (k) {
    case 'metainfo':
      return;
    case 'add':
    case 'create':
      return object(ctx, v, `${path}.${k}`, false);
    case 'insert':
      return object(ctx, v, `${path}.${k}`, true);
    case 'flush': {
      if (isObj(v) && isObj(v.set)) {
        // Empties a named set (it must exist, as in nft).
        const t = tableOf(ctx, v.set, `${path}.flush.set`);
        const name = String(v.set.name);
        if (!t.sets.has(name)) throw new PathError(`${path}.flush.set`, `set ${name} does not exist in table ${v.set.table}`);
        t.sets.set(name, []);
        return;
      }
      if (!isObj(v) || !isObj(v.table)) throw new PathError(`${path}.flush`, 'only `flush table` and `flush set` are read');
      // Empties the chains; sets keep their elements (as in nft).
      const t = ctx.tables.get(tkey(v.table));
      if (t) for (const c of t.chains.values()) c.rules = [];
      return;
    }
    case 'destroy':
    case 'delete': {
      if (!isObj(v) || !isObj(v.table)) throw new PathError(`${path}.${k}`, `only \`${k} table\` is read`);
      ctx.tables.delete(tkey(v.table));
      return;
    }
    case 'table':
    case 'chain':
    case 'rule':
    case 'set':
      return object(ctx, item, path, false);
    default:
      throw new PathError(`${path}.${k}`, `command or object '${k}' is not read`);
  }
}

const tkey = (t: J) => `${t.family}/${t.name}`;

function object(ctx: Ctx, v: unknown, path: string, insert: boolean): void {
  if (!isObj(v)) throw new PathError(path, 'expected an object');
  const [k] = Object.keys(v);
  const o = v[k];
  if (!isObj(o)) throw new PathError(`${path}.${k}`, 'expected an object');
  const p = `${path}.${k}`;
  switch (k) {
    case 'table': {
      const fam = TABLE_FAMILIES[String(o.family)];
      if (!fam) throw new PathError(`${p}.family`, `family '${o.family}' is not read (inet, ip, ip6)`);
      if (!ctx.tables.has(tkey(o))) ctx.tables.set(tkey(o), { table: { family: fam, name: String(o.name), chains: [] }, chains: new Map(), sets: new Map() });
      return;
    }
    case 'chain': {
      const t = tableOf(ctx, o, p);
      const name = String(o.name);
      let c = t.chains.get(name);
      if (!c) {
        c = { name, rules: [] };
        t.chains.set(name, c);
        t.table.chains.push(c);
      }
      if (o.hook !== undefined) {
        const hook = String(o.hook);
        if (!['prerouting', 'input', 'forward', 'output', 'postrouting'].includes(hook)) throw new PathError(`${p}.hook`, `hook '${hook}' is not read`);
        const type = String(o.type ?? 'filter');
        if (!['filter', 'nat', 'route'].includes(type)) throw new PathError(`${p}.type`, `chain type '${type}' is not read`);
        const prio = typeof o.prio === 'number' ? o.prio : prioName(o.prio, p);
        c.base = { hook: hook as never, priority: prio, type: type as never, policy: o.policy === 'drop' ? 'drop' : 'accept' };
      }
      return;
    }
    case 'set': {
      const t = tableOf(ctx, o, p);
      // `add set` on an existing set adds its elements to those already there.
      const name = String(o.name);
      t.sets.set(name, [...(t.sets.get(name) ?? []), ...(Array.isArray(o.elem) ? o.elem : [])]);
      return;
    }
    case 'rule': {
      const t = tableOf(ctx, o, p);
      const c = t.chains.get(String(o.chain));
      if (!c) throw new PathError(`${p}.chain`, `chain '${o.chain}' does not exist in table ${o.table}`);
      if (!Array.isArray(o.expr)) throw new PathError(`${p}.expr`, 'expected an array');
      const rule = parseRule(o.expr, `${p}.expr`, t.table, t.sets, typeof o.comment === 'string' ? o.comment : undefined, ctx.file);
      if (insert) c.rules.unshift(rule);
      else c.rules.push(rule);
      return;
    }
    default:
      throw new PathError(p, `object '${k}' is not read`);
  }
}

function prioName(x: unknown, p: string): number {
  const names: Record<string, number> = { raw: -300, mangle: -150, dstnat: -100, filter: 0, security: 50, srcnat: 100 };
  if (typeof x === 'string' && x in names) return names[x];
  throw new PathError(`${p}.prio`, `priority '${String(x)}' is not read`);
}

function tableOf(ctx: Ctx, o: J, p: string) {
  const t = ctx.tables.get(`${o.family}/${o.table}`);
  if (!t) throw new PathError(p, `table ${o.family} ${o.table} does not exist`);
  return t;
}

// ---- expressions ----------------------------------------------------------------------

function addrValues(right: unknown, fam: Family, sets: Map<string, unknown[]>, p: string): IrCidr[] {
  const one = (x: unknown, q: string): IrCidr[] => {
    if (typeof x === 'string') {
      const c = parseCidr(x);
      if (!c.ok || c.cidr.family !== fam) throw new PathError(q, `'${x}' is not an ${fam} address`);
      return [{ family: fam, addr: c.cidr.addr, prefix: c.cidr.prefix }];
    }
    if (isObj(x) && isObj(x.prefix)) {
      const c = parseCidr(`${x.prefix.addr}/${x.prefix.len}`);
      if (!c.ok && c.kind !== 'host-bits') throw new PathError(q, 'bad prefix');
      const canon = c.ok ? `${c.cidr.addr}/${c.cidr.prefix}` : c.canonical;
      const [addr, len] = canon.split('/');
      return [{ family: fam, addr, prefix: Number(len) }];
    }
    if (isObj(x) && Array.isArray(x.range)) {
      const a = parseAddress(String(x.range[0]));
      const b = parseAddress(String(x.range[1]));
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

function listOf(right: unknown, sets: Map<string, unknown[]>, p: string): [unknown, string][] {
  if (typeof right === 'string' && right.startsWith('@')) {
    const s = sets.get(right.slice(1));
    if (!s) throw new PathError(p, `set ${right} is not defined`);
    return s.map((x, i) => [isObj(x) && 'elem' in x ? (x.elem as J).val ?? x.elem : x, `${p}(${right})[${i}]`]);
  }
  if (isObj(right) && Array.isArray(right.set)) return right.set.map((x, i) => [x, `${p}.set[${i}]`]);
  return [[right, p]];
}

function portValues(right: unknown, sets: Map<string, unknown[]>, p: string): [number, number][] {
  return listOf(right, sets, p).map(([x, q]) => {
    if (typeof x === 'number') return [x, x];
    if (isObj(x) && Array.isArray(x.range) && typeof x.range[0] === 'number' && typeof x.range[1] === 'number') return [x.range[0], x.range[1]];
    throw new PathError(q, 'expected a port or a range');
  });
}

function num(x: unknown, p: string): number {
  if (typeof x === 'number' && Number.isInteger(x) && x >= 0 && x <= ALL) return x >>> 0;
  throw new PathError(p, 'expected a 32-bit number');
}

function parseMatch(m: J, p: string, table: Table, sets: Map<string, unknown[]>): Match[] {
  const op = m.op;
  if (op !== '==' && op !== '!=' && op !== 'in') throw new PathError(`${p}.op`, `operator '${String(op)}' is not read`);
  const neg = op === '!=';
  const left = m.left;
  const right = m.right;
  if (!isObj(left)) throw new PathError(`${p}.left`, 'expected an expression');
  const lp = `${p}.left`;
  if (isObj(left.meta)) {
    const key = left.meta.key;
    switch (key) {
      case 'l4proto':
      case 'nfproto': {
        const vals = listOf(right, sets, `${p}.right`);
        if (vals.length !== 1) throw new PathError(`${p}.right`, `a set of ${key} values is not read`);
        const v = String(vals[0][0]);
        if (key === 'nfproto') {
          if (v !== 'ipv4' && v !== 'ipv6') throw new PathError(`${p}.right`, `nfproto '${v}' is not read`);
          return [{ kind: 'nfproto', neg, family: v }];
        }
        const proto = v === 'ipv6-icmp' ? 'icmpv6' : v;
        if (!['tcp', 'udp', 'icmp', 'icmpv6', 'sctp'].includes(proto)) throw new PathError(`${p}.right`, `protocol '${v}' is not read`);
        return [{ kind: 'protocol', neg, protocol: proto as Protocol }];
      }
      case 'iifname':
      case 'oifname': {
        if (typeof right !== 'string') throw new PathError(`${p}.right`, 'expected an interface name');
        const prefix = right.endsWith('*');
        return [{ kind: key === 'iifname' ? 'iif' : 'oif', neg, name: prefix ? right.slice(0, -1) : right, prefix }];
      }
      case 'skuid':
      case 'skgid': {
        if (typeof right !== 'number' && typeof right !== 'string') throw new PathError(`${p}.right`, 'expected an id or a name');
        return [{ kind: key === 'skuid' ? 'uid' : 'gid', neg, id: right }];
      }
      case 'mark':
        return [{ kind: 'mark', neg, value: num(right, `${p}.right`), mask: ALL }];
      default:
        throw new PathError(`${lp}.meta.key`, `meta '${String(key)}' is not read`);
    }
  }
  if (isObj(left.ct)) {
    const key = left.ct.key;
    if (key === 'state') {
      const vals = (Array.isArray(right) ? right : [right]).map(String);
      for (const s of vals) if (!['new', 'established', 'related', 'invalid', 'untracked'].includes(s)) throw new PathError(`${p}.right`, `ct state '${s}' is not read`);
      return [{ kind: 'ctstate', neg, states: vals as CtState[] }];
    }
    if (key === 'mark') return [{ kind: 'connmark', neg, value: num(right, `${p}.right`), mask: ALL }];
    throw new PathError(`${lp}.ct.key`, `ct '${String(key)}' is not read`);
  }
  if (Array.isArray(left['&'])) {
    const [inner, mask] = left['&'] as unknown[];
    if (isObj(inner) && isObj(inner.meta) && inner.meta.key === 'mark') return [{ kind: 'mark', neg, value: num(right, `${p}.right`), mask: num(mask, `${lp}['&'][1]`) }];
    if (isObj(inner) && isObj(inner.ct) && inner.ct.key === 'mark') return [{ kind: 'connmark', neg, value: num(right, `${p}.right`), mask: num(mask, `${lp}['&'][1]`) }];
    throw new PathError(lp, 'only marks are read under a mask');
  }
  if (isObj(left.payload)) {
    const proto = String(left.payload.protocol);
    const field = String(left.payload.field);
    if ((proto === 'ip' || proto === 'ip6') && (field === 'saddr' || field === 'daddr')) {
      const fam: Family = proto === 'ip' ? 'ipv4' : 'ipv6';
      const out: Match[] = [];
      // `ip daddr` carries an implicit `meta nfproto ipv4` in inet tables: an IPv6 packet
      // matches neither `ip daddr X` nor `ip daddr != X`.
      if (table.family === 'inet') out.push({ kind: 'nfproto', neg: false, family: fam });
      out.push({ kind: field, neg, cidrs: addrValues(right, fam, sets, `${p}.right`) });
      return out;
    }
    if (['tcp', 'udp', 'sctp', 'th'].includes(proto) && (field === 'sport' || field === 'dport')) {
      const out: Match[] = [];
      // `tcp dport` implies `meta l4proto tcp`; `th dport` implies nothing (netfilter facts §1.12).
      if (proto !== 'th') out.push({ kind: 'protocol', neg: false, protocol: proto as Protocol });
      out.push({ kind: field, neg, ranges: portValues(right, sets, `${p}.right`) });
      return out;
    }
    throw new PathError(`${lp}.payload`, `payload ${proto} ${field} is not read`);
  }
  if (isObj(left.socket) && left.socket.key === 'transparent') return [{ kind: 'socket', transparent: right === 1 || right === true }];
  throw new PathError(lp, `expression ${Object.keys(left).join(',')} is not read`);
}

function statement(s: J, p: string, table: Table): Action {
  const [k] = Object.keys(s);
  const v = s[k];
  switch (k) {
    case 'accept':
    case 'drop':
    case 'return':
      return { kind: k };
    case 'jump':
    case 'goto':
      if (!isObj(v) || typeof v.target !== 'string') throw new PathError(`${p}.${k}`, 'expected a target');
      return { kind: k, chain: v.target };
    case 'redirect':
      if (!isObj(v) || typeof v.port !== 'number') throw new PathError(`${p}.redirect`, 'only `redirect to :PORT` is read');
      return { kind: 'redirect', port: v.port };
    case 'tproxy': {
      if (!isObj(v) || typeof v.port !== 'number') throw new PathError(`${p}.tproxy`, 'expected a port');
      const a: Action = { kind: 'tproxy', port: v.port, mark: 0, mask: 0 };
      if (typeof v.addr === 'string') a.addr = v.addr;
      return a;
    }
    case 'mangle': {
      if (!isObj(v) || !isObj(v.key)) throw new PathError(`${p}.mangle`, 'expected key and value');
      const key = v.key;
      const val = v.value;
      const isMeta = (x: unknown) => isObj(x) && isObj(x.meta) && x.meta.key === 'mark';
      const isCt = (x: unknown, kk: string) => isObj(x) && isObj(x.ct) && x.ct.key === kk;
      if (isMeta(key) && typeof val === 'number') return { kind: 'mark-set', value: val >>> 0, mask: ALL };
      if (isMeta(key) && isCt(val, 'mark')) return { kind: 'connmark-restore', nfmask: ALL, ctmask: ALL };
      if (isCt(key, 'mark') && isMeta(val)) return { kind: 'connmark-save', nfmask: ALL, ctmask: ALL };
      if (isCt(key, 'zone') && typeof val === 'number') return { kind: 'ct-zone', zone: val };
      if (isMeta(key) && isObj(val) && Array.isArray(val['^'])) {
        const [inner, x] = val['^'] as unknown[];
        if (isObj(inner) && Array.isArray(inner['&']) && isMeta(inner['&'][0])) return { kind: 'mark-set', value: num(x, p), mask: ~num(inner['&'][1], p) >>> 0 };
      }
      throw new PathError(`${p}.mangle`, 'this mangle statement is not read');
    }
    case 'counter':
      return { kind: 'counter' };
    case 'log':
      return { kind: 'log', prefix: isObj(v) && typeof v.prefix === 'string' ? v.prefix : '' };
    case 'dnat': {
      if (!isObj(v) || typeof v.addr !== 'string') throw new PathError(`${p}.dnat`, 'expected an address');
      return typeof v.port === 'number' ? { kind: 'dnat', addr: v.addr, port: v.port } : { kind: 'dnat', addr: v.addr };
    }
    default:
      void table;
      throw new PathError(`${p}.${k}`, `statement '${k}' is not read`);
  }
}

const TERMINAL = new Set(['accept', 'drop', 'return', 'jump', 'goto', 'redirect', 'dnat']);

function parseRule(expr: unknown[], p: string, table: Table, sets: Map<string, unknown[]>, comment: string | undefined, file: string): Rule {
  const matches: Match[] = [];
  const stmts: Action[] = [];
  expr.forEach((e, i) => {
    const q = `${p}[${i}]`;
    if (!isObj(e)) throw new PathError(q, 'expected an object');
    if (isObj(e.match)) {
      if (stmts.length) throw new PathError(q, 'a match after a statement is not read');
      matches.push(...parseMatch(e.match, `${q}.match`, table, sets));
    } else {
      const s = statement(e, q, table);
      if (s.kind !== 'counter') stmts.push(s);
    }
  });
  // nft's tproxy does not end the rule: `tproxy ... meta mark set M accept` is IR's TPROXY.
  const tp = stmts.findIndex((s) => s.kind === 'tproxy');
  if (tp >= 0) {
    const t = stmts[tp] as Extract<Action, { kind: 'tproxy' }>;
    const rest = stmts.slice(tp + 1);
    const mark = rest.find((s) => s.kind === 'mark-set') as Extract<Action, { kind: 'mark-set' }> | undefined;
    if (rest[rest.length - 1]?.kind !== 'accept' || rest.length > (mark ? 2 : 1)) throw new PathError(p, 'tproxy is read only as `tproxy [meta mark set M] accept`');
    const action: Action = { ...t, mark: mark?.value ?? 0, mask: mark?.mask ?? 0 };
    const effects = stmts.slice(0, tp);
    return { matches, ...(effects.length ? { effects } : {}), action, origin: { span: { file, start: { line: 1, col: 1, offset: 0 }, end: { line: 1, col: 1, offset: 0 } }, purpose: comment ?? 'imported rule' } };
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
  return { matches, ...(effects.length ? { effects } : {}), action, origin: { span: { file, start: { line: 1, col: 1, offset: 0 }, end: { line: 1, col: 1, offset: 0 } }, purpose: comment ?? 'imported rule' } };
}

export { canonicalAddress };
