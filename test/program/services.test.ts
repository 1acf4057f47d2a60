// Declared services through the whole program: what each renders to, the canary property for
// every declared service, the callers' policy, route-only services, and secrets kept secret.
import * as assert from "assert";
import {
  byType,
  changedResources,
  deployments,
  named,
  podOf,
  route,
  services,
  specOf,
  split,
} from "../support/finders";
import {
  DEV_CONFIG,
  isSecret,
  type Rendering,
  renderProgram,
} from "../support/mocks";
import { ORDERS_OUTPUT } from "../support/servicesOutput";

const ORDERS = {
  namespace: "shop",
  versions: {
    v1: { image: "ghcr.io/acme/orders:1.4.2", weight: 90 },
    v2: { image: "ghcr.io/acme/orders:1.5.0", weight: 10, replicas: 2 },
  },
  callers: ["frontend", "ingress"],
  ingress: { path: "/orders" },
  env: {
    LOG_LEVEL: "info",
    DB_PASSWORD: { secret: "hunter2-not-in-plain-text" },
  },
};
const PAYMENTS = {
  namespace: "shop",
  protocol: "grpc",
  port: 9090,
  versions: { v1: { image: "ghcr.io/acme/payments:2.0.0", weight: 100 } },
  callers: ["orders"],
};
const LEGACY = {
  namespace: "shop",
  versions: {
    stable: { selector: { app: "legacy", version: "stable" }, weight: 80 },
    next: { selector: { app: "legacy", version: "next" }, weight: 20 },
  },
  callers: ["shop/orders"],
};
const CONFIG = {
  ...DEV_CONFIG,
  services: { orders: ORDERS, payments: PAYMENTS, legacy: LEGACY },
};
const SECRET = ["services"];

let shared: Promise<Rendering> | undefined;
const rendered = () => (shared ??= renderProgram(CONFIG, SECRET));

/** Every string of a recording that is not inside a secret. */
function plainStrings(v: unknown, out: string[] = []): string[] {
  if (isSecret(v)) {
    return out;
  }
  if (typeof v === "string") {
    out.push(v);
  } else if (v && typeof v === "object") {
    Object.values(v).forEach((x) => plainStrings(x, out));
  }
  return out;
}

