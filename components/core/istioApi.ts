// The Istio resources this stack emits, typed for exactly the fields it sets. Field names and
// enum values are Istio's (the CRD schemas of the pinned release, manifests/charts/base/files/
// crd-all.gen.yaml); a field we do not set is left out rather than guessed. Hand-written on
// purpose: the schemas of these eight kinds fill about 12,000 lines of that YAML (every kind once
// per served version), and a generator would have to be pinned and run offline as well. The test
// bed applies every spec to a real API server with the CRDs installed and runs
// `istioctl analyze`, which checks these types against the schemas themselves.

// ---- networking.istio.io/v1 ----

/** A port of a Service, by number. */
export interface PortSelector {
  readonly number: number;
}

/** Where a route sends traffic: a host, optionally one subset and port. */
export interface Destination {
  readonly host: string;
  readonly subset?: string;
  readonly port?: PortSelector;
}

/** Istio's Percent: a double from 0 to 100. */
export interface Percent {
  readonly value: number;
}

export interface HTTPFaultInjection {
  readonly delay?: {
    readonly percentage: Percent;
    readonly fixedDelay: string;
  };
  readonly abort?: {
    readonly percentage: Percent;
    readonly httpStatus: number;
  };
}

/** `attempts: 0` alone turns retries off. */
export interface HTTPRetry {
  readonly attempts: number;
  readonly perTryTimeout?: string;
  readonly retryOn?: string;
}

export interface StringMatch {
  readonly exact?: string;
  readonly prefix?: string;
}

export interface HTTPMatchRequest {
  readonly uri?: StringMatch;
  readonly headers?: Readonly<Record<string, StringMatch>>;
}

export interface HTTPRouteDestination {
  readonly destination: Destination;
  readonly weight?: number;
  /** Headers set on the requests to, or the responses from, this destination. */
  readonly headers?: {
    readonly response?: { readonly set: Readonly<Record<string, string>> };
  };
}

/** A route for opaque TCP: connections, not requests, are split. */
export interface TCPRoute {
  readonly route: readonly HTTPRouteDestination[];
}

export interface HTTPRoute {
  readonly name: string;
  readonly match?: readonly HTTPMatchRequest[];
  readonly route: readonly HTTPRouteDestination[];
  readonly timeout: string;
  readonly retries: HTTPRetry;
  readonly fault?: HTTPFaultInjection;
  readonly mirror?: Destination;
  readonly mirrorPercentage?: Percent;
}

export interface VirtualServiceSpec {
  readonly hosts: readonly string[];
  /** Omitted: the route applies inside the mesh (the implicit `mesh` gateway). */
  readonly gateways?: readonly string[];
  /** Empty for an opaque TCP service, whose routes are `tcp`. */
  readonly http: readonly HTTPRoute[];
  readonly tcp?: readonly TCPRoute[];
}

export type SimpleLB = "ROUND_ROBIN" | "LEAST_REQUEST" | "RANDOM";

export type LoadBalancerSettings =
  | { readonly simple: SimpleLB }
  | {
      readonly consistentHash:
        | { readonly httpHeaderName: string }
        | {
            readonly httpCookie: {
              readonly name: string;
              readonly ttl: string;
            };
          };
    };

export interface ConnectionPoolSettings {
  readonly tcp: { readonly maxConnections: number };
  readonly http: {
    readonly http1MaxPendingRequests: number;
    readonly maxRetries: number;
  };
}

export interface OutlierDetectionSettings {
  readonly consecutive5xxErrors: number;
  readonly interval: string;
  readonly baseEjectionTime: string;
  readonly maxEjectionPercent: number;
}

export interface TrafficPolicy {
  readonly loadBalancer: LoadBalancerSettings;
  readonly connectionPool: ConnectionPoolSettings;
  readonly outlierDetection: OutlierDetectionSettings;
  /** Omitted in ambient, where ztunnel encrypts every connection itself. */
  readonly tls?: { readonly mode: "ISTIO_MUTUAL" };
}

export interface Subset {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
}

export interface DestinationRuleSpec {
  readonly host: string;
  readonly trafficPolicy: TrafficPolicy;
  /** Omitted for a host that is one version already. */
  readonly subsets?: readonly Subset[];
}

