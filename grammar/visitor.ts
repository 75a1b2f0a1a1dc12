// CST -> syntax tree. Also turns lexer and parser errors into catalogue diagnostics and
// attaches comments to the items they belong to, so that `fmt` can keep them.
import type { CstNode, IToken } from 'chevrotain';
import type { Diagnostic } from '../src/diagnostics/diagnostic.js';
import { diag } from '../src/diagnostics/diagnostic.js';
import type { SourceFile, Span } from '../src/source.js';
import { parser } from './parser.js';
import type { Atom, Block, Comment, Item, PolicyNode, Statement, SyntaxTree } from './syntax-tree.js';
import { interceptLexer } from './tokens.js';

type Children = Record<string, (CstNode | IToken)[] | undefined>;

const isToken = (x: CstNode | IToken): x is IToken => 'image' in x;
const real = (t: IToken) => !t.isInsertedInRecovery && Number.isFinite(t.startOffset);

const BaseVisitor = parser.getBaseCstVisitorConstructorWithDefaults();

class SyntaxTreeBuilder extends BaseVisitor {
  constructor(private readonly src: SourceFile) {
    super();
  }

  tokenSpan(t: IToken): Span {
    return this.src.span(t.startOffset, (t.endOffset ?? t.startOffset) + 1);
  }

  atom(t: IToken, commaBefore: boolean): Atom {
    return { text: t.image, span: this.tokenSpan(t), commaBefore };
  }

  /** All real tokens directly under a node, in source order. */
  tokens(ch: Children, names: string[]): IToken[] {
    const out: IToken[] = [];
    for (const n of names) for (const t of ch[n] ?? []) if (isToken(t) && real(t)) out.push(t);
    return out.sort((a, b) => a.startOffset - b.startOffset);
  }

  file(ctx: Children): { policies: PolicyNode[]; stray: Item[] } {
    const policies = ((ctx.policy ?? []) as CstNode[]).map((p) => this.visit(p) as PolicyNode | undefined);
    const stray = ((ctx.item ?? []) as CstNode[]).map((i) => this.visit(i) as Item | undefined);
    return {
      policies: policies.filter((p): p is PolicyNode => !!p),
      stray: stray.filter((i): i is Item => !!i),
    };
  }

  policy(ctx: Children): PolicyNode | undefined {
    const kw = (ctx.Policy as IToken[])[0];
    const name = (ctx.Word as IToken[] | undefined)?.[0];
    const rc = (ctx.RCurly as IToken[] | undefined)?.[0];
    const items = this.body(((ctx.body ?? []) as CstNode[])[0]);
    const endTok = rc && real(rc) ? rc : lastOf(items)?.span ?? this.tokenSpan(kw);
    const end = 'image' in endTok ? this.tokenSpan(endTok).end : endTok.end;
    return {
      kind: 'policy',
      keyword: this.atom(kw, false),
      name: name && real(name) ? this.atom(name, false) : undefined,
      items,
      span: { file: this.src.path, start: this.tokenSpan(kw).start, end },
      leading: [],
      endComments: [],
      blankBefore: false,
    };
  }

  body(node: CstNode | undefined): Item[] {
    if (!node) return [];
    const items = ((node.children.item ?? []) as CstNode[]).map((i) => this.visit(i) as Item | undefined);
    return items.filter((i): i is Item => !!i);
  }

