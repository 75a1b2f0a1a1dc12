// The lint rules, as data: a stable kebab-case id each (never renamed; a new rule gets a
// new id), its default level, what it is about, why it matters, and a failing and a
// passing example (docs/lint.md lists them; test/lint-rules.test.ts lints every `bad`
// and `good` and checks that the first fails the rule and the second does not).
// `explain`, `bad`, `good` and `docs` are the field names the diagnostics catalogue uses,
// so `meshcap explain ID` renders either.
import type { ManifestRule } from '../manifest/index.js';

export type Level = 'error' | 'warning' | 'info';

export interface LintRule {
  level: Level;
  /** What the rule looks at: a policy, the exhaustive engine over the policy's rules, a manifest, suppressions. */
  scope: 'policy' | 'engine' | 'manifest' | 'suppression';
  summary: string;
  /** Why it matters (the rationale). */
  explain: string;
  /** A failing and a passing input: `policy.intercept` or `manifest.yaml` text, named by the first line. */
  bad: string;
  good: string;
  /** Where the rule is documented. */
  docs: string;
}

/** Where the rules' help URIs point (SARIF helpUri, `explain`). */
export const LINT_DOCS = 'docs/lint.md';

const P = (body: string) => `# policy.intercept\npolicy app {\n${body}\n}\n`;
const M = (annotations: string, extra = '') =>
  `# manifest.yaml\napiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: reviews\n${extra}spec:\n  template:\n    metadata:\n      annotations:\n${annotations}\n    spec:\n      containers:\n      - name: reviews\n        image: reviews:1\n        ports:\n        - containerPort: 9080\n`;

