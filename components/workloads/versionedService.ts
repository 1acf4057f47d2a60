// The generic routing component: one service in several versions behind one name.
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import {
  DEFAULT_ROUTING_POLICY,
  type Mesh,
  meshPodAnnotations,
  commonLabels,
  podLabels,
  principal,
  type RoutingPolicy,
  serviceHost,
  serviceSelector,
  skipAwaitAnnotations,
  subsetLabels,
  versionServiceName,
  type VersionWeight,
} from "../core";
import {
  type AllowRule,
  type CallTarget,
  deploymentSpec,
  type ScopedWorkload,
  scopedWorkload,
  hardenedPodSpec,
  type IngressTarget,
  serviceAccountArgs,
  type WorkloadSpec,
} from "../specs";
import { createMeshRouting } from "./meshRouting";

/**
 * The SPIFFE principal of a VersionedService's workloads: each runs under a ServiceAccount named
 * after the service, so callers can be named in policies before the service exists.
 */
export function servicePrincipal(namespace: string, service: string): string {
  return principal(namespace, service);
}

/** What a Service port speaks (its name and appProtocol): Istio picks the protocol from them. */
export type PortProtocol = "http" | "http2" | "grpc" | "tcp";

/** One version: its weight, and either the stack's pods or (route-only) someone else's. */
export interface ServiceVersionSpec extends VersionWeight {
  /** Pods of this version. Defaults to the service's `replicas`. */
  readonly replicas?: number;
  /** Route-only: the labels of this version's pods, which the stack does not deploy. */
  readonly selector?: Readonly<Record<string, string>>;
}

export interface VersionedServiceArgs {
  /** The control plane: Istio resources wait for its CRDs, Deployments for istiod. */
  readonly mesh: Mesh;
  /** Namespace to deploy into; must exist (pass it in dependsOn) and be in the mesh (AppNamespace). */
  readonly namespace: string;
  /** Versions to deploy and their traffic weights (validated: integers summing to 100). */
  readonly versions: readonly ServiceVersionSpec[];
  /**
   * The workload of each version. Omitted: the service is route-only, every version names the
   * `selector` of pods deployed by someone else, and the stack creates no ServiceAccount and no
   * Deployment, only the Service (see createService), the routing and the policy.
   */
  readonly workload?: (version: string) => WorkloadSpec;
  /** Port of the Service. Defaults to 80. */
  readonly port?: number;
  /** The pods' port. Defaults to "http", the container port every workload names so. */
  readonly targetPort?: number | string;
  /** Name and appProtocol of the Service's port. Defaults to http; tcp splits connections. */
  readonly protocol?: PortProtocol;
  /** Pods per version, unless the version says otherwise. Defaults to 1. */
  readonly replicas?: number;
  /**
   * With more than one pod in a version: rolling updates start this many extra pods and stop
   * none first, and a PodDisruptionBudget lets a drain take one pod at a time. Defaults to none
   * (Kubernetes' defaults, no budget).
   */
  readonly maxSurge?: number | string;
  /** Create the Service. Defaults to true; false only for a route-only service whose owner did. */
  readonly createService?: boolean;
  /** Further resources every child waits for (e.g. the namespace). Defaults to none. */
  readonly dependsOn?: readonly pulumi.Resource[];
  /** Traffic policy, timeouts, retries, faults, header routes and mirroring. Defaults to DEFAULT_ROUTING_POLICY. */
  readonly policy?: RoutingPolicy;
  /** Who may call this service, one rule per caller group; under the namespace's default deny, nobody else can. */
  readonly allow: readonly AllowRule[];
}

/**
 * A service deployed in several versions behind one name, routed by weight: a ServiceAccount,
 * one Deployment per version (pods labelled `app` and `version`), one Service selecting `app`
 * only, and the routing of the mesh's routing API:
 * - istio: a DestinationRule with a subset per version and a VirtualService splitting traffic
 *   over the subsets;
 * - gateway-api: a Service per version (`<name>-<version>`), a DestinationRule for each (traffic
 *   policy only) and an HTTPRoute whose parent is the Service, splitting over the version
 *   Services.
 * Callers are admitted by an ALLOW policy: at the pods' sidecars, or in ambient at the waypoint
 * (L7, by targetRefs to the Services), with ztunnel admitting only the waypoint (L4).
 * A route-only service (no `workload`) has the same routing and policy over pods someone else
 * deploys, each version found by its `selector`.
 *
 * Weights appear in the VirtualService or HTTPRoute only, so changing them updates that one
 * resource.
 */
export class VersionedService extends pulumi.ComponentResource {
  /** The service's own account; none for a route-only service. */
  readonly serviceAccount?: k8s.core.v1.ServiceAccount;
  /** None when a route-only service's owner created it (createService false). */
  readonly service?: k8s.core.v1.Service;
  readonly deployments: Record<string, k8s.apps.v1.Deployment>;
  /** Versions with more than one pod, given maxSurge. */
  readonly disruptionBudgets: Record<string, k8s.policy.v1.PodDisruptionBudget>;
  /** gateway-api: the Service of each version. */
  readonly versionServices: Record<string, k8s.core.v1.Service>;
  /** istio: one rule with a subset per version; gateway-api: one per version Service. */
  readonly destinationRules: k8s.apiextensions.CustomResource[];
  /** What holds the weights: the VirtualService (istio) or the HTTPRoute (gateway-api). */
  readonly route: k8s.apiextensions.CustomResource;
  /** The ALLOW policies (serviceAllowPolicies): at the sidecars, or in ambient at the waypoint and ztunnel. */
  readonly authorizationPolicies: k8s.apiextensions.CustomResource[];
  /** What callers' Sidecars import for it, and who its policy admits (ProxyScopes). */
  readonly callTarget: CallTarget;
  /** Its pods as a Sidecar scopes them; none route-only (the pods' owner scopes them). */
  readonly workload?: ScopedWorkload;
  /** Fully qualified host of the Service. */
  readonly host: string;
  readonly port: number;
  /** How an ingress gateway routes to this service (for services whose callers come from outside). */
  readonly ingressTarget: IngressTarget;

