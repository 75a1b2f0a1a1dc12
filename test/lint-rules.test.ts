// Every lint rule: its `bad` example fails it and its `good` example does not, with the
// finding placed on the example's offending line; the catalogue is complete (every
// warning of `check` is a rule, every rule has what `explain` and docs/lint.md show).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { catalogue } from '../src/diagnostics/catalogue.js';
import { defaultOptions, lintText } from '../src/lint/lint.js';
import { RULES, type RuleId } from '../src/lint/rules.js';
import { parseCidr, type Cidr } from '../src/net/ip.js';
import { renderLintRules } from './harness/lint-docgen.js';

const opts = () => {
  const o = defaultOptions();
  o.clusterCidrs = ['10.96.0.0/12', '10.244.0.0/16'].map((c) => (parseCidr(c) as { cidr: Cidr }).cidr);
  o.dnsServers = ['10.96.0.10'];
  return o;
};

/** Lint an example: its first line names the file (`# policy.intercept`, `# manifest.yaml`). */
function lintExample(text: string) {
  const name = text.split('\n')[0].replace(/^# /, '');
  return lintText(name, text, opts());
}

const ids = Object.keys(RULES) as RuleId[];

/** Rules whose offending line is also in the good example (or is about the whole policy). */
const OFFENDING: Partial<Record<RuleId, string>> = {
  'nothing-captured': 'policy app {',
  'annotation-on-wrong-object': '    traffic.sidecar.istio.io/excludeOutboundPorts',
  'annotations-without-injection': 'traffic.sidecar.istio.io/excludeOutboundPorts',
  'inject-annotation-deprecated': 'sidecar.istio.io/inject',
  'unused-suppression': 'meshcap-ignore',
  'suppression-without-reason': 'meshcap-ignore',
  'suppression-unknown-rule': 'meshcap-ignore',
};

describe('the lint rules', () => {
  it('are at least 20, with stable kebab-case ids, levels and every field explain renders', () => {
    expect(ids.length).toBeGreaterThanOrEqual(20);
    for (const id of ids) {
      const r = RULES[id];
      expect(id).toMatch(/^[a-z][a-z0-9]*(-[a-z0-9]+)+$/);
      expect(['error', 'warning', 'info']).toContain(r.level);
      for (const f of ['summary', 'explain', 'bad', 'good', 'docs'] as const) expect(r[f].length, `${id}.${f}`).toBeGreaterThan(5);
      expect(r.bad).not.toBe(r.good);
    }
  });

  it("include every warning and note `check` gives a policy (one catalogue; notes of importers and rule-file readers are not check findings)", () => {
    const fromCheck = Object.entries(catalogue)
      .filter(([code, e]) => e.severity !== 'error' && !/^(istio|import|rules)-/.test(code) && !['not-formatted', 'nft-version-assumed'].includes(code))
      .map(([code]) => code);
    expect(fromCheck.length).toBeGreaterThanOrEqual(6);
    for (const code of fromCheck) expect(ids, code).toContain(code);
  });

  it("are counted truly in README's command table", () => {
    const readme = readFileSync(join(import.meta.dirname, '..', 'README.md'), 'utf8');
    const row = readme.split('\n').find((l) => l.startsWith('| `meshcap lint'));
    expect(row, 'README has a meshcap lint row').toBeDefined();
    expect(/(\d+) rules/.exec(row!)?.[1], 'README says how many lint rules there are').toBe(String(ids.length));
  });

  it('are each listed in docs/lint.md, in the section generated from the catalogue', () => {
    const doc = readFileSync(join(import.meta.dirname, '..', 'docs', 'lint.md'), 'utf8');
    expect(doc.includes(renderLintRules()), 'stale: npx tsc -p . && node dist/test/harness/lint-docgen.js --write').toBe(true);
    for (const id of ids) expect(doc, id).toContain(`### \`${id}\``);
  });

  for (const id of ids) {
    describe(id, () => {
      it('fails its bad example, on the line that causes it', () => {
        const r = lintExample(RULES[id].bad);
        expect(r.errors).toEqual([]);
        const hits = r.findings.filter((f) => f.rule === id);
        expect(hits.length, JSON.stringify(r.findings.map((f) => f.rule))).toBeGreaterThan(0);
        // The finding is on the offending line: the first line the good example lacks,
        // except where the cause is a line both share (named here).
        const badLines = RULES[id].bad.split('\n');
        const goodLines = new Set(RULES[id].good.split('\n'));
        const expected = OFFENDING[id] ?? badLines.find((l) => !goodLines.has(l))!;
        expect(badLines[hits[0].span.start.line - 1], `${id} points at line ${hits[0].span.start.line}`).toContain(expected.trim());
        expect(hits[0].level).toBe(RULES[id].level);
      });
      it('passes its good example', () => {
        const r = lintExample(RULES[id].good);
        expect(r.errors).toEqual([]);
        expect(r.findings.filter((f) => f.rule === id)).toEqual([]);
      });
    });
  }
});
