// Kuma's transparent proxy (`kumactl install transparent-proxy`) -> an equivalent .intercept
// policy. Reads the flags of app/kumactl/cmd/install/install_transparent_proxy.go and the
// config file of pkg/transparentproxy/config/config.go (JSON or YAML, the same fields),
// with Kuma's defaults (DefaultConfig), and writes the policy the rules of
// pkg/transparentproxy/iptables/builder mean. Kuma's inputs that the language cannot say
// yet are refused by name (import-unsupported), never approximated.
import { parse as parseYaml } from 'yaml';
import { syntaxErrorsBeyond } from './yaml-errors.js';
import { diag, suggest, type Diagnostic } from '../diagnostics/diagnostic.js';
import { parseCidr } from '../net/ip.js';
import { SourceFile, type Span } from '../source.js';
import type { ImportedPolicy } from './istio.js';
import { resolvConfServers } from './kuma-env.js';

const TOOL = 'kumactl install transparent-proxy';

/** The parts of Kuma's Config that shape the rules. */
export interface KumaConfig {
  kumaDPUser: string;
  ipFamilyMode: string;
  inbound: { enabled: boolean; port: number; excludePorts: number[]; excludeIPs: string[]; insert: boolean };
  outbound: { enabled: boolean; port: number; excludePorts: number[]; excludeIPs: string[]; excludePortsForUIDs: string[]; insert: boolean };
  dns: { enabled: boolean; captureAll: boolean; port: number; skipConntrackZoneSplit: boolean; resolvConfigPath: string };
  vnet: string[];
  dropInvalidPackets: boolean;
  logs: boolean;
  /** log.level (DefaultConfig: 7, consts.LogLevelDebug). */
  logLevel: number;
}

export function kumaDefaults(): KumaConfig {
  return {
    kumaDPUser: '',
    ipFamilyMode: 'dualstack',
    inbound: { enabled: true, port: 15006, excludePorts: [], excludeIPs: [], insert: false },
    outbound: { enabled: true, port: 15001, excludePorts: [], excludeIPs: [], excludePortsForUIDs: [], insert: false },
    dns: { enabled: false, captureAll: false, port: 15053, skipConntrackZoneSplit: false, resolvConfigPath: '/etc/resolv.conf' },
    vnet: [],
    dropInvalidPackets: false,
    logs: false,
    logLevel: 7,
  };
}

type Kind = 'bool' | 'port' | 'ports' | 'string' | 'array' | 'ignored-value';
interface FlagSpec {
  long: string;
  kind: Kind;
  /** Accepted, but it does not change the rules. */
  ignored?: boolean;
  /** `first`: the flag's first use, which replaces a StringArray's earlier value (pflag's stringArray.Set). */
  set?: (c: KumaConfig, v: never, first: boolean) => void;
}

const F = (long: string, kind: Kind, set?: FlagSpec['set'], ignored = false): FlagSpec => ({ long, kind, set, ignored });

/** The flags of `kumactl install transparent-proxy` (install_transparent_proxy.go). */
export const KUMA_FLAGS: FlagSpec[] = [
  F('ip-family-mode', 'string', (c, v: string) => (c.ipFamilyMode = v)),
  F('redirect-outbound-port', 'port', (c, v: number) => (c.outbound.port = v)),
  F('redirect-inbound', 'bool', (c, v: boolean) => (c.inbound.enabled = v)),
  F('redirect-inbound-port', 'port', (c, v: number) => (c.inbound.port = v)),
  // pflag's Ports.Set starts the list afresh: a repeated flag keeps only its last value.
  F('exclude-inbound-ports', 'ports', (c, v: number[]) => (c.inbound.excludePorts = v)),
  F('exclude-outbound-ports', 'ports', (c, v: number[]) => (c.outbound.excludePorts = v)),
  F('kuma-dp-user', 'string', (c, v: string) => (c.kumaDPUser = v)),
  F('redirect-dns', 'bool', (c, v: boolean) => (c.dns.enabled = v)),
  F('redirect-all-dns-traffic', 'bool', (c, v: boolean) => ((c.dns.enabled = v || c.dns.enabled), (c.dns.captureAll = v))),
  F('redirect-dns-port', 'port', (c, v: number) => (c.dns.port = v)),
  F('skip-dns-conntrack-zone-split', 'bool', (c, v: boolean) => (c.dns.skipConntrackZoneSplit = v)),
  F('drop-invalid-packets', 'bool', (c, v: boolean) => (c.dropInvalidPackets = v)),
  F('exclude-outbound-ports-for-uids', 'array', (c, v: string[], first) => (c.outbound.excludePortsForUIDs = [...(first ? [] : c.outbound.excludePortsForUIDs), ...v])),
  F('vnet', 'array', (c, v: string[], first) => (c.vnet = [...(first ? [] : c.vnet), ...v])),
  F('iptables-logs', 'bool', (c, v: boolean) => (c.logs = v)),
  F('exclude-inbound-ips', 'array', (c, v: string[], first) => (c.inbound.excludeIPs = [...(first ? [] : c.inbound.excludeIPs), ...v])),
  F('exclude-outbound-ips', 'array', (c, v: string[], first) => (c.outbound.excludeIPs = [...(first ? [] : c.outbound.excludeIPs), ...v])),
  F('dry-run', 'bool', undefined, true),
  F('verbose', 'bool', undefined, true),
  F('store-firewalld', 'bool', undefined, true),
  F('disable-comments', 'bool', undefined, true),
  F('redirect-inbound-insert-instead-of-append', 'bool', (c, v: boolean) => (c.inbound.insert = v)),
  F('redirect-outbound-insert-instead-of-append', 'bool', (c, v: boolean) => (c.outbound.insert = v)),
  F('wait', 'ignored-value', undefined, true),
  F('wait-interval', 'ignored-value', undefined, true),
  F('max-retries', 'ignored-value', undefined, true),
  F('sleep-between-retries', 'ignored-value', undefined, true),
  F('iptables-executables', 'ignored-value', undefined, true),
];

