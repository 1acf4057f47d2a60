// Proxy scoping (routing.scopeProxies) through the whole program: every workload's Sidecar imports
// exactly what the ALLOW policies let it call (Bookinfo's call table, the demo, declared services,
// egress hosts), routing is exported only to callers' namespaces, turning it off leaves exactly the
// unscoped rendering, ambient builds no Sidecar, and a weight shift still changes one resource.
import * as assert from "assert";
import { BOOKINFO_CALLS } from "../../components/apps/bookinfoCallGraph";
import { validateConfig } from "../../components/config";
import type { IstioSpecs } from "../../components/core";
import { problems } from "../support/configProblems";
import { changedResources, istioResources } from "../support/finders";
import {
  DEV_CONFIG,
  type RecordedResource,
  type Rendering,
  renderProgram,
} from "../support/mocks";

const MESH = "istio-system/*";
const imported = (ns: string, svc: string) =>
  `${ns}/${svc}.${ns}.svc.cluster.local`;

/** Each Sidecar's imports, by `<namespace>/<name>`. */
function sidecars(r: Rendering): Record<string, string[]> {
  return Object.fromEntries(
    istioResources(r, "Sidecar").map((s) => [
      `${s.inputs.metadata.namespace}/${s.inputs.metadata.name}`,
      [...s.inputs.spec.egress[0].hosts],
    ]),
  );
}

/** exportTo of every VirtualService and DestinationRule, by `<Kind> <namespace>/<name>`. */
function exports(r: Rendering): Record<string, readonly string[] | undefined> {
  return Object.fromEntries(
    [
      ...istioResources(r, "VirtualService"),
      ...istioResources(r, "DestinationRule"),
    ].map((x) => [
      `${x.inputs.kind} ${x.inputs.metadata.namespace}/${x.inputs.metadata.name}`,
      (x.inputs.spec as { exportTo?: readonly string[] }).exportTo,
    ]),
  );
}

const BOOKINFO = { ...DEV_CONFIG, bookinfo: { enabled: true } };
const ORDERS = {
  namespace: "shop",
  versions: { v1: { image: "ghcr.io/acme/orders:1.4.2", weight: 100 } },
  callers: ["frontend", "shop/payments", "ingress"],
  ingress: { path: "/orders" },
};
const PAYMENTS = {
  namespace: "shop",
  versions: { v1: { image: "ghcr.io/acme/payments:2.0.0", weight: 100 } },
  callers: ["orders"],
};
const LEGACY = {
  namespace: "legacy",
  versions: {
    stable: { selector: { app: "legacy", version: "stable" }, weight: 100 },
  },
  callers: ["shop/orders", "spiffe://cluster.local/ns/batch/sa/reports"],
};
const DECLARED = {
  ...DEV_CONFIG,
  services: { orders: ORDERS, payments: PAYMENTS, legacy: LEGACY },
  egress: {
    mode: "registry-only",
    hosts: {
      "api.stripe.com": { port: 443, protocol: "tls", callers: ["payments"] },
    },
  },
};

const cache = new Map<string, Promise<Rendering>>();
const rendered = (config: Record<string, unknown>) => {
  const key = JSON.stringify(config);
  if (!cache.has(key)) {
    cache.set(key, renderProgram(config));
  }
  return cache.get(key)!;
};

