// iptables-restore / iptables-save text -> IR. Reads Istio's input form (`-I` inserts,
// `--to-port`, implicit `-m tcp`, no `:CHAIN` headers, `-N`) and the kernel's saved form
// (`-m tcp`, hex marks, reordered TPROXY options, `[0:0]` counters). Anything it does not
// model is an error naming the line and the module or target, never silently dropped.
// It is over 500 lines on purpose: one option switch reads every match of a rule line;
// split across files, its once-per-rule checks (-p, -s, -j ...) would lose their owner.
import { diag, type Diagnostic } from '../../src/diagnostics/diagnostic.js';
import type { Action, Chain, CtState, Family, IrCidr, Match, Protocol, Rule, RuleSet, Table } from '../../src/ir/types.js';
import { BUILTIN_CHAINS, iptablesBase, type Hook } from '../../src/ir/types.js';
import { canonicalAddress, parseAddress } from '../../src/net/ip.js';
import type { SourceFile, Span } from '../../src/source.js';
import { foldEntryChains } from './noflush.js';
import { MAX_OWNER_RANGE } from '../../src/ir/keys.js';

export interface ImportResult {
  ruleset?: RuleSet;
  diagnostics: Diagnostic[];
}

/** Syslog levels by number, as libxt_LOG names them. */
const LOG_LEVELS = ['emerg', 'alert', 'crit', 'error', 'warning', 'notice', 'info', 'debug'];
const MODULES = new Set(['tcp', 'udp', 'sctp', 'multiport', 'owner', 'mark', 'connmark', 'conntrack', 'state', 'socket', 'comment']);
/**
 * Modules of other tools' rules (kube-proxy, Docker, CNIs) that meshcap does not model:
 * read as an unmodelled match (may or may not hold: docs/snapshot.md) with a warning, so
 * a node's rules stay readable. Any other module (a typo too) is still an error.
 */
const UNMODELLED_MODULES = new Set(['addrtype', 'statistic', 'set', 'recent', 'limit', 'hashlimit', 'connlimit', 'physdev', 'mac', 'iprange', 'pkttype', 'rpfilter', 'icmp', 'icmp6', 'length', 'ipvs', 'nfacct', 'connbytes', 'helper', 'policy', 'rt', 'tcpmss', 'ttl', 'hl', 'cgroup', 'cpu', 'devgroup', 'realm', 'quota', 'time', 'u32']);
/** SNAT and MASQUERADE end the nat chain (NF_ACCEPT) and rewrite only the source, after the capture's hooks. */
const SOURCE_NAT = new Set(['SNAT', 'MASQUERADE']);
const PROTOCOLS = new Set(['tcp', 'udp', 'icmp', 'icmpv6', 'ipv6-icmp', 'sctp']);
const STATES = new Set(['new', 'established', 'related', 'invalid', 'untracked']);

class LineError extends Error {
  constructor(readonly d: Diagnostic) {
    super(d.message);
  }
}

/** Whitespace as `/\s/` takes it; the common ASCII cases without a regular expression. */
const isSpace = (c: number): boolean => c === 32 || (c >= 9 && c <= 13) || (c > 127 && /\s/.test(String.fromCharCode(c)));

/**
 * Split a line like a shell would for iptables-restore: whitespace, "quotes", \\ escapes.
 * Words are sliced from the line (one string each, not one per character: a reimported
 * 10,000-rule text is some 100,000 words, read once per artifact).
 */
export function splitWords(line: string): string[] {
  const out: string[] = [];
  const n = line.length;
  let i = 0;
  for (;;) {
    while (i < n && isSpace(line.charCodeAt(i))) i++;
    if (i >= n) return out;
    // The word so far (only when it had quotes or escapes) and the start of its unsliced tail.
    let word = '';
    let from = i;
    while (i < n) {
      const c = line.charCodeAt(i);
      if (c === 34) {
        word += line.slice(from, i);
        from = ++i;
        while (i < n && line.charCodeAt(i) !== 34) {
          if (line.charCodeAt(i) === 92 && i + 1 < n) {
            word += line.slice(from, i) + line[i + 1];
            i += 2;
            from = i;
          } else i++;
        }
        word += line.slice(from, i);
        if (i < n) i++; // the closing quote; an unclosed one runs to the end of the line
        from = i;
      } else if (isSpace(c)) break;
      else i++;
    }
    out.push(word + line.slice(from, i));
  }
}

