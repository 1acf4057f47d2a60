// Specs of the Istio security resources and the edge rate limit, as plain data.
import { durationMillis } from "./configChecker";
import { JwtConfig, MtlsMode, RateLimitConfig } from "./securityConfig";

export const SECURITY_API = "security.istio.io/v1";
/** EnvoyFilter has no v1 API; v1alpha3 is the current one. */
export const ENVOY_FILTER_API = "networking.istio.io/v1alpha3";
/** The mesh's trust domain; istiod is configured with it and principals are built from it. */
export const TRUST_DOMAIN = "cluster.local";

/** The SPIFFE principal (without the spiffe:// scheme) Istio gives a ServiceAccount's workloads. */
export function principal(namespace: string, serviceAccount: string): string {
  return `${TRUST_DOMAIN}/ns/${namespace}/sa/${serviceAccount}`;
}

/** Mesh-wide when placed in the root namespace (istio-system). */
export function peerAuthenticationSpec(mode: MtlsMode) {
  return { mtls: { mode } };
}

/** An AuthorizationPolicy with an empty spec denies every request to the namespace's workloads. */
export function denyAllSpec(): Record<string, never> {
  return {};
}

/** Who may call a workload, and how. */
export interface AllowRule {
  /** SPIFFE principals of the callers (see principal()). */
  readonly principals: readonly string[];
  /** HTTP methods the callers use. */
  readonly methods: readonly string[];
  /** Paths the callers use; omitted means any path. */
  readonly paths?: readonly string[];
}

/** One ALLOW rule per caller group: a request is admitted when any rule matches it. */
export function allowSpec(
  selector: Record<string, string>,
  rules: readonly AllowRule[],
) {
  return {
    selector: { matchLabels: selector },
    action: "ALLOW",
    rules: rules.map((rule) => ({
      from: [{ source: { principals: rule.principals } }],
      to: [
        {
          operation: {
            methods: rule.methods,
            ...(rule.paths ? { paths: rule.paths } : {}),
          },
        },
      ],
    })),
  };
}

export function requestAuthenticationSpec(
  selector: Record<string, string>,
  jwt: JwtConfig,
) {
  return {
    selector: { matchLabels: selector },
    jwtRules: [
      {
        issuer: jwt.issuer,
        ...(jwt.jwksUri ? { jwksUri: jwt.jwksUri } : { jwks: jwt.jwks }),
      },
    ],
  };
}

/**
 * RequestAuthentication only rejects invalid tokens; this policy also rejects requests without
 * one, except on the public paths.
 */
export function requireJwtSpec(
  selector: Record<string, string>,
  publicPaths: string[],
) {
  return {
    selector: { matchLabels: selector },
    action: "ALLOW",
    rules: [
      { from: [{ source: { requestPrincipals: ["*"] } }] },
      ...(publicPaths.length > 0
        ? [{ to: [{ operation: { paths: publicPaths } }] }]
        : []),
    ],
  };
}

/**
 * Envoy's local rate limit on the gateway's HTTP connection manager, as Istio's documentation
 * configures it: a token bucket of `requests` tokens refilled every `interval`; requests over the
 * limit get 429 and the header x-local-rate-limit.
 */
export function rateLimitEnvoyFilterSpec(
  selector: Record<string, string>,
  rl: RateLimitConfig,
) {
  const always = (key: string) => ({
    runtime_key: key,
    default_value: { numerator: 100, denominator: "HUNDRED" },
  });
  return {
    workloadSelector: { labels: selector },
    configPatches: [
      {
        applyTo: "HTTP_FILTER",
        match: {
          context: "GATEWAY",
          listener: {
            filterChain: {
              filter: { name: "envoy.filters.network.http_connection_manager" },
            },
          },
        },
        patch: {
          // First in the chain: excess requests are refused before any other work, and
          // an absolute position cannot miss its anchor as INSERT_BEFORE could.
          operation: "INSERT_FIRST",
          value: {
            name: "envoy.filters.http.local_ratelimit",
            typed_config: {
              "@type": "type.googleapis.com/udpa.type.v1.TypedStruct",
              type_url:
                "type.googleapis.com/envoy.extensions.filters.http.local_ratelimit.v3.LocalRateLimit",
              value: {
                stat_prefix: "http_local_rate_limiter",
                token_bucket: {
                  max_tokens: rl.requests,
                  tokens_per_fill: rl.requests,
                  fill_interval: protoDuration(rl.interval),
                },
                filter_enabled: always("local_rate_limit_enabled"),
                filter_enforced: always("local_rate_limit_enforced"),
                response_headers_to_add: [
                  {
                    append_action: "OVERWRITE_IF_EXISTS_OR_ADD",
                    header: { key: "x-local-rate-limit", value: "true" },
                  },
                ],
              },
            },
          },
        },
      },
    ],
  };
}

/** Envoy's JSON durations are seconds only ("0.5s"), unlike Istio's ("500ms"). */
export function protoDuration(istioDuration: string): string {
  return `${durationMillis(istioDuration) / 1000}s`;
}
