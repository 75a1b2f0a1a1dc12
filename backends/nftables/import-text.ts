// `nft list ruleset` text (what people paste) -> the libnftables JSON objects a JSON
// listing holds (objects.ts's Read* types) -> the JSON importer (import.ts), so text and
// JSON mean exactly the same once read. Pure: no nft, no root. Every object and every
// expression keeps the span it came from, so a diagnostic (ours, or the JSON importer's
// about a value) points at the line and column of the offending text, and each rule's
// origin is its line. The vocabulary is the JSON importer's: what it does not model is a
// located error here, never dropped. It runs over 500 lines because it is one grammar
// (blocks, matches, statements, values) over one token stream and cursor.
import { diag, type Diagnostic } from '../../src/diagnostics/diagnostic.js';
import { SourceFile, type Span } from '../../src/source.js';
import { importNftDocument, type NftImportResult } from './import.js';
import { PRIORITY_NAMES, READ_TABLE_FAMILIES, type ReadTableFamily } from './objects.js';
import { UNMODELLED_CT_KEYS, UNMODELLED_EXPRS, UNMODELLED_META_KEYS } from './import-rule.js';

interface Tok {
  kind: 'word' | 'string' | 'punct' | 'nl';
  text: string;
  start: number;
  end: number;
}

class TextError extends Error {
  constructor(
    readonly tok: { start: number; end: number },
    msg: string,
  ) {
    super(msg);
  }
}

