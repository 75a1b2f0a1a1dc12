// Sets of interface names and owner ids, and verdict maps (backends/nftables/dispatch.ts):
// what the emitter writes for runs of rules that select by one key, that the compile
// proves it, that both importers read it back as the rules it stands for, and that the
// proof catches a map or a set that means something else.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runs } from '../../backends/nftables/dispatch.js';
import { importNftables } from '../../backends/nftables/import.js';
import { importNftText } from '../../backends/nftables/import-text.js';
import type { NftDocument, NftElement, NftExpr, NftRule, NftStatementBodies } from '../../backends/nftables/objects.js';
import { capabilities } from '../../backends/nftables/versions.js';
import { compile } from '../../src/api.js';
import type { Rule, RuleSet } from '../../src/ir/types.js';
import { packetText } from '../../src/verify/compare.js';
import { equivalent } from '../../src/verify/engine.js';
import { rulesSide } from '../../src/verify/side.js';

const dir = mkdtempSync(join(tmpdir(), 'meshcap-keys-'));
const istio = readFileSync('specs/istio-sidecar.intercept', 'utf8');

/** istio-sidecar with `interfaces { exclude ... }`, compiled to nftables (every proof run). */
function nftOf(exclude: string): { ir: RuleSet; doc: NftDocument; text: string } {
  const f = join(dir, `${exclude.replace(/\W/g, '_')}.intercept`);
  writeFileSync(f, istio.replace('  families ipv4, ipv6', `  interfaces { exclude ${exclude} }\n  families ipv4, ipv6`));
  const r = compile(f, { backends: ['nftables'] });
  expect(r.diagnostics.map((d) => d.message)).toEqual([]);
  expect(r.ok).toBe(true);
  expect(r.proofs.length).toBeGreaterThan(0);
  for (const p of r.proofs) expect(p.result, p.stage).toBe('equal');
  const text = r.artifacts.find((a) => a.backend === 'nftables')!.text;
  return { ir: r.ir!, doc: JSON.parse(text) as NftDocument, text };
}

const rulesOf = (doc: NftDocument): NftRule[] => doc.nftables.flatMap((c) => (c.add?.rule ? [c.add.rule] : []));
const vmapOf = (rule: NftRule): NftStatementBodies['vmap'] | undefined => rule.expr.find((e) => e.vmap)?.vmap;
/** The anonymous set of an iifname match of a rule, if it has one. */
const ifnameSet = (e: NftExpr): NftElement[] | undefined => {
  const right = e.match?.left.meta?.key === 'iifname' ? e.match.right : undefined;
  return typeof right === 'object' && right !== null && 'set' in right ? right.set : undefined;
};

function mustImport(text: string): RuleSet {
  const r = importNftables(text, 'x.nft.json');
  expect(r.diagnostics.map((d) => d.message)).toEqual([]);
  return r.ruleset!;
}

function same(a: RuleSet, b: RuleSet) {
  return equivalent(rulesSide('a', a), rulesSide('b', b), { families: ['ipv4', 'ipv6'] });
}

