// THE REFERENCE MEANING (test-only, not product code): a verbatim copy of the policy's
// meaning (src/meaning/meaning.ts) as it stood at commit 1115bcc, before the meaning and
// the engine were made fast. Deliberately naive: every list is scanned linearly, and
// `constants()` returns every value a field is compared with on an open path. The
// optimized meaning is checked against it (test/verify/reference.test.ts): same verdicts
// from the engine, and every difference one reports is a difference for the other. Do
// not optimize this file; fix it only where the documented behaviour says it is wrong,
// and then in both places.
//
// What a policy means, packet by packet, read directly from the validated policy, written
// as the language documentation states the behaviour, in the order of precedence
// docs/language.md gives.
import type { Address, CidrItem, Interface, Owner, Policy, PortRange } from '../../src/language/ast.js';
import type { Family } from '../../src/ir/types.js';
import type { Outcome, Packet } from '../../src/sim/packet.js';
import { addrValue, type SimResult, type TraceStep } from '../../src/sim/simulate.js';
import type { Constants, ConstantsFor, Side } from '../../src/verify/side.js';

const DNS = 53;

const inCidrs = (v: bigint, f: Family, cs: CidrItem[]) => cs.some((c) => c.family === f && c.first <= v && v <= c.last);
const isAddr = (v: bigint, f: Family, as: Address[]) => as.some((a) => a.family === f && a.value === v);
const inPorts = (p: number, rs: PortRange[]) => rs.some((r) => r.lo <= p && p <= r.hi);
const ownerIs = (v: number | string | undefined, os: Owner[]) => v !== undefined && os.some((o) => (o.kind === 'id' ? o.id === v : o.name === v));
const ifaceIs = (name: string, is: Interface[]) => is.some((i) => (i.prefix ? name.startsWith(i.name) : name === i.name));

export class ReferenceMeaning {
  constructor(readonly p: Policy) {}

