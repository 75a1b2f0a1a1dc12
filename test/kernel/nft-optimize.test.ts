// meshcap's optimizer against nft's own (`nft -o`, which rewrites a rule set with no proof
// that it means the same): every spec's optimized nft output is loaded into a kernel,
// listed back as text, and given to `nft -o -c -f` (nft 1.0.6), which prints each merge it
// would still make. Any merge it finds fails: a run of address, port, name or id rules nft
// can merge is one fold-sets or the emitter's sets should have merged.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { importNftables } from '../../backends/nftables/import.js';
import { importNftText } from '../../backends/nftables/import-text.js';
import { compile } from '../../src/compile/pipeline.js';
import { equivalent } from '../../src/verify/engine.js';
import { rulesSide } from '../../src/verify/side.js';
import { requireKernel, run, withNetns } from './netns.js';

requireKernel();

const dir = mkdtempSync(join(tmpdir(), 'meshcap-nft-o-'));
const specs = readdirSync('specs').filter((f) => f.endsWith('.intercept'));

/**
 * What nft would still merge: nothing. There is no per-family dispatch left to merge
 * (share-families gives both families one chain set), address and port runs are folded by
 * fold-sets, and adjacent `iifname`/`oifname X return` rules (what nft found before) are
 * one rule on an anonymous set of names, or one verdict map (the optimizer's fold-keys and
 * verdict-maps, src/optimize/keys.ts).
 */
/** The rules of each "Merging:" block nft prints, without their comments. */
function merges(out: string): string[][] {
  return out
    // nft prints each merged rule without a newline after it, so a block's heading may follow one on its line.
    .split(/Merging:\n/)
    .slice(1)
    .map((block) =>
      block
        .split('\n')
        .filter((l) => /^\S+\.nft:\d+:\d+-\d+: /.test(l))
        .map((l) => l.replace(/^\S+\.nft:\d+:\d+-\d+: \s*/, '').replace(/ comment ".*"$/, '').trim()),
    );
}

describe(`nft -o -c on meshcap's optimized output (${execFileSync('nft', ['--version'], { encoding: 'utf8' }).trim()})`, () => {
  it.each(specs)('specs/%s: nft would merge nothing', (spec) => {
    const ctx = compile(`specs/${spec}`, { backends: ['nftables'], verify: false });
    const json = join(dir, `${spec}.json`);
    writeFileSync(json, ctx.artifacts[0].text);
    const listing = withNetns((ns) => {
      const load = run(ns, 'nft', ['-j', '-f', json]);
      expect(load.status, load.stderr).toBe(0);
      return run(ns, 'nft', ['list', 'ruleset']).stdout;
    });
    const text = join(dir, `${spec}.nft`);
    writeFileSync(text, listing);
    // In an empty namespace, so that the check does not meet the listed table itself.
    // nft 1.0.6 may then fail to apply its own merged result ("File exists"): what it printed is still what it would merge.
    const r = withNetns((ns) => run(ns, 'nft', ['-o', '-c', '-f', text]));
    const found = merges(r.stdout + r.stderr);
    expect(found).toEqual([]);
    // One chain set for both families: no chain holds a copy per family behind `meta nfproto`.
    expect(listing).not.toMatch(/meta nfproto ipv[46] jump v[46]-/);
    expect(listing).not.toMatch(/chain v[46]-/);
  });
});

describe('a verdict map and a set of names in the kernel', () => {
  it('istio-sidecar with excluded interfaces: loaded, listed back as JSON and as text, each proven equal to the IR', () => {
    const f = join(dir, 'excluded-ifs.intercept');
    writeFileSync(f, readFileSync('specs/istio-sidecar.intercept', 'utf8').replace('  families ipv4, ipv6', '  interfaces { exclude cni0, eth9 }\n  families ipv4, ipv6'));
    const ctx = compile(f, { backends: ['nftables'], verify: false });
    const json = join(dir, 'excluded-ifs.json');
    writeFileSync(json, ctx.artifacts[0].text);
    const [listedJson, listedText] = withNetns((ns) => {
      const load = run(ns, 'nft', ['-j', '-f', json]);
      expect(load.status, load.stderr).toBe(0);
      return [run(ns, 'nft', ['-j', 'list', 'ruleset']).stdout, run(ns, 'nft', ['list', 'ruleset']).stdout];
    });
    expect(listedText).toMatch(/oifname vmap \{ .*"lo" : goto /);
    expect(listedText).toMatch(/iifname \{ "(cni0|eth9)", "(cni0|eth9)" \} return/);
    for (const back of [importNftables(listedJson, 'listed.json'), importNftText(listedText, 'listed.nft')]) {
      expect(back.diagnostics.map((d) => d.message)).toEqual([]);
      const eq = equivalent(rulesSide('IR', ctx.ir!), rulesSide('kernel', back.ruleset!), { families: ['ipv4', 'ipv6'] });
      expect(eq.result, eq.reason).toBe('equal');
    }
  });

  it("an owner range, a set of ids with a range, and a verdict map: the kernel's own forms, listed back, proven, and nothing left for nft -o", () => {
    const f = 'test/fixtures/optimize/keyed.intercept';
    const ctx = compile(f, { backends: ['nftables'], verify: false });
    const json = join(dir, 'keyed.json');
    writeFileSync(json, ctx.artifacts[0].text);
    const [listedJson, listedText] = withNetns((ns) => {
      const load = run(ns, 'nft', ['-j', '-f', json]);
      expect(load.status, load.stderr).toBe(0);
      return [run(ns, 'nft', ['-j', 'list', 'ruleset']).stdout, run(ns, 'nft', ['list', 'ruleset']).stdout];
    });
    expect(listedText).toMatch(/meta skuid \{ 106-108, 1337 \} return/);
    expect(listedText).toMatch(/oifname vmap \{ .*"lo" : goto /);
    const optimized = ctx.steps.at(-1)!.after;
    for (const back of [importNftables(listedJson, 'listed.json'), importNftText(listedText, 'listed.nft')]) {
      expect(back.diagnostics.map((d) => d.message)).toEqual([]);
      // Read back in the IR's own shapes: one range list, one map.
      const rules = back.ruleset!.tables.flatMap((t) => t.chains.flatMap((c) => c.rules));
      expect(rules.filter((r) => r.action.kind === 'vmap')).toHaveLength(1);
      expect(rules.some((r) => r.matches.some((m) => m.kind === 'uid' && 'ids' in m && m.ids.some(([lo, hi]) => lo === 106 && hi === 108)))).toBe(true);
      for (const [label, rs] of [['IR', ctx.ir!], ['optimized IR', optimized]] as const) {
        const eq = equivalent(rulesSide(label, rs), rulesSide('kernel', back.ruleset!), { families: ['ipv4', 'ipv6'] });
        expect(eq.result, `${label}: ${eq.reason ?? ''}`).toBe('equal');
      }
    }
    const text = join(dir, 'keyed.nft');
    writeFileSync(text, listedText);
    const o = withNetns((ns) => run(ns, 'nft', ['-o', '-c', '-f', text]));
    expect(merges(o.stdout + o.stderr)).toEqual([]);
  });
});
