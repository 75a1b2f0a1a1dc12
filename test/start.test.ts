import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

// `npm start` as the README's quick start runs it (its build, prestart, is `npm test`'s
// pretest too): a short output with the proofs first, and the artifacts in one folder with
// their summary. Run twice: the second run replaces meshcap's own files without --force.
const root = resolve(import.meta.dirname, '..');
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { scripts: Record<string, string> };
const out = join(root, 'dist', 'artifacts');

describe('npm start', () => {
  it('prints a dozen lines: the check, the format check, every proof, then each file written with how to load it', { timeout: 120_000 }, () => {
    for (const round of [1, 2]) {
      const r = spawnSync('sh', ['-c', pkg.scripts.start], { cwd: root, encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' } });
      expect(r.status, `round ${round}: ${r.stderr}`).toBe(0);
      const lines = (r.stdout + r.stderr).trimEnd().split('\n');
      expect(lines.length).toBeLessThan(20);
      expect(lines[0]).toBe('ok: specs/istio-sidecar.intercept (policy istio-sidecar)');
      expect(lines[1]).toBe('formatted: specs/istio-sidecar.intercept');
      const verified = lines.findIndex((l) => l.startsWith('verified: '));
      const wrote = lines.findIndex((l) => l.startsWith('wrote '));
      expect(verified).toBe(2);
      expect(lines.slice(verified, wrote).every((l) => /^verified: .*: equal over all packets/.test(l))).toBe(true);
      expect(wrote - verified).toBeGreaterThanOrEqual(6);
      expect(lines.slice(wrote)).toEqual(lines.slice(wrote).filter((l) => l.startsWith('wrote dist/artifacts/istio-sidecar.')));
      expect(lines.slice(wrote).find((l) => l.includes('.iptables.rules'))).toContain('load it with iptables-restore --noflush, or meshcap apply');
    }
    const summary = JSON.parse(readFileSync(join(out, 'istio-sidecar.summary.json'), 'utf8')) as { files: { name: string }[]; verified: boolean };
    expect(summary.verified).toBe(true);
    expect(summary.files.map((f) => f.name)).toEqual(['istio-sidecar.iptables.rules', 'istio-sidecar.ip6tables.rules', 'istio-sidecar.nft.json', 'istio-sidecar.sh']);
    for (const f of summary.files) expect(existsSync(join(out, f.name))).toBe(true);
  });
});
