// Specs of the Gateway API resources, as typed plain data: the same canary as the Istio specs
// (routing.ts), for routing.api gateway-api. In the Gateway API a version is a Service of its
// own (HTTPRoute backends are Services; DestinationRule subsets cannot be used from an
// HTTPRoute), so a weight is a backendRef weight and a header canary a match on the rule.
import {
  type BackendRef,
  DEFAULT_ROUTING_POLICY,
  GATEWAY_HTTP_PORT,
  type HTTPRouteRule,
  type HTTPRouteSpec,
  type KubernetesGatewaySpec,
  type ReferenceGrantSpec,
  type Resources,
  type RoutingPolicy,
  type VersionWeight,
  versionServiceName,
} from "../core";
import type { IngressServiceType } from "../config";
import type { IngressRoute } from "./routing";

/** A version's Service as a backend, optionally in another namespace and with a weight. */
function versionBackend(
  service: string,
  version: string,
  port: number,
  extra: { namespace?: string; weight?: number; versionHeader?: string } = {},
): BackendRef {
  return {
    name: versionServiceName(service, version),
    ...(extra.namespace ? { namespace: extra.namespace } : {}),
    port,
    ...(extra.weight !== undefined ? { weight: extra.weight } : {}),
    // Istio turns a backendRef's filter into the destination's headers (as versionHeaderOf).
    ...(extra.versionHeader
      ? {
          filters: [
            {
              type: "ResponseHeaderModifier" as const,
              responseHeaderModifier: {
                set: [{ name: extra.versionHeader, value: version }],
              },
            },
          ],
        }
      : {}),
  };
}

/** The whole-request timeout. Retries have no standard-channel field: Istio's default applies. */
const timeoutsOf = (policy: RoutingPolicy) => ({
  timeouts: { request: policy.timeout },
});

/**
 * In-mesh routing for a versioned service (GAMMA): an HTTPRoute whose parent is the service's
 * own Service, so it applies to every caller of that Service (at the caller's sidecar, or at the
 * waypoint in ambient). One rule per header canary first, then the weighted rule over the
 * per-version Services, which also mirrors a share of its requests when asked. A version at
 * weight 0 stays listed, so the spec shows it is deployed but idle.
 */
export function meshHTTPRouteSpec(
  service: string,
  port: number,
  weights: readonly VersionWeight[],
  policy: RoutingPolicy = DEFAULT_ROUTING_POLICY,
): HTTPRouteSpec {
  const headerRules = policy.headerRoutes.map((h, i): HTTPRouteRule => ({
    name: `header-${i + 1}-${h.version}`,
    matches: [{ headers: [{ type: "Exact", name: h.header, value: h.value }] }],
    backendRefs: [
      versionBackend(service, h.version, port, {
        versionHeader: policy.versionHeader,
      }),
    ],
    ...timeoutsOf(policy),
  }));
  const weighted: HTTPRouteRule = {
    name: "weighted",
    backendRefs: weights.map((w) =>
      versionBackend(service, w.version, port, {
        weight: w.weight,
        versionHeader: policy.versionHeader,
      }),
    ),
    ...(policy.mirror
      ? {
          filters: [
            {
              type: "RequestMirror",
              requestMirror: {
                backendRef: versionBackend(
                  service,
                  policy.mirror.version,
                  port,
                ),
                percent: policy.mirror.percent,
              },
            },
          ],
        }
      : {}),
    ...timeoutsOf(policy),
  };
  return {
    parentRefs: [{ group: "", kind: "Service", name: service, port }],
    rules: [...headerRules, weighted],
  };
}

/**
 * The edge routes, attached to the ingress Gateway. As with Istio's API, a service's mesh route
 * does not apply to traffic entering through a gateway, so each edge rule carries the target's
 * weights and timeout itself. Gateway API orders rules by match precedence (exact paths before
 * prefixes, longer prefixes first), which keeps Bookinfo's exact paths ahead of the demo's "/".
 */
export function ingressHTTPRouteSpec(
  gateway: { readonly name: string; readonly namespace: string },
  routes: readonly IngressRoute[],
): HTTPRouteSpec {
  return {
    parentRefs: [
      {
        group: "gateway.networking.k8s.io",
        kind: "Gateway",
        name: gateway.name,
        namespace: gateway.namespace,
      },
    ],
    rules: routes.map((r): HTTPRouteRule => {
      const matches = [
        ...(r.exact ?? []).map((value) => ({
          path: { type: "Exact" as const, value },
        })),
        ...(r.prefixes ?? []).map((value) => ({
          path: { type: "PathPrefix" as const, value },
        })),
      ];
      return {
        name: r.name,
        ...(matches.length > 0 ? { matches } : {}),
        backendRefs: r.target.versions.map((v) =>
          versionBackend(r.target.service, v.version, r.target.port, {
            namespace: r.target.namespace,
            weight: v.weight,
            versionHeader: r.target.policy.versionHeader,
          }),
        ),
        ...timeoutsOf(r.target.policy),
      };
    }),
  };
}

/**
 * The ingress Gateway: class `istio`, so istiod deploys its proxy (Deployment and Service
 * "<name>-istio") and sizes it from the `parameters` ConfigMap. Plain HTTP on port 80 for any
 * host; only routes in its own namespace attach.
 */
export function ingressGatewaySpec(parameters: string): KubernetesGatewaySpec {
  return {
    gatewayClassName: "istio",
    listeners: [
      {
        name: "http",
        port: GATEWAY_HTTP_PORT,
        protocol: "HTTP",
        allowedRoutes: { namespaces: { from: "Same" } },
      },
    ],
    infrastructure: {
      parametersRef: { group: "", kind: "ConfigMap", name: parameters },
    },
  };
}

/**
 * The overlays istiod merges into what it deploys for a Gateway (strategic merge patches, keyed
 * `deployment` and `service`): the proxy's requests and limits, and the Service type. JSON is
 * YAML, so each overlay is written as JSON.
 */
export function gatewayParameters(
  resources: Resources,
  serviceType: IngressServiceType,
): Record<"deployment" | "service", string> {
  return {
    deployment: JSON.stringify({
      spec: {
        template: {
          spec: { containers: [{ name: "istio-proxy", resources }] },
        },
      },
    }),
    service: JSON.stringify({ spec: { type: serviceType } }),
  };
}

/**
 * A namespace's waypoint: class `istio-waypoint`, which istiod deploys; it takes HBONE traffic
 * on 15008 from ztunnel and applies the L7 routing and policy of the Services that use it.
 */
export function waypointSpec(): KubernetesGatewaySpec {
  return {
    gatewayClassName: "istio-waypoint",
    listeners: [{ name: "mesh", port: 15008, protocol: "HBONE" }],
  };
}

/** Lets HTTPRoutes in `fromNamespace` (the ingress) send to the Services of this namespace. */
export function referenceGrantSpec(fromNamespace: string): ReferenceGrantSpec {
  return {
    from: [
      {
        group: "gateway.networking.k8s.io",
        kind: "HTTPRoute",
        namespace: fromNamespace,
      },
    ],
    to: [{ group: "", kind: "Service" }],
  };
}
