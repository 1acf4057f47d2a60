// What istiod sends one proxy, read with the test bed's ADS client (testbed-xds) exactly as the
// proxy would receive it, and small readers over that config (Envoy's JSON, proto field names, as
// `istioctl proxy-config` shows it). The readers name Envoy's concepts, so a scenario says "the
// route to backend splits 80/20", not "http[0].route[1].weight".
import { execFileSync } from "child_process";

export interface ProxyConfig {
  clusters: any[];
  endpoints: any[];
  listeners: any[];
  routes: any[];
}

/** Reads the full config istiod computes for `<namespace>/<pod>` (sidecar or gateway router). */
export function readProxyConfig(
  xdsBin: string,
  kubeconfig: string,
  xdsAddress: string,
  pod: string,
): ProxyConfig {
  const out = execFileSync(
    xdsBin,
    ["--kubeconfig", kubeconfig, "--xds", xdsAddress, pod, "all"],
    { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"], timeout: 30_000 },
  );
  const doc = JSON.parse(out) as Partial<ProxyConfig>;
  return {
    clusters: doc.clusters ?? [],
    endpoints: doc.endpoints ?? [],
    listeners: doc.listeners ?? [],
    routes: doc.routes ?? [],
  };
}

/** What istiod sends a ztunnel: workload and service addresses, and L4 authorizations. */
export interface ZtunnelConfig {
  addresses: any[];
  authorizations: any[];
}

/** Reads it for `<namespace>/<ztunnel pod>` over delta ADS, as ztunnel asks (testbed-xds --ztunnel). */
export function readZtunnelConfig(
  xdsBin: string,
  kubeconfig: string,
  xdsAddress: string,
  pod: string,
): ZtunnelConfig {
  const out = execFileSync(
    xdsBin,
    ["--kubeconfig", kubeconfig, "--xds", xdsAddress, "--ztunnel", pod],
    {
      encoding: "utf8",
      stdio: ["ignore", "pipe", "pipe"],
      timeout: 30_000,
      maxBuffer: 64 * 1024 * 1024,
    },
  );
  const doc = JSON.parse(out) as Partial<ZtunnelConfig>;
  return {
    addresses: doc.addresses ?? [],
    authorizations: doc.authorizations ?? [],
  };
}

/** Istio's name of the outbound cluster of one subset (or of the whole service, subset ""). */
export function outboundCluster(
  host: string,
  port: number,
  subset = "",
): string {
  return `outbound|${port}|${subset}|${host}`;
}

/** The routes of the virtual host serving host:port, in the order Envoy tries them. */
export function routesTo(
  cfg: ProxyConfig,
  routeConfig: string,
  domain: string,
): any[] {
  const rc = cfg.routes.find((r) => r.name === routeConfig);
  if (!rc) {
    throw new Error(
      `no route configuration ${routeConfig} (have ${cfg.routes.map((r) => r.name).join(", ")})`,
    );
  }
  const vh = (rc.virtual_hosts ?? []).find((v: any) =>
    (v.domains ?? []).includes(domain),
  );
  if (!vh) {
    throw new Error(
      `route configuration ${routeConfig} has no domain ${domain}`,
    );
  }
  return vh.routes ?? [];
}

/** cluster -> weight of a route (a single cluster counts as 100). */
export function clusterWeights(route: any): Record<string, number> {
  const action = route.route ?? {};
  if (action.weighted_clusters) {
    return Object.fromEntries(
      action.weighted_clusters.clusters.map((c: any) => [
        c.name,
        c.weight ?? 0,
      ]),
    );
  }
  if (action.cluster) {
    return { [action.cluster]: 100 };
  }
  throw new Error(
    `route ${route.name} does not forward: ${JSON.stringify(route)}`,
  );
}

/** Envoy durations render as "10s" / "0.500s"; milliseconds, for comparing with Istio's. */
export function protoMillis(d: string | undefined): number | undefined {
  if (d === undefined) {
    return undefined;
  }
  const m = /^([0-9.]+)s$/.exec(d);
  if (!m) {
    throw new Error(`not a proto duration: ${d}`);
  }
  return Math.round(parseFloat(m[1]) * 1000);
}

/** The endpoint addresses istiod assigned to a cluster (EDS). */
export function endpointIps(cfg: ProxyConfig, cluster: string): string[] {
  const cla = cfg.endpoints.find((e) => e.cluster_name === cluster);
  if (!cla) {
    return [];
  }
  return (cla.endpoints ?? [])
    .flatMap((l: any) => l.lb_endpoints ?? [])
    .map((e: any) => e.endpoint?.address?.socket_address?.address)
    .filter((a: unknown): a is string => typeof a === "string")
    .sort();
}

/** Every object in a JSON tree (depth first), for filters whose position varies by Istio version. */
export function* walk(node: unknown): Generator<any> {
  if (Array.isArray(node)) {
    for (const x of node) {
      yield* walk(x);
    }
  } else if (node && typeof node === "object") {
    yield node;
    for (const v of Object.values(node)) {
      yield* walk(v);
    }
  }
}

/** True when an outbound cluster originates Istio mutual TLS (Istio's SDS certificate). */
export function usesIstioMutualTls(cluster: any): boolean {
  const sockets = [
    cluster.transport_socket,
    ...(cluster.transport_socket_matches ?? []).map(
      (m: any) => m.transport_socket,
    ),
  ].filter(Boolean);
  return sockets.some(
    (s: any) =>
      s.name === "envoy.transport_sockets.tls" &&
      [...walk(s)].some(
        (o) =>
          Array.isArray(o.tls_certificate_sds_secret_configs) &&
          o.tls_certificate_sds_secret_configs.some(
            (c: any) => c.name === "default",
          ),
      ),
  );
}

/**
 * The transport protocols the inbound listener accepts on one port of the pod: "tls" (mTLS) and
 * or "raw_buffer" (plaintext), from virtualInbound's filter chain matches.
 */
export function inboundTransports(cfg: ProxyConfig, port: number): string[] {
  const inbound = cfg.listeners.find((l) => l.name === "virtualInbound");
  if (!inbound) {
    throw new Error("no virtualInbound listener");
  }
  const seen = new Set<string>();
  for (const fc of inbound.filter_chains ?? []) {
    const m = fc.filter_chain_match ?? {};
    if (m.destination_port === port) {
      seen.add(m.transport_protocol ?? "any");
    }
  }
  return [...seen].sort();
}

/** The HTTP connection managers of the listener chains serving a port (inbound or gateway). */
export function httpConnectionManagers(listener: any, port?: number): any[] {
  return (listener.filter_chains ?? [])
    .filter(
      (fc: any) =>
        port === undefined || fc.filter_chain_match?.destination_port === port,
    )
    .flatMap((fc: any) => fc.filters ?? [])
    .filter(
      (f: any) => f.name === "envoy.filters.network.http_connection_manager",
    )
    .map((f: any) => f.typed_config);
}

/** One RBAC policy as Envoy enforces it: who (SPIFFE principals) may do what (methods, paths). */
export interface RbacRule {
  readonly name: string;
  /**
   * Istio renders an ALLOW policy without rules (our namespace-wide `deny-all`) as a policy that
   * matches nothing (`not_id: any` / `not_rule: any`): it allows no request.
   */
  readonly matchesNothing: boolean;
  readonly principals: string[];
  readonly methods: string[];
  readonly paths: string[];
}

const strings = (tree: unknown, pred: (o: any) => string | undefined) =>
  [...walk(tree)].map(pred).filter((x): x is string => x !== undefined);

/**
 * The ALLOW rules of the inbound RBAC filter on a port of a sidecar: each policy's principals
 * (spiffe:// names), methods (`:method` header matchers) and paths (url_path matchers).
 */
export function inboundRbac(cfg: ProxyConfig, port: number): RbacRule[] {
  const inbound = cfg.listeners.find((l) => l.name === "virtualInbound");
  const hcms = httpConnectionManagers(inbound, port);
  if (hcms.length === 0) {
    throw new Error(`no HTTP chain on inbound port ${port}`);
  }
  return rbacPolicies(hcms);
}

/**
 * The ALLOW rules of the RBAC filter in HTTP connection managers (a sidecar's inbound chains, or
 * the chain a waypoint runs for one Service, whose principals are matched on the peer identity
 * ztunnel passed on).
 */
export function rbacPolicies(hcms: any[]): RbacRule[] {
  const rbac = hcms
    .flatMap((h) => h.http_filters ?? [])
    .filter((f: any) => f.name === "envoy.filters.http.rbac")
    .map((f: any) => f.typed_config);
  const allow = rbac
    .map((r: any) => r.rules)
    .filter((r: any) => r && (r.action ?? "ALLOW") === "ALLOW");
  const rules: RbacRule[] = [];
  // Every chain on the port carries the same filter; read the first.
  for (const [name, p] of Object.entries<any>(allow[0]?.policies ?? {})) {
    const never = (list: any[] | undefined, key: string) =>
      (list ?? []).length > 0 &&
      (list ?? []).every((x: any) => x[key]?.any === true);
    rules.push({
      name,
      matchesNothing:
        never(p.principals, "not_id") || never(p.permissions, "not_rule"),
      principals: strings(p.principals, (o) => {
        const v = o.exact ?? o.prefix;
        return typeof v === "string" && v.startsWith("spiffe://")
          ? v
          : undefined;
      }).sort(),
      methods: strings(p.permissions, (o) =>
        o.name === ":method"
          ? (o.string_match?.exact ?? o.exact_match)
          : undefined,
      ).sort(),
      paths: strings(p.permissions, (o) => {
        const m = o.path;
        if (!m || typeof m !== "object") {
          return undefined;
        }
        return m.exact ?? (m.prefix !== undefined ? `${m.prefix}*` : undefined);
      }).sort(),
    });
  }
  return rules.sort((a, b) => a.name.localeCompare(b.name));
}

/** The names of a connection manager's HTTP filters, in order. */
export function httpFilterNames(hcm: any): string[] {
  return (hcm.http_filters ?? []).map((f: any) => f.name);
}
