// `meshcap import kuma`: kumactl install transparent-proxy's flags and config file, with
// Kuma's defaults; bad values located (exit 2), inputs the language cannot say refused by
// name, and the policy meaning what Kuma's rules do.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { run } from '../src/cli/run.js';
import { KUMA_FLAGS } from '../src/import/kuma.js';
import { loadText } from '../src/language/load.js';

function cli(argv: string[]): { code: number; out: string; err: string } {
  let out = '';
  let err = '';
  const code = run(argv, { out: (s) => (out += s), err: (s) => (err += s), color: false });
  return { code, out, err };
}
const imp = (...flags: string[]) => cli(['import', 'kuma', '--', ...flags]);
const policy = (text: string) => loadText('k.intercept', text, 'intercept').policy!;
const dir = mkdtempSync(join(tmpdir(), 'meshcap-kuma-'));

describe('import kuma', () => {
  it('knows the flags of install_transparent_proxy.go', () => {
    for (const f of ['kuma-dp-user', 'redirect-inbound-port', 'redirect-outbound-port', 'exclude-inbound-ips', 'exclude-outbound-ips', 'vnet', 'exclude-outbound-ports-for-uids', 'ip-family-mode', 'drop-invalid-packets', 'skip-dns-conntrack-zone-split', 'redirect-all-dns-traffic', 'iptables-logs', 'wait', 'max-retries']) {
      expect(KUMA_FLAGS.some((x) => x.long === f), f).toBe(true);
    }
  });

  it("Kuma's defaults: uid 5678 by uid alone, 15006/15001, both families, passthrough 127.0.0.6 and ::6", () => {
    const r = imp();
    expect(r.code).toBe(0);
    const p = policy(r.out);
    expect(p.proxy.uids.value.map((u) => (u.kind === 'id' ? u.id : u.name))).toEqual([5678]);
    expect(p.proxy.gids.value).toEqual([]);
    expect([p.proxy.inboundPort.value, p.proxy.outboundPort.value]).toEqual([15006, 15001]);
    expect(p.families.value).toEqual(['ipv4', 'ipv6']);
    expect(p.loopback.passthrough.value.map((a) => a.text)).toEqual(['127.0.0.6', '::6']);
  });

  it('maps exclusions, drop-invalid, IPv4 mode and a resolved user; repeated port flags keep the last value, as pflag Ports do', () => {
    const r = cli(['import', 'kuma', '--user', 'kuma-dp=5678', '--', '--kuma-dp-user', 'kuma-dp', '--exclude-inbound-ports', '1,2', '--exclude-inbound-ports=4444', '--exclude-inbound-ips', '192.168.0.1,172.32.16.8/16,fe80::/10', '--exclude-outbound-ips', '10.0.0.1', '--exclude-outbound-ips', 'fd00::/8', '--drop-invalid-packets', '--ip-family-mode', 'ipv4']);
    expect(r.code).toBe(0);
    const p = policy(r.out);
    expect(p.proxy.uids.value.map((u) => (u.kind === 'id' ? u.id : u.name))).toEqual([5678]);
    expect(p.inbound.excludePorts.value.map((x) => x.lo)).toEqual([4444]);
    expect(p.inbound.excludeSources.value.map((c) => `${c.addr}/${c.prefix}`)).toEqual(['192.168.0.1/32', '172.32.0.0/16']);
    expect(p.outbound.excludeCidrs.value.map((c) => `${c.addr}/${c.prefix}`)).toEqual(['10.0.0.1/32']);
    expect(p.dropInvalid.value).toBe(true);
    expect(p.families.value).toEqual(['ipv4']);
    expect(r.err).toMatch(/ignores the first --exclude-inbound-ports here: kumactl keeps only the last value/);
    expect(r.err).toMatch(/ignores --exclude-inbound-ips fe80::\/10 here: it is IPv6 and --ip-family-mode is ipv4/);
    const off = imp('--redirect-inbound=false', '--exclude-inbound-ports', '80');
    expect(off.code).toBe(0);
    expect(off.out).toMatch(/capture ports none/);
    expect(off.err).toMatch(/inbound redirection is off/);
  });

  it('reads the config file (JSON or YAML); flags override it', () => {
    const f = join(dir, 'tp.yaml');
    writeFileSync(f, 'kumaDPUser: "1234"\nredirect:\n  inbound:\n    port: 16006\n    excludePorts: [9000]\n  outbound:\n    excludePortsForIPs: ["169.254.169.254"]\nipFamilyMode: ipv4\nwait: 5\n');
    const r = cli(['import', 'kuma', '--config', f, '--', '--redirect-inbound-port', '17006']);
    expect(r.code).toBe(0);
    const p = policy(r.out);
    expect(p.proxy.uids.value.map((u) => (u.kind === 'id' ? u.id : u.name))).toEqual([1234]);
    expect(p.proxy.inboundPort.value).toBe(17006);
    expect(p.inbound.excludePorts.value.map((x) => x.lo)).toEqual([9000]);
    expect(p.outbound.excludeCidrs.value.map((c) => c.addr)).toEqual(['169.254.169.254']);
    const j = join(dir, 'tp.json');
    writeFileSync(j, JSON.stringify({ redirect: { inbound: { port: 0 } }, kumaDPUsr: 'x' }));
    const bad = cli(['import', 'kuma', '--config', j]);
    expect(bad.code).toBe(2);
    expect(bad.err).toMatch(/redirect\.inbound\.port: 0 is not a port/);
    expect(bad.err).toMatch(/unknown .* flag '.*kumaDPUsr'/);
  });

  it("per-uid port exclusions: Kuma's <protocol:>?<ports:>?<uids>, an item per protocol and port range", () => {
    const r = imp('--kuma-dp-user', '0', '--exclude-outbound-ports-for-uids', 'tcp:1900,1000-2000:106-108', '--exclude-outbound-ports-for-uids', '123', '--exclude-outbound-ports-for-uids', 'udp,tcp::7');
    expect(r.code, r.err).toBe(0);
    expect(r.out.replace(/,\s+/g, ', ')).toContain('exclude ports-for-uids tcp:1900:106-108, tcp:1000-2000:106-108, tcp:1-65535:123, udp:1-65535:123, udp:1-65535:7, tcp:1-65535:7');
    const p = policy(r.out);
    expect(p.outbound.excludePortsForUids.value.map((x) => `${x.protocols.join('+')} ${x.ports.lo}-${x.ports.hi} ${x.uids.length}`)).toEqual(['tcp 1900-1900 3', 'tcp 1000-2000 3', 'tcp 1-65535 1', 'udp 1-65535 1', 'udp 1-65535 1', 'tcp 1-65535 1']);
    for (const [v, msg] of [
      ['tcp:22:*', /wildcard '\*' is not allowed for UIDs/],
      ['icmp:22:5', /invalid or unsupported protocol: 'icmp'/],
      ['a:b:c:d', /Expected format: <protocol:>\?<ports:>\?<uids>/],
      ['22:1,2', /It should either be a single item or a range/],
      ['70000:5', /invalid port range: '70000'/],
    ] as const) {
      const bad = imp('--exclude-outbound-ports-for-uids', v);
      expect(bad.code, v).toBe(2);
      expect(bad.err, v).toMatch(msg);
      expect(bad.err, v).toContain('<kumactl arguments>:1:35: error[import-bad-value]');
    }
    const o = join(dir, 'off.yaml');
    writeFileSync(o, 'redirect:\n  outbound:\n    enabled: false\n');
    const off = cli(['import', 'kuma', '--config', o, '--', '--exclude-outbound-ports-for-uids', '22:5']);
    expect(off.code, off.err).toBe(0);
    expect(off.err).toMatch(/outbound redirection is off/);
    expect(off.out).not.toContain('ports-for-uids');
    const f = join(dir, 'uids.yaml');
    writeFileSync(f, 'redirect:\n  outbound:\n    excludePortsForUIDs: ["udp:53:1000"]\n');
    const c = cli(['import', 'kuma', '--config', f]);
    expect(c.code, c.err).toBe(0);
    expect(c.out).toContain('exclude ports-for-uids udp:53:1000');
  });

  it("DNS (UDP only, the apps' TCP DNS passed, zones unless skipped), --vnet and Kuma's order", () => {
    const r = imp('--redirect-all-dns-traffic', '--redirect-dns-port', '12345', '--skip-dns-conntrack-zone-split', '--vnet', 'docker0:172.17.0.0/16', '--vnet', 'iface:::1/64');
    expect(r.code, r.err).toBe(0);
    const p = policy(r.out);
    expect(p.dns.capture.value.kind).toBe('all');
    expect([p.dns.port.value, p.dns.tcp.value, p.dns.conntrackZones.value, p.order.value]).toEqual([12345, 'pass', false, 'exclusions-first']);
    expect(p.interfaces.vnet.value.map((v) => `${v.iface.name}:${v.cidr.addr}/${v.cidr.prefix}`)).toEqual(['docker0:172.17.0.0/16', 'iface:::/64']);
    const v4 = imp('--ip-family-mode', 'ipv4', '--vnet', 'iface:::1/64', '--vnet', 'br+:172.18.0.0/16');
    expect(v4.code, v4.err).toBe(0);
    expect(v4.err).toMatch(/ignores --vnet iface:::1\/64 here: it is IPv6/);
    expect(policy(v4.out).interfaces.vnet.value.map((v) => v.iface.name)).toEqual(['br']);
    // without DNS capture the virtual networks' DNS still goes to the DNS port
    expect(policy(v4.out).dns.capture.value.kind).toBe('off');
    const bad = imp('--vnet', 'docker0');
    expect(bad.code).toBe(2);
    expect(bad.err).toMatch(/'docker0' is not INTERFACE:CIDR/);
    const f = join(dir, 'dns.yaml');
    writeFileSync(f, 'redirect:\n  dns:\n    enabled: true\n    captureAll: true\n    skipConntrackZoneSplit: true\n  vnet:\n    networks: ["eth1:10.1.0.0/16"]\n');
    const c = cli(['import', 'kuma', '--config', f]);
    expect(c.code, c.err).toBe(0);
    const q = policy(c.out);
    expect([q.dns.capture.value.kind, q.dns.conntrackZones.value, q.interfaces.vnet.value.length]).toEqual(['all', false, 1]);
  });

  it('--iptables-logs: LOG rules with Kuma\'s prefixes, at log.level (default 7)', () => {
    const r = imp('--iptables-logs');
    expect(r.code, r.err).toBe(0);
    expect(policy(r.out).log.value).toEqual({ level: 7 });
    const f = join(dir, 'log.yaml');
    writeFileSync(f, 'log:\n  enabled: true\n  level: 4\n');
    expect(policy(cli(['import', 'kuma', '--config', f]).out).log.value).toEqual({ level: 4 });
    writeFileSync(f, 'log:\n  enabled: true\n  level: 9\n');
    expect(cli(['import', 'kuma', '--config', f]).err).toMatch(/log\.level: expects a syslog level 0-7/);
  });

  it('locates bad values in the arguments (exit 2)', () => {
    const r = imp('--redirect-inbound-port', '70000', '--ip-family-mode', 'ipv6', '--exclude-outbound-ips', '10.0.0.300', '--frobnicate');
    expect(r.code).toBe(2);
    expect(r.err).toContain('<kumactl arguments>:1:25: error[import-bad-value]');
    expect(r.err).toMatch(/must be one of 'dualstack' or 'ipv4'/);
    expect(r.err).toMatch(/invalid IP address: '10\.0\.0\.300'/);
    expect(r.err).toMatch(/unknown kumactl install transparent-proxy flag '--frobnicate'/);
  });

  it('refuses by name what the language cannot say yet, and reports what does not shape the rules', () => {
    for (const f of [['--redirect-dns']]) {
      const r = imp(...f);
      expect(r.code, f.join(' ')).toBe(2);
      expect(r.err).toMatch(/error\[import-unsupported\]/);
    }
    const ok = imp('--dry-run', '--wait', '5', '--max-retries', '3', '--redirect-inbound-insert-instead-of-append');
    expect(ok.code).toBe(0);
    expect(ok.err.match(/info\[import-ignored\]/g)?.length).toBe(4);
  });
});
