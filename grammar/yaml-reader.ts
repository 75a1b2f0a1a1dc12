// The YAML twin: reads a policy written as YAML into the same syntax tree as .intercept.
// Blocks are mappings, statements are keys (the kebab-case statement id), values are a
// scalar or a list of scalars. Scalars are lexed with the .intercept lexer, so that
// `mode: tproxy mark 1337 table 133` and `exclude-ports: 15090, 15021` read exactly as
// they do in the DSL, and every value keeps its own line:col in the YAML file.
import { isMap, isScalar, isSeq, LineCounter, parseAllDocuments, type Node, type Pair, type Scalar, type YAMLMap } from 'yaml';
import { diag, type Diagnostic } from '../src/diagnostics/diagnostic.js';
import type { SourceFile, Span } from '../src/source.js';
import type { ParseResult } from './visitor.js';
import type { Atom, Block, Comment, Item, PolicyNode, Statement, SyntaxTree } from './syntax-tree.js';
import { interceptLexer } from './tokens.js';

const BLOCKS = new Set(['proxy', 'inbound', 'outbound', 'loopback', 'dns', 'interfaces']);

export function parseYaml(src: SourceFile): ParseResult {
  const diagnostics: Diagnostic[] = [];
  const tree: SyntaxTree = { file: src.path, syntax: 'yaml', policies: [], endComments: [] };
  const docs = parseAllDocuments(src.text, { uniqueKeys: false, lineCounter: new LineCounter(), keepSourceTokens: false });
  const list = Array.isArray(docs) ? docs : [docs];
  const r = new Reader(src, diagnostics);
  for (const doc of list) {
    for (const e of doc.errors) {
      const [a, b] = e.pos;
      const alias = /alias/i.test(e.message);
      diagnostics.push(diag('yaml-syntax', src.span(a, Math.max(a + 1, b)), { detail: firstLine(e.message) }, alias ? undefined : ''));
    }
    if (doc.errors.length) continue;
    if (doc.contents === null) continue;
    const p = r.policy(doc.contents as Node, doc.commentBefore ?? undefined);
    if (p) tree.policies.push(p);
    if (doc.comment) tree.endComments.push(...r.comments(doc.comment, p?.span ?? r.spanOf(doc.contents as Node)));
  }
  return { tree, diagnostics, broken: diagnostics.length > 0 };
}

function firstLine(s: string): string {
  return s.split('\n')[0].replace(/ at line \d+, column \d+:?$/, '');
}

class Reader {
  constructor(
    private readonly src: SourceFile,
    private readonly diagnostics: Diagnostic[],
  ) {}

  spanOf(n: Node | Pair['key']): Span {
    const range = (n as Node | null)?.range;
    if (!range) return this.src.span(0, 0);
    return this.src.span(range[0], Math.max(range[0], range[1]));
  }

  comments(text: string | null | undefined, span: Span): Comment[] {
    if (!text) return [];
    return text.split('\n').map((line) => ({ text: line, span }));
  }

  shape(n: Node | Pair['key'], detail: string): void {
    this.diagnostics.push(diag('yaml-shape', this.spanOf(n), { detail }));
  }

  policy(root: Node, header: string | undefined): PolicyNode | undefined {
    if (!isMap(root)) {
      this.shape(root, 'a policy file is a mapping with a `policy: NAME` key and its blocks');
      return undefined;
    }
    const span = this.spanOf(root);
    const kwAtom: Atom = { text: 'policy', span: this.src.span(span.start.offset, span.start.offset), commaBefore: false };
    const node: PolicyNode = { kind: 'policy', keyword: kwAtom, items: [], span, leading: this.comments(header, span), endComments: [], blankBefore: false };
    for (const pair of (root as YAMLMap).items) {
      const key = this.keyAtom(pair);
      if (!key) continue;
      if (key.text === 'policy') {
        const v = pair.value as Node | null;
        if (!isScalar(v)) {
          this.shape(v ?? pair.key, "'policy' takes the policy's name, a plain word");
          continue;
        }
        const atoms = this.scalarAtoms(v);
        if (atoms.length === 1) {
          node.name = atoms[0];
          node.keyword = { ...kwAtom, span: key.span };
        } else this.shape(v, "'policy' takes the policy's name, a plain word");
        const keyNode = pair.key as Node;
        node.leading.push(...this.comments(keyNode.commentBefore, key.span));
        continue;
      }
      const item = this.item(pair, key);
      if (item) node.items.push(item);
    }
    if (root.comment) node.endComments.push(...this.comments(root.comment, span));
    return node;
  }

