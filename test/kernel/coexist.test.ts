import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { restrictTo } from '../../backends/index.js';
import { emitIptables } from '../../backends/iptables/emit.js';
import { importIptables } from '../../backends/iptables/import.js';
import { emitNftables } from '../../backends/nftables/emit.js';
import { importNftables } from '../../backends/nftables/import.js';
import { DEFAULT_NFT_VERSION } from '../../backends/nftables/versions.js';
import type { Family, RuleSet } from '../../src/ir/types.js';
import { loadFile } from '../../src/language/load.js';
import { lower } from '../../src/lower/lower.js';
import { SourceFile } from '../../src/source.js';
import { packetText } from '../../src/verify/compare.js';
import { equivalent } from '../../src/verify/engine.js';
import { rulesSide } from '../../src/verify/side.js';
import { requireKernel, run, withNetns } from './netns.js';

// meshcap's artifacts on a node that already runs other tools' rules (Docker's and
// kube-proxy's, as they write them): loaded by hand with --noflush and by `meshcap apply`,
// in both iptables flavours, and the nft artifact beside other nft tables. The other tools'
// chains, rules and policies stay exactly as they were; meshcap's rules, listed back, are
// proven equal to the IR for every packet; applying again changes nothing; removal leaves
// the node as it was before.
requireKernel();

const CLI = resolve('dist/src/cli/main.js');

const DOCKER_V4 = `*nat
:PREROUTING ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:POSTROUTING ACCEPT [0:0]
:DOCKER - [0:0]
-A PREROUTING -m addrtype --dst-type LOCAL -j DOCKER
-A OUTPUT ! -d 127.0.0.0/8 -m addrtype --dst-type LOCAL -j DOCKER
-A POSTROUTING -s 172.17.0.0/16 ! -o docker0 -j MASQUERADE
-A DOCKER -i docker0 -j RETURN
COMMIT
*filter
:INPUT ACCEPT [0:0]
:FORWARD DROP [0:0]
:OUTPUT ACCEPT [0:0]
:DOCKER-USER - [0:0]
-A FORWARD -j DOCKER-USER
-A DOCKER-USER -j RETURN
COMMIT
`;
const KUBE_PROXY_V4 = `*nat
:KUBE-SERVICES - [0:0]
:KUBE-POSTROUTING - [0:0]
:KUBE-MARK-MASQ - [0:0]
-A PREROUTING -m comment --comment "kubernetes service portals" -j KUBE-SERVICES
-A OUTPUT -m comment --comment "kubernetes service portals" -j KUBE-SERVICES
-A POSTROUTING -m comment --comment "kubernetes postrouting rules" -j KUBE-POSTROUTING
-A KUBE-MARK-MASQ -j MARK --or-mark 0x4000
-A KUBE-POSTROUTING -m mark ! --mark 0x4000/0x4000 -j RETURN
-A KUBE-POSTROUTING -j MASQUERADE
COMMIT
*mangle
:KUBE-KUBELET-CANARY - [0:0]
-A PREROUTING -p udp --dport 4789 -j MARK --set-xmark 0x10/0x10
COMMIT
`;
const KUBE_PROXY_V6 = `*nat
:KUBE-SERVICES - [0:0]
-A PREROUTING -m comment --comment "kubernetes service portals" -j KUBE-SERVICES
-A OUTPUT -j KUBE-SERVICES
COMMIT
`;

const SPECS = ['specs/istio-sidecar.intercept', 'specs/istio-tproxy.intercept', 'specs/dual-stack.intercept'].map((f) => ({ f, rs: lower(loadFile(f).policy!) }));
const FLAVOURS = ['legacy', 'nft'] as const;
const tool = (flavour: string, family: Family, what: string) => `${family === 'ipv4' ? 'iptables' : 'ip6tables'}-${flavour}-${what}`;

/** The listing without counters and comment lines: what a load may not change for others. */
function saved(ns: string, flavour: string, family: Family): string {
  const r = run(ns, tool(flavour, family, 'save'), []);
  expect(r.status, r.stderr).toBe(0);
  return r.stdout
    .split('\n')
    .filter((l) => l && !l.startsWith('#'))
    .map((l) => l.replace(/\[\d+:\d+\]/, '[0:0]'))
    .join('\n');
}

const isOurs = (l: string) => /^:MESHCAP_|^-A MESHCAP_|-[jg] MESHCAP_/.test(l);
/**
 * The other tools' lines, each with its table, in order: their chains and rules, and every
 * built-in chain policy that is not ACCEPT (a table meshcap adds lists its built-in chains, ACCEPT).
 */
function theirs(listing: string): string[] {
  let table = '';
  const out: string[] = [];
  for (const l of listing.split('\n')) {
    if (l.startsWith('*')) table = l;
    else if (l !== 'COMMIT' && !isOurs(l) && !/^:[A-Z]+ ACCEPT /.test(l)) out.push(`${table} ${l}`);
  }
  return out;
}