  constructor(
    name: string,
    args: VersionedServiceArgs,
    opts?: pulumi.ComponentResourceOptions,
  ) {
    super("service-mesh:routing:VersionedService", name, {}, opts);
    const { mesh } = args;
    const port = args.port ?? 80;
    const protocol = args.protocol ?? "http";
    const policy = args.policy ?? DEFAULT_ROUTING_POLICY;
    const deps = [...(args.dependsOn ?? [])];
    const gatewayApi = mesh.routingApi === "gateway-api";
    const workload = args.workload;
    const selectorOf = (version: string): Record<string, string> => ({
      ...args.versions.find((v) => v.version === version)?.selector,
    });
    // A version's pods: the stack's carry `app` and `version`; a route-only service's, its selector.
    const labelsOf = (version: string) =>
      workload ? podLabels(name, version) : selectorOf(version);
    const podSelector = workload
      ? serviceSelector(name)
      : commonLabels(args.versions.map((v) => v.selector ?? {}));
    const meta = (resourceName: string, labels: Record<string, string>) => ({
      name: resourceName,
      namespace: args.namespace,
      labels,
      annotations: skipAwaitAnnotations(mesh.skipAwait),
    });
    this.host = serviceHost(name, args.namespace);
    this.port = port;
    this.ingressTarget = {
      service: name,
      namespace: args.namespace,
      host: this.host,
      port,
      versions: args.versions,
      policy,
    };

    if (workload) {
      this.serviceAccount = new k8s.core.v1.ServiceAccount(
        `${name}-sa`,
        serviceAccountArgs(name, args.namespace, serviceSelector(name)),
        { parent: this, dependsOn: deps },
      );
    }

    // Istio picks the protocol from the port name or appProtocol.
    const serviceArgs = (
      serviceName: string,
      selector: Record<string, string>,
    ): k8s.core.v1.ServiceArgs => ({
      metadata: meta(serviceName, selector),
      spec: {
        selector,
        ports: [
          {
            name: protocol,
            appProtocol: protocol,
            port,
            targetPort: args.targetPort ?? "http",
          },
        ],
      },
    });
    if (args.createService ?? true) {
      this.service = new k8s.core.v1.Service(
        `${name}-svc`,
        serviceArgs(name, podSelector),
        { parent: this, dependsOn: deps },
      );
    }

    this.deployments = {};
    this.disruptionBudgets = {};
    this.versionServices = {};
    for (const v of args.versions) {
      const { version } = v;
      const labels = labelsOf(version);
      const replicas = v.replicas ?? args.replicas ?? 1;
      const spread = args.maxSurge !== undefined && replicas > 1;
      if (workload) {
        this.deployments[version] = new k8s.apps.v1.Deployment(
          `${name}-${version}`,
          {
            metadata: meta(`${name}-${version}`, labels),
            spec: deploymentSpec({
              selector: labels,
              podAnnotations: meshPodAnnotations(mesh, args.namespace),
              replicas,
              maxSurge: spread ? args.maxSurge : undefined,
              pod: hardenedPodSpec(name, name, workload(version)),
            }),
          },
          // Sidecar: istiod's injection webhook fails closed, so a pod created before it is
          // ready is rejected. Ambient: a pod started before ztunnel runs is not captured.
          {
            parent: this,
            dependsOn: [
              ...deps,
              mesh.dataPlane,
              ...(this.serviceAccount ? [this.serviceAccount] : []),
            ],
          },
        );
      }
      if (workload && spread) {
        // A node drain evicts one pod of the version at a time, so it keeps serving.
        this.disruptionBudgets[version] = new k8s.policy.v1.PodDisruptionBudget(
          `${name}-${version}-pdb`,
          {
            metadata: meta(`${name}-${version}`, labels),
            spec: { maxUnavailable: 1, selector: { matchLabels: labels } },
          },
          { parent: this, dependsOn: deps },
        );
      }
      if (gatewayApi) {
        this.versionServices[version] = new k8s.core.v1.Service(
          `${name}-${version}-svc`,
          serviceArgs(versionServiceName(name, version), labels),
          { parent: this, dependsOn: deps },
        );
      }
    }

    const backends = [
      ...(this.service ? [this.service] : []),
      ...Object.values(this.versionServices),
    ];
    // The routing of the mesh behind `mesh` (Istio's, or Linkerd's with mesh.provider linkerd).
    const routing = createMeshRouting({
      mesh,
      name,
      namespace: args.namespace,
      port,
      targetPort: args.targetPort ?? "http",
      protocol,
      versions: args.versions,
      policy,
      tcp: protocol === "tcp",
      // A subset needs only what tells the versions apart among the Service's pods.
      subsetLabelsOf: workload ? subsetLabels : selectorOf,
      parent: this,
      dependsOn: deps,
      backends,
      allow: args.allow,
      podSelector,
    });
    this.destinationRules = routing.destinationRules;
    this.route = routing.route;
    this.authorizationPolicies = routing.authorizationPolicies;
    this.callTarget = routing.callTarget;
    this.workload = this.serviceAccount
      ? scopedWorkload(args.namespace, name, this.serviceAccount)
      : undefined;

    this.registerOutputs({
      host: this.host,
      versions: args.versions.map((v) => v.version),
    });
  }
}
