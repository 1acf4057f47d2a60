// Specs of the Istio networking resources, as typed plain data: the components wrap them in
// Istio resources and the unit tests check them directly.
import {
  DEFAULT_ROUTING_POLICY,
  type DestinationRuleSpec,
  type Destination,
  type Fault,
  type GatewaySpec,
  type HTTPFaultInjection,
  type HTTPRetry,
  type HTTPRoute,
  type HTTPRouteDestination,
  type LoadBalancerSettings,
  type RoutingPolicy,
  subsetLabels,
  type TrafficPolicy,
  type VersionWeight,
  type VirtualServiceSpec,
} from "../core";

function loadBalancerSettings(p: RoutingPolicy): LoadBalancerSettings {
  if ("simple" in p.loadBalancer) {
    return { simple: p.loadBalancer.simple };
  }
  const hash = p.loadBalancer.consistentHash;
  return {
    consistentHash:
      "header" in hash
        ? { httpHeaderName: hash.header }
        : { httpCookie: { name: hash.cookie, ttl: "3600s" } },
  };
}

/**
 * The DestinationRule's trafficPolicy: balancing, connection limits, ejection and, for sidecars
 * (`mtls`), Istio's mutual TLS.
 */
export function trafficPolicySpec(
  p: RoutingPolicy,
  mtls = true,
): TrafficPolicy {
  return {
    loadBalancer: loadBalancerSettings(p),
    connectionPool: {
      tcp: { maxConnections: p.connectionPool.maxConnections },
      http: {
        http1MaxPendingRequests: p.connectionPool.maxPendingRequests,
        maxRetries: p.connectionPool.maxRetries,
      },
    },
    outlierDetection: { ...p.outlierDetection },
    // Istio's own certificates, as STRICT mTLS expects; stated so the rule says what it does.
    ...(mtls ? { tls: { mode: "ISTIO_MUTUAL" as const } } : {}),
  };
}

/**
 * One subset per version, each selecting the pods labelled with that version; no subsets for a
 * host that is a single version already (gateway-api routing's version Services).
 */
export function destinationRuleSpec(
  host: string,
  versions: readonly string[],
  policy: RoutingPolicy = DEFAULT_ROUTING_POLICY,
  mtls = true,
  /** The labels of a version's pods. Defaults to subsetLabels (`version: <name>`). */
  labelsOf: (version: string) => Record<string, string> = subsetLabels,
): DestinationRuleSpec {
  return {
    host,
    trafficPolicy: trafficPolicySpec(policy, mtls),
    ...(versions.length > 0
      ? { subsets: versions.map((v) => ({ name: v, labels: labelsOf(v) })) }
      : {}),
  };
}

/** The destination's response header naming its version, when the policy asks for one. */
export function versionHeaderOf(
  policy: RoutingPolicy,
  version: string,
): Pick<HTTPRouteDestination, "headers"> {
  return policy.versionHeader
    ? { headers: { response: { set: { [policy.versionHeader]: version } } } }
    : {};
}

/** In-mesh routing of an opaque TCP service: connections split over the subsets by weight. */
export function tcpVirtualServiceSpec(
  host: string,
  port: number,
  weights: readonly VersionWeight[],
): VirtualServiceSpec {
  return {
    hosts: [host],
    http: [],
    tcp: [
      {
        route: weights.map((w) => ({
          destination: { host, subset: w.version, port: { number: port } },
          weight: w.weight,
        })),
      },
    ],
  };
}

export function faultSpec(f: Fault): HTTPFaultInjection {
  return {
    ...(f.delay
      ? {
          delay: {
            percentage: { value: f.delay.percent },
            fixedDelay: f.delay.fixedDelay,
          },
        }
      : {}),
    ...(f.abort
      ? {
          abort: {
            percentage: { value: f.abort.percent },
            httpStatus: f.abort.httpStatus,
          },
        }
      : {}),
  };
}

/** Timeout and retries of a route; the same for a service's mesh route, its edge route and egress. */
export function resilienceSpec(policy: RoutingPolicy): {
  timeout: string;
  retries: HTTPRetry;
} {
  return {
    timeout: policy.timeout,
    retries:
      policy.retries.attempts === 0 ? { attempts: 0 } : { ...policy.retries },
  };
}

