// Linkerd's and Kuma's annotations: each one makes the policy that `meshcap import` of the
// flag the mesh's injector writes for it makes (the command lines here are written from
// the meshes' injectors, not from our builder); their injection decisions; and the lint
// rules on manifests (unknown key with did-you-mean, malformed value, wrong object,
// annotations without injection, engine findings placed on the annotation) for all three.
import { describe, expect, it } from 'vitest';
import { kumaConfigFromFlags, policyFromKuma } from '../src/import/kuma.js';
import { linkerdConfigFromFlags, policyFromLinkerd } from '../src/import/linkerd.js';
import { defaultOptions, lintText } from '../src/lint/lint.js';
import { MESHES, noDefaults, readMeshValues, workloadsOf } from '../src/manifest/index.js';
import { SourceFile } from '../src/source.js';
import type { Io } from '../src/cli/io.js';
import { run } from '../src/cli/run.js';

const deploy = (annotations: Record<string, string>, o: { ns?: string; labels?: Record<string, string>; own?: Record<string, string> } = {}) => {
  const map = (m: Record<string, string> | undefined, key: string, ind: string) => (m && Object.keys(m).length ? `${ind}${key}:\n${Object.entries(m).map(([k, v]) => `${ind}  ${k}: "${v}"`).join('\n')}\n` : '');
  return `apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\n${o.ns ? `  namespace: ${o.ns}\n` : ''}${map(o.own, 'annotations', '  ')}spec:\n  template:\n    metadata:\n${map(o.labels, 'labels', '      ')}${map(annotations, 'annotations', '      ')}    spec:\n      containers:\n      - name: web\n        image: web:1\n        ports:\n        - containerPort: 8080\n`;
};
const built = (text: string) => workloadsOf(new SourceFile('m.yaml', text), noDefaults()).workloads[0];
const lint = (text: string) => lintText('m.yaml', text, defaultOptions());
const rulesAt = (text: string) => lint(text).findings.map((f) => `${f.rule}@${text.slice(f.span.start.offset, f.span.end.offset)}`);

const linkerdPolicy = (flags: string[]) => policyFromLinkerd(linkerdConfigFromFlags(flags), 'deployment-web').text;
// What Linkerd's _proxy-init.tpl writes with the chart's defaults.
const LINKERD_BASE = ['--incoming-proxy-port', '4143', '--outgoing-proxy-port', '4140', '--proxy-uid', '2102'];

