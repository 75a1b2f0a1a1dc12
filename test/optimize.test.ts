// The optimizer: each pass on small hand-built rule sets (what it removes or folds, and
// what it must leave), every pass alone and all together on random policies and the
// specs (proven equal by the engine), and mutants of every pass (each breaks it on
// purpose; the compiler's proof names the pass and gives a counterexample).
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { compile } from '../src/compile/pipeline.js';
import type { Action, Chain, Match, Rule, RuleSet } from '../src/ir/types.js';
import { iptablesBase } from '../src/ir/types.js';
import { factorChains } from '../src/optimize/factor.js';
import { shareFamilies } from '../src/optimize/families.js';
import { foldSets } from '../src/optimize/fold.js';
import { foldKeys, verdictMaps } from '../src/optimize/keys.js';
import { finalIr, optimize, optimizePasses, type OptimizePass } from '../src/optimize/passes.js';
import { deadRules, emptyJumps, inlineChains, unusedChains } from '../src/optimize/prune.js';
import { equivalent } from '../src/verify/engine.js';
import { rulesSide } from '../src/verify/side.js';
import { randomPolicy } from './kernel/oracle/random-policy.js';
import { cli, scratchDir } from './helpers.js';
import { Rand } from './rand.js';
import { costOf } from '../src/compile/cost.js';

const scratch = scratchDir('meshcap-optimize-');
afterAll(() => scratch.cleanup());

const R = (matches: Match[], action: Action): Rule => ({ matches, action, origin: { span: null, purpose: 'test' } });
const RET: Action = { kind: 'return' };
const jump = (chain: string): Action => ({ kind: 'jump', chain });
const tcp: Match = { kind: 'protocol', neg: false, protocol: 'tcp' };
const daddr = (addr: string, prefix = 24, set?: string): Match => ({ kind: 'daddr', neg: false, cidrs: [{ family: 'ipv4', addr, prefix }], ...(set ? { set } : {}) });
const dport = (lo: number, hi = lo): Match => ({ kind: 'dport', neg: false, ranges: [[lo, hi]] });
const uid = (id: number): Match => ({ kind: 'uid', neg: false, id });

/** One ipv4 nat table: OUTPUT (base) and the given user chains. */
function rs(output: Rule[], chains: Record<string, Rule[]> = {}): RuleSet {
  const cs: Chain[] = [{ name: 'OUTPUT', base: iptablesBase('nat', 'output'), rules: output }, ...Object.entries(chains).map(([name, rules]) => ({ name, rules }))];
  return { name: 't', tables: [{ family: 'ipv4', name: 'nat', chains: cs }], routing: { loopbackAddresses: [] } };
}
const out = (x: RuleSet) => x.tables[0].chains[0].rules;
const chainNames = (x: RuleSet) => x.tables[0].chains.map((c) => c.name);
const proven = (a: RuleSet, b: RuleSet) => equivalent(rulesSide('before', a), rulesSide('after', b), { families: ['ipv4'] });
const REDIR: Rule[] = [R([tcp], { kind: 'redirect', port: 15001 })];

