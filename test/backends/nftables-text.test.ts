// The nft text listing importer: a listing the kernel printed (`nft -a list ruleset`,
// test/fixtures/nft-text/mixed.nft, beside its `nft -j list ruleset` twin) reads as its
// JSON twin does; what nft lists differently from the JSON (priorities as `srcnat + 10`,
// partial mark sets as `mark & M | V`, comma lists, address ranges, multi-line set
// elements, handles) comes out as the JSON importer's values; bad text gets located
// diagnostics, several per run. The kernel test (test/kernel/nft-text.test.ts) does the
// same for every artifact meshcap emits and the Istio corpus.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { importNftables } from '../../backends/nftables/import.js';
import { importNftText, isNftText } from '../../backends/nftables/import-text.js';
import { loadSide } from '../../src/compile/sides.js';
import { equivalent } from '../../src/verify/engine.js';
import { rulesSide } from '../../src/verify/side.js';
import { packetText } from '../../src/verify/compare.js';

const text = readFileSync('test/fixtures/nft-text/mixed.nft', 'utf8');
const json = readFileSync('test/fixtures/nft-text/mixed.json', 'utf8');
const at = (r: ReturnType<typeof importNftText>) => r.diagnostics.map((d) => `${d.span?.start.line}:${d.span?.start.col} ${d.code} ${d.message}`);
const wrap = (body: string) => `table inet t {\n\tchain c {\n\t\ttype filter hook output priority mangle; policy accept;\n${body}\n\t}\n}\n`;

