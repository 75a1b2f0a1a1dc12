// Lint rules about what the rules do to packets. Each exclusion item is judged by the
// exhaustive equivalence engine: the policy's rules against the same policy without the
// item, over every packet. No difference: the item is redundant. A difference: the
// engine's counterexample is a packet the item lets past the proxy. The cluster-CIDR,
// container-port and DNS rules ask the simulator (the engine's own semantics) about one
// concrete packet each and give it in the message, ready for `meshcap trace --packet`.
import type { Family } from '../ir/types.js';
import type { CidrItem, Interface, Owner, Policy, PortRange } from '../language/ast.js';
import { lower } from '../lower/lower.js';
import { parseCidr, type Cidr } from '../net/ip.js';
import type { Outcome, Packet } from '../sim/packet.js';
import { simulate } from '../sim/simulate.js';
import type { Span } from '../source.js';
import { outcomeText, packetText } from '../verify/compare.js';
import { equivalent } from '../verify/engine.js';
import { rulesSide } from '../verify/side.js';
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
  /** Spans that already have a finding (duplicate-value, exclude-outside-capture): not judged again. */
  flagged: Set<string>;
}

const APP_UID = 1000;
const ISTIO_OWN_INBOUND = new Set(['15090', '15021', '15020']);
const POD = { ipv4: '10.1.0.5', ipv6: 'fd00::5' } as const;
const PEER = { ipv4: '10.2.0.9', ipv6: 'fd00::9' } as const;

export const spanKey = (s: Span) => `${s.start.offset}:${s.end.offset}`;

interface ListSpec<T> {
  what: string;
  items(p: Policy): T[];
  without(p: Policy, items: T[]): Policy;
  text(x: T): string;
  span(x: T): Span | null;
  /** Packets of the app the item is most likely to decide (tried before the engine). */
  probes(x: T, families: Family[]): Packet[];
}

const portText = (r: PortRange) => (r.lo === r.hi ? `${r.lo}` : `${r.lo}-${r.hi}`);
const LISTS: ListSpec<unknown>[] = [
  {
    what: 'outbound CIDR',
    items: (p) => p.outbound.excludeCidrs.value,
    without: (p, v) => ({ ...p, outbound: { ...p.outbound, excludeCidrs: { ...p.outbound.excludeCidrs, value: v as CidrItem[] } } }),
    text: (x) => `${(x as CidrItem).addr}/${(x as CidrItem).prefix}`,
    span: (x) => (x as CidrItem).span,
    probes: (x) => {
      const c = x as CidrItem;
      const host = hostIn(c);
      return [packet(c.family, 'output', 'tcp', host, 80), packet(c.family, 'output', 'udp', host, 53)];
    },
  },
  {
    what: 'outbound port',
    items: (p) => p.outbound.excludePorts.value,
    without: (p, v) => ({ ...p, outbound: { ...p.outbound, excludePorts: { ...p.outbound.excludePorts, value: v as PortRange[] } } }),
    text: (x) => portText(x as PortRange),
    span: (x) => (x as PortRange).span,
    probes: (x, fs) => fs.flatMap((f) => [packet(f, 'output', 'tcp', PEER[f], (x as PortRange).lo), packet(f, 'output', 'udp', PEER[f], (x as PortRange).lo)]),
  },
  {
    what: 'inbound port',
    items: (p) => p.inbound.excludePorts.value,
    without: (p, v) => ({ ...p, inbound: { ...p.inbound, excludePorts: { ...p.inbound.excludePorts, value: v as PortRange[] } } }),
    text: (x) => portText(x as PortRange),
    span: (x) => (x as PortRange).span,
    probes: (x, fs) => fs.map((f) => packet(f, 'prerouting', 'tcp', POD[f], (x as PortRange).lo)),
  },
  {
    what: 'interface',
    items: (p) => p.interfaces.exclude.value,
    without: (p, v) => ({ ...p, interfaces: { ...p.interfaces, exclude: { ...p.interfaces.exclude, value: v as Interface[] } } }),
    text: (x) => `${(x as Interface).name}${(x as Interface).prefix ? '+' : ''}`,
    span: (x) => (x as Interface).span,
    probes: (x, fs) => {
      const name = (x as Interface).name + ((x as Interface).prefix ? '0' : '');
      return fs.flatMap((f) => [{ ...packet(f, 'output', 'tcp', PEER[f], 80), oif: name }, { ...packet(f, 'prerouting', 'tcp', POD[f], 8080), iif: name }]);
    },
  },
  {
    what: 'group',
    items: (p) => p.outbound.excludeGroups.value,
    without: (p, v) => ({ ...p, outbound: { ...p.outbound, excludeGroups: { ...p.outbound.excludeGroups, value: v as Owner[] } } }),
    text: (x) => ((x as Owner).kind === 'id' ? String((x as Owner & { id: number }).id) : (x as Owner & { name: string }).name),
    span: (x) => (x as Owner).span,
    probes: (x, fs) => {
      const o = x as Owner;
      const gid = o.kind === 'id' ? o.id : o.name;
      return fs.map((f) => ({ ...packet(f, 'output', 'tcp', PEER[f], 80), gid }));
    },
  },
];

