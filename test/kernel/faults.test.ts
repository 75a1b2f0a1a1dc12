// Fault-injected apply of the shell backend (harness: faults.ts), in a fresh network
// namespace per scenario, for each firewall, with unrelated rules of other tools and the
// user present. Paths: fresh apply (istio-tproxy: rules, TPROXY routing, lo address),
// re-apply (over itself) and upgrade (over the same policy with another captured range). A counting run lists the commands a path
// makes; then a fault goes at command K:
//   - a failure or SIGTERM/SIGINT/SIGHUP: the namespace is exactly as before (non-zero
//     exit) or exactly as fully applied (exit 0), never in between; an injected failure
//     never exits 0 (no failure is ignored);
//   - SIGKILL: `check` reports a partial state (exit 1), and the next `apply` (even K) or
//     `cleanup` (odd K) converges to exactly fully applied / exactly the unrelated rules.
// CI runs each distinct step of each path once per firewall (the first command of each
// kind: `iptables-nft -t mangle -D`, `ip -6 route replace`, ...), the fault kinds and the
// shells (dash, busybox sh) taking turns; MESHCAP_FAULTS=full runs every command with
// every fault kind in both shells.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { emitShell } from '../../backends/shell/emit.js';
import { loadText } from '../../src/language/load.js';
import { lower } from '../../src/lower/lower.js';
import { MODES, makeWrappers, runWithFault, seedUnrelated, snapshot, type Firewall, type Mode } from './faults.js';
import { requireKernel, run, withNetns } from './netns.js';

requireKernel();

const FULL = process.env.MESHCAP_FAULTS === 'full';
const FIREWALLS: Firewall[] = ['iptables-legacy', 'iptables-nft', 'nftables'];
const SHELLS = ['dash', 'busybox'];
const work = mkdtempSync(join(tmpdir(), 'meshcap-faults-'));
const wrappers = makeWrappers(join(work, 'bin'));
const script = (name: string, text: string) => {
  const f = join(work, `${name}.sh`);
  writeFileSync(f, emitShell(lower(loadText(`${name}.intercept`, text, 'intercept').policy!), { firewall: 'auto' }));
  return f;
};
const TPROXY = readFileSync('specs/istio-tproxy.intercept', 'utf8');
const NEW = script('new', TPROXY);
/** The same policy (same name, so the same nft table) before a change of its captured range. */
const OLD = script('old', TPROXY.replaceAll('9.9.0.0/16', '9.8.0.0/16'));
/** An older version under another name: with nftables another table, which apply must replace. */
const RENAMED = script('renamed', TPROXY.replace('policy istio-tproxy {', 'policy istio-tproxy-v1 {').replaceAll('9.9.0.0/16', '9.8.0.0/16'));

type Path = 'fresh' | 're-apply' | 'upgrade' | 'upgrade-renamed';
// iptables chains are named by the lowering, not the policy: a renamed upgrade is the upgrade.
const pathsOf = (fw: Firewall): Path[] => (fw === 'nftables' ? ['fresh', 're-apply', 'upgrade', 'upgrade-renamed'] : ['fresh', 're-apply', 'upgrade']);
const PRIOR: Record<Path, string | undefined> = { fresh: undefined, 're-apply': NEW, upgrade: OLD, 'upgrade-renamed': RENAMED };

/**
 * The kind of a logged command: the command and its words without numbers, tables,
 * chains and files (`iptables-nft -t -D`, `ip -6 route replace local dev lo table`).
 */
const kindOf = (line: string) =>
  line
    .split(' ')
    .slice(1)
    .filter((w) => !/^(\d+|MESHCAP_\w+|--wait=\d+|nat|mangle|raw|filter|PREROUTING|INPUT|FORWARD|OUTPUT|POSTROUTING|\/.*|[0-9a-f:.]+\/\d+|inet|istio-\S+)$/.test(w))
    .join(' ');

