// The grammar and the schema-driven builder, construct by construct, in both syntaxes.
// Every block and statement of the schema is exercised through its own `example`, so a
// statement added to src/language/schema.ts is covered without touching this file.
import { describe, expect, it } from 'vitest';
import { parseErrorDiagnostic, parseIntercept } from '../grammar/visitor.js';
import type { IToken } from 'chevrotain';
import { loadedFrom, VERSION as loadedChevrotain } from '../grammar/chevrotain.js';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type { Block, Item, PolicyNode, Statement } from '../grammar/syntax-tree.js';
import type { Policy } from '../src/language/ast.js';
import { formatText } from '../src/cli/commands/fmt.js';
import { buildPolicy } from '../src/language/build.js';
import { defaultPolicy } from '../src/language/defaults.js';
import { policyFingerprint } from '../src/language/fingerprint.js';
import { blocks, type BlockSpec, type StatementSpec } from '../src/language/schema.js';
import { parseSource } from '../src/language/load.js';
import { SourceFile } from '../src/source.js';
import { errorsOf, found, load } from './helpers.js';

// ---- helpers ------------------------------------------------------------------------------

/** A policy that parses and builds without a single error; its typed policy. */
function policyOf(text: string, syntax: 'intercept' | 'yaml' = 'intercept'): Policy {
  const r = load(text, syntax);
  expect(errorsOf(r.diagnostics).map((d) => `${found([d])[0]} ${d.message}`), text).toEqual([]);
  expect(r.policy, text).toBeDefined();
  return r.policy!;
}

const fp = (text: string, syntax: 'intercept' | 'yaml' = 'intercept') => policyFingerprint(policyOf(text, syntax));

/**
 * Parse and build only (no whole-policy checks): a statement's example on its own may
 * make a policy that `check` rejects (an exclusion with nothing captured), yet it must
 * read without a single diagnostic.
 */
function builtOf(text: string, syntax: 'intercept' | 'yaml' = 'intercept'): Policy {
  const parsed = parseSource(new SourceFile(syntax === 'yaml' ? 'policy.yaml' : 'policy.intercept', text), syntax);
  expect(parsed.diagnostics, text).toEqual([]);
  const built = buildPolicy(parsed.tree);
  expect(built.diagnostics.map((d) => `${found([d])[0]} ${d.message}`), text).toEqual([]);
  return built.policy!;
}

const bfp = (text: string, syntax: 'intercept' | 'yaml' = 'intercept') => policyFingerprint(builtOf(text, syntax));

/** Diagnostics of parsing and building only. */
function buildDiagnostics(text: string, syntax: 'intercept' | 'yaml' = 'intercept') {
  const parsed = parseSource(new SourceFile(syntax === 'yaml' ? 'policy.yaml' : 'policy.intercept', text), syntax);
  return [...parsed.diagnostics, ...buildPolicy(parsed.tree).diagnostics];
}

function inBlock(b: BlockSpec, line: string): string {
  return b.id ? `policy p {\n  ${b.id} {\n    ${line}\n  }\n}\n` : `policy p {\n  ${line}\n}\n`;
}

/** The line a statement sits on in `inBlock` text. */
const lineInBlock = (b: BlockSpec) => (b.id ? 3 : 2);

function argsOf(s: StatementSpec, text = s.example): string {
  expect(text.startsWith(s.words.join(' ')), `${s.id}: example '${text}' starts with '${s.words.join(' ')}'`).toBe(true);
  return text.slice(s.words.join(' ').length).trim();
}

function yamlInBlock(b: BlockSpec, key: string, value: string): string {
  return b.id ? `policy: p\n${b.id}:\n  ${key}: ${value}\n` : `policy: p\n${key}: ${value}\n`;
}

/** Paths of the settings (`{ value, span }`) of a policy whose span starts on `line`. */
function settingsOnLine(p: Policy, line: number): string[] {
  const out: string[] = [];
  const walk = (x: unknown, path: string) => {
    if (!x || typeof x !== 'object' || Array.isArray(x)) return;
    const keys = Object.keys(x);
    if (keys.length === 2 && keys.includes('value') && keys.includes('span')) {
      const span = (x as { span: { start: { line: number } } | null }).span;
      if (span && span.start.line === line) out.push(path);
      return;
    }
    for (const k of keys) if (k !== 'span') walk((x as Record<string, unknown>)[k], path ? `${path}.${k}` : k);
  };
  walk(p, '');
  return out;
}

const statementCases = blocks.flatMap((b) => b.statements.map((s) => ({ name: `${b.id ?? 'policy'}.${s.id}`, b, s })));

function treeOf(text: string) {
  const r = parseIntercept(new SourceFile('t.intercept', text));
  expect(r.diagnostics).toEqual([]);
  return r.tree;
}

function blockNamed(items: Item[], name: string): Block {
  const b = items.find((i): i is Block => i.kind === 'block' && i.name.text === name);
  expect(b, `block ${name}`).toBeDefined();
  return b!;
}

function statementStarting(items: Item[], word: string): Statement {
  const s = items.find((i): i is Statement => i.kind === 'statement' && i.atoms[0].text === word);
  expect(s, `statement ${word}`).toBeDefined();
  return s!;
}

