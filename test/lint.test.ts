// meshcap lint on the command line: inputs (files, multi-document manifests, List and
// every workload kind, directories with ignore globs, stdin), locations, suppressions,
// configuration (found upward, --config, schema errors, precedence), formats and exit
// codes, `explain` of a rule and `import istio-pod`.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import type { Io } from '../src/cli/io.js';
import { run } from '../src/cli/run.js';
import { globRegExp } from '../src/lint/config.js';
import { clearLintCache } from '../src/lint/lint.js';
import { generateBundle } from '../bench/lint.bench.js';
import { RULES } from '../src/lint/rules.js';
import { cli, scratchDir, STACK_LINE } from './helpers.js';

const root = resolve(import.meta.dirname, '..');
const fixtures = join(root, 'test', 'fixtures', 'lint');
const fx = (n: string) => join('test', 'fixtures', 'lint', n);
const scratch = scratchDir('meshcap-lint-');
afterAll(() => scratch.cleanup());

/** `line:col` of the first occurrence of `needle` (after the first `after`) in a fixture's text. */
function at(file: string, needle: string, after = ''): string {
  const text = readFileSync(file, 'utf8');
  const i = text.indexOf(needle, after ? text.indexOf(after) : 0);
  if (i < 0) throw new Error(`'${needle}' not in ${file}`);
  const before = text.slice(0, i);
  return `${before.split('\n').length}:${i - before.lastIndexOf('\n')}`;
}

/** The CLI in-process, with stdin. */
function lint(args: string[], stdin?: string) {
  const io: Io & { stdout: string; stderr: string } = { stdout: '', stderr: '', color: false, out: (s) => void (io.stdout += s), err: (s) => void (io.stderr += s), ...(stdin !== undefined ? { stdin: () => Buffer.from(stdin) } : {}) };
  const code = run(['lint', '--no-config', ...args], io);
  return { code, stdout: io.stdout, stderr: io.stderr };
}

/** rule@line:col of each finding, from --format json. */
function findings(args: string[], stdin?: string): { code: number; found: string[]; files: string[] } {
  const r = lint([...args, '--format', 'json'], stdin);
  const j = JSON.parse(r.stdout || '{"diagnostics":[]}') as { diagnostics: { code: string; file: string; range: { start: { line: number; column: number } } }[] };
  return { code: r.code, found: j.diagnostics.map((d) => `${d.code}@${d.range.start.line}:${d.range.start.column}`), files: j.diagnostics.map((d) => d.file) };
}

