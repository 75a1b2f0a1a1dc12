// Linkerd's proxy-init flags -> an equivalent .intercept policy. Reads every flag of
// proxy-init (proxy-init/cmd/root.go in github.com/linkerd/linkerd2-proxy-init), parsed as
// its pflag/cobra command line parses them, with its defaults, and writes the policy the
// rules of pkg/iptables/iptables.go mean. Diagnostics point into the argument list itself
// (a one-line source), so a bad value is shown with a caret under it.
import { diag, suggest, type Diagnostic } from '../diagnostics/diagnostic.js';
import { parseCidr } from '../net/ip.js';
import { SourceFile, type Span } from '../source.js';
import type { ImportedPolicy } from './istio.js';

const TOOL = 'proxy-init';

/** proxy-init's RootOptions, as far as they shape the rules. -1: unset (its default). */
export interface LinkerdConfig {
  incomingProxyPort: number;
  outgoingProxyPort: number;
  proxyUid: number;
  proxyGid: number;
  portsToRedirect: { port: number; span: Span }[];
  inboundPortsToIgnore: { text: string; span: Span }[];
  outboundPortsToIgnore: { text: string; span: Span }[];
  subnetsToIgnore: { text: string; span: Span }[];
  ipv6: boolean;
  /** Where each flag was last set (for messages that point at it). */
  spans: Partial<Record<string, Span>>;
  /** Flags whose value was refused (already reported). */
  failed: Set<string>;
}

type Kind = 'int' | 'intSlice' | 'stringSlice' | 'bool' | 'string';
interface FlagSpec {
  long: string;
  short?: string;
  kind: Kind;
  /** Accepted, but it does not change the rules. */
  ignored?: boolean;
  /** The values it accepts, where proxy-init checks them (a bad one makes proxy-init fail). */
  choices?: string[];
}

/** proxy-init's flags (proxy-init/cmd/root.go, NewRootCmd). */
export const LINKERD_FLAGS: FlagSpec[] = [
  { long: 'incoming-proxy-port', short: 'p', kind: 'int' },
  { long: 'outgoing-proxy-port', short: 'o', kind: 'int' },
  { long: 'proxy-uid', short: 'u', kind: 'int' },
  { long: 'proxy-gid', short: 'g', kind: 'int' },
  { long: 'ports-to-redirect', short: 'r', kind: 'intSlice' },
  { long: 'inbound-ports-to-ignore', kind: 'stringSlice' },
  { long: 'outbound-ports-to-ignore', kind: 'stringSlice' },
  { long: 'subnets-to-ignore', kind: 'stringSlice' },
  { long: 'ipv6', kind: 'bool' },
  { long: 'simulate', kind: 'bool', ignored: true },
  { long: 'netns', kind: 'string', ignored: true },
  { long: 'use-wait-flag', short: 'w', kind: 'bool', ignored: true },
  { long: 'timeout-close-wait-secs', kind: 'int', ignored: true },
  { long: 'log-format', kind: 'string', ignored: true },
  { long: 'log-level', kind: 'string', ignored: true, choices: ['panic', 'fatal', 'error', 'warn', 'warning', 'info', 'debug', 'trace'] },
  { long: 'iptables-mode', kind: 'string', ignored: true, choices: ['', 'legacy', 'nft', 'plain'] },
  { long: 'firewall-bin-path', kind: 'string', ignored: true, choices: ['', 'iptables-legacy', 'iptables-nft', 'iptables'] },
  { long: 'firewall-save-bin-path', kind: 'string', ignored: true },
];

