// The canonical .intercept layout: two-space indentation, one statement per line, ', '
// between list items, comments kept where they were (trailing comments of neighbouring
// statements aligned), at most one blank line between items, long lists wrapped after a
// comma. The layout depends only on the tree, so printing is idempotent.
import type { Atom, Block, Comment, Item, PolicyNode, Statement, SyntaxTree } from './syntax-tree.js';

const WIDTH = 100;
const IND = '  ';

function commentText(c: Comment): string {
  return `#${c.text.replace(/\s+$/, '')}`;
}

/** A statement's text, wrapped after commas when it would pass WIDTH. */
export function statementLines(atoms: Atom[], indent: string): string[] {
  const lines: string[] = [];
  let line = indent;
  let first = true;
  atoms.forEach((a, i) => {
    if (first) {
      line += a.text;
      first = false;
      return;
    }
    const sep = a.commaBefore ? ', ' : ' ';
    // Leave room for the ',' that ends the line when more items follow.
    const comma = atoms[i + 1]?.commaBefore ? 1 : 0;
    if (a.commaBefore && line.length + sep.length + a.text.length + comma > WIDTH && i > 0) {
      lines.push(line + ',');
      line = indent + IND + IND + a.text;
      return;
    }
    line += sep + a.text;
  });
  lines.push(line);
  return lines;
}

export function printIntercept(tree: SyntaxTree): string {
  const out: string[] = [];
  tree.policies.forEach((p, i) => {
    if (i > 0) out.push('');
    printPolicy(p, out);
  });
  if (tree.endComments.length) {
    if (tree.policies.length) out.push('');
    for (const c of tree.endComments) out.push(commentText(c));
  }
  return out.join('\n') + '\n';
}

function printPolicy(p: PolicyNode, out: string[]): void {
  for (const c of p.leading) out.push(commentText(c));
  const head = `policy${p.name ? ' ' + p.name.text : ''} {`;
  printBody(head, p.items, p.openComment, p.endComments, p.trailing, '', out);
}

function printBody(head: string, items: Item[], open: Comment | undefined, end: Comment[], trailing: Comment | undefined, indent: string, out: string[]): void {
  const close = '}' + (trailing ? '  ' + commentText(trailing) : '');
  if (items.length === 0 && end.length === 0 && !open) {
    out.push(`${indent}${head.slice(0, -1)}{}${trailing ? '  ' + commentText(trailing) : ''}`);
    return;
  }
  out.push(indent + head + (open ? '  ' + commentText(open) : ''));
  const inner = indent + IND;
  // Runs of plain statements share a comment column.
  let run: { lines: string[]; comment?: Comment }[] = [];
  const flush = () => {
    const width = Math.max(0, ...run.map((r) => r.lines[r.lines.length - 1].length));
    for (const r of run) {
      const last = r.lines.length - 1;
      r.lines.forEach((l, i) => {
        if (i === last && r.comment) out.push(l.padEnd(width) + '  ' + commentText(r.comment));
        else out.push(l);
      });
    }
    run = [];
  };
  for (const it of items) {
    if (it.blankBefore || it.leading.length || it.kind === 'block') flush();
    if (it.blankBefore) out.push('');
    for (const c of it.leading) out.push(inner + commentText(c));
    if (it.kind === 'block') {
      printBlock(it, inner, out);
    } else {
      run.push({ lines: statementLines(it.atoms, inner), comment: it.trailing });
    }
  }
  flush();
  for (const c of end) out.push(inner + commentText(c));
  out.push(indent + close);
}

function printBlock(b: Block, indent: string, out: string[]): void {
  printBody(`${b.name.text} {`, b.items, b.openComment, b.endComments, b.trailing, indent, out);
}

export type { Statement };
