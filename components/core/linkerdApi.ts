// The Linkerd policy resources this stack emits, typed for exactly the fields it sets, and the
// one way to make them. Versions are the storage versions of linkerd-crds at edge-26.8.3
// (charts/linkerd-crds/templates/policy/{server,authorization-policy,meshtls-authentication}.yaml).
import type * as k8s from "@pulumi/kubernetes";
import type * as pulumi from "@pulumi/pulumi";
import { customResource } from "./customResource";
import type { Mesh } from "./mesh";
import { TRUST_DOMAIN } from "./names";

export const LINKERD_API_VERSIONS = {
  Server: "policy.linkerd.io/v1beta3",
  AuthorizationPolicy: "policy.linkerd.io/v1alpha1",
  MeshTLSAuthentication: "policy.linkerd.io/v1alpha1",
} as const;
export type LinkerdKind = keyof typeof LINKERD_API_VERSIONS;

/** What a Server's port speaks; `opaque` for plain TCP (server.yaml's proxyProtocol enum). */
export type LinkerdProxyProtocol = "HTTP/1" | "HTTP/2" | "gRPC" | "opaque";

/** A port of the selected pods; once a Server selects it, only authorized callers get in. */
export interface ServerSpec {
  readonly podSelector: { readonly matchLabels: Record<string, string> };
  /** The container port's name or number. */
  readonly port: string | number;
  readonly proxyProtocol: LinkerdProxyProtocol;
}

/** Meshed callers by their proxies' identities (see linkerdIdentityOf). */
export interface MeshTLSAuthenticationSpec {
  readonly identities: readonly string[];
}

export interface LinkerdPolicyRef<K extends LinkerdKind> {
  readonly group: "policy.linkerd.io";
  readonly kind: K;
  readonly name: string;
}

/** Admits to a Server the callers every required authentication accepts. */
export interface LinkerdAuthorizationPolicySpec {
  readonly targetRef: LinkerdPolicyRef<"Server">;
  readonly requiredAuthenticationRefs: readonly LinkerdPolicyRef<"MeshTLSAuthentication">[];
}

export interface LinkerdSpecs {
  Server: ServerSpec;
  AuthorizationPolicy: LinkerdAuthorizationPolicySpec;
  MeshTLSAuthentication: MeshTLSAuthenticationSpec;
}

/**
 * The identity Linkerd's proxies present for a ServiceAccount's pods
 * (`<sa>.<ns>.serviceaccount.identity.<control plane namespace>.<trust domain>`; the control
 * plane's namespace defaults to linkerd), from the SPIFFE-style principal this stack names
 * callers by (`cluster.local/ns/<ns>/sa/<sa>`, principal()).
 */
export function linkerdIdentityOf(
  principal: string,
  controlNamespace = "linkerd",
): string {
  const m = /^([^/]+)\/ns\/([^/]+)\/sa\/([^/]+)$/.exec(principal);
  if (!m) {
    throw new Error(
      `${principal} is not a ServiceAccount principal (<trust domain>/ns/<ns>/sa/<sa>)`,
    );
  }
  const [, domain, ns, sa] = m;
  return `${sa}.${ns}.serviceaccount.identity.${controlNamespace}.${domain || TRUST_DOMAIN}`;
}

/** A Linkerd policy resource: apiVersion from its kind, after linkerd-crds (mesh.crds). */
export function linkerdResource<K extends LinkerdKind>(
  name: string,
  args: {
    readonly kind: K;
    readonly metadata: { readonly name: string; readonly namespace: string };
    readonly spec: LinkerdSpecs[K];
  },
  opts: {
    readonly parent: pulumi.Resource;
    readonly mesh: Pick<Mesh, "crds">;
    readonly dependsOn?: readonly pulumi.Resource[];
  },
): k8s.apiextensions.CustomResource {
  return customResource(name, LINKERD_API_VERSIONS, args, {
    parent: opts.parent,
    dependsOn: [...(opts.dependsOn ?? []), opts.mesh.crds],
  });
}
