// IR -> iptables-restore text, one document per family (iptables-restore for IPv4,
// ip6tables-restore for IPv6), loadable by iptables-legacy-restore and iptables-nft-restore.
// The artifact is the noflush form (noflush.ts), loaded beside other tools' rules; without
// `noflush`, a self-contained file for empty tables (the shell backend's payload).
import { FULL_MASK, iptablesBase, type Action, type Chain, type Family, type IrCidr, type Match, type Rule, type RuleSet, type Table } from '../../src/ir/types.js';
import { parseCidr } from '../../src/net/ip.js';
import { mergeOverlappingPorts, outermost, unionPorts } from '../../src/net/intervals.js';
import { oneValueMatches } from '../../src/ir/keys.js';
import { oneLine } from '../comment.js';
import { loadHeader, withEntryChains } from './noflush.js';

export interface EmitOptions {
  /** `-m comment --comment "meshcap FILE:LINE purpose"` on every rule (default on). */
  comments: boolean;
  /**
   * `:PREROUTING ACCEPT [0:0]` lines for built-in chains (default on). The shell backend
   * turns them off: with --noflush they would reset a node's own chain policies.
   */
  builtinHeaders?: boolean;
  /** The noflush form (see the top of this file); off, a self-contained file for an empty table. */
  noflush?: boolean;
}


/** The kernel's multiport limit: 15 ports, a range counting as two (netfilter-facts §1.11). */
export const MULTIPORT_MAX = 15;

const TABLE_ORDER = ['raw', 'mangle', 'nat', 'filter'];
const HOOK_ORDER = ['PREROUTING', 'INPUT', 'FORWARD', 'OUTPUT', 'POSTROUTING'];

export class EmitError extends Error {}

const hex = (n: number) => `0x${(n >>> 0).toString(16)}`;
const neg = (b: boolean) => (b ? '! ' : '');
const portText = ([lo, hi]: [number, number]) => (lo === hi ? String(lo) : `${lo}:${hi}`);

/** Split port ranges into multiport-sized groups (a range counts as two ports). */
export function multiportChunks(ranges: [number, number][]): [number, number][][] {
  const chunks: [number, number][][] = [];
  let cur: [number, number][] = [];
  let weight = 0;
  for (const r of ranges) {
    const w = r[0] === r[1] ? 1 : 2;
    if (weight + w > MULTIPORT_MAX) {
      chunks.push(cur);
      cur = [];
      weight = 0;
    }
    cur.push(r);
    weight += w;
  }
  if (cur.length) chunks.push(cur);
  return chunks;
}