// ---- every block and statement of the schema ----------------------------------------------

describe('every statement of the schema', () => {
  it('has at least one block with statements, and unique YAML keys per block', () => {
    expect(statementCases.length).toBeGreaterThan(10);
    for (const b of blocks) {
      const ids = b.statements.map((s) => s.id);
      expect(new Set(ids).size, `${b.id}: ${ids.join(', ')}`).toBe(ids.length);
    }
  });

  it.each(statementCases)('$name: its example is accepted and sets exactly its own setting', ({ b, s }) => {
    const p = builtOf(inBlock(b, s.example));
    const set = settingsOnLine(p, lineInBlock(b));
    expect(set, s.example).toHaveLength(1);
    // ... and nothing else moved away from the defaults.
    const expected = defaultPolicy('p', 'policy.intercept');
    const [path] = set;
    const keys = path.split('.');
    let src: Record<string, unknown> = p as unknown as Record<string, unknown>;
    let dst: Record<string, unknown> = expected as unknown as Record<string, unknown>;
    for (const k of keys.slice(0, -1)) {
      src = src[k] as Record<string, unknown>;
      dst = dst[k] as Record<string, unknown>;
    }
    dst[keys[keys.length - 1]] = src[keys[keys.length - 1]];
    expect(policyFingerprint(p)).toBe(policyFingerprint(expected));
  });

  it.each(statementCases)('$name: the same in a one-line block, after a ;, and in YAML', ({ b, s }) => {
    const multi = bfp(inBlock(b, s.example));
    if (b.id) {
      expect(bfp(`policy p { ${b.id} { ${s.example} } }\n`)).toBe(multi);
      expect(bfp(`policy p {\n  ${b.id} {;; ${s.example};\n  }\n}\n`)).toBe(multi);
    } else {
      expect(bfp(`policy p { ${s.example} }\n`)).toBe(multi);
      expect(bfp(`policy p { ; ${s.example} ; }\n`)).toBe(multi);
    }
    // YAML: the statement id as the key, the arguments as one (quoted) scalar ...
    const args = argsOf(s);
    expect(bfp(yamlInBlock(b, s.id, JSON.stringify(args)), 'yaml')).toBe(multi);
    // ... or, for a comma list, as a YAML sequence.
    const items = args.split(/\s*,\s*/);
    if (items.length > 1) {
      expect(bfp(yamlInBlock(b, s.id, `[${items.map((x) => JSON.stringify(x)).join(', ')}]`), 'yaml')).toBe(multi);
      const blockList = items.map((x) => `\n${b.id ? '    ' : '  '}- ${JSON.stringify(x)}`).join('');
      expect(bfp(yamlInBlock(b, s.id, blockList), 'yaml')).toBe(multi);
    }
  });

  it.each(statementCases)('$name: without a value is missing-value at the statement (both syntaxes)', ({ b, s }) => {
    const r = load(inBlock(b, s.words.join(' ')));
    expect(found(r.diagnostics).filter((x) => !x.startsWith('nothing-captured'))).toEqual([`missing-value@${lineInBlock(b)}:${b.id ? 5 : 3}`]);
    expect(r.diagnostics.find((d) => d.code === 'missing-value')!.message).toContain(`'${s.words.join(' ')}' needs a value`);
    const y = load(b.id ? `policy: p\n${b.id}:\n  ${s.id}:\n` : `policy: p\n${s.id}:\n`, 'yaml');
    expect(found(y.diagnostics).filter((x) => !x.startsWith('nothing-captured'))).toEqual([`missing-value@${b.id ? 3 : 2}:${b.id ? 3 : 1}`]);
  });

  it.each(statementCases)('$name: given twice is duplicate-key on the second (both syntaxes)', ({ b, s }) => {
    const text = b.id
      ? `policy p {\n  ${b.id} {\n    ${s.example}\n    ${s.example}\n  }\n}\n`
      : `policy p {\n  ${s.example}\n  ${s.example}\n}\n`;
    const errs = buildDiagnostics(text);
    expect(found(errs)).toEqual([`duplicate-key@${lineInBlock(b) + 1}:${b.id ? 5 : 3}`]);
    expect(errs[0].hint).toContain(`line ${lineInBlock(b)}`);
    const v = JSON.stringify(argsOf(s));
    const y = b.id ? `policy: p\n${b.id}:\n  ${s.id}: ${v}\n  ${s.id}: ${v}\n` : `policy: p\n${s.id}: ${v}\n${s.id}: ${v}\n`;
    expect(found(buildDiagnostics(y, 'yaml'))).toEqual([`duplicate-key@${b.id ? 4 : 3}:${b.id ? 3 : 1}`]);
  });

  it.each(statementCases.filter((c) => c.b.id))('$name: outside its block is an unknown keyword', ({ s }) => {
    // At the policy level (unless the policy itself has a statement spelled the same).
    if (blocks.find((x) => x.id === null)!.statements.some((t) => t.words[0] === s.words[0])) return;
    const r = load(`policy p {\n  ${s.example}\n}\n`);
    const errs = errorsOf(r.diagnostics);
    expect(errs[0]?.code, s.example).toBe('unknown-keyword');
    expect(found(errs)[0]).toBe('unknown-keyword@2:3');
  });
});

