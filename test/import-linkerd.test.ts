// `meshcap import linkerd-proxy-init`: every proxy-init flag with its default, values read as
// proxy-init reads them, bad ones located in the argument list (exit 2), what proxy-init
// silently ignores reported, and the policy meaning what proxy-init's rules do.
import { describe, expect, it } from 'vitest';
import { run } from '../src/cli/run.js';
import { LINKERD_FLAGS, linkerdConfigFromFlags, policyFromLinkerd } from '../src/import/linkerd.js';
import { loadText } from '../src/language/load.js';
import { lower } from '../src/lower/lower.js';
import type { Packet } from '../src/sim/packet.js';
import { simulate } from '../src/sim/simulate.js';

function cli(argv: string[]): { code: number; out: string; err: string } {
  let out = '';
  let err = '';
  const code = run(argv, { out: (s) => (out += s), err: (s) => (err += s), color: false });
  return { code, out, err };
}
const imp = (...flags: string[]) => cli(['import', 'linkerd-proxy-init', '--', ...flags]);
const BASE = ['-p', '4143', '-o', '4140', '-u', '2102'];

function policyOf(flags: string[]) {
  const input = linkerdConfigFromFlags(flags);
  const p = policyFromLinkerd(input);
  const l = loadText('x.intercept', p.text, 'intercept');
  return { diags: [...input.diagnostics, ...p.diagnostics], policy: l.policy!, text: p.text, rs: l.policy ? lower(l.policy) : undefined };
}
const pkt = (over: Partial<Packet>): Packet => ({ hook: 'prerouting', family: 'ipv4', protocol: 'tcp', src: '10.9.0.1', dst: '10.42.0.5', sport: 40000, dport: 80, iif: 'eth0', oif: '', mark: 0, ctmark: 0, ctstate: 'new', ...over });
const lands = (flags: string[], over: Partial<Packet>) => simulate(policyOf(flags).rs!, pkt(over)).outcome.redirect?.port ?? null;

describe('import linkerd-proxy-init: flags and defaults', () => {
  it('knows every flag of proxy-init/cmd/root.go', () => {
    expect(LINKERD_FLAGS.map((f) => f.long).sort()).toEqual(
      ['firewall-bin-path', 'firewall-save-bin-path', 'inbound-ports-to-ignore', 'incoming-proxy-port', 'iptables-mode', 'ipv6', 'log-format', 'log-level', 'netns', 'outbound-ports-to-ignore', 'outgoing-proxy-port', 'ports-to-redirect', 'proxy-gid', 'proxy-uid', 'simulate', 'subnets-to-ignore', 'timeout-close-wait-secs', 'use-wait-flag'].sort(),
    );
  });

  it('defaults: no owner, every inbound port, both families, nothing over lo', () => {
    const { policy, diags } = policyOf(['-p', '4143', '-o', '4140']);
    expect(diags).toEqual([]);
    expect(policy.proxy.uids.value).toEqual([]);
    expect(policy.proxy.gids.value).toEqual([]);
    expect(policy.inbound.capturePorts.value.kind).toBe('all');
    expect(policy.families.value).toEqual(['ipv4', 'ipv6']);
    expect(policy.loopback.localhost.value).toEqual([]);
    expect(policy.loopback.selfRedirect.value).toBe(false);
  });

  it('reads long and short forms, =value, repeated and comma-separated lists, Go integer literals', () => {
    const { policy } = policyOf(['--incoming-proxy-port=0x102F', '-o4140', '-u', '2102', '-g=2103', '-r', '80,443', '--ports-to-redirect', '9090', '--ipv6=false']);
    expect(policy.proxy.inboundPort.value).toBe(4143);
    expect(policy.proxy.outboundPort.value).toBe(4140);
    expect(policy.proxy.gids.value.map((g) => (g.kind === 'id' ? g.id : g.name))).toEqual([2103]);
    const cap = policy.inbound.capturePorts.value;
    expect(cap.kind === 'list' && cap.items.map((r) => r.lo)).toEqual([80, 443, 9090]);
    expect(policy.families.value).toEqual(['ipv4']);
  });

  it('means what proxy-init does: ignores first, then subnets, then the redirect; outbound by uid, lo, ports', () => {
    const f = [...BASE, '--inbound-ports-to-ignore', '4190-4191', '--outbound-ports-to-ignore', '3306', '--subnets-to-ignore', '0.0.0.0/0', '--ipv6=false'];
    expect(lands(f, { dport: 4191 })).toBeNull();
    expect(lands(f, { dport: 80 })).toBeNull(); // every source ignored
    const g = [...BASE, '--inbound-ports-to-ignore', '4190-4191', '--outbound-ports-to-ignore', '3306'];
    expect(lands(g, { dport: 80 })).toBe(4143);
    expect(lands(g, { dport: 4190 })).toBeNull();
    const out = { hook: 'output' as const, src: '10.42.0.5', dst: '10.9.0.1', iif: '', oif: 'eth0', uid: 1000, gid: 1000 };
    expect(lands(g, { ...out, dport: 80 })).toBe(4140);
    expect(lands(g, { ...out, dport: 3306 })).toBeNull();
    expect(lands(g, { ...out, uid: 2102, dport: 80 })).toBeNull();
    expect(lands(g, { ...out, oif: 'lo', dst: '10.42.0.5', dport: 80 })).toBeNull();
    expect(lands(g, { ...out, dst: '127.0.0.1', dport: 80 })).toBe(4140); // only the interface counts
  });

  it('one port for both directions, as in Linkerd\'s lab', () => {
    const r = imp('-p', '8080', '-o', '8080', '-u', '2102', '-g', '2102', '--ipv6=false');
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/outbound-port 8080\n\s+inbound-port 8080/);
  });

  it('prints a formatted policy that checks, and YAML with --to yaml', () => {
    const r = imp(...BASE);
    expect(r.code).toBe(0);
    expect(r.err).toBe('');
    expect(loadText('x.intercept', r.out, 'intercept').diagnostics).toEqual([]);
    const y = cli(['import', 'linkerd-proxy-init', '--to', 'yaml', '--', ...BASE]);
    expect(y.out).toMatch(/^policy: linkerd$/m);
  });
});

