// Value parsers for statement arguments. Each takes the argument atoms of one statement,
// reports problems into the sink with the exact span of the offending atom, and returns
// the value or undefined.
import type { Atom } from '../../grammar/syntax-tree.js';
import type { Address, CidrItem, InboundMode, Interface, Owner, PortRange, Selection, DnsCapture } from './ast.js';
import { diag, suggest, type Diagnostic } from '../diagnostics/diagnostic.js';
import { cidrRead, parseAddress, readCidr, type Family } from '../net/ip.js';
import type { Span } from '../source.js';
import { MAX_OWNER_RANGE } from '../ir/keys.js';

export interface ValueContext {
  /** The statement's name as the user wrote it, for messages. */
  name: string;
  /** The span of the whole statement (for "needs a value"). */
  span: Span;
  report: (d: Diagnostic) => void;
}

/** A value parser; `expected` describes what it takes, for messages and docs. */
export interface ValueKind<T> {
  expected: string;
  parse(args: Atom[], ctx: ValueContext): T | undefined;
}

// ---- helpers ------------------------------------------------------------------------------

function needValue(args: Atom[], ctx: ValueContext, expected: string): boolean {
  if (args.length === 0) {
    ctx.report(diag('missing-value', ctx.span, { name: ctx.name, expected }));
    return false;
  }
  return true;
}

export function single(args: Atom[], ctx: ValueContext, expected: string): Atom | undefined {
  if (!needValue(args, ctx, expected)) return undefined;
  if (args.length > 1) {
    const extra = args[1];
    if (extra.commaBefore) ctx.report(diag('single-value-expected', extra.span, { name: ctx.name }));
    else ctx.report(diag('unexpected-value', extra.span, { text: extra.text, after: `'${ctx.name} ${args[0].text}'`, expected: `'${ctx.name}' takes ${expected}` }));
  }
  return args[0];
}

/** Check comma separation and return the list items. */
function listItems(args: Atom[], ctx: ValueContext): Atom[] {
  for (let i = 1; i < args.length; i++) {
    if (!args[i].commaBefore) ctx.report(diag('expected-list-separator', args[i].span, { prev: args[i - 1].text, text: args[i].text }));
  }
  return args;
}

/** `*` / `none` alone, or a list parsed by `item`. */
function selection<T>(args: Atom[], ctx: ValueContext, expected: string, item: (a: Atom) => T | undefined, allowNone = true): Selection<T> | undefined {
  if (!needValue(args, ctx, expected)) return undefined;
  let special: Atom | undefined;
  for (let i = 0; i < args.length && !special; i++) if (args[i].text === '*' || (allowNone && args[i].text === 'none')) special = args[i];
  if (special) {
    if (args.length > 1) {
      ctx.report(diag('wildcard-in-list', special.span, { word: special.text }));
      return undefined;
    }
    return special.text === '*' ? { kind: 'all' } : { kind: 'none' };
  }
  const items = list(args, ctx, expected, item);
  return items && { kind: 'list', items };
}

export function list<T>(args: Atom[], ctx: ValueContext, expected: string, item: (a: Atom) => T | undefined, allowEmpty = false): T[] | undefined {
  if (!allowEmpty && !needValue(args, ctx, expected)) return undefined;
  // Sized once: when every item is good (the only case returned) there is one per atom.
  const out = new Array<T>(args.length);
  let ok = true;
  listItems(args, ctx);
  // Indexed: this loop runs once per value of a policy (a for-of iterator cost an object
  // per value before the function was optimized).
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (a.text === '*') {
      ctx.report(diag('wildcard-not-allowed', a.span, { name: ctx.name, hint: `'${ctx.name}' takes ${expected}` }));
      ok = false;
      continue;
    }
    const v = item(a);
    if (v === undefined) ok = false;
    else out[i] = v;
  }
  return ok ? out : undefined;
}

// ---- scalar items -------------------------------------------------------------------------

/** 1-5 decimal digits from `from` to `to` making 1-65535 (read by hand: the hot path). */
function portNumber(text: string, from = 0, to = text.length): number | undefined {
  if (to - from < 1 || to - from > 5) return undefined;
  let n = 0;
  for (let i = from; i < to; i++) {
    const c = text.charCodeAt(i);
    if (c < 48 || c > 57) return undefined;
    n = n * 10 + c - 48;
  }
  return n >= 1 && n <= 65535 ? n : undefined;
}

