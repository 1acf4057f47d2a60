// Labels and annotations shared by the components and checked by the tests. Selectors are always
// built from these functions, never spelled out twice, so a selector cannot drift from the pod
// labels.
import type { Dataplane, Mesh } from "./mesh";
import type { VersionMetrics } from "./serviceOutput";

/** Labels on every pod of one version of a service; Istio's telemetry and subsets read both. */
export function podLabels(
  app: string,
  version: string,
): Record<string, string> {
  return { app, version };
}

/** The labels every version's selector shares: a route-only service's Service selects on them. */
export function commonLabels(
  selectors: readonly Readonly<Record<string, string>>[],
): Record<string, string> {
  const [first, ...rest] = selectors;
  return Object.fromEntries(
    Object.entries(first ?? {}).filter(([k, v]) =>
      rest.every((s) => s[k] === v),
    ),
  );
}

/** The Service selects on `app` only, so every version sits behind one stable name. */
export function serviceSelector(app: string): Record<string, string> {
  return { app };
}

/** A DestinationRule subset selects the pods of one version. */
export function subsetLabels(version: string): Record<string, string> {
  return { version };
}

/**
 * Namespace labels that turn on istiod's sidecar injection for every pod in it; with istiod as
 * revisions, `revisionTag` names the tag (istio.io/rev) instead.
 */
export function injectionLabels(revisionTag?: string): Record<string, string> {
  return revisionTag === undefined
    ? { "istio-injection": "enabled" }
    : revisionLabels(revisionTag);
}

/**
 * Namespace labels that put every pod in it in the ambient mesh (ztunnel captures its traffic;
 * no injection label, so no sidecar), send every Service's traffic through the namespace's
 * waypoint, and make ingress gateways use that waypoint too (by default they skip it and would
 * bypass the L7 policy).
 */
export function ambientLabels(waypoint: string): Record<string, string> {
  return {
    "istio.io/dataplane-mode": "ambient",
    "istio.io/use-waypoint": waypoint,
    "istio.io/ingress-use-waypoint": "true",
  };
}

/**
 * Namespace labels that have the tag's (or revision's) istiod inject every pod in it, with
 * istiod as revisions. No istio-injection label: it would win over istio.io/rev.
 */
export function revisionLabels(tag: string): Record<string, string> {
  return { "istio.io/rev": tag };
}

/**
 * The mesh membership labels of an application namespace in `dataplane` mode; with sidecars and
 * istiod as revisions, `revisionTag` (the namespace's istio.io/rev) replaces istio-injection.
 */
export function meshNamespaceLabels(
  dataplane: Dataplane,
  waypoint: string,
  revisionTag?: string,
): Record<string, string> {
  if (dataplane === "ambient") {
    return ambientLabels(waypoint);
  }
  return injectionLabels(revisionTag);
}

/**
 * Pod template annotations recording the istiod revision that injects the pods (istiod as
 * revisions; none otherwise). Moving a tag relabels nothing in the pod; this annotation changes
 * and rolls the Deployment, so its pods come back injected by the new revision.
 */
export function revisionAnnotations(
  revision: string | undefined,
): Record<string, string> | undefined {
  return revision === undefined
    ? undefined
    : { "service-mesh/istio-revision": revision };
}

/**
 * Pod template annotations recording the data plane the pods were made for. Switching modes
 * relabels the namespace, which changes no running pod; the annotation rolls every Deployment,
 * so its pods come back injected (sidecar) or without a sidecar (ambient). None in sidecar mode,
 * so a stack that never used ambient keeps its pod templates as they were.
 */
export function dataplaneAnnotations(
  dataplane: Dataplane,
): Record<string, string> | undefined {
  return dataplane === "ambient"
    ? { "service-mesh/dataplane": "ambient" }
    : undefined;
}

/** A waypoint's own label: it serves traffic addressed to Services (not to workloads). */
export function waypointLabels(): Record<string, string> {
  return { "istio.io/waypoint-for": "service" };
}

/**
 * The labels istiod's deployment controller puts on the pods of a Gateway API Gateway, which
 * policies and EnvoyFilters select them by.
 */
export function gatewayApiPodLabels(gateway: string): Record<string, string> {
  return { "gateway.networking.k8s.io/gateway-name": gateway };
}

/**
 * Namespace labels enforcing the restricted Pod Security Standard, or none. Only with istio-cni:
 * without it the injector adds istio-init, which runs as root with NET_ADMIN and NET_RAW.
 */
export function podSecurityLabels(restricted: boolean): Record<string, string> {
  return restricted
    ? {
        "pod-security.kubernetes.io/enforce": "restricted",
        "pod-security.kubernetes.io/enforce-version": "latest",
      }
    : {};
}

/**
 * The labels Istio's `gateway` chart puts on its pods: `app: <name>` and
 * `istio: <name without the "istio-" prefix>`, where name is the Helm release name.
 */
export function gatewayPodLabels(releaseName: string): Record<string, string> {
  return { app: releaseName, istio: releaseName.replace(/^istio-/, "") };
}

/**
 * Annotations that stop Pulumi waiting for a Deployment or Service to become ready, for API
 * servers without nodes (the test bed); none otherwise.
 */
export function skipAwaitAnnotations(
  skipAwait: boolean,
): Record<string, string> | undefined {
  return skipAwait ? { "pulumi.com/skipAwait": "true" } : undefined;
}

/**
 * What Istio's metrics call the pods a selector picks: the canonical service and revision Istio
 * reads from pod labels (istio/istio pkg/kube/labels: service.istio.io/canonical-name, then
 * app.kubernetes.io/name, then app; service.istio.io/canonical-revision, then
 * app.kubernetes.io/version, then version), or why they cannot be told from the selector alone.
 */
export function canonicalIdentity(
  selector: Readonly<Record<string, string>>,
): VersionMetrics {
  const first = (keys: string[]) =>
    keys.map((k) => selector[k]).find((v) => v !== undefined);
  const service = first([
    "service.istio.io/canonical-name",
    "app.kubernetes.io/name",
    "app",
  ]);
  const revision = first([
    "service.istio.io/canonical-revision",
    "app.kubernetes.io/version",
    "version",
  ]);
  if (service === undefined || revision === undefined) {
    const missing = service === undefined ? "app" : "version";
    return {
      unknown:
        `its selector has no ${missing} label (nor the app.kubernetes.io/ or service.istio.io/canonical- one), ` +
        `so Istio's metrics cannot tell this version's requests apart; label its pods and add the label to the selector`,
    };
  }
  return { service, revision };
}

/**
 * The pod template annotations of an application Deployment in `namespace`: the data plane its
 * pods were made for (ambient), or the revision that injects them (istiod as revisions); a change
 * of either rolls the pods. None otherwise.
 */
export function meshPodAnnotations(
  mesh: Mesh,
  namespace: string,
): Record<string, string> | undefined {
  return (
    dataplaneAnnotations(mesh.dataplane) ??
    revisionAnnotations(mesh.revisions?.revisionOf(namespace))
  );
}