describe('Linkerd annotations', () => {
  const cases: [string, string, string[]][] = [
    ['config.linkerd.io/inbound-port', '5143', ['--incoming-proxy-port', '5143', '--outgoing-proxy-port', '4140', '--proxy-uid', '2102', '--inbound-ports-to-ignore', '4190,4191,4567,4568', '--outbound-ports-to-ignore', '4567,4568']],
    ['config.linkerd.io/outbound-port', '5140', ['--incoming-proxy-port', '4143', '--outgoing-proxy-port', '5140', '--proxy-uid', '2102', '--inbound-ports-to-ignore', '4190,4191,4567,4568', '--outbound-ports-to-ignore', '4567,4568']],
    ['config.linkerd.io/proxy-uid', '3000', ['--incoming-proxy-port', '4143', '--outgoing-proxy-port', '4140', '--proxy-uid', '3000', '--inbound-ports-to-ignore', '4190,4191,4567,4568', '--outbound-ports-to-ignore', '4567,4568']],
    ['config.linkerd.io/proxy-gid', '3001', [...LINKERD_BASE, '--proxy-gid', '3001', '--inbound-ports-to-ignore', '4190,4191,4567,4568', '--outbound-ports-to-ignore', '4567,4568']],
    ['config.linkerd.io/skip-inbound-ports', '25,9000-9010', [...LINKERD_BASE, '--inbound-ports-to-ignore', '4190,4191,25,9000-9010', '--outbound-ports-to-ignore', '4567,4568']],
    ['config.linkerd.io/skip-outbound-ports', '3306,5432', [...LINKERD_BASE, '--inbound-ports-to-ignore', '4190,4191,4567,4568', '--outbound-ports-to-ignore', '3306,5432']],
    ['config.linkerd.io/skip-subnets', '10.9.0.0/16', [...LINKERD_BASE, '--inbound-ports-to-ignore', '4190,4191,4567,4568', '--outbound-ports-to-ignore', '4567,4568', '--subnets-to-ignore', '10.9.0.0/16']],
    ['config.linkerd.io/admin-port', '5191', [...LINKERD_BASE, '--inbound-ports-to-ignore', '4190,5191,4567,4568', '--outbound-ports-to-ignore', '4567,4568']],
    ['config.linkerd.io/control-port', '5190', [...LINKERD_BASE, '--inbound-ports-to-ignore', '5190,4191,4567,4568', '--outbound-ports-to-ignore', '4567,4568']],
  ];
  for (const [key, value, flags] of cases) {
    it(`${key}: the policy of proxy-init ${flags.slice(6).join(' ')}`, () => {
      const b = built(deploy({ 'linkerd.io/inject': 'enabled', [key]: value }));
      // An IPv4 subnet with IPv6 on (the chart's default) is handed to ip6tables too, which refuses it.
      expect(b.issues.map((i) => i.message)).toEqual(key.endsWith('skip-subnets') ? [expect.stringContaining('gives it to ip6tables too, which refuses it')] : []);
      expect(b.policyText).toBe(linkerdPolicy(flags));
      // And it differs from the defaults' policy: the annotation is not a no-op (the refused subnet is one).
      if (!key.endsWith('skip-subnets')) expect(b.policyText).not.toBe(built(deploy({ 'linkerd.io/inject': 'enabled' })).policyText);
    });
  }

  it('injection: linkerd.io/inject on the pod, else on its namespace; disabled or absent there means no capture rules', () => {
    const ns = (v?: string) => `apiVersion: v1\nkind: Namespace\nmetadata:\n  name: shop\n${v ? `  annotations:\n    linkerd.io/inject: ${v}\n` : ''}---\n`;
    const skip = { 'config.linkerd.io/skip-outbound-ports': '3306' };
    expect(built(`${ns('enabled')}${deploy(skip, { ns: 'shop' })}`.split('---\n')[1]).policyText).toBeDefined();
    const w = (t: string) => workloadsOf(new SourceFile('m.yaml', t), noDefaults()).workloads[0];
    expect(w(`${ns('enabled')}${deploy(skip, { ns: 'shop' })}`).policyText).toContain('exclude ports 3306');
    expect(w(`${ns('enabled')}${deploy({ ...skip, 'linkerd.io/inject': 'disabled' }, { ns: 'shop' })}`).skipped).toContain('disabled on the pod');
    expect(w(`${ns('disabled')}${deploy(skip, { ns: 'shop' })}`).skipped).toContain("namespace 'shop'");
    expect(w(`${ns()}${deploy(skip, { ns: 'shop' })}`).skipped).toContain('neither the pod nor');
    expect(rulesAt(`${ns()}${deploy(skip, { ns: 'shop' })}`).sort()).toEqual(['annotations-without-injection@config.linkerd.io/skip-outbound-ports', 'workload-not-injected@shop']);
  });

  it('lint: misspelt key, malformed value, wrong object, and an engine finding on the annotation value', () => {
    expect(rulesAt(deploy({ 'linkerd.io/inject': 'enabled', 'config.linkerd.io/skip-outbund-ports': '3306' }))).toEqual(['unknown-annotation@config.linkerd.io/skip-outbund-ports']);
    expect(lint(deploy({ 'linkerd.io/inject': 'enabled', 'config.linkerd.io/skip-outbund-ports': '3306' })).findings[0].hint).toContain("did you mean 'config.linkerd.io/skip-outbound-ports'");
    expect(rulesAt(deploy({ 'linkerd.io/inject': 'enabled', 'config.linkerd.io/skip-inbound-ports': '70000' }))).toEqual(['malformed-annotation@"70000"']);
    expect(rulesAt(deploy({}, { own: { 'config.linkerd.io/skip-outbound-ports': '3306' } }))).toContain('annotation-on-wrong-object@config.linkerd.io/skip-outbound-ports');
    expect(rulesAt(deploy({ 'linkerd.io/inject': 'enabled', 'config.linkerd.io/skip-inbound-ports': '8080' }))).toEqual(['exclusion-bypass@8080', 'inbound-port-bypass@8080']);
  });

  // Each chart value the proxy-init template reads (_proxy-init.tpl), as the command line it makes.
  const valueCases: [string, string, string[]][] = [
    ['proxy:\n  ports:\n    inbound: 5143\n', 'proxy.ports.inbound', ['--incoming-proxy-port', '5143', '--outgoing-proxy-port', '4140', '--proxy-uid', '2102', '--inbound-ports-to-ignore', '4190,4191,4567,4568', '--outbound-ports-to-ignore', '4567,4568']],
    ['proxy:\n  ports:\n    outbound: 5140\n', 'proxy.ports.outbound', ['--incoming-proxy-port', '4143', '--outgoing-proxy-port', '5140', '--proxy-uid', '2102', '--inbound-ports-to-ignore', '4190,4191,4567,4568', '--outbound-ports-to-ignore', '4567,4568']],
    ['proxy:\n  uid: 2200\n', 'proxy.uid', ['--incoming-proxy-port', '4143', '--outgoing-proxy-port', '4140', '--proxy-uid', '2200', '--inbound-ports-to-ignore', '4190,4191,4567,4568', '--outbound-ports-to-ignore', '4567,4568']],
    ['proxy:\n  ports:\n    control: 5190\n    admin: 5191\n', 'proxy.ports.control/admin', [...LINKERD_BASE, '--inbound-ports-to-ignore', '5190,5191,4567,4568', '--outbound-ports-to-ignore', '4567,4568']],
    ['proxyInit:\n  ignoreInboundPorts: "25"\n', 'proxyInit.ignoreInboundPorts', [...LINKERD_BASE, '--inbound-ports-to-ignore', '4190,4191,25', '--outbound-ports-to-ignore', '4567,4568']],
    ['proxyInit:\n  ignoreInboundPorts: ""\n  ignoreOutboundPorts: ""\n', 'proxyInit.ignore*Ports empty', [...LINKERD_BASE, '--inbound-ports-to-ignore', '4190,4191']],
    ['proxyInit:\n  ignoreOutboundPorts: "443,3306"\n', 'proxyInit.ignoreOutboundPorts', [...LINKERD_BASE, '--inbound-ports-to-ignore', '4190,4191,4567,4568', '--outbound-ports-to-ignore', '443,3306']],
    ['proxyInit:\n  skipSubnets: "fd00::/8"\n', 'proxyInit.skipSubnets', [...LINKERD_BASE, '--inbound-ports-to-ignore', '4190,4191,4567,4568', '--outbound-ports-to-ignore', '4567,4568', '--subnets-to-ignore', 'fd00::/8']],
  ];
  const withValues = (values: string, text: string) => {
    const mv = readMeshValues(new SourceFile('values.yaml', values));
    expect(mv.diagnostics).toEqual([]);
    return workloadsOf(new SourceFile('m.yaml', text), mv.defaults).workloads[0];
  };
  for (const [values, name, flags] of valueCases) {
    it(`chart value ${name} (--mesh-values): the policy of proxy-init ${flags.slice(6).join(' ')}`, () => {
      const b = withValues(values, deploy({ 'linkerd.io/inject': 'enabled' }));
      expect(b.argv).toEqual(flags);
      expect(b.policyText).toBe(linkerdPolicy(flags));
      // proxy-init hands every subnet to iptables and ip6tables (IPv6 is on by default), so one family's subnet fails it.
      if (name.endsWith('skipSubnets')) expect(b.issues.map((i) => i.message)).toEqual([expect.stringContaining('proxy-init fails')]);
      else expect(b.policyText).not.toBe(built(deploy({ 'linkerd.io/inject': 'enabled' })).policyText);
    });
  }

  it('chart values are defaults: an annotation wins; proxyInit.iptablesMode must be nft or legacy, as the template demands', () => {
    const b = withValues('proxy:\n  uid: 2200\nproxyInit:\n  ignoreOutboundPorts: "443"\n', deploy({ 'linkerd.io/inject': 'enabled', 'config.linkerd.io/proxy-uid': '3000' }));
    expect(b.argv).toEqual(['--incoming-proxy-port', '4143', '--outgoing-proxy-port', '4140', '--proxy-uid', '3000', '--inbound-ports-to-ignore', '4190,4191,4567,4568', '--outbound-ports-to-ignore', '443']);
    expect(withValues('proxyInit:\n  iptablesMode: nft\n', deploy({ 'linkerd.io/inject': 'enabled' })).issues).toEqual([]);
    const bad = withValues('proxyInit:\n  iptablesMode: nftables\n', deploy({ 'linkerd.io/inject': 'enabled' }));
    expect(bad.issues.map((i) => `${i.rule}: ${i.message}`)).toEqual(['malformed-annotation: Unsupported value "nftables" for proxyInit.iptablesMode (the chart accepts "nft" or "legacy")']);
    expect(bad.issues[0].span.start.line).toBe(2);
  });
});

