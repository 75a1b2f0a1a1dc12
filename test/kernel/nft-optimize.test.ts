// meshcap's optimizer against nft's own (`nft -o`, which rewrites a rule set with no proof
// that it means the same): every spec's optimized nft output is loaded into a kernel,
// listed back as text, and given to `nft -o -c -f` (nft 1.0.6), which prints each merge it
// would still make. What it finds is recorded here, and anything outside the known list
// fails: a run of address or port rules nft can merge is one fold-sets should have folded.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { compile } from '../../src/compile/pipeline.js';
import { requireKernel, run, withNetns } from './netns.js';

requireKernel();

const dir = mkdtempSync(join(tmpdir(), 'meshcap-nft-o-'));
const specs = readdirSync('specs').filter((f) => f.endsWith('.intercept'));

/**
 * What nft would still merge, and why meshcap leaves it (there is no per-family dispatch
 * left to merge: share-families gives both families one chain set):
 * - `interfaces`: adjacent `iifname`/`oifname X return` rules (nft: one anonymous set); the
 *   IR's interface match holds one name, so fold-sets does not fold interfaces yet.
 */
const KNOWN: Record<string, RegExp> = {
  interfaces: /^(iifname|oifname) "[^"]+" return$/,
};

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
  it.each(specs)('specs/%s: nft would merge only what meshcap knowingly leaves', (spec) => {
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
    const kinds = found.map((rules) => Object.keys(KNOWN).find((k) => rules.every((x) => KNOWN[k].test(x))) ?? `unknown: ${rules.join(' | ')}`);
    expect(kinds.filter((k) => k.startsWith('unknown'))).toEqual([]);
    // One chain set for both families: no chain holds a copy per family behind `meta nfproto`.
    expect(listing).not.toMatch(/meta nfproto ipv[46] jump v[46]-/);
    expect(listing).not.toMatch(/chain v[46]-/);
  });
});
