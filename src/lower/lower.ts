// Policy -> IR. The rule structure follows Istio's istio-iptables (so that a rule set
// reads familiar to its users and its goldens compare rule by rule), without its known
// bugs; every deliberate difference is listed in docs/istio-differences.md. Each rule
// records the statement it came from and why it exists.
import type { CidrItem, Owner, Policy, PortRange, Setting } from '../language/ast.js';
import type { Action, Chain, Family, IrCidr, Match, Rule, RuleSet, Table } from '../ir/types.js';
import { FULL_MASK, iptablesBase } from '../ir/types.js';
import type { Span } from '../source.js';

export const CH = {
  inbound: 'MESHCAP_INBOUND',
  inRedirect: 'MESHCAP_IN_REDIRECT',
  redirect: 'MESHCAP_REDIRECT',
  output: 'MESHCAP_OUTPUT',
  outputDns: 'MESHCAP_OUTPUT_DNS',
  divert: 'MESHCAP_DIVERT',
  tproxy: 'MESHCAP_TPROXY',
  drop: 'MESHCAP_DROP',
} as const;

const DNS_PORT = 53;

const cidr = (c: { family: Family; addr: string; prefix: number }): IrCidr => ({ family: c.family, addr: c.addr, prefix: c.prefix });
const hostCidr = (a: { family: Family; text: string }): IrCidr => ({ family: a.family, addr: a.text, prefix: a.family === 'ipv4' ? 32 : 128 });
const ports = (xs: PortRange[]): [number, number][] => xs.map((p) => [p.lo, p.hi]);

const M = {
  proto: (protocol: 'tcp' | 'udp', neg = false): Match => ({ kind: 'protocol', neg, protocol }),
  // `set`: the list's name from its policy statement (SET below), for backends with named sets.
  dport: (ranges: [number, number][], neg = false, set?: string): Match => ({ kind: 'dport', neg, ranges, ...(set ? { set } : {}) }),
  sport: (ranges: [number, number][], neg = false): Match => ({ kind: 'sport', neg, ranges }),
  daddr: (cidrs: IrCidr[], neg = false, set?: string): Match => ({ kind: 'daddr', neg, cidrs, ...(set ? { set } : {}) }),
  saddr: (cidrs: IrCidr[], neg = false): Match => ({ kind: 'saddr', neg, cidrs }),
  iif: (name: string, prefix: boolean, neg = false): Match => ({ kind: 'iif', neg, name, prefix }),
  oif: (name: string, prefix: boolean, neg = false): Match => ({ kind: 'oif', neg, name, prefix }),
  owner: (kind: 'uid' | 'gid', o: OwnerItem, neg = false): Match => (o.kind === 'range' ? { kind, neg, ids: [[o.lo, o.hi]] } : { kind, neg, id: o.kind === 'id' ? o.id : o.name }),
  mark: (value: number, neg = false): Match => ({ kind: 'mark', neg, value, mask: FULL_MASK }),
  connmark: (value: number): Match => ({ kind: 'connmark', neg: false, value, mask: FULL_MASK }),
};
/** Names of the lists that come from one policy statement (nft named sets take them). */
export const SET = {
  excludedOutboundPorts: 'excluded-outbound-ports',
  excludedOutboundCidrs: 'excluded-outbound-cidrs',
  capturedOutboundCidrs: 'captured-outbound-cidrs',
  capturedOutboundPorts: 'captured-outbound-ports',
  excludedInboundPorts: 'excluded-inbound-ports',
  capturedInboundPorts: 'captured-inbound-ports',
  localhost: 'localhost',
} as const;
const lo = (neg = false) => M.oif('lo', false, neg);
const J = (chain: string): Action => ({ kind: 'jump', chain });
const RET: Action = { kind: 'return' };

class TableBuilder {
  readonly chains = new Map<string, Chain>();
  /** `fallback`: the span for rules that come from defaults (the policy itself). */
  constructor(readonly name: string, readonly family: Family, readonly fallback: Span | null) {}