function quote(s: string): string {
  // iptables-restore splits on whitespace and honours double quotes with \" escapes.
  return `"${s.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
}

/** Port ranges with no two overlapping (as written when they already are, else merged). */
function disjointRanges(ranges: [number, number][]): [number, number][] {
  const merged = mergeOverlappingPorts(ranges);
  // Nothing merged: no two overlapped.
  return merged.length === ranges.length ? ranges : merged;
}

/** CIDRs with no two overlapping: two prefixes overlap only when one holds the other; keep the outer (of equal ones, the first), in input order. */
function disjointCidrs(cidrs: IrCidr[]): IrCidr[] {
  return outermost(cidrs, (c) => {
    const p = parseCidr(`${c.addr}/${c.prefix}`);
    if (!p.ok) throw new EmitError(`'${c.addr}/${c.prefix}' is not a CIDR`);
    return p.cidr;
  });
}

/**
 * Positive lists that one iptables match cannot hold (several CIDRs, more than 15 ports)
 * become several rules, made disjoint first so that no packet matches two of them (the
 * action, a jump or an XOR mark say, must run once); negated port lists become several
 * matches in one rule. iptables takes one -s and one -d per rule, so a negated list of
 * several CIDRs has no single-rule form and is refused.
 */
function expand(rule: Rule): Rule[] {
  let variants: Match[][] = [[]];
  for (const m of rule.matches) {
    let alts: Match[][];
    if ((m.kind === 'saddr' || m.kind === 'daddr') && m.cidrs.length > 1) {
      if (m.neg) throw new EmitError(`iptables takes one ! -${m.kind === 'saddr' ? 's' : 'd'} per rule; a negated list of ${m.cidrs.length} CIDRs has no single-rule form`);
      alts = disjointCidrs(m.cidrs).map((c) => [{ ...m, cidrs: [c] }]);
    } else if ((m.kind === 'sport' || m.kind === 'dport') && m.ranges.length > 1) {
      const chunks = multiportChunks(m.neg ? m.ranges : disjointRanges(m.ranges));
      if (m.neg) alts = [chunks.map((c) => ({ ...m, ranges: c }))];
      else alts = chunks.map((c) => [{ ...m, ranges: c }]);
    } else if ((m.kind === 'iif' || m.kind === 'oif') && 'names' in m) {
      const one = oneValueMatches(m);
      if (m.neg && one.length > 1) throw new EmitError(`iptables takes one ! -${m.kind === 'iif' ? 'i' : 'o'} per rule; a negated list of ${one.length} names has no single-rule form`);
      alts = m.neg ? [one.map((x) => ({ ...x, neg: true }))] : one.map((x) => [x]);
    } else if ((m.kind === 'uid' || m.kind === 'gid') && 'ids' in m) {
      // The kernel's owner match takes one range: a rule per range (iptables has no owner sets).
      const ranges = unionPorts(m.ids).map((r): Match => ({ kind: m.kind, neg: m.neg, ids: [r] }));
      alts = m.neg ? [ranges] : ranges.map((r) => [r]);
    } else alts = [[m]];
    const next: Match[][] = [];
    for (const v of variants) for (const a of alts) next.push([...v, ...a]);
    variants = next;
  }
  return variants.map((matches) => ({ ...rule, matches }));
}

function matchText(m: Match, protocol: string | undefined): string {
  switch (m.kind) {
    case 'protocol':
      return `${neg(m.neg)}-p ${m.protocol}`;
    case 'saddr':
    case 'daddr':
      return `${neg(m.neg)}-${m.kind === 'saddr' ? 's' : 'd'} ${m.cidrs[0].addr}/${m.cidrs[0].prefix}`;
    case 'iif':
    case 'oif':
      if ('names' in m) throw new EmitError('an interface list is written one name per rule');
      return `${neg(m.neg)}-${m.kind === 'iif' ? 'i' : 'o'} ${m.name}${m.prefix ? '+' : ''}`;
    case 'sport':
    case 'dport': {
      if (protocol !== 'tcp' && protocol !== 'udp' && protocol !== 'sctp') throw new EmitError(`a ${m.kind} match needs -p tcp, udp or sctp before it`);
      const dir = m.kind === 'sport' ? 's' : 'd';
      if (m.ranges.length === 1) return `-m ${protocol} ${neg(m.neg)}--${dir}port ${portText(m.ranges[0])}`;
      return `-m multiport ${neg(m.neg)}--${dir}ports ${m.ranges.map(portText).join(',')}`;
    }
    case 'uid':
    case 'gid':
      if ('ids' in m) {
        if (m.ids.length !== 1) throw new EmitError('an owner list is written one range per rule');
        const [lo, hi] = m.ids[0];
        return `-m owner ${neg(m.neg)}--${m.kind}-owner ${lo === hi ? lo : `${lo}-${hi}`}`;
      }
      return `-m owner ${neg(m.neg)}--${m.kind}-owner ${m.id}`;
    case 'mark':
    case 'connmark':
      return `-m ${m.kind} ${neg(m.neg)}--mark ${m.value}${m.mask === FULL_MASK ? '' : '/' + hex(m.mask)}`;
    case 'ctstate':
      return `-m conntrack ${neg(m.neg)}--ctstate ${m.states.map((s) => s.toUpperCase()).join(',')}`;
    case 'socket':
      return `-m socket${m.transparent ? ' --transparent' : ''}`;
    case 'nfproto':
      throw new EmitError('a family match belongs to nft inet tables; iptables tables have one family');
    case 'unmodelled':
      // Only imported rules hold one; their own words, so a trace shows the rule as it was.
      return m.text;
  }
}

function actionText(a: Action, family: Family): string {
  switch (a.kind) {
    case 'accept':
      return '-j ACCEPT';
    case 'drop':
      return '-j DROP';
    case 'return':
      return '-j RETURN';
    case 'jump':
      return `-j ${a.chain}`;
    case 'goto':
      return `-g ${a.chain}`;
    case 'redirect':
      return `-j REDIRECT --to-ports ${a.port}`;
    case 'tproxy':
      return `-j TPROXY --on-port ${a.port}${a.addr ? ` --on-ip ${a.addr}` : ''} --tproxy-mark ${hex(a.mark)}/${hex(a.mask)}`;
    case 'mark-set':
      return `-j MARK --set-xmark ${hex(a.value)}/${hex(a.mask)}`;
    case 'connmark-save':
      return `-j CONNMARK --save-mark --nfmask ${hex(a.nfmask)} --ctmask ${hex(a.ctmask)}`;
    case 'connmark-restore':
      return `-j CONNMARK --restore-mark --nfmask ${hex(a.nfmask)} --ctmask ${hex(a.ctmask)}`;
    case 'ct-zone':
      return `-j CT --zone ${a.zone}`;
    case 'dnat':
      return `-j DNAT --to-destination ${family === 'ipv6' ? `[${a.addr}]` : a.addr}${a.port ? ':' + a.port : ''}`;
    case 'log':
      return `-j LOG --log-prefix ${quote(a.prefix)}${a.level !== undefined ? ` --log-level ${a.level}` : ''}`;
    case 'counter':
      return '';
    case 'vmap':
      throw new EmitError('iptables has no verdict maps; the optimizer makes them only for nftables');
  }
}

export function commentOf(rule: Rule): string {
  const where = rule.origin.span ? `${rule.origin.span.file}:${rule.origin.span.start.line} ` : '';
  // The kernel keeps at most 255 bytes of a comment.
  return oneLine(`meshcap ${where}${rule.origin.purpose}`, 255);
}

export function ruleText(chain: string, rule: Rule, family: Family, opts: EmitOptions): string[] {
  if (rule.effects?.length) throw new EmitError('iptables rules have one target; this rule has several statements');
  // A family match is always true or always false in a one-family table.
  if (rule.matches.some((m) => m.kind === 'nfproto' && (m.family === family) === m.neg)) return [];
  rule = { ...rule, matches: rule.matches.filter((m) => m.kind !== 'nfproto') };
  return expand(rule).map((r) => {
    const parts = [`-A ${chain}`];
    let protocol: string | undefined;
    // iptables wants -p before the port matches that depend on it.
    const order = (m: Match) => ['saddr', 'daddr', 'iif', 'oif', 'protocol'].indexOf(m.kind);
    const sorted = [...r.matches].sort((a, b) => {
      const oa = order(a);
      const ob = order(b);
      return (oa < 0 ? 99 : oa) - (ob < 0 ? 99 : ob);
    });
    for (const m of sorted) {
      if (m.kind === 'protocol' && !m.neg) protocol = m.protocol;
      parts.push(matchText(m, protocol));
    }
    if (opts.comments) parts.push(`-m comment --comment ${quote(commentOf(rule))}`);
    const act = actionText(r.action, family);
    if (act) parts.push(act);
    return parts.join(' ');
  });
}

function chainHeader(c: Chain): string {
  return `:${c.name} ${c.base ? c.base.policy.toUpperCase() : '-'} [0:0]`;
}

export function emitTable(t: Table, family: Family, opts: EmitOptions, policy = ''): string {
  if (opts.noflush) t = withEntryChains(t, policy);
  const lines = [`*${t.name}`];
  const chains = [...t.chains].sort((a, b) => {
    const ia = a.base ? HOOK_ORDER.indexOf(a.name) : 99;
    const ib = b.base ? HOOK_ORDER.indexOf(b.name) : 99;
    return ia - ib;
  });
  for (const c of chains) if (!c.base || (opts.builtinHeaders !== false && !opts.noflush)) lines.push(chainHeader(c));
  for (const c of chains) {
    // 'attach first' (a base chain below the standard priority): the one jump of the noflush
    // form goes ahead of other tools' rules in the built-in chain, which is where iptables
    // decides the order, rather than after them.
    const first = opts.noflush && c.base !== undefined && c.base.priority < iptablesBase(t.name, c.base.hook).priority;
    for (const r of c.rules) lines.push(...ruleText(c.name, r, family, opts).map((l) => (first ? l.replace(`-A ${c.name} `, `-I ${c.name} 1 `) : l)));
  }
  lines.push('COMMIT');
  return lines.join('\n') + '\n';
}

/** The iptables-restore document of one family, or '' when the rule set has none. */
export function emitIptables(rs: RuleSet, family: Family, opts: EmitOptions = { comments: true, noflush: true }): string {
  const tables = rs.tables
    .filter((t) => t.family === family)
    .sort((a, b) => TABLE_ORDER.indexOf(a.name) - TABLE_ORDER.indexOf(b.name));
  for (const t of tables) if (!TABLE_ORDER.includes(t.name)) throw new EmitError(`iptables has no table '${t.name}'`);
  const tool = family === 'ipv4' ? 'iptables' : 'ip6tables';
  const head = `# Generated by meshcap from policy ${rs.name} (${tool}-restore)\n` + (opts.noflush ? loadHeader(tool) : '');
  return head + tables.map((t) => emitTable(t, family, opts, rs.name)).join('');
}
