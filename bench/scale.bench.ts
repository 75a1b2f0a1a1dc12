// Proof at scale: the whole verified compile (load, lower, check, emit to iptables,
// ip6tables, nftables and shell, reimport, and every proof: policy meaning = IR, IR = each
// output) on policies with long lists, one shape of list at a time and two combinations.
//
//   node dist/bench/scale.bench.js                      the grid: every shape x N in {100, 1k, 10k, 50k}
//   node dist/bench/scale.bench.js --quick              a small grid (N in {100, 1k})
//   node dist/bench/scale.bench.js --shape out-ports --n 10000      one cell (lists: a,b)
//   options: --limit S (per cell, default 120), --max-rss MB (per cell, default 4000),
//            --check-n N (size of the difference check and of the cold CLI run),
//            --no-diff, --no-cold, --all (also run 50k where 10k was over the limit)
//
// Each cell runs in its own child process (this script with --child cell), so its peak RSS
// (process.resourceUsage().maxRSS) is its own: one warm-up compile, then the median of k
// runs (k from the time the warm-up took, 1 for big cells). A cell that runs longer than
// the limit, or grows past the RSS cap, is killed and reported as such (the RSS cap keeps
// a run from taking a shared machine down). Per shape the bench also checks that the
// engine still finds differences at that size: one item from the middle of the long list
// is taken out of the IR (its rule, or the item from a rule that lists several), and the
// engine must answer `different` with a counterexample in that item, against the IR and
// against the policy's meaning. And the cold CLI (`meshcap compile`, all four backends,
// process start included) is timed once per shape at --check-n.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir, totalmem } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { compile, type CompileContext } from '../src/compile/pipeline.js';
import type { Family, Match, RuleSet } from '../src/ir/types.js';
import { loadText } from '../src/language/load.js';
import { lower } from '../src/lower/lower.js';
import { Meaning, meaningSide } from '../src/meaning/meaning.js';
import { parseCidr } from '../src/net/ip.js';
import type { Packet } from '../src/sim/packet.js';
import { addrValue } from '../src/sim/simulate.js';
import { equivalent, type EquivResult } from '../src/verify/engine.js';
import { rulesSide } from '../src/verify/side.js';

// ---- the policies --------------------------------------------------------------------------

/** One item of a long list: what the difference check takes out of the IR. */
export type Item =
  | { kind: 'cidr'; family: Family; addr: string; prefix: number; text: string }
  | { kind: 'port'; port: number; text: string }
  | { kind: 'iface'; name: string; text: string }
  | { kind: 'gid'; id: number; text: string }
  | { kind: 'server'; family: Family; addr: string; text: string };

const hex = (x: number) => x.toString(16);

/** The i-th excluded IPv4 CIDR: distinct /24s in 10.0.0.0/8 (65,536 of them). */
export function cidr4(i: number): Item {
  const addr = `10.${(i >> 8) & 255}.${i & 255}.0`;
  if (i >= 65536) throw new Error('at most 65,536 IPv4 CIDRs');
  return { kind: 'cidr', family: 'ipv4', addr, prefix: 24, text: `${addr}/24` };
}
/** The i-th excluded IPv6 CIDR: distinct /48s in 2001:db8::/32. */
export function cidr6(i: number): Item {
  const addr = `2001:db8:${hex(i)}::`;
  if (i >= 65536) throw new Error('at most 65,536 IPv6 CIDRs');
  return { kind: 'cidr', family: 'ipv6', addr, prefix: 48, text: `${addr}/48` };
}