export function portItem(a: Atom, ctx: ValueContext, allowRange: boolean): PortRange | undefined {
  // A range is two non-empty parts around the only '-'.
  const text = a.text;
  const dash = text.indexOf('-');
  if (allowRange && dash > 0 && dash < text.length - 1 && text.indexOf('-', dash + 1) < 0) {
    const lo = portNumber(text, 0, dash);
    const hi = portNumber(text, dash + 1);
    if (lo === undefined || hi === undefined) {
      ctx.report(diag('invalid-port', a.span, { text: lo === undefined ? text.slice(0, dash) : text.slice(dash + 1) }));
      return undefined;
    }
    if (lo > hi) {
      ctx.report(diag('invalid-port-range', a.span, { text: a.text, fixed: `${hi}-${lo}` }));
      return undefined;
    }
    return { lo, hi, span: a.span };
  }
  const p = portNumber(a.text);
  if (p === undefined) {
    ctx.report(diag('invalid-port', a.span, { text: a.text }));
    return undefined;
  }
  return { lo: p, hi: p, span: a.span };
}

export function cidrItem(a: Atom, ctx: ValueContext): CidrItem | undefined {
  const r = readCidr(a.text);
  if (!r) {
    const c = cidrRead;
    return { family: c.family, addr: c.addr, prefix: c.prefix, first: c.first, last: c.last, span: a.span };
  }
  if (r.kind === 'host-bits') ctx.report(diag('cidr-host-bits', a.span, { text: a.text, prefix: r.prefix, canonical: r.canonical }));
  else ctx.report(diag(a.text.includes('/') ? 'invalid-cidr' : 'invalid-address', a.span, { text: a.text, hint: r.hint }));
  return undefined;
}

function addressItem(a: Atom, ctx: ValueContext): Address | undefined {
  const r = parseAddress(a.text);
  if (r.ok) return { family: r.family, text: r.text, value: r.value, span: a.span };
  const hint = a.text.includes('/') ? 'a single address is expected here, not a CIDR' : r.hint;
  ctx.report(diag('invalid-address', a.span, { text: a.text, hint }));
  return undefined;
}

const NAME_RE = /^[A-Za-z_][A-Za-z0-9_.-]{0,31}\$?$/;

/** The most ids an owner range may hold: the proofs read a range id by id (src/ir/keys.ts). */
export { MAX_OWNER_RANGE };

/** A uid or gid, a name, or a range `A-B` (Kuma's --uid-owner 106-108), as the ids it holds. */
export function ownerItem(a: Atom, ctx: ValueContext, what: 'uid' | 'gid'): Owner[] | undefined {
  const id = (t: string) => (/^[0-9]+$/.test(t) && t.length <= 10 && Number(t) <= 4294967294 ? Number(t) : undefined);
  const range = /^([0-9]+)-([0-9]+)$/.exec(a.text);
  if (range) {
    const [lo, hi] = [id(range[1]), id(range[2])];
    let reason: string | undefined;
    if (lo === undefined || hi === undefined) reason = 'both ends must be ids 0-4294967294';
    else if (lo > hi) reason = `it runs backwards: did you mean '${hi}-${lo}'?`;
    else if (hi - lo + 1 > MAX_OWNER_RANGE) reason = `it holds ${hi - lo + 1} ids; meshcap's proofs read a range id by id and take at most ${MAX_OWNER_RANGE}`;
    if (reason === undefined) return Array.from({ length: hi! - lo! + 1 }, (_, i) => ({ kind: 'id' as const, id: lo! + i, span: a.span }));
    ctx.report(diag('invalid-owner-range', a.span, { text: a.text, what, reason }));
    return undefined;
  }
  const n = id(a.text);
  if (n !== undefined) return [{ kind: 'id', id: n, span: a.span }];
  if (!/^[0-9]/.test(a.text) && NAME_RE.test(a.text)) return [{ kind: 'name', name: a.text, span: a.span }];
  ctx.report(diag('invalid-id', a.span, { text: a.text, what }));
  return undefined;
}

