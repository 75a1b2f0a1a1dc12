// Sets of interface names and owner ids, and verdict maps: the optimizer's fold-keys and
// verdict-maps passes make them in the IR (src/optimize/keys.ts), the emitter writes what
// the IR says, the compile proves it, both importers read them back as the IR's list
// matches and verdict maps, and the proof catches a map or a set that means something else.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { importNftables } from '../../backends/nftables/import.js';
import { importNftText } from '../../backends/nftables/import-text.js';
import type { NftDocument, NftElement, NftExpr, NftRule, NftStatementBodies } from '../../backends/nftables/objects.js';
import { capabilities } from '../../backends/nftables/versions.js';
import { compile } from '../../src/api.js';
import type { Rule, RuleSet } from '../../src/ir/types.js';
import { foldKeyRules, verdictMapRules } from '../../src/optimize/keys.js';
import { optimize } from '../../src/optimize/passes.js';
import { jumpProblems } from '../../src/ir/check.js';
import { stepRuleText } from '../../src/cli/trace-render.js';
import { simulate } from '../../src/sim/simulate.js';
import { parseCompactPacket } from '../../src/sim/packet.js';
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
    // Read back as the IR's verdict map (one rule), equal to the lowered IR.
    const back = mustImport(text);
    const vm = back.tables.flatMap((t) => t.chains.flatMap((c) => c.rules)).filter((r) => r.action.kind === 'vmap');
    expect(vm.map((r) => r.action.kind === 'vmap' && r.action.entries.map((e) => ('name' in e.match ? e.match.name : '')).sort())).toEqual([['eth9', 'lo']]);
    const eq = same(ir, back);
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

  it('the passes group only what they may, and only for a release that has the form', () => {
    const rule = (name: string, chain: string): Rule => ({ matches: [{ kind: 'oif', neg: false, name, prefix: false }], action: { kind: 'goto', chain }, origin: { span: null, purpose: name } });
    const rules = [rule('a', 'x'), rule('b', 'y'), rule('c', 'x')];
    expect(verdictMapRules(rules).map((r) => (r.action.kind === 'vmap' ? r.action.entries.length : 0))).toEqual([3]);
    // One verdict for all: a list, not a map.
    const same3 = [rule('a', 'x'), rule('b', 'x'), rule('c', 'x')];
    expect(verdictMapRules(same3)).toHaveLength(3);
    expect(foldKeyRules(same3).map((r) => r.matches)).toEqual([[{ kind: 'oif', neg: false, names: ['a', 'b', 'c'].map((name) => ({ name, prefix: false })) }]]);
    // A wildcard name or a negated one is not a set element; a repeated name ends a map.
    const wild: Rule = { ...rule('d', 'x'), matches: [{ kind: 'oif', neg: false, name: 'veth', prefix: true }] };
    expect(verdictMapRules([rule('a', 'x'), wild, rule('b', 'y')])).toHaveLength(3);
    expect(foldKeyRules([rule('a', 'x'), wild, rule('b', 'x')])).toHaveLength(3);
    expect(verdictMapRules([rule('a', 'x'), rule('a', 'y')])).toHaveLength(2);
    // A jump comes back: overlapping id ranges stay apart, disjoint ones fold.
    const j = (ids: [number, number][]): Rule => ({ matches: [{ kind: 'uid', neg: false, ids }], action: { kind: 'jump', chain: 'x' }, origin: { span: null, purpose: 'j' } });
    expect(foldKeyRules([j([[1, 5]]), j([[5, 9]])])).toHaveLength(2);
    expect(foldKeyRules([j([[1, 5]]), j([[6, 9]])]).map((r) => r.matches)).toEqual([[{ kind: 'uid', neg: false, ids: [[1, 9]] }]]);
    // The release's capabilities (data) leave a pass out.
    const ir = nftOf('cni0, eth9').ir;
    const caps = capabilities('1.0.6')!;
    expect(optimize(ir, undefined, caps).map((s) => s.pass)).toContain('verdict-maps');
    const without = optimize(ir, undefined, { ...caps, keySets: false, verdictMaps: false }).map((s) => s.pass);
    expect(without).not.toContain('verdict-maps');
    expect(without).not.toContain('fold-keys');
  });
});

