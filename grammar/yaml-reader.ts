// The YAML twin: reads a policy written as YAML into the same syntax tree as .intercept.
// Blocks are mappings, statements are keys (the kebab-case statement id), values are a
// scalar or a list of scalars. Scalars are lexed with the .intercept lexer, so that
// `mode: tproxy mark 1337 table 133` and `exclude-ports: 15090, 15021` read exactly as
// they do in the DSL, and every value keeps its own line:col in the YAML file.
import { createRequire } from 'node:module';
import type { Node, Pair, Scalar, YAMLMap } from 'yaml';
import { diag, type Diagnostic } from '../src/diagnostics/diagnostic.js';
import type { SourceFile, Span } from '../src/source.js';
import { attachComments, type ParseResult } from './visitor.js';
import type { Atom, Block, Comment, Item, PolicyNode, Statement, SyntaxTree } from './syntax-tree.js';
import { fineTokens, scan } from './scanner.js';

// `yaml` is loaded the first time a YAML file is read (its CommonJS build, synchronously):
// checking .intercept files does not pay for it at every start.
type YamlLib = typeof import('yaml');
let yamlLib: YamlLib | undefined;
const Y = (): YamlLib => (yamlLib ??= createRequire(import.meta.url)('yaml') as YamlLib);
const isMap = (n: unknown): n is YAMLMap => Y().isMap(n);
const isScalar = (n: unknown): n is Scalar => Y().isScalar(n);
const isSeq = (n: unknown): n is import('yaml').YAMLSeq => Y().isSeq(n);

const BLOCKS = new Set(['proxy', 'inbound', 'outbound', 'loopback', 'dns', 'interfaces']);

export function parseYaml(src: SourceFile): ParseResult {
  const diagnostics: Diagnostic[] = [];
  const tree: SyntaxTree = { file: src.path, syntax: 'yaml', policies: [], endComments: [] };
  const docs = Y().parseAllDocuments(src.text, { uniqueKeys: false, lineCounter: new (Y().LineCounter)(), keepSourceTokens: false });
  const list = Array.isArray(docs) ? docs : [docs];
  const r = new Reader(src, diagnostics);
  for (const doc of list) {
    const said = new Set<string>();
    for (const e of doc.errors) {
      const [a, b] = e.pos;
      const alias = /alias/i.test(e.message);
      // The yaml library may repeat one error at one place (once per unclosed level).
      const key = `${a}:${firstLine(e.message)}`;
      if (said.has(key)) continue;
      said.add(key);
      diagnostics.push(diag('yaml-syntax', src.span(a, Math.max(a + 1, b)), { detail: firstLine(e.message) }, alias ? undefined : ''));
    }
    if (doc.errors.length) continue;
    if (doc.contents === null) continue;
    const p = r.policy(doc.contents);
    if (p) tree.policies.push(p);
  }
  // Comments are placed by their positions, exactly as in the DSL: the yaml library's
  // own comment fields merge neighbouring comments and lose the ones on a key's line.
  const comments = yamlComments(src);
  for (const p of tree.policies) extendBlocksOverComments(src, p, comments);
  attachComments(tree, comments);
  return { tree, diagnostics, broken: diagnostics.length > 0 };
}

/** Every comment of the YAML text, in source order, found in the yaml library's CST. */
function yamlComments(src: SourceFile): Comment[] {
  const out: Comment[] = [];
  const walk = (x: unknown): void => {
    if (Array.isArray(x)) {
      for (const y of x) walk(y);
      return;
    }
    if (!x || typeof x !== 'object') return;
    const t = x as { type?: unknown; offset?: unknown; source?: unknown };
    if (t.type === 'comment' && typeof t.offset === 'number' && typeof t.source === 'string') {
      out.push({ text: t.source.slice(1), span: src.span(t.offset, t.offset + t.source.length) });
      return;
    }
    for (const v of Object.values(x)) if (v && typeof v === 'object') walk(v);
  };
  try {
    for (const token of new (Y().Parser)().parse(src.text)) walk(token);
  } catch {
    // The document parser has reported whatever is wrong.
  }
  return out.sort((a, b) => a.span.start.offset - b.span.start.offset);
}

/**
 * YAML has no closing brace: comments indented under a block, after its last statement,
 * belong to that block (its end comments), not to whatever follows it.
 */
function extendBlocksOverComments(src: SourceFile, node: PolicyNode | Block, comments: Comment[]): void {
  node.items.forEach((it, i) => {
    if (it.kind !== 'block') return;
    extendBlocksOverComments(src, it, comments);
    const limit = node.items[i + 1]?.span.start.offset ?? src.text.length;
    let end = it.span.end;
    for (const c of comments) {
      if (c.span.start.offset < end.offset) continue;
      if (c.span.start.offset >= limit || c.span.start.col <= it.name.span.start.col) break;
      if (!/^\s*$/.test(src.text.slice(end.offset, c.span.start.offset))) break;
      end = c.span.end;
    }
    it.span = { file: it.span.file, start: it.span.start, end };
  });
}

function firstLine(s: string): string {
  return s.split('\n')[0].replace(/ at line \d+, column \d+:?$/, '');
}

class Reader {
  constructor(
    private readonly src: SourceFile,
    private readonly diagnostics: Diagnostic[],
  ) {}

  spanOf(n: unknown): Span {
    const range = (n as Node | null | undefined)?.range;
    if (!range) return this.src.span(0, 0);
    return this.src.span(range[0], Math.max(range[0], range[1]));
  }

  shape(n: unknown, detail: string): void {
    this.diagnostics.push(diag('yaml-shape', this.spanOf(n), { detail }));
  }

