// CST -> syntax tree. Also turns lexer and parser errors into catalogue diagnostics and
// attaches comments to the items they belong to, so that `fmt` can keep them.
import type { CstNode, IToken } from 'chevrotain';
import { createTokenInstance } from './chevrotain.js';
import type { Diagnostic } from '../src/diagnostics/diagnostic.js';
import { diag, didYouMean } from '../src/diagnostics/diagnostic.js';
import type { SourceFile, Span } from '../src/source.js';
import { parser } from './parser.js';
import type { Atom, Block, Comment, Item, PolicyNode, Statement, SyntaxTree } from './syntax-tree.js';
import { isRun, PART_COMMA, PART_CONTINUATION, PART_WORD, scan, type RunToken } from './scanner.js';
import { RCurly } from './tokens.js';

type Children = Record<string, (CstNode | IToken)[] | undefined>;

const real = (t: IToken) => !t.isInsertedInRecovery && Number.isFinite(t.startOffset);

const BaseVisitor = parser.getBaseCstVisitorConstructorWithDefaults();

class SyntaxTreeBuilder extends BaseVisitor {
  constructor(
    private readonly src: SourceFile,
    /** The scanner's parts of every TailRun: kind, start, end. */
    private readonly parts: Int32Array,
  ) {
    super();
  }

  tokenSpan(t: IToken): Span {
    return this.src.span(t.startOffset, t.startOffset + t.image.length);
  }

  atom(t: IToken, commaBefore: boolean): Atom {
    return { text: t.image, span: this.tokenSpan(t), commaBefore };
  }

  /** A part's span; lazy, since a long list has thousands and few are ever shown. */
  partSpan(k: number): Span {
    return this.src.lazySpan(this.parts[3 * k + 1], this.parts[3 * k + 2]);
  }

  partText(k: number): string {
    return this.src.text.slice(this.parts[3 * k + 1], this.parts[3 * k + 2]);
  }

  /** The statement's run, unless it has none (or error recovery made it up). */
  runOf(ctx: Children): RunToken | undefined {
    const t = (ctx.TailRun as IToken[] | undefined)?.[0];
    return t && real(t) && isRun(t) ? t : undefined;
  }

  /** The run's first part that is not a continuation newline. */
  firstPart(run: RunToken): number {
    for (let k = run.partsFrom; k < run.partsTo; k++) if (this.parts[3 * k] !== PART_CONTINUATION) return k;
    return -1;
  }

  file(ctx: Children): { policies: PolicyNode[]; stray: Item[] } {
    for (const x of (ctx.stray ?? []) as CstNode[]) this.visit(x);
    const policies = ((ctx.policy ?? []) as CstNode[]).map((p) => this.visit(p) as PolicyNode | undefined);
    const stray = ((ctx.item ?? []) as CstNode[]).map((i) => this.visit(i) as Item | undefined);
    return {
      policies: policies.filter((p): p is PolicyNode => !!p),
      stray: stray.filter((i): i is Item => !!i),
    };
  }

  policy(ctx: Children): PolicyNode | undefined {
    const kw = (ctx.Policy as IToken[])[0];
    // The name is the run's first word; anything else before the '{' is an error.
    const run = this.runOf(ctx);
    let name: Atom | undefined;
    for (let k = run ? run.partsFrom : 0; run && k < run.partsTo; k++) {
      const kind = this.parts[3 * k];
      if (kind === PART_CONTINUATION) continue;
      if (!name && kind !== PART_COMMA) {
        name = { text: this.partText(k), span: this.partSpan(k), commaBefore: false };
        continue;
      }
      this.structuralAt(diag('multi-word-policy-name', this.partSpan(k), { text: this.partText(k) }));
      break;
    }
    const rc = (ctx.RCurly as IToken[] | undefined)?.[0];
    const items = this.body(((ctx.body ?? []) as CstNode[])[0]);
    const endTok = rc && real(rc) ? rc : lastOf(items)?.span ?? this.tokenSpan(kw);
    const end = 'image' in endTok ? this.tokenSpan(endTok).end : endTok.end;
    return {
      kind: 'policy',
      keyword: this.atom(kw, false),
      name,
      items,
      span: { file: this.src.path, start: this.tokenSpan(kw).start, end },
      leading: [],
      endComments: [],
      blankBefore: false,
    };
  }

  body(node: CstNode | undefined): Item[] {
    if (!node) return [];
    for (const x of (node.children.stray ?? []) as CstNode[]) this.visit(x);
    const items = ((node.children.item ?? []) as CstNode[]).map((i) => this.visit(i) as Item | undefined);
    return items.filter((i): i is Item => !!i);
  }