describe("program: declared services", () => {
  it("WHEN orders is declared THEN it has a Deployment per version, the split 90/10 with the version header, and the shop namespace in the mesh", async () => {
    const r = await rendered();
    assert.deepStrictEqual(
      deployments(r)
        .filter((d) => d.inputs.metadata?.namespace === "shop")
        .map((d) => d.inputs.metadata?.name)
        .sort(),
      ["orders-v1", "orders-v2", "payments-v1"],
    );
    const weighted = route(
      specOf(r, "VirtualService", "orders", "shop"),
      "weighted",
    );
    assert.deepStrictEqual(split(weighted), [
      ["v1", 90],
      ["v2", 10],
    ]);
    assert.deepStrictEqual(
      weighted.route.map((d) => d.headers?.response?.set),
      [{ "x-mesh-version": "v1" }, { "x-mesh-version": "v2" }],
    );
    const ns = named(
      byType<{ metadata: { name: string; labels: Record<string, string> } }>(
        r,
        "kubernetes:core/v1:Namespace",
      ),
      "shop",
    );
    assert.strictEqual(ns.inputs.metadata.labels["istio-injection"], "enabled");
    assert.ok(specOf(r, "AuthorizationPolicy", "deny-all", "shop"));
  });

  it("WHEN a version has 2 replicas THEN it rolls one extra pod at a time and has a PodDisruptionBudget; a 1-replica version has neither", async () => {
    const r = await rendered();
    const v2 = named(deployments(r), "orders-v2", "shop").inputs.spec;
    assert.strictEqual(v2.replicas, 2);
    assert.deepStrictEqual(v2.strategy, {
      type: "RollingUpdate",
      rollingUpdate: { maxSurge: 1, maxUnavailable: 0 },
    });
    assert.strictEqual(
      named(deployments(r), "orders-v1", "shop").inputs.spec.strategy,
      undefined,
    );
    const pdbs = byType<{ metadata: { name: string }; spec: unknown }>(
      r,
      "kubernetes:policy/v1:PodDisruptionBudget",
    );
    assert.deepStrictEqual(
      pdbs.map((p) => [p.inputs.metadata.name, p.inputs.spec]),
      [
        [
          "orders-v2",
          {
            maxUnavailable: 1,
            selector: { matchLabels: { app: "orders", version: "v2" } },
          },
        ],
      ],
    );
  });

  it("WHEN orders' pod is built THEN it stays hardened: non-root, read-only root, /tmp writable, TCP probes, the secret from a Secret", async () => {
    const r = await rendered();
    const pod = podOf(r, "orders-v1", "shop");
    const c = pod.containers[0];
    assert.strictEqual(pod.securityContext?.runAsNonRoot, true);
    assert.strictEqual(pod.securityContext?.runAsUser, 65532);
    assert.strictEqual(c.securityContext?.readOnlyRootFilesystem, true);
    assert.deepStrictEqual(
      c.volumeMounts?.map((m) => m.mountPath),
      ["/tmp"],
    );
    assert.deepStrictEqual(c.readinessProbe?.tcpSocket, { port: 8080 });
    assert.strictEqual(c.readinessProbe?.httpGet, undefined);
    assert.deepStrictEqual(c.env, [
      { name: "LOG_LEVEL", value: "info" },
      {
        name: "DB_PASSWORD",
        valueFrom: { secretKeyRef: { name: "orders-env", key: "DB_PASSWORD" } },
      },
    ]);
    const secret = named(
      byType<{
        metadata: { name: string };
        stringData: Record<string, unknown>;
      }>(r, "kubernetes:core/v1:Secret"),
      "orders-env",
      "shop",
    );
    assert.ok(
      isSecret(secret.inputs.stringData.DB_PASSWORD) ||
        isSecret(secret.inputs.stringData),
    );
  });

  it("WHEN a secret env value is rendered THEN it appears nowhere in plain text: not in a resource, not in an output", async () => {
    const r = await rendered();
    const plain = [...plainStrings(r.resources), ...plainStrings(r.outputs)];
    assert.ok(!plain.some((s) => s.includes("hunter2-not-in-plain-text")));
  });

  it("WHEN callers are named THEN each ALLOW policy admits exactly their principals, for any method", async () => {
    const r = await rendered();
    const rules = (svc: string) =>
      specOf(r, "AuthorizationPolicy", `${svc}-allow`, "shop").rules;
    assert.deepStrictEqual(rules("orders"), [
      {
        from: [
          {
            source: {
              principals: [
                "cluster.local/ns/mesh-demo/sa/frontend",
                "cluster.local/ns/istio-ingress/sa/istio-ingressgateway",
              ],
            },
          },
        ],
      },
    ]);
    assert.deepStrictEqual(rules("payments"), [
      {
        from: [{ source: { principals: ["cluster.local/ns/shop/sa/orders"] } }],
      },
    ]);
  });

  it("WHEN a service is route-only THEN the stack deploys no pods or account for it; its Service and subsets select the owner's labels", async () => {
    const r = await rendered();
    assert.ok(
      !deployments(r).some((d) =>
        d.inputs.metadata?.name?.startsWith("legacy"),
      ),
    );
    assert.ok(
      !byType(r, "kubernetes:core/v1:ServiceAccount").some(
        (a) => a.name === "legacy-sa",
      ),
    );
    assert.deepStrictEqual(
      named(services(r), "legacy", "shop").inputs.spec.selector,
      { app: "legacy" },
    );
    assert.deepStrictEqual(
      specOf(r, "DestinationRule", "legacy", "shop").subsets?.map((s) => [
        s.name,
        s.labels,
      ]),
      [
        ["stable", { app: "legacy", version: "stable" }],
        ["next", { app: "legacy", version: "next" }],
      ],
    );
    assert.deepStrictEqual(
      specOf(r, "AuthorizationPolicy", "legacy-allow", "shop").selector,
      { matchLabels: { app: "legacy" } },
    );
  });

  it("WHEN payments speaks gRPC THEN its Service port says so", async () => {
    const r = await rendered();
    assert.deepStrictEqual(
      named(services(r), "payments", "shop").inputs.spec.ports,
      [{ name: "grpc", appProtocol: "grpc", port: 9090, targetPort: 9090 }],
    );
  });

  it("WHEN ingress.path is set THEN the edge routes /orders to orders' versions ahead of the demo's catch-all", async () => {
    const r = await rendered();
    const edge = specOf(r, "VirtualService", "ingress-routes");
    assert.deepStrictEqual(
      edge.http.map((h) => h.name),
      ["orders", "frontend"],
    );
    assert.deepStrictEqual(edge.http[0].match, [
      { uri: { prefix: "/orders" } },
    ]);
    assert.deepStrictEqual(split(edge.http[0]), [
      ["v1", 90],
      ["v2", 10],
    ]);
  });

  it("WHEN only orders' weights change THEN only orders' VirtualService changes", async () => {
    const before = await rendered();
    const after = await renderProgram(
      {
        ...CONFIG,
        services: {
          ...CONFIG.services,
          orders: {
            ...ORDERS,
            versions: {
              v1: { ...ORDERS.versions.v1, weight: 50 },
              v2: { ...ORDERS.versions.v2, weight: 50 },
            },
          },
        },
      },
      SECRET,
    );
    // The edge route carries orders' weights too (the gateway does not read the mesh route).
    assert.deepStrictEqual(changedResources(before, after).sort(), [
      "kubernetes:networking.istio.io/v1:VirtualService::ingress-routes",
      "kubernetes:networking.istio.io/v1:VirtualService::orders-vs",
    ]);
    assert.deepStrictEqual(
      (after.outputs.services as Record<string, { weights: unknown }>).orders
        .weights,
      { v1: 50, v2: 50 },
    );
  });

  it("WHEN legacy's weights change THEN only legacy's VirtualService changes", async () => {
    const before = await rendered();
    const after = await renderProgram(
      {
        ...CONFIG,
        services: {
          ...CONFIG.services,
          legacy: {
            ...LEGACY,
            versions: {
              stable: { ...LEGACY.versions.stable, weight: 0 },
              next: { ...LEGACY.versions.next, weight: 100 },
            },
          },
        },
      },
      SECRET,
    );
    assert.deepStrictEqual(changedResources(before, after), [
      "kubernetes:networking.istio.io/v1:VirtualService::legacy-vs",
    ]);
  });

  it("WHEN the stack is deployed THEN the services output says where each is and what its metrics call each version", async () => {
    const out = (await rendered()).outputs.services as Record<
      string,
      Record<string, unknown>
    >;
    assert.deepStrictEqual(out.orders, ORDERS_OUTPUT);
    assert.deepStrictEqual(out.legacy.metrics, {
      stable: { service: "legacy", revision: "stable" },
      next: { service: "legacy", revision: "next" },
    });
  });

  for (const [mode, extra] of [
    ["gateway-api", { routing: { api: "gateway-api" } }],
    ["ambient", { istio: { dataplane: "ambient" } }],
  ] as const) {
    it(`WHEN the stack runs ${mode} THEN the services render and a weight shift changes one route only`, async () => {
      const base = { ...CONFIG, ...extra };
      const before = await renderProgram(base, SECRET);
      assert.ok(before.resources.some((x) => x.name === "orders-v1"));
      const shifted = await renderProgram(
        {
          ...base,
          services: {
            ...base.services,
            legacy: {
              ...LEGACY,
              versions: {
                stable: { ...LEGACY.versions.stable, weight: 30 },
                next: { ...LEGACY.versions.next, weight: 70 },
              },
            },
          },
        },
        SECRET,
      );
      const changed = changedResources(before, shifted);
      assert.strictEqual(changed.length, 1, changed.join(", "));
      assert.match(
        changed[0],
        mode === "gateway-api"
          ? /HTTPRoute::legacy-route$/
          : /VirtualService::legacy-vs$/,
      );
    });
  }
});
