// Where a connection ends up, not just what one pass of its first packet does: the packet
// goes through the simulator once per pass the kernel gives it. A packet the pod sends
// (OUTPUT, POSTROUTING) that is redirected, or that is addressed to the pod itself, comes
// back in through lo (PREROUTING, INPUT) with its NAT already bound (`looped`); a packet
// that arrives (PREROUTING, INPUT) is delivered locally, redirected, taken by TPROXY or,
// when it is for another host, forwarded. The kernel oracle (test/kernel/oracle) checks
// this model against Linux, connection by connection; `trace --follow` prints it.
import type { Family, Routing, RuleSet } from '../ir/types.js';
import { isLoopbackV4, parseAddress } from '../net/ip.js';
import type { Packet } from './packet.js';
import { simulate, type SimResult } from './simulate.js';

/** What the journey needs to know about the pod beyond its rules. */
export interface Pod {
  /** The pod's own addresses besides loopback (127.0.0.0/8, ::1) and `extraLocal`. */
  addresses: string[];
  /** Further local addresses (e.g. ::6 on lo). */
  extraLocal?: string[];
  /** The address of an interface, for REDIRECT of arriving packets (undefined: unknown). */
  interfaceAddress?: (iif: string, family: Family) => string | undefined;
  /** The policy routing installed (TPROXY's fwmark rule and local route), if any. */
  routing?: Routing;
}

export type JourneyEnd =
  /** Delivered to a socket of the pod: `port` at local address `at` ('?' when unknown). */
  | { kind: 'local'; port: number; at: string; how: 'direct' | 'redirect' | 'tproxy' }
  /** Left the pod for `dst` through `oif`. */
  | { kind: 'out'; oif: string }
  /** Dropped by a rule: on the way out (the sender's send fails with EPERM), back in through lo, or on the way in. */
  | { kind: 'dropped'; where: 'out' | 'lo' | 'in' }
  /** Not for the pod and not taken by TPROXY: forwarded (a pod has forwarding off). */
  | { kind: 'forwarded' };

export interface Journey {
  passes: { label: string; packet: Packet; result: SimResult }[];
  end: JourneyEnd;
  /** Why, in words. */
  reason: string;
}

const LOOPBACK: Record<Family, string> = { ipv4: '127.0.0.1', ipv6: '::1' };

/** All of 127.0.0.0/8 and ::1 are local (netfilter-facts §1.9), and the pod's addresses. */
export function podHas(pod: Pod, addr: string, family: Family): boolean {
  const a = parseAddress(addr);
  if (a.ok && (family === 'ipv4' ? isLoopbackV4(a.value) : a.value === 1n)) return true;
  return pod.addresses.includes(addr) || (pod.extraLocal ?? []).includes(addr);
}

/** Follow the first packet of a connection (ctstate new) through every pass. */
export function followConnection(rs: RuleSet, first: Packet, pod: Pod): Journey {
  const passes: Journey['passes'] = [];
  const run = (label: string, packet: Packet) => {
    const result = simulate(rs, packet);
    passes.push({ label, packet, result });
    return result;
  };
  const done = (end: JourneyEnd, reason: string): Journey => ({ passes, end, reason });
  const fwmarkRoutes = (mark: number) => !!pod.routing?.tproxy && pod.routing.tproxy.families.includes(first.family) && pod.routing.tproxy.mark === mark;

  /** The second pass of a packet the pod sent to itself, through lo. */
  const backIn = (dst: string, dport: number, after: SimResult, why: string): Journey => {
    const p: Packet = { ...first, hook: 'prerouting', dst, dport, iif: 'lo', oif: '', mark: after.outcome.mark, ctmark: after.packet?.ctmark ?? first.ctmark, looped: true };
    // Arriving packets have no owner (the owner match sees no socket).
    delete p.uid;
    delete p.gid;
    const r = run('back in through lo', p);
    if (r.outcome.verdict === 'drop') return done({ kind: 'dropped', where: 'lo' }, `${why}, then dropped coming back in through lo`);
    // TPROXY keeps the destination: the transparent socket's local address is the original one.
    if (r.outcome.tproxy) return done({ kind: 'local', port: r.outcome.tproxy.port, at: first.dst, how: 'tproxy' }, `${why}, then TPROXY to ${r.outcome.tproxy.port} coming back in through lo`);
    // The simulator's word counts here too (a NAT it wrongly applied again would show).
    if (r.outcome.redirect) return done({ kind: 'local', port: r.outcome.redirect.port, at: LOOPBACK[first.family], how: 'redirect' }, `${why}, then redirected to ${r.outcome.redirect.port} coming back in through lo`);
    return done({ kind: 'local', port: dport, at: dst, how: dst === first.dst && dport === first.dport ? 'direct' : 'redirect' }, why);
  };

  if (first.hook === 'output') {
    const r = run('sent by the pod', first);
    if (r.outcome.verdict === 'drop') return done({ kind: 'dropped', where: 'out' }, 'dropped on the way out');
    // Locally generated: REDIRECT sends it to the loopback address.
    if (r.outcome.redirect) return backIn(LOOPBACK[first.family], r.outcome.redirect.port, r, `redirected to ${r.outcome.redirect.port}`);
    if (podHas(pod, first.dst, first.family)) return backIn(first.dst, first.dport, r, 'delivered in the pod');
    if (fwmarkRoutes(r.outcome.mark)) return backIn(first.dst, first.dport, r, `delivered in the pod by the fwmark 0x${r.outcome.mark.toString(16)} route`);
    return done({ kind: 'out', oif: first.oif }, 'not redirected, and not for the pod');
  }
  const r = run('arriving', first);
  if (r.outcome.verdict === 'drop') return done({ kind: 'dropped', where: 'in' }, 'dropped on the way in');
  if (r.outcome.redirect) return done({ kind: 'local', port: r.outcome.redirect.port, at: pod.interfaceAddress?.(first.iif, first.family) ?? '?', how: 'redirect' }, `redirected to ${r.outcome.redirect.port}`);
  const local = podHas(pod, first.dst, first.family);
  if (r.outcome.tproxy) {
    // Routing decides after PREROUTING, on the mark TPROXY left.
    if (local || fwmarkRoutes(r.outcome.tproxy.mark)) return done({ kind: 'local', port: r.outcome.tproxy.port, at: first.dst, how: 'tproxy' }, `TPROXY to ${r.outcome.tproxy.port}`);
    return done({ kind: 'forwarded' }, `TPROXY to ${r.outcome.tproxy.port} marked 0x${r.outcome.tproxy.mark.toString(16)}, but no policy routing delivers it locally: forwarded`);
  }
  if (local) return done({ kind: 'local', port: first.dport, at: first.dst, how: 'direct' }, 'accepted');
  if (fwmarkRoutes(r.outcome.mark)) return done({ kind: 'local', port: first.dport, at: first.dst, how: 'direct' }, 'accepted, and delivered locally by the fwmark route');
  return done({ kind: 'forwarded' }, 'not an address of the pod: forwarded');
}
