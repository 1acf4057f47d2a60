// The routing children of a VersionedService: its DestinationRule(s), the resource holding the
// weights (a VirtualService, or an HTTPRoute with the Gateway API) and its ALLOW policies. Built
// here so the component itself stays a list of what it owns.
import type * as k8s from "@pulumi/kubernetes";
import type * as pulumi from "@pulumi/pulumi";
import {
  gatewayApiResource,
  istioResource,
  type Mesh,
  type RoutingPolicy,
  serviceHost,
  versionServiceName,
  type VersionWeight,
} from "../core";
import {
  type AllowRule,
  type CallTarget,
  destinationRuleSpec,
  exportToOf,
  meshHTTPRouteSpec,
  serviceAllowPolicies,
  serviceCallTarget,
  tcpVirtualServiceSpec,
  weightedVirtualServiceSpec,
} from "../specs";

export interface ServiceRoutingArgs {
  readonly mesh: Mesh;
  readonly name: string;
  readonly namespace: string;
  readonly port: number;
  readonly versions: readonly VersionWeight[];
  readonly policy: RoutingPolicy;
  /** Split connections, not requests (an opaque TCP service; istio routing API only). */
  readonly tcp: boolean;
  /** The labels of a version's subset. */
  readonly subsetLabelsOf: (version: string) => Record<string, string>;
  readonly parent: pulumi.Resource;
  readonly dependsOn: readonly pulumi.Resource[];
  /** What the route must wait for: the Service and, with the Gateway API, the version Services. */
  readonly backends: readonly pulumi.Resource[];
  /** Who may call the service, one rule per caller group (serviceAllowPolicies). */
  readonly allow: readonly AllowRule[];
  /** The pods the sidecar policies select. */
  readonly podSelector: Record<string, string>;
}

/** A service's routing children on any mesh, and what its callers' Sidecars import for it. */
export interface MeshRouting {
  /** Istio's DestinationRules; none on Linkerd. */
  readonly destinationRules: k8s.apiextensions.CustomResource[];
  /** What holds the weights: a VirtualService or an HTTPRoute. */
  readonly route: k8s.apiextensions.CustomResource;
  readonly authorizationPolicies: k8s.apiextensions.CustomResource[];
  readonly callTarget: CallTarget;
}

/**
 * The DestinationRules, the weighted route and the ALLOW policies of one service, and what its
 * callers' Sidecars import for it. With mesh.scopeProxies the rules and the VirtualService are
 * exported only to the callers' namespaces (an HTTPRoute has no exportTo: the Sidecars scope it).
 */
export function createServiceRouting(a: ServiceRoutingArgs): MeshRouting {
  const { mesh, name, namespace, port, policy } = a;
  const istio = { parent: a.parent, mesh, dependsOn: [...a.dependsOn] };
  const versionServices =
    mesh.routingApi === "gateway-api"
      ? a.versions.map((v) => versionServiceName(name, v.version))
      : [];
  const callTarget = serviceCallTarget(
    namespace,
    [name, ...versionServices],
    a.allow,
  );
  const authorizationPolicies = serviceAllowPolicies({
    dataplane: mesh.dataplane,
    service: name,
    namespace,
    versionServices,
    allow: a.allow,
    podSelector: a.podSelector,
  }).map((p) =>
    istioResource(
      `${name}-${p.suffix}`,
      {
        kind: "AuthorizationPolicy",
        metadata: { name: `${name}-${p.suffix}`, namespace },
        spec: p.spec,
      },
      istio,
    ),
  );
  const exported = mesh.scopeProxies
    ? { exportTo: exportToOf(namespace, callTarget.callers) }
    : {};
  // In ambient, ztunnel carries every connection in mutual TLS (HBONE) whatever a rule says,
  // so the rules state ISTIO_MUTUAL only for sidecars.
  const mtls = mesh.dataplane !== "ambient";
  if (mesh.routingApi === "gateway-api") {
    const destinationRules = a.versions.map(({ version }) =>
      istioResource(
        `${name}-${version}-dr`,
        {
          kind: "DestinationRule",
          metadata: { name: versionServiceName(name, version), namespace },
          spec: {
            ...destinationRuleSpec(
              serviceHost(versionServiceName(name, version), namespace),
              [],
              policy,
              mtls,
            ),
            ...exported,
          },
        },
        istio,
      ),
    );
    const route = gatewayApiResource(
      `${name}-route`,
      {
        kind: "HTTPRoute",
        metadata: { name, namespace },
        spec: meshHTTPRouteSpec(name, port, a.versions, policy),
      },
      // A backend Service that does not exist yet fails the route's requests.
      { ...istio, dependsOn: [...a.dependsOn, ...a.backends] },
    );
    return { destinationRules, route, authorizationPolicies, callTarget };
  }
  const host = serviceHost(name, namespace);
  const destinationRule = istioResource(
    `${name}-dr`,
    {
      kind: "DestinationRule",
      metadata: { name, namespace },
      spec: {
        ...destinationRuleSpec(
          host,
          a.versions.map((v) => v.version),
          policy,
          mtls,
          a.subsetLabelsOf,
        ),
        ...exported,
      },
    },
    istio,
  );
  const route = istioResource(
    `${name}-vs`,
    {
      kind: "VirtualService",
      metadata: { name, namespace },
      spec: {
        ...(a.tcp
          ? tcpVirtualServiceSpec(host, port, a.versions)
          : weightedVirtualServiceSpec(host, port, a.versions, policy)),
        ...exported,
      },
    },
    // Routing to a subset that does not exist yet fails requests: the rule comes first.
    { ...istio, dependsOn: [...a.dependsOn, destinationRule] },
  );
  return {
    destinationRules: [destinationRule],
    route,
    authorizationPolicies,
    callTarget,
  };
}
