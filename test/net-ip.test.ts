// src/net/ip.ts reads plain IPv4 and IPv6 text itself (the front end's hot path, see
// bench/) and leaves everything else to ipaddr.js. This checks that it accepts exactly what
// ipaddr's strict forms accept, with the same value and the same canonical text.
import fc from 'fast-check';
import ipaddr from 'ipaddr.js';
import { describe, expect, it } from 'vitest';
import { canonicalAddress, parseAddress, parseCidr } from '../src/net/ip.js';

/** The reference: ipaddr's own parsing and RFC 5952 printing, as ip.ts used to do. */
function reference(text: string): { family: string; text: string; value: bigint } | undefined {
  if (text.includes('%')) return undefined;
  const big = (bytes: number[]) => bytes.reduce((v, b) => (v << 8n) | BigInt(b), 0n);
  if (text.includes(':')) {
    if (!ipaddr.IPv6.isValid(text)) return undefined;
    const a = ipaddr.IPv6.parse(text);
    return { family: 'ipv6', text: a.toString(), value: big(a.toByteArray()) };
  }
  if (/^[0-9.]+$/.test(text) && ipaddr.IPv4.isValidFourPartDecimal(text)) {
    const a = ipaddr.IPv4.parse(text);
    return { family: 'ipv4', text: a.toString(), value: big(a.toByteArray()) };
  }
  return undefined;
}

function same(text: string): void {
  const want = reference(text);
  const got = parseAddress(text);
  if (!want) {
    expect(got.ok, text).toBe(false);
    return;
  }
  expect(got.ok, text).toBe(true);
  if (got.ok) expect({ family: got.family, text: got.text, value: got.value }, text).toEqual(want);
}

const hexGroup = fc.oneof(
  fc.integer({ min: 0, max: 0xffff }),
  fc.constantFrom(0, 0, 0, 1, 0xa),
);

/** IPv6 text: eight groups, random case and zero padding, maybe one '::', maybe damaged. */
const ipv6Text = fc
  .tuple(
    fc.array(hexGroup, { minLength: 8, maxLength: 8 }),
    fc.array(fc.tuple(fc.integer({ min: 0, max: 3 }), fc.boolean()), { minLength: 8, maxLength: 8 }),
    fc.option(fc.tuple(fc.integer({ min: 0, max: 8 }), fc.integer({ min: 0, max: 8 }))),
    fc.option(fc.tuple(fc.integer({ min: 0, max: 40 }), fc.constantFrom(':', '::', '0', '00000', 'g', '.', '1.2.3.4'))),
  )
  .map(([groups, styles, gap, damage]) => {
    const g = groups.map((v, i) => {
      const [pad, upper] = styles[i];
      const h = v.toString(16).padStart(1 + pad, '0');
      return upper ? h.toUpperCase() : h;
    });
    let text = g.join(':');
    if (gap) {
      const a = Math.min(gap[0], gap[1]);
      const b = Math.max(gap[0], gap[1]);
      if (groups.slice(a, b).every((v) => v === 0)) text = `${g.slice(0, a).join(':')}::${g.slice(b).join(':')}`;
    }
    if (damage) {
      const at = Math.min(damage[0], text.length);
      text = text.slice(0, at) + damage[1] + text.slice(at);
    }
    return text;
  });

const ipv4Text = fc
  .tuple(fc.array(fc.oneof(fc.integer({ min: 0, max: 255 }), fc.integer({ min: 0, max: 999 })), { minLength: 3, maxLength: 5 }), fc.boolean())
  .map(([parts, pad]) => parts.map((p, i) => (pad && i === 1 ? String(p).padStart(3, '0') : String(p))).join('.'));

describe('address parsing', () => {
  it('edge cases match ipaddr', () => {
    for (const t of [
      '::', '::1', '1::', '::6', 'fd00::a', 'FD00::A', '0:0:0:0:0:0:0:0', '1:2:3:4:5:6:7:8', '1:2:3:4:5:6:7::', '::2:3:4:5:6:7:8',
      '1:2:3:4:5:6:7:8::', '::1:2:3:4:5:6:7:8', '1::2::3', ':::', '1:::2', ':1:2:3:4:5:6:7', '1:2:3:4:5:6:7:', '00000::1', '0000::1',
      '1:0:0:1:0:0:0:1', '1:0:0:2:0:0:3:4', '::ffff:1.2.3.4', '::127.0.0.53', '::ffff:102:304', '1:2', '1', ':', 'g::1', 'fe80::1%eth0',
      '0.0.0.0', '255.255.255.255', '256.1.1.1', '01.2.3.4', '1.2.3', '1.2.3.4.5', '1..2.3', '00.0.0.0', '10.96.0.10', '',
    ]) {
      same(t);
    }
  });

  it('random IPv6 text matches ipaddr (acceptance, value, RFC 5952 text)', () => {
    fc.assert(fc.property(ipv6Text, (t) => same(t)), { numRuns: 5000 });
  });

  it('random IPv4 text matches ipaddr', () => {
    fc.assert(fc.property(ipv4Text, (t) => same(t)), { numRuns: 2000 });
  });

  it('a CIDR keeps the canonical text of its network address', () => {
    fc.assert(
      fc.property(ipv6Text, fc.integer({ min: 0, max: 128 }), (t, prefix) => {
        const r = parseCidr(`${t}/${prefix}`);
        if (r.ok) expect(r.cidr.addr).toBe(canonicalAddress(r.cidr.family, r.cidr.first));
        else if (r.kind === 'host-bits') expect(r.canonical).toBe(`${canonicalAddress('ipv6', parseCidrFirst(t, prefix))}/${prefix}`);
      }),
      { numRuns: 2000 },
    );
  });
});

function parseCidrFirst(text: string, prefix: number): bigint {
  const a = parseAddress(text);
  if (!a.ok) throw new Error(text);
  const host = (1n << BigInt(128 - prefix)) - 1n;
  return a.value & ~host;
}
