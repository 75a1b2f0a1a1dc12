// Kubernetes manifests -> workloads: every document of a multi-document YAML file (and
// the items of a `List`) whose kind carries a pod template, with the annotations, labels
// and container ports of that template and the exact span of each key and value, so that
// a finding can point at the annotation value that causes it.
import { createRequire } from 'node:module';
import type { Document, Node, Scalar, YAMLMap, YAMLSeq } from 'yaml';
import { diag, type Diagnostic } from '../diagnostics/diagnostic.js';
import type { SourceFile, Span } from '../source.js';

type YamlLib = typeof import('yaml');
let yamlLib: YamlLib | undefined;
const Y = (): YamlLib => (yamlLib ??= createRequire(import.meta.url)('yaml') as YamlLib);

/** Where the pod template of each workload kind is (Pod: the object itself). */
export const POD_TEMPLATE_PATH: Record<string, string[]> = {
  Pod: [],
  Deployment: ['spec', 'template'],
  StatefulSet: ['spec', 'template'],
  DaemonSet: ['spec', 'template'],
  ReplicaSet: ['spec', 'template'],
  ReplicationController: ['spec', 'template'],
  Job: ['spec', 'template'],
  CronJob: ['spec', 'jobTemplate', 'spec', 'template'],
};

export interface Entry {
  key: string;
  keySpan: Span;
  /** The value as Kubernetes would read it (a string), or its YAML text when it is not a string. */
  value: string;
  valueSpan: Span;
  /** False when the YAML value is a number, boolean, null or a collection. */
  isString: boolean;
  /** Offset of the value's first character inside the file, and whether it is written on one line as-is (plain or quoted). */
  valueStart: number;
  literal: boolean;
  quoted: boolean;
}

export interface ContainerPort {
  port: number;
  protocol: string;
  container: string;
  span: Span;
}

export interface Workload {
  kind: string;
  name: string;
  namespace?: string;
  /** The span of the object's `kind` value: where findings about the workload as a whole point. */
  span: Span;
  /** Annotations of the pod template (for a Pod, of the Pod). */
  annotations: Entry[];
  labels: Entry[];
  /** Annotations of the owning object's own metadata (not the template): empty for a Pod. */
  objectAnnotations: Entry[];
  objectLabels: Entry[];
  ports: ContainerPort[];
  hostNetwork: boolean;
  /**
   * The owner the `istio-proxy` container runs as, when the pod spec has one (a pod
   * injected before it was written out, `istioctl kube-inject`): its securityContext's
   * runAsUser/runAsGroup, else the pod's.
   */
  proxy?: { uid?: number; gid?: number; span: Span };
  /**
   * The `istio-init` container of a pod that was injected before it was written out
   * (`istioctl kube-inject`, `kubectl get pod -o yaml`): its arguments and environment,
   * which are what istio-iptables runs with (the annotations were already applied).
   */
  init?: { args: Entry[]; env: Entry[]; span: Span };
}

/** A Namespace object of the file set: its labels decide injection for Istio, Linkerd and Kuma. */
export interface NamespaceObject {
  name: string;
  labels: Entry[];
  annotations: Entry[];
  /** The span of its metadata.name value. */
  span: Span;
}

export interface ManifestFile {
  workloads: Workload[];
  namespaces: NamespaceObject[];
  /** Documents that are not workloads (Services, ConfigMaps, ...): counted, not linted. */
  others: number;
  diagnostics: Diagnostic[];
}

const isMap = (n: unknown): n is YAMLMap => Y().isMap(n);
const isSeq = (n: unknown): n is YAMLSeq => Y().isSeq(n);
const isScalar = (n: unknown): n is Scalar => Y().isScalar(n);

/** A scalar's value as text (YAML scalars are strings, numbers, booleans or null). */
export function scalarText(v: unknown): string {
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean' || typeof v === 'bigint') return String(v);
  return v === null || v === undefined ? '' : JSON.stringify(v);
}

function get(m: unknown, key: string): Node | undefined {
  if (!isMap(m)) return undefined;
  for (const p of m.items) if (isScalar(p.key) && p.key.value === key) return (p.value ?? undefined) as Node | undefined;
  return undefined;
}

function path(m: unknown, keys: string[]): Node | undefined {
  let cur: unknown = m;
  for (const k of keys) cur = get(cur, k);
  return cur as Node | undefined;
}

function str(n: unknown): string | undefined {
  return isScalar(n) && n.value !== null && n.value !== undefined ? scalarText(n.value) : undefined;
}

/** True when the text parses as YAML documents that look like Kubernetes objects (apiVersion/kind). */
export function looksLikeManifest(text: string): boolean {
  return /^(apiVersion|kind):/m.test(text);
}

export function readManifest(src: SourceFile): ManifestFile {
  const out: ManifestFile = { workloads: [], namespaces: [], others: 0, diagnostics: [] };
  const docs = Y().parseAllDocuments(src.text, { uniqueKeys: false }) as Document[] | Document;
  for (const doc of Array.isArray(docs) ? docs : [docs]) {
    if (doc.errors.length) {
      const e = doc.errors[0];
      out.diagnostics.push(diag('yaml-syntax', src.span(e.pos[0], Math.max(e.pos[0] + 1, e.pos[1])), { detail: e.message.split('\n')[0] }, ''));
      continue;
    }
    visit(src, doc.contents, out);
  }
  return out;
}