  base(hook: 'prerouting' | 'output' | 'input' | 'postrouting'): Chain {
    const name = hook.toUpperCase();
    let c = this.chains.get(name);
    if (!c) {
      c = { name, base: iptablesBase(this.name, hook), rules: [] };
      this.chains.set(name, c);
    }
    return c;
  }
  chain(name: string): Chain {
    let c = this.chains.get(name);
    if (!c) {
      c = { name, rules: [] };
      this.chains.set(name, c);
    }
    return c;
  }
  add(chain: string, matches: Match[], action: Action, span: Span | null, purpose: string): void {
    const c = /^[A-Z]+$/.test(chain) && !chain.startsWith('MESHCAP') ? this.base(chain.toLowerCase() as 'output') : this.chain(chain);
    const rule: Rule = { matches, action, origin: { span: span ?? this.fallback, purpose } };
    c.rules.push(rule);
  }
  build(): Table | undefined {
    if ([...this.chains.values()].every((c) => c.rules.length === 0)) return undefined;
    // Base chains first (in hook order), then user chains in creation order.
    const order = ['PREROUTING', 'INPUT', 'FORWARD', 'OUTPUT', 'POSTROUTING'];
    const chains = [...this.chains.values()].sort((a, b) => {
      const ia = a.base ? order.indexOf(a.name) : 99;
      const ib = b.base ? order.indexOf(b.name) : 99;
      return ia - ib;
    });
    return { family: this.family, name: this.name, chains };
  }
}

function sp<T>(s: Setting<T>): Span | null {
  return s.span;
}

/** An owner as the rules test it: one id or name, or a range item of the policy (`106-108`: the kernel's range match). */
type OwnerItem = Owner | { kind: 'range'; lo: number; hi: number; span: Span | null };

const sameSpan = (a: Span | null, b: Span | null) => !!a && !!b && a.file === b.file && a.start.offset === b.start.offset && a.end.offset === b.end.offset;

/** The policy's owners with each range item (the consecutive ids of one item) as one range. */
export function ownerItems(os: readonly Owner[]): OwnerItem[] {
  const out: OwnerItem[] = [];
  for (const o of os) {
    const last = out[out.length - 1];
    const end = last?.kind === 'range' ? last.hi : last?.kind === 'id' ? last.id : undefined;
    if (o.kind === 'id' && last && end !== undefined && end + 1 === o.id && sameSpan(last.span, o.span)) out[out.length - 1] = { kind: 'range', lo: last.kind === 'range' ? last.lo : end, hi: o.id, span: o.span };
    else out.push(o);
  }
  return out;
}

/** The proxy's owners, as (kind, owner) pairs: uids first, then gids. */
function proxyOwners(p: Policy): { kind: 'uid' | 'gid'; o: OwnerItem }[] {
  return [...ownerItems(p.proxy.uids.value).map((o) => ({ kind: 'uid' as const, o })), ...ownerItems(p.proxy.gids.value).map((o) => ({ kind: 'gid' as const, o }))];
}

function ofFamily<T extends { family: Family }>(xs: T[], f: Family): T[] {
  return xs.filter((x) => x.family === f);
}

function isLoopbackCidr(c: CidrItem): boolean {
  if (c.family === 'ipv4') return c.first >> 24n === 127n || (c.prefix < 8 && c.first <= 0x7f000000n && 0x7fffffffn <= c.last);
  return c.first <= 1n && 1n <= c.last;
}

