// The control plane as the rest of the stack needs it: one handle instead of its parts.
import type * as pulumi from "@pulumi/pulumi";

/**
 * How application pods join the mesh: an injected Envoy sidecar per pod, or Istio's ambient mode
 * (a ztunnel per node for L4 mTLS and authorization, and a waypoint proxy per namespace for L7).
 */
export type Dataplane = "sidecar" | "ambient";
export const DATAPLANES: readonly Dataplane[] = ["sidecar", "ambient"];

/** The service mesh running the stack (mesh.provider). */
export type MeshProvider = "istio" | "linkerd";
export const MESH_PROVIDERS: readonly MeshProvider[] = ["istio", "linkerd"];

/**
 * Which API routes traffic: Istio's own (Gateway, VirtualService, DestinationRule subsets), or
 * the Kubernetes Gateway API (Gateway, HTTPRoute with per-version Services).
 */
export type RoutingApi = "istio" | "gateway-api";
export const ROUTING_APIS: readonly RoutingApi[] = ["istio", "gateway-api"];

/**
 * What a component needs of the control plane. Istio resources wait for `crds`; Gateway API
 * resources for `gatewayApiCrds`; application pods wait for `dataPlane` (istiod's injection
 * webhook fails closed, so a pod created before it is ready is rejected; in ambient, a pod
 * started before the CNI agent and ztunnel run would not be captured); the addons wait for the
 * root namespace.
 */
export interface Mesh {
  /**
   * The mesh behind this handle; undefined means istio. With linkerd, `crds` is the linkerd-crds
   * release, `istiod` and `dataPlane` the linkerd-control-plane release (its proxy injector
   * completes the pods), `rootNamespace` the control plane's namespace, and routing is always
   * gateway-api.
   */
  readonly provider?: MeshProvider;
  /** The `base` release: once it is done, Istio's CRDs are registered. */
  readonly crds: pulumi.Resource;
  /** The `istiod` release: once it is done, the injection and validation webhooks answer. */
  readonly istiod: pulumi.Resource;
  /** What application pods wait for: istiod (sidecar) or the ztunnel release (ambient). */
  readonly dataPlane: pulumi.Resource;
  /**
   * The Gateway API CRDs installed by the stack; undefined when the stack does not need them or
   * the cluster already has them.
   */
  readonly gatewayApiCrds?: pulumi.Resource;
  /** The root namespace (ISTIO_NAMESPACE), created by the control plane. */
  readonly rootNamespace: pulumi.Resource;
  /**
   * With linkerd: the control plane's namespace (linkerd.namespace), part of every proxy's
   * identity (<sa>.<ns>.serviceaccount.identity.<controlNamespace>.<trust domain>). Defaults to
   * linkerd.
   */
  readonly controlNamespace?: string;
  readonly dataplane: Dataplane;
  readonly routingApi: RoutingApi;
  /**
   * Each service's routing is exported only to its callers' namespaces, and (sidecar data plane)
   * each of the stack's workloads gets a Sidecar resource listing what it calls (routing.scopeProxies).
   */
  readonly scopeProxies: boolean;
  /** When true, nothing waits for readiness (Helm releases, Deployments, Services). */
  readonly skipAwait: boolean;
  /**
   * Which istiod revision injects each namespace's pods, when istiod runs as revisions
   * (istio.revisions); undefined for the one revisionless istiod. Then `dataPlane` is the revision
   * tags' webhooks, which wait for every revision's release.
   */
  readonly revisions?: MeshRevisions;
}

/** Where a namespace's pods are injected from, with istiod as revisions. */
export interface MeshRevisions {
  /** The namespace's istio.io/rev label: the tag it follows (or a revision it names). */
  labelOf(namespace: string): string;
  /** The revision that tag resolves to: the pods' template records it, so a move rolls them. */
  revisionOf(namespace: string): string;
}

/** True when the stack needs the Gateway API CRDs: waypoints are Gateway API Gateways. */
export function needsGatewayApi(
  dataplane: Dataplane,
  routingApi: RoutingApi,
): boolean {
  return dataplane === "ambient" || routingApi === "gateway-api";
}

/** The tag a gateway chart's pods follow and its revision, with istiod as revisions. */
export function gatewayRevision(
  mesh: Mesh,
  namespace: string,
): { tag: string; revision: string } | undefined {
  return mesh.revisions
    ? {
        tag: mesh.revisions.labelOf(namespace),
        revision: mesh.revisions.revisionOf(namespace),
      }
    : undefined;
}

/**
 * What a gateway chart's release waits for: its pods are completed by the injector, istiod's
 * (the revision tags' webhooks, with istiod as revisions).
 */
export function gatewayInjector(mesh: Mesh): pulumi.Resource {
  return mesh.revisions ? mesh.dataPlane : mesh.istiod;
}