/** Go's strconv.ParseInt(s, 0, 64) within int range, as pflag's IntVar reads a value. */
function goInt(s: string): number | undefined {
  const m = /^([+-]?)(0[xX][0-9a-fA-F_]+|0[oO]?[0-7_]*|0[bB][01_]+|[1-9][0-9_]*|0)$/.exec(s);
  if (!m || /__|_$|^[+-]?_/.test(s)) return undefined;
  const body = m[2].replace(/_/g, '');
  let v: number;
  if (/^0[xX]/.test(body)) v = parseInt(body.slice(2), 16);
  else if (/^0[bB]/.test(body)) v = parseInt(body.slice(2), 2);
  else if (/^0[oO]/.test(body)) v = parseInt(body.slice(2), 8);
  else if (body.length > 1 && body.startsWith('0')) v = parseInt(body.slice(1), 8);
  else v = parseInt(body, 10);
  if (!Number.isSafeInteger(v)) return undefined;
  return m[1] === '-' ? -v : v;
}

/** Go's strconv.ParseBool, as pflag reads `--ipv6=VALUE`. */
function goBool(s: string): boolean | undefined {
  if (['1', 't', 'T', 'TRUE', 'true', 'True'].includes(s)) return true;
  if (['0', 'f', 'F', 'FALSE', 'false', 'False'].includes(s)) return false;
  return undefined;
}

export interface LinkerdInput {
  config: LinkerdConfig;
  diagnostics: Diagnostic[];
  /** The argument list as a one-line source (what the diagnostics' spans point into). */
  source: SourceFile;
}