export interface GatewayServer {
  readonly port: {
    readonly number: number;
    readonly name: string;
    readonly protocol: "HTTP";
  };
  readonly hosts: readonly string[];
}

export interface GatewaySpec {
  /** Labels of the gateway pods that serve it. */
  readonly selector: Readonly<Record<string, string>>;
  readonly servers: readonly GatewayServer[];
}

// ---- networking.istio.io/v1alpha3 (EnvoyFilter has no v1) ----

export interface EnvoyConfigObjectPatch {
  readonly applyTo: "HTTP_FILTER";
  readonly match: {
    readonly context: "GATEWAY";
    readonly listener: {
      readonly filterChain: { readonly filter: { readonly name: string } };
    };
  };
  readonly patch: {
    readonly operation: "INSERT_FIRST";
    /** Envoy configuration; Istio's schema leaves it open (a protobuf Struct). */
    readonly value: Readonly<Record<string, unknown>>;
  };
}

export interface EnvoyFilterSpec {
  readonly workloadSelector: {
    readonly labels: Readonly<Record<string, string>>;
  };
  readonly configPatches: readonly EnvoyConfigObjectPatch[];
}

// ---- security.istio.io/v1 ----

export type MtlsMode = "STRICT" | "PERMISSIVE";

export interface PeerAuthenticationSpec {
  readonly mtls: { readonly mode: MtlsMode };
}

export interface WorkloadSelector {
  readonly matchLabels: Readonly<Record<string, string>>;
}

export interface AuthorizationRule {
  readonly from?: readonly {
    readonly source: {
      readonly principals?: readonly string[];
      readonly requestPrincipals?: readonly string[];
    };
  }[];
  readonly to?: readonly {
    readonly operation: {
      readonly methods?: readonly string[];
      readonly paths?: readonly string[];
    };
  }[];
}

/**
 * A policy reference to a Kubernetes object: in ambient mode a policy that names a Service is
 * enforced by the waypoint serving that Service (L7), not by ztunnel.
 */
export interface PolicyTargetReference {
  readonly group: "";
  readonly kind: "Service";
  readonly name: string;
}

/**
 * An empty spec (no selector, no rules) denies every request in its namespace. A policy has a
 * selector (enforced by the workloads' sidecars, or in ambient by ztunnel at L4) or targetRefs
 * (enforced by a waypoint), never both.
 */
export interface AuthorizationPolicySpec {
  readonly selector?: WorkloadSelector;
  readonly targetRefs?: readonly PolicyTargetReference[];
  readonly action?: "ALLOW";
  readonly rules?: readonly AuthorizationRule[];
}

/** Exactly one of jwksUri and jwks. */
export interface JWTRule {
  readonly issuer: string;
  readonly jwksUri?: string;
  readonly jwks?: string;
}

export interface RequestAuthenticationSpec {
  readonly selector: WorkloadSelector;
  readonly jwtRules: readonly JWTRule[];
}

// ---- telemetry.istio.io/v1 ----

export interface TelemetrySpec {
  readonly tracing: readonly {
    /** Names of meshConfig.extensionProviders. */
    readonly providers: readonly { readonly name: string }[];
    readonly randomSamplingPercentage: number;
  }[];
}

// ---- kinds ----

/** The spec type of every kind this stack emits. */
export interface IstioSpecs {
  Gateway: GatewaySpec;
  VirtualService: VirtualServiceSpec;
  DestinationRule: DestinationRuleSpec;
  EnvoyFilter: EnvoyFilterSpec;
  PeerAuthentication: PeerAuthenticationSpec;
  AuthorizationPolicy: AuthorizationPolicySpec;
  RequestAuthentication: RequestAuthenticationSpec;
  Telemetry: TelemetrySpec;
}

export type IstioKind = keyof IstioSpecs;

/** The API version each kind is written in: v1 wherever Istio serves it. */
export const ISTIO_API_VERSIONS: { readonly [K in IstioKind]: string } = {
  Gateway: "networking.istio.io/v1",
  VirtualService: "networking.istio.io/v1",
  DestinationRule: "networking.istio.io/v1",
  EnvoyFilter: "networking.istio.io/v1alpha3",
  PeerAuthentication: "security.istio.io/v1",
  AuthorizationPolicy: "security.istio.io/v1",
  RequestAuthentication: "security.istio.io/v1",
  Telemetry: "telemetry.istio.io/v1",
};
