// A workload's Istio annotations (and the mesh's defaults) -> the istio-iptables command
// line Istio's sidecar injector would give istio-init -> a policy, through the same
// importer as `meshcap import istio-iptables`. Every config field remembers the annotation
// value (or mesh value) it came from, so that a finding on the policy points there.
import { didYouMean } from '../diagnostics/diagnostic.js';
import { configFromFlags, fieldLabel, ISTIO_FLAGS, policyFromConfig, type IstioConfig } from '../import/istio.js';
import { parseCidr } from '../net/ip.js';
import type { SourceFile, Span } from '../source.js';
import { istioCni, istioInjection } from './injection.js';
import { ISTIO_TABLE, ISTIO_VALUE_DEFAULTS } from './istio-table.js';
import type { AnnotationSpec, BuiltWorkload, ManifestIssue, MeshDefaults, Mesh } from './mesh.js';
import { partSpan, scalarText, type Entry, type Workload } from './read.js';

const byKey = new Map(ISTIO_TABLE.annotations.map((a) => [a.key, a]));
const byLowerKey = new Map(ISTIO_TABLE.annotations.map((a) => [a.key.toLowerCase(), a]));
const isIstioKey = (k: string) => ISTIO_TABLE.prefixes.some((p) => k.startsWith(p)) || byKey.has(k);

/** istio-iptables' environment variables that change the rules (others of proxyMetadata are the agent's). */
const INIT_ENV = new Set(['ISTIO_META_DNS_CAPTURE', 'ISTIO_DUAL_STACK', 'ISTIO_AGENT_DUAL_STACK', 'INVALID_DROP', 'ISTIO_OUTBOUND_OWNER_GROUPS', 'ISTIO_OUTBOUND_OWNER_GROUPS_EXCLUDE', 'ISTIO_META_ENABLE_HBONE']);

/** Why a value is not of its kind, or undefined when it is. */
export function malformed(spec: AnnotationSpec, value: string): string | undefined {
  const v = value.trim();
  const items = v.split(',').map((s) => s.trim()).filter(Boolean);
  switch (spec.kind) {
    case 'cidrs':
      if (spec.allowStar && v === '*') return undefined;
      for (const c of items) {
        if (c === '*') return "'*' stands alone and only in includeOutboundIPRanges";
        const p = parseCidr(c.includes('/') ? c : c.includes(':') ? `${c}/128` : `${c}/32`);
        if (!p.ok && p.kind !== 'host-bits') return `'${c}' is not a CIDR`;
      }
      return undefined;
    case 'ports':
      if (spec.allowStar && v === '*') return undefined;
      for (const p of items) if (!/^\d+$/.test(p) || Number(p) < 1 || Number(p) > 65535) return p === '*' ? "'*' stands alone" : `'${p}' is not a port (1-65535)`;
      return undefined;
    case 'port-ranges':
      for (const p of items) if (!/^\d+(-\d+)?$/.test(p) || p.split('-').some((x) => Number(x) < 1 || Number(x) > 65535)) return `'${p}' is not a port or port range (1-65535)`;
      return undefined;
    case 'number':
      return /^\d+$/.test(v) ? undefined : `'${v}' is not a number`;
    case 'port':
      return /^\d+$/.test(v) && Number(v) <= 65535 ? undefined : `'${v}' is not a port (0-65535; 0 turns it off)`;
    case 'bool':
      return /^(true|false)$/.test(v) ? undefined : `'${v}' is not "true" or "false"`;
    case 'enum':
      return spec.values!.includes(v) ? undefined : `'${v}' is not one of ${spec.values!.join(', ')}`;
    case 'interfaces':
      for (const i of items) if (!/^[A-Za-z0-9_.:+-]{1,15}$/.test(i)) return `'${i}' is not an interface name`;
      return undefined;
    default:
      return undefined;
  }
}

