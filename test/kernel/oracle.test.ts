import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, it } from 'vitest';
import type { RuleSet } from '../../src/ir/types.js';
import { policyFromConfig } from '../../src/import/istio.js';
import { caseConfig, istioCases } from '../harness/istio-corpus.js';
import { importKuma, kumaManifest } from '../harness/kuma-conformance.js';
import { importLinkerd, labCases } from '../harness/linkerd-conformance.js';
import { requireKernel } from './netns.js';
import { requireAgentRuntime, sweepStaleLabs } from './oracle/lab.js';
import { randomPolicy } from './oracle/random-policy.js';
import { cleanWorkDir, compileForOracle, FLAVOURS, runCase, type CaseResult, type Compiled } from './oracle/oracle.js';
import { planProbes } from './oracle/plan.js';
import { PEER } from './oracle/lab.js';

// The kernel oracle (issue 7): every spec, every Istio sidecar configuration of the corpus
// and a few random policies, compiled optimized (and the specs and random policies also
// with -O0), loaded by every backend and firewall flavour into
// fresh namespaces, and real connections sent through them; each landing must be the one
// the simulator predicts over the same rules. MESHCAP_ORACLE_ONLY=substring narrows it to
// matching configurations. docs/conformance.md describes it and holds its figures.
requireKernel();
requireAgentRuntime();

const only = process.env.MESHCAP_ORACLE_ONLY;
const RANDOM_POLICIES = Number(process.env.MESHCAP_ORACLE_RANDOM ?? 8);
const dir = mkdtempSync(join(tmpdir(), 'meshcap-oracle-policies-'));

function configurations(): Compiled[] {
  const out: Compiled[] = [];
  for (const f of readdirSync('specs').sort()) out.push(compileForOracle(`specs/${f}`, join('specs', f)));
  for (const c of istioCases()) {
    const { config, diagnostics } = caseConfig(c);
    if (diagnostics.some((d) => d.severity === 'error')) throw new Error(`corpus ${c.name}: ${diagnostics.map((d) => d.message).join('; ')}`);
    const { text } = policyFromConfig(config, c.name.slice(0, 32));
    const file = join(dir, `${c.name}.intercept`);
    writeFileSync(file, text);
    out.push(compileForOracle(`istio corpus ${c.name}`, file));
  }
  // Linkerd: the lab's proxy-init arguments (one port for both directions, port lists,
  // every source ignored), and sources ignored that do not hold the peer, with no proxy uid.
  const linkerd: [string, string[]][] = labCases().flatMap((c) => (c.args ? [[c.pod, c.args] as [string, string[]]] : []));
  linkerd.push(['subnets-no-uid', ['-p', '4143', '-o', '4140', '--subnets-to-ignore', '192.168.0.0/16,10.77.0.4/30', '--inbound-ports-to-ignore', '22', '--ipv6=false']]);
  for (const [pod, args] of linkerd) {
    const file = join(dir, `linkerd-${pod}.intercept`);
    writeFileSync(file, importLinkerd(args, pod.slice(0, 32)).text);
    out.push(compileForOracle(`linkerd corpus ${pod}`, file));
  }
  // Kuma: every distinct argument list of the corpus that imports (per-uid port exclusions,
  // excluded inbound sources and ports, Kuma's loopback rules), once each.
  const kuma = new Map<string, string>();
  for (const m of kumaManifest()) {
    for (const args of m.config.kumactl_args_variants ?? [m.config.kumactl_args ?? []]) {
      const r = importKuma(args, { root: 0, 'kuma-dp': m.config.kuma_dp_user_uid ?? 5678 }, 'kuma');
      if (r.rs && ![...kuma.values()].includes(r.text)) kuma.set(m.name.replace(/^(container|kumactl-dryrun)\.|\.(golden|txt|golden\.txt|ip6?tables-(nft|legacy)\.golden)$/g, ''), r.text);
    }
  }
  // LOG rules (non-terminating) with Kuma's prefixes and level, beside every other input.
  const logged = importKuma(['--iptables-logs', '--redirect-all-dns-traffic', '--vnet', 'docker0:172.17.0.0/16', '--exclude-outbound-ports-for-uids', 'udp:53:1000'], { 'kuma-dp': 5678 }, 'kuma');
  if (!logged.rs) throw new Error(`kuma logs: ${logged.errors.join('; ')}`);
  kuma.set('logs-dns-vnet', logged.text);
  for (const [name, text] of kuma) {
    const file = join(dir, `kuma-${name}.intercept`);
    writeFileSync(file, text);
    out.push(compileForOracle(`kuma corpus ${name}`, file));
  }
  // Random policies: combinations nobody wrote. Fixed seeds, so a failure replays;
  // MESHCAP_ORACLE_RANDOM=N runs N of them (seeds 1..N).
  for (let seed = 1; seed <= RANDOM_POLICIES; seed++) {
    const file = join(dir, `random-${seed}.intercept`);
    writeFileSync(file, randomPolicy(seed));
    out.push(compileForOracle(`random policy seed ${seed}`, file));
  }
  // An owner range, a set of owner ids and a verdict map by interface (the optimizer's
  // verdict-maps and fold-keys), optimized and with -O0 (one range rule per item).
  const keyed = 'test/fixtures/optimize/keyed.intercept';
  out.push(compileForOracle(keyed, keyed), compileForOracle(keyed, keyed, 'O0'));
  // -O0 too, on a fixed subset (the specs and the random policies: every match kind and
  // action the lowering writes), so the unoptimized layouts (Istio's for iptables and the
  // script, nft's per-family dispatch) meet the kernel without doubling the run.
  for (const f of readdirSync('specs').sort()) out.push(compileForOracle(`specs/${f}`, join('specs', f), 'O0'));
  for (let seed = 1; seed <= RANDOM_POLICIES; seed++) out.push(compileForOracle(`random policy seed ${seed}`, join(dir, `random-${seed}.intercept`), 'O0'));
  return out.filter((c) => !only || c.label.includes(only));
}

