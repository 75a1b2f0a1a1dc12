// Reading either kind of input a comparison takes: a policy (compiled to the IR) or an
// existing rule set (iptables-restore / iptables-save text).
import { importIptables } from '../../backends/iptables/import.js';
import { importNftables } from '../../backends/nftables/import.js';
import { importNftText, isNftText } from '../../backends/nftables/import-text.js';
import { importShell } from '../../backends/shell/import.js';
import { diag, hasErrors, type Diagnostic } from '../diagnostics/diagnostic.js';
import { checkRuleSet, jumpProblems } from '../ir/check.js';
import type { Family, RuleSet } from '../ir/types.js';
import { readText, syntaxOf } from '../language/load.js';
import { Meaning } from '../meaning/meaning.js';
import { SourceFile } from '../source.js';
import { compile } from './pipeline.js';
import { isSnapshot, loadSnapshot } from './snapshot.js';

export interface LoadedSide {
  label: string;
  rs?: RuleSet;
  families: Family[];
  meaning?: Meaning;
  diagnostics: Diagnostic[];
  sources: Map<string, SourceFile>;
}

/** The family of an iptables text: from its name (ip6tables, v6) or its addresses. */
export function guessFamily(path: string, text: string): Family {
  if (/ip6tables|\.v6\b|[._-]v6[._-]|ipv6/i.test(path)) return 'ipv6';
  if (/ip4tables|\.v4\b|[._-]v4[._-]|ipv4|iptables/i.test(path)) return 'ipv4';
  return /\s(-s|-d|--source|--destination)\s+[0-9a-fA-F]*:[0-9a-fA-F:]*(\/\d+)?\s/.test(text) ? 'ipv6' : 'ipv4';
}

export function loadSide(path: string, family?: Family): LoadedSide {
  const sources = new Map<string, SourceFile>();
  if (syntaxOf(path)) {
    // A policy goes through the compiler's own passes, up to the checked IR.
    const ctx = compile(path, { backends: [], verify: false, until: 'check-ir' });
    if (ctx.loaded?.source) sources.set(path, ctx.loaded.source);
    const diagnostics = [...ctx.diagnostics, ...ctx.failures];
    if (hasErrors(diagnostics) || !ctx.policy || !ctx.ir) return { label: path, families: [], diagnostics, sources };
    return { label: path, rs: ctx.ir, families: [...ctx.policy.families.value], meaning: new Meaning(ctx.policy), diagnostics, sources };
  }
  const read = readText(path);
  if ('diagnostic' in read) return { label: path, families: [], diagnostics: [read.diagnostic], sources };
  const text = read.text;
  if (isSnapshot(text)) return snapshotSide(path, text);
  const src = new SourceFile(path, text);
  sources.set(path, src);
  if (/^\s*\{/.test(text)) {
    // nft JSON (command form or `nft -j list ruleset`): one inet table, both families.
    const n = importNftables(text, path);
    return checked({ label: path, rs: n.ruleset, families: n.ruleset ? familiesOf(n.ruleset) : [], diagnostics: n.diagnostics, sources });
  }
  if (isNftText(text)) {
    // `nft list ruleset` text, as pasted: read into the JSON importer's objects.
    const n = importNftText(text, path);
    return checked({ label: path, rs: n.ruleset, families: n.ruleset ? familiesOf(n.ruleset) : [], diagnostics: n.diagnostics, sources });
  }
  if (/^#!/.test(text) && /<<'MESHCAP_V[46]'\n/.test(text)) {
    // A meshcap shell script: its iptables payloads (both families) and its routing.
    const sh = importShell(text, path);
    const rs = sh.iptables ? { ...sh.iptables, routing: sh.routing } : undefined;
    return checked({ label: path, rs, families: rs ? familiesOf(rs) : [], diagnostics: sh.diagnostics, sources });
  }
  const f = family ?? guessFamily(path, text);
  const r = importIptables(src, f, path);
  return checked({ label: path, rs: r.ruleset, families: [f], diagnostics: r.diagnostics, sources });
}

/** A snapshot's text (a file's, or one just taken: `--live`) as a side. */
export function snapshotSide(label: string, text: string): LoadedSide {
  const sn = loadSnapshot(label, text);
  return checked({ label, rs: sn.rs, families: sn.families, diagnostics: sn.diagnostics, sources: sn.sources });
}

/** The findings about a rule set a command shows even when it goes on (rules split between iptables flavours). */
export function findingsOf(side: LoadedSide): Diagnostic[] {
  return side.diagnostics.filter((d) => d.code === 'rules-split-flavours' || d.code === 'rules-unmodelled');
}

/**
 * An imported rule set the kernel would refuse is bad input: a jump to a missing chain, a
 * loop, or a match or target in a chain its hooks do not allow (an owner match reached
 * from PREROUTING).
 */
function checked(side: LoadedSide): LoadedSide {
  if (!side.rs) return side;
  const rs = side.rs;
  const problems = jumpProblems(rs);
  const ds = problems.map((p) =>
    p.kind === 'missing'
      ? diag('rules-missing-chain', p.rule.origin.span ?? undefined, { name: p.target, table: p.table })
      : diag('rules-jump-loop', p.rule.origin.span ?? undefined, { chain: p.chain, target: p.target, table: p.table }),
  );
  // Hooks are only known once every jump resolves.
  if (!problems.length)
    for (const p of checkRuleSet(rs)) {
      if (!p.hook) continue;
      const rule = rs.tables.find((t) => t.name === p.table && t.family === p.family)?.chains.find((c) => c.name === p.chain)?.rules[p.index - 1];
      ds.push(diag('rules-invalid-hook', rule?.origin.span ?? undefined, { detail: `${p.table}/${p.chain} #${p.index}: ${p.message}` }));
    }
  if (!ds.length) return side;
  const file = side.label;
  return { ...side, rs: undefined, families: [], diagnostics: [...side.diagnostics, ...ds.map((d) => (d.span ? d : { ...d, file }))] };
}

/** The families a rule set speaks for (an inet table speaks for both). */
export function familiesOf(rs: RuleSet): Family[] {
  const out = new Set<Family>();
  for (const t of rs.tables) {
    if (t.family === 'inet') {
      out.add('ipv4');
      out.add('ipv6');
    } else out.add(t.family);
  }
  return [...out];
}

/** Several imported files (e.g. the IPv4 and IPv6 halves) as one rule set. */
export function mergeRuleSets(name: string, parts: RuleSet[]): RuleSet {
  return { name, tables: parts.flatMap((p) => p.tables), routing: { loopbackAddresses: [] } };
}