describe('fold-sets', () => {
  it('folds 10,000 excluded CIDRs into one rule, merging touching prefixes, keeping the set name', () => {
    // every other /24 (none touch), then two that touch: 10.200.0.0/24 + 10.200.1.0/24 = /23
    const rules = Array.from({ length: 10000 }, (_, i) => R([daddr(`10.${(i * 2) >> 8}.${(i * 2) & 255}.0`, 24, 'excluded-outbound-cidrs')], RET));
    rules.push(R([daddr('10.200.0.0', 24, 'excluded-outbound-cidrs')], RET), R([daddr('10.200.1.0', 24, 'excluded-outbound-cidrs')], RET));
    const before = rs([...rules, R([], jump('REDIRECT'))], { REDIRECT: REDIR });
    const after = foldSets(before);
    expect(out(after)).toHaveLength(2);
    const m = out(after)[0].matches[0];
    expect(m.kind === 'daddr' && m.cidrs.length).toBe(10001);
    expect(m.kind === 'daddr' && m.cidrs.at(-1)).toEqual({ family: 'ipv4', addr: '10.200.0.0', prefix: 23 });
    expect(m.kind === 'daddr' && m.set).toBe('excluded-outbound-cidrs');
    expect(proven(before, after).result).toBe('equal');
  });

  it('folds only rules that differ in one list match, with the same action', () => {
    const before = rs([R([tcp, dport(80)], RET), R([tcp, dport(443)], RET), R([tcp, dport(8080)], jump('X')), R([uid(1), dport(9)], RET), R([uid(2), dport(10)], RET)], { X: [] });
    const after = foldSets(before);
    expect(out(after).map((r) => r.matches.map((m) => (m.kind === 'dport' ? m.ranges : m.kind)))).toEqual([['protocol', [[80, 80], [443, 443]]], ['protocol', [[8080, 8080]]], ['uid', [[9, 9]]], ['uid', [[10, 10]]]]);
  });

  it('a jump comes back for the next rule: overlapping lists stay apart, disjoint ones fold', () => {
    const mark: Rule[] = [R([], { kind: 'mark-set', value: 1, mask: 1 })];
    const overlapping = rs([R([dport(80, 90)], jump('M')), R([dport(85)], jump('M'))], { M: mark });
    expect(out(foldSets(overlapping))).toHaveLength(2);
    const disjoint = rs([R([dport(80, 90)], jump('M')), R([dport(95)], jump('M'))], { M: mark });
    expect(out(foldSets(disjoint))).toHaveLength(1);
    expect(proven(disjoint, foldSets(disjoint)).result).toBe('equal');
  });

  it('names a set only when every folded list has that name', () => {
    const after = foldSets(rs([R([tcp, dport(15008)], RET), R([tcp, { kind: 'dport', neg: false, ranges: [[15090, 15090]], set: 'excluded-inbound-ports' }], RET)]));
    const m = out(after)[0].matches[1];
    expect(m.kind === 'dport' && m.set).toBeUndefined();
  });
});

describe('dead-rules', () => {
  it('drops what follows an unconditional verdict, rules an earlier verdict shadows, and trailing returns', () => {
    const before = rs([R([daddr('10.0.0.0', 8)], RET), R([daddr('10.1.0.0', 16), tcp], jump('X')), R([uid(1)], jump('X')), R([uid(2)], RET), R([], jump('X')), R([tcp], jump('X'))], { X: REDIR });
    const after = deadRules(before);
    // 10.1/16 lies inside 10/8 (shadowed); the rule after the unconditional jump stays (a jump comes back)
    expect(out(after).map((r) => r.matches.map((m) => m.kind).join('+') || 'all')).toEqual(['daddr', 'uid', 'uid', 'all', 'protocol']);
    const cut = deadRules(rs([R([uid(1)], RET), R([], { kind: 'accept' }), R([tcp], jump('X')), R([uid(3)], RET)], { X: REDIR }));
    expect(out(cut)).toHaveLength(2);
    const trailing = deadRules(rs([R([uid(1)], jump('X')), R([uid(2)], RET), R([tcp], RET)], { X: REDIR }));
    expect(out(trailing)).toHaveLength(1);
    expect(proven(before, after).result).toBe('equal');
  });

  it('never uses a mark match to shadow (an earlier rule may change the mark)', () => {
    const mk: Match = { kind: 'mark', neg: false, value: 1, mask: 0xffffffff };
    const before = rs([R([mk], RET), R([], { kind: 'mark-set', value: 1, mask: 0xffffffff }), R([mk, tcp], jump('X'))], { X: REDIR });
    expect(out(deadRules(before))).toHaveLength(3);
  });
});

