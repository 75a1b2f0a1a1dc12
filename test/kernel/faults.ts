// Fault injection for the shell backend's apply: wrappers first on PATH for every
// firewall command and `ip` count the commands a run makes, and at command number K fail
// it (exit 1, the real command not run) or, right after the real command, send a signal
// to the script's whole process group (as a container runtime does): TERM, INT, HUP or
// KILL. A namespace gets unrelated rules first (Docker-like, kube-proxy-like, a user's
// MESHCAP_USER chain and "meshcap ..." comment, an istio-iptables-like `inet istio-sidecar`
// table, a policy routing rule, an address on lo),
// so that what apply, rollback and cleanup must leave alone is there to be broken.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { run } from './netns.js';

export type Firewall = 'iptables-legacy' | 'iptables-nft' | 'nftables';
export type Mode = 'fail' | 'TERM' | 'INT' | 'HUP' | 'KILL';
export const MODES: Mode[] = ['fail', 'TERM', 'INT', 'HUP', 'KILL'];

const WRAPPED = ['nft', 'ip', ...['iptables', 'ip6tables'].flatMap((b) => ['legacy', 'nft'].flatMap((f) => [`${b}-${f}`, `${b}-${f}-save`, `${b}-${f}-restore`]))];

/** A directory of wrappers, one per command that this machine has. */
export function makeWrappers(dir: string): string {
  mkdirSync(dir, { recursive: true });
  for (const cmd of WRAPPED) {
    let real: string;
    try {
      real = execFileSync('sh', ['-c', `command -v ${cmd}`], { encoding: 'utf8' }).trim();
    } catch {
      continue;
    }
    writeFileSync(
      join(dir, cmd),
      `#!/bin/sh
REAL=${real}
n=$(( $(cat "$FAULT_DIR/count" 2>/dev/null || echo 0) + 1 ))
echo "$n" >"$FAULT_DIR/count"
echo "$n ${cmd} $*" >>"$FAULT_DIR/log"
if [ "$n" = "\${FAULT_AT:-0}" ]; then
  case "$FAULT_MODE" in
    fail) echo "injected failure of ${cmd}" >&2; exit 1 ;;
    *) "$REAL" "$@"; rc=$?; kill -s "$FAULT_MODE" 0; exit $rc ;;
  esac
fi
exec "$REAL" "$@"
`,
      { mode: 0o755 },
    );
  }
  return dir;
}

const IPT_UNRELATED = `*filter
:DOCKER - [0:0]
:DOCKER-USER - [0:0]
:MESHCAP_USER - [0:0]
-A FORWARD -j DOCKER-USER
-A FORWARD -o docker0 -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
-A DOCKER-USER -j RETURN
-A MESHCAP_USER -p tcp --dport 2222 -j ACCEPT
-A INPUT -j MESHCAP_USER
-A OUTPUT -p tcp --dport 9999 -m comment --comment "meshcap is a word users write too" -j ACCEPT
COMMIT
*nat
:DOCKER - [0:0]
:KUBE-SERVICES - [0:0]
:KUBE-SVC-ABC - [0:0]
-A PREROUTING -m addrtype --dst-type LOCAL -j DOCKER
-A OUTPUT -m comment --comment "kubernetes service portals" -j KUBE-SERVICES
-A POSTROUTING -s 172.17.0.0/16 ! -o docker0 -j MASQUERADE
-A KUBE-SERVICES -d 10.96.0.10/32 -p udp --dport 53 -j KUBE-SVC-ABC
-A KUBE-SVC-ABC -p udp -j DNAT --to-destination 10.244.0.5:53
COMMIT
`;
const IP6T_UNRELATED = `*filter
:MESHCAP_USER - [0:0]
-A MESHCAP_USER -p tcp --dport 2222 -j ACCEPT
-A INPUT -j MESHCAP_USER
COMMIT
`;
const NFT_UNRELATED = `table ip docker-like {
  chain forward { type filter hook forward priority 0; policy accept; ct state established,related accept; }
}
table inet istio-sidecar {
  chain prerouting { type nat hook prerouting priority dstnat; policy accept; tcp dport 15008 return comment "meshcap-like, not meshcap's"; }
}
table inet kube-proxy-like {
  chain services { type nat hook output priority -110; policy accept; ip daddr 10.96.0.10 udp dport 53 dnat ip to 10.244.0.5:53; }
  chain user { tcp dport 9999 accept comment "meshcap is a word users write too"; }
}
`;

/** Unrelated state of another tool and the user, for the firewall under test. */
export function seedUnrelated(ns: string, fw: Firewall): void {
  const must = (r: { status: number; stderr: string }, what: string) => {
    if (r.status !== 0) throw new Error(`${what}: ${r.stderr}`);
  };
  if (fw === 'nftables') must(run(ns, 'nft', ['-f', '-'], NFT_UNRELATED), 'nft unrelated');
  else {
    const f = fw === 'iptables-legacy' ? 'legacy' : 'nft';
    must(run(ns, `iptables-${f}-restore`, ['--noflush'], IPT_UNRELATED), 'iptables unrelated');
    must(run(ns, `ip6tables-${f}-restore`, ['--noflush'], IP6T_UNRELATED), 'ip6tables unrelated');
  }
  must(run(ns, 'ip', ['rule', 'add', 'fwmark', '0x4000', 'lookup', '200']), 'ip rule');
  must(run(ns, 'ip', ['route', 'add', 'local', '0.0.0.0/0', 'dev', 'lo', 'table', '200']), 'ip route');
  must(run(ns, 'ip', ['-6', 'addr', 'add', '::7/128', 'dev', 'lo']), 'lo address');
}

