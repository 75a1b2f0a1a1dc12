// Property tests of `fmt` and the syntax converters, on random valid policies laid out at
// random: random subsets of the schema's statements with random values, random comments
// (leading, trailing, on '{' lines, before '}'), blank lines, spacing, ';' separators,
// one-line blocks and lists continued after a trailing comma. In both syntaxes:
//   - fmt is idempotent,
//   - fmt keeps the typed policy (its fingerprint) and every comment,
//   - converting to the other syntax and back keeps the policy and the comments.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { formatText } from '../src/cli/commands/fmt.js';
import { hasErrors } from '../src/diagnostics/diagnostic.js';
import { buildPolicy } from '../src/language/build.js';
import { policyFingerprint } from '../src/language/fingerprint.js';
import { blocks, type BlockSpec, type StatementSpec } from '../src/language/schema.js';
import { parseSource, type Syntax } from '../src/language/load.js';
import { parseCidr } from '../src/net/ip.js';
import { SourceFile } from '../src/source.js';
import { Rand } from './rand.js';

// MESHCAP_PROPERTY_RUNS raises (or lowers) the number of random policies per property.
const RUNS = Number(process.env.MESHCAP_PROPERTY_RUNS ?? 200);

// ---- randomness ------------------------------------------------------------------------

// ---- values ----------------------------------------------------------------------------

const port = (r: Rand) => String(r.pick([r.int(1, 1024), r.int(1025, 65535), 80, 443, 8080, 15090]));
const portOrRange = (r: Rand) => {
  if (!r.chance(30)) return port(r);
  const a = r.int(1, 65535);
  const b = r.int(a, 65535);
  return `${a}-${b}`;
};
const hex = (n: number) => n.toString(16);
const ipv4 = (r: Rand) => Array.from({ length: 4 }, () => r.int(0, 255)).join('.');
function ipv6(r: Rand): string {
  const groups = Array.from({ length: 8 }, () => (r.chance(40) ? 0 : r.int(0, 0xffff)));
  const style = r.int(0, 2);
  if (style === 0) return groups.map(hex).join(':');
  // Compress the longest run of zeros (or the first run, which is also valid text).
  let best = [-1, 0];
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > best[1]) best = [i, j - i];
    i = j;
  }
  let text = groups.map(hex).join(':');
  if (best[0] >= 0) {
    const head = groups.slice(0, best[0]).map(hex).join(':');
    const tail = groups.slice(best[0] + best[1]).map(hex).join(':');
    text = `${head}::${tail}`;
  }
  return style === 2 ? text.toUpperCase() : text;
}
function cidr(r: Rand): string {
  const v6 = r.chance(40);
  const a = v6 ? ipv6(r) : ipv4(r);
  const text = r.chance(15) ? a : `${a}/${r.int(0, v6 ? 128 : 32)}`;
  const p = parseCidr(text);
  if (p.ok) return text;
  if (p.kind === 'host-bits') return p.canonical;
  throw new Error(`generated a bad CIDR ${text}`);
}
const address = (r: Rand) => (r.chance(40) ? ipv6(r) : ipv4(r));
const loopbackOrV6 = (r: Rand) => (r.chance(50) ? `127.${r.int(0, 255)}.${r.int(0, 255)}.${r.int(1, 254)}` : ipv6(r));
const NAME_START = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ_';
const NAME_REST = NAME_START + '0123456789.-';
const name = (r: Rand) => r.pick([...NAME_START]) + r.list(0, 8, () => r.pick([...NAME_REST])).join('');
const owner = (r: Rand) => (r.chance(10) ? `${r.int(100, 110)}-${r.int(110, 120)}` : r.chance(60) ? String(r.pick([0, 1, 1337, r.int(0, 4294967294)])) : name(r));
const iface = (r: Rand) => r.list(1, 14, () => r.pick([...'abcdefghijklmnopqrstuvwxyz0123456789-_.'])).join('').replace(/^\.+$/, 'x') + (r.chance(30) ? '+' : '');
const onOff = (r: Rand) => [r.pick(['on', 'off', 'true', 'false'])];
const mark = (r: Rand) => {
  let n = r.pick([1, 0x539, r.int(1, 0xffffffff)]);
  if (n === 1338) n = 1339; // the default local mark, which 'mark' must not equal
  return r.chance(50) ? `0x${hex(n)}` : String(n);
};
const table = (r: Rand) => String(r.pick([133, r.int(1, 252), r.int(256, 2147483647)]));

