// libnftables JSON -> IR: the document, its commands and objects. Reads the command form
// (`{"add": {...}}`, what meshcap and `nft -j -f` take) and the listing form (`nft -j list
// ruleset`: metainfo, bare objects, handles, counters, named sets). The input is untrusted:
// each value is narrowed from `Unchecked<T>` (objects.ts) before use. Rules, expressions
// and statements are read by import-rule.ts. Anything outside meshcap's model is an error
// naming its JSON path, never dropped.
import { diag, type Diagnostic } from '../../src/diagnostics/diagnostic.js';
import type { Chain, RuleSet, Table, TableFamily } from '../../src/ir/types.js';
import { canonicalAddress } from '../../src/net/ip.js';
import type { Span } from '../../src/source.js';
import { isArr, PathError, show, unreachable, type Sets } from './import-rule.js';
import { parseRules } from './import-keys.js';
import {
  CHAIN_TYPES,
  HOOKS,
  isObj,
  isOneOf,
  OBJECT_KINDS,
  PRIORITY_NAMES,
  READ_ITEM_KINDS,
  READ_TABLE_FAMILIES,
  type ReadChain,
  type ReadDocument,
  type ReadItemBodies,
  type ReadRule,
  type ReadSet,
  type ReadTable,
  type ReadTableFamily,
  type Unchecked,
} from './objects.js';

export interface NftImportResult {
  ruleset?: RuleSet;
  diagnostics: Diagnostic[];
}

const TABLE_FAMILIES: Record<ReadTableFamily, TableFamily> = { inet: 'inet', ip: 'ipv4', ip6: 'ipv6' };

interface Ctx {
  tables: Map<string, { table: Table; chains: Map<string, Chain>; sets: Sets }>;
  file: string;
  /** Where a JSON path's object came from (the text importer's spans); absent for JSON. */
  locate?: (path: string) => Span;
}

export function importNftables(text: string, file: string, name = file): NftImportResult {
  const fileSpan = (): Span => ({ file, start: { line: 1, col: 1, offset: 0 }, end: { line: 1, col: 1, offset: 0 } });
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (e) {
    return { diagnostics: [diag('rules-syntax', fileSpan(), { detail: `not JSON: ${(e as Error).message}` })] };
  }
  return importNftDocument(doc, file, name);
}

/** A parsed document (JSON, or what import-text.ts makes of a text listing) -> IR. */
export function importNftDocument(doc: unknown, file: string, name = file, locate?: (path: string) => Span, excerpt?: (span: Span) => string): NftImportResult {
  const fileSpan = (): Span => ({ file, start: { line: 1, col: 1, offset: 0 }, end: { line: 1, col: 1, offset: 0 } });
  const ctx: Ctx = { tables: new Map(), file, locate };
  const ds: Diagnostic[] = [];
  if (!isObj<ReadDocument>(doc) || !isArr(doc.nftables)) return { diagnostics: [diag('rules-syntax', fileSpan(), { detail: "$: expected an object with an array 'nftables'" })] };
  doc.nftables.forEach((item, i) => {
    const path = `$.nftables[${i}]`;
    try {
      command(ctx, item, path);
    } catch (e) {
      if (!(e instanceof PathError)) throw e;
      // Text: the span of the offending expression says where; JSON: its path does.
      if (locate) ds.push(diag('rules-nft-text', locate(e.path), { detail: e.message }));
      else ds.push(diag('rules-syntax', fileSpan(), { detail: `${e.path}: ${e.message}` }));
    }
  });
  if (ds.length) return { diagnostics: ds };
  const tables = [...ctx.tables.values()].map((t) => t.table);
  // An unmodelled match (import-rule.ts) gets its place: the text's line, or the JSON path.
  const notes: Diagnostic[] = [];
  let n = 0;
  for (const t of tables) {
    for (const c of t.chains) {
      for (const r of c.rules) {
        for (const m of r.matches) {
          if (m.kind !== 'unmodelled') continue;
          const span = locate ? locate(m.id) : fileSpan();
          m.text = excerpt ? excerpt(span) : `${m.text} at ${m.id.replace(/\.match$/, '')}`;
          m.id = `${span.file}:${span.start.line}#${n++}`;
          notes.push(diag('rules-unmodelled', span, { text: m.text }));
        }
      }
    }
  }
  return { ruleset: { name, tables, routing: { loopbackAddresses: [] } }, diagnostics: notes };
}

