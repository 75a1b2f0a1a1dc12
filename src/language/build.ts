// Syntax tree -> typed policy. Resolves every statement against the schema, parses its
// values, fills defaults, and reports unknown, duplicate and malformed statements. The
// same code serves both syntaxes: YAML statements name their key, DSL ones spell it.
import type { Atom, Block, Item, Statement, SyntaxTree } from '../../grammar/syntax-tree.js';
import type { Policy } from './ast.js';
import { diag, levenshtein, type Diagnostic } from '../diagnostics/diagnostic.js';
import type { Span } from '../source.js';
import { defaultPolicy } from './defaults.js';
import { blockIds, blocks, blockSpec, matchStatement, topLevel, type BlockSpec, type StatementSpec } from './schema.js';

/** A policy name: it becomes the nftables table name. */
export const POLICY_NAME_RE = /^[A-Za-z][A-Za-z0-9_-]{0,31}$/;

export interface ResolvedStatement {
  spec: StatementSpec;
  /** The atoms that spell the key (DSL) or the YAML key atom. */
  key: Atom[];
  args: Atom[];
}

/** Which statement of `block` this is, or undefined. */
export function resolveStatement(block: BlockSpec, s: Statement): ResolvedStatement | undefined {
  if (s.yamlKey) {
    const spec = block.statements.find((x) => x.id === s.yamlKey!.text);
    return spec && { spec, key: [s.yamlKey], args: s.atoms };
  }
  const words: string[] = [];
  for (const a of s.atoms) {
    if (a.commaBefore) break;
    words.push(a.text);
  }
  const spec = matchStatement(block, words);
  return spec && { spec, key: s.atoms.slice(0, spec.words.length), args: s.atoms.slice(spec.words.length) };
}

function spellings(b: BlockSpec, yaml: boolean): string[] {
  return b.statements.map((s) => (yaml ? s.id : s.words.join(' ')));
}

function whereOf(b: BlockSpec): string {
  return b.id ? `block '${b.id}'` : 'the policy';
}

function unknownKeywordHint(block: BlockSpec, s: Statement): { name: string; span: Span; hint: string } {
  const yaml = !!s.yamlKey;
  const first = yaml ? s.yamlKey! : s.atoms[0];
  // Compare the first k words with every k-word statement.
  let best: { spelling: string; d: number; k: number } | undefined;
  for (const spec of block.statements) {
    const k = yaml ? 1 : spec.words.length;
    const have = yaml ? first.text : s.atoms.slice(0, k).map((a) => a.text).join(' ');
    const want = yaml ? spec.id : spec.words.join(' ');
    const d = levenshtein(have.toLowerCase(), want);
    if (!best || d < best.d) best = { spelling: want, d, k };
  }
  const k = best && best.d <= Math.max(2, Math.floor(best.spelling.length / 3)) ? best.k : 1;
  const keyAtoms = yaml ? [first] : s.atoms.slice(0, Math.max(1, Math.min(k, s.atoms.length)));
  const name = keyAtoms.map((a) => a.text).join(' ');
  const span: Span = { file: first.span.file, start: keyAtoms[0].span.start, end: keyAtoms[keyAtoms.length - 1].span.end };
  // At the top of a YAML file the policy's name is a key too (`policy: NAME`), and a block
  // is a key: a misspelt one of either reads as an unknown statement of the policy.
  if (yaml && !block.id) {
    for (const want of ['policy', ...blockIds]) {
      const d = levenshtein(first.text.toLowerCase(), want);
      if (!best || d < best.d) best = { spelling: want, d, k: 1 };
    }
  }
  // A YAML key spells a statement's words joined by '-': `capture:` in inbound means `capture-ports:`.
  const joined = yaml ? block.statements.filter((x) => x.id.startsWith(`${first.text.toLowerCase()}-`)) : [];
  let hint: string;
  if (best && best.d <= Math.max(2, Math.floor(best.spelling.length / 3))) hint = `did you mean '${best.spelling}'?`;
  else if (joined.length) hint = `did you mean ${joined.map((x) => `'${x.id}'`).join(' or ')}? (in YAML, a statement's words make one key joined by '-')`;
  else {
    // Perhaps it belongs in another block.
    const elsewhere = blocks.find((b) => b !== block && (yaml ? b.statements.some((x) => x.id === first.text) : !!matchStatement(b, s.atoms.map((a) => a.text))));
    hint = elsewhere
      ? `'${name}' belongs ${elsewhere.id ? `in block '${elsewhere.id}'` : 'directly in the policy'}`
      : `${whereOf(block)} takes: ${spellings(block, yaml).join(', ')}`;
  }
  return { name, span, hint };
}

function keySpan(r: ResolvedStatement): Span {
  return { file: r.key[0].span.file, start: r.key[0].span.start, end: r.key[r.key.length - 1].span.end };
}

function where(span: Span): string {
  return `line ${span.start.line}`;
}

export interface BuildResult {
  policy?: Policy;
  diagnostics: Diagnostic[];
  /** Statements (`block.id`, e.g. `inbound.capture-ports`) whose value was rejected. */
  failed: Set<string>;
}

