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

  it('--redirect-dns: the nameservers of the resolv.conf (--resolv-conf, else redirect.dns.resolvConfigPath), per family as DNS.Initialize keeps them', () => {
    const rc = (name: string, text: string) => (writeFileSync(join(dir, name), text), join(dir, name));
    const both = rc('both.conf', '# pod\nsearch svc.cluster.local\nnameserver 10.96.0.10\nnameserver fd00::a\n;nameserver 1.1.1.1\n');
    const r = cli(['import', 'kuma', '--resolv-conf', both, '--', '--redirect-dns', '--redirect-dns-port', '12345']);
    expect(r.code, r.err).toBe(0);
    const p = policy(r.out);
    expect(p.dns.capture.value.kind).toBe('servers');
    expect(p.dns.capture.value.kind === 'servers' && p.dns.capture.value.servers.map((s) => s.text)).toEqual(['10.96.0.10', 'fd00::a']);
    expect([p.dns.port.value, p.dns.tcp.value, p.dns.conntrackZones.value]).toEqual([12345, 'pass', true]);
    expect(r.err).toContain(`info[import-read]: the import read the DNS servers 10.96.0.10, fd00::a from ${both}`);
    // IPv4 only: the IPv6 server is not Kuma's either
    const v4 = cli(['import', 'kuma', '--resolv-conf', both, '--', '--redirect-dns', '--ip-family-mode', 'ipv4']);
    expect(v4.code, v4.err).toBe(0);
    expect(policy(v4.out).dns.capture.value).toMatchObject({ kind: 'servers', servers: [{ text: '10.96.0.10' }] });
    // the path from the config file, when --resolv-conf is not given
    const cfgFile = join(dir, 'dnsconf.yaml');
    writeFileSync(cfgFile, `redirect:\n  dns:\n    enabled: true\n    resolvConfigPath: ${both}\n`);
    expect(policy(cli(['import', 'kuma', '--config', cfgFile]).out).dns.capture.value.kind).toBe('servers');
    // a family without a server gets no DNS rules from Kuma: not one policy
    const only4 = rc('v4.conf', 'nameserver 10.96.0.10\n');
    const mixed = cli(['import', 'kuma', '--resolv-conf', only4, '--', '--redirect-dns']);
    expect(mixed.code).toBe(2);
    expect(mixed.err).toMatch(/error\[import-unsupported\].*lists no ipv6 nameserver/);
    // no server at all: Kuma captures no DNS
    const none = cli(['import', 'kuma', '--resolv-conf', rc('none.conf', 'search x\n'), '--', '--redirect-dns']);
    expect(none.code, none.err).toBe(0);
    expect(policy(none.out).dns.capture.value.kind).toBe('off');
    expect(none.err).toMatch(/warning\[import-dropped\].*lists no nameserver of ipv4 or ipv6, so Kuma captures no DNS/);
    // a local resolver: written, with the documented zone difference named
    const local = cli(['import', 'kuma', '--resolv-conf', rc('local.conf', 'nameserver 127.0.0.53\n'), '--', '--redirect-dns', '--ip-family-mode', 'ipv4']);
    expect(local.code, local.err).toBe(0);
    expect(local.err).toMatch(/warning\[import-differs\].*127\.0\.0\.53.*K3/);
    // bad inputs: a nameserver that is no address (located in the file), an unreadable file, both DNS flags
    const badNs = rc('bad.conf', 'nameserver 10.96.0.10\nnameserver fe80::1%eth0\nnameserver fd00::a\n');
    const b = cli(['import', 'kuma', '--resolv-conf', badNs, '--', '--redirect-dns']);
    expect(b.code).toBe(2);
    expect(b.err).toContain(`${badNs}:2:12: error[import-bad-value]`);
    expect(b.err).toMatch(/nameserver 'fe80::1%eth0' is not an IP address/);
    const gone = cli(['import', 'kuma', '--resolv-conf', join(dir, 'absent.conf'), '--', '--redirect-dns']);
    expect(gone.code).toBe(2);
    expect(gone.err).toMatch(/error\[file-unreadable\]/);
    const two = cli(['import', 'kuma', '--resolv-conf', both, '--', '--redirect-dns', '--redirect-all-dns-traffic']);
    expect(two.code).toBe(2);
    expect(two.err).toMatch(/only one of '--redirect-dns' or '--redirect-all-dns-traffic' should be specified/);
  });

  it("the environment (--env, --env-file): applied after each --config file and before the flags, only when a config file is loaded, as kumactl's loader does", () => {
    const conf = join(dir, 'env-base.yaml');
    writeFileSync(conf, 'redirect:\n  inbound:\n    port: 17006\n  outbound:\n    port: 17001\n    excludePortsForIPs: ["10.9.9.9"]\n');
    const envFile = join(dir, 'kuma.env');
    writeFileSync(envFile, '# from the pod spec\nKUMA_TRANSPARENT_PROXY_REDIRECT_INBOUND_PORT=16006\nKUMA_TRANSPARENT_PROXY_REDIRECT_OUTBOUND_PORT=16001\nKUMA_TRANSPARENT_PROXY_DROP_INVALID_PACKETS=true\nKUMA_TRANSPARENT_PROXY_REDIRECT_OUTBOUND_EXCLUDE_PORTS=22,80\nKUMA_TRANSPARENT_PROXY_LOG_ENABLED=1\nKUMA_TRANSPARENT_PROXY_LOG_LEVEL=4\nKUMA_TRANSPARENT_PROXY_IP_FAMILY_MODE=ipv4\nKUMA_TRANSPARENT_PROXY_WAIT=9\nPATH=/bin\n');
    const r = cli(['import', 'kuma', '--config', conf, '--env-file', envFile, '--env', 'KUMA_TRANSPARENT_PROXY_KUMA_DP_USER=1234', '--', '--redirect-outbound-port', '15555']);
    expect(r.code, r.err).toBe(0);
    const p = policy(r.out);
    // file 17006 < env 16006; env 16001 < flag 15555
    expect([p.proxy.inboundPort.value, p.proxy.outboundPort.value]).toEqual([16006, 15555]);
    expect(p.proxy.uids.value.map((u) => (u.kind === 'id' ? u.id : u.name))).toEqual([1234]);
    expect(p.outbound.excludePorts.value.map((x) => x.lo)).toEqual([22, 80]);
    expect(p.outbound.excludeCidrs.value.map((c) => c.addr)).toEqual(['10.9.9.9']);
    expect([p.dropInvalid.value, p.log.value, p.families.value]).toEqual([true, { level: 4 }, ['ipv4']]);
    expect(r.err).toMatch(/info\[import-ignored\]: kumactl install transparent-proxy environment variable KUMA_TRANSPARENT_PROXY_WAIT has no effect/);
    // envconfig's Alt name: the tag without the prefix, for both directions; a list is split at every comma
    const alt = cli(['import', 'kuma', '--config', conf, '--env', 'EXCLUDE_PORTS_FOR_IPS=10.1.1.1,fd00::1']);
    expect(alt.code, alt.err).toBe(0);
    expect(policy(alt.out).outbound.excludeCidrs.value.map((c) => c.addr)).toEqual(['10.1.1.1', 'fd00::1']);
    expect(policy(alt.out).inbound.excludeSources.value.map((c) => c.addr)).toEqual(['10.1.1.1', 'fd00::1']);
    const split = cli(['import', 'kuma', '--config', conf, '--env', 'KUMA_TRANSPARENT_PROXY_REDIRECT_OUTBOUND_EXCLUDE_PORTS_FOR_UIDS=tcp:1900,1000:106']);
    expect(split.code).toBe(2);
    expect(split.err).toMatch(/environment variable KUMA_TRANSPARENT_PROXY_REDIRECT_OUTBOUND_EXCLUDE_PORTS_FOR_UIDS: invalid port range: 'tcp'/);
    // without --config kumactl never reads its environment
    const noConf = cli(['import', 'kuma', '--env', 'KUMA_TRANSPARENT_PROXY_REDIRECT_INBOUND_PORT=16006']);
    expect(noConf.code, noConf.err).toBe(0);
    expect(policy(noConf.out).proxy.inboundPort.value).toBe(15006);
    expect(noConf.err).toMatch(/warning\[import-dropped\].*KUMA_TRANSPARENT_PROXY_REDIRECT_INBOUND_PORT here: kumactl reads its environment only when it loads a --config file/);
    // bad values and names, located in the env file
    writeFileSync(envFile, 'KUMA_TRANSPARENT_PROXY_REDIRECT_INBOUND_PORT=0\nKUMA_TRANSPARENT_PROXY_LOG_ENABLED=yes\nKUMA_TRANSPARENT_PROXY_REDIRECT_INBOND_PORT=1\nnot an assignment\n');
    const bad = cli(['import', 'kuma', '--config', conf, '--env-file', envFile]);
    expect(bad.code).toBe(2);
    expect(bad.err).toContain(`${envFile}:1:1: error[import-bad-value]: kumactl install transparent-proxy environment variable KUMA_TRANSPARENT_PROXY_REDIRECT_INBOUND_PORT: "0" is not a port 1-65535`);
    expect(bad.err).toContain(`${envFile}:2:1: error[import-bad-value]`);
    expect(bad.err).toMatch(/'yes' is not a boolean/);
    expect(bad.err).toContain(`${envFile}:3:1: error[import-unknown-flag]`);
    expect(bad.err).toMatch(/did you mean 'KUMA_TRANSPARENT_PROXY_REDIRECT_INBOUND_PORT'/);
    expect(bad.err).toContain(`${envFile}:4:1: error[import-bad-value]`);
  });

  it("a StringArray flag's first use replaces the config file's list; later uses add to it (pflag)", () => {
    const conf = join(dir, 'ips.yaml');
    writeFileSync(conf, 'redirect:\n  outbound:\n    excludePortsForIPs: ["10.9.9.9"]\n');
    const r = cli(['import', 'kuma', '--config', conf, '--', '--exclude-outbound-ips', '10.0.0.1', '--exclude-outbound-ips', '10.0.0.2']);
    expect(r.code, r.err).toBe(0);
    expect(policy(r.out).outbound.excludeCidrs.value.map((c) => c.addr)).toEqual(['10.0.0.1', '10.0.0.2']);
  });

  it('reports what does not shape the rules', () => {
    const ok = imp('--dry-run', '--wait', '5', '--max-retries', '3', '--disable-comments');
    expect(ok.code).toBe(0);
    expect(ok.err.match(/info\[import-ignored\]/g)?.length).toBe(4);
  });

  it("--redirect-{inbound,outbound}-insert-instead-of-append: both put meshcap's chains first ('attach first'); one alone is named as a difference", () => {
    const both = imp('--redirect-inbound-insert-instead-of-append', '--redirect-outbound-insert-instead-of-append');
    expect(both.code, both.err).toBe(0);
    expect(policy(both.out).attach.value).toBe('first');
    const one = imp('--redirect-outbound-insert-instead-of-append');
    expect(one.code, one.err).toBe(0);
    expect(policy(one.out).attach.value).toBe('standard');
    expect(one.err).toMatch(/warning\[import-differs\].*inserts only its outbound jump/);
    const f = join(dir, 'insert.yaml');
    writeFileSync(f, 'redirect:\n  inbound:\n    insertRedirectInsteadOfAppend: true\n  outbound:\n    insertRedirectInsteadOfAppend: true\n');
    expect(policy(cli(['import', 'kuma', '--config', f]).out).attach.value).toBe('first');
  });
});
