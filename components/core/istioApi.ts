// The Istio resources this stack emits, typed for exactly the fields it sets. Field names and
// enum values are Istio's (the CRD schemas of the pinned release, manifests/charts/base/files/
// crd-all.gen.yaml); a field we do not set is left out rather than guessed. Hand-written on
// purpose: the schemas of these kinds fill about 12,000 lines of that YAML (every kind once
// per served version), and a generator would have to be pinned and run offline as well. The test
// bed applies every spec to a real API server with the CRDs installed and runs
// `istioctl analyze`, which checks these types against the schemas themselves.

import type {
  AuthorizationPolicySpec,
  PeerAuthenticationSpec,
  RequestAuthenticationSpec,
  TelemetrySpec,
} from "./istioPolicyApi";

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
  /** Gateways the match applies to (`mesh` for sidecars); omitted, the VirtualService's. */
  readonly gateways?: readonly string[];
  readonly port?: number;
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

/** Where a TCP or TLS route applies: gateways (`mesh` for sidecars) and a port. */
export interface L4MatchAttributes {
  readonly gateways?: readonly string[];
  readonly port?: number;
}

/** A route for opaque TCP: connections, not requests, are split. */
export interface TCPRoute {
  readonly match?: readonly L4MatchAttributes[];
  readonly route: readonly HTTPRouteDestination[];
}

/** A route for TLS the caller originates, matched by its SNI and passed through unread. */
export interface TLSRoute {
  readonly match: readonly (L4MatchAttributes & {
    readonly sniHosts: readonly string[];
  })[];
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
  readonly tls?: readonly TLSRoute[];
  readonly tcp?: readonly TCPRoute[];
  /** Namespaces whose proxies import it (`.`: its own); omitted, every namespace. */
  readonly exportTo?: readonly string[];
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
  /** Per-port TLS: to an egress gateway (Istio's, with the host as SNI), or to an external host. */
  readonly portLevelSettings?: readonly PortTLSSettings[];
}

export interface PortTLSSettings {
  readonly port: PortSelector;
  readonly tls: {
    readonly mode: "ISTIO_MUTUAL" | "SIMPLE";
    readonly sni: string;
    /** The names the server's certificate must carry (SIMPLE: the host). */
    readonly subjectAltNames?: readonly string[];
  };
}

export interface Subset {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly trafficPolicy?: {
    readonly portLevelSettings: readonly PortTLSSettings[];
  };
}

export interface DestinationRuleSpec {
  readonly host: string;
  readonly trafficPolicy: TrafficPolicy;
  /** Omitted for a host that is one version already. */
  readonly subsets?: readonly Subset[];
  /** Namespaces whose proxies import it (`.`: its own); omitted, every namespace. */
  readonly exportTo?: readonly string[];
}

/**
 * The outbound config of the sidecars a selector picks: only the listed hosts, each written
 * `<namespace>/<host>` (`<namespace>/*`: all of that namespace's). Gateways ignore it.
 */
export interface SidecarSpec {
  readonly workloadSelector: {
    readonly labels: Readonly<Record<string, string>>;
  };
  readonly egress: readonly { readonly hosts: readonly string[] }[];
}

export interface GatewayServer {
  readonly port: {
    readonly number: number;
    readonly name: string;
    /** HTTPS and TLS with ISTIO_MUTUAL: the mesh's mutual TLS around HTTP, or around the caller's TLS. */
    readonly protocol: "HTTP" | "HTTPS" | "TLS";
  };
  readonly hosts: readonly string[];
  readonly tls?: { readonly mode: "ISTIO_MUTUAL" };
}

/** An external host the mesh may call; DNS resolution, so a gateway can route to it. */
export interface ServiceEntrySpec {
  readonly hosts: readonly string[];
  readonly location: "MESH_EXTERNAL";
  readonly resolution: "DNS";
  readonly ports: readonly {
    readonly number: number;
    readonly name: string;
    readonly protocol: "HTTP" | "TLS";
    /** The host's own port, when callers dial another (TLS origination: 80 -> 443). */
    readonly targetPort?: number;
  }[];
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
  ServiceEntry: ServiceEntrySpec;
  Sidecar: SidecarSpec;
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
  ServiceEntry: "networking.istio.io/v1",
  Sidecar: "networking.istio.io/v1",
};
