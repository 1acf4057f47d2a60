// Specs of the Istio networking resources, as plain data: the components wrap them in
// CustomResources and the tests check them directly.
import { VersionWeight } from "./config";
import { DEFAULT_ROUTING_POLICY, Fault, RoutingPolicy } from "./routingPolicy";
import { subsetLabels } from "./labels";

export const NETWORKING_API = "networking.istio.io/v1";

/** The DestinationRule's trafficPolicy: balancing, connection limits, ejection and mesh mTLS. */
export function trafficPolicySpec(p: RoutingPolicy) {
  const lb =
    "simple" in p.loadBalancer
      ? { simple: p.loadBalancer.simple }
      : {
          consistentHash:
            "header" in p.loadBalancer.consistentHash
              ? { httpHeaderName: p.loadBalancer.consistentHash.header }
              : {
                  httpCookie: {
                    name: p.loadBalancer.consistentHash.cookie,
                    ttl: "3600s",
                  },
                },
        };
  return {
    loadBalancer: lb,
    connectionPool: {
      tcp: { maxConnections: p.connectionPool.maxConnections },
      http: {
        http1MaxPendingRequests: p.connectionPool.maxPendingRequests,
        maxRetries: p.connectionPool.maxRetries,
      },
    },
    outlierDetection: { ...p.outlierDetection },
    // Istio's own certificates, as STRICT mTLS expects; stated so the rule says what it does.
    tls: { mode: "ISTIO_MUTUAL" },
  };
}

/** One subset per version, each selecting the pods labelled with that version. */
export function destinationRuleSpec(
  host: string,
  versions: string[],
  policy: RoutingPolicy = DEFAULT_ROUTING_POLICY,
) {
  return {
    host,
    trafficPolicy: trafficPolicySpec(policy),
    subsets: versions.map((v) => ({ name: v, labels: subsetLabels(v) })),
  };
}

function faultSpec(f: Fault) {
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

/** Timeout and retries of a route; the same for a service's mesh route and its edge route. */
function resilienceSpec(policy: RoutingPolicy) {
  return {
    timeout: policy.timeout,
    retries:
      policy.retries.attempts === 0 ? { attempts: 0 } : { ...policy.retries },
  };
}

/**
 * In-mesh routing for a versioned service: first one route per header rule (testers reach a
 * version on purpose), then the weighted route that splits everything else over the subsets.
 * A version with weight 0 stays listed, so the spec shows it is deployed but idle.
 */
export function weightedVirtualServiceSpec(
  host: string,
  port: number,
  weights: VersionWeight[],
  policy: RoutingPolicy = DEFAULT_ROUTING_POLICY,
) {
  const destination = (subset: string) => ({
    host,
    subset,
    port: { number: port },
  });
  const resilience = resilienceSpec(policy);
  const headerRoutes = policy.headerRoutes.map((h, i) => {
    const fault = h.fault ?? policy.fault;
    return {
      name: `header-${i + 1}-${h.version}`,
      match: [{ headers: { [h.header]: { exact: h.value } } }],
      route: [{ destination: destination(h.version) }],
      ...resilience,
      ...(fault ? { fault: faultSpec(fault) } : {}),
    };
  });
  const weighted = {
    name: "weighted",
    route: weights.map((w) => ({
      destination: destination(w.version),
      weight: w.weight,
    })),
    ...resilience,
    ...(policy.fault ? { fault: faultSpec(policy.fault) } : {}),
    ...(policy.mirror
      ? {
          mirror: destination(policy.mirror.version),
          mirrorPercentage: { value: policy.mirror.percent },
        }
      : {}),
  };
  return { hosts: [host], http: [...headerRoutes, weighted] };
}

/** An Istio Gateway accepting plain HTTP for any host on the gateway pods' port 80. */
export function gatewaySpec(selector: Record<string, string>, port: number) {
  return {
    selector,
    servers: [
      { port: { number: port, name: "http", protocol: "HTTP" }, hosts: ["*"] },
    ],
  };
}

/** A versioned service as the gateway reaches it: its host, port and the weights of its subsets. */
export interface IngressTarget {
  readonly host: string;
  readonly port: number;
  readonly versions: VersionWeight[];
  /** The service's timeout, retries and fault, which the edge route must carry itself. */
  readonly policy: RoutingPolicy;
}

/** A route from the ingress gateway to a versioned service, for the requests whose path matches. */
export interface IngressRoute {
  /** Route name, shown in Envoy's stats and access logs. */
  readonly name: string;
  /** Exact paths; a request matching any of them or any prefix takes this route. */
  readonly exact?: string[];
  /** Path prefixes. An empty exact and prefix list matches every request. */
  readonly prefixes?: string[];
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
  routes: IngressRoute[],
) {
  return {
    hosts: ["*"],
    gateways: [gateway],
    http: routes.map((r) => {
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
        })),
        ...resilienceSpec(r.target.policy),
        ...(r.target.policy.fault
          ? { fault: faultSpec(r.target.policy.fault) }
          : {}),
      };
    }),
  };
}