const rules = {
  // ---- policy checks (the warnings of `meshcap check`) ----------------------------------
  'duplicate-value': {
    level: 'warning',
    scope: 'policy',
    summary: 'a list names a value another item already covers',
    explain: 'A list names the same port, range, address or name twice (or a range another item contains). It changes nothing, and usually hides a typo for the value that was meant.',
    bad: P('  outbound { capture cidrs *; exclude cidrs 10.0.0.0/8, 10.1.0.0/16 }\n  families ipv4, ipv6'),
    good: P('  outbound { capture cidrs *; exclude cidrs 10.0.0.0/8 }\n  families ipv4, ipv6'),
  },
  'exclude-outside-capture': {
    level: 'warning',
    scope: 'policy',
    summary: 'an excluded CIDR lies outside every captured CIDR',
    explain: 'Excluding a range that is not captured has no effect: the author meant another range, or the capture list misses one.',
    bad: P('  outbound { capture cidrs 10.0.0.0/8; exclude cidrs 192.168.0.0/16 }\n  families ipv4, ipv6'),
    good: P('  outbound { capture cidrs 10.0.0.0/8; exclude cidrs 10.9.0.0/16 }\n  families ipv4, ipv6'),
  },
  'ipv6-bypass': {
    level: 'warning',
    scope: 'engine',
    summary: 'IPv6 traffic is not captured at all',
    explain: 'With ipv4 as the only family (Istio without dual stack), no IPv6 rule is installed: every IPv6 connection of the app reaches its destination without the proxy. The exhaustive engine compares the rules with those of the same policy with IPv6 over every IPv6 packet and gives the class that escapes. For a manifest it is reported when the cluster has IPv6 (an IPv6 cluster CIDR).',
    bad: P('  outbound { capture cidrs * }\n  families ipv4'),
    good: P('  outbound { capture cidrs * }\n  families ipv4, ipv6'),
  },
  'name-resolved-at-load': {
    level: 'info',
    scope: 'policy',
    summary: 'a user or group name is resolved when the rules load',
    explain: 'iptables and nft resolve names at load time: the same rules fail to load on a node without the name. A numeric id does not depend on the node.',
    bad: P('  proxy { uid envoy }\n  outbound { capture cidrs * }\n  families ipv4, ipv6'),
    good: P('  proxy { uid 1337 }\n  outbound { capture cidrs * }\n  families ipv4, ipv6'),
  },
  'dns-port-excluded': {
    level: 'warning',
    scope: 'policy',
    summary: 'outbound port 53 is excluded although DNS capture is on',
    explain: 'Excluded outbound ports return before the DNS rules (as in Istio), so excluding 53 silently turns DNS capture off.',
    bad: P('  outbound { capture cidrs *; exclude ports 53 }\n  dns { capture all }\n  families ipv4, ipv6'),
    good: P('  outbound { capture cidrs * }\n  dns { capture all }\n  families ipv4, ipv6'),
  },
  'proxy-unrecognised': {
    level: 'warning',
    scope: 'policy',
    summary: "the proxy has neither a uid nor a gid, so its own connections are captured again",
    explain: "Rules recognise the proxy's own traffic by its owner. Without a uid or gid, a connection the proxy opens to the real destination is redirected back to the proxy: a loop (Linkerd's proxy-init writes no owner rule when --proxy-uid and --proxy-gid are unset).",
    bad: P('  proxy { uid none; gid none }\n  outbound { capture cidrs * }\n  families ipv4, ipv6'),
    good: P('  proxy { uid 2102 }\n  outbound { capture cidrs * }\n  families ipv4, ipv6'),
  },
  'nothing-captured': {
    level: 'warning',
    scope: 'policy',
    summary: 'the policy captures no traffic',
    explain: 'With no capture anywhere the rules only pass traffic through: the sidecar sees nothing.',
    bad: P('  inbound { capture ports none }\n  outbound { capture cidrs none }\n  families ipv4, ipv6'),
    good: P('  inbound { capture ports * }\n  outbound { capture cidrs none }\n  families ipv4, ipv6'),
  },
  'istio-dropped': {
    level: 'warning',
    scope: 'manifest',
    summary: 'istio-iptables silently ignores a setting in this combination',
    explain: 'Some combinations of istio-iptables settings are dropped without a word: inbound exclusions when inbound capture is a list, outbound exclusions when nothing outbound is captured, excluded groups when groups are listed. The annotation looks effective and is not.',
    bad: M('        traffic.sidecar.istio.io/includeInboundPorts: "9080"\n        traffic.sidecar.istio.io/excludeInboundPorts: "9090"'),
    good: M('        traffic.sidecar.istio.io/includeInboundPorts: "9080"'),
  },
  // ---- answered by the exhaustive engine -------------------------------------------------
  'redundant-exclusion': {
    level: 'warning',
    scope: 'engine',
    summary: 'an exclusion changes no packet',
    explain: 'The engine compares the rules with and without the excluded item over every packet and finds no difference: another exclusion, the localhost range or the capture list already decides every packet it names. It is dead weight that misleads the reader about what bypasses the proxy.',
    bad: P('  outbound { capture cidrs *; exclude cidrs 127.0.0.1 }\n  families ipv4, ipv6'),
    good: P('  outbound { capture cidrs *; exclude cidrs 169.254.169.254 }\n  families ipv4, ipv6'),
  },
  'exclusion-bypass': {
    level: 'info',
    scope: 'engine',
    summary: 'what an exclusion lets bypass the proxy, with a packet',
    explain: 'For each excluded CIDR, port, interface or group, a packet of the app that the exclusion lets past the proxy and that would be captured without it: the exhaustive engine compares the rules with and without the item over every packet and reports the first class that differs, with a member of it a person would send. A reviewer sees the bypass as traffic, not as a list item. Informational: exclusions are often meant. The proxy\'s own inbound ports (15090, 15021, 15020), which Istio excludes by design, are not reported.',
    bad: P('  outbound { capture cidrs *; exclude ports 3306 }\n  families ipv4, ipv6'),
    good: P('  outbound { capture cidrs * }\n  families ipv4, ipv6'),
  },
  'cluster-cidr-excluded': {
    level: 'warning',
    scope: 'engine',
    summary: "an excluded CIDR covers the cluster's pod or service CIDRs",
    explain: "Traffic to in-cluster services and pods is what the mesh is for (mTLS, policy, telemetry). An exclusion that covers part of the cluster's CIDRs (--cluster-cidrs or `clusterCidrs` in .meshcap.yaml) sends that traffic around the proxy. The exhaustive engine compares the rules with and without the exclusion over every connection of the app into the cluster CIDR; the message gives the class that bypasses and a packet of it.",
    bad: M('        traffic.sidecar.istio.io/excludeOutboundIPRanges: "10.0.0.0/8"'),
    good: M('        traffic.sidecar.istio.io/excludeOutboundIPRanges: "169.254.169.254/32"'),
  },
  'inbound-port-bypass': {
    level: 'warning',
    scope: 'engine',
    summary: "a container port of the workload is not captured inbound",
    explain: 'A port the pod declares (containerPort) is served by the app; if the inbound rules do not redirect it (excluded, or missing from an include list), clients reach the app without the proxy: no mTLS, no authorization policy. The exhaustive engine asks about every new TCP connection to the port from outside the pod (any source, interface, address); the message gives the class that is not captured and a packet of it.',
    bad: M('        traffic.sidecar.istio.io/excludeInboundPorts: "9080"'),
    good: M('        traffic.sidecar.istio.io/excludeInboundPorts: "9090"'),
  },
  'dns-not-captured': {
    level: 'warning',
    scope: 'engine',
    summary: 'DNS capture is on, but a DNS query of the app is not captured',
    explain: 'The policy turns DNS capture on, yet the exhaustive engine finds a class of the app\'s UDP queries to port 53 (to the listed servers, or to any server with `capture all`) that does not reach the proxy\'s DNS port (an excluded interface or owner decides first). The message gives the class, a query of it and the rule that lets it through.',
    bad: P('  outbound { capture cidrs * }\n  interfaces { exclude eth0 }\n  dns { capture servers 10.96.0.10 }\n  families ipv4, ipv6'),
    good: P('  outbound { capture cidrs * }\n  dns { capture servers 10.96.0.10 }\n  families ipv4, ipv6'),
  },
  'proxy-traffic-recaptured': {
    level: 'error',
    scope: 'engine',
    summary: "the proxy's own traffic is captured again (a loop)",
    explain: "The capture rules exempt the proxy by the uid and gid istio-init is given (-u 1337, the gid defaults to the uid). A pod spec whose istio-proxy container runs as other ids (a pod injected before it was written out, an edited securityContext, a platform that assigns ids) has the proxy's own outbound connections redirected back into the proxy: they loop until they fail. The exhaustive engine, asked about every connection of the proxy's ids out of the pod, gives the class that is captured and a connection of it.",
    bad: `${M('        sidecar.istio.io/status: "{}"').replace("        - containerPort: 9080\n", '        - containerPort: 9080\n      - name: istio-proxy\n        image: proxyv2:1.24\n        securityContext:\n          runAsUser: 1000650000\n          runAsGroup: 1000650000\n')}`,
    good: `${M('        sidecar.istio.io/status: "{}"').replace("        - containerPort: 9080\n", '        - containerPort: 9080\n      - name: istio-proxy\n        image: proxyv2:1.24\n        securityContext:\n          runAsUser: 1337\n          runAsGroup: 1337\n')}`,
  },
  // ---- manifests ---------------------------------------------------------------------------
  'unknown-annotation': {
    level: 'warning',
    scope: 'manifest',
    summary: "an annotation under the mesh's prefix that the mesh does not know",
    explain: 'Istio, Linkerd and Kuma ignore annotations they do not know, without a word: a misspelt `excludeOutboundIpRanges` (or `config.linkerd.io/skip-outbund-ports`, `traffic.kuma.io/exclude-outbound-port`) leaves the traffic captured. The hint names the closest known annotation of that mesh.',
    bad: M('        traffic.sidecar.istio.io/excludeOutboundIpRanges: "169.254.169.254/32"'),
    good: M('        traffic.sidecar.istio.io/excludeOutboundIPRanges: "169.254.169.254/32"'),
  },
  'malformed-annotation': {
    level: 'error',
    scope: 'manifest',
    summary: 'an annotation value the mesh would reject or skip',
    explain: 'A CIDR that does not parse, a port out of range, an interception mode that does not exist: istio-init fails (the pod never starts) or skips the value, depending on the field. meshcap leaves the value out of the policy.',
    bad: M('        traffic.sidecar.istio.io/excludeOutboundPorts: "3306,70000"'),
    good: M('        traffic.sidecar.istio.io/excludeOutboundPorts: "3306"'),
  },
  'annotation-not-string': {
    level: 'error',
    scope: 'manifest',
    summary: 'an annotation value that is not a YAML string',
    explain: 'Annotation values are strings; `excludeOutboundPorts: 3306` (a number) or `inject: false` (a boolean) makes the API server reject the whole object.',
    bad: M('        traffic.sidecar.istio.io/excludeOutboundPorts: 3306'),
    good: M('        traffic.sidecar.istio.io/excludeOutboundPorts: "3306"'),
  },
  'annotation-on-wrong-object': {
    level: 'warning',
    scope: 'manifest',
    summary: "a mesh annotation on the workload's own metadata instead of its pod template",
    explain: "The sidecar injector reads the pod's annotations. On a Deployment (StatefulSet, Job, ...) they belong under spec.template.metadata; on the Deployment's own metadata they do nothing.",
    bad: M('        app: reviews', '  annotations:\n    traffic.sidecar.istio.io/excludeOutboundPorts: "3306"\n').replace('      annotations:\n        app', '      labels:\n        app'),
    good: M('        traffic.sidecar.istio.io/excludeOutboundPorts: "3306"'),
  },
  'annotations-without-injection': {
    level: 'warning',
    scope: 'manifest',
    summary: 'capture annotations on a workload that gets no sidecar or no capture rules',
    explain: "When the mesh does not inject the workload (see workload-not-injected: sidecar.istio.io/inject \"false\", a namespace without injection, hostNetwork, linkerd.io/inject or kuma.io/sidecar-injection disabled) or Istio's interceptionMode is NONE, no capture rules are installed: the workload's traffic annotations are silently dropped.",
    bad: M('        sidecar.istio.io/interceptionMode: NONE\n        traffic.sidecar.istio.io/excludeOutboundPorts: "3306"'),
    good: M('        traffic.sidecar.istio.io/excludeOutboundPorts: "3306"'),
  },
  'workload-not-injected': {
    level: 'info',
    scope: 'manifest',
    summary: 'the mesh would not inject this workload, so it is not linted as captured',
    explain: "Whether a pod gets a sidecar is decided by the mesh, not by its annotations alone: Istio's webhooks select by the namespace's istio-injection or istio.io/rev label (istio-injection wins; a value other than enabled selects nothing) and, in a namespace with neither, only pods labelled sidecar.istio.io/inject=true; then the injector skips hostNetwork pods, kube-system and kube-public, and a pod whose inject label (or, failing that, annotation) is not y/yes/true/on. Linkerd injects where linkerd.io/inject is enabled or ingress on the pod or, failing that, its namespace; Kuma where kuma.io/sidecar-injection is enabled on the pod or its namespace. A workload the mesh leaves alone sends all its traffic directly: the finding names what decided it, so a workload that was meant to be in the mesh is noticed. Namespaces not in the linted files are presumed to inject.",
    bad: `# manifest.yaml\napiVersion: v1\nkind: Namespace\nmetadata:\n  name: shop\n  labels:\n    istio-injection: disabled\n---\n${M('        traffic.sidecar.istio.io/excludeOutboundPorts: "3306"', '  namespace: shop\n').replace('# manifest.yaml\n', '')}`,
    good: `# manifest.yaml\napiVersion: v1\nkind: Namespace\nmetadata:\n  name: shop\n  labels:\n    istio-injection: enabled\n---\n${M('        traffic.sidecar.istio.io/excludeOutboundPorts: "3306"', '  namespace: shop\n').replace('# manifest.yaml\n', '')}`,
  },
  'inject-annotation-deprecated': {
    level: 'info',
    scope: 'manifest',
    summary: 'sidecar.istio.io/inject is set as an annotation',
    explain: 'Istio reads sidecar.istio.io/inject as a label first and the annotation only as a deprecated fallback; the label also works with revision-based injection.',
    bad: M('        sidecar.istio.io/inject: "true"'),
    good: M('        proxy.istio.io/config: "{}"').replace('      annotations:', '      labels:\n        sidecar.istio.io/inject: "true"\n      annotations:'),
  },
  'deprecated-annotation': {
    level: 'info',
    scope: 'manifest',
    summary: 'a deprecated mesh annotation',
    explain: 'The annotation still works but has a replacement (traffic.sidecar.istio.io/kubevirtInterfaces: istio.io/reroute-virtual-interfaces).',
    bad: M('        traffic.sidecar.istio.io/kubevirtInterfaces: "net1"'),
    good: M('        istio.io/reroute-virtual-interfaces: "net1"'),
  },
  // ---- suppressions ------------------------------------------------------------------------
  'suppression-without-reason': {
    level: 'warning',
    scope: 'suppression',
    summary: 'a meshcap-ignore without a reason',
    explain: 'A suppression says why the finding does not apply (`# meshcap-ignore RULE-ID: reason`): without one, the next reader cannot tell a decision from a shortcut. It still suppresses.',
    bad: P('  outbound {\n    capture cidrs *\n    # meshcap-ignore duplicate-value\n    exclude cidrs 10.0.0.0/8, 10.1.0.0/16\n  }\n  families ipv4, ipv6'),
    good: P('  outbound {\n    capture cidrs *\n    # meshcap-ignore duplicate-value: kept in step with the firewall list\n    exclude cidrs 10.0.0.0/8, 10.1.0.0/16\n  }\n  families ipv4, ipv6'),
  },
  'unused-suppression': {
    level: 'warning',
    scope: 'suppression',
    summary: 'a meshcap-ignore that suppresses nothing',
    explain: 'The finding it was written for is gone (or was never on that line): a stale suppression would silently hide the next, different problem on the line.',
    bad: P('  outbound {\n    # meshcap-ignore duplicate-value: kept in step with the firewall list\n    capture cidrs *\n  }\n  families ipv4, ipv6'),
    good: P('  outbound {\n    capture cidrs *\n  }\n  families ipv4, ipv6'),
  },
  'suppression-unknown-rule': {
    level: 'warning',
    scope: 'suppression',
    summary: 'a meshcap-ignore names a rule that does not exist',
    explain: 'The rule id is misspelt (or the rule was never meshcap\'s): the suppression cannot apply. The hint names the closest rule.',
    bad: P('  outbound {\n    capture cidrs *\n    # meshcap-ignore duplicate-values: kept in step with the firewall list\n    exclude cidrs 10.0.0.0/8, 10.1.0.0/16\n  }\n  families ipv4, ipv6'),
    good: P('  outbound {\n    capture cidrs *\n    # meshcap-ignore duplicate-value: kept in step with the firewall list\n    exclude cidrs 10.0.0.0/8, 10.1.0.0/16\n  }\n  families ipv4, ipv6'),
  },
} as const satisfies Record<string, Omit<LintRule, 'docs'>>;

export type RuleId = keyof typeof rules;

// Every rule the manifest reader reports is in the table (a compile error otherwise).
const manifestRulesCovered: Record<ManifestRule, RuleId> = {
  'unknown-annotation': 'unknown-annotation',
  'malformed-annotation': 'malformed-annotation',
  'annotation-not-string': 'annotation-not-string',
  'annotation-on-wrong-object': 'annotation-on-wrong-object',
  'annotations-without-injection': 'annotations-without-injection',
  'inject-annotation-deprecated': 'inject-annotation-deprecated',
  'deprecated-annotation': 'deprecated-annotation',
  'istio-dropped': 'istio-dropped',
  'workload-not-injected': 'workload-not-injected',
};
void manifestRulesCovered;

export const RULES: Record<RuleId, LintRule> = Object.fromEntries(
  Object.entries(rules).map(([id, r]) => [id, { ...r, docs: `${LINT_DOCS}#${id}` }]),
) as Record<RuleId, LintRule>;

export function isRule(id: string): id is RuleId {
  return Object.prototype.hasOwnProperty.call(RULES, id);
}
