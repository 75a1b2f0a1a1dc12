// istio-iptables' inputs -> an equivalent .intercept policy. Reads every flag and
// environment variable of istio-iptables (with its defaults), or a JSON object of Istio
// `config.Config` fields, and writes the policy text, which then goes through meshcap's
// own parser and checks like any other.
import { diag, suggest, type Diagnostic } from '../diagnostics/diagnostic.js';
import { parseCidr } from '../net/ip.js';

/** The fields of Istio's config.Config that shape the rules. */
export interface IstioConfig {
  ProxyPort: string;
  InboundCapturePort: string;
  InboundTunnelPort: string;
  ProxyUID: string;
  ProxyGID: string;
  InboundInterceptionMode: string;
  InboundTProxyMark: string;
  InboundTProxyRouteTable: string;
  InboundPortsInclude: string;
  InboundPortsExclude: string;
  OwnerGroupsInclude: string;
  OwnerGroupsExclude: string;
  OutboundPortsInclude: string;
  OutboundPortsExclude: string;
  OutboundIPRangesInclude: string;
  OutboundIPRangesExclude: string;
  RerouteVirtualInterfaces: string;
  ExcludeInterfaces: string;
  RedirectDNS: boolean;
  CaptureAllDNS: boolean;
  DropInvalid: boolean;
  EnableIPv6: boolean;
  DNSServersV4: string[];
  DNSServersV6: string[];
  HostIPv4LoopbackCidr: string;
}

export function istioDefaults(): IstioConfig {
  return {
    ProxyPort: '15001',
    InboundCapturePort: '15006',
    InboundTunnelPort: '15008',
    ProxyUID: '',
    ProxyGID: '',
    InboundInterceptionMode: '',
    InboundTProxyMark: '1337',
    InboundTProxyRouteTable: '133',
    InboundPortsInclude: '',
    InboundPortsExclude: '',
    OwnerGroupsInclude: '*',
    OwnerGroupsExclude: '',
    OutboundPortsInclude: '',
    OutboundPortsExclude: '',
    OutboundIPRangesInclude: '',
    OutboundIPRangesExclude: '',
    RerouteVirtualInterfaces: '',
    ExcludeInterfaces: '',
    RedirectDNS: false,
    CaptureAllDNS: false,
    DropInvalid: false,
    EnableIPv6: false,
    DNSServersV4: [],
    DNSServersV6: [],
    HostIPv4LoopbackCidr: '127.0.0.1/32',
  };
}

type Field = keyof IstioConfig;
interface FlagSpec {
  long: string;
  short?: string;
  env?: string;
  field?: Field;
  bool?: boolean;
  /** Accepted, but it does not change the rules. */
  ignored?: boolean;
}

