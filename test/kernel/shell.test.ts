import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { emitShell, type Firewall } from '../../backends/shell/emit.js';
import { loadFile } from '../../src/language/load.js';
import { lower } from '../../src/lower/lower.js';
import { breakPayload } from './broken-payload.js';
import { requireKernel, run, withNetns } from './netns.js';

// The shell backend's script in a fresh network namespace, for each firewall: apply,
// check, apply again (no duplicates), cleanup (state as before), and a failing apply
// that rolls back to the exact prior state (the emitted script with payloads the firewall
// refuses, made by broken-payload.ts). The scripts pass shellcheck.
requireKernel();

const dir = mkdtempSync(join(tmpdir(), 'meshcap-sh-'));
const SPECS = ['specs/istio-sidecar.intercept', 'specs/istio-tproxy.intercept', 'specs/dual-stack.intercept'];
const FIREWALLS: Exclude<Firewall, 'auto'>[] = ['iptables-legacy', 'iptables-nft', 'nftables'];

/** Drop counters, comments and tables that hold nothing (an empty table with ACCEPT policies does nothing). */
function normalizeSave(text: string): string {
  const out: string[] = [];
  let block: string[] = [];
  for (const raw of text.split('\n')) {
    const l = raw.replace(/\[\d+:\d+\]/g, '').trimEnd();
    if (!l || l.startsWith('#')) continue;
    block.push(l);
    if (l === 'COMMIT') {
      const hasRules = block.some((x) => x.startsWith('-A'));
      const nonDefault = block.some((x) => /^:\S+ (DROP)/.test(x) || (/^:/.test(x) && / - ?$/.test(x)));
      if (hasRules || nonDefault) out.push(...block);
      block = [];
    }
  }
  return out.join('\n');
}

function snapshot(ns: string): string {
  const parts: string[] = [];
  for (const tool of ['iptables-legacy-save', 'ip6tables-legacy-save', 'iptables-nft-save', 'ip6tables-nft-save']) parts.push(`== ${tool}\n${normalizeSave(run(ns, tool, []).stdout)}`);
  const nft = run(ns, 'nft', ['list', 'tables']).stdout.split('\n').filter((l) => l.startsWith('table inet'));
  parts.push(`== nft inet tables\n${nft.map((t) => run(ns, 'nft', ['list', ...t.split(' ').slice(0, 3)]).stdout).join('\n')}`);
  parts.push(`== rules\n${run(ns, 'ip', ['-4', 'rule']).stdout}${run(ns, 'ip', ['-6', 'rule']).stdout}`);
  parts.push(`== routes\n${run(ns, 'ip', ['route', 'show', 'table', 'all']).stdout}${run(ns, 'ip', ['-6', 'route', 'show', 'table', 'all']).stdout}`);
  parts.push(`== lo\n${run(ns, 'ip', ['-6', 'addr', 'show', 'dev', 'lo']).stdout.replace(/valid_lft.*$/gm, '')}`);
  return parts.join('\n');
}

const sh = (ns: string, script: string, fw: string, ...args: string[]) => run(ns, 'env', [`MESHCAP_FIREWALL=${fw}`, 'sh', script, ...args]);