export interface KumaInput {
  config: KumaConfig;
  diagnostics: Diagnostic[];
  source: SourceFile;
  /** Where each setting came from: a flag's value in the arguments, or a config field. */
  origin: Partial<Record<string, { span?: Span; label: string }>>;
}

/** Kuma's parsePort: 1-65535. */
const port = (s: string): number | undefined => (/^[0-9]{1,5}$/.test(s.trim()) && +s > 0 && +s <= 65535 ? +s : undefined);
const boolOf = (s: string): boolean | undefined => ({ '1': true, t: true, T: true, TRUE: true, true: true, True: true, '0': false, f: false, F: false, FALSE: false, false: false, False: false })[s];
const csv = (s: string) => s.split(',').map((x) => x.trim()).filter(Boolean);

/**
 * The config file's fields (JSON or YAML), onto the defaults. `label` names the file in
 * messages. Kuma decodes it without strict parsing (pkg/config/loader.go), so a misspelt
 * field would be lost silently; meshcap refuses unknown fields instead.
 */
export function kumaConfigFromFile(text: string, label: string, cfg = kumaDefaults()): { config: KumaConfig; diagnostics: Diagnostic[]; origin: KumaInput['origin'] } {
  let doc: unknown;
  // The yaml library composes every syntax error it finds (a 1 MB line of `]` is a million
  // of them, minutes of work): its lazy parser is asked first, and a file this broken is
  // refused at its first error without composing.
  const broken = syntaxErrorsBeyond(text, 20);
  if (broken) return { config: cfg, diagnostics: [diag('import-bad-value', undefined, { tool: TOOL, flag: `${label}: (file)`, detail: `not JSON or YAML: more than 20 syntax errors, the first at line ${broken.line}, column ${broken.col}` })], origin: {} };
  try {
    doc = parseYaml(text, { logLevel: 'error' });
  } catch (e) {
    return { config: cfg, diagnostics: [diag('import-bad-value', undefined, { tool: TOOL, flag: `${label}: (file)`, detail: `not JSON or YAML: ${(e as Error).message.split('\n')[0]}` })], origin: {} };
  }
  if (doc === null || typeof doc !== 'object' || Array.isArray(doc)) return { config: cfg, diagnostics: [diag('import-bad-value', undefined, { tool: TOOL, flag: `${label}: (file)`, detail: 'expects an object of transparent proxy config fields' })], origin: {} };
  return kumaConfigFromDoc(doc as Record<string, unknown>, (path) => `${label}: ${path}`, cfg);
}

/**
 * Config fields as the file decodes them (an object of Config's JSON names), onto `cfg`.
 * `labelOf` names a field path ('redirect.dns.port') in messages: the file and the path, or
 * the environment variable that set it (src/import/kuma-env.ts).
 */
