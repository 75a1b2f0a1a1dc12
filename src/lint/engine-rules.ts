// Lint rules about what the rules do to packets, each answered by the exhaustive
// equivalence engine over every packet (src/lint/ask.ts). Each exclusion item: the
// policy's rules against the same policy without the item; no difference, the item is
// redundant; a difference, the engine's class is traffic the item lets past the proxy.
// The cluster-CIDR, container-port, DNS, proxy-loop and IPv6 rules ask about the packets
// they concern (to a cluster CIDR, to a container port, to a DNS server, of the proxy's
// owner, of IPv6) and report the class the engine finds with a member of it, ready for
// `meshcap trace --packet`.
import type { Family, RuleSet } from '../ir/types.js';
import type { CidrItem, Interface, Owner, Policy, PortRange } from '../language/ast.js';
import { lower } from '../lower/lower.js';
import { parseCidr, type Cidr } from '../net/ip.js';
import type { Packet } from '../sim/packet.js';
import { addrValue } from '../sim/simulate.js';
import type { Span } from '../source.js';
import { outcomeText, packetText } from '../verify/compare.js';
import { ask, captured, PASSED, redirected, type Answer } from './ask.js';
import type { RuleId } from './rules.js';

export interface RawFinding {
  rule: RuleId;
  message: string;
  hint?: string;
  /** A span in the policy text (mapped to the manifest by the caller), and the item's text. */
  span: Span | null;
  item?: string;
  /** The container port it is about: where to point when the policy span maps nowhere. */
  port?: number;
  /** About the proxy's owner: points at where the manifest sets it. */
  proxyOwner?: boolean;
}

export interface EngineInput {
  clusterCidrs: Cidr[];
  /** A manifest's container ports (TCP), with where each is declared. */
  ports?: { port: number; container: string }[];
  dnsServers?: string[];
  /** The owner the proxy really runs as (a manifest's istio-proxy container), when known. */
  proxyOwner?: { uid: number; gid: number };
  /** Items set by the user (not by a mesh default): only these are judged. */
  isUserSet(span: Span | null, item: string): boolean;
  /** Whether to ask about IPv6 bypass (a workload's families are the mesh's: it matters where the cluster has IPv6). */
  ipv6?: boolean;
  /** Spans that already have a finding (duplicate-value, exclude-outside-capture): not judged again. */
  flagged: Set<string>;
}

const ISTIO_OWN_INBOUND = new Set(['15090', '15021', '15020']);

export const spanKey = (s: Span) => `${s.start.offset}:${s.end.offset}`;

interface ListSpec<T> {
  what: string;
  items(p: Policy): T[];
  without(p: Policy, items: T[]): Policy;
  text(x: T): string;
  span(x: T): Span | null;
}

const portText = (r: PortRange) => (r.lo === r.hi ? `${r.lo}` : `${r.lo}-${r.hi}`);
const LISTS: ListSpec<unknown>[] = [
  {
    what: 'outbound CIDR',
    items: (p) => p.outbound.excludeCidrs.value,
    without: (p, v) => ({ ...p, outbound: { ...p.outbound, excludeCidrs: { ...p.outbound.excludeCidrs, value: v as CidrItem[] } } }),
    text: (x) => `${(x as CidrItem).addr}/${(x as CidrItem).prefix}`,
    span: (x) => (x as CidrItem).span,
  },
  {
    what: 'outbound port',
    items: (p) => p.outbound.excludePorts.value,
    without: (p, v) => ({ ...p, outbound: { ...p.outbound, excludePorts: { ...p.outbound.excludePorts, value: v as PortRange[] } } }),
    text: (x) => portText(x as PortRange),
    span: (x) => (x as PortRange).span,
  },
  {
    what: 'inbound port',
    items: (p) => p.inbound.excludePorts.value,
    without: (p, v) => ({ ...p, inbound: { ...p.inbound, excludePorts: { ...p.inbound.excludePorts, value: v as PortRange[] } } }),
    text: (x) => portText(x as PortRange),
    span: (x) => (x as PortRange).span,
  },
  {
    what: 'interface',
    items: (p) => p.interfaces.exclude.value,
    without: (p, v) => ({ ...p, interfaces: { ...p.interfaces, exclude: { ...p.interfaces.exclude, value: v as Interface[] } } }),
    text: (x) => `${(x as Interface).name}${(x as Interface).prefix ? '+' : ''}`,
    span: (x) => (x as Interface).span,
  },
  {
    what: 'group',
    items: (p) => p.outbound.excludeGroups.value,
    without: (p, v) => ({ ...p, outbound: { ...p.outbound, excludeGroups: { ...p.outbound.excludeGroups, value: v as Owner[] } } }),
    text: (x) => ((x as Owner).kind === 'id' ? String((x as Owner & { id: number }).id) : (x as Owner & { name: string }).name),
    span: (x) => (x as Owner).span,
  },
];