describe('shell backend on a real kernel', () => {
  for (const spec of SPECS) {
    const ir = lower(loadFile(spec).policy!);
    const script = join(dir, `${spec.split('/').pop()}.sh`);
    writeFileSync(script, emitShell(ir, { firewall: 'auto' }));
    const broken = join(dir, `${spec.split('/').pop()}.broken.sh`);
    writeFileSync(broken, breakPayload(emitShell(ir, { firewall: 'auto' })));

    it(`${spec}: the script passes shellcheck`, () => {
      const r = (() => {
        try {
          return { status: 0, out: execFileSync('shellcheck', ['--shell=sh', script], { encoding: 'utf8' }) };
        } catch (e) {
          return { status: 1, out: String((e as { stdout?: string }).stdout ?? e) };
        }
      })();
      expect(r.out).toBe('');
      expect(r.status).toBe(0);
    });

    for (const fw of FIREWALLS) {
      it(`${spec} with ${fw}: apply, check, re-apply, cleanup`, () => {
        withNetns((ns) => {
          const before = snapshot(ns);
          expect(sh(ns, script, fw, 'check').status).toBe(1);
          const a1 = sh(ns, script, fw, 'apply');
          expect(a1.status, a1.stderr).toBe(0);
          const c1 = sh(ns, script, fw, 'check');
          expect(c1.status, c1.stderr).toBe(0);
          const s1 = snapshot(ns);
          expect(s1).not.toBe(before);
          const a2 = run(ns, 'env', [`MESHCAP_FIREWALL=${fw}`, 'dash', script, 'apply']);
          expect(a2.status, a2.stderr).toBe(0);
          expect(snapshot(ns)).toBe(s1);
          const cl = run(ns, 'env', [`MESHCAP_FIREWALL=${fw}`, 'busybox', 'sh', script, 'cleanup']);
          expect(cl.status, cl.stderr).toBe(0);
          expect(snapshot(ns)).toBe(before);
          expect(sh(ns, script, fw, 'check').status).toBe(1);
        });
      }, 60_000);
    }

    for (const fw of FIREWALLS) {
      it(`${spec} with ${fw}: a failing apply rolls back to the exact prior state`, () => {
        withNetns((ns) => {
          // The node already runs this policy; a broken update must leave it as it was.
          expect(sh(ns, script, fw, 'apply').status).toBe(0);
          const before = snapshot(ns);
          const r = sh(ns, broken, fw, 'apply');
          expect(r.status).not.toBe(0);
          expect(r.stderr).toMatch(fw === 'nftables' ? /failed: run nft -j -f/ : /failed: .*restore/);
          expect(r.stderr).toMatch(/rolling back/);
          expect(snapshot(ns).split('\n')).toEqual(before.split('\n'));
        });
      }, 60_000);
    }
  }

  it('DRY_RUN=1 prints the commands and changes nothing', () => {
    withNetns((ns) => {
      const ir = lower(loadFile(SPECS[1]).policy!);
      const script = join(dir, 'dry.sh');
      writeFileSync(script, emitShell(ir, { firewall: 'iptables-nft' }));
      const before = snapshot(ns);
      const r = run(ns, 'env', ['DRY_RUN=1', 'sh', script, 'apply']);
      expect(r.status, r.stderr).toBe(0);
      expect(r.stdout).toMatch(/^\+ iptables-nft-restore --wait=10 --noflush /m);
      expect(r.stdout).toMatch(/^\+ ip -4 rule add fwmark 1337 lookup 133/m);
      expect(snapshot(ns)).toBe(before);
    });
  });

  it("a policy file whose name holds a newline and a command: the script stays one comment line, passes shellcheck, applies, and runs nothing else", () => {
    const work = mkdtempSync(join(tmpdir(), 'meshcap-name-'));
    const name = join(work, 'x\ntouch PWNED #.intercept');
    copyFileSync(SPECS[0], name);
    const loaded = loadFile(name);
    const script = join(work, 'hostile.sh');
    writeFileSync(script, emitShell(lower(loaded.policy!), { firewall: 'auto', source: { file: name, text: loaded.source!.text } }));
    const text = readFileSync(script, 'utf8');
    expect(text).toContain('# from ' + name.replace('\n', ' ') + ', sha256 ');
    expect(text.split('\n').filter((l) => /^\s*touch\b/.test(l))).toEqual([]);
    expect(execFileSync('shellcheck', ['--shell=sh', script], { encoding: 'utf8' })).toBe('');
    withNetns((ns) => {
      for (const env of [['DRY_RUN=1'], []]) {
        const r = run(ns, 'env', [...env, 'MESHCAP_FIREWALL=iptables-nft', 'sh', '-c', `cd "$1" && sh "$2" apply`, 'sh', work, script]);
        expect(r.status, r.stderr).toBe(0);
        expect(existsSync(join(work, 'PWNED'))).toBe(false);
      }
      expect(run(ns, 'iptables-nft-save', []).stdout).toContain('x touch PWNED #.intercept:');
    });
  });

  // Faults injected through wrappers first on PATH: a listing that fails, and a signal in
  // the middle of an upgrade. Afterwards the namespace is exactly as before the apply.
  describe('faults during apply', () => {
    const work = mkdtempSync(join(tmpdir(), 'meshcap-fault-'));
    const real = (cmd: string) => execFileSync('sh', ['-c', `command -v ${cmd}`], { encoding: 'utf8' }).trim();
    /** A wrapper of `cmd` that runs `body` (sh) before (or instead of) the real command. */
    const wrap = (dir: string, cmd: string, body: string) => {
      mkdirSync(dir, { recursive: true });
      writeFileSync(join(dir, cmd), `#!/bin/sh\nREAL=${real(cmd)}\n${body}\n`, { mode: 0o755 });
    };
    const scriptOf = (spec: string, fw: Firewall) => {
      const f = join(work, `${spec.split('/').pop()}.${fw}.sh`);
      writeFileSync(f, emitShell(lower(loadFile(spec).policy!), { firewall: fw }));
      return f;
    };
    const withPath = (ns: string, dir: string, script: string, ...env: string[]) =>
      run(ns, 'env', [`PATH=${dir}:${process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin'}`, ...env, 'setsid', '-w', 'sh', script, 'apply']);

    it('a failed listing of a table stops the upgrade and rolls back (no duplicates, no stale jumps)', () => {
      const dir = join(work, 'fail-list');
      wrap(dir, 'iptables-nft', 'case " $* " in *" -t nat -S "*) echo "injected failure" >&2; exit 1 ;; esac\nexec "$REAL" "$@"');
      withNetns((ns) => {
        expect(sh(ns, scriptOf(SPECS[0], 'iptables-nft'), 'iptables-nft', 'apply').status).toBe(0);
        const before = snapshot(ns);
        const r = withPath(ns, dir, scriptOf(SPECS[1], 'iptables-nft'));
        expect(r.status).not.toBe(0);
        expect(r.stderr).toMatch(/cannot list table nat with iptables-nft: injected failure/);
        expect(snapshot(ns).split('\n')).toEqual(before.split('\n'));
      });
    }, 60_000);

    it('a failed listing of the policy routing rules stops apply and rolls back', () => {
      const dir = join(work, 'fail-rule');
      wrap(dir, 'ip', 'if [ "$1 $2 $3" = "-4 rule show" ]; then echo "injected failure" >&2; exit 1; fi\nexec "$REAL" "$@"');
      withNetns((ns) => {
        const before = snapshot(ns);
        const r = withPath(ns, dir, scriptOf(SPECS[1], 'iptables-nft'));
        expect(r.status).not.toBe(0);
        expect(r.stderr).toMatch(/cannot list the IPv4 policy routing rules/);
        expect(r.stderr).toMatch(/rolling back/);
        expect(snapshot(ns).split('\n')).toEqual(before.split('\n'));
      });
    }, 60_000);

    for (const fw of FIREWALLS) {
      it(`${fw}: SIGTERM after the rules are loaded, mid-upgrade: rolled back to the old policy, exit 143`, () => {
        const dir = join(work, `term-${fw}`);
        const loader = fw === 'nftables' ? 'nft' : 'iptables-nft-restore';
        const legacy = fw === 'iptables-legacy' ? 'iptables-legacy-restore' : loader;
        // After the real load: a TERM to the whole process group, as a container runtime sends.
        wrap(dir, legacy, 'case " $* " in *" -f "*|*"--noflush"*) "$REAL" "$@"; rc=$?; kill -TERM 0; exit $rc ;; esac\nexec "$REAL" "$@"');
        withNetns((ns) => {
          expect(sh(ns, scriptOf(SPECS[0], fw), fw, 'apply').status).toBe(0);
          const before = snapshot(ns);
          const r = withPath(ns, dir, scriptOf(SPECS[1], fw), `MESHCAP_FIREWALL=${fw}`);
          expect(r.stderr).toMatch(/interrupted by SIGTERM/);
          expect(r.status).toBe(143);
          expect(snapshot(ns).split('\n')).toEqual(before.split('\n'));
          expect(sh(ns, scriptOf(SPECS[0], fw), fw, 'check').status).toBe(0);
        });
      }, 60_000);
    }
  });
});
