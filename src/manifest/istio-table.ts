// Istio's pod annotations and labels, as data. Read from github:istio/api
// annotation/annotations.yaml and label/labels.yaml (the names and value forms) and
// github:istio/istio manifests/charts/istio-control/istio-discovery/files/
// injection-template.yaml with pkg/kube/inject/inject.go (which of them reach
// istio-iptables, and how); see docs/lint.md.
import type { MeshTable } from './mesh.js';

export const ISTIO_TABLE: MeshTable = {
  mesh: 'istio',
  prefixes: ['sidecar.istio.io/', 'traffic.sidecar.istio.io/', 'proxy.istio.io/', 'status.sidecar.istio.io/', 'readiness.status.sidecar.istio.io/', 'inject.istio.io/', 'prometheus.istio.io/'],
  sources: [
    'github:istio/api annotation/annotations.yaml',
    'github:istio/istio manifests/charts/istio-control/istio-discovery/files/injection-template.yaml',
    'github:istio/istio pkg/kube/inject/inject.go, template.go (excludeInboundPort)',
    'github:istio/istio tools/istio-iptables/pkg/cmd/root.go',
  ],
  annotations: [
    // What istio-init's arguments are made of.
    { key: 'sidecar.istio.io/interceptionMode', kind: 'enum', values: ['REDIRECT', 'TPROXY', 'NONE'], capture: true },
    { key: 'traffic.sidecar.istio.io/includeOutboundIPRanges', kind: 'cidrs', allowStar: true, capture: true },
    { key: 'traffic.sidecar.istio.io/excludeOutboundIPRanges', kind: 'cidrs', capture: true },
    { key: 'traffic.sidecar.istio.io/includeInboundPorts', kind: 'ports', allowStar: true, capture: true },
    { key: 'traffic.sidecar.istio.io/excludeInboundPorts', kind: 'ports', capture: true },
    { key: 'traffic.sidecar.istio.io/includeOutboundPorts', kind: 'ports', capture: true },
    { key: 'traffic.sidecar.istio.io/excludeOutboundPorts', kind: 'ports', capture: true },
    { key: 'traffic.sidecar.istio.io/excludeInterfaces', kind: 'interfaces', capture: true },
    { key: 'traffic.sidecar.istio.io/kubevirtInterfaces', kind: 'interfaces', capture: true, deprecated: 'istio.io/reroute-virtual-interfaces' },
    { key: 'istio.io/reroute-virtual-interfaces', kind: 'interfaces', capture: true },
    { key: 'status.sidecar.istio.io/port', kind: 'port', capture: true },
    { key: 'proxy.istio.io/config', kind: 'object', capture: true },
    // Injection itself.
    { key: 'sidecar.istio.io/inject', kind: 'bool', label: true },
    { key: 'inject.istio.io/templates', kind: 'any' },
    { key: 'sidecar.istio.io/status', kind: 'any' },
    { key: 'sidecar.istio.io/nativeSidecar', kind: 'bool' },
    // Accepted, with no bearing on the capture rules.
    ...[
      'sidecar.istio.io/proxyImage',
      'sidecar.istio.io/proxyCPU',
      'sidecar.istio.io/proxyCPULimit',
      'sidecar.istio.io/proxyMemory',
      'sidecar.istio.io/proxyMemoryLimit',
      'sidecar.istio.io/logLevel',
      'sidecar.istio.io/componentLogLevel',
      'sidecar.istio.io/agentLogLevel',
      'sidecar.istio.io/bootstrapOverride',
      'sidecar.istio.io/userVolume',
      'sidecar.istio.io/userVolumeMount',
      'sidecar.istio.io/rewriteAppHTTPProbers',
      'sidecar.istio.io/statsInclusionPrefixes',
      'sidecar.istio.io/statsInclusionRegexps',
      'sidecar.istio.io/statsInclusionSuffixes',
      'sidecar.istio.io/statsHistogramBuckets',
      'sidecar.istio.io/extraStatTags',
      'sidecar.istio.io/discoveryAddress',
      'sidecar.istio.io/enableCoreDump',
      'sidecar.istio.io/capNetBindService',
      'sidecar.istio.io/proxyImageType',
      'sidecar.istio.io/statsCompression',
      'proxy.istio.io/overrides',
      'readiness.status.sidecar.istio.io/applicationPorts',
      'readiness.status.sidecar.istio.io/initialDelaySeconds',
      'readiness.status.sidecar.istio.io/periodSeconds',
      'readiness.status.sidecar.istio.io/failureThreshold',
      'prometheus.istio.io/merge-metrics',
    ].map((key) => ({ key, kind: 'any' as const })),
  ],
};

/**
 * Helm values (`global.proxy.*`, `meshConfig.defaultConfig.*`) the injection template
 * reads for the capture rules, with the chart's defaults (values.yaml of istio-discovery).
 */
export const ISTIO_VALUE_DEFAULTS: Record<string, string> = {
  'global.proxy.includeIPRanges': '*',
  'global.proxy.excludeIPRanges': '',
  'global.proxy.includeInboundPorts': '*',
  'global.proxy.excludeInboundPorts': '',
  'global.proxy.includeOutboundPorts': '',
  'global.proxy.excludeOutboundPorts': '',
  'global.proxy.statusPort': '15020',
  'meshConfig.defaultConfig.interceptionMode': 'REDIRECT',
  // The istio-cni plugin writes the rules instead of istio-init (Helm values of istiod / istio-cni).
  'istio_cni.enabled': 'false',
  'pilot.cni.enabled': 'false',
};
