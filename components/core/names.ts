// Names the whole stack agrees on: the control plane's namespace, the mesh's trust domain and the
// identities built from it, in-cluster hosts, and the ingress gateway's release. Every module
// takes them from here, so a policy cannot name an account or a host that nothing creates.

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
export function gatewayPrincipal(namespace: string): string {
  return principal(namespace, GATEWAY_RELEASE);
}
