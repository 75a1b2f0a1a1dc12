import { readdirSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { emitIptables } from '../../backends/iptables/emit.js';
import { importIptables } from '../../backends/iptables/import.js';
import { restrictTo } from '../../backends/index.js';
import type { Family, RuleSet } from '../../src/ir/types.js';
import { loadFile, loadText } from '../../src/language/load.js';
import { lower } from '../../src/lower/lower.js';
import { policyFromConfig } from '../../src/import/istio.js';
import { caseConfig, istioCases } from '../harness/istio-corpus.js';
import { SourceFile } from '../../src/source.js';
import { equivalent } from '../../src/verify/engine.js';
import { rulesSide } from '../../src/verify/side.js';
import { packetText } from '../../src/verify/compare.js';
import { requireKernel, run, withNetns } from './netns.js';

// The iptables backend's output loads into a real kernel with both iptables flavours, and
// what the kernel lists back (iptables-save, read by the iptables importer) is proven equal
// to the IR over all packets of that family by the exhaustive engine (equal: the same
// verdict, packet mark, redirect, TPROXY and conntrack zone; see sameOutcome).
requireKernel();

const specs = readdirSync('specs')
  .filter((f) => /\.(intercept|ya?ml)$/.test(f))
  .map((f) => ({ name: `specs/${f}`, rs: lower(loadFile(`specs/${f}`).policy!) }))
  // The kernel's owner range match (`--uid-owner 106-108`) beside single ids.
  .concat([{ name: 'test/fixtures/optimize/keyed.intercept', rs: lower(loadFile('test/fixtures/optimize/keyed.intercept').policy!) }]);
const corpus = istioCases()
  .filter((c) => !/owner-groups/.test(c.name)) // they name groups this host may not have
  .slice(0, 12)
  .map((c) => {
    const l = loadText(`${c.name}.intercept`, policyFromConfig(caseConfig(c).config).text, 'intercept');
    return { name: `istio corpus ${c.name}`, rs: lower(l.policy!) };
  });

const FLAVOURS = ['legacy', 'nft'] as const;
const tool = (flavour: string, family: Family, what: 'restore' | 'save') => `${family === 'ipv4' ? 'iptables' : 'ip6tables'}-${flavour}-${what}`;

function listBack(ns: string, flavour: string, family: Family, name: string): RuleSet {
  const saved = run(ns, tool(flavour, family, 'save'), []);
  expect(saved.status, saved.stderr).toBe(0);
  const back = importIptables(new SourceFile(`${name} (${tool(flavour, family, 'save')})`, saved.stdout), family);
  expect(back.diagnostics.map((d) => d.message)).toEqual([]);
  return back.ruleset!;
}

describe('iptables backend on a real kernel', () => {
  for (const { name, rs } of [...specs, ...corpus]) {
    for (const flavour of FLAVOURS) {
      it(`${name}: loads with iptables-${flavour}-restore; the listing is equal to the IR for every packet of each family it has`, () => {
        withNetns((ns) => {
          for (const family of ['ipv4', 'ipv6'] as const) {
            const expected = restrictTo(rs, family);
            if (!expected.tables.length) continue;
            const text = emitIptables(rs, family);
            const loaded = run(ns, tool(flavour, family, 'restore'), ['--wait=10'], text);
            expect(loaded.status, `${tool(flavour, family, 'restore')} refused:\n${loaded.stderr}\n${text}`).toBe(0);
            const listed = listBack(ns, flavour, family, name);
            const eq = equivalent(rulesSide('IR', expected), rulesSide(`kernel listing (${tool(flavour, family, 'save')})`, listed), { families: [family], maxDifferences: 3 });
            expect(eq.differences.map((d) => `${d.description}: ${packetText(d.packet)}`), eq.reason).toEqual([]);
            expect(eq.result, eq.reason).toBe('equal');
          }
        });
      });
    }
  }

  it('loads with --noflush onto a node that already has rules, keeping them', () => {
    withNetns((ns) => {
      const foreign = '*nat\n:PREROUTING ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n:NODE_RULES - [0:0]\n-A OUTPUT -p icmp -j NODE_RULES\nCOMMIT\n';
      expect(run(ns, 'iptables-nft-restore', [], foreign).status).toBe(0);
      const text = emitIptables(specs.find((s) => s.name.endsWith('istio-sidecar.intercept'))!.rs, 'ipv4');
      const r = run(ns, 'iptables-nft-restore', ['--noflush'], text);
      expect(r.status, r.stderr).toBe(0);
      const saved = run(ns, 'iptables-nft-save', []).stdout;
      expect(saved).toContain('-A OUTPUT -p icmp -j NODE_RULES');
      expect(saved).toContain('MESHCAP_OUTPUT');
    });
  });

  it('the kernel refuses what the IR checker refuses (owner match in PREROUTING)', () => {
    withNetns((ns) => {
      const bad = '*nat\n:PREROUTING ACCEPT [0:0]\n-A PREROUTING -m owner --uid-owner 1337 -j RETURN\nCOMMIT\n';
      expect(run(ns, 'iptables-legacy-restore', ['--wait=10'], bad).status).not.toBe(0);
    });
  });
});
