// What a policy means, packet by packet, read directly from the validated policy (not
// from the lowered rules). The equivalence engine compares the IR with this, so that a
// lowering bug (a rule in the wrong place, a missing IPv6 twin) is caught, not only a
// backend bug. Written as the language documentation states the behaviour, in the order
// of precedence docs/language.md gives.
import type { Policy } from '../language/ast.js';
import type { Outcome, Packet } from '../sim/packet.js';
import { addrValue, type SimResult, type TraceStep } from '../sim/simulate.js';
import type { Constants, ConstantsFor, Side } from '../verify/side.js';
import { listsOf, type Lists } from './lists.js';
import type { CidrConst } from './sets.js';

const DNS = 53;

/**
 * Class labels for `Constants.alike` (see `Meaning.constants`): one per set the constants
 * are taken from. Every entry pushed from a set carries that set's label, so the labels
 * covering a value say exactly which of these sets hold it. Two different sets never share
 * a label; one set may be pushed twice (same label).
 */
const L = {
  // ports
  dns: 0,
  dnsPort: 1,
  tunnel: 2,
  outExclude: 3,
  outCapture: 4,
  outExcludeInCapture: 5,
  inExclude: 6,
  inCapture: 7,
  ownerPorts: 8,
  // addresses
  servers: 0,
  localhost: 1,
  localOrExcluded: 2,
  outCidrsOutsideLocalOrExcluded: 3,
  passthrough: 4,
  excludeCidrs: 5,
  outCidrsOutsideExcluded: 6,
  inExcludeSources: 7,
  // owners
  proxyUids: 0,
  proxyGids: 1,
  groups: 2,
  excludeGroups: 3,
  /** The owners of item i of 'exclude ports-for-uids' take label ownerPortItem + i. */
  ownerPortItem: 10,
  // interfaces
  excludeIf: 0,
  rerouteIf: 1,
  lo: 2,
  /** The interface of item i of 'interfaces { vnet }' takes label vnetIf + i (each has its own CIDR). */
  vnetIf: 10,
  /** The CIDR of item i of 'interfaces { vnet }' takes label vnetCidr + i. */
  vnetCidr: 20,
} as const;

type Labelled = 'ports' | 'cidrs' | 'owners' | 'ifaces';

/** Push the entries of one set, each with the set's label. */
function add<K extends Labelled>(out: Constants, kind: K, items: readonly Constants[K][number][], label: number): void {
  const xs = out[kind] as Constants[K][number][];
  const ls = out.alike![kind]!;
  for (const x of items) {
    xs.push(x);
    ls.push(label);
  }
}

export class Meaning {
  private readonly l: Lists;

  constructor(readonly p: Policy) {
    this.l = listsOf(p);
  }