/** Read `proxy.istio.io/config` (YAML or JSON ProxyConfig): interception mode and proxyMetadata. */
function proxyConfig(text: string, parse: (t: string) => unknown): { mode?: string; env: Record<string, string>; problem?: string } {
  let obj: unknown;
  try {
    obj = parse(text);
  } catch (e) {
    return { env: {}, problem: `not YAML or JSON: ${(e as Error).message.split('\n')[0]}` };
  }
  if (obj === null || obj === undefined) return { env: {} };
  if (typeof obj !== 'object' || Array.isArray(obj)) return { env: {}, problem: 'ProxyConfig is an object (e.g. "interceptionMode: TPROXY")' };
  const o = obj as Record<string, unknown>;
  const env: Record<string, string> = {};
  if (o.proxyMetadata !== undefined) {
    if (typeof o.proxyMetadata !== 'object' || o.proxyMetadata === null || Array.isArray(o.proxyMetadata)) return { env, problem: 'proxyMetadata is a map of strings' };
    for (const [k, v] of Object.entries(o.proxyMetadata as Record<string, unknown>)) env[k] = String(v);
  }
  const mode = o.interceptionMode === undefined ? undefined : scalarText(o.interceptionMode);
  if (mode !== undefined && !['REDIRECT', 'TPROXY', 'NONE'].includes(mode)) return { env, problem: `interceptionMode '${mode}' is not REDIRECT, TPROXY or NONE` };
  return { mode, env };
}

/** Istio's excludeInboundPort (pkg/kube/inject/template.go): the status port joins the excluded list unless 0 or there. */
function excludeInboundPort(port: string, excluded: string): string {
  const p = port.trim();
  if (p === '' || p === '0') return excluded;
  const ports = excluded.split(',').map((s) => s.trim()).filter(Boolean);
  if (ports.includes(p)) return excluded;
  return [...ports, p].join(',');
}

type Field = keyof IstioConfig;

export function istioMesh(parseYaml: (t: string) => unknown): Mesh {
  return {
    table: ISTIO_TABLE,
    claims: (w) => [...w.annotations, ...w.labels, ...w.objectAnnotations, ...w.objectLabels].some((e) => isIstioKey(e.key)),
    build: (w, src, defaults) => buildIstio(w, src, defaults, parseYaml),
  };
}