describe('every block of the schema', () => {
  const named = blocks.filter((b) => b.id);

  it.each(named.map((b) => ({ id: b.id!, b })))('$id: empty, in every layout, leaves the defaults', ({ id }) => {
    const defaults = policyFingerprint(defaultPolicy('p', 'x'));
    for (const text of [`policy p { ${id} {} }\n`, `policy p { ${id} { } }\n`, `policy p {\n  ${id} {\n  }\n}\n`, `policy p {\n  ${id} {\n\n    # nothing here\n  }\n}\n`]) {
      const r = load(text);
      expect(errorsOf(r.diagnostics), text).toEqual([]);
      expect(policyFingerprint(r.policy!), text).toBe(defaults);
    }
    const y = load(`policy: p\n${id}: {}\n`, 'yaml');
    expect(errorsOf(y.diagnostics)).toEqual([]);
    expect(policyFingerprint(y.policy!)).toBe(defaults);
  });

  it.each(named.map((b) => ({ id: b.id!, b })))('$id: all its statements together, in one block, in both syntaxes', ({ id, b }) => {
    const dsl = `policy p {\n  ${id} {\n${b.statements.map((s) => `    ${s.example}\n`).join('')}  }\n}\n`;
    const yaml = `policy: p\n${id}:\n${b.statements.map((s) => `  ${s.id}: ${JSON.stringify(argsOf(s))}\n`).join('')}`;
    const p = builtOf(dsl);
    for (const [i] of b.statements.entries()) expect(settingsOnLine(p, 3 + i)).toHaveLength(1);
    expect(bfp(yaml, 'yaml')).toBe(policyFingerprint(p));
  });

  it.each(named.map((b) => ({ id: b.id!, b })))("$id: given twice is duplicate-block pointing back at the first", ({ id }) => {
    const r = load(`policy p {\n  ${id} {}\n  ${id} {}\n}\n`);
    const errs = errorsOf(r.diagnostics);
    expect(found(errs)).toEqual(['duplicate-block@3:3']);
    expect(errs[0].hint).toBe('merge it with the first one, at line 2');
  });

  it.each(named.map((b) => ({ id: b.id!, b })))('$id: written as a statement is block-is-statement', ({ id }) => {
    // (For a block that captures nothing, 'nothing-captured' is still true, and reported.)
    const ds = found(load(`policy p {\n  ${id} x\n}\n`).diagnostics).filter((x) => !x.startsWith('nothing-captured'));
    expect(ds).toEqual(['block-is-statement@2:3']);
    expect(found(load(`policy: p\n${id}: x\n`, 'yaml').diagnostics)).toEqual(['yaml-shape@2:' + (id.length + 3)]);
  });
});

// ---- defaults ------------------------------------------------------------------------------

describe('defaults', () => {
  it('an empty policy is exactly the default policy, with no spans', () => {
    const p = policyOf('policy empty {}\n');
    expect(policyFingerprint(p)).toBe(policyFingerprint(defaultPolicy('empty', 'policy.intercept')));
    expect(settingsOnLine(p, 1)).toEqual([]);
    // The documented numbers (istio-iptables' own), spelled out once.
    expect(p.proxy.outboundPort.value).toBe(15001);
    expect(p.proxy.inboundPort.value).toBe(15006);
    expect(p.proxy.tunnelPort.value).toBe(15008);
    expect(p.proxy.outboundPort.span).toBeNull();
    expect(p.inbound.mode.value).toEqual({ kind: 'redirect' });
    expect(p.inbound.capturePorts.value).toEqual({ kind: 'none' });
    expect(p.outbound.captureCidrs.value).toEqual({ kind: 'none' });
    expect(p.outbound.groups.value).toEqual({ kind: 'all' });
    expect(p.loopback.passthrough.value.map((a) => a.text)).toEqual(['127.0.0.6', '::6']);
    expect(p.loopback.localhost.value.map((c) => `${c.addr}/${c.prefix}`)).toEqual(['127.0.0.1/32', '::1/128']);
    expect(p.loopback.selfRedirect.value).toBe(true);
    expect(p.dns.capture.value).toEqual({ kind: 'off' });
    expect(p.dns.port.value).toBe(15053);
    expect(p.dropInvalid.value).toBe(false);
    expect(p.families.value).toEqual(['ipv4', 'ipv6']);
  });

  it('the YAML twin of an empty policy is the same default policy', () => {
    expect(fp('policy: empty\n', 'yaml')).toBe(fp('policy empty {}\n'));
  });

  it.each(statementCases.filter((c) => !c.s.defaultText.startsWith('(')))(
    "$name: writing its documented default changes nothing",
    ({ b, s }) => {
      const explicit = policyOf(inBlock(b, `${s.words.join(' ')} ${s.defaultText}`));
      expect(settingsOnLine(explicit, lineInBlock(b))).toHaveLength(1);
      expect(policyFingerprint(explicit)).toBe(policyFingerprint(defaultPolicy('p', 'x')));
    },
  );

  it.each(statementCases.filter((c) => c.s.defaultText === '(none)'))('$name: defaults to an empty list', ({ b, s }) => {
    const p = policyOf('policy p {}\n');
    const withExample = builtOf(inBlock(b, s.example));
    const [path] = settingsOnLine(withExample, lineInBlock(b));
    const get = (x: Policy) => path.split('.').reduce<unknown>((o, k) => (o as Record<string, unknown>)[k], x) as { value: unknown };
    expect(get(p).value).toEqual([]);
  });

  it("a statement's default is what the loader fills in, not just what the docs say", () => {
    // 'mode tproxy' alone takes the documented mark and table.
    const p = policyOf('policy p { inbound { mode tproxy } }\n');
    expect(p.inbound.mode.value).toMatchObject({ kind: 'tproxy', mark: 1337, table: 133 });
  });
});

