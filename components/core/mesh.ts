// The control plane as the rest of the stack needs it: one handle instead of its parts.
import type * as pulumi from "@pulumi/pulumi";

/**
 * What a component needs of the control plane. Istio resources wait for `crds`; injected pods
 * wait for `istiod`, whose injection webhook fails closed (a pod created before it is ready is
 * rejected); the addons wait for the root namespace.
 */
export interface Mesh {
  /** The `base` release: once it is done, Istio's CRDs are registered. */
  readonly crds: pulumi.Resource;
  /** The `istiod` release: once it is done, the injection webhook answers. */
  readonly istiod: pulumi.Resource;
  /** The root namespace (ISTIO_NAMESPACE), created by the control plane. */
  readonly rootNamespace: pulumi.Resource;
  /** When true, nothing waits for readiness (Helm releases, Deployments, Services). */
  readonly skipAwait: boolean;
}
