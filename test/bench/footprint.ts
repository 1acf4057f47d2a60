// What a stack requests of the cluster, read from its pods as the API server holds them (after
// istiod's injection), grouped by workload. Pure functions: the benchmark and the unit tests call
// them directly.

/** A container as the pod spec carries it (only what the sums need). */
export interface ContainerLike {
  name: string;
  restartPolicy?: string;
  resources?: { requests?: Record<string, string> };
}

export interface PodLike {
  metadata: {
    name: string;
    namespace: string;
    labels?: Record<string, string>;
    ownerReferences?: Array<{ kind: string; name: string }>;
  };
  spec: { containers: ContainerLike[]; initContainers?: ContainerLike[] };
}

/** CPU in millicores and memory in MiB. */
export interface Requests {
  cpu: number;
  memMi: number;
}

const ZERO: Requests = { cpu: 0, memMi: 0 };
const add = (a: Requests, b: Requests): Requests => ({
  cpu: a.cpu + b.cpu,
  memMi: a.memMi + b.memMi,
});

/** A CPU quantity ("100m", "0.5", "2") in millicores. */
export function parseCpu(q: string): number {
  const m = /^([0-9.]+)(m?)$/.exec(q.trim());
  if (!m) {
    throw new Error(`not a CPU quantity: ${q}`);
  }
  return m[2] === "m" ? Number(m[1]) : Number(m[1]) * 1000;
}

const MEMORY_UNITS: Record<string, number> = {
  "": 1,
  k: 1e3,
  M: 1e6,
  G: 1e9,
  Ki: 1024,
  Mi: 1024 ** 2,
  Gi: 1024 ** 3,
};

/** A memory quantity ("40Mi", "1Gi", "128M", "134217728") in MiB. */
export function parseMemory(q: string): number {
  const m = /^([0-9.]+)(k|M|G|Ki|Mi|Gi)?$/.exec(q.trim());
  if (!m) {
    throw new Error(`not a memory quantity: ${q}`);
  }
  return (Number(m[1]) * MEMORY_UNITS[m[2] ?? ""]) / 1024 ** 2;
}

function requestsOf(c: ContainerLike): Requests {
  const r = c.resources?.requests ?? {};
  return {
    cpu: r.cpu ? parseCpu(r.cpu) : 0,
    memMi: r.memory ? parseMemory(r.memory) : 0,
  };
}

/**
 * A pod's effective request, as the scheduler computes it: the app containers plus the native
 * sidecars (init containers with restartPolicy Always), or, if larger, any ordinary init container
 * plus the sidecars started before it. Each resource separately.
 */
export function podRequests(pod: PodLike): Requests {
  let sidecars = ZERO;
  let initPeak = ZERO;
  for (const c of pod.spec.initContainers ?? []) {
    const r = requestsOf(c);
    if (c.restartPolicy === "Always") {
      sidecars = add(sidecars, r);
    } else {
      const during = add(sidecars, r);
      initPeak = {
        cpu: Math.max(initPeak.cpu, during.cpu),
        memMi: Math.max(initPeak.memMi, during.memMi),
      };
    }
  }
  const running = pod.spec.containers.map(requestsOf).reduce(add, sidecars);
  return {
    cpu: Math.max(running.cpu, initPeak.cpu),
    memMi: Math.max(running.memMi, initPeak.memMi),
  };
}

/** The injected proxies: Istio's Envoy and Linkerd's proxy. */
const PROXY_CONTAINERS = ["istio-proxy", "linkerd-proxy"];

/**
 * The proxy the mesh's injector added to the pod (a container or a native sidecar), if any:
 * istiod's Envoy or Linkerd's proxy.
 */
export function proxyRequests(pod: PodLike): Requests {
  const proxy = [
    ...(pod.spec.initContainers ?? []),
    ...pod.spec.containers,
  ].find(
    (c) =>
      PROXY_CONTAINERS.includes(c.name) &&
      (c.restartPolicy === "Always" || pod.spec.containers.includes(c)),
  );
  return proxy ? requestsOf(proxy) : ZERO;
}

