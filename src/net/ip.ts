// Address and CIDR handling on top of ipaddr.js, with the strictness a policy needs:
// dotted-quad IPv4 only (no octal/hex/short forms that inet_aton would take), no zone
// indices, and host bits reported rather than silently masked.
import ipaddr from 'ipaddr.js';

export type Family = 'ipv4' | 'ipv6';

export interface Cidr {
  family: Family;
  /** Canonical text of the network address (IPv6 in RFC 5952 short form). */
  addr: string;
  prefix: number;
  /** Network address and last address as integers, for containment and overlap. */
  first: bigint;
  last: bigint;
}

export type AddrParse = { ok: true; family: Family; text: string; value: bigint } | { ok: false; hint: string };

export function bitsOf(f: Family): number {
  return f === 'ipv4' ? 32 : 128;
}

function hexDigit(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  if (c >= 97 && c <= 102) return c - 87;
  if (c >= 65 && c <= 70) return c - 55;
  return -1;
}

/**
 * The eight groups of plain IPv6 text (1-4 hex digits per group, at most one '::' standing
 * for at least one zero group; no embedded IPv4, no zone), read directly: the common case,
 * several times cheaper than ipaddr. Anything else gives undefined, for ipaddr to decide;
 * what this accepts, ipaddr accepts with the same groups (test/net-ip.test.ts).
 */
function plainIPv6(text: string): number[] | undefined {
  const n = text.length;
  const parts: number[] = [];
  let gap = -1; // where '::' stands among the groups
  let i = 0;
  if (text.charCodeAt(0) === 58) {
    if (text.charCodeAt(1) !== 58) return undefined;
    gap = 0;
    i = 2;
  }
  while (i < n) {
    let v = 0;
    let digits = 0;
    for (let h: number; i < n && (h = hexDigit(text.charCodeAt(i))) >= 0; i++, digits++) v = v * 16 + h;
    if (digits === 0 || digits > 4) return undefined;
    parts.push(v);
    if (i === n) break;
    if (text.charCodeAt(i) !== 58) return undefined;
    i++;
    if (text.charCodeAt(i) === 58) {
      if (gap >= 0) return undefined;
      gap = parts.length;
      i++;
    } else if (i === n) return undefined;
  }
  if (gap < 0) return parts.length === 8 ? parts : undefined;
  if (parts.length > 7) return undefined;
  return [...parts.slice(0, gap), ...new Array<number>(8 - parts.length).fill(0), ...parts.slice(gap)];
}