/** Scenarios run and survived, for docs/shell.md (printed at the end of each firewall). */
describe.each(FIREWALLS)('fault-injected apply with %s', (fw) => {
  for (const path of pathsOf(fw)) {
    it(`${path}: every step, faults of every kind: never half-applied, the exit code says which`, () => {
      const stateDir = join(work, `state-${fw}-${path}`);
      const prepare = (ns: string) => {
        seedUnrelated(ns, fw);
        const unrelated = snapshot(ns);
        const prior = PRIOR[path];
        if (prior) expect(run(ns, 'env', [`MESHCAP_FIREWALL=${fw}`, 'sh', prior, 'apply']).status).toBe(0);
        return unrelated;
      };
      // The counting run: the path's commands, the state before and fully applied.
      const ref = withNetns((ns) => {
        const unrelated = prepare(ns);
        const before = snapshot(ns);
        const r = runWithFault(ns, { wrappers, stateDir, shell: 'dash', script: NEW, fw, at: 0, mode: 'fail' });
        expect(r.status, r.stderr).toBe(0);
        return { unrelated, before, full: snapshot(ns), log: r.log.trim().split('\n') };
      });
      if (path !== 're-apply') expect(ref.full).not.toBe(ref.before);
      // Ownership: apply leaves the unrelated rules (what cleanup must give back) in place.
      expect(ref.full).toContain(fw === 'nftables' ? 'table inet kube-proxy-like' : 'MESHCAP_USER');
      expect(ref.full).toContain('meshcap is a word users write too');
      if (fw === 'nftables') expect(ref.full).toContain('table inet istio-sidecar');
      if (path === 'upgrade-renamed') expect([ref.before.includes('table inet istio-tproxy-v1 {'), ref.full.includes('table inet istio-tproxy-v1 {')]).toEqual([true, false]);
      const plan: { at: number; mode: Mode; shell: string }[] = [];
      const seen = new Set<string>();
      ref.log.forEach((line, i) => {
        const at = i + 1;
        if (FULL) {
          for (const mode of MODES) for (const shell of SHELLS) plan.push({ at, mode, shell });
          return;
        }
        const kind = kindOf(line);
        if (seen.has(kind)) return;
        seen.add(kind);
        plan.push({ at, mode: MODES[plan.length % MODES.length], shell: SHELLS[plan.length % 2] });
      });
      const problems: string[] = [];
      for (const p of plan) {
        withNetns((ns) => {
          prepare(ns);
          const what = `${p.mode} at #${p.at} (${ref.log[p.at - 1]}) in ${p.shell}`;
          const r = runWithFault(ns, { wrappers, stateDir, shell: p.shell, script: NEW, fw, at: p.at, mode: p.mode });
          const after = snapshot(ns);
          if (p.mode !== 'KILL') {
            if (r.status === 0 && p.mode === 'fail') problems.push(`${what}: the failure was ignored (exit 0)`);
            if (r.status === 0 && after !== ref.full) problems.push(`${what}: exit 0 but not fully applied`);
            if (r.status !== 0 && after !== ref.before) problems.push(`${what}: exit ${r.status} but not as before:\n${firstDifference(ref.before, after)}`);
            return;
          }
          // SIGKILL: check tells, and the next run heals.
          const check = run(ns, 'env', [`MESHCAP_FIREWALL=${fw}`, 'sh', NEW, 'check']);
          if (after !== ref.full && check.status === 0) problems.push(`${what}: check says installed, the state is partial`);
          const heal = p.at % 2 === 0 ? 'apply' : 'cleanup';
          const h = run(ns, 'env', [`MESHCAP_FIREWALL=${fw}`, p.shell === 'busybox' ? 'busybox' : 'dash', ...(p.shell === 'busybox' ? ['sh'] : []), NEW, heal]);
          const healed = snapshot(ns);
          if (h.status !== 0) problems.push(`${what}: ${heal} after the kill exited ${h.status}: ${h.stderr.slice(0, 300)}`);
          else if (healed !== (heal === 'apply' ? ref.full : ref.unrelated)) problems.push(`${what}: ${heal} after the kill did not converge:\n${firstDifference(heal === 'apply' ? ref.full : ref.unrelated, healed)}`);
        });
      }
      process.stdout.write(`faults ${fw} ${path}: ${plan.length} scenarios of ${ref.log.length} commands, ${plan.length - problems.length} survived\n`);
      expect(problems).toEqual([]);
    }, FULL ? 4 * 3_600_000 : 900_000);
  }
});