function buildIstio(w: Workload, src: SourceFile, defaults: MeshDefaults, parseYaml: (t: string) => unknown): BuiltWorkload {
  const issues: ManifestIssue[] = [];
  const issue = (rule: ManifestIssue['rule'], span: Span, message: string, hint?: string) => issues.push({ rule, span, message, ...(hint ? { hint } : {}) });
  const valid = new Map<string, Entry>();
  for (const e of w.annotations) {
    if (!isIstioKey(e.key)) continue;
    const spec = byKey.get(e.key);
    if (!spec) {
      const near = byLowerKey.get(e.key.toLowerCase())?.key ?? didYouMean(e.key, ISTIO_TABLE.annotations.map((a) => a.key))?.replace(/^did you mean '(.*)'\?$/, '$1');
      issue('unknown-annotation', e.keySpan, `'${e.key}' is not an Istio annotation: Istio ignores it`, near ? `did you mean '${near}'?` : 'see github:istio/api annotation/annotations.yaml for the annotations Istio reads');
      continue;
    }
    if (!e.isString) issue('annotation-not-string', e.valueSpan, `the value of '${e.key}' is not a string: Kubernetes rejects the object (annotation values are strings)`, `quote it: "${e.value}"`);
    if (spec.deprecated) issue('deprecated-annotation', e.keySpan, `'${e.key}' is deprecated`, `use '${spec.deprecated}'`);
    if (e.key === 'sidecar.istio.io/inject') issue('inject-annotation-deprecated', e.keySpan, "'sidecar.istio.io/inject' as an annotation is deprecated: Istio reads the label first", 'set it under spec.template.metadata.labels');
    const why = malformed(spec, e.value);
    if (why) {
      const near = spec.kind === 'enum' ? didYouMean(e.value.trim().toLowerCase(), spec.values!.map((x) => x.toLowerCase()))?.toUpperCase().replace('DID YOU MEAN', 'did you mean') : undefined;
      issue('malformed-annotation', e.valueSpan, `'${e.key}': ${why}`, near ?? 'Istio passes it to istio-init, which fails or skips it; meshcap leaves it out');
      continue;
    }
    valid.set(e.key, e);
  }
  for (const e of [...w.objectAnnotations, ...w.objectLabels]) {
    if (!isIstioKey(e.key) || !byKey.has(e.key)) continue;
    const where = byKey.get(e.key)!.label ? 'spec.template.metadata.labels' : 'spec.template.metadata.annotations';
    issue('annotation-on-wrong-object', e.keySpan, `'${e.key}' is on the ${w.kind}'s own metadata, which the sidecar injector never reads`, `move it to ${where}`);
  }
  const ignore = w.annotations.find((e) => e.key === 'meshcap.io/ignore');

  // Injection as the webhook's selectors and the injector decide it (src/manifest/injection.ts).
  const inj = istioInjection(w, defaults, w.annotations.find((e) => e.key === 'sidecar.istio.io/inject'));
  const pc = valid.get('proxy.istio.io/config');
  const pcv = pc ? proxyConfig(pc.value, parseYaml) : { env: {} as Record<string, string> };
  if (pc && 'problem' in pcv && pcv.problem) issue('malformed-annotation', pc.valueSpan, `'proxy.istio.io/config': ${pcv.problem}`, 'Istio rejects the pod at injection');
  const modeEntry = valid.get('sidecar.istio.io/interceptionMode');
  const mode = modeEntry?.value.trim() ?? pcv.mode ?? defaults.values['meshConfig.defaultConfig.interceptionMode'] ?? ISTIO_VALUE_DEFAULTS['meshConfig.defaultConfig.interceptionMode'];
  const notInjected = !inj.injected ? inj.why : mode === 'NONE' ? 'interceptionMode NONE installs no capture rules' : undefined;
  if (notInjected) {
    const at = inj.injected ? (modeEntry?.valueSpan ?? (pc && pcv.mode ? pc.valueSpan : undefined) ?? defaults.spans['meshConfig.defaultConfig.interceptionMode'] ?? w.span) : inj.span;
    issue('workload-not-injected', at, `${w.kind} '${w.name}' gets no capture rules, so it is not linted as captured: ${notInjected}`, inj.injected ? 'set interceptionMode REDIRECT or TPROXY for capture' : "label the namespace istio-injection=enabled (or istio.io/rev), or the pod sidecar.istio.io/inject=\"true\", if it should be in the mesh");
  }
  const locateNone = () => undefined;
  if (notInjected) {
    for (const e of valid.values()) {
      const spec = byKey.get(e.key)!;
      if (spec.capture && e !== modeEntry) issue('annotations-without-injection', e.keySpan, `'${e.key}' has no effect: ${notInjected}`, 'remove it, or let the sidecar be injected');
    }
    return { workload: w, locate: locateNone, issues, ignore, skipped: notInjected };
  }

  // The template's arguments (injection-template.yaml), each field with its origin.
  const origin = new Map<Field, Entry | Span>();
  const value = (ann: string, helm: string, field: Field): string => {
    const e = valid.get(ann);
    if (e) {
      origin.set(field, e);
      return e.value;
    }
    if (defaults.spans[helm]) origin.set(field, defaults.spans[helm]);
    return defaults.values[helm] ?? ISTIO_VALUE_DEFAULTS[helm] ?? '';
  };
  const cni = istioCni(defaults);
  const argv = ['-p', '15001', '-z', '15006', '-u', '1337', '-m', mode];
  if (modeEntry) origin.set('InboundInterceptionMode', modeEntry);
  else if (pc && pcv.mode) origin.set('InboundInterceptionMode', pc);
  argv.push('-i', value('traffic.sidecar.istio.io/includeOutboundIPRanges', 'global.proxy.includeIPRanges', 'OutboundIPRangesInclude'));
  argv.push('-x', value('traffic.sidecar.istio.io/excludeOutboundIPRanges', 'global.proxy.excludeIPRanges', 'OutboundIPRangesExclude'));
  argv.push('-b', value('traffic.sidecar.istio.io/includeInboundPorts', 'global.proxy.includeInboundPorts', 'InboundPortsInclude'));
  const status = value('status.sidecar.istio.io/port', 'global.proxy.statusPort', 'InboundPortsExclude');
  const statusOrigin = origin.get('InboundPortsExclude');
  const exIn = value('traffic.sidecar.istio.io/excludeInboundPorts', 'global.proxy.excludeInboundPorts', 'InboundPortsExclude');
  if (!valid.has('traffic.sidecar.istio.io/excludeInboundPorts') && statusOrigin) origin.set('InboundPortsExclude', statusOrigin);
  argv.push('-d', `15090,15021,${excludeInboundPort(status, exIn)}`);
  for (const [flag, ann, helm, field] of [
    ['-q', 'traffic.sidecar.istio.io/includeOutboundPorts', 'global.proxy.includeOutboundPorts', 'OutboundPortsInclude'],
    ['-o', 'traffic.sidecar.istio.io/excludeOutboundPorts', 'global.proxy.excludeOutboundPorts', 'OutboundPortsExclude'],
  ] as const) {
    if (valid.has(ann) || (defaults.values[helm] ?? '') !== '') argv.push(flag, value(ann, helm, field));
  }
  // The istio-cni plugin also excludes the status port outbound (cni/pkg/plugin/sidecar_redirect.go); istio-init does not.
  if (cni && status.trim() !== '' && status.trim() !== '0') {
    const i = argv.indexOf('-o');
    if (i < 0) argv.push('-o', status.trim());
    else if (!argv[i + 1].split(',').map((x) => x.trim()).includes(status.trim())) argv[i + 1] = `${status.trim()},${argv[i + 1]}`;
  }
  for (const [flag, ann, field] of [
    ['-k', 'traffic.sidecar.istio.io/kubevirtInterfaces', 'RerouteVirtualInterfaces'],
    ['-k', 'istio.io/reroute-virtual-interfaces', 'RerouteVirtualInterfaces'],
    ['-c', 'traffic.sidecar.istio.io/excludeInterfaces', 'ExcludeInterfaces'],
  ] as const) {
    const e = valid.get(ann);
    if (e) {
      argv.push(flag, e.value);
      origin.set(field, e);
    }
  }
  // istio-init's environment: ProxyConfig.proxyMetadata (mesh default, then the annotation).
  const env: Record<string, string> = {};
  const envOrigin: Record<string, Entry | Span> = {};
  for (const [k, v] of Object.entries(defaults.env)) {
    if (!INIT_ENV.has(k)) continue;
    env[k] = v;
    if (defaults.envSpans[k]) envOrigin[k] = defaults.envSpans[k];
  }
  for (const [k, v] of Object.entries(pcv.env)) {
    if (!INIT_ENV.has(k)) continue;
    env[k] = v;
    envOrigin[k] = pc!;
  }
  if (env.ISTIO_DUAL_STACK !== undefined) env.ISTIO_AGENT_DUAL_STACK ??= env.ISTIO_DUAL_STACK;
  delete env.ISTIO_DUAL_STACK;
  delete env.ISTIO_META_ENABLE_HBONE;
  const envField: Record<string, Field> = { ISTIO_META_DNS_CAPTURE: 'RedirectDNS', ISTIO_AGENT_DUAL_STACK: 'EnableIPv6', INVALID_DROP: 'DropInvalid', ISTIO_OUTBOUND_OWNER_GROUPS: 'OwnerGroupsInclude', ISTIO_OUTBOUND_OWNER_GROUPS_EXCLUDE: 'OwnerGroupsExclude' };
  for (const [k, o] of Object.entries(envOrigin)) if (envField[k]) origin.set(envField[k], o);
  if (envOrigin.ISTIO_DUAL_STACK) origin.set('EnableIPv6', envOrigin.ISTIO_DUAL_STACK);
  if (origin.has('RedirectDNS')) origin.set('DNSServersV4', origin.get('RedirectDNS')!);

  // A pod injected before it was written out says what istio-init runs with: that wins.
  if (w.init) {
    const args = w.init.args.filter((a, i) => !(i === 0 && a.value === 'istio-iptables'));
    argv.length = 0;
    argv.push(...args.map((a) => a.value));
    origin.clear();
    for (const k of Object.keys(env)) delete env[k];
    for (let i = 0; i < args.length; i++) {
      const a = args[i].value;
      const m = /^(--?)([^=]+)(=.*)?$/.exec(a);
      const spec = m ? ISTIO_FLAGS.find((f) => (m[1] === '--' ? f.long === m[2] : f.short === m[2][0])) : undefined;
      if (!spec?.field) continue;
      const inline = m![3] !== undefined || (m![1] === '-' && m![2].length > 1);
      if (inline) origin.set(spec.field, args[i]);
      else if (!spec.bool && args[i + 1]) origin.set(spec.field, args[++i]);
      else origin.set(spec.field, args[i]);
    }
    for (const e of w.init.env) {
      env[e.key] = e.value;
      const f = ISTIO_FLAGS.find((x) => x.env === e.key)?.field ?? envField[e.key];
      if (f) origin.set(f, e);
    }
    if (origin.has('RedirectDNS')) origin.set('DNSServersV4', origin.get('RedirectDNS')!);
  }
  const { config, diagnostics } = configFromFlags({ flags: argv, env, dnsServers: defaults.dnsServers });
  // Flags with no effect on the rules (logging, probes) are istio-init's business, not a finding.
  for (const d of diagnostics) if (d.severity === 'error') issue('malformed-annotation', w.span, d.message);
  const name = policyName(w);
  const p = policyFromConfig(config, name);
  const labelField = new Map<string, Field>();
  for (const f of Object.keys(config) as Field[]) labelField.set(fieldLabel(f), f);
  const fieldOfFlag = (flag: string): Field | undefined => labelField.get(flag) ?? [...labelField].find(([l]) => flag.startsWith(l))?.[1];
  for (const d of p.diagnostics) {
    const m = /^(.*?) is ignored by istio-iptables here: (.*)$/.exec(d.message);
    const field = m ? fieldOfFlag(m[1]) ?? (m[1] as Field) : undefined;
    const o = field ? origin.get(field) : undefined;
    const span = o ? ('key' in o ? o.valueSpan : o) : w.span;
    // What the template itself sets (-d 15090,15021,15020 beside an include list) is Istio's doing, not the user's.
    if (d.code === 'istio-dropped' && !o) continue;
    if (d.code === 'istio-dropped') issue('istio-dropped', span, d.message.replace(/ \(-\w\)/, ''), d.hint);
    else issue('malformed-annotation', span, d.message);
  }
  const locate = (s: Span | null | undefined, item?: string): Span | undefined => {
    if (!s) return undefined;
    const label = p.lineFields.get(s.start.line);
    const f = label ? labelField.get(label) : undefined;
    const o = f ? origin.get(f) : undefined;
    if (!o) return undefined;
    if (!('key' in o)) return o;
    if (item === undefined) return o.valueSpan;
    // An item the annotation does not name came from the template (-d 15090,15021,...).
    const host = item.replace(/\/(32|128)$/, '');
    const named = o.value.split(',').map((x) => x.trim());
    if (o.key !== 'proxy.istio.io/config' && !named.includes(item) && !named.includes(host)) return undefined;
    return partSpan(src, o, named.includes(item) ? item : host);
  };
  return { workload: w, policyText: p.text, argv, env, locate, issues, ignore };
}

/** A policy name for a workload: its kind and name, cut to the 32 characters a name may have (tables and chains carry it). */
export function policyName(w: Workload): string {
  const full = `${w.kind}-${w.name || 'unnamed'}`.toLowerCase().replace(/[^a-z0-9_-]+/g, '-');
  if (full.length <= 32) return full;
  let h = 0;
  for (const c of full) h = (h * 31 + c.charCodeAt(0)) >>> 0;
  return `${full.slice(0, 25).replace(/-+$/, '')}-${h.toString(36).slice(0, 6)}`;
}