function parseNumber(s: string | undefined, max = 0xffffffff): number | undefined {
  if (s === undefined) return undefined;
  let n: number;
  if (/^0x[0-9a-fA-F]+$/.test(s)) n = parseInt(s.slice(2), 16);
  else if (/^[0-9]+$/.test(s)) n = Number(s);
  else return undefined;
  return n <= max ? n : undefined;
}

/** Address or CIDR as iptables takes it: host bits are masked, as the kernel does. */
function lenientCidr(s: string, family: Family): IrCidr | undefined {
  const [a, p] = s.split('/', 2);
  const addr = parseAddress(a);
  if (!addr.ok || addr.family !== family) return undefined;
  const bits = family === 'ipv4' ? 32 : 128;
  let prefix = bits;
  if (p !== undefined) {
    if (/^[0-9]+$/.test(p) && Number(p) <= bits) prefix = Number(p);
    else {
      // A dotted netmask (255.255.0.0) as iptables also accepts.
      const m = parseAddress(p);
      if (!m.ok || m.family !== family) return undefined;
      const ones = m.value.toString(2).replace(/0+$/, '');
      if (/0/.test(ones)) return undefined;
      prefix = m.value === 0n ? 0 : ones.length;
    }
  }
  const host = (1n << BigInt(bits - prefix)) - 1n;
  return { family, addr: canonicalAddress(family, addr.value & ~host), prefix };
}

function parsePorts(s: string, multi: boolean): [number, number][] | undefined {
  const items = multi ? s.split(',') : [s];
  const out: [number, number][] = [];
  for (const it of items) {
    const [a, b] = it.split(':', 2);
    const lo = a === '' ? 0 : parseNumber(a, 65535);
    const hi = b === undefined ? lo : b === '' ? 65535 : parseNumber(b, 65535);
    if (lo === undefined || hi === undefined || lo > hi) return undefined;
    out.push([lo, hi]);
  }
  return out;
}

function parseMarkMask(s: string): { value: number; mask: number } | undefined {
  const [v, m] = s.split('/', 2);
  const value = parseNumber(v);
  const mask = m === undefined ? 0xffffffff : parseNumber(m);
  if (value === undefined || mask === undefined) return undefined;
  return { value, mask };
}

interface TableState {
  table: Table;
  chains: Map<string, Chain>;
  builtins: Set<string>;
  jumps: { chain: string; span: Span }[];
  /** The `*table` line of the block being read. */
  opened?: Span;
}

