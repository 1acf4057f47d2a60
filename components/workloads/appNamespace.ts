// A namespace for application workloads, injected and default-deny.
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import {
  injectionLabels,
  istioResource,
  type Mesh,
  podSecurityLabels,
} from "../core";
import { denyAllSpec } from "../specs";

export interface AppNamespaceArgs {
  /** The control plane: the default-deny policy waits for its CRDs. */
  readonly mesh: Mesh;
  /** Name of the namespace. */
  readonly name: string;
  /** Enforce the restricted Pod Security Standard (needs istio-cni). Defaults to false. */
  readonly restricted?: boolean;
}

/**
 * A namespace for application workloads: labelled for sidecar injection, with a default-deny
 * AuthorizationPolicy so every call must be allowed explicitly by the workload's own policy.
 */
export class AppNamespace extends pulumi.ComponentResource {
  readonly namespace: k8s.core.v1.Namespace;
  readonly denyAll: k8s.apiextensions.CustomResource;
  readonly name: string;

  constructor(
    name: string,
    args: AppNamespaceArgs,
    opts?: pulumi.ComponentResourceOptions,
  ) {
    super("service-mesh:app:AppNamespace", name, {}, opts);
    this.name = args.name;
    this.namespace = new k8s.core.v1.Namespace(
      `${name}-ns`,
      {
        metadata: {
          name: args.name,
          labels: {
            ...injectionLabels(),
            ...podSecurityLabels(args.restricted ?? false),
          },
        },
      },
      { parent: this },
    );
    this.denyAll = istioResource(
      `${name}-deny-all`,
      {
        kind: "AuthorizationPolicy",
        metadata: { name: "deny-all", namespace: args.name },
        spec: denyAllSpec(),
      },
      { parent: this, mesh: args.mesh, dependsOn: [this.namespace] },
    );
    this.registerOutputs({ name: this.name });
  }
}
