// The kernel oracle's test network: a `pod` and a `peer` namespace joined by veth pairs,
// private addresses inside them only, nothing connected to the host namespace. One agent
// (agent.py) per namespace listens and sends probes. Everything is deleted afterwards,
// also when a case fails.
import { spawn, spawnSync, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import type { Family } from '../../../src/ir/types.js';

/** The test's own hosts. Every address a probe is sent to is one of these. */
export const POD: Record<Family, string> = { ipv4: '10.77.0.1', ipv6: 'fd77::1' };
export const PEER: Record<Family, string> = { ipv4: '10.77.0.2', ipv6: 'fd77::2' };
/** Routed by the peer to the pod, not an address of the pod: what TPROXY must deliver by policy routing. */
export const NONLOCAL: Record<Family, string> = { ipv4: '10.77.9.9', ipv6: 'fd77:9::9' };
export const LOOPBACK: Record<Family, string> = { ipv4: '127.0.0.1', ipv6: '::1' };
export const PASSTHROUGH_V6 = '::6';
/** The pod's main interface (the name policies call the pod's NIC). */
export const MAIN_IF = 'eth0';

/** Addresses of the pod and the peer on the i-th extra link (1-based). */
export function extraLink(i: number): { pod: Record<Family, string>; peer: Record<Family, string>; peerIf: string; nonlocal: Record<Family, string> } {
  return {
    pod: { ipv4: `10.78.${i}.1`, ipv6: `fd78:${i}::1` },
    peer: { ipv4: `10.78.${i}.2`, ipv6: `fd78:${i}::2` },
    peerIf: `p${i}`,
    // Routed by the peer to the pod over this link, an address of neither: what a VM's
    // traffic through a rerouted interface looks like.
    nonlocal: { ipv4: `10.79.${i}.9`, ipv6: `fd79:${i}::9` },
  };
}

/** Fixed MAC addresses, so that the neighbours can be written down instead of resolved. */
const mac = (link: number, side: 1 | 2) => `02:00:00:77:${link.toString(16).padStart(2, '0')}:0${side}`;

export interface Exec {
  status: number;
  stdout: string;
  stderr: string;
}

/** Run a command; one that hangs is killed after `timeoutMs` (the lab is still torn down). */
export function exec(cmd: string, args: string[], input?: string, timeoutMs = 60_000): Promise<Exec> {
  return new Promise((resolve) => {
    const p = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'pipe'], timeout: timeoutMs, killSignal: 'SIGKILL' });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d) => (stdout += d));
    p.stderr.on('data', (d) => (stderr += d));
    p.on('error', (e) => resolve({ status: -1, stdout, stderr: stderr + e.message }));
    p.on('close', (code) => resolve({ status: code ?? -1, stdout, stderr }));
    // A command that does not read its input may exit before we finish writing it.
    p.stdin.on('error', () => undefined);
    p.stdin.end(input ?? '');
  });
}

