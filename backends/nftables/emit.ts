// IR -> libnftables JSON (`nft -j -f FILE`), command form, applied in one transaction:
// one `inet` table for both families. An inet IR table (the optimizer's share-families
// pass) is written as it is: base chains named for their hooks, regular chains with
// readable names (`inbound`, `redirect-outbound`), a rule whose address lists hold both
// families written once per family (`ip daddr` / `ip6 daddr`, each implying its family).
// A per-family IR table (iptables' layout, `-O0`) becomes regular chains per family,
// entered from one base chain per (kind, hook) through `meta nfproto` dispatch, so
// nothing meant for one family can catch the other. Every command is built as the types
// of objects.ts, so a key nft would silently ignore (a typo) does not compile.
import { FULL_MASK, type Action, type Chain, type Family, type IrCidr, type Match, type Rule, type RuleSet, type Table } from '../../src/ir/types.js';
import { forEachChain } from '../../src/ir/walk.js';
import { parseCidr } from '../../src/net/ip.js';
import { outermost, unionPorts } from '../../src/net/intervals.js';
import { CH } from '../../src/lower/lower.js';
import { oneLine } from '../comment.js';
import {
  COMMENT_PREFIX,
  DEFAULT_TABLE_NAME,
  NFT_FAMILY,
  NFT_LOG_LEVELS,
  SET_FLAG_INTERVAL,
  SET_NAME_PREFIX,
  type L3Family,
  type NftCommand,
  type NftDocument,
  type NftElement,
  type NftExpr,
  type NftKeyExpr,
  type NftRight,
  type NftRule,
  type NftSet,
  type NftTable,
  type NftVerdict,
  type NftXor,
  type MetaKey,
  type SetType,
} from './objects.js';
import { ifaceNames, type KeyMatch } from '../../src/ir/keys.js';
import { capabilities, DEFAULT_NFT_VERSION, type NftCapabilities } from './versions.js';

export interface NftOptions {
  comments: boolean;
  counters: boolean;
  nftVersion: string;
}

export class NftEmitError extends Error {}

/** Lists longer than this become named interval sets. */
export const INLINE_SET_MAX = 16;

const famTag = (f: Family) => (f === 'ipv4' ? 'v4' : 'v6');
const l3 = (f: Family): L3Family => (f === 'ipv4' ? 'ip' : 'ip6');

export function nftTableName(rs: RuleSet): string {
  return rs.name.replace(/[^A-Za-z0-9_-]/g, '_').slice(0, 32) || DEFAULT_TABLE_NAME;
}

/** The nft chain that carries a per-family IR chain. */
export function nftChainName(t: Table, c: string): string {
  if (t.family === 'inet') return c;
  return `${famTag(t.family)}-${t.name}-${c}`;
}

/** What the lowering's chains are called in nft: what they do, in nft's lower-case style. */
const READABLE: Record<string, string> = {
  [CH.inbound]: 'inbound',
  [CH.inRedirect]: 'redirect-inbound',
  [CH.redirect]: 'redirect-outbound',
  [CH.output]: 'outbound',
  [CH.outputDns]: 'outbound-dns',
  [CH.divert]: 'divert-inbound',
  [CH.tproxy]: 'tproxy-inbound',
  [CH.drop]: 'drop-invalid',
};

export function readableChainName(c: string): string {
  if (READABLE[c]) return READABLE[c];
  // A chain the optimizer split off one of the lowering's (`MESHCAP_OUTPUT_OIF_LO`): its name, and what it adds.
  const from = Object.keys(READABLE).filter((k) => c.startsWith(`${k}_`)).sort((a, b) => b.length - a.length)[0];
  const rest = from ? c.slice(from.length + 1) : c;
  return (from ? `${READABLE[from]}-` : '') + rest.toLowerCase().replace(/_/g, '-');
}

/**
 * nft names for the chains of inet IR tables: a base chain by its hook (with its kind when
 * two kinds share the hook), a regular chain readable; none taken by `taken`.
 */
function inetNames(tables: readonly Table[], taken: Set<string>): Map<Table, Map<string, string>> {
  const perHook = new Map<string, number>();
  for (const t of tables) for (const c of t.chains) if (c.base) perHook.set(c.base.hook, (perHook.get(c.base.hook) ?? 0) + 1);
  const out = new Map<Table, Map<string, string>>();
  for (const t of tables) {
    const m = new Map<string, string>();
    for (const c of t.chains) {
      const want = c.base ? (perHook.get(c.base.hook) === 1 ? c.base.hook : `${t.name}-${c.base.hook}`) : readableChainName(c.name);
      let name = taken.has(want) ? `${t.name}-${want}` : want;
      for (let n = 2; taken.has(name); n++) name = `${want}-${n}`;
      taken.add(name);
      m.set(c.name, name);
    }
    out.set(t, m);
  }
  return out;
}

