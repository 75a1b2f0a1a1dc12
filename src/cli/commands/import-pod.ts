// `meshcap import istio-pod FILE`: the policy of each workload of a manifest, as Istio's
// sidecar injector would set up its capture (annotations + mesh defaults -> istio-iptables
// flags -> policy), with the manifest reader's findings on stderr.
import { renderText, type Reportable } from '../../diagnostics/render.js';
import { readText } from '../../language/load.js';
import { RULES } from '../../lint/rules.js';
import { noDefaults, readMeshValues, workloadsOf } from '../../manifest/index.js';
import { SourceFile } from '../../source.js';
import { expectArgs, parse } from '../args.js';
import { EXIT, type Io } from '../io.js';
import { report } from '../report.js';
import { formatText } from './fmt.js';

export const IMPORT_POD_USAGE = `meshcap import istio-pod [--mesh-values FILE] [--dns-server ADDR] FILE

Prints the policy of each workload (Pod, Deployment, StatefulSet, DaemonSet, ReplicaSet,
Job, CronJob; multi-document files and List) of a Kubernetes manifest: the istio-iptables
command line Istio's sidecar injector would give its istio-init container, from the pod
template's annotations and the mesh defaults (--mesh-values: Istio's Helm values or an
IstioOperator, linkerd-control-plane chart values, or a kuma-cp config's
runtime.kubernetes.injector), translated like 'import istio-iptables' (Linkerd's and Kuma's
workloads: like their imports). FILE may be - for stdin.
DNS capture names the pods' DNS servers (--dns-server, repeatable; default 10.96.0.10).`;

export function importPod(argv: string[], io: Io): number {
  const { values, positionals } = parse(argv, { 'mesh-values': { type: 'string' }, 'dns-server': { type: 'string', multiple: true } });
  if (values.help) return (io.out(IMPORT_POD_USAGE + '\n'), EXIT.ok);
  expectArgs(positionals, 1, 'import istio-pod takes one manifest FILE (or - for stdin)');
  const file = positionals[0];
  let defaults = noDefaults();
  const sources = new Map<string, SourceFile>();
  if (values['mesh-values']) {
    const read = readText(values['mesh-values']);
    if ('diagnostic' in read) return (report(io, 'text', [read.diagnostic], sources), EXIT.badInput);
    const src = new SourceFile(values['mesh-values'], read.text);
    sources.set(src.path, src);
    const mv = readMeshValues(src);
    if (mv.diagnostics.length) return (report(io, 'text', mv.diagnostics, sources), EXIT.badInput);
    defaults = mv.defaults;
  }
  let text: string;
  const name = file === '-' ? '<stdin>' : file;
  if (file === '-') text = (io.stdin?.() ?? Buffer.alloc(0)).toString('utf8');
  else {
    const read = readText(file);
    if ('diagnostic' in read) return (report(io, 'text', [read.diagnostic], sources), EXIT.badInput);
    text = read.text;
  }
  const src = new SourceFile(name, text);
  sources.set(name, src);
  const m = workloadsOf(src, { ...defaults, dnsServers: values['dns-server'] ?? ['10.96.0.10'] });
  if (m.diagnostics.length) return (report(io, 'text', m.diagnostics, sources), EXIT.badInput);
  const issues: Reportable[] = [];
  for (const b of m.workloads) {
    const w = b.workload;
    const head = `# ${w.kind}/${w.name} (${name}:${w.span.start.line})`;
    issues.push(...b.issues.map((i) => ({ code: i.rule, severity: RULES[i.rule].level, message: i.message, ...(i.hint ? { hint: i.hint } : {}), span: i.span })));
    if (!b.policyText) {
      io.out(`${head}: no capture rules: ${b.skipped ?? 'not injected'}\n\n`);
      continue;
    }
    io.out(`${head}: ${b.tool ?? 'istio-iptables'} ${b.argv!.map((a) => (a === '' || /[\s*,]/.test(a) ? `'${a}'` : a)).join(' ')}\n`);
    const formatted = formatText(`${name}#${w.kind}/${w.name}`, b.policyText.replace(/^# Imported from .*\n/, ''), 'intercept', 'intercept');
    io.out((formatted.text ?? b.policyText) + '\n');
  }
  if (!m.workloads.length) io.err(`meshcap: ${name} holds no workload (Pod, Deployment, StatefulSet, DaemonSet, ReplicaSet, Job, CronJob)\n`);
  if (issues.length) io.err(renderText(issues, { sources, color: io.color }) + "('meshcap lint' reports these with their levels)\n");
  // An error-level finding (a manifest Kubernetes would reject) is a finding, as for check:
  // the policies are still printed, and the exit code says they came with an error.
  return issues.some((i) => i.severity === 'error') ? EXIT.findings : EXIT.ok;
}
