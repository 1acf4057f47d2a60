import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { injectionLabels } from "./labels";
import { denyAllSpec, SECURITY_API } from "./securitySpecs";

export interface AppNamespaceArgs {
  /** Name of the namespace. */
  readonly name: string;
  /** Enforce the restricted Pod Security Standard (needs istio-cni). Defaults to false. */
  readonly restricted?: boolean;
  /** The Istio CRDs (the `base` release), needed by the default-deny policy. */
  readonly crds: pulumi.Resource;
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
    const pss: Record<string, string> = args.restricted
      ? {
          "pod-security.kubernetes.io/enforce": "restricted",
          "pod-security.kubernetes.io/enforce-version": "latest",
        }
      : {};
    this.namespace = new k8s.core.v1.Namespace(
      `${name}-ns`,
      {
        metadata: { name: args.name, labels: { ...injectionLabels(), ...pss } },
      },
      { parent: this },
    );
    this.denyAll = new k8s.apiextensions.CustomResource(
      `${name}-deny-all`,
      {
        apiVersion: SECURITY_API,
        kind: "AuthorizationPolicy",
        metadata: { name: "deny-all", namespace: args.name },
        spec: denyAllSpec(),
      },
      { parent: this, dependsOn: [this.namespace, args.crds] },
    );
    this.registerOutputs({ name: this.name });
  }
}