/**
 * iptables-save text without counters and comments, tables that hold nothing dropped, the
 * tables in name order: legacy iptables-save lists a namespace's tables newest first (the
 * order in which anything, even a `-S` listing by `check`, first touched each), which
 * means nothing.
 */
function normalizeSave(text: string): string {
  const out: string[][] = [];
  let block: string[] = [];
  for (const raw of text.split('\n')) {
    const l = raw.replace(/\[\d+:\d+\]/g, '').trimEnd();
    if (!l || l.startsWith('#')) continue;
    block.push(l);
    if (l === 'COMMIT') {
      if (block.some((x) => x.startsWith('-A') || /^:\S+ DROP/.test(x) || /^:\S+ - ?$/.test(x))) out.push(block);
      block = [];
    }
  }
  return out
    .sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))
    .map((b) => b.join('\n'))
    .join('\n');
}

/**
 * `nft list ruleset` without handles and without tables that hold no rule (iptables-nft
 * leaves those) and empty base chains, tables and the chains of a table in name order: a rollback that
 * recreates them (iptables-nft-restore) lists them in another order, which means nothing.
 */
function normalizeNft(text: string): string {
  const tables: string[] = [];
  let head = '';
  let chains: string[] = [];
  let chain: string[] = [];
  for (const raw of text.split('\n')) {
    const l = raw.replace(/ # handle \d+/, '').trimEnd();
    if (!l.trim()) continue;
    if (/^table /.test(l)) {
      head = l;
      chains = [];
    } else if (l === '}') {
      if (chains.length) tables.push([head, ...chains.sort(), '}'].join('\n'));
    } else if (/^\t\S/.test(l) && /\{$/.test(l)) chain = [l];
    else if (l === '\t}') {
      chain.push(l);
      // An empty base chain with policy accept does nothing (iptables-nft-restore of a
      // saved table makes one for each built-in chain).
      const empty = chain.slice(1, -1).every((x) => /^\s*type .* policy accept;$/.test(x) || /^\s*policy accept;$/.test(x));
      if (!empty) chains.push(chain.join('\n'));
    } else chain.push(l);
  }
  return tables.sort().join('\n');
}

/** The namespace's whole state: every save, the nft ruleset, ip rules, routes of every table, lo's addresses. */
export function snapshot(ns: string): string {
  const parts: string[] = [];
  for (const tool of ['iptables-legacy-save', 'ip6tables-legacy-save', 'iptables-nft-save', 'ip6tables-nft-save']) parts.push(`== ${tool}\n${normalizeSave(run(ns, tool, []).stdout)}`);
  parts.push(`== nft\n${normalizeNft(run(ns, 'nft', ['list', 'ruleset']).stdout)}`);
  parts.push(`== rules\n${run(ns, 'ip', ['-4', 'rule']).stdout}${run(ns, 'ip', ['-6', 'rule']).stdout}`);
  parts.push(`== routes\n${run(ns, 'ip', ['-4', 'route', 'show', 'table', 'all']).stdout}${run(ns, 'ip', ['-6', 'route', 'show', 'table', 'all']).stdout}`);
  parts.push(`== lo\n${run(ns, 'ip', ['addr', 'show', 'dev', 'lo']).stdout.replace(/valid_lft.*$/gm, '')}`);
  return parts.join('\n');
}

export interface FaultRun {
  status: number;
  stderr: string;
  /** The wrapped commands the run made, one per line ("N command args"). */
  log: string;
}

/** Run `sh script CMD` in its own process group, with the wrappers first on PATH and a fault at command `at` (0: none). */
export function runWithFault(ns: string, o: { wrappers: string; stateDir: string; shell: string; script: string; fw: Firewall; at: number; mode: Mode; cmd?: string }): FaultRun {
  rmSync(o.stateDir, { recursive: true, force: true });
  mkdirSync(o.stateDir, { recursive: true });
  const shell = o.shell === 'busybox' ? ['busybox', 'sh'] : [o.shell];
  const r = run(ns, 'setsid', ['-w', 'env', `PATH=${o.wrappers}:${process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin'}`, `FAULT_DIR=${o.stateDir}`, `FAULT_AT=${o.at}`, `FAULT_MODE=${o.mode}`, `MESHCAP_FIREWALL=${o.fw}`, ...shell, o.script, o.cmd ?? 'apply']);
  const logFile = join(o.stateDir, 'log');
  return { status: r.status, stderr: r.stderr, log: existsSync(logFile) ? readFileSync(logFile, 'utf8') : '' };
}