const captured = (o: Outcome) => o.verdict === 'accept' && (o.redirect !== null || o.tproxy !== null);

function packet(family: Family, hook: Packet['hook'], protocol: 'tcp' | 'udp', dst: string, dport: number): Packet {
  const out = hook === 'output';
  return {
    hook,
    family,
    protocol,
    src: out ? POD[family] : PEER[family],
    dst,
    sport: 40000,
    dport,
    iif: out ? '' : 'eth0',
    oif: out ? 'eth0' : '',
    ...(out ? { uid: APP_UID, gid: APP_UID } : {}),
    mark: 0,
    ctmark: 0,
    ctstate: 'new',
  };
}

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
      // A concrete packet that the item decides is a difference already; the engine is
      // asked only when none is found (to prove the item redundant, or find the packet).
      const probe = list.probes(item, families).find((p) => families.includes(p.family) && outcomeText(simulate(ir, p, undefined, false).outcome) !== outcomeText(simulate(variant, p, undefined, false).outcome));
      if (probe) {
        const a = simulate(ir, probe, undefined, false).outcome;
        const b = simulate(variant, probe, undefined, false).outcome;
        out.push(bypass(list.what, text, span, `'${packetText(probe)}': ${outcomeText(a)} (without it: ${outcomeText(b)})`, probe));
      } else {
        const r = equivalent(rulesSide('policy', ir), rulesSide('without', variant), { families, maxDifferences: 1 });
        if (r.result === 'equal') {
          out.push({ rule: 'redundant-exclusion', span, item: text, message: `excluded ${list.what} '${text}' changes no packet: the rules with and without it agree on all ${r.classes} packet classes`, hint: 'remove it; what it names is already decided elsewhere (another exclusion, localhost, or the capture list)' });
        } else if (r.result === 'different' && r.counterexample) {
          const d = r.differences[0];
          const { pkt, a, b } = readable(r.counterexample.packet, ir, variant) ?? { pkt: r.counterexample.packet, a: r.counterexample.a, b: r.counterexample.b };
          out.push(bypass(list.what, text, span, `${d.description}, e.g. '${packetText(pkt)}': ${outcomeText(a.outcome)} (without it: ${outcomeText(b.outcome)})`, pkt));
        }
      }
      if (list.what === 'outbound CIDR') out.push(...clusterCidr(policy, ir, variant, item as CidrItem, text, input));
    }
  }
  out.push(...inboundPorts(policy, ir, input), ...dns(policy, ir, input), ...proxyLoop(policy, ir, input));
  return out;
}

/** The proxy's own connections must leave untouched; redirected to itself, they loop. */
function proxyLoop(policy: Policy, ir: ReturnType<typeof lower>, input: EngineInput): RawFinding[] {
  if (!input.proxyOwner) return [];
  const { uid, gid } = input.proxyOwner;
  for (const family of policy.families.value) {
    const pkt = { ...packet(family, 'output', 'tcp', PEER[family], 80), uid, gid };
    const r = simulate(ir, pkt, undefined, false);
    if (!captured(r.outcome)) continue;
    const uids = policy.proxy.uids.value.map((o) => (o.kind === 'id' ? o.id : o.name)).join(', ');
    return [{ rule: 'proxy-traffic-recaptured', span: null, proxyOwner: true, message: `the proxy runs as uid ${uid} gid ${gid}, which the capture rules do not exempt (they exempt uid ${uids}): its own connection '${packetText(pkt)}' is ${outcomeText(r.outcome)}, back into the proxy (a loop)`, hint: 'run istio-proxy as the uid and gid istio-init is given (1337), or give istio-init the proxy\'s ids' }];
  }
  return [];
}

function bypass(what: string, text: string, span: Span | null, evidence: string, pkt: Packet): RawFinding {
  return { rule: 'exclusion-bypass', span, item: text, message: `excluded ${what} '${text}' lets traffic bypass the proxy: ${evidence}`, hint: `meshcap trace POLICY --packet '${packetText(pkt)}' shows the rules it meets` };
}

/** An address inside a CIDR to send to: the second address of a range, the address of a host route. */
function hostIn(c: Cidr): string {
  if (c.prefix >= (c.family === 'ipv4' ? 31 : 127)) return c.addr;
  if (c.family === 'ipv6') return c.addr.endsWith('::') ? `${c.addr}1` : c.addr;
  const v = c.addr.split('.').map(Number).reduce((a, x) => a * 256 + x, 0) + 1;
  return [24, 16, 8, 0].map((sh) => Math.floor(v / 2 ** sh) % 256).join('.');
}

/**
 * The engine's counterexample has the least value of each field's class (port 0, uid
 * 4000000000, no interface). The same packet as a person would send it (the pod's
 * address, port 40000, uid 1000, eth0; the class's destination) is shown instead when it
 * differs in the same way, which the simulator checks.
 */