  item(ctx: Children): Item | undefined {
    const head = (ctx.Word as IToken[])[0];
    if (!head || !real(head)) return undefined;
    const lc = (ctx.LCurly as IToken[] | undefined)?.[0];
    const run = this.runOf(ctx);
    const first = run ? this.firstPart(run) : -1;
    if (lc && real(lc) && first >= 0) {
      // `self-redirect on { ... }`: not a block (whose name is one word), not a statement.
      // `polcy p { ... }`: a misspelt 'policy' reads as a block with a two-word name.
      const policy = head.image !== 'policy' ? didYouMean(head.image, ['policy']) : undefined;
      this.structuralAt(diag('multi-word-block-name', this.partSpan(first), { name: head.image, text: this.partText(first) }, policy && `${policy} a policy is written 'policy NAME { ... }'`));
      return undefined;
    }
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
    // The statement's words become atoms; commas only mark the atom after them.
    const parts = this.parts;
    // Sized once (a list may have thousands of values): the head and one atom per word.
    let words = 0;
    for (let k = run ? run.partsFrom : 0; run && k < run.partsTo; k++) if (parts[3 * k] === PART_WORD) words++;
    const atoms = new Array<Atom>(1 + words);
    atoms[0] = this.atom(head, false);
    let next = 1;
    let comma = false;
    let last = -1;
    for (let k = run ? run.partsFrom : 0; run && k < run.partsTo; k++) {
      const kind = parts[3 * k];
      if (kind === PART_CONTINUATION) continue;
      last = k;
      if (kind === PART_COMMA) {
        if (comma) this.errors.push(diag('double-comma', this.partSpan(k)));
        comma = true;
        continue;
      }
      atoms[next++] = { text: this.partText(k), span: this.partSpan(k), commaBefore: comma };
      comma = false;
    }
    if (comma && last >= 0) {
      this.errors.push(diag('list-ends-with-comma', this.partSpan(last)));
    }
    const end = last >= 0 ? this.src.position(parts[3 * last + 2]) : this.tokenSpan(head).end;
    const stmt: Statement = {
      kind: 'statement',
      atoms,
      span: { file: this.src.path, start: atoms[0].span.start, end },
      leading: [],
      blankBefore: false,
    };
    return stmt;
  }

  /** A '{' without a name, or a ',' where a statement starts: reported, then skipped. */
  stray(ctx: Children): undefined {
    const lc = (ctx.LCurly as IToken[] | undefined)?.[0];
    if (lc && real(lc)) this.structuralAt(diag('unnamed-block', this.tokenSpan(lc)));
    const comma = (ctx.Comma as IToken[] | undefined)?.[0];
    if (comma && real(comma)) this.structuralAt(diag('stray-comma', this.tokenSpan(comma)));
    return undefined;
  }

  /** A syntax error the grammar lets through so that the rest of the file is checked. */
  structuralAt(d: Diagnostic): void {
    this.errors.push(d);
    this.broken = true;
  }