const familyOfAddr = (a: string): Family => (a.includes(':') ? 'ipv6' : 'ipv4');
const addrOf = (a: Action): string | undefined => (a.kind === 'dnat' || a.kind === 'tproxy' ? a.addr : undefined);

/**
 * The families an inet IR rule is written for, one nft rule each; [undefined]: one rule
 * for both (it looks at nothing family-specific).
 */
export function ruleFamilies(r: Rule): (Family | undefined)[] {
  let fams = new Set<Family>(['ipv4', 'ipv6']);
  let specific = false;
  const keep = (fs: Family[]) => (fams = new Set([...fams].filter((f) => fs.includes(f))));
  for (const m of r.matches) {
    if (m.kind === 'nfproto') {
      specific = true;
      if (m.neg) fams.delete(m.family);
      else keep([m.family]);
    } else if (m.kind === 'saddr' || m.kind === 'daddr') {
      specific = true;
      if (!m.neg) keep(m.cidrs.map((c) => c.family));
    }
  }
  for (const a of [...(r.effects ?? []), r.action]) {
    const addr = addrOf(a);
    if (addr === undefined) continue;
    specific = true;
    keep([familyOfAddr(addr)]);
  }
  return specific ? (['ipv4', 'ipv6'] as const).filter((f) => fams.has(f)) : [undefined];
}

/** An inet IR rule's matches as written for family f: address lists cut to f, f's dependency explicit where no address says it. */
function matchesFor(r: Rule, f: Family): Match[] {
  const out: Match[] = [];
  for (const m of r.matches) {
    if (m.kind === 'nfproto') continue;
    if (m.kind === 'saddr' || m.kind === 'daddr') {
      const cidrs = m.cidrs.filter((c) => c.family === f);
      // A negated list without f's addresses holds for every f packet.
      if (cidrs.length) out.push({ ...m, cidrs });
      continue;
    }
    out.push(m);
  }
  return out.some((m) => m.kind === 'saddr' || m.kind === 'daddr') ? out : [{ kind: 'nfproto', neg: false, family: f }, ...out];
}

/** The nft meta key of each key match. */
export const META_OF: Record<KeyMatch['kind'], MetaKey> = { iif: 'iifname', oif: 'oifname', uid: 'skuid', gid: 'skgid' };

/** Owner id ranges as nft elements: an id, or `{ range }`; overlapping and touching ranges merged. */
function idElements(ids: [number, number][]): NftElement[] {
  return unionPorts(ids).map(([lo, hi]) => (lo === hi ? lo : { range: [lo, hi] }));
}

/** The one value of a verdict map entry's match, as the map's key. */
function keyElement(m: KeyMatch): NftElement {
  if ('name' in m || 'names' in m) {
    const names = ifaceNames(m);
    if (names.length !== 1 || names[0].prefix) throw new NftEmitError('a verdict map entry is one exact interface name');
    return names[0].name;
  }
  if (!('ids' in m)) {
    if (typeof m.id !== 'number') throw new NftEmitError('a verdict map entry is a numeric id');
    return m.id;
  }
  const els = idElements(m.ids);
  if (els.length !== 1) throw new NftEmitError('a verdict map entry is one id or one range of ids');
  return els[0];
}

function addrRight(cs: IrCidr[]): NftElement[] {
  return cs.map((c) => ((c.family === 'ipv4' && c.prefix === 32) || (c.family === 'ipv6' && c.prefix === 128) ? c.addr : { prefix: { addr: c.addr, len: c.prefix } }));
}

function portRight(rs: [number, number][]): NftElement[] {
  return rs.map(([lo, hi]) => (lo === hi ? lo : { range: [lo, hi] }));
}

// A named interval set refuses overlapping elements ("conflicting intervals": it has no
// auto-merge, unlike an anonymous set), and a policy list may hold an item another one
// covers (a warning only). So a list that becomes a named set is normalised first.

/** The prefixes not inside another one of the list, in address order. */
function outermostPrefixes(cs: IrCidr[]): IrCidr[] {
  return outermost(
    cs,
    (c) => {
      const p = parseCidr(`${c.addr}/${c.prefix}`);
      if (!p.ok) throw new NftEmitError(`bad prefix ${c.addr}/${c.prefix}`);
      return p.cidr;
    },
    'address',
  );
}

