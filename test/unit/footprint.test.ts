// The benchmark's footprint arithmetic (test/bench/footprint.ts): what the scheduler reserves
// for a pod, and how pods add up per workload.
import * as assert from "assert";
import {
  footprint,
  median,
  modeFootprint,
  parseCpu,
  parseMemory,
  type PodLike,
  podRequests,
  workloadOf,
} from "../bench/footprint";

const req = (cpu: string, memory: string) => ({
  resources: { requests: { cpu, memory } },
});

/** An injected pod of a Deployment: istio-init, istio-proxy as a native sidecar, the app. */
function injected(name: string, hash: string): PodLike {
  return {
    metadata: {
      name: `${name}-${hash}-abcde`,
      namespace: "mesh-demo",
      labels: { "pod-template-hash": hash },
      ownerReferences: [{ kind: "ReplicaSet", name: `${name}-${hash}` }],
    },
    spec: {
      initContainers: [
        { name: "istio-init", ...req("10m", "10Mi") },
        { name: "istio-proxy", restartPolicy: "Always", ...req("10m", "40Mi") },
      ],
      containers: [{ name: "app", ...req("10m", "32Mi") }],
    },
  };
}

describe("the benchmark's footprint", () => {
  it("WHEN quantities come in any of Kubernetes' spellings THEN they read as millicores and MiB", () => {
    assert.deepStrictEqual(
      ["100m", "0.5", "2"].map(parseCpu),
      [100, 500, 2000],
    );
    assert.deepStrictEqual(
      ["40Mi", "1Gi", "1024Ki", String(2 * 1024 ** 2)].map(parseMemory),
      [40, 1024, 1, 2],
    );
    assert.throws(() => parseCpu("lots"), /not a CPU quantity/);
    assert.throws(() => parseMemory("40MB"), /not a memory quantity/);
  });

  it("WHEN a pod has a native sidecar THEN it counts beside the app, and an ordinary init container only if it is larger", () => {
    assert.deepStrictEqual(podRequests(injected("backend-v1", "7c9d")), {
      cpu: 20,
      memMi: 72,
    });
    const bigInit = injected("backend-v1", "7c9d");
    bigInit.spec.initContainers!.push({
      name: "migrate",
      ...req("500m", "8Mi"),
    });
    // The init container runs beside the sidecar started before it: 500m + 10m; memory stays
    // the running pod's 72Mi, which is larger than 8Mi + 40Mi.
    assert.deepStrictEqual(podRequests(bigInit), { cpu: 510, memMi: 72 });
  });

  it("WHEN pods belong to a Deployment THEN they are grouped under its name, with the proxy apart", () => {
    const pods = [
      injected("backend-v1", "7c9d"),
      injected("backend-v1", "7c9d"),
      injected("frontend-v1", "55f6"),
    ];
    assert.strictEqual(workloadOf(pods[0]), "mesh-demo/backend-v1");
    const fp = footprint(pods);
    assert.deepStrictEqual(
      fp.workloads.map((w) => [w.workload, w.pods, w.app, w.proxy]),
      [
        [
          "mesh-demo/backend-v1",
          2,
          { cpu: 20, memMi: 64 },
          { cpu: 20, memMi: 80 },
        ],
        [
          "mesh-demo/frontend-v1",
          1,
          { cpu: 10, memMi: 32 },
          { cpu: 10, memMi: 40 },
        ],
      ],
    );
    assert.deepStrictEqual(fp.total, { cpu: 60, memMi: 216 });
  });

  it("WHEN Linkerd injected the pod THEN its linkerd-proxy container counts as the proxy and linkerd-init (smaller) not at all", () => {
    const pod: PodLike = {
      metadata: {
        name: "backend-v1-7c9d-abcde",
        namespace: "mesh-demo",
        labels: { "pod-template-hash": "7c9d" },
        ownerReferences: [{ kind: "ReplicaSet", name: "backend-v1-7c9d" }],
      },
      spec: {
        initContainers: [{ name: "linkerd-init", ...req("10m", "10Mi") }],
        containers: [
          { name: "linkerd-proxy", ...req("10m", "32Mi") },
          { name: "app", ...req("10m", "32Mi") },
        ],
      },
    };
    const [w] = footprint([pod]).workloads;
    assert.deepStrictEqual(
      [w.workload, w.app, w.proxy],
      ["mesh-demo/backend-v1", { cpu: 10, memMi: 32 }, { cpu: 10, memMi: 32 }],
    );
  });

  it("WHEN the app namespaces run in ambient THEN waypoints count as proxies and ztunnel and istio-cni as per-node agents, the rest left out", () => {
    const pod = (
      namespace: string,
      owner: { kind: string; name: string },
      containers: PodLike["spec"]["containers"],
    ): PodLike => ({
      metadata: {
        name: `${owner.name}-x`,
        namespace,
        ownerReferences: [owner],
      },
      spec: { containers },
    });
    const fp = footprint([
      pod("mesh-demo", { kind: "ReplicaSet", name: "backend-v1" }, [
        { name: "backend", ...req("10m", "32Mi") },
      ]),
      pod("mesh-demo", { kind: "ReplicaSet", name: "waypoint" }, [
        { name: "istio-proxy", ...req("10m", "48Mi") },
      ]),
      pod("istio-system", { kind: "DaemonSet", name: "ztunnel" }, [
        { name: "istio-proxy", ...req("10m", "32Mi") },
      ]),
      pod("istio-system", { kind: "DaemonSet", name: "istio-cni-node" }, [
        { name: "install-cni", ...req("50m", "64Mi") },
      ]),
      pod("istio-system", { kind: "ReplicaSet", name: "istiod" }, [
        { name: "discovery", ...req("100m", "256Mi") },
      ]),
    ]);
    assert.deepStrictEqual(modeFootprint(fp, ["mesh-demo"]), {
      apps: { cpu: 10, memMi: 32 },
      proxies: { cpu: 10, memMi: 48 },
      nodeAgents: { cpu: 60, memMi: 96 },
      nodes: 1,
      total: { cpu: 80, memMi: 176 },
    });
  });

  it("WHEN a sample has an even size THEN its median is the mean of the middle two", () => {
    assert.strictEqual(median([3, 1, 2]), 2);
    assert.strictEqual(median([4, 1, 3, 2]), 2.5);
  });
});