  item(ctx: Children): Item | undefined {
    const head = (ctx.Word as IToken[])[0];
    if (!head || !real(head)) return undefined;
    const lc = (ctx.LCurly as IToken[] | undefined)?.[0];
    if (lc && real(lc)) {
      const rc = (ctx.RCurly as IToken[] | undefined)?.[0];
      const items = this.body(((ctx.body ?? []) as CstNode[])[0]);
      const end = rc && real(rc) ? this.tokenSpan(rc).end : (lastOf(items)?.span ?? this.tokenSpan(lc)).end;
      const block: Block = {
        kind: 'block',
        name: this.atom(head, false),
        items,
        span: { file: this.src.path, start: this.tokenSpan(head).start, end },
        leading: [],
        endComments: [],
        blankBefore: false,
      };
      return block;
    }
    const tail = ((ctx.tail ?? []) as CstNode[])[0];
    const toks = tail ? this.tokens(tail.children as Children, ['Word', 'Policy', 'Comma']) : [];
    const atoms: Atom[] = [this.atom(head, false)];
    let comma = false;
    for (const t of toks) {
      if (t.tokenType.name === 'Comma') {
        if (comma) this.errors.push(diag('syntax-error', this.tokenSpan(t), { detail: "two commas in a row: a value is missing between them" }));
        comma = true;
        continue;
      }
      atoms.push(this.atom(t, comma));
      comma = false;
    }
    const lastTok = toks[toks.length - 1];
    if (comma && lastTok) {
      this.errors.push(
        diag('syntax-error', this.tokenSpan(lastTok), { detail: "the list ends with ',': a value is missing after it" }),
      );
    }
    const endSpan = lastTok ? this.tokenSpan(lastTok) : this.tokenSpan(head);
    const stmt: Statement = {
      kind: 'statement',
      atoms,
      span: { file: this.src.path, start: this.tokenSpan(head).start, end: endSpan.end },
      leading: [],
      blankBefore: false,
    };
    return stmt;
  }

  tail(): undefined {
    return undefined;
  }

  errors: Diagnostic[] = [];
}

function lastOf<T>(xs: T[]): T | undefined {
  return xs[xs.length - 1];
}

export interface ParseResult {
  tree: SyntaxTree;
  diagnostics: Diagnostic[];
  /** The structure itself is damaged (lexer, parser or brace errors), not just a list. */
  broken: boolean;
}

/** Parse .intercept text into the syntax tree, reporting every lexer and parser error. */
export function parseIntercept(src: SourceFile): ParseResult {
  const diagnostics: Diagnostic[] = [];
  const lexed = interceptLexer.tokenize(src.text);
  for (const e of lexed.errors) {
    const ch = src.text.slice(e.offset, e.offset + Math.max(1, e.length));
    diagnostics.push(diag('unexpected-character', src.span(e.offset, e.offset + Math.max(1, e.length)), { text: ch }));
  }

  // Unbalanced braces get their own diagnostics, naming the block, before the parser's
  // generic ones (which are then dropped for end of input).
  const stack: IToken[] = [];
  const braceProblems: Diagnostic[] = [];
  const toks = lexed.tokens;
  toks.forEach((t, i) => {
    if (t.tokenType.name === 'LCurly') stack.push(t);
    else if (t.tokenType.name === 'RCurly') {
      if (stack.length === 0) {
        braceProblems.push(diag('syntax-error', src.span(t.startOffset, t.startOffset + 1), { detail: "'}' closes nothing" }, 'remove it, or add the block it was meant to close'));
      } else stack.pop();
    }
    void i;
  });
  for (const lc of stack) {
    const idx = toks.indexOf(lc);
    const nameTok = toks[idx - 1];
    const named = nameTok && (nameTok.tokenType.name === 'Word' || nameTok.tokenType.name === 'Policy');
    const at = named ? nameTok : lc;
    const label = named ? (toks[idx - 2]?.tokenType.name === 'Policy' ? `policy ${nameTok.image}` : nameTok.image) : '{';
    braceProblems.push(diag('unclosed-block', src.span(at.startOffset, (at.endOffset ?? at.startOffset) + 1), { name: label }));
  }

  parser.input = toks;
  const cst = parser.file();
  const builder = new SyntaxTreeBuilder(src);
  const seen = new Set<string>();
  for (const e of parser.errors) {
    const t = e.token;
    const atEof = t.tokenType.name === 'EOF' || !Number.isFinite(t.startOffset);
    if (atEof && stack.length > 0) continue; // reported as unclosed-block
    let span: Span;
    if (atEof) span = src.span(src.text.length, src.text.length);
    else span = src.span(t.startOffset, (t.endOffset ?? t.startOffset) + 1);
    const key = `${span.start.offset}`;
    if (seen.has(key)) continue; // one error per position: recovery may report twice
    seen.add(key);
    diagnostics.push(diag('syntax-error', span, { detail: describeParseError(e.message, t) }));
  }
  diagnostics.push(...braceProblems);

  const { policies, stray } = builder.visit(cst) as { policies: PolicyNode[]; stray: Item[] };
  const broken = diagnostics.length > 0 || stray.length > 0;
  diagnostics.push(...builder.errors);
  const comments: Comment[] = ((lexed.groups.comments ?? []) as IToken[]).map((t) => ({
    text: t.image.slice(1),
    span: builder.tokenSpan(t),
  }));
  const tree: SyntaxTree = { file: src.path, syntax: 'intercept', policies, endComments: [] };
  attachComments(tree, comments);
  if (stray.length > 0) {
    const first = stray[0];
    const what = first.kind === 'block' ? `block '${first.name.text}'` : `'${first.atoms[0].text}'`;
    diagnostics.push(
      diag('syntax-error', first.kind === 'block' ? first.name.span : first.atoms[0].span, {
        detail: `${what} stands outside any policy`,
      }, "put it inside 'policy NAME { ... }'"),
    );
  }
  return { tree, diagnostics, broken };
}