  /** The outcome for one packet, with the statements that decided it as the path. */
  evaluate(pkt: Packet): SimResult {
    const path: TraceStep[] = [];
    const out: Outcome = { verdict: 'accept', redirect: null, tproxy: null, mark: pkt.mark >>> 0, ctmark: pkt.ctmark >>> 0, ctZone: null };
    const why = (effect: string) => path.push({ family: pkt.family, table: 'policy', chain: this.p.name, index: 0, effect });
    const p = this.p;
    const l = this.l;
    const f = pkt.family;
    if (!p.families.value.includes(f)) {
      why(`${f} is not in 'families': not captured`);
      return { outcome: out, path };
    }
    const proto = pkt.protocol;
    const tcp = proto === 'tcp';
    const ported = tcp || proto === 'udp' || proto === 'sctp';
    const dport = ported ? pkt.dport : -1;
    const sport = ported ? pkt.sport : -1;
    const src = addrValue(pkt.src);
    const dst = addrValue(pkt.dst);
    const dns = p.dns.capture.value;
    const dnsOn = dns.kind !== 'off';
    const dnsHere = dns.kind === 'all' || l.servers.any(f);
    const isDnsServer = (v: bigint) => dns.kind === 'all' || l.servers.has(f, v);
    const localhost = (v: bigint) => l.localhost.has(f, v);
    const mode = p.inbound.mode.value;
    const inCap = p.inbound.capturePorts.value;
    const tunnel = p.proxy.tunnelPort.value;
    const outCap = p.outbound.captureCidrs.value;
    const isNew = pkt.ctstate === 'new';

    if (pkt.hook === 'output') {
      const proxy = l.proxyUids.has(pkt.uid) || l.proxyGids.has(pkt.gid);
      const excludedIf = l.excludeIf.has(pkt.oif);
      // DNS conntrack zones (UDP): the proxy's queries zone 1, its answers zone 2, the
      // app's queries to a captured server zone 2.
      if (dnsOn && p.dns.conntrackZones.value && proto === 'udp') {
        if (proxy && dport === DNS) out.ctZone = 1;
        else if (proxy && sport === p.dns.port.value) out.ctZone = 2;
        else if (dnsHere && dport === DNS && isDnsServer(dst)) out.ctZone = 2;
        if (out.ctZone !== null) why(`DNS conntrack zone ${out.ctZone}`);
      }
      // TPROXY: the proxy's own loopback calls to the pod IP carry the local mark; replies
      // of diverted connections get the tproxy mark back.
      if (mode.kind === 'tproxy' && inCap.kind !== 'none' && !excludedIf && tcp) {
        if (!(pkt.oif === 'lo' && pkt.mark === mode.mark)) {
          if (pkt.oif === 'lo' && proxy && !localhost(dst)) {
            out.mark = mode.localMark;
            why('the proxy calls the pod IP: local mark');
          }
          if (pkt.ctmark === mode.mark) {
            out.mark = pkt.ctmark;
            why('reply of a diverted connection: tproxy mark restored');
          }
        }
      }
      if (!isNew) return { outcome: out, path };
      if (excludedIf) return (why(`leaves through excluded interface ${pkt.oif}`), { outcome: out, path });
      const redirect = (port: number, what: string) => {
        out.redirect = { port };
        why(what);
        return { outcome: out, path };
      };
      if ((tcp || proto === 'udp') && l.ownerPorts.has(proto, dport, pkt.uid)) return (why('port excluded for this owner'), { outcome: out, path });
      if ((tcp || proto === 'udp') && l.outExcludePorts.has(dport)) return (why('excluded outbound port'), { outcome: out, path });
      const tcpDns = p.dns.tcp.value === 'capture';
      // DNS to the DNS port: UDP, and TCP unless 'tcp pass'; never the proxy's own.
      const dnsCaptured = !proxy && dnsHere && (proto === 'udp' || (tcp && tcpDns)) && dport === DNS && isDnsServer(dst);
      if (p.order.value === 'exclusions-first') {
        if (l.excludeCidrs.has(f, dst)) return (why('excluded CIDR (examined first)'), { outcome: out, path });
        if (dnsCaptured) return redirect(p.dns.port.value, 'DNS is captured');
      }
      if (pkt.oif === 'lo' && l.passthrough.has(f, src)) return (why('passthrough source'), { outcome: out, path });
      if (proxy) {
        const skip = (tunnel !== null && dport === tunnel) || (dnsOn && tcpDns && dport === DNS);
        if (p.loopback.selfRedirect.value && pkt.oif === 'lo' && tcp && !localhost(dst) && !skip) {
          return redirect(p.proxy.inboundPort.value, "the proxy calls the pod's own IP: treated as inbound");
        }
        return (why("the proxy's own traffic"), { outcome: out, path });
      }
      if (dnsCaptured) return redirect(p.dns.port.value, 'DNS is captured');
      if (dnsOn && !tcpDns && tcp && dport === DNS) return (why("the apps' DNS over TCP is left alone"), { outcome: out, path });
      if (pkt.oif === 'lo' && !l.loopbackCaptured[f]) return (why('the app talks to itself over lo'), { outcome: out, path });
      if (l.groups && !l.groups.has(pkt.gid)) return (why('group not captured'), { outcome: out, path });
      if (l.excludeGroups.has(pkt.gid)) return (why('excluded group'), { outcome: out, path });
      if (localhost(dst)) return (why('localhost'), { outcome: out, path });
      if (l.excludeCidrs.has(f, dst)) return (why('excluded CIDR'), { outcome: out, path });
      if (tcp && l.outCapturePorts.has(dport)) return redirect(p.proxy.outboundPort.value, 'captured port');
      if (tcp && (outCap.kind === 'all' || l.outCidrs.has(f, dst))) return redirect(p.proxy.outboundPort.value, 'captured destination');
      why('not captured');
      return { outcome: out, path };
    }

    // ---- arriving packets ---------------------------------------------------------------
    if (dnsHere && p.dns.conntrackZones.value && proto === 'udp' && sport === DNS && isDnsServer(src)) {
      out.ctZone = 1;
      why('DNS answer: conntrack zone 1');
    }
    if (p.dropInvalid.value && pkt.ctstate === 'invalid') {
      out.verdict = 'drop';
      why('conntrack INVALID: dropped');
      return { outcome: out, path };
    }
    const excludedIf = l.excludeIf.has(pkt.iif);
    const rerouted = l.rerouteIf.has(pkt.iif);
    const captured = (port: number) => tcp && this.capturedInbound(port) && !l.inExcludeSources.has(f, src);
    if (mode.kind === 'tproxy' && inCap.kind !== 'none' && !excludedIf && !rerouted && tcp) {
      let mark = pkt.mark;
      let decided = false;
      if (mark === mode.mark) {
        // already marked: left alone, and the mark is saved on the connection so that
        // its replies are routed back to the proxy
        out.ctmark = mode.mark >>> 0;
        why('already carries the tproxy mark: saved on the connection');
      } else if (pkt.iif === 'lo' && l.passthrough.has(f, src)) {
        // the proxy's passthrough
      } else if (pkt.iif === 'lo' && mark !== mode.localMark) {
        // other loopback traffic
      } else if (captured(dport)) {
        if (pkt.ctstate === 'established' || pkt.ctstate === 'related') {
          out.mark = mode.mark;
          why('established inbound connection: diverted to the proxy');
          decided = true;
        } else if (!localhost(dst)) {
          mark = mode.mark;
          out.mark = mark;
          out.tproxy = { port: p.proxy.inboundPort.value, mark };
          why('inbound TCP captured (tproxy)');
          decided = true;
        }
      }
      if (decided && out.tproxy) {
        // TPROXY ends mangle PREROUTING; nat may still act below.
      } else if (decided) {
        return { outcome: out, path };
      }
      out.mark = mark;
    }
    if (!isNew) return { outcome: out, path };
    const vnets = l.vnet.matching(f, pkt.iif);
    if (vnets.length && proto === 'udp' && dport === DNS) {
      out.redirect = { port: p.dns.port.value };
      return (why(`DNS arriving on ${pkt.iif} (a virtual network) is captured`), { outcome: out, path });
    }
    if (tcp && vnets.some((v) => !v.cidr.has(f, dst))) {
      out.redirect = { port: p.proxy.outboundPort.value };
      return (why(`TCP from the virtual network on ${pkt.iif} to outside it is captured as outbound`), { outcome: out, path });
    }
    if (rerouted) {
      if (l.excludeCidrs.has(f, dst)) return (why('rerouted traffic to an excluded CIDR'), { outcome: out, path });
      if (tcp && (outCap.kind === 'all' || l.outCidrs.has(f, dst))) {
        out.redirect = { port: p.proxy.outboundPort.value };
        why(`traffic from ${pkt.iif} is captured as outbound`);
      }
      return { outcome: out, path };
    }
    if (excludedIf) return (why(`arrives on excluded interface ${pkt.iif}`), { outcome: out, path });
    if (mode.kind === 'redirect' && captured(dport)) {
      out.redirect = { port: p.proxy.inboundPort.value };
      why('inbound TCP captured');
    }
    return { outcome: out, path };
  }

