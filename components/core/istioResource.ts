// The one way this stack makes an Istio custom resource.
import type * as k8s from "@pulumi/kubernetes";
import { customResource } from "./customResource";
import type * as pulumi from "@pulumi/pulumi";
import type { Mesh } from "./mesh";
import {
  ISTIO_API_VERSIONS,
  type IstioKind,
  type IstioSpecs,
} from "./istioApi";

export interface IstioResourceArgs<K extends IstioKind> {
  readonly kind: K;
  readonly metadata: { readonly name: string; readonly namespace: string };
  readonly spec: IstioSpecs[K];
}

export interface IstioResourceOptions {
  /** The component that owns the resource. */
  readonly parent: pulumi.Resource;
  /**
   * The control plane: the API server rejects the resource until the CRDs exist, and it waits
   * for istiod too, so that istiod's validating webhook checks it. Before istiod runs, that
   * webhook fails open (Istio's charts install it with failurePolicy Ignore until istiod patches
   * it), and a resource created in that window would go unchecked on a first install.
   */
  readonly mesh: Pick<Mesh, "crds" | "istiod">;
  /** What else must exist first (its namespace, a DestinationRule it routes to). Defaults to none. */
  readonly dependsOn?: readonly pulumi.Resource[];
}

/**
 * An Istio resource of `kind`, its spec typed for that kind and its apiVersion taken from
 * ISTIO_API_VERSIONS, ordered after the CRDs and istiod. The provider comes from the parent.
 */
export function istioResource<K extends IstioKind>(
  name: string,
  args: IstioResourceArgs<K>,
  opts: IstioResourceOptions,
): k8s.apiextensions.CustomResource {
  return customResource(name, ISTIO_API_VERSIONS, args, {
    parent: opts.parent,
    dependsOn: [...(opts.dependsOn ?? []), opts.mesh.crds, opts.mesh.istiod],
  });
}
