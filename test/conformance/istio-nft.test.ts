import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { compareIstioBackends, nftCases, nftTable, NBEGIN, NEND } from '../harness/istio-nft.js';

// Istio's nft backend against its iptables backend, over every packet (docs/conformance.md).
const results = nftCases().map((n) => compareIstioBackends(n));

describe("Istio's two backends compared", () => {
  it('reads every nft rule set of the corpus', () => {
    expect(results.length).toBeGreaterThanOrEqual(20);
    for (const r of results) expect(r.error, r.name).toBeUndefined();
  });
  it('finds the IPv6-when-off difference where Istio disables IPv6 and names no address', () => {
    const r = results.find((x) => x.name === 'inbound-ports-include')!;
    expect(r.result).toBe('different');
    expect(r.differences.every((d) => d.packet.family === 'ipv6')).toBe(true);
  });
  it('docs/conformance.md has the current findings', () => {
    const doc = readFileSync('docs/conformance.md', 'utf8');
    expect(doc.slice(doc.indexOf(NBEGIN), doc.indexOf(NEND) + NEND.length)).toBe(nftTable(results));
  });
});
