// The generic routing component: one service in several versions behind one name.
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import {
  DEFAULT_ROUTING_POLICY,
  istioResource,
  type Mesh,
  podLabels,
  principal,
  type RoutingPolicy,
  serviceHost,
  serviceSelector,
  skipAwaitAnnotations,
  type VersionWeight,
} from "../core";
import {
  type AllowRule,
  allowSpec,
  deploymentSpec,
  destinationRuleSpec,
  hardenedPodSpec,
  type IngressTarget,
  serviceAccountArgs,
  weightedVirtualServiceSpec,
  type WorkloadSpec,
} from "../specs";

/**
 * The SPIFFE principal of a VersionedService's workloads: each runs under a ServiceAccount named
 * after the service, so callers can be named in policies before the service exists.
 */
export function servicePrincipal(namespace: string, service: string): string {
  return principal(namespace, service);
}

export interface VersionedServiceArgs {
  /** The control plane: Istio resources wait for its CRDs, Deployments for istiod. */
  readonly mesh: Mesh;
  /** Namespace to deploy into; must exist (pass it in dependsOn) and be injected. */
  readonly namespace: string;
  /** Versions to deploy and their traffic weights (validated: integers summing to 100). */
  readonly versions: readonly VersionWeight[];
  /** The workload of each version. */
  readonly workload: (version: string) => WorkloadSpec;
  /** Port of the Service. Defaults to 80. */
  readonly port?: number;
  /** Pods per version. Defaults to 1. */
  readonly replicas?: number;
  /** Further resources every child waits for (e.g. the namespace). Defaults to none. */
  readonly dependsOn?: readonly pulumi.Resource[];
  /** Traffic policy, timeouts, retries, faults, header routes and mirroring. Defaults to DEFAULT_ROUTING_POLICY. */
  readonly policy?: RoutingPolicy;
  /** Who may call this service, one rule per caller group; under the namespace's default deny, nobody else can. */
  readonly allow: readonly AllowRule[];
}

/**
 * A service deployed in several versions behind one name, with Istio routing between them:
 * a ServiceAccount, one Deployment per version (pods labelled `app` and `version`), one Service
 * selecting `app` only, a DestinationRule with a subset per version, a VirtualService that
 * splits traffic over the subsets by weight, and an ALLOW policy naming its callers.
 *
 * Weights appear in the VirtualService only, so changing them updates that one resource.
 */
export class VersionedService extends pulumi.ComponentResource {
  readonly serviceAccount: k8s.core.v1.ServiceAccount;
  readonly service: k8s.core.v1.Service;
  readonly deployments: Record<string, k8s.apps.v1.Deployment>;
  readonly destinationRule: k8s.apiextensions.CustomResource;
  readonly virtualService: k8s.apiextensions.CustomResource;
  readonly authorizationPolicy: k8s.apiextensions.CustomResource;
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
    const policy = args.policy ?? DEFAULT_ROUTING_POLICY;
    const deps = [...(args.dependsOn ?? [])];
    const meta = (resourceName: string, labels: Record<string, string>) => ({
      name: resourceName,
      namespace: args.namespace,
      labels,
      annotations: skipAwaitAnnotations(mesh.skipAwait),
    });
    this.host = serviceHost(name, args.namespace);
    this.port = port;
    this.ingressTarget = {
      host: this.host,
      port,
      versions: args.versions,
      policy,
    };

    this.serviceAccount = new k8s.core.v1.ServiceAccount(
      `${name}-sa`,
      serviceAccountArgs(name, args.namespace, serviceSelector(name)),
      { parent: this, dependsOn: deps },
    );

    this.service = new k8s.core.v1.Service(
      `${name}-svc`,
      {
        metadata: meta(name, serviceSelector(name)),
        spec: {
          selector: serviceSelector(name),
          // Istio picks the protocol from the port name or appProtocol; the target is
          // the container port every version names "http".
          ports: [
            { name: "http", appProtocol: "http", port, targetPort: "http" },
          ],
        },
      },
      { parent: this, dependsOn: deps },
    );

    this.deployments = {};
    for (const { version } of args.versions) {
      const labels = podLabels(name, version);
      this.deployments[version] = new k8s.apps.v1.Deployment(
        `${name}-${version}`,
        {
          metadata: meta(`${name}-${version}`, labels),
          spec: deploymentSpec({
            selector: labels,
            replicas: args.replicas ?? 1,
            pod: hardenedPodSpec(name, name, args.workload(version)),
          }),
        },
        // istiod's injection webhook fails closed: a pod created before it is ready is rejected.
        {
          parent: this,
          dependsOn: [...deps, mesh.istiod, this.serviceAccount],
        },
      );
    }

    const istio = { parent: this, mesh, dependsOn: deps };
    this.destinationRule = istioResource(
      `${name}-dr`,
      {
        kind: "DestinationRule",
        metadata: { name, namespace: args.namespace },
        spec: destinationRuleSpec(
          this.host,
          args.versions.map((v) => v.version),
          policy,
        ),
      },
      istio,
    );

    this.virtualService = istioResource(
      `${name}-vs`,
      {
        kind: "VirtualService",
        metadata: { name, namespace: args.namespace },
        spec: weightedVirtualServiceSpec(
          this.host,
          port,
          args.versions,
          policy,
        ),
      },
      // Routing to a subset that does not exist yet fails requests: the rule comes first.
      { ...istio, dependsOn: [...deps, this.destinationRule] },
    );

    this.authorizationPolicy = istioResource(
      `${name}-allow`,
      {
        kind: "AuthorizationPolicy",
        metadata: { name: `${name}-allow`, namespace: args.namespace },
        spec: allowSpec(serviceSelector(name), args.allow),
      },
      istio,
    );

    this.registerOutputs({
      host: this.host,
      versions: args.versions.map((v) => v.version),
    });
  }
}
