// The control plane in the loop: the stack's pods as the API server admitted them (injected by
// the real webhook, Ready on simulated nodes) and the config the real istiod computes for each of
// their proxies. Every check here reads what a proxy would receive; nothing reads our own specs.
import { check, env, kube, KUBECONFIG, log } from "./harness";
import { KubeObject } from "./kubeClient";
import {
  clusterWeights,
  endpointIps,
  inboundTransports,
  outboundCluster,
  ProxyConfig,
  readProxyConfig,
} from "./xds";

const XDS_BIN = env("TESTBED_XDS");
const XDS_ADDRESS = env("ISTIOD_XDS");

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The pods of a namespace, optionally filtered by labels. */
export async function pods(
  namespace: string,
  labels: Record<string, string> = {},
): Promise<KubeObject[]> {
  const selector = Object.entries(labels)
    .map(([k, v]) => `${k}=${v}`)
    .join(",");
  return kube.list(
    `/api/v1/namespaces/${namespace}/pods${selector ? `?labelSelector=${encodeURIComponent(selector)}` : ""}`,
  );
}

/** The one running pod of an app (and version): its "namespace/name" for the xDS reader. */
export async function podOf(
  namespace: string,
  labels: Record<string, string>,
): Promise<KubeObject> {
  const list = (await pods(namespace, labels)).filter(
    (p) => !p.metadata.deletionTimestamp && p.status?.podIP,
  );
  check(
    list.length >= 1,
    `no running pod in ${namespace} with ${JSON.stringify(labels)}`,
  );
  return list[0];
}

const podRef = (p: KubeObject) => `${p.metadata.namespace}/${p.metadata.name}`;

/** What istiod sends this pod's proxy now. */
export function proxyConfig(pod: KubeObject): ProxyConfig {
  return readProxyConfig(XDS_BIN, KUBECONFIG, XDS_ADDRESS, podRef(pod));
}

/**
 * Retries `attempt` every 250 ms until it returns without throwing (the cluster and istiod
 * converge asynchronously); then resolves to its result and the seconds it took. Past the
 * timeout, rejects with `what` and the last failure.
 */
export async function eventually<T>(
  what: string,
  attempt: () => T | Promise<T>,
  timeoutMs = 60_000,
): Promise<{ value: T; seconds: number }> {
  const start = Date.now();
  for (;;) {
    try {
      return { value: await attempt(), seconds: (Date.now() - start) / 1000 };
    } catch (e) {
      if (Date.now() - start > timeoutMs) {
        const last = e instanceof Error ? e.message.split("\n")[0] : String(e);
        throw new Error(
          `${what} did not happen within ${timeoutMs / 1000} s (${last})`,
        );
      }
    }
    await sleep(250);
  }
}

/** Polls the pod's proxy config until `ok` holds (istiod pushes asynchronously); returns it. */
export async function awaitProxyConfig(
  pod: KubeObject,
  what: string,
  ok: (cfg: ProxyConfig) => boolean,
  timeoutMs = 60_000,
): Promise<{ cfg: ProxyConfig; seconds: number }> {
  const { value, seconds } = await eventually(
    `istiod's config for ${podRef(pod)} showing ${what}`,
    () => {
      const cfg = proxyConfig(pod);
      check(ok(cfg), "condition not met");
      return cfg;
    },
    timeoutMs,
  );
  return { cfg: value, seconds };
}

/** The outbound cluster of one subset of a service in a proxy's config (CDS). */
export function subsetCluster(
  cfg: ProxyConfig,
  host: string,
  port: number,
  subset: string,
): any {
  const name = outboundCluster(host, port, subset);
  const c = cfg.clusters.find((x) => x.name === name);
  check(c, `no cluster ${name}`);
  return c;
}

/** The container names of a pod, init containers first (native sidecars are init containers). */
function containerNames(p: KubeObject): string[] {
  return [
    ...(p.spec.initContainers ?? []).map((c: any) => c.name),
    ...(p.spec.containers ?? []).map((c: any) => c.name),
  ];
}

/**
 * Every pod of the namespace was injected by istiod's webhook (istio-proxy plus istio-init or,
 * with istio-cni, istio-validation; the tlsMode label clients use to pick mTLS), is Ready, and
 * every Deployment reports Available; each Service's EndpointSlices list exactly its ready pods.
 */
