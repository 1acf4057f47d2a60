// Names the whole stack agrees on: the control plane's namespace, the mesh's trust domain and the
// identities built from it, in-cluster hosts, and the ingress gateway's release. Every module
// takes them from here, so a policy cannot name an account or a host that nothing creates.
import type { RoutingApi } from "./mesh";

/**
 * Istio's root namespace: the control plane lives here (its charts assume it), a
 * PeerAuthentication here is mesh-wide, and the observability addons sit beside istiod.
 */
export const ISTIO_NAMESPACE = "istio-system";

/** The mesh's trust domain; istiod is configured with it and principals are built from it. */
export const TRUST_DOMAIN = "cluster.local";

/** The SPIFFE principal (without the spiffe:// scheme) Istio gives a ServiceAccount's workloads. */
export function principal(namespace: string, serviceAccount: string): string {
  return `${TRUST_DOMAIN}/ns/${namespace}/sa/${serviceAccount}`;
}

/** Fully qualified in-cluster host of a Service, as Istio routes name it. */
export function serviceHost(service: string, namespace: string): string {
  return `${service}.${namespace}.svc.cluster.local`;
}

/**
 * Helm release name of the ingress gateway. The gateway chart names its Service, its pod labels
 * and (through our values) its ServiceAccount after it.
 */
export const GATEWAY_RELEASE = "istio-ingressgateway";

/** Port the gateway chart's Service exposes for HTTP, and the port its pods listen on. */
export const GATEWAY_HTTP_PORT = 80;

/** The principal of the gateway's workloads, for policies that admit traffic from the edge. */
export function gatewayPrincipal(
  namespace: string,
  routingApi: RoutingApi = "istio",
): string {
  return principal(namespace, ingressServiceName(routingApi));
}

/** The waypoint of every ambient app namespace: a Gateway of class istio-waypoint, and its account. */
export const WAYPOINT_NAME = "waypoint";

/** The principal a namespace's waypoint forwards with: ztunnel admits it to the namespace's pods. */
export function waypointPrincipal(namespace: string): string {
  return principal(namespace, WAYPOINT_NAME);
}

/** The ingress Gateway (Gateway API, class `istio`) in gateway-api mode. */
export const INGRESS_GATEWAY_NAME = "mesh-gateway";

/**
 * Name of the ingress gateway's Service, Deployment and ServiceAccount: the gateway chart's
 * release, or what istiod's deployment controller names a class-`istio` Gateway's objects
 * ("<gateway>-<class>").
 */
export function ingressServiceName(routingApi: RoutingApi): string {
  return routingApi === "istio"
    ? GATEWAY_RELEASE
    : `${INGRESS_GATEWAY_NAME}-istio`;
}

/** The Service of one version of a versioned service (gateway-api routing sends to these). */
export function versionServiceName(service: string, version: string): string {
  return `${service}-${version}`;
}

/** Helm release of the egress gateway (Istio's `gateway` chart): its Service, account and labels. */
export const EGRESS_GATEWAY_RELEASE = "istio-egressgateway";

/** The Gateway resource that binds the egress gateway's pods to the external hosts. */
export const EGRESS_GATEWAY_NAME = "egress";
