// One Sidecar resource per workload of the stack, importing exactly what its callees' policies let
// it call (routing.scopeProxies). Built once for the whole stack, after every service: a workload
// may call services of other apps (the demo's frontend calling a declared service), so the call
// graph is only whole here.
import type * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { istioResource, type Mesh } from "../core";
import { type CallTarget, sidecarHosts, sidecarSpec } from "../specs";
import type { VersionedService } from "./versionedService";

export interface ProxyScopesArgs {
  /** The control plane: Sidecars wait for its CRDs and istiod. */
  readonly mesh: Mesh;
  /**
   * Every service of the stack: each is something to call (its callTarget), and each whose pods
   * the stack deploys (not route-only) gets a Sidecar.
   */
  readonly services: readonly VersionedService[];
  /** Further things to call: the egress gateway's external hosts. Defaults to none. */
  readonly external?: readonly CallTarget[];
}

/**
 * A Sidecar resource (named after the service, in its namespace, selecting its pods) per workload:
 * istiod then sends that sidecar the clusters, routes and endpoints of the mesh's own namespace
 * and of the targets that admit it, nothing else. A call the policies do not list finds no route
 * at the caller; with egress.mode allow-any it leaves as plain TCP through the passthrough
 * cluster, and the callee's STRICT mTLS and default deny refuse it (fail closed either way).
 *
 * Sidecars only: gateways ignore the resource, and in ambient there is no sidecar to scope
 * (ztunnel holds every workload's address; waypoints serve their own namespace), so index.ts
 * builds none there.
 */
export class ProxyScopes extends pulumi.ComponentResource {
  /** Each workload's Sidecar, by `<namespace>/<name>`. */
  readonly sidecars: Record<string, k8s.apiextensions.CustomResource> = {};

  constructor(
    name: string,
    args: ProxyScopesArgs,
    opts?: pulumi.ComponentResourceOptions,
  ) {
    super("service-mesh:routing:ProxyScopes", name, {}, opts);
    const targets = [
      ...args.services.map((s) => s.callTarget),
      ...(args.external ?? []),
    ];
    for (const w of args.services.flatMap((s) => s.workload ?? [])) {
      this.sidecars[`${w.namespace}/${w.name}`] = istioResource(
        `${w.namespace}-${w.name}-sidecar`,
        {
          kind: "Sidecar",
          metadata: { name: w.name, namespace: w.namespace },
          spec: sidecarSpec(w.labels, sidecarHosts(w.principal, targets)),
        },
        { parent: this, mesh: args.mesh, dependsOn: [w.account] },
      );
    }
    this.registerOutputs({ sidecars: Object.keys(this.sidecars) });
  }
}
