import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { importIptables } from '../../backends/iptables/import.js';
import { goldenText, importKuma, kumaManifest, kumaTable, KUMA_BEGIN, KUMA_END, runKumaAll, runKumaCase } from '../harness/kuma-conformance.js';
import { SourceFile } from '../../src/source.js';
import { policyFingerprint } from '../../src/language/fingerprint.js';
import { loadFile, loadText } from '../../src/language/load.js';
import { lower } from '../../src/lower/lower.js';
import { outcomeText, packetText } from '../../src/verify/compare.js';
import { equivalent } from '../../src/verify/engine.js';
import { rulesSide } from '../../src/verify/side.js';

// Conformance with Kuma's goldens (docs/conformance.md, docs/kuma-differences.md).
const results = runKumaAll();

describe("conformance with Kuma's transparent proxy goldens (exhaustive)", () => {
  it('covers every golden of the corpus, every argument variant', () => {
    const m = kumaManifest();
    expect(m.length).toBe(23);
    expect(new Set(results.map((r) => r.name.replace(/ \(variant \d+\)$/, ''))).size).toBe(m.length);
  });

  for (const r of results.filter((x) => !x.status)) {
    it(`${r.name}: proven equal to Kuma's rules over every ${r.family} packet`, () => {
      const shown = r.undocumented
        .slice(0, 5)
        .map((d) => `${d.description}: meshcap ${outcomeText(d.a)}, kuma ${outcomeText(d.b)} (e.g. ${packetText(d.packet)})`)
        .join('\n');
      expect(r.classes).toBeGreaterThan(0);
      expect(r.differing, shown).toBe(0);
    });
  }

  it('every golden is compared, or not importable for a named reason, or has no Kuma rules', () => {
    for (const r of results) expect(r.status, r.name).toMatch(/^$|^not importable yet: --|^n\/a: /);
    expect(results.filter((r) => !r.status).length).toBeGreaterThanOrEqual(17);
  });

  it('the comparison can fail: another inbound port, or no loopback passthrough, is caught', () => {
    const m = kumaManifest().find((x) => x.name === 'container.ubuntu-24-04-default.iptables-nft.golden')!;
    const args = m.config.kumactl_args!;
    expect(runKumaCase({ ...m, config: { ...m.config, kumactl_args: [...args, '--redirect-inbound-port', '15007'] } })[0].differing).toBeGreaterThan(0);
    expect(runKumaCase({ ...m, config: { ...m.config, kumactl_args: [...args, '--exclude-inbound-ips', '10.0.0.0/8'] } })[0].differing).toBeGreaterThan(0);
  });

  it("each construct the multiple-flags goldens need is needed: without it Kuma's rules differ", () => {
    const m = kumaManifest().find((x) => x.name === 'container.ubuntu-24-04-with-multiple-flags.iptables-nft.golden')!;
    const base = importKuma(m.config.kumactl_args!, { 'kuma-dp': 5678 }).text;
    expect(base).toMatch(/order exclusions-first/);
    const golden = goldenText(m.name);
    if ('unreadable' in golden) throw new Error(golden.unreadable);
    const kuma = importIptables(new SourceFile(m.name, golden.text), golden.family, m.name).ruleset!;
    const differing = (text: string) => equivalent(rulesSide('meshcap', lower(loadText('x.intercept', text, 'intercept').policy!)), rulesSide('kuma', kuma), { families: ['ipv4'] }).result;
    expect(differing(base)).toBe('equal');
    for (const [from, to] of [
      ['order exclusions-first', 'order proxy-first'],
      ['tcp pass', 'tcp capture'],
      ['conntrack-zones on', 'conntrack-zones off'],
      [/ {4}vnet .*\n/, ''],
      [/ {4}exclude ports-for-uids .*\n/, ''],
    ] as const) {
      const changed = base.replace(from, to);
      expect(changed, String(from)).not.toBe(base);
      expect(differing(changed), String(from)).toBe('different');
    }
  });

  it('docs/conformance.md has the current Kuma table', () => {
    const doc = readFileSync('docs/conformance.md', 'utf8');
    const committed = doc.slice(doc.indexOf(KUMA_BEGIN), doc.indexOf(KUMA_END) + KUMA_END.length);
    expect(committed).toBe(kumaTable(results));
  });
});

describe('specs/kuma-default.intercept', () => {
  it('is exactly the kumactl command its header names (every packet, both families)', () => {
    const text = readFileSync('specs/kuma-default.intercept', 'utf8');
    const header = text.split('\n').find((l) => /^# {3,}kumactl /.test(l))!.slice(1).trim();
    const args = header.split(/\s+/).slice(1);
    const imported = importKuma(args, { 'kuma-dp': 5678 }, 'kuma-default');
    const spec = loadFile('specs/kuma-default.intercept');
    expect(spec.diagnostics).toEqual([]);
    expect(policyFingerprint(spec.policy!)).toBe(policyFingerprint(loadText('x.intercept', imported.text, 'intercept').policy!));
    expect(equivalent(rulesSide('spec', lower(spec.policy!)), rulesSide('import', imported.rs!)).result).toBe('equal');
  });
});
