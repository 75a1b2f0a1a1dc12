// The language, as data: every block and statement, how it is written in .intercept and
// YAML, what it takes, its default and its documentation. The builder, the YAML reader,
// the converters and docs/language.md all read this one table.
import type { Policy } from './ast.js';
import type { Span } from '../source.js';
import * as V from './values.js';
import { ownerPortList, vnetList } from './owner-ports.js';
import type { ValueKind } from './values.js';

export interface StatementSpec {
  /** Kebab-case id: the YAML key, and the statement's name in messages. */
  id: string;
  /** How it is written in .intercept (`capture ports`). */
  words: string[];
  kind: ValueKind<unknown>;
  /** Store a parsed value into the policy. */
  set(p: Policy, value: unknown, span: Span): void;
  /** The default, as it would be written. */
  defaultText: string;
  doc: string;
  example: string;
}

export interface BlockSpec {
  /** `null` for the statements directly inside `policy { }`. */
  id: string | null;
  doc: string;
  statements: StatementSpec[];
}

type Setter = StatementSpec['set'];
function stmt(id: string, words: string, kind: ValueKind<unknown>, set: Setter, defaultText: string, doc: string, example: string): StatementSpec {
  return { id, words: words.split(' '), kind, set, defaultText, doc, example };
}

export const blocks: BlockSpec[] = [
  {
    id: 'proxy',
    doc: 'Who the proxy is and where it listens. Traffic of the proxy\'s uid or gid is never captured, so the proxy can reach the real destinations.',
    statements: [
      stmt('uid', 'uid', V.uids, (p, v, s) => (p.proxy.uids = { value: v as never, span: s }), '1337', "The proxy's user id (or user name), or several: its outbound traffic goes out directly, never captured. 'none' for a proxy without a uid of its own (Linkerd's proxy-init without --proxy-uid): recognised by its gid, or not at all (check warns).", 'uid 1337'),
      stmt('gid', 'gid', V.gids, (p, v, s) => (p.proxy.gids = { value: v as never, span: s }), '1337', "The proxy's group id (or group name), or several, excluded like the uid. 'none' to recognise the proxy by uid alone.", 'gid 1337'),
      stmt('outbound-port', 'outbound-port', V.port, (p, v, s) => (p.proxy.outboundPort = { value: v as number, span: s }), '15001', "Where captured outbound TCP is redirected (Envoy's outbound listener). It may equal 'inbound-port' for a proxy that serves both directions on one listener (Linkerd's proxy-init allows -p and -o to be the same port).", 'outbound-port 15001'),
      stmt('inbound-port', 'inbound-port', V.port, (p, v, s) => (p.proxy.inboundPort = { value: v as number, span: s }), '15006', 'Where captured inbound TCP is redirected or tproxied (Envoy\'s inbound listener).', 'inbound-port 15006'),
      stmt('tunnel-port', 'tunnel-port', V.optionalPort, (p, v, s) => (p.proxy.tunnelPort = { value: v as number | null, span: s }), '15008', "The proxy's tunnel (HBONE) port: never captured inbound. 'none' for no tunnel port.", 'tunnel-port 15008'),
    ],
  },
  {
    id: 'inbound',
    doc: 'Capture of TCP connections arriving at the pod.',
    statements: [
      stmt('mode', 'mode', V.inboundMode, (p, v, s) => (p.inbound.mode = { value: v as never, span: s }), 'redirect', "'redirect' rewrites the destination to the inbound port (nat table). 'tproxy' delivers without rewriting (mangle table, needs policy routing): 'mode tproxy mark 1337 table 133 local-mark 1338' sets the packet mark, the routing table, and the mark of the proxy's own loopback connections to the pod IP (defaults 1337, 133, 1338).", 'mode tproxy mark 1337 table 133'),
      stmt('capture-ports', 'capture ports', V.portSelection, (p, v, s) => (p.inbound.capturePorts = { value: v as never, span: s }), 'none', "Destination ports whose inbound TCP is captured: '*' for all, 'none', or a list of ports and ranges.", 'capture ports *'),
      stmt('exclude-ports', 'exclude ports', V.portList, (p, v, s) => (p.inbound.excludePorts = { value: v as never, span: s }), '(none)', "Ports left alone when 'capture ports *' (health checks, metrics). Only valid with '*'.", 'exclude ports 15090, 15021, 15020'),
      stmt('exclude-sources', 'exclude sources', V.cidrList, (p, v, s) => (p.inbound.excludeSources = { value: v as never, span: s }), '(none)', "Sources whose inbound TCP is never captured, whatever its port (Linkerd's --subnets-to-ignore, Kuma's --exclude-inbound-ips). Valid with any 'capture ports' but 'none'.", 'exclude sources 10.0.0.0/8, fd00::/8'),
    ],
  },
  {
    id: 'outbound',
    doc: 'Capture of TCP connections the pod opens.',
    statements: [
      stmt('capture-cidrs', 'capture cidrs', V.cidrSelection, (p, v, s) => (p.outbound.captureCidrs = { value: v as never, span: s }), 'none', "Destinations whose outbound TCP is captured: '*' for all, 'none', or a list of CIDRs.", 'capture cidrs *'),
      stmt('exclude-cidrs', 'exclude cidrs', V.cidrList, (p, v, s) => (p.outbound.excludeCidrs = { value: v as never, span: s }), '(none)', "Destinations whose traffic is never sent to the outbound port, e.g. the cloud metadata address. DNS capture still applies to them: DNS is examined first, as in Istio (with 'order exclusions-first', Kuma's order, they are examined before DNS and the proxy's loopback rules).", 'exclude cidrs 169.254.169.254/32, fd00::/8'),
      stmt('capture-ports', 'capture ports', V.portList, (p, v, s) => (p.outbound.capturePorts = { value: v as never, span: s }), '(none)', 'Destination ports captured whatever the destination address (unless excluded).', 'capture ports 9000'),
      stmt('exclude-ports', 'exclude ports', V.portList, (p, v, s) => (p.outbound.excludePorts = { value: v as never, span: s }), '(none)', 'Destination ports never captured, for TCP and UDP.', 'exclude ports 3306'),
      stmt('exclude-ports-for-uids', 'exclude ports-for-uids', ownerPortList, (p, v, s) => (p.outbound.excludePortsForUids = { value: v as never, span: s }), '(none)', "Outbound traffic of some owners, protocols and destination ports that is never captured, examined before anything else outbound (the proxy's self-redirect and DNS capture included), as Kuma's --exclude-outbound-ports-for-uids does. Each item is [PROTOCOL:][PORTS:]UIDS: 'tcp', 'udp' or '*' (both, the default); a port, a range or '*' (all ports, the default); a uid or a range of uids.", 'exclude ports-for-uids tcp:22:106-108, udp:53:1000, 1001'),
      stmt('groups', 'groups', V.groupSelection, (p, v, s) => (p.outbound.groups = { value: v as never, span: s }), '*', "Owner groups whose outbound traffic is captured: '*' for all, or a list of gids and group names.", 'groups *'),
      stmt('exclude-groups', 'exclude groups', V.groupList, (p, v, s) => (p.outbound.excludeGroups = { value: v as never, span: s }), '(none)', "Owner groups whose outbound traffic is never captured. Only valid with 'groups *'.", 'exclude groups 888'),
    ],
  },
  {
    id: 'loopback',
    doc: 'Traffic that stays inside the pod, over lo.',
    statements: [
      stmt('passthrough', 'passthrough', V.addressList, (p, v, s) => (p.loopback.passthrough = { value: v as never, span: s }), '127.0.0.6, ::6', "The source address the proxy uses when it forwards inbound traffic to the app; never captured, which stops the loop. 'none' when the proxy keeps the original source. IPv4 must be in 127.0.0.0/8; an IPv6 one must be assigned to lo (the shell backend does it).", 'passthrough 127.0.0.6, ::6'),
      stmt('localhost', 'localhost', V.cidrListOrNone, (p, v, s) => (p.loopback.localhost = { value: v as never, span: s }), '127.0.0.1/32, ::1/128', "Destinations that count as localhost: never captured, and excluded from self-redirect. 'none' when only the interface decides (Linkerd's proxy-init returns traffic leaving through lo and nothing else).", 'localhost 127.0.0.1/32, ::1/128'),
      stmt('self-redirect', 'self-redirect', V.onOff, (p, v, s) => (p.loopback.selfRedirect = { value: v as boolean, span: s }), 'on', "When on, the proxy's own connections to the pod's IP (not localhost) go to its inbound listener, as inbound traffic would.", 'self-redirect on'),
    ],
  },
  {
    id: 'dns',
    doc: 'Capture of DNS (port 53, UDP and, unless \'tcp pass\', TCP) to the proxy\'s DNS listener.',
    statements: [
      stmt('capture', 'capture', V.dnsCapture, (p, v, s) => (p.dns.capture = { value: v as never, span: s }), 'off', "'all' captures DNS to any server, 'servers A, B' only to those, 'off' none.", 'capture servers 10.96.0.10, fd00::a'),
      stmt('port', 'port', V.port, (p, v, s) => (p.dns.port = { value: v as number, span: s }), '15053', "The proxy's DNS listener port.", 'port 15053'),
      stmt('tcp', 'tcp', V.choice(['capture', 'pass'] as const), (p, v, s) => (p.dns.tcp = { value: v as 'capture' | 'pass', span: s }), 'capture', "DNS over TCP: 'capture' sends it to the DNS port as UDP is; 'pass' leaves the apps' TCP to port 53 uncaptured, by DNS and by outbound capture alike, whatever its destination (Kuma's 'allow applications to perform DNS queries over TCP'). With 'pass' the proxy's own TCP to port 53 of the pod's IP over lo is self-redirected like its other ports.", 'tcp pass'),
      stmt('conntrack-zones', 'conntrack-zones', V.onOff, (p, v, s) => (p.dns.conntrackZones = { value: v as boolean, span: s }), 'on', "Whether DNS over UDP gets conntrack zones (raw table): the proxy's upstream queries and their answers zone 1, the apps' queries and the proxy's answers zone 2, so that the two legs of a captured query do not clash in conntrack. 'off' as Kuma's --skip-dns-conntrack-zone-split.", 'conntrack-zones off'),
    ],
  },
  {
    id: 'interfaces',
    doc: 'Interfaces treated specially.',
    statements: [
      stmt('exclude', 'exclude', V.interfaceList, (p, v, s) => (p.interfaces.exclude = { value: v as never, span: s }), '(none)', "Traffic arriving on these interfaces is never captured. A trailing '+' matches a prefix.", 'exclude not-istio-nic'),
      stmt('reroute', 'reroute', V.interfaceList, (p, v, s) => (p.interfaces.reroute = { value: v as never, span: s }), '(none)', 'Traffic arriving on these interfaces (VM virtual interfaces) is captured as outbound.', 'reroute eth1, eth2'),
      stmt('vnet', 'vnet', vnetList, (p, v, s) => (p.interfaces.vnet = { value: v as never, span: s }), '(none)', "Virtual networks behind an interface (Kuma's --vnet IFACE:CIDR): new connections arriving on the interface are examined before anything else inbound; DNS over UDP (port 53) goes to the DNS port, TCP to a destination outside the CIDR goes to the outbound port, and the rest (TCP to the CIDR, other UDP) is examined as inbound traffic. An item whose CIDR is of the other family makes no rules in this family. Needs 'mode redirect'.", 'vnet docker0:172.17.0.0/16, br+:172.18.0.0/16'),
    ],
  },
  {
    id: null,
    doc: 'Statements directly inside the policy.',
    statements: [
      stmt('drop-invalid', 'drop-invalid', V.onOff, (p, v, s) => (p.dropInvalid = { value: v as boolean, span: s }), 'off', 'Drop packets that conntrack marks INVALID (avoids resets on out-of-window TCP).', 'drop-invalid on'),
      stmt('log', 'log', V.logSwitch, (p, v, s) => (p.log = { value: v as { level?: number } | null, span: s }), 'off', "LOG rules first in meshcap's nat PREROUTING and OUTPUT chains, as Kuma's --iptables-logs writes them: the first packet of every connection they examine is logged by the kernel with the prefix 'PREROUTING:' or 'OUTPUT:', at the syslog level given (0-7; without it, the kernel's default, 4). LOG is non-terminating: nothing is captured differently.", 'log on level 7'),
      stmt('order', 'order', V.choice(['proxy-first', 'exclusions-first'] as const), (p, v, s) => (p.order = { value: v as 'proxy-first' | 'exclusions-first', span: s }), 'proxy-first', "The order of the outbound checks where meshcap's peers differ. 'proxy-first' (Istio's): the proxy's passthrough and self-redirect, then DNS capture, then outbound 'exclude cidrs'. 'exclusions-first' (Kuma's): 'exclude cidrs' first, then DNS capture, then the proxy's loopback rules. 'exclude ports-for-uids' is first in both, 'exclude ports' before DNS in both.", 'order exclusions-first'),
      stmt('attach', 'attach', V.choice(['first', 'last', 'standard'] as const), (p, v, s) => (p.attach = { value: v as 'first' | 'last' | 'standard', span: s }), 'standard', "Where meshcap's rules run among other tools' rules on the same hooks (Docker's, kube-proxy's, a CNI's). 'first': before them (iptables: the jump from each built-in chain is inserted at the top, -I CHAIN 1; nftables: each base chain at the standard priority minus 1, e.g. -101 for nat). 'last': after them (iptables: appended, -A; nftables: the priority plus 1). 'standard': appended in iptables, the standard priority in nftables, where a base chain of equal priority registered later runs first, so meshcap's table, loaded after the others, usually runs before them. In nat the first rule to translate a connection decides it: a DNAT of another tool ahead of meshcap's chain takes the connection from the proxy.", 'attach first'),
      stmt('families', 'families', V.families, (p, v, s) => (p.families = { value: v as never, span: s }), 'ipv4, ipv6', 'Address families to capture. A family not listed gets no rules at all, so its traffic bypasses the proxy.', 'families ipv4, ipv6'),
    ],
  },
];

export const blockIds = blocks.flatMap((b) => (b.id ? [b.id] : []));
export const topLevel = blocks.find((b) => b.id === null)!;

export function blockSpec(id: string): BlockSpec | undefined {
  return blocks.find((b) => b.id === id);
}

/** Longest statement whose words start `words`. */
export function matchStatement(block: BlockSpec, words: string[]): StatementSpec | undefined {
  let best: StatementSpec | undefined;
  for (const s of block.statements) {
    if (s.words.length <= words.length && s.words.every((w, i) => words[i] === w)) {
      if (!best || s.words.length > best.words.length) best = s;
    }
  }
  return best;
}