/** Whether a text looks like an nft listing (or an `nft -f` file of table blocks). */
export function isNftText(text: string): boolean {
  return /^(?:\s*#[^\n]*\n)*\s*table\s+(?:inet|ip|ip6|arp|bridge|netdev)\s+\S+\s*\{/.test(text);
}

function tokenize(text: string): Tok[] {
  const out: Tok[] = [];
  let i = 0;
  while (i < text.length) {
    const c = text[i];
    if (c === '\n') {
      out.push({ kind: 'nl', text: '\n', start: i, end: i + 1 });
      i++;
    } else if (c === ' ' || c === '\t' || c === '\r') i++;
    else if (c === '#') {
      // `# handle 4` (nft -a) and comments run to the end of the line.
      while (i < text.length && text[i] !== '\n') i++;
    } else if (c === '"') {
      let j = i + 1;
      while (j < text.length && text[j] !== '"' && text[j] !== '\n') j += text[j] === '\\' ? 2 : 1;
      if (text[j] !== '"') throw new TextError({ start: i, end: j }, 'unterminated string');
      out.push({ kind: 'string', text: text.slice(i + 1, j).replace(/\\(.)/g, '$1'), start: i, end: j + 1 });
      i = j + 1;
    } else if ('{};,'.includes(c)) {
      out.push({ kind: 'punct', text: c, start: i, end: i + 1 });
      i++;
    } else {
      let j = i;
      while (j < text.length && !/[ \t\r\n{};,"#]/.test(text[j])) j++;
      out.push({ kind: 'word', text: text.slice(i, j), start: i, end: j });
      i = j;
    }
  }
  return out;
}

/** A cursor over tokens. */
class Cursor {
  i = 0;
  constructor(
    readonly toks: Tok[],
    readonly eof: number,
  ) {}
  peek(): Tok | undefined {
    return this.toks[this.i];
  }
  next(what: string): Tok {
    const t = this.toks[this.i];
    if (!t) throw new TextError({ start: this.eof, end: this.eof }, `expected ${what}, found the end of the text`);
    this.i++;
    return t;
  }
  skipNl(): void {
    while (this.peek()?.kind === 'nl' || this.peek()?.text === ';') this.i++;
  }
  expect(text: string): Tok {
    const t = this.next(`'${text}'`);
    if (t.text !== text || t.kind === 'string') throw new TextError(t, `expected '${text}', found '${t.text}'`);
    return t;
  }
  word(what: string): Tok {
    const t = this.next(what);
    if (t.kind !== 'word' && t.kind !== 'string') throw new TextError(t, `expected ${what}, found '${t.text}'`);
    return t;
  }
  /** The tokens up to the end of the line (braces may span lines), without the newline. */
  line(): Tok[] {
    const out: Tok[] = [];
    let depth = 0;
    for (let t = this.peek(); t; t = this.peek()) {
      if (depth === 0 && (t.kind === 'nl' || t.text === ';' || t.text === '}')) break;
      if (t.text === '{') depth++;
      if (t.text === '}') depth--;
      this.i++;
      if (t.kind !== 'nl') out.push(t);
    }
    return out;
  }
}

/** Whether a block goes on (the next token is not its `}`); the end of the text inside one is an error. */
function inBlock(c: Cursor): boolean {
  const t = c.peek();
  if (!t) throw new TextError({ start: c.eof, end: c.eof }, "expected '}', found the end of the text");
  return t.text !== '}';
}

interface Located {
  /** Shaped as the JSON listing's objects; untrusted like JSON until import.ts narrows it. */
  item: Record<string, Record<string, unknown>>;
  span: [number, number];
  exprs?: [number, number][];
}

/** Read an nft text listing into the IR, through the JSON importer. */
export function importNftText(text: string, file: string, name = file): NftImportResult {
  const src = new SourceFile(file, text);
  const items: Located[] = [];
  const errors: TextError[] = [];
  try {
    const c = new Cursor(tokenize(text), text.length);
    for (c.skipNl(); c.peek(); c.skipNl()) table(c, items, errors);
  } catch (e) {
    if (!(e instanceof TextError)) throw e;
    // Past a broken table or chain, nothing more is read (its objects may be half made).
    return { diagnostics: [...errors, e].map((x) => located(src, x.tok, x.message)) };
  }
  // A rule that cannot be read is reported and the others still are, so one run shows every bad rule.
  const textErrors = errors.map((e) => located(src, e.tok, e.message));
  const locate = (path: string): Span => {
    const m = /^\$\.nftables\[(\d+)\](?:\.\w+\.expr\[(\d+)\])?/.exec(path);
    const it = m ? items[Number(m[1])] : undefined;
    const [s, e] = (it && m?.[2] !== undefined ? it.exprs?.[Number(m[2])] : undefined) ?? it?.span ?? [0, 0];
    return src.span(s, e);
  };
  const r = importNftDocument({ nftables: items.map((x) => x.item) }, file, name, locate, (sp) => text.slice(sp.start.offset, sp.end.offset));
  if (!textErrors.length) return r;
  return { diagnostics: [...textErrors, ...r.diagnostics].sort((a, b) => (a.span?.start.offset ?? 0) - (b.span?.start.offset ?? 0)) };
}

function located(src: SourceFile, tok: { start: number; end: number }, detail: string): Diagnostic {
  return diag('rules-nft-text', src.span(tok.start, Math.max(tok.end, tok.start + 1)), { detail });
}

function table(c: Cursor, items: Located[], errors: TextError[]): void {
  const kw = c.word("'table'");
  if (kw.text !== 'table') throw new TextError(kw, `expected 'table', found '${kw.text}'`);
  const famTok = c.word('a table family');
  if (!(READ_TABLE_FAMILIES as readonly string[]).includes(famTok.text)) throw new TextError(famTok, `table family '${famTok.text}' is not read (inet, ip, ip6)`);
  const family = famTok.text as ReadTableFamily;
  const name = c.word('a table name');
  const open = c.expect('{');
  items.push({ item: { table: { family, name: name.text } }, span: [kw.start, open.end] });
  const tname = name.text;
  for (c.skipNl(); inBlock(c); c.skipNl()) {
    const t = c.word("'chain', 'set' or '}'");
    if (t.text === 'chain') chain(c, items, family, tname, t, errors);
    else if (t.text === 'set') set(c, items, family, tname, t);
    else if (t.text === 'comment' || t.text === 'flags') c.line();
    else throw new TextError(t, `'${t.text}' in a table is not read (chains and sets are)`);
  }
  c.expect('}');
}

function set(c: Cursor, items: Located[], family: ReadTableFamily, tname: string, kw: Tok): void {
  const name = c.word('a set name');
  c.expect('{');
  let type = '';
  const flags: string[] = [];
  const elem: unknown[] = [];
  for (c.skipNl(); inBlock(c); c.skipNl()) {
    const t = c.word('a set property');
    const rest = c.line();
    if (t.text === 'type') {
      type = rest.map((x) => x.text).join(' ');
      if (type !== 'ipv4_addr' && type !== 'ipv6_addr' && type !== 'inet_service') throw new TextError(rest[0] ?? t, `set type '${type}' is not read (ipv4_addr, ipv6_addr, inet_service)`);
    } else if (t.text === 'flags') flags.push(...rest.filter((x) => x.text !== ',').map((x) => x.text));
    else if (t.text === 'elements') {
      if (rest[0]?.text !== '=') throw new TextError(rest[0] ?? t, "expected 'elements = { ... }'");
      const r = value(rest.slice(1), valueKind(type), t);
      elem.push(...(typeof r === 'object' && r !== null && 'set' in r ? (r as { set: unknown[] }).set : [r]));
    } else if (!['auto-merge', 'comment', 'timeout', 'gc-interval', 'size', 'policy', 'counter'].includes(t.text)) throw new TextError(t, `set property '${t.text}' is not read`);
  }
  const close = c.expect('}');
  items.push({ item: { set: { family, table: tname, name: name.text, type, flags, elem } }, span: [kw.start, close.end] });
}

function chain(c: Cursor, items: Located[], family: ReadTableFamily, tname: string, kw: Tok, errors: TextError[]): void {
  const name = c.word('a chain name');
  const open = c.expect('{');
  const at = items.length;
  items.push({ item: { chain: { family, table: tname, name: name.text } }, span: [kw.start, open.end] });
  for (c.skipNl(); inBlock(c); c.skipNl()) {
    const first = c.peek()!;
    if (first.text === 'type') {
      base(c, items[at]);
      continue;
    }
    if (first.text === 'comment') {
      c.line();
      continue;
    }
    const toks = c.line();
    let read: ReturnType<typeof rule>;
    try {
      read = rule(toks);
    } catch (e) {
      if (!(e instanceof TextError)) throw e;
      errors.push(e);
      continue;
    }
    const { expr, spans, comment } = read;
    items.push({ item: { rule: { family, table: tname, chain: name.text, expr, ...(comment !== undefined ? { comment } : {}) } }, span: [toks[0].start, toks[toks.length - 1].end], exprs: spans });
  }
  c.expect('}');
}

/** `type filter hook prerouting priority mangle + 10; policy accept;` */
function base(c: Cursor, at: Located): void {
  const ch = at.item.chain;
  const typeTok = c.next('type');
  ch.type = c.word('a chain type').text;
  for (;;) {
    const t = c.peek();
    if (!t || t.kind === 'nl' || t.text === '}') break;
    if (t.text === ';') {
      c.i++;
      continue;
    }
    const k = c.word('hook, priority or policy');
    if (k.text === 'hook') ch.hook = c.word('a hook').text;
    else if (k.text === 'policy') ch.policy = c.word('a policy').text;
    else if (k.text === 'priority') ch.prio = priority(c.line());
    else if (k.text === 'device' || k.text === 'devices') c.line();
    else throw new TextError(k, `'${k.text}' in a base chain is not read`);
  }
  at.span = [at.span[0], typeTok.end];
}

function priority(toks: Tok[]): number {
  const num = (t: Tok | undefined): number => {
    if (!t) throw new TextError({ start: 0, end: 0 }, 'expected a priority');
    if (/^-?\d+$/.test(t.text)) return Number(t.text);
    if (Object.hasOwn(PRIORITY_NAMES, t.text)) return PRIORITY_NAMES[t.text as keyof typeof PRIORITY_NAMES];
    throw new TextError(t, `priority '${t.text}' is not read`);
  };
  let p = num(toks[0]);
  for (let i = 1; i < toks.length; i += 2) {
    const op = toks[i].text;
    if (op !== '+' && op !== '-') throw new TextError(toks[i], `expected + or - in a priority, found '${op}'`);
    p += (op === '+' ? 1 : -1) * num(toks[i + 1]);
  }
  return p;
}

// ---- rules ------------------------------------------------------------------------------

type Kind = 'addr' | 'port' | 'num' | 'word' | 'name' | 'id';

function valueKind(type: string): Kind {
  return type === 'inet_service' ? 'port' : 'addr';
}

const META_KIND: Record<string, Kind> = { l4proto: 'word', nfproto: 'word', iifname: 'name', oifname: 'name', skuid: 'id', skgid: 'id', mark: 'num' };
const CT_KIND: Record<string, Kind> = { state: 'word', mark: 'num', zone: 'num' };
const OPS = new Set(['==', '!=', 'eq', 'ne']);
const VERDICTS = new Set(['accept', 'drop', 'return']);
/** Words that start a match or statement: where an unmodelled expression's words end. */
const STARTERS = new Set(['meta', 'ct', 'ip', 'ip6', 'tcp', 'udp', 'sctp', 'th', 'socket', 'jump', 'goto', 'counter', 'log', 'comment', 'redirect', 'tproxy', 'dnat', 'masquerade', 'snat', ...VERDICTS, ...Object.keys(META_KIND), ...UNMODELLED_EXPRS]);

/** One rule's tokens -> its JSON `expr` list, a span per element, and its comment. */
function rule(toks: Tok[]): { expr: unknown[]; spans: [number, number][]; comment?: string } {
  const expr: unknown[] = [];
  const spans: [number, number][] = [];
  let comment: string | undefined;
  let i = 0;
  const at = (what: string): Tok => {
    const t = toks[i];
    if (!t) throw new TextError({ start: toks[toks.length - 1].end, end: toks[toks.length - 1].end }, `expected ${what} at the end of the rule`);
    return t;
  };
  const push = (e: unknown, from: Tok) => {
    expr.push(e);
    spans.push([from.start, toks[Math.min(i, toks.length) - 1].end]);
  };
  /** The value tokens of a match: up to the next keyword (a set in braces is one value). */
  const operand = (): Tok[] => {
    const out: Tok[] = [];
    let depth = 0;
    while (i < toks.length) {
      const t = toks[i];
      if (depth === 0 && out.length && t.text !== ',' && out[out.length - 1].text !== ',') break;
      if (t.text === '{') depth++;
      if (t.text === '}') depth--;
      out.push(t);
      i++;
      if (depth === 0 && out[0].text === '{') break;
    }
    if (!out.length) at('a value');
    return out;
  };
  const match = (left: unknown, kind: Kind, from: Tok) => {
    let op = '==';
    if (OPS.has(toks[i]?.text ?? '')) op = toks[i++].text === '!=' || toks[i - 1].text === 'ne' ? '!=' : '==';
    const v = value(operand(), kind, from);
    push({ match: { op, left, right: v } }, from);
  };
  /**
   * An expression of another tool meshcap does not model (fib, numgen, ct status, meta
   * pkttype, ...): its words up to the next match or statement, as a match the JSON
   * importer reads as unmodelled (its text is taken from the listing).
   */
  const unmodelled = (left: unknown, from: Tok) => {
    // Its first word is its own (`ct status dnat`: dnat is a value there).
    if (i < toks.length) i++;
    while (i < toks.length && !STARTERS.has(toks[i].text)) i++;
    push({ match: { op: '==', left, right: null } }, from);
  };
  while (i < toks.length) {
    const t = toks[i++];
    const w = t.kind === 'word' ? t.text : '';
    const key = w === 'ct' || w === 'meta' ? toks[i]?.text ?? '' : '';
    if ((UNMODELLED_EXPRS as readonly string[]).includes(w)) unmodelled({ [w]: {} }, t);
    else if ((w === 'ct' && (UNMODELLED_CT_KEYS as readonly string[]).includes(key)) || (w === 'meta' && (UNMODELLED_META_KEYS as readonly string[]).includes(key))) {
      i++;
      unmodelled({ [w]: { key } }, t);
    } else if (w === 'meta' || w === 'ct' || META_KIND[w] !== undefined) {
      const scope = w === 'ct' ? 'ct' : 'meta';
      const key = w === 'meta' || w === 'ct' ? at(`a ${w} key`).text : w;
      if (w === 'meta' || w === 'ct') i++;
      const kinds = scope === 'ct' ? CT_KIND : META_KIND;
      if (kinds[key] === undefined) throw new TextError(toks[i - 1], `${scope} ${key} is not read`);
      const keyExpr = { [scope]: { key } };
      if (toks[i]?.text === 'set') {
        i++;
        push({ mangle: { key: keyExpr, value: mangleValue(toks, () => i, (n) => (i = n), t) } }, t);
      } else if (toks[i]?.text === '&') {
        i++;
        const mask = number(at('a mask'));
        i++;
        match({ '&': [keyExpr, mask] }, 'num', t);
      } else if (toks[i]?.text === 'vmap' && scope === 'meta') {
        i++;
        push({ vmap: { key: keyExpr, data: { set: vmapElements(toks, () => i, (n) => (i = n), kinds[key]) } } }, t);
      } else match(keyExpr, kinds[key], t);
    } else if (w === 'ip' || w === 'ip6' || w === 'tcp' || w === 'udp' || w === 'sctp' || w === 'th') {
      const f = at(`a ${w} field`);
      i++;
      const addr = w === 'ip' || w === 'ip6';
      if (!(addr ? ['saddr', 'daddr'] : ['sport', 'dport']).includes(f.text)) throw new TextError(f, `${w} ${f.text} is not read`);
      match({ payload: { protocol: w, field: f.text } }, addr ? 'addr' : 'port', t);
    } else if (w === 'socket') {
      const k = at('a socket key');
      i++;
      if (k.text !== 'transparent') throw new TextError(k, `socket ${k.text} is not read`);
      match({ socket: { key: 'transparent' } }, 'num', t);
    } else if (VERDICTS.has(w)) push({ [w]: null }, t);
    else if (w === 'jump' || w === 'goto') {
      const target = at('a chain');
      i++;
      push({ [w]: { target: target.text } }, t);
    } else if (w === 'counter') {
      while ((toks[i]?.text === 'packets' || toks[i]?.text === 'bytes') && /^\d+$/.test(toks[i + 1]?.text ?? '')) i += 2;
      push({ counter: null }, t);
    } else if (w === 'log') {
      let prefix: string | undefined;
      while (toks[i + 1] && ['prefix', 'level', 'flags', 'group'].includes(toks[i].text)) {
        if (toks[i].text === 'prefix') prefix = toks[i + 1]?.text;
        i += 2;
      }
      push({ log: prefix === undefined ? {} : { prefix } }, t);
    } else if (w === 'comment') {
      const s = at('a comment');
      i++;
      comment = s.text;
    } else if (w === 'redirect' || w === 'tproxy' || w === 'dnat') push(nat(w, toks, () => i, (n) => (i = n), t), t);
    else throw new TextError(t, `'${t.text}' is not read here (a match or statement meshcap does not model)`);
  }
  return { expr, spans, ...(comment !== undefined ? { comment } : {}) };
}

/** `{ KEY : VERDICT, ... }` after `vmap`: [key, verdict] pairs, as the JSON listing has them. */
function vmapElements(toks: Tok[], get: () => number, setI: (n: number) => void, kind: Kind): unknown[] {
  let i = get();
  const want = (text: string) => {
    if (toks[i]?.text !== text) throw new TextError(toks[i] ?? toks[i - 1], `expected '${text}' in a verdict map`);
    i++;
  };
  const out: unknown[] = [];
  want('{');
  while (toks[i] && toks[i].text !== '}') {
    const k = one(toks[i++], kind);
    want(':');
    const v = toks[i++] ?? toks[i - 2];
    const jump = (v.text === 'jump' || v.text === 'goto') && toks[i]?.kind === 'word';
    if (!VERDICTS.has(v.text) && !jump) throw new TextError(v, 'expected a verdict in a verdict map');
    out.push([k, { [v.text]: jump ? { target: toks[i++].text } : null }]);
    if (toks[i]?.text === ',') i++;
  }
  want('}');
  setI(i);
  return out;
}

/** `redirect to :P`, `tproxy [ip|ip6] to [A]:P`, `dnat [ip|ip6] to A[:P]`. */
function nat(w: string, toks: Tok[], get: () => number, setI: (n: number) => void, from: Tok): unknown {
  let i = get();
  let family: string | undefined;
  if (toks[i]?.text === 'ip' || toks[i]?.text === 'ip6') family = toks[i++].text;
  if (toks[i]?.text !== 'to') throw new TextError(toks[i] ?? from, `expected '${w} ... to ADDRESS:PORT'`);
  const target = toks[i + 1];
  if (!target) throw new TextError(toks[i], 'expected an address or :PORT');
  setI(i + 2);
  // `[fd00::1]:80`, `10.0.0.1:80`, `:80`, or an address alone (dnat).
  const v = target.text;
  const m = /^\[([^\]]+)\](?::(\d+))?$/.exec(v) ?? /^([^:]*):(\d+)$/.exec(v);
  const addr = m ? m[1] || undefined : v;
  const port = m?.[2] !== undefined ? Number(m[2]) : undefined;
  if (w === 'redirect') {
    if (port === undefined || addr) throw new TextError(target, 'only `redirect to :PORT` is read');
    return { redirect: { port } };
  }
  if (w === 'tproxy') return { tproxy: { ...(family ? { family } : {}), ...(addr ? { addr } : {}), ...(port !== undefined ? { port } : {}) } };
  return { dnat: { ...(family ? { family } : {}), ...(addr ? { addr } : {}), ...(port !== undefined ? { port } : {}) } };
}

/** After `KEY set`: a number, `ct mark`, `meta mark`, or `meta mark & M | V`. */
function mangleValue(toks: Tok[], get: () => number, setI: (n: number) => void, from: Tok): unknown {
  let i = get();
  const t = toks[i];
  if (!t) throw new TextError(from, 'expected a value after set');
  if (t.text === 'ct' || t.text === 'meta' || t.text === 'mark') {
    const scope = t.text === 'ct' ? 'ct' : 'meta';
    if (t.text !== 'mark') i++;
    const key = toks[i];
    if (key?.text !== 'mark') throw new TextError(key ?? t, 'only marks are read on the right of set');
    i++;
    const keyExpr = { [scope]: { key: 'mark' } };
    if (toks[i]?.text === '&' && toks[i + 2]?.text === '|') {
      // The kernel's (mark & M) ^ V, which nft lists as `mark & (M|V) | V`: the JSON importer's xor form.
      const m = number(toks[i + 1]);
      const v = number(toks[i + 3]);
      setI(i + 4);
      return { '^': [{ '&': [keyExpr, (m & ~v) >>> 0] }, v] };
    }
    setI(i);
    return keyExpr;
  }
  setI(i + 1);
  return number(t);
}

function number(t: Tok | undefined): number {
  if (t && /^(0x[0-9a-fA-F]+|\d+)$/.test(t.text)) return Number(t.text);
  throw new TextError(t ?? { start: 0, end: 0 }, `expected a number, found '${t?.text ?? ''}'`);
}

/** A value, a `{ set }`, a `@named` set or a comma list (ct state), as the JSON listing has it. */
function value(toks: Tok[], kind: Kind, from: Tok): unknown {
  if (toks[0]?.text === '{') {
    const close = toks[toks.length - 1];
    if (close.text !== '}') throw new TextError(close, "expected '}'");
    const parts = split(toks.slice(1, -1));
    return { set: parts.map((p) => one(p, kind)) };
  }
  const parts = split(toks);
  if (parts.length > 1) {
    if (kind !== 'word') throw new TextError(toks[1], 'a comma list is read only for ct state; use { ... }');
    return parts.map((p) => one(p, kind));
  }
  if (!parts.length) throw new TextError(from, 'expected a value');
  return one(parts[0], kind);
}

function split(toks: Tok[]): Tok[] {
  const out: Tok[] = [];
  for (let j = 0; j < toks.length; j++) {
    const t = toks[j];
    if (t.text === ',' && t.kind === 'punct') continue;
    if (j > 0 && toks[j - 1].text !== ',' && out.length) throw new TextError(t, `expected ',' before '${t.text}'`);
    out.push(t);
  }
  return out;
}

function one(t: Tok, kind: Kind): unknown {
  const s = t.text;
  if (t.kind === 'word' && s.startsWith('@')) return s;
  switch (kind) {
    case 'name':
      return s;
    case 'word':
      return s;
    case 'id': {
      // `meta skuid 106-108`: the kernel's owner range.
      const r = /^(\d+)-(\d+)$/.exec(s);
      if (r) return { range: [Number(r[1]), Number(r[2])] };
      return /^\d+$/.test(s) ? Number(s) : s;
    }
    case 'num':
      return number(t);
    case 'port': {
      const r = /^(\d+)-(\d+)$/.exec(s);
      if (r) return { range: [Number(r[1]), Number(r[2])] };
      if (/^\d+$/.test(s)) return Number(s);
      throw new TextError(t, `expected a port or a range, found '${s}'`);
    }
    case 'addr': {
      const p = /^(.+)\/(\d+)$/.exec(s);
      if (p) return { prefix: { addr: p[1], len: Number(p[2]) } };
      const dash = s.indexOf('-');
      if (dash > 0) return { range: [s.slice(0, dash), s.slice(dash + 1)] };
      return s;
    }
  }
}
