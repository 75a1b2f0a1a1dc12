import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { emitNftables } from '../../backends/nftables/emit.js';
import { importNftables } from '../../backends/nftables/import.js';
import { NFT_VERSIONS } from '../../backends/nftables/versions.js';
import { validateNft } from '../../backends/nftables/schema.js';
import { loadFile, loadText } from '../../src/language/load.js';
import { lower } from '../../src/lower/lower.js';
import { finalIr, optimize } from '../../src/optimize/passes.js';
import { equivalent } from '../../src/verify/engine.js';
import { rulesSide } from '../../src/verify/side.js';
import { packetText } from '../../src/verify/compare.js';
import { requireKernel, run, withNetns } from './netns.js';

// Every spec's nft output, for every target version the installed nft can load, goes
// into a real kernel with `nft -j -f FILE` (a file: malformed JSON on stdin exits 0), is
// listed back with `nft -j list ruleset`, and the listing is proven equal to the IR;
// both the optimized IR (what compile emits) and the lowered one (-O0).
requireKernel();

const installed = execFileSync('nft', ['--version'], { encoding: 'utf8' }).match(/v(\d+\.\d+\.\d+)/)?.[1] ?? '0';
const cmp = (a: string, b: string) => a.split('.').map(Number).reduce((acc, x, i) => acc || x - Number(b.split('.')[i]), 0);
const versions = Object.keys(NFT_VERSIONS).filter((v) => cmp(v, installed) <= 0);
const dir = mkdtempSync(join(tmpdir(), 'meshcap-nft-'));
// The specs, and a policy with an owner range, a set of ids and a verdict map (the optimizer's fold-keys and verdict-maps).
const specs = [...readdirSync('specs').filter((f) => /\.(intercept|ya?ml)$/.test(f)).map((f) => `specs/${f}`), 'test/fixtures/optimize/keyed.intercept'];

describe(`nftables backend on a real kernel (nft ${installed}; targets ${versions.join(', ')})`, () => {
  it('tests at least the default target', () => {
    expect(versions).toContain('1.0.6');
  });
  it('re-applying a changed policy with named sets leaves exactly the new sets (nft 1.0.6: add + delete + add table)', () => {
    const pol = (first: number) =>
      loadText('sets.intercept', `policy sets {\n  inbound { capture ports * }\n  outbound {\n    capture cidrs *\n    exclude ports ${Array.from({ length: 40 }, (_, i) => first + i * 2).join(', ')}\n    exclude cidrs ${Array.from({ length: 20 }, (_, i) => `10.${first % 200}.${i * 2}.0/24`).join(', ')}\n  }\n}\n`, 'intercept').policy!;
    // Optimized: each list is one set named after its statement, the same names in both.
    const opt = (ir: ReturnType<typeof lower>) => finalIr(ir, optimize(ir));
    const a = opt(lower(pol(20000)));
    const b = opt(lower(pol(30001)));
    const fa = join(dir, 'sets-a.json');
    const fb = join(dir, 'sets-b.json');
    writeFileSync(fa, emitNftables(a, { nftVersion: '1.0.6', comments: true, counters: false }));
    writeFileSync(fb, emitNftables(b, { nftVersion: '1.0.6', comments: true, counters: false }));
    expect(readFileSync(fa, 'utf8')).toMatch(/"name": "excluded-outbound-cidrs-v4"/);
    withNetns((ns) => {
      expect(run(ns, 'nft', ['-j', '-f', fa]).status).toBe(0);
      const r = run(ns, 'nft', ['-j', '-f', fb]);
      expect(r.status, r.stderr).toBe(0);
      const back = importNftables(run(ns, 'nft', ['-j', 'list', 'ruleset']).stdout, 'sets listing');
      expect(back.diagnostics.map((d) => d.message)).toEqual([]);
      const eq = equivalent(rulesSide('IR of B', b), rulesSide('kernel listing', back.ruleset!));
      expect(eq.result, eq.counterexample ? packetText(eq.counterexample.packet) : eq.reason).toBe('equal');
    });
  }, 60_000);

  for (const spec of specs) {
    for (const [level, v] of versions.flatMap((v) => [['-O1', v], ['-O0', v]] as const)) {
      it(`${spec} ${level} for nft ${v}: loads, re-applies without duplicates, lists back equal to the IR`, () => {
        const policy = loadFile(spec).policy!;
        const lowered = lower(policy);
        const ir = level === '-O0' ? lowered : finalIr(lowered, optimize(lowered));
        const text = emitNftables(ir, { nftVersion: v, comments: true, counters: false });
        expect(validateNft(JSON.parse(text))).toEqual([]);
        const file = join(dir, `${basename(spec)}${level}.${v}.json`);
        writeFileSync(file, text);
        withNetns((ns) => {
          const r1 = run(ns, 'nft', ['-j', '-f', file]);
          expect(r1.status, r1.stderr).toBe(0);
          const r2 = run(ns, 'nft', ['-j', '-f', file]);
          expect(r2.status, r2.stderr).toBe(0);
          const listed = run(ns, 'nft', ['-j', 'list', 'ruleset']);
          expect(listed.status, listed.stderr).toBe(0);
          const back = importNftables(listed.stdout, `${spec} (nft -j list ruleset)`);
          expect(back.diagnostics.map((d) => d.message)).toEqual([]);
          // Applying twice left one copy of every rule.
          const ruleCount = (JSON.parse(listed.stdout) as { nftables: object[] }).nftables.filter((o) => 'rule' in o).length;
          expect(ruleCount).toBe((JSON.parse(text) as { nftables: { add?: { rule?: unknown } }[] }).nftables.filter((o) => o.add?.rule).length);
          const eq = equivalent(rulesSide('IR', ir), rulesSide('kernel listing', back.ruleset!), { families: [...policy.families.value] });
          expect(eq.result, eq.counterexample ? packetText(eq.counterexample.packet) : eq.reason).toBe('equal');
        });
      }, 60_000);
    }
  }
});
