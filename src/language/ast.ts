// The typed policy: what a validated .intercept or YAML file means, with every default
// filled in. Each setting keeps the span of the statement that set it (null for a
// default), and list items keep their own spans, so that the IR, `trace` and diagnostics
// can point back at the source.
import type { Cidr, Family } from '../net/ip.js';
import type { Span } from '../source.js';

export type { Cidr, Family };

export interface Setting<T> {
  value: T;
  /** The statement that set it, or null when it is the default. */
  span: Span | null;
}

export interface PortRange {
  lo: number;
  hi: number;
  span: Span | null;
}

/** A set that may be everything (`*`), nothing (`none`) or a list. */
export type Selection<T> = { kind: 'all' } | { kind: 'none' } | { kind: 'list'; items: T[] };

export interface Address {
  family: Family;
  text: string;
  value: bigint;
  span: Span | null;
}

export interface CidrItem extends Cidr {
  span: Span | null;
}

/** A uid or gid, numeric or a name the kernel tools resolve at load time. */
export type Owner = ({ kind: 'id'; id: number } | { kind: 'name'; name: string }) & { span: Span | null };

export interface Interface {
  name: string;
  /** `eth+`: every interface whose name starts with `eth`. */
  prefix: boolean;
  span: Span | null;
}

/**
 * TPROXY: `mark` tags diverted packets (and the routing rule that makes them local),
 * `table` is the policy routing table, `localMark` tags the proxy's own loopback
 * connections to the pod IP so they are not diverted again (Istio: 1338).
 */
export type InboundMode = { kind: 'redirect' } | { kind: 'tproxy'; mark: number; table: number; localMark: number };

/**
 * One per-owner port exclusion (Kuma's --exclude-outbound-ports-for-uids): outbound
 * traffic of these protocols, to these destination ports, of these uids is never captured.
 */
export interface OwnerPortExclusion {
  protocols: ('tcp' | 'udp')[];
  ports: PortRange;
  uids: Owner[];
  span: Span | null;
}

/** Kuma's --vnet IFACE:CIDR: traffic arriving on the interface, not to the CIDR, is outbound traffic. */
export interface VirtualNet {
  iface: Interface;
  cidr: CidrItem;
  span: Span | null;
}

export type DnsCapture = { kind: 'off' } | { kind: 'all' } | { kind: 'servers'; servers: Address[] };

export interface Policy {
  name: string;
  file: string;
  span: Span | null;
  proxy: {
    /** The proxy's uids; empty: no uid (`uid none`), the proxy is recognised by gid or not at all. */
    uids: Setting<Owner[]>;
    /** The proxy's gids; empty: the proxy is recognised by uid alone. */
    gids: Setting<Owner[]>;
    outboundPort: Setting<number>;
    inboundPort: Setting<number>;
    /** null: no tunnel port. */
    tunnelPort: Setting<number | null>;
  };
  inbound: {
    mode: Setting<InboundMode>;
    capturePorts: Setting<Selection<PortRange>>;
    excludePorts: Setting<PortRange[]>;
    /** Sources whose inbound traffic is never captured (Linkerd's --subnets-to-ignore). */
    excludeSources: Setting<CidrItem[]>;
  };
  outbound: {
    captureCidrs: Setting<Selection<CidrItem>>;
    excludeCidrs: Setting<CidrItem[]>;
    capturePorts: Setting<PortRange[]>;
    excludePorts: Setting<PortRange[]>;
    /** Ports excluded for some owners and protocols, examined before anything else outbound. */
    excludePortsForUids: Setting<OwnerPortExclusion[]>;
    groups: Setting<Selection<Owner>>;
    excludeGroups: Setting<Owner[]>;
  };
  loopback: {
    passthrough: Setting<Address[]>;
    localhost: Setting<CidrItem[]>;
    selfRedirect: Setting<boolean>;
  };
  dns: {
    capture: Setting<DnsCapture>;
    port: Setting<number>;
    /** 'pass': the apps' DNS over TCP is never captured (Kuma); 'capture': like UDP. */
    tcp: Setting<'capture' | 'pass'>;
    /** The conntrack zone split of DNS (raw table); off as Kuma's --skip-dns-conntrack-zone-split. */
    conntrackZones: Setting<boolean>;
  };
  interfaces: {
    exclude: Setting<Interface[]>;
    reroute: Setting<Interface[]>;
    vnet: Setting<VirtualNet[]>;
  };
  dropInvalid: Setting<boolean>;
  /**
   * 'exclusions-first': outbound 'exclude cidrs' and DNS capture are examined before the
   * proxy's loopback rules (passthrough, self-redirect), as Kuma orders them.
   */
  order: Setting<'proxy-first' | 'exclusions-first'>;
  /** Where meshcap's base chains run among other tools' on the same hooks (schema.ts: 'attach'). */
  attach: Setting<'first' | 'last' | 'standard'>;
  /** LOG rules first in nat PREROUTING and OUTPUT (Kuma's --iptables-logs); null: none. `level` absent: the kernel's default. */
  log: Setting<{ level?: number } | null>;
  families: Setting<Family[]>;
}
