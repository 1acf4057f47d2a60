// NetworkPolicies that back egress control below the mesh. Istio "cannot securely enforce that
// all egress traffic actually flows through the egress gateways" (its egress-gateway task): a pod
// can skip its proxy's routes. With a CNI that enforces NetworkPolicy, app pods reach only the
// mesh's namespaces and DNS, and only the egress namespace reaches the outside, on the hosts'
// ports. Ports are pod ports: a policy applies after the Service's address translation.
import type * as k8s from "@pulumi/kubernetes";

type NetworkPolicySpec = k8s.types.input.networking.v1.NetworkPolicySpec;
type Peer = k8s.types.input.networking.v1.NetworkPolicyPeer;

/** The label Kubernetes puts on every namespace with its own name. */
const NAMESPACE_NAME = "kubernetes.io/metadata.name";

/** The cluster's DNS (kube-dns / CoreDNS in kube-system), on UDP and TCP 53. */
function dnsRule() {
  return {
    to: [
      {
        namespaceSelector: { matchLabels: { [NAMESPACE_NAME]: "kube-system" } },
        podSelector: { matchLabels: { "k8s-app": "kube-dns" } },
      },
    ],
    ports: [
      { protocol: "UDP", port: 53 },
      { protocol: "TCP", port: 53 },
    ],
  };
}

/** Every pod of these namespaces, on any port. */
function namespacesPeer(namespaces: readonly string[]): Peer {
  return {
    namespaceSelector: {
      matchExpressions: [
        { key: NAMESPACE_NAME, operator: "In", values: [...namespaces].sort() },
      ],
    },
  };
}

/**
 * An app namespace: its pods may reach DNS and the mesh's namespaces (istiod's xDS on 15012,
 * other apps, the ingress and the egress gateway or waypoint; in ambient, HBONE on 15008 to
 * the same), and nothing outside the cluster.
 */
export function appEgressPolicySpec(
  meshNamespaces: readonly string[],
): NetworkPolicySpec {
  return {
    podSelector: {},
    policyTypes: ["Egress"],
    egress: [dnsRule(), { to: [namespacesPeer(meshNamespaces)] }],
  };
}

/**
 * The egress namespace: its gateway (or waypoint) may reach DNS, the mesh's namespaces, and any
 * address on the external hosts' ports. Which hosts is the mesh's job (the gateway's servers and
 * its AuthorizationPolicy); an IP rule cannot name a DNS host.
 */
export function gatewayEgressPolicySpec(
  meshNamespaces: readonly string[],
  upstreamPorts: readonly number[],
): NetworkPolicySpec {
  return {
    podSelector: {},
    policyTypes: ["Egress"],
    egress: [
      dnsRule(),
      { to: [namespacesPeer(meshNamespaces)] },
      {
        to: [{ ipBlock: { cidr: "0.0.0.0/0" } }],
        ports: [...new Set(upstreamPorts)]
          .sort((a, b) => a - b)
          .map((port) => ({ protocol: "TCP", port })),
      },
    ],
  };
}
