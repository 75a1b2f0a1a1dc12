// Where the simulator says a probe ends up. A connection's first packet goes through the
// simulator once per pass the kernel gives it: OUTPUT+POSTROUTING for what the pod sends,
// then PREROUTING+INPUT again when it comes back in through lo (a redirect, or a packet to
// one of the pod's own addresses) with its NAT already bound; PREROUTING+INPUT for what
// arrives from the peer. Routing and sockets are the lab's (lab.ts): the pod's addresses,
// its listeners, forwarding off, and the TPROXY policy routing.
import type { Family, Routing, RuleSet } from '../../../src/ir/types.js';
import { parseCidr } from '../../../src/net/ip.js';
import type { Packet } from '../../../src/sim/packet.js';
import { simulate, type SimResult } from '../../../src/sim/simulate.js';
import { extraLink, LOOPBACK, MAIN_IF, PASSTHROUGH_V6, PEER, POD } from './lab.js';
import type { Plan, Probe } from './plan.js';

export interface World {
  rs: RuleSet;
  /** The policy routing installed in the pod (TPROXY's fwmark rule and local route). */
  routing?: Routing;
  plan: Plan;
}

/**
 * What the sending side sees: the connection completed (`acked`), was refused by a RST
 * (`refused`), got no answer or an ICMP error (`silent`), was refused by netfilter on the
 * way out (`eperm`: a locally generated packet dropped in OUTPUT fails the send), or, for
 * UDP, the datagram left (`sent`).
 */
export type ClientSide = 'acked' | 'refused' | 'silent' | 'eperm' | 'sent';

export interface Expected {
  /** Comparable with the kernel's observation: 'pod tcp/15001 at 127.0.0.1 orig 9.9.0.1:80', 'peer udp/53', 'nothing'. */
  landing: string;
  client: ClientSide;
  /** Why, in words. */
  reason: string;
  passes: { label: string; packet: Packet; result: SimResult }[];
}

const loopback4 = parseCidr('127.0.0.0/8');

export function podHasAddress(addr: string, family: Family, plan: Plan): boolean {
  if (family === 'ipv4') {
    const a = parseCidr(`${addr}/32`);
    if (loopback4.ok && a.ok && loopback4.cidr.first <= a.cidr.first && a.cidr.first <= loopback4.cidr.last) return true;
  } else if (addr === '::1' || addr === PASSTHROUGH_V6) return true;
  if (addr === POD[family]) return true;
  return plan.extraIfs.some((_n, k) => extraLink(k + 1).pod[family] === addr);
}

/** The address REDIRECT sends an arriving packet to: the incoming interface's own. */
function interfaceAddress(podIf: string, family: Family, plan: Plan): string {
  if (podIf === MAIN_IF) return POD[family];
  const k = plan.extraIfs.indexOf(podIf);
  return k >= 0 ? extraLink(k + 1).pod[family] : '?';
}

export function endpoint(addr: string, port: number): string {
  return addr.includes(':') ? `[${addr}]:${port}` : `${addr}:${port}`;
}

/** The client side of the agent's status words. */
export function clientSide(status: string): string {
  if (status === 'acked' || status === 'sent') return status;
  if (status === 'ECONNREFUSED') return 'refused';
  if (status === 'timeout' || status === 'EHOSTUNREACH' || status === 'ENETUNREACH') return 'silent';
  if (status === 'EPERM' || status === 'error-EPERM') return 'eperm';
  return status;
}