/** RFC 5952 text of eight groups: lowercase, the leftmost longest run of 2+ zero groups as '::'. */
export function rfc5952(parts: readonly number[]): string {
  let bestStart = -1;
  let bestLen = 1;
  for (let i = 0; i < parts.length; ) {
    if (parts[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < parts.length && parts[j] === 0) j++;
    if (j - i > bestLen) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = parts.map((p) => p.toString(16));
  return bestStart < 0 ? hex.join(':') : `${hex.slice(0, bestStart).join(':')}::${hex.slice(bestStart + bestLen).join(':')}`;
}

const IPV4_RE = /^(0|[1-9][0-9]{0,2})\.(0|[1-9][0-9]{0,2})\.(0|[1-9][0-9]{0,2})\.(0|[1-9][0-9]{0,2})$/;

export function parseAddress(text: string): AddrParse {
  if (text.includes('%')) return { ok: false, hint: 'zone indices (%eth0) are not allowed in rules' };
  if (text.includes(':')) {
    let parts = plainIPv6(text);
    if (!parts) {
      // Embedded IPv4 and every invalid form go through ipaddr, which decides. (One parse:
      // IPv6.isValid is a parse that throws its result away.)
      try {
        parts = ipaddr.IPv6.parse(text).parts;
      } catch {
        return { ok: false, hint: 'IPv6 addresses are eight groups of hex digits, with :: for one run of zeros' };
      }
    }
    let value = 0n;
    for (const part of parts) value = (value << 16n) | BigInt(part);
    return { ok: true, family: 'ipv6', text: rfc5952(parts), value };
  }
  if (/^[0-9.]+$/.test(text)) {
    // Exactly what ipaddr's isValidFourPartDecimal accepts (four decimal parts 0-255 without
    // leading zeros), read directly: such text is already canonical.
    const m = IPV4_RE.exec(text);
    const parts = m ? [Number(m[1]), Number(m[2]), Number(m[3]), Number(m[4])] : [];
    if (!m || parts.some((x) => x > 255)) {
      return { ok: false, hint: 'IPv4 addresses are four numbers 0-255 without leading zeros, e.g. 10.0.0.1' };
    }
    return { ok: true, family: 'ipv4', text, value: BigInt(((parts[0] << 24) | (parts[1] << 16) | (parts[2] << 8) | parts[3]) >>> 0) };
  }
  return { ok: false, hint: 'write a literal address such as 10.96.0.10 or fd00::a' };
}

export function formatAddress(family: Family, v: bigint): string {
  if (family === 'ipv4') {
    const n = Number(v);
    return `${(n >>> 24) & 255}.${(n >>> 16) & 255}.${(n >>> 8) & 255}.${n & 255}`;
  }
  // Uncompressed IPv6 (valid, parseable, and cheap); printed forms use canonicalAddress.
  const groups: string[] = [];
  for (let i = 7; i >= 0; i--) groups.push(Number((v >> BigInt(i * 16)) & 0xffffn).toString(16));
  return groups.join(':');
}

/** RFC 5952 text of an address value. */
export function canonicalAddress(family: Family, v: bigint): string {
  const n = bitsOf(family) / 8;
  const bytes: number[] = [];
  for (let i = n - 1; i >= 0; i--) bytes.push(Number((v >> BigInt(i * 8)) & 0xffn));
  return ipaddr.fromByteArray(bytes).toString();
}

export type CidrParse =
  | { ok: true; cidr: Cidr }
  | { ok: false; kind: 'invalid'; hint: string }
  | { ok: false; kind: 'host-bits'; canonical: string; prefix: number };

/** The host bits below each prefix length, for each family (`HOST_MASKS_V4[24]` is 0xff). */
const hostMasks = (bits: number) => Array.from({ length: bits + 1 }, (_, prefix) => (1n << BigInt(bits - prefix)) - 1n);
const HOST_MASKS_V4 = hostMasks(32);
const HOST_MASKS_V6 = hostMasks(128);

/** Parse ADDRESS or ADDRESS/PREFIX; a bare address is a host route. */
export function parseCidr(text: string): CidrParse {
  const slash = text.indexOf('/');
  const addrText = slash < 0 ? text : text.slice(0, slash);
  const a = parseAddress(addrText);
  if (!a.ok) return { ok: false, kind: 'invalid', hint: a.hint };
  const bits = bitsOf(a.family);
  let prefix = bits;
  if (slash >= 0) {
    const p = text.slice(slash + 1);
    if (!/^(0|[1-9][0-9]{0,2})$/.test(p) || Number(p) > bits) {
      return { ok: false, kind: 'invalid', hint: `the prefix length must be 0-${bits} for ${a.family === 'ipv4' ? 'IPv4' : 'IPv6'}` };
    }
    prefix = Number(p);
  }
  const hostMask = (a.family === 'ipv4' ? HOST_MASKS_V4 : HOST_MASKS_V6)[prefix];
  const first = a.value & ~hostMask;
  if ((a.value & hostMask) !== 0n) return { ok: false, kind: 'host-bits', canonical: `${canonicalAddress(a.family, first)}/${prefix}`, prefix };
  // No host bits: the network address is the address itself, whose text is canonical.
  return { ok: true, cidr: { family: a.family, addr: a.text, prefix, first, last: first | hostMask } };
}

export function cidrText(c: Pick<Cidr, 'addr' | 'prefix'>): string {
  return `${c.addr}/${c.prefix}`;
}

export function cidrContains(outer: Cidr, inner: Cidr): boolean {
  return outer.family === inner.family && outer.first <= inner.first && inner.last <= outer.last;
}

export function isLoopbackV4(v: bigint): boolean {
  return v >> 24n === 127n;
}
