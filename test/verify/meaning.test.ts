// The policy's meaning against its lowering: the engine proves meaning = IR for every spec
// and for random valid policies; and the meaning's `constants()` (where it tells the
// engine its behaviour may change) is complete: two packets that differ in one field
// by values the constants put in the same class get the same outcome.
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Policy } from '../../src/language/ast.js';
import type { Family } from '../../src/ir/types.js';
import { loadFile, loadText } from '../../src/language/load.js';
import { lower } from '../../src/lower/lower.js';
import { Meaning } from '../../src/meaning/meaning.js';
import { canonicalAddress, parseAddress, parseCidr } from '../../src/net/ip.js';
import { parseCompactPacket, type Outcome, type Packet } from '../../src/sim/packet.js';
import { simulate } from '../../src/sim/simulate.js';
import { rng } from '../harness/battery.js';
import { outcomeText } from '../../src/verify/compare.js';
import { equivalent, type Constants, type EquivResult } from '../../src/verify/engine.js';
import { meaningSide } from '../../src/meaning/meaning.js';
import { rulesSide } from '../../src/verify/side.js';
import { policyText, relative } from './policy-text.js';

const SPECS = readdirSync('specs')
  .filter((f) => /\.(intercept|ya?ml)$/.test(f))
  .sort();

function policyOf(text: string): Policy {
  const l = loadText('policy.intercept', text, 'intercept');
  expect(l.diagnostics.filter((d) => d.severity === 'error').map((d) => d.message)).toEqual([]);
  return l.policy!;
}

const meaningVsIr = (p: Policy): EquivResult => equivalent(meaningSide('policy meaning', new Meaning(p)), rulesSide('IR', lower(p)), { maxDifferences: 3 });

/** Why meaning and IR differ, for a failure message. */
function explain(r: EquivResult): string {
  if (r.result === 'undecided') return `undecided: ${r.reason}`;
  if (!r.counterexample) return r.result;
  const c = r.counterexample;
  return [
    ...r.differences.map((d) => `${d.description}: ${outcomeText(d.a)} (meaning) vs ${outcomeText(d.b)} (IR)`),
    `packet ${JSON.stringify(c.packet)}`,
    `meaning: ${c.a.path.map((s) => s.effect).join('; ')}`,
    `IR: ${c.b.path.map((s) => `${s.table}/${s.chain}#${s.index} ${s.effect}`).join('; ')}`,
  ].join('\n');
}

// ---- (a) the specs ---------------------------------------------------------------------------

