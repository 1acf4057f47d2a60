// What the egress scenarios (egress.ts) require of istiod's config, per proxy: a caller's sidecar
// (nothing passes through; each listed host goes to the egress gateway in Istio's mTLS with the
// host as SNI), the egress gateway (a cluster per host, a mutual-TLS chain per SNI, RBAC per
// caller and SNI) and, in ambient, the egress waypoint (a chain per ServiceEntry, its callers).
// Each returns a line for the log, and throws what differs.
import { check } from "./harness";
import { outboundRoutes } from "./controlPlane";
import {
  admits,
  downstreamTls,
  egressRbac,
  endpointAddresses,
  hcmOf,
  sniChains,
  tcpCluster,
  unknownHosts,
  upstreamTls,
} from "./egressXds";
import { clusterWeights, type ProxyConfig } from "./xds";

export const DEMO = "mesh-demo";
export const EGRESS = "istio-egress";
const GW_HOST = `istio-egressgateway.${EGRESS}.svc.cluster.local`;
const GW_SA = `spiffe://cluster.local/ns/${EGRESS}/sa/istio-egressgateway`;
export const STRIPE = "api.stripe.com";
export const HTTPBIN = "httpbin.org";
/** Who may call which host: backend api.stripe.com, frontend httpbin.org. */
const CALLER: Record<string, string> = {
  [STRIPE]: `ns/${DEMO}/sa/backend`,
  [HTTPBIN]: `ns/${DEMO}/sa/frontend`,
};
const WANT = [STRIPE, HTTPBIN].map((h) => `${CALLER[h]} -> ${h}`);

export const same = (a: unknown, b: unknown) =>
  JSON.stringify(a) === JSON.stringify(b);

function clusterOf(cfg: ProxyConfig, name: string): any {
  const c = cfg.clusters.find((x) => x.name === name);
  check(c, `no cluster ${name}`);
  return c;
}

/**
 * A caller's sidecar: nothing passes through; each host it may call (`calls`) goes to the
 * gateway's subset, and with proxy scoping (routing.scopeProxies, on) the other host has no SNI
 * chain and no route there at all: the sidecar imports only the hosts its callers list names it in.
 */
export function checkCallerSidecar(
  cfg: ProxyConfig,
  calls: readonly string[],
): string {
  const u = unknownHosts(cfg);
  check(
    u.catchAll === "BlackHoleCluster",
    `virtualOutbound's catch-all goes to ${u.catchAll}`,
  );
  check(u.passthrough.length === 0, `passthrough: ${u.passthrough.join("; ")}`);
  check(
    u.catchAllVhosts.length > 0 &&
      u.catchAllVhosts.every((v) => /:block_all:502$/.test(v)),
    `catch-all virtual hosts ${u.catchAllVhosts.join(", ")}`,
  );
  const said: string[] = [];
  const stripe = sniChains(cfg, STRIPE);
  const stripeCluster = `outbound|443|api-stripe-com|${GW_HOST}`;
  if (calls.includes(STRIPE)) {
    check(
      stripe.length === 1 && tcpCluster(stripe[0].chain) === stripeCluster,
      `SNI ${STRIPE} chains: ${JSON.stringify(stripe.map((s) => [s.listener, tcpCluster(s.chain)]))}`,
    );
    said.push(`${STRIPE} by SNI on ${stripe[0].listener} -> ${stripeCluster}`);
  } else {
    check(stripe.length === 0, `an SNI chain for ${STRIPE}, not a callee`);
    said.push(`no chain for ${STRIPE}`);
  }
  const httpbinCluster = `outbound|80|httpbin-org|${GW_HOST}`;
  if (calls.includes(HTTPBIN)) {
    const routes = outboundRoutes(cfg, HTTPBIN, 80);
    check(
      routes.length === 1 &&
        same(clusterWeights(routes[0]), { [httpbinCluster]: 100 }),
      `routes to ${HTTPBIN}:80: ${JSON.stringify(routes.map(clusterWeights))}`,
    );
    said.push(`${HTTPBIN}:80 -> ${httpbinCluster}`);
  } else {
    const domains = cfg.routes.flatMap((rc: any) =>
      (rc.virtual_hosts ?? []).flatMap((v: any) => v.domains ?? []),
    );
    check(
      !domains.some((d: string) => d.startsWith(HTTPBIN)),
      `a route to ${HTTPBIN}, not a callee`,
    );
    said.push(`no route to ${HTTPBIN}`);
  }
  // Nothing reaches httpbin.org directly: its 443 is not declared to the mesh.
  check(sniChains(cfg, HTTPBIN).length === 0, `an SNI chain for ${HTTPBIN}`);
  check(
    !cfg.clusters.some((c) => c.name === `outbound|443||${HTTPBIN}`),
    `a cluster outbound|443||${HTTPBIN}`,
  );
  for (const [cluster, host] of [
    [stripeCluster, STRIPE],
    [httpbinCluster, HTTPBIN],
  ].filter(([, h]) => calls.includes(h))) {
    const tls = upstreamTls(clusterOf(cfg, cluster));
    // The sidecar checks it is talking to the egress gateway's identity.
    check(
      tls.mutual && same(tls.sni, [host]) && same(tls.san, [GW_SA]),
      `${cluster}: ${JSON.stringify(tls)}`,
    );
  }
  return `catch-all -> BlackHoleCluster, no PassthroughCluster route, ${u.catchAllVhosts.length} catch-all vhosts block_all (502); ${said.join("; ")}; ISTIO_MUTUAL with the host as SNI`;
}

