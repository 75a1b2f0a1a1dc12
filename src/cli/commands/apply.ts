import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { diag, hasErrors, type Diagnostic } from '../../diagnostics/diagnostic.js';
import { formats } from '../../diagnostics/render.js';
import { compile } from '../../compile/pipeline.js';
import { readText } from '../../language/load.js';
import { applyTransaction } from '../apply.js';
import { expectArgs, oneOf, parse } from '../args.js';
import { EXIT, UsageError, type Io } from '../io.js';
import { report } from '../report.js';
import type { Command } from './command.js';
import type { SourceFile } from '../../source.js';

const FLAVOURS = ['default', 'legacy', 'nft'] as const;
type Flavour = (typeof FLAVOURS)[number];

/** One family's rules to load: an iptables document, or the nft JSON. */
interface Payload {
  kind: 'iptables' | 'ip6tables' | 'nftables';
  text: string;
}

export const applyCmd: Command = {
  name: 'apply',
  summary: "load a policy's rules into this network namespace, beside other tools' rules",
  usage: `meshcap apply [options] POLICY|ARTIFACT...
meshcap apply --remove [options] [POLICY|ARTIFACT...]

Compiles and proves the policy (or takes artifacts written by compile -o), then loads
them into the current network namespace, touching only what is meshcap's: its own
chains (MESHCAP_*) and one jump from each built-in chain (iptables), or its own table
(nftables; a table of that name another tool made is refused: apply-not-owned; a
table of meshcap's under another name, an older policy's, is replaced). Applying again replaces meshcap's rules without duplicating a jump; --remove
deletes them. Each family is one transaction: loaded whole or not at all.

Options:
  --backend B       iptables, ip6tables, nftables (comma separated; default: iptables and
                    ip6tables, for the policy's families)
  --flavour F       iptables tools: default (iptables-restore as installed), legacy, nft
  --remove          delete meshcap's rules (nftables: its tables) instead
  --dry-run         print each transaction on stdout, change nothing
  --format F        diagnostics: text (default), json, sarif, github
  -v, --verbose     say what was loaded, on stderr

Exit: 0 applied, 1 the proof failed, 2 invalid input or a tool refused, 3 usage error.`,
  run(argv: string[], io: Io): number {
    const { values, positionals } = parse(argv, {
      backend: { type: 'string', multiple: true },
      flavour: { type: 'string' },
      remove: { type: 'boolean' },
      'dry-run': { type: 'boolean' },
      format: { type: 'string' },
      verbose: { type: 'boolean', short: 'v' },
    });
    if (values.help) return (io.out(this.usage + '\n'), EXIT.ok);
    if (!values.remove) expectArgs(positionals, 'some', 'apply takes a POLICY or the ARTIFACTs compile -o wrote');
    const format = oneOf('format', values.format, formats, 'text');
    const flavour = oneOf('flavour', values.flavour, FLAVOURS, 'default');
    const known = ['iptables', 'ip6tables', 'nftables'];
    const given = (values.backend ?? []).flatMap((b) => b.split(','));
    for (const b of given) if (!known.includes(b)) throw new UsageError('usage-bad-option-value', { detail: `--backend takes ${known.join(', ')} (got '${b}')` });
    const diagnostics: Diagnostic[] = [];
    const payloads: Payload[] = [];
    const sources = new Map<string, SourceFile>();
    for (const file of positionals) {
      const got = payloadsOf(file, given);
      diagnostics.push(...got.diagnostics);
      if (got.source) sources.set(file, got.source);
      if (got.status !== EXIT.ok) {
        report(io, format, diagnostics, sources);
        return got.status;
      }
      payloads.push(...got.payloads);
    }
    // Removal needs no artifact for iptables: whatever is meshcap's goes.
    if (values.remove && !positionals.length) for (const k of given.length ? given : ['iptables', 'ip6tables']) payloads.push({ kind: k as Payload['kind'], text: '' });
    for (const p of payloads) {
      const d = p.kind === 'nftables' ? applyNft(p.text, !!values.remove, !!values['dry-run'], io) : applyIptables(p, flavour, !!values.remove, !!values['dry-run'], io);
      if (d) diagnostics.push(d);
      else if (values.verbose && !values['dry-run']) io.err(`${values.remove ? 'removed' : 'applied'}: ${p.kind}\n`);
    }
    report(io, format, diagnostics, sources);
    return hasErrors(diagnostics) ? EXIT.badInput : EXIT.ok;
  },
};

const ARTIFACT = /\.(iptables\.rules|ip6tables\.rules|nft\.json)$/;

