// One kernel oracle case: a compiled policy, loaded by one backend and firewall flavour into a
// fresh pod namespace, every planned probe sent for real, and each probe's landing compared
// with the simulator's (expect.ts) over the rules read back from the very text that was loaded.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { importShell } from '../../../backends/shell/import.js';
import { liveSide } from '../../../src/cli/commands/snapshot.js';
import { renderTrace } from '../../../src/cli/trace-render.js';
import { compile, type Artifact } from '../../../src/compile/pipeline.js';
import type { Routing, RuleSet } from '../../../src/ir/types.js';
import { endpointText as endpoint } from '../../../src/verify/compare.js';
import { clientSide, expectLanding, type Expected } from './expect.js';
import { Agent, createLab, destroyLab, inNs, type Lab } from './lab.js';
import { planProbes, type Probe } from './plan.js';

export interface Flavour {
  /** The summary's name: backend, and for iptables and the script the firewall it drives. */
  name: string;
  backend: 'iptables' | 'nftables' | 'shell';
}

export const FLAVOURS: Flavour[] = [
  { name: 'iptables (legacy)', backend: 'iptables' },
  { name: 'iptables (nft)', backend: 'iptables' },
  { name: 'nftables', backend: 'nftables' },
  { name: 'shell (iptables-legacy)', backend: 'shell' },
  { name: 'shell (iptables-nft)', backend: 'shell' },
  { name: 'shell (nftables)', backend: 'shell' },
];

const workDir = mkdtempSync(join(tmpdir(), 'meshcap-oracle-'));

/** Remove the loaded files, unless a disagreement printed their paths. */
export function cleanWorkDir(keep: boolean): void {
  if (!keep) rmSync(workDir, { recursive: true, force: true });
}

export interface Compiled {
  label: string;
  ir: RuleSet;
  artifacts: Map<string, Artifact>;
}

/**
 * Compile a policy file for every backend (the reimport pass reads each artifact back):
 * optimized (every backend gets the optimizer's output: nftables one chain set for both
 * families, iptables and the script `--layout optimized`), or `-O0` (the lowered IR: Istio's
 * layout, and nft's per-family chains behind a dispatch).
 */
export function compileForOracle(label: string, file: string, variant: 'optimized' | 'O0' = 'optimized'): Compiled {
  const ctx = compile(file, { backends: ['iptables', 'ip6tables', 'nftables', 'shell'], verify: false, ...(variant === 'O0' ? { optLevel: 0 } : { layout: 'optimized' }) });
  const problems = [...ctx.diagnostics.filter((d) => d.severity === 'error'), ...ctx.failures].map((d) => d.message);
  if (problems.length || !ctx.ir) throw new Error(`${label} does not compile: ${problems.join('; ')}`);
  return { label: variant === 'O0' ? `${label} -O0` : label, ir: ctx.ir, artifacts: new Map(ctx.artifacts.map((a) => [a.backend.name, a])) };
}

interface Loaded {
  /** The rules the simulator runs: the loaded text read back by meshcap's own importer. */
  rs: RuleSet;
  routing?: Routing;
  /** Files holding exactly what was loaded (printed with a disagreement). */
  files: string[];
}

function fileFor(lab: Lab, c: Compiled, flavour: Flavour, suffix: string, text: string): string {
  const f = join(workDir, `${c.label.replace(/[^\w.-]+/g, '_')}.${flavour.name.replace(/[^\w.-]+/g, '_')}.${lab.pod}.${suffix}`);
  writeFileSync(f, text);
  return f;
}

async function load(lab: Lab, c: Compiled, flavour: Flavour, others?: string): Promise<Loaded> {
  const own = await loadOwn(lab, c, flavour);
  if (others === undefined) return own;
  // Other tools' rules in iptables-nft, set up after the mesh's (so they run first on a
  // shared hook); the simulator then runs what a snapshot of the namespace reads.
  const r = await inNs(lab.pod, 'iptables-nft-restore', ['--wait=10'], others);
  if (r.status !== 0) throw new Error(`${c.label}: iptables-nft-restore of the other tools' rules failed: ${r.stderr.trim()}`);
  const side = liveSide({ netns: lab.pod });
  if (!('label' in side) || !side.rs) throw new Error(`${c.label}: no snapshot of ${lab.pod}: ${'message' in side ? side.message : side.diagnostics.map((d) => d.message).join('; ')}`);
  return { rs: { ...side.rs, routing: own.rs.routing }, routing: own.routing, files: [...own.files, fileFor(lab, c, flavour, 'others.rules', others)] };
}

/**
 * The rule set with each unmodelled match given a truth: every assignment (true: the match
 * removed, false: its rule removed), so that each is a rule set the simulator decides.
 */