export function kumaConfigFromDoc(doc: Record<string, unknown>, labelOf: (path: string) => string, cfg = kumaDefaults(), spanOf: (path: string) => Span | undefined = () => undefined): { config: KumaConfig; diagnostics: Diagnostic[]; origin: KumaInput['origin'] } {
  const ds: Diagnostic[] = [];
  const origin: KumaInput['origin'] = {};
  const bad = (field: string, detail: string) => ds.push(diag('import-bad-value', spanOf(field), { tool: TOOL, flag: labelOf(field), detail }));
  const portsOf = (path: string, v: unknown): number[] | undefined => {
    const items = Array.isArray(v) ? v.map(String) : typeof v === 'string' || typeof v === 'number' ? csv(String(v)) : undefined;
    const out = items?.map(port);
    if (!out || out.some((p) => p === undefined)) return void bad(path, `${JSON.stringify(v)} is not a list of ports 1-65535`);
    return out as number[];
  };
  const strings = (path: string, v: unknown): string[] | undefined => (Array.isArray(v) && v.every((x) => typeof x === 'string') ? v : typeof v === 'string' ? [v] : void bad(path, 'expects a list of strings'));
  const walk = (obj: Record<string, unknown>, prefix: string, fields: Record<string, (v: unknown, path: string) => void>) => {
    for (const [k, v] of Object.entries(obj)) {
      const path = prefix ? `${prefix}.${k}` : k;
      const f = fields[k];
      if (!f) ds.push(diag('import-unknown-flag', undefined, { tool: TOOL, name: labelOf(path) }, suggest(k, Object.keys(fields))));
      else {
        origin[path] = { label: labelOf(path), span: spanOf(path) };
        f(v, path);
      }
    }
  };
  const obj = (path: string, v: unknown, fields: Record<string, (v: unknown, path: string) => void>) => {
    if (v === null || typeof v !== 'object' || Array.isArray(v)) bad(path, 'expects an object');
    else walk(v as Record<string, unknown>, path, fields);
  };
  const bool = (set: (b: boolean) => void) => (v: unknown, path: string) => (typeof v === 'boolean' ? set(v) : bad(path, 'expects true or false'));
  const portField = (set: (n: number) => void) => (v: unknown, path: string) => {
    const n = port(String(v));
    if (n === undefined) bad(path, `${JSON.stringify(v)} is not a port 1-65535`);
    else set(n);
  };
  const ignored = (_v: unknown, p: string) => void ds.push(diag('import-ignored', spanOf(p), { tool: TOOL, flag: labelOf(p) }));
  const flow = (f: KumaConfig['inbound'] | KumaConfig['outbound'], inbound: boolean) => ({
    enabled: bool((b) => (f.enabled = b)),
    port: portField((n) => (f.port = n)),
    excludePorts: (v: unknown, p: string) => {
      const ps = portsOf(p, v);
      if (ps) f.excludePorts = ps;
    },
    // A list decoded from a file or the environment replaces the one before it.
    excludePortsForIPs: (v: unknown, p: string) => (f.excludeIPs = strings(p, v) ?? f.excludeIPs),
    excludePortsForUIDs: (v: unknown, p: string) => (inbound ? bad(p, 'is read by Kuma for outbound traffic only') : ((f as KumaConfig['outbound']).excludePortsForUIDs = strings(p, v) ?? [])),
    includePorts: (v: unknown, p: string) => (Array.isArray(v) && v.length === 0 ? undefined : bad(p, 'is not read by the rule builder; leave it out')),
    insertRedirectInsteadOfAppend: bool((b) => (f.insert = b)),
  });
  walk(doc, '', {
    kumaDPUser: (v, p) => (typeof v === 'string' || typeof v === 'number' ? (cfg.kumaDPUser = String(v)) : bad(p, 'expects a user name or uid')),
    ipFamilyMode: (v, p) => (typeof v === 'string' ? (cfg.ipFamilyMode = v) : bad(p, "expects 'dualstack' or 'ipv4'")),
    redirect: (v, p) =>
      obj(p, v, {
        inbound: (w, q) => obj(q, w, flow(cfg.inbound, true)),
        outbound: (w, q) => obj(q, w, flow(cfg.outbound, false)),
        dns: (w, q) =>
          obj(q, w, {
            enabled: bool((b) => (cfg.dns.enabled = b)),
            captureAll: bool((b) => (cfg.dns.captureAll = b)),
            port: portField((n) => (cfg.dns.port = n)),
            skipConntrackZoneSplit: bool((b) => (cfg.dns.skipConntrackZoneSplit = b)),
            resolvConfigPath: (w, q) => (typeof w === 'string' && w !== '' ? (cfg.dns.resolvConfigPath = w) : bad(q, 'expects the path of a resolv.conf file')),
          }),
        vnet: (w, q) => obj(q, w, { networks: (x, r) => (cfg.vnet = strings(r, x) ?? cfg.vnet) }),
      }),
    dropInvalidPackets: bool((b) => (cfg.dropInvalidPackets = b)),
    log: (v, p) => obj(p, v, { enabled: bool((b) => (cfg.logs = b)), level: (w, q) => (typeof w === 'number' && Number.isInteger(w) && w >= 0 && w <= 7 ? (cfg.logLevel = w) : bad(q, 'expects a syslog level 0-7')) }),
    ...Object.fromEntries(['verbose', 'dryRun', 'wait', 'waitInterval', 'retry', 'storeFirewalld', 'iptablesExecutables', 'comments', 'cniMode'].map((k) => [k, ignored])),
  });
  return { config: cfg, diagnostics: ds, origin };
}