/** meshcap's rules as the kernel lists them, proven equal to the IR of that family. */
function expectOursEqual(listing: string, rs: RuleSet, family: Family, label: string): void {
  const ours = listing.split('\n').filter((l) => /^[*:]|^COMMIT$/.test(l) || isOurs(l)).join('\n') + '\n';
  const back = importIptables(new SourceFile(label, ours), family);
  expect(back.diagnostics.map((d) => d.message)).toEqual([]);
  const eq = equivalent(rulesSide('IR', restrictTo(rs, family)), rulesSide(label, back.ruleset!), { families: [family], maxDifferences: 3 });
  expect(eq.differences.map((d) => `${d.description}: ${packetText(d.packet)}`), eq.reason).toEqual([]);
  expect(eq.result, eq.reason).toBe('equal');
}

function loadForeign(ns: string, flavour: string): void {
  for (const [family, text] of [['ipv4', DOCKER_V4], ['ipv4', KUBE_PROXY_V4], ['ipv6', KUBE_PROXY_V6]] as const) {
    const r = run(ns, tool(flavour, family, 'restore'), ['--noflush'], text);
    expect(r.status, r.stderr).toBe(0);
  }
}

const families = (rs: RuleSet) => (['ipv4', 'ipv6'] as const).filter((f) => rs.tables.some((t) => t.family === f));

describe('iptables artifacts beside Docker and kube-proxy rules', () => {
  for (const { f, rs } of SPECS) {
    for (const flavour of FLAVOURS) {
      it(`${f}, iptables-${flavour}: loaded by hand with --noflush, theirs untouched and ours equal to the IR`, () => {
        withNetns((ns) => {
          loadForeign(ns, flavour);
          for (const family of families(rs)) {
            const before = saved(ns, flavour, family);
            const r = run(ns, tool(flavour, family, 'restore'), ['--noflush'], emitIptables(rs, family));
            expect(r.status, r.stderr).toBe(0);
            const after = saved(ns, flavour, family);
            expect(theirs(after)).toEqual(theirs(before));
            expect(after).toContain('-j MESHCAP_');
            expectOursEqual(after, rs, family, `${tool(flavour, family, 'save')} after the load`);
          }
        });
      });

      it(`${f}, iptables-${flavour}: meshcap apply loads, re-applies without a change, and --remove leaves the node as it was`, { timeout: 60_000 }, () => {
        withNetns((ns) => {
          loadForeign(ns, flavour);
          const listings = () => families(rs).map((family) => saved(ns, flavour, family));
          const before = listings();
          const apply = (...args: string[]) => {
            const r = run(ns, process.execPath, [CLI, 'apply', '--flavour', flavour, ...args]);
            expect(r.status, r.stderr).toBe(0);
          };
          apply(f);
          const first = listings();
          families(rs).forEach((family, i) => {
            expect(theirs(first[i])).toEqual(theirs(before[i]));
            expectOursEqual(first[i], rs, family, `${tool(flavour, family, 'save')} after meshcap apply`);
          });
          apply(f);
          expect(listings()).toEqual(first);
          apply('--remove');
          // A table that was first made for meshcap's rules stays, empty (iptables keeps its built-in chains).
          const removed = listings();
          removed.forEach((l, i) => {
            expect(l.split('\n').filter(isOurs)).toEqual([]);
            expect(theirs(l)).toEqual(theirs(before[i]));
          });
          expect(removed.map((l) => l.split('\n').filter((x) => x.startsWith('-A')))).toEqual(before.map((l) => l.split('\n').filter((x) => x.startsWith('-A'))));
        });
      });
    }
  }

  it('apply replaces one policy by another: the old chains go, no jump is left twice', { timeout: 60_000 }, () => {
    withNetns((ns) => {
      loadForeign(ns, 'nft');
      const apply = (...args: string[]) => run(ns, process.execPath, [CLI, 'apply', '--flavour', 'nft', '--backend', 'iptables', ...args]);
      expect(apply('specs/istio-tproxy.intercept').status).toBe(0);
      const r = apply('specs/istio-sidecar.intercept');
      expect(r.status, r.stderr).toBe(0);
      const after = saved(ns, 'nft', 'ipv4');
      expect(after).not.toMatch(/MESHCAP_(DIVERT|TPROXY)/);
      expect(after.split('\n').filter((l) => /^-A (PREROUTING|OUTPUT) .*-j MESHCAP_/.test(l))).toHaveLength(2);
      expectOursEqual(after, SPECS[0].rs, 'ipv4', 'listing after the second policy');
    });
  });
});

