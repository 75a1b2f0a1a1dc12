// Mutations that matter for a parser or an importer, drawn from one seeded PRNG so that a
// case is replayed from its seed alone: bit flips (which also make invalid UTF-8), token
// deletion and duplication, truncation, numbers made huge, negative or odd, unicode, NUL
// and control characters, and splices of another seed's lines. The three oversized shapes
// (a 1 MB line, 100,000-deep nesting, 100,000 repeated rules) are `huge`: each costs
// seconds, so a run draws them rarely and the CI run tries each once per surface.
import { Rand } from '../rand.js';

/** Text, or bytes when a mutation broke the UTF-8. */
export type Input = string | Buffer;

const NUMBERS = ['0', '-1', '-0', '65535', '65536', '4294967295', '4294967296', '9007199254740993', '99999999999999999999999', '1e400', '0x', '0x1g', '1.5', '-2147483649', 'NaN', '00000000000000000080', '+1', '1_000'];
const ODD = ['\u0000', '\u00e9', '\u202e', '\ud800', '\udfff', '\u{1f600}', '\ufeff', '\r', '\r\n', '\t', '\u000b', '\u001b[31m', '\u2028', '\u0085', '\\', '"', "'", '$(touch x)', '`id`', '#', ';', '{', '}', '[', ']', ',', '*', '/', '\n'];

/** Token boundaries: punctuation of every surface (DSL, YAML, JSON, iptables). */
const TOKEN = /[A-Za-z0-9_.:+/*-]+|"(?:[^"\\\n]|\\.)*"|\s+|./gu;

function tokens(s: string): string[] {
  return s.match(TOKEN) ?? [];
}

function asText(x: Input): string {
  return typeof x === 'string' ? x : x.toString('latin1');
}

const MUTATORS: Array<(r: Rand, s: string, other: string) => Input> = [
  // flip one bit of one byte (UTF-8 may break: the case is then bytes)
  (r, s) => {
    const b = Buffer.from(s, 'utf8');
    if (!b.length) return s;
    const i = r.int(0, b.length - 1);
    b[i] ^= 1 << r.int(0, 7);
    return b;
  },
  // delete a token
  (r, s) => {
    const t = tokens(s);
    if (!t.length) return s;
    t.splice(r.int(0, t.length - 1), 1);
    return t.join('');
  },
  // duplicate a token
  (r, s) => {
    const t = tokens(s);
    if (!t.length) return s;
    const i = r.int(0, t.length - 1);
    t.splice(i, 0, t[i]);
    return t.join('');
  },
  // swap two tokens
  (r, s) => {
    const t = tokens(s);
    if (t.length < 2) return s;
    const i = r.int(0, t.length - 1);
    const j = r.int(0, t.length - 1);
    [t[i], t[j]] = [t[j], t[i]];
    return t.join('');
  },
  // truncate
  (r, s) => s.slice(0, r.int(0, s.length)),
  // a number made huge, negative or odd
  (r, s) => {
    const nums = [...s.matchAll(/\d+/g)];
    if (!nums.length) return s;
    const m = r.pick(nums);
    return s.slice(0, m.index) + r.pick(NUMBERS) + s.slice(m.index + m[0].length);
  },
  // an odd character inserted or replacing one
  (r, s) => {
    const i = r.int(0, s.length);
    return s.slice(0, i) + r.pick(ODD) + s.slice(i + (r.chance(50) ? 1 : 0));
  },
  // delete or duplicate a line
  (r, s) => {
    const ls = s.split('\n');
    const i = r.int(0, ls.length - 1);
    if (r.chance(50)) ls.splice(i, 1);
    else ls.splice(i, 0, ls[i]);
    return ls.join('\n');
  },
  // a line of another seed spliced in
  (r, s, other) => {
    const ls = s.split('\n');
    const os = other.split('\n');
    ls.splice(r.int(0, ls.length), 0, r.pick(os));
    return ls.join('\n');
  },
  // a token repeated a few hundred times
  (r, s) => {
    const t = tokens(s).filter((x) => x.trim());
    if (!t.length) return s;
    const i = r.int(0, s.length);
    const tok = r.pick(t);
    return s.slice(0, i) + Array.from({ length: r.int(2, 500) }, () => tok).join(r.pick([' ', ', ', '\n', ''])) + s.slice(i);
  },
  // line endings changed (CR only, CRLF)
  (r, s) => s.replace(/\n/g, r.pick(['\r', '\r\n', '\n\n'])),
];

/** One to three stacked mutations of `seed`. */
export function mutate(r: Rand, seed: string, other: string): Input {
  let cur: Input = seed;
  const n = r.int(1, 3);
  for (let i = 0; i < n; i++) cur = r.pick(MUTATORS)(r, asText(cur), other);
  return cur;
}

export type Huge = 'long-line' | 'deep-nesting' | 'repeated-rules';
export const HUGE: Huge[] = ['long-line', 'deep-nesting', 'repeated-rules'];

/**
 * `seed` made huge in one of three ways. `open`/`close` are the surface's nesting
 * brackets; `rule` picks the line a surface repeats (a statement, a rule, an array item).
 */
export function huge(kind: Huge, seed: string, opts: { open: string; close: string; rule: (lines: string[]) => { at: number; line: string } }): string {
  const lines = seed.split('\n');
  switch (kind) {
    case 'long-line': {
      // 1 MB on one line: the longest line made long by repeating its last token.
      let at = 0;
      for (let i = 0; i < lines.length; i++) if (lines[i].length > lines[at].length) at = i;
      const t = tokens(lines[at]).filter((x) => x.trim());
      const tok = t[t.length - 1] ?? 'x';
      lines[at] = lines[at] + (' ' + tok).repeat(Math.ceil(1_000_000 / (tok.length + 1)));
      return lines.join('\n');
    }
    case 'deep-nesting': {
      const mid = Math.floor(lines.length / 2);
      lines.splice(mid, 0, opts.open.repeat(100_000) + opts.close.repeat(100_000));
      return lines.join('\n');
    }
    case 'repeated-rules': {
      const { at, line } = opts.rule(lines);
      lines.splice(at, 0, ...Array.from({ length: 100_000 }, () => line));
      return lines.join('\n');
    }
  }
}