class Emitter {
  readonly sets: NftCommand[] = [];
  private setNo = 0;
  constructor(
    readonly table: string,
    readonly opts: NftOptions,
    readonly caps: NftCapabilities,
  ) {}

  /** Named sets declared so far: name -> their elements (one name, one content). */
  private readonly named = new Map<string, string>();

  /**
   * Right-hand side of a list: inline, an anonymous set, or a named interval set. A list
   * the policy names (`set`) is a named set under that name when it has several items;
   * another long list gets a numbered name.
   */
  list(items: NftElement[], type: SetType, setName?: string): NftRight {
    if (items.length === 1) return items[0];
    if (!setName && items.length <= INLINE_SET_MAX) return { set: items };
    const content = JSON.stringify([type, items]);
    const base = setName ?? `${SET_NAME_PREFIX}${++this.setNo}`;
    let name = base;
    // The same name with other elements (two statements' lists folded alike) gets a suffix.
    for (let n = 2; this.named.has(name) && this.named.get(name) !== content; n++) name = `${base}-${n}`;
    if (this.named.has(name)) return `@${name}`;
    this.named.set(name, content);
    const decl: NftSet = { family: NFT_FAMILY, table: this.table, name, type, flags: [SET_FLAG_INTERVAL] };
    this.sets.push({ add: { set: { ...decl, elem: items } } });
    return `@${name}`;
  }

  match(m: Match, fam: Family): NftExpr {
    const op = (neg: boolean) => (neg ? '!=' : '==');
    switch (m.kind) {
      case 'protocol':
        return { match: { op: op(m.neg), left: { meta: { key: 'l4proto' } }, right: m.protocol === 'icmpv6' ? 'ipv6-icmp' : m.protocol } };
      case 'saddr':
      case 'daddr': {
        let cs = m.cidrs.filter((c) => c.family === fam);
        if (!cs.length) throw new NftEmitError(`an ${fam} rule matches only addresses of the other family`);
        const named = m.set !== undefined && cs.length > 1;
        if (named || cs.length > INLINE_SET_MAX) cs = outermostPrefixes(cs);
        const setName = m.set !== undefined ? `${m.set}-${famTag(fam)}` : undefined;
        return { match: { op: op(m.neg), left: { payload: { protocol: l3(fam), field: m.kind } }, right: this.list(addrRight(cs), fam === 'ipv4' ? 'ipv4_addr' : 'ipv6_addr', setName) } };
      }
      case 'sport':
      case 'dport': {
        const named = m.set !== undefined && m.ranges.length > 1;
        const ranges = named || m.ranges.length > INLINE_SET_MAX ? unionPorts(m.ranges) : m.ranges;
        return { match: { op: op(m.neg), left: { payload: { protocol: 'th', field: m.kind } }, right: this.list(portRight(ranges), 'inet_service', m.set) } };
      }
      case 'iif':
      case 'oif': {
        const names = ifaceNames(m);
        // nft reads a '*' in the name as a wildcard: a literal one has no faithful form here.
        for (const n of names) if (n.name.includes('*')) throw new NftEmitError(`interface name '${n.name}' holds a '*', which nft would read as a wildcard`);
        if (!names.length) throw new NftEmitError('an empty list of interface names');
        if (names.length > 1 && names.some((n) => n.prefix)) throw new NftEmitError('a set of interface names holds no wildcard (eth*): the optimizer folds exact names only');
        const words = names.map((n) => (n.prefix ? `${n.name}*` : n.name));
        return { match: { op: op(m.neg), left: { meta: { key: META_OF[m.kind] } }, right: words.length === 1 ? words[0] : { set: words } } };
      }
      case 'uid':
      case 'gid': {
        const left: NftKeyExpr = { meta: { key: META_OF[m.kind] } };
        if (!('ids' in m)) return { match: { op: op(m.neg), left, right: m.id } };
        const els = idElements(m.ids);
        if (!els.length) throw new NftEmitError('an empty list of owner ids');
        return { match: { op: op(m.neg), left, right: els.length === 1 ? els[0] : { set: els } } };
      }
      case 'mark':
      case 'connmark': {
        const key: NftKeyExpr = m.kind === 'mark' ? { meta: { key: 'mark' } } : { ct: { key: 'mark' } };
        return { match: { op: op(m.neg), left: m.mask === FULL_MASK ? key : { '&': [key, m.mask] }, right: m.value } };
      }
      case 'ctstate':
        return { match: { op: m.neg ? '!=' : 'in', left: { ct: { key: 'state' } }, right: m.states.length === 1 ? m.states[0] : m.states } };
      case 'socket':
        return { match: { op: '==', left: { socket: { key: 'transparent' } }, right: 1 } };
      case 'nfproto':
        return { match: { op: op(m.neg), left: { meta: { key: 'nfproto' } }, right: m.family } };
      case 'unmodelled':
        throw new NftEmitError(`'${m.text}' is another tool's match meshcap does not model; it is never emitted`);
    }
  }

