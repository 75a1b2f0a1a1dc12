// Reading the Istio corpus (../shared/corpus/istio): the manifest, the sidecar-capture
// goldens split into their IPv4 and IPv6 restore documents, and the kernel-listed forms.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { importIptables } from '../../backends/iptables/import.js';
import type { Diagnostic } from '../../src/diagnostics/diagnostic.js';
import { configFromJson } from '../../src/import/istio.js';
import type { Family, RuleSet } from '../../src/ir/types.js';
import { SourceFile } from '../../src/source.js';

export interface CorpusCase {
  name: string;
  backend: string;
  kind: string;
  local_path: string;
  config: Record<string, unknown>;
  overrides: Record<string, unknown>;
}

export function corpusRoot(): string {
  const candidates = [process.env.MESHCAP_SHARED, join(process.cwd(), '..', 'shared')].filter((x): x is string => !!x);
  for (const c of candidates) if (existsSync(join(c, 'corpus', 'istio', 'manifest.json'))) return c;
  throw new Error(`cannot find the shared corpus (looked in ${candidates.join(', ')}); set MESHCAP_SHARED`);
}

export function istioCases(kind = 'sidecar-capture', backend = 'iptables'): CorpusCase[] {
  const m = JSON.parse(readFileSync(join(corpusRoot(), 'corpus', 'istio', 'manifest.json'), 'utf8')) as CorpusCase[];
  return m.filter((c) => c.kind === kind && c.backend === backend);
}

/**
 * A sidecar-capture golden is a command recording: probe lines (`iptables-save`), the IPv4
 * restore text, then the IPv6 one when IPv6 is on, then save lines. Tables of one family
 * come together; a table name seen again starts the IPv6 document.
 */
export function splitGolden(text: string, ipv6: boolean): { v4: string; v6: string } {
  const lines = text.split('\n').filter((l) => l !== 'iptables-save' && l !== 'ip6tables-save');
  const blocks: { table: string; text: string }[] = [];
  let cur: string[] | undefined;
  let table = '';
  for (const l of lines) {
    if (l.startsWith('* ') || l.startsWith('*')) {
      cur = [l.replace(/^\*\s+/, '*')];
      table = l.replace(/^\*\s*/, '');
      continue;
    }
    if (!cur) continue;
    cur.push(l);
    if (l === 'COMMIT') {
      blocks.push({ table, text: cur.join('\n') + '\n' });
      cur = undefined;
    }
  }
  const v4: string[] = [];
  const v6: string[] = [];
  const seen = new Set<string>();
  let inV6 = false;
  for (const b of blocks) {
    if (!inV6 && seen.has(b.table)) inV6 = true;
    seen.add(b.table);
    (inV6 ? v6 : v4).push(b.text);
  }
  if (!ipv6 && v6.length) throw new Error('golden has a second document but IPv6 is off');
  return { v4: v4.join(''), v6: v6.join('') };
}

export interface LoadedGolden {
  ruleset?: RuleSet;
  diagnostics: Diagnostic[];
}

export function loadGolden(c: CorpusCase): LoadedGolden {
  const path = join(corpusRoot(), 'corpus', 'istio', c.local_path);
  const ipv6 = c.config.EnableIPv6 === true;
  const { v4, v6 } = splitGolden(readFileSync(path, 'utf8'), ipv6);
  const a = importIptables(new SourceFile(`${c.local_path}#v4`, v4), 'ipv4');
  const b = v6 ? importIptables(new SourceFile(`${c.local_path}#v6`, v6), 'ipv6') : { ruleset: undefined, diagnostics: [] };
  const diagnostics = [...a.diagnostics, ...b.diagnostics];
  if (diagnostics.length) return { diagnostics };
  const tables = [...(a.ruleset?.tables ?? []), ...(b.ruleset?.tables ?? [])];
  return { ruleset: { name: c.name, tables, routing: { loopbackAddresses: [] } }, diagnostics };
}

/** The same case as the kernel lists it (istio-kernel/iptables-save), when present. */
export function loadKernelListing(c: CorpusCase): LoadedGolden | undefined {
  const dir = join(corpusRoot(), 'corpus', 'istio-kernel', 'iptables-save');
  const f4 = join(dir, `${c.name}.v4.legacy.txt`);
  if (!existsSync(f4)) return undefined;
  const parts: RuleSet[] = [];
  const diagnostics: Diagnostic[] = [];
  for (const [f, fam] of [[f4, 'ipv4'], [join(dir, `${c.name}.v6.legacy.txt`), 'ipv6']] as [string, Family][]) {
    if (!existsSync(f)) continue;
    const r = importIptables(new SourceFile(f, readFileSync(f, 'utf8')), fam);
    diagnostics.push(...r.diagnostics);
    if (r.ruleset) parts.push(r.ruleset);
  }
  if (diagnostics.length) return { diagnostics };
  return { ruleset: { name: c.name, tables: parts.flatMap((p) => p.tables), routing: { loopbackAddresses: [] } }, diagnostics };
}

export function caseConfig(c: CorpusCase) {
  return configFromJson(c.config);
}
