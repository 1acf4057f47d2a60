// Specs of the Istio security resources, as typed plain data.
import {
  type AuthorizationPolicySpec,
  type Dataplane,
  type MtlsMode,
  type PeerAuthenticationSpec,
  type RequestAuthenticationSpec,
  serviceSelector,
  waypointPrincipal,
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
  /** HTTP methods the callers use; none means any (and any TCP connection). */
  readonly methods: readonly string[];
  /** Paths the callers use; omitted means any path. */
  readonly paths?: readonly string[];
}

/**
 * What a policy applies to: the workloads with these labels (their sidecars enforce it, or in
 * ambient ztunnel at L4), or these Services (in ambient, the waypoint serving them enforces it).
 */
export type PolicyTarget =
  | { readonly selector: Record<string, string> }
  | { readonly services: readonly string[] };

function policyTarget(
  t: PolicyTarget,
): Pick<AuthorizationPolicySpec, "selector" | "targetRefs"> {
  return "selector" in t
    ? { selector: { matchLabels: t.selector } }
    : {
        targetRefs: t.services.map((name) => ({
          group: "" as const,
          kind: "Service" as const,
          name,
        })),
      };
}

/** One ALLOW rule per caller group: a request is admitted when any rule matches it. */
export function allowSpec(
  target: PolicyTarget,
  rules: readonly AllowRule[],
): AuthorizationPolicySpec {
  return {
    ...policyTarget(target),
    action: "ALLOW",
    rules: rules.map((rule) => ({
      from: [{ source: { principals: rule.principals } }],
      // No methods and no paths: any request or connection (a TCP service has no methods, and
      // Istio would never match a rule naming them).
      ...(rule.methods.length > 0 || rule.paths
        ? {
            to: [
              {
                operation: {
                  ...(rule.methods.length > 0 ? { methods: rule.methods } : {}),
                  ...(rule.paths ? { paths: rule.paths } : {}),
                },
              },
            ],
          }
        : {}),
    })),
  };
}

/**
 * An L4 ALLOW policy, which ztunnel can enforce: only these principals may connect to the
 * selected workloads. In ambient, a policy naming methods or paths on a selector would be
 * enforced by ztunnel as a deny, since ztunnel sees no HTTP.
 */
export function connectAllowSpec(
  selector: Record<string, string>,
  principals: readonly string[],
): AuthorizationPolicySpec {
  return {
    selector: { matchLabels: selector },
    action: "ALLOW",
    rules: [{ from: [{ source: { principals } }] }],
  };
}

/**
 * The ALLOW policies of one service, by name suffix. With sidecars, one policy on its pods
 * (`allow`). In ambient, the callers are checked at L7 by the waypoint serving every Service a
 * caller could address the service by (`allow`, targetRefs), and ztunnel admits only that
 * waypoint to the pods (`allow-waypoint`, L4), so no caller skips the L7 check by dialling a
 * pod directly.
 */
export function serviceAllowPolicies(args: {
  readonly dataplane: Dataplane;
  readonly service: string;
  readonly namespace: string;
  /** Further Services selecting the same pods (gateway-api routing's version Services). */
  readonly versionServices: readonly string[];
  readonly allow: readonly AllowRule[];
  /** Labels of every pod of the service. Defaults to serviceSelector (`app: <service>`). */
  readonly podSelector?: Record<string, string>;
}): { suffix: string; spec: AuthorizationPolicySpec }[] {
  const selector = args.podSelector ?? serviceSelector(args.service);
  if (args.dataplane === "sidecar") {
    return [{ suffix: "allow", spec: allowSpec({ selector }, args.allow) }];
  }
  return [
    {
      suffix: "allow",
      spec: allowSpec(
        { services: [args.service, ...args.versionServices] },
        args.allow,
      ),
    },
    {
      suffix: "allow-waypoint",
      spec: connectAllowSpec(selector, [waypointPrincipal(args.namespace)]),
    },
  ];
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