describe('empty-jumps, inline-chains, unused-chains', () => {
  it('drops jumps to chains that only return, then the chains', () => {
    const before = rs([R([uid(1)], jump('E')), R([], jump('X'))], { E: [R([tcp], RET), R([], RET)], X: REDIR });
    const after = unusedChains(emptyJumps(before));
    expect(chainNames(after)).toEqual(['OUTPUT', 'X']);
    expect(proven(before, after).result).toBe('equal');
  });

  it('inlines a chain entered once by the last rule, and a one-rule chain anywhere; never a chain whose returns would leave the caller', () => {
    const before = rs([R([uid(1)], RET), R([tcp], jump('ONE')), R([], jump('TAIL'))], { ONE: [R([dport(53)], { kind: 'redirect', port: 15053 })], TAIL: [R([uid(2)], RET), R([], jump('X'))], X: REDIR });
    const after = inlineChains(before);
    // ONE in place of its jump, TAIL at the end, then X (now entered by OUTPUT's last rule)
    expect(chainNames(after)).toEqual(['OUTPUT']);
    expect(out(after).map((r) => r.action.kind)).toEqual(['return', 'redirect', 'return', 'redirect']);
    expect(proven(before, after).result).toBe('equal');
    // A multi-rule chain with a return, entered in the middle: stays.
    const middle = rs([R([tcp], jump('M')), R([uid(3)], { kind: 'accept' })], { M: [R([uid(2)], RET), R([], { kind: 'drop' })] });
    expect(chainNames(inlineChains(middle))).toEqual(['OUTPUT', 'M']);
    // A one-rule chain entered twice by plain jumps: its rule in place of each; more rules, or a goto: stays.
    const twice = rs([R([uid(1)], jump('X')), R([], jump('X'))], { X: REDIR });
    expect(chainNames(inlineChains(twice))).toEqual(['OUTPUT']);
    expect(out(inlineChains(twice)).map((r) => [r.matches.map((m) => m.kind), r.action.kind])).toEqual([[['uid', 'protocol'], 'redirect'], [['protocol'], 'redirect']]);
    expect(proven(twice, inlineChains(twice)).result).toBe('equal');
    expect(chainNames(inlineChains(rs([R([uid(1)], { kind: 'goto', chain: 'X' }), R([], jump('X'))], { X: REDIR })))).toEqual(['OUTPUT', 'X']);
    expect(chainNames(inlineChains(rs([R([uid(1)], jump('X')), R([uid(2)], jump('X'))], { X: [R([tcp], RET), ...REDIR] })))).toEqual(['OUTPUT', 'X']);
  });
});

// ---- factor-chains and covers against their plain definitions ------------------------------

describe('factor-chains and the shadow test match their plain definitions (random chains, fixed seeds)', () => {
  const key = (m: Match) => JSON.stringify(m);
  const plainReturn = (r: Rule) => r.action.kind === 'return' && !(r.effects ?? []).length;
  const hasKey = (r: Rule, k: string) => r.matches.some((m) => key(m) === k);
  /** factor-chains as its comment states it: from each `M return`, walk up over plain returns without M, then over the rules with M. */
  const referenceFactor = (rules: Rule[]): string[][] => {
    const chains: { name: string; rules: Rule[] }[] = [];
    let cur = rules;
    for (let n = 0; ; n++) {
      let found = false;
      for (let k = 1; k < cur.length && !found; k++) {
        const ret = cur[k];
        if (ret.matches.length !== 1 || !plainReturn(ret)) continue;
        const kk = key(ret.matches[0]);
        let at = k;
        while (at > 0 && plainReturn(cur[at - 1]) && !hasKey(cur[at - 1], kk)) at--;
        let from = at;
        while (from > 0 && hasKey(cur[from - 1], kk)) from--;
        if (at - from < 2) continue;
        const run = cur.slice(from, at).map((r) => ({ ...r, matches: r.matches.filter((_, j) => j !== r.matches.findIndex((m) => key(m) === kk)) }));
        chains.push({ name: `F${n}`, rules: run });
        cur = [...cur.slice(0, from), { ...ret, action: { kind: 'goto', chain: `F${n}` } }, ...cur.slice(at, k), ...cur.slice(k + 1)];
        found = true;
      }
      if (!found) break;
    }
    const show = (rs: Rule[]) => rs.map((r) => `${r.matches.map(key).join('&')} ${r.action.kind}`);
    return [show(cur), ...chains.map((c) => show(c.rules))];
  };
  /** A small random chain of returns, redirects and accepts over few distinct matches (so runs and repeats happen). */
  const randomChain = (seed: number): Rule[] => {
    let x = seed;
    const next = (n: number) => ((x = (x * 1103515245 + 12345) % 2147483648), x % n);
    const pool: Match[] = [uid(1), uid(2), tcp, dport(53), { kind: 'oif', neg: false, name: 'lo', prefix: false }];
    return Array.from({ length: 2 + next(14) }, () => {
      const ms = Array.from({ length: next(3) }, () => pool[next(pool.length)]).filter((m, i, a) => a.indexOf(m) === i);
      const a = next(6);
      return R(ms, a < 4 ? RET : a === 4 ? { kind: 'accept' } : { kind: 'redirect', port: 15001 });
    });
  };

  it('factor-chains: the same chains as the walk-up definition on 600 random chains', () => {
    let factored = 0;
    for (let seed = 1; seed <= 600; seed++) {
      const rules = randomChain(seed);
      const after = factorChains(rs(rules)).tables[0].chains;
      const show = (c: Chain) => c.rules.map((r) => `${r.matches.map(key).join('&')} ${r.action.kind}`);
      const want = referenceFactor(rules);
      expect(after.map(show), `seed ${seed}`).toEqual(want);
      if (want.length > 1) factored++;
    }
    // The random chains must exercise the factoring, not only the no-op.
    expect(factored).toBeGreaterThan(30);
  });

  it('dead-rules drops exactly the rules an earlier plain verdict covers match by match', () => {
    for (let seed = 1; seed <= 300; seed++) {
      const rules = randomChain(7000 + seed);
      const kept = out(deadRules(rs(rules)));
      // Reference: the window of earlier verdicts (64) never fills in chains this short.
      const want: Rule[] = [];
      const verdicts: Rule[] = [];
      for (const r of rules) {
        if (verdicts.some((q) => q.matches.every((mq) => r.matches.some((mr) => key(mr) === key(mq))))) continue;
        want.push(r);
        // Every action here is a verdict (return, accept, redirect); none reads a mark.
        if (!r.matches.length) break;
        verdicts.push(r);
      }
      while (want.length && plainReturn(want[want.length - 1])) want.pop();
      expect(kept, `seed ${seed}`).toEqual(want);
    }
  });
});