// ---- values --------------------------------------------------------------------------------

describe('values', () => {
  it('* and none', () => {
    const p = policyOf('policy p {\n  inbound { capture ports * }\n  outbound { capture cidrs none; groups * }\n}\n');
    expect(p.inbound.capturePorts.value).toEqual({ kind: 'all' });
    expect(p.outbound.captureCidrs.value).toEqual({ kind: 'none' });
    expect(p.outbound.groups.value).toEqual({ kind: 'all' });
    const q = policyOf('policy p {\n  inbound { capture ports none }\n  outbound { capture cidrs * }\n  proxy { gid none; tunnel-port none }\n  loopback { passthrough none }\n}\n');
    expect(q.inbound.capturePorts.value).toEqual({ kind: 'none' });
    expect(q.outbound.captureCidrs.value).toEqual({ kind: 'all' });
    expect(q.proxy.gids.value).toEqual([]);
    expect(q.proxy.tunnelPort.value).toBeNull();
    expect(q.loopback.passthrough.value).toEqual([]);
  });

  it('ports and port ranges', () => {
    const p = policyOf('policy p {\n  inbound { capture ports 80, 8000-8100, 1-1, 65535 }\n}\n');
    const v = p.inbound.capturePorts.value;
    expect(v.kind).toBe('list');
    if (v.kind !== 'list') return;
    expect(v.items.map(({ lo, hi }) => [lo, hi])).toEqual([[80, 80], [8000, 8100], [1, 1], [65535, 65535]]);
    // Each list item keeps its own position.
    expect(v.items.map((i) => i.span!.start.col)).toEqual([27, 31, 42, 47]);
    const full = policyOf('policy p { outbound { capture cidrs *; exclude ports 1-65535 } }\n');
    expect(full.outbound.excludePorts.value.map(({ lo, hi }) => [lo, hi])).toEqual([[1, 65535]]);
  });

  it('IPv4 and IPv6 addresses and CIDRs, canonicalised', () => {
    const p = policyOf(
      'policy p {\n' +
        '  outbound { capture cidrs 10.0.0.0/8, FD00::/8, 2001:db8::/32, ::ffff:0:0/96, 0.0.0.0/0, ::/0; exclude cidrs 169.254.169.254, 2001:DB8:0:0:0:0:0:1 }\n' +
        '  loopback { passthrough 127.0.0.6, ::6; localhost 127.0.0.0/8, ::1/128 }\n' +
        '  dns { capture servers 10.96.0.10, fd00::a, 2001:db8::53 }\n' +
        '}\n',
    );
    const cap = p.outbound.captureCidrs.value;
    expect(cap.kind).toBe('list');
    if (cap.kind !== 'list') return;
    expect(cap.items.map((c) => [c.family, `${c.addr}/${c.prefix}`])).toEqual([
      ['ipv4', '10.0.0.0/8'],
      ['ipv6', 'fd00::/8'],
      ['ipv6', '2001:db8::/32'],
      ['ipv6', '::ffff:0:0/96'],
      ['ipv4', '0.0.0.0/0'],
      ['ipv6', '::/0'],
    ]);
    // A bare address is a host route.
    expect(p.outbound.excludeCidrs.value.map((c) => `${c.addr}/${c.prefix}`)).toEqual(['169.254.169.254/32', '2001:db8::1/128']);
    expect(p.loopback.passthrough.value.map((a) => [a.family, a.text])).toEqual([['ipv4', '127.0.0.6'], ['ipv6', '::6']]);
    const dns = p.dns.capture.value;
    expect(dns.kind).toBe('servers');
    if (dns.kind === 'servers') expect(dns.servers.map((a) => a.text)).toEqual(['10.96.0.10', 'fd00::a', '2001:db8::53']);
  });

  it('mode tproxy mark 0x539 table 133', () => {
    const p = policyOf('policy p { inbound { mode tproxy mark 0x539 table 133; capture ports * } }\n');
    expect(p.inbound.mode.value).toMatchObject({ kind: 'tproxy', mark: 0x539, table: 133 });
    // Options in either order, decimal or hex marks, same meaning.
    expect(fp('policy p { inbound { mode tproxy table 133 mark 1337; capture ports * } }\n')).toBe(policyFingerprint(p));
    const other = policyOf('policy p { inbound { mode tproxy mark 0xff table 7; capture ports * } }\n');
    expect(other.inbound.mode.value).toMatchObject({ kind: 'tproxy', mark: 255, table: 7 });
    expect(policyOf('policy p { inbound { mode redirect } }\n').inbound.mode.value).toEqual({ kind: 'redirect' });
  });

  it('capture servers / all / off', () => {
    const p = policyOf('policy p { dns { capture servers 10.96.0.10, fd00::a } }\n');
    expect(p.dns.capture.value).toMatchObject({ kind: 'servers', servers: [{ family: 'ipv4', text: '10.96.0.10' }, { family: 'ipv6', text: 'fd00::a' }] });
    expect(policyOf('policy p { dns { capture all } }\n').dns.capture.value).toEqual({ kind: 'all' });
    expect(policyOf('policy p { dns { capture off }; inbound { capture ports * } }\n').dns.capture.value).toEqual({ kind: 'off' });
    // A single server is a one-item list.
    const one = policyOf('policy p { dns { capture servers ::1 } }\n').dns.capture.value;
    expect(one).toMatchObject({ kind: 'servers', servers: [{ text: '::1' }] });
  });

  it("interfaces, with '+' prefixes", () => {
    const p = policyOf('policy p {\n  inbound { capture ports * }\n  interfaces { exclude veth+, eth0, a+; reroute tap0, 123456789012345+ }\n}\n');
    expect(p.interfaces.exclude.value.map(({ name, prefix }) => [name, prefix])).toEqual([['veth', true], ['eth0', false], ['a', true]]);
    expect(p.interfaces.reroute.value.map(({ name, prefix }) => [name, prefix])).toEqual([['tap0', false], ['123456789012345', true]]);
    // 'eth0' and 'eth0+' are different interfaces: no clash.
    const q = load('policy p {\n  inbound { capture ports * }\n  interfaces { exclude eth0+; reroute eth0 }\n}\n');
    expect(q.diagnostics).toEqual([]);
  });

  it('uids, gids and groups: numbers and names', () => {
    const p = policyOf('policy p {\n  proxy { uid 1337, 0; gid envoy }\n  outbound { capture cidrs *; groups *; exclude groups 888, docker }\n}\n');
    expect(p.proxy.uids.value).toMatchObject([{ kind: 'id', id: 1337 }, { kind: 'id', id: 0 }]);
    expect(p.proxy.gids.value).toMatchObject([{ kind: 'name', name: 'envoy' }]);
    expect(p.outbound.excludeGroups.value).toMatchObject([{ kind: 'id', id: 888 }, { kind: 'name', name: 'docker' }]);
  });

  it('switches: on/off, and true/false', () => {
    expect(policyOf('policy p { drop-invalid on; inbound { capture ports * } }\n').dropInvalid.value).toBe(true);
    expect(policyOf('policy p { drop-invalid true; inbound { capture ports * } }\n').dropInvalid.value).toBe(true);
    expect(policyOf('policy p { drop-invalid off; inbound { capture ports * } }\n').dropInvalid.value).toBe(false);
    expect(policyOf('policy: p\ndrop-invalid: true\ninbound: {capture-ports: "*"}\n', 'yaml').dropInvalid.value).toBe(true);
    expect(policyOf('policy: p\nloopback:\n  self-redirect: off\ninbound: {capture-ports: "*"}\n', 'yaml').loopback.selfRedirect.value).toBe(false);
  });
});