describe('lint: manifests', () => {
  const book = join(fixtures, 'bookinfo.yaml');
  it('points each finding at the annotation key or value that causes it, across documents', () => {
    const r = findings([fx('bookinfo.yaml'), '--cluster-cidrs', '10.96.0.0/12,10.244.0.0/16']);
    expect(r.code).toBe(1);
    expect(r.found).toEqual([
      `exclusion-bypass@${at(book, '169.254.169.254/32')}`,
      `unknown-annotation@${at(book, 'traffic.sidecar.istio.io/excludeOutboundIpRanges')}`,
      `exclusion-bypass@${at(book, '9080"', 'excludeInboundPorts')}`,
      `inbound-port-bypass@${at(book, '9080"', 'excludeInboundPorts')}`,
      `annotation-not-string@${at(book, '3306')}`,
      `exclusion-bypass@${at(book, '3306')}`,
    ]);
  });

  it('reads StatefulSet, DaemonSet, CronJob, List, Pod and Job, and applies both kinds of suppression', () => {
    const f = join(fixtures, 'helm-rendered.yaml');
    const r = lint([fx('helm-rendered.yaml')]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('5 workloads, 2 suppressed');
    expect(findings([fx('helm-rendered.yaml')]).found).toEqual([
      `annotation-on-wrong-object@${at(f, 'traffic.sidecar.istio.io/excludeOutboundPorts')}`,
      // hostNetwork: the finding is at the workload's kind.
      `workload-not-injected@${at(f, 'DaemonSet')}`,
      `annotations-without-injection@${at(f, 'traffic.sidecar.istio.io/excludeInboundPorts')}`,
      `malformed-annotation@${at(f, '"REDIRCT"')}`,
      `malformed-annotation@${at(f, '"10.0.0.0/8,300.1.0.0/16"')}`,
    ]);
    expect(r.stderr).toContain("did you mean 'REDIRECT'");
  });

  it('is clean on httpbin and sleep (notes do not fail the run by default; --fail-on info does)', () => {
    const r = lint([fx('httpbin-sleep.yaml')]);
    expect(r.code, r.stderr).toBe(0);
    expect(lint([fx('httpbin-sleep.yaml'), '--fail-on', 'info']).code).toBe(1);
    expect(lint([fx('httpbin-sleep.yaml'), '--fail-on', 'error']).code).toBe(0);
  });

  it('reads stdin as <stdin>, with its own line numbers', () => {
    const text = readFileSync(join(fixtures, 'bookinfo.yaml'), 'utf8');
    const r = findings(['-'], text);
    expect(r.files.every((f) => f === '<stdin>')).toBe(true);
    expect(r.found).toContain(`unknown-annotation@${at(join(fixtures, 'bookinfo.yaml'), 'traffic.sidecar.istio.io/excludeOutboundIpRanges')}`);
    expect(findings(['-', '--stdin-name', 'chart/rendered.yaml'], text).files[0]).toBe('chart/rendered.yaml');
    // A policy on stdin, in either syntax.
    expect(findings(['-'], 'policy a {\n  outbound { capture cidrs * }\n  families ipv4\n}\n').found).toEqual(['ipv6-bypass@3:3']);
    expect(findings(['-'], 'policy: a\noutbound:\n  capture-cidrs: "*"\nfamilies: ipv4\n').found).toEqual(['ipv6-bypass@4:1']);
  });

  it('reads mesh defaults from Helm values (global.proxy.*, meshConfig.defaultConfig) and points at them', () => {
    const values = scratch.write('values.yaml', 'global:\n  proxy:\n    excludeIPRanges: "10.0.0.0/8"\nmeshConfig:\n  defaultConfig:\n    proxyMetadata:\n      ISTIO_META_DNS_CAPTURE: "true"\n');
    const m = scratch.write('m.yaml', 'apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\nspec:\n  containers:\n  - name: c\n    image: c\n');
    const r = lint([m, '--mesh-values', values, '--cluster-cidrs', '10.96.0.0/12', '--format', 'json']);
    const j = JSON.parse(r.stdout) as { diagnostics: { code: string; file: string; range: { start: { line: number } } }[] };
    const hit = j.diagnostics.find((d) => d.code === 'cluster-cidr-excluded');
    expect(hit?.file).toBe(values);
    expect(hit?.range.start.line).toBe(3);
    // Without the values the pod is clean.
    expect(lint([m, '--cluster-cidrs', '10.96.0.0/12']).code).toBe(0);
  });

  it('reads an IstioOperator (spec.values, spec.meshConfig): dual stack from proxyMetadata, a default port exclusion', () => {
    const iop = scratch.write('iop.yaml', 'apiVersion: install.istio.io/v1alpha1\nkind: IstioOperator\nspec:\n  meshConfig:\n    defaultConfig:\n      proxyMetadata:\n        ISTIO_DUAL_STACK: "true"\n  values:\n    global:\n      proxy:\n        excludeOutboundPorts: "8125"\n');
    const m = scratch.write('pods.yaml', 'apiVersion: v1\nkind: Pod\nmetadata:\n  name: a\n  labels:\n    sidecar.istio.io/inject: "false"\n  annotations:\n    traffic.sidecar.istio.io/excludeOutboundPorts: "9"\nspec:\n  containers:\n  - name: c\n    image: c\n---\napiVersion: v1\nkind: Pod\nmetadata:\n  name: b\nspec:\n  containers:\n  - name: c\n    image: c\n');
    const r = cli('import', 'istio-pod', '--mesh-values', iop, m);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/# Pod\/a .*: no capture rules: the pod's label sidecar.istio.io\/inject is "false"/);
    expect(r.stdout).toMatch(/-o 8125\n/);
    expect(r.stdout).toContain('families ipv4, ipv6');
    const f = findings([m, '--mesh-values', iop, '--cluster-cidrs', 'fd00::/48']);
    expect(f.found).toEqual(['exclusion-bypass@11:31', 'workload-not-injected@6:30', 'annotations-without-injection@8:5']);
    expect(f.files).toEqual([iop, m, m]);
  });

  it("an injected pod: istio-init's own arguments and environment decide, and findings point into them", () => {
    const f = join(fixtures, 'injected-pod.yaml');
    expect(findings([fx('injected-pod.yaml'), '--cluster-cidrs', '10.96.0.0/12']).found).toEqual([
      `cluster-cidr-excluded@${at(f, '10.96.0.0/12')}`,
      `exclusion-bypass@${at(f, '10.96.0.0/12')}`,
      `exclusion-bypass@${at(f, '169.254.169.254/32')}`,
    ]);
    const r = cli('import', 'istio-pod', fx('injected-pod.yaml'));
    expect(r.stdout).toContain("istio-iptables -p 15001 -z 15006 -u 1337 -m REDIRECT -i '*' -x '10.96.0.0/12,169.254.169.254/32'");
    expect(r.stdout).toContain('capture servers 10.96.0.10');
    // The same pod with its proxy running as another uid and gid: the proxy's traffic loops.
    const moved = scratch.write('injected-other-uid.yaml', readFileSync(f, 'utf8').replace('runAsUser: 1337\n      runAsGroup: 1337', 'runAsUser: 1000650000\n      runAsGroup: 1000650000'));
    expect(findings([moved]).found).toContain(`proxy-traffic-recaptured@${at(moved, '1000650000')}`);
  });

  it('a YAML syntax error in a manifest is bad input (exit 2), located', () => {
    const m = scratch.write('broken.yaml', 'apiVersion: v1\nkind: Pod\nmetadata: [\n');
    const r = lint([m]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/broken\.yaml:\d+:\d+: error\[yaml-syntax\]/);
    expect(r.stderr).not.toMatch(STACK_LINE);
  });
});

describe('lint: policies, suppressions', () => {
  it('lints a policy with check\'s warnings and the engine\'s, and a policy with errors is exit 2', () => {
    const p = scratch.write('a.intercept', 'policy a {\n  outbound { capture cidrs *; exclude cidrs 127.0.0.1, 10.0.0.0/8, 10.1.0.0/16 }\n  families ipv4\n}\n');
    expect(findings([p]).found).toEqual([`redundant-exclusion@2:45`, 'exclusion-bypass@2:56', 'duplicate-value@2:68', 'ipv6-bypass@3:3']);
    const bad = scratch.write('bad.intercept', 'policy a {\n  proxy { uid 99999999999 }\n}\n');
    const r = lint([bad]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/bad\.intercept:2:\d+: error\[/);
  });

  it('suppresses on the line or the line above; reasonless, unused and unknown suppressions are findings', () => {
    const p = scratch.write(
      's.intercept',
      [
        'policy s {',
        '  outbound {',
        '    capture cidrs *',
        '    # meshcap-ignore duplicate-value',
        '    exclude cidrs 10.0.0.0/8, 10.1.0.0/16',
        '    exclude ports 3306 # meshcap-ignore exclusion-bypass, duplicate-value: the database is outside the mesh',
        '  }',
        '  # meshcap-ignore ipv6-bypas: typo',
        '  families ipv4',
        '}',
        '',
      ].join('\n'),
    );
    const r = findings([p]);
    expect(r.found).toEqual(['suppression-without-reason@4:5', 'exclusion-bypass@5:19', 'unused-suppression@6:24', 'suppression-unknown-rule@8:3', 'ipv6-bypass@9:3']);
    const text = lint([p]).stderr;
    expect(text).toContain("did you mean 'ipv6-bypass'?");
  });
});

describe('lint: configuration', () => {
  const bin = join(root, 'dist', 'src', 'cli', 'main.js');
  const spawn = (cwd: string, args: string[]) => spawnSync(process.execPath, [bin, 'lint', ...args], { cwd, encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' } });

  it('finds .meshcap.yaml upward; rule levels, ignore globs, cluster CIDRs and failOn apply; flags win', () => {
    expect(existsSync(bin), 'npm run build first').toBe(true);
    const repo = join(scratch.dir, 'repo');
    mkdirSync(join(repo, 'k8s', 'generated'), { recursive: true });
    mkdirSync(join(repo, 'sub'), { recursive: true });
    const m = readFileSync(join(fixtures, 'bookinfo.yaml'), 'utf8');
    scratch.write('repo/k8s/app.yaml', m);
    scratch.write('repo/k8s/generated/copy.yaml', m);
    scratch.write('repo/k8s/ci.yaml', 'name: ci\non: push\n');
    scratch.write('repo/.meshcap.yaml', 'rules:\n  unknown-annotation: off\n  annotation-not-string: warning\nignore:\n  - k8s/generated/**\nclusterCidrs: [10.96.0.0/12]\n');
    const r = spawn(join(repo, 'sub'), ['--format', 'json', '..']);
    const j = JSON.parse(r.stdout) as { diagnostics: { code: string; severity: string; file: string }[] };
    expect(j.diagnostics.map((d) => d.code)).not.toContain('unknown-annotation');
    expect(j.diagnostics.find((d) => d.code === 'annotation-not-string')?.severity).toBe('warning');
    expect(new Set(j.diagnostics.map((d) => d.file))).toEqual(new Set([join('..', 'k8s', 'app.yaml')]));
    expect(r.status).toBe(1);
    // A flag overrides the configuration.
    const r2 = spawn(join(repo, 'sub'), ['--format', 'json', '--rule', 'unknown-annotation=error', '..']);
    expect((JSON.parse(r2.stdout) as { diagnostics: { code: string; severity: string }[] }).diagnostics.find((d) => d.code === 'unknown-annotation')?.severity).toBe('error');
    // failOn in the file, --fail-on on the command line.
    scratch.write('repo/.meshcap.yaml', 'failOn: error\nrules:\n  unknown-annotation: off\n  inbound-port-bypass: off\n');
    expect(spawn(repo, ['k8s/app.yaml']).status).toBe(1);
    scratch.write('repo/.meshcap.yaml', 'failOn: error\nrules:\n  unknown-annotation: off\n  inbound-port-bypass: off\n  annotation-not-string: warning\n');
    expect(spawn(repo, ['k8s/app.yaml']).status).toBe(0);
    expect(spawn(repo, ['k8s/app.yaml', '--fail-on', 'warning']).status).toBe(1);
    expect(spawn(repo, ['--no-config', 'k8s/app.yaml', '--fail-on', 'error']).status).toBe(1);
  }, 60_000); // six whole processes, on a machine that may be busy

  it('a configuration that does not match the schema is exit 2, located, with a did-you-mean', () => {
    const c = scratch.write('bad-config.yaml', 'rules:\n  unknown-anotation: off\n  ipv6-bypass: loud\nfailon: error\n');
    const p = scratch.write('ok.intercept', 'policy ok {\n  outbound { capture cidrs * }\n  families ipv4, ipv6\n}\n');
    const r = cli('lint', '--config', c, p);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/bad-config\.yaml:2:3: error\[lint-config-invalid\]: .*'unknown-anotation' is not a lint rule/);
    expect(r.stderr).toContain("did you mean 'unknown-annotation'?");
    expect(r.stderr).toMatch(/bad-config\.yaml:3:16: error\[lint-config-invalid\]: .*rules\.ipv6-bypass must be one of off, info, warning, error/);
    expect(r.stderr).toMatch(/bad-config\.yaml:4:1: error\[lint-config-invalid\]: .*has no setting 'failon'/);
    expect(r.stderr).toContain("did you mean 'failOn'?");
  });

  it('ships its JSON Schema (meshcap schema lint-config), which names every rule', () => {
    const r = cli('schema', 'lint-config');
    expect(r.code).toBe(0);
    const s = JSON.parse(r.stdout) as { properties: { rules: { propertyNames: { enum: string[] } } } };
    expect(s.properties.rules.propertyNames.enum).toEqual(Object.keys(RULES));
  });

  it('ignore globs: * stays in a segment, ** crosses them, a bare name matches at any depth', () => {
    expect(globRegExp('k8s/*.yaml').test('k8s/a.yaml')).toBe(true);
    expect(globRegExp('k8s/*.yaml').test('k8s/x/a.yaml')).toBe(false);
    expect(globRegExp('k8s/**/*.yaml').test('k8s/x/y/a.yaml')).toBe(true);
    expect(globRegExp('charts').test('deploy/charts/a.yaml')).toBe(true);
    expect(globRegExp('a?.yaml').test('ab.yaml')).toBe(true);
  });
});

describe('lint: formats and exit codes', () => {
  const args = [fx('bookinfo.yaml')];

  it('SARIF 2.1.0: relative URIs (--base), every rule with help and helpUri, partialFingerprints, no absolute path', () => {
    const r = lint([...args, '--format', 'sarif', '--base', join(root, 'test')]);
    expect(r.code).toBe(1);
    expect(r.stdout).not.toContain(root);
    const log = JSON.parse(r.stdout) as { version: string; runs: { tool: { driver: { rules: { id: string; helpUri: string; help: { text: string } }[] } }; results: { ruleId: string; partialFingerprints: Record<string, string>; locations: { physicalLocation: { artifactLocation: { uri: string } } }[] }[] }[] };
    expect(log.version).toBe('2.1.0');
    const run0 = log.runs[0];
    expect(run0.tool.driver.rules.map((x) => x.id)).toEqual(Object.keys(RULES));
    for (const rule of run0.tool.driver.rules) {
      expect(rule.helpUri).toMatch(new RegExp(`^https://.*lint\\.md#${rule.id}$`));
      expect(rule.help.text).toContain('Fails:');
    }
    expect(run0.results.length).toBeGreaterThan(0);
    for (const res of run0.results) expect(res.locations[0].physicalLocation.artifactLocation.uri).toBe('fixtures/lint/bookinfo.yaml');
    const fps = run0.results.map((x) => Object.values(x.partialFingerprints)[0]);
    expect(new Set(fps).size).toBe(fps.length);
    // A line added at the top moves every finding and changes no fingerprint.
    const text = readFileSync(join(fixtures, 'bookinfo.yaml'), 'utf8');
    const moved = JSON.parse(lint(['-', '--stdin-name', 'test/fixtures/lint/bookinfo.yaml', '--format', 'sarif', '--base', join(root, 'test')], `# a new first line\n${text}`).stdout) as typeof log;
    expect(moved.runs[0].results.map((x) => Object.values(x.partialFingerprints)[0])).toEqual(fps);
  });

  it('text: at most --max-diagnostics findings per file, the rest counted', () => {
    const r = lint([...args, '--max-diagnostics', '2']);
    expect(r.stderr.match(/^test\/fixtures\/lint\/bookinfo\.yaml:\d+:\d+: /gm)?.length).toBe(2);
    expect(r.stderr).toMatch(/\.\.\. and \d+ more in test\/fixtures\/lint\/bookinfo\.yaml/);
  });

  it('a run over a second shows a progress line on stderr when it is a terminal, and clears it', () => {
    let t = 0;
    const spy = vi.spyOn(Date, 'now').mockImplementation(() => (t += 700));
    try {
      const io: Io & { stderr: string } = { stderr: '', color: false, tty: true, out: () => undefined, err: (x) => void (io.stderr += x) };
      run(['lint', '--no-config', fx('httpbin-sleep.yaml'), fx('bookinfo.yaml'), fx('helm-rendered.yaml')], io);
      expect(io.stderr).toMatch(/^\rmeshcap lint: [0-2]\/3 files, \d+ workloads/);
      expect(io.stderr).toContain('\r\x1b[K');
      const quiet: Io & { stderr: string } = { ...io, stderr: '', tty: false, err: (x) => void (quiet.stderr += x) };
      run(['lint', '--no-config', fx('httpbin-sleep.yaml'), fx('bookinfo.yaml')], quiet);
      expect(quiet.stderr).not.toContain('\r');
    } finally {
      spy.mockRestore();
    }
  });

  it('one big bundle on stdin shows the workloads judged so far, in the progress line', () => {
    clearLintCache();
    let t = 0;
    const spy = vi.spyOn(Date, 'now').mockImplementation(() => (t += 700));
    try {
      const io: Io & { stderr: string } = { stderr: '', color: false, tty: true, out: () => undefined, err: (x) => void (io.stderr += x), stdin: () => Buffer.from(generateBundle(12)) };
      run(['lint', '--no-config', '-'], io);
      expect(io.stderr).toMatch(/\rmeshcap lint: 0\/1 files, [1-9]\d* workloads/);
      expect(io.stderr).toContain('\r\x1b[K');
    } finally {
      spy.mockRestore();
    }
  });

  it('github annotations and JUnit XML', () => {
    const g = lint([...args, '--format', 'github']);
    expect(g.stdout).toMatch(/^::warning file=test\/fixtures\/lint\/bookinfo\.yaml,line=\d+,col=\d+,endLine=\d+,endColumn=\d+,title=unknown-annotation::/m);
    const j = lint([...args, fx('httpbin-sleep.yaml'), '--format', 'junit']);
    expect(j.code).toBe(1);
    expect(j.stdout).toMatch(/^<\?xml version="1.0" encoding="UTF-8"\?>\n<testsuites name="meshcap lint" tests="\d+" failures="3">/);
    expect(j.stdout).toContain('<testsuite name="test/fixtures/lint/httpbin-sleep.yaml" tests="2" failures="0">');
    expect(j.stdout).toMatch(/<failure type="error" message="the value of &apos;|<failure type="error" message="the value of '/);
  });

  it('exit 3 for usage errors, 2 for unreadable input, 0 for clean input', () => {
    expect(lint(['--format', 'xml', ...args]).code).toBe(3);
    expect(lint(['--fail-on', 'loud', ...args]).code).toBe(3);
    expect(lint(['--rule', 'nope=off', ...args]).code).toBe(3);
    expect(lint(['--rule', 'ipv6-bypas=off', ...args]).stderr).toContain("did you mean 'ipv6-bypass'?");
    const io = { stdout: '', stderr: '', color: false, out: (x: string) => void (io.stdout += x), err: (x: string) => void (io.stderr += x), stdin: () => Buffer.from([0x6b, 0x69, 0x6e, 0x64, 0x3a, 0x20, 0xff, 0x0a]) };
    expect(run(['lint', '--no-config', '-'], io)).toBe(2);
    expect(io.stderr).toContain('error[not-utf8]: <stdin> is not UTF-8 text: byte 0xff at line 1, column 7');
    expect(lint(['--cluster-cidrs', '10.0.0.1/8', ...args]).code).toBe(3);
    const missing = lint(['no/such/file.yaml']);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('error[file-unreadable]');
    expect(lint([fx('httpbin-sleep.yaml')]).code).toBe(0);
  });

  it('explain renders a lint rule: level, rationale, failing and passing example', () => {
    const r = cli('explain', 'cluster-cidr-excluded');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('cluster-cidr-excluded (warning, lint rule');
    expect(r.stdout).toContain(RULES['cluster-cidr-excluded'].bad.trim().split('\n')[1]);
    expect(r.stdout).toContain('docs/lint.md#cluster-cidr-excluded');
    expect(cli('explain', '--list').stdout).toMatch(/^exclusion-bypass +info /m);
  });
});

describe('import istio-pod', () => {
  it("prints each workload's policy, as Istio's injector would set up its capture", () => {
    const r = cli('import', 'istio-pod', fx('httpbin-sleep.yaml'));
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^# Deployment\/httpbin \(test\/fixtures\/lint\/httpbin-sleep\.yaml:\d+\)/m);
    expect(r.stdout).toContain('policy deployment-sleep {');
    expect(r.stdout).toMatch(/exclude cidrs 169\.254\.169\.254\/32/);
    expect(r.stdout).toMatch(/exclude ports 5432/);
    // The printed policies are clean policies of their own.
    const parts = r.stdout.split(/^(?=# Deployment\/)/m).filter((s) => s.includes('policy '));
    expect(parts.length).toBe(2);
    for (const [i, part] of parts.entries()) {
      const p = scratch.write(`pod${i}.intercept`, part);
      expect(cli('check', p).code).toBeLessThan(2);
    }
  });

  it('exits 1 when a finding is an error (a manifest Kubernetes rejects), still printing the policies', () => {
    const r = cli('import', 'istio-pod', fx('bookinfo.yaml'));
    expect(r.stderr).toMatch(/error\[annotation-not-string\]/);
    expect(r.code, r.stderr).toBe(1);
    expect(r.stdout).toMatch(/^policy /m);
    expect(cli('import', 'istio-pod', fx('injected-pod.yaml')).code).toBe(0);
  });

  it('says so for a workload the mesh does not capture, and exits 2 for unreadable input', () => {
    const r = cli('import', 'istio-pod', fx('helm-rendered.yaml'));
    expect(r.stdout).toMatch(/# DaemonSet\/node-agent .*: no capture rules: the pod uses hostNetwork/);
    expect(cli('import', 'istio-pod', 'no/such.yaml').code).toBe(2);
  });
});