export function interfaceItem(a: Atom, ctx: ValueContext): Interface | undefined {
  const prefix = a.text.endsWith('+');
  const name = prefix ? a.text.slice(0, -1) : a.text;
  const bytes = Buffer.byteLength(name, 'utf8');
  let reason: string | undefined;
  if (bytes === 0) reason = "a '+' needs a prefix before it";
  else if (bytes > 15) reason = `it is ${bytes} bytes long; the limit is 15`;
  else if (/[/:\s]/.test(name)) reason = "it contains '/', ':' or whitespace";
  else if (name === '.' || name === '..') reason = "'.' and '..' are reserved";
  else if (name.includes('+')) reason = "'+' may only end a name, as a prefix wildcard";
  // Linux allows '*' in a name, but nft reads a trailing '*' as a wildcard and iptables does
  // not: such a name cannot mean one thing in every backend. `eth*` almost always means eth+.
  else if (name.includes('*')) reason = `'*' would be a wildcard to nft and a plain letter to iptables; for every interface whose name starts with '${name.split('*')[0]}' write '${name.split('*')[0]}+'`;
  if (reason) {
    ctx.report(diag('invalid-interface', a.span, { text: a.text, reason }));
    return undefined;
  }
  return { name, prefix, span: a.span };
}

function numberWord(text: string): number | undefined {
  if (/^0x[0-9a-fA-F]{1,8}$/.test(text)) return parseInt(text.slice(2), 16);
  if (/^[0-9]{1,10}$/.test(text)) return Number(text);
  return undefined;
}

// ---- value kinds ------------------------------------------------------------------------

export const port: ValueKind<number> = {
  expected: 'a port 1-65535',
  parse(args, ctx) {
    const a = single(args, ctx, this.expected);
    return a && portItem(a, ctx, false)?.lo;
  },
};

export const optionalPort: ValueKind<number | null> = {
  expected: "a port 1-65535, or 'none'",
  parse(args, ctx) {
    const a = single(args, ctx, this.expected);
    if (!a) return undefined;
    if (a.text === 'none') return null;
    return portItem(a, ctx, false)?.lo;
  },
};

export const portSelection: ValueKind<Selection<PortRange>> = {
  expected: "'*', 'none', or a list of ports and ranges (9080, 8000-8100)",
  parse(args, ctx) {
    return selection(args, ctx, this.expected, (a) => portItem(a, ctx, true));
  },
};

export const portList: ValueKind<PortRange[]> = {
  expected: 'a list of ports and ranges (3306, 8000-8100)',
  parse(args, ctx) {
    return list(args, ctx, this.expected, (a) => portItem(a, ctx, true));
  },
};

export const cidrSelection: ValueKind<Selection<CidrItem>> = {
  expected: "'*', 'none', or a list of CIDRs (10.0.0.0/8, fd00::/8)",
  parse(args, ctx) {
    return selection(args, ctx, this.expected, (a) => cidrItem(a, ctx));
  },
};

export const cidrList: ValueKind<CidrItem[]> = {
  expected: 'a list of CIDRs or addresses (169.254.169.254/32, fd00::/8)',
  parse(args, ctx) {
    return list(args, ctx, this.expected, (a) => cidrItem(a, ctx));
  },
};

export const addressList: ValueKind<Address[]> = {
  expected: "a list of addresses (127.0.0.6, ::6), or 'none'",
  parse(args, ctx) {
    if (args.length === 1 && args[0].text === 'none') return [];
    const none = args.find((a) => a.text === 'none');
    if (none) {
      ctx.report(diag('wildcard-in-list', none.span, { word: 'none' }));
      return undefined;
    }
    return list(args, ctx, this.expected, (a) => addressItem(a, ctx));
  },
};

/** `none` alone stands for the empty list; anywhere else it is refused (it is not a name). */
function noneOrList<T>(args: Atom[], ctx: ValueContext, expected: string, item: (a: Atom) => T | undefined): T[] | undefined {
  if (args.length === 1 && args[0].text === 'none') return [];
  const none = args.find((a) => a.text === 'none');
  if (none) {
    ctx.report(diag('wildcard-in-list', none.span, { word: 'none' }));
    return undefined;
  }
  return list(args, ctx, expected, item);
}

/** Proxy uids: a list, or 'none' for a proxy with no uid of its own (Linkerd without --proxy-uid). */
export const uids: ValueKind<Owner[]> = {
  expected: "a uid 0-4294967294, a range of them (106-108) or a user name, a list of them, or 'none'",
  parse(args, ctx) {
    return noneOrList(args, ctx, this.expected, (a) => ownerItem(a, ctx, 'uid'))?.flat();
  },
};

