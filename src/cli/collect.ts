// Taking a snapshot (src/compile/snapshot.ts gives the format): every tool that reads what
// shapes capture, run in the namespace (ip netns exec NAME, nsenter -t PID -n, or here). A
// tool that is missing or fails is recorded with its error; the snapshot fails only when
// the namespace cannot be entered.
import { spawnSync } from 'node:child_process';
import { diag, type Diagnostic } from '../diagnostics/diagnostic.js';
import { SNAPSHOT_VERSION, type Snapshot, type SnapshotSource } from '../compile/snapshot.js';

export interface Where {
  netns?: string;
  pid?: number;
}

const SYSCTLS = [
  'net.ipv4.conf.all.route_localnet',
  'net.ipv4.ip_forward',
  'net.ipv6.conf.all.forwarding',
  'net.ipv4.conf.all.rp_filter',
  'net.ipv4.conf.all.src_valid_mark',
  'net.ipv4.ip_local_port_range',
  'net.ipv6.conf.all.disable_ipv6',
];

function prefix(w: Where): string[] {
  if (w.netns) return ['ip', 'netns', 'exec', w.netns];
  if (w.pid !== undefined) return ['nsenter', '-t', String(w.pid), '-n'];
  return [];
}

/** A command run in the namespace (its output, or why it failed). */
export function exec(w: Where, cmd: string[]): { ok: boolean; out: string; err: string } {
  const full = [...prefix(w), ...cmd];
  const r = spawnSync(full[0], full.slice(1), { encoding: 'utf8', timeout: 20000, maxBuffer: 256 * 1024 * 1024 });
  if (r.error) return { ok: false, out: '', err: (r.error as NodeJS.ErrnoException).code === 'ENOENT' ? `${full[0]}: not installed` : r.error.message };
  return { ok: r.status === 0, out: r.stdout, err: (r.stderr || `exit ${r.status}`).trim() };
}

/** A snapshot of the namespace, or the diagnostic saying why none could be taken. */
export function takeSnapshot(w: Where): { snapshot?: Snapshot; diagnostic?: Diagnostic } {
  const probe = exec(w, ['true']);
  if (!probe.ok) {
    const hint = w.netns ? "list the namespaces with 'ip netns list'" : w.pid !== undefined ? 'give the pid of a process in the pod (root is needed to enter its namespace)' : 'run as root';
    return { diagnostic: diag('rules-snapshot-collect', undefined, { detail: probe.err, hint }) };
  }
  const sources: SnapshotSource[] = [];
  for (const [name, family] of [['iptables-legacy', 'ipv4'], ['ip6tables-legacy', 'ipv6'], ['iptables-nft', 'ipv4'], ['ip6tables-nft', 'ipv6']] as const) {
    const command = `${name}-save`;
    const r = exec(w, [command]);
    sources.push({ name, format: 'iptables-save', family, command, ...(r.ok ? { text: r.out } : { error: r.err }) });
  }
  const nft = exec(w, ['nft', '-j', 'list', 'ruleset']);
  sources.push({ name: 'nft', format: 'nft-json', command: 'nft -j list ruleset', ...(nft.ok ? { text: nft.out.trim() || '{"nftables":[]}' } : { error: nft.err }) });
  if (sources.every((s) => s.error)) return { diagnostic: diag('rules-snapshot-collect', undefined, { detail: `no tool could read the rules (${sources.map((s) => s.error).join('; ')})`, hint: 'install iptables and nftables, and run as root' }) };
  const text = (cmd: string[]) => {
    const r = exec(w, cmd);
    return r.ok ? r.out : `error: ${r.err}`;
  };
  const version = (cmd: string[]) => text(cmd).trim().split('\n')[0];
  const sysctls: Record<string, string> = {};
  for (const k of SYSCTLS) sysctls[k] = text(['sysctl', '-n', k]).trim();
  return {
    snapshot: {
      meshcapSnapshot: SNAPSHOT_VERSION,
      taken: new Date().toISOString(),
      namespace: w.netns ? { netns: w.netns } : w.pid !== undefined ? { pid: w.pid } : { current: true },
      kernel: version(['uname', '-r']),
      tools: {
        'iptables-legacy': version(['iptables-legacy', '--version']),
        'iptables-nft': version(['iptables-nft', '--version']),
        nft: version(['nft', '--version']),
        ip: version(['ip', '-V']),
      },
      sources,
      routing: {
        rule4: text(['ip', '-4', 'rule', 'show']),
        rule6: text(['ip', '-6', 'rule', 'show']),
        local4: text(['ip', '-4', 'route', 'show', 'table', 'all', 'type', 'local']),
        local6: text(['ip', '-6', 'route', 'show', 'table', 'all', 'type', 'local']),
        lo: text(['ip', 'addr', 'show', 'dev', 'lo']),
      },
      sysctls,
    },
  };
}