/** proxy-init's command line, parsed as pflag parses it. */
export function linkerdConfigFromFlags(args: string[]): LinkerdInput {
  const offsets: number[] = [];
  let text = '';
  for (const a of args) {
    offsets.push(text.length + (text ? 1 : 0));
    text += (text ? ' ' : '') + a;
  }
  const src = new SourceFile('<proxy-init arguments>', text);
  const at = (i: number, from = 0, to = args[i].length) => src.span(offsets[i] + from, offsets[i] + to);
  const cfg: LinkerdConfig = {
    incomingProxyPort: -1,
    outgoingProxyPort: -1,
    proxyUid: -1,
    proxyGid: -1,
    portsToRedirect: [],
    inboundPortsToIgnore: [],
    outboundPortsToIgnore: [],
    subnetsToIgnore: [],
    ipv6: true,
    spans: {},
    failed: new Set(),
  };
  const ds: Diagnostic[] = [];
  const bad = (span: Span, flag: string, detail: string, hint?: string) => ds.push(diag('import-bad-value', span, { tool: TOOL, flag, detail }, hint));
  for (let i = 0; i < args.length; i++) {
    const w = args[i];
    if (w === '--') {
      for (let j = i + 1; j < args.length; j++) ds.push(diag('import-dropped', at(j), { tool: TOOL, flag: `'${args[j]}'`, reason: 'proxy-init takes no arguments besides its flags and ignores this one' }));
      break;
    }
    let name: string;
    let value: string | undefined;
    let valueSpan: Span | undefined;
    let spec: FlagSpec | undefined;
    if (w.startsWith('--')) {
      const eq = w.indexOf('=');
      name = eq < 0 ? w.slice(2) : w.slice(2, eq);
      if (eq >= 0) [value, valueSpan] = [w.slice(eq + 1), at(i, eq + 1)];
      spec = LINKERD_FLAGS.find((s) => s.long === name);
    } else if (/^-[A-Za-z]/.test(w)) {
      name = w.slice(1, 2);
      if (w.length > 2) {
        const from = w[2] === '=' ? 3 : 2;
        [value, valueSpan] = [w.slice(from), at(i, from)];
      }
      spec = LINKERD_FLAGS.find((s) => s.short === name);
    } else {
      // cobra hands positional arguments to a command that never reads them.
      ds.push(diag('import-dropped', at(i), { tool: TOOL, flag: `'${w}'`, reason: 'proxy-init takes no arguments besides its flags and ignores this one' }, /^(true|false)$/i.test(w) ? "a boolean flag takes its value after '=': write --ipv6=false" : undefined));
      continue;
    }
    const shown = w.startsWith('--') ? `--${name}` : `-${name}`;
    if (!spec) {
      ds.push(diag('import-unknown-flag', at(i), { tool: TOOL, name: shown }, suggest(name, LINKERD_FLAGS.map((s) => s.long))));
      if (value === undefined && args[i + 1] !== undefined && !args[i + 1].startsWith('-')) i++;
      continue;
    }
    const flagSpan = at(i);
    if (spec.kind !== 'bool' && value === undefined) {
      if (args[i + 1] === undefined) {
        bad(flagSpan, shown, 'needs a value');
        continue;
      }
      i++;
      [value, valueSpan] = [args[i], at(i)];
    }
    const vspan = valueSpan ?? flagSpan;
    cfg.spans[spec.long] = vspan;
    if (spec.kind === 'bool') {
      const b = value === undefined ? true : goBool(value);
      if (b === undefined) bad(vspan, shown, `'${value}' is not a boolean`, 'use true or false');
      else if (spec.long === 'ipv6') cfg.ipv6 = b;
      if (spec.ignored) ds.push(diag('import-ignored', flagSpan, { tool: TOOL, flag: shown }));
      continue;
    }
    const v = value!;
    if (spec.kind === 'int') {
      const n = goInt(v);
      if (n === undefined) {
        bad(vspan, shown, `'${v}' is not a number`);
        cfg.failed.add(spec.long);
        continue;
      }
      if (spec.ignored) ds.push(diag('import-ignored', flagSpan, { tool: TOOL, flag: shown }));
      else if (spec.long === 'incoming-proxy-port') cfg.incomingProxyPort = n;
      else if (spec.long === 'outgoing-proxy-port') cfg.outgoingProxyPort = n;
      else if (spec.long === 'proxy-uid') cfg.proxyUid = n;
      else if (spec.long === 'proxy-gid') cfg.proxyGid = n;
      continue;
    }
    if (spec.kind === 'string') {
      if (spec.choices && !spec.choices.includes(spec.long === 'log-level' ? v.toLowerCase() : v)) {
        bad(vspan, shown, `'${v}' is not one of ${spec.choices.filter(Boolean).join(', ')} (proxy-init refuses to run)`);
      } else ds.push(diag('import-ignored', flagSpan, { tool: TOOL, flag: shown }));
      continue;
    }
    // Slices: comma-separated, and a repeated flag adds to the list.
    let off = 0;
    const base = valueSpan ? valueSpan.start.offset : flagSpan.start.offset;
    for (const item of v.split(',')) {
      const span = src.span(base + off, base + off + item.length);
      off += item.length + 1;
      if (spec.kind === 'intSlice') {
        const n = /^[+-]?[0-9]+$/.test(item) ? Number(item) : undefined;
        if (n === undefined) bad(span, shown, `'${item}' is not a number`);
        else cfg.portsToRedirect.push({ port: n, span });
      } else {
        const list = spec.long === 'inbound-ports-to-ignore' ? cfg.inboundPortsToIgnore : spec.long === 'outbound-ports-to-ignore' ? cfg.outboundPortsToIgnore : cfg.subnetsToIgnore;
        list.push({ text: item, span });
      }
    }
  }
  return { config: cfg, diagnostics: ds, source: src };
}

/** proxy-init's util.ParsePortRange: `N` or `LO-HI`, 0-65535 each, LO <= HI. */
function portRange(text: string): [number, number] | string {
  const b = text.split('-');
  if (b.length > 2) return 'ranges expected as <lower>-<upper>';
  const [lo, hi] = (b.length === 1 ? [b[0], b[0]] : b).map((x) => (/^[+-]?[0-9]+$/.test(x) ? Number(x) : NaN));
  if (!(lo >= 0 && lo <= 65535)) return `"${b[0]}" is not a valid lower-bound`;
  if (!(hi >= 0 && hi <= 65535)) return `"${b[b.length - 1]}" is not a valid upper-bound`;
  if (hi < lo) return `"${text}": upper-bound must be greater than or equal to lower-bound`;
  return [lo, hi];
}

