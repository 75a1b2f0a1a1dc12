// Lint throughput: a Helm-rendered bundle of N workloads (default 1,000) linted as one
// multi-document manifest, the way `helm template . | meshcap lint -` does. The bundle is
// generated deterministically: each workload a Deployment, StatefulSet, DaemonSet, Job or
// CronJob with a Service beside it, and a mix of the annotations users set (excluded
// CIDRs and ports, include lists, a misspelt key, a non-string value, proxy config), so
// the engine's rules run on most workloads. Warm-up runs first (each run starts with the
// per-policy cache empty, so every workload is judged); the table gives the median and
// the best of the timed runs. docs/benchmarks.md has the figures; the target is 5 s for
// 1,000 workloads.
//
// What the user waits for is the whole process: `--process` also runs the built CLI
// (`meshcap lint --no-config --cluster-cidrs ... -` with the bundle on stdin), a cold
// process per run.
//
//   node dist/bench/lint.bench.js [--workloads N] [--runs N] [--warmup N] [--process] [--json]
import { spawnSync } from 'node:child_process';
import { cpus } from 'node:os';
import { fileURLToPath } from 'node:url';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { clearLintCache, defaultOptions, lintText } from '../src/lint/lint.js';
import { parseCidr, type Cidr } from '../src/net/ip.js';

export const TARGET_MS = 5000;

const KINDS = ['Deployment', 'StatefulSet', 'DaemonSet', 'Job', 'CronJob'] as const;

/** The annotations of workload i: a deterministic mix, distinct enough that few workloads share a policy. */
function annotations(i: number): string[] {
  const a: string[] = [];
  if (i % 2 === 0) a.push(`traffic.sidecar.istio.io/excludeOutboundIPRanges: "169.254.169.254/32,10.${i % 200}.${(i >> 3) % 250}.0/24"`);
  if (i % 3 === 0) a.push(`traffic.sidecar.istio.io/excludeOutboundPorts: "${3000 + (i % 997)},${5432 + (i % 5)}"`);
  if (i % 5 === 0) a.push(`traffic.sidecar.istio.io/excludeInboundPorts: "${i % 10 === 0 ? 8080 + (i % 20) : 9000 + (i % 100)}"`);
  if (i % 7 === 0) a.push(`traffic.sidecar.istio.io/includeOutboundIPRanges: "10.0.0.0/8,172.16.${i % 250}.0/24"`);
  if (i % 11 === 0) a.push(`traffic.sidecar.istio.io/excludeOutboundIpRanges: "192.168.0.0/16"`);
  if (i % 13 === 0) a.push('traffic.sidecar.istio.io/excludeOutboundPorts: 8125');
  if (i % 17 === 0) a.push('proxy.istio.io/config: |\n          holdApplicationUntilProxyStarts: true\n          proxyMetadata:\n            ISTIO_META_DNS_CAPTURE: "true"');
  if (i % 19 === 0) a.push('# meshcap-ignore exclusion-bypass: outside the mesh\n        traffic.sidecar.istio.io/excludeInterfaces: "net1"');
  return a;
}

function template(i: number, indent: string): string {
  const ann = annotations(i);
  const lines = [
    `${indent}metadata:`,
    `${indent}  labels:`,
    `${indent}    app: svc-${i}`,
    ...(ann.length ? [`${indent}  annotations:`, ...ann.map((x) => `${indent}    ${x.replace(/\n {8}/g, `\n${indent}    `)}`)] : []),
    `${indent}spec:`,
    `${indent}  containers:`,
    `${indent}  - name: app`,
    `${indent}    image: registry.example/svc-${i}:1.${i % 10}`,
    `${indent}    ports:`,
    `${indent}    - containerPort: ${8080 + (i % 20)}`,
  ];
  return lines.join('\n');
}

