// The manifest reader's entry: read a manifest file, find each workload's mesh, build its
// policy; and read mesh-wide defaults (`--mesh-values`).
import { createRequire } from 'node:module';
import type { Document, Node, Pair, Scalar } from 'yaml';
import { diag, type Diagnostic } from '../diagnostics/diagnostic.js';
import type { SourceFile, Span } from '../source.js';
import { istioMesh } from './istio.js';
import { KUMA_VALUES, kumaMesh } from './kuma.js';
import { LINKERD_MODE_VALUE, LINKERD_VALUES, linkerdMesh } from './linkerd.js';
import { ISTIO_VALUE_DEFAULTS } from './istio-table.js';
import { noDefaults, type BuiltWorkload, type Mesh, type MeshDefaults } from './mesh.js';
import { readManifest, scalarText, type NamespaceObject } from './read.js';

export type { BuiltWorkload, ManifestIssue, ManifestRule, Mesh, MeshDefaults, MeshTable } from './mesh.js';
export { noDefaults } from './mesh.js';
export { looksLikeManifest, type NamespaceObject, type Workload } from './read.js';

type YamlLib = typeof import('yaml');
let yamlLib: YamlLib | undefined;
const Y = (): YamlLib => (yamlLib ??= createRequire(import.meta.url)('yaml') as YamlLib);

const ISTIO = istioMesh((t) => Y().parse(t) as unknown);
/** The meshes meshcap reads, first match wins; a workload no mesh claims is Istio's (injection by namespace). */
export const MESHES: Mesh[] = [linkerdMesh(), kumaMesh(), ISTIO];

export interface ReadManifest {
  workloads: BuiltWorkload[];
  others: number;
  diagnostics: Diagnostic[];
}

export function workloadsOf(src: SourceFile, defaults: MeshDefaults = noDefaults()): ReadManifest {
  const m = readManifest(src);
  // The file's own Namespaces join those of the rest of the file set.
  const withNs = m.namespaces.length ? { ...defaults, namespaces: new Map([...defaults.namespaces, ...m.namespaces.map((n) => [n.name, n] as const)]) } : defaults;
  const workloads = m.workloads.map((w) => (MESHES.find((mesh) => mesh.claims(w)) ?? ISTIO).build(w, src, withNs));
  return { workloads, others: m.others, diagnostics: m.diagnostics };
}

/** The Namespace objects of a manifest text (for a file set whose namespaces and workloads are in different files). */
export function namespacesOf(src: SourceFile): NamespaceObject[] {
  if (!/\bkind:\s*['"]?Namespace['"]?\s*$/m.test(src.text)) return [];
  return readManifest(src).namespaces;
}

/**
 * Istio's Helm values or an IstioOperator (its spec.values and spec.meshConfig), or the
 * linkerd-control-plane chart's values (src/manifest/linkerd.ts), or a kuma-cp config
 * (runtime.kubernetes.injector, src/manifest/kuma.ts): the values the injection
 * templates read for the capture rules, with where each is set.
 */
export function readMeshValues(src: SourceFile): { defaults: MeshDefaults; diagnostics: Diagnostic[] } {
  const defaults = noDefaults();
  const doc = Y().parseDocument(src.text) as Document;
  if (doc.errors.length) {
    const e = doc.errors[0];
    return { defaults, diagnostics: [diag('yaml-syntax', src.span(e.pos[0], Math.max(e.pos[0] + 1, e.pos[1])), { detail: e.message.split('\n')[0] }, '')] };
  }
  const get = (m: unknown, k: string): Node | undefined => {
    if (!Y().isMap(m)) return undefined;
    for (const p of (m).items) if (Y().isScalar(p.key) && (p.key).value === k) return p.value as Node;
    return undefined;
  };
  const at = (root: unknown, path: string) => path.split('.').reduce<unknown>((m, k) => get(m, k), root) as Node | undefined;
  const spanOf = (n: Node): Span => src.span(n.range![0], Math.max(n.range![0] + 1, n.range![1]));
  let root: unknown = doc.contents;
  let mesh: unknown = get(root, 'meshConfig');
  if (get(root, 'kind') && Y().isScalar(get(root, 'kind'))) {
    // IstioOperator: spec.values holds the Helm values, spec.meshConfig the mesh config.
    mesh = at(root, 'spec.meshConfig');
    root = at(root, 'spec.values');
  }
  for (const key of [...Object.keys(ISTIO_VALUE_DEFAULTS), ...Object.keys(LINKERD_VALUES), LINKERD_MODE_VALUE, ...Object.keys(KUMA_VALUES)]) {
    const n = key.startsWith('meshConfig.') ? at(mesh, key.slice('meshConfig.'.length)) : at(root, key);
    if (n && Y().isScalar(n) && (n).value !== null) {
      defaults.values[key] = scalarText((n).value);
      defaults.spans[key] = spanOf(n);
    } else if (n && Y().isSeq(n) && n.items.every((x) => Y().isScalar(x))) {
      // A list of the kuma-cp config (sidecarTraffic.exclude*), as the comma list an annotation holds.
      defaults.values[key] = n.items.map((x) => scalarText((x).value)).join(',');
      defaults.spans[key] = spanOf(n);
    }
  }
  const md = at(mesh, 'defaultConfig.proxyMetadata');
  if (md && Y().isMap(md)) {
    for (const p of (md).items as Pair<Scalar, Node>[]) {
      if (!Y().isScalar(p.key) || !p.value || !Y().isScalar(p.value)) continue;
      const k = String(p.key.value);
      defaults.env[k] = String((p.value).value);
      defaults.envSpans[k] = spanOf(p.value);
    }
  }
  return { defaults, diagnostics: [] };
}
