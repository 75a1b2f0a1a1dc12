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
 * Reads plain IPv6 text (1-4 hex digits per group, at most one '::' standing for at least
 * one zero group; no embedded IPv4, no zone) into `out`'s eight groups: the common case,
 * several times cheaper than ipaddr, and without allocating (this runs for every IPv6
 * value of a policy). Anything else gives false, for ipaddr to decide; what this accepts,
 * ipaddr accepts with the same groups (test/net-ip.test.ts).
 */
function plainIPv6(text: string, out: Uint16Array): boolean {
  const n = text.length;
  const parts = GROUPS_READ;
  let count = 0;
  let gap = -1; // where '::' stands among the groups
  let i = 0;
  if (text.charCodeAt(0) === 58) {
    if (text.charCodeAt(1) !== 58) return false;
    gap = 0;
    i = 2;
  }
  while (i < n) {
    let v = 0;
    let digits = 0;
    for (let h: number; i < n && (h = hexDigit(text.charCodeAt(i))) >= 0; i++, digits++) v = v * 16 + h;
    if (digits === 0 || digits > 4 || count === 8) return false;
    parts[count++] = v;
    if (i === n) break;
    if (text.charCodeAt(i) !== 58) return false;
    i++;
    if (text.charCodeAt(i) === 58) {
      if (gap >= 0) return false;
      gap = count;
      i++;
    } else if (i === n) return false;
  }
  if (gap < 0) {
    if (count !== 8) return false;
    out.set(parts);
    return true;
  }
  if (count > 7) return false;
  // The groups before the gap, zeros, then the groups after it.
  const zeros = 8 - count;
  for (let k = 0; k < 8; k++) out[k] = k < gap ? parts[k] : k < gap + zeros ? 0 : parts[k - zeros];
  return true;
}
const GROUPS_READ = new Uint16Array(8);
const GROUPS = new Uint16Array(8);

/** Lowercase hex text of 16-bit groups, made once each (IPv6 text is built from them). */
const HEX: (string | undefined)[] = new Array<string | undefined>(65536);
const hexOf = (v: number) => (HEX[v] ??= v.toString(16));