export function generateBundle(n: number): string {
  const docs: string[] = [];
  for (let i = 0; i < n; i++) {
    const kind = KINDS[i % KINDS.length];
    docs.push(`# Source: bench/templates/svc-${i}.yaml\napiVersion: v1\nkind: Service\nmetadata:\n  name: svc-${i}\nspec:\n  selector:\n    app: svc-${i}\n  ports:\n  - port: 80\n    targetPort: ${8080 + (i % 20)}`);
    const api = kind === 'Job' || kind === 'CronJob' ? 'batch/v1' : 'apps/v1';
    const head = `# Source: bench/templates/svc-${i}.yaml\napiVersion: ${api}\nkind: ${kind}\nmetadata:\n  name: svc-${i}\nspec:\n`;
    docs.push(kind === 'CronJob' ? `${head}  schedule: "@hourly"\n  jobTemplate:\n    spec:\n      template:\n${template(i, '        ')}` : `${head}  template:\n${template(i, '    ')}`);
  }
  return '---\n' + docs.join('\n---\n') + '\n';
}

export interface LintBenchResult {
  workloads: number;
  bytes: number;
  findings: number;
  medianMs: number;
  bestMs: number;
}

export function runLintBench(n: number, runs: number, warmup: number): LintBenchResult {
  const text = generateBundle(n);
  const opts = defaultOptions();
  opts.clusterCidrs = ['10.96.0.0/12', '10.244.0.0/16'].map((c) => (parseCidr(c) as { cidr: Cidr }).cidr);
  opts.dnsServers = ['10.96.0.10'];
  let findings = 0;
  const once = () => {
    clearLintCache();
    const t = process.hrtime.bigint();
    const r = lintText('<stdin>', text, opts);
    const ms = Number(process.hrtime.bigint() - t) / 1e6;
    if (r.workloads !== n || r.errors.length) throw new Error(`bench bundle: ${r.workloads} workloads, ${r.errors.length} errors`);
    findings = r.findings.length;
    return ms;
  };
  for (let i = 0; i < warmup; i++) once();
  const times = Array.from({ length: runs }, once).sort((a, b) => a - b);
  return { workloads: n, bytes: Buffer.byteLength(text), findings, medianMs: times[Math.floor(times.length / 2)], bestMs: times[0] };
}

/** The whole CLI as a cold process per run, the bundle on stdin: median and best wall ms. */
export function runProcessBench(n: number, runs: number): { medianMs: number; bestMs: number } {
  const main = fileURLToPath(new URL('../src/cli/main.js', import.meta.url));
  const input = generateBundle(n);
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t = process.hrtime.bigint();
    const r = spawnSync(process.execPath, [main, 'lint', '--no-config', '--cluster-cidrs', '10.96.0.0/12,10.244.0.0/16', '-'], { input, encoding: 'utf8', maxBuffer: 1 << 28 });
    times.push(Number(process.hrtime.bigint() - t) / 1e6);
    if (r.status !== 1) throw new Error(`meshcap lint exited ${r.status}: ${r.stderr.slice(-500)}`);
  }
  times.sort((a, b) => a - b);
  return { medianMs: times[Math.floor(times.length / 2)], bestMs: times[0] };
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const { values } = parseArgs({ options: { workloads: { type: 'string' }, runs: { type: 'string' }, warmup: { type: 'string' }, process: { type: 'boolean' }, json: { type: 'boolean' } } });
  const n = Number(values.workloads ?? 1000);
  const runs = Number(values.runs ?? 5);
  const r = runLintBench(n, runs, Number(values.warmup ?? 1));
  const proc = values.process ? runProcessBench(n, runs) : undefined;
  if (values.json) console.log(JSON.stringify({ ...r, ...(proc ? { process: proc } : {}) }));
  else {
    const verdict = (ms: number) => `target ${TARGET_MS} ms: ${ms <= TARGET_MS ? 'met' : 'NOT met'}`;
    console.log(`lint: ${r.workloads} workloads (${(r.bytes / 1024).toFixed(0)} KiB, ${r.findings} findings), ${cpus()[0]?.model ?? '?'}, Node ${process.version}`);
    console.log(`  in process: median ${r.medianMs.toFixed(0)} ms, best ${r.bestMs.toFixed(0)} ms (${verdict(r.medianMs)})`);
    if (proc) console.log(`  whole process: median ${proc.medianMs.toFixed(0)} ms, best ${proc.bestMs.toFixed(0)} ms (${verdict(proc.medianMs)})`);
  }
}
