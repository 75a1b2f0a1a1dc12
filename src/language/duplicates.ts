// Duplicate and contained items within one list of a statement (ports, CIDRs, names),
// found in O(n log n) so that lists of tens of thousands of items stay fast.
import type { CidrItem, PortRange } from './ast.js';
import { diag, type Diagnostic } from '../diagnostics/diagnostic.js';
import { cidrContains, cidrText } from '../net/ip.js';
import type { Span } from '../source.js';

/**
 * Which items another item of the list contains, in O(n log n). Sorted (by group, then lo
 * ascending, then hi descending, then position), an item is contained in another of its
 * group exactly when an item before it in that order reaches at least as far (`hi`); of
 * two identical items only the later one is flagged. These are exactly the items the
 * duplicate checks below report, so they search (linearly) only for those, and a clean
 * list costs one sort. `groups` are the items' indices in that order, one array per group.
 */
function containedFlags<H extends number | bigint>(n: number, groups: ArrayLike<number>[], hi: (i: number) => H): Uint8Array {
  const flags = new Uint8Array(n);
  for (const order of groups) {
    let reach: H | undefined;
    for (let k = 0; k < order.length; k++) {
      const i = order[k];
      const h = hi(i);
      if (reach !== undefined && reach >= h) flags[i] = 1;
      if (reach === undefined || h > reach) reach = h;
    }
  }
  return flags;
}

/** Positions 0..n-1 sorted by a numeric key (a non-negative integer), then by position. */
function sortedBy(n: number, key: (i: number) => number): Uint32Array {
  // Key and position in one double when both fit in its 53 bits (as they do for ports,
  // IPv4 networks and gids in any list of realistic length), so that the sort is a plain
  // numeric one without a comparator.
  const keys = new Float64Array(n);
  let max = 0;
  let integers = true;
  for (let i = 0; i < n; i++) {
    const k = key(i);
    keys[i] = k;
    if (k > max) max = k;
    if (!(k >= 0 && Number.isInteger(k))) integers = false;
  }
  const order = new Uint32Array(n);
  const scale = 2 ** Math.max(1, Math.ceil(Math.log2(n + 1)));
  if (integers && max < 2 ** 53 / scale) {
    for (let i = 0; i < n; i++) keys[i] = keys[i] * scale + i;
    keys.sort();
    for (let i = 0; i < n; i++) order[i] = keys[i] % scale;
    return order;
  }
  for (let i = 0; i < n; i++) order[i] = i;
  return order.sort((a, b) => keys[a] - keys[b] || a - b);
}

/**
 * For each port range, the first range of the list that contains it (itself, when none
 * before it does), in O(n log n): in `order` (lo ascending), a Fenwick tree over hi keeps
 * the smallest position of the ranges seen so far that reach at least that far.
 */
function firstPortContainers(items: PortRange[], order: Uint32Array): Uint32Array {
  const SIZE = 65536;
  const tree = new Uint32Array(SIZE + 1).fill(0xffffffff);
  // Position k of the tree stands for hi = 65535 - k: a prefix of the tree is "hi at least".
  const update = (hi: number, v: number) => {
    for (let k = 65535 - hi + 1; k <= SIZE; k += k & -k) if (v < tree[k]) tree[k] = v;
  };
  const query = (hi: number) => {
    let m = 0xffffffff;
    for (let k = 65535 - hi + 1; k > 0; k -= k & -k) if (tree[k] < m) m = tree[k];
    return m;
  };
  const first = new Uint32Array(items.length);
  for (let a = 0; a < order.length; ) {
    let b = a;
    while (b < order.length && items[order[b]].lo === items[order[a]].lo) update(items[order[b]].hi, order[b++]);
    for (let k = a; k < b; k++) first[order[k]] = query(items[order[k]].hi);
    a = b;
  }
  return first;
}