// ---- layout: separators, lists, comments ----------------------------------------------------

const canonical = `policy layout {
  proxy {
    uid 1337
    gid 1337
  }
  inbound {
    capture ports *
    exclude ports 8080, 8000-8100
  }
  outbound {
    capture cidrs 10.0.0.0/8, fd00::/8
  }
  families ipv4, ipv6
}
`;

describe('layout', () => {
  const meaning = () => fp(canonical);

  it('one-line blocks, ; separators and newlines are interchangeable', () => {
    const m = meaning();
    const variants = [
      'policy layout { proxy { uid 1337; gid 1337 } inbound { capture ports *; exclude ports 8080, 8000-8100 } outbound { capture cidrs 10.0.0.0/8, fd00::/8 }; families ipv4, ipv6 }',
      'policy layout {\n  proxy { uid 1337 ; gid 1337 ; }\n  inbound {\n    capture ports * ; exclude ports 8080,\n 8000-8100\n  }\n  outbound { capture cidrs 10.0.0.0/8,fd00::/8 }\n  families ipv4 , ipv6\n}\n',
      ';;\npolicy layout {;\n\n\n  proxy {\n\n    uid 1337\n\n    gid 1337\n  }\n;inbound{capture ports *;exclude ports 8080,8000-8100}outbound{capture cidrs 10.0.0.0/8,\tfd00::/8}\n\tfamilies\tipv4,ipv6;\n};\n',
      'policy layout {\r\n  proxy {\r\n    uid 1337\r\n    gid 1337\r\n  }\r\n  inbound { capture ports *; exclude ports 8080, 8000-8100 }\r\n  outbound { capture cidrs 10.0.0.0/8, fd00::/8 }\r\n  families ipv4, ipv6\r\n}\r\n',
    ];
    for (const v of variants) expect(fp(v), v).toBe(m);
  });

  it('indentation means nothing when the braces balance', () => {
    const odd = [
      'policy layout {',
      '      proxy {',
      '  uid 1337',
      'gid 1337',
      '}',
      '  inbound {',
      'capture ports *',
      '    exclude ports 8080, 8000-8100',
      '}',
      'outbound { capture cidrs 10.0.0.0/8, fd00::/8 }',
      '\tfamilies ipv4, ipv6',
      '        }',
    ].join('\n');
    expect(fp(odd)).toBe(meaning());
    expect(formatText('x.intercept', odd, 'intercept', 'intercept').text).toBe(canonical);
  });

  it('a list continues on the next lines after a trailing comma, comments and blank lines included', () => {
    const one = fp('policy p { outbound { capture cidrs 10.0.0.0/8, 172.16.0.0/12, 192.168.0.0/16 } }\n');
    expect(fp('policy p {\n  outbound {\n    capture cidrs 10.0.0.0/8,\n      172.16.0.0/12,\n      192.168.0.0/16\n  }\n}\n')).toBe(one);
    expect(fp('policy p {\n  outbound {\n    capture cidrs 10.0.0.0/8,   # private A\n      # B follows\n\n      172.16.0.0/12,\n      192.168.0.0/16  # C\n  }\n}\n')).toBe(one);
    // Without the comma, the next line is a new statement.
    const r = load('policy p {\n  outbound {\n    capture cidrs 10.0.0.0/8\n      172.16.0.0/12\n  }\n}\n');
    expect(found(errorsOf(r.diagnostics))).toEqual(['unknown-keyword@4:7']);
  });

  it('fmt prints the canonical layout of every variant, comments aside', () => {
    const text = 'policy layout { proxy { uid 1337; gid 1337 } inbound { capture ports *; exclude ports 8080,   8000-8100 } outbound { capture cidrs 10.0.0.0/8,\n fd00::/8 }; families ipv4, ipv6 }';
    const r = formatText('x.intercept', text, 'intercept', 'intercept');
    expect(r.text).toBe(canonical);
    expect(formatText('x.intercept', canonical, 'intercept', 'intercept').text).toBe(canonical);
  });

  it('fmt wraps a long list after a comma, and reads it back the same', () => {
    const cidrs = Array.from({ length: 20 }, (_, i) => `10.${i}.0.0/16`);
    const text = `policy p { outbound { capture cidrs ${cidrs.join(', ')} } }\n`;
    const out = formatText('x.intercept', text, 'intercept', 'intercept').text!;
    expect(out.split('\n').every((l) => l.length <= 100)).toBe(true);
    expect(out.split('\n').length).toBeGreaterThan(5);
    expect(fp(out)).toBe(fp(text));
    expect(formatText('x.intercept', out, 'intercept', 'intercept').text).toBe(out);
  });
});

