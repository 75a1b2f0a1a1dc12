// What each nft release can take, as data: the emitter asks this table, never the
// version number. Add a row when a new capability is used.
export interface NftCapabilities {
  /** `destroy` command (delete if it exists): nft 1.0.7. */
  destroy: boolean;
  /** Comments on tables and chains: nft 1.0.8. (Rule comments are older.) */
  tableComments: boolean;
}

export const NFT_VERSIONS: Record<string, NftCapabilities> = {
  '1.0.6': { destroy: false, tableComments: false },
  '1.0.7': { destroy: true, tableComments: false },
  '1.0.8': { destroy: true, tableComments: true },
  '1.0.9': { destroy: true, tableComments: true },
  '1.1.0': { destroy: true, tableComments: true },
  '1.1.1': { destroy: true, tableComments: true },
};

/** Debian bookworm's nft, what the project's machines run. */
export const DEFAULT_NFT_VERSION = '1.0.6';

export function capabilities(version: string): NftCapabilities | undefined {
  return NFT_VERSIONS[version];
}
