// What the Linkerd and Kuma builders share: a mesh whose init container takes a command
// line built from pod annotations (Linkerd's proxy-init, Kuma's kumactl install
// transparent-proxy). Each annotation of the mesh's table names the flag it becomes; the
// command line goes through the same importer as `meshcap import linkerd-proxy-init` /
// `import kuma`, so an annotation means what the flag means. The annotations are checked
// as Istio's are (unknown with did-you-mean, malformed, not a string, on the wrong object).
import { didYouMean, type Diagnostic } from '../diagnostics/diagnostic.js';
import type { ImportedPolicy } from '../import/istio.js';
import type { SourceFile, Span } from '../source.js';
import { malformed } from './istio.js';
import type { AnnotationSpec, BuiltWorkload, ManifestIssue, MeshDefaults, MeshTable } from './mesh.js';
import { partSpan, type Entry, type Workload } from './read.js';

export interface FlagAnnotation extends AnnotationSpec {
  /** The flag it sets; undefined for annotations read by the builder itself (injection, ...). */
  flag?: string;
}

export interface FlagMeshTable extends MeshTable {
  annotations: FlagAnnotation[];
}

export const isMeshKey = (t: MeshTable, k: string) => t.prefixes.some((p) => k.startsWith(p)) || t.annotations.some((a) => a.key === k);

/** The valid annotations of a workload (pod template first, then its namespace's, where the mesh reads those), reporting the others. */
export function checkAnnotations(t: FlagMeshTable, w: Workload, ns: Entry[], issue: (rule: ManifestIssue['rule'], span: Span, message: string, hint?: string) => void): Map<string, Entry> {
  const byKey = new Map(t.annotations.map((a) => [a.key, a]));
  const valid = new Map<string, Entry>();
  const mesh = t.mesh[0].toUpperCase() + t.mesh.slice(1);
  for (const e of [...w.annotations, ...w.labels.filter((l) => byKey.get(l.key)?.label)]) {
    if (!isMeshKey(t, e.key) || valid.has(e.key)) continue;
    const spec = byKey.get(e.key);
    if (!spec) {
      const near = didYouMean(e.key, t.annotations.map((a) => a.key));
      issue('unknown-annotation', e.keySpan, `'${e.key}' is not a ${mesh} annotation: ${mesh} ignores it`, near ?? `see ${t.sources[0]} for the annotations ${mesh} reads`);
      continue;
    }
    if (!e.isString) issue('annotation-not-string', e.valueSpan, `the value of '${e.key}' is not a string: Kubernetes rejects the object (annotation values are strings)`, `quote it: "${e.value}"`);
    const why = malformed(spec, e.value);
    if (why) {
      issue('malformed-annotation', e.valueSpan, `'${e.key}': ${why}`, `${mesh}'s init container fails or skips it; meshcap leaves it out`);
      continue;
    }
    valid.set(e.key, e);
  }
  // The namespace's annotations are the defaults of those the pod does not set.
  for (const e of ns) if (byKey.has(e.key) && !valid.has(e.key) && !malformed(byKey.get(e.key)!, e.value)) valid.set(e.key, e);
  for (const e of [...w.objectAnnotations, ...w.objectLabels]) {
    if (!byKey.has(e.key)) continue;
    const where = byKey.get(e.key)!.label ? 'spec.template.metadata.labels' : 'spec.template.metadata.annotations';
    issue('annotation-on-wrong-object', e.keySpan, `'${e.key}' is on the ${w.kind}'s own metadata, which ${mesh}'s injector never reads`, `move it to ${where}`);
  }
  return valid;
}

export interface FlagBuild {
  argv: string[];
  /** The annotation each flag (long name, no dashes) was written from. */
  origin: Map<string, Entry>;
  run(argv: string[]): { policy: ImportedPolicy; diagnostics: Diagnostic[] };
  tool: string;
}

/** The policy of an injected workload from its command line, with findings placed on the annotations. */
export function buildFromFlags(w: Workload, src: SourceFile, b: FlagBuild, issues: ManifestIssue[], ignore?: Entry): BuiltWorkload {
  const { policy: p, diagnostics } = b.run(b.argv);
  const flagOf = (label: string | undefined) => (label ? /^--([a-z0-9-]+)/.exec(label)?.[1] : undefined);
  const originOf = (label: string) => b.origin.get(flagOf(label) ?? '');
  for (const d of [...diagnostics, ...p.diagnostics]) {
    if (d.severity !== 'error' && d.code !== 'import-unsupported') continue;
    const m = /--([a-z0-9-]+)/.exec(d.message);
    const o = m ? b.origin.get(m[1]) : undefined;
    issues.push({ rule: 'malformed-annotation', span: o?.valueSpan ?? w.span, message: d.message, ...(d.hint ? { hint: d.hint } : {}) });
  }
  const locate = (s: Span | null | undefined, item?: string): Span | undefined => {
    if (!s) return undefined;
    const o = originOf(p.lineFields.get(s.start.line) ?? '');
    if (!o) return undefined;
    if (item === undefined) return o.valueSpan;
    // An item the annotation does not name came from the mesh's defaults (probe and admin ports).
    const host = item.replace(/\/(32|128)$/, '');
    const named = o.value.split(/[,;]/).map((x) => x.trim());
    if (!named.includes(item) && !named.includes(host)) return undefined;
    return partSpan(src, o, named.includes(item) ? item : host);
  };
  return { workload: w, policyText: p.text, argv: b.argv, tool: b.tool, locate, issues, ...(ignore ? { ignore } : {}) };
}

/** Reports each valid capture annotation of a workload the mesh does not inject. */
export function withoutInjection(t: FlagMeshTable, w: Workload, valid: Map<string, Entry>, why: string, span: Span, issues: ManifestIssue[], ignore?: Entry): BuiltWorkload {
  for (const e of valid.values()) {
    if (!w.annotations.includes(e)) continue;
    if (t.annotations.find((a) => a.key === e.key)?.capture) issues.push({ rule: 'annotations-without-injection', span: e.keySpan, message: `'${e.key}' has no effect: ${why}`, hint: 'remove it, or let the sidecar be injected' });
  }
  issues.push({ rule: 'workload-not-injected', span, message: `${w.kind} '${w.name}' gets no capture rules, so it is not linted as captured: ${why}`, hint: `set the mesh's injection annotation on the pod or its namespace, if it should be in the mesh` });
  return { workload: w, locate: () => undefined, issues, skipped: why, ...(ignore ? { ignore } : {}) };
}

export function nsEntries(w: Workload, defaults: MeshDefaults): { labels: Entry[]; annotations: Entry[]; span?: Span } {
  const ns = defaults.namespaces.get(w.namespace ?? 'default');
  return ns ? { labels: ns.labels, annotations: ns.annotations, span: ns.span } : { labels: [], annotations: [] };
}

/**
 * The value a builder puts on the command line for an annotation (its valid value, else the
 * mesh's default), remembering which annotation set which flag so findings point at it.
 */
export function flagValues(t: FlagMeshTable, valid: Map<string, Entry>, defaults: Record<string, string>): { v: (key: string) => string; origin: Map<string, Entry> } {
  const origin = new Map<string, Entry>();
  const v = (k: string) => {
    const e = valid.get(k);
    const f = t.annotations.find((a) => a.key === k)?.flag;
    if (e && f) origin.set(f, e);
    return e?.value.trim() ?? defaults[k] ?? '';
  };
  return { v, origin };
}