const ownerValue = (o: Owner) => (o.kind === 'id' ? o.id : o.name);
const inCidr = (c: Cidr, addr: string) => {
  const v = addrValue(addr);
  return c.first <= v && v <= c.last;
};
const LOOPBACK: Record<Family, Cidr> = { ipv4: must('127.0.0.0/8'), ipv6: must('::1/128') };
function must(text: string): Cidr {
  const r = parseCidr(text);
  if (!r.ok) throw new Error(text);
  return r.cidr;
}

/** Connections the app opens (not the proxy, not a packet without a socket, not to loopback): what capture is for. */
function appConnection(policy: Policy) {
  const uids = new Set(policy.proxy.uids.value.map(ownerValue));
  const gids = new Set(policy.proxy.gids.value.map(ownerValue));
  return {
    about: (p: Packet) => p.hook === 'output' && p.ctstate === 'new' && p.uid !== undefined && !uids.has(p.uid) && !gids.has(p.gid ?? -1) && p.oif !== 'lo' && !inCidr(LOOPBACK[p.family], p.dst),
    key: JSON.stringify([...uids, '/', ...gids]),
    values: { uid: { owners: [...uids] }, gid: { owners: [...gids] }, oif: { ifaces: [{ name: 'lo', prefix: false }] }, daddr: { cidrs: Object.values(LOOPBACK) } },
  };
}

/** A finding's evidence: the engine's class and a member of it, with what the rules and the expectation do. */
const evidence = (a: Answer, without = 'without it') => `${a.description}, e.g. '${packetText(a.packet)}': ${outcomeText(a.got.outcome)} (${without}: ${outcomeText(a.want)})`;
const found = (a: Answer | null | 'undecided'): a is Answer => a !== null && a !== 'undecided';

export function engineFindings(policy: Policy, input: EngineInput): RawFinding[] {
  const out: RawFinding[] = [];
  const ir = lower(policy);
  const families = policy.families.value;
  for (const list of LISTS) {
    const items = list.items(policy);
    for (const item of items) {
      const span = list.span(item);
      const text = list.text(item);
      if (!input.isUserSet(span, text) || (span && input.flagged.has(spanKey(span)))) continue;
      // The proxy's own listeners (Istio: metrics 15090, health 15021, status 15020) are excluded inbound by design.
      if (list.what === 'inbound port' && ISTIO_OWN_INBOUND.has(text)) continue;
      const variant = lower(list.without(policy, items.filter((x) => x !== item)));
      const r = ask(ir, families, { reference: variant });
      if (r === null) {
        out.push({ rule: 'redundant-exclusion', span, item: text, message: `excluded ${list.what} '${text}' changes no packet: the rules with and without it agree on every packet (the exhaustive engine)`, hint: 'remove it; what it names is already decided elsewhere (another exclusion, localhost, or the capture list)' });
      } else if (found(r)) {
        out.push({ rule: 'exclusion-bypass', span, item: text, message: `excluded ${list.what} '${text}' lets traffic bypass the proxy: ${evidence(r)}`, hint: `meshcap trace POLICY --packet '${packetText(r.packet)}' shows the rules it meets` });
      }
      if (list.what === 'outbound CIDR') out.push(...clusterCidr(policy, ir, variant, item as CidrItem, text, input));
    }
  }
  out.push(...inboundPorts(policy, ir, input), ...dns(policy, ir, input), ...proxyLoop(policy, ir, input), ...(input.ipv6 === false ? [] : ipv6(policy, ir)));
  return out;
}