// ---- every pass alone and all together, proven equal ---------------------------------------

function policyFiles(): string[] {
  const specs = readdirSync('specs').filter((f) => f.endsWith('.intercept')).map((f) => `specs/${f}`);
  const random = Array.from({ length: 12 }, (_, i) => scratch.write(`random-${i}.intercept`, randomPolicy(9000 + i)));
  // Random policies with more to group by key: the proxy's uids a list with a range, excluded interfaces.
  const keyed = Array.from({ length: 6 }, (_, i) => scratch.write(`keyed-${i}.intercept`, keyedPolicy(9100 + i)));
  return [...specs, KEYED, ...random, ...keyed];
}

function keyedPolicy(seed: number): string {
  const r = new Rand(seed);
  const lo = r.int(100, 900);
  let text = randomPolicy(seed).replace(/^( {4}uid )(\d+)$/m, `$1$2, ${lo}-${lo + r.int(1, 5)}, ${lo + 10}`);
  if (!text.includes('  interfaces {')) text = text.replace('  drop-invalid', `  interfaces {\n    exclude ${r.sample(['eth1', 'eth2', 'cni0', 'vnet0'], 2, 3).join(', ')}\n  }\n  drop-invalid`);
  return text;
}

describe('proven equal on the specs and random policies', () => {
  const files = policyFiles();
  it.each(files)('%s: every pass alone, and all in order', (file) => {
    const ctx = compile(file, { backends: [], verify: false, until: 'check-ir' });
    if (!ctx.ir) return expect(ctx.diagnostics.filter((d) => d.severity === 'error').map((d) => d.code)).toEqual([]);
    const ir = ctx.ir;
    for (const p of optimizePasses) expect(proven2(ir, p.run(ir)), `${file}: ${p.name} alone`).toBe('equal');
    const steps = optimize(ir);
    for (const s of steps) expect(proven2(s.before, s.after), `${file}: ${s.pass} in order`).toBe('equal');
    expect(proven2(ir, finalIr(ir, steps))).toBe('equal');
    // Nine proofs of a dual-stack policy: seconds on a shared two-core machine.
  }, 60_000);

  it.each(files.filter((f) => f.startsWith('specs/') || /random-[0-3]\./.test(f)))('%s: --layout optimized reads back and is proven for every backend', (file) => {
    const ctx = compile(file, { backends: ['iptables', 'ip6tables', 'nftables', 'shell'], layout: 'optimized' });
    expect([...ctx.diagnostics.filter((d) => d.severity === 'error'), ...ctx.failures].map((d) => d.message)).toEqual([]);
    expect(ctx.verifyFailures.map((v) => v.stage)).toEqual([]);
  });

  it('the compile proves IR = optimized IR and each artifact against the IR it was emitted from', () => {
    const ctx = compile('specs/dual-stack.intercept', { backends: ['iptables', 'nftables', 'shell'] });
    expect(ctx.verifyFailures).toEqual([]);
    expect(ctx.verifyStats.map((v) => v.stage)).toEqual(['policy meaning = IR', 'IR = optimized IR', 'IR = iptables output', 'optimized IR = nftables output', 'IR = shell output', 'IR = shell nft payload']);
    const o0 = compile('specs/dual-stack.intercept', { backends: ['nftables'], optLevel: 0 });
    expect(o0.verifyStats.map((v) => v.stage)).toEqual(['policy meaning = IR', 'IR = nftables output']);
    const opt = compile('specs/dual-stack.intercept', { backends: ['iptables'], layout: 'optimized' });
    expect(opt.verifyStats.map((v) => v.stage)).toEqual(['policy meaning = IR', 'IR = optimized IR', 'optimized IR = iptables output']);
  });
});