export function lowerFamily(p: Policy, f: Family): Table[] {
  const nat = new TableBuilder('nat', f, p.span);
  const mangle = new TableBuilder('mangle', f, p.span);
  const raw = new TableBuilder('raw', f, p.span);
  const owners = proxyOwners(p);
  const ownersSpan = sp(p.proxy.uids) ?? sp(p.proxy.gids);
  const localhost = ofFamily(p.loopback.localhost.value, f).map(cidr);
  const localhostSpan = sp(p.loopback.localhost);
  const notLocalhost: Match[] = localhost.length ? [M.daddr(localhost, true, SET.localhost)] : [];
  const dns = p.dns.capture.value;
  const dnsServers = dns.kind === 'servers' ? ofFamily(dns.servers, f) : [];
  // DNS capture on: port 53 is kept out of the loopback rules and the proxy's own DNS gets
  // its conntrack zones in every family; the redirect itself only where there is a server
  // of the family to capture (or all of them).
  const dnsOn = dns.kind !== 'off';
  const dnsRedirect = dns.kind === 'all' || dnsServers.length > 0;
  const dnsSpan = sp(p.dns.capture);
  const dnsPort = p.dns.port.value;
  const tunnel = p.proxy.tunnelPort.value;
  const mode = p.inbound.mode.value;
  const inCap = p.inbound.capturePorts.value;
  const outCap = p.outbound.captureCidrs.value;
  const outCidrs = outCap.kind === 'list' ? ofFamily(outCap.items, f) : [];
  const excludedCidrs = ofFamily(p.outbound.excludeCidrs.value, f).map(cidr);
  const capturePorts = p.outbound.capturePorts.value;
  const outboundCaptures = outCap.kind === 'all' || outCidrs.length > 0 || capturePorts.length > 0;
  const reroute = p.interfaces.reroute.value;
  const passthrough = ofFamily(p.loopback.passthrough.value, f);
  const needRedirectChain = outboundCaptures || reroute.length > 0;

  // ---- mangle: invalid packets ---------------------------------------------------------
  if (p.dropInvalid.value) {
    mangle.add('PREROUTING', [{ kind: 'ctstate', neg: false, states: ['invalid'] }], J(CH.drop), sp(p.dropInvalid), 'packets conntrack marks INVALID are dropped');
    mangle.add(CH.drop, [], { kind: 'drop' }, sp(p.dropInvalid), 'drop');
  }

  // ---- excluded interfaces ------------------------------------------------------------------
  const excludeIfaces = (t: TableBuilder) => {
    for (const i of p.interfaces.exclude.value) {
      t.add('PREROUTING', [M.iif(i.name, i.prefix)], RET, i.span, `traffic arriving on ${i.name}${i.prefix ? '+' : ''} is not captured`);
      t.add('OUTPUT', [M.oif(i.name, i.prefix)], RET, i.span, `traffic leaving through ${i.name}${i.prefix ? '+' : ''} is not captured`);
    }
  };

  // ---- nat: redirect targets ------------------------------------------------------------
  if (needRedirectChain) {
    nat.add(CH.redirect, [M.proto('tcp')], { kind: 'redirect', port: p.proxy.outboundPort.value }, sp(p.proxy.outboundPort), "captured outbound TCP goes to the proxy's outbound port");
  }
  const needInRedirect = p.loopback.selfRedirect.value || (mode.kind === 'redirect' && inCap.kind !== 'none');
  if (needInRedirect) {
    nat.add(CH.inRedirect, [M.proto('tcp')], { kind: 'redirect', port: p.proxy.inboundPort.value }, sp(p.proxy.inboundPort), "captured inbound TCP goes to the proxy's inbound port");
  }

  // ---- nat PREROUTING: logging, virtual networks, rerouted interfaces, excluded interfaces, inbound ----
  const log = p.log.value;
  const logAction = (hook: string): Action => ({ kind: 'log', prefix: `${hook}:`, ...(log?.level !== undefined ? { level: log.level } : {}) });
  if (log) nat.add('PREROUTING', [], logAction('PREROUTING'), sp(p.log), 'arriving connections are logged (LOG does not stop the chain)');
  for (const v of p.interfaces.vnet.value) {
    if (v.cidr.family !== f) continue;
    const iif = M.iif(v.iface.name, v.iface.prefix);
    const name = `${v.iface.name}${v.iface.prefix ? '+' : ''}`;
    nat.add('PREROUTING', [iif, M.proto('udp'), M.dport([[DNS_PORT, DNS_PORT]])], { kind: 'redirect', port: dnsPort }, v.span, `DNS over UDP arriving on ${name} goes to the proxy's DNS port`);
    nat.add('PREROUTING', [iif, M.proto('tcp'), M.daddr([cidr(v.cidr)], true)], { kind: 'redirect', port: p.proxy.outboundPort.value }, v.span, `TCP arriving on ${name} to outside its network goes to the proxy's outbound port`);
  }
  for (const i of reroute) {
    const name = `${i.name}${i.prefix ? '+' : ''}`;
    const iif = M.iif(i.name, i.prefix);
    for (const x of excludedCidrs) nat.add('PREROUTING', [iif, M.daddr([x], false, SET.excludedOutboundCidrs)], RET, sp(p.outbound.excludeCidrs), `traffic rerouted from ${name} to an excluded CIDR is not captured`);
    if (outCap.kind === 'all') nat.add('PREROUTING', [iif], J(CH.redirect), i.span, `traffic arriving on ${name} is captured as outbound`);
    else for (const c of outCidrs) nat.add('PREROUTING', [iif, M.daddr([cidr(c)], false, SET.capturedOutboundCidrs)], J(CH.redirect), c.span, `traffic arriving on ${name} to a captured CIDR is captured as outbound`);
    nat.add('PREROUTING', [iif], RET, i.span, `other traffic arriving on ${name} is not captured`);
  }
  excludeIfaces(nat);
  if (mode.kind === 'redirect' && inCap.kind !== 'none') {
    nat.add('PREROUTING', [M.proto('tcp')], J(CH.inbound), sp(p.inbound.capturePorts), 'inbound TCP is examined for capture');
    inboundRules(nat, p, tunnel, (matches, span, purpose) => nat.add(CH.inbound, matches, J(CH.inRedirect), span, purpose));
  }

  // ---- nat OUTPUT ------------------------------------------------------------------------
  nat.add('OUTPUT', [], J(CH.output), p.span, 'locally generated traffic is examined for capture');
  if (log) nat.add(CH.output, [], logAction('OUTPUT'), sp(p.log), 'locally generated connections are logged (LOG does not stop the chain)');
  // Per-owner exclusions come first, ahead of the proxy's self-redirect and DNS, where Kuma
  // puts them (nat OUTPUT, before its chains).
  for (const x of p.outbound.excludePortsForUids.value) {
    for (const proto of x.protocols) {
      for (const o of ownerItems(x.uids)) {
        nat.add(CH.output, [M.proto(proto), M.dport([[x.ports.lo, x.ports.hi]]), M.owner('uid', o)], RET, x.span ?? sp(p.outbound.excludePortsForUids), `ports excluded for this owner are not captured (${proto.toUpperCase()})`);
      }
    }
  }
  const excl = p.outbound.excludePorts.value;
  if (excl.length) {
    nat.add(CH.output, [M.proto('tcp'), M.dport(ports(excl), false, SET.excludedOutboundPorts)], RET, sp(p.outbound.excludePorts), 'excluded outbound ports are not captured (TCP)');
    nat.add(CH.output, [M.proto('udp'), M.dport(ports(excl), false, SET.excludedOutboundPorts)], RET, sp(p.outbound.excludePorts), 'excluded outbound ports are not captured (UDP)');
  }
  const exclusionsFirst = p.order.value === 'exclusions-first';
  const tcpDns = p.dns.tcp.value === 'capture';
  const dnsProtocols = tcpDns ? (['tcp', 'udp'] as const) : (['udp'] as const);
  const excludeCidrs = () => {
    for (const x of excludedCidrs) nat.add(CH.output, [M.daddr([x], false, SET.excludedOutboundCidrs)], RET, sp(p.outbound.excludeCidrs), 'traffic to an excluded CIDR is not captured');
  };
  const dnsCapture = () => {
    if (!dnsRedirect) return;
    nat.add(CH.output, [], J(CH.outputDns), dnsSpan, 'DNS is examined for capture');
    const dsts = dns.kind === 'all' ? [undefined] : dnsServers;
    for (const proto of dnsProtocols) {
      for (const s of dsts) {
        nat.add(CH.outputDns, [M.proto(proto), M.dport([[DNS_PORT, DNS_PORT]]), ...(s ? [M.daddr([hostCidr(s)])] : [])], { kind: 'redirect', port: dnsPort }, s?.span ?? dnsSpan, `DNS over ${proto.toUpperCase()}${s ? ' to ' + s.text : ''} goes to the proxy's DNS port`);
      }
    }
  };
  if (exclusionsFirst) {
    // Kuma's order: excluded destinations, then DNS (the proxy's own DNS left out), then
    // the proxy's loopback rules.
    excludeCidrs();
    if (dnsRedirect) {
      for (const proto of dnsProtocols) for (const { kind, o } of owners) nat.add(CH.output, [M.proto(proto), M.dport([[DNS_PORT, DNS_PORT]]), M.owner(kind, o)], RET, dnsSpan, "the proxy's own DNS is not captured");
    }
    dnsCapture();
  }
  for (const a of passthrough) {
    nat.add(CH.output, [lo(), M.saddr([hostCidr(a)])], RET, a.span, "the proxy's passthrough to the app is never captured again");
  }
  if (p.loopback.selfRedirect.value) {
    const skip: [number, number][] = [];
    if (dnsOn && tcpDns) skip.push([DNS_PORT, DNS_PORT]);
    if (tunnel !== null) skip.push([tunnel, tunnel]);
    skip.sort((a, b) => a[0] - b[0]);
    for (const { kind, o } of owners) {
      nat.add(CH.output, [lo(), ...notLocalhost, M.proto('tcp'), ...(skip.length ? [M.dport(skip, true)] : []), M.owner(kind, o)], J(CH.inRedirect), sp(p.loopback.selfRedirect), "the proxy's connections to the pod's own IP go to its inbound listener");
    }
  }
  for (const { kind, o } of owners) {
    nat.add(CH.output, [M.owner(kind, o)], RET, o.span ?? ownersSpan, "the proxy's own traffic is not captured");
  }
  if (!exclusionsFirst) dnsCapture();
  // The apps' DNS over TCP left alone (Kuma); the proxy's has been dealt with above.
  if (dnsOn && !tcpDns) nat.add(CH.output, [M.proto('tcp'), M.dport([[DNS_PORT, DNS_PORT]])], RET, sp(p.dns.tcp), "the apps' DNS over TCP is not captured");
  // After the proxy's returns and DNS, what is left on lo is the app talking to itself.
  // (Istio returns it earlier, which lets TCP port 53 on lo fall through to outbound
  // capture: difference D5.) A captured loopback CIDR keeps lo traffic in play.
  const loopbackCaptured = outCidrs.some(isLoopbackCidr);
  if (!loopbackCaptured) {
    nat.add(CH.output, [lo()], RET, localhostSpan, "the app's traffic inside the pod (localhost, own pod IP) is not captured");
  }
  const groups = p.outbound.groups.value;
  if (groups.kind === 'list') {
    nat.add(CH.output, ownerItems(groups.items).map((g) => M.owner('gid', g, true)), RET, sp(p.outbound.groups), 'traffic of groups not listed is not captured');
  }
  for (const g of ownerItems(p.outbound.excludeGroups.value)) {
    nat.add(CH.output, [M.owner('gid', g)], RET, g.span, 'traffic of an excluded group is not captured');
  }
  if (localhost.length) nat.add(CH.output, [M.daddr(localhost, false, SET.localhost)], RET, localhostSpan, 'traffic to localhost is not captured');
  if (!exclusionsFirst) excludeCidrs();
  if (capturePorts.length) {
    nat.add(CH.output, [M.proto('tcp'), M.dport(ports(capturePorts), false, SET.capturedOutboundPorts)], J(CH.redirect), sp(p.outbound.capturePorts), 'traffic to a captured port is captured whatever its destination');
  }
  if (outCap.kind === 'all') nat.add(CH.output, [], J(CH.redirect), sp(p.outbound.captureCidrs), 'outbound traffic is captured');
  for (const c of outCidrs) nat.add(CH.output, [M.daddr([cidr(c)], false, SET.capturedOutboundCidrs)], J(CH.redirect), c.span, 'traffic to a captured CIDR is captured');

  // ---- raw: conntrack zones for DNS (UDP) ------------------------------------------------------
  const srvZones = dns.kind === 'all' ? [undefined] : dnsServers;
  // Without proxy owners and without a server of this family, the zone chain would be empty.
  if (dnsOn && p.dns.conntrackZones.value && (owners.length > 0 || srvZones.length > 0)) {
    raw.add('OUTPUT', [], J(CH.outputDns), dnsSpan, 'DNS conntrack zones');
    for (const { kind, o } of owners) {
      raw.add(CH.outputDns, [M.proto('udp'), M.dport([[DNS_PORT, DNS_PORT]]), M.owner(kind, o)], { kind: 'ct-zone', zone: 1 }, dnsSpan, "the proxy's upstream DNS queries use conntrack zone 1");
      raw.add(CH.outputDns, [M.proto('udp'), M.sport([[dnsPort, dnsPort]]), M.owner(kind, o)], { kind: 'ct-zone', zone: 2 }, dnsSpan, "the proxy's DNS answers use conntrack zone 2");
    }
    const srv = srvZones;
    for (const s of srv) {
      raw.add(CH.outputDns, [M.proto('udp'), M.dport([[DNS_PORT, DNS_PORT]]), ...(s ? [M.daddr([hostCidr(s)])] : [])], { kind: 'ct-zone', zone: 2 }, s?.span ?? dnsSpan, "the app's DNS queries use conntrack zone 2");
    }
    if (srv.length) raw.add('PREROUTING', [], J(CH.inbound), dnsSpan, 'DNS conntrack zones (answers)');
    for (const s of srv) {
      raw.add(CH.inbound, [M.proto('udp'), M.sport([[DNS_PORT, DNS_PORT]]), ...(s ? [M.saddr([hostCidr(s)])] : [])], { kind: 'ct-zone', zone: 1 }, s?.span ?? dnsSpan, 'DNS answers from upstream use conntrack zone 1');
    }
  }

  // ---- mangle: TPROXY inbound ---------------------------------------------------------------
  if (mode.kind === 'tproxy' && inCap.kind !== 'none') {
    const ms = sp(p.inbound.mode);
    excludeIfaces(mangle);
    mangle.add(CH.divert, [], { kind: 'mark-set', value: mode.mark, mask: FULL_MASK }, ms, 'established inbound connections keep the tproxy mark');
    mangle.add(CH.divert, [], { kind: 'accept' }, ms, 'and are delivered');
    mangle.add(CH.tproxy, [...notLocalhost, M.proto('tcp')], { kind: 'tproxy', port: p.proxy.inboundPort.value, mark: mode.mark, mask: FULL_MASK }, ms, "new inbound connections are delivered to the proxy's inbound port");
    for (const i of reroute) mangle.add('PREROUTING', [M.iif(i.name, i.prefix)], RET, i.span, `traffic arriving on ${i.name}${i.prefix ? '+' : ''} is outbound traffic, never inbound-captured`);
    mangle.add('PREROUTING', [M.proto('tcp')], J(CH.inbound), sp(p.inbound.capturePorts), 'inbound TCP is examined for capture');
    mangle.add(CH.inbound, [M.proto('tcp'), M.mark(mode.mark)], RET, ms, 'packets already marked are not diverted again');
    for (const a of passthrough) mangle.add(CH.inbound, [M.proto('tcp'), M.saddr([hostCidr(a)]), M.iif('lo', false)], RET, a.span, "the proxy's passthrough to the app is not captured");
    mangle.add(CH.inbound, [M.proto('tcp'), M.iif('lo', false), M.mark(mode.localMark, true)], RET, ms, 'loopback traffic other than the proxy\'s own calls to the pod IP is not captured');
    const established: Match = { kind: 'ctstate', neg: false, states: ['established', 'related'] };
    inboundRules(mangle, p, tunnel, (matches, span, purpose) => {
      mangle.add(CH.inbound, [...matches, established], J(CH.divert), span, `${purpose} (established)`);
      mangle.add(CH.inbound, matches, J(CH.tproxy), span, purpose);
    });
    mangle.add('PREROUTING', [M.proto('tcp'), M.mark(mode.mark)], { kind: 'connmark-save', nfmask: FULL_MASK, ctmask: FULL_MASK }, ms, 'the tproxy mark is saved on the connection');
    mangle.add('OUTPUT', [M.proto('tcp'), lo(), M.mark(mode.mark)], RET, ms, 'marked loopback traffic is left alone');
    for (const { kind, o } of owners) {
      mangle.add('OUTPUT', [...notLocalhost, M.proto('tcp'), lo(), M.owner(kind, o)], { kind: 'mark-set', value: mode.localMark, mask: FULL_MASK }, ms, "the proxy's own calls to the pod IP are marked so they are not diverted");
    }
    mangle.add('OUTPUT', [M.proto('tcp'), M.connmark(mode.mark)], { kind: 'connmark-restore', nfmask: FULL_MASK, ctmask: FULL_MASK }, ms, 'replies of diverted connections get the tproxy mark back (routed to the proxy)');
  }

  return [raw.build(), mangle.build(), nat.build()].filter((t): t is Table => !!t);
}

