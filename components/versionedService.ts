import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { VersionWeight } from "./config";
import { DEFAULT_ROUTING_POLICY, RoutingPolicy } from "./routingPolicy";
import { podLabels, serviceHost, serviceSelector } from "./labels";
import {
  destinationRuleSpec,
  IngressTarget,
  NETWORKING_API,
  weightedVirtualServiceSpec,
} from "./routingSpecs";
import { AllowRule, allowSpec, principal, SECURITY_API } from "./securitySpecs";
import { hardenedPodSpec, WorkloadSpec } from "./workload";

/**
 * The SPIFFE principal of a VersionedService's workloads: each runs under a ServiceAccount named
 * after the service, so callers can be named in policies before the service exists.
 */
export function servicePrincipal(namespace: string, service: string): string {
  return principal(namespace, service);
}

export interface VersionedServiceArgs {
  /** Namespace to deploy into; must exist (pass it in dependsOn) and be injected. */
  readonly namespace: string;
  /** Versions to deploy and their traffic weights (validated: integers summing to 100). */
  readonly versions: VersionWeight[];
  /** The workload of each version. */
  readonly workload: (version: string) => WorkloadSpec;
  /** Port of the Service. Defaults to 80. */
  readonly port?: number;
  /** Pods per version. Defaults to 1. */
  readonly replicas?: number;
  /** The Istio CRDs (the `base` release): the DestinationRule and VirtualService need them. */
  readonly crds: pulumi.Resource;
  /** istiod (its release): pods in an injected namespace are rejected while it is missing. */
  readonly istiod: pulumi.Resource;
  /** Further resources every child waits for (e.g. the namespace). Defaults to none. */
  readonly dependsOn?: pulumi.Resource[];
  /** Traffic policy, timeouts, retries, faults, header routes and mirroring. Defaults to DEFAULT_ROUTING_POLICY. */
  readonly policy?: RoutingPolicy;
  /** Who may call this service, one rule per caller group; under the namespace's default deny, nobody else can. */
  readonly allow: readonly AllowRule[];
  /** When true, Pulumi does not wait for the Deployments and Service to become ready. Defaults to false. */
  readonly skipAwait?: boolean;
}

/**
 * A service deployed in several versions behind one name, with Istio routing between them:
 * a ServiceAccount, one Deployment per version (pods labelled `app` and `version`), one Service
 * selecting `app` only, a DestinationRule with a subset per version, and a VirtualService that
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
    const port = args.port ?? 80;
    const policy = args.policy ?? DEFAULT_ROUTING_POLICY;
    const deps = args.dependsOn ?? [];
    const annotations = args.skipAwait
      ? { "pulumi.com/skipAwait": "true" }
      : undefined;
    const meta = (resourceName: string, labels: Record<string, string>) => ({
      name: resourceName,
      namespace: args.namespace,
      labels,
      annotations,
    });
    this.host = serviceHost(name, args.namespace);
    this.ingressTarget = {
      host: this.host,
      port,
      versions: args.versions,
      policy,
    };
    this.port = port;

    this.serviceAccount = new k8s.core.v1.ServiceAccount(
      `${name}-sa`,
      {
        metadata: {
          name,
          namespace: args.namespace,
          labels: serviceSelector(name),
        },
        automountServiceAccountToken: false,
      },
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
          spec: {
            replicas: args.replicas ?? 1,
            selector: { matchLabels: labels },
            template: {
              metadata: { labels },
              spec: hardenedPodSpec(name, name, args.workload(version)),
            },
          },
        },
        {
          parent: this,
          dependsOn: [...deps, args.istiod, this.serviceAccount],
        },
      );
    }

    const istioDeps = [...deps, args.crds];
    this.destinationRule = new k8s.apiextensions.CustomResource(
      `${name}-dr`,
      {
        apiVersion: NETWORKING_API,
        kind: "DestinationRule",
        metadata: { name, namespace: args.namespace },
        spec: destinationRuleSpec(
          this.host,
          args.versions.map((v) => v.version),
          policy,
        ),
      },
      { parent: this, dependsOn: istioDeps },
    );

    this.virtualService = new k8s.apiextensions.CustomResource(
      `${name}-vs`,
      {
        apiVersion: NETWORKING_API,
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
      { parent: this, dependsOn: [...istioDeps, this.destinationRule] },
    );

    this.authorizationPolicy = new k8s.apiextensions.CustomResource(
      `${name}-allow`,
      {
        apiVersion: SECURITY_API,
        kind: "AuthorizationPolicy",
        metadata: { name: `${name}-allow`, namespace: args.namespace },
        spec: allowSpec(serviceSelector(name), args.allow),
      },
      { parent: this, dependsOn: istioDeps },
    );

    this.registerOutputs({
      host: this.host,
      versions: args.versions.map((v) => v.version),
    });
  }
}