const kumaPolicy = (flags: string[]) => policyFromKuma(kumaConfigFromFlags(flags), { name: 'deployment-web' }).text;
// What Kuma's injector gives kuma-init with the control plane's defaults.
const KUMA_BASE = ['--kuma-dp-user=5678', '--redirect-inbound-port=15006', '--redirect-outbound-port=15001', '--ip-family-mode=dualstack'];
const KUMA_DNS = ['--redirect-all-dns-traffic', '--redirect-dns-port=15053'];

describe('Kuma annotations', () => {
  const cases: [string, string, string[]][] = [
    ['kuma.io/sidecar-uid', '6000', ['--kuma-dp-user=6000', ...KUMA_BASE.slice(1), '--exclude-inbound-ports=9001', ...KUMA_DNS]],
    ['kuma.io/transparent-proxying-inbound-port', '16006', [KUMA_BASE[0], '--redirect-inbound-port=16006', ...KUMA_BASE.slice(2), '--exclude-inbound-ports=9001', ...KUMA_DNS]],
    ['kuma.io/transparent-proxying-outbound-port', '16001', [...KUMA_BASE.slice(0, 2), '--redirect-outbound-port=16001', KUMA_BASE[3], '--exclude-inbound-ports=9001', ...KUMA_DNS]],
    ['kuma.io/transparent-proxying-ip-family-mode', 'ipv4', [...KUMA_BASE.slice(0, 3), '--ip-family-mode=ipv4', '--exclude-inbound-ports=9001', ...KUMA_DNS]],
    ['kuma.io/gateway', 'enabled', [...KUMA_BASE, '--redirect-inbound=false', '--exclude-inbound-ports=9001', ...KUMA_DNS]],
    ['kuma.io/builtin-dns', 'disabled', [...KUMA_BASE, '--exclude-inbound-ports=9001']],
    ['kuma.io/builtin-dns-port', '25053', [...KUMA_BASE, '--exclude-inbound-ports=9001', '--redirect-all-dns-traffic', '--redirect-dns-port=25053']],
    ['kuma.io/application-probe-proxy-port', '0', [...KUMA_BASE, ...KUMA_DNS]],
    ['traffic.kuma.io/exclude-inbound-ports', '8443', [...KUMA_BASE, '--exclude-inbound-ports=8443,9001', ...KUMA_DNS]],
    ['traffic.kuma.io/exclude-outbound-ports', '3306,5432', [...KUMA_BASE, '--exclude-inbound-ports=9001', '--exclude-outbound-ports=3306,5432', ...KUMA_DNS]],
    ['traffic.kuma.io/exclude-outbound-ports-for-uids', 'tcp:22:106;udp:1000-2000:107-108', [...KUMA_BASE, '--exclude-inbound-ports=9001', '--exclude-outbound-ports-for-uids=tcp:22:106', '--exclude-outbound-ports-for-uids=udp:1000-2000:107-108', ...KUMA_DNS]],
    ['traffic.kuma.io/exclude-inbound-ips', '10.9.0.0/16', [...KUMA_BASE, '--exclude-inbound-ports=9001', '--exclude-inbound-ips=10.9.0.0/16', ...KUMA_DNS]],
    ['traffic.kuma.io/exclude-outbound-ips', '169.254.169.254', [...KUMA_BASE, '--exclude-inbound-ports=9001', '--exclude-outbound-ips=169.254.169.254', ...KUMA_DNS]],
    ['traffic.kuma.io/drop-invalid-packets', 'true', [...KUMA_BASE, '--exclude-inbound-ports=9001', '--drop-invalid-packets', ...KUMA_DNS]],
    ['traffic.kuma.io/iptables-logs', 'true', [...KUMA_BASE, '--exclude-inbound-ports=9001', '--iptables-logs', ...KUMA_DNS]],
  ];
  for (const [key, value, flags] of cases) {
    it(`${key}: the policy of kumactl install transparent-proxy with its flag`, () => {
      const b = built(deploy({ 'kuma.io/sidecar-injection': 'enabled', [key]: value }));
      expect(b.issues).toEqual([]);
      expect(b.policyText).toBe(kumaPolicy(flags));
      expect(b.policyText).not.toBe(built(deploy({ 'kuma.io/sidecar-injection': 'enabled' })).policyText);
    });
  }

  it('injection: kuma.io/sidecar-injection as a pod label or annotation, else on the namespace', () => {
    const ns = (v?: string) => `apiVersion: v1\nkind: Namespace\nmetadata:\n  name: shop\n${v ? `  labels:\n    kuma.io/sidecar-injection: ${v}\n` : ''}---\n`;
    const w = (t: string) => workloadsOf(new SourceFile('m.yaml', t), noDefaults()).workloads[0];
    const ex = { 'traffic.kuma.io/exclude-outbound-ports': '3306' };
    expect(w(`${ns('enabled')}${deploy(ex, { ns: 'shop' })}`).policyText).toContain('exclude ports 3306');
    expect(w(`${ns('enabled')}${deploy(ex, { ns: 'shop', labels: { 'kuma.io/sidecar-injection': 'disabled' } })}`).skipped).toContain('disabled on the pod');
    expect(w(`${ns('disabled')}${deploy(ex, { ns: 'shop' })}`).skipped).toContain("namespace 'shop'");
    expect(w(`${ns()}${deploy(ex, { ns: 'shop' })}`).skipped).toContain('neither the pod nor');
  });

  it('lint: misspelt key, malformed value, a bad per-uid item located on the annotation, an engine finding on the value', () => {
    const on = { 'kuma.io/sidecar-injection': 'enabled' };
    expect(rulesAt(deploy({ ...on, 'traffic.kuma.io/exclude-outbound-port': '3306' }))).toEqual(['unknown-annotation@traffic.kuma.io/exclude-outbound-port']);
    expect(rulesAt(deploy({ ...on, 'traffic.kuma.io/exclude-outbound-ips': '10.0.0.300' }))).toEqual(['malformed-annotation@"10.0.0.300"']);
    expect(rulesAt(deploy({ ...on, 'traffic.kuma.io/exclude-outbound-ports-for-uids': 'sctp:22:106' }))).toEqual(['malformed-annotation@"sctp:22:106"']);
    // Kuma examines exclusions before DNS: excluding the service CIDR also lets the cluster DNS (10.96.0.10) through.
    expect(rulesAt(deploy({ ...on, 'traffic.kuma.io/exclude-outbound-ips': '10.96.0.0/12' }))).toEqual(['exclusion-bypass@10.96.0.0/12', 'dns-not-captured@"10.96.0.0/12"']);
  });

  // Each injector setting of the kuma-cp config (runtime.kubernetes.injector) as the kuma-init command line it makes.
  const kvals = (body: string) => `runtime:\n  kubernetes:\n    injector:\n${body.replace(/^/gm, '      ')}\n`;
  const valueCases: [string, string, string[]][] = [
    ['sidecarContainer:\n  uid: 6000', 'sidecarContainer.uid', ['--kuma-dp-user=6000', ...KUMA_BASE.slice(1), '--exclude-inbound-ports=9001', ...KUMA_DNS]],
    ['sidecarContainer:\n  redirectPortInbound: 16006\n  redirectPortOutbound: 16001', 'sidecarContainer.redirectPort*', [KUMA_BASE[0], '--redirect-inbound-port=16006', '--redirect-outbound-port=16001', KUMA_BASE[3], '--exclude-inbound-ports=9001', ...KUMA_DNS]],
    ['sidecarContainer:\n  ipFamilyMode: ipv4', 'sidecarContainer.ipFamilyMode', [...KUMA_BASE.slice(0, 3), '--ip-family-mode=ipv4', '--exclude-inbound-ports=9001', ...KUMA_DNS]],
    ['builtinDNS:\n  port: 25053', 'builtinDNS.port', [...KUMA_BASE, '--exclude-inbound-ports=9001', '--redirect-all-dns-traffic', '--redirect-dns-port=25053']],
    ['applicationProbeProxyPort: 0', 'applicationProbeProxyPort', [...KUMA_BASE, ...KUMA_DNS]],
    ['sidecarTraffic:\n  excludeInboundPorts: [8443, 8444]', 'sidecarTraffic.excludeInboundPorts', [...KUMA_BASE, '--exclude-inbound-ports=8443,8444,9001', ...KUMA_DNS]],
    ['sidecarTraffic:\n  excludeOutboundPorts: [3306]', 'sidecarTraffic.excludeOutboundPorts', [...KUMA_BASE, '--exclude-inbound-ports=9001', '--exclude-outbound-ports=3306', ...KUMA_DNS]],
    ['sidecarTraffic:\n  excludeInboundIPs: ["10.9.0.0/16"]', 'sidecarTraffic.excludeInboundIPs', [...KUMA_BASE, '--exclude-inbound-ports=9001', '--exclude-inbound-ips=10.9.0.0/16', ...KUMA_DNS]],
    ['sidecarTraffic:\n  excludeOutboundIPs: ["169.254.169.254"]', 'sidecarTraffic.excludeOutboundIPs', [...KUMA_BASE, '--exclude-inbound-ports=9001', '--exclude-outbound-ips=169.254.169.254', ...KUMA_DNS]],
  ];
  const withValues = (values: string, text: string) => {
    const mv = readMeshValues(new SourceFile('kuma-cp.yaml', values));
    expect(mv.diagnostics).toEqual([]);
    return workloadsOf(new SourceFile('m.yaml', text), mv.defaults).workloads[0];
  };
  for (const [body, name, flags] of valueCases) {
    it(`kuma-cp ${name} (--mesh-values): the policy of kumactl install transparent-proxy ${flags.slice(4).join(' ')}`, () => {
      const b = withValues(kvals(body), deploy({ 'kuma.io/sidecar-injection': 'enabled' }));
      expect(b.argv).toEqual(flags);
      expect(b.policyText).toBe(kumaPolicy(flags));
      expect(b.policyText).not.toBe(built(deploy({ 'kuma.io/sidecar-injection': 'enabled' })).policyText);
    });
  }

  it('kuma-cp settings are defaults under the annotations (ConfigForKubernetes: annotation, else runtime)', () => {
    const b = withValues(kvals('sidecarTraffic:\n  excludeOutboundPorts: [3306]'), deploy({ 'kuma.io/sidecar-injection': 'enabled', 'traffic.kuma.io/exclude-outbound-ports': '5432' }));
    expect(b.argv).toEqual([...KUMA_BASE, '--exclude-inbound-ports=9001', '--exclude-outbound-ports=5432', ...KUMA_DNS]);
  });
});