  /** Whether inbound capture takes a TCP packet to this port ('capture ports', 'exclude ports', never the tunnel port). */
  private capturedInbound(port: number): boolean {
    const inCap = this.p.inbound.capturePorts.value;
    const tunnel = this.p.proxy.tunnelPort.value;
    if (tunnel !== null && port === tunnel) return false;
    return inCap.kind === 'all' ? !this.l.inExcludePorts.has(port) : inCap.kind === 'list' && this.l.inCapturePorts.has(port);
  }

  /**
   * Where this meaning can change along one field, given the fields the engine has fixed
   * so far: hook, family, protocol, ctstate, (socket,) iif, oif, uid, gid, marks, sport,
   * dport, saddr, then daddr, in that order (src/verify/explore.ts: the discrete fields,
   * the marks, the interval fields). Fields after `field` in that order are NOT fixed:
   * their values in `pkt` are placeholders and are never read for `field`.
   *
   * Every value `evaluate` compares the field with on some path still open for packets
   * with these fixed fields, and only those: a list is left out where the fixed fields
   * already decide the outcome whatever the field's value (an excluded port, an excluded
   * interface, a connection that is not new ...), or where every value leads to the same
   * outcome (a UDP packet can only be redirected as DNS, so outbound CIDRs do not matter
   * for it). Lists are returned as their unions (sorted, merged ranges; CIDRs as the
   * fewest prefixes covering the union): `evaluate` only asks whether a value is in a
   * list, never which item holds it. Mirrors `evaluate` branch by branch; the tests check
   * it against random packets (test/verify/meaning.test.ts, meaning-index.test.ts).
   *
   * `alike`: every entry carries the label of the set it was taken from (`L`), a set being
   * a list, a difference of two lists, or one port (53, the tunnel port). The engine keys
   * a value by the labels of the entries that hold at it (src/verify/explore-interval.ts,
   * explore.ts), and since the entries of a label cover exactly its set, that key says
   * which of the sets hold the value: all `evaluate` asks. Values covered by no entry are
   * in none of the sets, one class as before. Two different sets must never share a label.
   */
  constants(field: Parameters<ConstantsFor>[0], pkt: Packet): Constants {
    const out: Constants = { ports: [], cidrs: [], owners: [], ifaces: [], marks: [], alike: { ports: [], cidrs: [], owners: [], ifaces: [] } };
    if (!this.p.families.value.includes(pkt.family)) return out;
    if (pkt.hook === 'output') this.outputConstants(field, pkt, out);
    else this.arrivingConstants(field, pkt, out);
    return out;
  }

