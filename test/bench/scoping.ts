// What istiod sends one proxy of the big stack (issue 26), read with the test bed's ADS client
// (testbed-xds, as test/integration/xds.ts reads it) exactly as the proxy would receive it: the
// size of its config, with and without routing.scopeProxies; istiod's memory; and how long a
// weight shift takes to reach it. Every read is a new ADS connection, so istiod computes the
// proxy's whole config for it, as for a proxy that connects.
import { execFileSync } from "child_process";
import { env, kube, KUBECONFIG } from "../integration/harness";
import { clusterWeights, type ProxyConfig } from "../integration/xds";
import { calledHosts } from "../integration/scoping";
import { istiodProcess } from "./cli";
import { median } from "./footprint";

const XDS_BIN = env("TESTBED_XDS");
const XDS_ADDRESS = env("ISTIOD_XDS");

/** How big one proxy's config is. */
export interface ConfigSize {
  clusters: number;
  /** Virtual hosts over every route configuration. */
  virtualHosts: number;
  /** ClusterLoadAssignments (EDS), one per EDS cluster. */
  endpointGroups: number;
  /** The whole config (clusters, endpoints, listeners, routes) as compact JSON, in bytes. */
  bytes: number;
}

/** One read: the config, its size, and how long the read took (a new ADS connection). */
interface Read {
  cfg: ProxyConfig;
  size: ConfigSize;
  secs: number;
}

/** `<namespace>/<name>` of a running pod of `app` at `version`. */
export async function podRef(
  namespace: string,
  app: string,
  version: string,
): Promise<string> {
  const selector = encodeURIComponent(`app=${app},version=${version}`);
  const pod = (
    await kube.list(
      `/api/v1/namespaces/${namespace}/pods?labelSelector=${selector}`,
    )
  ).find((p) => !p.metadata.deletionTimestamp && p.status?.podIP);
  if (!pod) {
    throw new Error(`no running pod of ${app} ${version} in ${namespace}`);
  }
  return `${namespace}/${pod.metadata.name}`;
}

/** Everything istiod sends the proxy of `pod` now. */
function readProxy(pod: string): Read {
  const start = process.hrtime.bigint();
  const out = execFileSync(
    XDS_BIN,
    [
      "--kubeconfig",
      KUBECONFIG,
      "--xds",
      XDS_ADDRESS,
      "--timeout",
      "60s",
      pod,
      "all",
    ],
    {
      encoding: "utf8",
      stdio: ["ignore", "pipe", "pipe"],
      timeout: 90_000,
      maxBuffer: 512 * 1024 * 1024,
    },
  );
  const secs = Number(process.hrtime.bigint() - start) / 1e9;
  const doc = JSON.parse(out) as Partial<ProxyConfig>;
  const cfg: ProxyConfig = {
    clusters: doc.clusters ?? [],
    endpoints: doc.endpoints ?? [],
    listeners: doc.listeners ?? [],
    routes: doc.routes ?? [],
  };
  const size = {
    clusters: cfg.clusters.length,
    virtualHosts: cfg.routes.reduce(
      (n: number, rc: any) => n + (rc.virtual_hosts ?? []).length,
      0,
    ),
    endpointGroups: cfg.endpoints.length,
    bytes: Buffer.byteLength(JSON.stringify(cfg)),
  };
  return { cfg, size, secs };
}

/** The hosts the proxy calls, as scenario 18a reads them. */
export { calledHosts };

/** Every cluster name, for a report of what a scoped proxy still holds. */
export const clusterNames = (cfg: ProxyConfig): string[] =>
  cfg.clusters.map((c: any) => String(c.name)).sort();

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Reads the proxy until its outbound hosts are what `settled` wants (the Sidecar applied, or
 * removed) and two consecutive reads have the same size; returns the last read.
 */