export function importIptables(src: SourceFile, family: Family, name = src.path): ImportResult {
  const diagnostics: Diagnostic[] = [];
  /** Warnings about rules read with a part meshcap does not model. */
  const notes: Diagnostic[] = [];
  const tables = new Map<string, TableState>();
  let cur: TableState | undefined;
  /** A block is loaded as a whole: every jump in it must reach a chain the table then has. */
  const closeBlock = (t: TableState) => {
    for (const j of t.jumps) if (!t.chains.has(j.chain)) diagnostics.push(diag('rules-missing-chain', j.span, { name: j.chain, table: t.table.name }));
    t.jumps = [];
  };
  const lines = src.text.split('\n');
  let offset = 0;
  lines.forEach((rawLine) => {
    const lineStart = offset;
    offset += rawLine.length + 1;
    const line = rawLine.replace(/\r$/, '');
    const trimmed = line.trim();
    const lead = line.length - line.trimStart().length;
    // Line and column are worked out only if a diagnostic or a counterexample shows them.
    const span = src.lazySpan(lineStart + lead, lineStart + line.length);
    if (trimmed === '' || trimmed.startsWith('#')) return;
    try {
      const words = splitWords(trimmed);
      if (trimmed.startsWith('*')) {
        const tname = trimmed.slice(1).trim();
        // iptables-restore refuses a table line inside a table ("Bad argument `*mangle'"); report it and go on with the new table.
        if (cur) {
          diagnostics.push(diag('rules-syntax', span, { detail: `table ${cur.table.name} has no COMMIT before '${trimmed}'` }));
          closeBlock(cur);
        }
        if (!BUILTIN_CHAINS[tname]) throw new LineError(diag('rules-syntax', span, { detail: `unknown table '${tname}'` }));
        cur = tables.get(tname);
        if (cur) {
          // iptables-restore (without --noflush) flushes a table at the start of each of its
          // blocks: a second `*nat` replaces the first one's chains and rules, keeping the
          // built-in chains' policies until the block's header sets them (seen on 1.8.9,
          // legacy and nft).
          for (const c of cur.table.chains) c.rules = [];
          cur.table.chains = cur.table.chains.filter((c) => cur!.builtins.has(c.name));
          for (const n of [...cur.chains.keys()]) if (!cur.builtins.has(n)) cur.chains.delete(n);
        } else {
          const t: Table = { family, name: tname, chains: [] };
          cur = { table: t, chains: new Map(), builtins: new Set(), jumps: [] };
          for (const h of BUILTIN_CHAINS[tname]) {
            const c: Chain = { name: h.toUpperCase(), base: iptablesBase(tname, h), rules: [] };
            cur.chains.set(c.name, c);
            cur.builtins.add(c.name);
            t.chains.push(c);
          }
          tables.set(tname, cur);
        }
        cur.opened = span;
        return;
      }
      if (trimmed === 'COMMIT') {
        if (!cur) throw new LineError(diag('rules-syntax', span, { detail: 'COMMIT outside a table' }));
        closeBlock(cur);
        cur = undefined;
        return;
      }
      if (!cur) throw new LineError(diag('rules-syntax', span, { detail: `'${words[0]}' before any '*table' line` }));
      const t = cur;
      if (trimmed.startsWith(':')) {
        const [cname, policy] = [words[0].slice(1), words[1]];
        if (t.builtins.has(cname)) {
          if (policy !== 'ACCEPT' && policy !== 'DROP') throw new LineError(diag('rules-syntax', span, { detail: `policy of ${cname} must be ACCEPT or DROP` }));
          t.chains.get(cname)!.base!.policy = policy === 'ACCEPT' ? 'accept' : 'drop';
        } else declare(t, cname, span);
        return;
      }
      let w = words;
      if (/^\[\d+:\d+\]$/.test(w[0])) w = w.slice(1); // iptables-save -c counters
      const cmd = w[0];
      if (cmd === '-N' || cmd === '--new-chain') return void declare(t, w[1], span);
      if (cmd === '-P' || cmd === '--policy') {
        const c = t.chains.get(w[1]);
        if (!c?.base) throw new LineError(diag('rules-syntax', span, { detail: `-P needs a built-in chain, not '${w[1]}'` }));
        c.base.policy = w[2] === 'DROP' ? 'drop' : 'accept';
        return;
      }
      if (cmd === '-F' || cmd === '--flush') {
        if (w[1]) chainOf(t, w[1], span).rules = [];
        else for (const c of t.chains.values()) c.rules = [];
        return;
      }
      if (cmd === '-A' || cmd === '--append' || cmd === '-I' || cmd === '--insert') {
        const chain = chainOf(t, w[1], span);
        let rest = w.slice(2);
        let pos = chain.rules.length;
        if (cmd === '-I' || cmd === '--insert') {
          pos = 0;
          const n = parseNumber(rest[0]);
          if (n !== undefined && /^[0-9]+$/.test(rest[0])) {
            pos = n - 1;
            rest = rest.slice(1);
          }
          if (pos < 0 || pos > chain.rules.length) throw new LineError(diag('rules-syntax', span, { detail: `-I ${w[1]} ${pos + 1}: the chain has ${chain.rules.length} rules` }));
        }
        const rules = parseRule(rest, family, span, t.table.name);
        for (const m of rules[0].matches) if (m.kind === 'unmodelled') notes.push(diag('rules-unmodelled', span, { text: m.text }));
        const rule = rules[0];
        if (rule.action.kind === 'jump' || rule.action.kind === 'goto') t.jumps.push({ chain: rule.action.chain, span });
        // Appending is the common case: splice copies the chain each time (quadratic in a 10,000-rule chain).
        if (pos === chain.rules.length) for (const r of rules) chain.rules.push(r);
        else chain.rules.splice(pos, 0, ...rules);
        return;
      }
      throw new LineError(diag('rules-syntax', span, { detail: `unknown command '${cmd}'` }));
    } catch (e) {
      if (e instanceof LineError) diagnostics.push(e.d);
      else throw e;
    }
  });
  // Point at the block's `*table` line: the end of the text is past the last line.
  if (cur) {
    diagnostics.push(diag('rules-syntax', cur.opened ?? src.span(0, 0), { detail: `table ${cur.table.name} has no COMMIT (its block starts here and runs to the end of the file)` }));
    closeBlock(cur);
  }
  if (diagnostics.length) return { diagnostics };
  return { ruleset: { name, tables: [...tables.values()].map((t) => foldEntryChains(t.table)), routing: { loopbackAddresses: [] } }, diagnostics: notes };
}

