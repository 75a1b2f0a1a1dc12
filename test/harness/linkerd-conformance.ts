// Conformance with Linkerd's proxy-init, over ../shared/corpus/linkerd:
//  - the command lists of pkg/iptables/iptables_test.go (`*.cmds.txt`) are applied, as
//    proxy-init runs them, to an empty nat table or to the `existing-rules` fixture; the
//    result is read by meshcap's iptables importer and compared over every packet of the
//    hook the tested function writes (PREROUTING for the incoming rules, OUTPUT for the
//    outgoing ones) with the policy `meshcap import linkerd-proxy-init` makes of the same
//    configuration. Each differing class must be a documented difference
//    (docs/linkerd-differences.md).
//  - the k3d lab's cases (integration-cases.json: proxy-init arguments and what the lab's
//    HTTP test expects) are imported, compiled, and every expectation is checked with the
//    simulator on the compiled rules.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { importIptables } from '../../backends/iptables/import.js';
import { linkerdConfigFromFlags, policyFromLinkerd } from '../../src/import/linkerd.js';
import type { Hook, RuleSet } from '../../src/ir/types.js';
import { loadText } from '../../src/language/load.js';
import { lower } from '../../src/lower/lower.js';
import type { Packet } from '../../src/sim/packet.js';
import { simulate } from '../../src/sim/simulate.js';
import { SourceFile } from '../../src/source.js';
import { equivalent, type DiffRange } from '../../src/verify/engine.js';
import { rulesSide } from '../../src/verify/side.js';

export const LINKERD_DIR = join(process.env.MESHCAP_SHARED ?? '../shared', 'corpus', 'linkerd');

/** The policy `meshcap import linkerd-proxy-init -- FLAGS` makes, lowered (it must check without errors). */
export function importLinkerd(flags: string[], name = 'linkerd'): { rs: RuleSet; text: string } {
  const input = linkerdConfigFromFlags(flags);
  const p = policyFromLinkerd(input, name);
  const errs = [...input.diagnostics, ...p.diagnostics].filter((d) => d.severity === 'error');
  const l = loadText(`${name}.intercept`, p.text, 'intercept');
  const all = [...errs, ...l.diagnostics.filter((d) => d.severity === 'error')];
  if (!l.policy || all.length) throw new Error(`import of ${flags.join(' ')} fails: ${all.map((d) => d.message).join('; ')}\n${p.text}`);
  return { rs: lower(l.policy), text: p.text };
}

// ---- command lists ---------------------------------------------------------------------------