async function must(cmd: string, args: string[], input?: string): Promise<Exec> {
  const r = await exec(cmd, args, input);
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (${r.status}): ${r.stderr.trim()}`);
  return r;
}

const python = existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3';

/** The agents need python3 (3.8+, for asyncio's socket methods); fail loudly without it. */
export function requireAgentRuntime(): void {
  const r = spawnSync(python, ['-c', 'import asyncio, socket, struct; asyncio.get_event_loop_policy()'], { encoding: 'utf8' });
  if (r.status !== 0) {
    const msg = `KERNEL ORACLE CANNOT RUN: ${python} is missing or broken (${(r.stderr || r.error?.message || '').trim()}); .ci/run installs python3.`;
    process.stderr.write(`\n*** ${msg} ***\n\n`);
    throw new Error(msg);
  }
}
const agentPath = join(dirname(fileURLToPath(import.meta.url)), 'agent.py');
// The agent is plain Python beside this file; vitest runs the TypeScript in place.
const agentSource = existsSync(agentPath) ? agentPath : join(process.cwd(), 'test', 'kernel', 'oracle', 'agent.py');

/** A running agent: one JSON request, one JSON answer, in order. */
export class Agent {
  private waiting: ((v: unknown) => void)[] = [];
  private lines: unknown[] = [];
  private stderr = '';
  private closed = false;
  private constructor(private proc: ChildProcessWithoutNullStreams, readonly where: string) {
    createInterface({ input: proc.stdout }).on('line', (l) => {
      let v: unknown;
      try {
        v = JSON.parse(l);
      } catch {
        v = { error: `agent printed ${l}` };
      }
      const w = this.waiting.shift();
      if (w) w(v);
      else this.lines.push(v);
    });
    proc.stderr.on('data', (d) => (this.stderr += d));
    proc.on('close', () => {
      this.closed = true;
      for (const w of this.waiting.splice(0)) w({ error: `agent in ${where} exited: ${this.stderr.trim()}` });
    });
  }

  static async start(ns: string): Promise<Agent> {
    const proc = spawn('ip', ['netns', 'exec', ns, python, agentSource], { stdio: ['pipe', 'pipe', 'pipe'] });
    const a = new Agent(proc, ns);
    const ready = (await a.next(30_000)) as { ready?: boolean; error?: string };
    if (!ready.ready) {
      proc.kill('SIGKILL');
      throw new Error(`agent in ${ns} did not start: ${ready.error ?? JSON.stringify(ready)}`);
    }
    return a;
  }

  /** The next answer; a hung agent is killed after `timeoutMs`. */
  private next(timeoutMs: number): Promise<unknown> {
    const l = this.lines.shift();
    if (l !== undefined) return Promise.resolve(l);
    if (this.closed) return Promise.resolve({ error: `agent in ${this.where} exited: ${this.stderr.trim()}` });
    return new Promise((r) => {
      const t = setTimeout(() => {
        this.proc.kill('SIGKILL');
        r({ error: `agent in ${this.where} gave no answer in ${timeoutMs} ms` });
      }, timeoutMs);
      this.waiting.push((v) => {
        clearTimeout(t);
        r(v);
      });
    });
  }

  async request<T>(msg: object, timeoutMs = 60_000): Promise<T> {
    this.proc.stdin.write(JSON.stringify(msg) + '\n');
    const v = (await this.next(timeoutMs)) as T & { error?: string };
    if (v.error) throw new Error(`agent in ${this.where}: ${v.error}`);
    return v;
  }

  async stop(): Promise<void> {
    if (this.closed) return;
    this.proc.stdin.end(JSON.stringify({ cmd: 'quit' }) + '\n');
    await new Promise<void>((r) => {
      const t = setTimeout(() => {
        this.proc.kill('SIGKILL');
        r();
      }, 2000);
      this.proc.on('close', () => {
        clearTimeout(t);
        r();
      });
      if (this.closed) {
        clearTimeout(t);
        r();
      }
    });
  }
}

let counter = 0;
/** This process created /etc/netns (for owner names), so it removes it when empty. */
let madeEtcNetns = false;

export interface Lab {
  pod: string;
  peer: string;
  /** Extra pod interfaces by name (beyond eth0), in link order. */
  extraIfs: string[];
}

/**
 * Builds the pod and the peer: eth0 (10.77.0.1/24, fd77::1/64) <-> p0 (10.77.0.2, fd77::2),
 * one more veth pair per extra interface name, `::6` on the pod's lo, default routes from the
 * pod to the peer, the peer's extra target addresses on its lo, and the non-local prefix
 * routed from the peer to the pod. Forwarding stays off in the pod (a fresh namespace's
 * default).
 */
export async function createLab(extraIfs: string[], peerTargets: string[], names?: { users: Map<string, number>; groups: Map<string, number> }): Promise<Lab> {
  const id = `${process.pid}-${++counter}`;
  const lab: Lab = { pod: `mco-${id}-pod`, peer: `mco-${id}-peer`, extraIfs };
  try {
    if (names && (names.users.size || names.groups.size)) {
      // `ip netns exec POD` bind-mounts /etc/netns/POD/* over /etc: the names exist only there.
      const etc = `/etc/netns/${lab.pod}`;
      if (!existsSync('/etc/netns')) madeEtcNetns = true;
      mkdirSync(etc, { recursive: true });
      // The host's own entries of those names are dropped, so that the lab's ids count.
      const extra = (file: string, entries: Map<string, number>, line: (n: string, id: number) => string) => {
        const host = readFileSync(`/etc/${file}`, 'utf8').split('\n').filter((l) => l && !entries.has(l.split(':')[0]));
        writeFileSync(`${etc}/${file}`, [...host, ...[...entries].map(([n, id]) => line(n, id))].join('\n') + '\n');
      };
      extra('passwd', names.users, (n, u) => `${n}:x:${u}:${u}::/nonexistent:/usr/sbin/nologin`);
      extra('group', names.groups, (n, g) => `${n}:x:${g}:`);
    }
    await must('ip', ['netns', 'add', lab.pod]);
    await must('ip', ['netns', 'add', lab.peer]);
    const pod: string[] = ['link set lo up', `addr add ${PASSTHROUGH_V6}/128 dev lo nodad`];
    const peer: string[] = ['link set lo up'];
    const links: [string, string, Record<Family, string>, Record<Family, string>][] = [[MAIN_IF, 'p0', POD, PEER]];
    extraIfs.forEach((name, k) => {
      const l = extraLink(k + 1);
      links.push([name, l.peerIf, l.pod, l.peer]);
    });
    for (const [k, [podIf, peerIf, podAddr, peerAddr]] of links.entries()) {
      await must('ip', ['-n', lab.pod, 'link', 'add', podIf, 'address', mac(k, 1), 'type', 'veth', 'peer', 'name', peerIf, 'address', mac(k, 2), 'netns', lab.peer]);
      pod.push(`link set ${podIf} up`, `addr add ${podAddr.ipv4}/24 dev ${podIf}`, `addr add ${podAddr.ipv6}/64 dev ${podIf} nodad`);
      peer.push(`link set ${peerIf} up`, `addr add ${peerAddr.ipv4}/24 dev ${peerIf}`, `addr add ${peerAddr.ipv6}/64 dev ${peerIf} nodad`);
      // Written-down neighbours: no probe waits for (or is queued behind) ARP or ND.
      for (const f of ['ipv4', 'ipv6'] as Family[]) {
        pod.push(`neigh replace ${peerAddr[f]} lladdr ${mac(k, 2)} dev ${podIf} nud permanent`);
        peer.push(`neigh replace ${podAddr[f]} lladdr ${mac(k, 1)} dev ${peerIf} nud permanent`);
      }
      if (k > 0) {
        const l = extraLink(k);
        peer.push(`route add ${l.nonlocal.ipv4}/32 via ${podAddr.ipv4}`, `route add ${l.nonlocal.ipv6}/128 via ${podAddr.ipv6}`);
      }
    }
    pod.push(`route add default via ${PEER.ipv4}`, `route add default via ${PEER.ipv6}`);
    peer.push(`route add 10.77.9.0/24 via ${POD.ipv4}`, `route add fd77:9::/64 via ${POD.ipv6}`);
    for (const t of peerTargets) peer.push(t.includes(':') ? `addr add ${t}/128 dev lo nodad` : `addr add ${t}/32 dev lo`);
    await must('ip', ['-n', lab.pod, '-batch', '-'], pod.join('\n') + '\n');
    await must('ip', ['-n', lab.peer, '-batch', '-'], peer.join('\n') + '\n');
    // A new namespace copies the host's IPv4 settings: make forwarding (off, as the model
    // says) and reverse-path filtering (off) the lab's own, whatever the host has.
    const sysctl = 'for f in /proc/sys/net/ipv4/ip_forward /proc/sys/net/ipv6/conf/all/forwarding /proc/sys/net/ipv4/conf/all/rp_filter /proc/sys/net/ipv4/conf/default/rp_filter; do echo 0 > "$f"; done';
    for (const ns of [lab.pod, lab.peer]) await must('ip', ['netns', 'exec', ns, 'sh', '-c', sysctl]);
  } catch (e) {
    // Half a lab is still deleted.
    await destroyLab(lab);
    throw e;
  }
  return lab;
}

export async function destroyLab(lab: Lab): Promise<void> {
  await exec('ip', ['netns', 'del', lab.pod]);
  await exec('ip', ['netns', 'del', lab.peer]);
  rmSync(`/etc/netns/${lab.pod}`, { recursive: true, force: true });
  if (madeEtcNetns) {
    // Leave no /etc/netns behind if we made it (once it is empty).
    try {
      rmdirSync('/etc/netns');
    } catch {
      /* not empty yet: a later case removes it */
    }
  }
}

/**
 * Namespaces (and /etc/netns entries) a killed earlier run left behind: the names carry the
 * pid of the run that made them, and only those of runs no longer alive are removed.
 */
export async function sweepStaleLabs(): Promise<string[]> {
  const names = (await exec('ip', ['netns', 'list'])).stdout.split('\n').map((l) => l.split(' ')[0]);
  const stale = names.filter((n) => {
    const m = /^mco-(\d+)-\d+-(pod|peer)$/.exec(n);
    if (!m || Number(m[1]) === process.pid) return false;
    try {
      process.kill(Number(m[1]), 0);
      return false;
    } catch {
      return true;
    }
  });
  for (const n of stale) {
    await exec('ip', ['netns', 'del', n]);
    rmSync(`/etc/netns/${n}`, { recursive: true, force: true });
  }
  return stale;
}

export function inNs(ns: string, cmd: string, args: string[], input?: string): Promise<Exec> {
  return exec('ip', ['netns', 'exec', ns, cmd, ...args], input);
}