function command(ctx: Ctx, item: unknown, path: string): void {
  if (!isObj<ReadItemBodies>(item)) throw new PathError(path, 'expected an object');
  const keys = Object.keys(item);
  if (keys.length !== 1) throw new PathError(path, `expected one key, found ${keys.join(', ')}`);
  const [k] = keys;
  if (!isOneOf(k, READ_ITEM_KINDS)) throw new PathError(`${path}.${k}`, `command or object '${k}' is not read`);
  const v = item[k];
  switch (k) {
    case 'metainfo':
      return;
    case 'add':
    case 'create':
      return object(ctx, v, `${path}.${k}`, false);
    case 'insert':
      return object(ctx, v, `${path}.${k}`, true);
    case 'flush': {
      if (isObj<ReadItemBodies['flush']>(v) && isObj<ReadSet>(v.set)) {
        // Empties a named set (it must exist, as in nft).
        const t = tableOf(ctx, v.set, `${path}.flush.set`);
        const name = show(v.set.name);
        if (!t.sets.has(name)) throw new PathError(`${path}.flush.set`, `set ${name} does not exist in table ${show(v.set.table)}`);
        t.sets.set(name, []);
        return;
      }
      if (!isObj<ReadItemBodies['flush']>(v) || !isObj<ReadTable>(v.table)) throw new PathError(`${path}.flush`, 'only `flush table` and `flush set` are read');
      // Empties the chains; sets keep their elements (as in nft).
      const t = ctx.tables.get(tkey(v.table));
      if (t) for (const c of t.chains.values()) c.rules = [];
      return;
    }
    case 'destroy':
    case 'delete': {
      if (!isObj<ReadItemBodies['delete']>(v) || !isObj<ReadTable>(v.table)) throw new PathError(`${path}.${k}`, `only \`${k} table\` is read`);
      ctx.tables.delete(tkey(v.table));
      return;
    }
    case 'table':
    case 'chain':
    case 'rule':
    case 'set':
      return object(ctx, item, path, false);
    default:
      return unreachable(k);
  }
}

const tkey = (t: Unchecked<ReadTable>) => `${show(t.family)}/${show(t.name)}`;

function object(ctx: Ctx, v: unknown, path: string, insert: boolean): void {
  if (!isObj(v)) throw new PathError(path, 'expected an object');
  const [k] = Object.keys(v);
  const o = v[k];
  if (!isObj(o)) throw new PathError(`${path}.${k}`, 'expected an object');
  const p = `${path}.${k}`;
  if (!isOneOf(k, OBJECT_KINDS)) throw new PathError(p, `object '${k}' is not read`);
  switch (k) {
    case 'table':
      return addTable(ctx, o, p);
    case 'chain':
      return addChain(ctx, o, p);
    case 'set': {
      const s: Unchecked<ReadSet> = o;
      const t = tableOf(ctx, s, p);
      // `add set` on an existing set adds its elements to those already there.
      const name = show(s.name);
      t.sets.set(name, [...(t.sets.get(name) ?? []), ...(isArr(s.elem) ? s.elem : [])]);
      return;
    }
    case 'rule': {
      const r: Unchecked<ReadRule> = o;
      const t = tableOf(ctx, r, p);
      const c = t.chains.get(show(r.chain));
      if (!c) throw new PathError(`${p}.chain`, `chain '${show(r.chain)}' does not exist in table ${show(r.table)}`);
      if (!isArr(r.expr)) throw new PathError(`${p}.expr`, 'expected an array');
      const read = parseRules(r.expr, `${p}.expr`, t.table, t.sets, typeof r.comment === 'string' ? r.comment : undefined, ctx.file);
      if (ctx.locate) for (const rule of read) rule.origin.span = ctx.locate(p);
      if (insert) c.rules.unshift(...read);
      else c.rules.push(...read);
      return;
    }
    default:
      return unreachable(k);
  }
}

function addTable(ctx: Ctx, o: Unchecked<ReadTable>, p: string): void {
  const family = show(o.family);
  if (!isOneOf(family, READ_TABLE_FAMILIES)) throw new PathError(`${p}.family`, `family '${family}' is not read (inet, ip, ip6)`);
  const fam = TABLE_FAMILIES[family];
  if (!ctx.tables.has(tkey(o))) ctx.tables.set(tkey(o), { table: { family: fam, name: show(o.name), chains: [] }, chains: new Map(), sets: new Map() });
}

function addChain(ctx: Ctx, o: Unchecked<ReadChain>, p: string): void {
  const t = tableOf(ctx, o, p);
  const name = show(o.name);
  let c = t.chains.get(name);
  if (!c) {
    c = { name, rules: [] };
    t.chains.set(name, c);
    t.table.chains.push(c);
  }
  if (o.hook !== undefined) {
    const hook = show(o.hook);
    if (!isOneOf(hook, HOOKS)) throw new PathError(`${p}.hook`, `hook '${hook}' is not read`);
    const type = show(o.type ?? 'filter');
    if (!isOneOf(type, CHAIN_TYPES)) throw new PathError(`${p}.type`, `chain type '${type}' is not read`);
    const prio = typeof o.prio === 'number' ? o.prio : prioName(o.prio, p);
    c.base = { hook, priority: prio, type, policy: o.policy === 'drop' ? 'drop' : 'accept' };
  }
}

function prioName(x: unknown, p: string): number {
  if (typeof x === 'string' && Object.hasOwn(PRIORITY_NAMES, x)) return PRIORITY_NAMES[x as keyof typeof PRIORITY_NAMES];
  throw new PathError(`${p}.prio`, `priority '${show(x)}' is not read`);
}

function tableOf(ctx: Ctx, o: Unchecked<Pick<ReadChain, 'family' | 'table'>>, p: string) {
  const t = ctx.tables.get(`${show(o.family)}/${show(o.table)}`);
  if (!t) throw new PathError(p, `table ${show(o.family)} ${show(o.table)} does not exist`);
  return t;
}

export { canonicalAddress };