describe('runs of rules that select by one key', () => {
  it('an excluded interface beside the loopback jump: one oifname verdict map, proven', () => {
    const { ir, doc, text } = nftOf('eth9');
    const maps = rulesOf(doc).filter(vmapOf);
    expect(maps).toHaveLength(1);
    const m = vmapOf(maps[0])!;
    expect(m.key).toEqual({ meta: { key: 'oifname' } });
    const byKey = Object.fromEntries(m.data.set.map(([k, v]) => [typeof k === 'string' ? k : JSON.stringify(k), v]));
    expect(Object.keys(byKey).sort()).toEqual(['eth9', 'lo']);
    expect(byKey.eth9).toEqual({ return: null });
    expect(Object.keys(byKey.lo)).toEqual(['goto']);
    // Read back as the rules it stands for, equal to the lowered IR.
    const eq = same(ir, mustImport(text));
    expect(eq.result, eq.counterexample ? packetText(eq.counterexample.packet) : eq.reason).toBe('equal');
  });

  it('two excluded interfaces: one iifname rule on an anonymous set, and the output chain one map of three', () => {
    const { doc } = nftOf('cni0, eth9');
    const sets = rulesOf(doc).filter((r) => r.expr.some(ifnameSet));
    expect(sets).toHaveLength(1);
    expect(sets[0].expr.map(ifnameSet).find(Boolean)!.map(String).sort()).toEqual(['cni0', 'eth9']);
    expect(sets[0].expr.at(-1)).toEqual({ return: null });
    const maps = rulesOf(doc).filter(vmapOf);
    expect(maps.map((r) => vmapOf(r)!.data.set.length)).toEqual([3]);
  });

  it('the proof catches a map whose verdicts are swapped and a set with one name more', () => {
    const { ir, doc } = nftOf('cni0, eth9');
    const swapped = structuredClone(doc);
    const set = vmapOf(rulesOf(swapped).find(vmapOf)!)!.data.set;
    const lo = set.find(([k]) => k === 'lo')!;
    const other = set.find(([k]) => k !== 'lo')!;
    [lo[1], other[1]] = [other[1], lo[1]];
    const a = same(ir, mustImport(JSON.stringify(swapped)));
    expect(a.result).toBe('different');
    const wider = structuredClone(doc);
    const names = rulesOf(wider).flatMap((r) => r.expr.map(ifnameSet)).find(Boolean)!;
    names.push('eth0');
    const b = same(ir, mustImport(JSON.stringify(wider)));
    expect(b.result).toBe('different');
    expect(b.counterexample!.packet.iif).toBe('eth0');
  });

  it('nothing is grouped when the release has neither form', () => {
    const rule = (name: string, chain: string): Rule => ({ matches: [{ kind: 'oif', neg: false, name, prefix: false }], action: { kind: 'goto', chain }, origin: { span: null, purpose: name } });
    const rules = [rule('a', 'x'), rule('b', 'y'), rule('c', 'x')];
    const caps = capabilities('1.0.6')!;
    expect(runs(rules, caps, () => true).map((r) => [r.rules.length, r.form])).toEqual([[3, 'vmap']]);
    expect(runs(rules, { ...caps, keySets: false, verdictMaps: false }, () => true).map((r) => r.rules.length)).toEqual([1, 1, 1]);
    // A wildcard name or a negated one is not a set element; a repeated name ends the run.
    const wild: Rule = { ...rule('d', 'x'), matches: [{ kind: 'oif', neg: false, name: 'veth', prefix: true }] };
    expect(runs([rule('a', 'x'), wild, rule('b', 'x')], caps, () => true).map((r) => r.rules.length)).toEqual([1, 1, 1]);
    expect(runs([rule('a', 'x'), rule('a', 'y')], caps, () => true).map((r) => r.rules.length)).toEqual([1, 1]);
  });

  it('runs are what their definition says, on random chains and every set of capabilities', () => {
    // The definition, written plainly: from each head, the longest run of rules that differ
    // from it only in one key match (the same one throughout), with distinct values, whose
    // verdicts the release can write (one verdict: a set or a map; several: a map only).
    const keyOf = (r: Rule) => (r.matches[0] as { name: string }).name;
    const plain = (rules: Rule[], keySets: boolean, verdictMaps: boolean): number[] => {
      const out: number[] = [];
      for (let i = 0; i < rules.length; ) {
        let j = i + 1;
        const exact = (r: Rule) => !(r.matches[0] as { prefix: boolean }).prefix;
        if ((keySets || verdictMaps) && exact(rules[i])) {
          while (j < rules.length && exact(rules[j]) && !rules.slice(i, j).some((x) => keyOf(x) === keyOf(rules[j]))) {
            const one = rules.slice(i, j + 1).every((x) => JSON.stringify(x.action) === JSON.stringify(rules[i].action));
            if (one ? !keySets && !verdictMaps : !verdictMaps) break;
            j++;
          }
        }
        out.push(j - i);
        i = j;
      }
      return out;
    };
    const pick = <T,>(xs: T[], k: number) => xs[k % xs.length];
    let seed = 7;
    const next = () => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) >>> 8;
    const caps = capabilities('1.0.6')!;
    let grouped = 0;
    for (let n = 0; n < 300; n++) {
      const rules: Rule[] = Array.from({ length: 1 + (next() % 12) }, () => {
        const name = pick(['a', 'b', 'c', 'd', 'e', 'veth'], next());
        const action = pick([{ kind: 'return' }, { kind: 'return' }, { kind: 'accept' }, { kind: 'goto', chain: 'x' }], next()) as Rule['action'];
        return { matches: [{ kind: 'oif', neg: false, name, prefix: name === 'veth' }], action, origin: { span: null, purpose: 'random' } };
      });
      for (const [keySets, verdictMaps] of [[true, true], [true, false], [false, true], [false, false]]) {
        const got = runs(rules, { ...caps, keySets, verdictMaps }, () => true).map((r) => r.rules.length);
        expect(got, `chain ${n}: ${rules.map((r) => `${keyOf(r)}:${r.action.kind}`).join(' ')}, sets ${keySets}, maps ${verdictMaps}`).toEqual(plain(rules, keySets, verdictMaps));
        grouped += got.filter((k) => k > 1).length;
      }
    }
    expect(grouped).toBeGreaterThan(100);
  });
});