  private outputConstants(field: Parameters<ConstantsFor>[0], pkt: Packet, out: Constants): void {
    const p = this.p;
    const l = this.l;
    const f = pkt.family;
    const port = (x: number | null, label: number) => {
      if (x !== null) add(out, 'ports', [[x, x]], label);
    };
    const ports = (rs: [number, number][], label: number) => add(out, 'ports', rs, label);
    const cidrs = (cs: CidrConst[], label: number) => add(out, 'cidrs', cs, label);
    const dns = p.dns.capture.value;
    const dnsOn = dns.kind !== 'off';
    const dnsHere = dns.kind === 'all' || l.servers.any(f);
    const mode = p.inbound.mode.value;
    const tproxy = mode.kind === 'tproxy' && p.inbound.capturePorts.value.kind !== 'none';
    const tcp = pkt.protocol === 'tcp';
    const udp = pkt.protocol === 'udp';
    const isNew = pkt.ctstate === 'new';
    const outCap = p.outbound.captureCidrs.value;
    const lo = pkt.oif === 'lo';
    // Known from 'uid' on (oif is fixed):
    const excludedIf = l.excludeIf.has(pkt.oif);
    const natOpen = isNew && !excludedIf;
    const tproxyPart = tproxy && tcp && !excludedIf;
    // Whether being the proxy changes anything: its DNS zones, the TPROXY local mark, and
    // for a new connection the proxy's branch (no redirect for UDP) against the app's.
    const proxyMatters = (udp && dnsOn) || (tproxyPart && lo) || (natOpen && (tcp || udp));
    // Whether a TCP connection of the app can still be redirected after the DNS check:
    // not over lo when lo is not captured, and something captures.
    const laterCapture = !(lo && !l.loopbackCaptured[f]) && (!l.outCapturePorts.empty || outCap.kind === 'all' || (outCap.kind === 'list' && l.outCidrs.any(f)));
    switch (field) {
      case 'iif':
        return;
      case 'oif':
        // TPROXY marks (TCP); for a new TCP or UDP connection, the excluded interfaces and lo
        // decide whether it can be redirected. SCTP and ICMP are never redirected.
        if ((tcp && (tproxy || isNew)) || (udp && isNew)) {
          add(out, 'ifaces', l.excludeIf.patterns, L.excludeIf);
          add(out, 'ifaces', [{ name: 'lo', prefix: false }], L.lo);
        }
        return;
      case 'uid':
        if (proxyMatters) add(out, 'owners', l.proxyUids.values, L.proxyUids);
        if (natOpen && (tcp || udp)) for (const x of l.ownerPorts.ofProtocol(pkt.protocol)) add(out, 'owners', x.uids.values, L.ownerPortItem + x.index);
        return;
      case 'gid': {
        if (l.proxyUids.has(pkt.uid)) return; // the proxy whatever its group
        if (proxyMatters) add(out, 'owners', l.proxyGids.values, L.proxyGids);
        if (natOpen && tcp && laterCapture) {
          if (l.groups) add(out, 'owners', l.groups.values, L.groups);
          add(out, 'owners', l.excludeGroups.values, L.excludeGroups);
        }
        return;
      }
    }
    // Known from 'marks' on (uid and gid are fixed):
    const proxy = l.proxyUids.has(pkt.uid) || l.proxyGids.has(pkt.gid);
    const appCaptured = !proxy && laterCapture && (!l.groups || l.groups.has(pkt.gid)) && !l.excludeGroups.has(pkt.gid);
    switch (field) {
      case 'marks':
        if (tproxyPart && mode.kind === 'tproxy') out.marks.push(mode.mark, mode.localMark);
        return;
      case 'sport':
        if (udp && dnsOn && proxy) port(p.dns.port.value, L.dnsPort);
        return;
      case 'dport':
        if (udp && dnsOn && (proxy || dnsHere)) port(DNS, L.dns);
        if (!natOpen || !(tcp || udp)) return;
        ports(l.ownerPorts.portsFor(pkt.protocol, pkt.uid), L.ownerPorts);
        // UDP is redirected only as DNS (port 53, above): the rest of the ports do not matter.
        if (udp) {
          if (!proxy && dnsHere) port(DNS, L.dns);
          return;
        }
        if (proxy) {
          if (p.loopback.selfRedirect.value && lo) {
            ports(l.outExcludePorts.ranges, L.outExclude);
            port(p.proxy.tunnelPort.value, L.tunnel);
            if (dnsOn) port(DNS, L.dns);
          }
          return;
        }
        if (dnsOn) port(DNS, L.dns);
        if (!appCaptured) return; // only DNS can redirect it: port 53, above
        ports(l.outCapturePorts.ranges, L.outCapture);
        // Without captured destinations only the captured ports are redirected.
        if (outCap.kind === 'all' || (outCap.kind === 'list' && l.outCidrs.any(f))) ports(l.outExcludePorts.ranges, L.outExclude);
        else ports(l.outExcludePorts.within(l.outCapturePorts), L.outExcludeInCapture);
        return;
    }
    const ported = tcp || udp || pkt.protocol === 'sctp';
    const dport = ported ? pkt.dport : -1;
    const excludedPort = (tcp || udp) && (l.outExcludePorts.has(dport) || l.ownerPorts.has(pkt.protocol, dport, pkt.uid));
    // Known from 'daddr' (saddr is fixed):
    const passthrough = lo && l.passthrough.has(f, addrValue(pkt.src));
    switch (field) {
      case 'saddr':
        if (natOpen && lo && (tcp || udp) && !excludedPort) cidrs(l.passthrough.cidrs(f), L.passthrough);
        return;
      case 'daddr': {
        if (udp && dnsOn && !proxy && dnsHere && dport === DNS) cidrs(l.servers.cidrs(f), L.servers);
        if (tproxyPart && lo && proxy && !(mode.kind === 'tproxy' && pkt.mark === mode.mark)) cidrs(l.localhost.cidrs(f), L.localhost);
        if (p.order.value === 'exclusions-first' && natOpen && (tcp || udp) && !excludedPort) {
          cidrs(l.excludeCidrs.cidrs(f), L.excludeCidrs);
          if (!proxy && dnsHere && dport === DNS) cidrs(l.servers.cidrs(f), L.servers);
        }
        if (!natOpen || !(tcp || udp) || excludedPort || passthrough) return;
        if (proxy) {
          const skip = p.proxy.tunnelPort.value === dport || (dnsOn && dport === DNS);
          if (p.loopback.selfRedirect.value && lo && tcp && !skip) cidrs(l.localhost.cidrs(f), L.localhost);
          return;
        }
        if (dnsHere && dport === DNS) cidrs(l.servers.cidrs(f), L.servers);
        if (!tcp || !appCaptured) return;
        // Redirected: outside localhost and the excluded CIDRs, to a captured port or a
        // captured destination.
        if (l.outCapturePorts.has(dport) || outCap.kind === 'all') cidrs(l.localOrExcluded.cidrs(f), L.localOrExcluded);
        else if (outCap.kind === 'list') cidrs(l.outCidrs.minusCidrs(f, l.localOrExcluded), L.outCidrsOutsideLocalOrExcluded);
        return;
      }
    }
  }