describe("proxy scoping: Sidecars from the call graph", () => {
  it("WHEN the dev stack is rendered THEN frontend imports the mesh and backend only, backend the mesh only", async () => {
    assert.deepStrictEqual(sidecars(await rendered(DEV_CONFIG)), {
      "mesh-demo/backend": [MESH],
      "mesh-demo/frontend": [MESH, imported("mesh-demo", "backend")],
    });
  });

  it("WHEN Bookinfo is on THEN each of its Sidecars imports exactly the services the call table says it calls", async () => {
    const got = sidecars(await rendered(BOOKINFO));
    for (const svc of ["productpage", "details", "reviews", "ratings"]) {
      const callees = BOOKINFO_CALLS.filter((c) => c.from === svc)
        .map((c) => imported("bookinfo", c.to))
        .sort();
      assert.deepStrictEqual(got[`bookinfo/${svc}`], [MESH, ...callees], svc);
    }
    assert.deepStrictEqual(got["bookinfo/productpage"], [
      MESH,
      imported("bookinfo", "details"),
      imported("bookinfo", "ratings"),
      imported("bookinfo", "reviews"),
    ]);
  });

  it("WHEN the Gateway API routes THEN a caller also imports the callee's version Services, which its HTTPRoute sends to", async () => {
    const got = sidecars(
      await rendered({ ...DEV_CONFIG, routing: { api: "gateway-api" } }),
    );
    assert.deepStrictEqual(got["mesh-demo/frontend"], [
      MESH,
      imported("mesh-demo", "backend-v1"),
      imported("mesh-demo", "backend-v2"),
      imported("mesh-demo", "backend"),
    ]);
  });

  it("WHEN services are declared THEN callers across apps and namespaces import them, egress callers the host and the gateway, route-only pods get none", async () => {
    const got = sidecars(await rendered(DECLARED));
    const stripe = [
      "istio-egress/api.stripe.com",
      "istio-egress/istio-egressgateway.istio-egress.svc.cluster.local",
    ];
    assert.deepStrictEqual(got, {
      "mesh-demo/backend": [MESH],
      "mesh-demo/frontend": [
        MESH,
        imported("mesh-demo", "backend"),
        imported("shop", "orders"),
      ],
      "shop/orders": [
        MESH,
        imported("legacy", "legacy"),
        imported("shop", "payments"),
      ],
      "shop/payments": [MESH, ...stripe, imported("shop", "orders")].sort(
        (a, b) => (a === MESH ? -1 : b === MESH ? 1 : a.localeCompare(b)),
      ),
    });
  });
});

describe("proxy scoping: exportTo", () => {
  it("WHEN services have callers in other namespaces THEN their routing is exported to exactly those and their own", async () => {
    const got = exports(await rendered(DECLARED));
    assert.deepStrictEqual(got["VirtualService mesh-demo/backend"], ["."]);
    assert.deepStrictEqual(got["VirtualService mesh-demo/frontend"], [
      ".",
      "istio-ingress",
    ]);
    assert.deepStrictEqual(got["VirtualService shop/orders"], [
      ".",
      "istio-ingress",
      "mesh-demo",
    ]);
    assert.deepStrictEqual(got["DestinationRule shop/orders"], [
      ".",
      "istio-ingress",
      "mesh-demo",
    ]);
    // A caller named by its SPIFFE ID runs outside the stack; its namespace still imports.
    assert.deepStrictEqual(got["VirtualService legacy/legacy"], [
      ".",
      "batch",
      "shop",
    ]);
  });

  it("WHEN the egress gateway routes a host THEN its own resources stay visible to every namespace (the callers' Sidecars pick them)", async () => {
    const r = await rendered(DECLARED);
    const egress = [
      ...istioResources(r, "VirtualService"),
      ...istioResources(r, "DestinationRule"),
    ].filter((x) => x.inputs.metadata.namespace === "istio-egress");
    assert.ok(egress.length >= 2);
    for (const x of egress) {
      assert.strictEqual(
        (x.inputs.spec as { exportTo?: unknown }).exportTo,
        undefined,
      );
    }
  });
});

/** The rendering without what scoping adds: the Sidecars, their component and every exportTo. */
function unscoped(r: Rendering): Rendering {
  const strip = (x: RecordedResource): RecordedResource => {
    const inputs = x.inputs as { spec?: Record<string, unknown> };
    if (inputs.spec && "exportTo" in inputs.spec) {
      const { exportTo: _dropped, ...spec } = inputs.spec;
      return { ...x, inputs: { ...inputs, spec } };
    }
    return x;
  };
  return {
    ...r,
    resources: r.resources
      .filter(
        (x) =>
          !x.type.endsWith(":Sidecar") &&
          x.type !== "service-mesh:routing:ProxyScopes",
      )
      .map(strip),
  };
}