  markValue(key: NftKeyExpr, value: number, mask: number): number | NftXor {
    if (mask === FULL_MASK) return value;
    // (key & ~mask) ^ value
    return { '^': [{ '&': [key, ~mask >>> 0] }, value] };
  }

  /** An inet IR table's chains: IR name -> nft name. */
  inet = new Map<Table, Map<string, string>>();

  chainName(t: Table, c: string): string {
    return this.inet.get(t)?.get(c) ?? nftChainName(t, c);
  }

  /** `fam` undefined: a statement for both families (an inet rule that names no address). */
  statements(a: Action, fam: Family | undefined, t: Table): NftExpr[] {
    const meta: NftKeyExpr = { meta: { key: 'mark' } };
    const ct: NftKeyExpr = { ct: { key: 'mark' } };
    switch (a.kind) {
      case 'accept':
        return [{ accept: null }];
      case 'drop':
        return [{ drop: null }];
      case 'return':
        return [{ return: null }];
      case 'jump':
        return [{ jump: { target: this.chainName(t, a.chain) } }];
      case 'goto':
        return [{ goto: { target: this.chainName(t, a.chain) } }];
      case 'redirect':
        return [{ redirect: { port: a.port } }];
      case 'tproxy': {
        const out: NftExpr[] = [{ tproxy: { ...(fam ? { family: l3(fam) } : {}), port: a.port, ...(a.addr ? { addr: a.addr } : {}) } }];
        if (a.mask !== 0) out.push({ mangle: { key: meta, value: this.markValue(meta, a.mark, a.mask) } });
        out.push({ accept: null });
        return out;
      }
      case 'mark-set':
        return [{ mangle: { key: meta, value: this.markValue(meta, a.value, a.mask) } }];
      case 'connmark-save':
        if (a.nfmask !== FULL_MASK || a.ctmask !== FULL_MASK) throw new NftEmitError('CONNMARK with masks is not emitted for nft');
        return [{ mangle: { key: ct, value: meta } }];
      case 'connmark-restore':
        if (a.nfmask !== FULL_MASK || a.ctmask !== FULL_MASK) throw new NftEmitError('CONNMARK with masks is not emitted for nft');
        return [{ mangle: { key: meta, value: ct } }];
      case 'ct-zone':
        return [{ mangle: { key: { ct: { key: 'zone' } }, value: a.zone } }];
      case 'dnat':
        return [{ dnat: { family: l3(fam ?? familyOfAddr(a.addr)), addr: a.addr, ...(a.port ? { port: a.port } : {}) } }];
      case 'log':
        return [{ log: { prefix: a.prefix, ...(a.level !== undefined ? { level: NFT_LOG_LEVELS[a.level] } : {}) } }];
      case 'counter':
        return [{ counter: null }];
      case 'vmap':
        return [{ vmap: { key: { meta: { key: META_OF[a.key] } }, data: { set: a.entries.map((en): [NftElement, NftVerdict] => [keyElement(en.match), this.statements(en.action, fam, t)[0] as NftVerdict]) } } }];
    }
  }

  rule(chain: string, r: Rule, t: Table, fam: Family, matches: Match[] = r.matches, statementFam: Family | undefined = fam): NftCommand {
    const expr: NftExpr[] = matches.map((m) => this.match(m, fam));
    if (this.opts.counters) expr.push({ counter: null });
    for (const e of r.effects ?? []) expr.push(...this.statements(e, statementFam, t));
    expr.push(...this.statements(r.action, statementFam, t));
    const rule: NftRule = { family: NFT_FAMILY, table: this.table, chain, expr, ...(this.opts.comments ? { comment: commentOf(r) } : {}) };
    return { add: { rule } };
  }
}

