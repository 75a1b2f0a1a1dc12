// A snapshot of what shapes capture in one network namespace (docs/snapshot.md): the
// rule sets of every source the kernel runs (iptables-legacy and iptables-nft for both
// families, native nft tables), policy routing, lo's addresses, sysctls and the tools'
// versions, as one JSON document. Read back, its sources become one rule set whose tables
// keep their source in their name (`iptables-nft/nat`) and run, as in the kernel, by hook
// priority; rules split between the two iptables flavours get a finding that says whether
// the order between them (the kernel's, for equal priorities) changes any outcome.
import { importIptables } from '../../backends/iptables/import.js';
import { importNftables } from '../../backends/nftables/import.js';
import { diag, type Diagnostic } from '../diagnostics/diagnostic.js';
import type { Family, Routing, RuleSet, Table } from '../ir/types.js';
import { SourceFile } from '../source.js';
import { equivalent } from '../verify/engine.js';
import { rulesSide } from '../verify/side.js';
import { outcomeText } from '../verify/compare.js';

export const SNAPSHOT_VERSION = 1;

export interface SnapshotSource {
  /** iptables-legacy, ip6tables-legacy, iptables-nft, ip6tables-nft, nft. */
  name: string;
  format: 'iptables-save' | 'nft-json';
  family?: Family;
  command: string;
  /** The command's output; absent when it failed (then `error`). */
  text?: string;
  error?: string;
}

export interface Snapshot {
  meshcapSnapshot: number;
  taken: string;
  namespace: { netns?: string; pid?: number; current?: boolean };
  kernel: string;
  tools: Record<string, string>;
  sources: SnapshotSource[];
  /** Raw outputs: ip -4/-6 rule, the local routes of every table, lo's addresses. */
  routing: Record<string, string>;
  sysctls: Record<string, string>;
}