function proven2(a: RuleSet, b: RuleSet): string {
  return equivalent(rulesSide('a', a), rulesSide('b', b)).result;
}

// ---- mutants: each pass broken on purpose ----------------------------------------------------

/** Replace one pass of the list by a broken version. */
const broken = (name: string, run: (rs: RuleSet) => RuleSet): OptimizePass[] => optimizePasses.map((p) => (p.name === name ? { ...p, run } : p));

const mapRules = (x: RuleSet, f: (rules: Rule[], c: Chain) => Rule[]): RuleSet => ({ ...x, tables: x.tables.map((t) => ({ ...t, chains: t.chains.map((c) => ({ ...c, rules: f(c.rules, c) })) })) });

/** Istio's default with the proxy's ids in a range and two excluded interfaces: what verdict-maps and fold-keys group. */
const KEYED = 'test/fixtures/optimize/keyed.intercept';

const MUTANTS: { pass: string; what: string; run: (rs: RuleSet) => RuleSet; policy?: string }[] = [
  {
    pass: 'fold-sets',
    what: 'the union loses its last element',
    run: (x) =>
      mapRules(foldSets(x), (rules) =>
        rules.map((r) => ({ ...r, matches: r.matches.map((m) => (m.kind === 'dport' && m.ranges.length > 1 ? { ...m, ranges: m.ranges.slice(0, -1) } : m)) })),
      ),
  },
  { pass: 'dead-rules', what: 'a live rule is taken for dead (the first of every chain with two)', run: (x) => mapRules(deadRules(x), (rules) => (rules.length > 1 ? rules.slice(1) : rules)) },
  { pass: 'empty-jumps', what: 'a chain of one rule is taken for one that only returns', run: (x) => mapRules(emptyJumps(x), (rules) => rules.filter((r) => !(r.action.kind === 'jump' && r.action.chain === 'MESHCAP_IN_REDIRECT'))) },
  { pass: 'inline-chains', what: 'the inlined rules come in reverse order', run: (x) => mapRules(inlineChains(x), (rules, c) => (c.base && c.name === 'OUTPUT' ? [...rules].reverse() : rules)) },
  {
    pass: 'unused-chains',
    what: 'a chain still jumped to is removed',
    run: (x) => ({ ...unusedChains(x), tables: unusedChains(x).tables.map((t) => ({ ...t, chains: t.chains.filter((c) => c.name !== 'MESHCAP_INBOUND') })) }),
  },
  { pass: 'factor-chains', what: 'the new chain is entered by a jump, not a goto (its end comes back)', run: (x) => mapRules(factorChains(x), (rules) => rules.map((r) => (r.action.kind === 'goto' ? { ...r, action: jump(r.action.chain) } : r))) },
  {
    pass: 'share-families',
    what: 'a shared address list keeps only its IPv4 addresses',
    run: (x) =>
      mapRules(shareFamilies(x), (rules) =>
        rules.map((r) => ({ ...r, matches: r.matches.map((m) => (m.kind === 'saddr' || m.kind === 'daddr') && m.cidrs.some((c) => c.family === 'ipv6') && m.cidrs.some((c) => c.family === 'ipv4') ? { ...m, cidrs: m.cidrs.filter((c) => c.family === 'ipv4') } : m) })),
      ),
  },
  {
    pass: 'verdict-maps',
    what: "a map's first and last entries swap their verdicts",
    policy: KEYED,
    run: (x) =>
      mapRules(verdictMaps(x), (rules) =>
        rules.map((r) => (r.action.kind === 'vmap' ? { ...r, action: { ...r.action, entries: r.action.entries.map((e, i, all) => (i === 0 ? { ...e, action: all[all.length - 1].action } : i === all.length - 1 ? { ...e, action: all[0].action } : e)) } } : r)),
      ),
  },
  {
    pass: 'fold-keys',
    what: 'a folded list of ids loses its last range',
    policy: KEYED,
    run: (x) => mapRules(foldKeys(x), (rules) => rules.map((r) => ({ ...r, matches: r.matches.map((m) => ((m.kind === 'uid' || m.kind === 'gid') && 'ids' in m && m.ids.length > 1 ? { ...m, ids: m.ids.slice(0, -1) } : m)) }))),
  },
];