const CONFIGS = configurations();
const results: CaseResult[] = [];

let started = 0;

beforeAll(async () => {
  started = performance.now();
  const stale = await sweepStaleLabs();
  if (stale.length) process.stdout.write(`kernel oracle: removed ${stale.length} namespaces a killed earlier run left behind\n`);
});

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
  cleanWorkDir(results.some((r) => r.disagreements.length > 0));
  const lines: string[] = [];
  const sum = (rs: CaseResult[], name: string) => {
    const probes = rs.reduce((n, r) => n + r.probes, 0);
    const agree = rs.reduce((n, r) => n + r.agree, 0);
    lines.push(`kernel oracle ${name}: ${probes} probes, ${agree} agree, ${probes - agree} disagree`);
  };
  for (const b of ['iptables', 'nftables', 'shell']) sum(results.filter((r) => FLAVOURS.find((f) => f.name === r.flavour)?.backend === b), b);
  for (const f of FLAVOURS) sum(results.filter((r) => r.flavour === f.name), `  ${f.name}`);
  const configs = new Set(results.map((r) => r.label)).size;
  lines.push(`kernel oracle: ${configs} configurations x ${FLAVOURS.length} flavours in ${((performance.now() - started) / 1000).toFixed(0)} s (${(results.reduce((n, r) => n + r.ms, 0) / 1000).toFixed(0)} s of case time, cases run 5 at a time)`);
  process.stdout.write(`\n${lines.join('\n')}\n\n`);
  if (process.env.MESHCAP_ORACLE_WRITE_DOCS && !only) writeDocs(lines);
  if (!only) {
    // The coverage floor: every spec and at least 10 corpus configurations through
    // every flavour, at least 2,000 probes.
    const total = results.reduce((n, r) => n + r.probes, 0);
    const corpus = new Set(results.filter((r) => r.label.startsWith('istio corpus')).map((r) => r.label)).size;
    const specs = (o0: boolean) => new Set(results.filter((r) => r.label.startsWith('specs/') && r.label.endsWith(' -O0') === o0).map((r) => r.label)).size;
    const n = readdirSync('specs').length;
    if (results.length !== CONFIGS.length * FLAVOURS.length || specs(false) !== n || specs(true) !== n || total < 2000 || corpus < 10)
      throw new Error(`kernel oracle coverage too small: ${results.length} of ${CONFIGS.length * FLAVOURS.length} cases ran, ${specs(false)} specs optimized and ${specs(true)} with -O0, ${total} probes, ${corpus} corpus configurations`);
  }
});