/** nft keeps at most 128 bytes of a rule comment. */
export function commentOf(r: Rule): string {
  const where = r.origin.span ? `${r.origin.span.file}:${r.origin.span.start.line} ` : '';
  return oneLine(`${COMMENT_PREFIX} ${where}${r.origin.purpose}`.replace(/"/g, ' '), 127);
}

const KIND_ORDER = ['raw', 'mangle', 'nat', 'filter'];

/** The base chain that dispatches one (kind, hook) to the per-family chains. */
export const dispatchChainName = (kind: string, hook: string): string => `${kind}-${hook}`;

export function emitNftables(rs: RuleSet, opts: Partial<NftOptions> = {}): string {
  const o: NftOptions = { comments: opts.comments ?? true, counters: opts.counters ?? false, nftVersion: opts.nftVersion ?? DEFAULT_NFT_VERSION };
  const caps = capabilities(o.nftVersion);
  if (!caps) throw new NftEmitError(`nft version ${o.nftVersion} is not in the capability table`);
  const table = nftTableName(rs);
  const e = new Emitter(table, o, caps);
  const taken = new Set<string>();
  for (const t of rs.tables) for (const c of t.chains) if (t.family !== 'inet') taken.add(nftChainName(t, c.name)).add(c.base ? dispatchChainName(t.name, c.base.hook) : '');
  e.inet = inetNames(rs.tables.filter((t) => t.family === 'inet'), taken);
  const ref = { family: NFT_FAMILY, name: table } as const;
  const head: NftCommand[] = [];
  if (caps.destroy) {
    // Re-applying replaces: destroy is a no-op when the table does not exist.
    head.push({ destroy: { table: { ...ref } } });
    const tableObj: NftTable = { ...ref, ...(caps.tableComments ? { comment: `${COMMENT_PREFIX} policy ${rs.name}` } : {}) };
    head.push({ add: { table: tableObj } });
  } else {
    // Before 1.0.7: add (a no-op if it exists), delete (with its chains and sets), add again,
    // in one transaction, so re-applying replaces. (`flush table` would keep the sets,
    // and emptying each set in the same transaction made nft take twice as long to load
    // a 10,000-element one: docs/benchmarks.md.)
    head.push({ add: { table: { ...ref } } }, { delete: { table: { ...ref } } }, { add: { table: { ...ref } } });
  }
  const chains: NftCommand[] = [];
  const rules: NftCommand[] = [];
  // Dispatchers: one base chain per (kind, hook), jumping per family.
  const dispatch = new Map<string, { base: NonNullable<Chain['base']>; rules: NftCommand[] }>();
  const tables = [...rs.tables].sort((a, b) => KIND_ORDER.indexOf(a.name) - KIND_ORDER.indexOf(b.name));
  forEachChain({ ...rs, tables }, (c, t) => {
    if (t.family === 'inet') {
      const name = e.chainName(t, c.name);
      const b = c.base;
      chains.push({ add: { chain: { family: NFT_FAMILY, table, name, ...(b ? { type: b.type, hook: b.hook, prio: b.priority, policy: b.policy } : {}) } } });
      for (const r of c.rules) {
        for (const f of ruleFamilies(r)) {
          // The match side needs a family for its addresses only; the statements name one only for an address.
          if (f === undefined) rules.push(e.rule(name, r, t, 'ipv4', r.matches, undefined));
          else rules.push(e.rule(name, r, t, f, matchesFor(r, f), [...(r.effects ?? []), r.action].some((a) => addrOf(a) !== undefined) ? f : undefined));
        }
      }
      return;
    }
    const fam = t.family;
    const name = nftChainName(t, c.name);
    chains.push({ add: { chain: { family: NFT_FAMILY, table, name } } });
    for (const r of c.rules) rules.push(e.rule(name, r, t, fam));
    if (!c.base) return;
    const key = dispatchChainName(t.name, c.base.hook);
    let d = dispatch.get(key);
    if (!d) dispatch.set(key, (d = { base: { ...c.base, policy: 'accept' }, rules: [] }));
    const nf: NftExpr = { match: { op: '==', left: { meta: { key: 'nfproto' } }, right: fam } };
    d.rules.push({ add: { rule: { family: NFT_FAMILY, table, chain: key, expr: [nf, { jump: { target: name } }], ...(o.comments ? { comment: `${COMMENT_PREFIX} ${fam} ${t.name} ${c.name}` } : {}) } } });
    if (c.base.policy === 'drop') d.rules.push({ add: { rule: { family: NFT_FAMILY, table, chain: key, expr: [nf, { drop: null }] } } });
  });
  const baseChains: NftCommand[] = [];
  const dispatchRules: NftCommand[] = [];
  for (const [name, d] of dispatch) {
    baseChains.push({ add: { chain: { family: NFT_FAMILY, table, name, type: d.base.type, hook: d.base.hook, prio: d.base.priority, policy: d.base.policy } } });
    dispatchRules.push(...d.rules);
  }
  const doc: NftDocument = { nftables: [...head, ...e.sets, ...chains, ...baseChains, ...rules, ...dispatchRules] };
  return JSON.stringify(doc, null, 2) + '\n';
}