describe('import istio-pod on Linkerd and Kuma workloads', () => {
  it("prints each workload's tool, command line and policy", () => {
    const text = `${deploy({ 'linkerd.io/inject': 'enabled', 'config.linkerd.io/skip-outbound-ports': '3306' })}---\n${deploy({ 'kuma.io/sidecar-injection': 'enabled', 'traffic.kuma.io/exclude-outbound-ips': '169.254.169.254' })}`;
    const io: Io & { stdout: string } = { stdout: '', color: false, out: (x) => void (io.stdout += x), err: () => {}, stdin: () => Buffer.from(text) };
    expect(run(['import', 'istio-pod', '-'], io)).toBe(0);
    expect(io.stdout).toMatch(/# Deployment\/web \(<stdin>:2\): proxy-init --incoming-proxy-port 4143 .*--outbound-ports-to-ignore 3306\n/);
    expect(io.stdout).toMatch(/# Deployment\/web \(<stdin>:\d+\): kumactl install transparent-proxy --kuma-dp-user=5678 .*--exclude-outbound-ips=169.254.169.254/);
    expect(io.stdout).toContain('exclude cidrs 169.254.169.254');
  });
});

describe('the manifest reader', () => {
  it('has Istio, Linkerd and Kuma, each with its sources; a workload with no mesh annotation is Istio\'s', () => {
    expect(MESHES.map((m) => m.table.mesh).sort()).toEqual(['istio', 'kuma', 'linkerd']);
    for (const m of MESHES) expect(m.table.sources.length).toBeGreaterThan(0);
    expect(built(deploy({})).argv?.[0]).toBe('-p');
  });
});