/** Random valid arguments of each statement, as comma-separated items. */
const values: Record<string, (r: Rand) => string[]> = {
  'proxy.uid': (r) => (r.chance(10) ? ['none'] : r.list(1, 3, () => owner(r))),
  'proxy.gid': (r) => (r.chance(20) ? ['none'] : r.list(1, 3, () => owner(r))),
  'proxy.outbound-port': (r) => [port(r)],
  'proxy.inbound-port': (r) => [port(r)],
  'proxy.tunnel-port': (r) => [r.chance(20) ? 'none' : port(r)],
  'inbound.mode': (r) => {
    if (r.chance(40)) return ['redirect'];
    const opts = r.shuffle([r.chance(60) ? `mark ${mark(r)}` : '', r.chance(60) ? `table ${table(r)}` : ''].filter(Boolean));
    return [['tproxy', ...opts].join(' ')];
  },
  'inbound.capture-ports': (r) => (r.chance(50) ? [r.pick(['*', 'none'])] : r.list(1, 6, () => portOrRange(r))),
  'inbound.exclude-ports': (r) => r.list(1, 6, () => portOrRange(r)),
  'inbound.exclude-sources': (r) => r.list(1, 4, () => cidr(r)),
  'outbound.capture-cidrs': (r) => (r.chance(40) ? [r.pick(['*', 'none'])] : r.list(1, 6, () => cidr(r))),
  'outbound.exclude-cidrs': (r) => r.list(1, 6, () => cidr(r)),
  'outbound.capture-ports': (r) => r.list(1, 4, () => portOrRange(r)),
  'outbound.exclude-ports': (r) => r.list(1, 4, () => portOrRange(r)),
  'outbound.exclude-ports-for-uids': (r) =>
    r.list(1, 4, () => {
      const uids = r.chance(30) ? `${r.int(100, 110)}-${r.int(110, 120)}` : String(r.int(0, 65535));
      const k = r.int(0, 2);
      if (k === 0) return uids;
      const ports = r.chance(20) ? '*' : portOrRange(r);
      return k === 1 ? `${ports}:${uids}` : `${r.pick(['tcp', 'udp', '*'])}:${ports}:${uids}`;
    }),
  'outbound.groups': (r) => (r.chance(50) ? ['*'] : r.list(1, 3, () => owner(r))),
  'outbound.exclude-groups': (r) => r.list(1, 3, () => owner(r)),
  'loopback.passthrough': (r) => (r.chance(20) ? ['none'] : r.list(1, 3, () => loopbackOrV6(r))),
  'loopback.localhost': (r) => r.chance(10) ? ['none'] : r.shuffle([`127.0.0.${r.pick([0, 1])}/${r.pick([8, 32])}`.replace('127.0.0.1/8', '127.0.0.0/8'), r.pick(['::1/128', '::1'])]).slice(0, r.int(1, 2)),
  'loopback.self-redirect': onOff,
  'dns.capture': (r) => {
    const k = r.int(0, 2);
    if (k === 0) return ['all'];
    if (k === 1) return ['off'];
    const servers = r.list(1, 3, () => address(r));
    return [`servers ${servers[0]}`, ...servers.slice(1)];
  },
  'dns.port': (r) => [port(r)],
  'dns.tcp': (r) => [r.pick(['capture', 'pass'])],
  'dns.conntrack-zones': onOff,
  'interfaces.exclude': (r) => r.list(1, 4, () => iface(r)),
  'interfaces.reroute': (r) => r.list(1, 4, () => iface(r)),
  'interfaces.vnet': (r) => r.list(1, 3, () => `${iface(r)}:${cidr(r)}`),
  'policy.drop-invalid': onOff,
  'policy.log': (r) => [r.pick(['off', 'on', `on level ${r.int(0, 7)}`])],
  'policy.order': (r) => [r.pick(['proxy-first', 'exclusions-first'])],
  'policy.attach': (r) => [r.pick(['first', 'last', 'standard'])],
  'policy.families': (r) => r.pick([['ipv4'], ['ipv6'], ['ipv4', 'ipv6'], ['ipv6', 'ipv4']]),
};