/** MESHCAP_ORACLE_WRITE_DOCS=1: put this run's figures into docs/conformance.md. */
function writeDocs(summary: string[]): void {
  const labels = [...new Set(results.map((r) => r.label))].sort((a, b) => Number(a.startsWith('istio')) - Number(b.startsWith('istio')) || a.localeCompare(b));
  const cell = (label: string, f: string) => {
    const r = results.find((x) => x.label === label && x.flavour === f);
    return r ? (r.agree === r.probes ? `${r.agree}` : `**${r.agree}/${r.probes}**`) : '-';
  };
  const table = [
    `| configuration | ${FLAVOURS.map((f) => f.name).join(' | ')} |`,
    `|---|${FLAVOURS.map(() => '---:').join('|')}|`,
    ...labels.map((l) => `| ${l.replace(/^istio corpus /, 'Istio corpus: ')} | ${FLAVOURS.map((f) => cell(l, f.name)).join(' | ')} |`),
  ];
  const body = [
    `Run of ${new Date().toISOString().slice(0, 10)}: probes that landed where the simulator said, per configuration and flavour (every probe agreed unless a cell shows agree/total).`,
    '',
    '```',
    ...summary,
    '```',
    '',
    ...table,
  ].join('\n');
  const docs = readFileSync('docs/conformance.md', 'utf8');
  const begin = '<!-- kernel-oracle-table:begin (generated by test/kernel/oracle.test.ts with MESHCAP_ORACLE_WRITE_DOCS=1) -->';
  const end = '<!-- kernel-oracle-table:end -->';
  const a = docs.indexOf(begin);
  const b = docs.indexOf(end);
  if (a < 0 || b < 0) throw new Error('docs/conformance.md has no kernel-oracle-table markers');
  writeFileSync('docs/conformance.md', docs.slice(0, a + begin.length) + '\n' + body + '\n' + docs.slice(b));
}

describe.concurrent('kernel oracle: real connections land where the simulator says', () => {
  for (const c of CONFIGS) {
    for (const flavour of FLAVOURS) {
      it(`${c.label} via ${flavour.name}`, { timeout: 120_000 }, async ({ expect }) => {
        const r = await runCase(c, flavour);
        results.push(r);
        expect(r.disagreements.slice(0, 5).join('\n\n') + (r.disagreements.length > 5 ? `\n... and ${r.disagreements.length - 5} more` : '')).toBe('');
        expect(r.agree).toBe(r.probes);
        expect(r.probes).toBeGreaterThan(100);
      });
    }
  }
});

/** A copy of the rules with each rule replaced by what `f` makes of it (undefined: removed). */
function edited(rs: RuleSet, f: (r: RuleSet['tables'][number]['chains'][number]['rules'][number]) => RuleSet['tables'][number]['chains'][number]['rules'][number] | undefined): RuleSet {
  return { ...rs, tables: rs.tables.map((t) => ({ ...t, chains: t.chains.map((c) => ({ ...c, rules: c.rules.flatMap((r) => f(r) ?? []) })) })) };
}

// The control: hand the simulator rules that differ from the kernel's in one respect, and the
// oracle must say so, probe by probe. Without it, "0 disagree" could mean a blind harness.
describe.concurrent('kernel oracle control: a wrong model is caught', () => {
  const c = compileForOracle('specs/istio-sidecar.intercept', 'specs/istio-sidecar.intercept');
  const sabotages: [string, (rs: RuleSet) => RuleSet, RegExp][] = [
    ['the outbound redirect goes to another port', (rs) => edited(rs, (r) => (r.action.kind === 'redirect' && r.action.port === 15001 ? { ...r, action: { kind: 'redirect', port: 15002 } } : r)), /kernel: +pod tcp\/15001 at 127\.0\.0\.1 orig/],
    ["the proxy's own traffic is no longer let through", (rs) => edited(rs, (r) => (r.action.kind === 'return' && r.matches.some((m) => m.kind === 'uid' && !m.neg) && r.matches.length === 1 ? undefined : r)), /uid=1337 gid=1000 via eth0\n +kernel: +peer tcp\/80 /],
  ];
  for (const [what, sabotage, evidence] of sabotages) {
    it(`${what}: disagreements are reported`, { timeout: 60_000 }, async ({ expect }) => {
      const r = await runCase(c, FLAVOURS[2], { sabotage });
      expect(r.disagreements.length).toBeGreaterThan(10);
      expect(r.agree).toBeLessThan(r.probes);
      expect(r.disagreements.join('\n')).toMatch(evidence);
      expect(r.disagreements[0]).toMatch(/simulator trace, sent by the pod:/);
    });
  }
  it('the model forgets TPROXY policy routing: the non-local probes disagree', { timeout: 60_000 }, async ({ expect }) => {
    const t = compileForOracle('specs/istio-tproxy.intercept', 'specs/istio-tproxy.intercept');
    const r = await runCase(t, FLAVOURS[2], { forgetRouting: true });
    expect(r.disagreements.length).toBe(4);
    expect(r.disagreements.every((d) => /a non-local address[\s\S]*kernel: +pod tcp\/15006 at [^ ]+ orig [\s\S]*simulator: +nothing .*no policy routing/.test(d))).toBe(true);
  });
});