describe('mutants of every pass are caught', () => {
  it('covers every pass', () => expect(MUTANTS.map((m) => m.pass).sort()).toEqual(optimizePasses.map((p) => p.name).sort()));
  it.each(MUTANTS)('$pass: $what', ({ pass, run, policy }) => {
    const ctx = compile(policy ?? 'specs/istio-sidecar.intercept', { backends: ['nftables'], optimizePasses: broken(pass, run) });
    const named = [...ctx.verifyFailures.map((v) => v.stage), ...ctx.failures.map((f) => f.message)].find((s) => s.includes(`optimize pass ${pass}`));
    expect(named, `no failure names ${pass}: ${JSON.stringify(ctx.verifyStats.map((v) => `${v.stage}: ${v.result}`))} ${ctx.failures.map((f) => f.message).join('; ')}`).toBeDefined();
    const v = ctx.verifyFailures.find((f) => f.stage.includes(`optimize pass ${pass}`));
    // A proof failure carries a counterexample the simulator confirms; a broken jump is caught before any proof.
    if (v) expect(v.result.counterexample).toBeDefined();
    else expect(ctx.failures.some((f) => f.code === 'internal-check-ir')).toBe(true);
  });
});

// ---- what nftables gets --------------------------------------------------------------------

/** Istio's default plus excluded CIDRs (every other /24, none touching; and IPv6 /48s) and ports. */
function bigPolicy(cidrs: number, ports: number): string {
  const c4 = Array.from({ length: cidrs }, (_, i) => `10.${(i * 2) >> 8}.${(i * 2) & 255}.0/24`);
  const c6 = Array.from({ length: Math.max(1, cidrs >> 4) }, (_, i) => `2001:db8:${(i * 2).toString(16)}::/48`);
  const ps = Array.from({ length: ports }, (_, i) => String(20000 + i * 3));
  return `policy big {\n  inbound {\n    capture ports *\n    exclude ports 15090, 15021, 15020\n  }\n  outbound {\n    capture cidrs *\n    exclude cidrs ${[...c4, ...c6].join(', ')}\n    exclude ports ${ps.join(', ')}\n  }\n  families ipv4, ipv6\n}\n`;
}

