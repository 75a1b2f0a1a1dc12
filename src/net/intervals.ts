// Sets of integers (ports, marks, addresses) as ranges, and ranges as CIDRs.
import { canonicalAddress, type Family } from './ip.js';

/** Smallest list of CIDRs covering [lo, hi]. */
export function rangeToCidrs(family: Family, lo: bigint, hi: bigint): string[] {
  const bits = family === 'ipv4' ? 32 : 128;
  const out: string[] = [];
  let cur = lo;
  while (cur <= hi) {
    let size = 0;
    while (size < bits) {
      const blk = 1n << BigInt(size + 1);
      if (cur % blk !== 0n || cur + blk - 1n > hi) break;
      size++;
    }
    out.push(`${canonicalAddress(family, cur)}/${bits - size}`);
    cur += 1n << BigInt(size);
  }
  return out;
}
