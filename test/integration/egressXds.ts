// Readers of istiod's config for the egress scenarios (egress.ts): what a sidecar does with a
// host the mesh does not know (LDS catch-all chains, RDS catch-all virtual hosts), where it sends
// a listed host (by SNI or by HTTP route) and with which TLS, and who an RBAC filter admits for
// which SNI (the egress gateway's network and HTTP RBAC, the egress waypoint's). Envoy's JSON as
// testbed-xds prints it; nothing here resolves or connects to the external hosts.
import { check } from "./harness";
import { type ProxyConfig, walk } from "./xds";

const TCP_PROXY = "envoy.filters.network.tcp_proxy";
const HCM = "envoy.filters.network.http_connection_manager";

/** Every filter chain of a listener, the default one included. */
export function chains(listener: any): any[] {
  return [
    ...(listener.filter_chains ?? []),
    ...(listener.default_filter_chain ? [listener.default_filter_chain] : []),
  ];
}

/** The cluster a chain's tcp_proxy forwards to (undefined for HTTP chains). */
export function tcpCluster(chain: any): string | undefined {
  return (chain.filters ?? []).find((f: any) => f.name === TCP_PROXY)
    ?.typed_config?.cluster;
}

/** The HTTP connection manager of a chain, if it has one. */
export function hcmOf(chain: any): any {
  return (chain.filters ?? []).find((f: any) => f.name === HCM)?.typed_config;
}

/**
 * What the sidecar does with unknown destinations: the virtualOutbound catch-all chain's cluster,
 * every tcp_proxy and route that still names PassthroughCluster (listeners and routes), and the
 * names of the catch-all (`*`) virtual hosts of the outbound HTTP route configs with their status.
 */
export function unknownHosts(cfg: ProxyConfig): {
  catchAll: string | undefined;
  passthrough: string[];
  catchAllVhosts: string[];
} {
  const vo = cfg.listeners.find((l) => l.name === "virtualOutbound");
  check(vo, "no virtualOutbound listener");
  // The catch-all is the chain without a match (Istio names it PassthroughFilterChain).
  const catchAll = chains(vo).find(
    (c) => Object.keys(c.filter_chain_match ?? {}).length === 0,
  );
  const passthrough = [
    ...cfg.listeners.flatMap((l) =>
      chains(l)
        .filter((c) => tcpCluster(c) === "PassthroughCluster")
        .map((c) => `listener ${l.name} chain ${c.name ?? "?"}`),
    ),
    ...cfg.routes.flatMap((r) =>
      (r.virtual_hosts ?? [])
        .filter((v: any) =>
          (v.routes ?? []).some(
            (x: any) => x.route?.cluster === "PassthroughCluster",
          ),
        )
        .map((v: any) => `route ${r.name} vhost ${v.name}`),
    ),
  ];
  // Route configs named by a port serve every host on it (those named host:port, one Service).
  const catchAllVhosts = cfg.routes
    .filter((r) => /^[0-9]+$/.test(r.name))
    .flatMap((r) =>
      (r.virtual_hosts ?? [])
        .filter((v: any) => (v.domains ?? []).includes("*"))
        .map(
          (v: any) =>
            `${r.name}:${v.name}:${v.routes?.[0]?.direct_response?.status ?? v.routes?.[0]?.route?.cluster}`,
        ),
    );
  return {
    catchAll: catchAll && tcpCluster(catchAll),
    passthrough,
    catchAllVhosts,
  };
}

/** The chains of any listener that match `host` as SNI, with their listener's name. */
export function sniChains(
  cfg: ProxyConfig,
  host: string,
): Array<{ listener: string; chain: any }> {
  return cfg.listeners.flatMap((l) =>
    chains(l)
      .filter((c) => (c.filter_chain_match?.server_names ?? []).includes(host))
      .map((chain) => ({ listener: l.name as string, chain })),
  );
}

/** host:port of a cluster's own endpoints (STRICT_DNS clusters carry them inline). */
export function endpointAddresses(cluster: any): string[] {
  return (cluster.load_assignment?.endpoints ?? [])
    .flatMap((l: any) => l.lb_endpoints ?? [])
    .map((e: any) => e.endpoint?.address?.socket_address ?? {})
    .map((a: any) => `${a.address}:${a.port_value}`);
}

