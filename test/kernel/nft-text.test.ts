import { mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { emitNftables } from '../../backends/nftables/emit.js';
import { importNftables } from '../../backends/nftables/import.js';
import { importNftText, isNftText } from '../../backends/nftables/import-text.js';
import { loadFile } from '../../src/language/load.js';
import { lower } from '../../src/lower/lower.js';
import { finalIr, optimize } from '../../src/optimize/passes.js';
import { equivalent } from '../../src/verify/engine.js';
import { rulesSide } from '../../src/verify/side.js';
import { packetText } from '../../src/verify/compare.js';
import { corpusRoot } from '../harness/istio-corpus.js';
import { requireKernel, run, withNetns } from './netns.js';

// The nft text listing (`nft list ruleset`, what people paste) means what the JSON listing
// of the same kernel state means: every nft artifact meshcap emits (each spec, optimized
// and -O0) and every nft rule set of the Istio corpus (the kernel's JSON listings and
// Istio's own `nft -f` goldens) is loaded into a namespace, listed both ways, read by the
// text importer and the JSON importer, and the two are proven equal over every packet.
requireKernel();

const dir = mkdtempSync(join(tmpdir(), 'meshcap-nft-text-'));
const specs = readdirSync('specs').filter((f) => /\.(intercept|ya?ml)$/.test(f));
const kernelJson = join(corpusRoot(), 'corpus', 'istio-kernel', 'nft-json');
const goldens = join(corpusRoot(), 'corpus', 'istio', 'nftables');

/** Load with `load`, list as text and JSON, and prove the two readings equal. */
function textEqualsJson(ns: string, label: string): { rules: number } {
  const text = run(ns, 'nft', ['list', 'ruleset']);
  expect(text.status, text.stderr).toBe(0);
  const json = run(ns, 'nft', ['-j', 'list', 'ruleset']);
  expect(json.status, json.stderr).toBe(0);
  expect(isNftText(text.stdout), text.stdout.slice(0, 200)).toBe(true);
  const t = importNftText(text.stdout, `${label} (nft list ruleset)`);
  expect(t.diagnostics.map((d) => `${d.span?.start.line}:${d.span?.start.col} ${d.message}`)).toEqual([]);
  const j = importNftables(json.stdout, `${label} (nft -j list ruleset)`);
  expect(j.diagnostics.map((d) => d.message)).toEqual([]);
  const count = (rs: NonNullable<typeof t.ruleset>) => rs.tables.reduce((n, tb) => n + tb.chains.reduce((m, c) => m + c.rules.length, 0), 0);
  expect(count(t.ruleset!)).toBe(count(j.ruleset!));
  const eq = equivalent(rulesSide('JSON listing', j.ruleset!), rulesSide('text listing', t.ruleset!));
  expect(eq.result, eq.counterexample ? packetText(eq.counterexample.packet) : eq.reason).toBe('equal');
  // Each rule keeps the line it was listed on.
  const lines = text.stdout.split('\n');
  for (const c of t.ruleset!.tables.flatMap((tb) => tb.chains)) for (const r of c.rules) expect(lines[r.origin.span!.start.line - 1]).toMatch(/\S/);
  return { rules: count(t.ruleset!) };
}

describe('nft text listings read as their JSON twins (real kernel)', () => {
  for (const spec of specs) {
    for (const level of ['-O1', '-O0'] as const) {
      it(`specs/${spec} ${level}`, () => {
        const lowered = lower(loadFile(`specs/${spec}`).policy!);
        const ir = level === '-O0' ? lowered : finalIr(lowered, optimize(lowered));
        const file = join(dir, `${spec}${level}.json`);
        writeFileSync(file, emitNftables(ir, { comments: true, counters: level === '-O0' }));
        withNetns((ns) => {
          const r = run(ns, 'nft', ['-j', '-f', file]);
          expect(r.status, r.stderr).toBe(0);
          expect(textEqualsJson(ns, spec).rules).toBeGreaterThan(0);
          // And the text against the IR it came from.
          const back = importNftText(run(ns, 'nft', ['list', 'ruleset']).stdout, spec);
          const eq = equivalent(rulesSide('IR', ir), rulesSide('text listing', back.ruleset!));
          expect(eq.result, eq.counterexample ? packetText(eq.counterexample.packet) : eq.reason).toBe('equal');
        });
      }, 60_000);
    }
  }

  const listings = readdirSync(kernelJson).filter((f) => f.endsWith('.json'));
  it('the corpus has the kernel listings of Istio cases', () => {
    expect(listings.length).toBeGreaterThan(20);
  });
  for (const f of listings) {
    it(`istio-kernel/nft-json/${f}`, () => {
      withNetns((ns) => {
        const r = run(ns, 'nft', ['-j', '-f', join(kernelJson, f)]);
        expect(r.status, r.stderr).toBe(0);
        textEqualsJson(ns, f);
      });
    }, 60_000);
  }

  // Istio's own nft scripts; a few name groups (`skgid java`) this host does not have,
  // which nft resolves when loading: those are the only ones allowed to fail to load.
  const scripts = readdirSync(goldens).filter((f) => f.endsWith('.golden'));
  for (const f of scripts) {
    it(`istio/nftables/${f}`, () => {
      withNetns((ns) => {
        const r = run(ns, 'nft', ['-f', join(goldens, f)]);
        if (r.status !== 0) {
          expect(r.stderr).toMatch(/(Group|User) does not exist/);
          return;
        }
        textEqualsJson(ns, f);
      });
    }, 60_000);
  }
});
