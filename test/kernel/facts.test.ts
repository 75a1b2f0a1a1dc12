// The facts of docs/facts.md marked "seen", checked on this kernel in a throwaway
// namespace: what a pod's sockets can and cannot make the kernel send. Counters in the
// OUTPUT chain say which packets met netfilter and through which interface.
import { describe, expect, it } from 'vitest';
import { requireKernel, run, withNetns } from './netns.js';

requireKernel();

/** A namespace with lo and a veth pair (eth0 addressed, its peer in the same namespace). */
function pod<T>(fn: (ns: string) => T): T {
  return withNetns((ns) => {
    const sh = (...cmd: string[]) => expect(run(ns, cmd[0], cmd.slice(1)).status, cmd.join(' ')).toBe(0);
    sh('ip', 'link', 'add', 'eth0', 'type', 'veth', 'peer', 'name', 'eth1');
    sh('ip', 'link', 'set', 'eth0', 'up');
    sh('ip', 'link', 'set', 'eth1', 'up');
    sh('ip', 'addr', 'add', '10.9.0.1/24', 'dev', 'eth0');
    sh('ip', 'addr', 'add', 'fd09::1/64', 'dev', 'eth0', 'nodad');
    return fn(ns);
  });
}

/** Run a python snippet in the namespace; its stdout, one result per line. */
function py(ns: string, code: string): string[] {
  const r = run(ns, 'python3', ['-c', code]);
  expect(r.status, r.stderr).toBe(0);
  return r.stdout.trim().split('\n');
}

const TRY = `
import socket, sys
def attempt(fam, kind, src, dst, port):
    s = socket.socket(fam, kind); s.settimeout(0.3)
    try:
        if src: s.bind((src, 0))
        if kind == socket.SOCK_STREAM: s.connect((dst, port))
        else: s.sendto(b'x', (dst, port))
        return 'sent'
    except OSError as e:
        return 'errno=%d' % (e.errno or 0) if e.errno else 'timeout'
    finally: s.close()
`;

/** Packets counted by an iptables OUTPUT rule. */
function counted(ns: string, tool: string, rule: string[]): number {
  const r = run(ns, tool, ['-w', '-L', 'OUTPUT', '-v', '-n', '-x']);
  expect(r.status, r.stderr).toBe(0);
  const line = r.stdout.split('\n').find((l) => rule.every((w) => l.includes(w)));
  expect(line, `a rule with ${rule.join(' ')} in\n${r.stdout}`).toBeDefined();
  return Number(line!.trim().split(/\s+/)[0]);
}

describe('the kernel facts the proofs rely on (docs/facts.md)', () => {
  it('F2: sendto UDP port 0 fails with EINVAL; a TCP connect to port 0 sends a SYN and is refused', () =>
    pod((ns) => {
      expect(run(ns, 'iptables-legacy', ['-w', '-A', 'OUTPUT', '-p', 'tcp', '--dport', '0']).status).toBe(0);
      const [udp, tcp] = py(ns, `${TRY}\nprint(attempt(socket.AF_INET, socket.SOCK_DGRAM, None, '127.0.0.1', 0))\nprint(attempt(socket.AF_INET, socket.SOCK_STREAM, None, '127.0.0.1', 0))`);
      expect(udp).toBe('errno=22');
      expect(tcp).toBe('errno=111');
      expect(counted(ns, 'iptables-legacy', ['dpt:0'])).toBeGreaterThan(0);
    }));

  it('F3: packets to 127.0.0.1 and ::1 leave through lo', () =>
    pod((ns) => {
      for (const [tool, dst] of [['iptables-legacy', '127.0.0.1'], ['ip6tables-legacy', '::1']] as const) {
        expect(run(ns, tool, ['-w', '-A', 'OUTPUT', '-p', 'udp', '--dport', '9', '!', '-o', 'lo']).status).toBe(0);
        expect(run(ns, tool, ['-w', '-A', 'OUTPUT', '-p', 'udp', '--dport', '9', '-o', 'lo']).status).toBe(0);
        const fam = dst.includes(':') ? 'AF_INET6' : 'AF_INET';
        expect(py(ns, `${TRY}\nprint(attempt(socket.${fam}, socket.SOCK_DGRAM, None, '${dst}', 9))`)).toEqual(['sent']);
        expect(counted(ns, tool, ['!lo', 'dpt:9']), tool).toBe(0);
        expect(counted(ns, tool, [' lo ', 'dpt:9']), tool).toBe(1);
      }
    }));

  it('F4: IPv4 cannot send from 127.0.0.1 through eth0 (EINVAL); IPv6 can send from ::1', () =>
    pod((ns) => {
      const out = py(ns, `${TRY}\nprint(attempt(socket.AF_INET, socket.SOCK_DGRAM, '127.0.0.1', '10.9.0.2', 9))\nprint(attempt(socket.AF_INET, socket.SOCK_STREAM, '127.0.0.1', '10.9.0.2', 9))\nprint(attempt(socket.AF_INET6, socket.SOCK_DGRAM, '::1', 'fd09::2', 9))`);
      expect(out).toEqual(['errno=22', 'errno=22', 'sent']);
      expect(run(ns, 'sysctl', ['-n', 'net.ipv4.conf.all.route_localnet']).stdout.trim()).toBe('0');
    }));
});