describe('import linkerd-proxy-init: bad and ignored values', () => {
  const located = (r: { err: string }, col: number, code: string) => expect(r.err).toContain(`<proxy-init arguments>:1:${col}: error[${code}]`);

  it('requires both proxy ports, as proxy-init does', () => {
    const r = imp('-u', '2102');
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/--outgoing-proxy-port: is required/);
    expect(r.err).toMatch(/--incoming-proxy-port: is required/);
  });

  it('locates a bad value under a caret, and reports several at once', () => {
    const r = imp('-p', '41x3', '-o', '70000', '--subnets-to-ignore', '10.0.0.0/33', '--frobnicate', '1');
    expect(r.code).toBe(2);
    located(r, 4, 'import-bad-value');
    expect(r.err).toMatch(/'41x3' is not a number/);
    expect(r.err).toMatch(/70000 is not a valid TCP port number/);
    expect(r.err).not.toMatch(/is required/); // -p was given, its value was refused
    located(r, 12, 'import-bad-value');
    located(r, 38, 'import-bad-value');
    located(r, 50, 'import-unknown-flag');
    expect(r.err).toMatch(/\n {2}\| {4}\^{4}\n/);
    expect(r.err).not.toMatch(/at .*\.js:\d+/); // no stack trace
  });

  it('refuses subnets proxy-init would fail on (the wrong family for iptables or ip6tables)', () => {
    expect(imp(...BASE, '--subnets-to-ignore', '10.0.0.0/8').err).toMatch(/with --ipv6 \(the default\) proxy-init gives it to ip6tables too/);
    expect(imp(...BASE, '--subnets-to-ignore', 'fd00::/8', '--ipv6=false').err).toMatch(/always runs iptables \(IPv4\)/);
    expect(imp(...BASE, '--subnets-to-ignore', '10.0.0.1/8', '--ipv6=false').out).toMatch(/exclude sources 10\.0\.0\.0\/8/);
    const all = imp(...BASE, '--subnets-to-ignore', '0.0.0.0/0');
    expect(all.code).toBe(0);
    expect(all.out).toMatch(/exclude sources 0\.0\.0\.0\/0, ::\/0/);
    expect(all.err).toMatch(/warning\[import-dropped\].*also ignores every IPv6 source/);
  });

  it('refuses values proxy-init checks (iptables mode, binary path, log level)', () => {
    for (const f of ['--iptables-mode=fast', '--firewall-bin-path=/sbin/iptables', '--log-level=loud']) expect(imp(...BASE, f).code, f).toBe(2);
    const ok = imp(...BASE, '--iptables-mode=nft', '--log-level=debug', '-w', '--simulate', '--netns', '/proc/1/ns/net', '--timeout-close-wait-secs', '3600', '--log-format', 'json', '--firewall-save-bin-path', 'x');
    expect(ok.code).toBe(0);
    expect(ok.err.match(/info\[import-ignored\]/g)?.length).toBe(8);
  });

  it('reports what proxy-init silently ignores: uid 0, unreadable ignore entries, redirected ports also ignored, arguments', () => {
    const r = imp('-p', '4143', '-o', '4140', '-u', '0', '--inbound-ports-to-ignore', '4190,abc,9-1', '-r', '80,4190', '--ipv6', 'false');
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/uid none/);
    expect(r.err).toMatch(/ignores --proxy-uid 0 here: proxy-init writes an owner rule only for ids above 0/);
    expect(r.err).toMatch(/ignores --inbound-ports-to-ignore 'abc'/);
    expect(r.err).toMatch(/upper-bound must be greater than or equal to lower-bound/);
    expect(r.err).toMatch(/ignores --ports-to-redirect 4190 here/);
    expect(r.err).toMatch(/ignores 'false' here[\s\S]*write --ipv6=false/);
    expect(r.out).toMatch(/capture ports 80\n/);
    expect(r.err).toMatch(/warning\[proxy-unrecognised\]/);
  });

  it('keeps istio-iptables options away from proxy-init (usage error, exit 3)', () => {
    expect(cli(['import', 'linkerd-proxy-init', '--ipv6', '--', ...BASE]).code).toBe(3);
    expect(cli(['import', 'kumactl', '--', ...BASE]).code).toBe(3);
  });
});
