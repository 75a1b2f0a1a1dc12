// `meshcap import kuma`: kumactl's inputs in kumactl's order of precedence (defaults, then each
// --config file followed by the environment, then the flags), and the resolv.conf that
// --redirect-dns reads.
import { readFileSync } from 'node:fs';
import { diag, type Diagnostic } from '../../diagnostics/diagnostic.js';
import { kumaConfigFromDoc, kumaConfigFromFile, kumaConfigFromFlags, kumaDefaults, needsResolvConf, policyFromKuma, type KumaInput } from '../../import/kuma.js';
import { kumaEnvDoc, parseEnvFile, type EnvEntry } from '../../import/kuma-env.js';
import { SourceFile } from '../../source.js';
import { EXIT, UsageError, type Io } from '../io.js';
import { report } from '../report.js';
import { finish } from './import.js';

const TOOL = 'kumactl install transparent-proxy';

export interface KumaImportValues {
  config?: string[];
  env?: string[];
  'env-file'?: string[];
  'resolv-conf'?: string;
  user?: string[];
  ipv6?: boolean;
  'dns-server'?: string[];
}

export function importKuma(values: KumaImportValues, flags: string[], name: string, to: 'intercept' | 'yaml', io: Io): number {
  for (const [opt, set] of [['--ipv6', values.ipv6], ['--dns-server', values['dns-server']]] as const) {
    if (set !== undefined) throw new UsageError('usage-conflicting-options', { detail: `${opt} is for istio-iptables` });
  }
  const users: Record<string, number> = {};
  for (const u of values.user ?? []) {
    const m = /^([^=]+)=([0-9]{1,10})$/.exec(u);
    if (!m) throw new UsageError('usage-bad-option-value', { detail: `--user takes NAME=UID, not '${u}'` });
    users[m[1]] = Number(m[2]);
  }
  const sources = new Map<string, SourceFile>();
  const read = (path: string): SourceFile | Diagnostic => {
    try {
      const f = new SourceFile(path, readFileSync(path, 'utf8'));
      sources.set(path, f);
      return f;
    } catch (e) {
      return diag('file-unreadable', undefined, { path, reason: (e as Error).message });
    }
  };
  const ds: Diagnostic[] = [];
  // The environment: --env-file lines, then --env values (a later one of a name wins).
  const entries: EnvEntry[] = [];
  for (const path of values['env-file'] ?? []) {
    const f = read(path);
    if (!(f instanceof SourceFile)) return (report(io, 'text', [f], sources), EXIT.badInput);
    const r = parseEnvFile(f);
    entries.push(...r.entries);
    ds.push(...r.diagnostics);
  }
  for (const e of values.env ?? []) entries.push({ name: e.slice(0, e.indexOf('=')), value: e.slice(e.indexOf('=') + 1) });
  const env = kumaEnvDoc(entries);
  ds.push(...env.diagnostics);
  const configs = (values.config ?? []).filter((c) => c.trim() !== '');
  let cfg = kumaDefaults();
  let origin: KumaInput['origin'] = {};
  for (const path of configs) {
    const f = read(path);
    if (!(f instanceof SourceFile)) return (report(io, 'text', [f], sources), EXIT.badInput);
    const r = kumaConfigFromFile(f.text, path, cfg);
    ds.push(...r.diagnostics);
    cfg = r.config;
    origin = { ...origin, ...r.origin };
    // Loader.postProcess: the environment, after every file.
    const e = kumaConfigFromDoc(env.doc, (p) => env.labels.get(p) ?? p, cfg, (p) => env.spans.get(p));
    if (path === configs[configs.length - 1]) ds.push(...e.diagnostics);
    cfg = e.config;
    origin = { ...origin, ...e.origin };
  }
  // kumactl's loader applies the environment only when it loads a config file.
  if (!configs.length) {
    const used = new Set(env.labels.values());
    for (const e of entries.filter((x) => used.has(`environment variable ${x.name}`))) {
      ds.push(diag('import-dropped', e.span, { tool: TOOL, flag: `environment variable ${e.name}`, reason: 'kumactl reads its environment only when it loads a --config file (pkg/config/loader.go)' }));
    }
  }
  const input = kumaConfigFromFlags(flags, cfg);
  input.origin = { ...origin, ...input.origin };
  ds.push(...input.diagnostics);
  let resolvConf: SourceFile | undefined;
  if (needsResolvConf(input.config)) {
    const path = values['resolv-conf'] ?? input.config.dns.resolvConfigPath;
    const f = read(path);
    if (!(f instanceof SourceFile)) return (report(io, 'text', [...ds, f], new Map([...sources, [input.source.path, input.source]])), EXIT.badInput);
    resolvConf = f;
  }
  const p = policyFromKuma(input, { name, users, resolvConf });
  ds.push(...p.diagnostics);
  return finish(io, ds, p, '<kuma import>.intercept', to, input.source, () => true, TOOL, sources);
}