function readable(p: Packet, ir: ReturnType<typeof lower>, variant: ReturnType<typeof lower>) {
  const out = p.hook === 'output';
  const nice: Packet = {
    ...p,
    src: p.src === '0.0.0.0' || p.src === '::' ? (out ? POD : PEER)[p.family] : p.src,
    dst: p.dst === '0.0.0.0' || p.dst === '::' ? (out ? PEER : POD)[p.family] : p.dst,
    sport: p.sport || 40000,
    dport: p.dport || 80,
    ...(out ? { oif: p.oif || 'eth0', uid: p.uid === 4000000000 ? APP_UID : p.uid, gid: p.gid === 4000000000 ? APP_UID : p.gid } : { iif: p.iif || 'eth0' }),
  };
  const a = simulate(ir, nice, undefined, false);
  const b = simulate(variant, nice, undefined, false);
  if (outcomeText(a.outcome) === outcomeText(b.outcome) || outcomeText(a.outcome) !== outcomeText(simulate(ir, p, undefined, false).outcome)) return undefined;
  return { pkt: nice, a, b };
}

function clusterCidr(policy: Policy, ir: ReturnType<typeof lower>, variant: ReturnType<typeof lower>, item: CidrItem, text: string, input: EngineInput): RawFinding[] {
  for (const c of input.clusterCidrs) {
    if (c.family !== item.family || !policy.families.value.includes(c.family)) continue;
    const inner = c.prefix >= item.prefix ? c : item;
    const outer = inner === c ? item : c;
    const p = parseCidr(`${inner.addr}/${outer.prefix}`);
    if (!p.ok && p.kind !== 'host-bits') continue;
    const outerNet = p.ok ? `${p.cidr.addr}/${p.cidr.prefix}` : p.canonical;
    if (outerNet !== `${outer.addr}/${outer.prefix}`) continue; // disjoint
    const pkt = packet(c.family, 'output', 'tcp', hostIn(inner), 80);
    const a = simulate(ir, pkt, undefined, false).outcome;
    const b = simulate(variant, pkt, undefined, false).outcome;
    if (captured(a) || !captured(b)) continue;
    return [{ rule: 'cluster-cidr-excluded', span: item.span, item: text, message: `excluded outbound CIDR '${text}' covers cluster CIDR ${c.addr}/${c.prefix}: '${packetText(pkt)}' bypasses the proxy (${outcomeText(a)}; without the exclusion: ${outcomeText(b)})`, hint: 'exclude only what must bypass the mesh (a metadata server, an external database), never the cluster ranges' }];
  }
  return [];
}

function inboundPorts(policy: Policy, ir: ReturnType<typeof lower>, input: EngineInput): RawFinding[] {
  const out: RawFinding[] = [];
  const proxyPorts = new Set([policy.proxy.inboundPort.value, policy.proxy.outboundPort.value, policy.proxy.tunnelPort.value, 15000, 15020, 15021, 15090]);
  for (const cp of input.ports ?? []) {
    if (proxyPorts.has(cp.port)) continue;
    for (const family of policy.families.value) {
      const pkt = packet(family, 'prerouting', 'tcp', POD[family], cp.port);
      const r = simulate(ir, pkt, undefined, false);
      if (captured(r.outcome)) continue;
      const ex = policy.inbound.excludePorts.value.find((x) => x.lo <= cp.port && cp.port <= x.hi);
      const span = ex ? ex.span : policy.inbound.capturePorts.span;
      out.push({ rule: 'inbound-port-bypass', span, item: ex ? portText(ex) : undefined, port: cp.port, message: `container port ${cp.port}${cp.container ? ` of '${cp.container}'` : ''} is not captured inbound: '${packetText(pkt)}' reaches the app without the proxy (${outcomeText(r.outcome)})`, hint: ex ? `remove ${cp.port} from the excluded inbound ports` : `capture port ${cp.port} inbound (or all: '*')` });
      break;
    }
  }
  return out;
}

function dns(policy: Policy, ir: ReturnType<typeof lower>, input: EngineInput): RawFinding[] {
  const cap = policy.dns.capture.value;
  if (cap.kind === 'off') return [];
  const port = policy.dns.port.value;
  for (const family of policy.families.value) {
    const servers = cap.kind === 'servers' ? cap.servers.filter((s) => s.family === family).map((s) => s.text) : (input.dnsServers ?? []).filter((s) => s.includes(':') === (family === 'ipv6'));
    if (cap.kind === 'all' && !servers.length) servers.push(family === 'ipv4' ? '10.96.0.10' : 'fd00::a');
    for (const server of servers) {
      const pkt = packet(family, 'output', 'udp', server, 53);
      const r = simulate(ir, pkt);
      if (r.outcome.redirect?.port === port) continue;
      // The rule that decided: the last one on the path that came from a statement.
      const step = [...r.path].reverse().find((s) => s.rule?.origin.span);
      return [{ rule: 'dns-not-captured', span: step?.rule?.origin.span ?? policy.dns.capture.span, message: `DNS capture is on, but the query '${packetText(pkt)}' is not captured: ${outcomeText(r.outcome)}${step ? ` (decided by: ${step.rule!.origin.purpose})` : ''}`, hint: 'the statement pointed at lets DNS queries past the proxy before the DNS rules see them' }];
    }
  }
  return [];
}