/** Ports 1025-65535 without the proxy's 15000-15099 (15001, 15006, 15008, 15020, 15021, 15053, 15090). */
const PORT_POOL: number[] = [];
for (let p = 1025; p <= 65535; p++) if (p < 15000 || p > 15099) PORT_POOL.push(p);
/** The i-th of n ports, spread evenly over the pool (distinct for n up to 64,411). */
export function port(i: number, n: number): Item {
  if (n > PORT_POOL.length) throw new Error(`at most ${PORT_POOL.length} ports`);
  const p = PORT_POOL[Math.floor((i * PORT_POOL.length) / n)];
  return { kind: 'port', port: p, text: String(p) };
}
/** The i-th excluded interface: veth names as CNI plugins make them (veth + 8 hex digits). */
export function iface(i: number): Item {
  const name = `veth${hex(0x1a2b0000 + i).padStart(8, '0')}`;
  return { kind: 'iface', name, text: name };
}
/** The i-th excluded owner group: gids from 2000 on, every third. */
export function gid(i: number): Item {
  const id = 2000 + 3 * i;
  return { kind: 'gid', id, text: String(id) };
}
/** The i-th DNS server: IPv4 in 172.16.0.0/12 (apart from the excluded CIDRs), IPv6 in fd00:10:96::/112. */
export function server4(i: number): Item {
  const v = i + 10;
  const addr = `172.${16 + (v >> 16)}.${(v >> 8) & 255}.${v & 255}`;
  return { kind: 'server', family: 'ipv4', addr, text: addr };
}
export function server6(i: number): Item {
  const addr = `fd00:10:96::${hex(i + 10)}`;
  if (i + 10 > 0xffff) throw new Error('at most 65,526 IPv6 DNS servers');
  return { kind: 'server', family: 'ipv6', addr, text: addr };
}
/** Dual-stack lists alternate the families. */
const dual = (v4: (i: number) => Item, v6: (i: number) => Item) => (i: number) => (i % 2 === 0 ? v4(i >> 1) : v6(i >> 1));

interface Lists {
  inPorts?: Item[];
  outCidrs?: Item[];
  outPorts?: Item[];
  groups?: Item[];
  servers?: Item[];
  ifaces?: Item[];
}

const range = <T>(n: number, f: (i: number) => T): T[] => Array.from({ length: n }, (_, i) => f(i));

/** A list statement, ten items a line (continued lines end with a comma). */
function list(key: string, items: Item[] | undefined, indent = '    '): string {
  if (!items?.length) return '';
  const lines: string[] = [];
  for (let i = 0; i < items.length; i += 10) lines.push(items.slice(i, i + 10).map((x) => x.text).join(', '));
  return `${indent}${key} ${lines.join(`,\n${indent}  `)}\n`;
}

/** Istio's default sidecar capture plus the lists. */
function istioPlus(name: string, l: Lists): string {
  return (
    `# ${name}: Istio's default sidecar capture plus long lists (bench/scale.bench.ts)\n` +
    `policy ${name} {\n` +
    '  inbound {\n    capture ports *\n' +
    list('exclude ports', [{ kind: 'port', port: 15090, text: '15090' }, { kind: 'port', port: 15021, text: '15021' }, { kind: 'port', port: 15020, text: '15020' }, ...(l.inPorts ?? [])]) +
    '  }\n' +
    '  outbound {\n    capture cidrs *\n' +
    list('exclude cidrs', l.outCidrs) +
    list('exclude ports', l.outPorts) +
    list('exclude groups', l.groups) +
    '  }\n' +
    (l.servers?.length ? `  dns {\n${list('capture servers', l.servers)}  }\n` : '') +
    (l.ifaces?.length ? `  interfaces {\n${list('exclude', l.ifaces)}  }\n` : '') +
    '  families ipv4, ipv6\n}\n'
  );
}

export interface Shape {
  name: string;
  what: string;
  /** The policy at size n, and the item the difference check takes out. */
  make(n: number): { text: string; mid: Item };
}

const tenth = (n: number) => Math.max(1, Math.floor(n / 10));