function payloadsOf(file: string, given: string[]): { payloads: Payload[]; diagnostics: Diagnostic[]; status: number; source?: SourceFile } {
  const art = ARTIFACT.exec(file);
  if (art) {
    const kind = art[1] === 'nft.json' ? 'nftables' : (art[1].split('.')[0] as Payload['kind']);
    if (given.length && !given.includes(kind)) return { payloads: [], diagnostics: [], status: EXIT.ok };
    const read = readText(file);
    if ('diagnostic' in read) return { payloads: [], diagnostics: [read.diagnostic], status: EXIT.badInput };
    return { payloads: [{ kind, text: read.text }], diagnostics: [], status: EXIT.ok };
  }
  if (!/\.(intercept|ya?ml)$/.test(file)) return { payloads: [], diagnostics: [diag('apply-input', undefined, { path: file })], status: EXIT.badInput };
  const names = given.length ? given : ['iptables', 'ip6tables'];
  const ctx = compile(file, { backends: names, verify: true });
  const diagnostics = [...ctx.diagnostics, ...ctx.failures];
  if (hasErrors(ctx.diagnostics) || !ctx.policy) return { payloads: [], diagnostics, status: EXIT.badInput, source: ctx.loaded?.source };
  // A failed proof applies nothing (compile says why, with a counterexample).
  if (ctx.failures.length || ctx.verifyFailures.length) {
    for (const v of ctx.verifyFailures) diagnostics.push(diag('internal-verify-different', undefined, { stage: v.stage, classes: v.result.classes }));
    return { payloads: [], diagnostics, status: EXIT.findings, source: ctx.loaded?.source };
  }
  const families = new Set(ctx.policy.families.value);
  const payloads = ctx.artifacts
    .filter((a) => given.length || !a.backend.family || families.has(a.backend.family))
    .map((a) => ({ kind: a.backend.name as Payload['kind'], text: a.text }));
  return { payloads, diagnostics, status: EXIT.ok, source: ctx.loaded?.source };
}

function tool(kind: 'iptables' | 'ip6tables', flavour: Flavour, what: 'save' | 'restore'): string {
  return flavour === 'default' ? `${kind}-${what}` : `${kind}-${flavour}-${what}`;
}

function runTool(cmd: string, args: string[], input?: string): { ok: boolean; stdout: string; detail: string } {
  const r = spawnSync(cmd, args, { input, encoding: 'utf8' });
  if (r.error) return { ok: false, stdout: '', detail: (r.error as NodeJS.ErrnoException).code === 'ENOENT' ? `${cmd} is not installed (not on PATH)` : r.error.message };
  return { ok: r.status === 0, stdout: r.stdout, detail: (r.stderr || `exit status ${r.status}`).trim().split('\n')[0] };
}

function applyIptables(p: Payload, flavour: Flavour, remove: boolean, dryRun: boolean, io: Io): Diagnostic | undefined {
  const kind = p.kind as 'iptables' | 'ip6tables';
  const save = tool(kind, flavour, 'save');
  const saved = runTool(save, []);
  if (!saved.ok) return diag('apply-refused', undefined, { tool: save, detail: saved.detail });
  const tx = applyTransaction(remove ? '' : p.text, saved.stdout);
  const restore = tool(kind, flavour, 'restore');
  if (dryRun) return void io.out(`# ${restore} --noflush\n${tx}`);
  if (!tx) return undefined;
  const r = runTool(restore, ['--noflush', '--wait=10'], tx);
  return r.ok ? undefined : diag('apply-refused', undefined, { tool: restore, detail: r.detail });
}

/** The empty chain apply adds to the table it loads: its mark of ownership, whatever the comments. */
export const NFT_MARK = 'meshcap-apply';

/** A rule comment of meshcap's (the shell script's test too): `meshcap FILE:LINE purpose` or `meshcap ipv4 ...`. */
const OUR_COMMENT = /^meshcap ([^ ]+:\d+ |ipv[46] )/;

type NftItem = { table?: { family: string; name: string }; chain?: { family: string; table: string; name: string }; rule?: { family: string; table: string; comment?: string } };

/**
 * Whose table FAMILY NAME is in a `nft -j list ruleset` listing: absent, meshcap's (a rule
 * with meshcap's comment, or apply's mark chain) or another tool's.
 */