describe("proxy scoping: off, ambient, and the canary property", () => {
  for (const [what, config] of [
    [
      "Bookinfo with the Gateway API",
      { ...BOOKINFO, routing: { api: "gateway-api" } },
    ],
    ["declared services and egress", DECLARED],
  ] as const) {
    it(`WHEN routing.scopeProxies is false for ${what} THEN the rendering is the scoped one without Sidecars and exportTo, nothing else`, async () => {
      const on = await rendered(config);
      const off = await rendered({
        ...config,
        routing: {
          ...((config as { routing?: object }).routing ?? {}),
          scopeProxies: false,
        },
      });
      assert.strictEqual(istioResources(off, "Sidecar").length, 0);
      assert.ok(Object.values(exports(off)).every((e) => e === undefined));
      assert.ok(istioResources(on, "Sidecar").length > 0);
      assert.deepStrictEqual(changedResources(unscoped(on), off), []);
    });
  }

  it("WHEN the data plane is ambient THEN no Sidecar is built (no sidecar to scope) and routing is still exported to callers only", async () => {
    const r = await rendered({ ...BOOKINFO, istio: { dataplane: "ambient" } });
    assert.strictEqual(istioResources(r, "Sidecar").length, 0);
    assert.ok(
      r.resources.every((x) => x.type !== "service-mesh:routing:ProxyScopes"),
    );
    assert.deepStrictEqual(exports(r)["VirtualService bookinfo/reviews"], [
      ".",
    ]);
  });

  it("WHEN a declared service's weights shift THEN its route and the edge route change as without scoping: no Sidecar, no other service's route", async () => {
    const shifted = (c: Record<string, unknown>) => ({
      ...c,
      services: {
        ...DECLARED.services,
        orders: {
          ...ORDERS,
          versions: {
            v1: { image: "ghcr.io/acme/orders:1.4.2", weight: 70 },
            v2: { image: "ghcr.io/acme/orders:1.5.0", weight: 30 },
          },
        },
      },
    });
    const twoVersions = shifted(DECLARED);
    const start = {
      ...twoVersions,
      services: {
        ...twoVersions.services,
        orders: {
          ...ORDERS,
          versions: {
            v1: { image: "ghcr.io/acme/orders:1.4.2", weight: 90 },
            v2: { image: "ghcr.io/acme/orders:1.5.0", weight: 10 },
          },
        },
      },
    };
    const scoped = changedResources(
      await rendered(start),
      await rendered(twoVersions),
    );
    // What a shift of a service with an ingress path changed before scoping: its route and the
    // edge route, which carries the split (test/program/services.test.ts).
    assert.deepStrictEqual(scoped, [
      "kubernetes:networking.istio.io/v1:VirtualService::ingress-routes",
      "kubernetes:networking.istio.io/v1:VirtualService::orders-vs",
    ]);
    assert.ok(
      scoped.every((c) => !c.includes(":Sidecar::")),
      scoped.join(),
    );
  });

  it("WHEN the demo's weights shift THEN exactly its VirtualService changes, Sidecars included", async () => {
    const before = await rendered(DECLARED);
    const after = await rendered({
      ...DECLARED,
      canary: { weights: { v1: 50, v2: 50 } },
    });
    assert.deepStrictEqual(changedResources(before, after), [
      "kubernetes:networking.istio.io/v1:VirtualService::backend-vs",
    ]);
  });
});

describe("config: routing.scopeProxies", () => {
  it("WHEN it is not set THEN proxies are scoped; false turns it off", () => {
    assert.strictEqual(validateConfig(DEV_CONFIG).routing.scopeProxies, true);
    assert.strictEqual(
      validateConfig({ ...DEV_CONFIG, routing: { scopeProxies: "false" } })
        .routing.scopeProxies,
      false,
    );
  });

  it("WHEN it is not a boolean THEN the key and the value are named", () => {
    const found = problems({ ...DEV_CONFIG, routing: { scopeProxies: "yes" } });
    assert.ok(
      found.some(
        (p) => p.includes("routing.scopeProxies") && p.includes("yes"),
      ),
      found.join("\n"),
    );
  });
});

// The Sidecar kind is typed like every other Istio resource.
export type _SidecarSpec = IstioSpecs["Sidecar"];
