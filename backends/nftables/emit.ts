// IR -> libnftables JSON (`nft -j -f FILE`), command form, applied in one transaction:
// one `inet` table for both families. The IR keeps iptables' layout (a table per family
// and kind); here each IR base chain becomes a regular chain per family, entered from
// one base chain per (kind, hook) through `meta nfproto` dispatch, so nothing meant for
// one family can catch the other. Every command is built as the types of objects.ts, so
// a key nft would silently ignore (a typo) does not compile.
import { FULL_MASK, type Action, type Chain, type Family, type IrCidr, type Match, type Rule, type RuleSet, type Table } from '../../src/ir/types.js';
import { forEachChain } from '../../src/ir/walk.js';
import { parseCidr } from '../../src/net/ip.js';
import { outermost, unionPorts } from '../../src/net/intervals.js';
import { oneLine } from '../comment.js';
import {
  COMMENT_PREFIX,
  DEFAULT_TABLE_NAME,
  NFT_FAMILY,
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
  type NftXor,
  type SetType,
} from './objects.js';
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

/** The nft chain that carries an IR chain. */
export function nftChainName(t: Table, c: string): string {
  if (t.family === 'inet') return c;
  return `${famTag(t.family)}-${t.name}-${c}`;
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
    if (!this.caps.destroy) {
      // `flush table` empties the chains but not the sets: re-applying would merge the new
      // elements into the old ones (stale members, or "conflicting intervals"). Declare
      // the set (a no-op if it exists), empty it, then fill it, in the same transaction.
      this.sets.push({ add: { set: decl } }, { flush: { set: { family: NFT_FAMILY, table: this.table, name } } });
    }
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
      case 'oif':
        // nft reads a '*' in the name as a wildcard: a literal one has no faithful form here.
        if (m.name.includes('*')) throw new NftEmitError(`interface name '${m.name}' holds a '*', which nft would read as a wildcard`);
        return { match: { op: op(m.neg), left: { meta: { key: m.kind === 'iif' ? 'iifname' : 'oifname' } }, right: m.prefix ? `${m.name}*` : m.name } };
      case 'uid':
      case 'gid':
        return { match: { op: op(m.neg), left: { meta: { key: m.kind === 'uid' ? 'skuid' : 'skgid' } }, right: m.id } };
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

  statements(a: Action, fam: Family, t: Table): NftExpr[] {
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
        return [{ jump: { target: nftChainName(t, a.chain) } }];
      case 'goto':
        return [{ goto: { target: nftChainName(t, a.chain) } }];
      case 'redirect':
        return [{ redirect: { port: a.port } }];
      case 'tproxy': {
        const out: NftExpr[] = [{ tproxy: { family: l3(fam), port: a.port, ...(a.addr ? { addr: a.addr } : {}) } }];
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
        return [{ dnat: { family: l3(fam), addr: a.addr, ...(a.port ? { port: a.port } : {}) } }];
      case 'log':
        return [{ log: { prefix: a.prefix } }];
      case 'counter':
        return [{ counter: null }];
    }
  }

  rule(chain: string, r: Rule, t: Table, fam: Family): NftCommand {
    const expr: NftExpr[] = r.matches.map((m) => this.match(m, fam));
    if (this.opts.counters) expr.push({ counter: null });
    for (const e of r.effects ?? []) expr.push(...this.statements(e, fam, t));
    expr.push(...this.statements(r.action, fam, t));
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
  if (rs.tables.some((t) => t.family === 'inet')) throw new NftEmitError('the nftables emitter takes the per-family IR the lowering produces');
  const table = nftTableName(rs);
  const e = new Emitter(table, o, caps);
  const ref = { family: NFT_FAMILY, name: table } as const;
  const head: NftCommand[] = [];
  if (caps.destroy) {
    // Re-applying replaces: destroy is a no-op when the table does not exist.
    head.push({ destroy: { table: { ...ref } } });
    const tableObj: NftTable = { ...ref, ...(caps.tableComments ? { comment: `${COMMENT_PREFIX} policy ${rs.name}` } : {}) };
    head.push({ add: { table: tableObj } });
  } else {
    // Before 1.0.7: add (a no-op if it exists) then flush, so re-applying replaces.
    head.push({ add: { table: { ...ref } } }, { flush: { table: { ...ref } } });
  }
  const chains: NftCommand[] = [];
  const rules: NftCommand[] = [];
  // Dispatchers: one base chain per (kind, hook), jumping per family.
  const dispatch = new Map<string, { base: NonNullable<Chain['base']>; rules: NftCommand[] }>();
  const tables = [...rs.tables].sort((a, b) => KIND_ORDER.indexOf(a.name) - KIND_ORDER.indexOf(b.name));
  forEachChain({ ...rs, tables }, (c, t) => {
    const fam = t.family as Family;
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