export async function stableConfig(
  pod: string,
  what: string,
  settled: (hosts: string[]) => boolean,
  timeoutMs = 600_000,
): Promise<{ cfg: ProxyConfig; size: ConfigSize; reads: number }> {
  const deadline = Date.now() + timeoutMs;
  let last: ConfigSize | undefined;
  for (let reads = 1; ; reads++) {
    const r = readProxy(pod);
    const hosts = calledHosts(r.cfg);
    if (settled(hosts)) {
      if (last && JSON.stringify(last) === JSON.stringify(r.size)) {
        return { cfg: r.cfg, size: r.size, reads };
      }
      last = r.size;
    } else {
      last = undefined;
    }
    if (Date.now() > deadline) {
      throw new Error(
        `${pod}'s proxy did not settle on ${what} within ${timeoutMs / 1000} s ` +
          `(last: ${hosts.length} outbound hosts, ${JSON.stringify(r.size)})`,
      );
    }
    await sleep(500);
  }
}

/** The weight per subset of the default route to `host` (the VirtualService's weighted split). */
export function subsetWeights(
  cfg: ProxyConfig,
  host: string,
): Record<string, number> {
  for (const rc of cfg.routes) {
    for (const vh of rc.virtual_hosts ?? []) {
      if (!(vh.domains ?? []).includes(host)) {
        continue;
      }
      const routes = vh.routes ?? [];
      const split = clusterWeights(routes[routes.length - 1]);
      return Object.fromEntries(
        Object.entries(split).map(([cluster, w]) => [
          cluster.split("|")[2] ?? cluster,
          w,
        ]),
      );
    }
  }
  return {};
}

/** Seconds from `since` (hrtime) to the first read that sees `want`, and each read's duration. */
export interface Propagation {
  secs: number;
  polls: number[];
}

/**
 * Reads the proxy of `pod` back to back until its route to `host` splits as `want`; the time is
 * from `since` (when the shift's `up` returned) to the end of the read that saw it.
 */
export async function propagation(
  pod: string,
  host: string,
  want: Record<string, number>,
  since: bigint,
  timeoutMs = 120_000,
): Promise<Propagation> {
  const polls: number[] = [];
  for (;;) {
    const r = readProxy(pod);
    polls.push(r.secs);
    const got = subsetWeights(r.cfg, host);
    const elapsed = Number(process.hrtime.bigint() - since) / 1e9;
    if (Object.entries(want).every(([v, w]) => got[v] === w)) {
      return { secs: elapsed, polls };
    }
    if (elapsed * 1000 > timeoutMs) {
      throw new Error(
        `${pod}'s route to ${host} still splits ${JSON.stringify(got)} after ${timeoutMs / 1000} s, want ${JSON.stringify(want)}`,
      );
    }
  }
}

/** istiod's resident memory, and the Go heap in use from its /metrics (loopback) when it answers. */
export async function istiodMemory(): Promise<string> {
  const rss = istiodProcess()?.rssMi;
  let heap = "";
  const monitoring = process.env.ISTIOD_MONITORING;
  if (monitoring?.startsWith("http://127.0.0.1:")) {
    try {
      const text = await (
        await fetch(`${monitoring}/metrics`, {
          signal: AbortSignal.timeout(10_000),
        })
      ).text();
      const m = /^go_memstats_heap_inuse_bytes ([0-9.e+]+)$/m.exec(text);
      if (m) {
        heap = ` (heap ${Math.round(Number(m[1]) / 1024 ** 2)}Mi)`;
      }
    } catch {
      // RSS alone then.
    }
  }
  return rss === undefined ? "not running" : `${Math.round(rss)}Mi${heap}`;
}

export const kib = (bytes: number) => `${(bytes / 1024).toFixed(1)} KiB`;

export const showPropagation = (p: Propagation) =>
  `${p.secs.toFixed(2)} s (${p.polls.length} poll${p.polls.length === 1 ? "" : "s"}, ` +
  `${median(p.polls).toFixed(2)} s each)`;