const keyOf = (b: BlockSpec, s: StatementSpec) => `${b.id ?? 'policy'}.${s.id}`;

/** A statement without a generator of its own (added to the schema later): its example. */
function exampleItems(s: StatementSpec): string[] {
  return s.example.slice(s.words.join(' ').length).trim().split(/\s*,\s*/);
}

// ---- the policy model, and its two layouts ----------------------------------------------------

interface Stmt {
  spec: StatementSpec;
  items: string[];
}
interface Model {
  name: string;
  blocks: { spec: BlockSpec; stmts: Stmt[] }[];
  top: Stmt[];
}

function model(r: Rand): Model {
  const stmts = (b: BlockSpec) => r.shuffle(r.some(b.statements)).map((spec) => ({ spec, items: (values[keyOf(b, spec)] ?? (() => exampleItems(spec)))(r) }));
  const named = blocks.filter((b) => b.id);
  const top = blocks.find((b) => !b.id)!;
  return {
    name: r.pick(['p', 'web', 'istio-sidecar', 'a_b-c', 'X' + r.int(0, 999)]),
    blocks: r.shuffle(r.some(named)).map((spec) => ({ spec, stmts: stmts(spec) })),
    top: stmts(top),
  };
}

const COMMENT_CHARS = [...'abcdefghijklmnopqrstuvwxyz0123456789 #{}[]:,;*"\'-!'];
const commentText = (r: Rand) => r.list(0, 12, () => r.pick(COMMENT_CHARS)).join('');
const ws = (r: Rand) => r.pick([' ', ' ', ' ', '  ', '\t', ' \t ']);
const optWs = (r: Rand) => (r.chance(70) ? '' : ws(r));

