// Every policy in specs/ is a worked example: it must say what it models (an opening
// comment), check clean (exit 0, no warnings), and be in canonical layout (fmt --check).
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { run } from '../src/cli/run.js';
import { policyFingerprint } from '../src/language/fingerprint.js';
import { loadFile } from '../src/language/load.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const specsDir = join(root, 'specs');
const specs = readdirSync(specsDir)
  .filter((f) => /\.(intercept|ya?ml)$/.test(f))
  .sort();

function cli(argv: string[]): { code: number; out: string; err: string } {
  let out = '';
  let err = '';
  const code = run(argv, { out: (s) => (out += s), err: (s) => (err += s), color: false });
  return { code, out, err };
}

describe('specs/', () => {
  it('holds the worked examples', () => {
    for (const f of [
      'istio-sidecar.intercept',
      'istio-tproxy.intercept',
      'istio-dns-capture.intercept',
      'dual-stack.intercept',
      'linkerd-default.intercept',
      'kuma-default.intercept',
    ]) {
      expect(specs).toContain(f);
    }
    expect(specs.some((f) => f.endsWith('.yaml') || f.endsWith('.yml'))).toBe(true);
  });

  for (const f of specs) {
    const path = join(specsDir, f);
    describe(f, () => {
      it('opens with a comment saying what it models', () => {
        const text = readFileSync(path, 'utf8');
        expect(text.startsWith('#')).toBe(true);
      });

      it('checks clean: exit 0, no diagnostics at all', () => {
        const r = cli(['check', path]);
        expect(r.err).toBe('');
        expect(r.code).toBe(0);
        expect(loadFile(path).diagnostics).toEqual([]);
      });

      it('is in canonical layout (fmt --check)', () => {
        const r = cli(['fmt', '--check', path]);
        expect(r.err).toBe('');
        expect(r.code).toBe(0);
      });
    });
  }

  it('each YAML twin means the same policy as its .intercept namesake', () => {
    const twins = specs.filter((f) => /\.ya?ml$/.test(f) && specs.includes(f.replace(/\.ya?ml$/, '.intercept')));
    expect(twins.length).toBeGreaterThan(0);
    for (const y of twins) {
      const a = loadFile(join(specsDir, y.replace(/\.ya?ml$/, '.intercept')));
      const b = loadFile(join(specsDir, y));
      expect(policyFingerprint(b.policy!), y).toBe(policyFingerprint(a.policy!));
    }
  });

  it('the Linkerd and Kuma specs recognise the proxy by uid alone, with no tunnel port', () => {
    for (const [f, uid] of [['linkerd-default.intercept', 2102], ['kuma-default.intercept', 5678]] as const) {
      const p = loadFile(join(specsDir, f)).policy!;
      expect(p.proxy.uids.value.map((u) => (u.kind === 'id' ? u.id : u.name))).toEqual([uid]);
      expect(p.proxy.gids.value).toEqual([]);
      expect(p.proxy.tunnelPort.value).toBeNull();
    }
  });
});
