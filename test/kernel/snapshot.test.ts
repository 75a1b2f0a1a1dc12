// meshcap snapshot on a real namespace where meshcap's rules (iptables-legacy) sit beside
// kube-proxy-like and Docker-like rules in iptables-nft: the snapshot reads every source,
// says the rules are split between the flavours and that their order matters, and real
// connections land where the simulator, run on the snapshot, says they do.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadSide } from '../../src/compile/sides.js';
import type { Snapshot } from '../../src/compile/snapshot.js';
import { simulate } from '../../src/sim/simulate.js';
import { cliOutErr } from '../helpers.js';
import { requireKernel, run, withNetns } from './netns.js';

requireKernel();

const tmp = mkdtempSync(join(tmpdir(), 'meshcap-snapshot-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const sh = (ns: string, ...cmd: string[]) => {
  const r = run(ns, cmd[0], cmd.slice(1));
  expect(r.status, `${cmd.join(' ')}: ${r.stderr}`).toBe(0);
  return r.stdout;
};

// Listeners on the proxy's ports and a service's, each answering with its own port; a
// client connects as a given uid and prints the port that answered (or 'none').
const AGENT = `
import os, socket, sys, threading, time
def serve(port):
    s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(('0.0.0.0', port)); s.listen(16)
    while True:
        c, _ = s.accept(); c.sendall(str(port).encode()); c.close()
for p in (15001, 15006, 8080):
    threading.Thread(target=serve, args=(p,), daemon=True).start()
time.sleep(0.3)
for probe in sys.argv[1:]:
    uid, dst, port = probe.split(',')
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(r)
        os.setgid(int(uid)); os.setuid(int(uid))
        s = socket.socket(); s.settimeout(1.0)
        try:
            s.connect((dst, int(port))); got = s.recv(16).decode() or 'none'
        except OSError:
            got = 'none'
        os.write(w, got.encode()); os._exit (0)  # the forked child leaves without running the parent's cleanup
    os.close(w); os.waitpid(pid, 0)
    print(probe, os.read(r, 16).decode())
`;

describe('meshcap snapshot of a namespace with rules in both iptables flavours', () => {
  it('reads every source, finds the split, and real connections agree with the simulator on it', () => {
    const out = join(tmp, 'out');
    const c = cliOutErr('compile', '--backend', 'iptables', '-o', out, 'specs/istio-sidecar.intercept');
    expect(c.code, c.err).toBe(0);
    const meshcapRules = readFileSync(join(out, 'istio-sidecar.iptables.rules'), 'utf8');
    withNetns((ns) => {
      sh(ns, 'ip', 'link', 'add', 'eth0', 'type', 'veth', 'peer', 'name', 'eth1');
      for (const d of ['eth0', 'eth1']) sh(ns, 'ip', 'link', 'set', d, 'up');
      sh(ns, 'ip', 'addr', 'add', '10.9.0.1/24', 'dev', 'eth0');
      sh(ns, 'ip', 'route', 'add', 'default', 'via', '10.9.0.2', 'dev', 'eth0');
      // meshcap's rules first (iptables-legacy), then kube-proxy-like and Docker-like rules
      // in iptables-nft: of equal priorities the kernel runs the last registered first.
      expect(run(ns, 'iptables-legacy-restore', [], meshcapRules).status).toBe(0);
      const nftRules = [
        '*nat',
        ':PREROUTING ACCEPT [0:0]',
        ':OUTPUT ACCEPT [0:0]',
        ':KUBE-SERVICES - [0:0]',
        ':DOCKER - [0:0]',
        '-A PREROUTING -j DOCKER',
        '-A OUTPUT -j KUBE-SERVICES',
        '-A KUBE-SERVICES -d 10.96.0.10/32 -p tcp -m tcp --dport 80 -j DNAT --to-destination 10.9.0.1:8080',
        '-A DOCKER -p tcp -m tcp --dport 8081 -j DNAT --to-destination 172.17.0.2:80',
        'COMMIT',
        '',
      ].join('\n');
      const n = run(ns, 'iptables-nft-restore', [], nftRules);
      expect(n.status, n.stderr).toBe(0);

      const file = join(tmp, 'snap.json');
      const s = cliOutErr('snapshot', '--netns', ns, '-o', file);
      expect(s.code, s.err).toBe(0);
      expect(s.err).toContain('warning[rules-split-flavours]');
      expect(s.err).toMatch(/which runs first changes \d+ packet class/);
      const snap = JSON.parse(readFileSync(file, 'utf8')) as Snapshot;
      expect(snap.sources.map((x) => x.name)).toEqual(['iptables-legacy', 'ip6tables-legacy', 'iptables-nft', 'ip6tables-nft', 'nft']);
      expect(snap.sources.find((x) => x.name === 'iptables-legacy')!.text).toContain('-A MESHCAP_OUTPUT');
      expect(snap.sources.find((x) => x.name === 'iptables-nft')!.text).toContain('KUBE-SERVICES');
      expect(snap.sysctls['net.ipv4.conf.all.route_localnet']).toBe('0');
      expect(snap.tools.nft).toMatch(/^nftables v\d/);

      const side = loadSide(file);
      expect(side.diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
      const rs = side.rs!;
      expect(rs.tables.map((t) => t.name)).toEqual(expect.arrayContaining(['iptables-legacy/nat', 'iptables-nft/nat']));
      // The native nft listing holds iptables-nft's own tables: they are read once, from its save format.
      expect(rs.tables.some((t) => t.name.startsWith('nft/'))).toBe(false);

      const probes = ['1000,10.2.0.9,9080', '1000,10.96.0.10,80', '1337,10.96.0.10,80'];
      const landed: Record<string, string> = Object.fromEntries(
        sh(ns, 'python3', '-c', AGENT, ...probes)
          .trim()
          .split('\n')
          .map((l): [string, string] => {
            const [k, v] = l.split(' ');
            return [k, v];
          }),
      );
      for (const p of probes) {
        const [uid, dst, port] = p.split(',');
        const r = simulate(rs, { hook: 'output', family: 'ipv4', protocol: 'tcp', src: '10.9.0.1', dst, sport: 40000, dport: Number(port), iif: '', oif: 'eth0', uid: Number(uid), gid: Number(uid), mark: 0, ctmark: 0, ctstate: 'new' });
        const expected = String(r.outcome.redirect?.port ?? 'none');
        expect(landed[p], `${p}: the simulator says ${expected}`).toBe(expected);
      }
      // The proxy's own connection to the service: meshcap lets it go, kube-proxy's DNAT takes it.
      expect(landed['1337,10.96.0.10,80']).toBe('8080');
      // The app's too: the iptables-nft nat chain, registered last, runs first and its DNAT
      // pre-empts the mesh's redirect (kumahq/kuma#11267), as the simulator says.
      expect(landed['1000,10.96.0.10,80']).toBe('8080');
      expect(landed['1000,10.2.0.9,9080']).toBe('15001');

      // trace reads the snapshot too, and says which source's rule decided.
      const t = cliOutErr('trace', file, '--packet', 'out tcp 10.9.0.1:40000 -> 10.96.0.10:80 uid=1337 gid=1337');
      expect(t.code, t.err).toBe(0);
      expect(t.out).toContain('iptables-nft/nat/KUBE-SERVICES #1');
      expect(t.out).toContain(`${file}#iptables-nft:`);
    });
  }, 60_000);

  it('diff --live: what applying a policy would change in a namespace, the same as diff of its snapshot', () => {
    const out = join(tmp, 'out-diff');
    expect(cliOutErr('compile', '--backend', 'iptables,ip6tables', '-o', out, 'specs/istio-sidecar.intercept').code).toBe(0);
    withNetns((ns) => {
      // Nothing applied: the policy captures what the namespace passes.
      const empty = cliOutErr('diff', '--live', '--netns', ns, 'specs/istio-sidecar.intercept', '--format', 'json');
      expect(empty.code, empty.err).toBe(1);
      const before = JSON.parse(empty.out) as { result: string; total: number; changes: { before: { redirect?: unknown }; after: { redirect?: { port: number } } }[] };
      expect(before.result).toBe('different');
      expect(before.changes.some((c) => !c.before.redirect && c.after.redirect?.port === 15001)).toBe(true);
      // Applied: no packet changes; another policy: the changes, each with the deciding live rule.
      // IPv4 only: IPv6 is still not captured, and the diff says so.
      expect(run(ns, 'iptables-legacy-restore', [], readFileSync(join(out, 'istio-sidecar.iptables.rules'), 'utf8')).status).toBe(0);
      const half = cliOutErr('diff', '--live', '--netns', ns, 'specs/istio-sidecar.intercept');
      expect(half.code).toBe(1);
      expect(half.out).toMatch(/outbound IPv6 TCP .*: pass → redirect 15001/);
      expect(half.out).not.toMatch(/IPv4/);
      expect(run(ns, 'ip6tables-legacy-restore', [], readFileSync(join(out, 'istio-sidecar.ip6tables.rules'), 'utf8')).status).toBe(0);
      const same = cliOutErr('diff', '--live', '--netns', ns, 'specs/istio-sidecar.intercept');
      expect(same.code, same.out + same.err).toBe(0);
      expect(same.out).toMatch(/^no packet changes \(ipv4, ipv6; \d+ packet classes compared\)/);
      const other = cliOutErr('diff', '--live', '--netns', ns, 'specs/kuma-default.intercept');
      expect(other.code).toBe(1);
      expect(other.out).toMatch(new RegExp(`change from live:netns ${ns} to specs/kuma-default\\.intercept`));
      expect(other.out).toMatch(new RegExp(`A: live:netns ${ns}#iptables-legacy:\\d+ iptables-legacy/nat/MESHCAP_OUTPUT`));
      // The same as diff of a snapshot file against the policy.
      const file = join(tmp, 'diff-snap.json');
      expect(cliOutErr('snapshot', '--netns', ns, '-o', file).code).toBe(0);
      const fromFile = cliOutErr('diff', file, 'specs/kuma-default.intercept', '--format', 'json');
      const live = cliOutErr('diff', '--live', '--netns', ns, 'specs/kuma-default.intercept', '--format', 'json');
      const strip = (t: string) => (JSON.parse(t) as { changes: { description: string }[]; total: number }).changes.map((c) => c.description);
      expect(strip(live.out)).toEqual(strip(fromFile.out));
      expect(strip(live.out).length).toBeGreaterThan(0);
    });
  }, 60_000);

  it('diff --live: a namespace that cannot be entered is bad input; --netns without --live is a usage error', () => {
    const r = cliOutErr('diff', '--live', '--netns', `mc-none-${process.pid}`, 'specs/istio-sidecar.intercept');
    expect(r.code).toBe(2);
    expect(r.err).toContain('error[rules-snapshot-collect]');
    const u = cliOutErr('diff', '--netns', 'x', 'specs/istio-sidecar.intercept', 'specs/kuma-default.intercept');
    expect(u.code).toBe(3);
    expect(u.err).toContain('usage-conflicting-options');
    expect(cliOutErr('diff', '--live', 'a.intercept', 'b.intercept').code).toBe(3);
  });

  it("kube-proxy- and Docker-like rules (addrtype, MASQUERADE, mark matches, comments) stay readable: equal where they cannot change the outcome, undecided naming the rule where they can", () => {
    const out = join(tmp, 'out-others');
    expect(cliOutErr('compile', '--backend', 'iptables,ip6tables', '-o', out, 'specs/istio-sidecar.intercept').code).toBe(0);
    const theirs = (extra: string[]) =>
      [
        '*nat',
        ':PREROUTING ACCEPT [0:0]',
        ':OUTPUT ACCEPT [0:0]',
        ':POSTROUTING ACCEPT [0:0]',
        ':DOCKER - [0:0]',
        ':KUBE-POSTROUTING - [0:0]',
        ':KUBE-MARK-MASQ - [0:0]',
        '-A PREROUTING -m addrtype --dst-type LOCAL -j DOCKER',
        '-A OUTPUT ! -d 127.0.0.0/8 -m addrtype --dst-type LOCAL -j DOCKER',
        '-A POSTROUTING -m comment --comment "kubernetes postrouting rules" -j KUBE-POSTROUTING',
        '-A POSTROUTING -s 172.17.0.0/16 ! -o docker0 -j MASQUERADE',
        '-A KUBE-POSTROUTING -m mark ! --mark 0x4000/0x4000 -j RETURN',
        '-A KUBE-POSTROUTING -m comment --comment "kubernetes service traffic requiring SNAT" -j MASQUERADE --random-fully',
        '-A DOCKER -i docker0 -j RETURN',
        ...extra,
        'COMMIT',
        '',
      ].join('\n');
    const verifyIn = (extra: string[]) =>
      withNetns((ns) => {
        expect(run(ns, 'iptables-legacy-restore', [], readFileSync(join(out, 'istio-sidecar.iptables.rules'), 'utf8')).status).toBe(0);
        expect(run(ns, 'ip6tables-legacy-restore', [], readFileSync(join(out, 'istio-sidecar.ip6tables.rules'), 'utf8')).status).toBe(0);
        const n = run(ns, 'iptables-nft-restore', [], theirs(extra));
        expect(n.status, n.stderr).toBe(0);
        const file = join(tmp, `others-${extra.length}.json`);
        const s = cliOutErr('snapshot', '--netns', ns, '-o', file);
        expect(s.code, s.err).toBe(0);
        return { file, v: cliOutErr('verify', 'specs/istio-sidecar.intercept', '--against', file) };
      });
    // Docker's chain only returns, the source NAT comes after capture: whatever addrtype
    // says, meshcap's rules decide. (kube-proxy's `MARK --xor-mark 0x4000` would not be
    // quiet: it changes the packet mark, which a proof compares.)
    const quiet = verifyIn([]);
    expect(quiet.v.code, quiet.v.out + quiet.v.err).toBe(0);
    expect(quiet.v.out).toMatch(/^equal: /);
    expect(quiet.v.err).toMatch(/warning\[rules-unmodelled\]: '-m addrtype --dst-type LOCAL' is not modelled/);
    expect(quiet.v.err).toContain(`${quiet.file}#iptables-nft:`);
    // A published port: to a local address, Docker's DNAT pre-empts the mesh, if addrtype holds.
    const loud = verifyIn(['-A DOCKER ! -i docker0 -p tcp -m tcp --dport 8081 -j DNAT --to-destination 172.17.0.2:80']);
    expect(loud.v.code).toBe(2);
    expect(loud.v.out).toMatch(/^undecided: unknown: \d+ packet class\(es\) depend on rules meshcap does not model, e\.g\. out tcp \S+ -> \S+:8081 .*; the rules: .*#iptables-nft:\d+: -m addrtype --dst-type LOCAL/);
    expect(loud.v.out).not.toMatch(/^equal/m);
    expect(loud.v.err).toMatch(/#iptables-nft:\d+:1: error\[rules-undecided\]: the proof is undecided: whether '-m addrtype --dst-type LOCAL' matches decides the outcome of \d+ packet class\(es\)/);
  }, 60_000);

  it('snapshot -o: replaces a snapshot, refuses any other file (file-exists, untouched) unless --force', () => {
    withNetns((ns) => {
      const file = join(tmp, 'overwrite.json');
      const first = cliOutErr('snapshot', '--netns', ns, '-o', file);
      expect(first.code, first.err).toBe(0);
      expect((JSON.parse(readFileSync(file, 'utf8')) as Snapshot).meshcapSnapshot).toBe(1);
      // A snapshot meshcap wrote is replaced without asking.
      const again = cliOutErr('snapshot', '--netns', ns, '-o', file);
      expect(again.code, again.err).toBe(0);
      for (const other of ['my notes\n', '{"meshcapVerifyReport": 1}\n']) {
        writeFileSync(file, other);
        const r = cliOutErr('snapshot', '--netns', ns, '-o', file);
        expect(r.code, r.err).toBe(2);
        expect(r.err).toContain(`${file}: error[file-exists]: ${file} already exists; not overwritten`);
        expect(r.err).toContain('hint: --force overwrites it');
        expect(r.out).toBe('');
        expect(readFileSync(file, 'utf8')).toBe(other);
      }
      const forced = cliOutErr('snapshot', '--netns', ns, '-o', file, '--force');
      expect(forced.code, forced.err).toBe(0);
      expect((JSON.parse(readFileSync(file, 'utf8')) as Snapshot).namespace).toEqual({ netns: ns });
      // A file in the way of the folder: file-unwritable, not an internal error.
      const blocked = cliOutErr('snapshot', '--netns', ns, '-o', join(file, 'sub.json'));
      expect(blocked.code).toBe(2);
      expect(blocked.err).toContain('error[file-unwritable]');
      expect(blocked.err).not.toContain('internal');
    });
  });
});