function assignments(rs: RuleSet): RuleSet[] {
  const ids = [...new Set(rs.tables.flatMap((t) => t.chains.flatMap((ch) => ch.rules.flatMap((r) => r.matches.flatMap((m) => (m.kind === 'unmodelled' ? [m.id] : []))))))];
  if (ids.length > 6) throw new Error(`${ids.length} unmodelled matches: too many assignments`);
  const out: RuleSet[] = [];
  for (let k = 0; k < 1 << ids.length; k++) {
    const holds = (id: string) => ((k >> ids.indexOf(id)) & 1) === 1;
    const tables = rs.tables.map((t) => ({
      ...t,
      chains: t.chains.map((ch) => ({
        ...ch,
        rules: ch.rules.flatMap((r) => (r.matches.some((m) => m.kind === 'unmodelled' && !holds(m.id)) ? [] : [{ ...r, matches: r.matches.filter((m) => m.kind !== 'unmodelled') }])),
      })),
    }));
    out.push({ ...rs, tables });
  }
  return out;
}

async function loadOwn(lab: Lab, c: Compiled, flavour: Flavour): Promise<Loaded> {
  const get = (name: string) => {
    const a = c.artifacts.get(name);
    if (!a?.reimported) throw new Error(`${c.label}: no ${name} artifact read back`);
    return a;
  };
  const must = async (what: string, p: ReturnType<typeof inNs>) => {
    const r = await p;
    if (r.status !== 0) throw new Error(`${c.label} ${flavour.name}: ${what} failed (${r.status}): ${r.stderr.trim()}`);
  };
  /**
   * A rule file carries no routing: install the IR's TPROXY routing the way the script
   * does (and an operator must), so that TPROXY to a non-local address is delivered.
   */
  const routing = async (): Promise<Routing> => {
    const t = c.ir.routing.tproxy;
    for (const f of t?.families ?? []) {
      const v = f === 'ipv4' ? '-4' : '-6';
      await must('ip rule', inNs(lab.pod, 'ip', [v, 'rule', 'add', 'fwmark', String(t!.mark), 'lookup', String(t!.table)]));
      await must('ip route', inNs(lab.pod, 'ip', [v, 'route', 'add', 'local', f === 'ipv4' ? '0.0.0.0/0' : '::/0', 'dev', 'lo', 'table', String(t!.table)]));
    }
    return c.ir.routing;
  };
  if (flavour.backend === 'iptables') {
    const kind = flavour.name.includes('legacy') ? 'legacy' : 'nft';
    const v4 = get('iptables');
    const v6 = get('ip6tables');
    // --wait: legacy iptables has one lock for the whole host, and cases load in parallel.
    await must(`iptables-${kind}-restore`, inNs(lab.pod, `iptables-${kind}-restore`, ['--wait=10'], v4.text));
    await must(`ip6tables-${kind}-restore`, inNs(lab.pod, `ip6tables-${kind}-restore`, ['--wait=10'], v6.text));
    const rs = { name: c.label, tables: [...v4.reimported!.tables, ...v6.reimported!.tables], routing: { loopbackAddresses: [] } };
    return { rs, routing: await routing(), files: [fileFor(lab, c, flavour, 'v4.rules', v4.text), fileFor(lab, c, flavour, 'v6.rules', v6.text)] };
  }
  if (flavour.backend === 'nftables') {
    const a = get('nftables');
    const f = fileFor(lab, c, flavour, 'nft.json', a.text);
    await must('nft -j -f', inNs(lab.pod, 'nft', ['-j', '-f', f]));
    return { rs: a.reimported!, routing: await routing(), files: [f] };
  }
  const a = get('shell');
  const fw = /\((.*)\)/.exec(flavour.name)![1];
  const f = fileFor(lab, c, flavour, 'sh', a.text);
  await must(`the script's apply (${fw})`, inNs(lab.pod, 'env', [`MESHCAP_FIREWALL=${fw}`, 'sh', f, 'apply']));
  const r = importShell(a.text, f);
  const rs = fw === 'nftables' ? r.nftables : r.iptables;
  if (!rs) throw new Error(`${c.label}: the script has no ${fw} payload`);
  return { rs, routing: r.routing, files: [f] };
}

interface Arrival {
  proto: 'tcp' | 'udp';
  port: number;
  token: string;
  orig?: [string, number];
  local?: [string, number];
  peer?: [string, number];
  error?: string;
}

export interface CaseResult {
  label: string;
  flavour: string;
  probes: number;
  agree: number;
  disagreements: string[];
  ms: number;
  /** With other tools' rules: probes whose landing depends on an unmodelled match (the kernel's must be one of those possible). */
  unknown?: number;
}

function observed(host: string, arrivals: Arrival[]): string[] {
  return arrivals.map((a) => (a.proto === 'tcp' ? `${host} tcp/${a.port} at ${a.local![0]} orig ${endpoint(a.orig![0], a.orig![1])}` : `${host} udp/${a.port}`));
}

function explain(p: Probe, exp: Expected, seen: string, status: string, loaded: Loaded): string {
  const lines = [
    `probe #${p.id}: ${p.why}`,
    `  ${p.dir} ${p.proto} ${endpoint(p.src, p.sport)} -> ${endpoint(p.dst, p.dport)}${p.uid !== undefined ? ` uid=${p.uidName ?? p.uid} gid=${p.gidName ?? p.gid}` : ''} via ${p.podIf}`,
    `  kernel:    ${seen} (client: ${status})`,
    `  simulator: ${exp.landing} (client: ${exp.client}; ${exp.reason})`,
  ];
  for (const pass of exp.passes) {
    // The same rendering as `meshcap trace`: every step with its rule's text and why.
    lines.push(`  simulator trace, ${pass.label}:`, renderTrace(pass.result, '    ').trimEnd());
  }
  lines.push(`  rules: ${loaded.files.join(', ')}`);
  return lines.join('\n');
}

