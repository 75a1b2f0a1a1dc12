// Linkerd's pod annotations -> the proxy-init command line Linkerd's injector writes
// (github:linkerd/linkerd2 pkg/k8s/labels.go for the names, pkg/inject/inject.go and
// charts/partials/templates/_proxy-init.tpl for the arguments and chart defaults) -> a
// policy, through `meshcap import linkerd-proxy-init`'s parser. Injection: linkerd.io/inject
// (enabled or ingress) on the pod, else on its namespace; config.linkerd.io/* of the
// namespace are defaults for the pod's.
import { linkerdConfigFromFlags, policyFromLinkerd } from '../import/linkerd.js';
import type { SourceFile } from '../source.js';
import { buildFromFlags, checkAnnotations, flagValues, isMeshKey, nsEntries, withoutInjection, type FlagMeshTable } from './flags-mesh.js';
import { policyName } from './istio.js';
import type { BuiltWorkload, ManifestIssue, Mesh, MeshDefaults } from './mesh.js';
import type { Workload } from './read.js';

const C = 'config.linkerd.io/';
export const LINKERD_TABLE: FlagMeshTable = {
  mesh: 'linkerd',
  prefixes: [C, 'config.alpha.linkerd.io/', 'linkerd.io/'],
  sources: ['github:linkerd/linkerd2 pkg/k8s/labels.go', 'github:linkerd/linkerd2 pkg/inject/inject.go', 'github:linkerd/linkerd2 charts/partials/templates/_proxy-init.tpl'],
  annotations: [
    { key: 'linkerd.io/inject', kind: 'enum', values: ['enabled', 'ingress', 'disabled'] },
    { key: `${C}inbound-port`, kind: 'port', flag: 'incoming-proxy-port', capture: true },
    { key: `${C}outbound-port`, kind: 'port', flag: 'outgoing-proxy-port', capture: true },
    { key: `${C}proxy-uid`, kind: 'number', flag: 'proxy-uid', capture: true },
    { key: `${C}proxy-gid`, kind: 'number', flag: 'proxy-gid', capture: true },
    { key: `${C}skip-inbound-ports`, kind: 'port-ranges', flag: 'inbound-ports-to-ignore', capture: true },
    { key: `${C}skip-outbound-ports`, kind: 'port-ranges', flag: 'outbound-ports-to-ignore', capture: true },
    { key: `${C}skip-subnets`, kind: 'cidrs', flag: 'subnets-to-ignore', capture: true },
    // Always ignored inbound (the proxy's own control and admin ports).
    { key: `${C}control-port`, kind: 'port', capture: true },
    { key: `${C}admin-port`, kind: 'port', capture: true },
    ...['proxy-image', 'proxy-version', 'init-image', 'init-image-version', 'proxy-log-level', 'proxy-log-format', 'proxy-cpu-request', 'proxy-cpu-limit', 'proxy-memory-request', 'proxy-memory-limit', 'opaque-ports', 'proxy-await', 'default-inbound-policy', 'enable-debug-sidecar', 'enable-external-profiles', 'skip-port-range', 'proxy-enable-native-sidecar', 'access-log', 'shutdown-grace-period']
      .map((k) => ({ key: `${C}${k}`, kind: 'any' as const })),
    ...['linkerd.io/created-by', 'linkerd.io/proxy-version', 'linkerd.io/trust-root-sha256', 'linkerd.io/identity-mode', 'linkerd.io/inject-status'].map((key) => ({ key, kind: 'any' as const })),
  ],
};

/** The chart's defaults (values.yaml of linkerd-control-plane). */
const DEFAULTS: Record<string, string> = {
  [`${C}inbound-port`]: '4143',
  [`${C}outbound-port`]: '4140',
  [`${C}proxy-uid`]: '2102',
  [`${C}control-port`]: '4190',
  [`${C}admin-port`]: '4191',
  [`${C}skip-inbound-ports`]: '4567,4568',
  [`${C}skip-outbound-ports`]: '4567,4568',
};

/**
 * The linkerd-control-plane chart values that shape proxy-init's arguments
 * (charts/partials/templates/_proxy-init.tpl, defaults in charts/linkerd-control-plane/values.yaml),
 * each as the annotation it is the default of (an annotation on the pod or namespace wins,
 * as inject.go's overrides do).
 */
