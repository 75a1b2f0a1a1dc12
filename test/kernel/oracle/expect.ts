// Where the simulator says a probe ends up. A connection's first packet goes through the
// simulator once per pass the kernel gives it: OUTPUT+POSTROUTING for what the pod sends,
// then PREROUTING+INPUT again when it comes back in through lo (a redirect, or a packet to
// one of the pod's own addresses) with its NAT already bound; PREROUTING+INPUT for what
// arrives from the peer. Routing and sockets are the lab's (lab.ts): the pod's addresses,
// its listeners, forwarding off, and the TPROXY policy routing when the artifact installs it.
import type { Family, Routing, RuleSet } from '../../../src/ir/types.js';
import { parseCidr } from '../../../src/net/ip.js';
import type { Packet } from '../../../src/sim/packet.js';
import { simulate, type SimResult } from '../../../src/sim/simulate.js';
import { extraLink, LOOPBACK, PASSTHROUGH_V6, PEER, POD } from './lab.js';
import type { Plan, Probe } from './plan.js';

export interface World {
  rs: RuleSet;
  /** Policy routing the artifact installs (the shell script); undefined for bare rule files. */
  routing?: Routing;
  plan: Plan;
}

export interface Expected {
  /** Comparable with the kernel's observation: 'pod tcp/15001 orig 9.9.0.1:80', 'peer udp/53', 'nothing'. */
  landing: string;
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

export function endpoint(addr: string, port: number): string {
  return addr.includes(':') ? `[${addr}]:${port}` : `${addr}:${port}`;
}

export function expectLanding(w: World, probe: Probe): Expected {
  const { plan } = w;
  const passes: Expected['passes'] = [];
  const run = (label: string, packet: Packet) => {
    const result = simulate(w.rs, packet);
    passes.push({ label, packet, result });
    return result;
  };
  const listens = (port: number) => port !== plan.closedPort && (probe.proto === 'tcp' ? plan.tcpPorts : plan.udpPorts).includes(port);
  const land = (host: 'pod' | 'peer', port: number, reason: string): Expected => {
    if (!listens(port)) return { landing: 'nothing', reason: `${reason}; nothing listens on ${host} ${probe.proto}/${port}`, passes };
    const where = `${host} ${probe.proto}/${port}`;
    return { landing: probe.proto === 'tcp' ? `${where} orig ${endpoint(probe.dst, probe.dport)}` : where, reason, passes };
  };
  const nothing = (reason: string): Expected => ({ landing: 'nothing', reason, passes });
  const fwmarkRoutes = (mark: number) => !!w.routing?.tproxy && w.routing.tproxy.families.includes(probe.family) && w.routing.tproxy.mark === mark;
  const base = { family: probe.family, protocol: probe.proto, src: probe.src, sport: probe.sport, ctstate: 'new' as const };

  /** The second pass of a packet the pod sent to itself, through lo. */
  const backIn = (dst: string, dport: number, after: SimResult, why: string): Expected => {
    const r = run('back in through lo', { ...base, hook: 'prerouting', dst, dport, iif: 'lo', oif: '', mark: after.outcome.mark, ctmark: after.packet?.ctmark ?? 0, looped: true });
    if (r.outcome.verdict === 'drop') return nothing(`${why}, then dropped coming back in through lo`);
    if (r.outcome.tproxy) return land('pod', r.outcome.tproxy.port, `${why}, then TPROXY to ${r.outcome.tproxy.port} coming back in through lo`);
    // Whatever the simulator says happens here counts, a NAT it should not apply again included.
    if (r.outcome.redirect) return land('pod', r.outcome.redirect.port, `${why}, then redirected to ${r.outcome.redirect.port} coming back in through lo`);
    return land('pod', dport, why);
  };

  if (probe.dir === 'out') {
    const r = run('sent by the pod', { ...base, hook: 'output', dst: probe.dst, dport: probe.dport, iif: '', oif: probe.podIf, uid: probe.uidName ?? probe.uid, gid: probe.gidName ?? probe.gid, mark: 0, ctmark: 0 });
    if (r.outcome.verdict === 'drop') return nothing('dropped on the way out');
    if (r.outcome.redirect) return backIn(LOOPBACK[probe.family], r.outcome.redirect.port, r, `redirected to ${r.outcome.redirect.port}`);
    if (podHasAddress(probe.dst, probe.family, plan) || fwmarkRoutes(r.outcome.mark)) return backIn(probe.dst, probe.dport, r, 'delivered in the pod');
    if (!plan.peerTargets.includes(probe.dst) && !Object.values(extraLinkPeers(plan)).includes(probe.dst) && probe.dst !== PEER[probe.family]) return nothing('no host has that address');
    return land('peer', probe.dport, 'sent to the peer');
  }
  const r = run('arriving from the peer', { ...base, hook: 'prerouting', dst: probe.dst, dport: probe.dport, iif: probe.podIf, oif: '', mark: 0, ctmark: 0 });
  if (r.outcome.verdict === 'drop') return nothing('dropped on the way in');
  if (r.outcome.redirect) return land('pod', r.outcome.redirect.port, `redirected to ${r.outcome.redirect.port}`);
  const local = podHasAddress(probe.dst, probe.family, plan);
  if (r.outcome.tproxy) {
    if (local || fwmarkRoutes(r.outcome.mark)) return land('pod', r.outcome.tproxy.port, `TPROXY to ${r.outcome.tproxy.port}`);
    return nothing(`TPROXY to ${r.outcome.tproxy.port} marked 0x${r.outcome.mark.toString(16)}, but no policy routing delivers it locally: forwarded, and forwarding is off`);
  }
  if (!local) return nothing('not an address of the pod, and forwarding is off');
  return land('pod', probe.dport, 'accepted');
}

function extraLinkPeers(plan: Plan): string[] {
  return plan.extraIfs.flatMap((_n, k) => Object.values(extraLink(k + 1).peer));
}