export function nftTableOwner(listing: NftItem[], family: string, name: string): 'absent' | 'ours' | 'theirs' {
  const here = (x: { family: string; table?: string; name?: string } | undefined, key: 'table' | 'name') => x?.family === family && x[key] === name;
  if (!listing.some((i) => here(i.table, 'name'))) return 'absent';
  const ours = listing.some((i) => (here(i.rule, 'table') && OUR_COMMENT.test(i.rule?.comment ?? '')) || (here(i.chain, 'table') && (i.chain?.name === NFT_MARK || /^meshcap-fp-[0-9a-f]+$/.test(i.chain?.name ?? ''))));
  return ours ? 'ours' : 'theirs';
}

/** Every table of a listing that is meshcap's (nftTableOwner), in listing order. */
export function ownedNftTables(listing: NftItem[]): { family: string; name: string }[] {
  const seen = new Set<string>();
  const tables = listing.flatMap((i) => (i.table ? [i.table] : [])).filter((t) => !seen.has(`${t.family} ${t.name}`) && seen.add(`${t.family} ${t.name}`));
  return tables.filter((t) => nftTableOwner(listing, t.family, t.name) === 'ours').map((t) => ({ family: t.family, name: t.name }));
}

/**
 * The nft transaction: delete every table of meshcap's there (a namespace runs one policy,
 * as apply's iptables chains do, so an upgrade to a policy of another name leaves no old
 * table), then add the artifact's table with apply's mark; refused when the artifact's
 * table is another tool's. With `remove`, only the deletions.
 */
export function nftTransaction(listing: NftItem[], artifact: NftCommand[] | undefined, remove: boolean): { commands: NftCommand[] } | { notOwned: { family: string; name: string } } {
  const table = artifact?.map((c) => c.add?.table).find((t) => t);
  if (table && nftTableOwner(listing, table.family, table.name) === 'theirs') return { notOwned: table };
  const deletions = ownedNftTables(listing).map((t) => ({ delete: { table: t } }));
  const adds = remove || !table ? [] : [...artifact!, { add: { chain: { family: table.family, table: table.name, name: NFT_MARK } } }];
  return { commands: [...deletions, ...adds] };
}

type NftCommand = Record<string, { table?: { family: string; name: string }; chain?: unknown }>;

/**
 * The nft artifact owns one table: applying replaces meshcap's tables by it in one
 * transaction, and only when the table of its name there is meshcap's. Removal needs no
 * artifact (text ''): whatever is meshcap's goes.
 */
function applyNft(text: string, remove: boolean, dryRun: boolean, io: Io): Diagnostic | undefined {
  let doc: { nftables: NftCommand[] } | undefined;
  if (text || !remove) {
    try {
      doc = JSON.parse(text) as typeof doc;
    } catch (e) {
      return diag('apply-refused', undefined, { tool: 'nft', detail: `the artifact is not JSON (${(e as Error).message})` });
    }
    const table = Array.isArray(doc?.nftables) ? doc.nftables.map((c) => c.add?.table).find((t) => t) : undefined;
    if (!table) return diag('apply-refused', undefined, { tool: 'nft', detail: 'the artifact adds no table' });
  }
  // The whole ruleset, in JSON: nft's command line cannot name a table called after a keyword ('tproxy').
  const listed = runTool('nft', ['-j', 'list', 'ruleset']);
  if (!listed.ok) return diag('apply-refused', undefined, { tool: 'nft', detail: listed.detail });
  let items: NftItem[];
  try {
    items = (JSON.parse(listed.stdout) as { nftables: NftItem[] }).nftables;
  } catch (e) {
    return diag('apply-refused', undefined, { tool: 'nft', detail: `its listing is not JSON (${(e as Error).message})` });
  }
  const tx0 = nftTransaction(items, doc?.nftables, remove);
  if ('notOwned' in tx0) return diag('apply-not-owned', undefined, { family: tx0.notOwned.family, name: tx0.notOwned.name, reason: `no rule of it carries meshcap's comment and it has no ${NFT_MARK} chain` });
  const tx = tx0.commands.length ? JSON.stringify({ nftables: tx0.commands }) + '\n' : '';
  if (dryRun) return void io.out(`# nft -j -f FILE\n${tx}`);
  if (!tx) return undefined;
  // nft reads a file (it cannot open a pipe as /dev/stdin); the transaction is written apart.
  const dir = mkdtempSync(join(tmpdir(), 'meshcap-apply-'));
  const file = join(dir, 'tx.nft.json');
  writeFileSync(file, tx);
  const r = runTool('nft', ['-j', '-f', file]);
  rmSync(dir, { recursive: true, force: true });
  return r.ok ? undefined : diag('apply-refused', undefined, { tool: 'nft', detail: r.detail });
}
