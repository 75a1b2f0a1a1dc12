// Conformance with Istio: for every sidecar-capture case of the corpus, import the case's
// config, compile it, import Istio's golden rules, and compare both over every packet
// with the exhaustive engine. Each class of packets treated differently is attributed to
// a documented difference (docs/istio-differences.md); anything else is a finding to fix.
import { loadText } from '../../src/language/load.js';
import { lower } from '../../src/lower/lower.js';
import { policyFromConfig } from '../../src/import/istio.js';
import type { RuleSet } from '../../src/ir/types.js';
import type { Packet } from '../../src/sim/packet.js';
import { equivalent, type DiffRange } from '../../src/verify/engine.js';
import { rulesSide } from '../../src/verify/side.js';
import { caseConfig, istioCases, loadGolden, loadKernelListing, type CorpusCase } from './istio-corpus.js';

export interface CaseResult {
  name: string;
  /** Packet classes the exhaustive engine explored. */
  classes: number;
  /** Classes (merged ranges) whose outcome differs. */
  differing: number;
  documented: Record<string, number>;
  undocumented: DiffRange[];
  kernelListingAgrees: boolean | null;
  error?: string;
}

/** A known, deliberate difference from Istio: an id and a test on the differing packet. */
export interface KnownDifference {
  id: string;
  applies(p: Packet, d: DiffRange, c: CorpusCase): boolean;
}

const isOwner = (v: number | string | undefined, ids: string[]) => v !== undefined && ids.includes(String(v));
/** A setting of istio-iptables' config as text ('' when unset). */
const setting = (c: CorpusCase, key: string): string => {
  const v = c.config[key];
  return typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean' ? String(v) : '';
};
const proxyUids = (c: CorpusCase) => (setting(c, 'ProxyUID') || '1337').split(',');
const proxyGids = (c: CorpusCase) => (setting(c, 'ProxyGID') || setting(c, 'ProxyUID') || '1337').split(',');

export const knownDifferences: KnownDifference[] = [
  {
    // Istio: the first proxy uid's "-o lo ! --uid-owner U RETURN" rule returns loopback
    // traffic of every other proxy uid/gid before its own self-redirect rule is reached.
    // meshcap treats every listed uid and gid as the proxy.
    id: 'D1-proxy-owners',
    applies: (p, _d, c) => {
      const uids = proxyUids(c);
      const gids = proxyGids(c);
      return p.hook === 'output' && p.oif === 'lo' && (isOwner(p.uid, uids) || isOwner(p.gid, gids)) && !(String(p.uid) === uids[0]);
    },
  },
  {
    // Istio's gid self-redirect rule does not exclude port 53 when DNS is captured (the uid
    // one does); meshcap excludes it for both.
    id: 'D2-gid-dns-self-redirect',
    applies: (p, _d, c) => {
      const uids = proxyUids(c);
      const gids = proxyGids(c);
      return c.config.RedirectDNS === true && p.hook === 'output' && p.oif === 'lo' && p.protocol === 'tcp' && p.dport === 53 && isOwner(p.gid, gids) && !isOwner(p.uid, uids);
    },
  },
  {
    // meshcap honours excluded CIDRs for traffic rerouted from virtual interfaces too.
    id: 'D3-reroute-excluded-cidrs',
    applies: (p, _d, c) => p.hook === 'prerouting' && setting(c, 'RerouteVirtualInterfaces').split(',').includes(p.iif) && !!c.config.OutboundIPRangesExclude,
  },
  {
    // Istio's TPROXY inbound chain does not exempt the tunnel port; meshcap never captures it.
    id: 'D4-tproxy-tunnel-port',
    applies: (p, _d, c) => p.hook === 'prerouting' && c.config.InboundInterceptionMode === 'TPROXY' && p.dport === Number(setting(c, 'InboundTunnelPort') || 15008),
  },
  {
    // Istio returns the app's loopback traffic before its DNS rules, except TCP port 53,
    // which then falls through to outbound capture when the pod's own address is in a
    // captured range. meshcap returns loopback traffic after DNS: it is never captured.
    id: 'D5-loopback-tcp-53',
    applies: (p, _d, c) => {
      const uids = proxyUids(c);
      const gids = proxyGids(c);
      return c.config.RedirectDNS === true && p.hook === 'output' && p.oif === 'lo' && p.protocol === 'tcp' && p.dport === 53 && !isOwner(p.uid, uids) && !isOwner(p.gid, gids);
    },
  },
];

export function ours(c: CorpusCase): RuleSet {
  const { config } = caseConfig(c);
  const { text } = policyFromConfig(config, 'istio');
  const l = loadText(`${c.name}.intercept`, text, 'intercept');
  if (!l.policy || l.diagnostics.some((d) => d.severity === 'error')) {
    throw new Error(`${c.name}: the imported policy does not check: ${l.diagnostics.map((d) => d.message).join('; ')}\n${text}`);
  }
  return lower(l.policy);
}

export function runCase(c: CorpusCase): CaseResult {
  const res: CaseResult = { name: c.name, classes: 0, differing: 0, documented: {}, undocumented: [], kernelListingAgrees: null };
  const golden = loadGolden(c);
  if (!golden.ruleset) {
    res.error = `golden does not import: ${golden.diagnostics.map((d) => `${d.span?.file}:${d.span?.start.line} ${d.message}`).join('; ')}`;
    return res;
  }
  const mine = ours(c);
  const families = c.config.EnableIPv6 === true ? (['ipv4', 'ipv6'] as const) : (['ipv4'] as const);
  // Every packet: all differing classes, each attributed to a documented difference.
  const r = equivalent(rulesSide('meshcap', mine), rulesSide('istio', golden.ruleset), { families: [...families], maxDifferences: 100000 });
  if (r.result === 'undecided') res.error = `undecided: ${r.reason}`;
  res.classes = r.classes;
  res.differing = r.differences.length;
  for (const d of r.differences) {
    const k = knownDifferences.find((x) => x.applies(d.packet, d, c));
    if (k) res.documented[k.id] = (res.documented[k.id] ?? 0) + 1;
    else res.undocumented.push(d);
  }
  const kernel = loadKernelListing(c);
  if (kernel?.ruleset) {
    // Istio's input form and the kernel's listing of it must mean the same, exactly.
    const k = equivalent(rulesSide('istio input', golden.ruleset), rulesSide('kernel listing', kernel.ruleset), { families: [...families] });
    res.kernelListingAgrees = k.result === 'equal';
  } else if (kernel) {
    res.error = `kernel listing does not import: ${kernel.diagnostics.map((d) => d.message).join('; ')}`;
  }
  return res;
}

export function runAll(): CaseResult[] {
  return istioCases().map((c) => runCase(c));
}