/** Random .intercept text for a model, with the comments it holds. */
function dslText(m: Model, r: Rand): { text: string; comments: string[] } {
  const comments: string[] = [];
  const comment = () => {
    const c = commentText(r);
    comments.push(c);
    return `#${c}`;
  };
  const blank = () => (r.chance(20) ? '\n'.repeat(r.int(1, 2)) : '');
  const leading = (indent: string) => (r.chance(20) ? r.list(1, 2, () => `${indent}${comment()}\n`).join('') : '');

  const args = (items: string[], indent: string, multiLine: boolean) =>
    items
      .map((it, i) => {
        if (i === 0) return it.split(' ').join(ws(r));
        const pieces = it.split(' ').join(ws(r));
        const k = r.int(0, 9);
        if (multiLine && k === 0) return `,${optWs(r)}${comment()}\n${indent}    ${pieces}`;
        if (k <= 1) return `,\n${r.chance(50) ? '\n' : ''}${indent}${ws(r)}${pieces}`;
        return `${optWs(r)},${optWs(r)}${r.chance(80) ? ' ' : ''}${pieces}`;
      })
      .join('');
  const stmtText = (s: Stmt, indent: string, multiLine: boolean) => `${s.spec.words.join(ws(r))}${ws(r)}${args(s.items, indent, multiLine)}`;

  const body = (stmts: Stmt[], indent: string): string => {
    let out = '';
    stmts.forEach((s, i) => {
      out += blank() + leading(indent) + indent + stmtText(s, indent, true);
      // Sometimes two statements share a line, separated by ';'.
      if (i < stmts.length - 1 && r.chance(15)) {
        out += `${optWs(r)};`;
      } else {
        out += (r.chance(25) ? `${ws(r)}${comment()}` : r.chance(10) ? ';' : '') + '\n';
      }
    });
    return out;
  };

  const block = (b: Model['blocks'][number], indent: string): string => {
    // Indentation means nothing (when the braces balance): now and then, an odd one.
    const inner = r.chance(85) ? indent + '  ' : r.pick(['', ' ', '\t', '        ']);
    if (b.stmts.length <= 2 && r.chance(40)) {
      // One line: `name { a; b }`.
      const stmts = b.stmts.map((s) => stmtText(s, inner, false)).join(`${optWs(r)};${ws(r)}`);
      const trail = r.chance(25) ? `${ws(r)}${comment()}` : '';
      return `${leading(indent)}${indent}${b.spec.id}${ws(r)}{${b.stmts.length ? ws(r) : optWs(r)}${stmts}${b.stmts.length ? ws(r) : ''}}${trail}\n`;
    }
    const open = r.chance(25) ? `${ws(r)}${comment()}` : '';
    const end = r.chance(20) ? `${inner}${comment()}\n` : '';
    const after = r.chance(15) ? `${ws(r)}${comment()}` : '';
    const close = r.chance(85) ? indent : r.pick(['', '    ', '\t']);
    return `${leading(indent)}${indent}${b.spec.id}${ws(r)}{${open}\n${body(b.stmts, inner)}${end}${close}}${after}\n`;
  };

  const items = r.shuffle([...m.blocks.map((b) => ({ b })), ...m.top.map((s) => ({ s }))]);
  let text = leading('');
  text += `policy ${m.name}${ws(r)}{${r.chance(25) ? `${ws(r)}${comment()}` : ''}\n`;
  for (const it of items) {
    text += blank();
    if ('b' in it) text += block(it.b, '  ');
    else text += body([it.s], '  ');
  }
  if (r.chance(20)) text += `  ${comment()}\n`;
  text += `}${r.chance(15) ? `${ws(r)}${comment()}` : ''}\n`;
  if (r.chance(20)) text += `${blank()}${comment()}\n`;
  return { text, comments };
}

/** A YAML scalar for one list item: plain where that is safe, else quoted. */
function yamlScalar(r: Rand, text: string, flow: boolean): string {
  const plainOk = /^[A-Za-z0-9_./+][A-Za-z0-9_./+ :-]*$/.test(text) && !/: |:$| #/.test(text) && !(flow && /[,[\]{}]/.test(text));
  const k = r.int(0, 4);
  if (plainOk && k <= 2) return text;
  if (k === 3 && !text.includes("'")) return `'${text}'`;
  return JSON.stringify(text);
}

/** Random YAML text for a model, with the comments it holds. */
function yamlText(m: Model, r: Rand): { text: string; comments: string[] } {
  const comments: string[] = [];
  const comment = () => {
    const c = commentText(r);
    comments.push(c);
    return `#${c}`;
  };
  const trail = () => (r.chance(25) ? `  ${comment()}` : '');
  const leading = (indent: string) => (r.chance(20) ? r.list(1, 2, () => `${indent}${comment()}\n`).join('') : '');
  const blank = () => (r.chance(15) ? '\n' : '');

  const value = (s: Stmt, indent: string): string => {
    const items = s.items;
    const k = r.int(0, 3);
    if (items.length === 1 || k === 0) {
      // One scalar, the DSL's own text: `exclude-ports: 15090, 15021`.
      const text = items.join(`,${r.chance(80) ? ' ' : ''}`);
      return ` ${yamlScalar(r, text, false)}${trail()}\n`;
    }
    if (k === 1 && !items.some((x) => x.includes(' '))) {
      return ` [${items.map((x) => yamlScalar(r, x, true)).join(`,${r.chance(80) ? ' ' : ''}`)}]${trail()}\n`;
    }
    // A block sequence.
    const head = `${trail()}\n`;
    return head + items.map((x) => `${indent}  - ${yamlScalar(r, x, false)}${trail()}\n`).join('');
  };

  const stmts = (xs: Stmt[], indent: string) => xs.map((s) => `${blank()}${leading(indent)}${indent}${s.spec.id}:${value(s, indent)}`).join('');

  const items = r.shuffle([...m.blocks.map((b) => ({ b })), ...m.top.map((s) => ({ s }))]);
  let text = leading('');
  text += `policy: ${m.name}${trail()}\n`;
  for (const it of items) {
    if ('s' in it) {
      text += stmts([it.s], '');
      continue;
    }
    const b = it.b;
    text += blank() + leading('');
    if (b.stmts.length === 0) {
      text += `${b.spec.id}: {}${trail()}\n`;
      continue;
    }
    text += `${b.spec.id}:${trail()}\n${stmts(b.stmts, '  ')}`;
    if (r.chance(15)) text += `  ${comment()}\n`;
  }
  if (r.chance(20)) text += `${comment()}\n`;
  return { text, comments };
}

