// The Istio security and telemetry resources this stack emits, typed like istioApi.ts (which
// lists every kind): only the fields the stack sets, with Istio's names and enum values.

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
      /** HTTP only (a TCP chain skips the rule): the request's Host. */
      readonly hosts?: readonly string[];
    };
  }[];
  /** Conditions, e.g. `connection.sni` (both TCP and HTTP). */
  readonly when?: readonly {
    readonly key: string;
    readonly values: readonly string[];
  }[];
}

/**
 * A policy reference to a Kubernetes object: in ambient mode a policy that names a Service is
 * enforced by the waypoint serving that Service (L7), not by ztunnel.
 */
export type PolicyTargetReference =
  | { readonly group: ""; readonly kind: "Service"; readonly name: string }
  | {
      readonly group: "networking.istio.io";
      readonly kind: "ServiceEntry";
      readonly name: string;
    };

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