/** A CIDR list that may be 'none' (localhost: nothing counts as localhost). */
export const cidrListOrNone: ValueKind<CidrItem[]> = {
  expected: "a list of CIDRs or addresses (127.0.0.1/32, ::1/128), or 'none'",
  parse(args, ctx) {
    return noneOrList(args, ctx, this.expected, (a) => cidrItem(a, ctx));
  },
};

/** Proxy gids: a list, or 'none' to recognise the proxy by uid alone. */
export const gids: ValueKind<Owner[]> = {
  expected: "a gid 0-4294967294, a range of them or a group name, a list of them, or 'none'",
  parse(args, ctx) {
    if (args.length === 1 && args[0].text === 'none') return [];
    const none = args.find((a) => a.text === 'none');
    if (none) {
      // As for 'passthrough': 'none' stands alone, it is not a group named "none".
      ctx.report(diag('wildcard-in-list', none.span, { word: 'none' }));
      return undefined;
    }
    return list(args, ctx, this.expected, (a) => ownerItem(a, ctx, 'gid'))?.flat();
  },
};

export const groupSelection: ValueKind<Selection<Owner>> = {
  expected: "'*' or a list of gids and group names",
  parse(args, ctx) {
    const s = selection(args, ctx, this.expected, (a) => ownerItem(a, ctx, 'gid'), false);
    return s && (s.kind === 'list' ? { kind: 'list', items: s.items.flat() } : s);
  },
};

export const groupList: ValueKind<Owner[]> = {
  expected: 'a list of gids and group names',
  parse(args, ctx) {
    return list(args, ctx, this.expected, (a) => ownerItem(a, ctx, 'gid'))?.flat();
  },
};

export const interfaceList: ValueKind<Interface[]> = {
  expected: "a list of interface names (eth1, veth+)",
  parse(args, ctx) {
    return list(args, ctx, this.expected, (a) => interfaceItem(a, ctx));
  },
};

export const onOff: ValueKind<boolean> = {
  expected: "'on' or 'off'",
  parse(args, ctx) {
    const a = single(args, ctx, this.expected);
    if (!a) return undefined;
    if (a.text === 'on' || a.text === 'true') return true;
    if (a.text === 'off' || a.text === 'false') return false;
    ctx.report(diag('invalid-switch', a.span, { text: a.text, name: ctx.name }));
    return undefined;
  },
};

export const families: ValueKind<Family[]> = {
  expected: "'ipv4', 'ipv6', or both (ipv4, ipv6)",
  parse(args, ctx) {
    const seen = new Set<string>();
    const xs = list(args, ctx, this.expected, (a) => {
      if (a.text === 'ipv4' || a.text === 'ipv6') {
        if (seen.has(a.text)) ctx.report(diag('duplicate-value', a.span, { text: a.text, other: a.text }));
        seen.add(a.text);
        return a.text;
      }
      ctx.report(diag('invalid-choice', a.span, { text: a.text, choices: 'ipv4, ipv6', suggestion: suggest(a.text, ['ipv4', 'ipv6']) }));
      return undefined;
    });
    return xs;
  },
};

function choiceOf(a: Atom, ctx: ValueContext, choices: string[]): string | undefined {
  if (choices.includes(a.text)) return a.text;
  ctx.report(diag('invalid-choice', a.span, { text: a.text, choices: choices.join(', '), suggestion: suggest(a.text, choices) }));
  return undefined;
}

/** `off`, `on`, or `on level N` (syslog level 0-7). */
export const logSwitch: ValueKind<{ level?: number } | null> = {
  expected: "'off', 'on' or 'on level 0-7'",
  parse(args, ctx) {
    if (!needValue(args, ctx, this.expected)) return undefined;
    const [a, k, n, extra] = args;
    if (a.text === 'off' && args.length === 1) return null;
    if (a.text !== 'on') {
      ctx.report(diag('invalid-switch', a.span, { text: a.text, name: ctx.name }));
      return undefined;
    }
    if (args.length === 1) return {};
    const bad = extra ?? (k.text !== 'level' ? k : n === undefined ? k : !/^[0-7]$/.test(n.text) ? n : undefined);
    if (bad) {
      ctx.report(diag('unexpected-value', bad.span, { text: bad.text, after: `'${ctx.name} on'`, expected: `'${ctx.name}' takes ${this.expected}` }));
      return undefined;
    }
    return { level: Number(n.text) };
  },
};

