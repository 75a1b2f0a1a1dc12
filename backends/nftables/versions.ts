// What each nft release can take, as data: every capability the emitter and the
// optimizer's nft-only passes use, with the first release that has it. Both ask for the
// capability set of the target version, never compare version numbers themselves. Add a row when a new capability is
// used; add a release to KNOWN_NFT_VERSIONS when it is tested (test/kernel/nft-load.test.ts).

/** Capability -> the first nft release that has it (netfilter-facts §2, "Pitfalls"). */
export const CAPABILITY_SINCE = {
  /** `destroy` command (delete if it exists). */
  destroy: '1.0.7',
  /** Comments on tables and chains. (Rule comments are older than every known release.) */
  tableComments: '1.0.8',
  /** Anonymous sets of interface names and owner ids (`oifname { "a", "b" }`, `meta skuid { 1, 2 }`). */
  keySets: '0.9.0',
  /** Verdict maps on a meta key (`oifname vmap { "a" : return, "lo" : goto x }`). */
  verdictMaps: '0.9.0',
} as const;

export type NftCapability = keyof typeof CAPABILITY_SINCE;
export type NftCapabilities = Record<NftCapability, boolean>;

/** The releases meshcap targets (`--nft-version`), oldest first. */
export const KNOWN_NFT_VERSIONS = ['1.0.6', '1.0.7', '1.0.8', '1.0.9', '1.1.0', '1.1.1'] as const;

/** Debian bookworm's nft, what the project's machines run. */
export const DEFAULT_NFT_VERSION = '1.0.6';

/** a < b: negative, a = b: 0, a > b: positive, by numeric dotted parts. */
export function compareVersions(a: string, b: string): number {
  const pa = a.split('.').map(Number);
  const pb = b.split('.').map(Number);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (d) return d;
  }
  return 0;
}

/** The capabilities of a known release; undefined for a release meshcap does not know. */
export function capabilities(version: string): NftCapabilities | undefined {
  if (!(KNOWN_NFT_VERSIONS as readonly string[]).includes(version)) return undefined;
  const caps = {} as NftCapabilities;
  for (const [cap, since] of Object.entries(CAPABILITY_SINCE) as [NftCapability, string][]) caps[cap] = compareVersions(version, since) >= 0;
  return caps;
}

/**
 * Every known release with its capabilities (what `--nft-version` accepts). No prototype:
 * `NFT_VERSIONS['constructor']` is undefined, as for any other unknown name.
 */
export const NFT_VERSIONS: Readonly<Record<string, NftCapabilities>> = Object.assign(
  Object.create(null) as Record<string, NftCapabilities>,
  Object.fromEntries(KNOWN_NFT_VERSIONS.map((v) => [v, capabilities(v)!])),
);

/**
 * The known release to emit for `version`: itself when known; the newest known one for a
 * newer release (nft keeps what it accepted: a newer nft takes an older one's input),
 * with `newer` set so the caller can say so; undefined for an older or malformed one.
 */
export function resolveNftVersion(version: string): { version: string; newer: boolean } | undefined {
  if (NFT_VERSIONS[version]) return { version, newer: false };
  const newest = KNOWN_NFT_VERSIONS[KNOWN_NFT_VERSIONS.length - 1];
  if (/^\d+\.\d+(\.\d+)?$/.test(version) && compareVersions(version, newest) > 0) return { version: newest, newer: true };
  return undefined;
}
