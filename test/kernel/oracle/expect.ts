// Where the simulator says a probe ends up: src/sim/journey.ts follows the probe's first
// packet through every pass the kernel gives it (the model `trace --follow` prints, which
// this oracle checks), and the lab's facts (lab.ts: the pod's addresses, the peer's, who
// listens where, the policy routing) turn its end into a landing and what the sender sees.
import type { Routing, RuleSet } from '../../../src/ir/types.js';
import { followConnection, type Journey } from '../../../src/sim/journey.js';
import type { Packet } from '../../../src/sim/packet.js';
import { endpointText } from '../../../src/verify/compare.js';
import { extraLink, MAIN_IF, PASSTHROUGH_V6, PEER, POD } from './lab.js';
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
  passes: Journey['passes'];
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
  const tcp = probe.proto === 'tcp';
  const extra = plan.extraIfs.map((_n, k) => extraLink(k + 1));
  const first: Packet = {
    hook: probe.dir === 'out' ? 'output' : 'prerouting',
    family: probe.family,
    protocol: probe.proto,
    src: probe.src,
    sport: probe.sport,
    dst: probe.dst,
    dport: probe.dport,
    iif: probe.dir === 'in' ? probe.podIf : '',
    oif: probe.dir === 'out' ? probe.podIf : '',
    ...(probe.dir === 'out' ? { uid: probe.uidName ?? probe.uid, gid: probe.gidName ?? probe.gid } : {}),
    mark: 0,
    ctmark: 0,
    ctstate: 'new',
  };
  const j = followConnection(w.rs, first, {
    addresses: [POD.ipv4, POD.ipv6, ...extra.flatMap((l) => [l.pod.ipv4, l.pod.ipv6])],
    extraLocal: [PASSTHROUGH_V6],
    interfaceAddress: (iif, family) => (iif === MAIN_IF ? POD[family] : extra[plan.extraIfs.indexOf(iif)]?.pod[family]),
    routing: w.routing,
  });
  const out = (landing: string, client: ClientSide, reason = j.reason): Expected => ({ landing, client: tcp ? client : client === 'eperm' ? 'eperm' : 'sent', reason, passes: j.passes });
  const listens = (port: number) => port !== plan.closedPort && (tcp ? plan.tcpPorts : plan.udpPorts).includes(port);
  const landed = (host: 'pod' | 'peer', port: number, at: string): Expected => {
    if (!listens(port)) return out('nothing', 'refused', `${j.reason}; nothing listens on ${host} ${probe.proto}/${port}`);
    const where = `${host} ${probe.proto}/${port}`;
    return out(tcp ? `${where} at ${at} orig ${endpointText(probe.dst, probe.dport)}` : where, 'acked');
  };
  switch (j.end.kind) {
    case 'local':
      return landed('pod', j.end.port, j.end.at);
    case 'dropped':
      return out('nothing', j.end.where === 'out' ? 'eperm' : 'silent');
    case 'forwarded':
      return out('nothing', 'silent', `${j.reason}, and forwarding is off`);
    case 'out': {
      const peerHas = probe.dst === PEER[probe.family] || plan.peerTargets.includes(probe.dst) || extra.some((l) => l.peer[probe.family] === probe.dst);
      return peerHas ? landed('peer', probe.dport, probe.dst) : out('nothing', 'silent', 'no host has that address');
    }
  }
}