/** kumactl's flags, parsed as pflag parses them, onto `base` (the config file's values, or the defaults). */
export function kumaConfigFromFlags(args: string[], base = kumaDefaults()): KumaInput {
  const offsets: number[] = [];
  let text = '';
  for (const a of args) {
    offsets.push(text.length + (text ? 1 : 0));
    text += (text ? ' ' : '') + a;
  }
  const src = new SourceFile('<kumactl arguments>', text);
  const at = (i: number, from = 0) => src.span(offsets[i] + from, offsets[i] + args[i].length);
  const cfg = base;
  const ds: Diagnostic[] = [];
  const origin: KumaInput['origin'] = {};
  const dnsFlags = { 'redirect-dns': false, 'redirect-all-dns-traffic': false };
  for (let i = 0; i < args.length; i++) {
    const w = args[i];
    if (!w.startsWith('--')) {
      ds.push(diag('import-bad-value', at(i), { tool: TOOL, flag: `'${w}'`, detail: 'kumactl takes only flags here, and refuses other arguments' }));
      continue;
    }
    const eq = w.indexOf('=');
    const name = eq < 0 ? w.slice(2) : w.slice(2, eq);
    let value = eq < 0 ? undefined : w.slice(eq + 1);
    let vspan = eq < 0 ? undefined : at(i, eq + 1);
    const spec = KUMA_FLAGS.find((s) => s.long === name);
    if (name === 'config') {
      ds.push(diag('import-bad-value', at(i), { tool: TOOL, flag: '--config', detail: "give the config file to meshcap: 'meshcap import kuma --config FILE -- FLAGS'" }));
      if (eq < 0) i++;
      continue;
    }
    if (!spec) {
      ds.push(diag('import-unknown-flag', at(i), { tool: TOOL, name: `--${name}` }, suggest(name, KUMA_FLAGS.map((s) => s.long))));
      if (eq < 0 && args[i + 1] !== undefined && !args[i + 1].startsWith('-')) i++;
      continue;
    }
    if (spec.kind !== 'bool' && value === undefined) {
      if (args[i + 1] === undefined) {
        ds.push(diag('import-bad-value', at(i), { tool: TOOL, flag: `--${name}`, detail: 'needs a value' }));
        continue;
      }
      i++;
      [value, vspan] = [args[i], at(i)];
    }
    const span = vspan ?? at(i);
    const bad = (detail: string) => ds.push(diag('import-bad-value', span, { tool: TOOL, flag: `--${name}`, detail }));
    if (spec.ignored) {
      if (spec.kind === 'bool' && value !== undefined && boolOf(value) === undefined) bad(`'${value}' is not a boolean`);
      else ds.push(diag('import-ignored', at(i), { tool: TOOL, flag: `--${name}` }));
      continue;
    }
    const first = !origin[name];
    if (spec.kind === 'ports' && origin[name]) ds.push(diag('import-dropped', origin[name].span, { tool: TOOL, flag: `the first --${name}`, reason: 'kumactl keeps only the last value of a repeated port list flag' }));
    origin[name] = { span, label: `--${name}` };
    const set = (c: KumaConfig, v: unknown) => (spec.set as (c: KumaConfig, v: unknown, first: boolean) => void)(c, v, first);
    if (spec.kind === 'bool') {
      const b = value === undefined ? true : boolOf(value);
      if (b === undefined) bad(`'${value}' is not a boolean`);
      else set(cfg, b);
      if (b !== undefined && (name === 'redirect-dns' || name === 'redirect-all-dns-traffic')) dnsFlags[name] = b;
    } else if (spec.kind === 'port') {
      const n = port(value!);
      if (n === undefined) bad(`value '${value}' is not a valid port (uint16 in the range [1, 65535])`);
      else set(cfg, n);
    } else if (spec.kind === 'ports') {
      const ps = csv(value!).map(port);
      if (ps.some((p) => p === undefined)) bad(`'${value}' is not a comma-separated list of ports 1-65535`);
      else set(cfg, ps);
    } else if (spec.kind === 'array') set(cfg, spec.long.endsWith('-ips') ? csv(value!) : [value!]);
    else set(cfg, value!);
  }
  // Checked on the flags alone, before the config file and the environment are loaded.
  if (dnsFlags['redirect-dns'] && dnsFlags['redirect-all-dns-traffic']) ds.push(diag('import-bad-value', origin['redirect-all-dns-traffic']?.span, { tool: TOOL, flag: '--redirect-all-dns-traffic', detail: "only one of '--redirect-dns' or '--redirect-all-dns-traffic' should be specified" }));
  return { config: cfg, diagnostics: ds, source: src, origin };
}

