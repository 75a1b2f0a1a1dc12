// Moves a syntax tree between the two statement spellings: DSL (`capture ports *`, key
// words as atoms) and YAML (`capture-ports: "*"`, the key named). Converting between
// syntaxes, and printing either, goes through these.
import type { Atom, Block, Item, PolicyNode, Statement, SyntaxTree } from '../../grammar/syntax-tree.js';
import { resolveStatement } from './build.js';
import { blockSpec, topLevel, type BlockSpec } from './schema.js';

function mapItems(items: Item[], block: BlockSpec | undefined, f: (s: Statement, b: BlockSpec | undefined) => Statement): Item[] {
  return items.map((it) => {
    if (it.kind === 'statement') return f(it, block);
    const b: Block = { ...it, items: mapItems(it.items, blockSpec(it.name.text), f) };
    return b;
  });
}

function mapTree(tree: SyntaxTree, syntax: SyntaxTree['syntax'], f: (s: Statement, b: BlockSpec | undefined) => Statement): SyntaxTree {
  const policies: PolicyNode[] = tree.policies.map((p) => ({ ...p, items: mapItems(p.items, topLevel, f) }));
  return { ...tree, syntax, policies };
}

export function toDslForm(tree: SyntaxTree): SyntaxTree {
  return mapTree(tree, 'intercept', (s, b) => {
    if (!s.yamlKey) return s;
    const r = b && resolveStatement(b, s);
    const words = r ? r.spec.words : [s.yamlKey.text];
    const key: Atom[] = words.map((w) => ({ text: w, span: s.yamlKey!.span, commaBefore: false }));
    const args = s.atoms.map((a, i) => (i === 0 ? { ...a, commaBefore: false } : a));
    const out: Statement = { ...s, atoms: [...key, ...args] };
    delete out.yamlKey;
    return out;
  });
}

export function toYamlForm(tree: SyntaxTree): SyntaxTree {
  return mapTree(tree, 'yaml', (s, b) => {
    if (s.yamlKey) return s;
    const r = b && resolveStatement(b, s);
    const keyAtoms = r ? r.key : s.atoms.slice(0, 1);
    const id = r ? r.spec.id : s.atoms[0].text;
    const args = s.atoms.slice(keyAtoms.length);
    return { ...s, yamlKey: { text: id, span: keyAtoms[0].span, commaBefore: false }, atoms: args };
  });
}
