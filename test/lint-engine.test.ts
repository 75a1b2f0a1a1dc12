// The lint rules answered by the exhaustive engine (src/lint/ask.ts): the packet each
// finding gives really behaves as the message says in the simulator, the engine finds
// what one probe packet would miss (a bypass on another port, another server, another
// owner), and a policy that treats every packet asked about as expected passes.
import { describe, expect, it } from 'vitest';
import { loadText } from '../src/language/load.js';
import { ask, captured, PASSED } from '../src/lint/ask.js';
import { defaultOptions, lintText, type Finding } from '../src/lint/lint.js';
import { RULES, type RuleId } from '../src/lint/rules.js';
import { lower } from '../src/lower/lower.js';
import { workloadsOf } from '../src/manifest/index.js';
import { parseCidr, type Cidr } from '../src/net/ip.js';
import { parseCompactPacket } from '../src/sim/packet.js';
import { simulate } from '../src/sim/simulate.js';
import { SourceFile } from '../src/source.js';
import { outcomeText } from '../src/verify/compare.js';

const cidrs = (...xs: string[]) => xs.map((c) => (parseCidr(c) as { cidr: Cidr }).cidr);
const opts = () => ({ ...defaultOptions(), clusterCidrs: cidrs('10.96.0.0/12', '10.244.0.0/16', 'fd00:10::/64'), dnsServers: ['10.96.0.10'] });
const ENGINE = (Object.keys(RULES) as RuleId[]).filter((id) => RULES[id].scope === 'engine' || id === 'ipv6-bypass');

/** The rules a finding is about: the policy text itself, or the one a manifest's workload becomes. */
function rulesOf(name: string, text: string) {
  const policyText = name.endsWith('.yaml') ? workloadsOf(new SourceFile(name, text)).workloads[0].policyText! : text;
  const loaded = loadText('p.intercept', policyText, 'intercept');
  expect(loaded.policy).toBeDefined();
  return lower(loaded.policy!);
}

/** The packet a message gives (`e.g. 'PACKET': OUTCOME`) and the outcome it claims. */
function claim(f: Finding) {
  const m = /e\.g\. '([^']+)': (.+?)(?: \(|$)/.exec(f.message);
  expect(m, f.message).not.toBeNull();
  const parsed = parseCompactPacket(m![1]);
  expect(parsed.problems).toEqual([]);
  return { packet: parsed.packet!, outcome: m![2] };
}

describe('engine rules', () => {
  it('are the traffic rules, each with a packet class and a member of it in its message', () => {
    expect(ENGINE).toEqual(expect.arrayContaining(['exclusion-bypass', 'cluster-cidr-excluded', 'inbound-port-bypass', 'dns-not-captured', 'proxy-traffic-recaptured', 'ipv6-bypass']));
  });

  for (const id of ENGINE.filter((x) => x !== 'redundant-exclusion')) {
    it(`${id}: the packet its bad example reports meets, in the simulator, the outcome the message claims`, () => {
      const text = RULES[id].bad;
      const name = text.split('\n')[0].replace(/^# /, '');
      const r = lintText(name, text, opts());
      const hits = r.findings.filter((f) => f.rule === id);
      expect(hits.length).toBeGreaterThan(0);
      const ir = rulesOf(name, text);
      for (const f of hits) {
        const c = claim(f);
        expect(f.message).toMatch(/(outbound|inbound) IPv[46] (TCP|UDP)/); // the engine's class
        const got = simulate(ir, c.packet).outcome;
        expect(outcomeText(got)).toBe(c.outcome);
        // Each claims traffic that misses the proxy, except the loop, which claims the proxy's own connection caught.
        expect(id === 'proxy-traffic-recaptured' ? captured(got) : id === 'dns-not-captured' ? got.redirect?.port === 15053 : captured(got)).toBe(id === 'proxy-traffic-recaptured');
      }
    });
  }

  it('finds a cluster-CIDR bypass on a port other than the one a probe would try', () => {
    // Port 80 is excluded anyway: a probe to port 80 saw no difference the CIDR made.
    const p = 'policy a {\n  outbound { capture cidrs *; exclude cidrs 10.96.0.0/12; exclude ports 80 }\n  families ipv4, ipv6\n}\n';
    const f = lintText('a.intercept', p, opts()).findings.find((x) => x.rule === 'cluster-cidr-excluded');
    expect(f?.message).toContain('covers cluster CIDR 10.96.0.0/12');
    const c = claim(f!);
    expect(c.packet.dport).not.toBe(80);
    expect(outcomeText(simulate(rulesOf('a.intercept', p), c.packet).outcome)).toBe('pass');
  });

  it('finds DNS queries that bypass capture though a query to the usual server through eth0 is captured', () => {
    const p = 'policy a {\n  interfaces { exclude eth1 }\n  outbound { capture cidrs * }\n  dns { capture all }\n  families ipv4, ipv6\n}\n';
    const f = lintText('a.intercept', p, opts()).findings.find((x) => x.rule === 'dns-not-captured');
    expect(f, 'dns-not-captured').toBeDefined();
    const c = claim(f!);
    expect(c.packet.oif).toBe('eth1');
    expect(c.packet.dport).toBe(53);
    expect(c.outcome).not.toContain('redirect');
    expect(f!.span.start.line).toBe(2); // the exclusion that decides
    const q = { ...c.packet, dst: '10.96.0.10', oif: 'eth0' };
    expect(simulate(rulesOf('a.intercept', p), q).outcome.redirect?.port).toBe(15053);
  });

  it('finds an inbound bypass from an excluded interface, not only from the port list', () => {
    const m = RULES['inbound-port-bypass'].good.replace('excludeInboundPorts: "9090"', 'excludeInterfaces: "eth1"');
    const f = lintText('m.yaml', m, opts()).findings.find((x) => x.rule === 'inbound-port-bypass');
    expect(f?.message).toContain('iif=eth1');
    expect(claim(f!).outcome).toBe('pass');
  });

  it('passes what treats every packet asked about as expected, and the engine says so over all packets', () => {
    const p = loadText('a.intercept', 'policy a {\n  outbound { capture cidrs * }\n  dns { capture all }\n  families ipv4, ipv6\n}\n', 'intercept').policy!;
    const ir = lower(p);
    // The proxy's own connections (uid 1337) are passed: no class of them is captured.
    expect(ask(ir, ['ipv4', 'ipv6'], { about: (x) => x.hook === 'output' && x.uid === 1337 && x.oif !== 'lo', values: { uid: { owners: [1337] }, oif: { ifaces: [{ name: 'lo', prefix: false }] } }, ok: (o) => !captured(o), expected: PASSED })).toBeNull();
    // A uid it does not exempt is captured: the engine names the class.
    const other = ask(ir, ['ipv4'], { about: (x) => x.hook === 'output' && x.ctstate === 'new' && x.uid === 2000 && x.oif !== 'lo', values: { uid: { owners: [2000] }, oif: { ifaces: [{ name: 'lo', prefix: false }] } }, ok: (o) => !captured(o), expected: PASSED });
    expect(other).not.toBeNull();
    expect(other).not.toBe('undecided');
    if (other && other !== 'undecided') {
      expect(other.packet.uid).toBe(2000);
      expect(captured(simulate(ir, other.packet).outcome)).toBe(true);
      expect(other.classes).toBeGreaterThan(1);
    }
  });
});