export function expectLanding(w: World, probe: Probe): Expected {
  const { plan } = w;
  const passes: Expected['passes'] = [];
  const tcp = probe.proto === 'tcp';
  const run = (label: string, packet: Packet) => {
    const result = simulate(w.rs, packet);
    passes.push({ label, packet, result });
    return result;
  };
  const listens = (port: number) => port !== plan.closedPort && (tcp ? plan.tcpPorts : plan.udpPorts).includes(port);
  /** Delivered to a socket on `host`, at local address `at`. */
  const land = (host: 'pod' | 'peer', port: number, at: string, reason: string): Expected => {
    if (!listens(port)) return { landing: 'nothing', client: tcp ? 'refused' : 'sent', reason: `${reason}; nothing listens on ${host} ${probe.proto}/${port}`, passes };
    const where = `${host} ${probe.proto}/${port}`;
    return { landing: tcp ? `${where} at ${at} orig ${endpoint(probe.dst, probe.dport)}` : where, client: tcp ? 'acked' : 'sent', reason, passes };
  };
  const nothing = (client: ClientSide, reason: string): Expected => ({ landing: 'nothing', client: tcp ? client : client === 'eperm' ? 'eperm' : 'sent', reason, passes });
  const fwmarkRoutes = (mark: number) => !!w.routing?.tproxy && w.routing.tproxy.families.includes(probe.family) && w.routing.tproxy.mark === mark;
  const base = { family: probe.family, protocol: probe.proto, src: probe.src, sport: probe.sport, ctstate: 'new' as const };

  /** The second pass of a packet the pod sent to itself, through lo. */
  const backIn = (dst: string, dport: number, after: SimResult, why: string): Expected => {
    const r = run('back in through lo', { ...base, hook: 'prerouting', dst, dport, iif: 'lo', oif: '', mark: after.outcome.mark, ctmark: after.packet?.ctmark ?? 0, looped: true });
    if (r.outcome.verdict === 'drop') return nothing('silent', `${why}, then dropped coming back in through lo`);
    // TPROXY keeps the destination: the transparent socket's local address is the original one.
    if (r.outcome.tproxy) return land('pod', r.outcome.tproxy.port, probe.dst, `${why}, then TPROXY to ${r.outcome.tproxy.port} coming back in through lo`);
    // Whatever the simulator says happens here counts, a NAT it should not apply again included.
    if (r.outcome.redirect) return land('pod', r.outcome.redirect.port, LOOPBACK[probe.family], `${why}, then redirected to ${r.outcome.redirect.port} coming back in through lo`);
    return land('pod', dport, dst, why);
  };

  if (probe.dir === 'out') {
    const r = run('sent by the pod', { ...base, hook: 'output', dst: probe.dst, dport: probe.dport, iif: '', oif: probe.podIf, uid: probe.uidName ?? probe.uid, gid: probe.gidName ?? probe.gid, mark: 0, ctmark: 0 });
    if (r.outcome.verdict === 'drop') return nothing('eperm', 'dropped on the way out');
    // Locally generated: REDIRECT sends it to the loopback address.
    if (r.outcome.redirect) return backIn(LOOPBACK[probe.family], r.outcome.redirect.port, r, `redirected to ${r.outcome.redirect.port}`);
    if (podHasAddress(probe.dst, probe.family, plan) || fwmarkRoutes(r.outcome.mark)) return backIn(probe.dst, probe.dport, r, 'delivered in the pod');
    const peerHas = probe.dst === PEER[probe.family] || plan.peerTargets.includes(probe.dst) || plan.extraIfs.some((_n, k) => extraLink(k + 1).peer[probe.family] === probe.dst);
    if (!peerHas) return nothing('silent', 'no host has that address');
    return land('peer', probe.dport, probe.dst, 'sent to the peer');
  }
  const r = run('arriving from the peer', { ...base, hook: 'prerouting', dst: probe.dst, dport: probe.dport, iif: probe.podIf, oif: '', mark: 0, ctmark: 0 });
  if (r.outcome.verdict === 'drop') return nothing('silent', 'dropped on the way in');
  if (r.outcome.redirect) return land('pod', r.outcome.redirect.port, interfaceAddress(probe.podIf, probe.family, plan), `redirected to ${r.outcome.redirect.port}`);
  const local = podHasAddress(probe.dst, probe.family, plan);
  if (r.outcome.tproxy) {
    // Routing decides after PREROUTING, on the mark TPROXY left.
    if (local || fwmarkRoutes(r.outcome.tproxy.mark)) return land('pod', r.outcome.tproxy.port, probe.dst, `TPROXY to ${r.outcome.tproxy.port}`);
    return nothing('silent', `TPROXY to ${r.outcome.tproxy.port} marked 0x${r.outcome.tproxy.mark.toString(16)}, but no policy routing delivers it locally: forwarded, and forwarding is off`);
  }
  if (local || fwmarkRoutes(r.outcome.mark)) return land('pod', probe.dport, probe.dst, local ? 'accepted' : 'accepted, and delivered locally by the fwmark route');
  return nothing('silent', 'not an address of the pod, and forwarding is off');
}