describe('nftables output of the optimized IR', () => {
  it('one rule per list statement, against a named interval set called after the statement', () => {
    const file = scratch.write('big.intercept', bigPolicy(300, 40));
    const ctx = compile(file, { backends: ['nftables'] });
    expect(ctx.verifyFailures).toEqual([]);
    const cmds = (JSON.parse(ctx.artifacts[0].text) as { nftables: { add?: { set?: { name: string; flags?: string[]; elem?: unknown[] }; rule?: { expr: unknown[] } } }[] }).nftables;
    const sets = cmds.flatMap((c) => (c.add?.set?.elem ? [c.add.set] : []));
    expect(sets.map((s) => [s.name, s.elem!.length, s.flags])).toEqual([
      ['excluded-outbound-ports', 40, ['interval']],
      ['excluded-outbound-cidrs-v4', 300, ['interval']],
      ['excluded-outbound-cidrs-v6', 18, ['interval']],
    ]);
    const uses = (name: string) => cmds.filter((c) => JSON.stringify(c.add?.rule?.expr ?? []).includes(`"@${name}"`)).length;
    expect([uses('excluded-outbound-cidrs-v4'), uses('excluded-outbound-cidrs-v6'), uses('excluded-outbound-ports')]).toEqual([1, 1, 2]);
    // -O0: one rule per CIDR, as the lowering wrote them
    const o0 = compile(file, { backends: ['nftables'], optLevel: 0 });
    expect((o0.artifacts[0].text.match(/"rule"/g) ?? []).length).toBeGreaterThan(318);
  });
});

// ---- per-packet cost -------------------------------------------------------------------------

describe('compile --cost: rules a packet is tested against, over every class', () => {
  it('counts each rule tested up to the one that decides, in every chain a packet enters', () => {
    // uid 1: 1 rule; uid 2: 2; anything else: the jump (3) and X's rule (4); PREROUTING has no chains.
    const x = rs([R([uid(1)], RET), R([uid(2)], RET), R([], jump('X'))], { X: REDIR });
    const c = costOf(x, ['ipv4']);
    expect(c.rules).toBe(4);
    expect(c.worst).toBe(4);
    expect(c.worstPacket?.hook).toBe('output');
    expect([1, 2]).not.toContain(c.worstPacket?.uid);
    // The mean lies between the cheapest class (prerouting: 0) and the worst.
    expect(c.mean).toBeGreaterThan(0);
    expect(c.mean).toBeLessThan(4);
    // After the optimizer the same packets meet fewer rules: the two owner returns are one
    // set lookup (fold-keys), X's rule is inlined.
    const o = costOf(finalIr(x, optimize(x)), ['ipv4']);
    expect(o.worst).toBe(2);
  });

  it('a set or verdict map lookup is one rule, whatever it holds', () => {
    const oif = (name: string): Match => ({ kind: 'oif', neg: false, name, prefix: false });
    const names = Array.from({ length: 50 }, (_, i) => `veth${i}`);
    const perName = rs([...names.map((n, i) => R([oif(n)], i % 2 ? RET : { kind: 'goto', chain: 'X' })), R([tcp], { kind: 'redirect', port: 15001 })], { X: [R([tcp], { kind: 'redirect', port: 15002 })] });
    const mapped = verdictMaps(perName);
    expect(out(mapped)).toHaveLength(2);
    expect(proven(perName, mapped).result).toBe('equal');
    expect(costOf(perName, ['ipv4']).worst).toBe(51);
    // The map (1), then X's rule or the redirect (1).
    expect(costOf(mapped, ['ipv4']).worst).toBe(2);
    const folded = foldKeys(rs([...names.map((n) => R([oif(n)], RET)), ...REDIR]));
    expect(out(folded)).toHaveLength(2);
    expect(costOf(folded, ['ipv4']).worst).toBe(2);
  });

  it('prints every side and puts the figures in --verify-report', () => {
    const f = join(scratch.dir, 'cost-report.json');
    const r = cli('compile', '--cost', '--backend', 'iptables,nftables', '--verify-report', f, 'specs/istio-sidecar.intercept');
    expect(r.code, r.stderr).toBe(0);
    const lines = r.stderr.split('\n').filter((l) => /worst/.test(l));
    expect(lines.map((l) => l.trim().split(/ {2,}/)[0])).toEqual(['IR', 'optimized IR', 'iptables output', 'nftables output']);
    const rep = JSON.parse(readFileSync(f, 'utf8')) as { cost: { of: string; rules: number; worst: number; mean: number; classes: number }[] };
    const nft = rep.cost.find((c) => c.of === 'nftables output')!;
    const ir = rep.cost.find((c) => c.of === 'IR')!;
    expect(nft.worst).toBeLessThanOrEqual(ir.worst);
    expect(rep.cost.find((c) => c.of === 'optimized IR')!.mean).toBeLessThan(ir.mean);
  });
});