  /** The outcome for one packet, with the statements that decided it as the path. */
  evaluate(pkt: Packet): SimResult {
    const path: TraceStep[] = [];
    const out: Outcome = { verdict: 'accept', redirect: null, tproxy: null, mark: pkt.mark >>> 0, ctmark: pkt.ctmark >>> 0, ctZone: null };
    const why = (effect: string) => path.push({ family: pkt.family, table: 'policy', chain: this.p.name, index: 0, effect });
    const p = this.p;
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
    const dnsServers = dns.kind === 'servers' ? dns.servers.filter((s) => s.family === f) : [];
    const dnsHere = dns.kind === 'all' || dnsServers.length > 0;
    const isDnsServer = (v: bigint) => dns.kind === 'all' || isAddr(v, f, dnsServers);
    const localhost = p.loopback.localhost.value.filter((c) => c.family === f);
    const mode = p.inbound.mode.value;
    const inCap = p.inbound.capturePorts.value;
    const tunnel = p.proxy.tunnelPort.value;
    const outCap = p.outbound.captureCidrs.value;
    const outCidrs = outCap.kind === 'list' ? outCap.items.filter((c) => c.family === f) : [];
    const isNew = pkt.ctstate === 'new';

    if (pkt.hook === 'output') {
      const proxy = ownerIs(pkt.uid, p.proxy.uids.value) || ownerIs(pkt.gid, p.proxy.gids.value);
      const excludedIf = ifaceIs(pkt.oif, p.interfaces.exclude.value);
      // DNS conntrack zones (UDP): the proxy's queries zone 1, its answers zone 2, the
      // app's queries to a captured server zone 2.
      if (dnsOn && proto === 'udp') {
        if (proxy && dport === DNS) out.ctZone = 1;
        else if (proxy && sport === p.dns.port.value) out.ctZone = 2;
        else if (dnsHere && dport === DNS && isDnsServer(dst)) out.ctZone = 2;
        if (out.ctZone !== null) why(`DNS conntrack zone ${out.ctZone}`);
      }
      // TPROXY: the proxy's own loopback calls to the pod IP carry the local mark; replies
      // of diverted connections get the tproxy mark back.
      if (mode.kind === 'tproxy' && inCap.kind !== 'none' && !excludedIf && tcp) {
        if (!(pkt.oif === 'lo' && pkt.mark === mode.mark)) {
          if (pkt.oif === 'lo' && proxy && !inCidrs(dst, f, localhost)) {
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
      if ((tcp || proto === 'udp') && inPorts(dport, p.outbound.excludePorts.value)) return (why('excluded outbound port'), { outcome: out, path });
      if (pkt.oif === 'lo' && isAddr(src, f, p.loopback.passthrough.value)) return (why('passthrough source'), { outcome: out, path });
      if (proxy) {
        const skip = (tunnel !== null && dport === tunnel) || (dnsOn && dport === DNS);
        if (p.loopback.selfRedirect.value && pkt.oif === 'lo' && tcp && !inCidrs(dst, f, localhost) && !skip) {
          return redirect(p.proxy.inboundPort.value, "the proxy calls the pod's own IP: treated as inbound");
        }
        return (why("the proxy's own traffic"), { outcome: out, path });
      }
      if (dnsHere && (tcp || proto === 'udp') && dport === DNS && isDnsServer(dst)) return redirect(p.dns.port.value, 'DNS is captured');
      const loopbackCaptured = outCidrs.some((c) => (f === 'ipv4' ? c.first <= 0x7fffffffn && c.last >= 0x7f000000n : c.first <= 1n && 1n <= c.last));
      if (pkt.oif === 'lo' && !loopbackCaptured) return (why('the app talks to itself over lo'), { outcome: out, path });
      const groups = p.outbound.groups.value;
      if (groups.kind === 'list' && !ownerIs(pkt.gid, groups.items)) return (why('group not captured'), { outcome: out, path });
      if (ownerIs(pkt.gid, p.outbound.excludeGroups.value)) return (why('excluded group'), { outcome: out, path });
      if (inCidrs(dst, f, localhost)) return (why('localhost'), { outcome: out, path });
      if (inCidrs(dst, f, p.outbound.excludeCidrs.value)) return (why('excluded CIDR'), { outcome: out, path });
      if (tcp && inPorts(dport, p.outbound.capturePorts.value)) return redirect(p.proxy.outboundPort.value, 'captured port');
      if (tcp && (outCap.kind === 'all' || inCidrs(dst, f, outCidrs))) return redirect(p.proxy.outboundPort.value, 'captured destination');
      why('not captured');
      return { outcome: out, path };
    }

    // ---- arriving packets ---------------------------------------------------------------
    if (dnsHere && proto === 'udp' && sport === DNS && isDnsServer(src)) {
      out.ctZone = 1;
      why('DNS answer: conntrack zone 1');
    }
    if (p.dropInvalid.value && pkt.ctstate === 'invalid') {
      out.verdict = 'drop';
      why('conntrack INVALID: dropped');
      return { outcome: out, path };
    }
    const excludedIf = ifaceIs(pkt.iif, p.interfaces.exclude.value);
    const rerouted = ifaceIs(pkt.iif, p.interfaces.reroute.value);
    const captured = (port: number) =>
      tcp &&
      !(tunnel !== null && port === tunnel) &&
      (inCap.kind === 'all' ? !inPorts(port, p.inbound.excludePorts.value) : inCap.kind === 'list' && inPorts(port, inCap.items)) &&
      !inCidrs(src, f, p.inbound.excludeSources.value);
    if (mode.kind === 'tproxy' && inCap.kind !== 'none' && !excludedIf && !rerouted && tcp) {
      let mark = pkt.mark;
      let decided = false;
      if (mark === mode.mark) {
        // already marked: left alone, and the mark is saved on the connection so that
        // its replies are routed back to the proxy
        out.ctmark = mode.mark >>> 0;
        why('already carries the tproxy mark: saved on the connection');
      } else if (pkt.iif === 'lo' && isAddr(src, f, p.loopback.passthrough.value)) {
        // the proxy's passthrough
      } else if (pkt.iif === 'lo' && mark !== mode.localMark) {
        // other loopback traffic
      } else if (captured(dport)) {
        if (pkt.ctstate === 'established' || pkt.ctstate === 'related') {
          out.mark = mode.mark;
          why('established inbound connection: diverted to the proxy');
          decided = true;
        } else if (!inCidrs(dst, f, localhost)) {
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
    if (rerouted) {
      if (inCidrs(dst, f, p.outbound.excludeCidrs.value)) return (why('rerouted traffic to an excluded CIDR'), { outcome: out, path });
      if (tcp && (outCap.kind === 'all' || inCidrs(dst, f, outCidrs))) {
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

  /**
   * Where this meaning can change along one field, given the fields the engine has fixed
   * so far (hook, family, protocol, ctstate, interfaces, owners, marks, then ports and
   * source address, in that order): every value that `evaluate` compares the field with
   * on some path still open for such packets. Mirrors `evaluate` branch by branch; the
   * engine tests check it against random packets (test/verify/meaning.test.ts).
   */
  constants(field: Parameters<ConstantsFor>[0], pkt: Packet): Constants {
    const p = this.p;
    const out: Constants = { ports: [], cidrs: [], owners: [], ifaces: [], marks: [] };
    if (!p.families.value.includes(pkt.family)) return out;
    const f = pkt.family;
    const addPorts = (rs: PortRange[]) => rs.forEach((r) => out.ports.push([r.lo, r.hi]));
    const port = (x: number | null) => {
      if (x !== null) out.ports.push([x, x]);
    };
    const addC = (cs: CidrItem[]) => cs.forEach((c) => c.family === f && out.cidrs.push({ family: c.family, addr: c.addr, prefix: c.prefix }));
    const addA = (as: Address[]) => as.forEach((a) => a.family === f && out.cidrs.push({ family: a.family, addr: a.text, prefix: a.family === 'ipv4' ? 32 : 128 }));
    const addO = (os: Owner[]) => os.forEach((o) => out.owners.push(o.kind === 'id' ? o.id : o.name));
    const dns = p.dns.capture.value;
    const dnsOn = dns.kind !== 'off';
    const servers = dns.kind === 'servers' ? dns.servers.filter((x) => x.family === f) : [];
    const dnsHere = dns.kind === 'all' || servers.length > 0;
    const mode = p.inbound.mode.value;
    const inCap = p.inbound.capturePorts.value;
    const tproxy = mode.kind === 'tproxy' && inCap.kind !== 'none';
    const tcp = pkt.protocol === 'tcp';
    const udp = pkt.protocol === 'udp';
    const isNew = pkt.ctstate === 'new';
    const outCap = p.outbound.captureCidrs.value;
    const localhost = p.loopback.localhost.value;
    const addInbound = () => {
      port(p.proxy.tunnelPort.value);
      if (inCap.kind === 'list') addPorts(inCap.items);
      addPorts(p.inbound.excludePorts.value);
    };
    if (field === 'uid') return (addO(p.proxy.uids.value), out);
    if (field === 'gid') {
      addO(p.proxy.gids.value);
      const g = p.outbound.groups.value;
      if (g.kind === 'list') addO(g.items);
      addO(p.outbound.excludeGroups.value);
      return out;
    }
    if (field === 'iif') return (out.ifaces.push(...p.interfaces.exclude.value, ...p.interfaces.reroute.value, { name: 'lo', prefix: false }), out);
    if (field === 'oif') return (out.ifaces.push(...p.interfaces.exclude.value, { name: 'lo', prefix: false }), out);

    if (pkt.hook === 'output') {
      const proxy = ownerIs(pkt.uid, p.proxy.uids.value) || ownerIs(pkt.gid, p.proxy.gids.value);
      const excludedIf = ifaceIs(pkt.oif, p.interfaces.exclude.value);
      const lo = pkt.oif === 'lo';
      const outCidrs = outCap.kind === 'list' ? outCap.items.filter((c) => c.family === f) : [];
      const loopbackCaptured = outCidrs.some((c) => (f === 'ipv4' ? c.first <= 0x7fffffffn && c.last >= 0x7f000000n : c.first <= 1n && 1n <= c.last));
      const natOpen = isNew && !excludedIf;
      switch (field) {
        case 'marks':
          if (tproxy && tcp && !excludedIf && mode.kind === 'tproxy') out.marks.push(mode.mark, mode.localMark);
          break;
        case 'sport':
          if (udp && dnsOn && proxy) port(p.dns.port.value);
          break;
        case 'dport':
          if (udp && dnsOn) port(DNS);
          if (!natOpen) break;
          if (tcp || udp) addPorts(p.outbound.excludePorts.value);
          if (proxy) {
            if (tcp && lo) {
              port(p.proxy.tunnelPort.value);
              if (dnsOn) port(DNS);
            }
            break;
          }
          if (dnsHere) port(DNS);
          if (tcp) addPorts(p.outbound.capturePorts.value);
          break;
        case 'saddr':
          if (natOpen && lo) addA(p.loopback.passthrough.value);
          break;
        case 'daddr':
          if (udp && dnsOn && !proxy && dnsHere) addA(servers);
          if (tproxy && tcp && lo && proxy) addC(localhost);
          if (!natOpen) break;
          if (proxy) {
            if (lo && tcp) addC(localhost);
            break;
          }
          if (dnsHere) addA(servers);
          if (lo && !loopbackCaptured) break;
          addC(localhost);
          addC(p.outbound.excludeCidrs.value);
          addC(outCidrs);
          break;
      }
      return out;
    }

    const excludedIf = ifaceIs(pkt.iif, p.interfaces.exclude.value);
    const rerouted = ifaceIs(pkt.iif, p.interfaces.reroute.value);
    const inboundOpen = tcp && !excludedIf && !rerouted;
    switch (field) {
      case 'marks':
        if (tproxy && inboundOpen && mode.kind === 'tproxy') out.marks.push(mode.mark, mode.localMark);
        break;
      case 'sport':
        if (udp && dnsHere) port(DNS);
        break;
      case 'dport':
        if (inboundOpen && (tproxy || (isNew && mode.kind === 'redirect'))) addInbound();
        break;
      case 'saddr':
        if (udp && dnsHere) addA(servers);
        if (tproxy && inboundOpen && pkt.iif === 'lo') addA(p.loopback.passthrough.value);
        if (inboundOpen && (tproxy || (isNew && mode.kind === 'redirect'))) addC(p.inbound.excludeSources.value);
        break;
      case 'daddr':
        if (tproxy && inboundOpen) addC(localhost);
        if (rerouted && isNew) {
          addC(p.outbound.excludeCidrs.value);
          if (outCap.kind === 'list') addC(outCap.items);
        }
        break;
    }
    return out;
  }
}

/** The reference meaning as a side of the equivalence engine. */
export function referenceSide(label: string, m: ReferenceMeaning): Side {
  return { kind: 'meaning', label, evaluate: (p) => m.evaluate(p), constants: (f, p) => m.constants(f, p) };
}