/** istio-iptables' flags (tools/istio-iptables/pkg/cmd/root.go) and the env vars viper binds. */
export const ISTIO_FLAGS: FlagSpec[] = [
  { long: 'envoy-port', short: 'p', env: 'ENVOY_PORT', field: 'ProxyPort' },
  { long: 'inbound-capture-port', short: 'z', env: 'INBOUND_CAPTURE_PORT', field: 'InboundCapturePort' },
  { long: 'inbound-tunnel-port', short: 'e', env: 'INBOUND_TUNNEL_PORT', field: 'InboundTunnelPort' },
  { long: 'proxy-uid', short: 'u', env: 'PROXY_UID', field: 'ProxyUID' },
  { long: 'proxy-gid', short: 'g', env: 'PROXY_GID', field: 'ProxyGID' },
  { long: 'istio-inbound-interception-mode', short: 'm', env: 'ISTIO_INBOUND_INTERCEPTION_MODE', field: 'InboundInterceptionMode' },
  { long: 'istio-inbound-ports', short: 'b', env: 'ISTIO_INBOUND_PORTS', field: 'InboundPortsInclude' },
  { long: 'istio-local-exclude-ports', short: 'd', env: 'ISTIO_LOCAL_EXCLUDE_PORTS', field: 'InboundPortsExclude' },
  { long: 'istio-exclude-interfaces', short: 'c', env: 'ISTIO_EXCLUDE_INTERFACES', field: 'ExcludeInterfaces' },
  { long: 'istio-service-cidr', short: 'i', env: 'ISTIO_SERVICE_CIDR', field: 'OutboundIPRangesInclude' },
  { long: 'istio-service-exclude-cidr', short: 'x', env: 'ISTIO_SERVICE_EXCLUDE_CIDR', field: 'OutboundIPRangesExclude' },
  { long: 'istio-outbound-ports', short: 'q', env: 'ISTIO_OUTBOUND_PORTS', field: 'OutboundPortsInclude' },
  { long: 'istio-local-outbound-ports-exclude', short: 'o', env: 'ISTIO_LOCAL_OUTBOUND_PORTS_EXCLUDE', field: 'OutboundPortsExclude' },
  { long: 'kube-virt-interfaces', short: 'k', env: 'KUBE_VIRT_INTERFACES', field: 'RerouteVirtualInterfaces' },
  { long: 'istio-inbound-tproxy-mark', short: 't', env: 'ISTIO_INBOUND_TPROXY_MARK', field: 'InboundTProxyMark' },
  { long: 'istio-inbound-tproxy-route-table', short: 'r', env: 'ISTIO_INBOUND_TPROXY_ROUTE_TABLE', field: 'InboundTProxyRouteTable' },
  { long: 'redirect-dns', env: 'REDIRECT_DNS', field: 'RedirectDNS', bool: true },
  { long: 'capture-all-dns', env: 'CAPTURE_ALL_DNS', field: 'CaptureAllDNS', bool: true },
  { long: 'drop-invalid', env: 'DROP_INVALID', field: 'DropInvalid', bool: true },
  { long: 'dual-stack', env: 'DUAL_STACK', field: 'EnableIPv6', bool: true },
  { long: 'dry-run', short: 'n', bool: true, ignored: true },
  { long: 'iptables-trace-logging', bool: true, ignored: true },
  { long: 'restore-format', short: 'f', bool: true, ignored: true },
  { long: 'iptables-probe-port', ignored: true },
  { long: 'probe-timeout', ignored: true },
  { long: 'skip-rule-apply', bool: true, ignored: true },
  { long: 'run-validation', bool: true, ignored: true },
  { long: 'network-namespace', ignored: true },
  { long: 'cni-mode', bool: true, ignored: true },
  { long: 'host-nsenter-exec', bool: true, ignored: true },
  { long: 'iptables-version', ignored: true },
  { long: 'reconcile', bool: true, ignored: true },
  { long: 'cleanup-only', bool: true, ignored: true },
  { long: 'force-apply', bool: true, ignored: true },
  { long: 'native-nftables', bool: true, ignored: true },
  { long: 'force-legacy-iptables', bool: true, ignored: true },
  { long: 'log_output_level', ignored: true },
  { long: 'log_as_json', bool: true, ignored: true },
];

/** Environment variables read directly (not bound to a flag). */
const ENV_ONLY: Record<string, Field | 'ignored'> = {
  ISTIO_META_DNS_CAPTURE: 'RedirectDNS',
  INVALID_DROP: 'DropInvalid',
  ISTIO_AGENT_DUAL_STACK: 'EnableIPv6',
  ISTIO_OUTBOUND_OWNER_GROUPS: 'OwnerGroupsInclude',
  ISTIO_OUTBOUND_OWNER_GROUPS_EXCLUDE: 'OwnerGroupsExclude',
  ISTIO_OUTBOUND_IPV4_LOOPBACK_CIDR: 'HostIPv4LoopbackCidr',
  ENVOY_USER: 'ignored',
};

