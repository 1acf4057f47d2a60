// The traffic policy of a versioned service: how its DestinationRule balances and protects the
// upstream, and how its VirtualService times out, retries, injects faults, routes by header and
// mirrors. Plain data: config/ reads it from the stack config, specs/routing.ts turns it into
// Istio specs.
import type { SimpleLB } from "./istioApi";

/** One deployed version of a service and the share of traffic (percent) it receives. */
export interface VersionWeight {
  readonly version: string;
  readonly weight: number;
}

/** ROUND_ROBIN, LEAST_REQUEST, RANDOM, or consistent hashing on a header or a cookie. */
export type LoadBalancer =
  | { simple: SimpleLB }
  | { consistentHash: { header: string } | { cookie: string } };

export interface ConnectionPool {
  /** Most TCP connections to the whole service. */
  readonly maxConnections: number;
  /** Most requests queued while waiting for a connection. */
  readonly maxPendingRequests: number;
  /** Most retries outstanding to the whole service at once. */
  readonly maxRetries: number;
}

export interface OutlierDetection {
  /** Consecutive 5xx answers that eject a pod. */
  readonly consecutive5xxErrors: number;
  /** How often pods are scanned. */
  readonly interval: string;
  /** Minimum ejection time (grows with each ejection). */
  readonly baseEjectionTime: string;
  /** Most pods ejected at once, in percent. */
  readonly maxEjectionPercent: number;
}

export interface Retries {
  /** Attempts after the first; 0 turns retries off. */
  readonly attempts: number;
  readonly perTryTimeout: string;
  /** Envoy retry conditions, comma separated. */
  readonly retryOn: string;
}

/** Fault injection for chaos drills: a delay, an abort, or both. */
export interface Fault {
  readonly delay?: { readonly percent: number; readonly fixedDelay: string };
  readonly abort?: { readonly percent: number; readonly httpStatus: number };
}

/** Requests whose header equals a value go to one version, whatever the weights say. */
export interface HeaderRoute {
  readonly header: string;
  readonly value: string;
  readonly version: string;
  /** A fault for these requests only (e.g. Bookinfo's ratings drill for one user). */
  readonly fault?: Fault;
}

export interface RoutingPolicy {
  readonly loadBalancer: LoadBalancer;
  readonly connectionPool: ConnectionPool;
  readonly outlierDetection: OutlierDetection;
  /** Whole-request timeout, retries included. */
  readonly timeout: string;
  readonly retries: Retries;
  /** A fault for every request of the weighted route. */
  readonly fault?: Fault;
  /** Matched in order, before the weighted route. */
  readonly headerRoutes: HeaderRoute[];
  /** Copy a share of the weighted route's traffic to a version; its answers are dropped. */
  readonly mirror?: { readonly version: string; readonly percent: number };
  /**
   * A response header naming the version that answered (`npm run traffic -- --service` counts
   * it). Defaults to none: the demo's backend names its version in the body.
   */
  readonly versionHeader?: string;
}

/** The response header declared services' routes set to the version that answered. */
export const VERSION_HEADER = "x-mesh-version";

/** Conservative defaults, on for every versioned service. */
export const DEFAULT_ROUTING_POLICY: RoutingPolicy = {
  loadBalancer: { simple: "LEAST_REQUEST" },
  connectionPool: {
    maxConnections: 100,
    maxPendingRequests: 100,
    maxRetries: 10,
  },
  outlierDetection: {
    consecutive5xxErrors: 5,
    interval: "10s",
    baseEjectionTime: "30s",
    maxEjectionPercent: 50,
  },
  timeout: "10s",
  retries: {
    attempts: 2,
    perTryTimeout: "3s",
    retryOn: "connect-failure,refused-stream,unavailable,cancelled,503",
  },
  headerRoutes: [],
};