function describeParseError(message: string, t: IToken): string {
  const found = t.tokenType.name === 'EOF' ? 'the end of the file' : t.image === '\n' ? 'the end of the line' : `'${t.image}'`;
  // Chevrotain says "Expecting token of type --> X <-- but found --> 'y' <--" or
  // "Expecting: one of these possible Token sequences: ..."; keep only what was expected.
  const m = /Expecting token of type --> (.*?) <--/.exec(message);
  if (m) return `expected ${m[1]}, found ${found}`;
  if (/Expecting: one of these possible Token sequences/.test(message)) {
    const alts = [...message.matchAll(/\[([^\]]*)\]/g)].map((x) => x[1].trim()).filter(Boolean);
    const uniq = [...new Set(alts)];
    return `expected ${uniq.slice(0, 4).join(' or ')}, found ${found}`;
  }
  if (/Redundant input/.test(message)) return `unexpected ${found}`;
  return `unexpected ${found}`;
}

// ---- comments ---------------------------------------------------------------------------

/**
 * Give every comment a home: leading (own lines before an item), trailing (same line,
 * after the item), the opening line of a block, or the end of a block. Comments inside a
 * multi-line statement become leading comments of that statement.
 */
export function attachComments(tree: SyntaxTree, comments: Comment[]): void {
  let i = 0;
  const take = (pred: (c: Comment) => boolean): Comment[] => {
    const out: Comment[] = [];
    while (i < comments.length && pred(comments[i])) out.push(comments[i++]);
    return out;
  };
  const before = (offset: number) => (c: Comment) => c.span.start.offset < offset;

  const walk = (node: PolicyNode | Block) => {
    const openLine = node.kind === 'policy' ? node.keyword.span.start.line : node.name.span.start.line;
    const end = node.span.end.offset;
    const firstStart = node.items[0]?.span.start.offset ?? end;
    const open = take((c) => c.span.start.line === openLine && c.span.start.offset < firstStart);
    if (open.length) node.openComment = open[0];
    let prevEndLine = open.length ? open[open.length - 1].span.start.line : openLine;
    node.items.forEach((item, idx) => {
      item.leading = take(before(item.span.start.offset));
      const firstLine = item.leading[0]?.span.start.line ?? item.span.start.line;
      item.blankBefore = idx > 0 && firstLine > prevEndLine + 1;
      if (item.kind === 'block') walk(item);
      else item.leading.push(...take(before(item.span.end.offset)));
      const tr = take((c) => c.span.start.line === item.span.end.line && c.span.start.offset < end);
      if (tr.length) item.trailing = tr[0];
      prevEndLine = item.span.end.line;
    });
    node.endComments = take(before(end));
  };

  for (const p of tree.policies) {
    p.leading = take(before(p.span.start.offset));
    walk(p);
    const tr = take((c) => c.span.start.line === p.span.end.line);
    if (tr.length) p.trailing = tr[0];
  }
  tree.endComments = take(() => true);
}