function boolOf(v: string): boolean | undefined {
  if (/^(1|t|true|T|TRUE|True)$/.test(v)) return true;
  if (/^(0|f|false|F|FALSE|False)$/.test(v)) return false;
  return undefined;
}

export interface IstioInput {
  flags: string[];
  env: Record<string, string>;
  ipv6?: boolean;
  dnsServers?: string[];
}

export function configFromFlags(input: IstioInput): { config: IstioConfig; diagnostics: Diagnostic[] } {
  const cfg = istioDefaults();
  const ds: Diagnostic[] = [];
  const set = (f: Field, v: string | boolean, flag: string) => {
    if (typeof cfg[f] === 'boolean') {
      const b = typeof v === 'boolean' ? v : boolOf(v);
      if (b === undefined) ds.push(diag('istio-bad-value', undefined, { flag, detail: `'${v}' is not a boolean` }));
      else (cfg as unknown as Record<string, unknown>)[f] = b;
    } else (cfg as unknown as Record<string, unknown>)[f] = String(v);
  };
  // Environment first: flags override it, as viper does.
  for (const [k, v] of Object.entries(input.env)) {
    const spec = ISTIO_FLAGS.find((s) => s.env === k);
    const only = ENV_ONLY[k];
    if (spec?.field && !spec.ignored) set(spec.field, v, k);
    else if (only && only !== 'ignored') set(only, v, k);
    else if (only === 'ignored' || spec?.ignored) ds.push(diag('istio-ignored', undefined, { flag: k }));
    else ds.push(diag('istio-unknown-flag', undefined, { name: k, suggestion: suggest(k, [...ISTIO_FLAGS.flatMap((s) => (s.env ? [s.env] : [])), ...Object.keys(ENV_ONLY)]) }));
  }
  const f = input.flags;
  for (let i = 0; i < f.length; i++) {
    const w = f[i];
    let name: string;
    let value: string | undefined;
    let spec: FlagSpec | undefined;
    if (w.startsWith('--')) {
      const eq = w.indexOf('=');
      name = eq < 0 ? w.slice(2) : w.slice(2, eq);
      value = eq < 0 ? undefined : w.slice(eq + 1);
      spec = ISTIO_FLAGS.find((s) => s.long === name);
    } else if (/^-[A-Za-z]/.test(w)) {
      name = w.slice(1, 2);
      value = w.length > 2 ? w.slice(2).replace(/^=/, '') : undefined;
      spec = ISTIO_FLAGS.find((s) => s.short === name);
    } else {
      ds.push(diag('istio-bad-value', undefined, { flag: 'arguments', detail: `unexpected argument '${w}' (istio-iptables takes only flags)` }));
      continue;
    }
    const shown = w.startsWith('--') ? `--${name}` : `-${name}`;
    if (!spec) {
      ds.push(diag('istio-unknown-flag', undefined, { name: shown, suggestion: suggest(name, ISTIO_FLAGS.map((s) => s.long)) }));
      // Its value, if it has one, belongs to it: one mistake, one diagnostic.
      if (value === undefined && f[i + 1] !== undefined && !f[i + 1].startsWith('-')) i++;
      continue;
    }
    if (!spec.bool && value === undefined) {
      value = f[++i];
      if (value === undefined) {
        ds.push(diag('istio-bad-value', undefined, { flag: shown, detail: 'needs a value' }));
        continue;
      }
    }
    if (spec.ignored) {
      ds.push(diag('istio-ignored', undefined, { flag: shown }));
      continue;
    }
    set(spec.field!, spec.bool ? (value === undefined ? true : value) : value!, shown);
  }
  if (input.ipv6) cfg.EnableIPv6 = true;
  for (const s of input.dnsServers ?? []) (s.includes(':') ? cfg.DNSServersV6 : cfg.DNSServersV4).push(s);
  return { config: cfg, diagnostics: ds };
}

