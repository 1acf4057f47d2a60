// The ingress gateway's local rate limit: an EnvoyFilter that inserts Envoy's local_ratelimit
// filter, as Istio's documentation configures it.
import { durationMillis, type EnvoyFilterSpec } from "../core";
import type { RateLimitConfig } from "../config";

/** Envoy's runtime fraction meaning "always" (100/100). */
const always = (runtimeKey: string) => ({
  runtime_key: runtimeKey,
  default_value: { numerator: 100, denominator: "HUNDRED" },
});

/**
 * A token bucket of `requests` tokens refilled every `interval`; requests over the limit get 429
 * and the header x-local-rate-limit.
 */
export function rateLimitEnvoyFilterSpec(
  selector: Record<string, string>,
  rl: RateLimitConfig,
): EnvoyFilterSpec {
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
