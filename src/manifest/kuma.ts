// Kuma's pod annotations -> the kumactl install transparent-proxy command line its
// injector gives kuma-init (github:kumahq/kuma pkg/plugins/runtime/k8s/metadata/
// annotations.go for the names, pkg/plugins/runtime/k8s/webhooks/injector/injector.go and
// pkg/transparentproxy/config for how each becomes a setting) -> a policy, through
// `meshcap import kuma`'s parser. Injection: kuma.io/sidecar-injection (enabled|disabled)
// as a label or annotation of the pod, else of its namespace.
import { kumaConfigFromFlags, policyFromKuma } from '../import/kuma.js';
import type { SourceFile } from '../source.js';
import { buildFromFlags, checkAnnotations, flagValues, isMeshKey, nsEntries, withoutInjection, type FlagMeshTable } from './flags-mesh.js';
import { policyName } from './istio.js';
import type { BuiltWorkload, ManifestIssue, Mesh, MeshDefaults } from './mesh.js';
import type { Workload } from './read.js';

const T = 'traffic.kuma.io/';
const K = 'kuma.io/';
export const KUMA_TABLE: FlagMeshTable = {
  mesh: 'kuma',
  prefixes: [T, K],
  sources: ['github:kumahq/kuma pkg/plugins/runtime/k8s/metadata/annotations.go', 'github:kumahq/kuma pkg/plugins/runtime/k8s/webhooks/injector/injector.go', 'github:kumahq/kuma pkg/transparentproxy/config/config.go'],
  annotations: [
    { key: `${K}sidecar-injection`, kind: 'enum', values: ['enabled', 'disabled'], label: true },
    { key: `${K}gateway`, kind: 'enum', values: ['enabled', 'disabled', 'provided'], capture: true },
    { key: `${K}sidecar-uid`, kind: 'number', flag: 'kuma-dp-user', capture: true },
    { key: `${K}transparent-proxying-inbound-port`, kind: 'port', flag: 'redirect-inbound-port', capture: true },
    { key: `${K}transparent-proxying-outbound-port`, kind: 'port', flag: 'redirect-outbound-port', capture: true },
    { key: `${K}transparent-proxying-ip-family-mode`, kind: 'enum', values: ['dualstack', 'ipv4', 'ipv6'], flag: 'ip-family-mode', capture: true },
    { key: `${K}builtin-dns`, kind: 'enum', values: ['enabled', 'disabled'], flag: 'redirect-all-dns-traffic', capture: true },
    { key: `${K}builtin-dns-port`, kind: 'port', flag: 'redirect-dns-port', capture: true },
    { key: `${K}application-probe-proxy-port`, kind: 'port', capture: true },
    { key: `${T}exclude-inbound-ports`, kind: 'ports', flag: 'exclude-inbound-ports', capture: true },
    { key: `${T}exclude-outbound-ports`, kind: 'ports', flag: 'exclude-outbound-ports', capture: true },
    { key: `${T}exclude-outbound-ports-for-uids`, kind: 'any', flag: 'exclude-outbound-ports-for-uids', capture: true },
    { key: `${T}exclude-inbound-ips`, kind: 'cidrs', flag: 'exclude-inbound-ips', capture: true },
    { key: `${T}exclude-outbound-ips`, kind: 'cidrs', flag: 'exclude-outbound-ips', capture: true },
    { key: `${T}drop-invalid-packets`, kind: 'bool', flag: 'drop-invalid-packets', capture: true },
    { key: `${T}iptables-logs`, kind: 'bool', flag: 'iptables-logs', capture: true },
    { key: `${T}transparent-proxy-config`, kind: 'any' },
    ...['mesh', 'sidecar-env-vars', 'sidecar-drain-time', 'container-patches', 'virtual-probes', 'virtual-probes-port', 'sidecar-injected', 'transparent-proxying', 'transparent-proxying-ebpf', 'direct-access-services', 'service-account-token-volume', 'envoy-admin-port', 'envoy-log-level', 'envoy-component-log-level', 'metrics-prometheus-port', 'metrics-prometheus-path', 'transparent-proxying-reachable-services', 'ingress', 'egress', 'init-first', 'wait-for-dataplane-ready']
      .map((k) => ({ key: `${K}${k}`, kind: 'any' as const })),
  ],
};

/** The control plane's defaults (kuma-cp.defaults.yaml runtime.kubernetes.injector). */
const DEFAULTS: Record<string, string> = {
  [`${K}sidecar-uid`]: '5678',
  [`${K}transparent-proxying-inbound-port`]: '15006',
  [`${K}transparent-proxying-outbound-port`]: '15001',
  [`${K}transparent-proxying-ip-family-mode`]: 'dualstack',
  [`${K}builtin-dns`]: 'enabled',
  [`${K}builtin-dns-port`]: '15053',
  [`${K}application-probe-proxy-port`]: '9001',
};

const I = 'runtime.kubernetes.injector.';
/**
 * The control plane's injector settings (kuma-cp config, pkg/config/app/kuma-cp/kuma-cp.defaults.yaml),
 * each as the annotation it is the default of: ConfigForKubernetes
 * (pkg/transparentproxy/kubernetes/kubernetes_config.go) takes the exclusions and the IP
 * family mode from an annotation first, else the runtime value, and the uid and redirect
 * ports from the runtime value; GetApplicationProbeProxyPort the annotation, else the runtime's.
 */
