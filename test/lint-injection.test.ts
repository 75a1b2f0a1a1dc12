// Istio's injection decision as the webhook's selectors and the injector make it: the
// namespace's istio-injection and istio.io/rev labels (in the same file or another of the
// file set), the pod's sidecar.istio.io/inject label and annotation, hostNetwork, ignored
// namespaces; a workload that is not injected is not linted as captured, and
// workload-not-injected says why, at what decided it. And the istio-cni plugin's path.
import { describe, expect, it } from 'vitest';
import { defaultOptions, lintText } from '../src/lint/lint.js';
import { noDefaults, workloadsOf } from '../src/manifest/index.js';
import { istioInjection } from '../src/manifest/injection.js';
import { SourceFile } from '../src/source.js';
import { run } from '../src/cli/run.js';
import type { Io } from '../src/cli/io.js';
import { scratchDir } from './helpers.js';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll } from 'vitest';

const ns = (name: string, labels: Record<string, string> = {}) =>
  `apiVersion: v1\nkind: Namespace\nmetadata:\n  name: ${name}\n${Object.keys(labels).length ? `  labels:\n${Object.entries(labels).map(([k, v]) => `    ${k}: "${v}"`).join('\n')}\n` : ''}`;
const deploy = (o: { ns?: string; labels?: Record<string, string>; annotations?: Record<string, string>; hostNetwork?: boolean } = {}) => {
  const map = (m: Record<string, string> | undefined, key: string) => (m && Object.keys(m).length ? `      ${key}:\n${Object.entries(m).map(([k, v]) => `        ${k}: "${v}"`).join('\n')}\n` : '');
  return `apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: reviews\n${o.ns ? `  namespace: ${o.ns}\n` : ''}spec:\n  template:\n    metadata:\n${map(o.labels, 'labels')}${map(o.annotations, 'annotations')}      name: x\n    spec:\n${o.hostNetwork ? '      hostNetwork: true\n' : ''}      containers:\n      - name: reviews\n        image: reviews:1\n        ports:\n        - containerPort: 9080\n`;
};

/** The one workload of a file set: whether it has a policy, and the workload-not-injected finding. */
function decide(text: string) {
  const src = new SourceFile('m.yaml', text);
  const b = workloadsOf(src, noDefaults()).workloads.find((w) => w.workload.kind === 'Deployment')!;
  const r = lintText('m.yaml', text, defaultOptions());
  const f = r.findings.find((x) => x.rule === 'workload-not-injected');
  return { captured: b.policyText !== undefined, finding: f, at: f ? text.slice(f.span.start.offset, f.span.end.offset) : undefined };
}

const EX = { 'traffic.sidecar.istio.io/excludeOutboundPorts': '3306' };

describe('Istio injection: namespace selectors', () => {
  it('istio-injection=enabled injects; a pod label "false" opts out', () => {
    expect(decide(`${ns('shop', { 'istio-injection': 'enabled' })}---\n${deploy({ ns: 'shop', annotations: EX })}`)).toMatchObject({ captured: true, finding: undefined });
    const out = decide(`${ns('shop', { 'istio-injection': 'enabled' })}---\n${deploy({ ns: 'shop', labels: { 'sidecar.istio.io/inject': 'false' } })}`);
    expect(out).toMatchObject({ captured: false, at: '"false"' });
    expect(out.finding!.message).toContain('sidecar.istio.io/inject is "false"');
  });

  it('istio-injection=disabled wins over a pod label "true" and over istio.io/rev', () => {
    const out = decide(`${ns('shop', { 'istio-injection': 'disabled', 'istio.io/rev': 'canary' })}---\n${deploy({ ns: 'shop', labels: { 'sidecar.istio.io/inject': 'true' }, annotations: EX })}`);
    expect(out).toMatchObject({ captured: false, at: '"disabled"' });
    expect(out.finding!.message).toContain("namespace 'shop' has istio-injection=disabled");
    // Its capture annotation is reported as having no effect.
    const r = lintText('m.yaml', `${ns('shop', { 'istio-injection': 'disabled' })}---\n${deploy({ ns: 'shop', annotations: EX })}`, defaultOptions());
    expect(r.findings.map((f) => f.rule)).toContain('annotations-without-injection');
  });

  it('istio.io/rev on the namespace injects (the revision is kept)', () => {
    const text = `${ns('shop', { 'istio.io/rev': 'canary' })}---\n${deploy({ ns: 'shop' })}`;
    expect(decide(text)).toMatchObject({ captured: true, finding: undefined });
    const src = new SourceFile('m.yaml', text);
    const m = workloadsOf(src, noDefaults());
    const namespaces = new Map([['shop', { name: 'shop', labels: [], annotations: [], span: src.span(0, 1) }]]);
    expect(istioInjection(m.workloads[0].workload, { ...noDefaults(), namespaces }).injected).toBe(false);
  });

  it('a namespace with neither label injects only pods labelled inject=true or istio.io/rev; the annotation alone does not', () => {
    expect(decide(`${ns('plain')}---\n${deploy({ ns: 'plain' })}`)).toMatchObject({ captured: false, at: 'plain' });
    expect(decide(`${ns('plain')}---\n${deploy({ ns: 'plain', labels: { 'sidecar.istio.io/inject': 'true' } })}`)).toMatchObject({ captured: true });
    expect(decide(`${ns('plain')}---\n${deploy({ ns: 'plain', labels: { 'istio.io/rev': 'canary' } })}`)).toMatchObject({ captured: true });
    const ann = decide(`${ns('plain')}---\n${deploy({ ns: 'plain', annotations: { 'sidecar.istio.io/inject': 'true' } })}`);
    expect(ann).toMatchObject({ captured: false, at: 'sidecar.istio.io/inject' });
    expect(ann.finding!.message).toContain('make it a label');
  });

  it('a workload without metadata.namespace is in "default"', () => {
    expect(decide(`${ns('default', { 'istio-injection': 'disabled' })}---\n${deploy()}`)).toMatchObject({ captured: false });
    expect(decide(`${ns('default', { 'istio-injection': 'enabled' })}---\n${deploy()}`)).toMatchObject({ captured: true });
  });
});