/** One word of a fixed set. */
export function choice<T extends string>(choices: readonly T[]): ValueKind<T> {
  return {
    expected: choices.map((c) => `'${c}'`).join(' or '),
    parse(args, ctx) {
      const a = single(args, ctx, this.expected);
      return a && (choiceOf(a, ctx, [...choices]) as T | undefined);
    },
  };
}

export const DEFAULT_TPROXY_MARK = 1337;
export const DEFAULT_TPROXY_TABLE = 133;
export const DEFAULT_TPROXY_LOCAL_MARK = 1338;

export const inboundMode: ValueKind<InboundMode> = {
  expected: "'redirect', or 'tproxy' with optional 'mark N', 'table N' and 'local-mark N'",
  parse(args, ctx) {
    if (!needValue(args, ctx, this.expected)) return undefined;
    const kind = choiceOf(args[0], ctx, ['redirect', 'tproxy']);
    if (!kind) return undefined;
    if (kind === 'redirect') {
      if (args.length > 1) ctx.report(diag('unexpected-value', args[1].span, { text: args[1].text, after: "'mode redirect'", expected: "'mark' and 'table' go with 'mode tproxy'" }));
      return args.length > 1 ? undefined : { kind: 'redirect' };
    }
    let mark = DEFAULT_TPROXY_MARK;
    let table = DEFAULT_TPROXY_TABLE;
    let localMark = DEFAULT_TPROXY_LOCAL_MARK;
    let ok = true;
    const seen = new Set<string>();
    for (let i = 1; i < args.length; i += 2) {
      const opt = args[i];
      const val = args[i + 1];
      if ((opt.text !== 'mark' && opt.text !== 'table' && opt.text !== 'local-mark') || seen.has(opt.text)) {
        ctx.report(diag('unexpected-value', opt.span, { text: opt.text, after: `'${[ctx.name, ...args.slice(0, i).map((x) => x.text)].join(' ')}'`, expected: "'mode tproxy' takes 'mark N', 'table N' and 'local-mark N', once each" }));
        return undefined;
      }
      seen.add(opt.text);
      if (!val) {
        ctx.report(diag('missing-value', opt.span, { name: opt.text, expected: opt.text === 'table' ? 'a routing table id' : 'a 32-bit mark' }));
        return undefined;
      }
      const n = numberWord(val.text);
      if (opt.text === 'mark' || opt.text === 'local-mark') {
        if (n === undefined || n < 1 || n > 0xffffffff) {
          ctx.report(diag('invalid-mark', val.span, { text: val.text }));
          ok = false;
        } else if (opt.text === 'mark') mark = n;
        else localMark = n;
      } else {
        if (n === undefined || !/^[0-9]+$/.test(val.text) || n < 1 || n > 2147483647 || (n >= 253 && n <= 255)) {
          ctx.report(diag('invalid-table', val.span, { text: val.text }));
          ok = false;
        } else table = n;
      }
    }
    if (ok && mark === localMark) {
      ctx.report(diag('unexpected-value', args[0].span, { text: 'tproxy', after: "'mode'", expected: `'mark' and 'local-mark' must differ (both are ${mark})` }));
      return undefined;
    }
    return ok ? { kind: 'tproxy', mark, table, localMark } : undefined;
  },
};

export const dnsCapture: ValueKind<DnsCapture> = {
  expected: "'all', 'off', or 'servers' and a list of addresses",
  parse(args, ctx) {
    if (!needValue(args, ctx, this.expected)) return undefined;
    const kind = choiceOf(args[0], ctx, ['all', 'off', 'servers']);
    if (!kind) return undefined;
    if (kind !== 'servers') {
      if (args.length > 1) {
        ctx.report(diag('unexpected-value', args[1].span, { text: args[1].text, after: `'capture ${kind}'`, expected: "only 'capture servers' takes a list" }));
        return undefined;
      }
      return { kind } as DnsCapture;
    }
    const rest = args.slice(1);
    if (rest[0]?.commaBefore) {
      ctx.report(diag('list-starts-with-comma', rest[0].span, { name: 'capture servers' }));
      return undefined;
    }
    const servers = list(rest.map((a, i) => (i === 0 ? { ...a, commaBefore: false } : a)), { ...ctx, name: 'capture servers', span: args[0].span }, 'a list of DNS server addresses', (a) => addressItem(a, ctx));
    return servers && { kind: 'servers', servers };
  },
};
