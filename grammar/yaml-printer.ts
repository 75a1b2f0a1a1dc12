// The canonical YAML layout of a policy: `policy: NAME`, then blocks as mappings with
// two-space indentation. A statement's value is a plain or quoted scalar, a flow list
// `[a, b]` when it is a list of single values, or a block list when that would pass the
// line width. Comments and single blank lines are kept.
import type { Atom, Comment, Item, SyntaxTree } from './syntax-tree.js';

const WIDTH = 100;

const c = (x: Comment) => `#${x.text.replace(/\s+$/, '')}`;

/** A value as a YAML scalar: plain where that reads back as the same text, else quoted. */
function scalar(text: string, flow: boolean): string {
  if (/^[0-9]+$/.test(text)) return text;
  const safe = flow ? /^[A-Za-z0-9_./+][A-Za-z0-9_./+-]*$/ : /^[A-Za-z0-9_./+][A-Za-z0-9_.:/+, -]*$/;
  const reserved = /^(null|Null|NULL|~|y|Y|yes|Yes|YES|n|N|no|No|NO)$/;
  if (safe.test(text) && !reserved.test(text) && !/ $/.test(text) && !/[:,] |:$/.test(text)) return text;
  return JSON.stringify(text);
}

function dslText(atoms: Atom[]): string {
  return atoms.map((a, i) => (i === 0 ? a.text : (a.commaBefore ? ', ' : ' ') + a.text)).join('');
}

/** Split atoms into comma-separated list items, each a run of words. */
function listItems(atoms: Atom[]): string[] {
  const items: Atom[][] = [];
  for (const a of atoms) {
    if (a.commaBefore || items.length === 0) items.push([a]);
    else items[items.length - 1].push(a);
  }
  return items.map((xs) => xs.map((x) => x.text).join(' '));
}

export function printYaml(tree: SyntaxTree): string {
  const out: string[] = [];
  tree.policies.forEach((p, i) => {
    if (i > 0) out.push('---');
    for (const x of p.leading) out.push(c(x));
    out.push(`policy: ${p.name ? scalar(p.name.text, false) : '""'}` + (p.openComment ? '  ' + c(p.openComment) : ''));
    items(p.items, '', out);
    for (const x of p.endComments) out.push(c(x));
    // A comment after the policy's closing brace (DSL) has no line of its own in YAML.
    if (p.trailing) out.push(c(p.trailing));
  });
  for (const x of tree.endComments) out.push(c(x));
  return out.join('\n') + '\n';
}

function items(xs: Item[], indent: string, out: string[]): void {
  for (const it of xs) {
    if (it.blankBefore) out.push('');
    for (const x of it.leading) out.push(indent + c(x));
    if (it.kind === 'block') {
      // The comment on the key line: the one on the block's '{' line, else the one after
      // its '}' (DSL); if there are both, the latter closes the block.
      const keyComment = it.openComment ?? it.trailing;
      const end = it.openComment && it.trailing ? [...it.endComments, it.trailing] : it.endComments;
      const value = it.items.length === 0 ? ' {}' : '';
      out.push(`${indent}${it.name.text}:${value}` + (keyComment ? '  ' + c(keyComment) : ''));
      items(it.items, indent + '  ', out);
      for (const x of end) out.push(indent + '  ' + c(x));
      continue;
    }
    const key = `${indent}${it.yamlKey ? it.yamlKey.text : it.atoms[0]?.text}:`;
    const atoms = it.yamlKey ? it.atoms : it.atoms.slice(1);
    const trailing = it.trailing ? '  ' + c(it.trailing) : '';
    if (atoms.length === 0) {
      out.push(key + trailing);
      continue;
    }
    const parts = listItems(atoms);
    const isList = parts.length > 1 && parts.every((p) => !p.includes(' '));
    if (!isList) {
      out.push(`${key} ${scalar(dslText(atoms), false)}${trailing}`);
      continue;
    }
    const flow = `${key} [${parts.map((p) => scalar(p, true)).join(', ')}]`;
    if (flow.length <= WIDTH) {
      out.push(flow + trailing);
      continue;
    }
    // The trailing comment goes after the last item, where it reads back as trailing (on
    // the key line it would read back as a comment inside the statement).
    out.push(key);
    parts.forEach((p, i) => out.push(`${indent}  - ${scalar(p, false)}${i === parts.length - 1 ? trailing : ''}`));
  }
}