export const SHAPES: Shape[] = [
  {
    name: 'out-cidrs',
    what: 'N excluded outbound CIDRs (IPv4 /24s)',
    make(n) {
      const outCidrs = range(n, cidr4);
      return { text: istioPlus(`scale-out-cidrs-${n}`, { outCidrs }), mid: outCidrs[n >> 1] };
    },
  },
  {
    name: 'out-ports',
    what: 'N excluded outbound ports',
    make(n) {
      const outPorts = range(n, (i) => port(i, n));
      return { text: istioPlus(`scale-out-ports-${n}`, { outPorts }), mid: outPorts[n >> 1] };
    },
  },
  {
    name: 'in-ports',
    what: 'N excluded inbound ports',
    make(n) {
      const inPorts = range(n, (i) => port(i, n));
      return { text: istioPlus(`scale-in-ports-${n}`, { inPorts }), mid: inPorts[n >> 1] };
    },
  },
  {
    name: 'interfaces',
    what: 'N excluded interfaces',
    make(n) {
      const ifaces = range(n, iface);
      return { text: istioPlus(`scale-interfaces-${n}`, { ifaces }), mid: ifaces[n >> 1] };
    },
  },
  {
    name: 'groups',
    what: 'N excluded outbound owner groups (gids)',
    make(n) {
      const groups = range(n, gid);
      return { text: istioPlus(`scale-groups-${n}`, { groups }), mid: groups[n >> 1] };
    },
  },
  {
    name: 'dns-servers',
    what: 'DNS capture for N servers (IPv4)',
    make(n) {
      const servers = range(n, server4);
      return { text: istioPlus(`scale-dns-servers-${n}`, { servers }), mid: servers[n >> 1] };
    },
  },
  {
    name: 'cidrs-x-ports',
    what: 'N excluded outbound CIDRs x N/10 excluded outbound ports',
    make(n) {
      const outCidrs = range(n, cidr4);
      const p = tenth(n);
      return { text: istioPlus(`scale-cidrs-x-ports-${n}`, { outCidrs, outPorts: range(p, (i) => port(i, p)) }), mid: outCidrs[n >> 1] };
    },
  },
  {
    name: 'mixed',
    what: 'dual-stack: N CIDRs + N outbound ports + N/10 interfaces, groups and DNS servers',
    make(n) {
      const outCidrs = range(n, dual(cidr4, cidr6));
      const t = tenth(n);
      const text = istioPlus(`scale-mixed-${n}`, { outCidrs, outPorts: range(n, (i) => port(i, n)), ifaces: range(t, iface), groups: range(t, gid), servers: range(t, dual(server4, server6)) });
      return { text, mid: outCidrs[n >> 1] };
    },
  },
];

export const shapeByName = (name: string): Shape | undefined => SHAPES.find((s) => s.name === name);

// ---- the difference check --------------------------------------------------------------------

function matchHas(m: Match, it: Item): boolean {
  switch (it.kind) {
    case 'cidr':
      return m.kind === 'daddr' && !m.neg && m.cidrs.some((c) => c.family === it.family && c.addr === it.addr && c.prefix === it.prefix);
    case 'port':
      return (m.kind === 'dport' || m.kind === 'sport') && !m.neg && m.ranges.some(([lo, hi]) => lo === it.port && hi === it.port);
    case 'iface':
      return (m.kind === 'iif' || m.kind === 'oif') && 'name' in m && !m.neg && m.name === it.name && !m.prefix;
    case 'gid':
      return m.kind === 'gid' && 'id' in m && !m.neg && m.id === it.id;
    case 'server':
      return (m.kind === 'daddr' || m.kind === 'saddr') && !m.neg && m.cidrs.some((c) => c.family === it.family && c.addr === it.addr && c.prefix === (it.family === 'ipv4' ? 32 : 128));
  }
}

/** Whether a packet falls in the item (the counterexample must). */
export function packetIn(p: Packet, it: Item): boolean {
  switch (it.kind) {
    case 'cidr': {
      const c = parseCidr(it.text);
      if (!c.ok) throw new Error(`bad item ${it.text}`);
      return p.family === it.family && c.cidr.first <= addrValue(p.dst) && addrValue(p.dst) <= c.cidr.last;
    }
    case 'port':
      return p.dport === it.port;
    case 'iface':
      return p.iif === it.name || p.oif === it.name;
    case 'gid':
      return p.gid === it.id;
    case 'server':
      return p.family === it.family && (addrValue(p.dst) === addrValue(it.addr) || addrValue(p.src) === addrValue(it.addr));
  }
}