describe('meaning = IR for every spec', () => {
  it('finds the specs', () => {
    expect(SPECS.length).toBeGreaterThanOrEqual(5);
    expect(SPECS).toContain('istio-sidecar.intercept');
  });
  for (const f of SPECS) {
    it(`${f}: the engine proves the policy's meaning equal to its lowered IR`, () => {
      const l = loadFile(join('specs', f));
      expect(l.diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
      const r = meaningVsIr(l.policy!);
      expect(r.result, explain(r)).toBe('equal');
      expect(r.classes).toBeGreaterThan(10);
    }, 30_000);
  }

  it('a lowering that drops a rule is caught (the check can fail)', () => {
    const p = loadFile('specs/istio-sidecar.intercept').policy!;
    const ir = lower(p);
    const nat = ir.tables.find((t) => t.family === 'ipv6' && t.name === 'nat')!;
    const out = nat.chains.find((c) => c.name === 'MESHCAP_OUTPUT')!;
    const without = (i: number) => ({ ...ir, tables: ir.tables.map((t) => (t !== nat ? t : { ...t, chains: t.chains.map((c) => (c !== out ? c : { ...c, rules: c.rules.filter((_, k) => k !== i) })) })) });
    const i = out.rules.findIndex((r) => r.matches.some((m) => m.kind === 'saddr' && !m.neg));
    expect(i).toBeGreaterThanOrEqual(0); // the return for the proxy's passthrough address ::6
    const r = equivalent(meaningSide('m', new Meaning(p)), rulesSide('IR', without(i)));
    expect(r.result).toBe('different');
    expect(r.counterexample!.packet.family).toBe('ipv6');
    expect(r.counterexample!.packet.src).toBe('::6');
    expect(r.counterexample!.packet.oif).toBe('lo');
    // The localhost return matters only for packets to ::1 through another interface, which
    // the kernel cannot send (docs/facts.md F3): without it the rules still do the same.
    const j = out.rules.findIndex((r) => r.matches.some((m) => m.kind === 'daddr' && !m.neg && m.cidrs.some((c) => c.addr === '::1')));
    expect(j).toBeGreaterThanOrEqual(0);
    expect(equivalent(meaningSide('m', new Meaning(p)), rulesSide('IR', without(j))).result).toBe('equal');
  });
});

// ---- random valid policies --------------------------------------------------------------------

/** Runs of each property (MESHCAP_FUZZ_RUNS=2000 for a longer hunt). */
const RUNS = Number(process.env.MESHCAP_FUZZ_RUNS ?? 70);

/** A statement, or nothing (the default). */
const opt = <T>(a: fc.Arbitrary<T>) => fc.option(a, { nil: undefined, freq: 2 });

const arbPolicyParts = fc.record({
  uid: opt(fc.constantFrom('1337', '1337, 1000', 'envoy', '2102', '0', '1337, envoy', 'none', '106-108, 5678')),
  gid: opt(fc.constantFrom('1337', 'none', '1337, 888', 'proxy')),
  outboundPort: opt(fc.constantFrom('15001', '4140', '8080')),
  inboundPort: opt(fc.constantFrom('15006', '4143', '8080')),
  tunnelPort: opt(fc.constantFrom('15008', 'none', '4567')),
  mode: opt(fc.constantFrom('redirect', 'tproxy', 'tproxy mark 7 table 100 local-mark 8', 'tproxy mark 0x539 table 133')),
  inCapture: opt(fc.constantFrom('*', 'none', '80, 8080', '8000-8100', '9080, 3306', '53, 15020', '1-1000')),
  inExclude: opt(fc.constantFrom('15090, 15021, 15020', '8080', '3306, 8000-8100', '15008')),
  inExcludeSources: opt(fc.constantFrom('0.0.0.0/0', '10.0.0.0/8, fd00::/8', '127.0.0.6/32', '::/0', '192.168.1.0/24, 10.1.0.5/32')),
  outCidrs: opt(fc.constantFrom('*', 'none', '10.0.0.0/8', '10.0.0.0/8, fd00::/8', '127.0.0.0/8, 10.1.0.0/16', '0.0.0.0/0', '::/0, 192.168.0.0/16', '::1/128', '10.1.0.5/32, 127.0.0.1/32')),
  outExcludeCidrs: opt(fc.constantFrom('169.254.169.254/32', '10.96.0.0/12, fd00:ec2::254/128', '10.1.0.0/16', '127.0.0.1/32', 'fd00::/8')),
  outPorts: opt(fc.constantFrom('3306', '9000, 9100-9200', '53', '15006', '1-65535')),
  outExcludePorts: opt(fc.constantFrom('53', '3306, 15020', '22', '15001', '1-1024')),
  outExcludeForUids: opt(fc.constantFrom('tcp:22:1000', 'udp:53:1000', '1337', 'tcp:*:1337', '53:1000-1001, tcp:8080:0', 'tcp:15006:1337, udp:53:1337')),
  groups: opt(fc.constantFrom('*', '1000', '1000, 2000', 'app, 1337')),
  excludeGroups: opt(fc.constantFrom('888', '888, 999', '1000', '998-1001')),
  passthrough: opt(fc.constantFrom('none', '127.0.0.6, ::6', '127.0.0.6', '127.0.0.7, ::1', '::6', '127.0.0.1')),
  localhost: opt(fc.constantFrom('127.0.0.1/32, ::1/128', '127.0.0.0/8', '127.0.0.1/32', '::1/128', '127.0.0.0/8, ::/127', '127.0.0.6/32, fd00::/8', 'none')),
  selfRedirect: opt(fc.constantFrom('on', 'off')),
  dns: opt(fc.constantFrom('all', 'off', 'servers 10.96.0.10, fd00::a', 'servers 127.0.0.53', 'servers fd00::a', 'servers 127.0.0.1, ::1')),
  dnsPort: opt(fc.constantFrom('15053', '5353')),
  dnsTcp: opt(fc.constantFrom('capture', 'pass')),
  dnsZones: opt(fc.constantFrom('on', 'off')),
  order: opt(fc.constantFrom('proxy-first', 'exclusions-first')),
  log: opt(fc.constantFrom('on', 'off', 'on level 7')),
  vnet: opt(fc.constantFrom('docker0:172.17.0.0/16', 'br+:172.18.0.0/16, eth2:fd00::/64', 'eth1:10.0.0.0/8', 'veth+:0.0.0.0/0, veth+:::/0')),
  ifExclude: opt(fc.constantFrom('eth1', 'veth+', 'not-istio-nic, eth9', 'eth+', 'lo', 'eth+, tap0')),
  ifReroute: opt(fc.constantFrom('eth2', 'tap+', 'eth2, veth7', 'lo', 'veth+')),
  dropInvalid: opt(fc.constantFrom('on', 'off')),
  families: opt(fc.constantFrom('ipv4, ipv6', 'ipv4', 'ipv6', 'ipv4, ipv6')),
});
type Parts = typeof arbPolicyParts extends fc.Arbitrary<infer T> ? T : never;

/** The policy, or undefined when the combination is invalid (a clash, a family not enabled, ...). */
function validPolicy(x: Parts): Policy | undefined {
  const l = loadText('random.intercept', policyText(x), 'intercept');
  if (l.diagnostics.some((d) => d.severity === 'error') || !l.policy) return undefined;
  return l.policy;
}

describe('meaning = IR for random valid policies', () => {
  it('the generator makes valid policies, most of the time, and the text is what the policy says', () => {
    const samples = fc.sample(arbPolicyParts, { numRuns: 200, seed: 1 });
    const valid = samples.map(validPolicy).filter((p): p is Policy => !!p);
    expect(valid.length).toBeGreaterThan(100);
    // Every kind of statement is reached in valid policies.
    expect(valid.some((p) => p.inbound.mode.value.kind === 'tproxy' && p.inbound.capturePorts.value.kind !== 'none')).toBe(true);
    expect(valid.some((p) => p.interfaces.reroute.value.length > 0)).toBe(true);
    expect(valid.some((p) => p.dns.capture.value.kind === 'servers')).toBe(true);
    expect(valid.some((p) => p.outbound.excludeGroups.value.length > 0)).toBe(true);
    expect(valid.some((p) => p.outbound.groups.value.kind === 'list')).toBe(true);
    expect(valid.some((p) => p.inbound.excludeSources.value.length > 0)).toBe(true);
    expect(valid.some((p) => p.proxy.uids.value.length === 0)).toBe(true);
    expect(valid.some((p) => p.outbound.excludePortsForUids.value.length > 0)).toBe(true);
    expect(valid.some((p) => p.interfaces.vnet.value.length > 0)).toBe(true);
    expect(valid.some((p) => p.order.value === 'exclusions-first' && p.dns.capture.value.kind !== 'off' && p.dns.tcp.value === 'pass')).toBe(true);
    expect(valid.some((p) => p.loopback.localhost.value.length === 0)).toBe(true);
    expect(valid.some((p) => p.proxy.inboundPort.value === p.proxy.outboundPort.value)).toBe(true);
    const over = { inCapture: '*', inExclude: '8080', inExcludeSources: '10.0.0.0/8, fd00::/8', mode: 'redirect', families: 'ipv4, ipv6' } as const;
    const base = samples.find((x) => validPolicy({ ...x, ...over }))!;
    const p = validPolicy({ ...base, ...over })!;
    expect(p.inbound.excludeSources.value.map((c) => c.prefix)).toEqual([8, 8]);
    expect(p.inbound.excludePorts.value.map((r) => r.lo)).toEqual([8080]);
  });

  it('the engine proves meaning = IR (result equal) on random valid policies', () => {
    let checked = 0;
    fc.assert(
      fc.property(arbPolicyParts, (x) => {
        const p = validPolicy(x);
        fc.pre(p !== undefined);
        checked++;
        const r = meaningVsIr(p);
        expect(r.result, `${policyText(x)}\n${explain(r)}`).toBe('equal');
      }),
      { numRuns: RUNS, endOnFailure: true },
    );
    expect(checked).toBeGreaterThanOrEqual(RUNS);
  }, Math.max(120_000, RUNS * 500));
});

// ---- the documented behaviours, packet by packet --------------------------------------------------

/** The outcome of one packet under the meaning and under the lowered IR. */
function both(text: string, packet: string): { meaning: string; ir: string } {
  const p = policyOf(text);
  const pk = parseCompactPacket(packet);
  expect(pk.problems).toEqual([]);
  return { meaning: outcomeText(new Meaning(p).evaluate(pk.packet!).outcome), ir: outcomeText(simulate(lower(p), pk.packet!).outcome) };
}

describe('meaning and IR agree on the packets of docs/istio-differences.md', () => {
  const cases: [string, string, string, string][] = [
    [
      'D1: every listed uid is the proxy (uid 4 to the pod IP over lo goes to the inbound listener)',
      'policy t {\n  proxy {\n    uid 3, 4\n    gid none\n  }\n  inbound {\n    capture ports *\n  }\n  outbound {\n    capture cidrs *\n  }\n}\n',
      'out tcp 10.1.0.5:40000 -> 10.1.0.5:8080 uid=4 gid=0 oif=lo',
      'redirect 15006',
    ],
    [
      "D2: the proxy group's TCP DNS to the pod IP is not self-redirected",
      'policy t {\n  inbound {\n    capture ports *\n  }\n  outbound {\n    capture cidrs *\n  }\n  dns {\n    capture all\n  }\n}\n',
      'out tcp 10.1.0.5:40000 -> 10.1.0.5:53 uid=999 gid=1337 oif=lo',
      'pass',
    ],
    [
      'D3: rerouted traffic to an excluded CIDR is not captured',
      'policy t {\n  outbound {\n    capture cidrs 2001:db8::/32\n    exclude cidrs 2001:db8:1::/48\n  }\n  interfaces {\n    reroute eth1\n  }\n}\n',
      'in tcp [fd00::9]:40000 -> [2001:db8:1::5]:80 iif=eth1',
      'pass',
    ],
    [
      'D3 (control): rerouted traffic to a captured CIDR goes to the outbound listener',
      'policy t {\n  outbound {\n    capture cidrs 2001:db8::/32\n    exclude cidrs 2001:db8:1::/48\n  }\n  interfaces {\n    reroute eth1\n  }\n}\n',
      'in tcp [fd00::9]:40000 -> [2001:db8:2::5]:80 iif=eth1',
      'redirect 15001',
    ],
    [
      'D4: the tunnel port is not captured in TPROXY mode',
      'policy t {\n  inbound {\n    mode tproxy\n    capture ports *\n  }\n}\n',
      'in tcp 10.2.0.9:40000 -> 10.1.0.5:15008 iif=eth0',
      'pass',
    ],
    [
      'D4 (control): another port is',
      'policy t {\n  inbound {\n    mode tproxy\n    capture ports *\n  }\n}\n',
      'in tcp 10.2.0.9:40000 -> 10.1.0.5:8080 iif=eth0',
      'tproxy 15006 mark 0x539',
    ],
    [
      "D5: the app's TCP 53 to its own IP over lo is not sent to the outbound listener",
      'policy t {\n  outbound {\n    capture cidrs *\n  }\n  dns {\n    capture servers 10.96.0.10\n  }\n}\n',
      'out tcp 10.1.0.5:40000 -> 10.1.0.5:53 uid=1000 gid=1000 oif=lo',
      'pass',
    ],
    [
      'D5: DNS to a captured server over lo is still captured',
      'policy t {\n  outbound {\n    capture cidrs *\n  }\n  dns {\n    capture all\n  }\n}\n',
      'out tcp 127.0.0.1:40000 -> 127.0.0.53:53 uid=1000 gid=1000 oif=lo',
      'redirect 15053',
    ],
    [
      'D6: TCP arriving on a rerouted interface is outbound, not tproxied',
      'policy t {\n  inbound {\n    mode tproxy\n    capture ports *\n  }\n  outbound {\n    capture cidrs *\n  }\n  interfaces {\n    reroute eth1\n  }\n}\n',
      'in tcp 10.2.0.9:40000 -> 10.1.0.5:8080 iif=eth1',
      'redirect 15001',
    ],
  ];
  for (const [name, text, packet, expected] of cases) {
    it(name, () => {
      const r = both(text, packet);
      expect(r.meaning).toBe(expected);
      expect(r.ir).toBe(expected);
    });
  }
});

// ---- (c) constants() is complete -----------------------------------------------------------------

type Field = 'sport' | 'dport' | 'saddr' | 'daddr' | 'uid' | 'gid' | 'iif' | 'oif' | 'mark' | 'ctmark';
/** The engine fixes the fields in this order; a field's constants may depend on those before it only. */
const ORDER: Field[] = ['iif', 'oif', 'uid', 'gid', 'mark', 'ctmark', 'sport', 'dport', 'saddr', 'daddr'];
const constField = (f: Field) => (f === 'mark' || f === 'ctmark' ? 'marks' : f);

/** The packet as the engine has it when it asks for `field`'s constants: later fields at their start values. */
function asEngineSees(p: Packet, field: Field): Packet {
  const q: Packet = { ...p };
  const zero = p.family === 'ipv4' ? '0.0.0.0' : '::';
  const later = ORDER.slice(ORDER.indexOf(field === 'ctmark' ? 'mark' : field) + (field === 'mark' || field === 'ctmark' ? 2 : 1));
  for (const f of later) {
    if (f === 'iif' || f === 'oif') q[f] = '';
    else if (f === 'uid' || f === 'gid') delete q[f];
    else if (f === 'mark' || f === 'ctmark' || f === 'sport' || f === 'dport') q[f] = 0;
    else q[f === 'saddr' ? 'src' : 'dst'] = zero;
  }
  return q;
}

const valueOf = (p: Packet, f: Field): unknown => (f === 'saddr' ? p.src : f === 'daddr' ? p.dst : p[f]);
function withValue(p: Packet, f: Field, v: unknown): Packet {
  const q = { ...p } as Record<string, unknown>;
  const key = f === 'saddr' ? 'src' : f === 'daddr' ? 'dst' : f;
  if (v === undefined) delete q[key];
  else q[key] = v;
  return q as unknown as Packet;
}
const addr = (s: string) => {
  const a = parseAddress(s);
  if (!a.ok) throw new Error(s);
  return a.value;
};

/** The class of a value under the constants, as the engine forms classes. */
function classOf(f: Field, v: unknown, k: Constants, family: Family): string {
  switch (f) {
    case 'sport':
    case 'dport':
      return k.ports.map(([lo, hi]) => (lo <= (v as number) && (v as number) <= hi ? 1 : 0)).join('');
    case 'saddr':
    case 'daddr': {
      const x = addr(v as string);
      return k.cidrs
        .filter((c) => c.family === family)
        .map((c) => {
          const r = parseCidr(`${c.addr}/${c.prefix}`);
          if (!r.ok) throw new Error(`bad constant ${c.addr}/${c.prefix}`);
          return r.cidr.first <= x && x <= r.cidr.last ? 1 : 0;
        })
        .join('');
    }
    case 'uid':
    case 'gid':
      return v === undefined ? 'none' : k.owners.includes(v as number | string) ? `=${v as number | string}` : 'other';
    case 'iif':
    case 'oif':
      return k.ifaces.map((i) => ((i.prefix ? String(v).startsWith(i.name) : v === i.name) ? 1 : 0)).join('');
    case 'mark':
    case 'ctmark':
      return k.marks.includes(v as number) ? `=${String(v)}` : 'other';
  }
}

/** Values of every field to draw from: what the policy names, and their neighbours. */
function pools(p: Policy) {
  const ports = new Set<number>([0, 1, 22, 52, 53, 54, 80, 443, 8080, 15001, 15006, 15008, 15053, 40000, 65535]);
  const addPort = (lo: number, hi = lo) => [lo - 1, lo, hi, hi + 1, (lo + hi) >> 1].forEach((x) => x >= 0 && x <= 65535 && ports.add(x));
  const sel = p.inbound.capturePorts.value;
  if (sel.kind === 'list') sel.items.forEach((r) => addPort(r.lo, r.hi));
  [...p.inbound.excludePorts.value, ...p.outbound.capturePorts.value, ...p.outbound.excludePorts.value, ...p.outbound.excludePortsForUids.value.map((x) => x.ports)].forEach((r) => addPort(r.lo, r.hi));
  [p.proxy.inboundPort.value, p.proxy.outboundPort.value, p.proxy.tunnelPort.value, p.dns.port.value].forEach((x) => x !== null && addPort(x));
  const addrs: Record<Family, Set<string>> = {
    ipv4: new Set(['0.0.0.0', '255.255.255.255', '10.1.0.5', '10.2.0.9', '127.0.0.1', '127.0.0.6', '127.0.0.53', '8.8.8.8', '169.254.169.254']),
    ipv6: new Set(['::', 'ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff', '::1', '::6', 'fd00:1::5', '2001:db8::9', 'fd00::a', 'fe80::1']),
  };
  const addRange = (family: Family, first: bigint, last: bigint) => {
    const max = (1n << (family === 'ipv4' ? 32n : 128n)) - 1n;
    for (const v of [first - 1n, first, (first + last) / 2n, last, last + 1n]) if (v >= 0n && v <= max) addrs[family].add(canonicalAddress(family, v));
  };
  const oc = p.outbound.captureCidrs.value;
  [...(oc.kind === 'list' ? oc.items : []), ...p.outbound.excludeCidrs.value, ...p.loopback.localhost.value, ...p.interfaces.vnet.value.map((v) => v.cidr)].forEach((c) => addRange(c.family, c.first, c.last));
  const dns = p.dns.capture.value;
  [...p.loopback.passthrough.value, ...(dns.kind === 'servers' ? dns.servers : [])].forEach((a) => addRange(a.family, a.value, a.value));
  const owners = new Set<number | string>([0, 1000, 1337, 4000000000, 'nobody']);
  const gs = p.outbound.groups.value;
  [...p.proxy.uids.value, ...p.proxy.gids.value, ...(gs.kind === 'list' ? gs.items : []), ...p.outbound.excludeGroups.value, ...p.outbound.excludePortsForUids.value.flatMap((x) => x.uids)].forEach((o) => {
    owners.add(o.kind === 'id' ? o.id : o.name);
    if (o.kind === 'id') owners.add(o.id + 1);
  });
  const ifaces = new Set<string>(['', 'lo', 'eth0', 'lo0', 'zz0']);
  [...p.interfaces.exclude.value, ...p.interfaces.reroute.value, ...p.interfaces.vnet.value.map((v) => v.iface)].forEach((i) => {
    ifaces.add(i.name);
    if (i.prefix) ['0', '9', 'x'].forEach((s) => ifaces.add(i.name + s));
    else ifaces.add(i.name + '0');
  });
  const marks = new Set<number>([0, 1, 1337, 1338, 0xffffffff]);
  const mode = p.inbound.mode.value;
  if (mode.kind === 'tproxy') [mode.mark, mode.localMark, mode.mark + 1, mode.localMark + 1].forEach((x) => marks.add(x >>> 0));
  return { ports: [...ports], addrs: { ipv4: [...addrs.ipv4], ipv6: [...addrs.ipv6] }, owners: [...owners], ifaces: [...ifaces], marks: [...marks] };
}

type Pools = ReturnType<typeof pools>;

function randomPacket(pl: Pools, rand: () => number): Packet {
  const pick = <T>(xs: T[]): T => xs[Math.floor(rand() * xs.length)];
  const family: Family = rand() < 0.5 ? 'ipv4' : 'ipv6';
  const hook = rand() < 0.6 ? 'output' : 'prerouting';
  const protocol = pick(['tcp', 'tcp', 'udp', 'udp', 'sctp', family === 'ipv4' ? 'icmp' : 'icmpv6'] as const);
  const ported = protocol !== 'icmp' && protocol !== 'icmpv6';
  const p: Packet = {
    hook,
    family,
    protocol,
    src: pick(pl.addrs[family]),
    dst: pick(pl.addrs[family]),
    sport: ported ? pick(pl.ports) : 0,
    dport: ported ? pick(pl.ports) : 0,
    iif: hook === 'prerouting' ? pick(pl.ifaces) : '',
    oif: hook === 'output' ? pick(pl.ifaces) : '',
    mark: rand() < 0.5 ? 0 : pick(pl.marks),
    ctmark: rand() < 0.5 ? 0 : pick(pl.marks),
    ctstate: pick(['new', 'new', 'established', 'related', 'invalid', 'untracked'] as const),
  };
  if (hook === 'output') {
    p.uid = pick(pl.owners);
    p.gid = pick(pl.owners);
  }
  return p;
}

interface Violation {
  field: Field;
  a: Packet;
  b: Packet;
  outA: string;
  outB: string;
}

/**
 * Draws `n` packets and, for each, a field and another value of it; where the constants put
 * both values in one class, the outcomes must agree. Returns the first violation, if any,
 * and how many same-class pairs were compared.
 */
function checkConstants(m: { evaluate(p: Packet): { outcome: Outcome }; constants: Meaning['constants'] }, p: Policy, seed: number, n: number): { violation?: Violation; compared: number } {
  const pl = pools(p);
  const rand = rng(seed);
  const pick = <T>(xs: T[]): T => xs[Math.floor(rand() * xs.length)];
  let compared = 0;
  for (let i = 0; i < n; i++) {
    const pkt = randomPacket(pl, rand);
    const ported = pkt.protocol === 'tcp' || pkt.protocol === 'udp' || pkt.protocol === 'sctp';
    const fields = ORDER.filter(
      (f) => (f !== 'sport' && f !== 'dport') || ported,
    ).filter((f) => (pkt.hook === 'output' ? f !== 'iif' : f !== 'oif' && f !== 'uid' && f !== 'gid'));
    const field = pick(fields);
    const pool: unknown[] =
      field === 'sport' || field === 'dport' ? [...pl.ports, Math.floor(rand() * 65536)] : field === 'saddr' || field === 'daddr' ? pl.addrs[pkt.family] : field === 'uid' || field === 'gid' ? pl.owners : field === 'iif' || field === 'oif' ? pl.ifaces : [...pl.marks, Math.floor(rand() * 2 ** 32)];
    const other = pick(pool);
    const k = m.constants(constField(field), asEngineSees(pkt, field));
    if (classOf(field, valueOf(pkt, field), k, pkt.family) !== classOf(field, other, k, pkt.family)) continue;
    const alt = withValue(pkt, field, other);
    compared++;
    const outA = relative(m.evaluate(pkt).outcome, pkt);
    const outB = relative(m.evaluate(alt).outcome, alt);
    if (outA !== outB) return { violation: { field, a: pkt, b: alt, outA, outB }, compared };
  }
  return { compared };
}

describe("the meaning's constants() are complete", () => {
  for (const f of SPECS) {
    it(`${f}: values in one class of constants() get one outcome`, () => {
      const p = loadFile(join('specs', f)).policy!;
      const r = checkConstants(new Meaning(p), p, 11, 4000);
      expect(r.violation, JSON.stringify(r.violation)).toBeUndefined();
      expect(r.compared).toBeGreaterThan(1000);
    });
  }

  it('on random valid policies', () => {
    fc.assert(
      fc.property(arbPolicyParts, fc.integer({ min: 1, max: 2 ** 30 }), (x, seed) => {
        const p = validPolicy(x);
        fc.pre(p !== undefined);
        const r = checkConstants(new Meaning(p), p, seed, 600);
        expect(r.violation, `${policyText(x)}\n${JSON.stringify(r.violation, null, 1)}`).toBeUndefined();
      }),
      { numRuns: RUNS, endOnFailure: true },
    );
  }, Math.max(120_000, RUNS * 500));

  it('an incomplete constants() is caught (the check can fail)', () => {
    const p = policyOf('policy t {\n  inbound {\n    capture ports *\n    exclude ports 15090\n  }\n  outbound {\n    capture cidrs *\n    exclude cidrs 10.0.0.0/8\n  }\n}\n');
    const good = new Meaning(p);
    for (const drop of ['dport', 'daddr', 'uid'] as const) {
      const bad = { evaluate: (q: Packet) => good.evaluate(q), constants: (f: Parameters<Meaning['constants']>[0], q: Packet) => (f === drop ? { ports: [], cidrs: [], owners: [], ifaces: [], marks: [] } : good.constants(f, q)) };
      const r = checkConstants(bad, p, 3, 4000);
      expect(r.violation?.field, drop).toBe(drop);
    }
    expect(checkConstants(good, p, 3, 4000).violation).toBeUndefined();
  });
});