describe('comments', () => {
  const text = `# leading comment of the policy
policy demo {  # on the policy's { line
  # leading comment of proxy
  proxy {  # on proxy's { line
    uid 1337  # trailing of uid
    # leading of gid
    gid 1337
    # before proxy's }
  }  # after proxy's }

  inbound {
    capture ports *
  }
  families ipv4, ipv6  # trailing of families
  # before the policy's }
}  # after the policy's }

# end of file
`;

  it('each comment is attached where it was written', () => {
    const tree = treeOf(text);
    const p: PolicyNode = tree.policies[0];
    const t = (c: { text: string } | undefined) => c?.text.trim();
    expect(p.leading.map(t)).toEqual(['leading comment of the policy']);
    expect(t(p.openComment)).toBe("on the policy's { line");
    expect(p.endComments.map(t)).toEqual(["before the policy's }"]);
    expect(t(p.trailing)).toBe("after the policy's }");
    expect(tree.endComments.map(t)).toEqual(['end of file']);
    const proxy = blockNamed(p.items, 'proxy');
    expect(proxy.leading.map(t)).toEqual(['leading comment of proxy']);
    expect(t(proxy.openComment)).toBe("on proxy's { line");
    expect(proxy.endComments.map(t)).toEqual(["before proxy's }"]);
    expect(t(proxy.trailing)).toBe("after proxy's }");
    expect(t(statementStarting(proxy.items, 'uid').trailing)).toBe('trailing of uid');
    expect(statementStarting(proxy.items, 'gid').leading.map(t)).toEqual(['leading of gid']);
    expect(blockNamed(p.items, 'inbound').blankBefore).toBe(true);
    expect(t(statementStarting(p.items, 'families').trailing)).toBe('trailing of families');
  });

  it('fmt keeps every comment in place (the text is already canonical)', () => {
    expect(formatText('x.intercept', text, 'intercept', 'intercept').text).toBe(text);
  });

  it('comments do not change the meaning', () => {
    expect(fp(text)).toBe(fp(text.replace(/\s*#.*$/gm, '')));
  });

  it('a # inside a list, and a comment-only file is "no policy"', () => {
    expect(fp('policy p { outbound { capture cidrs 10.0.0.0/8, # a comment\n 11.0.0.0/8 } }\n')).toBe(fp('policy p { outbound { capture cidrs 10.0.0.0/8, 11.0.0.0/8 } }\n'));
    expect(found(load('# just a comment\n').diagnostics)).toEqual(['missing-policy@1:1']);
  });

  it('every comment survives the trip to YAML and back', () => {
    const yaml = formatText('x.intercept', text, 'intercept', 'yaml').text!;
    const back = formatText('x.yaml', yaml, 'yaml', 'intercept').text!;
    const comments = (s: string) => [...s.matchAll(/#(.*)$/gm)].map((m) => m[1].trim()).sort();
    expect(comments(yaml)).toEqual(comments(text));
    expect(comments(back)).toEqual(comments(text));
    expect(fp(back)).toBe(fp(text));
    expect(fp(yaml, 'yaml')).toBe(fp(text));
  });

  it('YAML comments stay where they were: key lines, first and last lines of a block', () => {
    const y = `# head
policy: demo  # on the policy line
# leading of proxy
proxy:  # on proxy's key line
  # first in proxy
  uid: 1337  # trailing of uid
  gid: [1337, 1338]  # trailing of a flow list
  # last in proxy

inbound:
  capture-ports: "*"  # after a quoted value
  exclude-ports:
    - 15090
    - 15021  # on the last item
interfaces: {}  # an empty block
# end of file
`;
    expect(formatText('x.yaml', y, 'yaml', 'yaml').text).toBe(y.replace('exclude-ports:\n    - 15090\n    - 15021', 'exclude-ports: [15090, 15021]'));
    const tree = load(y, 'yaml').tree!;
    const p = tree.policies[0];
    const t = (c: { text: string } | undefined) => c?.text.trim();
    expect(p.leading.map(t)).toEqual(['head']);
    expect(t(p.openComment)).toBe('on the policy line');
    const proxy = blockNamed(p.items, 'proxy');
    expect(t(proxy.openComment)).toBe("on proxy's key line");
    expect(proxy.items[0].leading.map(t)).toEqual(['first in proxy']);
    expect(proxy.endComments.map(t)).toEqual(['last in proxy']);
    expect(tree.endComments.map(t)).toEqual(['end of file']);
  });
});

// ---- both syntaxes: one policy ------------------------------------------------------------

describe('the .intercept and YAML syntaxes', () => {
  const dsl = `policy both {
  proxy {
    uid 1337, envoy
    gid none
    outbound-port 15001
    inbound-port 15006
    tunnel-port none
  }
  inbound {
    mode tproxy mark 0x539 table 133
    capture ports *
    exclude ports 15090, 15021, 15020, 20000-20100
  }
  outbound {
    capture cidrs 10.0.0.0/8, fd00::/8
    exclude cidrs 10.96.0.1/32
    capture ports 9000
    exclude ports 3306
    groups *
    exclude groups 888
  }
  loopback {
    passthrough 127.0.0.6, ::6
    localhost 127.0.0.1/32, ::1/128
    self-redirect off
  }
  dns {
    capture servers 10.96.0.10, fd00::a
    port 15053
  }
  interfaces {
    exclude veth+
    reroute eth1, eth2
  }
  drop-invalid on
  families ipv4, ipv6
}
`;

  const yaml = `policy: both
proxy:
  uid: [1337, envoy]
  gid: none
  outbound-port: 15001
  inbound-port: "15006"
  tunnel-port: none
inbound:
  mode: tproxy mark 0x539 table 133
  capture-ports: "*"
  exclude-ports: 15090, 15021, 15020, 20000-20100
outbound:
  capture-cidrs:
    - 10.0.0.0/8
    - "fd00::/8"
  exclude-cidrs: '10.96.0.1/32'
  capture-ports: 9000
  exclude-ports: [3306]
  groups: "*"
  exclude-groups: [888]
loopback: {passthrough: [127.0.0.6, "::6"], localhost: "127.0.0.1/32, ::1/128", self-redirect: false}
dns:
  capture: servers 10.96.0.10, fd00::a
  port: 15053
interfaces:
  exclude: veth+
  reroute: [eth1, eth2]
drop-invalid: on
families: [ipv4, ipv6]
`;

  it('a policy using every block reads the same from both', () => {
    const a = policyOf(dsl);
    const b = policyOf(yaml, 'yaml');
    expect(policyFingerprint(b)).toBe(policyFingerprint(a));
    // ... and it is not the default policy (the comparison can fail).
    expect(policyFingerprint(a)).not.toBe(policyFingerprint(defaultPolicy('both', 'x')));
  });

  it('fmt --to converts each into the other, keeping the policy', () => {
    const toYaml = formatText('x.intercept', dsl, 'intercept', 'yaml').text!;
    expect(fp(toYaml, 'yaml')).toBe(fp(dsl));
    const toDsl = formatText('x.yaml', yaml, 'yaml', 'intercept').text!;
    // Values are kept as written ('false' stays 'false'); the layout becomes canonical.
    expect(toDsl).toBe(dsl.replace('self-redirect off', 'self-redirect false'));
    expect(fp(toDsl)).toBe(fp(yaml, 'yaml'));
  });

  it('YAML values keep their own line:col', () => {
    const r = load('policy: p\noutbound:\n  capture-cidrs: [10.0.0.0/8, 10.0.0.1/8]\n', 'yaml');
    expect(found(r.diagnostics)).toEqual(['cidr-host-bits@3:31']);
    const s = load('policy: p\noutbound:\n  capture-cidrs: "10.0.0.0/8, 10.0.0.1/8"\n', 'yaml');
    expect(found(s.diagnostics)).toEqual(['cidr-host-bits@3:31']);
  });

  it('the same mistakes give the same diagnostics in both', () => {
    const d = load('policy p {\n  inbound {\n    capture ports 80, 0\n  }\n}\n');
    const y = load('policy: p\ninbound:\n  capture-ports: 80, 0\n', 'yaml');
    expect(d.diagnostics.map((x) => [x.code, x.message])).toEqual(y.diagnostics.map((x) => [x.code, x.message]));
    expect(d.diagnostics.length).toBe(1);
  });
});

describe("the parser's errors as diagnostics", () => {
  const src = new SourceFile('p.intercept', 'policy p @\n');
  const span = src.span(9, 10);
  const tok = (name: string, image: string, startOffset = 9) => ({ image, startOffset, tokenType: { name } }) as unknown as IToken;

  it("a missing '{' is missing-open-brace, naming what was found", () => {
    const d = parseErrorDiagnostic("Expecting token of type --> '{' <-- but found --> '\n' <--", tok('Newline', '\n'), span);
    expect(d).toMatchObject({ code: 'missing-open-brace', message: "expected '{', found the end of the line", span });
  });

  it("'policy' where a block's '}' was expected is nested-policy", () => {
    const d = parseErrorDiagnostic("Expecting token of type --> '}' <-- but found --> 'policy' <--", tok('Policy', 'policy'), span);
    expect(d.code).toBe('nested-policy');
  });

  it('anything else Chevrotain might say is the generic syntax-error, with its description', () => {
    // No input reaches this today (the grammar fails in the two ways above only): a made-up error.
    const other = parseErrorDiagnostic("Expecting token of type --> ';' <-- but found --> '@' <--", tok('Word', '@'), span);
    expect(other).toMatchObject({ code: 'syntax-error', severity: 'error', message: "syntax error: expected ';', found '@'", span });
    const eof = parseErrorDiagnostic('Redundant input, expecting EOF but found: x', tok('EOF', '', NaN), span);
    expect(eof).toMatchObject({ code: 'syntax-error', message: 'syntax error: unexpected end of the file' });
  });
});

describe('chevrotain is loaded from its single-file bundle', () => {
  it('of the installed release (the package entry would load ~300 lodash-es modules at every start)', () => {
    const entry = createRequire(import.meta.url).resolve('chevrotain');
    const pkg = JSON.parse(readFileSync(join(dirname(entry), '..', '..', 'package.json'), 'utf8')) as { version: string };
    expect(loadedFrom).toBe('bundle');
    expect(loadedChevrotain).toBe(pkg.version);
    expect(readFileSync(join(dirname(entry), '..', 'chevrotain.mjs'), 'utf8')).toContain(`"${pkg.version}"`);
  });
});

describe('statement runs (the scanner hands a statement\'s values to the parser as one token)', () => {
  it("a policy may be named 'policy', in both syntaxes", () => {
    const dsl = load('policy policy {\n  inbound {\n    capture ports *\n  }\n}\n');
    const yaml = load('policy: policy\ninbound:\n  capture-ports: "*"\n', 'yaml');
    expect(errorsOf(dsl.diagnostics)).toEqual([]);
    expect(errorsOf(yaml.diagnostics)).toEqual([]);
    expect(dsl.policy!.name).toBe('policy');
    expect(policyFingerprint(dsl.policy!)).toBe(policyFingerprint(yaml.policy!));
    // And fmt writes it back as it reads.
    const text = 'policy policy {\n  inbound {\n    capture ports *\n  }\n}\n';
    expect(formatText('p.intercept', text, 'intercept', 'intercept').text).toBe(text);
    expect(formatText('p.yaml', formatText('p.intercept', text, 'intercept', 'yaml').text!, 'yaml', 'intercept').text).toBe(text);
  });

  it('an unclosed block is named by its statement, commas as written', () => {
    const r = load('policy p {\n  outbound {\n    exclude ports 1, 2 {\n  }\n}\n');
    const unclosed = r.diagnostics.filter((d) => d.code === 'unclosed-block');
    expect(unclosed.map((d) => d.message)).toEqual([expect.stringContaining("'exclude ports 1, 2'")]);
    expect(load('policy p {\n  outbound {\n    cidrs , {\n  }\n}\n').diagnostics.filter((d) => d.code === 'unclosed-block').map((d) => d.message)).toEqual([
      expect.stringContaining("'cidrs,'"),
    ]);
  });

  it('a list continues after a trailing comma across comments and blank lines, and ends at a newline without one', () => {
    const p = policyOf('policy p {\n  inbound {\n    capture ports *\n    exclude ports 1,  # one\n\n      # more\n      2, 3\n  }\n}\n');
    expect(p.inbound.excludePorts.value.map((x) => x.lo)).toEqual([1, 2, 3]);
    const r = load('policy p {\n  inbound {\n    capture ports *\n    exclude ports 1\n      2\n  }\n}\n');
    expect(found(errorsOf(r.diagnostics))).toEqual(['unknown-keyword@5:7']);
  });
});