function visit(src: SourceFile, obj: unknown, out: ManifestFile): void {
  if (!isMap(obj)) return;
  const kind = str(get(obj, 'kind'));
  if (kind === undefined) return;
  if (kind === 'List' || kind.endsWith('List')) {
    const items = get(obj, 'items');
    if (isSeq(items)) for (const it of items.items) visit(src, it, out);
    return;
  }
  const tplPath = POD_TEMPLATE_PATH[kind];
  if (kind === 'Namespace') {
    const n = path(obj, ['metadata', 'name']);
    const name = str(n);
    if (name !== undefined) out.namespaces.push({ name, labels: entries(src, path(obj, ['metadata', 'labels'])), annotations: entries(src, path(obj, ['metadata', 'annotations'])), span: spanOf(src, n!) });
  }
  if (!tplPath) {
    out.others++;
    return;
  }
  const tpl = tplPath.length ? path(obj, tplPath) : obj;
  const kindNode = get(obj, 'kind')!;
  const spec = get(tpl, 'spec');
  const ports: ContainerPort[] = [];
  for (const list of ['containers']) {
    const cs = get(spec, list);
    if (!isSeq(cs)) continue;
    for (const c of cs.items) {
      const cname = str(get(c, 'name')) ?? '';
      const ps = get(c, 'ports');
      if (!isSeq(ps)) continue;
      for (const p of ps.items) {
        const n = get(p, 'containerPort');
        const v = Number(str(n));
        if (n && Number.isInteger(v) && cname !== 'istio-proxy') ports.push({ port: v, protocol: (str(get(p, 'protocol')) ?? 'TCP').toUpperCase(), container: cname, span: spanOf(src, n) });
      }
    }
  }
  const own = tplPath.length > 0;
  let proxy: Workload['proxy'];
  const cs = get(spec, 'containers');
  const sidecar = isSeq(cs) ? cs.items.find((c) => str(get(c, 'name')) === 'istio-proxy') : undefined;
  if (sidecar) {
    const owner = (k: string) => get(get(sidecar, 'securityContext'), k) ?? get(get(spec, 'securityContext'), k);
    const u = owner('runAsUser');
    const g = owner('runAsGroup');
    const num = (n: Node | undefined) => (n && /^\d+$/.test(str(n) ?? '') ? Number(str(n)) : undefined);
    if (u || g) proxy = { uid: num(u), gid: num(g), span: spanOf(src, (u ?? g)!) };
  }
  let init: Workload['init'];
  for (const list of ['initContainers', 'containers']) {
    const xs = get(spec, list);
    const c = isSeq(xs) ? xs.items.find((x) => str(get(x, 'name')) === 'istio-init') : undefined;
    const args = get(c, 'args');
    if (!c || !isSeq(args)) continue;
    const argEntries = args.items.filter(isScalar).map((n) => scalarEntry(src, n, ''));
    const env: Entry[] = [];
    const envs = get(c, 'env');
    if (isSeq(envs)) {
      for (const e of envs.items) {
        const v = get(e, 'value');
        const name = str(get(e, 'name'));
        if (name && isScalar(v)) env.push(scalarEntry(src, v, name));
      }
    }
    init = { args: argEntries, env, span: spanOf(src, get(c, 'name')!) };
    break;
  }
  out.workloads.push({
    kind,
    name: str(path(obj, ['metadata', 'name'])) ?? '',
    namespace: str(path(obj, ['metadata', 'namespace'])),
    span: spanOf(src, kindNode),
    annotations: entries(src, path(tpl, ['metadata', 'annotations'])),
    labels: entries(src, path(tpl, ['metadata', 'labels'])),
    objectAnnotations: own ? entries(src, path(obj, ['metadata', 'annotations'])) : [],
    objectLabels: own ? entries(src, path(obj, ['metadata', 'labels'])) : [],
    ports,
    hostNetwork: str(get(spec, 'hostNetwork')) === 'true',
    ...(proxy ? { proxy } : {}),
    ...(init ? { init } : {}),
  });
}

function spanOf(src: SourceFile, n: Node): Span {
  const r = n.range ?? [0, 0, 0];
  return src.span(r[0], Math.max(r[0] + 1, r[1]));
}

function entries(src: SourceFile, m: unknown): Entry[] {
  if (!isMap(m)) return [];
  const out: Entry[] = [];
  for (const p of m.items) {
    if (!isScalar(p.key)) continue;
    const v = p.value as Node | null;
    const e = scalarEntry(src, v, scalarText(p.key.value), spanOf(src, p.key));
    out.push(e);
  }
  return out;
}

/** A value (of a map entry, or a list item: key ''), with where it is and how it is written. */
function scalarEntry(src: SourceFile, v: Node | null, key: string, keySpan?: Span): Entry {
  const valueSpan = v ? spanOf(src, v) : keySpan!;
  const sv = isScalar(v) ? v : undefined;
  const isString = !!sv && typeof sv.value === 'string';
  const type = sv?.type;
  const value = sv ? scalarText(sv.value) : v ? src.text.slice(v.range![0], v.range![1]) : '';
  const start = v?.range?.[0] ?? valueSpan.start.offset;
  const quoted = type === 'QUOTE_DOUBLE' || type === 'QUOTE_SINGLE';
  return {
    key,
    keySpan: keySpan ?? valueSpan,
    value,
    valueSpan,
    isString,
    valueStart: quoted ? start + 1 : start,
    // Only a value written on one line, without escapes, maps character for character.
    literal: (type === 'PLAIN' || (quoted && !value.includes('\\') && !value.includes("'"))) && !!v?.range && !src.text.slice(v.range[0], v.range[1]).includes('\n'),
    quoted,
  };
}

/** The span of `part` inside an entry's value when it can be found there, else the whole value. */
export function partSpan(src: SourceFile, e: Entry, part: string): Span {
  if (!e.literal) return e.valueSpan;
  const i = e.value.indexOf(part);
  if (i < 0) return e.valueSpan;
  return src.span(e.valueStart + i, e.valueStart + i + part.length);
}