/** The proxy's own connections must leave untouched; redirected to itself, they loop. */
function proxyLoop(policy: Policy, ir: RuleSet, input: EngineInput): RawFinding[] {
  if (!input.proxyOwner) return [];
  const { uid, gid } = input.proxyOwner;
  const r = ask(ir, policy.families.value, {
    // Its connections out of the pod (through lo it reaches its own inbound listener on purpose).
    about: (p) => p.hook === 'output' && p.ctstate === 'new' && p.oif !== 'lo' && !inCidr(LOOPBACK[p.family], p.dst),
    values: { oif: { ifaces: [{ name: 'lo', prefix: false }] }, daddr: { cidrs: Object.values(LOOPBACK) } },
    fixed: { hook: 'output', values: { uid, gid }, kinds: ['uid', 'gid'] },
    key: 'proxy-loop',
    ok: (o) => !captured(o),
    expected: PASSED,
  });
  if (!found(r)) return [];
  const uids = policy.proxy.uids.value.map(ownerValue).join(', ') || 'none';
  return [{ rule: 'proxy-traffic-recaptured', span: null, proxyOwner: true, message: `the proxy runs as uid ${uid} gid ${gid}, which the capture rules do not exempt (they exempt uid ${uids}): its own connections are captured back into the proxy (a loop): ${evidence(r, 'expected')}`, hint: "run istio-proxy as the uid and gid istio-init is given (1337), or give istio-init the proxy's ids" }];
}

/** An exclusion that covers part of a cluster CIDR: app connections into it that the rules without the exclusion capture and the rules pass. */
function clusterCidr(policy: Policy, ir: RuleSet, variant: RuleSet, item: CidrItem, text: string, input: EngineInput): RawFinding[] {
  const app = appConnection(policy);
  for (const c of input.clusterCidrs) {
    if (c.family !== item.family || !policy.families.value.includes(c.family) || c.last < item.first || item.last < c.first) continue;
    const r = ask(ir, [c.family], { about: (p) => app.about(p) && inCidr(c, p.dst), values: { ...app.values, daddr: { cidrs: [...app.values.daddr.cidrs, c] } }, reference: variant, fixed: { hook: 'output', values: {}, kinds: [] }, key: JSON.stringify(['cluster', `${c.addr}/${c.prefix}`, app.key]) }, (got, want) => !captured(got) && captured(want));
    if (!found(r)) continue;
    return [{ rule: 'cluster-cidr-excluded', span: item.span, item: text, message: `excluded outbound CIDR '${text}' covers cluster CIDR ${c.addr}/${c.prefix}: ${evidence(r, 'without the exclusion')}`, hint: 'exclude only what must bypass the mesh (a metadata server, an external database), never the cluster ranges' }];
  }
  return [];
}