// ---- checks ----------------------------------------------------------------------------

const pathOf = (syntax: Syntax) => (syntax === 'yaml' ? 'policy.yaml' : 'policy.intercept');

/**
 * The typed policy's fingerprint; the text must parse and build without an error. (The
 * whole-policy checks are left out: a random policy may well clash with itself, and they
 * do not change the typed policy.)
 */
function fingerprint(text: string, syntax: Syntax): string {
  const parsed = parseSource(new SourceFile(pathOf(syntax), text), syntax);
  const built = buildPolicy(parsed.tree);
  const errors = [...parsed.diagnostics, ...built.diagnostics].filter((d) => d.severity === 'error');
  if (errors.length) throw new Error(`${syntax} text does not read back:\n${errors.map((e) => `${e.span?.start.line}:${e.span?.start.col} ${e.code} ${e.message}`).join('\n')}\n---\n${text}`);
  return policyFingerprint(built.policy!);
}

function fmt(text: string, from: Syntax, to: Syntax = from): string {
  const r = formatText(pathOf(from), text, from, to);
  if (r.text === undefined || hasErrors(r.diagnostics)) throw new Error(`fmt refused:\n${r.diagnostics.map((d) => d.message).join('\n')}\n---\n${text}`);
  return r.text;
}

/** The comments of a text, as the printers keep them (trailing blanks trimmed), sorted. */
function commentsIn(text: string, syntax: Syntax): string[] {
  const tree = parseSource(new SourceFile(pathOf(syntax), text), syntax).tree;
  const out: string[] = [];
  const walk = (x: unknown) => {
    if (!x || typeof x !== 'object') return;
    if (Array.isArray(x)) return x.forEach(walk);
    const o = x as Record<string, unknown>;
    for (const k of ['leading', 'endComments']) for (const c of (o[k] as { text: string }[] | undefined) ?? []) out.push(c.text.trimEnd());
    for (const k of ['openComment', 'trailing']) if (o[k]) out.push((o[k] as { text: string }).text.trimEnd());
    for (const k of ['policies', 'items']) walk(o[k]);
  };
  walk(tree); // (the tree's own end comments included)
  return out.sort();
}

const sorted = (xs: string[]) => xs.map((x) => x.trimEnd()).sort();

/** Generous: 200 runs take a second or so, but CI machines are slow and shared. */
const TIMEOUT = 60_000;

const property = (f: (r: Rand) => void) => fc.assert(fc.property(fc.integer(), (seed) => f(new Rand(seed))), { numRuns: RUNS });

