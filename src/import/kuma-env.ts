// The environment kumactl install transparent-proxy reads (KUMA_TRANSPARENT_PROXY_*), and the
// resolv.conf its --redirect-dns reads. kumactl loads its config with
// core_config.NewLoader(&cfg).WithEnvVarsLoading("KUMA_TRANSPARENT_PROXY")
// (app/kumactl/cmd/install/install_transparent_proxy.go); the loader applies the
// environment (kelseyhightower/envconfig) after each --config file it loads, and only then
// (pkg/config/loader.go: postProcess runs from LoadBytes). The names are the envconfig names
// of pkg/transparentproxy/config/config.go (its comments list them); a field with an
// `envconfig` tag is also read from the tag's name without the prefix when the prefixed name
// is unset (envconfig's Alt name), so EXCLUDE_PORTS_FOR_IPS sets both directions' field.
import { diag, suggest, type Diagnostic } from '../diagnostics/diagnostic.js';
import { parseCidr } from '../net/ip.js';
import type { SourceFile, Span } from '../source.js';

export const KUMA_ENV_PREFIX = 'KUMA_TRANSPARENT_PROXY_';
const TOOL = 'kumactl install transparent-proxy';

type EnvKind = 'bool' | 'string' | 'port' | 'list' | 'level';
/** [name without the prefix, config path, kind, the envconfig tag's Alt name]. */
const flow = (dir: 'INBOUND' | 'OUTBOUND'): [string, string, EnvKind, string?][] => {
  const p = `redirect.${dir.toLowerCase()}`;
  return [
    [`REDIRECT_${dir}_ENABLED`, `${p}.enabled`, 'bool'],
    [`REDIRECT_${dir}_PORT`, `${p}.port`, 'port'],
    [`REDIRECT_${dir}_INCLUDE_PORTS`, `${p}.includePorts`, 'port'],
    [`REDIRECT_${dir}_EXCLUDE_PORTS`, `${p}.excludePorts`, 'port'],
    [`REDIRECT_${dir}_EXCLUDE_PORTS_FOR_UIDS`, `${p}.excludePortsForUIDs`, 'list', 'EXCLUDE_PORTS_FOR_UIDS'],
    [`REDIRECT_${dir}_EXCLUDE_PORTS_FOR_IPS`, `${p}.excludePortsForIPs`, 'list', 'EXCLUDE_PORTS_FOR_IPS'],
    [`REDIRECT_${dir}_INSERT_REDIRECT_INSTEAD_OF_APPEND`, `${p}.insertRedirectInsteadOfAppend`, 'bool'],
  ];
};
export const KUMA_ENV: readonly [string, string, EnvKind, string?][] = [
  ['KUMA_DP_USER', 'kumaDPUser', 'string', 'KUMA_DP_USER'],
  ...flow('INBOUND'),
  ...flow('OUTBOUND'),
  ['REDIRECT_DNS_ENABLED', 'redirect.dns.enabled', 'bool'],
  ['REDIRECT_DNS_PORT', 'redirect.dns.port', 'port'],
  ['REDIRECT_DNS_CAPTURE_ALL', 'redirect.dns.captureAll', 'bool'],
  ['REDIRECT_DNS_SKIP_CONNTRACK_ZONE_SPLIT', 'redirect.dns.skipConntrackZoneSplit', 'bool'],
  ['REDIRECT_DNS_RESOLV_CONFIG_PATH', 'redirect.dns.resolvConfigPath', 'string'],
  ['REDIRECT_VNET_NETWORKS', 'redirect.vnet.networks', 'list'],
  ['LOG_ENABLED', 'log.enabled', 'bool'],
  ['LOG_LEVEL', 'log.level', 'level'],
  ['DROP_INVALID_PACKETS', 'dropInvalidPackets', 'bool'],
  ['IP_FAMILY_MODE', 'ipFamilyMode', 'string', 'IP_FAMILY_MODE'],
  // No effect on the rules: reported as ignored by the config reader.
  ['VERBOSE', 'verbose', 'string'],
  ['DRY_RUN', 'dryRun', 'string'],
  ['WAIT', 'wait', 'string'],
  ['WAIT_INTERVAL', 'waitInterval', 'string'],
  ['RETRY_MAX_RETRIES', 'retry', 'string'],
  ['RETRY_SLEEP_BETWEEN_RETRIES', 'retry', 'string'],
  ['STORE_FIREWALLD', 'storeFirewalld', 'string'],
  ['COMMENTS_DISABLED', 'comments', 'string'],
  ['IPTABLES_EXECUTABLES', 'iptablesExecutables', 'string', 'IPTABLES_EXECUTABLES'],
  ['CNI_MODE', 'cniMode', 'string', 'CNI_MODE'],
];
/** Read from the environment only (`json:"-"` in config.go): they name Kuma's chains, which meshcap's rules do not use. */
const NAMES_ONLY = ['REDIRECT_INBOUND_CHAIN_NAME', 'REDIRECT_INBOUND_REDIRECT_CHAIN_NAME', 'REDIRECT_OUTBOUND_CHAIN_NAME', 'REDIRECT_OUTBOUND_REDIRECT_CHAIN_NAME'];

/** One environment variable as given to the import: where it came from, for messages. */
export interface EnvEntry {
  name: string;
  value: string;
  /** In an --env-file: the line. */
  span?: Span;
}

/** strconv.ParseBool, which envconfig uses. */
const parseBool = (s: string): boolean | undefined => ({ '1': true, t: true, T: true, TRUE: true, true: true, True: true, '0': false, f: false, F: false, FALSE: false, false: false, False: false })[s];