describe('the nft artifact beside other nft tables', () => {
  const OTHER = `table ip filter {
  chain forward {
    type filter hook forward priority 0; policy drop;
    ct state established accept
  }
}
table inet kube-proxy {
  chain services {
    type nat hook prerouting priority -100;
    ip daddr 10.96.0.1 tcp dport 443 dnat ip to 10.0.0.1:6443
  }
}
`;
  for (const { f, rs } of SPECS) {
    it(`${f}: apply adds its own table only, equal to the IR; re-apply changes nothing; --remove deletes it`, { timeout: 60_000 }, () => {
      withNetns((ns) => {
        expect(run(ns, 'nft', ['-f', '-'], OTHER).status).toBe(0);
        const list = () => run(ns, 'nft', ['list', 'ruleset']).stdout;
        const before = list();
        const art = emitNftables(rs, { comments: true, counters: false, nftVersion: DEFAULT_NFT_VERSION });
        const path = `/tmp/meshcap-coexist-${process.pid}-${rs.name}.nft.json`;
        expect(run(ns, 'sh', ['-c', `cat > ${path}`], art).status).toBe(0);
        const apply = (...args: string[]) => {
          const r = run(ns, process.execPath, [CLI, 'apply', ...args]);
          expect(r.status, r.stderr).toBe(0);
        };
        apply(path);
        const first = list();
        const others = () => [run(ns, 'nft', ['list', 'table', 'ip', 'filter']).stdout, run(ns, 'nft', ['list', 'table', 'inet', 'kube-proxy']).stdout];
        expect(others()[0]).toContain('policy drop');
        expect(before).toBe(others().join(''));
        const listed = importNftables(run(ns, 'nft', ['-j', 'list', 'table', 'inet', rs.name]).stdout, 'our table listed');
        expect(listed.diagnostics.map((d) => d.message)).toEqual([]);
        const eq = equivalent(rulesSide('IR', rs), rulesSide('our table listed', listed.ruleset!), { maxDifferences: 3 });
        expect(eq.result, eq.reason).toBe('equal');
        apply(path);
        expect(list()).toBe(first);
        apply('--remove', path);
        expect(list()).toBe(before);
        run(ns, 'rm', ['-f', path]);
      });
    });
  }

  it('an upgrade to a policy of another name replaces the old table; --remove with no artifact deletes what is meshcap\'s, only that', { timeout: 60_000 }, () => {
    withNetns((ns) => {
      expect(run(ns, 'nft', ['-f', '-'], OTHER).status).toBe(0);
      const list = () => run(ns, 'nft', ['list', 'ruleset']).stdout;
      const tables = () => list().split('\n').filter((l) => l.startsWith('table '));
      const before = list();
      const apply = (...args: string[]) => {
        const r = run(ns, process.execPath, [CLI, 'apply', '--backend', 'nftables', ...args]);
        expect(r.status, r.stderr).toBe(0);
      };
      const [sidecar, tproxy] = SPECS;
      expect(sidecar.rs.name).not.toBe(tproxy.rs.name);
      apply(tproxy.f);
      expect(tables()).toContain(`table inet ${tproxy.rs.name} {`);
      apply(sidecar.f);
      expect(tables()).toEqual(['table ip filter {', 'table inet kube-proxy {', `table inet ${sidecar.rs.name} {`]);
      const listed = importNftables(run(ns, 'nft', ['-j', 'list', 'table', 'inet', sidecar.rs.name]).stdout, 'our table listed');
      const eq = equivalent(rulesSide('IR', sidecar.rs), rulesSide('our table listed', listed.ruleset!), { maxDifferences: 3 });
      expect(eq.result, eq.reason).toBe('equal');
      apply('--remove');
      expect(list()).toBe(before);
    });
  });

  it("a same-named table another tool made is never replaced nor removed (apply-not-owned); meshcap's own without comments is", { timeout: 60_000 }, () => {
    withNetns((ns) => {
      const theirs = 'table inet istio-sidecar {\n  chain theirs {\n    type filter hook output priority 0; policy accept;\n    tcp dport 9999 counter accept\n  }\n}\n';
      expect(run(ns, 'nft', ['-f', '-'], theirs).status).toBe(0);
      const list = () => run(ns, 'nft', ['list', 'ruleset']).stdout;
      const before = list();
      for (const args of [['specs/istio-sidecar.intercept'], ['--remove', 'specs/istio-sidecar.intercept']]) {
        const r = run(ns, process.execPath, [CLI, 'apply', '--backend', 'nftables', ...args]);
        expect(r.status, r.stderr).toBe(2);
        expect(r.stderr).toContain("error[apply-not-owned]: table inet istio-sidecar exists and is not meshcap's");
        expect(list()).toBe(before);
      }
      expect(run(ns, 'nft', ['delete', 'table', 'inet', 'istio-sidecar']).status).toBe(0);
      // Without provenance comments, the mark chain says the table is meshcap's.
      const dir = `/tmp/meshcap-owner-${process.pid}`;
      const c = run(ns, process.execPath, [CLI, 'compile', '--no-comments', '--backend', 'nftables', '-o', dir, 'specs/istio-sidecar.intercept']);
      expect(c.status, c.stderr).toBe(0);
      const art = `${dir}/istio-sidecar.nft.json`;
      for (const args of [[art], [art], ['--remove', art]]) {
        const r = run(ns, process.execPath, [CLI, 'apply', ...args]);
        expect(r.status, r.stderr).toBe(0);
        if (args[0] !== '--remove') expect(list()).toContain('chain meshcap-apply {');
      }
      expect(list()).not.toContain('istio-sidecar');
      run(ns, 'rm', ['-rf', dir]);
    });
  });
});

