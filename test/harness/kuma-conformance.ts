// Conformance with Kuma's transparent proxy, over ../shared/corpus/kuma: every golden (the
// real-kernel iptables-save listings of test/transparentproxy and the kumactl dry-run
// goldens) is read by meshcap's iptables importer, its kumactl arguments are imported with
// `meshcap import kuma`, and the two are compared over every packet of the golden's family.
// A golden whose arguments use an input the language cannot say yet is reported as not
// importable, naming the inputs (import-unsupported); one without Kuma rules (the save
// binary missing in the image, or the install gone to the other iptables backend) as n/a.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { importIptables } from '../../backends/iptables/import.js';
import { kumaConfigFromFlags, policyFromKuma } from '../../src/import/kuma.js';
import type { Family, RuleSet } from '../../src/ir/types.js';
import { loadText } from '../../src/language/load.js';
import { lower } from '../../src/lower/lower.js';
import { SourceFile } from '../../src/source.js';
import { equivalent, type DiffRange } from '../../src/verify/engine.js';
import { rulesSide } from '../../src/verify/side.js';

export const KUMA_DIR = join(process.env.MESHCAP_SHARED ?? '../shared', 'corpus', 'kuma');

interface ManifestEntry {
  name: string;
  config: { kumactl_args?: string[]; kumactl_args_variants?: string[][]; kuma_dp_user_uid?: number };
  note?: string;
}

export function kumaManifest(): ManifestEntry[] {
  return JSON.parse(readFileSync(join(KUMA_DIR, 'manifest.json'), 'utf8')) as ManifestEntry[];
}

/** The users of the hosts the goldens were taken on (manifest: kuma_dp_user_uid; root). */
const usersOf = (m: ManifestEntry): Record<string, number> => ({ root: 0, 'kuma-dp': m.config.kuma_dp_user_uid ?? 5678 });

/** The kumactl flags of an argument list (`install transparent-proxy` dropped). */
const flagsOf = (args: string[]) => args.slice(args[0] === 'install' && args[1] === 'transparent-proxy' ? 2 : 0);

export function importKuma(args: string[], users: Record<string, number>, name = 'kuma'): { rs?: RuleSet; text: string; errors: string[] } {
  const input = kumaConfigFromFlags(flagsOf(args));
  const p = policyFromKuma(input, { name, users });
  const errors = [...input.diagnostics, ...p.diagnostics].filter((d) => d.severity === 'error').map((d) => d.message);
  if (errors.length) return { text: p.text, errors };
  const l = loadText(`${name}.intercept`, p.text, 'intercept');
  const bad = l.diagnostics.filter((d) => d.severity === 'error').map((d) => d.message);
  return l.policy && !bad.length ? { rs: lower(l.policy), text: p.text, errors: [] } : { text: p.text, errors: bad };
}

/**
 * A golden as iptables-restore text. The test framework's cleaning replaced the loopback
 * interface's name with `ifPlaceholder` (utils.CleanIptablesSaveOutput); the dry-run form
 * has `* nat` and `-N CHAIN` lines and no built-in chain headers.
 */
export function goldenText(name: string): { text: string; family: Family } | { unreadable: string } {
  let raw = readFileSync(join(KUMA_DIR, name), 'utf8');
  const family: Family = name.includes('ip6tables') ? 'ipv6' : 'ipv4';
  // The addresses and the inbound port a test replaced cannot be told from the golden; the
  // DNS jump target can: addOutputRules (builder_table_nat.go) jumps to DOCKER_OUTPUT only
  // when the host has that chain, which a dry run's golden does not show, else RETURN.
  const placeholder = /subnetPlaceholder|inboundPort\b/.exec(raw);
  if (placeholder) return { unreadable: `the dry-run golden keeps the test's placeholder '${placeholder[0]}'` };
  if (!name.startsWith('kumactl-dryrun')) return { text: raw.replace(/ifPlaceholder/g, 'lo'), family };
  raw = raw.replace(/dnsJumpTargetPlaceholder/g, 'RETURN');
  const out: string[] = [];
  let table: string[] | null = null;
  const BUILTIN: Record<string, string[]> = { nat: ['PREROUTING', 'INPUT', 'OUTPUT', 'POSTROUTING'], raw: ['PREROUTING', 'OUTPUT'], mangle: ['PREROUTING', 'INPUT', 'FORWARD', 'OUTPUT', 'POSTROUTING'] };
  for (const line of raw.replace(/ifPlaceholder/g, 'lo').split('\n')) {
    const t = /^\* ?(\w+)$/.exec(line);
    if (t) {
      out.push(`*${t[1]}`, ...BUILTIN[t[1]].map((c) => `:${c} ACCEPT [0:0]`));
      table = [];
    } else if (line.startsWith('-N ')) out.push(`:${line.slice(3).trim()} - [0:0]`);
    else if (line.startsWith('-A ') || line.startsWith('-I ') || line === 'COMMIT') out.push(line);
  }
  void table;
  return { text: out.join('\n') + '\n', family };
}