export function buildPolicy(tree: SyntaxTree): BuildResult {
  const diagnostics: Diagnostic[] = [];
  const failed = new Set<string>();
  const report = (d: Diagnostic) => diagnostics.push(d);
  const [node, ...others] = tree.policies;
  for (const o of others) {
    report(diag('multiple-policies', (o.name ?? o.keyword).span, { name: o.name?.text ?? '(unnamed)' }));
  }
  if (!node) {
    report(diag('missing-policy', { file: tree.file, start: { line: 1, col: 1, offset: 0 }, end: { line: 1, col: 1, offset: 0 } }));
    return { diagnostics, failed };
  }
  let name = 'meshcap';
  if (!node.name) {
    // A misspelt `policy:` key is reported where it stands, with its did-you-mean.
    const misspelt = tree.syntax === 'yaml' && node.items.some((i) => i.kind === 'statement' && i.yamlKey && levenshtein(i.yamlKey.text.toLowerCase(), 'policy') <= 2);
    if (!node.nameReported && !misspelt) report(diag('missing-value', node.keyword.span, { name: 'policy', expected: tree.syntax === 'yaml' ? "a name, as a 'policy: my-app' key" : 'a name (policy my-app { ... })' }));
  } else if (!POLICY_NAME_RE.test(node.name.text)) {
    report(diag('invalid-policy-name', node.name.span, { name: node.name.text }));
  } else name = node.name.text;

  const policy = defaultPolicy(name, tree.file);
  policy.span = node.span;
  const seenBlocks = new Map<string, Span>();
  const seenKeys = new Map<string, Span>();

  const statement = (block: BlockSpec, s: Statement) => {
    const r = resolveStatement(block, s);
    if (!r) {
      failed.add(`${block.id ?? 'policy'}.?`);
      const u = unknownKeywordHint(block, s);
      report(diag('unknown-keyword', u.span, { name: u.name, where: whereOf(block), suggestion: u.hint }));
      return;
    }
    const id = `${block.id ?? 'policy'}.${r.spec.id}`;
    const first = seenKeys.get(id);
    if (first) {
      report(diag('duplicate-key', keySpan(r), { name: r.spec.words.join(' '), where: whereOf(block), first: where(first) }));
      return;
    }
    seenKeys.set(id, s.span);
    if (r.args[0]?.commaBefore) {
      // `capture cidrs , 10.0.0.0/8`: a list starts with a value, not a separator.
      report(diag('list-starts-with-comma', r.args[0].span, { name: r.spec.words.join(' ') }));
      failed.add(id);
      return;
    }
    const value = r.spec.kind.parse(r.args, { name: r.spec.words.join(' '), span: s.span, report });
    if (value !== undefined) r.spec.set(policy, value, s.span);
    else failed.add(id);
  };

  const item = (it: Item) => {
    if (it.kind === 'statement') {
      const head = it.yamlKey ?? it.atoms[0];
      if (blockIds.includes(head.text) && !matchStatement(topLevel, [head.text])) {
        report(diag('block-is-statement', head.span, { name: head.text }));
        failed.add(`${head.text}.?`); // its defaults would mislead the whole-policy checks
        return;
      }
      statement(topLevel, it);
      return;
    }
    blockItem(it);
  };

  const blockItem = (b: Block) => {
    const spec = blockSpec(b.name.text);
    if (!spec) {
      if (topLevel.statements.some((s) => s.words[0] === b.name.text || s.id === b.name.text)) {
        report(diag('statement-is-block', b.name.span, { name: b.name.text }));
        failed.add('policy.?');
      } else {
        report(diag('unknown-block', b.name.span, { name: b.name.text, suggestion: suggestBlock(b.name.text) }));
        failed.add('*');
      }
      return;
    }
    const first = seenBlocks.get(spec.id!);
    if (first) {
      report(diag('duplicate-block', b.name.span, { name: spec.id!, first: where(first) }));
      failed.add(`${spec.id}.?`); // what it says is ignored
      return;
    }
    seenBlocks.set(spec.id!, b.name.span);
    for (const child of b.items) {
      if (child.kind === 'block') {
        const nested = blockSpec(child.name.text);
        report(
          diag('unknown-block', child.name.span, {
            name: child.name.text,
            suggestion: nested ? `blocks do not nest: move '${child.name.text}' out of '${spec.id}'` : `block '${spec.id}' holds statements only: ${spellings(spec, false).join(', ')}`,
          }),
        );
        failed.add('*');
        continue;
      }
      statement(spec, child);
    }
  };

  for (const it of node.items) item(it);
  return { policy, diagnostics, failed };
}

function suggestBlock(name: string): string {
  let best = '';
  let bestD = Infinity;
  for (const b of blockIds) {
    const d = levenshtein(name.toLowerCase(), b);
    if (d < bestD) {
      bestD = d;
      best = b;
    }
  }
  if (bestD <= Math.max(2, Math.floor(name.length / 3))) return `did you mean '${best}'?`;
  return `the blocks are: ${blockIds.join(', ')}`;
}