function declare(t: TableState, name: string | undefined, span: Span): void {
  if (!name || !/^[A-Za-z0-9_.-]{1,28}$/.test(name)) throw new LineError(diag('rules-syntax', span, { detail: `'${name ?? ''}' is not a chain name` }));
  if (t.chains.has(name)) {
    // iptables-restore: declaring an existing user chain flushes it.
    if (!t.builtins.has(name)) t.chains.get(name)!.rules = [];
    return;
  }
  const c: Chain = { name, rules: [] };
  t.chains.set(name, c);
  t.table.chains.push(c);
}

function chainOf(t: TableState, name: string | undefined, span: Span): Chain {
  const c = name ? t.chains.get(name) : undefined;
  if (!c) throw new LineError(diag('rules-missing-chain', span, { name: name ?? '', table: t.table.name }));
  return c;
}

const TARGETS = new Set(['ACCEPT', 'DROP', 'RETURN', 'REDIRECT', 'TPROXY', 'MARK', 'CONNMARK', 'CT', 'DNAT', 'LOG']);

/** One rule (a list so that a line may stand for several). An owner range (`--uid-owner 106-108`) is one range match. */
function parseRule(words: string[], family: Family, span: Span, table: string): Rule[] {
  const matches: Match[] = [];
  let negNext = false;
  let module: string | undefined;
  let protocol: string | undefined;
  let target: string | undefined;
  let isGoto = false;
  const targetOpts: [string, string | undefined][] = [];
  let comment: string | undefined;
  const fail = (detail: string): never => {
    throw new LineError(diag('rules-syntax', span, { detail }));
  };
  const unknownOpt = (name: string, hint: string): never => {
    throw new LineError(diag('rules-unknown-option', span, { name, hint }));
  };
  // iptables takes each of -p, -s, -d, -i, -o and -j/-g once per rule ("multiple -d flags not allowed").
  const seen = new Set<string>();
  const once = (flag: string) => {
    if (seen.has(flag)) fail(`multiple ${flag} flags not allowed`);
    seen.add(flag);
  };
  const take = (i: number, opt: string): string => {
    const v = words[i + 1];
    if (v === undefined) fail(`${opt} needs a value`);
    return v;
  };
  for (let i = 0; i < words.length; i++) {
    const w = words[i];
    const neg = negNext;
    negNext = false;
    if (w === '!') {
      negNext = true;
      continue;
    }
    if (target !== undefined && w.startsWith('--') && !isMatchOption(w)) {
      // A target option, possibly with a value.
      const v = words[i + 1];
      const hasValue = v !== undefined && !v.startsWith('-') ? true : /^-\d/.test(v ?? '');
      targetOpts.push([w, hasValue ? v : undefined]);
      if (hasValue) i++;
      continue;
    }
    switch (w) {
      case '-p':
      case '--protocol': {
        once('-p');
        let v = take(i++, w).toLowerCase();
        // `-p all` (as Linkerd's proxy-init writes it) is no protocol match at all.
        if (v === 'all' && !neg) continue;
        if (v === 'ipv6-icmp') v = 'icmpv6';
        if (!PROTOCOLS.has(v)) fail(`protocol '${v}' is not modelled (tcp, udp, icmp, icmpv6, sctp)`);
        matches.push({ kind: 'protocol', neg, protocol: v as Protocol });
        if (!neg) protocol = v;
        continue;
      }
      case '-s':
      case '--source':
      case '--src':
      case '-d':
      case '--destination':
      case '--dst': {
        once(w === '-s' || w === '--source' || w === '--src' ? '-s' : '-d');
        const v = take(i++, w);
        const cidrs = v.split(',').map((x) => lenientCidr(x, family) ?? fail(`'${x}' is not an ${family === 'ipv4' ? 'IPv4' : 'IPv6'} address or CIDR`));
        if (neg && cidrs.length > 1) fail(`! ${w} takes a single address`);
        matches.push({ kind: w.startsWith('-s') || w === '--source' || w === '--src' ? 'saddr' : 'daddr', neg, cidrs });
        continue;
      }
      case '-i':
      case '--in-interface':
      case '-o':
      case '--out-interface': {
        once(w === '-i' || w === '--in-interface' ? '-i' : '-o');
        const v = take(i++, w);
        const prefix = v.endsWith('+');
        matches.push({ kind: w === '-i' || w === '--in-interface' ? 'iif' : 'oif', neg, name: prefix ? v.slice(0, -1) : v, prefix });
        continue;
      }
      case '-m':
      case '--match': {
        const v = take(i++, w);
        if (UNMODELLED_MODULES.has(v)) {
          // The module and its options, as the rule says them, up to the next match or target.
          const text = [w, v];
          while (i + 1 < words.length) {
            const x = words[i + 1];
            const opt = x === '!' ? words[i + 2] : x;
            if (!opt?.startsWith('--') || isMatchOption(opt)) break;
            text.push(...(x === '!' ? [x, opt] : [x]));
            i += x === '!' ? 2 : 1;
            while (i + 1 < words.length && !words[i + 1].startsWith('-') && words[i + 1] !== '!') text.push(words[++i]);
          }
          matches.push({ kind: 'unmodelled', id: `${span.file}:${span.start.line}#${matches.length}`, text: text.join(' ') });
          module = undefined;
          continue;
        }
        if (!MODULES.has(v)) throw new LineError(diag('rules-unknown-module', span, { name: v }));
        module = v;
        continue;
      }
      case '-j':
      case '--jump':
      case '-g':
      case '--goto':
        once('-j');
        target = take(i++, w);
        isGoto = w === '-g' || w === '--goto';
        continue;
      case '--dport':
      case '--destination-port':
      case '--sport':
      case '--source-port':
      case '--dports':
      case '--destination-ports':
      case '--sports':
      case '--source-ports': {
        // After `-m multiport` (and no `-m tcp` since), getopt reads `--dport` as an
        // abbreviation of multiport's `--dports`, which is how Kuma's dry runs write it.
        const multi = w.endsWith('s') || module === 'multiport';
        if (multi && module !== 'multiport') fail(`${w} needs -m multiport`);
        const mod = module && ['tcp', 'udp', 'sctp'].includes(module) ? module : protocol;
        if (!multi && (!mod || !['tcp', 'udp', 'sctp'].includes(mod))) fail(`${w} needs -p tcp or -p udp before it`);
        if (multi && (!protocol || !['tcp', 'udp', 'sctp'].includes(protocol))) fail(`-m multiport needs -p tcp or -p udp`);
        const ranges = parsePorts(take(i++, w), multi) ?? fail(`'${words[i]}' is not a port or port range`);
        matches.push({ kind: w.includes('d') && !w.startsWith('--s') ? 'dport' : 'sport', neg, ranges });
        continue;
      }
      case '--uid-owner':
      case '--gid-owner': {
        if (module !== 'owner') fail(`${w} needs -m owner`);
        const v = take(i++, w);
        const kind = w === '--uid-owner' ? 'uid' : 'gid';
        // libxt_owner's owner_parse_range takes `A-B` and `A:B` alike (Kuma's dry runs write `106:108`).
        const range = /^([0-9]+)[-:]([0-9]+)$/.exec(v);
        if (range) {
          const [lo, hi] = [Number(range[1]), Number(range[2])];
          if (lo > hi || hi > 4294967294) fail(`${w} ${v} is not a range of ids`);
          if (hi - lo + 1 > MAX_OWNER_RANGE) fail(`${w} ${v} holds ${hi - lo + 1} ids; meshcap reads at most ${MAX_OWNER_RANGE}`);
          matches.push({ kind, neg, ids: [[lo, hi]] });
          continue;
        }
        matches.push({ kind, neg, id: /^[0-9]+$/.test(v) ? Number(v) : v });
        continue;
      }
      case '--mark': {
        if (module !== 'mark' && module !== 'connmark') fail(`--mark needs -m mark or -m connmark`);
        const mm = parseMarkMask(take(i++, w)) ?? fail(`'${words[i]}' is not a mark`);
        // The kernel compares (mark & mask) == value with the value as given (xt_mark).
        matches.push({ kind: module === 'mark' ? 'mark' : 'connmark', neg, value: mm.value, mask: mm.mask });
        continue;
      }
      case '--ctstate':
      case '--state': {
        if (module !== 'conntrack' && module !== 'state') fail(`${w} needs -m conntrack`);
        const states = take(i++, w).toLowerCase().split(',');
        for (const s of states) if (!STATES.has(s)) fail(`conntrack state '${s}' is not modelled`);
        matches.push({ kind: 'ctstate', neg, states: states as CtState[] });
        continue;
      }
      case '--comment':
        if (module !== 'comment') fail('--comment needs -m comment');
        comment = take(i++, w);
        continue;
      case '--transparent':
        if (module !== 'socket') fail('--transparent needs -m socket');
        matches.push({ kind: 'socket', transparent: true });
        continue;
      default:
        if (w.startsWith('-')) unknownOpt(w, module ? `module '${module}' does not take it in meshcap's model` : 'not an iptables match option meshcap models');
        fail(`unexpected '${w}'`);
    }
  }
  if (module === 'socket' && !matches.some((m) => m.kind === 'socket')) matches.push({ kind: 'socket', transparent: false });
  const action = table === 'nat' && target !== undefined && SOURCE_NAT.has(target) ? sourceNat(target, targetOpts, span) : parseTarget(target, isGoto, targetOpts, family, span);
  const origin = { span, purpose: comment ?? 'imported rule' };
  return [{ matches, action, origin }];
}

