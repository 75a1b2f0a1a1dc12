// What a compiled rule set needs from the kernel and its tools, rule by rule, and a probe
// for each need: the smallest rule (or routing command) that uses it, loaded by
// `meshcap preflight` into a throwaway namespace (a check that does not load misses hook
// errors: netfilter-facts §2).
import type { Family, Rule, RuleSet } from '../src/ir/types.js';
import { forEachRule } from '../src/ir/walk.js';

export type Feature = 'redirect' | 'owner' | 'multiport' | 'tproxy' | 'socket' | 'ct-zone' | 'mark' | 'connmark' | 'policy-routing';

export interface Need {
  feature: Feature;
  /** The kernel module or facility, for people. */
  what: string;
  families: Family[];
  /** Where the rules that need it come from (file:line), at most a few. */
  from: string[];
}

const WHAT: Record<Feature, string> = {
  redirect: 'NAT REDIRECT (nf_nat, xt_REDIRECT / nft redirect)',
  owner: 'socket owner matches (xt_owner / nft meta skuid, skgid)',
  multiport: 'port lists (xt_multiport / nft sets)',
  tproxy: 'TPROXY (xt_TPROXY / nft_tproxy)',
  socket: 'transparent socket matches (xt_socket / nft_socket)',
  'ct-zone': 'conntrack zones (xt_CT / nft ct zone)',
  mark: 'packet marks (xt_mark, xt_MARK / nft meta mark)',
  connmark: 'connection marks (xt_connmark, xt_CONNMARK / nft ct mark)',
  'policy-routing': 'policy routing for TPROXY (ip rule fwmark, a local route in its own table)',
};

function featuresOf(r: Rule): Feature[] {
  const out: Feature[] = [];
  for (const m of r.matches) {
    if (m.kind === 'uid' || m.kind === 'gid') out.push('owner');
    if ((m.kind === 'dport' || m.kind === 'sport') && (m.ranges.length > 1 || m.neg)) out.push('multiport');
    if (m.kind === 'socket') out.push('socket');
    if (m.kind === 'mark') out.push('mark');
    if (m.kind === 'connmark') out.push('connmark');
  }
  for (const a of [...(r.effects ?? []), r.action]) {
    if (a.kind === 'redirect') out.push('redirect');
    if (a.kind === 'tproxy') out.push('tproxy');
    if (a.kind === 'ct-zone') out.push('ct-zone');
    if (a.kind === 'mark-set') out.push('mark');
    if (a.kind === 'connmark-save' || a.kind === 'connmark-restore') out.push('connmark');
  }
  return out;
}

/** Every feature the rule set uses, the families it is used in, and the rules' sources. */
export function needsOf(rs: RuleSet): Need[] {
  const by = new Map<Feature, Need>();
  const add = (f: Feature, family: Family[], from: string | undefined) => {
    let n = by.get(f);
    if (!n) by.set(f, (n = { feature: f, what: WHAT[f], families: [], from: [] }));
    for (const x of family) if (!n.families.includes(x)) n.families.push(x);
    if (from && !n.from.includes(from) && n.from.length < 4) n.from.push(from);
  };
  forEachRule(rs, (r, _i, _c, t) => {
    const fams: Family[] = t.family === 'inet' ? ['ipv4', 'ipv6'] : [t.family];
    const at = r.origin.span ? `${r.origin.span.file}:${r.origin.span.start.line}` : undefined;
    for (const f of featuresOf(r)) add(f, fams, at);
  });
  if (rs.routing.tproxy) add('policy-routing', rs.routing.tproxy.families, undefined);
  const order = Object.keys(WHAT);
  return [...by.values()].sort((a, b) => order.indexOf(a.feature) - order.indexOf(b.feature));
}

/** The probe of a feature for a firewall, as one sh command run in a throwaway namespace. */
export function probe(f: Feature, firewall: 'iptables-legacy' | 'iptables-nft' | 'nftables', family: Family): string {
  const v6 = family === 'ipv6';
  if (f === 'policy-routing') return `ip ${v6 ? '-6' : '-4'} rule add fwmark 0x1/0x1 lookup 133 && ip ${v6 ? '-6' : '-4'} route add local default dev lo table 133`;
  if (firewall === 'nftables') {
    const fam = v6 ? 'ip6' : 'ip';
    const rule: Record<Feature, [string, string]> = {
      redirect: ['type nat hook output priority -100', 'meta l4proto tcp redirect to :15001'],
      owner: ['type nat hook output priority -100', 'meta skuid 0 return'],
      multiport: ['type nat hook output priority -100', 'tcp dport { 1, 2 } return'],
      tproxy: ['type filter hook prerouting priority -150', `meta l4proto tcp tproxy ${fam} to :15006 meta mark set 0x1`],
      socket: ['type filter hook prerouting priority -150', 'socket transparent 1 return'],
      'ct-zone': ['type filter hook output priority -300', 'ct zone set 1'],
      mark: ['type route hook output priority -150', 'meta mark 0x1 meta mark set 0x2'],
      connmark: ['type filter hook prerouting priority -150', 'ct mark set meta mark'],
      'policy-routing': ['', ''],
    };
    const [chain, stmt] = rule[f];
    return `f=$(mktemp) && printf 'table inet meshcap_preflight {\\n chain c {\\n  %s;\\n  %s\\n }\\n}\\n' '${chain}' '${stmt}' > "$f" && nft -f "$f"; r=$?; rm -f "$f"; exit $r`;
  }
  const tool = `${v6 ? 'ip6tables' : 'iptables'}-${firewall === 'iptables-legacy' ? 'legacy' : 'nft'}`;
  const args: Record<Feature, string> = {
    redirect: '-t nat -A OUTPUT -p tcp -j REDIRECT --to-ports 15001',
    owner: '-t nat -A OUTPUT -m owner --uid-owner 0 -j RETURN',
    multiport: '-t nat -A OUTPUT -p tcp -m multiport --dports 1,2 -j RETURN',
    tproxy: '-t mangle -A PREROUTING -p tcp -j TPROXY --on-port 15006 --tproxy-mark 0x1/0x1',
    socket: '-t mangle -A PREROUTING -p tcp -m socket --transparent -j RETURN',
    'ct-zone': '-t raw -A OUTPUT -p udp -j CT --zone 1',
    mark: '-t mangle -A OUTPUT -m mark --mark 0x1 -j MARK --set-xmark 0x2/0xffffffff',
    connmark: '-t mangle -A OUTPUT -j CONNMARK --save-mark --nfmask 0xffffffff --ctmask 0xffffffff',
    'policy-routing': '',
  };
  return `${tool} -w ${args[f]}`;
}