/**
 * The IR without the item, in its first place: the rule that matches it alone is
 * dropped; from a rule that lists several values only the item is taken out.
 */
export function withoutItem(ir: RuleSet, it: Item): { mutant: RuleSet; where: string } {
  const m = structuredClone(ir);
  for (const t of m.tables) {
    for (const c of t.chains) {
      for (let i = 0; i < c.rules.length; i++) {
        const mt = c.rules[i].matches.find((x) => matchHas(x, it));
        if (!mt) continue;
        const where = `${t.family} ${t.name} ${c.name} #${i + 1} of ${c.rules.length}`;
        if (mt.kind === 'dport' || mt.kind === 'sport') {
          if (mt.ranges.length > 1) {
            mt.ranges = mt.ranges.filter(([lo, hi]) => !(lo === hi && lo === (it as { port: number }).port));
            return { mutant: m, where: `${where}, one port of ${mt.ranges.length + 1} taken out` };
          }
        } else if ((mt.kind === 'daddr' || mt.kind === 'saddr') && mt.cidrs.length > 1) {
          const keep = mt.cidrs.filter((x) => !matchHas({ ...mt, cidrs: [x] }, it));
          mt.cidrs = keep;
          return { mutant: m, where: `${where}, one address of ${keep.length + 1} taken out` };
        }
        c.rules.splice(i, 1);
        return { mutant: m, where: `${where} dropped` };
      }
    }
  }
  throw new Error(`no rule of the IR has ${it.text}`);
}

// ---- measuring -------------------------------------------------------------------------------

const BACKENDS = ['iptables', 'ip6tables', 'nftables', 'shell'];
const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const self = fileURLToPath(import.meta.url);

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.floor(s.length / 2)] : NaN;
};
const emit = (x: unknown) => process.stdout.write(JSON.stringify(x) + '\n');

interface RunFigures {
  type: 'run';
  warm: boolean;
  total: number;
  meaning: number;
  outputs: number;
  classes: { stage: string; classes: number; ms: number }[];
  passes: { pass: string; ms: number }[];
  rss: number;
}

function figures(ctx: CompileContext, total: number, warm: boolean): RunFigures {
  const bad = [...ctx.diagnostics.filter((d) => d.severity === 'error'), ...ctx.failures].map((d) => d.message);
  if (bad.length) throw new Error(`the policy does not compile: ${bad.slice(0, 3).join('; ')}`);
  if (ctx.verifyFailures.length) throw new Error(`not proven: ${ctx.verifyFailures.map((f) => `${f.stage}: ${f.result.result}${f.result.reason ? ` (${f.result.reason})` : ''}`).join('; ')}`);
  const st = ctx.verifyStats;
  return {
    type: 'run',
    warm,
    total,
    meaning: st.filter((s) => s.stage === 'policy meaning = IR').reduce((a, s) => a + s.ms, 0),
    outputs: st.filter((s) => s.stage !== 'policy meaning = IR').reduce((a, s) => a + s.ms, 0),
    classes: st.map((s) => ({ stage: s.stage, classes: s.classes, ms: s.ms })),
    passes: ctx.timings,
    rss: process.resourceUsage().maxRSS / 1024,
  };
}