/** Each TCP port a container declares: new connections to it from outside the pod must reach the proxy. */
function inboundPorts(policy: Policy, ir: RuleSet, input: EngineInput): RawFinding[] {
  const out: RawFinding[] = [];
  const proxyPorts = new Set([policy.proxy.inboundPort.value, policy.proxy.outboundPort.value, policy.proxy.tunnelPort.value, 15000, 15020, 15021, 15090]);
  const seen = new Set<number>();
  for (const cp of input.ports ?? []) {
    if (proxyPorts.has(cp.port) || seen.has(cp.port)) continue;
    seen.add(cp.port);
    const r = ask(ir, policy.families.value, {
      about: (p) => p.hook === 'prerouting' && p.protocol === 'tcp' && p.ctstate === 'new' && p.iif !== 'lo' && !p.looped,
      values: { iif: { ifaces: [{ name: 'lo', prefix: false }] } },
      fixed: { hook: 'prerouting', values: { dport: cp.port }, kinds: ['dport'] },
      key: `inbound-port:${policy.proxy.inboundPort.value}`,
      ok: captured,
      expected: redirected(policy.proxy.inboundPort.value),
    });
    if (!found(r)) continue;
    const ex = policy.inbound.excludePorts.value.find((x) => x.lo <= cp.port && cp.port <= x.hi);
    const span = ex ? ex.span : policy.inbound.capturePorts.span;
    out.push({ rule: 'inbound-port-bypass', span, item: ex ? portText(ex) : undefined, port: cp.port, message: `container port ${cp.port}${cp.container ? ` of '${cp.container}'` : ''} is not captured inbound: ${r.description} reach the app without the proxy, e.g. '${packetText(r.packet)}': ${outcomeText(r.got.outcome)}`, hint: ex ? `remove ${cp.port} from the excluded inbound ports` : `capture port ${cp.port} inbound (or all: '*')` });
  }
  return out;
}

/** With DNS capture on, every query of the app over UDP to a DNS server (any server with `capture all`) goes to the proxy's DNS port. */
function dns(policy: Policy, ir: RuleSet, input: EngineInput): RawFinding[] {
  const cap = policy.dns.capture.value;
  if (cap.kind === 'off') return [];
  const port = policy.dns.port.value;
  const app = appConnection(policy);
  const servers = cap.kind === 'servers' ? cap.servers.map((s) => must(s.text.includes('/') ? s.text : `${s.text}/${s.family === 'ipv4' ? 32 : 128}`)) : null;
  const r = ask(ir, policy.families.value, {
    about: (p) => app.about(p) && p.protocol === 'udp' && (!servers || servers.some((s) => s.family === p.family && inCidr(s, p.dst))),
    values: { ...app.values, daddr: { cidrs: [...app.values.daddr.cidrs, ...(servers ?? [])] } },
    fixed: { hook: 'output', values: { dport: 53 }, kinds: ['dport'] },
    key: JSON.stringify(['dns', port, servers?.map((x) => `${x.addr}/${x.prefix}`), app.key]),
    ok: (o) => o.redirect?.port === port,
    expected: redirected(port),
  });
  if (!found(r)) return [];
  // The rule that decided: the last one on the path that came from a statement.
  const step = [...r.got.path].reverse().find((s) => s.rule?.origin.span);
  void input;
  return [{ rule: 'dns-not-captured', span: step?.rule?.origin.span ?? policy.dns.capture.span, message: `DNS capture is on, but ${r.description} are not captured: e.g. '${packetText(r.packet)}': ${outcomeText(r.got.outcome)}${step ? ` (decided by: ${step.rule!.origin.purpose})` : ''}`, hint: 'the statement pointed at lets DNS queries past the proxy before the DNS rules see them' }];
}

/** Without IPv6 among the families: the IPv6 traffic the same policy with IPv6 would capture, and these rules do not. */
function ipv6(policy: Policy, ir: RuleSet): RawFinding[] {
  if (policy.families.value.includes('ipv6')) return [];
  const dual = lower({ ...policy, families: { ...policy.families, value: [...policy.families.value, 'ipv6'] } });
  const r = ask(ir, ['ipv6'], { reference: dual, key: 'ipv6' }, (got, want) => !captured(got) && captured(want));
  if (!found(r)) return [];
  return [{ rule: 'ipv6-bypass', span: policy.families.span, message: `IPv6 traffic is not captured at all: ${evidence(r, 'with ipv6 among the families')}`, hint: "add ipv6 to the families (Istio: values.pilot.env.ISTIO_DUAL_STACK / --ipv6), or make sure the pod has no IPv6 address" }];
}