/** Whether the import needs the resolv.conf: DNS redirection to its servers only (`--redirect-dns`). */
export const needsResolvConf = (cfg: KumaConfig) => cfg.dns.enabled && !cfg.dns.captureAll;

/**
 * One `--exclude-outbound-ports-for-uids` entry, `<protocol:>?<ports:>?<uids>` as Kuma's
 * parseExcludePortsForUIDs reads it (pkg/transparentproxy/config/utils.go: protocols and
 * ports are comma lists, '*' or empty for all; the uids one value or a range; every number
 * a uint16), as the items of 'exclude ports-for-uids' (one port range each); or why not.
 */
export function uidExclusionItems(entry: string): string[] | string {
  const parts = entry.split(':');
  if (parts.length > 3) return `invalid format for excluding ports by UIDs: '${entry}'. Expected format: <protocol:>?<ports:>?<uids>`;
  const [protos, ports, uids] = parts.length === 3 ? parts : parts.length === 2 ? ['*', ...parts] : ['*', '*', parts[0]];
  if (uids === '*') return "wildcard '*' is not allowed for UIDs";
  const u16 = (t: string) => /^[0-9]{1,5}$/.test(t.trim()) && +t <= 65535;
  const valueOrRange = (t: string) => t.split('-').every(u16);
  const portList = ports === '*' || ports === '' ? ['1-65535'] : csv(ports);
  if (!portList.length || !portList.every(valueOrRange)) return `invalid port range: '${ports}'`;
  if (uids.includes(',')) return `invalid UID entry: '${uids}'. It should either be a single item or a range`;
  if (!valueOrRange(uids)) return `invalid UID range: '${uids}'`;
  const ps = protos === '*' || protos === '' ? ['tcp', 'udp'] : csv(protos).map((x) => x.toLowerCase());
  const badProto = ps.find((x) => x !== 'tcp' && x !== 'udp');
  if (badProto !== undefined) return `invalid or unsupported protocol: '${badProto}'`;
  const norm = (t: string) => t.split('-').map((x) => String(+x)).join('-');
  return ps.flatMap((p) => portList.map((r) => `${p}:${norm(r)}:${norm(uids)}`));
}

/** Options of the import itself: how user names resolve on the host kumactl would run on. */
export interface KumaImportOptions {
  name?: string;
  /** `--user NAME=UID`: the host's passwd entries (kumactl resolves --kuma-dp-user there). */
  users?: Record<string, number>;
  /** The resolv.conf whose nameservers `--redirect-dns` captures DNS to (needsResolvConf). */
  resolvConf?: SourceFile;
}

/** The config field each flag sets, to name a setting in messages whichever input set it. */
const FIELD_OF_FLAG: Record<string, string> = {
  'kuma-dp-user': 'kumaDPUser',
  'ip-family-mode': 'ipFamilyMode',
  'redirect-inbound': 'redirect.inbound.enabled',
  'redirect-inbound-port': 'redirect.inbound.port',
  'redirect-outbound-port': 'redirect.outbound.port',
  'exclude-inbound-ports': 'redirect.inbound.excludePorts',
  'exclude-outbound-ports': 'redirect.outbound.excludePorts',
  'exclude-inbound-ips': 'redirect.inbound.excludePortsForIPs',
  'exclude-outbound-ips': 'redirect.outbound.excludePortsForIPs',
  'exclude-outbound-ports-for-uids': 'redirect.outbound.excludePortsForUIDs',
  'redirect-dns': 'redirect.dns.enabled',
  'redirect-all-dns-traffic': 'redirect.dns.captureAll',
  'redirect-dns-port': 'redirect.dns.port',
  'skip-dns-conntrack-zone-split': 'redirect.dns.skipConntrackZoneSplit',
  vnet: 'redirect.vnet.networks',
  'iptables-logs': 'log.enabled',
  'drop-invalid-packets': 'dropInvalidPackets',
  'redirect-inbound-insert-instead-of-append': 'redirect.inbound.insertRedirectInsteadOfAppend',
  'redirect-outbound-insert-instead-of-append': 'redirect.outbound.insertRedirectInsteadOfAppend',
};

