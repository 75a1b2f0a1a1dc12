import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { requireKernel, run, withNetns } from './netns.js';

// 'attach first|last|standard' beside a kube-proxy-like service DNAT in nat OUTPUT, in a real
// kernel: a connection to the service address is NATed by whichever nat rule the kernel meets
// first, so it lands on the proxy's outbound port (meshcap's REDIRECT) or on the service's
// backend (the other tool's DNAT). The connection itself says which: the test listens on the
// proxy's port and on the service's backend (127.0.0.1:8080) and sees which one is reached.
requireKernel();

const CLI = resolve('dist/src/cli/main.js');
const dir = mkdtempSync(join(tmpdir(), 'meshcap-attach-'));

function policyFile(attach: string): string {
  const f = join(dir, `attach-${attach}.intercept`);
  writeFileSync(f, `policy attach_${attach} {\n  proxy {\n    uid 1337\n    outbound-port 15001\n    inbound-port 15006\n  }\n  inbound {\n    capture ports none\n  }\n  outbound {\n    capture cidrs *\n  }\n  attach ${attach}\n  families ipv4\n}\n`);
  return f;
}

const KUBE_IPTABLES = `*nat
:KUBE-SERVICES - [0:0]
-A OUTPUT -m comment --comment "kubernetes service portals" -j KUBE-SERVICES
-A KUBE-SERVICES -d 10.96.0.10/32 -p tcp --dport 80 -j DNAT --to-destination 127.0.0.1:8080
COMMIT
`;
const KUBE_NFT = `table ip kube-proxy {
  chain output {
    type nat hook output priority -100; policy accept;
    ip daddr 10.96.0.10 tcp dport 80 dnat to 127.0.0.1:8080
  }
}
`;

// Root's connection to the service (root is not the proxy's uid 1337, so it is captured).
const PROBE = `
import select, socket
def listen(port):
    l = socket.socket(); l.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); l.bind(('0.0.0.0', port)); l.listen(1); return l
proxy, backend = listen(15001), listen(8080)
c = socket.socket(); c.settimeout(2.0); c.connect(('10.96.0.10', 80))
ready, _, _ = select.select([proxy, backend], [], [], 2.0)
print('proxy' if ready == [proxy] else 'other tool' if ready == [backend] else 'nowhere')
`;

function node(ns: string): void {
  // A route to the service network (nothing there answers: both NATs lead back to this namespace).
  for (const cmd of [['link', 'add', 'eth0', 'type', 'veth', 'peer', 'name', 'eth1'], ['addr', 'add', '10.96.0.1/16', 'dev', 'eth0'], ['link', 'set', 'eth0', 'up'], ['link', 'set', 'eth1', 'up']]) {
    const r = run(ns, 'ip', cmd);
    expect(r.status, `ip ${cmd.join(' ')}: ${r.stderr}`).toBe(0);
  }
}
const probe = (ns: string) => {
  const r = run(ns, 'python3', ['-c', PROBE]);
  return r.stdout.trim() || r.stderr.trim();
};
const apply = (ns: string, ...args: string[]) => {
  const r = run(ns, process.execPath, [CLI, 'apply', ...args]);
  expect(r.status, r.stderr).toBe(0);
};

describe("'attach' beside another tool's nat rules, in a real kernel", () => {
  for (const flavour of ['legacy', 'nft'] as const) {
    const save = () => `iptables-${flavour}-save`;
    it(`iptables-${flavour}: 'first' inserts meshcap's jump ahead of kube-proxy's (the proxy gets the connection), 'last' and 'standard' append it (the service DNAT does); re-apply keeps the place, a new attach moves it`, { timeout: 60_000 }, () => {
      withNetns((ns) => {
        node(ns);
        expect(run(ns, `iptables-${flavour}-restore`, ['--noflush'], KUBE_IPTABLES).status).toBe(0);
        const output = () => run(ns, save(), ['-t', 'nat']).stdout.split('\n').filter((l) => l.startsWith('-A OUTPUT '));
        apply(ns, '--flavour', flavour, '--backend', 'iptables', policyFile('first'));
        expect(output()[0]).toMatch(/-j MESHCAP_OUTPUT_ENTRY$/);
        expect(probe(ns)).toBe('proxy');
        const listing = () => run(ns, save(), ['-t', 'nat']).stdout.replace(/^#.*\n/gm, '').replace(/\[\d+:\d+\]/g, '[0:0]');
        const listed = listing();
        apply(ns, '--flavour', flavour, '--backend', 'iptables', policyFile('first'));
        expect(listing()).toBe(listed);
        for (const attach of ['last', 'standard']) {
          apply(ns, '--flavour', flavour, '--backend', 'iptables', policyFile(attach));
          const out = output();
          expect(out[out.length - 1]).toMatch(/-j MESHCAP_OUTPUT_ENTRY$/);
          expect(out.filter((l) => l.includes('MESHCAP_'))).toHaveLength(1);
          expect(probe(ns)).toBe('other tool');
        }
      });
    });
  }

  it("nftables: meshcap's table one priority step before (first: -101) or after (last: -99) the other table; 'standard' (-100, equal) runs the table registered last first", { timeout: 60_000 }, () => {
    for (const [attach, lands, prio] of [['first', 'proxy', '-101'], ['last', 'other tool', '-99'], ['standard', 'proxy', '-100']] as const) {
      withNetns((ns) => {
        node(ns);
        expect(run(ns, 'nft', ['-f', '-'], KUBE_NFT).status).toBe(0);
        apply(ns, '--backend', 'nftables', policyFile(attach));
        expect(run(ns, 'nft', ['list', 'table', 'inet', `attach_${attach}`]).stdout).toMatch(new RegExp(`type nat hook output priority (dstnat ?${prio === '-100' ? '' : prio === '-101' ? '- 1' : '\\+ 1'}|${prio});`));
        expect(probe(ns), attach).toBe(lands);
      });
    }
  });
});
