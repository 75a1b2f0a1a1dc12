import { chmodSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { importIptables } from '../../backends/iptables/import.js';
import { loadText } from '../../src/language/load.js';
import { lower } from '../../src/lower/lower.js';
import { SourceFile } from '../../src/source.js';
import { packetText } from '../../src/verify/compare.js';
import { equivalent } from '../../src/verify/engine.js';
import { rulesSide } from '../../src/verify/side.js';
import { run as cli } from '../../src/cli/run.js';
import { memIo } from '../helpers.js';
import { requireKernel, run, withNetns } from './netns.js';

// The init-container image (docs/deploy/Dockerfile), without building it (this machine has no
// container daemon): its entrypoint script runs with the Kubernetes example's own
// arguments in a network namespace, with `meshcap` on PATH as the image installs it (the
// built bin), and the rules it leaves are proven equal to the policy those flags translate to.
requireKernel();

const root = resolve(import.meta.dirname, '../..');
const bin = mkdtempSync(join(tmpdir(), 'meshcap-image-'));
symlinkSync(join(root, 'dist/src/cli/main.js'), join(bin, 'meshcap'));
chmodSync(join(root, 'dist/src/cli/main.js'), 0o755);
afterAll(() => rmSync(bin, { recursive: true, force: true }));

interface Manifest {
  spec: { initContainers: { image: string; args: string[]; securityContext: { capabilities: { add: string[]; drop: string[] } } }[] };
}
const manifest = parseYaml(readFileSync(join(root, 'docs/deploy/kubernetes/pod.yaml'), 'utf8')) as Manifest;
const init = manifest.spec.initContainers[0];
const entry = (ns: string, args: string[]) => run(ns, 'env', [`PATH=${bin}:${process.env.PATH}`, 'sh', join(root, 'docs/deploy/entrypoint.sh'), ...args]);

describe('the init container', () => {
  it('the Dockerfile is multi-stage on Debian slim, builds as a non-root user, has the netfilter tools and the entrypoint', () => {
    const df = readFileSync(join(root, 'docs/deploy/Dockerfile'), 'utf8');
    const stages = df.split('\n').filter((l) => l.startsWith('FROM '));
    expect(stages).toHaveLength(2);
    for (const s of stages) expect(s).toMatch(/-slim\b/);
    const build = df.slice(0, df.lastIndexOf(stages[1]));
    expect(build).toMatch(/^USER (?!root)\w+/m);
    expect(build.indexOf('USER ')).toBeLessThan(build.indexOf('RUN npm ci'));
    expect(df).toMatch(/apt-get install -y --no-install-recommends iptables nftables iproute2/);
    expect(df).toMatch(/^COPY docs\/deploy\/entrypoint\.sh \/usr\/local\/bin\/meshcap-init$/m);
    expect(df).toMatch(/^ENTRYPOINT \["\/usr\/local\/bin\/meshcap-init"\]$/m);
    expect(init.securityContext.capabilities).toEqual({ drop: ['ALL'], add: ['NET_ADMIN', 'NET_RAW'] });
  });

  it("runs the example manifest's arguments in a network namespace: the rules it leaves are the translated policy's, and a rerun changes nothing", { timeout: 60_000 }, () => {
    const flags = init.args.slice(init.args.indexOf('--') + 1);
    const io = memIo();
    expect(cli(['import', 'istio-iptables', '--', ...flags], io)).toBe(0);
    const policy = loadText('pod.intercept', io.stdout, 'intercept');
    const rs = lower(policy.policy!);
    withNetns((ns) => {
      const r = entry(ns, init.args);
      expect(r.status, r.stderr).toBe(0);
      expect(r.stderr).toMatch(/applied: iptables/);
      const saved = run(ns, 'iptables-save', []).stdout;
      const back = importIptables(new SourceFile('iptables-save after the init container', saved), 'ipv4');
      expect(back.diagnostics.map((d) => d.message)).toEqual([]);
      const eq = equivalent(rulesSide('IR of the translated flags', rs), rulesSide('kernel listing', back.ruleset!), { families: ['ipv4'], maxDifferences: 3 });
      expect(eq.differences.map((d) => `${d.description}: ${packetText(d.packet)}`), eq.reason).toEqual([]);
      expect(eq.result).toBe('equal');
      // A restarted init container (Kubernetes reruns it after a pod sandbox restart) is a no-op.
      expect(entry(ns, init.args).status).toBe(0);
      const strip = (t: string) => t.split('\n').filter((l) => !l.startsWith('#')).map((l) => l.replace(/\[\d+:\d+\]/, '')).join('\n');
      expect(strip(run(ns, 'iptables-save', []).stdout)).toBe(strip(saved));
    });
  });

  it('passes any other command to meshcap, and without one prints its usage (exit 3)', () => {
    withNetns((ns) => {
      const v = entry(ns, ['--version']);
      expect(v.status, v.stderr).toBe(0);
      expect(v.stdout).toMatch(/^meshcap \d/);
      const u = entry(ns, []);
      expect(u.status).toBe(3);
      expect(u.stderr).toMatch(/usage: meshcap-init istio-iptables -- FLAGS/);
    });
  });
});