// Mixed: meshcap's rules in iptables-legacy, Docker- and kube-proxy-like rules set up after
// them in iptables-nft (so they run first on the shared hooks), read back by a snapshot of
// the namespace. Docker's `-m addrtype --dst-type LOCAL` is unmodelled: where a probe's
// landing depends on it, the kernel's must be one the simulator allows for some truth of
// it; every other probe must land exactly where the simulator says.
describe('kernel oracle: beside other tools\' rules in the other iptables flavour', () => {
  it('decided probes agree with the kernel, and unknown ones never hide a disagreement', { timeout: 120_000 }, async ({ expect }) => {
    const c = compileForOracle('specs/istio-sidecar.intercept beside Docker and kube-proxy', 'specs/istio-sidecar.intercept');
    const plan = planProbes(c.ir);
    const count = new Map<number, number>();
    for (const p of plan.probes) if (p.dir === 'out' && p.proto === 'tcp' && p.dport < 15000) count.set(p.dport, (count.get(p.dport) ?? 0) + 1);
    // Docker publishes the port the probes use most, redirected to another port the pod listens on.
    const published = [...count].sort((a, b) => b[1] - a[1])[0][0];
    const to = plan.tcpPorts.find((p) => p !== published && p !== plan.closedPort && p < 15000)!;
    expect(to).toBeDefined();
    const others = [
      '*nat',
      ':PREROUTING ACCEPT [0:0]',
      ':OUTPUT ACCEPT [0:0]',
      ':POSTROUTING ACCEPT [0:0]',
      ':DOCKER - [0:0]',
      ':KUBE-SERVICES - [0:0]',
      '-A PREROUTING -m addrtype --dst-type LOCAL -j DOCKER',
      '-A OUTPUT ! -d 127.0.0.0/8 -m addrtype --dst-type LOCAL -j DOCKER',
      '-A OUTPUT -m comment --comment "kubernetes service portals" -j KUBE-SERVICES',
      '-A POSTROUTING -s 172.17.0.0/16 ! -o docker0 -j MASQUERADE',
      '-A DOCKER -i docker0 -j RETURN',
      `-A DOCKER -p tcp -m tcp --dport ${published} -j REDIRECT --to-ports ${to}`,
      `-A KUBE-SERVICES -d 10.96.0.10/32 -p tcp -m tcp --dport 80 -j DNAT --to-destination ${PEER.ipv4}:80`,
      'COMMIT',
      '',
    ].join('\n');
    const r = await runCase(c, FLAVOURS[0], { others });
    expect(r.disagreements.slice(0, 5).join('\n\n')).toBe('');
    expect(r.agree).toBe(r.probes);
    expect(r.unknown).toBeGreaterThan(0);
    expect(r.probes - r.unknown!).toBeGreaterThan(100);
    process.stdout.write(`kernel oracle beside other tools: ${r.probes} probes (${r.unknown} depend on addrtype), ${r.agree} agree\n`);
    // The control: a simulator blind to the other tools' tables is caught on the published port.
    const blind = await runCase(c, FLAVOURS[0], { others, sabotage: (rs) => ({ ...rs, tables: rs.tables.filter((t) => !t.name.startsWith('iptables-nft/')) }) });
    expect(blind.disagreements.length).toBeGreaterThan(0);
    expect(blind.disagreements.join('\n')).toMatch(new RegExp(`kernel: +pod tcp/${to} at `));
  });
});
