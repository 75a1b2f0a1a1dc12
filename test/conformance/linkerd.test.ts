import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { afterCleanup, commandCases, importLinkerd, labCases, linkerdRules, manifest, runCommandCase, runLabCase, onlyHook } from '../harness/linkerd-conformance.js';
import { policyFingerprint } from '../../src/language/fingerprint.js';
import { loadFile, loadText } from '../../src/language/load.js';
import { lower } from '../../src/lower/lower.js';
import { linkerdTable, LINKERD_BEGIN, LINKERD_END } from '../harness/linkerd-report.js';
import { outcomeText, packetText } from '../../src/verify/compare.js';
import { equivalent } from '../../src/verify/engine.js';
import { rulesSide } from '../../src/verify/side.js';

// Conformance with Linkerd's proxy-init (docs/conformance.md, docs/linkerd-differences.md).
const commands = commandCases().map(runCommandCase);
const lab = labCases().map(runLabCase);

describe('conformance with Linkerd proxy-init (exhaustive, per tested function)', () => {
  it('covers every command-list case and every lab case of the corpus', () => {
    const lists = manifest().filter((m) => m.name.endsWith('.cmds.txt') && m.name !== 'cleanup.cmds.txt');
    expect(lists.length).toBe(4);
    expect(commands.map((r) => `${r.name}.cmds.txt`).sort()).toEqual(lists.map((m) => m.name).sort());
    expect(lab.length).toBe(6);
  });

  for (const r of commands) {
    it(`${r.name}: every difference from proxy-init's rules is a documented one`, () => {
      expect(r.classes).toBeGreaterThan(0);
      const shown = r.undocumented
        .slice(0, 5)
        .map((d) => `${d.description}: meshcap ${outcomeText(d.a)}, proxy-init ${outcomeText(d.b)} (e.g. ${packetText(d.packet)})`)
        .join('\n');
      expect(r.undocumented.length, shown).toBe(0);
    });
  }

  it('the outgoing cases are proven equal outright; the incoming ones differ only where the test sets no mode', () => {
    for (const r of commands) {
      if (r.hook === 'output') expect(r.differing, r.name).toBe(0);
      else expect(Object.keys(r.documented), r.name).toEqual(['L1-test-without-mode']);
    }
  });

  it('the comparison can fail: an ignored port moved by one, or another outgoing port, is caught', () => {
    const inb = commandCases().find((x) => x.name === 'inbound-fresh')!;
    expect(runCommandCase({ ...inb, flags: ['-p', '4143', '-o', '4140', '--inbound-ports-to-ignore', '1235'] }).undocumented.length).toBeGreaterThan(0);
    const out = commandCases().find((x) => x.name === 'outbound-fresh')!;
    expect(runCommandCase({ ...out, flags: ['-p', '4143', '-o', '1235'] }).undocumented.length).toBeGreaterThan(0);
    expect(runCommandCase({ ...out, flags: ['-p', '4143', '-o', '1234', '-u', '2102'] }).undocumented.length).toBeGreaterThan(0);
  });

  it('the existing-rules fixture is what the fresh commands make (proxy-init is idempotent)', () => {
    for (const hook of ['prerouting', 'output'] as const) {
      const fresh = linkerdRules({ name: hook === 'prerouting' ? 'inbound-fresh' : 'outbound-fresh', existing: null });
      const again = linkerdRules({ name: hook === 'prerouting' ? 'inbound-existing' : 'outbound-existing', existing: 'existing-rules.iptables-save.txt' });
      expect(equivalent(rulesSide('fresh', onlyHook(fresh, hook)), rulesSide('again', onlyHook(again, hook)), { families: ['ipv4'] }).result).toBe('equal');
    }
  });

  it('cleanup leaves no rule behind', () => {
    expect(afterCleanup().tables.flatMap((t) => t.chains.flatMap((c) => c.rules))).toEqual([]);
  });

  for (const r of lab) {
    it(`lab ${r.pod}: every expectation of the HTTP test holds on the compiled rules`, () => {
      expect(r.failed).toEqual([]);
    });
  }

  it('the lab cases with expectations are all probed', () => {
    expect(lab.filter((r) => r.probes > 0).length).toBe(4);
  });

  it('docs/conformance.md has the current Linkerd table', () => {
    const doc = readFileSync('docs/conformance.md', 'utf8');
    const committed = doc.slice(doc.indexOf(LINKERD_BEGIN), doc.indexOf(LINKERD_END) + LINKERD_END.length);
    expect(committed).toBe(linkerdTable(commands, lab));
  });
});

describe('specs/linkerd-default.intercept', () => {
  it('is exactly the proxy-init command its header names (every packet, both families)', () => {
    const text = readFileSync('specs/linkerd-default.intercept', 'utf8');
    const header = text.split('\n').filter((l) => /^# {3,}(proxy-init|--)/.test(l)).map((l) => l.slice(1).trim()).join(' ');
    expect(header.startsWith('proxy-init --incoming-proxy-port 4143')).toBe(true);
    const flags = header.split(/\s+/).slice(1);
    const imported = importLinkerd(flags, 'linkerd-default');
    const spec = loadFile('specs/linkerd-default.intercept');
    expect(spec.diagnostics).toEqual([]);
    expect(policyFingerprint(spec.policy!)).toBe(policyFingerprint(loadText('x.intercept', imported.text, 'intercept').policy!));
    expect(equivalent(rulesSide('spec', lower(spec.policy!)), rulesSide('import', imported.rs)).result).toBe('equal');
  });
});
