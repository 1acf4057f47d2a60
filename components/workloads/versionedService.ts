// The generic routing component: one service in several versions behind one name.
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import {
  dataplaneAnnotations,
  DEFAULT_ROUTING_POLICY,
  gatewayApiResource,
  istioResource,
  type Mesh,
  podLabels,
  principal,
  type RoutingPolicy,
  serviceHost,
  serviceSelector,
  skipAwaitAnnotations,
  versionServiceName,
  type VersionWeight,
} from "../core";
import {
  type AllowRule,
  deploymentSpec,
  destinationRuleSpec,
  hardenedPodSpec,
  type IngressTarget,
  meshHTTPRouteSpec,
  serviceAccountArgs,
  serviceAllowPolicies,
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
  /** Namespace to deploy into; must exist (pass it in dependsOn) and be in the mesh (AppNamespace). */
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
 *
 * Weights appear in the VirtualService or HTTPRoute only, so changing them updates that one
 * resource.
 */
export class VersionedService extends pulumi.ComponentResource {
  readonly serviceAccount: k8s.core.v1.ServiceAccount;
  readonly service: k8s.core.v1.Service;
  readonly deployments: Record<string, k8s.apps.v1.Deployment>;
  /** gateway-api: the Service of each version. */
  readonly versionServices: Record<string, k8s.core.v1.Service>;
  /** istio: one rule with a subset per version; gateway-api: one per version Service. */
  readonly destinationRules: k8s.apiextensions.CustomResource[];
  /** What holds the weights: the VirtualService (istio) or the HTTPRoute (gateway-api). */
  readonly route: k8s.apiextensions.CustomResource;
  /** The ALLOW policies (serviceAllowPolicies): at the sidecars, or in ambient at the waypoint and ztunnel. */
  readonly authorizationPolicies: k8s.apiextensions.CustomResource[];
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
    const ambient = mesh.dataplane === "ambient";
    const gatewayApi = mesh.routingApi === "gateway-api";
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

    this.serviceAccount = new k8s.core.v1.ServiceAccount(
      `${name}-sa`,
      serviceAccountArgs(name, args.namespace, serviceSelector(name)),
      { parent: this, dependsOn: deps },
    );

    // Istio picks the protocol from the port name or appProtocol; the target is the container
    // port every version names "http".
    const serviceArgs = (
      serviceName: string,
      selector: Record<string, string>,
    ): k8s.core.v1.ServiceArgs => ({
      metadata: meta(serviceName, selector),
      spec: {
        selector,
        ports: [
          { name: "http", appProtocol: "http", port, targetPort: "http" },
        ],
      },
    });
    this.service = new k8s.core.v1.Service(
      `${name}-svc`,
      serviceArgs(name, serviceSelector(name)),
      { parent: this, dependsOn: deps },
    );

    this.deployments = {};
    this.versionServices = {};
    for (const { version } of args.versions) {
      const labels = podLabels(name, version);
      this.deployments[version] = new k8s.apps.v1.Deployment(
        `${name}-${version}`,
        {
          metadata: meta(`${name}-${version}`, labels),
          spec: deploymentSpec({
            selector: labels,
            podAnnotations: dataplaneAnnotations(mesh.dataplane),
            replicas: args.replicas ?? 1,
            pod: hardenedPodSpec(name, name, args.workload(version)),
          }),
        },
        // Sidecar: istiod's injection webhook fails closed, so a pod created before it is
        // ready is rejected. Ambient: a pod started before ztunnel runs is not captured.
        {
          parent: this,
          dependsOn: [...deps, mesh.dataPlane, this.serviceAccount],
        },
      );
      if (gatewayApi) {
        this.versionServices[version] = new k8s.core.v1.Service(
          `${name}-${version}-svc`,
          serviceArgs(versionServiceName(name, version), labels),
          { parent: this, dependsOn: deps },
        );
      }
    }

    const istio = { parent: this, mesh, dependsOn: deps };
    // In ambient, ztunnel carries every connection in mutual TLS (HBONE) whatever a rule says,
    // so the rules state ISTIO_MUTUAL only for sidecars.
    const mtls = !ambient;
    if (gatewayApi) {
      this.destinationRules = args.versions.map(({ version }) =>
        istioResource(
          `${name}-${version}-dr`,
          {
            kind: "DestinationRule",
            metadata: {
              name: versionServiceName(name, version),
              namespace: args.namespace,
            },
            spec: destinationRuleSpec(
              serviceHost(versionServiceName(name, version), args.namespace),
              [],
              policy,
              mtls,
            ),
          },
          istio,
        ),
      );
      this.route = gatewayApiResource(
        `${name}-route`,
        {
          kind: "HTTPRoute",
          metadata: { name, namespace: args.namespace },
          spec: meshHTTPRouteSpec(name, port, args.versions, policy),
        },
        // A backend Service that does not exist yet fails the route's requests.
        {
          parent: this,
          mesh,
          dependsOn: [
            ...deps,
            this.service,
            ...Object.values(this.versionServices),
          ],
        },
      );
    } else {
      const destinationRule = istioResource(
        `${name}-dr`,
        {
          kind: "DestinationRule",
          metadata: { name, namespace: args.namespace },
          spec: destinationRuleSpec(
            this.host,
            args.versions.map((v) => v.version),
            policy,
            mtls,
          ),
        },
        istio,
      );
      this.destinationRules = [destinationRule];
      this.route = istioResource(
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
        { ...istio, dependsOn: [...deps, destinationRule] },
      );
    }

    this.authorizationPolicies = serviceAllowPolicies({
      dataplane: mesh.dataplane,
      service: name,
      namespace: args.namespace,
      versionServices: gatewayApi
        ? args.versions.map((v) => versionServiceName(name, v.version))
        : [],
      allow: args.allow,
    }).map((p) =>
      istioResource(
        `${name}-${p.suffix}`,
        {
          kind: "AuthorizationPolicy",
          metadata: { name: `${name}-${p.suffix}`, namespace: args.namespace },
          spec: p.spec,
        },
        istio,
      ),
    );

    this.registerOutputs({
      host: this.host,
      versions: args.versions.map((v) => v.version),
    });
  }
}