  policy(root: Node): PolicyNode | undefined {
    if (!isMap(root)) {
      this.shape(root, 'a policy file is a mapping with a `policy: NAME` key and its blocks');
      return undefined;
    }
    const span = this.spanOf(root);
    const kwAtom: Atom = { text: 'policy', span: this.src.span(span.start.offset, span.start.offset), commaBefore: false };
    const node: PolicyNode = { kind: 'policy', keyword: kwAtom, items: [], span, leading: [], endComments: [], blankBefore: false };
    for (const pair of root.items) {
      const key = this.keyAtom(pair);
      if (!key) continue;
      if (key.text === 'policy') {
        const v = pair.value as Node | null;
        node.keyword = { ...kwAtom, span: key.span };
        if (!isScalar(v)) {
          this.shape(v ?? pair.key, "'policy' takes the policy's name, a plain word");
          node.nameReported = true;
          continue;
        }
        const atoms = this.scalarAtoms(v);
        if (atoms.length === 1) node.name = atoms[0];
        else {
          this.shape(v, "'policy' takes the policy's name, a plain word");
          node.nameReported = true;
        }
        continue;
      }
      const item = this.item(pair, key);
      if (item) node.items.push(item);
    }
    // The policy ends with the line of its last key: comments after it close the file.
    const ends = [node.keyword.span.end, node.name?.span.end, ...node.items.map((i) => i.span.end)].filter((e): e is Span['end'] => !!e);
    const last = ends.reduce((a, b) => (b.offset > a.offset ? b : a), span.start);
    const lineEnd = last.offset + this.src.lineText(last.line).length - (last.col - 1);
    node.span = { file: span.file, start: span.start, end: this.src.position(Math.max(last.offset, lineEnd)) };
    return node;
  }

  keyAtom(pair: Pair): Atom | undefined {
    const k = pair.key as Node | null;
    if (!isScalar(k) || typeof k.value !== 'string') {
      this.shape(k ?? pair.value, 'keys are plain words such as `proxy` or `capture-ports`');
      return undefined;
    }
    return { text: k.value, span: this.spanOf(k), commaBefore: false };
  }

  item(pair: Pair, key: Atom, inBlock = false): Item | undefined {
    const v = pair.value as Node | null;
    const leading: Comment[] = [];
    const blankBefore = false;
    if (isMap(v) && inBlock && !BLOCKS.has(key.text)) {
      // Inside a block, a mapping is a statement given the wrong shape (a block there is
      // left to the builder, which says that blocks do not nest).
      this.shape(v, `'${key.text}' takes a value or a list of values, not a mapping`);
      return undefined;
    }
    if (isMap(v)) {
      const block: Block = { kind: 'block', name: key, items: [], span: { file: key.span.file, start: key.span.start, end: this.spanOf(v).end }, leading, endComments: [], blankBefore };
      for (const child of v.items) {
        const ck = this.keyAtom(child);
        if (!ck) continue;
        const it = this.item(child, ck, true);
        if (it) block.items.push(it);
      }
      // The block ends with its last statement (the map's range also covers the comments
      // and blank lines after it, which belong to what follows).
      const last = block.items[block.items.length - 1];
      if (last) block.span = { file: block.span.file, start: block.span.start, end: last.span.end };
      return block;
    }
    if (BLOCKS.has(key.text) && v !== null && !isMap(v)) {
      this.shape(v, `'${key.text}' is a block: its value must be a mapping of statements`);
      return undefined;
    }
    const atoms: Atom[] = [];
    const shapeErrors = () => this.diagnostics.filter((d) => d.code === 'yaml-shape').length;
    const shapeBefore = shapeErrors();
    if (v === null || (isScalar(v) && v.value === null && (v.range?.[0] ?? 0) === (v.range?.[1] ?? 0))) {
      // `key:` with nothing: the builder reports the missing value.
    } else if (isScalar(v)) {
      atoms.push(...this.scalarAtoms(v));
    } else if (isSeq(v)) {
      v.items.forEach((el, i) => {
        if (!isScalar(el)) {
          this.shape(el, `the items of '${key.text}' must be plain values, not lists or mappings`);
          return;
        }
        const xs = this.scalarAtoms(el);
        if (xs.length && i > 0) xs[0] = { ...xs[0], commaBefore: true };
        atoms.push(...xs);
      });
    } else {
      this.shape(v, `'${key.text}' takes a value or a list of values`);
      return undefined;
    }
    // A value of the wrong shape has been reported; 'needs a value' on top would mislead.
    if (shapeErrors() > shapeBefore) return undefined;
    // The statement ends with its value, closing quote or ']' included.
    const lastItem = isSeq(v) && !v.flow ? (v.items[v.items.length - 1] as Node | undefined) : v;
    const valueEnd = lastItem?.range?.[1] ?? 0;
    let end = atoms.length ? atoms[atoms.length - 1].span.end : key.span.end;
    if (valueEnd > end.offset) end = this.src.position(valueEnd);
    const stmt: Statement = { kind: 'statement', yamlKey: key, atoms, span: { file: key.span.file, start: key.span.start, end }, leading, blankBefore };
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
    const lexed = scan(text);
    const tokens = fineTokens(text, lexed);
    const atoms: Atom[] = [];
    let comma = false;
    for (const e of lexed.errors) {
      this.diagnostics.push(diag('unexpected-character', this.src.span(start + e.offset, start + e.offset + Math.max(1, e.length)), { text: text.substr(e.offset, Math.max(1, e.length)) }));
    }
    for (const t of tokens) {
      const name = t.tokenType.name;
      const span = this.src.span(start + t.startOffset, start + t.startOffset + t.image.length);
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