  keyAtom(pair: Pair): Atom | undefined {
    const k = pair.key as Node | null;
    if (!isScalar(k) || typeof k.value !== 'string') {
      this.shape(k ?? (pair.value as Node), 'keys are plain words such as `proxy` or `capture-ports`');
      return undefined;
    }
    return { text: k.value, span: this.spanOf(k), commaBefore: false };
  }

  item(pair: Pair, key: Atom): Item | undefined {
    const keyNode = pair.key as Node;
    const v = pair.value as Node | null;
    const leading = this.comments(keyNode.commentBefore, key.span);
    const blankBefore = !!keyNode.spaceBefore;
    if (isMap(v)) {
      const block: Block = { kind: 'block', name: key, items: [], span: { ...key.span, end: this.spanOf(v).end }, leading, endComments: [], blankBefore };
      for (const child of (v as YAMLMap).items) {
        const ck = this.keyAtom(child);
        if (!ck) continue;
        const it = this.item(child, ck);
        if (it) block.items.push(it);
      }
      if (v.comment) block.endComments.push(...this.comments(v.comment, block.span));
      return block;
    }
    if (BLOCKS.has(key.text) && v !== null && !isMap(v)) {
      this.shape(v, `'${key.text}' is a block: its value must be a mapping of statements`);
      return undefined;
    }
    const atoms: Atom[] = [];
    let trailing: string | undefined;
    if (v === null || (isScalar(v) && v.value === null && (v.range?.[0] ?? 0) === (v.range?.[1] ?? 0))) {
      // `key:` with nothing: the builder reports the missing value.
    } else if (isScalar(v)) {
      atoms.push(...this.scalarAtoms(v));
      trailing = v.comment ?? undefined;
    } else if (isSeq(v)) {
      v.items.forEach((el, i) => {
        if (!isScalar(el)) {
          this.shape(el as Node, `the items of '${key.text}' must be plain values, not lists or mappings`);
          return;
        }
        const xs = this.scalarAtoms(el);
        if (xs.length && i > 0) xs[0] = { ...xs[0], commaBefore: true };
        atoms.push(...xs);
      });
      trailing = v.comment ?? undefined;
    } else {
      this.shape(v, `'${key.text}' takes a value or a list of values`);
      return undefined;
    }
    const end = atoms.length ? atoms[atoms.length - 1].span.end : key.span.end;
    const stmt: Statement = { kind: 'statement', yamlKey: key, atoms, span: { ...key.span, end }, leading, blankBefore };
    if (trailing) stmt.trailing = { text: trailing, span: stmt.span };
    return stmt;
  }

  /** Lex a scalar's source text with the DSL lexer, keeping file offsets. */
  scalarAtoms(s: Scalar): Atom[] {
    const range = s.range;
    if (!range) return [];
    let start = range[0];
    let end = range[1];
    const raw = this.src.text.slice(start, end);
    if (s.type === 'QUOTE_DOUBLE' || s.type === 'QUOTE_SINGLE') {
      start += 1;
      end -= 1;
      if (/\\|''/.test(raw)) {
        this.shape(s, 'escape sequences are not used in policy values');
        return [];
      }
    } else if (s.type === 'BLOCK_FOLDED' || s.type === 'BLOCK_LITERAL') {
      this.shape(s, 'block scalars (| and >) are not used in policy values; write the value on one line or as a list');
      return [];
    }
    const text = this.src.text.slice(start, end);
    const lexed = interceptLexer.tokenize(text);
    const atoms: Atom[] = [];
    let comma = false;
    for (const e of lexed.errors) {
      this.diagnostics.push(diag('unexpected-character', this.src.span(start + e.offset, start + e.offset + Math.max(1, e.length)), { text: text.substr(e.offset, Math.max(1, e.length)) }));
    }
    for (const t of lexed.tokens) {
      const name = t.tokenType.name;
      const span = this.src.span(start + t.startOffset, start + (t.endOffset ?? t.startOffset) + 1);
      if (name === 'Comma') {
        comma = true;
        continue;
      }
      if (name === 'Word' || name === 'Policy') {
        atoms.push({ text: t.image, span, commaBefore: comma });
        comma = false;
        continue;
      }
      if (name === 'Newline') continue;
      this.diagnostics.push(diag('unexpected-character', span, { text: t.image }));
    }
    return atoms;
  }
}