const rangeText = ([lo, hi]: [number, number]) => (lo === hi ? `${lo}` : `${lo}-${hi}`);

/** The policy that means what proxy-init's rules do with this configuration. */
export function policyFromLinkerd(input: LinkerdInput, name = 'linkerd'): ImportedPolicy {
  const cfg = input.config;
  const ds: Diagnostic[] = [];
  const lines: string[] = [];
  const lineFields = new Map<number, string>();
  const L = (s: string, flag?: string) => {
    lines.push(s);
    if (flag) lineFields.set(lines.length, flag);
  };
  const flagSpan = (long: string) => cfg.spans[long];
  const bad = (long: string, detail: string, span = flagSpan(long)) => ds.push(diag('import-bad-value', span, { tool: TOOL, flag: `--${long}`, detail }));
  const dropped = (flag: string, reason: string, span: Span | undefined) => ds.push(diag('import-dropped', span, { tool: TOOL, flag, reason }));

  // BuildFirewallConfiguration: both proxy ports are required (util.IsValidPort: 0-65535).
  const proxyPort = (long: string, v: number): string => {
    if (cfg.failed.has(long)) return '';
    if (v === -1 && !flagSpan(long)) bad(long, 'is required (proxy-init refuses to run without it)');
    else if (v < 0 || v > 65535) bad(long, `${v} is not a valid TCP port number (proxy-init refuses it)`);
    else if (v === 0) bad(long, '0: proxy-init accepts it, but a redirect to port 0 reaches no listener; meshcap ports are 1-65535');
    else return String(v);
    return '';
  };
  const outPort = proxyPort('outgoing-proxy-port', cfg.outgoingProxyPort);
  const inPort = proxyPort('incoming-proxy-port', cfg.incomingProxyPort);
  // addOutgoingTrafficRules writes an owner rule only for an id above 0.
  const owner = (long: string, v: number): string => {
    if (cfg.failed.has(long)) return 'none';
    if (v > 0 && v <= 4294967294) return String(v);
    if (v === 0) dropped(`--${long} 0`, 'proxy-init writes an owner rule only for ids above 0, so root is not exempted', flagSpan(long));
    else if (v < -1 || v > 4294967294) bad(long, `${v} is not a valid id`);
    return 'none';
  };
  const uid = owner('proxy-uid', cfg.proxyUid);
  const gid = owner('proxy-gid', cfg.proxyGid);

  // Port lists: proxy-init logs and skips an ignore entry it cannot read.
  const ignores = (long: string, xs: { text: string; span: Span }[]): [number, number][] => {
    const out: [number, number][] = [];
    for (const x of xs) {
      const r = portRange(x.text.trim());
      if (typeof r === 'string') dropped(`--${long} '${x.text}'`, `${r}; proxy-init logs this and skips it`, x.span);
      else if (r[1] === 0) dropped(`--${long} '${x.text}'`, 'port 0 carries no TCP connection, so ignoring it changes nothing', x.span);
      else out.push([Math.max(1, r[0]), r[1]]);
    }
    return out;
  };
  const inIgnore = ignores('inbound-ports-to-ignore', cfg.inboundPortsToIgnore);
  const outIgnore = ignores('outbound-ports-to-ignore', cfg.outboundPortsToIgnore);
  const redirect: number[] = [];
  for (const r of cfg.portsToRedirect) {
    if (r.port < 1 || r.port > 65535) bad('ports-to-redirect', `${r.port} is not a port 1-65535 (iptables refuses the rule, and proxy-init fails)`, r.span);
    else if (inIgnore.some(([lo, hi]) => lo <= r.port && r.port <= hi)) dropped(`--ports-to-redirect ${r.port}`, 'the port is also in --inbound-ports-to-ignore, which proxy-init examines first', r.span);
    else if (!redirect.includes(r.port)) redirect.push(r.port);
  }

  // Subnets: net.ParseCIDR, then the same list goes to iptables and (with --ipv6) ip6tables.
  const families = cfg.ipv6 ? ['ipv4', 'ipv6'] : ['ipv4'];
  const sources: string[] = [];
  for (const x of cfg.subnetsToIgnore) {
    const t = x.text.trim();
    const c = t.includes('/') ? parseCidr(t) : undefined;
    const canon = c?.ok ? `${c.cidr.addr}/${c.cidr.prefix}` : c && !c.ok && c.kind === 'host-bits' ? c.canonical : undefined;
    if (!canon) {
      bad('subnets-to-ignore', `'${x.text}' is not a valid CIDR address (proxy-init refuses to run)`, x.span);
      continue;
    }
    const fam = canon.includes(':') ? 'ipv6' : 'ipv4';
    if (canon.endsWith('/0')) {
      // iptables and ip6tables both read any /0 as "every address" without parsing it,
      // so a /0 of either family ignores every source in both runs.
      for (const f of families) sources.push(f === 'ipv4' ? '0.0.0.0/0' : '::/0');
      if (families.length > 1) dropped(`--subnets-to-ignore ${x.text}`, `ip6tables and iptables read any /0 as every address, so it also ignores every ${fam === 'ipv4' ? 'IPv6' : 'IPv4'} source`, x.span);
      continue;
    }
    if (fam === 'ipv6') bad('subnets-to-ignore', `'${x.text}' is IPv6, and proxy-init always runs iptables (IPv4) with every subnet: iptables refuses it and proxy-init fails`, x.span);
    else if (cfg.ipv6) bad('subnets-to-ignore', `'${x.text}' is IPv4, and with --ipv6 (the default) proxy-init gives it to ip6tables too, which refuses it: proxy-init fails after installing the IPv4 rules`, x.span);
    else sources.push(canon);
  }
  const uniq = [...new Set(sources)];

  L('# Imported from Linkerd proxy-init flags by meshcap import linkerd-proxy-init');
  L('# (rules of pkg/iptables/iptables.go, github.com/linkerd/linkerd2-proxy-init)');
  L(`policy ${name} {`);
  L('  proxy {');
  L(`    uid ${uid}`, '--proxy-uid (-u)');
  L(`    gid ${gid}`, '--proxy-gid (-g)');
  L(`    outbound-port ${outPort}`, '--outgoing-proxy-port (-o)');
  L(`    inbound-port ${inPort}`, '--incoming-proxy-port (-p)');
  L('    tunnel-port none');
  L('  }');
  L('  inbound {');
  L('    mode redirect');
  const listed = cfg.portsToRedirect.length > 0;
  const capture = !listed ? '*' : redirect.length ? redirect.join(', ') : 'none';
  L(`    capture ports ${capture}`, '--ports-to-redirect (-r)');
  if (capture === '*' && inIgnore.length) L(`    exclude ports ${inIgnore.map(rangeText).join(', ')}`, '--inbound-ports-to-ignore');
  if (uniq.length && capture !== 'none') L(`    exclude sources ${uniq.join(', ')}`, '--subnets-to-ignore');
  else if (uniq.length) dropped('--subnets-to-ignore', 'no inbound port is redirected, so there is nothing to ignore', flagSpan('subnets-to-ignore'));
  L('  }');
  L('  outbound {');
  L('    capture cidrs *');
  if (outIgnore.length) L(`    exclude ports ${outIgnore.map(rangeText).join(', ')}`, '--outbound-ports-to-ignore');
  L('  }');
  // proxy-init returns everything leaving through lo (proxy-init/ignore-loopback) and
  // nothing else: no passthrough source, no localhost range, no self-redirect.
  L('  loopback {');
  L('    passthrough none');
  L('    localhost none');
  L('    self-redirect off');
  L('  }');
  L(`  families ${families.join(', ')}`, '--ipv6');
  L('}');
  return { text: lines.join('\n') + '\n', diagnostics: ds, lineFields };
}