/** Apply proxy-init's `iptables -t nat ...` commands to a nat table (chain -> rule lines). */
function applyCommands(chains: Map<string, string[]>, lines: string[]): void {
  for (const line of lines) {
    const w = line.trim().split(/\s+/);
    if (!w.length || w[0] !== '<iptables>') continue;
    if (w[1] !== '-t' || w[2] !== 'nat') throw new Error(`not a nat command: ${line}`);
    const [op, chain, ...rest] = w.slice(3);
    const rule = rest.join(' ');
    if (op === '-N') chains.set(chain, []);
    else if (op === '-F') chains.set(chain, []);
    else if (op === '-X') chains.delete(chain);
    else if (op === '-A') chains.get(chain)!.push(rule);
    else if (op === '-D') {
      const rules = chains.get(chain)!;
      const canon = (r: string) => r.replace(/"/g, '').split(/\s+/).sort().join(' ');
      const i = rules.findIndex((r) => canon(r) === canon(rule));
      if (i < 0) throw new Error(`-D of a rule that is not there: ${line}`);
      rules.splice(i, 1);
    } else throw new Error(`command not modelled: ${line}`);
  }
}

/** The nat table of an iptables-save fixture, as chain -> rule lines. */
function readSave(text: string): Map<string, string[]> {
  const chains = new Map<string, string[]>();
  for (const l of text.split('\n')) {
    if (l.startsWith(':')) chains.set(l.slice(1).split(' ')[0], []);
    else if (l.startsWith('-A ')) {
      const [, chain, ...rest] = l.split(' ');
      chains.get(chain)!.push(rest.join(' '));
    }
  }
  return chains;
}

const BUILTIN = ['PREROUTING', 'INPUT', 'OUTPUT', 'POSTROUTING'];

function restoreText(chains: Map<string, string[]>): string {
  for (const b of BUILTIN) if (!chains.has(b)) chains.set(b, []);
  const head = [...chains.keys()].map((c) => `:${c} ${BUILTIN.includes(c) ? 'ACCEPT' : '-'} [0:0]`);
  const rules = [...chains].flatMap(([c, rs]) => rs.map((r) => `-A ${c} ${r}`));
  return ['*nat', ...head, ...rules, 'COMMIT', ''].join('\n');
}

/** Keep only the base chains of one hook (what one of proxy-init's functions writes). */
export function onlyHook(rs: RuleSet, hook: Hook): RuleSet {
  return { ...rs, tables: rs.tables.map((t) => ({ ...t, chains: t.chains.filter((c) => !c.base || c.base.hook === hook) })) };
}

export interface CommandCase {
  name: string;
  /** The hook the tested function writes. */
  hook: 'prerouting' | 'output';
  /** The proxy-init flags that give the test's FirewallConfiguration. */
  flags: string[];
  /** The fixture the commands run on, or null for an empty nat table. */
  existing: string | null;
  /** The test's InboundPortsToIgnore (the rules it does write). */
  ignored: [number, number][];
}

interface ManifestEntry {
  name: string;
  source_symbol?: string;
  config: Record<string, unknown> | string | null;
}

export function manifest(): ManifestEntry[] {
  return JSON.parse(readFileSync(join(LINKERD_DIR, 'manifest.json'), 'utf8')) as ManifestEntry[];
}

/**
 * The command-list cases, with the flags that make the test's configuration. The tests
 * build a FirewallConfiguration directly: the incoming ones set only InboundPortsToIgnore
 * (no Mode, so no redirect rule: difference L1), the outgoing ones only ProxyOutgoingPort
 * (ProxyUID 0: no owner rule, as without -u). The other proxy port is required by the
 * flags and takes Linkerd's default; it does not reach the compared hook.
 */
export function commandCases(): CommandCase[] {
  const out: CommandCase[] = [];
  for (const m of manifest()) {
    if (!m.name.endsWith('.cmds.txt') || m.name === 'cleanup.cmds.txt') continue;
    const cfg = m.config as Record<string, unknown>;
    const inbound = m.name.startsWith('inbound');
    const flags = inbound ? ['-p', '4143', '-o', '4140', '--inbound-ports-to-ignore', (cfg.InboundPortsToIgnore as string[]).join(',')] : ['-p', '4143', '-o', String(cfg.ProxyOutgoingPort)];
    const ignored = ((cfg.InboundPortsToIgnore as string[] | undefined) ?? []).map((x) => x.split('-').map(Number) as [number] | [number, number]).map((r): [number, number] => [r[0], r[1] ?? r[0]]);
    out.push({ name: m.name.replace('.cmds.txt', ''), hook: inbound ? 'prerouting' : 'output', flags, existing: typeof cfg.existingRules === 'string' ? cfg.existingRules : null, ignored });
  }
  return out;
}

/** Linkerd's rules after the case's commands, as meshcap's importer reads them. */
export function linkerdRules(c: { name: string; existing: string | null }): RuleSet {
  const chains = c.existing ? readSave(readFileSync(join(LINKERD_DIR, c.existing), 'utf8')) : new Map<string, string[]>(BUILTIN.map((b) => [b, []]));
  applyCommands(chains, readFileSync(join(LINKERD_DIR, `${c.name}.cmds.txt`), 'utf8').split('\n'));
  const src = new SourceFile(`${c.name}.rules`, restoreText(chains));
  const r = importIptables(src, 'ipv4', c.name);
  if (!r.ruleset) throw new Error(`${c.name}: Linkerd's rules do not import: ${r.diagnostics.map((d) => d.message).join('; ')}`);
  return r.ruleset;
}

export interface KnownDifference {
  id: string;
  /** `mine`: meshcap's rules (a class is one packet's representative, so a test may probe them). */
  applies(p: Packet, d: DiffRange, c: CommandCase, mine: RuleSet): boolean;
}

export const linkerdDifferences: KnownDifference[] = [
  {
    // The incoming-rules tests leave FirewallConfiguration.Mode unset, so no redirect rule
    // is written; proxy-init itself always sets RedirectAllMode or RedirectListedMode.
    // Only if meshcap leaves every port the test ignores alone: then no differing class
    // (which the engine may merge across ports) can hold one of them.
    id: 'L1-test-without-mode',
    applies: (p, d, c, mine) =>
      c.hook === 'prerouting' &&
      p.hook === 'prerouting' &&
      p.protocol === 'tcp' &&
      d.a.redirect?.port === 4143 &&
      d.b.redirect === null &&
      c.ignored.every(([lo, hi]) => [lo, (lo + hi) >> 1, hi].every((dport) => simulate(mine, { ...p, dport }).outcome.redirect === null)),
  },
];

export interface CommandResult {
  name: string;
  hook: string;
  classes: number;
  differing: number;
  documented: Record<string, number>;
  undocumented: DiffRange[];
}

export function runCommandCase(c: CommandCase): CommandResult {
  const mine = onlyHook(importLinkerd(c.flags).rs, c.hook);
  const theirs = onlyHook(linkerdRules(c), c.hook);
  const r = equivalent(rulesSide('meshcap', mine), rulesSide('proxy-init', theirs), { families: ['ipv4'], maxDifferences: 10000 });
  if (r.result === 'undecided') throw new Error(`${c.name}: undecided: ${r.reason}`);
  const res: CommandResult = { name: c.name, hook: c.hook, classes: r.classes, differing: r.differences.length, documented: {}, undocumented: [] };
  for (const d of r.differences) {
    const k = linkerdDifferences.find((x) => x.applies(d.packet, d, c, mine));
    if (k) res.documented[k.id] = (res.documented[k.id] ?? 0) + 1;
    else res.undocumented.push(d);
  }
  return res;
}

/** The cleanup commands on the existing-rules fixture: what is left (it should be nothing). */
export function afterCleanup(): RuleSet {
  return linkerdRules({ name: 'cleanup', existing: 'existing-rules.iptables-save.txt' });
}

// ---- the k3d lab ------------------------------------------------------------------------------

export interface LabCase {
  pod: string;
  args: string[] | null;
  expect?: string[];
  note?: string;
}

export function labCases(): LabCase[] {
  return (JSON.parse(readFileSync(join(LINKERD_DIR, 'integration-cases.json'), 'utf8')) as { cases: LabCase[] }).cases;
}

const POD = '10.42.0.5';
const OTHER = '10.42.0.9';
const APP_UID = 1000;
const PROXY_UID = 2102;

/** One expectation of the lab's HTTP test, as a packet and where it must land (null: not redirected). */
export interface Probe {
  text: string;
  packet: Packet;
  redirect: number | null;
}

const inbound = (dport: number, src = OTHER): Packet => ({ hook: 'prerouting', family: 'ipv4', protocol: 'tcp', src, dst: POD, sport: 40000, dport, iif: 'eth0', oif: '', mark: 0, ctmark: 0, ctstate: 'new' });
const outbound = (dst: string, dport: number, uid: number, oif = 'eth0'): Packet => ({ hook: 'output', family: 'ipv4', protocol: 'tcp', src: oif === 'lo' ? dst : POD, dst, sport: 40000, dport, iif: '', oif, uid, gid: uid, mark: 0, ctmark: 0, ctstate: 'new' });

/**
 * The lab's expectations (integration-cases.json, from http_test.go) as probes. The lab's
 * proxy stub listens on 8080 for both directions (-p 8080 -o 8080); "fails to connect"
 * means not redirected to a port with no listener, "reaches the app directly" not redirected.
 */
export function labProbes(pod: string): Probe[] {
  const P = 8080;
  const p = (text: string, packet: Packet, redirect: number | null): Probe => ({ text, packet, redirect });
  switch (pod) {
    case 'pod-redirects-all-ports':
      return [8080, 8088, 8888, 8988].map((port) => p(`inbound TCP to ${port} reaches the proxy`, inbound(port), P));
    case 'pod-redirects-whitelisted':
      return [
        p('inbound to 8080 succeeds (the proxy itself, not redirected)', inbound(8080), null),
        p('inbound to 9090 is redirected to the proxy', inbound(9090), P),
        p('inbound to 9099 is redirected to the proxy', inbound(9099), P),
        ...[8088, 8888, 8988].map((port) => p(`inbound to ${port} is not redirected`, inbound(port), null)),
      ];
    case 'pod-doesnt-redirect-blacklisted':
      return [
        p('inbound to 9090 is redirected to the proxy', inbound(9090), P),
        p('inbound to 9099 is redirected to the proxy', inbound(9099), P),
        p('inbound to 7070 (ignored 6000-8000) reaches the app directly', inbound(7070), null),
        p('outbound from the app to another pod:7070 is redirected to the proxy', outbound(OTHER, 7070, APP_UID), P),
        p('outbound from the proxy (uid 2102) to another pod:9090 is not redirected', outbound(OTHER, 9090, PROXY_UID), null),
        p('outbound from the app to 127.0.0.1:9090 is not redirected (-o lo RETURN)', outbound('127.0.0.1', 9090, APP_UID, 'lo'), null),
      ];
    case 'pod-ignores-subnets':
      return [
        ...['10.42.0.9', '192.168.3.4', '0.0.0.1'].map((src) => p(`inbound to 9090 from ${src} bypasses the proxy`, inbound(9090, src), null)),
        p('inbound to 8080 reaches the proxy container directly', inbound(8080), null),
      ];
    default:
      return [];
  }
}

export interface LabResult {
  pod: string;
  probes: number;
  failed: string[];
  note: string;
}

export function runLabCase(c: LabCase): LabResult {
  if (!c.args) return { pod: c.pod, probes: 0, failed: [], note: 'no proxy-init run (no rules)' };
  const { rs } = importLinkerd(c.args, c.pod.slice(0, 32));
  const probes = labProbes(c.pod);
  const failed: string[] = [];
  for (const pr of probes) {
    const got = simulate(rs, pr.packet).outcome.redirect?.port ?? null;
    if (got !== pr.redirect) failed.push(`${pr.text}: expected ${pr.redirect ?? 'no redirect'}, got ${got ?? 'no redirect'}`);
  }
  const note = probes.length ? 'every expectation holds' : c.note ? 'idempotency of a second run (meshcap loads its artifacts whole)' : 'no packet expectations';
  return { pod: c.pod, probes: probes.length, failed, note };
}
