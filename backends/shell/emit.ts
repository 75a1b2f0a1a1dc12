// IR -> one POSIX sh script (dash, busybox ash) that applies a policy atomically,
// idempotently and with rollback, including what restore formats cannot say: TPROXY's
// policy routing and the IPv6 passthrough address on lo. The rules travel inside the
// script as here-documents and are applied from temporary files; every value in the
// script was validated by the compiler and is single-quoted.
import { preflightFunction } from './preflight.js';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { oneLine } from '../comment.js';
import { emitIptables } from '../iptables/emit.js';
import { OWN_CHAINS } from '../iptables/noflush.js';
import { emitNftables, nftTableName } from '../nftables/emit.js';
import type { RuleSet } from '../../src/ir/types.js';

export type Firewall = 'iptables-legacy' | 'iptables-nft' | 'nftables' | 'auto';
export const FIREWALLS: Firewall[] = ['auto', 'iptables-legacy', 'iptables-nft', 'nftables'];

export interface ShellOptions {
  firewall: Firewall;
  nftVersion?: string;
  /** Policy file and meshcap version, for the header. */
  source?: { file: string; text: string };
  version?: string;
}

let runtimeText: string | undefined;
/** backends/shell/runtime.sh, found from src (tests) or dist (the built CLI). */
function loadRuntime(): string {
  if (runtimeText) return runtimeText;
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 5; i++) {
    for (const p of [join(dir, 'runtime.sh'), join(dir, 'backends', 'shell', 'runtime.sh')]) {
      if (existsSync(p)) {
        // Drop the file's own two-line header comment.
        runtimeText = readFileSync(p, 'utf8').split('\n').slice(2).join('\n');
        return runtimeText;
      }
    }
    dir = dirname(dir);
  }
  throw new Error('backends/shell/runtime.sh not found');
}

const q = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

/**
 * Per (table, chain) of one family's payload: how many rules apply adds there (every rule
 * of the payload carries meshcap's comment), for `check`.
 */
function counts(payload: string): string[] {
  const n = new Map<string, number>();
  let table = '';
  for (const line of payload.split('\n')) {
    if (line.startsWith('*')) table = line.slice(1);
    const m = /^-A (\S+) /.exec(line);
    if (m) n.set(`${table}:${m[1]}`, (n.get(`${table}:${m[1]}`) ?? 0) + 1);
  }
  return [...n].map(([k, v]) => `${k}:${v}`);
}

export function emitShell(rs: RuleSet, opts: ShellOptions): string {
  // The iptables artifact's noflush form: own chains, and one jump from each built-in chain
  // into its entry chain, so that the script and `meshcap apply` own the same things.
  const v4 = rs.tables.some((t) => t.family === 'ipv4') ? emitIptables(rs, 'ipv4', { comments: true, noflush: true }) : '';
  const v6 = rs.tables.some((t) => t.family === 'ipv6') ? emitIptables(rs, 'ipv6', { comments: true, noflush: true }) : '';
  const nft = emitNftables(rs, { comments: true, counters: false, nftVersion: opts.nftVersion });
  const fp = createHash('sha256').update(v4).update(v6).update(nft).update(JSON.stringify(rs.routing)).digest('hex').slice(0, 12);
  const srcHash = opts.source ? createHash('sha256').update(opts.source.text).digest('hex') : 'unknown';
  const table = nftTableName(rs);
  const tp = rs.routing.tproxy;
  const tables4 = [...new Set(rs.tables.filter((t) => t.family === 'ipv4').map((t) => t.name))].join(' ');
  const tables6 = [...new Set(rs.tables.filter((t) => t.family === 'ipv6').map((t) => t.name))].join(' ');
  const lines: string[] = [];
  const L = (s = '') => lines.push(s);
  L('#!/bin/sh');
  L(`# meshcap ${opts.version ?? ''} shell backend: policy ${rs.name}`);
  // The file name is the user's: on one line, or its second line would run as a command.
  L(`# from ${opts.source ? oneLine(opts.source.file) : '(unknown)'}, sha256 ${srcHash}`);
  L('#');
  L('#   sh THIS-SCRIPT [apply]    apply the policy (the default); replaces an older version of it');
  L('#   sh THIS-SCRIPT cleanup    remove exactly what apply added');
  L('#   sh THIS-SCRIPT check      exit 0 if this node has exactly this policy, 1 otherwise');
  L('#   DRY_RUN=1 sh THIS-SCRIPT  print every command instead of running it');
  L(`#   MESHCAP_FIREWALL=iptables-legacy|iptables-nft|nftables|auto (default: ${opts.firewall})`);
  L('#');
  L('# apply saves the state it touches first; if any step fails it restores that state and');
  L('# exits non-zero, naming the failing command.');
  L('set -eu');
  L();
  L(`POLICY=${q(rs.name)}`);
  L(`FINGERPRINT=${q(fp)}`);
  L(`NFT_TABLE=${q(table)}`);
  L(`FIREWALL="\${MESHCAP_FIREWALL:-${opts.firewall}}"`);
  // The chains apply and cleanup may remove (and the fingerprint chain): every name the
  // lowering gives and the entry chains (an older version of the policy may have had
  // others of them), never another tool's or the user's MESHCAP_*.
  L(`OWN_CHAINS=${q(OWN_CHAINS.join(' '))}`);
  L(`TABLES4=${q(tables4)}`);
  L(`TABLES6=${q(tables6)}`);
  L(`COUNTS4=${q(counts(v4).join(' '))}`);
  L(`COUNTS6=${q(counts(v6).join(' '))}`);
  L(`TPROXY_MARK=${q(tp ? String(tp.mark) : '')}`);
  L(`TPROXY_TABLE=${q(tp ? String(tp.table) : '')}`);
  L(`TPROXY_V4=${q(tp && tp.families.includes('ipv4') ? '1' : '')}`);
  L(`TPROXY_V6=${q(tp && tp.families.includes('ipv6') ? '1' : '')}`);
  L(`LO_ADDRS=${q(rs.routing.loopbackAddresses.join(' '))}`);
  L('DRY_RUN="${DRY_RUN:-0}"');
  L();
  const runtime = loadRuntime();
  const [before, after] = runtime.split('@@PAYLOADS@@');
  L(before.trimEnd());
  L();
  L(preflightFunction(rs));
  L(`payload_v4() {\n  cat <<'MESHCAP_V4'\n${v4}MESHCAP_V4\n}\n`);
  L(`payload_v6() {\n  cat <<'MESHCAP_V6'\n${v6}MESHCAP_V6\n}\n`);
  L(`payload_nft() {\n  cat <<'MESHCAP_NFT'\n${nft}MESHCAP_NFT\n}\n`);
  L(after.trimStart().trimEnd());
  return lines.join('\n') + '\n';
}