function firstDifference(want: string, got: string): string {
  const a = want.split('\n');
  const b = got.split('\n');
  for (let i = 0; i < Math.max(a.length, b.length); i++) if (a[i] !== b[i]) return `  line ${i + 1}: want ${JSON.stringify(a[i])}, got ${JSON.stringify(b[i])}`;
  return '';
}

describe('ownership: apply and cleanup touch only what meshcap made', () => {
  for (const fw of FIREWALLS) {
    it(`${fw}: a user's MESHCAP_USER chain, "meshcap ..." comment and other tools' rules survive apply and cleanup`, () => {
      withNetns((ns) => {
        seedUnrelated(ns, fw);
        const unrelated = snapshot(ns);
        const a = run(ns, 'env', [`MESHCAP_FIREWALL=${fw}`, 'sh', NEW, 'apply']);
        expect(a.status, a.stderr).toBe(0);
        const c = run(ns, 'env', [`MESHCAP_FIREWALL=${fw}`, 'sh', NEW, 'cleanup']);
        expect(c.status, c.stderr).toBe(0);
        expect(snapshot(ns)).toBe(unrelated);
      });
    }, 60_000);
  }

  it("nftables: an upgrade to a policy of another name replaces meshcap's old table; check flags one left behind; cleanup removes it", () => {
    withNetns((ns) => {
      seedUnrelated(ns, 'nftables');
      const unrelated = snapshot(ns);
      const nft = (f: string, cmd: string) => run(ns, 'env', ['MESHCAP_FIREWALL=nftables', 'sh', f, cmd]);
      expect(nft(NEW, 'apply').status).toBe(0);
      const fresh = snapshot(ns);
      expect(nft(NEW, 'cleanup').status).toBe(0);
      expect(nft(RENAMED, 'apply').status).toBe(0);
      expect(snapshot(ns)).toContain('table inet istio-tproxy-v1 {');
      const up = nft(NEW, 'apply');
      expect(up.status, up.stderr).toBe(0);
      expect(snapshot(ns)).toBe(fresh);
      expect(nft(NEW, 'check').status).toBe(0);
      // A table of meshcap's that is not this policy's (a rule with meshcap's comment, as
      // an older meshcap or another tool's copy of one could leave) is not this policy's state.
      expect(run(ns, 'nft', ['-f', '-'], 'table inet leftover {\n  chain c { tcp dport 1 accept comment "meshcap old.intercept:3 left behind"; }\n}\n').status).toBe(0);
      expect(snapshot(ns)).toContain('table inet leftover {');
      const c = nft(NEW, 'check');
      expect(c.status).toBe(1);
      expect(c.stderr).toContain("table inet leftover is meshcap's but not this policy's");
      expect(nft(NEW, 'apply').status).toBe(0);
      expect(snapshot(ns)).toBe(fresh);
      expect(nft(NEW, 'cleanup').status).toBe(0);
      expect(snapshot(ns)).toBe(unrelated);
    });
  }, 60_000);

  it("nftables: a user's table of the policy's name is neither replaced by apply nor deleted by cleanup", () => {
    withNetns((ns) => {
      expect(run(ns, 'nft', ['-f', '-'], 'table inet istio-tproxy {\n  chain mine { tcp dport 7777 accept comment "users table"; }\n}\n').status).toBe(0);
      const before = snapshot(ns);
      const a = run(ns, 'env', ['MESHCAP_FIREWALL=nftables', 'sh', NEW, 'apply']);
      expect(a.status).toBe(1);
      expect(a.stderr).toContain("table inet istio-tproxy exists and is not meshcap's; nothing was changed");
      expect(snapshot(ns)).toBe(before);
      const c = run(ns, 'env', ['MESHCAP_FIREWALL=nftables', 'sh', NEW, 'cleanup']);
      expect(c.status, c.stderr).toBe(0);
      expect(c.stderr).toContain("is not meshcap's");
      expect(snapshot(ns)).toBe(before);
    });
  }, 60_000);
});
