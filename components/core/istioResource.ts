// The one way this stack makes an Istio custom resource.
import * as k8s from "@pulumi/kubernetes";
import type * as pulumi from "@pulumi/pulumi";
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
  /** The Istio CRDs (Mesh.crds): the API server rejects the resource until they exist. */
  readonly crds: pulumi.Resource;
  /** What else must exist first (its namespace, a DestinationRule it routes to). Defaults to none. */
  readonly dependsOn?: readonly pulumi.Resource[];
}

/**
 * An Istio resource of `kind`, its spec typed for that kind and its apiVersion taken from
 * ISTIO_API_VERSIONS, ordered after the CRDs. The provider comes from the parent.
 */
export function istioResource<K extends IstioKind>(
  name: string,
  args: IstioResourceArgs<K>,
  opts: IstioResourceOptions,
): k8s.apiextensions.CustomResource {
  return new k8s.apiextensions.CustomResource(
    name,
    {
      apiVersion: ISTIO_API_VERSIONS[args.kind],
      kind: args.kind,
      metadata: args.metadata,
      spec: args.spec,
    },
    { parent: opts.parent, dependsOn: [...(opts.dependsOn ?? []), opts.crds] },
  );
}
