// The backends: each emits text from the IR and reads its own text back (the round trip
// every compile checks). One entry per artifact.
import type { Diagnostic } from '../src/diagnostics/diagnostic.js';
import type { Family, RuleSet } from '../src/ir/types.js';
import { SourceFile } from '../src/source.js';
import { emitIptables } from './iptables/emit.js';
import { importIptables } from './iptables/import.js';
import { emitNftables } from './nftables/emit.js';
import { importNftables } from './nftables/import.js';
import { validateNft } from './nftables/schema.js';
import { emitShell, type Firewall } from './shell/emit.js';
import { importShell } from './shell/import.js';

export interface BackendOptions {
  comments: boolean;
  /** nft: a counter on every rule. */
  counters?: boolean;
  /** nft: the release to target (backends/nftables/versions.ts). */
  nftVersion?: string;
  /** shell: which firewall the script drives (auto decides on the node). */
  firewall?: Firewall;
  /** shell: the policy source, for the script's header. */
  source?: { file: string; text: string };
  version?: string;
}

export interface Backend {
  name: string;
  /** What the artifact is, for messages and file headers. */
  description: string;
  /** File name suffix of the artifact in `-o DIR`. */
  extension: string;
  /** The family whose rules it carries (undefined: all). */
  family?: Family;
  emit(rs: RuleSet, opts: BackendOptions): string;
  /**
   * What the importer cannot see: problems with the emitted text by the artifact's own
   * rules (nft ignores unknown JSON keys, so only meshcap's schema catches a typo).
   */
  validate?(text: string): string[];
  /** Read the emitted text back into the IR (the same importer users get). */
  reimport(text: string, path: string): { ruleset?: RuleSet; diagnostics: Diagnostic[]; also?: { label: string; ruleset: RuleSet }[]; routing?: RuleSet['routing'] };
}

/** iptables-restore text of one family (the two files iptables keeps apart). */
function iptablesBackend(family: Family): Backend {
  const tool = family === 'ipv4' ? 'iptables' : 'ip6tables';
  return {
    name: tool,
    description: `${tool}-restore input (${family === 'ipv4' ? 'IPv4' : 'IPv6'})`,
    extension: `${tool}.rules`,
    family,
    emit: (rs, opts) => emitIptables(rs, family, { ...opts, noflush: true }),
    reimport: (text, path) => importIptables(new SourceFile(path, text), family),
  };
}

export const backends: Backend[] = [
  iptablesBackend('ipv4'),
  iptablesBackend('ipv6'),
  {
    name: 'nftables',
    description: 'nft -j -f input (libnftables JSON, one inet table for IPv4 and IPv6)',
    extension: 'nft.json',
    emit: (rs, opts) => emitNftables(rs, opts),
    validate: (text) => validateNft(JSON.parse(text)),
    reimport: (text, path) => importNftables(text, path),
  },
  {
    name: 'shell',
    description: 'POSIX sh script: apply (atomic, idempotent, with rollback), cleanup, check; TPROXY routing included',
    extension: 'sh',
    emit: (rs, opts) => emitShell(rs, { firewall: opts.firewall ?? 'auto', nftVersion: opts.nftVersion, source: opts.source, version: opts.version }),
    reimport: (text, path) => {
      const r = importShell(text, path);
      // The iptables payloads are the rule set; the nft payload must mean the same.
      return { ruleset: r.iptables, diagnostics: r.diagnostics, also: r.nftables ? [{ label: 'shell nft payload', ruleset: r.nftables }] : [], routing: r.routing };
    },
  },
];

export function backendByName(name: string): Backend | undefined {
  return backends.find((b) => b.name === name);
}

/** The part of a rule set a backend carries (its family's tables). */
export function restrictTo(rs: RuleSet, family: Family | undefined): RuleSet {
  if (!family) return rs;
  return { ...rs, tables: rs.tables.filter((t) => t.family === family || t.family === 'inet') };
}