export async function checkInjectedAndReady(
  namespace: string,
  initContainer: "istio-init" | "istio-validation" | null,
): Promise<string> {
  const list = (await pods(namespace)).filter(
    (p) => !p.metadata.deletionTimestamp,
  );
  check(list.length > 0, `no pods in ${namespace}`);
  for (const p of list) {
    const names = containerNames(p);
    check(
      names.includes("istio-proxy") &&
        (initContainer === null
          ? !names.includes("istio-init") && !names.includes("istio-validation")
          : names.includes(initContainer)),
      `${podRef(p)} was not injected with istio-proxy and ${initContainer ?? "no redirection"}: ${names.join(", ")}`,
    );
    // Sidecars carry the label clients use to pick mTLS; a gateway router is only a client.
    check(
      initContainer === null ||
        p.metadata.labels?.["security.istio.io/tlsMode"] === "istio",
      `${podRef(p)} lacks the security.istio.io/tlsMode=istio label`,
    );
    // A sidecar is sized by istio.proxyResources (global.proxy.resources), as injected; a
    // gateway's proxy by the gateway chart's own resources.
    const proxy = [
      ...(p.spec.initContainers ?? []),
      ...(p.spec.containers ?? []),
    ].find((c: any) => c.name === "istio-proxy");
    const want =
      initContainer === null
        ? { cpu: "50m", memory: "128Mi" }
        : { cpu: "10m", memory: "40Mi" };
    check(
      JSON.stringify(proxy?.resources?.requests) === JSON.stringify(want),
      `${podRef(p)}'s istio-proxy requests ${JSON.stringify(proxy?.resources?.requests)}, not ${want.cpu}/${want.memory}`,
    );
    const ready = (p.status?.conditions ?? []).find(
      (c: any) => c.type === "Ready",
    );
    check(ready?.status === "True", `${podRef(p)} is not Ready`);
  }
  const deployments = await kube.list(
    `/apis/apps/v1/namespaces/${namespace}/deployments`,
  );
  for (const d of deployments) {
    const available = (d.status?.conditions ?? []).find(
      (c: any) => c.type === "Available",
    );
    check(
      available?.status === "True" &&
        d.status.availableReplicas === d.spec.replicas,
      `Deployment ${namespace}/${d.metadata.name} is not Available`,
    );
  }
  const services = await kube.list(`/api/v1/namespaces/${namespace}/services`);
  for (const svc of services.filter((s) => s.spec.selector)) {
    const want = list
      .filter((p) =>
        Object.entries<string>(svc.spec.selector).every(
          ([k, v]) => p.metadata.labels?.[k] === v,
        ),
      )
      .map((p) => p.status.podIP as string)
      .sort();
    const slices = await kube.list(
      `/apis/discovery.k8s.io/v1/namespaces/${namespace}/endpointslices?labelSelector=${encodeURIComponent(`kubernetes.io/service-name=${svc.metadata.name}`)}`,
    );
    const got = slices
      .flatMap((s) => s.endpoints ?? [])
      .filter((e: any) => e.conditions?.ready)
      .flatMap((e: any) => e.addresses)
      .sort();
    check(
      JSON.stringify(got) === JSON.stringify(want) && want.length > 0,
      `EndpointSlices of ${namespace}/${svc.metadata.name} hold ${got.join(",") || "nothing"}, its ready pods are ${want.join(",")}`,
    );
  }
  return `${list.length} pods in ${namespace} injected (istio-proxy${initContainer ? `, ${initContainer}` : ""}) and Ready, ${deployments.length} Deployments Available`;
}

/** host:port as Istio names a sidecar's outbound virtual host domain. */
export const meshHost = (svc: string, ns: string) =>
  `${svc}.${ns}.svc.cluster.local`;

/** The routes of a sidecar's outbound route config to a service, in order. */
export function outboundRoutes(
  cfg: ProxyConfig,
  host: string,
  port: number,
): any[] {
  const rc = cfg.routes.find((r) => r.name === String(port));
  check(rc, `no outbound route configuration ${port}`);
  const vh = (rc.virtual_hosts ?? []).find((v: any) =>
    (v.domains ?? []).some(
      (d: string) => d === host || d === `${host}:${port}`,
    ),
  );
  check(vh, `route configuration ${port} has no virtual host for ${host}`);
  return vh.routes ?? [];
}

/** Weights by subset (version) of a route to `host:port`; subsets absent from the route are 0. */
export function subsetWeights(
  route: any,
  host: string,
  port: number,
  versions: string[],
): Record<string, number> {
  const w = clusterWeights(route);
  const out: Record<string, number> = {};
  for (const v of versions) {
    out[v] = w[outboundCluster(host, port, v)] ?? 0;
  }
  const unknown = Object.keys(w).filter(
    (c) => !versions.some((v) => c === outboundCluster(host, port, v)),
  );
  check(
    unknown.length === 0,
    `route ${route.name} sends traffic to clusters outside the subsets: ${unknown.join(", ")}`,
  );
  return out;
}

/**
 * Each subset cluster of a service holds exactly the IPs of that version's pods (EDS), including
 * versions at weight 0, which stay deployed and reachable by header.
 */
export async function checkSubsetEndpoints(
  cfg: ProxyConfig,
  svc: string,
  ns: string,
  port: number,
  versions: string[],
): Promise<string> {
  const parts: string[] = [];
  for (const v of versions) {
    const want = (await pods(ns, { app: svc, version: v }))
      .filter((p) => !p.metadata.deletionTimestamp)
      .map((p) => p.status.podIP as string)
      .sort();
    const got = endpointIps(cfg, outboundCluster(meshHost(svc, ns), port, v));
    check(
      want.length > 0 && JSON.stringify(got) === JSON.stringify(want),
      `subset ${v} of ${svc} holds ${got.join(",") || "no endpoint"}, its pods are ${want.join(",")}`,
    );
    parts.push(`${v}=${got.join(",")}`);
  }
  return parts.join(" ");
}

/** Each injected pod's inbound listener accepts exactly these transports on its app port. */
export async function checkInboundMtls(
  ns: string,
  appPort: number,
  expected: string[],
): Promise<number> {
  let n = 0;
  for (const p of await pods(ns)) {
    if (p.metadata.deletionTimestamp) {
      continue;
    }
    const { cfg } = await awaitProxyConfig(
      p,
      `inbound ${appPort} accepting ${expected.join("+")}`,
      (c) =>
        JSON.stringify(inboundTransports(c, appPort)) ===
        JSON.stringify(expected),
      30_000,
    );
    check(cfg, "unreachable");
    n++;
  }
  log(`${n} pods in ${ns} accept ${expected.join(" + ")} on ${appPort}`);
  return n;
}
