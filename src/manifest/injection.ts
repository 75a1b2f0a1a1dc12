// Whether Istio's sidecar injector injects a workload, decided as Istio decides it: the
// webhook's selectors first (github:istio/istio manifests/charts/istio-control/
// istio-discovery/templates/mutatingwebhook.yaml: the namespace label istio-injection
// beats istio.io/rev; with neither, only a pod labelled sidecar.istio.io/inject=true or
// istio.io/rev is sent to the injector), then the injector's own test (pkg/kube/inject/
// webhook.go injectRequired: hostNetwork, the ignored namespaces, the pod's
// sidecar.istio.io/inject label, else its deprecated annotation, y/yes/true/on or unset
// to inject). A namespace that is not in the file set is presumed enabled.
import type { Span } from '../source.js';
import type { MeshDefaults } from './mesh.js';
import type { Entry, Workload } from './read.js';

export interface Injection {
  injected: boolean;
  /** Why not (or, when injected, by which selector). */
  why: string;
  /** What decided it: a label, an annotation, the namespace's name, the workload's kind. */
  span: Span;
  /** The istio.io/rev revision that injects it, when one does. */
  revision?: string;
}

/** Namespaces Istio never injects (pkg/kube/inject/webhook.go, IgnoredNamespaces). */
export const ISTIO_IGNORED_NAMESPACES = ['kube-system', 'kube-public'];

const label = (es: Entry[], k: string) => es.find((e) => e.key === k);

export function istioInjection(w: Workload, defaults: MeshDefaults, injectAnnotation?: Entry): Injection {
  const podLabel = label(w.labels, 'sidecar.istio.io/inject');
  const podRev = label(w.labels, 'istio.io/rev');
  const nsName = w.namespace ?? 'default';
  const ns = defaults.namespaces.get(nsName);
  if (w.hostNetwork) return { injected: false, why: 'the pod uses hostNetwork, which Istio never injects', span: w.span };
  if (ISTIO_IGNORED_NAMESPACES.includes(nsName)) return { injected: false, why: `Istio never injects pods in namespace '${nsName}'`, span: w.span };
  let revision: string | undefined;
  let by = 'no namespace of the file set says otherwise';
  if (ns) {
    const inj = label(ns.labels, 'istio-injection');
    const rev = label(ns.labels, 'istio.io/rev');
    if (inj && inj.value !== 'enabled') return { injected: false, why: `namespace '${nsName}' has istio-injection=${inj.value}, which no injection webhook selects`, span: inj.valueSpan };
    if (inj) by = `namespace '${nsName}' has istio-injection=enabled`;
    else if (rev) {
      revision = rev.value;
      by = `namespace '${nsName}' has istio.io/rev=${rev.value}`;
    } else if (podLabel?.value === 'true' || podRev) {
      if (podRev) revision = podRev.value;
      by = podRev ? `the pod has istio.io/rev=${podRev.value}` : 'the pod has the label sidecar.istio.io/inject=true';
    } else {
      const hint = injectAnnotation ? " (the annotation sidecar.istio.io/inject is read only after a webhook selected the pod: make it a label)" : '';
      return { injected: false, why: `namespace '${nsName}' has neither istio-injection=enabled nor istio.io/rev, and the pod is not labelled sidecar.istio.io/inject=true${hint}`, span: injectAnnotation?.keySpan ?? ns.span };
    }
  }
  if (podLabel?.value === 'false') return { injected: false, why: "the pod's label sidecar.istio.io/inject is \"false\"", span: podLabel.valueSpan };
  // injectRequired: the label, else the annotation; unset injects, only y/yes/true/on inject otherwise.
  const said = podLabel ?? injectAnnotation;
  if (said && said.value.trim() !== '' && !['y', 'yes', 'true', 'on'].includes(said.value.trim().toLowerCase())) {
    return { injected: false, why: `sidecar.istio.io/inject is "${said.value}" on the pod${said === podLabel ? '' : ' (annotation)'}`, span: said.valueSpan };
  }
  return { injected: true, why: by, span: w.span, ...(revision ? { revision } : {}) };
}

/** True when the mesh values say the istio-cni plugin writes the rules instead of istio-init. */
export function istioCni(defaults: MeshDefaults): boolean {
  return ['istio_cni.enabled', 'pilot.cni.enabled'].some((k) => defaults.values[k] === 'true');
}