export function portDuplicates(items: PortRange[], report: (d: Diagnostic) => void): void {
  // lo ascending, then hi descending, as one number.
  const order = sortedBy(items.length, (i) => items[i].lo * 65536 + (65535 - items[i].hi));
  const flagged = containedFlags(items.length, [order], (i) => items[i].hi);
  // Only computed for lists with something to report (a clean list costs one sort).
  const first = flagged.includes(1) ? firstPortContainers(items, order) : undefined;
  for (let i = 0; i < items.length; i++) {
    if (!flagged[i]) continue;
    const p = items[i];
    const other = first![i] < i ? items[first![i]] : items.find((q, j) => j > i && q.lo <= p.lo && p.hi <= q.hi && (q.lo !== p.lo || q.hi !== p.hi));
    if (other) report(diag('duplicate-value', p.span ?? undefined, { text: rangeText(p), other: rangeText(other) }));
  }
}

export function cidrDuplicates(items: CidrItem[], report: (d: Diagnostic) => void): void {
  // Per family: the network address ascending, then the prefix ascending (for one network
  // address, the shorter prefix is the larger range), then position. IPv4 fits a number;
  // IPv6 is compared as BigInt.
  const v4: number[] = [];
  const v6: number[] = [];
  for (let i = 0; i < items.length; i++) (items[i].family === 'ipv4' ? v4 : v6).push(i);
  const v4order = sortedBy(v4.length, (k) => Number(items[v4[k]].first) * 64 + items[v4[k]].prefix);
  const v4sorted = Array.from(v4order, (k) => v4[k]);
  v6.sort((a, b) => {
    const x = items[a];
    const y = items[b];
    if (x.first !== y.first) return x.first < y.first ? -1 : 1;
    return x.prefix - y.prefix || a - b;
  });
  const flagged = containedFlags(items.length, [v4sorted, v6], (i) => items[i].last);
  // A CIDR's containers are its own shorter prefixes: at most 33 (129) networks to look
  // up, each by the first position it has in the list.
  const key = (c: CidrItem, p: number) => {
    const host = BigInt((c.family === 'ipv4' ? 32 : 128) - p);
    return `${c.family}/${(c.first >> host) << host}/${p}`;
  };
  const firstAt = new Map<string, number>();
  if (flagged.includes(1)) for (let i = items.length - 1; i >= 0; i--) firstAt.set(key(items[i], items[i].prefix), i);
  const earliestContainer = (c: CidrItem): number => {
    let best = Infinity;
    for (let p = 0; p <= c.prefix; p++) {
      const j = firstAt.get(key(c, p));
      if (j !== undefined && j < best) best = j;
    }
    return best;
  };
  for (let i = 0; i < items.length; i++) {
    if (!flagged[i]) continue;
    const c = items[i];
    const e = earliestContainer(c);
    const other =
      (e < i ? items[e] : undefined) ??
      items.find((o, j) => j > i && cidrContains(o, c) && o.prefix !== c.prefix);
    if (other) report(diag('duplicate-value', c.span ?? undefined, { text: cidrText(c), other: cidrText(other) }));
  }
}

/**
 * Items with equal keys; a later one is reported against the first. Numeric keys (gids) are
 * sorted, which allocates one typed array; text keys go through a Map. A name never
 * equals a number (names start with a letter or _).
 */
export function textDuplicates<T extends { span: Span | null }>(items: T[], key: (t: T) => string | number, report: (d: Diagnostic) => void): void {
  const n = items.length;
  if (n < 2) return;
  const keys = items.map(key);
  const dup = new Int32Array(n).fill(-1); // the first item with the same key, for the later ones
  const numeric: number[] = [];
  const first = new Map<string, number>();
  for (let i = 0; i < n; i++) {
    const k = keys[i];
    if (typeof k === 'number' && Number.isInteger(k) && k >= 0) numeric.push(i);
    else {
      const f = first.get(String(k));
      if (f === undefined) first.set(String(k), i);
      else dup[i] = f;
    }
  }
  if (numeric.length > 1) {
    const order = sortedBy(numeric.length, (j) => keys[numeric[j]] as number);
    for (let j = 1, f = numeric[order[0]]; j < order.length; j++) {
      const i = numeric[order[j]];
      if (keys[i] === keys[f]) dup[i] = f;
      else f = i;
    }
  }
  for (let i = 0; i < n; i++) {
    if (dup[i] >= 0) report(diag('duplicate-value', items[i].span ?? undefined, { text: String(keys[i]), other: String(keys[dup[i]]) }));
  }
}

export function rangeText(p: { lo: number; hi: number }): string {
  return p.lo === p.hi ? String(p.lo) : `${p.lo}-${p.hi}`;
}