describe('the importers read sets of names and ids and verdict maps', () => {
  const wrap = (...exprs: unknown[][]) =>
    JSON.stringify({
      nftables: [
        { add: { table: { family: 'inet', name: 't' } } },
        { add: { chain: { family: 'inet', table: 't', name: 'x' } } },
        { add: { chain: { family: 'inet', table: 't', name: 'c', type: 'filter', hook: 'output', prio: 0, policy: 'accept' } } },
        ...exprs.map((expr) => ({ add: { rule: { family: 'inet', table: 't', chain: 'c', expr } } })),
      ],
    });
  const skuid = { meta: { key: 'skuid' } };

  it('a set of ids: one rule per id, in order; a negated one: every id is not', () => {
    const rs = mustImport(wrap([{ match: { op: '==', left: skuid, right: { set: [7, 9] } } }, { accept: null }]));
    const c = rs.tables[0].chains.find((ch) => ch.name === 'c')!;
    expect(c.rules.map((r) => r.matches)).toEqual([[{ kind: 'uid', neg: false, id: 7 }], [{ kind: 'uid', neg: false, id: 9 }]]);
    const neg = mustImport(wrap([{ match: { op: '!=', left: skuid, right: { set: [7, 9] } } }, { accept: null }]));
    expect(neg.tables[0].chains.find((ch) => ch.name === 'c')!.rules.map((r) => r.matches)).toEqual([
      [
        { kind: 'uid', neg: true, id: 7 },
        { kind: 'uid', neg: true, id: 9 },
      ],
    ]);
  });

  it('a verdict map: one rule per key with its verdict, after what the rule matched first', () => {
    const rs = mustImport(wrap([{ match: { op: '==', left: { meta: { key: 'l4proto' } }, right: 'tcp' } }, { vmap: { key: skuid, data: { set: [[7, { accept: null }], [9, { jump: { target: 'x' } }]] } } }]));
    const c = rs.tables[0].chains.find((ch) => ch.name === 'c')!;
    expect(c.rules.map((r) => [r.matches.map((m) => m.kind), r.action])).toEqual([
      [['protocol', 'uid'], { kind: 'accept' }],
      [['protocol', 'uid'], { kind: 'jump', chain: 'x' }],
    ]);
  });

  it('refuses what the rules would not mean: a key twice, a map before the end, a wildcard set before a jump', () => {
    const msg = (expr: unknown[]) => importNftables(wrap(expr), 'bad.json').diagnostics.map((d) => d.message).join('\n');
    expect(msg([{ vmap: { key: skuid, data: { set: [[7, { accept: null }], [7, { drop: null }]] } } }])).toMatch(/key 7 is in the map twice/);
    expect(msg([{ vmap: { key: skuid, data: { set: [[7, { accept: null }], [8, { drop: null }]] } } }, { accept: null }])).toMatch(/last statement/);
    expect(msg([{ match: { op: '==', left: { meta: { key: 'oifname' } }, right: { set: ['eth*', 'eth0'] } } }, { jump: { target: 'x' } }])).toMatch(/wildcard name in a set/);
    expect(msg([{ match: { op: '==', left: { meta: { key: 'oifname' } }, right: { set: ['eth*', 'eth0'] } } }, { return: null }])).toBe('');
  });

  it('the text listing of a verdict map reads as its JSON does', () => {
    const text = `table inet t {
\tchain x {
\t}

\tchain c {
\t\ttype filter hook output priority filter; policy accept;
\t\toifname vmap { "lo" : goto x, "eth9" : return } comment "m"
\t\tmeta skuid { 7, 9 } accept
\t}
}
`;
    const t = importNftText(text, 'l.nft');
    expect(t.diagnostics.map((d) => d.message)).toEqual([]);
    const j = mustImport(
      wrap(
        [{ vmap: { key: { meta: { key: 'oifname' } }, data: { set: [['lo', { goto: { target: 'x' } }], ['eth9', { return: null }]] } } }],
        [{ match: { op: '==', left: skuid, right: { set: [7, 9] } } }, { accept: null }],
      ),
    );
    expect(t.ruleset!.tables[0].chains.find((c) => c.name === 'c')!.rules).toHaveLength(4);
    const eq = same(t.ruleset!, j);
    expect(eq.result, eq.reason).toBe('equal');
    // A wrong word where a verdict goes is a located error.
    const bad = importNftText(text.replace('goto x', 'redirect'), 'l.nft');
    expect(bad.diagnostics[0]?.message).toMatch(/verdict/);
    expect(bad.diagnostics[0]?.span?.start.line).toBe(7);
  });
});