  errors: Diagnostic[] = [];
  broken = false;
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
/** Blocks nest three levels in a policy; anything past this is refused before parsing. */
export const MAX_NESTING = 16;

export function parseIntercept(src: SourceFile): ParseResult {
  const diagnostics: Diagnostic[] = [];
  const lexed = scan(src.text);
  for (const e of lexed.errors) {
    const ch = src.text.slice(e.offset, e.offset + Math.max(1, e.length));
    diagnostics.push(diag('unexpected-character', src.span(e.offset, e.offset + Math.max(1, e.length)), { text: ch }));
  }

  // Far deeper nesting than any policy has: refused before the parser's recursion meets it.
  let depth = 0;
  for (const t of lexed.braces) {
    depth = t.tokenType.name === 'LCurly' ? depth + 1 : Math.max(0, depth - 1);
    if (depth > MAX_NESTING) {
      diagnostics.push(diag('nesting-too-deep', src.span(t.startOffset, t.startOffset + 1), { max: MAX_NESTING, depth }));
      return { tree: { file: src.path, syntax: 'intercept', policies: [], endComments: [] }, diagnostics, broken: true };
    }
  }

  // Unbalanced braces get their own diagnostics, naming the block, before the parser's
  // generic ones (which are then dropped for end of input).
  const braceProblems: Diagnostic[] = [];
  const toks = lexed.tokens;
  // Brace depth at each token, to tell items that really stand outside every policy from
  // the ones error recovery lifted out of one: the depth after each brace (the scanner
  // lists them apart, so the analysis never walks the other tokens).
  const depthChanges: { offset: number; depth: number }[] = [];
  const depthAt = (offset: number) => {
    let depth = 0;
    for (const c of depthChanges) {
      if (c.offset > offset) break;
      depth = c.depth;
    }
    return depth;
  };
  const indentOf = (line: number) => {
    const text = src.lineText(line);
    return text.length - text.trimStart().length + 1;
  };
  // The lexer tracks offsets only (faster); lines and columns come from the source.
  const lineOf = (t: IToken) => src.position(t.startOffset).line;
  const colOf = (t: IToken) => src.position(t.startOffset).col;
  const firstOnLine = (t: IToken) => src.lineText(lineOf(t)).slice(0, colOf(t) - 1).trim() === '';
  /**
   * Match the braces. With `byIndent`, a '}' alone on its line at the indentation of an
   * outer block's line closes that block, and the blocks opened inside it (indented deeper)
   * are the ones left open, not the outermost as plain counting would say. That reading is
   * used only when some '{' is left open: in a file whose braces balance, indentation
   * means nothing.
   */
  const matchBraces = (byIndent: boolean) => {
    const stack: IToken[] = [];
    const unclosed: IToken[] = [];
    const extra: IToken[] = [];
    for (const t of lexed.braces) {
      if (t.tokenType.name === 'LCurly') stack.push(t);
      else {
        if (stack.length === 0) {
          extra.push(t);
          continue;
        }
        const top = stack[stack.length - 1];
        if (byIndent && firstOnLine(t) && indentOf(lineOf(top)) > colOf(t)) {
          let k = stack.length - 1;
          while (k >= 0 && indentOf(lineOf(stack[k])) !== colOf(t)) k--;
          if (k >= 0 && k < stack.length - 1) unclosed.push(...stack.splice(k + 1));
        }
        stack.pop();
      }
      // The depth changes just after a brace (the tokens after it are at the new depth).
      if (!byIndent) depthChanges.push({ offset: t.startOffset + 1, depth: stack.length });
    }
    return { stack, unclosed, extra };
  };
  let braces = matchBraces(false);
  if (braces.stack.length > 0) braces = matchBraces(true);
  const { stack, unclosed } = braces;
  for (const t of braces.extra) {
    braceProblems.push(diag('unmatched-brace', src.span(t.startOffset, t.startOffset + 1)));
  }
  for (const lc of [...unclosed, ...stack]) {
    // Name the block by the words before its '{' (all of them, back to the start of the
    // statement): `inbound`, `policy p`.
    let first = toks.indexOf(lc);
    while (first > 0 && ['Word', 'Policy', 'TailRun'].includes(toks[first - 1].tokenType.name)) first--;
    const words = toks.slice(first, toks.indexOf(lc));
    const named = words.length > 0;
    const from = named ? words[0] : lc;
    const to = named ? words[words.length - 1] : lc;
    const label = named ? shorten(tokenWords(words, lexed.parts, src.text)) : '{';
    braceProblems.push(diag('unclosed-block', src.span(from.startOffset, isRun(to) ? to.end : to.startOffset + to.image.length), { name: label }));
  }

  // Close each block that the indentation says was left open, just before the first line
  // that is not indented deeper than its opening line, so that what follows is parsed where
  // it was meant to be (a sibling, not a nested block).
  // The parser reads the scanner's tokens, copied only when closers are inserted.
  let input = toks;
  const closeAt = unclosed.map((lc) => {
    const indent = indentOf(lineOf(lc));
    let j = toks.indexOf(lc) + 1;
    while (j < toks.length && (toks[j].tokenType.name === 'Newline' || !firstOnLine(toks[j]) || colOf(toks[j]) > indent)) j++;
    return j;
  });
  if (closeAt.length > 0) input = [...toks];
  for (const j of closeAt.sort((a, b) => b - a)) input.splice(j, 0, createTokenInstance(RCurly, '}', NaN, NaN, NaN, NaN, NaN, NaN));

  parser.input = input;
  const cst = parser.file();
  const builder = new SyntaxTreeBuilder(src, lexed.parts);
  const seen = new Set<string>();
  for (const e of parser.errors) {
    const t = e.token;
    const atEof = t.tokenType.name === 'EOF' || !Number.isFinite(t.startOffset);
    if (atEof && stack.length > 0) continue; // reported as unclosed-block
    // With balanced braces, an error at the end of the file follows from an earlier one
    // that recovery skipped over.
    if (atEof && diagnostics.length + braceProblems.length > 0) continue;
    let span: Span;
    if (atEof) span = src.span(src.text.length, src.text.length);
    else span = src.span(t.startOffset, t.startOffset + t.image.length);
    const key = `${span.start.offset}`;
    if (seen.has(key)) continue; // one error per position: recovery may report twice
    seen.add(key);
    diagnostics.push(parseErrorDiagnostic(e.message, t, span));
  }
  diagnostics.push(...braceProblems);

  const { policies, stray } = builder.visit(cst) as { policies: PolicyNode[]; stray: Item[] };
  const broken = diagnostics.length > 0 || stray.length > 0 || builder.broken;
  diagnostics.push(...builder.errors);
  const comments: Comment[] = lexed.comments.map((t) => ({
    text: t.image.slice(1),
    span: builder.tokenSpan(t),
  }));
  const tree: SyntaxTree = { file: src.path, syntax: 'intercept', policies, endComments: [] };
  attachComments(tree, comments);
  const outside = stray.filter((i) => depthAt((i.kind === 'block' ? i.name : i.atoms[0]).span.start.offset) === 0);
  if (outside.length > 0) {
    const first = outside[0];
    const what = first.kind === 'block' ? `block '${first.name.text}'` : `'${first.atoms[0].text}'`;
    diagnostics.push(diag('outside-policy', first.kind === 'block' ? first.name.span : first.atoms[0].span, { what }));
  }
  return { tree, diagnostics, broken };
}

/** Whole words of `text` up to about 40 characters, then '...' (a block's label). */
function shorten(text: string): string {
  if (text.length <= 40) return text;
  let out = '';
  for (const w of text.split(' ')) {
    if (out.length + w.length > 36) break;
    out += out ? ` ${w}` : w;
  }
  return `${out || text.slice(0, 36)} ...`;
}

/** Tokens' words and commas as they read on one line (`exclude ports 1, 2`). */
function tokenWords(tokens: IToken[], parts: Int32Array, text: string): string {
  let out = '';
  const add = (piece: string) => (out += piece === ',' || out === '' ? piece : ` ${piece}`);
  for (const t of tokens) {
    if (!isRun(t)) {
      add(t.image);
      continue;
    }
    for (let k = t.partsFrom; k < t.partsTo; k++) if (parts[3 * k] !== PART_CONTINUATION) add(text.slice(parts[3 * k + 1], parts[3 * k + 2]));
  }
  return out;
}

/**
 * A parser error as a diagnostic. The grammar (parser.ts) can fail in two ways only: a
 * policy header without its '{' (`missing-open-brace`), and `policy` inside a block, where
 * the block's '}' was expected (`nested-policy`). Anything else Chevrotain might report is
 * a `syntax-error` with its own description.
 */
export function parseErrorDiagnostic(message: string, t: IToken, span: Span): Diagnostic {
  const found = foundText(t);
  if (/--> '\{' <--/.test(message)) return diag('missing-open-brace', span, { found });
  if (/--> '\}' <--/.test(message) && t.tokenType.name === 'Policy' && Number.isFinite(t.startOffset)) return diag('nested-policy', span);
  return diag('syntax-error', span, { detail: describeParseError(message, t) });
}

function foundText(t: IToken): string {
  const atEnd = t.tokenType.name === 'EOF' || !Number.isFinite(t.startOffset);
  return atEnd ? 'the end of the file' : t.image === '\n' ? 'the end of the line' : `'${t.image}'`;
}

function describeParseError(message: string, t: IToken): string {
  const found = foundText(t);
  // Chevrotain 11 says "Expecting --> X <-- but found --> 'y' <--" (older versions:
  // "Expecting token of type --> X <--") or "Expecting: one of these possible Token
  // sequences: ..."; keep only what was expected.
  const m = /Expecting (?:token of type )?--> (.*?) <--/.exec(message);
  if (m) return `expected ${m[1]}, found ${found}`;
  if (/Expecting: one of these possible Token sequences/.test(message)) {
    const alts = [...message.matchAll(/\[([^\]]*)\]/g)].map((x) => x[1].trim()).filter(Boolean);
    const uniq = [...new Set(alts)];
    return `expected ${uniq.slice(0, 4).join(' or ')}, found ${found}`;
  }
  return `unexpected ${found.replace(/^the /, '')}`;
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