/**
 * The TLS a cluster originates: Istio's mTLS certificate (SDS `default`), the SNI it sends, and
 * the names the server's certificate must carry (subject alt names).
 */
export function upstreamTls(cluster: any): {
  mutual: boolean;
  sni: string[];
  san: string[];
} {
  // A waypoint's TLS socket sits inside its internal_upstream socket.
  const sockets = [
    ...walk([
      cluster.transport_socket,
      ...(cluster.transport_socket_matches ?? []).map(
        (m: any) => m.transport_socket,
      ),
    ]),
  ].filter((s: any) => s.name === "envoy.transport_sockets.tls");
  const objs = sockets.flatMap((s: any) => [...walk(s)]);
  return {
    mutual: objs.some((o) =>
      (o.tls_certificate_sds_secret_configs ?? []).some(
        (c: any) => c.name === "default",
      ),
    ),
    sni: [
      ...new Set(
        objs
          .map((o) => o.sni)
          .filter((s): s is string => typeof s === "string"),
      ),
    ],
    san: [
      ...new Set(
        objs
          .flatMap((o) => [
            ...(o.match_subject_alt_names ?? []),
            ...(o.match_typed_subject_alt_names ?? []).map(
              (m: any) => m.matcher,
            ),
          ])
          .map((m: any) => m?.exact)
          .filter((s): s is string => typeof s === "string"),
      ),
    ].sort(),
  };
}

/** A chain's DownstreamTlsContext: Istio's certificate, and whether a client cert is required. */
export function downstreamTls(chain: any): {
  mutual: boolean;
  requireClientCert: boolean;
} {
  const ts = chain.transport_socket;
  const ctx = ts?.typed_config ?? {};
  return {
    mutual:
      ts?.name === "envoy.transport_sockets.tls" &&
      [...walk(ctx)].some((o) =>
        (o.tls_certificate_sds_secret_configs ?? []).some(
          (c: any) => c.name === "default",
        ),
      ),
    requireClientCert: ctx.require_client_certificate === true,
  };
}

/** One ALLOW policy of an RBAC filter: the principals it admits and the SNIs it requires. */
export interface EgressRule {
  readonly name: string;
  readonly principals: string[];
  readonly snis: string[];
}

/** The ALLOW policies of every RBAC filter (network or HTTP) under `node` (a chain, a listener). */
export function egressRbac(node: unknown): EgressRule[] {
  const rules = new Map<string, EgressRule>();
  for (const o of walk(node)) {
    if (
      !/^envoy\.filters\.(network|http)\.rbac$/.test(o.name) ||
      !o.typed_config?.rules ||
      (o.typed_config.rules.action ?? "ALLOW") !== "ALLOW"
    ) {
      continue;
    }
    for (const [name, p] of Object.entries<any>(
      o.typed_config.rules.policies ?? {},
    )) {
      const objs = [...walk(p)];
      rules.set(name, {
        name,
        principals: [
          ...new Set(
            objs
              .map((x) => x.exact ?? x.prefix)
              .filter(
                (v): v is string =>
                  typeof v === "string" && v.startsWith("spiffe://"),
              ),
          ),
        ].sort(),
        snis: [
          ...new Set(
            objs
              .map((x) => x.requested_server_name?.exact)
              .filter((v): v is string => typeof v === "string"),
          ),
        ].sort(),
      });
    }
  }
  return [...rules.values()].sort((a, b) => a.name.localeCompare(b.name));
}

/** "principal -> sni" pairs of a set of rules, sorted: what a scenario compares. */
export function admits(rules: EgressRule[]): string[] {
  return [
    ...new Set(
      rules.flatMap((r) =>
        r.principals.flatMap((p) =>
          (r.snis.length > 0 ? r.snis : ["*"]).map(
            (s) => `${p.split("/").slice(-4).join("/")} -> ${s}`,
          ),
        ),
      ),
    ),
  ].sort();
}