/** A JSON object of config.Config fields (unknown fields are reported, missing ones default). */
export function configFromJson(obj: unknown): { config: IstioConfig; diagnostics: Diagnostic[] } {
  const cfg = istioDefaults();
  const ds: Diagnostic[] = [];
  if (typeof obj !== 'object' || obj === null || Array.isArray(obj)) {
    return { config: cfg, diagnostics: [diag('istio-bad-value', undefined, { flag: '--config', detail: 'expects a JSON object of config.Config fields' })] };
  }
  const ignoredFields = new Set(['DryRun', 'TraceLogging', 'RestoreFormat', 'IptablesProbePort', 'ProbeTimeout', 'SkipRuleApply', 'RunValidation', 'NetworkNamespace', 'CNIMode', 'HostNSEnterExec', 'Reconcile', 'CleanupOnly', 'ForceApply', 'NativeNftables', 'ForceIptablesBinary', 'HostFilesystemPodNetwork', 'EnableInboundIPv6', 'DualStack']);
  for (const [k, v] of Object.entries(obj as Record<string, unknown>)) {
    if (k in cfg) {
      const cur = (cfg as unknown as Record<string, unknown>)[k];
      const ok = Array.isArray(cur) ? Array.isArray(v) && v.every((x) => typeof x === 'string') : typeof v === typeof cur;
      if (!ok) ds.push(diag('istio-bad-value', undefined, { flag: k, detail: `expected ${Array.isArray(cur) ? 'a list of strings' : typeof cur}` }));
      else (cfg as unknown as Record<string, unknown>)[k] = v;
    } else if (k === 'EnableInboundIPv6' || k === 'DualStack') {
      if (v === true) cfg.EnableIPv6 = true;
    } else if (k === 'KubeVirtInterfaces' && typeof v === 'string') cfg.RerouteVirtualInterfaces = v;
    else if (ignoredFields.has(k)) ds.push(diag('istio-ignored', undefined, { flag: k }));
    else ds.push(diag('istio-unknown-flag', undefined, { name: k, suggestion: suggest(k, Object.keys(cfg)) }));
  }
  return { config: cfg, diagnostics: ds };
}

const split = (s: string) => s.split(',').map((x) => x.trim()).filter(Boolean);

/** The policy text that means what istio-iptables does with this config. */
/** How a field is named in messages: its flag where it has one (`InboundPortsInclude (-b)`). */
export function fieldLabel(f: string): string {
  const spec = ISTIO_FLAGS.find((x) => x.field === f && !x.ignored);
  return spec ? `${f} (${spec.short ? `-${spec.short}` : `--${spec.long}`})` : f;
}

