// The policy's lists as the meaning looks them up (sets.ts), built once per meaning.
import type { Family } from '../ir/types.js';
import type { OwnerPortExclusion, Policy, VirtualNet } from '../language/ast.js';
import { AddrSet, NameSet, OwnerSet, PortSet } from './sets.js';

/** Per-owner port exclusions: an item matches a protocol, a destination port and a uid. */
export class OwnerPortSet {
  readonly items: { protocols: string[]; lo: number; hi: number; uids: OwnerSet }[];

  constructor(xs: readonly OwnerPortExclusion[]) {
    this.items = xs.map((x) => ({ protocols: x.protocols, lo: x.ports.lo, hi: x.ports.hi, uids: new OwnerSet(x.uids) }));
  }

  has(protocol: string, dport: number, uid: number | string | undefined): boolean {
    return this.items.some((x) => x.protocols.includes(protocol) && x.lo <= dport && dport <= x.hi && x.uids.has(uid));
  }

  /** The items of this protocol, by index (each item's owners are a set of their own). */
  ofProtocol(protocol: string): { index: number; uids: OwnerSet }[] {
    return this.items.flatMap((x, index) => (x.protocols.includes(protocol) ? [{ index, uids: x.uids }] : []));
  }

  /** The port ranges excluded for this protocol and uid. */
  portsFor(protocol: string, uid: number | string | undefined): [number, number][] {
    return this.items.filter((x) => x.protocols.includes(protocol) && x.uids.has(uid)).map((x): [number, number] => [x.lo, x.hi]);
  }
}

/** The policy's lists as lookup structures (sets.ts), built once. */
/** Virtual networks ('interfaces { vnet }'): each item an interface and its exempt CIDR. */
export class VnetSet {
  readonly items: { index: number; family: Family; iface: NameSet; cidr: AddrSet }[];

  constructor(xs: readonly VirtualNet[]) {
    this.items = xs.map((x, index) => ({ index, family: x.cidr.family, iface: new NameSet([x.iface]), cidr: new AddrSet([x.cidr]) }));
  }

  /** The items of this family whose interface is `iif`. */
  matching(f: Family, iif: string): VnetSet['items'] {
    return this.items.filter((x) => x.family === f && x.iface.has(iif));
  }
}

export interface Lists {
  proxyUids: OwnerSet;
  proxyGids: OwnerSet;
  /** null: every group ('groups *'). */
  groups: OwnerSet | null;
  excludeGroups: OwnerSet;
  excludeIf: NameSet;
  rerouteIf: NameSet;
  outExcludePorts: PortSet;
  vnet: VnetSet;
  /** 'exclude ports-for-uids'. */
  ownerPorts: OwnerPortSet;
  outCapturePorts: PortSet;
  inExcludePorts: PortSet;
  inExcludeSources: AddrSet;
  /** 'capture ports' of inbound when it is a list. */
  inCapturePorts: PortSet;
  localhost: AddrSet;
  excludeCidrs: AddrSet;
  /** localhost and the excluded CIDRs: for a new outbound connection, both leave it alone. */
  localOrExcluded: AddrSet;
  /** 'capture cidrs' of outbound when it is a list. */
  outCidrs: AddrSet;
  /** The DNS servers, when DNS capture names servers. */
  servers: AddrSet;
  passthrough: AddrSet;
  /** Whether outbound 'capture cidrs' (a list) reaches loopback (127.0.0.0/8, ::1). */
  loopbackCaptured: Record<Family, boolean>;
}

export function listsOf(p: Policy): Lists {
  const g = p.outbound.groups.value;
  const oc = p.outbound.captureCidrs.value;
  const ic = p.inbound.capturePorts.value;
  const dns = p.dns.capture.value;
  const outCidrs = new AddrSet(oc.kind === 'list' ? oc.items : []);
  return {
    proxyUids: new OwnerSet(p.proxy.uids.value),
    proxyGids: new OwnerSet(p.proxy.gids.value),
    groups: g.kind === 'list' ? new OwnerSet(g.items) : null,
    excludeGroups: new OwnerSet(p.outbound.excludeGroups.value),
    excludeIf: new NameSet(p.interfaces.exclude.value),
    rerouteIf: new NameSet(p.interfaces.reroute.value),
    outExcludePorts: new PortSet(p.outbound.excludePorts.value),
    vnet: new VnetSet(p.interfaces.vnet.value),
    ownerPorts: new OwnerPortSet(p.outbound.excludePortsForUids.value),
    outCapturePorts: new PortSet(p.outbound.capturePorts.value),
    inExcludePorts: new PortSet(p.inbound.excludePorts.value),
    inExcludeSources: new AddrSet(p.inbound.excludeSources.value),
    inCapturePorts: new PortSet(ic.kind === 'list' ? ic.items : []),
    localhost: new AddrSet(p.loopback.localhost.value),
    excludeCidrs: new AddrSet(p.outbound.excludeCidrs.value),
    localOrExcluded: new AddrSet([...p.loopback.localhost.value, ...p.outbound.excludeCidrs.value]),
    outCidrs,
    servers: AddrSet.ofAddresses(dns.kind === 'servers' ? dns.servers : []),
    passthrough: AddrSet.ofAddresses(p.loopback.passthrough.value),
    loopbackCaptured: { ipv4: outCidrs.meets('ipv4', 0x7f000000n, 0x7fffffffn), ipv6: outCidrs.has('ipv6', 1n) },
  };
}

