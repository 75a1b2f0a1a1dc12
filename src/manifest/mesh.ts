// What a mesh is to the manifest reader: a table of its annotations (data) and a builder
// that turns one workload's annotations and the mesh's defaults into a policy. Adding a
// mesh (Linkerd, Kuma) is a table and a builder, registered in MESHES (src/manifest/index.ts).
import type { Span, SourceFile } from '../source.js';
import type { Entry, NamespaceObject, Workload } from './read.js';

/** How an annotation's value is read. */
export type ValueKind =
  /** Comma-separated CIDRs (a bare address is a /32 or /128); `*` where allowStar. */
  | 'cidrs'
  /** Comma-separated ports 1-65535; `*` where allowStar. */
  | 'ports'
  /** Comma-separated ports or ranges (4567-4570). */
  | 'port-ranges'
  /** A non-negative integer (a uid, a gid). */
  | 'number'
  | 'port'
  | 'bool'
  | 'enum'
  | 'interfaces'
  /** A YAML or JSON object (Istio's ProxyConfig). */
  | 'object'
  /** Not read by meshcap: no bearing on the capture rules. */
  | 'any';

export interface AnnotationSpec {
  key: string;
  kind: ValueKind;
  values?: string[];
  allowStar?: boolean;
  /** True when it changes which traffic is captured (and so is dropped without injection). */
  capture?: boolean;
  /** Where it should stand: the pod template's annotations (default) or its labels. */
  label?: boolean;
  /** The key that replaces it, or why it is deprecated. */
  deprecated?: string;
}

export interface MeshTable {
  mesh: string;
  /** Annotation keys under these prefixes are the mesh's: unknown ones are reported. */
  prefixes: string[];
  annotations: AnnotationSpec[];
  /** Where the table was read from, for docs/lint.md. */
  sources: string[];
}

/** Mesh-wide defaults (Helm values / MeshConfig), each with where it was set. */
export interface MeshDefaults {
  values: Record<string, string>;
  spans: Record<string, Span>;
  /** Environment of the init container (Istio: ProxyConfig.proxyMetadata). */
  env: Record<string, string>;
  envSpans: Record<string, Span>;
  /** DNS servers of the pods (resolv.conf), which the captured DNS rules name. */
  dnsServers: string[];
  /** The Namespace objects of the file set, by name (their labels decide injection). */
  namespaces: Map<string, NamespaceObject>;
}

export function noDefaults(): MeshDefaults {
  return { values: {}, spans: {}, env: {}, envSpans: {}, dnsServers: [], namespaces: new Map() };
}

/** A finding of the manifest reader, by lint rule id (src/lint/rules.ts describes each). */
export interface ManifestIssue {
  rule: ManifestRule;
  message: string;
  hint?: string;
  span: Span;
}

export type ManifestRule =
  | 'unknown-annotation'
  | 'malformed-annotation'
  | 'annotation-not-string'
  | 'annotation-on-wrong-object'
  | 'annotations-without-injection'
  | 'inject-annotation-deprecated'
  | 'deprecated-annotation'
  | 'istio-dropped'
  | 'workload-not-injected';

/** What a workload becomes: its policy (when the mesh injects it) and the issues found. */
export interface BuiltWorkload {
  workload: Workload;
  /** The policy text, or undefined when the mesh does not capture this workload's traffic. */
  policyText?: string;
  /** Why there is no policy (no sidecar, hostNetwork, interception mode NONE). */
  skipped?: string;
  /** The command line the mesh's init container would run (Istio: istio-iptables FLAGS), and the tool it is of. */
  argv?: string[];
  tool?: string;
  env?: Record<string, string>;
  /**
   * Maps a span in policyText to the manifest (or mesh values) text that set it; undefined
   * when a built-in default set it (findings then point at the workload's `kind`).
   */
  locate(span: Span | null | undefined, item?: string): Span | undefined;
  issues: ManifestIssue[];
  /** The annotation `meshcap.io/ignore` of the workload, if any. */
  ignore?: Entry;
}

export interface Mesh {
  table: MeshTable;
  /** True when this workload carries any of the mesh's annotations or labels. */
  claims(w: Workload): boolean;
  build(w: Workload, src: SourceFile, defaults: MeshDefaults): BuiltWorkload;
}
