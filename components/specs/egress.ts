// Specs of egress control: each external host a ServiceEntry, routed from the sidecars through
// the egress gateway (mesh -> gateway in the mesh's mutual TLS, gateway -> host), with the
// callers' principals checked at the gateway; in ambient, through an egress waypoint. Pure data.
// The shapes follow Istio's egress tasks (egress-gateway, egress-gateway-tls-origination,
// ambient/usage/egress-gateway) as Istio 1.30's pilot reads them:
// - a `TLS` or `HTTPS` gateway server with tls ISTIO_MUTUAL terminates only the mesh's TLS, and
//   its filter chain matches the server's host as SNI (pilot/pkg/networking/core/gateway.go,
//   createGatewayTCPFilterChainOpts); sidecars must therefore send that SNI, which the gateway
//   subset's DestinationRule sets. A TLS server of that kind is routed by `tcp` routes.
// - `connection.sni` in an AuthorizationPolicy matches on both TCP and HTTP chains; `hosts` only
//   on HTTP (pilot/pkg/security/authz/model/generator.go).
import {
  type AuthorizationPolicySpec,
  type DestinationRuleSpec,
  EGRESS_GATEWAY_RELEASE,
  type GatewayServer,
  type GatewaySpec,
  type RoutingPolicy,
  serviceHost,
  type ServiceEntrySpec,
  type VirtualServiceSpec,
} from "../core";
import type { EgressHost } from "../config";
import { hostSlug } from "../config";
import { resilienceSpec, trafficPolicySpec } from "./routing";
import { type CallTarget, importedHost } from "./scoping";

/** The port the gateway calls a host on: 443 when it originates TLS, else the callers' port. */
export const upstreamPort = (h: EgressHost): number =>
  h.originateTls ? 443 : h.port;

/** The host as the mesh knows it. DNS resolution: NONE would loop the gateway to itself. */
export function serviceEntrySpec(h: EgressHost): ServiceEntrySpec {
  return {
    hosts: [h.host],
    location: "MESH_EXTERNAL",
    resolution: "DNS",
    ports: [
      {
        number: h.port,
        name: `${h.protocol}-${h.port}`,
        protocol: h.protocol === "tls" ? "TLS" : "HTTP",
        // Callers dial plain HTTP on `port`; the host is called on 443 with TLS. No 443 port
        // is declared, so no sidecar gets a route to the host's 443 that skips the gateway.
        ...(h.originateTls ? { targetPort: 443 } : {}),
      },
    ],
  };
}

/** One server per host, each in the mesh's mutual TLS, told apart by the host as SNI. */
export function egressGatewaySpec(
  podLabels: Record<string, string>,
  hosts: readonly EgressHost[],
): GatewaySpec {
  return {
    selector: podLabels,
    servers: hosts.map((h): GatewayServer => ({
      port: {
        number: h.port,
        name: `${h.protocol === "tls" ? "tls" : "https"}-${hostSlug(h.host)}`,
        protocol: h.protocol === "tls" ? "TLS" : "HTTPS",
      },
      hosts: [h.host],
      tls: { mode: "ISTIO_MUTUAL" },
    })),
  };
}

/**
 * How sidecars reach the gateway for each host: a subset per host whose mutual TLS names the
 * host as SNI (the gateway's pods carry no tlsMode label, so auto mTLS would not apply either).
 */
export function egressGatewayRuleSpec(
  gatewayHost: string,
  podLabels: Record<string, string>,
  hosts: readonly EgressHost[],
  policy: RoutingPolicy,
): DestinationRuleSpec {
  return {
    host: gatewayHost,
    trafficPolicy: trafficPolicySpec(policy, false),
    subsets: hosts.map((h) => ({
      name: hostSlug(h.host),
      labels: podLabels,
      trafficPolicy: {
        portLevelSettings: [
          {
            port: { number: h.port },
            tls: { mode: "ISTIO_MUTUAL", sni: h.host },
          },
        ],
      },
    })),
  };
}

/**
 * TLS origination at the gateway (or the ambient waypoint): SIMPLE TLS to the host's 443. The
 * host's certificate is checked against the proxy's system roots; without subjectAltNames Envoy
 * would accept a certificate for any name (an explicit `sni` turns off Istio's automatic SAN check).
 */