describe('fmt on random .intercept policies', () => {
  it('the generator makes valid policies, with comments where they were written', () => {
    property((r) => {
      const m = model(r);
      const { text, comments } = dslText(m, r);
      fingerprint(text, 'intercept');
      expect(commentsIn(text, 'intercept'), text).toEqual(sorted(comments));
    });
  }, TIMEOUT);

  it('is idempotent and keeps the policy and every comment', () => {
    property((r) => {
      const { text, comments } = dslText(model(r), r);
      const once = fmt(text, 'intercept');
      expect(fmt(once, 'intercept'), `input:\n${text}`).toBe(once);
      expect(fingerprint(once, 'intercept')).toBe(fingerprint(text, 'intercept'));
      expect(commentsIn(once, 'intercept'), `input:\n${text}\noutput:\n${once}`).toEqual(sorted(comments));
    });
  }, TIMEOUT);

  it('converts to YAML and back keeping the policy and every comment', () => {
    property((r) => {
      const { text, comments } = dslText(model(r), r);
      const yaml = fmt(text, 'intercept', 'yaml');
      const back = fmt(yaml, 'yaml', 'intercept');
      const want = fingerprint(text, 'intercept');
      expect(fingerprint(yaml, 'yaml'), `input:\n${text}\nyaml:\n${yaml}`).toBe(want);
      expect(fingerprint(back, 'intercept')).toBe(want);
      // The converter prints canonical YAML.
      expect(fmt(yaml, 'yaml'), `yaml:\n${yaml}`).toBe(yaml);
      expect(commentsIn(yaml, 'yaml'), `input:\n${text}\nyaml:\n${yaml}`).toEqual(sorted(comments));
      expect(commentsIn(back, 'intercept')).toEqual(sorted(comments));
    });
  }, TIMEOUT);
});

describe('fmt on random YAML policies', () => {
  it('the generator makes valid policies that mean what the .intercept twin means', () => {
    property((r) => {
      const m = model(r);
      const y = yamlText(m, r);
      expect(fingerprint(y.text, 'yaml')).toBe(fingerprint(dslText(m, r).text, 'intercept'));
      expect(commentsIn(y.text, 'yaml'), y.text).toEqual(sorted(y.comments));
    });
  }, TIMEOUT);

  it('is idempotent and keeps the policy and every comment', () => {
    property((r) => {
      const { text, comments } = yamlText(model(r), r);
      const once = fmt(text, 'yaml');
      expect(fmt(once, 'yaml'), `input:\n${text}\nonce:\n${once}`).toBe(once);
      expect(fingerprint(once, 'yaml')).toBe(fingerprint(text, 'yaml'));
      expect(commentsIn(once, 'yaml'), `input:\n${text}\nonce:\n${once}`).toEqual(sorted(comments));
    });
  }, TIMEOUT);

  it('converts to .intercept and back keeping the policy', () => {
    property((r) => {
      const { text, comments } = yamlText(model(r), r);
      const dsl = fmt(text, 'yaml', 'intercept');
      const back = fmt(dsl, 'intercept', 'yaml');
      const want = fingerprint(text, 'yaml');
      expect(fingerprint(dsl, 'intercept'), `input:\n${text}\ndsl:\n${dsl}`).toBe(want);
      expect(fingerprint(back, 'yaml')).toBe(want);
      expect(commentsIn(dsl, 'intercept'), `input:\n${text}\ndsl:\n${dsl}`).toEqual(sorted(comments));
      expect(commentsIn(back, 'yaml')).toEqual(sorted(comments));
      // The converter prints canonical .intercept.
      expect(fmt(dsl, 'intercept'), `dsl:\n${dsl}`).toBe(dsl);
    });
  }, TIMEOUT);
});

describe('the generators themselves', () => {
  it('cover every statement of the schema with a value generator', () => {
    // A statement without one still gets its example; this says it should get better.
    const missing = blocks.flatMap((b) => b.statements.map((s) => keyOf(b, s))).filter((k) => !values[k]);
    expect(missing).toEqual([]);
  });

  it('can tell two different policies apart (the properties are not vacuous)', () => {
    const a = fingerprint('policy p { inbound { capture ports 80 } }\n', 'intercept');
    const b = fingerprint('policy p { inbound { capture ports 81 } }\n', 'intercept');
    expect(a).not.toBe(b);
    expect(() => fingerprint('policy p { inbound { capture ports 0 } }\n', 'intercept')).toThrow(/invalid-port/);
  });
});