/** The egress gateway: a cluster per host, a mutual-TLS chain per SNI, RBAC per caller and SNI. */
export function checkGateway(cfg: ProxyConfig): string {
  const stripe = clusterOf(cfg, `outbound|443||${STRIPE}`);
  const httpbin = clusterOf(cfg, `outbound|80||${HTTPBIN}`);
  const plain = upstreamTls(stripe);
  check(
    stripe.type === "STRICT_DNS" &&
      !plain.mutual &&
      plain.sni.length === 0 &&
      same(endpointAddresses(stripe), [`${STRIPE}:443`]),
    `${stripe.name}: ${stripe.type} ${JSON.stringify(endpointAddresses(stripe))} ${JSON.stringify(plain)}`,
  );
  const origination = upstreamTls(httpbin);
  check(
    httpbin.type === "STRICT_DNS" &&
      same(origination.sni, [HTTPBIN]) &&
      same(origination.san, [HTTPBIN]) &&
      !origination.mutual &&
      same(endpointAddresses(httpbin), [`${HTTPBIN}:443`]),
    `${httpbin.name}: ${httpbin.type} ${JSON.stringify(endpointAddresses(httpbin))} ${JSON.stringify(origination)}`,
  );
  const lines = [
    `${stripe.name} -> ${STRIPE}:443 (TCP), ${httpbin.name} -> ${HTTPBIN}:443 (UpstreamTlsContext, SNI and SAN ${HTTPBIN})`,
  ];
  for (const [host, listener] of [
    [STRIPE, "0.0.0.0_443"],
    [HTTPBIN, "0.0.0.0_80"],
  ]) {
    const found = sniChains(cfg, host);
    check(
      found.length === 1 && found[0].listener === listener,
      `SNI ${host} chains on ${found.map((f) => f.listener).join(", ") || "no listener"}`,
    );
    const { chain } = found[0];
    const tls = downstreamTls(chain);
    check(
      tls.mutual && tls.requireClientCert,
      `${host}: ${JSON.stringify(tls)}`,
    );
    // A chain may carry the other host's rule too; its SNI condition never matches there.
    const got = admits(egressRbac(chain));
    check(
      got.includes(`${CALLER[host]} -> ${host}`) &&
        got.every((a) => WANT.includes(a)),
      `${host}'s chain admits ${JSON.stringify(got)}`,
    );
    lines.push(
      `${listener} SNI ${host}: Istio mTLS, client cert required, RBAC ${got.join(", ")}`,
    );
  }
  const stripeChain = sniChains(cfg, STRIPE)[0].chain;
  check(
    tcpCluster(stripeChain) === stripe.name,
    `${STRIPE}'s chain forwards to ${tcpCluster(stripeChain)}`,
  );
  const hcm = hcmOf(sniChains(cfg, HTTPBIN)[0].chain);
  const rc = cfg.routes.find((r) => r.name === hcm?.rds?.route_config_name);
  const vh = (rc?.virtual_hosts ?? []).find((v: any) =>
    v.domains.includes(HTTPBIN),
  );
  check(
    vh && same(clusterWeights(vh.routes[0]), { [httpbin.name]: 100 }),
    `${HTTPBIN}'s route on the gateway: ${JSON.stringify(vh?.routes?.map(clusterWeights))}`,
  );
  const all = admits(egressRbac(cfg.listeners));
  check(same(all, WANT), `the gateway's RBAC admits ${JSON.stringify(all)}`);
  return lines.join("; ");
}

/** The egress waypoint: a chain per ServiceEntry, each admitting exactly that host's caller. */
export function checkWaypoint(cfg: ProxyConfig): string {
  const internal = cfg.listeners.find((l) => l.name === "main_internal");
  check(internal, "the waypoint has no main_internal listener");
  const lines: string[] = [];
  for (const [host, name, tls] of [
    [STRIPE, `inbound-vip|443|tcp|${STRIPE}`, false],
    [HTTPBIN, `inbound-vip|80|http|${HTTPBIN}`, true],
  ] as const) {
    const chain = (internal.filter_chains ?? []).find(
      (c: any) => c.name === name,
    );
    check(chain, `the waypoint has no chain ${name}`);
    const cluster = clusterOf(cfg, name);
    const upstream = upstreamTls(cluster);
    check(
      same(endpointAddresses(cluster), [`${host}:443`]) &&
        (tls
          ? same(upstream.sni, [host]) && same(upstream.san, [host])
          : upstream.sni.length === 0) &&
        !upstream.mutual,
      `${name}: ${JSON.stringify(endpointAddresses(cluster))} ${JSON.stringify(upstream)}`,
    );
    const got = admits(egressRbac(chain));
    check(
      same(got, [`${CALLER[host]} -> *`]),
      `${name} admits ${JSON.stringify(got)}`,
    );
    lines.push(
      `${name} -> ${host}:443${tls ? ` (TLS origination, SNI and SAN ${host})` : ""}, RBAC ${got[0]}`,
    );
  }
  return lines.join("; ");
}