export const KUMA_VALUES: Record<string, string> = {
  [`${I}sidecarContainer.uid`]: `${K}sidecar-uid`,
  [`${I}sidecarContainer.redirectPortInbound`]: `${K}transparent-proxying-inbound-port`,
  [`${I}sidecarContainer.redirectPortOutbound`]: `${K}transparent-proxying-outbound-port`,
  [`${I}sidecarContainer.ipFamilyMode`]: `${K}transparent-proxying-ip-family-mode`,
  [`${I}builtinDNS.port`]: `${K}builtin-dns-port`,
  [`${I}applicationProbeProxyPort`]: `${K}application-probe-proxy-port`,
  [`${I}sidecarTraffic.excludeInboundPorts`]: `${T}exclude-inbound-ports`,
  [`${I}sidecarTraffic.excludeOutboundPorts`]: `${T}exclude-outbound-ports`,
  [`${I}sidecarTraffic.excludeInboundIPs`]: `${T}exclude-inbound-ips`,
  [`${I}sidecarTraffic.excludeOutboundIPs`]: `${T}exclude-outbound-ips`,
};

export function kumaMesh(): Mesh {
  return {
    table: KUMA_TABLE,
    claims: (w) => [...w.annotations, ...w.labels, ...w.objectAnnotations, ...w.objectLabels].some((e) => isMeshKey(KUMA_TABLE, e.key)),
    build: buildKuma,
  };
}

function buildKuma(w: Workload, src: SourceFile, defaults: MeshDefaults): BuiltWorkload {
  const issues: ManifestIssue[] = [];
  const ns = nsEntries(w, defaults);
  const valid = checkAnnotations(KUMA_TABLE, w, [...ns.labels, ...ns.annotations].filter((e) => e.key === `${K}sidecar-injection`), (rule, span, message, hint) => issues.push({ rule, span, message, ...(hint ? { hint } : {}) }));
  const ignore = w.annotations.find((e) => e.key === 'meshcap.io/ignore');
  const inject = valid.get(`${K}sidecar-injection`);
  const onPod = inject && (w.annotations.includes(inject) || w.labels.includes(inject));
  if (inject?.value === 'disabled') return withoutInjection(KUMA_TABLE, w, valid, `kuma.io/sidecar-injection is disabled on the ${onPod ? 'pod' : `namespace '${w.namespace ?? 'default'}'`}`, inject.valueSpan, issues, ignore);
  if (!inject && ns.span) return withoutInjection(KUMA_TABLE, w, valid, `neither the pod nor namespace '${w.namespace ?? 'default'}' has kuma.io/sidecar-injection enabled`, ns.span, issues, ignore);
  const runtime = { ...DEFAULTS };
  for (const [value, ann] of Object.entries(KUMA_VALUES)) if (defaults.values[value] !== undefined) runtime[ann] = defaults.values[value];
  const { v, origin } = flagValues(KUMA_TABLE, valid, runtime);
  const argv = [`--kuma-dp-user=${v(`${K}sidecar-uid`)}`, `--redirect-inbound-port=${v(`${K}transparent-proxying-inbound-port`)}`, `--redirect-outbound-port=${v(`${K}transparent-proxying-outbound-port`)}`, `--ip-family-mode=${v(`${K}transparent-proxying-ip-family-mode`)}`];
  // A gateway takes no inbound capture (injector.go: gateway pods get --redirect-inbound=false).
  const gw = valid.get(`${K}gateway`);
  if (gw && gw.value.trim() !== 'disabled') {
    origin.set('redirect-inbound', gw);
    argv.push('--redirect-inbound=false');
  }
  // The probe proxy's port is appended to the inbound exclusions (0 turns it off).
  const probe = v(`${K}application-probe-proxy-port`);
  const exIn = [v(`${T}exclude-inbound-ports`), probe === '0' ? '' : probe].filter(Boolean).join(',');
  if (exIn) argv.push(`--exclude-inbound-ports=${exIn}`);
  for (const k of ['exclude-outbound-ports', 'exclude-inbound-ips', 'exclude-outbound-ips']) {
    const x = v(`${T}${k}`);
    if (x) argv.push(`--${k}=${x}`);
  }
  for (const item of v(`${T}exclude-outbound-ports-for-uids`).split(';').map((s) => s.trim()).filter(Boolean)) argv.push(`--exclude-outbound-ports-for-uids=${item}`);
  for (const k of ['drop-invalid-packets', 'iptables-logs']) if (v(`${T}${k}`) === 'true') argv.push(`--${k}`);
  if (v(`${K}builtin-dns`) === 'enabled') argv.push('--redirect-all-dns-traffic', `--redirect-dns-port=${v(`${K}builtin-dns-port`)}`);
  return buildFromFlags(w, src, { argv, origin, tool: 'kumactl install transparent-proxy', run: (a) => { const input = kumaConfigFromFlags(a); return { policy: policyFromKuma(input, { name: policyName(w) }), diagnostics: input.diagnostics }; } }, issues, ignore);
}