  private arrivingConstants(field: Parameters<ConstantsFor>[0], pkt: Packet, out: Constants): void {
    const p = this.p;
    const l = this.l;
    const f = pkt.family;
    const cidrs = (cs: CidrConst[], label: number) => add(out, 'cidrs', cs, label);
    const dns = p.dns.capture.value;
    const dnsHere = dns.kind === 'all' || l.servers.any(f);
    const mode = p.inbound.mode.value;
    const inCap = p.inbound.capturePorts.value;
    const tproxy = mode.kind === 'tproxy' && inCap.kind !== 'none';
    const tcp = pkt.protocol === 'tcp';
    const udp = pkt.protocol === 'udp';
    const isNew = pkt.ctstate === 'new';
    const dropped = p.dropInvalid.value && pkt.ctstate === 'invalid';
    const outCap = p.outbound.captureCidrs.value;
    if (field === 'sport') {
      if (udp && dnsHere) add(out, 'ports', [[DNS, DNS]], L.dns);
      return;
    }
    if (field === 'saddr' && udp && dnsHere && pkt.sport === DNS) cidrs(l.servers.cidrs(f), L.servers);
    // Virtual networks: their DNS over UDP, and TCP to outside their CIDR.
    if (isNew && !dropped && (tcp || udp)) {
      if (field === 'iif') for (const v of l.vnet.items) if (v.family === f) add(out, 'ifaces', v.iface.patterns, L.vnetIf + v.index);
      const vnets = field === 'dport' || field === 'daddr' ? l.vnet.matching(f, pkt.iif) : [];
      if (field === 'dport' && udp && vnets.length) add(out, 'ports', [[DNS, DNS]], L.dns);
      if (field === 'daddr' && tcp) for (const v of vnets) cidrs(v.cidr.cidrs(f), L.vnetCidr + v.index);
    }
    // Beyond the DNS zone and virtual networks, only TCP is ever changed on arrival, and not when dropped.
    if (!tcp || dropped) return;
    if (field === 'iif') {
      if (tproxy || isNew) {
        add(out, 'ifaces', l.excludeIf.patterns, L.excludeIf);
        add(out, 'ifaces', l.rerouteIf.patterns, L.rerouteIf);
      }
      if (tproxy) add(out, 'ifaces', [{ name: 'lo', prefix: false }], L.lo);
      return;
    }
    if (field === 'oif' || field === 'uid' || field === 'gid') return;
    // Known from 'marks' on (iif is fixed):
    const excludedIf = l.excludeIf.has(pkt.iif);
    const rerouted = l.rerouteIf.has(pkt.iif);
    const inboundOpen = !excludedIf && !rerouted;
    const lo = pkt.iif === 'lo';
    if (field === 'marks') {
      if (tproxy && inboundOpen && mode.kind === 'tproxy') out.marks.push(mode.mark, mode.localMark);
      return;
    }
    // Known from 'sport' on (marks are fixed): whether TPROXY looks at the port.
    const tproxyPorts = tproxy && inboundOpen && mode.kind === 'tproxy' && pkt.mark !== mode.mark && !(lo && pkt.mark !== mode.localMark);
    if (field === 'dport') {
      if (tproxyPorts || (inboundOpen && isNew && mode.kind === 'redirect')) {
        const tunnel = p.proxy.tunnelPort.value;
        if (tunnel !== null) add(out, 'ports', [[tunnel, tunnel]], L.tunnel);
        if (inCap.kind === 'all') add(out, 'ports', l.inExcludePorts.ranges, L.inExclude);
        if (inCap.kind === 'list') add(out, 'ports', l.inCapturePorts.ranges, L.inCapture);
      }
      return;
    }
    // Known from 'saddr' on (dport is fixed):
    const captured = this.capturedInbound(pkt.dport);
    if (field === 'saddr') {
      if (tproxyPorts && lo && captured) cidrs(l.passthrough.cidrs(f), L.passthrough);
      if ((tproxyPorts || (inboundOpen && isNew && mode.kind === 'redirect')) && captured) cidrs(l.inExcludeSources.cidrs(f), L.inExcludeSources);
      return;
    }
    // daddr (saddr is fixed)
    const passthrough = lo && l.passthrough.has(f, addrValue(pkt.src));
    const fromExcluded = l.inExcludeSources.has(f, addrValue(pkt.src));
    if (tproxyPorts && captured && !fromExcluded && !passthrough && pkt.ctstate !== 'established' && pkt.ctstate !== 'related') cidrs(l.localhost.cidrs(f), L.localhost);
    if (rerouted && isNew) {
      if (outCap.kind === 'all') cidrs(l.excludeCidrs.cidrs(f), L.excludeCidrs);
      else if (outCap.kind === 'list') cidrs(l.outCidrs.minusCidrs(f, l.excludeCidrs), L.outCidrsOutsideExcluded);
    }
  }
}

/** The meaning as a side of the equivalence engine. */
export function meaningSide(label: string, m: Meaning): Side {
  return { kind: 'meaning', label, evaluate: (p) => m.evaluate(p), constants: (f, p) => m.constants(f, p) };
}