describe('trace shows a set or a map as the one rule it is', () => {
  it('the verdict map and the owner list of the keyed fixture, met by one packet each', () => {
    const r = compile('test/fixtures/optimize/keyed.intercept', { backends: ['nftables'] });
    expect(r.ok).toBe(true);
    const opt = optimize(r.ir!);
    const rs = opt.at(-1)!.after;
    const p = parseCompactPacket('out tcp 10.1.0.5:40000 -> 10.2.0.9:9080 uid=107 oif=eth0');
    expect(p.problems).toEqual([]);
    const texts = simulate(rs, p.packet!).path.map(stepRuleText);
    expect(texts).toContain('-A OUTPUT vmap oif { eth8 : -j RETURN, eth9 : -j RETURN, lo : -g MESHCAP_OUTPUT_OIF_LO }');
    expect(texts).toContain('-A OUTPUT uid { 106-108, 1337 } -j RETURN');
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

  it('a set of ids and ranges: one list match; a negated one: none of them; a range alone: a range', () => {
    const chain = (x: RuleSet) => x.tables[0].chains.find((ch) => ch.name === 'c')!;
    const rs = mustImport(wrap([{ match: { op: '==', left: skuid, right: { set: [7, { range: [106, 108] }] } } }, { accept: null }]));
    expect(chain(rs).rules.map((r) => r.matches)).toEqual([[{ kind: 'uid', neg: false, ids: [[7, 7], [106, 108]] }]]);
    const neg = mustImport(wrap([{ match: { op: '!=', left: skuid, right: { set: [7, 9] } } }, { accept: null }]));
    expect(chain(neg).rules.map((r) => r.matches)).toEqual([[{ kind: 'uid', neg: true, ids: [[7, 7], [9, 9]] }]]);
    const range = mustImport(wrap([{ match: { op: '==', left: skuid, right: { range: [106, 108] } } }, { accept: null }]));
    expect(chain(range).rules.map((r) => r.matches)).toEqual([[{ kind: 'uid', neg: false, ids: [[106, 108]] }]]);
    // Each means the rules per id it stands for.
    const perId = mustImport(wrap(...[106, 107, 108].map((id) => [{ match: { op: '==', left: skuid, right: id } }, { accept: null }])));
    expect(same(range, perId).result).toBe('equal');
    // A wildcard name is a prefix in the list, before any verdict.
    const wild = mustImport(wrap([{ match: { op: '==', left: { meta: { key: 'oifname' } }, right: { set: ['eth*', 'lo'] } } }, { jump: { target: 'x' } }]));
    expect(chain(wild).rules.map((r) => r.matches)).toEqual([[{ kind: 'oif', neg: false, names: [{ name: 'eth', prefix: true }, { name: 'lo', prefix: false }] }]]);
  });

  it("a verdict map: the IR's verdict map, after what the rule matched first", () => {
    const rs = mustImport(wrap([{ match: { op: '==', left: { meta: { key: 'l4proto' } }, right: 'tcp' } }, { vmap: { key: skuid, data: { set: [[7, { accept: null }], [9, { jump: { target: 'x' } }]] } } }]));
    const c = rs.tables[0].chains.find((ch) => ch.name === 'c')!;
    expect(c.rules.map((r) => [r.matches.map((m) => m.kind), r.action])).toEqual([
      [
        ['protocol'],
        {
          kind: 'vmap',
          key: 'uid',
          entries: [
            { match: { kind: 'uid', neg: false, id: 7 }, action: { kind: 'accept' } },
            { match: { kind: 'uid', neg: false, id: 9 }, action: { kind: 'jump', chain: 'x' } },
          ],
        },
      ],
    ]);
  });

  it('refuses what nft would not mean: a key twice, a map before the end, a wildcard key', () => {
    const msg = (expr: unknown[]) => importNftables(wrap(expr), 'bad.json').diagnostics.map((d) => d.message).join('\n');
    expect(msg([{ vmap: { key: skuid, data: { set: [[7, { accept: null }], [7, { drop: null }]] } } }])).toMatch(/key 7 is in the map twice/);
    expect(msg([{ vmap: { key: skuid, data: { set: [[7, { accept: null }], [8, { drop: null }]] } } }, { accept: null }])).toMatch(/last statement/);
    expect(msg([{ vmap: { key: { meta: { key: 'oifname' } }, data: { set: [['eth*', { accept: null }], ['lo', { drop: null }]] } } }])).toMatch(/wildcard name in a verdict map/);
    expect(msg([{ match: { op: '==', left: { meta: { key: 'oifname' } }, right: { set: ['eth*', 'eth0'] } } }, { return: null }])).toBe('');
    // A map's jumps are jumps (what loadSide and check-ir refuse): to a missing chain, or closing a loop.
    const problems = (text: string) => jumpProblems(mustImport(text)).map((p) => `${p.kind} ${p.target}`);
    expect(problems(wrap([{ vmap: { key: skuid, data: { set: [[7, { accept: null }], [8, { jump: { target: 'nowhere' } }]] } } }]))).toEqual(['missing nowhere']);
    const loop = JSON.parse(wrap([{ vmap: { key: skuid, data: { set: [[7, { jump: { target: 'x' } }], [8, { drop: null }]] } } }])) as { nftables: unknown[] };
    loop.nftables.push({ add: { rule: { family: 'inet', table: 't', chain: 'x', expr: [{ vmap: { key: skuid, data: { set: [[9, { accept: null }], [10, { goto: { target: 'c' } }]] } } }] } } });
    // x is listed first, so the walk starts there: c's map jumps back into it.
    expect(problems(JSON.stringify(loop))).toEqual(['loop x']);
  });

  it('the text listing of a verdict map reads as its JSON does', () => {
    const text = `table inet t {
\tchain x {
\t}

\tchain c {
\t\ttype filter hook output priority filter; policy accept;
\t\toifname vmap { "lo" : goto x, "eth9" : return } comment "m"
\t\tmeta skuid { 7, 9 } accept
\t\tmeta skuid 106-108 accept
\t}
}
`;
    const t = importNftText(text, 'l.nft');
    expect(t.diagnostics.map((d) => d.message)).toEqual([]);
    const j = mustImport(
      wrap(
        [{ vmap: { key: { meta: { key: 'oifname' } }, data: { set: [['lo', { goto: { target: 'x' } }], ['eth9', { return: null }]] } } }],
        [{ match: { op: '==', left: skuid, right: { set: [7, 9] } } }, { accept: null }],
        [{ match: { op: '==', left: skuid, right: { range: [106, 108] } } }, { accept: null }],
      ),
    );
    expect(t.ruleset!.tables[0].chains.find((c) => c.name === 'c')!.rules.map((r) => r.action.kind)).toEqual(['vmap', 'accept', 'accept']);
    const eq = same(t.ruleset!, j);
    expect(eq.result, eq.reason).toBe('equal');
    // A wrong word where a verdict goes is a located error.
    const bad = importNftText(text.replace('goto x', 'redirect'), 'l.nft');
    expect(bad.diagnostics[0]?.message).toMatch(/verdict/);
    expect(bad.diagnostics[0]?.span?.start.line).toBe(7);
  });
});
