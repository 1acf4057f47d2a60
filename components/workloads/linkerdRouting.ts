// The routing children of a VersionedService on Linkerd: the HTTPRoute holding the weights
// (parent: the Service; backends: the version Services, as Linkerd has no subsets), the retries
// as the route's annotations (a rule's timeouts.request is Linkerd's request timeout too:
// linkerd.io/2-edge/reference/timeouts), and the policy admitting the callers by identity.
// The namespace's default-inbound-policy is deny (AppNamespace), so a pod port no Server selects
// refuses everyone; the Server selects the serving port, and with no caller it admits no one.
import {
  gatewayApiResource,
  linkerdResource,
  versionServiceName,
} from "../core";
import {
  linkerdAuthorizationPolicySpec,
  linkerdCallerIdentities,
  linkerdRetryAnnotations,
  linkerdServerSpec,
  meshHTTPRouteSpec,
  meshTLSAuthenticationSpec,
  serviceCallTarget,
} from "../specs";
import type { MeshRouting, ServiceRoutingArgs } from "./serviceRouting";

export interface LinkerdRoutingArgs extends Omit<
  ServiceRoutingArgs,
  "tcp" | "subsetLabelsOf"
> {
  /** The pods' serving port (name or number) the Server selects. */
  readonly targetPort: number | string;
  /** The Service port's protocol: the Server's proxyProtocol follows it. */
  readonly protocol: string;
}

/**
 * The weighted HTTPRoute (the one resource a weight change touches), and the Server,
 * MeshTLSAuthentication and AuthorizationPolicy admitting the callers the allow rules name.
 * Linkerd authorizes by identity at the Server: the rules' methods and paths are not enforced.
 */
export function createLinkerdRouting(a: LinkerdRoutingArgs): MeshRouting {
  const { mesh, name, namespace, port, policy } = a;
  const opts = { parent: a.parent, mesh, dependsOn: [...a.dependsOn] };
  const callTarget = serviceCallTarget(
    namespace,
    [name, ...a.versions.map((v) => versionServiceName(name, v.version))],
    a.allow,
  );
  const annotations = linkerdRetryAnnotations(policy.retries);
  const route = gatewayApiResource(
    `${name}-route`,
    {
      kind: "HTTPRoute",
      metadata: {
        name,
        namespace,
        ...(Object.keys(annotations).length > 0 ? { annotations } : {}),
      },
      spec: meshHTTPRouteSpec(name, port, a.versions, policy),
    },
    { ...opts, dependsOn: [...a.dependsOn, ...a.backends] },
  );
  const server = linkerdResource(
    `${name}-server`,
    {
      kind: "Server",
      metadata: { name, namespace },
      spec: linkerdServerSpec(a.podSelector, a.targetPort, a.protocol),
    },
    opts,
  );
  const identities = linkerdCallerIdentities(a.allow, mesh.controlNamespace);
  if (identities.length === 0) {
    return {
      destinationRules: [],
      route,
      authorizationPolicies: [server],
      callTarget,
    };
  }
  const authn = linkerdResource(
    `${name}-callers`,
    {
      kind: "MeshTLSAuthentication",
      metadata: { name: `${name}-callers`, namespace },
      spec: meshTLSAuthenticationSpec(identities),
    },
    opts,
  );
  const authz = linkerdResource(
    `${name}-allow`,
    {
      kind: "AuthorizationPolicy",
      metadata: { name: `${name}-allow`, namespace },
      spec: linkerdAuthorizationPolicySpec(name, `${name}-callers`),
    },
    { ...opts, dependsOn: [...a.dependsOn, server, authn] },
  );
  return {
    destinationRules: [],
    route,
    authorizationPolicies: [server, authn, authz],
    callTarget,
  };
}
