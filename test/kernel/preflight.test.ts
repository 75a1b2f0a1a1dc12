// meshcap preflight on this kernel: every need of the TPROXY spec is met by each firewall,
// and a firewall whose tool is missing is reported need by need, with the policy lines
// that need it (the check can fail). Probes run in throwaway namespaces.
import { mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { afterAll, describe, expect, it } from 'vitest';
import { cliOutErr as cli } from '../helpers.js';
import { requireKernel, run, withNetns } from './netns.js';

requireKernel();

const SPEC = 'specs/istio-tproxy.intercept';
const bin = mkdtempSync(join(tmpdir(), 'meshcap-preflight-bin-'));
afterAll(() => rmSync(bin, { recursive: true, force: true }));

describe('meshcap preflight', () => {
  for (const fw of ['iptables-legacy', 'iptables-nft', 'nftables']) {
    it(`${fw}: every need is there, each listed with the policy lines that need it`, () => {
      const r = cli('preflight', SPEC, '--firewall', fw);
      expect(r.code, r.out + r.err).toBe(0);
      const lines = r.out.trimEnd().split('\n');
      expect(lines.every((l) => l.startsWith('ok '))).toBe(true);
      for (const what of ['TPROXY', 'socket owner matches', 'conntrack zones', 'policy routing for TPROXY']) expect(lines.some((l) => l.includes(what)), what).toBe(true);
      expect(lines.find((l) => l.includes('TPROXY (xt_TPROXY'))).toMatch(new RegExp(`${SPEC}:\\d+`));
    });
  }

  it('a missing tool: every need it serves is reported, with a hint, and exit 1', () => {
    // Only the tools the probes run besides the firewall's own.
    for (const t of ['ip', 'unshare', 'sh', 'mktemp', 'rm', 'nft']) symlinkSync(execFileSync('sh', ['-c', `command -v ${t}`], { encoding: 'utf8' }).trim(), join(bin, t));
    const path = process.env.PATH;
    process.env.PATH = bin;
    let r;
    try {
      r = cli('preflight', SPEC, '--firewall', 'iptables-legacy');
    } finally {
      process.env.PATH = path;
    }
    expect(r.code).toBe(1);
    expect(r.out).toMatch(/^MISSING TPROXY \(xt_TPROXY \/ nft_tproxy\) \(ipv4; iptables-legacy\): specs\/istio-tproxy\.intercept:\d+/m);
    expect(r.err).toContain('error[rules-preflight-missing]');
    expect(r.err).toContain('hint: load xt_TPROXY');
    // Policy routing needs only ip: still there.
    expect(r.out).toMatch(/^ok +policy routing for TPROXY/m);
  });
});

describe("the shell script's apply runs the preflight first", () => {
  it('with a firewall tool missing it refuses before changing anything, naming what is missing and the policy lines', () => {
    const out = join(bin, 'out');
    const c = cli('compile', '--backend', 'shell', '-o', out, SPEC);
    expect(c.code, c.err).toBe(0);
    const script = join(out, 'istio-tproxy.sh');
    const nobin = join(bin, 'nolegacy');
    execFileSync('mkdir', ['-p', nobin]);
    // A PATH with everything but iptables-legacy: the probes fail, apply must not start.
    for (const t of ['ip', 'unshare', 'sh', 'mktemp', 'rm', 'nft', 'head', 'cat', 'grep', 'awk', 'wc', 'tr', 'iptables-nft', 'iptables-nft-save', 'iptables-nft-restore', 'ip6tables-nft', 'ip6tables-legacy-save', 'iptables-legacy-save'])
      try {
        symlinkSync(execFileSync('sh', ['-c', `command -v ${t}`], { encoding: 'utf8' }).trim(), join(nobin, t));
      } catch {
        // not installed: not needed for this test either
      }
    withNetns((ns) => {
      const r = run(ns, 'env', [`PATH=${nobin}`, 'MESHCAP_FIREWALL=iptables-legacy', 'sh', script]);
      expect(r.status, r.stderr).toBe(1);
      expect(r.stderr).toMatch(/preflight: iptables-legacy cannot do TPROXY \(xt_TPROXY \/ nft_tproxy\) \(IPv4\), needed by specs\/istio-tproxy\.intercept:\d+/);
      expect(r.stderr).toContain('preflight failed: nothing was changed');
      expect(r.stderr).not.toContain('rolling back');
      expect(run(ns, 'ip', ['rule', 'show']).stdout).not.toContain('fwmark');
      // With the tools there, the same script applies.
      const ok = run(ns, 'env', ['MESHCAP_FIREWALL=iptables-legacy', 'sh', script]);
      expect(ok.status, ok.stderr).toBe(0);
    });
  });
});

describe('meshcap preflight --netns reads the namespace itself', () => {
  it('a clean namespace: no other rules, the routing free, the sysctls the proofs assume', () => {
    withNetns((ns) => {
      const r = cli('preflight', SPEC, '--netns', ns);
      expect(r.code, r.out + r.err).toBe(0);
      expect(r.out).toMatch(new RegExp(`^ok +no other tool's rules on the policy's hooks \\(.*nat output.*\\) outside iptables-nft in netns ${ns}$`, 'm'));
      expect(r.out).toMatch(/^ok +TPROXY policy routing \(ipv4; fwmark 0x539 lookup 133\): the mark, the table and priority 32765 are free/m);
      expect(r.out).toMatch(/^ok +net\.ipv4\.conf\.all\.route_localnet is 0/m);
      expect(r.err).toBe('');
    });
  });

  it("other tools' rules, a taken mark and table, a rule evaluated first, route_localnet=1: each said, the collisions fail", () => {
    withNetns((ns) => {
      // Docker-like rules in iptables-legacy, a native nft table on prerouting, while meshcap would use iptables-nft.
      expect(run(ns, 'iptables-legacy-restore', [], '*nat\n:PREROUTING ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n:DOCKER - [0:0]\n-A PREROUTING -m addrtype --dst-type LOCAL -j DOCKER\n-A OUTPUT ! -d 127.0.0.0/8 -m addrtype --dst-type LOCAL -j DOCKER\nCOMMIT\n').status).toBe(0);
      const nft = run(ns, 'nft', ['-f', '-'], 'table inet cni {\n chain pre {\n  type nat hook prerouting priority dstnat; policy accept;\n  tcp dport 99 redirect to :98\n }\n}\n');
      expect(nft.status, nft.stderr).toBe(0);
      for (const cmd of [
        ['ip', '-4', 'rule', 'add', 'fwmark', '0x539', 'lookup', '200'],
        ['ip', '-6', 'rule', 'add', 'from', 'all', 'lookup', '300', 'pref', '0'],
        ['ip', '-6', 'route', 'add', 'local', '::/0', 'dev', 'lo', 'table', '133'],
        ['ip', '-6', 'route', 'add', '2001:db8::/64', 'dev', 'lo', 'table', '133'],
        ['sysctl', '-qw', 'net.ipv4.conf.all.route_localnet=1'],
      ]) {
        const x = run(ns, cmd[0], cmd.slice(1));
        expect(x.status, `${cmd.join(' ')}: ${x.stderr}`).toBe(0);
      }
      const r = cli('preflight', SPEC, '--netns', ns);
      expect(r.code, r.out + r.err).toBe(1);
      expect(r.out).toMatch(/^WARNING other rules on the policy's hooks in netns \S+: iptables-legacy nat PREROUTING \(1 rule\); iptables-legacy nat OUTPUT \(1 rule\); nft inet cni\/pre on prerouting \(1 rule\)$/m);
      expect(r.err).toContain('warning[rules-preflight-other-rules]');
      expect(r.err).toMatch(/error\[rules-preflight-routing\]: .*\(ipv4: fwmark 0x539 lookup 133\).*mark 0x539 already routes elsewhere: '\d+: from all fwmark 0x539 lookup 200'/);
      expect(r.err).toMatch(/error\[rules-preflight-routing\]: .*\(ipv6: .*'0: from all lookup 300' is evaluated before the TPROXY rule/);
      expect(r.err).toMatch(/error\[rules-preflight-routing\]: .*\(ipv6: .*routing table 133 already holds other routes: '2001:db8::\/64 dev lo/);
      expect(r.err).toMatch(/warning\[rules-preflight-sysctl\]: net\.ipv4\.conf\.all\.route_localnet is 1 in netns \S+: packets from 127\.0\.0\.0\/8/);
      // With the flavour the other rules use, they are not "outside" it; the native nft table still is.
      const legacy = cli('preflight', SPEC, '--netns', ns, '--firewall', 'iptables-legacy');
      expect(legacy.out).toMatch(/^WARNING other rules on the policy's hooks in netns \S+: nft inet cni\/pre on prerouting \(1 rule\)$/m);
    });
  });
});