export interface KumaResult {
  name: string;
  family: Family | '';
  classes: number;
  differing: number;
  undocumented: DiffRange[];
  /** Why the golden is not compared ('' when it is). */
  status: string;
}

export function runKumaCase(m: ManifestEntry): KumaResult[] {
  const res = (over: Partial<KumaResult>): KumaResult => ({ name: m.name, family: '', classes: 0, differing: 0, undocumented: [], status: '', ...over });
  const variants = m.config.kumactl_args_variants ?? [m.config.kumactl_args ?? []];
  return variants.map((args, i) => {
    const name = variants.length > 1 ? `${m.name} (variant ${i + 1})` : m.name;
    const family: Family | '' = m.note && /executable not found|no Kuma rules/.test(m.note) ? '' : m.name.includes('ip6tables') ? 'ipv6' : 'ipv4';
    const mine = importKuma(args, usersOf(m));
    if (!mine.rs) {
      const flags = [...new Set(mine.errors.map((e) => /(--[a-z-]+) cannot be imported yet/.exec(e)?.[1]).filter(Boolean))];
      return res({ name, family, status: flags.length ? `not importable yet: ${flags.join(', ')}` : `import fails: ${mine.errors.join('; ')}` });
    }
    if (m.note && /executable not found|no Kuma rules/.test(m.note)) return res({ name, status: `n/a: ${/executable not found/.test(m.note) ? 'the save binary is not in the image' : 'the install went to the other iptables backend'}` });
    const g = goldenText(m.name);
    if ('unreadable' in g) return res({ name, status: `n/a: ${g.unreadable}` });
    const imported = importIptables(new SourceFile(m.name, g.text), g.family, m.name);
    if (!imported.ruleset) return res({ name, family: g.family, status: `golden does not import: ${imported.diagnostics.map((d) => d.message).join('; ')}` });
    const r = equivalent(rulesSide('meshcap', mine.rs), rulesSide('kuma', imported.ruleset), { families: [g.family], maxDifferences: 10000 });
    if (r.result === 'undecided') return res({ name, family: g.family, status: `undecided: ${r.reason}` });
    return res({ name, family: g.family, classes: r.classes, differing: r.differences.length, undocumented: r.differences });
  });
}

export function runKumaAll(): KumaResult[] {
  return kumaManifest().flatMap(runKumaCase);
}

export const KUMA_BEGIN = '<!-- kuma-table:begin (generated by test/harness/kuma-conformance.ts) -->';
export const KUMA_END = '<!-- kuma-table:end -->';

export function kumaTable(results: KumaResult[]): string {
  const rows = results.map((r) => `| ${r.name} | ${r.family || '—'} | ${r.status ? '—' : r.classes} | ${r.status ? '—' : r.differing} | ${r.status || (r.differing === 0 ? 'proven equal' : `${r.undocumented.length} undocumented`)} |`);
  const compared = results.filter((r) => !r.status);
  return [
    KUMA_BEGIN,
    '| golden | family | packet classes explored | differing classes | result |',
    '|---|---|---:|---:|---|',
    ...rows,
    `| **${results.length} rows** (${compared.filter((r) => r.differing === 0).length} proven equal, ${results.filter((r) => r.status.startsWith('not importable')).length} not importable yet, ${results.filter((r) => r.status.startsWith('n/a')).length} n/a) | | | | |`,
    KUMA_END,
  ].join('\n');
}

if (process.argv[1] && (await import('node:url')).fileURLToPath(import.meta.url) === process.argv[1]) {
  const { writeFileSync } = await import('node:fs');
  const t = kumaTable(runKumaAll());
  if (process.argv.includes('--write')) {
    const path = 'docs/conformance.md';
    const doc = readFileSync(path, 'utf8');
    const a = doc.indexOf(KUMA_BEGIN);
    const b = doc.indexOf(KUMA_END);
    if (a < 0 || b < 0) throw new Error('docs/conformance.md has no kuma-table markers');
    writeFileSync(path, doc.slice(0, a) + t + doc.slice(b + KUMA_END.length));
    console.log(`updated ${path}`);
  } else console.log(t);
}