describe('nft text listing importer', () => {
  it('reads a kernel listing as its JSON twin: the same rules, proven equal over every packet', () => {
    const t = importNftText(text, 'mixed.nft');
    expect(at(t)).toEqual([]);
    const j = importNftables(json, 'mixed.json');
    expect(j.diagnostics).toEqual([]);
    const rules = (rs: NonNullable<typeof t.ruleset>) => rs.tables.flatMap((tb) => tb.chains.flatMap((c) => c.rules));
    expect(rules(t.ruleset!).map((r) => [r.matches, r.effects, r.action])).toEqual(rules(j.ruleset!).map((r) => [r.matches, r.effects, r.action]));
    const eq = equivalent(rulesSide('json', j.ruleset!), rulesSide('text', t.ruleset!));
    expect(eq.result, eq.counterexample ? packetText(eq.counterexample.packet) : eq.reason).toBe('equal');
  });

  it('keeps tables, priorities (named, with offsets) and each rule line', () => {
    const t = importNftText(text, 'mixed.nft').ruleset!;
    expect(t.tables.map((tb) => `${tb.family}:${tb.name}`)).toEqual(['inet:t', 'ipv4:q']);
    const base = Object.fromEntries(t.tables.flatMap((tb) => tb.chains).filter((c) => c.base).map((c) => [c.name, c.base!.priority]));
    expect(base).toEqual({ c: 110, n: -105, p: -150, x: -100 });
    const redirect = t.tables[1].chains[0].rules[0];
    expect(redirect.origin.span!.start.line).toBe(text.split('\n').findIndex((l) => l.includes('tcp dport 80 redirect')) + 1);
    expect(redirect.origin.span!.start.col).toBe(3);
  });

  it('reads a partial mark set as listed (`mark & (M|V) | V`) as the mask the rule set', () => {
    const t = importNftText(wrap('\t\tmeta mark set meta mark & 0xffff01ff | 0x00000100\n\t\tmeta mark set 0x00000539 accept'), 'm.nft');
    expect(at(t)).toEqual([]);
    const [a, b] = t.ruleset!.tables[0].chains[0].rules;
    expect(a.action).toEqual({ kind: 'counter' });
    expect(a.effects).toEqual([{ kind: 'mark-set', value: 0x100, mask: 0xff00 }]);
    expect(b.effects).toEqual([{ kind: 'mark-set', value: 0x539, mask: 0xffffffff }]);
    expect(b.action).toEqual({ kind: 'accept' });
  });

  it('tells listings from other text', () => {
    expect(isNftText(text)).toBe(true);
    expect(isNftText('# a comment\ntable ip nat {\n}\n')).toBe(true);
    expect(isNftText('*nat\n:PREROUTING ACCEPT [0:0]\nCOMMIT\n')).toBe(false);
    expect(isNftText('{"nftables": []}')).toBe(false);
  });

  it('gives every unreadable rule a located diagnostic with its text, and reads on', () => {
    // fib, numgen and meta cpu are other tools' expressions: unmodelled (warnings), not errors.
    const t = importNftText(wrap('\t\tfrob daddr type local accept\n\t\ttcp dport 80 accept\n\t\tmeta l4proto { tcp, udp } accept\n\t\tfib daddr type local numgen inc mod 2 0 counter\n\t\tmeta frob 1 drop'), 'bad.nft');
    expect(t.ruleset).toBeUndefined();
    expect(at(t)).toEqual([
      "4:3 rules-nft-text 'frob' is not read here (a match or statement meshcap does not model)",
      '6:3 rules-nft-text a set of l4proto values is not read',
      '8:8 rules-nft-text meta frob is not read',
    ]);
    const ok = importNftText(wrap('\t\tfib daddr type local numgen inc mod 2 0 counter\n\t\tmeta cpu 1 drop'), 'ok.nft');
    expect(at(ok)).toEqual(["4:3 rules-unmodelled 'fib daddr type local' is not modelled: the rule may or may not match, and a proof whose outcome depends on it says unknown, naming it", "4:24 rules-unmodelled 'numgen inc mod 2 0' is not modelled: the rule may or may not match, and a proof whose outcome depends on it says unknown, naming it", "5:3 rules-unmodelled 'meta cpu 1' is not modelled: the rule may or may not match, and a proof whose outcome depends on it says unknown, naming it"]);
    expect(t.diagnostics.every((d) => d.hint && d.span?.file === 'bad.nft')).toBe(true);
  });

  it('locates bad structure, values and references', () => {
    expect(at(importNftText('table bridge b {\n}\n', 'f.nft'))).toEqual(["1:7 rules-nft-text table family 'bridge' is not read (inet, ip, ip6)"]);
    expect(at(importNftText('table inet t {\n\tchain c {\n\t\tcomment "x\n\t}\n}\n', 'f.nft'))).toEqual(['3:11 rules-nft-text unterminated string']);
    expect(at(importNftText('table inet t {\n\tchain c {\n', 'f.nft'))).toEqual(["3:1 rules-nft-text expected '}', found the end of the text"]);
    expect(at(importNftText(wrap('\t\ttcp dport http accept'), 'f.nft'))).toEqual(["4:13 rules-nft-text expected a port or a range, found 'http'"]);
    expect(at(importNftText(wrap('\t\tip daddr 10.0.0.300 accept'), 'f.nft'))).toEqual(["4:3 rules-nft-text '10.0.0.300' is not an ipv4 address"]);
    expect(at(importNftText(wrap('\t\tip daddr @nope accept'), 'f.nft'))).toEqual(['4:3 rules-nft-text set @nope is not defined']);
    expect(at(importNftText(wrap('\t\tredirect to 10.0.0.1:80'), 'f.nft'))).toEqual(['4:15 rules-nft-text only `redirect to :PORT` is read']);
    expect(at(importNftText('table inet t {\n\tchain c {\n\t\ttype filter hook output priority bogus; policy accept;\n\t}\n}\n', 'f.nft'))).toEqual(["3:36 rules-nft-text priority 'bogus' is not read"]);
    // Whitespace nft does not take (found by fuzzing: a no-break space once hung the tokenizer).
    expect(at(importNftText('table inet t {\n\tset s {\n\t\tflags\u00a0interval\n\t}\n}\n', 'f.nft'))).toEqual(["3:3 rules-nft-text set property 'flags\u00a0interval' is not read"]);
    expect(at(importNftText('table inet t {\n\tmap m {\n\t}\n}\n', 'f.nft'))).toEqual(["2:2 rules-nft-text 'map' in a table is not read (chains and sets are)"]);
  });

  it('is what verify, trace and diff read for a text file (and a missing jump target is bad input)', () => {
    const side = loadSide('test/fixtures/nft-text/mixed.nft');
    expect(side.diagnostics).toEqual([]);
    expect(side.families).toEqual(['ipv4', 'ipv6']);
    const bad = importNftText(wrap('\t\tjump nowhere'), 'j.nft');
    expect(bad.diagnostics).toEqual([]);
  });
});