/** The policy that means what Kuma's rules do with this configuration. */
export function policyFromKuma(input: KumaInput, opts: KumaImportOptions = {}): ImportedPolicy {
  const cfg = input.config;
  const ds: Diagnostic[] = [];
  const lines: string[] = [];
  const lineFields = new Map<number, string>();
  const where = (key: string) => input.origin[key] ?? input.origin[FIELD_OF_FLAG[key] ?? ''];
  const label = (key: string, fallback: string) => where(key)?.label ?? fallback;
  const L = (s: string, field?: string) => {
    lines.push(s);
    if (field) lineFields.set(lines.length, field);
  };
  const unsupported = (key: string, fallback: string, reason: string) => ds.push(diag('import-unsupported', where(key)?.span, { tool: TOOL, flag: label(key, fallback), reason }));
  // Kuma's inputs the language cannot say yet (docs/kuma-differences.md).
  const mode = cfg.ipFamilyMode.toLowerCase();
  if (mode !== 'dualstack' && mode !== 'ipv4' && mode !== '') ds.push(diag('import-bad-value', where('ip-family-mode')?.span, { tool: TOOL, flag: label('ip-family-mode', '--ip-family-mode'), detail: "must be one of 'dualstack' or 'ipv4'" }));
  const families = mode === 'ipv4' ? ['ipv4'] : ['ipv4', 'ipv6'];
  // --redirect-dns: UDP DNS to the resolv.conf's servers of each family (DNS.Initialize);
  // a family with none gets no DNS rules at all, which a policy can only say for every family.
  let servers: string[] = [];
  let dnsOn = cfg.dns.enabled;
  if (needsResolvConf(cfg)) {
    const file = opts.resolvConf;
    const r = file ? resolvConfServers(file) : { ipv4: [], ipv6: [], diagnostics: [] };
    ds.push(...r.diagnostics);
    const of = { ipv4: r.ipv4, ipv6: r.ipv6 } as Record<string, string[]>;
    const none = families.filter((f) => !of[f].length);
    servers = families.flatMap((f) => of[f]);
    if (none.length === families.length) {
      dnsOn = false;
      ds.push(diag('import-dropped', where('redirect-dns')?.span, { tool: TOOL, flag: label('redirect-dns', '--redirect-dns'), reason: `${file?.path ?? 'the resolv.conf'} lists no nameserver of ${families.join(' or ')}, so Kuma captures no DNS` }));
    } else if (none.length) {
      unsupported('redirect-dns', '--redirect-dns', `${file?.path} lists no ${none.join(', ')} nameserver, so Kuma writes no DNS rules for ${none.join(', ')} (its apps' TCP DNS is captured there, passed elsewhere), and a policy's DNS capture is the same in every family; add a nameserver of that family to the file given with --resolv-conf, or import with --ip-family-mode ipv4 if the workload has no IPv6`);
    } else if (servers.some((a) => a.startsWith('127.') || a === '::1')) {
      const local = servers.filter((a) => a.startsWith('127.') || a === '::1');
      ds.push(diag('import-differs', where('redirect-dns')?.span, { tool: TOOL, flag: label('redirect-dns', '--redirect-dns'), detail: `Kuma also puts a local nameserver's UDP to localhost in conntrack zone 1 (${local.join(', ')}: raw OUTPUT, buildRawTable), which the policy does not; where every packet goes is the same (K3 in docs/kuma-differences.md)` }));
    }
    if (dnsOn && file) ds.push(diag('import-read', undefined, { what: `the DNS servers ${servers.join(', ')}`, path: file.path }));
  }

  // InitializeKumaDPUser: the given user (a uid or a name on the host), else uid 5678.
  let uid = cfg.kumaDPUser || '5678';
  if (!/^[0-9]+$/.test(uid)) {
    const resolved = opts.users?.[uid];
    if (resolved !== undefined) uid = String(resolved);
  }
  const ips = (key: string, fallback: string, xs: string[]): string[] => {
    const out: string[] = [];
    for (const x of xs) {
      const t = x.includes('/') ? x : `${x}/${x.includes(':') ? 128 : 32}`;
      const c = parseCidr(t);
      const canon = c.ok ? `${c.cidr.addr}/${c.cidr.prefix}` : c.kind === 'host-bits' ? c.canonical : undefined;
      if (!canon) ds.push(diag('import-bad-value', where(key)?.span, { tool: TOOL, flag: label(key, fallback), detail: `invalid IP address: '${x}'` }));
      // Each family's rules keep the addresses of their own family (validateIP).
      else if (!families.includes(canon.includes(':') ? 'ipv6' : 'ipv4')) ds.push(diag('import-dropped', where(key)?.span, { tool: TOOL, flag: `${label(key, fallback)} ${x}`, reason: 'it is IPv6 and --ip-family-mode is ipv4, so no rule uses it' }));
      else if (!out.includes(canon)) out.push(canon);
    }
    return out;
  };
  const uidItems = cfg.outbound.excludePortsForUIDs.flatMap((x) => {
    const r = uidExclusionItems(x);
    if (typeof r === 'string') ds.push(diag('import-bad-value', where('exclude-outbound-ports-for-uids')?.span, { tool: TOOL, flag: label('exclude-outbound-ports-for-uids', '--exclude-outbound-ports-for-uids'), detail: r }));
    return typeof r === 'string' ? [] : r;
  });
  // --vnet IFACE:CIDR, split at the first ':' (an IPv6 CIDR holds more); host bits masked, as the kernel does.
  const vnets: string[] = [];
  for (const v of cfg.vnet) {
    const at = v.indexOf(':');
    const c = at > 0 ? parseCidr(v.slice(at + 1).includes('/') ? v.slice(at + 1) : `${v.slice(at + 1)}/${v.slice(at + 1).includes(':') ? 128 : 32}`) : undefined;
    const canon = c?.ok ? `${c.cidr.addr}/${c.cidr.prefix}` : c?.kind === 'host-bits' ? c.canonical : undefined;
    if (!canon) ds.push(diag('import-bad-value', where('vnet')?.span, { tool: TOOL, flag: label('vnet', '--vnet'), detail: `'${v}' is not INTERFACE:CIDR` }));
    else if (!families.includes(canon.includes(':') ? 'ipv6' : 'ipv4')) ds.push(diag('import-dropped', where('vnet')?.span, { tool: TOOL, flag: `${label('vnet', '--vnet')} ${v}`, reason: 'it is IPv6 and --ip-family-mode is ipv4, so no rule uses it' }));
    else vnets.push(`${v.slice(0, at)}:${canon}`);
  }
  const inIps = ips('exclude-inbound-ips', '--exclude-inbound-ips', cfg.inbound.excludeIPs);
  const outIps = ips('exclude-outbound-ips', '--exclude-outbound-ips', cfg.outbound.excludeIPs);
  const v6 = families.includes('ipv6');

  L('# Imported from kumactl install transparent-proxy by meshcap import kuma');
  L('# (rules of pkg/transparentproxy/iptables/builder, github.com/kumahq/kuma)');
  L(`policy ${opts.name ?? 'kuma'} {`);
  L('  proxy {');
  L(`    uid ${uid}`, label('kuma-dp-user', '--kuma-dp-user'));
  L('    gid none');
  L(`    outbound-port ${cfg.outbound.port}`, label('redirect-outbound-port', '--redirect-outbound-port'));
  L(`    inbound-port ${cfg.inbound.port}`, label('redirect-inbound-port', '--redirect-inbound-port'));
  L('    tunnel-port none');
  L('  }');
  L('  inbound {');
  L('    mode redirect');
  L(`    capture ports ${cfg.inbound.enabled ? '*' : 'none'}`, label('redirect-inbound', '--redirect-inbound'));
  const inPorts = [...new Set(cfg.inbound.excludePorts)];
  if ((inPorts.length || inIps.length) && !cfg.inbound.enabled) ds.push(diag('import-dropped', where('redirect-inbound')?.span, { tool: TOOL, flag: 'the inbound exclusions', reason: 'inbound redirection is off (--redirect-inbound=false), so there is nothing to exclude' }));
  if (inPorts.length && cfg.inbound.enabled) L(`    exclude ports ${inPorts.join(', ')}`, label('exclude-inbound-ports', '--exclude-inbound-ports'));
  if (inIps.length && cfg.inbound.enabled) L(`    exclude sources ${inIps.join(', ')}`, label('exclude-inbound-ips', '--exclude-inbound-ips'));
  L('  }');
  L('  outbound {');
  L(`    capture cidrs ${cfg.outbound.enabled ? '*' : 'none'}`);
  const outPorts = [...new Set(cfg.outbound.excludePorts)];
  if (cfg.outbound.enabled && outIps.length) L(`    exclude cidrs ${outIps.join(', ')}`, label('exclude-outbound-ips', '--exclude-outbound-ips'));
  if (cfg.outbound.enabled && outPorts.length) L(`    exclude ports ${outPorts.join(', ')}`, label('exclude-outbound-ports', '--exclude-outbound-ports'));
  // Kuma returns them in nat OUTPUT whether outbound redirection is on or not; with it off
  // (and no DNS capture) nothing they could spare is captured.
  if (uidItems.length && !cfg.outbound.enabled && !dnsOn) ds.push(diag('import-dropped', where('exclude-outbound-ports-for-uids')?.span, { tool: TOOL, flag: label('exclude-outbound-ports-for-uids', '--exclude-outbound-ports-for-uids'), reason: 'outbound redirection is off, so there is nothing to exclude' }));
  else if (uidItems.length) L(`    exclude ports-for-uids ${[...new Set(uidItems)].join(', ')}`, label('exclude-outbound-ports-for-uids', '--exclude-outbound-ports-for-uids'));
  L('  }');
  L('  loopback {');
  L(`    passthrough 127.0.0.6${v6 ? ', ::6' : ''}`);
  L(`    localhost 127.0.0.1/32${v6 ? ', ::1/128' : ''}`);
  L('    self-redirect on');
  L('  }');
  if (dnsOn) {
    // addOutputRules: UDP only (the apps' TCP DNS returned), the zones unless skipped.
    L('  dns {');
    if (cfg.dns.captureAll) L('    capture all', label('redirect-all-dns-traffic', '--redirect-all-dns-traffic'));
    else L(`    capture servers ${servers.join(', ')}`, label('redirect-dns', '--redirect-dns'));
    L(`    port ${cfg.dns.port}`, label('redirect-dns-port', '--redirect-dns-port'));
    L('    tcp pass');
    L(`    conntrack-zones ${cfg.dns.skipConntrackZoneSplit ? 'off' : 'on'}`, label('skip-dns-conntrack-zone-split', '--skip-dns-conntrack-zone-split'));
    L('  }');
  } else if (vnets.length) {
    // The virtual networks' DNS goes to the DNS port even without DNS capture (addPreroutingRules).
    L('  dns {');
    L(`    port ${cfg.dns.port}`, label('redirect-dns-port', '--redirect-dns-port'));
    L('  }');
  }
  if (vnets.length) {
    L('  interfaces {');
    L(`    vnet ${vnets.join(', ')}`, label('vnet', '--vnet'));
    L('  }');
  }
  // addOutputRules / addPreroutingRules: a LOG jump with the chain's name as prefix.
  if (cfg.logs) L(`  log on level ${cfg.logLevel}`, label('iptables-logs', '--iptables-logs'));
  // --redirect-*-insert-instead-of-append: Kuma's jump to its chain goes first in nat
  // PREROUTING / OUTPUT, ahead of other tools' rules (its other OUTPUT rules are inserted
  // there anyway). A policy attaches all its chains one way.
  const ins = (k: 'inbound' | 'outbound') => label(`redirect-${k}-insert-instead-of-append`, `--redirect-${k}-insert-instead-of-append`);
  // With --vnet the inbound jump is inserted whatever the flag says (addPreroutingRules).
  const inIns = cfg.inbound.insert || vnets.length > 0;
  if (inIns && cfg.outbound.insert) L('  attach first', ins('outbound'));
  else if (inIns || cfg.outbound.insert) {
    const [on, off] = inIns ? (['inbound', 'outbound'] as const) : (['outbound', 'inbound'] as const);
    ds.push(diag('import-differs', where(`redirect-${on}-insert-instead-of-append`)?.span, { tool: TOOL, flag: ins(on), detail: `Kuma inserts only its ${on} jump${on === 'inbound' && !cfg.inbound.insert ? ' (as it does with --vnet)' : ''} ahead of other tools' rules and appends the ${off} one; a policy attaches all its chains one way, and the import keeps the default (appended). Only the order among other tools' rules on the same hooks differs; give both flags, or write 'attach first', to put every chain first (K4 in docs/kuma-differences.md)` }));
  }
  // Kuma examines its excluded IPs and DNS before its loopback rules (nat OUTPUT, ahead of its chain).
  L('  order exclusions-first');
  L(`  drop-invalid ${cfg.dropInvalidPackets ? 'on' : 'off'}`, label('drop-invalid-packets', '--drop-invalid-packets'));
  L(`  families ${families.join(', ')}`, label('ip-family-mode', '--ip-family-mode'));
  L('}');
  return { text: lines.join('\n') + '\n', diagnostics: ds, lineFields };
}