export const LINKERD_VALUES: Record<string, string> = {
  'proxy.ports.inbound': `${C}inbound-port`,
  'proxy.ports.outbound': `${C}outbound-port`,
  'proxy.ports.control': `${C}control-port`,
  'proxy.ports.admin': `${C}admin-port`,
  'proxy.uid': `${C}proxy-uid`,
  'proxyInit.ignoreInboundPorts': `${C}skip-inbound-ports`,
  'proxyInit.ignoreOutboundPorts': `${C}skip-outbound-ports`,
  'proxyInit.skipSubnets': `${C}skip-subnets`,
};
/** Read and checked, no bearing on the rules: which iptables binary proxy-init runs. */
export const LINKERD_MODE_VALUE = 'proxyInit.iptablesMode';

/** The chart's defaults with the mesh values given (`--mesh-values`) over them. */
function chartDefaults(defaults: MeshDefaults): Record<string, string> {
  const out = { ...DEFAULTS };
  for (const [value, ann] of Object.entries(LINKERD_VALUES)) if (defaults.values[value] !== undefined) out[ann] = defaults.values[value];
  return out;
}

export function linkerdMesh(): Mesh {
  return {
    table: LINKERD_TABLE,
    claims: (w) => [...w.annotations, ...w.objectAnnotations].some((e) => isMeshKey(LINKERD_TABLE, e.key)),
    build: buildLinkerd,
  };
}

function buildLinkerd(w: Workload, src: SourceFile, defaults: MeshDefaults): BuiltWorkload {
  const issues: ManifestIssue[] = [];
  const ns = nsEntries(w, defaults);
  const valid = checkAnnotations(LINKERD_TABLE, w, ns.annotations, (rule, span, message, hint) => issues.push({ rule, span, message, ...(hint ? { hint } : {}) }));
  const ignore = w.annotations.find((e) => e.key === 'meshcap.io/ignore');
  const inject = valid.get('linkerd.io/inject');
  const onPod = inject && w.annotations.includes(inject);
  if (w.hostNetwork) return withoutInjection(LINKERD_TABLE, w, valid, 'the pod uses hostNetwork, which Linkerd never injects', w.span, issues, ignore);
  if (inject?.value === 'disabled') return withoutInjection(LINKERD_TABLE, w, valid, `linkerd.io/inject is disabled on the ${onPod ? 'pod' : `namespace '${w.namespace ?? 'default'}'`}`, inject.valueSpan, issues, ignore);
  if (!inject && ns.span) return withoutInjection(LINKERD_TABLE, w, valid, `neither the pod nor namespace '${w.namespace ?? 'default'}' has linkerd.io/inject enabled`, ns.span, issues, ignore);
  const mode = defaults.values[LINKERD_MODE_VALUE];
  // The template fails on any other mode: no pod would be injected.
  if (mode !== undefined && mode !== 'nft' && mode !== 'legacy') issues.push({ rule: 'malformed-annotation', span: defaults.spans[LINKERD_MODE_VALUE] ?? w.span, message: `Unsupported value "${mode}" for proxyInit.iptablesMode (the chart accepts "nft" or "legacy")`, hint: 'set proxyInit.iptablesMode to nft or legacy' });
  const chart = chartDefaults(defaults);
  const { v, origin } = flagValues(LINKERD_TABLE, valid, chart);
  const argv = ['--incoming-proxy-port', v(`${C}inbound-port`), '--outgoing-proxy-port', v(`${C}outbound-port`), '--proxy-uid', v(`${C}proxy-uid`)];
  if (valid.has(`${C}proxy-gid`)) argv.push('--proxy-gid', v(`${C}proxy-gid`));
  const skipIn = v(`${C}skip-inbound-ports`);
  argv.push('--inbound-ports-to-ignore', [valid.get(`${C}control-port`)?.value ?? chart[`${C}control-port`], valid.get(`${C}admin-port`)?.value ?? chart[`${C}admin-port`], skipIn].filter(Boolean).join(','));
  const skipOut = v(`${C}skip-outbound-ports`);
  if (skipOut) argv.push('--outbound-ports-to-ignore', skipOut);
  const subnets = v(`${C}skip-subnets`);
  if (subnets) argv.push('--subnets-to-ignore', subnets);
  return buildFromFlags(w, src, { argv, origin, tool: 'proxy-init', run: (a) => { const input = linkerdConfigFromFlags(a); return { policy: policyFromLinkerd(input, policyName(w)), diagnostics: input.diagnostics }; } }, issues, ignore);
}
