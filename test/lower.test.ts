// Targeted lowering checks: what the specs' rule sets do with the packets that matter,
// that the kernel would load them, and that every rule points back at its policy line.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { emitIptables } from '../backends/iptables/emit.js';
import { importIptables } from '../backends/iptables/import.js';
import { checkRuleSet } from '../src/ir/check.js';
import { SourceFile } from '../src/source.js';
import type { Family, RuleSet } from '../src/ir/types.js';
import { loadFile, loadText } from '../src/language/load.js';
import { lower } from '../src/lower/lower.js';
import { parseCompactPacket, type Packet } from '../src/sim/packet.js';
import { simulate } from '../src/sim/simulate.js';
import { outcomeText } from '../src/verify/compare.js';
import { equivalent } from '../src/verify/engine.js';
import { rulesSide } from '../src/verify/side.js';

function lowerSpec(path: string): RuleSet {
  const l = loadFile(path);
  expect(l.diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
  return lower(l.policy!);
}

function packet(text: string): Packet {
  const r = parseCompactPacket(text);
  expect(r.problems, text).toEqual([]);
  return r.packet!;
}

/** The outcome of a compact packet, as `outcomeText` says it ('redirect 15001', 'pass', ...). */
const outcome = (rs: RuleSet, text: string) => outcomeText(simulate(rs, packet(text)).outcome);

/** 1-based line of the first line of FILE containing NEEDLE (after `after`, if given). */
function lineOf(path: string, needle: string, after?: string): number {
  const ls = readFileSync(path, 'utf8').split('\n');
  const from = after ? ls.findIndex((l) => l.includes(after)) : 0;
  const i = ls.findIndex((l, k) => k >= from && l.includes(needle));
  expect(i, `${needle} in ${path}`).toBeGreaterThanOrEqual(0);
  return i + 1;
}

const specs = readdirSync('specs').filter((f) => /\.(intercept|ya?ml)$/.test(f)).sort();

// ---- the default sidecar -------------------------------------------------------------------
describe('istio-sidecar: key packets', () => {
  const rs = lowerSpec('specs/istio-sidecar.intercept');
  const fam: Record<Family, { pod: string; peer: string; local: string; pass: string }> = {
    ipv4: { pod: '10.1.0.5', peer: '10.2.0.9', local: '127.0.0.1', pass: '127.0.0.6' },
    ipv6: { pod: '[fd00:1::5]', peer: '[2001:db8:1::9]', local: '[::1]', pass: '[::6]' },
  };

  for (const f of ['ipv4', 'ipv6'] as const) {
    const { pod, peer, local, pass } = fam[f];
    const cases: [string, string, string][] = [
      ['app outbound TCP is redirected to 15001', `out tcp ${pod}:40000 -> ${peer}:9080 uid=1000 gid=1000`, 'redirect 15001'],
      ['app outbound TCP on another port too', `out tcp ${pod}:40000 -> ${peer}:443 uid=0 gid=0`, 'redirect 15001'],
      ["the proxy's own traffic (uid 1337) passes", `out tcp ${pod}:40000 -> ${peer}:9080 uid=1337 gid=1000`, 'pass'],
      ["the proxy's own traffic (gid 1337) passes", `out tcp ${pod}:40000 -> ${peer}:9080 uid=1000 gid=1337`, 'pass'],
      ['app to localhost passes', `out tcp ${local}:40000 -> ${local}:8080 uid=1000 gid=1000 oif=lo`, 'pass'],
      ["app to its own pod IP over lo passes", `out tcp ${pod}:40000 -> ${pod}:8080 uid=1000 gid=1000 oif=lo`, 'pass'],
      ["proxy to the pod's own IP over lo goes to the inbound listener", `out tcp ${pod}:40000 -> ${pod}:8080 uid=1337 gid=1337 oif=lo`, 'redirect 15006'],
      ["proxy to the pod's own IP over lo on the tunnel port passes", `out tcp ${pod}:40000 -> ${pod}:15008 uid=1337 gid=1337 oif=lo`, 'pass'],
      ['proxy to localhost passes', `out tcp ${local}:40000 -> ${local}:15000 uid=1337 gid=1337 oif=lo`, 'pass'],
      ['passthrough from the passthrough address over lo passes', `out tcp ${pass}:40000 -> ${pod}:8080 uid=1337 gid=1337 oif=lo`, 'pass'],
      ['inbound TCP 8080 is redirected to 15006', `in tcp ${peer}:5000 -> ${pod}:8080`, 'redirect 15006'],
      ['inbound TCP 15008 (tunnel) passes', `in tcp ${peer}:5000 -> ${pod}:15008`, 'pass'],
      ['inbound TCP 15090 (excluded) passes', `in tcp ${peer}:5000 -> ${pod}:15090`, 'pass'],
      ['inbound TCP 15021 (excluded) passes', `in tcp ${peer}:5000 -> ${pod}:15021`, 'pass'],
      ['inbound TCP 15020 (excluded) passes', `in tcp ${peer}:5000 -> ${pod}:15020`, 'pass'],
      ['inbound TCP 15019 (next to an excluded port) is redirected', `in tcp ${peer}:5000 -> ${pod}:15019`, 'redirect 15006'],
      ['outbound UDP is not captured', `out udp ${pod}:40000 -> ${peer}:53 uid=1000 gid=1000`, 'pass'],
      ['outbound UDP to another port is not captured', `out udp ${pod}:40000 -> ${peer}:9080 uid=1000 gid=1000`, 'pass'],
      ['inbound UDP is not captured', `in udp ${peer}:5000 -> ${pod}:8080`, 'pass'],
      ['an established outbound connection is not redirected again', `out tcp ${pod}:40000 -> ${peer}:9080 uid=1000 gid=1000 ctstate=established`, 'pass'],
    ];
    for (const [name, text, want] of cases) {
      it(`${f}: ${name}`, () => {
        const p = packet(text);
        expect(p.family).toBe(f);
        expect(outcome(rs, text)).toBe(want);
        // nothing of the other family's tables is on the path
        expect(simulate(rs, p).path.every((s) => s.family === f)).toBe(true);
      });
    }
  }
});

// ---- every spec loads in the kernel -------------------------------------------------------
describe('checkRuleSet finds nothing the kernel would refuse', () => {
  it('there are specs', () => expect(specs.length).toBeGreaterThanOrEqual(6));
  for (const f of specs) {
    it(f, () => {
      const rs = lowerSpec(join('specs', f));
      expect(rs.tables.length).toBeGreaterThan(0);
      expect(checkRuleSet(rs)).toEqual([]);
    });
  }

  it('checkRuleSet itself catches what it should (so the above can fail)', () => {
    const rs = lowerSpec('specs/istio-sidecar.intercept');
    const nat = rs.tables.find((t) => t.name === 'nat' && t.family === 'ipv4')!;
    const pre = nat.chains.find((c) => c.name === 'PREROUTING')!;
    pre.rules.push({ matches: [{ kind: 'uid', neg: false, id: 1337 }], action: { kind: 'jump', chain: 'NOWHERE' }, origin: { span: null, purpose: 'x' } });
    const msgs = checkRuleSet(rs).map((p) => `${p.chain}#${p.index}: ${p.message}`);
    expect(msgs).toEqual([`PREROUTING#${pre.rules.length}: owner match reached from prerouting: valid only in OUTPUT and POSTROUTING`, `PREROUTING#${pre.rules.length}: jump to missing chain NOWHERE`]);
  });

  it("-i is refused in iptables' OUTPUT itself, not in a user chain OUTPUT reaches (as iptables-restore does: Docker's DOCKER chain)", () => {
    const rs = lowerSpec('specs/istio-sidecar.intercept');
    const nat = rs.tables.find((t) => t.name === 'nat' && t.family === 'ipv4')!;
    const out = nat.chains.find((c) => c.name === 'OUTPUT')!;
    const origin = { span: null, purpose: 'x' };
    nat.chains.push({ name: 'DOCKER', rules: [{ matches: [{ kind: 'iif', neg: false, name: 'docker0', prefix: false }], action: { kind: 'return' }, origin }] });
    out.rules.push({ matches: [], action: { kind: 'jump', chain: 'DOCKER' }, origin });
    expect(checkRuleSet(rs)).toEqual([]);
    out.rules.push({ matches: [{ kind: 'iif', neg: false, name: 'docker0', prefix: false }], action: { kind: 'return' }, origin });
    expect(checkRuleSet(rs).map((p) => `${p.chain}#${p.index}: ${p.message}`)).toEqual([`OUTPUT#${out.rules.length}: -i reached from output: valid only in PREROUTING, INPUT and FORWARD`]);
  });
});

// ---- TPROXY -------------------------------------------------------------------------------
describe('istio-tproxy', () => {
  const rs = lowerSpec('specs/istio-tproxy.intercept');

  it('a new inbound TCP connection is delivered by TPROXY to 15006 with mark 1337', () => {
    const r = simulate(rs, packet('in tcp 10.2.0.9:5000 -> 10.1.0.5:8080'));
    expect(r.outcome).toEqual({ verdict: 'accept', redirect: null, tproxy: { port: 15006, mark: 1337 }, mark: 1337, ctmark: 0, ctZone: null });
    expect(r.path.some((s) => s.table === 'mangle' && s.chain === 'MESHCAP_TPROXY')).toBe(true);
  });

  it('IPv6 too', () => {
    expect(simulate(rs, packet('in tcp [2001:db8::9]:5000 -> [fd00::5]:8080')).outcome.tproxy).toEqual({ port: 15006, mark: 1337 });
  });

  it('a packet that already carries the tproxy mark keeps it and has it saved on the connection', () => {
    const r = simulate(rs, packet('in tcp 10.2.0.9:5000 -> 10.1.0.5:8080 mark=1337'));
    expect(r.outcome).toEqual({ verdict: 'accept', redirect: null, tproxy: null, mark: 1337, ctmark: 1337, ctZone: null });
  });

  it('without the save rule, the IR is proven different from the lowered one (connection marks are compared)', () => {
    const cut = structuredClone(rs);
    for (const t of cut.tables) for (const c of t.chains) c.rules = c.rules.filter((x) => x.action.kind !== 'connmark-save');
    const r = equivalent(rulesSide('lowered', rs), rulesSide('cut', cut), { maxDifferences: 4 });
    expect(r.result).toBe('different');
    expect(r.counterexample!.a.outcome.ctmark).toBe(1337);
    expect(r.counterexample!.b.outcome.ctmark).toBe(r.counterexample!.packet.ctmark);
  });

  for (const ctstate of ['established', 'related']) {
    it(`an ${ctstate} inbound packet gets mark 1337 and is accepted, without TPROXY`, () => {
      const r = simulate(rs, packet(`in tcp 10.2.0.9:5000 -> 10.1.0.5:8080 ctstate=${ctstate}`));
      expect(r.outcome).toEqual({ verdict: 'accept', redirect: null, tproxy: null, mark: 1337, ctmark: 0, ctZone: null });
      expect(r.path.map((s) => s.chain)).toContain('MESHCAP_DIVERT');
    });
  }

  it('the tunnel port and an excluded interface are not diverted', () => {
    expect(outcome(rs, 'in tcp 10.2.0.9:5000 -> 10.1.0.5:15008')).toBe('pass');
    expect(outcome(rs, 'in tcp 10.2.0.9:5000 -> 10.1.0.5:8080 iif=not-istio-nic')).toBe('pass');
  });

  it('outbound stays REDIRECT, only to the captured range', () => {
    expect(outcome(rs, 'out tcp 10.1.0.5:40000 -> 9.9.1.1:80 uid=1000 gid=1000')).toBe('redirect 15001');
    expect(outcome(rs, 'out tcp 10.1.0.5:40000 -> 9.10.0.1:80 uid=1000 gid=1000')).toBe('pass');
  });

  it('replies of diverted connections get the mark back; the proxy marks its calls to the pod IP', () => {
    expect(simulate(rs, packet('out tcp 10.1.0.5:8080 -> 10.2.0.9:5000 uid=1000 gid=1000 ctmark=1337 ctstate=established')).outcome.mark).toBe(1337);
    expect(simulate(rs, packet('out tcp 10.1.0.5:40000 -> 10.1.0.5:8080 uid=1337 gid=1337 oif=lo')).outcome.mark).toBe(1338);
  });

  it('records the policy routing TPROXY needs', () => {
    expect(rs.routing.tproxy).toEqual({ mark: 1337, table: 133, families: ['ipv4', 'ipv6'] });
  });
});

// ---- DNS ----------------------------------------------------------------------------------
describe('DNS capture', () => {
  const all = lowerSpec('specs/istio-dns-capture.intercept');

  it("the app's UDP 53 goes to 15053 in conntrack zone 2", () => {
    const r = simulate(all, packet('out udp 10.1.0.5:40000 -> 10.96.0.10:53 uid=1000 gid=1000'));
    expect(r.outcome).toMatchObject({ verdict: 'accept', redirect: { port: 15053 }, ctZone: 2 });
  });

  it("the app's TCP 53 goes to 15053 too", () => {
    expect(outcome(all, 'out tcp 10.1.0.5:40000 -> 10.96.0.10:53 uid=1000 gid=1000')).toBe('redirect 15053');
  });

  it("the proxy's own UDP 53 gets zone 1 and no redirect", () => {
    const r = simulate(all, packet('out udp 10.1.0.5:40000 -> 10.96.0.10:53 uid=1337 gid=1337'));
    expect(r.outcome).toMatchObject({ verdict: 'accept', redirect: null, ctZone: 1 });
  });

  it("the proxy's DNS answers (from 15053) get zone 2", () => {
    expect(simulate(all, packet('out udp 127.0.0.1:15053 -> 127.0.0.1:40000 uid=1337 gid=1337 oif=lo')).outcome.ctZone).toBe(2);
  });

  it('DNS answers arriving get zone 1', () => {
    expect(simulate(all, packet('in udp 10.96.0.10:53 -> 10.1.0.5:40000')).outcome.ctZone).toBe(1);
  });

  it('the same on IPv6', () => {
    expect(simulate(all, packet('out udp [fd00::5]:40000 -> [fd00:10:96::a]:53 uid=1000 gid=1000')).outcome).toMatchObject({ redirect: { port: 15053 }, ctZone: 2 });
    expect(simulate(all, packet('out udp [fd00::5]:40000 -> [fd00:10:96::a]:53 uid=1337 gid=1337')).outcome).toMatchObject({ redirect: null, ctZone: 1 });
  });

  it('the YAML twin lowers to the same rules', () => {
    const yaml = lowerSpec('specs/istio-dns-capture.yaml');
    const strip = (rs: RuleSet) => JSON.stringify(rs.tables, (k, v: unknown) => (k === 'origin' ? undefined : v));
    expect(strip(yaml)).toBe(strip(all));
  });

  it('with a server list, only DNS to the listed server is captured', () => {
    const tp = lowerSpec('specs/istio-tproxy.intercept');
    expect(simulate(tp, packet('out udp 10.1.0.5:40000 -> 127.0.0.53:53 uid=1000 gid=1000 oif=lo')).outcome).toMatchObject({ redirect: { port: 15053 }, ctZone: 2 });
    expect(simulate(tp, packet('out udp 10.1.0.5:40000 -> 8.8.8.8:53 uid=1000 gid=1000')).outcome).toMatchObject({ redirect: null, ctZone: null });
  });

  it('without DNS capture, port 53 is left alone', () => {
    const sc = lowerSpec('specs/istio-sidecar.intercept');
    expect(simulate(sc, packet('out udp 10.1.0.5:40000 -> 10.96.0.10:53 uid=1000 gid=1000')).outcome).toMatchObject({ redirect: null, ctZone: null });
    expect(sc.tables.some((t) => t.name === 'raw')).toBe(false);
  });
});

// ---- families ------------------------------------------------------------------------------
describe('families', () => {
  const v4only = readFileSync('specs/istio-sidecar.intercept', 'utf8')
    .replace('passthrough 127.0.0.6, ::6', 'passthrough 127.0.0.6')
    .replace('localhost 127.0.0.1/32, ::1/128', 'localhost 127.0.0.1/32')
    .replace('families ipv4, ipv6', 'families ipv4');

  it('families ipv4 gives no IPv6 table', () => {
    expect(v4only).toContain('families ipv4\n');
    const l = loadText('v4.intercept', v4only, 'intercept');
    expect(l.diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
    const rs = lower(l.policy!);
    expect(rs.tables.length).toBeGreaterThan(0);
    expect(rs.tables.every((t) => t.family === 'ipv4')).toBe(true);
    // an IPv6 packet meets no chain at all
    const r = simulate(rs, packet('out tcp [fd00::5]:40000 -> [2001:db8::9]:80 uid=1000 gid=1000'));
    expect(r.path).toEqual([]);
    expect(r.outcome.redirect).toBeNull();
    expect(rs.routing.loopbackAddresses).toEqual([]);
  });

  it('both families give the same tables twice', () => {
    const rs = lowerSpec('specs/istio-sidecar.intercept');
    const names = (f: Family) => rs.tables.filter((t) => t.family === f).map((t) => `${t.name}:${t.chains.map((c) => `${c.name}/${c.rules.length}`).join(',')}`);
    expect(names('ipv6')).toEqual(names('ipv4'));
    expect(rs.routing.loopbackAddresses).toEqual(['::6']);
  });
});

// ---- origins -------------------------------------------------------------------------------
describe('rules point at the policy lines they come from', () => {
  const path = 'specs/istio-sidecar.intercept';
  const rs = lowerSpec(path);
  const v4nat = rs.tables.find((t) => t.family === 'ipv4' && t.name === 'nat')!;
  const rulesOf = (chain: string) => v4nat.chains.find((c) => c.name === chain)!.rules;

  it('the inbound exclude ports rule points at the exclude ports line', () => {
    const r = rulesOf('MESHCAP_INBOUND').find((x) => x.matches.some((m) => m.kind === 'dport' && m.ranges.length === 3))!;
    expect(r.action).toEqual({ kind: 'return' });
    expect(r.origin.span?.file).toBe(path);
    expect(r.origin.span?.start.line).toBe(lineOf(path, 'exclude ports 15090'));
    expect(r.origin.purpose).toMatch(/excluded inbound ports/);
  });

  it('the redirect targets point at the port settings', () => {
    expect(rulesOf('MESHCAP_REDIRECT')[0].origin.span?.start.line).toBe(lineOf(path, 'outbound-port 15001'));
    expect(rulesOf('MESHCAP_IN_REDIRECT')[0].origin.span?.start.line).toBe(lineOf(path, 'inbound-port 15006'));
  });

  it('the tunnel, passthrough, owner, localhost and capture rules point at their lines', () => {
    const inbound = rulesOf('MESHCAP_INBOUND');
    expect(inbound[0].origin.span?.start.line).toBe(lineOf(path, 'tunnel-port 15008'));
    const out = rulesOf('MESHCAP_OUTPUT');
    const line = (pred: (r: (typeof out)[number]) => boolean) => out.find(pred)!.origin.span?.start.line;
    expect(line((r) => r.matches.some((m) => m.kind === 'saddr'))).toBe(lineOf(path, 'passthrough 127.0.0.6'));
    expect(line((r) => r.matches.length === 1 && r.matches[0].kind === 'uid')).toBe(lineOf(path, 'uid 1337'));
    expect(line((r) => r.matches.length === 1 && r.matches[0].kind === 'gid')).toBe(lineOf(path, 'gid 1337'));
    expect(line((r) => r.matches.length === 1 && r.matches[0].kind === 'daddr')).toBe(lineOf(path, 'localhost 127.0.0.1/32'));
    expect(line((r) => r.action.kind === 'jump' && r.action.chain === 'MESHCAP_IN_REDIRECT')).toBe(lineOf(path, 'self-redirect on'));
    expect(line((r) => r.matches.length === 0 && r.action.kind === 'jump')).toBe(lineOf(path, 'capture cidrs *'));
  });

  it('the outbound exclude ports rules point at the exclude ports line (dns spec)', () => {
    const p = 'specs/istio-dns-capture.intercept';
    const dns = lowerSpec(p);
    const out = dns.tables.find((t) => t.family === 'ipv4' && t.name === 'nat')!.chains.find((c) => c.name === 'MESHCAP_OUTPUT')!;
    const excl = out.rules.filter((r) => r.origin.purpose.startsWith('excluded outbound ports'));
    expect(excl).toHaveLength(2);
    for (const r of excl) expect(r.origin.span?.start.line).toBe(lineOf(p, 'exclude ports 15020', 'outbound {'));
    // and the inbound ones at the inbound line, which comes earlier
    expect(lineOf(p, 'exclude ports 15020,')).toBeLessThan(lineOf(p, 'exclude ports 15020', 'outbound {'));
  });

  it('the exclude cidrs rules point at the exclude cidrs line (dual-stack)', () => {
    const p = 'specs/dual-stack.intercept';
    const ds = lowerSpec(p);
    const rules = ds.tables.filter((t) => t.name === 'nat').flatMap((t) => t.chains.find((c) => c.name === 'MESHCAP_OUTPUT')!.rules);
    const excl = rules.filter((r) => r.origin.purpose === 'traffic to an excluded CIDR is not captured');
    // one CIDR of each family, each in its family's table, the list named after its statement
    expect(excl.map((r) => r.matches)).toEqual([
      [{ kind: 'daddr', neg: false, cidrs: [{ family: 'ipv4', addr: '10.96.0.1', prefix: 32 }], set: 'excluded-outbound-cidrs' }],
      [{ kind: 'daddr', neg: false, cidrs: [{ family: 'ipv6', addr: '2001:db8:dead::', prefix: 48 }], set: 'excluded-outbound-cidrs' }],
    ]);
    for (const r of excl) expect(r.origin.span?.start.line).toBe(lineOf(p, 'exclude cidrs 2001:db8:dead::/48'));
  });

  it('every rule of every spec has a span in its file', () => {
    for (const f of specs) {
      const p = join('specs', f);
      for (const t of lowerSpec(p).tables) for (const c of t.chains) for (const r of c.rules) {
        expect(r.origin.span?.file, `${f} ${t.name}/${c.name}`).toBe(p);
        expect(r.origin.purpose.length).toBeGreaterThan(0);
      }
    }
  });
});

describe('lowering the peers\' constructs', () => {
  const ir = (text: string) => {
    const l = loadText('t.intercept', text, 'intercept');
    expect(l.diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
    return lower(l.policy!);
  };
  const rules = (rs: RuleSet, chain: string) => rs.tables.flatMap((t) => t.chains.filter((c) => c.name === chain).flatMap((c) => c.rules.map((r) => ({ family: t.family, r }))));

  it('inbound sources are returned before capture, per family, in REDIRECT and TPROXY mode alike', () => {
    for (const mode of ['redirect', 'tproxy']) {
      const rs = ir(`policy s {\n  inbound { mode ${mode}; capture ports *; exclude sources 10.0.0.0/8, fd00::/8 }\n}\n`);
      const inb = rules(rs, 'MESHCAP_INBOUND').filter(({ r }) => r.matches.some((m) => m.kind === 'saddr' && !m.neg && m.cidrs[0].prefix === 8));
      expect(inb.map(({ family, r }) => `${family} ${r.action.kind}`).sort()).toEqual(['ipv4 return', 'ipv6 return']);
    }
  });

  it("an owner range is one rule with the kernel's range match; ids listed apart stay apart", () => {
    const rs = ir('policy o {\n  proxy { uid 106-108, 109, 1337; gid none }\n  outbound { capture cidrs * }\n}\n');
    const own = rules(rs, 'MESHCAP_OUTPUT').filter(({ family, r }) => family === 'ipv4' && r.action.kind === 'return' && r.matches.length === 1 && r.matches[0].kind === 'uid');
    expect(own.map(({ r }) => r.matches[0])).toEqual([
      { kind: 'uid', neg: false, ids: [[106, 108]] },
      { kind: 'uid', neg: false, id: 109 },
      { kind: 'uid', neg: false, id: 1337 },
    ]);
  });

  it('per-uid port exclusions come first in the output chain, a rule per protocol and uid item', () => {
    const rs = ir('policy u {\n  proxy { uid 0; gid none }\n  outbound { capture cidrs *; exclude ports-for-uids tcp:1000-2000:106-107, 53:203 }\n}\n');
    const out = rules(rs, 'MESHCAP_OUTPUT').filter(({ family }) => family === 'ipv4');
    const head = out.slice(0, 3).map(({ r }) => r.matches.map((m) => (m.kind === 'protocol' ? m.protocol : m.kind === 'dport' ? m.ranges.map((x) => x.join('-')).join(',') : m.kind === 'uid' ? `uid=${'ids' in m ? m.ids.map((x) => x.join('-')).join(',') : m.id}` : m.kind)).join(' '));
    expect(head).toEqual(['tcp 1000-2000 uid=106-107', 'tcp 53-53 uid=203', 'udp 53-53 uid=203']);
    expect(out.slice(0, 3).every(({ r }) => r.action.kind === 'return')).toBe(true);
    // ahead of the proxy's self-redirect
    const selfRedirect = out.findIndex(({ r }) => r.action.kind === 'jump' && r.action.chain === 'MESHCAP_IN_REDIRECT');
    expect(selfRedirect).toBeGreaterThan(2);
  });

  it("'log on level 7' puts a non-terminating LOG first in nat PREROUTING and MESHCAP_OUTPUT, read back by both importers", () => {
    const rs = ir('policy l {\n  inbound { capture ports * }\n  outbound { capture cidrs * }\n  log on level 7\n  families ipv4\n}\n');
    const nat = rs.tables.find((t) => t.name === 'nat')!;
    const first = (c: string) => nat.chains.find((x) => x.name === c)!.rules[0].action;
    expect(first('PREROUTING')).toEqual({ kind: 'log', prefix: 'PREROUTING:', level: 7 });
    expect(first('MESHCAP_OUTPUT')).toEqual({ kind: 'log', prefix: 'OUTPUT:', level: 7 });
    const plain = ir('policy l {\n  inbound { capture ports * }\n  outbound { capture cidrs * }\n  families ipv4\n}\n');
    // LOG changes no outcome: the rule sets with and without it are equal over every packet
    expect(equivalent(rulesSide('log', rs), rulesSide('plain', plain)).result).toBe('equal');
    const text = emitIptables(rs, 'ipv4');
    expect(text).toContain('-j LOG --log-prefix "OUTPUT:" --log-level 7');
    const back = importIptables(new SourceFile('l.rules', text), 'ipv4').ruleset!;
    expect(back.tables.flatMap((t) => t.chains.flatMap((c) => c.rules.map((r) => r.action))).filter((a) => a.kind === 'log')).toEqual([first('PREROUTING'), first('MESHCAP_OUTPUT')]);
    const byName = importIptables(new SourceFile('n.rules', text.replace('--log-level 7', '--log-level debug')), 'ipv4').ruleset!;
    expect(byName.tables.flatMap((t) => t.chains.flatMap((c) => c.rules.map((r) => r.action))).filter((a) => a.kind === 'log').map((a) => a.kind === 'log' && a.level)).toEqual([7, 7]);
  });

  it('DNS capture with no proxy owner and no server of a family makes no empty zone chain', () => {
    const rs = ir('policy d {\n  proxy { uid none; gid none }\n  outbound { capture cidrs 10.0.0.0/8 }\n  dns { capture servers fd00::a }\n}\n');
    expect(checkRuleSet(rs)).toEqual([]);
    const v4raw = rs.tables.find((t) => t.family === 'ipv4' && t.name === 'raw');
    expect(v4raw).toBeUndefined();
  });
});
