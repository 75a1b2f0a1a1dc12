// A meshcap shell script -> IR plus routing facts: its embedded payloads (the iptables
// and nft rule sets) and the variables that drive its routing commands. Every compile
// reads its script back with this and proves each payload equal to the IR.
import { importIptables } from '../iptables/import.js';
import { importNftables } from '../nftables/import.js';
import { diag, type Diagnostic } from '../../src/diagnostics/diagnostic.js';
import type { Family, Routing, RuleSet } from '../../src/ir/types.js';
import { SourceFile } from '../../src/source.js';

export interface ShellImport {
  /** From the iptables payloads (IPv4 and IPv6 together). */
  iptables?: RuleSet;
  /** From the nft payload. */
  nftables?: RuleSet;
  routing: Routing;
  diagnostics: Diagnostic[];
}

function heredoc(text: string, marker: string): string | undefined {
  const start = text.indexOf(`<<'${marker}'\n`);
  if (start < 0) return undefined;
  const body = start + marker.length + 5;
  const end = text.indexOf(`\n${marker}\n`, body - 1);
  if (end < 0) return undefined;
  return text.slice(body, end + 1);
}

function variable(text: string, name: string): string | undefined {
  const m = new RegExp(`^${name}='([^']*)'$`, 'm').exec(text);
  return m?.[1];
}

export function importShell(text: string, path: string): ShellImport {
  const ds: Diagnostic[] = [];
  const at = (line: number) => ({ file: path, start: { line, col: 1, offset: 0 }, end: { line, col: 1, offset: 0 } });
  const out: ShellImport = { routing: { loopbackAddresses: [] }, diagnostics: ds };
  const parts: RuleSet[] = [];
  for (const [marker, family] of [['MESHCAP_V4', 'ipv4'], ['MESHCAP_V6', 'ipv6']] as [string, Family][]) {
    const body = heredoc(text, marker);
    if (body === undefined) {
      ds.push(diag('rules-syntax', at(1), { detail: `no ${marker} payload in the script` }));
      continue;
    }
    const r = importIptables(new SourceFile(`${path} (${marker})`, body), family);
    ds.push(...r.diagnostics);
    if (r.ruleset) parts.push(r.ruleset);
  }
  if (!ds.length) out.iptables = { name: path, tables: parts.flatMap((p) => p.tables), routing: out.routing };
  const nft = heredoc(text, 'MESHCAP_NFT');
  if (nft === undefined) ds.push(diag('rules-syntax', at(1), { detail: 'no MESHCAP_NFT payload in the script' }));
  else {
    const r = importNftables(nft, `${path} (MESHCAP_NFT)`);
    ds.push(...r.diagnostics);
    out.nftables = r.ruleset;
  }
  const mark = variable(text, 'TPROXY_MARK');
  const table = variable(text, 'TPROXY_TABLE');
  if (mark && table) {
    const families: Family[] = [];
    if (variable(text, 'TPROXY_V4')) families.push('ipv4');
    if (variable(text, 'TPROXY_V6')) families.push('ipv6');
    out.routing.tproxy = { mark: Number(mark), table: Number(table), families };
  }
  const lo = variable(text, 'LO_ADDRS');
  out.routing.loopbackAddresses = lo ? lo.split(' ').filter(Boolean) : [];
  return out;
}