/** RFC 5952 text of eight groups: lowercase, the leftmost longest run of 2+ zero groups as '::'. */
export function rfc5952(parts: ArrayLike<number>): string {
  let bestStart = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (parts[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && parts[j] === 0) j++;
    if (j - i > bestLen) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  let text = '';
  for (let i = 0; i < 8; i++) {
    if (i === bestStart) {
      text += '::';
      i += bestLen - 1;
      continue;
    }
    if (text.length > 0 && i !== bestStart + bestLen) text += ':';
    text += hexOf(parts[i]);
  }
  return text;
}

/**
 * The value of dotted-quad text (four decimal parts 0-255, no leading zeros: exactly what
 * ipaddr's isValidFourPartDecimal accepts), or -1. Read by hand: it is the most common
 * value in a policy, and a regular expression plus four Numbers cost several times more.
 */
function dottedQuad(text: string): number {
  const n = text.length;
  let value = 0;
  let i = 0;
  for (let part = 0; part < 4; part++) {
    if (part > 0) {
      if (text.charCodeAt(i) !== 46) return -1;
      i++;
    }
    const start = i;
    let v = 0;
    for (let c: number; i < n && (c = text.charCodeAt(i)) >= 48 && c <= 57; i++) v = v * 10 + c - 48;
    const digits = i - start;
    if (digits === 0 || digits > 3 || (digits > 1 && text.charCodeAt(start) === 48) || v > 255) return -1;
    value = value * 256 + v;
  }
  return i === n ? value : -1;
}

/** The 128-bit value of eight 16-bit groups, from three exact Numbers (48, 48, 32 bits). */
function groupsValue(parts: ArrayLike<number>): bigint {
  const hi = parts[0] * 2 ** 32 + parts[1] * 2 ** 16 + parts[2];
  const mid = parts[3] * 2 ** 32 + parts[4] * 2 ** 16 + parts[5];
  const lo = parts[6] * 2 ** 16 + parts[7];
  return (BigInt(hi) << 80n) | (BigInt(mid) << 32n) | BigInt(lo);
}

/**
 * What `readAddress` read last: a policy has tens of thousands of addresses and CIDRs, and
 * a result object for each, thrown away at once by parseCidr, was a measurable share of
 * the front end's garbage. Valid only right after a call that returned true.
 */
const read = { family: 'ipv4' as Family, text: '', value: 0n, hint: '' };

function readAddress(text: string): boolean {
  if (text.includes('%')) {
    read.hint = 'zone indices (%eth0) are not allowed in rules';
    return false;
  }
  if (text.includes(':')) {
    let parts: ArrayLike<number> = GROUPS;
    if (!plainIPv6(text, GROUPS)) {
      // Embedded IPv4 and every invalid form go through ipaddr, which decides. (One parse:
      // IPv6.isValid is a parse that throws its result away.)
      try {
        parts = ipaddr.IPv6.parse(text).parts;
      } catch {
        read.hint = 'IPv6 addresses are eight groups of hex digits, with :: for one run of zeros';
        return false;
      }
    }
    read.family = 'ipv6';
    read.text = rfc5952(parts);
    read.value = groupsValue(parts);
    return true;
  }
  if (/^[0-9.]+$/.test(text)) {
    // Such text, when valid, is already canonical.
    const v = dottedQuad(text);
    if (v < 0) {
      read.hint = 'IPv4 addresses are four numbers 0-255 without leading zeros, e.g. 10.0.0.1';
      return false;
    }
    read.family = 'ipv4';
    read.text = text;
    read.value = BigInt(v);
    return true;
  }
  read.hint = 'write a literal address such as 10.96.0.10 or fd00::a';
  return false;
}

export function parseAddress(text: string): AddrParse {
  if (!readAddress(text)) return { ok: false, hint: read.hint };
  return { ok: true, family: read.family, text: read.text, value: read.value };
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
const netMasks = (bits: number, hosts: bigint[]) => hosts.map((h) => ((1n << BigInt(bits)) - 1n) ^ h);
const NET_MASKS_V4 = netMasks(32, HOST_MASKS_V4);
const NET_MASKS_V6 = netMasks(128, HOST_MASKS_V6);

/** Parse ADDRESS or ADDRESS/PREFIX; a bare address is a host route. */
export type CidrError = Exclude<CidrParse, { ok: true }>;

/** What `readCidr` read last: valid right after a call that returned undefined; copy it. */
const lastCidr: Cidr = { family: 'ipv4', addr: '', prefix: 0, first: 0n, last: 0n };
export const cidrRead: Readonly<Cidr> = lastCidr;

/**
 * parseCidr without a result object: the CIDR goes to `cidrRead` (to be copied at once),
 * an error is returned. For the front end, which reads tens of thousands of CIDRs and
 * makes one object of each.
 */
export function readCidr(text: string): CidrError | undefined {
  const slash = text.indexOf('/');
  const addrText = slash < 0 ? text : text.slice(0, slash);
  if (!readAddress(addrText)) return { ok: false, kind: 'invalid', hint: read.hint };
  const a = read;
  const bits = bitsOf(a.family);
  let prefix = bits;
  if (slash >= 0) {
    prefix = prefixLength(text, slash + 1);
    if (prefix < 0 || prefix > bits) {
      return { ok: false, kind: 'invalid', hint: `the prefix length must be 0-${bits} for ${a.family === 'ipv4' ? 'IPv4' : 'IPv6'}` };
    }
  }
  const v4 = a.family === 'ipv4';
  const hostMask = (v4 ? HOST_MASKS_V4 : HOST_MASKS_V6)[prefix];
  const first = a.value & (v4 ? NET_MASKS_V4 : NET_MASKS_V6)[prefix];
  if (first !== a.value) return { ok: false, kind: 'host-bits', canonical: `${canonicalAddress(a.family, first)}/${prefix}`, prefix };
  // No host bits: the network address is the address itself, whose text is canonical.
  lastCidr.family = a.family;
  lastCidr.addr = a.text;
  lastCidr.prefix = prefix;
  lastCidr.first = first;
  lastCidr.last = first | hostMask;
  return undefined;
}

export function parseCidr(text: string): CidrParse {
  const err = readCidr(text);
  if (err) return err;
  const c = cidrRead;
  return { ok: true, cidr: { family: c.family, addr: c.addr, prefix: c.prefix, first: c.first, last: c.last } };
}

/** The decimal number (0-999, no leading zero) from `from` to the end of text, or -1. */
function prefixLength(text: string, from: number): number {
  const digits = text.length - from;
  if (digits < 1 || digits > 3 || (digits > 1 && text.charCodeAt(from) === 48)) return -1;
  let v = 0;
  for (let i = from; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 48 || c > 57) return -1;
    v = v * 10 + c - 48;
  }
  return v;
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
