// trace of anything a node runs (rule files, shell scripts, snapshots), verify's refusal of
// two files for one family, and snapshots read back (made by hand here; the kernel test
// takes real ones): sources by priority, the split between iptables flavours, bad files.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cliOutErr as cli } from './helpers.js';
import { loadSide } from '../src/compile/sides.js';
import { SNAPSHOT_VERSION, type Snapshot } from '../src/compile/snapshot.js';
import { simulate } from '../src/sim/simulate.js';

const SPEC = 'specs/istio-sidecar.intercept';
const PKT = 'out tcp 10.1.0.5:40000 -> 10.2.0.9:9080 uid=1000';
const tmp = mkdtempSync(join(tmpdir(), 'meshcap-cli-live-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
const write = (name: string, text: string) => {
  const p = join(tmp, name);
  writeFileSync(p, text);
  return p;
};
const out = join(tmp, 'out');
const art = (ext: string) => join(out, `istio-sidecar.${ext}`);
beforeAll(() => {
  const r = cli('compile', '--backend', 'iptables,ip6tables,nftables,shell', '-o', out, SPEC);
  expect(r.code, r.err).toBe(0);
});

const snapshot = (sources: Snapshot['sources'], routing: Snapshot['routing'] = {}): Snapshot => ({
  meshcapSnapshot: SNAPSHOT_VERSION,
  taken: '2026-12-07T00:00:00Z',
  namespace: { netns: 'pod' },
  kernel: '6.1.0',
  tools: {},
  sources,
  routing,
  sysctls: { 'net.ipv4.conf.all.route_localnet': '0' },
});
const KUBE = ['*nat', ':OUTPUT ACCEPT [0:0]', ':KUBE-SERVICES - [0:0]', '-A OUTPUT -j KUBE-SERVICES', '-A KUBE-SERVICES -d 10.96.0.10/32 -p tcp -m tcp --dport 80 -j DNAT --to-destination 10.244.0.5:8080', 'COMMIT', ''].join('\n');

describe('trace takes any rule file', () => {
  it('iptables text, nft JSON and the shell script give the outcome the policy does, with their own file:line', () => {
    const policy = cli('trace', '--format', 'json', SPEC, '--packet', PKT);
    expect(policy.code, policy.err).toBe(0);
    const want = (JSON.parse(policy.out) as { outcome: unknown }).outcome;
    for (const f of [art('iptables.rules'), art('nft.json'), art('sh')]) {
      const r = cli('trace', '--format', 'json', f, '--packet', PKT);
      expect(r.code, `${f}: ${r.err}`).toBe(0);
      const j = JSON.parse(r.out) as { outcome: unknown; path: { source: string | null }[] };
      expect(j.outcome, f).toEqual(want);
      expect(j.path.some((s) => s.source?.startsWith(f)), f).toBe(true);
    }
    const text = cli('trace', art('iptables.rules'), '--packet', PKT);
    expect(text.out).toMatch(new RegExp(`nat/MESHCAP_REDIRECT #1 +redirect to port 15001 +\\(${art('iptables.rules').replace(/[.]/g, '\\.')}:\\d+\\)`));
    expect(text.out).toContain('=> redirect 15001');
  });

  it('--follow on the shell script uses its routing; --backend still compiles a policy', () => {
    const f = cli('trace', '--follow', art('sh'), '--packet', PKT);
    expect(f.code, f.err).toBe(0);
    expect(f.out).toContain("delivered to the pod's port 15001");
    const b = cli('trace', '--backend', 'shell', SPEC, '--packet', PKT);
    expect(b.code, b.err).toBe(0);
    expect(b.out).toContain('=> redirect 15001');
  });

  it('usage errors: --backend with a rule file, a packet of a family the file has no rules for', () => {
    const b = cli('trace', '--backend', 'nftables', art('iptables.rules'), '--packet', PKT);
    expect(b.code).toBe(3);
    expect(b.err).toContain('usage-conflicting-options');
    const f = cli('trace', art('iptables.rules'), '--packet', 'out tcp [fd00::5]:40000 -> [fd00::9]:80');
    expect(f.code).toBe(3);
    expect(f.err).toContain('holds ipv4 rules; the packet is ipv6');
    const l = cli('trace', '--live', SPEC, '--packet', PKT);
    expect(l.code).toBe(3);
  });
});

describe('verify: one file per family', () => {
  it('two --against files of one family are refused, not concatenated', () => {
    const r = cli('verify', SPEC, '--against', art('iptables.rules'), '--against', art('iptables.rules'));
    expect(r.code).toBe(3);
    expect(r.err).toContain('both hold ipv4 rules');
    const nft = cli('verify', SPEC, '--against', art('iptables.rules'), '--against', art('nft.json'));
    expect(nft.code).toBe(3);
    const ok = cli('verify', SPEC, '--against', art('iptables.rules'), '--against', art('ip6tables.rules'));
    expect(ok.code, ok.out + ok.err).toBe(0);
    expect(cli('verify', SPEC, '--against', art('iptables.rules'), '--live').code).toBe(3);
  });
});

describe('snapshots read back', () => {
  const mesh = () => readFileSync(art('iptables.rules'), 'utf8');

  it('a snapshot of meshcap alone is proven equal to the policy (IPv4), and traces like it', () => {
    const f = write('alone.json', JSON.stringify(snapshot([{ name: 'iptables-legacy', format: 'iptables-save', family: 'ipv4', command: 'iptables-legacy-save', text: mesh() }])));
    const v = cli('verify', SPEC, '--against', f);
    expect(v.code, v.out + v.err).toBe(0);
    expect(v.out).toMatch(/^equal: /);
    const t = cli('trace', f, '--packet', PKT);
    expect(t.out).toContain('iptables-legacy/nat/MESHCAP_REDIRECT #1');
    expect(t.out).toContain(`${f}#iptables-legacy:`);
  });

  it('rules split between the flavours: a finding that the order matters, and the simulator reads iptables-nft first', () => {
    const f = write('split.json', JSON.stringify(snapshot([
      { name: 'iptables-legacy', format: 'iptables-save', family: 'ipv4', command: 'iptables-legacy-save', text: mesh() },
      { name: 'iptables-nft', format: 'iptables-save', family: 'ipv4', command: 'iptables-nft-save', text: KUBE },
      { name: 'nft', format: 'nft-json', command: 'nft -j list ruleset', text: '{"nftables":[{"metainfo":{"version":"1.0.6"}},{"table":{"family":"ip","name":"nat","handle":1}}]}' },
    ])));
    const side = loadSide(f);
    const w = side.diagnostics.filter((d) => d.code === 'rules-split-flavours');
    expect(w).toHaveLength(1);
    expect(w[0].message).toMatch(/which runs first changes \d+ packet class\(es\), e\.g\. .*10\.96\.0\.10\/32 port 80: redirect 8080 with iptables-nft first .*, redirect 15001 with iptables-legacy first/);
    // iptables-nft's own table in the nft listing is not read twice.
    expect(side.rs!.tables.map((t) => t.name)).toEqual(['iptables-nft/nat', 'iptables-legacy/nat']);
    const r = simulate(side.rs!, { hook: 'output', family: 'ipv4', protocol: 'tcp', src: '10.1.0.5', dst: '10.96.0.10', sport: 40000, dport: 80, iif: '', oif: 'eth0', uid: 1000, gid: 1000, mark: 0, ctmark: 0, ctstate: 'new' });
    expect(r.outcome.redirect).toEqual({ port: 8080 });
    const v = cli('verify', SPEC, '--against', f);
    expect(v.code).toBe(1);
    expect(v.err).toContain('warning[rules-split-flavours]');
    expect(v.out).toContain('10.96.0.10/32 port 80: redirect 15001 (policy) → redirect 8080');
    expect(v.out).toMatch(new RegExp(`against: ${f.replace(/[.]/g, '\\.')}#iptables-nft:5 iptables-nft/nat/KUBE-SERVICES #1`));
  });

  it('TPROXY routing and lo addresses come from ip rule, the local routes and lo', () => {
    const f = write('routing.json', JSON.stringify(snapshot([{ name: 'iptables-legacy', format: 'iptables-save', family: 'ipv4', command: 'x', text: mesh() }], {
      rule4: '0:\tfrom all lookup local\n32765:\tfrom all fwmark 0x539 lookup 133\n',
      local4: 'local default dev lo table 133 scope host\nlocal 127.0.0.0/8 dev lo table local proto kernel scope host src 127.0.0.1\n',
      lo: '1: lo: <LOOPBACK,UP> mtu 65536\n    inet 127.0.0.1/8 scope host lo\n    inet6 ::6/128 scope host\n    inet6 ::1/128 scope host\n',
    })));
    expect(loadSide(f).rs!.routing).toEqual({ tproxy: { mark: 0x539, table: 133, families: ['ipv4'] }, loopbackAddresses: ['::6'] });
  });

  it('a malformed snapshot is bad input with a catalogued diagnostic', () => {
    const f = write('bad.json', '{"meshcapSnapshot": 99, "sources": []}');
    const r = cli('trace', f, '--packet', PKT);
    expect(r.code).toBe(2);
    expect(r.err).toContain('error[rules-snapshot]');
    const g = write('bad2.json', JSON.stringify(snapshot([{ name: 'iptables-nft', format: 'iptables-save', family: 'ipv4', command: 'x', text: '*nat\n:OUTPUT ACCEPT [0:0]\n-A OUTPUT -m frobnicate -j RETURN\nCOMMIT\n' }])));
    const v = cli('verify', SPEC, '--against', g);
    expect(v.code).toBe(2);
    expect(v.err).toContain(`${g}#iptables-nft:3`);
  });
});

describe('an undecided proof is a catalogued diagnostic at the rule it depends on', () => {
  // Docker-like: a port published on local addresses, in front of meshcap's rules.
  const DOCKER = ['*nat', ':PREROUTING ACCEPT [0:0]', ':OUTPUT ACCEPT [0:0]', ':DOCKER - [0:0]', '-A PREROUTING -m addrtype --dst-type LOCAL -j DOCKER', '-A OUTPUT ! -d 127.0.0.0/8 -m addrtype --dst-type LOCAL -j DOCKER', '-A DOCKER -p tcp -m tcp --dport 8081 -j DNAT --to-destination 172.17.0.2:80', 'COMMIT', ''].join('\n');
  const snap = () =>
    write('undecided.json', JSON.stringify(snapshot([
      { name: 'iptables-legacy', format: 'iptables-save', family: 'ipv4', command: 'iptables-legacy-save', text: readFileSync(art('iptables.rules'), 'utf8') },
      { name: 'iptables-nft', format: 'iptables-save', family: 'ipv4', command: 'iptables-nft-save', text: DOCKER },
    ])));

  it('verify names each unmodelled rule with its file:line, the classes that depend on it, a packet of them and a hint', () => {
    const f = snap();
    const v = cli('verify', SPEC, '--against', f);
    expect(v.code, v.out + v.err).toBe(2);
    expect(v.out).toMatch(/^undecided: /);
    const errs = [...v.err.matchAll(/^(\S+):(\d+):1: error\[rules-undecided\]: the proof is undecided: whether '([^']+)' matches decides the outcome of (\d+) packet class\(es\), e\.g\. (.+), and meshcap/gm)];
    expect(errs.map((m) => [m[1], m[3]]).sort()).toEqual([[`${f}#iptables-nft`, '-m addrtype --dst-type LOCAL'], [`${f}#iptables-nft`, '-m addrtype --dst-type LOCAL']]);
    // Lines 5 and 6 of the nft source: PREROUTING's rule and OUTPUT's.
    expect(errs.map((m) => Number(m[2])).sort()).toEqual([5, 6]);
    for (const m of errs) {
      expect(Number(m[4])).toBeGreaterThan(0);
      // The packet is one of those classes: the simulator cannot tell its outcome.
      expect(m[5]).toMatch(/:8081\b/);
    }
    expect(v.err).toMatch(/hint: see whether it holds for such packets \(`meshcap trace FILE --packet '(in|out) tcp [^']+:8081[^']*'` runs it both ways\)/);
    const j = cli('verify', '--format', 'json', SPEC, '--against', f);
    expect(j.code).toBe(2);
    const u = (JSON.parse(j.out) as { unknown: { rule: string; classes: number; packet: { dport: number } }[] }).unknown;
    expect(u.map((x) => x.rule).sort()).toEqual([`${f}#iptables-nft:5: -m addrtype --dst-type LOCAL`, `${f}#iptables-nft:6: -m addrtype --dst-type LOCAL`]);
    expect(u.every((x) => x.packet.dport === 8081 && x.classes > 0)).toBe(true);
    expect(j.err).toContain('error[rules-undecided]');
  });

  it('diff says the same; a limit of the engine is rules-undecided-limit', () => {
    const d = cli('diff', art('iptables.rules'), snap());
    expect(d.code).toBe(2);
    expect(d.err).toContain('error[rules-undecided]');
    const lim = write('lim.rules', ['*nat', ':OUTPUT ACCEPT [0:0]', '-A OUTPUT -j MARK --set-xmark 0x1/0xff', '-A OUTPUT -m mark --mark 0x1/0xff -j RETURN', 'COMMIT', ''].join('\n'));
    const v = cli('verify', SPEC, '--against', lim);
    expect(v.code).toBe(2);
    expect(v.err).toMatch(/error\[rules-undecided-limit\]: the proof is undecided: marks are compared under partial masks over 8 bits/);
  });
});

describe("interfaces in a user chain reached from OUTPUT (Docker's DOCKER chain)", () => {
  it('are taken, as the kernel takes them, and never match there; in OUTPUT itself -i is still refused', () => {
    const docker = write('docker.rules', ['*nat', ':OUTPUT ACCEPT [0:0]', ':DOCKER - [0:0]', '-A OUTPUT -j DOCKER', '-A DOCKER -i docker0 -j RETURN', '-A DOCKER -p tcp -m tcp --dport 8081 -j REDIRECT --to-ports 80', 'COMMIT', ''].join('\n'));
    const t = cli('trace', docker, '--packet', 'out tcp 10.1.0.5:40000 -> 10.2.0.9:8081 uid=1000');
    expect(t.code, t.err).toBe(0);
    expect(t.out).toContain('=> redirect 80');
    const bad = write('bad-iif.rules', ['*nat', ':OUTPUT ACCEPT [0:0]', '-A OUTPUT -i eth0 -j RETURN', 'COMMIT', ''].join('\n'));
    const v = cli('verify', SPEC, '--against', bad);
    expect(v.code).toBe(2);
    expect(v.err).toContain('error[rules-invalid-hook]');
  });
});

describe("nft expressions of other tools (fib, numgen, ct status, meta pkttype) are unmodelled, in text and JSON", () => {
  const TEXT = ['table ip kube-proxy {', '\tchain nat-prerouting {', '\t\ttype nat hook prerouting priority dstnat; policy accept;', '\t\tfib daddr type local tcp dport 8081 redirect to :80', '\t\tct status dnat counter', '\t\tmeta pkttype host numgen random mod 2 == 0 counter', '\t}', '}', ''].join('\n');
  const rule = (expr: unknown[]) => ({ rule: { family: 'ip', table: 'kube-proxy', chain: 'nat-prerouting', expr } });
  const JSON_DOC = JSON.stringify({
    nftables: [
      { table: { family: 'ip', name: 'kube-proxy' } },
      { chain: { family: 'ip', table: 'kube-proxy', name: 'nat-prerouting', type: 'nat', hook: 'prerouting', prio: -100, policy: 'accept' } },
      rule([{ match: { op: '==', left: { fib: { result: 'type', flags: ['daddr'] } }, right: 'local' } }, { match: { op: '==', left: { payload: { protocol: 'tcp', field: 'dport' } }, right: 8081 } }, { redirect: { port: 80 } }]),
      rule([{ match: { op: 'in', left: { ct: { key: 'status' } }, right: 'dnat' } }, { counter: null }]),
    ],
  });
  const PKT_IN = 'in tcp 10.2.0.9:40000 -> 10.1.0.5:8081 iif=eth0';

  it('the text listing: a warning at each, with its own words; the outcome they decide is unknown, and a proof is undecided at the fib rule', () => {
    const f = write('kube-proxy.nft', TEXT);
    const t = cli('trace', f, '--packet', PKT_IN);
    expect(t.code, t.err).toBe(0);
    expect(t.out).toMatch(/=> unknown \(depends on .*kube-proxy\.nft:4: fib daddr type local/);
    for (const [line, text] of [[4, 'fib daddr type local'], [5, 'ct status dnat'], [6, 'meta pkttype host'], [6, 'numgen random mod 2 == 0']] as const) {
      expect(t.err).toContain(`${f}:${line}:`);
      expect(t.err).toContain(`warning[rules-unmodelled]: '${text}' is not modelled`);
    }
    // Another port: whatever fib says, nothing happens.
    const other = cli('trace', f, '--packet', 'in tcp 10.2.0.9:40000 -> 10.1.0.5:9090 iif=eth0');
    expect(other.out).toContain('=> pass');
    const empty = write('kube-proxy-empty.nft', TEXT.split('\n').filter((l) => !l.startsWith('\t\t') || l.includes('type nat')).join('\n'));
    const d = cli('diff', empty, f);
    expect(d.code).toBe(2);
    expect(d.err).toMatch(new RegExp(`${f.replace(/[.]/g, '\\.')}:4:3: error\\[rules-undecided\\]: the proof is undecided: whether 'fib daddr type local' matches`));
  });

  it('JSON: the same, located by its JSON path; a key nft does not have is still an error', () => {
    const f = write('kube-proxy.nft.json', JSON_DOC);
    const t = cli('trace', f, '--packet', PKT_IN);
    expect(t.code, t.err).toBe(0);
    expect(t.out).toMatch(/=> unknown \(depends on .*fib == "local" at \$\.nftables\[2\]\.rule\.expr\[0\]/);
    expect(t.err).toMatch(/warning\[rules-unmodelled\]: 'ct in "dnat" at \$\.nftables\[3\]\.rule\.expr\[0\]'|warning\[rules-unmodelled\]: 'ct status in "dnat" at \$\.nftables\[3\]\.rule\.expr\[0\]'/);
    const bad = write('typo.nft', TEXT.replace('meta pkttype host', 'meta frob 3'));
    const b = cli('trace', bad, '--packet', PKT_IN);
    expect(b.code).toBe(2);
    expect(b.err).toContain('error[rules-nft-text]: meta frob is not read');
  });
});