/** `NAME=VALUE` lines of an --env-file (blank lines and `#` comments skipped; the value taken as written). */
export function parseEnvFile(src: SourceFile): { entries: EnvEntry[]; diagnostics: Diagnostic[] } {
  const entries: EnvEntry[] = [];
  const ds: Diagnostic[] = [];
  let at = 0;
  for (const line of src.text.split('\n')) {
    const t = line.replace(/\r$/, '');
    const lead = t.length - t.trimStart().length;
    const body = t.trim();
    if (body && !body.startsWith('#')) {
      const m = /^(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)=(.*)$/.exec(body);
      const span = src.span(at + lead, at + lead + body.length);
      if (!m) ds.push(diag('import-bad-value', span, { tool: TOOL, flag: 'environment', detail: `'${body}' is not NAME=VALUE` }));
      else entries.push({ name: m[1], value: m[2], span });
    }
    at += line.length + 1;
  }
  return { entries, diagnostics: ds };
}

/**
 * The config fields the environment sets, as an object of Config's JSON names for
 * kumaConfigFromDoc, with each field's variable for messages. A prefixed name wins over an
 * Alt name; unknown KUMA_TRANSPARENT_PROXY_* names are errors (envconfig would skip them,
 * so a misspelt one would be lost); other variables are not kumactl's and are left alone.
 */
export function kumaEnvDoc(entries: EnvEntry[]): { doc: Record<string, unknown>; labels: Map<string, string>; spans: Map<string, Span | undefined>; diagnostics: Diagnostic[] } {
  const ds: Diagnostic[] = [];
  const doc: Record<string, unknown> = {};
  const labels = new Map<string, string>();
  const spans = new Map<string, Span | undefined>();
  const byName = new Map<string, EnvEntry>();
  for (const e of entries) byName.set(e.name, e);
  const known = new Set([...KUMA_ENV.map(([n]) => KUMA_ENV_PREFIX + n), ...NAMES_ONLY.map((n) => KUMA_ENV_PREFIX + n)]);
  for (const e of byName.values()) {
    if (!e.name.startsWith(KUMA_ENV_PREFIX) || known.has(e.name)) continue;
    // suggest() compares lower case; the hint names the variable as written.
    const near = suggest(e.name, [...known].map((k) => k.toLowerCase()));
    const hint = near.startsWith('did you mean') ? near.toUpperCase().replace('DID YOU MEAN', 'did you mean') : `the ${KUMA_ENV_PREFIX}* names are listed in docs/kuma-differences.md`;
    ds.push(diag('import-unknown-flag', e.span, { tool: TOOL, name: `environment variable ${e.name}` }, hint));
  }
  for (const n of NAMES_ONLY) {
    const e = byName.get(KUMA_ENV_PREFIX + n);
    if (e) ds.push(diag('import-ignored', e.span, { tool: TOOL, flag: `environment variable ${e.name}` }));
  }
  for (const [suffix, path, kind, alt] of KUMA_ENV) {
    const e = byName.get(KUMA_ENV_PREFIX + suffix) ?? (alt ? byName.get(alt) : undefined);
    if (!e) continue;
    const label = `environment variable ${e.name}`;
    const bad = (detail: string) => ds.push(diag('import-bad-value', e.span, { tool: TOOL, flag: label, detail }));
    let v: unknown = e.value;
    if (kind === 'bool') {
      v = parseBool(e.value);
      if (v === undefined) {
        bad(`'${e.value}' is not a boolean (strconv.ParseBool)`);
        continue;
      }
    } else if (kind === 'level') {
      if (!/^[0-9]+$/.test(e.value)) {
        bad(`'${e.value}' is not a syslog level 0-7`);
        continue;
      }
      v = Number(e.value);
    } else if (kind === 'list') v = e.value === '' ? [] : e.value.split(','); // envconfig splits a slice at every comma
    const keys = path.split('.');
    let o = doc;
    for (const k of keys.slice(0, -1)) o = (o[k] ??= {}) as Record<string, unknown>;
    o[keys[keys.length - 1]] = v;
    labels.set(path, label);
    spans.set(path, e.span);
  }
  return { doc, labels, spans, diagnostics: ds };
}

/**
 * The nameservers of a resolv.conf as miekg/dns's ClientConfigFromFile lists them (the
 * second word of each `nameserver` line; `#` and `;` start comments), kept per family as
 * DNS.Initialize does (pkg/transparentproxy/config/config.go: net.ParseIP, then To4).
 */
export function resolvConfServers(src: SourceFile): { ipv4: string[]; ipv6: string[]; diagnostics: Diagnostic[] } {
  const out = { ipv4: [] as string[], ipv6: [] as string[], diagnostics: [] as Diagnostic[] };
  let at = 0;
  for (const line of src.text.split('\n')) {
    const words = line.trim().split(/\s+/);
    if (words[0] === 'nameserver' && words[1] !== undefined && !line.trim().startsWith('#') && !line.trim().startsWith(';')) {
      const a = words[1];
      const c = parseCidr(`${a}/${a.includes(':') ? 128 : 32}`);
      const col = line.indexOf(a, line.indexOf('nameserver') + 10);
      if (!c.ok) out.diagnostics.push(diag('import-bad-value', src.span(at + col, at + col + a.length), { tool: TOOL, flag: '--redirect-dns', detail: `nameserver '${a}' is not an IP address (net.ParseIP), so Kuma would write a rule for no address` }));
      else (a.includes(':') ? out.ipv6 : out.ipv4).push(c.cidr.addr);
    }
    at += line.length + 1;
  }
  return out;
}
