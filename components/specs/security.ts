// Specs of the Istio security resources, as typed plain data.
import type {
  AuthorizationPolicySpec,
  MtlsMode,
  PeerAuthenticationSpec,
  RequestAuthenticationSpec,
} from "../core";
import type { JwtConfig } from "../config";

/** Mesh-wide when placed in the root namespace (ISTIO_NAMESPACE). */
export function peerAuthenticationSpec(mode: MtlsMode): PeerAuthenticationSpec {
  return { mtls: { mode } };
}

/** An AuthorizationPolicy with an empty spec denies every request to the namespace's workloads. */
export function denyAllSpec(): AuthorizationPolicySpec {
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
): AuthorizationPolicySpec {
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

/** Validates the tokens a request carries; one without a token passes (see requireJwtSpec). */
export function requestAuthenticationSpec(
  selector: Record<string, string>,
  jwt: JwtConfig,
): RequestAuthenticationSpec {
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
  publicPaths: readonly string[],
): AuthorizationPolicySpec {
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