export interface WorkloadRequests {
  /** namespace/name of the workload (the Deployment, or the pod without one). */
  workload: string;
  pods: number;
  /** Everything but the injected proxy. */
  app: Requests;
  /** The injected proxy (zero for pods without one). */
  proxy: Requests;
  total: Requests;
}

/** The workload a pod belongs to: its Deployment (ReplicaSet name minus the hash), else itself. */
export function workloadOf(pod: PodLike): string {
  // One pod per node (ztunnel, istio-cni): grouped under their DaemonSet.
  const ds = pod.metadata.ownerReferences?.find((o) => o.kind === "DaemonSet");
  if (ds) {
    return `${pod.metadata.namespace}/${ds.name}`;
  }
  const rs = pod.metadata.ownerReferences?.find((o) => o.kind === "ReplicaSet");
  const hash = pod.metadata.labels?.["pod-template-hash"];
  const name =
    rs && hash && rs.name.endsWith(`-${hash}`)
      ? rs.name.slice(0, -hash.length - 1)
      : (rs?.name ?? pod.metadata.name);
  return `${pod.metadata.namespace}/${name}`;
}

/** Requests per workload, sorted by name, and their sum. */
export function footprint(pods: PodLike[]): {
  workloads: WorkloadRequests[];
  total: Requests;
} {
  const by = new Map<string, WorkloadRequests>();
  for (const pod of pods) {
    const key = workloadOf(pod);
    const total = podRequests(pod);
    const proxy = proxyRequests(pod);
    const app = {
      cpu: total.cpu - proxy.cpu,
      memMi: total.memMi - proxy.memMi,
    };
    const w = by.get(key) ?? {
      workload: key,
      pods: 0,
      app: ZERO,
      proxy: ZERO,
      total: ZERO,
    };
    by.set(key, {
      workload: key,
      pods: w.pods + 1,
      app: add(w.app, app),
      proxy: add(w.proxy, proxy),
      total: add(w.total, total),
    });
  }
  const workloads = [...by.values()].sort((a, b) =>
    a.workload.localeCompare(b.workload),
  );
  return { workloads, total: workloads.map((w) => w.total).reduce(add, ZERO) };
}

/** Median of a non-empty sample. */
export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

/** What the app namespaces cost in one data plane mode, split by who asks for it. */
export interface ModeFootprint {
  /** The applications' own containers. */
  apps: Requests;
  /** Per-pod or per-namespace proxies: the sidecars, or the waypoints. */
  proxies: Requests;
  /** Per-node agents: ztunnel and the istio-cni node agent (one pod per node each). */
  nodeAgents: Requests;
  /** Nodes the agents ran on (their pods per DaemonSet). */
  nodes: number;
  /** apps + proxies + node agents. */
  total: Requests;
}

/** DaemonSets of the ambient data plane (the chart names), in the root namespace. */
const NODE_AGENTS = ["istio-system/ztunnel", "istio-system/istio-cni-node"];

/**
 * The data plane cost of the app namespaces in a footprint: their apps, their proxies (an
 * injected sidecar's requests, or a waypoint, whose only container is its proxy), and the node
 * agents. The control plane, the ingress and the addons are the same in both modes and left out.
 */
export function modeFootprint(
  fp: { workloads: WorkloadRequests[] },
  appNamespaces: readonly string[],
): ModeFootprint {
  const inApps = fp.workloads.filter((w) =>
    appNamespaces.includes(w.workload.split("/")[0]),
  );
  const agents = fp.workloads.filter((w) => NODE_AGENTS.includes(w.workload));
  const apps = inApps.map((w) => w.app).reduce(add, ZERO);
  const proxies = inApps.map((w) => w.proxy).reduce(add, ZERO);
  const nodeAgents = agents.map((w) => w.total).reduce(add, ZERO);
  return {
    apps,
    proxies,
    nodeAgents,
    nodes: Math.max(0, ...agents.map((w) => w.pods)),
    total: add(add(apps, proxies), nodeAgents),
  };
}