describe('Istio injection: the injector', () => {
  it('a namespace outside the file set is presumed to inject; the label beats the annotation; only y/yes/true/on inject', () => {
    expect(decide(deploy({ ns: 'elsewhere' }))).toMatchObject({ captured: true, finding: undefined });
    expect(decide(deploy({ labels: { 'sidecar.istio.io/inject': 'true' }, annotations: { 'sidecar.istio.io/inject': 'false' } }))).toMatchObject({ captured: true });
    expect(decide(deploy({ annotations: { 'sidecar.istio.io/inject': 'false' } }))).toMatchObject({ captured: false, at: '"false"' });
    expect(decide(deploy({ labels: { 'sidecar.istio.io/inject': 'yes' } }))).toMatchObject({ captured: true });
    expect(decide(deploy({ labels: { 'sidecar.istio.io/inject': 'disabled' } }))).toMatchObject({ captured: false, at: '"disabled"' });
  });

  it('hostNetwork pods and kube-system are never injected', () => {
    expect(decide(deploy({ hostNetwork: true, annotations: EX }))).toMatchObject({ captured: false, at: 'Deployment' });
    const ks = decide(`${ns('kube-system', { 'istio-injection': 'enabled' })}---\n${deploy({ ns: 'kube-system' })}`);
    expect(ks.captured).toBe(false);
    expect(ks.finding!.message).toContain("namespace 'kube-system'");
  });
});

describe('Istio injection across the file set (meshcap lint)', () => {
  const scratch = scratchDir('meshcap-inject-');
  afterAll(() => scratch.cleanup());
  const lint = (args: string[]) => {
    const io: Io & { stdout: string } = { stdout: '', color: false, out: (s) => void (io.stdout += s), err: () => {} };
    const code = run(['lint', '--no-config', '--format', 'json', ...args], io);
    return { code, found: (JSON.parse(io.stdout) as { diagnostics: { code: string; file: string }[] }).diagnostics };
  };
  it("a Namespace in another file decides for the workloads of this one", () => {
    const d = scratch.dir;
    writeFileSync(join(d, 'ns.yaml'), ns('shop', { 'istio-injection': 'disabled' }));
    writeFileSync(join(d, 'app.yaml'), deploy({ ns: 'shop', annotations: { 'traffic.sidecar.istio.io/excludeInboundPorts': '9080' } }));
    const both = lint([join(d, 'ns.yaml'), join(d, 'app.yaml')]);
    expect(both.found.map((f) => f.code).sort()).toEqual(['annotations-without-injection', 'workload-not-injected']);
    expect(both.found.find((f) => f.code === 'workload-not-injected')!.file).toContain('ns.yaml');
    // Alone, the workload is presumed injected, and its excluded container port is a finding.
    const alone = lint([join(d, 'app.yaml')]);
    expect(alone.found.map((f) => f.code)).toContain('inbound-port-bypass');
    expect(alone.code).toBe(1);
  });
});

describe('istio-cni', () => {
  it('with the CNI plugin the status port is also excluded outbound; istio-init does not exclude it', () => {
    const src = new SourceFile('m.yaml', deploy());
    const withCni = workloadsOf(src, { ...noDefaults(), values: { 'istio_cni.enabled': 'true' } }).workloads[0];
    const without = workloadsOf(src, noDefaults()).workloads[0];
    expect(withCni.argv!.join(' ')).toContain('-o 15020');
    expect(without.argv!).not.toContain('-o');
    expect(withCni.policyText).toMatch(/exclude ports[^\n]*15020/);
  });
});
