// Scenario 18a (in the features stack: the demo and Bookinfo, sidecars, routing.scopeProxies on
// by default): each proxy's config, as istiod computes it, holds what its Sidecar imports: the
// services it calls and the mesh's namespace, nothing else; a call the policies do not list has
// no route at the caller. Read from istiod's real output for each pod.
import { BOOKINFO_CALLS } from "../../components/apps/bookinfoCallGraph";
import { awaitProxyConfig, meshHost, podOf } from "./controlPlane";
import { check, log } from "./harness";
import type { ProxyConfig } from "./xds";

const MESH_SUFFIX = ".istio-system.svc.cluster.local";

/** The hosts of a proxy's outbound clusters (`outbound|<port>|<subset>|<host>`), outside the mesh's namespace. */
export function calledHosts(cfg: ProxyConfig): string[] {
  const hosts = new Set<string>();
  for (const c of cfg.clusters) {
    const m = /^outbound\|\d+\|[^|]*\|(.+)$/.exec(String(c.name ?? ""));
    if (m && !m[1].endsWith(MESH_SUFFIX)) {
      hosts.add(m[1]);
    }
  }
  return [...hosts].sort();
}

/** Every domain of every outbound virtual host the proxy has. */
export function routedDomains(cfg: ProxyConfig): string[] {
  return cfg.routes.flatMap((rc: any) =>
    (rc.virtual_hosts ?? []).flatMap((v: any) => v.domains ?? []),
  );
}

/** What a proxy received: clusters, routes' virtual hosts, endpoints, and the bytes of it all. */
export function configSize(cfg: ProxyConfig): string {
  const vhosts = cfg.routes.reduce(
    (n: number, rc: any) => n + (rc.virtual_hosts ?? []).length,
    0,
  );
  return `${cfg.clusters.length} clusters, ${vhosts} virtual hosts, ${cfg.endpoints.length} endpoint groups, ${JSON.stringify(cfg).length} bytes`;
}

/**
 * The proxy of `app` in `namespace` calls exactly `callees` (hosts) besides the mesh's namespace,
 * and has no route to any of `forbidden`. Waits for istiod to apply the Sidecar.
 */
async function expectScoped(
  namespace: string,
  app: string,
  callees: readonly string[],
  forbidden: readonly string[],
): Promise<void> {
  const want = [...callees].sort();
  const pod = await podOf(namespace, { app });
  const { cfg } = await awaitProxyConfig(
    pod,
    `clusters for exactly ${want.join(", ") || "nothing"} besides istio-system`,
    (c) => JSON.stringify(calledHosts(c)) === JSON.stringify(want),
  );
  const domains = routedDomains(cfg);
  for (const host of forbidden) {
    const short = host.split(".")[0];
    check(
      !domains.some((d) => d === host || d.startsWith(`${host}:`)) &&
        !domains.some((d) => d === short || d.startsWith(`${short}.`)),
      `${namespace}/${app}'s proxy has a route to ${host}, which it may not call`,
    );
    check(
      !cfg.clusters.some((c: any) => String(c.name).endsWith(`|${host}`)),
      `${namespace}/${app}'s proxy has a cluster for ${host}, which it may not call`,
    );
  }
  log(
    `${namespace}/${app}: calls ${want.map((h) => h.split(".")[0]).join(", ") || "nothing"} (+ istio-system); ${configSize(cfg)}`,
  );
}

/** Scenario 18a: the demo's and Bookinfo's proxies, each scoped to its calls. */
export async function checkScopedProxies(demoNamespace: string): Promise<void> {
  const backend = meshHost("backend", demoNamespace);
  const frontend = meshHost("frontend", demoNamespace);
  const bookinfo = ["productpage", "details", "reviews", "ratings"];
  const bookinfoHosts = bookinfo.map((s) => meshHost(s, "bookinfo"));
  await expectScoped(demoNamespace, "frontend", [backend], bookinfoHosts);
  await expectScoped(
    demoNamespace,
    "backend",
    [],
    [frontend, ...bookinfoHosts],
  );
  for (const svc of bookinfo) {
    const callees = BOOKINFO_CALLS.filter((c) => c.from === svc).map((c) =>
      meshHost(c.to, "bookinfo"),
    );
    await expectScoped(
      "bookinfo",
      svc,
      callees,
      [...bookinfoHosts, backend, frontend].filter((h) => !callees.includes(h)),
    );
  }
}