/** Why a value cannot stand in the policy as one word, or undefined when it can. */
function notOneWord(v: string): string | undefined {
  // eslint-disable-next-line no-control-regex -- control characters are what is looked for
  const bad = /[\s{},;"'#\x00-\x1f\x7f]/.exec(v);
  if (!bad) return /^[\x21-\x7e]+$/.test(v) ? undefined : 'it holds a character outside printable ASCII';
  const c = bad[0];
  if (c === '\n' || c === '\r') return 'it holds a line break';
  if (/\s/.test(c)) return 'it holds white space';
  if (c < ' ' || c === '\x7f') return 'it holds a control character';
  return `it holds '${c}'`;
}

export interface ImportedPolicy {
  text: string;
  diagnostics: Diagnostic[];
  /** The config field each line of `text` was written from (1-based line -> field label). */
  lineFields: Map<number, string>;
}

export function policyFromConfig(cfg: IstioConfig, name = 'istio'): ImportedPolicy {
  const ds: Diagnostic[] = [];
  const lines: string[] = [];
  const lineFields = new Map<number, string>();
  const L = (s: string, field?: Field) => {
    lines.push(s);
    if (field) lineFields.set(lines.length, fieldLabel(field));
  };
  // Every value reaches the policy text as one word of the language: a value that could
  // end a statement, open a block or start a comment would change the policy, not fill it.
  const word = (v: string, f: Field): string | undefined => {
    const why = notOneWord(v);
    if (!why) return v;
    ds.push(diag('istio-bad-value', undefined, { flag: fieldLabel(f), detail: `${JSON.stringify(v)} is not one value: ${why}` }));
    return undefined;
  };
  const words = (s: string, f: Field): string[] => split(s).filter((v) => word(v, f) !== undefined);
  const dropped = (flag: string, reason: string) => ds.push(diag('istio-dropped', undefined, { flag, reason }));
  const cidrs = (s: string, flag: string): string[] => {
    const out: string[] = [];
    for (const c of split(s)) {
      // istio-iptables (net.ParseCIDR) masks host bits and skips what does not parse.
      const text = c.includes('/') ? c : c.includes(':') ? `${c}/128` : `${c}/32`;
      const p = parseCidr(text);
      if (p.ok) out.push(`${p.cidr.addr}/${p.cidr.prefix}`);
      else if (p.kind === 'host-bits') out.push(p.canonical);
      else dropped(flag, `'${c}' is not a CIDR (istio-iptables skips it)`);
    }
    return out;
  };
  const uids = words(cfg.ProxyUID || '1337', 'ProxyUID');
  const gids = cfg.ProxyGID ? words(cfg.ProxyGID, 'ProxyGID') : words(cfg.ProxyUID || '1337', 'ProxyUID');
  L('# Imported from istio-iptables by meshcap import istio-iptables');
  L(`policy ${name} {`);
  L('  proxy {');
  L(`    uid ${uids.join(', ')}`, 'ProxyUID');
  L(`    gid ${gids.length ? gids.join(', ') : 'none'}`, cfg.ProxyGID ? 'ProxyGID' : 'ProxyUID');
  L(`    outbound-port ${word(cfg.ProxyPort, 'ProxyPort') ?? ''}`, 'ProxyPort');
  L(`    inbound-port ${word(cfg.InboundCapturePort, 'InboundCapturePort') ?? ''}`, 'InboundCapturePort');
  L(`    tunnel-port ${(cfg.InboundTunnelPort && word(cfg.InboundTunnelPort, 'InboundTunnelPort')) || 'none'}`, 'InboundTunnelPort');
  L('  }');
  L('  inbound {');
  const mode = cfg.InboundInterceptionMode.toUpperCase();
  if (mode === 'TPROXY') L(`    mode tproxy mark ${word(cfg.InboundTProxyMark, 'InboundTProxyMark') ?? ''} table ${word(cfg.InboundTProxyRouteTable, 'InboundTProxyRouteTable') ?? ''}`, 'InboundTProxyMark');
  else {
    if (mode !== '' && mode !== 'REDIRECT') ds.push(diag('istio-bad-value', undefined, { flag: 'InboundInterceptionMode', detail: `'${cfg.InboundInterceptionMode}' is not REDIRECT or TPROXY` }));
    L('    mode redirect');
  }
  const inc = cfg.InboundPortsInclude.trim();
  L(`    capture ports ${inc === '' ? 'none' : inc === '*' ? '*' : words(inc, 'InboundPortsInclude').join(', ')}`, 'InboundPortsInclude');
  const exIn = words(cfg.InboundPortsExclude, 'InboundPortsExclude');
  if (exIn.length) {
    if (inc === '*') L(`    exclude ports ${exIn.join(', ')}`, 'InboundPortsExclude');
    else dropped('InboundPortsExclude (-d)', 'inbound exclusions apply only when all inbound ports are captured (-b *)');
  }
  L('  }');
  L('  outbound {');
  const oinc = cfg.OutboundIPRangesInclude.trim();
  const incCidrs = oinc === '*' ? ['*'] : cidrs(oinc, 'OutboundIPRangesInclude (-i)');
  L(`    capture cidrs ${incCidrs.length ? incCidrs.join(', ') : 'none'}`, 'OutboundIPRangesInclude');
  const incP = words(cfg.OutboundPortsInclude, 'OutboundPortsInclude');
  const capturesOut = incCidrs.length > 0 || incP.length > 0 || cfg.RedirectDNS;
  const exC = cfg.OutboundIPRangesExclude.trim() === '*' ? [] : cidrs(cfg.OutboundIPRangesExclude, 'OutboundIPRangesExclude (-x)');
  if (exC.length && capturesOut) L(`    exclude cidrs ${exC.join(', ')}`, 'OutboundIPRangesExclude');
  else if (exC.length) dropped('OutboundIPRangesExclude (-x)', 'no outbound traffic is captured, so there is nothing to exclude');
  const exP = words(cfg.OutboundPortsExclude, 'OutboundPortsExclude');
  if (exP.length && capturesOut) L(`    exclude ports ${exP.join(', ')}`, 'OutboundPortsExclude');
  else if (exP.length) dropped('OutboundPortsExclude (-o)', 'no outbound traffic is captured, so there is nothing to exclude');
  if (incP.length) L(`    capture ports ${incP.join(', ')}`, 'OutboundPortsInclude');
  const gInc = cfg.OwnerGroupsInclude.trim() || '*';
  const gExc = words(cfg.OwnerGroupsExclude, 'OwnerGroupsExclude');
  if (gInc !== '*') {
    L(`    groups ${words(gInc, 'OwnerGroupsInclude').join(', ')}`, 'OwnerGroupsInclude');
    if (gExc.length) dropped('OwnerGroupsExclude', 'istio-iptables uses the include list when both are given');
  } else {
    L('    groups *');
    if (gExc.length) L(`    exclude groups ${gExc.join(', ')}`, 'OwnerGroupsExclude');
  }
  L('  }');
  L('  loopback {');
  const families = cfg.EnableIPv6 ? ['ipv4', 'ipv6'] : ['ipv4'];
  L(`    passthrough 127.0.0.6${cfg.EnableIPv6 ? ', ::6' : ''}`);
  const lb = cidrs(cfg.HostIPv4LoopbackCidr || '127.0.0.1/32', 'HostIPv4LoopbackCidr');
  L(`    localhost ${[...lb, ...(cfg.EnableIPv6 ? ['::1/128'] : [])].join(', ')}`, 'HostIPv4LoopbackCidr');
  L('    self-redirect on');
  L('  }');
  L('  dns {');
  const servers = [...cfg.DNSServersV4.filter((v) => word(v, 'DNSServersV4')), ...(cfg.EnableIPv6 ? cfg.DNSServersV6.filter((v) => word(v, 'DNSServersV6')) : [])];
  if (!cfg.RedirectDNS) L('    capture off');
  else if (cfg.CaptureAllDNS) L('    capture all');
  else if (servers.length) L(`    capture servers ${servers.join(', ')}`, 'DNSServersV4');
  else {
    L('    capture off');
    dropped('RedirectDNS', 'no DNS server is known (resolv.conf is empty) and capture-all-dns is off, so no DNS rule is written');
  }
  L('    port 15053');
  L('  }');
  const exIf = words(cfg.ExcludeInterfaces, 'ExcludeInterfaces');
  const rr = words(cfg.RerouteVirtualInterfaces, 'RerouteVirtualInterfaces');
  if (exIf.length || rr.length) {
    L('  interfaces {');
    if (exIf.length) L(`    exclude ${exIf.join(', ')}`, 'ExcludeInterfaces');
    if (rr.length) L(`    reroute ${rr.join(', ')}`, 'RerouteVirtualInterfaces');
    L('  }');
  }
  L(`  drop-invalid ${cfg.DropInvalid ? 'on' : 'off'}`);
  L(`  families ${families.join(', ')}`);
  L('}');
  return { text: lines.join('\n') + '\n', diagnostics: ds, lineFields };
}