/** The fields a route carries for a fault, or none. */
const faultOf = (f: Fault | undefined): Pick<HTTPRoute, "fault"> =>
  f ? { fault: faultSpec(f) } : {};

/**
 * In-mesh routing for a versioned service: first one route per header rule (testers reach a
 * version on purpose), then the weighted route that splits everything else over the subsets.
 * A version with weight 0 stays listed, so the spec shows it is deployed but idle.
 */
export function weightedVirtualServiceSpec(
  host: string,
  port: number,
  weights: readonly VersionWeight[],
  policy: RoutingPolicy = DEFAULT_ROUTING_POLICY,
): VirtualServiceSpec {
  const destination = (subset: string): Destination => ({
    host,
    subset,
    port: { number: port },
  });
  const resilience = resilienceSpec(policy);
  const headerRoutes = policy.headerRoutes.map((h, i): HTTPRoute => ({
    name: `header-${i + 1}-${h.version}`,
    match: [{ headers: { [h.header]: { exact: h.value } } }],
    route: [
      {
        destination: destination(h.version),
        ...versionHeaderOf(policy, h.version),
      },
    ],
    ...resilience,
    ...faultOf(h.fault ?? policy.fault),
  }));
  const weighted: HTTPRoute = {
    name: "weighted",
    route: weights.map((w) => ({
      destination: destination(w.version),
      weight: w.weight,
      ...versionHeaderOf(policy, w.version),
    })),
    ...resilience,
    ...faultOf(policy.fault),
    ...(policy.mirror
      ? {
          mirror: destination(policy.mirror.version),
          mirrorPercentage: { value: policy.mirror.percent },
        }
      : {}),
  };
  return { hosts: [host], http: [...headerRoutes, weighted] };
}

/** An Istio Gateway accepting plain HTTP for any host on the gateway pods' `port`. */
export function gatewaySpec(
  selector: Record<string, string>,
  port: number,
): GatewaySpec {
  return {
    selector,
    servers: [
      { port: { number: port, name: "http", protocol: "HTTP" }, hosts: ["*"] },
    ],
  };
}

/** A versioned service as the gateway reaches it: its host, port and the weights of its subsets. */
export interface IngressTarget {
  /** The Service's name and namespace (Gateway API routes name Services, not hosts). */
  readonly service: string;
  readonly namespace: string;
  readonly host: string;
  readonly port: number;
  readonly versions: readonly VersionWeight[];
  /** The service's timeout, retries and fault, which the edge route must carry itself. */
  readonly policy: RoutingPolicy;
}

/** A route from the ingress gateway to a versioned service, for the requests whose path matches. */
export interface IngressRoute {
  /** Route name, shown in Envoy's stats and access logs. */
  readonly name: string;
  /** Exact paths; a request matching any of them or any prefix takes this route. */
  readonly exact?: readonly string[];
  /** Path prefixes. An empty exact and prefix list matches every request. */
  readonly prefixes?: readonly string[];
  readonly target: IngressTarget;
}

/**
 * The VirtualService bound to the gateway; routes are tried in the order given. A service's own
 * in-mesh VirtualService does not apply to traffic entering through a gateway (it is bound to the
 * `mesh` gateway only), so the edge route carries the target's subsets, weights, timeout, retries
 * and fault itself: otherwise edge requests would have no timeout and a chaos drill on a service
 * reached only from outside would do nothing.
 */
export function ingressVirtualServiceSpec(
  gateway: string,
  routes: readonly IngressRoute[],
): VirtualServiceSpec {
  return {
    hosts: ["*"],
    gateways: [gateway],
    http: routes.map((r): HTTPRoute => {
      const match = [
        ...(r.exact ?? []).map((p) => ({ uri: { exact: p } })),
        ...(r.prefixes ?? []).map((p) => ({ uri: { prefix: p } })),
      ];
      return {
        name: r.name,
        ...(match.length > 0 ? { match } : {}),
        route: r.target.versions.map((v) => ({
          destination: {
            host: r.target.host,
            subset: v.version,
            port: { number: r.target.port },
          },
          weight: v.weight,
          ...versionHeaderOf(r.target.policy, v.version),
        })),
        ...resilienceSpec(r.target.policy),
        ...faultOf(r.target.policy.fault),
      };
    }),
  };
}