/** Run one policy through one flavour: a fresh lab, load, listen, probe, compare, tear down. */
export async function runCase(c: Compiled, flavour: Flavour, opts: { sabotage?: (rs: RuleSet) => RuleSet; forgetRouting?: boolean; others?: string } = {}): Promise<CaseResult> {
  const plan = planProbes(c.ir);
  const t0 = performance.now();
  const lab = await createLab(plan.extraIfs, plan.peerTargets, plan.names);
  const agents: Agent[] = [];
  try {
    const loaded = await load(lab, c, flavour, opts.others);
    const pod = await Agent.start(lab.pod);
    agents.push(pod);
    const peer = await Agent.start(lab.peer);
    agents.push(peer);
    await pod.request({ cmd: 'listen', tcp: plan.tcpPorts, udp: plan.udpPorts, transparent: plan.transparent });
    await peer.request({ cmd: 'listen', tcp: plan.tcpPorts, udp: plan.udpPorts });
    const strip = (p: Probe) => ({ id: p.id, proto: p.proto, family: p.family, src: p.src, sport: p.sport, dst: p.dst, dport: p.dport, uid: p.uid, gid: p.gid });
    const [outR, inR] = await Promise.all([
      pod.request<{ results: { id: number; status: string }[] }>({ cmd: 'probe', probes: plan.probes.filter((p) => p.dir === 'out').map(strip), timeout: 2 }),
      peer.request<{ results: { id: number; status: string }[] }>({ cmd: 'probe', probes: plan.probes.filter((p) => p.dir === 'in').map(strip), timeout: 2 }),
    ]);
    // Datagrams have no answer: give the last ones time to arrive.
    await new Promise((r) => setTimeout(r, 300));
    const status = new Map([...outR.results, ...inR.results].map((r) => [r.id, r.status]));
    const byToken = new Map<string, string[]>();
    for (const [host, agent] of [
      ['pod', pod],
      ['peer', peer],
    ] as const) {
      const { arrivals } = await agent.request<{ arrivals: Arrival[] }>({ cmd: 'arrivals' });
      for (const a of arrivals) {
        const key = a.token || `(no token: ${a.error ?? '?'})`;
        byToken.set(key, [...(byToken.get(key) ?? []), ...observed(host, [a])]);
      }
    }
    // `sabotage` hands the simulator other rules than the kernel's, `forgetRouting` hides
    // the policy routing from it: the controls that show a wrong model is caught.
    const w = { rs: opts.sabotage ? opts.sabotage(loaded.rs) : loaded.rs, routing: opts.forgetRouting ? undefined : loaded.routing, plan };
    const disagreements: string[] = [];
    let agree = 0;
    let unknown = 0;
    const variants = opts.others === undefined ? [] : assignments(w.rs);
    for (const p of plan.probes) {
      let exp = expectLanding(w, p);
      // Beside other tools' rules: decided where every truth of their unmodelled matches
      // gives one landing; else the kernel's landing must be one of the possible ones.
      const possible = variants.map((rs) => expectLanding({ ...w, rs }, p));
      if (possible.length && possible.some((e) => e.landing !== possible[0].landing || e.client !== possible[0].client)) {
        unknown++;
        const seenNow = (byToken.get(`token ${p.id}`) ?? []).sort().join(' + ') || 'nothing';
        exp = possible.find((e) => e.landing === seenNow && e.client === clientSide(status.get(p.id) ?? '?')) ?? { ...possible[0], reason: `unknown: none of ${possible.length} truths of the unmodelled matches (${[...new Set(possible.map((e) => e.landing))].join(' | ')})` };
      }
      const seen = (byToken.get(`token ${p.id}`) ?? []).sort().join(' + ') || 'nothing';
      byToken.delete(`token ${p.id}`);
      const st = status.get(p.id) ?? '?';
      if (process.env.MESHCAP_ORACLE_DUMP) process.stdout.write(`${flavour.name} #${p.id} ${p.why}: ${seen} (${clientSide(st)}) | ${exp.landing} (${exp.client})\n`);
      // Both where it landed and what the sender saw: a drop, a refusal and a harness
      // error are different outcomes, not one 'nothing'.
      if (seen === exp.landing && clientSide(st) === exp.client) agree++;
      else disagreements.push(explain(p, exp, seen, st, loaded));
    }
    for (const [token, where] of byToken) disagreements.push(`an arrival no probe explains: '${token}' at ${where.join(', ')}`);
    return { label: c.label, flavour: flavour.name, probes: plan.probes.length, agree, disagreements, ms: performance.now() - t0, ...(opts.others === undefined ? {} : { unknown }) };
  } finally {
    await Promise.all(agents.map((a) => a.stop()));
    await destroyLab(lab);
  }
}
