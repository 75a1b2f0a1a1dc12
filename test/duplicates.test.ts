// The duplicate-value checks of src/language/values.ts are O(n log n) (they must stay fast
// on lists of thousands of items, see bench/). This checks them against the plain
// quadratic definition on random lists: same reports, same order, same wording.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { CidrItem, PortRange } from '../src/language/ast.js';
import { diag, type Diagnostic } from '../src/diagnostics/diagnostic.js';
import { cidrDuplicates, portDuplicates, rangeText, textDuplicates } from '../src/language/duplicates.js';
import { cidrContains, cidrText, parseCidr } from '../src/net/ip.js';

function refPorts(items: PortRange[]): Diagnostic[] {
  const out: Diagnostic[] = [];
  items.forEach((p, i) => {
    const other = items.find((q, j) => j < i && q.lo <= p.lo && p.hi <= q.hi) ?? items.find((q, j) => j > i && q.lo <= p.lo && p.hi <= q.hi && (q.lo !== p.lo || q.hi !== p.hi));
    if (other) out.push(diag('duplicate-value', p.span ?? undefined, { text: rangeText(p), other: rangeText(other) }));
  });
  return out;
}

function refCidrs(items: CidrItem[]): Diagnostic[] {
  const out: Diagnostic[] = [];
  items.forEach((c, i) => {
    const other = items.find((o, j) => j < i && cidrContains(o, c)) ?? items.find((o, j) => j > i && cidrContains(o, c) && o.prefix !== c.prefix);
    if (other) out.push(diag('duplicate-value', c.span ?? undefined, { text: cidrText(c), other: cidrText(other) }));
  });
  return out;
}

function refText(items: { name: string; span: null }[]): Diagnostic[] {
  const out: Diagnostic[] = [];
  items.forEach((x, i) => {
    const other = items.find((o, j) => j < i && o.name === x.name);
    if (other) out.push(diag('duplicate-value', undefined, { text: x.name, other: other.name }));
  });
  return out;
}

function collect(f: (report: (d: Diagnostic) => void) => void): Diagnostic[] {
  const out: Diagnostic[] = [];
  f((d) => out.push(d));
  return out;
}

// Small value ranges, so that repeats and containment are common.
const portRange = fc.tuple(fc.integer({ min: 1, max: 40 }), fc.integer({ min: 0, max: 6 })).map(([lo, w]): PortRange => ({ lo, hi: lo + (w < 4 ? 0 : w), span: null }));

const cidr = fc
  .oneof(
    fc.tuple(fc.integer({ min: 0, max: 3 }), fc.integer({ min: 0, max: 3 }), fc.constantFrom(8, 16, 24, 32)).map(([a, b, p]) => `10.${a}.${b}.0/${p}`),
    fc.tuple(fc.integer({ min: 0, max: 3 }), fc.constantFrom(16, 32, 48, 128)).map(([a, p]) => `fd00:${a}::/${p}`),
    fc.constant('0.0.0.0/0'),
    fc.constant('::/0'),
  )
  .map((text): CidrItem | undefined => {
    // Mask host bits away, as a policy must.
    const r = parseCidr(text);
    const c = r.ok ? r : r.kind === 'host-bits' ? parseCidr(r.canonical) : r;
    return c.ok ? { ...c.cidr, span: null } : undefined;
  })
  .filter((c): c is CidrItem => c !== undefined);

describe('duplicate-value checks', () => {
  it('ports and ranges: the same reports as the quadratic definition', () => {
    fc.assert(
      fc.property(fc.array(portRange, { maxLength: 30 }), (items) => {
        expect(collect((r) => portDuplicates(items, r))).toEqual(refPorts(items));
      }),
      { numRuns: 500 },
    );
  });

  it('CIDRs of both families: the same reports as the quadratic definition', () => {
    fc.assert(
      fc.property(fc.array(cidr, { maxLength: 25 }), (items) => {
        expect(collect((r) => cidrDuplicates(items, r))).toEqual(refCidrs(items));
      }),
      { numRuns: 500 },
    );
  });

  it('names: the same reports as the quadratic definition', () => {
    fc.assert(
      fc.property(fc.array(fc.constantFrom('a', 'b', 'c', 'd', 'eth0', 'veth+'), { maxLength: 20 }), (names) => {
        const items = names.map((name) => ({ name, span: null }));
        expect(collect((r) => textDuplicates(items, (x) => x.name, r))).toEqual(refText(items));
      }),
      { numRuns: 300 },
    );
  });

  it('owners (gids as numbers, names as text): the same reports as the quadratic definition', () => {
    const owner = fc.oneof(fc.integer({ min: 0, max: 6 }), fc.constant(4294967294), fc.constantFrom('a', 'b', 'proxy'));
    fc.assert(
      fc.property(fc.array(owner, { maxLength: 24 }), (keys) => {
        const items = keys.map((k) => ({ key: k, name: String(k), span: null }));
        expect(collect((r) => textDuplicates(items, (x) => x.key, r))).toEqual(refText(items));
      }),
      { numRuns: 300 },
    );
  });

  it('a long clean list reports nothing (and does not take quadratic time)', () => {
    const ports: PortRange[] = Array.from({ length: 30000 }, (_, i) => ({ lo: 2 * i + 1, hi: 2 * i + 1, span: null }));
    expect(collect((r) => portDuplicates(ports, r))).toEqual([]);
    const cidrs: CidrItem[] = Array.from({ length: 20000 }, (_, i) => {
      const r = parseCidr(`10.${i >> 8}.${i & 255}.0/24`);
      if (!r.ok) throw new Error('bad CIDR');
      return { ...r.cidr, span: null };
    });
    expect(collect((r) => cidrDuplicates(cidrs, r))).toEqual([]);
  });
});