/** The inbound capture decision, shared by REDIRECT (nat) and TPROXY (mangle). */
function inboundRules(t: TableBuilder, p: Policy, tunnel: number | null, capture: (m: Match[], span: Span | null, purpose: string) => void): void {
  const inCap = p.inbound.capturePorts.value;
  const chain = CH.inbound;
  if (tunnel !== null) t.add(chain, [M.proto('tcp'), M.dport([[tunnel, tunnel]])], RET, sp(p.proxy.tunnelPort), "the proxy's tunnel port is never captured");
  const ex = p.inbound.excludePorts.value;
  if (inCap.kind === 'all' && ex.length) t.add(chain, [M.proto('tcp'), M.dport(ports(ex), false, SET.excludedInboundPorts)], RET, sp(p.inbound.excludePorts), 'excluded inbound ports are not captured');
  if (inCap.kind !== 'none') {
    for (const s of ofFamily(p.inbound.excludeSources.value, t.family)) t.add(chain, [M.saddr([cidr(s)])], RET, s.span ?? sp(p.inbound.excludeSources), 'inbound traffic from an excluded source is not captured');
  }
  if (inCap.kind === 'all') {
    capture([M.proto('tcp')], sp(p.inbound.capturePorts), 'inbound TCP is captured');
  } else if (inCap.kind === 'list') {
    capture([M.proto('tcp'), M.dport(ports(inCap.items), false, SET.capturedInboundPorts)], sp(p.inbound.capturePorts), 'inbound TCP to a captured port is captured');
  }
}