export function originationRuleSpec(
  h: EgressHost,
  policy: RoutingPolicy,
): DestinationRuleSpec {
  return {
    host: h.host,
    trafficPolicy: {
      ...trafficPolicySpec(policy, false),
      portLevelSettings: [
        {
          port: { number: h.port },
          tls: { mode: "SIMPLE", sni: h.host, subjectAltNames: [h.host] },
        },
      ],
    },
  };
}

/**
 * Two legs for one host: from the sidecars (`mesh`) to the gateway's subset for the host, and
 * from the gateway to the host. TLS hosts: matched by SNI from the mesh, forwarded as TCP by the
 * gateway. HTTP hosts: every request, with the stack's timeout and retries.
 */
export function egressVirtualServiceSpec(
  h: EgressHost,
  gateway: string,
  gatewayHost: string,
  policy: RoutingPolicy,
): VirtualServiceSpec {
  const toGateway = [
    {
      destination: {
        host: gatewayHost,
        subset: hostSlug(h.host),
        port: { number: h.port },
      },
    },
  ];
  const toHost = [{ destination: { host: h.host, port: { number: h.port } } }];
  if (h.protocol === "tls") {
    return {
      hosts: [h.host],
      gateways: ["mesh", gateway],
      http: [],
      tls: [
        {
          match: [{ gateways: ["mesh"], port: h.port, sniHosts: [h.host] }],
          route: toGateway,
        },
      ],
      tcp: [{ match: [{ gateways: [gateway], port: h.port }], route: toHost }],
    };
  }
  const resilience = resilienceSpec(policy);
  return {
    hosts: [h.host],
    gateways: ["mesh", gateway],
    http: [
      {
        name: "to-egress-gateway",
        match: [{ gateways: ["mesh"], port: h.port }],
        route: toGateway,
        ...resilience,
      },
      {
        name: "to-host",
        match: [{ gateways: [gateway], port: h.port }],
        route: toHost,
        ...resilience,
      },
    ],
  };
}

/**
 * Who may use the gateway for which host: one rule per host, its callers' principals and the
 * host as SNI (and, for HTTP, as the request's Host too). Anything else is denied.
 */
export function egressAuthorizationSpec(
  podLabels: Record<string, string>,
  hosts: readonly EgressHost[],
): AuthorizationPolicySpec {
  return {
    selector: { matchLabels: podLabels },
    action: "ALLOW",
    rules: hosts
      .filter((h) => h.allowedPrincipals.length > 0)
      .map((h) => ({
        from: [{ source: { principals: h.allowedPrincipals } }],
        ...(h.protocol === "http"
          ? {
              to: [{ operation: { hosts: [h.host, `${h.host}:${h.port}`] } }],
            }
          : {}),
        when: [{ key: "connection.sni", values: [h.host] }],
      })),
  };
}

/** Ambient: the egress waypoint admits only the host's callers (policy bound to its ServiceEntry). */
export function waypointEgressAuthorizationSpec(
  h: EgressHost,
): AuthorizationPolicySpec {
  return {
    targetRefs: [
      {
        group: "networking.istio.io",
        kind: "ServiceEntry",
        name: hostSlug(h.host),
      },
    ],
    action: "ALLOW",
    rules:
      h.allowedPrincipals.length > 0
        ? [{ from: [{ source: { principals: h.allowedPrincipals } }] }]
        : [],
  };
}

/**
 * What a caller's Sidecar imports to reach each external host (routing.scopeProxies): the host's
 * ServiceEntry and VirtualService, and the egress gateway they route through, all in the egress
 * namespace; each admitted for the host's own callers only.
 */
export function egressCallTargets(
  namespace: string,
  hosts: readonly EgressHost[],
): CallTarget[] {
  const gateway = importedHost(
    namespace,
    serviceHost(EGRESS_GATEWAY_RELEASE, namespace),
  );
  return hosts.map((h) => ({
    hosts: [importedHost(namespace, h.host), gateway],
    callers: h.allowedPrincipals,
  }));
}
