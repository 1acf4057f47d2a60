// A namespace for application workloads, in the mesh and default-deny.
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import {
  gatewayApiResource,
  istioResource,
  type Mesh,
  meshNamespaceLabels,
  podSecurityLabels,
  WAYPOINT_NAME,
  waypointLabels,
} from "../core";
import { denyAllSpec, referenceGrantSpec, waypointSpec } from "../specs";

/**
 * A namespace in Linkerd's mesh: every pod injected, and every inbound connection refused unless
 * a Server and AuthorizationPolicy admit it (config.linkerd.io/default-inbound-policy: deny).
 */
export function linkerdNamespaceMetadata(
  name: string,
  restricted: boolean,
): k8s.types.input.meta.v1.ObjectMeta {
  return {
    name,
    annotations: {
      "linkerd.io/inject": "enabled",
      "config.linkerd.io/default-inbound-policy": "deny",
    },
    labels: podSecurityLabels(restricted),
  };
}

export interface AppNamespaceArgs {
  /** The control plane: the default-deny policy waits for its CRDs; its mode decides the labels. */
  readonly mesh: Mesh;
  /** Name of the namespace. */
  readonly name: string;
  /**
   * Enforce the restricted Pod Security Standard. Needs istio-cni in sidecar mode (else the
   * injector adds a privileged istio-init); ambient leaves pods as they are. Defaults to false.
   */
  readonly restricted?: boolean;
  /**
   * The ingress gateway's namespace: with the Gateway API, its HTTPRoute may send to this
   * namespace's Services only by a ReferenceGrant here. Defaults to none (no grant).
   */
  readonly ingressNamespace?: string;
}

/**
 * A namespace for application workloads with a default-deny AuthorizationPolicy, so every call
 * must be allowed explicitly by the workload's own policy. Sidecar mode labels it for injection;
 * ambient mode puts its pods in the ambient mesh and gives it a waypoint (a Gateway API Gateway
 * of class istio-waypoint, deployed by istiod) that every Service in it uses for L7 routing and
 * policy, ingress traffic included.
 */
export class AppNamespace extends pulumi.ComponentResource {
  readonly namespace: k8s.core.v1.Namespace;
  /** Istio's namespace-wide deny; none on Linkerd (its default-inbound-policy annotation denies). */
  readonly denyAll?: k8s.apiextensions.CustomResource;
  /** The namespace's waypoint, in ambient mode. */
  readonly waypoint?: k8s.apiextensions.CustomResource;
  /** Lets the ingress HTTPRoute reach this namespace's Services (gateway-api routing). */
  readonly ingressGrant?: k8s.apiextensions.CustomResource;
  readonly name: string;

  constructor(
    name: string,
    args: AppNamespaceArgs,
    opts?: pulumi.ComponentResourceOptions,
  ) {
    super("service-mesh:app:AppNamespace", name, {}, opts);
    const { mesh } = args;
    this.name = args.name;
    const linkerd = mesh.provider === "linkerd";
    this.namespace = new k8s.core.v1.Namespace(
      `${name}-ns`,
      {
        metadata: linkerd
          ? linkerdNamespaceMetadata(args.name, args.restricted ?? false)
          : {
              name: args.name,
              labels: {
                ...meshNamespaceLabels(
                  mesh.dataplane,
                  WAYPOINT_NAME,
                  mesh.revisions?.labelOf(args.name),
                ),
                ...podSecurityLabels(args.restricted ?? false),
              },
            },
      },
      { parent: this },
    );
    if (linkerd) {
      // Linkerd's default deny is the namespace's annotation; its pods have no waypoint, and
      // there is no ingress gateway to grant routes to.
      this.registerOutputs({ name: this.name });
      return;
    }
    // In ambient a policy without targetRefs is ztunnel's: this one makes it refuse every
    // connection to the namespace's pods that no workload's own policy allows.
    this.denyAll = istioResource(
      `${name}-deny-all`,
      {
        kind: "AuthorizationPolicy",
        metadata: { name: "deny-all", namespace: args.name },
        spec: denyAllSpec(),
      },
      { parent: this, mesh, dependsOn: [this.namespace] },
    );
    if (mesh.dataplane === "ambient") {
      this.waypoint = gatewayApiResource(
        `${name}-waypoint`,
        {
          kind: "Gateway",
          metadata: {
            name: WAYPOINT_NAME,
            namespace: args.name,
            labels: waypointLabels(),
          },
          spec: waypointSpec(),
        },
        { parent: this, mesh, dependsOn: [this.namespace, mesh.dataPlane] },
      );
    }
    if (mesh.routingApi === "gateway-api" && args.ingressNamespace) {
      this.ingressGrant = gatewayApiResource(
        `${name}-ingress-grant`,
        {
          kind: "ReferenceGrant",
          metadata: { name: "ingress-routes", namespace: args.name },
          spec: referenceGrantSpec(args.ingressNamespace),
        },
        { parent: this, mesh, dependsOn: [this.namespace] },
      );
    }
    this.registerOutputs({ name: this.name });
  }
}