/** Child: one cell. Prints a JSON line per compile (the warm-up first), then the peak RSS. */
function childCell(shape: Shape, n: number, limitS: number, runsArg?: number): void {
  const dir = mkdtempSync(join(tmpdir(), 'meshcap-scale-'));
  try {
    const file = join(dir, `${shape.name}-${n}.intercept`);
    const { text } = shape.make(n);
    writeFileSync(file, text);
    const warnings = loadText(file, text, 'intercept').diagnostics.filter((d) => d.severity === 'warning').map((d) => d.code);
    emit({ type: 'policy', bytes: text.length, warnings: [...new Set(warnings)] });
    const start = performance.now();
    const one = (warm: boolean) => {
      const t0 = performance.now();
      const ctx = compile(file, { backends: BACKENDS });
      const f = figures(ctx, performance.now() - t0, warm);
      emit(f);
      return f;
    };
    const w = one(true);
    // k runs after the warm-up, as many as fit in 60% of what is left of the limit (1 to 5).
    const left = limitS * 1000 * 0.6 - (performance.now() - start);
    const k = runsArg ?? Math.max(1, Math.min(5, Math.floor(left / Math.max(w.total, 1))));
    for (let i = 0; i < k; i++) one(false);
    emit({ type: 'end', maxRss: process.resourceUsage().maxRSS / 1024 });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Child: the difference check of one shape at size n. */
function childDiff(shape: Shape, n: number): void {
  const { text, mid } = shape.make(n);
  const l = loadText(`${shape.name}.intercept`, text, 'intercept');
  if (!l.policy) throw new Error('the policy does not load');
  const ir = lower(l.policy);
  const { mutant, where } = withoutItem(ir, mid);
  emit({ type: 'mutant', item: mid.text, where });
  const report = (against: string, r: EquivResult, ms: number) => {
    const p = r.counterexample?.packet;
    emit({ type: 'diff', against, result: r.result, ms, classes: r.classes, inItem: p ? packetIn(p, mid) : false, packet: p ?? null, reason: r.reason ?? null });
  };
  let t0 = performance.now();
  report('IR', equivalent(rulesSide('IR', ir), rulesSide('mutant', mutant)), performance.now() - t0);
  t0 = performance.now();
  report('meaning', equivalent(meaningSide('policy meaning', new Meaning(l.policy)), rulesSide('mutant', mutant)), performance.now() - t0);
  emit({ type: 'end', maxRss: process.resourceUsage().maxRSS / 1024 });
}

// ---- the parent: children under a time limit and an RSS cap ----------------------------------

interface Child {
  lines: Record<string, unknown>[];
  status: 'ok' | 'over limit' | 'over RSS cap' | 'failed';
  error?: string;
  /** Peak RSS in MB: the child's own figure, or the last one the parent read from /proc. */
  peakMb?: number;
  wallMs: number;
}

function hwmMb(pid: number): { rss: number; hwm: number } | undefined {
  try {
    const s = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (k: string) => Number(new RegExp(`^${k}:\\s+(\\d+)`, 'm').exec(s)?.[1] ?? NaN);
    return { rss: kb('VmRSS') / 1024, hwm: kb('VmHWM') / 1024 };
  } catch {
    return undefined;
  }
}

function runChild(args: string[], limitS: number, capMb: number, jsonLines = true): Promise<Child> {
  return new Promise((resolve) => {
    const t0 = performance.now();
    const cp = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    let status: Child['status'] = 'ok';
    let peak: number | undefined;
    cp.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
    cp.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
    const kill = (why: Child['status']) => {
      if (status === 'ok') status = why;
      cp.kill('SIGKILL');
    };
    const watch = setInterval(() => {
      const m = cp.pid === undefined ? undefined : hwmMb(cp.pid);
      // An exiting process has no memory figures any more (NaN): keep the last reading.
      if (!m || Number.isNaN(m.hwm)) return;
      peak = Math.max(peak ?? 0, m.hwm);
      if (m.rss > capMb) kill('over RSS cap');
    }, 200);
    const timer = setTimeout(() => kill('over limit'), limitS * 1000);
    cp.on('close', (code) => {
      clearInterval(watch);
      clearTimeout(timer);
      const lines: Record<string, unknown>[] = [];
      if (jsonLines) {
        for (const l of out.split('\n')) {
          if (!l.trim()) continue;
          try {
            lines.push(JSON.parse(l) as Record<string, unknown>);
          } catch {
            // a line cut by the kill
          }
        }
      }
      const end = lines.find((l) => l.type === 'end');
      if (end) peak = end.maxRss as number;
      const res: Child = { lines, status, peakMb: peak, wallMs: performance.now() - t0 };
      if (status === 'ok' && code !== 0) {
        res.status = 'failed';
        res.error = (err.trim().split('\n').find((l) => /Error/.test(l)) ?? err.trim().split('\n')[0] ?? `exit ${code}`).slice(0, 200);
      }
      resolve(res);
    });
  });
}

interface CellRow {
  shape: string;
  n: number;
  status: string;
  total?: number;
  meaning?: number;
  outputs?: number;
  runs: number;
  classes?: RunFigures['classes'];
  passes?: RunFigures['passes'];
  peakMb?: number;
  warnings?: string[];
}

async function cell(shape: Shape, n: number, limitS: number, capMb: number): Promise<CellRow> {
  const c = await runChild([self, '--child', 'cell', '--shape', shape.name, '--n', String(n), '--limit', String(limitS)], limitS, capMb);
  const runs = c.lines.filter((l) => l.type === 'run') as unknown as RunFigures[];
  const timed = runs.filter((r) => !r.warm);
  const use = timed.length ? timed : runs;
  const policy = c.lines.find((l) => l.type === 'policy') as { warnings: string[] } | undefined;
  const row: CellRow = { shape: shape.name, n, status: c.status, runs: timed.length, peakMb: c.peakMb, warnings: policy?.warnings };
  if (c.status === 'failed') row.status = `FAILED: ${c.error}`;
  else if (c.status !== 'ok') row.status = `${c.status} (killed after ${(c.wallMs / 1000).toFixed(0)} s${use.length ? (timed.length ? `, ${timed.length} timed runs done` : ', warm-up run only') : ''})`;
  else if (!timed.length) row.status = 'FAILED: no timed run';
  if (use.length) {
    row.total = median(use.map((r) => r.total));
    row.meaning = median(use.map((r) => r.meaning));
    row.outputs = median(use.map((r) => r.outputs));
    const mid = use.find((r) => r.total === row.total) ?? use[0];
    row.classes = mid.classes;
    row.passes = mid.passes;
  }
  return row;
}

interface DiffRow {
  shape: string;
  n: number;
  item?: string;
  where?: string;
  status: string;
  checks: { against: string; result: string; ms: number; inItem: boolean; packet: Packet | null }[];
}

async function diffCheck(shape: Shape, n: number, limitS: number, capMb: number): Promise<DiffRow> {
  const c = await runChild([self, '--child', 'diff', '--shape', shape.name, '--n', String(n)], limitS, capMb);
  const m = c.lines.find((l) => l.type === 'mutant') as { item: string; where: string } | undefined;
  const checks = c.lines.filter((l) => l.type === 'diff') as unknown as DiffRow['checks'];
  const status = c.status === 'failed' ? `FAILED: ${c.error}` : c.status === 'ok' ? 'ok' : `${c.status} (killed after ${(c.wallMs / 1000).toFixed(0)} s)`;
  return { shape: shape.name, n, item: m?.item, where: m?.where, status, checks };
}

async function coldCli(shape: Shape, n: number, limitS: number, capMb: number): Promise<{ shape: string; n: number; status: string; ms?: number; peakMb?: number }> {
  const dir = mkdtempSync(join(tmpdir(), 'meshcap-scale-cli-'));
  try {
    const file = join(dir, `${shape.name}-${n}.intercept`);
    writeFileSync(file, shape.make(n).text);
    const c = await runChild([join(root, 'dist', 'src', 'cli', 'main.js'), 'compile', '--backend', BACKENDS.join(','), file, '-o', join(dir, 'out')], limitS, capMb, false);
    const status = c.status === 'failed' ? `FAILED: ${c.error}` : c.status === 'ok' ? 'ok' : `${c.status} (killed after ${(c.wallMs / 1000).toFixed(0)} s)`;
    return { shape: shape.name, n, status, ms: c.status === 'ok' ? c.wallMs : undefined, peakMb: c.peakMb };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const fmtMs = (x?: number) => (x === undefined ? '-' : x >= 100 ? x.toFixed(0) : x.toFixed(1));
const fmtN = (n: number) => (n % 1000 === 0 ? `${n / 1000}k` : String(n));
const shortStage = (s: string) => s.replace('policy meaning = IR', 'm=IR').replace(/^IR = /, '').replace(/ output$/, '');

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      quick: { type: 'boolean', default: false },
      shape: { type: 'string', multiple: true },
      n: { type: 'string', multiple: true },
      limit: { type: 'string', default: '120' },
      'max-rss': { type: 'string', default: '4000' },
      'check-n': { type: 'string' },
      'no-diff': { type: 'boolean', default: false },
      'no-cold': { type: 'boolean', default: false },
      all: { type: 'boolean', default: false },
      runs: { type: 'string' },
      child: { type: 'string' },
    },
  });
  const limitS = Number(values.limit);
  const capMb = Number(values['max-rss']);
  const shapeNames = (values.shape ?? []).flatMap((s) => s.split(',')).filter(Boolean);
  const shapes = shapeNames.length ? shapeNames.map((s) => shapeByName(s) ?? fail(`unknown shape ${s} (shapes: ${SHAPES.map((x) => x.name).join(', ')})`)) : SHAPES;
  const ns = (values.n ?? []).flatMap((s) => s.split(',')).filter(Boolean).map((s) => Number(s.replace(/k$/, '000')));
  const sizes = ns.length ? ns : values.quick ? [100, 1000] : [100, 1000, 10000, 50000];
  if (sizes.some((n) => !Number.isInteger(n) || n < 1) || !(limitS > 0) || !(capMb > 0)) fail('--n, --limit and --max-rss take positive numbers');

  if (values.child) {
    if (shapes.length !== 1 || sizes.length !== 1) fail('a child runs one cell');
    if (values.child === 'cell') childCell(shapes[0], sizes[0], limitS, values.runs ? Number(values.runs) : undefined);
    else if (values.child === 'diff') childDiff(shapes[0], sizes[0]);
    else fail(`unknown child ${values.child}`);
    return 0;
  }

  const checkN = values['check-n'] ? Number(values['check-n']) : ns.length ? Math.max(...sizes.filter((n) => n <= 10000), Math.min(...sizes)) : values.quick ? 1000 : 10000;
  const say = (s: string) => process.stdout.write(s + '\n');
  const note = (s: string) => process.stderr.write(s + '\n');
  const cpu = cpus();
  say(`# meshcap proof at scale — ${new Date().toISOString().slice(0, 10)}${values.quick ? ' (quick)' : ''}`);
  say('');
  say(`Machine: ${cpu[0]?.model ?? '?'}, ${cpu.length} cores, ${(totalmem() / 2 ** 30).toFixed(0)} GB; Node ${process.version}; load average at start ${loadavg().map((x) => x.toFixed(2)).join(' ')} (a shared machine: other work ran beside this).`);
  say(`Whole compile() to ${BACKENDS.join(', ')} with every proof, warm in-process (one warm-up, then the median of k runs), each cell in its own process; limit ${limitS} s and RSS cap ${capMb} MB per cell.`);
  say('');

  const rows: CellRow[] = [];
  for (const shape of shapes) {
    let over = false;
    for (const n of sizes) {
      if (over && !values.all) {
        rows.push({ shape: shape.name, n, status: 'not run (a smaller N was over the limit; --all runs it)', runs: 0 });
        continue;
      }
      note(`cell ${shape.name} ${fmtN(n)} ...`);
      const r = await cell(shape, n, limitS, capMb);
      note(`  ${r.status} ${fmtMs(r.total)} ms`);
      rows.push(r);
      if (r.status !== 'ok') over = true;
    }
  }
  say('| shape | N | total ms | meaning=IR ms | IR=outputs ms | classes (m=IR / outputs) | peak RSS MB | status |');
  say('|---|---:|---:|---:|---:|---:|---:|---|');
  for (const r of rows) {
    const cls = r.classes ? `${r.classes.filter((c) => c.stage === 'policy meaning = IR').reduce((a, c) => a + c.classes, 0)} / ${r.classes.filter((c) => c.stage !== 'policy meaning = IR').reduce((a, c) => a + c.classes, 0)}` : '-';
    const rss = r.peakMb === undefined ? '-' : `${r.status === 'ok' ? '' : '≥'}${r.peakMb.toFixed(0)}`;
    say(`| ${r.shape} | ${fmtN(r.n)} | ${fmtMs(r.total)} | ${fmtMs(r.meaning)} | ${fmtMs(r.outputs)} | ${cls} | ${rss} | ${r.status}${r.runs ? ` (k=${r.runs})` : ''}${r.warnings?.length ? `; warnings: ${r.warnings.join(', ')}` : ''} |`);
  }
  say('');
  say('Growth 10k -> 50k, exponent log(t50k/t10k)/log(5) of the total (n log n is about 1.1 here, linear 1.0):');
  say('');
  for (const shape of shapes) {
    const t10 = rows.find((r) => r.shape === shape.name && r.n === 10000);
    const t50 = rows.find((r) => r.shape === shape.name && r.n === 50000);
    const ok = (r?: CellRow) => r?.status === 'ok' && r.total !== undefined;
    say(`- ${shape.name}: ${ok(t10) && ok(t50) ? (Math.log(t50!.total! / t10!.total!) / Math.log(5)).toFixed(2) : `n/a (${!t10 || !t50 ? 'not in this grid' : 'a cell did not finish'})`}`);
  }
  say('');
  say('Per check (the median run): classes and ms of each proof, and each pass of the pipeline:');
  say('');
  for (const r of rows) {
    if (!r.classes || !r.passes) continue;
    say(`- ${r.shape} ${fmtN(r.n)}: ${r.classes.map((c) => `${shortStage(c.stage)} ${c.classes} cl ${fmtMs(c.ms)} ms`).join('; ')} | ${r.passes.map((p) => `${p.pass} ${fmtMs(p.ms)}`).join(', ')}`);
  }

  if (!values['no-diff']) {
    say('');
    say(`Still finds differences (N = ${fmtN(checkN)}): one item from the middle of the long list taken out of the IR; the engine must say different, with a counterexample in that item:`);
    say('');
    say('| shape | item taken out | where | vs IR | vs meaning | status |');
    say('|---|---|---|---|---|---|');
    for (const shape of shapes) {
      note(`difference check ${shape.name} ${fmtN(checkN)} ...`);
      const d = await diffCheck(shape, checkN, limitS, capMb);
      const cellOf = (against: string) => {
        const c = d.checks.find((x) => x.against === against);
        if (!c) return 'not reached';
        return `${c.result === 'different' && c.inItem ? 'yes' : 'NO'} (${c.result}${c.result === 'different' && !c.inItem ? ', packet outside the item' : ''}, ${fmtMs(c.ms)} ms)`;
      };
      say(`| ${shape.name} | ${d.item ?? '-'} | ${d.where ?? '-'} | ${cellOf('IR')} | ${cellOf('meaning')} | ${d.status} |`);
    }
  }

  if (!values['no-cold']) {
    say('');
    say(`Cold CLI, one run: node dist/src/cli/main.js compile --backend ${BACKENDS.join(',')} FILE -o DIR (N = ${fmtN(checkN)}):`);
    say('');
    say('| shape | N | wall ms | peak RSS MB | status |');
    say('|---|---:|---:|---:|---|');
    for (const shape of shapes) {
      const warm = rows.find((r) => r.shape === shape.name && r.n === checkN);
      if (warm && warm.status !== 'ok' && !values.all) {
        say(`| ${shape.name} | ${fmtN(checkN)} | - | - | not run (the warm cell was not ok; --all runs it) |`);
        continue;
      }
      note(`cold CLI ${shape.name} ${fmtN(checkN)} ...`);
      const c = await coldCli(shape, checkN, limitS, capMb);
      say(`| ${c.shape} | ${fmtN(c.n)} | ${fmtMs(c.ms)} | ${c.peakMb === undefined ? '-' : c.peakMb.toFixed(0)} | ${c.status} |`);
    }
  }
  say('');
  say(`Load average at the end: ${loadavg().map((x) => x.toFixed(2)).join(' ')}.`);
  return 0;
}

function fail(msg: string): never {
  process.stderr.write(`scale.bench: ${msg}\n`);
  process.exit(3);
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) process.exitCode = await main();