export function isSnapshot(text: string): boolean {
  return /^\s*\{\s*"meshcapSnapshot"\s*:/.test(text);
}

const IPTABLES_TABLES = new Set(['raw', 'mangle', 'nat', 'filter', 'security']);

/** The tables iptables-nft keeps in nft, named in its iptables-save text. */
function nftOwned(s: Snapshot): Set<string> {
  const out = new Set<string>();
  for (const src of s.sources) {
    if (!src.name.endsWith('tables-nft') || !src.text) continue;
    for (const m of src.text.matchAll(/^\*(\w+)/gm)) out.add(`${src.family === 'ipv6' ? 'ip6' : 'ip'}:${m[1]}`);
  }
  return out;
}

/** Native nft tables only: the iptables-nft ones are read from its own save format. */
function nativeNft(text: string, owned: Set<string>): string {
  const doc = JSON.parse(text) as { nftables?: Record<string, { family?: string; table?: string; name?: string }>[] };
  const keep = (o: Record<string, { family?: string; table?: string; name?: string }>) => {
    const [kind, v] = Object.entries(o)[0] ?? [];
    if (!v || kind === 'metainfo') return kind === 'metainfo';
    const table = kind === 'table' ? v.name : v.table;
    return !(IPTABLES_TABLES.has(table ?? '') && owned.has(`${v.family}:${table}`));
  };
  return JSON.stringify({ nftables: (doc.nftables ?? []).filter(keep) }, null, 1);
}

export interface LoadedSnapshot {
  rs?: RuleSet;
  families: Family[];
  diagnostics: Diagnostic[];
  sources: Map<string, SourceFile>;
}

/** Read a snapshot into one rule set (and its findings). */
export function loadSnapshot(path: string, text: string): LoadedSnapshot {
  const sources = new Map<string, SourceFile>();
  const at = { file: path, start: { line: 1, col: 1, offset: 0 }, end: { line: 1, col: 1, offset: 0 } };
  let s: Snapshot;
  try {
    s = JSON.parse(text) as Snapshot;
  } catch (e) {
    return { families: [], sources, diagnostics: [diag('rules-snapshot', at, { detail: `not JSON: ${(e as Error).message}` })] };
  }
  if (s.meshcapSnapshot !== SNAPSHOT_VERSION || !Array.isArray(s.sources)) {
    return { families: [], sources, diagnostics: [diag('rules-snapshot', at, { detail: `not a meshcap snapshot of version ${SNAPSHOT_VERSION} (meshcapSnapshot, sources)` })] };
  }
  const ds: Diagnostic[] = [];
  const tables: Table[] = [];
  const bySource = new Map<string, Table[]>();
  const owned = nftOwned(s);
  // Base chains of equal priority run last-registered first (seen: test/kernel/snapshot.test.ts),
  // and no listing says which was registered when. meshcap reads iptables-nft's first, as
  // when the legacy tables were set up first; the finding below says whether it matters.
  const rank = (x: SnapshotSource) => (x.name.endsWith('tables-nft') ? 0 : x.name.endsWith('tables-legacy') ? 1 : 2);
  for (const src of [...s.sources].sort((x, y) => rank(x) - rank(y))) {
    if (typeof src.text !== 'string' || !src.text.trim()) continue;
    const file = `${path}#${src.name}`;
    const text = src.format === 'nft-json' ? nativeNft(src.text, owned) : src.text;
    const sf = new SourceFile(file, text);
    sources.set(file, sf);
    const r = src.format === 'nft-json' ? importNftables(text, file) : importIptables(sf, src.family ?? 'ipv4', file);
    ds.push(...r.diagnostics);
    if (!r.ruleset) continue;
    const mine = r.ruleset.tables.filter((t) => t.chains.length).map((t) => ({ ...t, name: `${src.name}/${t.name}` }));
    bySource.set(src.name, mine);
    tables.push(...mine);
  }
  const routing = routingOf(s);
  const rs: RuleSet = { name: path, tables, routing };
  // A family whose iptables could be read speaks for the namespace even with no rules in it:
  // no rules is what the kernel then does (an empty namespace passes everything).
  const readFamilies = s.sources.filter((x) => x.format === 'iptables-save' && typeof x.text === 'string').map((x) => x.family ?? 'ipv4');
  const families = [...new Set([...tables.flatMap((t): Family[] => (t.family === 'inet' ? ['ipv4', 'ipv6'] : [t.family])), ...readFamilies])].sort();
  if (!ds.some((d) => d.severity === 'error')) ds.push(...splitFindings(path, bySource, rs));
  return { rs, families, diagnostics: ds, sources };
}

/** TPROXY routing (`fwmark M lookup T` with `local default dev lo table T`) and lo's extra addresses. */
function routingOf(s: Snapshot): Routing {
  const r = s.routing ?? {};
  const out: Routing = { loopbackAddresses: [] };
  const families: Family[] = [];
  let mark: number | undefined;
  let table: number | undefined;
  for (const [fam, key, localKey] of [['ipv4', 'rule4', 'local4'], ['ipv6', 'rule6', 'local6']] as const) {
    for (const m of (r[key] ?? '').matchAll(/fwmark (0x[0-9a-f]+|\d+)(?:\/\S+)? lookup (\d+)/g)) {
      const t = Number(m[2]);
      if (new RegExp(`^local (default|0\\.0\\.0\\.0/0|::/0) dev lo table ${t}\\b`, 'm').test(r[localKey] ?? '')) {
        mark = Number(m[1]);
        table = t;
        families.push(fam);
      }
    }
  }
  if (mark !== undefined && table !== undefined) out.tproxy = { mark, table, families };
  for (const m of (r.lo ?? '').matchAll(/inet6? ([0-9a-f.:]+)\/\d+/g)) if (m[1] !== '127.0.0.1' && m[1] !== '::1') out.loopbackAddresses.push(m[1]);
  return out;
}

const hooksOf = (ts: Table[], f: Family) => new Set(ts.filter((t) => t.family === f && t.chains.some((c) => c.base && c.rules.length)).flatMap((t) => t.chains.filter((c) => c.base && c.rules.length).map((c) => `${c.base!.hook}`)));

/**
 * Rules of one family in both iptables flavours: which hooks they share, and whether the
 * order between the two (equal priorities: the kernel runs them in the order they were
 * registered) changes any outcome, proven by comparing both orders.
 */
function splitFindings(path: string, bySource: Map<string, Table[]>, rs: RuleSet): Diagnostic[] {
  const out: Diagnostic[] = [];
  for (const [fam, tool] of [['ipv4', 'iptables'], ['ipv6', 'ip6tables']] as const) {
    const legacy = bySource.get(`${tool}-legacy`) ?? [];
    const nft = bySource.get(`${tool}-nft`) ?? [];
    const hl = hooksOf(legacy, fam);
    const hn = hooksOf(nft, fam);
    if (!hl.size || !hn.size) continue;
    const shared = [...hl].filter((h) => hn.has(h));
    const swapped: RuleSet = { ...rs, tables: [...legacy, ...rs.tables.filter((t) => !legacy.includes(t))] };
    const r = equivalent(rulesSide(`${tool}-nft first`, rs), rulesSide(`${tool}-legacy first`, swapped), { families: [fam], maxDifferences: 1, count: 1000 });
    const order =
      r.result === 'equal'
        ? 'the order between them (the last registered runs first) changes no outcome'
        : r.result === 'different'
          ? `which runs first changes ${r.totalExact ? '' : 'at least '}${r.total} packet class(es), e.g. ${r.differences[0].description}: ${outcomeText(r.differences[0].a)} with ${tool}-nft first (as meshcap reads the snapshot: legacy set up first), ${outcomeText(r.differences[0].b)} with ${tool}-legacy first`
          : `the order between them could not be decided (${r.reason})`;
    const what = r.result === 'different' ? `${order}; the last registered runs first` : order;
    out.push(
      diag('rules-split-flavours', { file: path, start: { line: 1, col: 1, offset: 0 }, end: { line: 1, col: 1, offset: 0 } }, {
        family: fam,
        legacy: [...hl].join(', '),
        nft: [...hn].join(', '),
        shared: shared.length ? shared.join(', ') : 'none',
        order: what,
      }),
    );
  }
  return out;
}