/** How far 'attach' moves meshcap's base chains from the standard priorities (TABLE_PRIORITY). */
export const ATTACH_SHIFT = { first: -1, last: 1, standard: 0 } as const;

export function lower(p: Policy): RuleSet {
  const tables: Table[] = [];
  for (const f of ['ipv4', 'ipv6'] as const) if (p.families.value.includes(f)) tables.push(...lowerFamily(p, f));
  const mode = p.inbound.mode.value;
  // 'attach': one step before or after the standard priority of every base chain, so that
  // meshcap's chains run before or after other tools' on the hook whoever registered first.
  // The shift is the same for all of them: their order among themselves does not change.
  const shift = ATTACH_SHIFT[p.attach.value];
  if (shift) for (const t of tables) for (const c of t.chains) if (c.base) c.base = { ...c.base, priority: c.base.priority + shift };
  const rs: RuleSet = { name: p.name, tables, routing: { loopbackAddresses: [] } };
  if (mode.kind === 'tproxy' && p.inbound.capturePorts.value.kind !== 'none') {
    rs.routing.tproxy = { mark: mode.mark, table: mode.table, families: [...p.families.value] };
  }
  if (p.families.value.includes('ipv6')) {
    rs.routing.loopbackAddresses = ofFamily(p.loopback.passthrough.value, 'ipv6').filter((a) => a.text !== '::1').map((a) => a.text);
  }
  return rs;
}