function sourceNat(target: string, opts: [string, string | undefined][], span: Span): Action {
  const allowed = target === 'SNAT' ? ['--to-source', '--random', '--random-fully', '--persistent'] : ['--to-ports', '--random', '--random-fully'];
  for (const [k] of opts) if (!allowed.includes(k)) throw new LineError(diag('rules-unknown-option', span, { name: k, hint: `${target} takes ${allowed.join(', ')}` }));
  return { kind: 'accept' };
}

function isMatchOption(w: string): boolean {
  return ['--protocol', '--source', '--destination', '--in-interface', '--out-interface', '--match', '--jump', '--goto', '--comment'].includes(w);
}

function parseTarget(target: string | undefined, isGoto: boolean, opts: [string, string | undefined][], family: Family, span: Span): Action {
  if (target === undefined) {
    if (opts.length) throw new LineError(diag('rules-unknown-option', span, { name: opts[0][0], hint: 'target options need -j TARGET' }));
    return { kind: 'counter' };
  }
  const opt = new Map(opts);
  const allowed = (names: string[]) => {
    for (const [k] of opts) if (!names.includes(k)) throw new LineError(diag('rules-unknown-option', span, { name: k, hint: `${target} takes ${names.join(', ') || 'no options'}` }));
  };
  const num = (k: string, max = 0xffffffff) => {
    const v = parseNumber(opt.get(k), max);
    if (v === undefined) throw new LineError(diag('rules-syntax', span, { detail: `${target} ${k} needs a number` }));
    return v;
  };
  if (!TARGETS.has(target)) {
    if (/^[A-Z][A-Z0-9_-]*$/.test(target) && /^(SNAT|MASQUERADE|REJECT|NFLOG|NFQUEUE|TEE|TRACE|NOTRACK|TCPMSS|CLASSIFY|DSCP|TOS|TTL|HL|SET|AUDIT|CHECKSUM|NETMAP|SECMARK|CONNSECMARK|IDLETIMER|LED|RATEEST|SYNPROXY|ULOG|HMARK|CLUSTERIP|ECN|TRACE)$/.test(target)) {
      throw new LineError(diag('rules-unknown-target', span, { name: target }));
    }
    allowed([]);
    return isGoto ? { kind: 'goto', chain: target } : { kind: 'jump', chain: target };
  }
  switch (target) {
    case 'ACCEPT':
    case 'DROP':
    case 'RETURN':
      allowed([]);
      return { kind: target.toLowerCase() as 'accept' };
    case 'REDIRECT': {
      allowed(['--to-ports', '--to-port']);
      const v = opt.get('--to-ports') ?? opt.get('--to-port');
      const port = parseNumber(v, 65535);
      if (port === undefined) throw new LineError(diag('rules-syntax', span, { detail: `REDIRECT --to-ports needs one port${v?.includes('-') ? ' (port ranges are not modelled)' : ''}` }));
      return { kind: 'redirect', port };
    }
    case 'TPROXY': {
      allowed(['--on-port', '--on-ip', '--tproxy-mark']);
      const mm = parseMarkMask(opt.get('--tproxy-mark') ?? '0/0');
      if (!mm) throw new LineError(diag('rules-syntax', span, { detail: 'TPROXY --tproxy-mark needs VALUE[/MASK]' }));
      const a: Action = { kind: 'tproxy', port: num('--on-port', 65535), mark: mm.value, mask: mm.mask };
      const ip = opt.get('--on-ip');
      if (ip && ip !== '0.0.0.0' && ip !== '::') a.addr = ip;
      return a;
    }
    case 'MARK': {
      allowed(['--set-mark', '--set-xmark', '--or-mark', '--and-mark', '--xor-mark']);
      const [k, v] = opts[0] ?? [];
      const mm = v ? parseMarkMask(v) : undefined;
      if (!mm) throw new LineError(diag('rules-syntax', span, { detail: 'MARK needs --set-mark or --set-xmark VALUE[/MASK]' }));
      if (k === '--set-xmark') return { kind: 'mark-set', value: mm.value, mask: mm.mask };
      if (k === '--set-mark') return { kind: 'mark-set', value: mm.value, mask: (mm.mask | mm.value) >>> 0 };
      if (k === '--or-mark') return { kind: 'mark-set', value: mm.value, mask: mm.value };
      if (k === '--and-mark') return { kind: 'mark-set', value: 0, mask: ~mm.value >>> 0 };
      return { kind: 'mark-set', value: mm.value, mask: 0 };
    }
    case 'CONNMARK': {
      allowed(['--save-mark', '--restore-mark', '--nfmask', '--ctmask', '--mask']);
      const mask = opt.has('--mask') ? num('--mask') : undefined;
      const nfmask = opt.has('--nfmask') ? num('--nfmask') : mask ?? 0xffffffff;
      const ctmask = opt.has('--ctmask') ? num('--ctmask') : mask ?? 0xffffffff;
      if (opt.has('--save-mark')) return { kind: 'connmark-save', nfmask, ctmask };
      if (opt.has('--restore-mark')) return { kind: 'connmark-restore', nfmask, ctmask };
      throw new LineError(diag('rules-syntax', span, { detail: 'CONNMARK needs --save-mark or --restore-mark (--set-mark is not modelled)' }));
    }
    case 'CT':
      allowed(['--zone']);
      return { kind: 'ct-zone', zone: num('--zone', 65535) };
    case 'DNAT': {
      allowed(['--to-destination']);
      const v = opt.get('--to-destination') ?? '';
      const m = family === 'ipv6' ? /^\[([^\]]+)\](?::(\d+))?$/.exec(v) ?? /^([^[\]]+)()$/.exec(v) : /^([^:]+)(?::(\d+))?$/.exec(v);
      if (!m || !parseAddress(m[1]).ok) throw new LineError(diag('rules-syntax', span, { detail: `DNAT --to-destination '${v}' is not ADDRESS[:PORT]` }));
      return m[2] ? { kind: 'dnat', addr: m[1], port: Number(m[2]) } : { kind: 'dnat', addr: m[1] };
    }
    case 'LOG':
      allowed(['--log-prefix', '--log-level']);
    {
      // iptables takes the level as a number or a syslog name (libxt_LOG.c).
      const lv = opt.get('--log-level');
      const level = lv === undefined ? undefined : /^[0-7]$/.test(lv) ? Number(lv) : LOG_LEVELS.indexOf(lv.toLowerCase() === 'warn' ? 'warning' : lv.toLowerCase());
      if (level === -1) throw new LineError(diag('rules-syntax', span, { detail: `LOG --log-level '${lv}' is not 0-7 or a syslog level name` }));
      return { kind: 'log', prefix: opt.get('--log-prefix') ?? '', ...(level !== undefined ? { level } : {}) };
    }
  }
  throw new LineError(diag('rules-unknown-target', span, { name: target }));
}

export type { Hook };
