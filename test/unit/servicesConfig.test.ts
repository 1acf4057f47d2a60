// The `services` section: the example passes as written, and every refusal names the key,
// the value and the fix before any resource.
import * as assert from "assert";
import { validateConfig } from "../../components/config";
import { problems } from "../support/configProblems";

const CANARY = { weights: { v1: 80, v2: 20 } };

/** The example: orders in shop, 90/10, named callers and an ingress path. */
const ORDERS = {
  namespace: "shop",
  port: 8080,
  protocol: "http",
  versions: {
    v1: { image: "ghcr.io/acme/orders:1.4.2", weight: 90 },
    v2: { image: "ghcr.io/acme/orders:1.5.0", weight: 10, replicas: 2 },
  },
  callers: ["frontend", "shop/payments", "ingress"],
  ingress: { path: "/orders" },
};
const PAYMENTS = {
  namespace: "shop",
  versions: { v1: { image: "ghcr.io/acme/payments:2.0.0", weight: 100 } },
  callers: ["frontend"],
};

const withServices = (services: Record<string, unknown>, extra = {}) => ({
  canary: CANARY,
  services,
  ...extra,
});

/** The one problem a config has, asserted to mention every fragment. */
function refused(raw: Record<string, unknown>, ...fragments: string[]) {
  const found = problems(raw);
  assert.ok(
    found.some((p) => fragments.every((f) => p.includes(f))),
    `expected a problem with ${fragments.join(" / ")}; got:\n${found.join("\n")}`,
  );
}

describe("config: services", () => {
  it("WHEN the issue's example is given THEN it passes, callers resolved to principals", () => {
    const c = validateConfig(
      withServices({ orders: ORDERS, payments: PAYMENTS }),
    );
    const orders = c.services.find((s) => s.name === "orders")!;
    assert.strictEqual(orders.namespace, "shop");
    assert.strictEqual(orders.targetPort, 8080);
    assert.deepStrictEqual(
      orders.versions.map((v) => [v.version, v.weight, v.replicas]),
      [
        ["v1", 90, 1],
        ["v2", 10, 2],
      ],
    );
    assert.deepStrictEqual(orders.allowedPrincipals, [
      "cluster.local/ns/mesh-demo/sa/frontend",
      "cluster.local/ns/shop/sa/payments",
      "cluster.local/ns/istio-ingress/sa/istio-ingressgateway",
    ]);
    assert.strictEqual(orders.ingressPath, "/orders");
    assert.strictEqual(orders.routeOnly, false);
  });

  it("WHEN the weights do not sum to 100 THEN the versions' key is named", () => {
    const bad = {
      ...ORDERS,
      versions: {
        v1: { image: "a/b:1", weight: 90 },
        v2: { image: "a/b:2", weight: 20 },
      },
    };
    refused(
      withServices({ orders: bad }),
      "services.orders.versions must sum to 100",
      "v1=90, v2=20",
    );
  });

  it("WHEN a weight is not a number THEN its own key and the fix are named", () => {
    const bad = {
      ...ORDERS,
      versions: { v1: { image: "a/b:1", weight: "most" } },
    };
    refused(
      withServices({ orders: bad }),
      "services.orders.versions.v1.weight must be a whole number",
      "pulumi config set --path services.orders.versions.v1.weight",
    );
  });

  it("WHEN an image has no tag or is latest THEN it is refused", () => {
    for (const image of ["ghcr.io/acme/orders", "ghcr.io/acme/orders:latest"]) {
      const bad = { ...PAYMENTS, versions: { v1: { image, weight: 100 } } };
      refused(
        withServices({ payments: bad }),
        "services.payments.versions.v1.image must pin a tag or digest",
      );
    }
  });

  it("WHEN a caller is neither a service of the stack, ingress nor a SPIFFE ID THEN it is refused, naming the known ones", () => {
    refused(
      withServices({ payments: { ...PAYMENTS, callers: ["billing"] } }),
      'services.payments.callers has "billing"',
      "mesh-demo/frontend",
    );
    refused(
      withServices({ payments: { ...PAYMENTS, callers: ["other/frontend"] } }),
      '"other/frontend"',
    );
    refused(
      withServices({
        payments: { ...PAYMENTS, callers: ["spiffe://cluster.local/ns/a"] },
      }),
      "not a SPIFFE ID",
    );
  });

  it("WHEN a caller is an explicit SPIFFE ID THEN it is admitted as that principal", () => {
    const c = validateConfig(
      withServices({
        payments: {
          ...PAYMENTS,
          callers: ["spiffe://cluster.local/ns/ops/sa/batch"],
        },
      }),
    );
    assert.deepStrictEqual(c.services[0].allowedPrincipals, [
      "cluster.local/ns/ops/sa/batch",
    ]);
  });

  it("WHEN a name is taken by a preset's service THEN it is refused; with the preset off it is free", () => {
    refused(
      withServices({ backend: PAYMENTS }),
      "services.backend: the name is taken",
    );
    const c = validateConfig({
      demo: { enabled: false },
      services: { backend: { ...PAYMENTS, callers: [] } },
    });
    assert.deepStrictEqual(
      c.services.map((s) => s.name),
      ["backend"],
    );
  });

  it("WHEN two services' objects would share a name, or one sits under a preset's THEN it is refused", () => {
    const v = (version: string) => ({
      versions: { [version]: { image: "a/b:1", weight: 100 } },
      callers: [],
      namespace: "shop",
    });
    refused(
      withServices({ "a-b": v("c"), a: v("b-c") }),
      '"a-b-c" would collide',
    );
    refused(
      withServices({ "backend-v3": v("v1") }),
      '"backend-v3" would collide with "backend"',
    );
  });

  it("WHEN a service is named like a Kubernetes reserved word or a mesh object THEN it is refused", () => {
    for (const name of ["kubernetes", "kube-dns", "waypoint", "istiod"]) {
      refused(
        withServices({ [name]: PAYMENTS }),
        `services.${name}`,
        "reserved",
      );
    }
    refused(withServices({ "9lives": PAYMENTS }), "starting with a letter");
  });

  it("WHEN a service sits in a system, the ingress or a preset's namespace THEN it is refused", () => {
    refused(
      withServices({ payments: { ...PAYMENTS, namespace: "kube-system" } }),
      "services.payments.namespace must not be a system namespace",
    );
    refused(
      withServices({ payments: { ...PAYMENTS, namespace: "istio-ingress" } }),
      "services.payments.namespace must not be the ingress",
    );
    refused(
      withServices(
        { payments: { ...PAYMENTS, namespace: "bookinfo" } },
        { bookinfo: { enabled: true } },
      ),
      "a preset's namespace",
    );
  });

  it("WHEN ingress.path is set but callers lacks ingress THEN the fix adds it", () => {
    refused(
      withServices({ orders: { ...ORDERS, callers: ["frontend"] } }),
      "does not list ingress",
      "services.orders.callers[1]",
    );
  });

  it("WHEN a path is the demo's catch-all or another service's THEN it is refused", () => {
    refused(
      withServices({ orders: { ...ORDERS, ingress: { path: "/" } } }),
      "services.orders.ingress.path",
      "already routes",
    );
    refused(
      withServices({
        orders: ORDERS,
        payments: {
          ...PAYMENTS,
          callers: ["ingress"],
          ingress: { path: "/orders/" },
        },
      }),
      "services.payments.ingress.path",
      "services.orders",
    );
  });

  it("WHEN a tcp service asks for request features THEN each is refused; with the Gateway API tcp itself is", () => {
    const tcp = {
      ...PAYMENTS,
      protocol: "tcp",
      mirror: { version: "v1", percent: 10 },
    };
    refused(
      withServices({ payments: tcp }),
      "services.payments.mirror",
      "protocol is tcp",
    );
    refused(
      withServices(
        { payments: { ...PAYMENTS, protocol: "tcp" } },
        { routing: { api: "gateway-api" } },
      ),
      "TCPRoute",
    );
    refused(
      withServices(
        { payments: { ...PAYMENTS, protocol: "tcp" } },
        { resilience: { faults: { payments: { abort: { percent: 5 } } } } },
      ),
      "resilience.faults.payments",
      "tcp",
    );
  });

  it("WHEN versions mix image and selector THEN it is refused; a version with neither too", () => {
    const mixed = {
      ...PAYMENTS,
      versions: {
        v1: { image: "a/b:1", weight: 50 },
        v2: { selector: { app: "p", version: "v2" }, weight: 50 },
      },
    };
    refused(withServices({ payments: mixed }), "mixes route-only versions");
    refused(
      withServices({
        payments: { ...PAYMENTS, versions: { v1: { weight: 100 } } },
      }),
      "needs exactly one of image",
    );
  });

  it("WHEN a route-only service sets image-only fields or its selectors share no label THEN each is refused", () => {
    const routeOnly = {
      versions: {
        a: { selector: { track: "a" }, weight: 50 },
        b: { selector: { track: "b" }, weight: 50 },
      },
      callers: [],
    };
    refused(
      withServices({ legacy: routeOnly }),
      "share no label",
      "createService false",
    );
    assert.deepStrictEqual(
      problems(
        withServices({ legacy: { ...routeOnly, createService: false } }),
      ),
      [],
    );
    refused(
      withServices({
        legacy: { ...routeOnly, createService: false, runAsUser: 1000 },
      }),
      "services.legacy.runAsUser",
      "route-only",
    );
    refused(
      withServices({ payments: { ...PAYMENTS, serviceAccount: "x" } }),
      "services.payments.serviceAccount",
      "route-only",
    );
  });

  it("WHEN a secret env value is stored in plain text THEN it is refused without showing it; stored encrypted it passes", () => {
    const svc = {
      ...PAYMENTS,
      env: { DB_PASSWORD: { secret: "hunter2" }, LOG_LEVEL: "info" },
    };
    const found = problems(withServices({ payments: svc }));
    assert.ok(
      found.some((p) =>
        p.includes(
          "pulumi config set --secret --path services.payments.env.DB_PASSWORD.secret",
        ),
      ),
      found.join("\n"),
    );
    assert.ok(found.every((p) => !p.includes("hunter2")));
    const c = validateConfig(
      withServices({ payments: svc }),
      (k) => k === "services",
    );
    assert.deepStrictEqual(c.services[0].env, {
      DB_PASSWORD: { secret: "hunter2" },
      LOG_LEVEL: { value: "info" },
    });
  });

  it("WHEN runAsUser is 0 THEN root is refused", () => {
    refused(
      withServices({ payments: { ...PAYMENTS, runAsUser: 0 } }),
      "services.payments.runAsUser",
    );
  });

  it("WHEN the demo is off THEN canary and images must go too, and canary is no longer required", () => {
    refused(
      { demo: { enabled: false }, canary: CANARY },
      "canary is set",
      "demo.enabled is false",
    );
    assert.deepStrictEqual(problems({ demo: { enabled: false } }), []);
  });

  it("WHEN externalNamespaces is used in ambient, or lists an unused namespace THEN it is refused", () => {
    const ext = { externalNamespaces: ["team-a"] };
    refused(
      withServices(
        { payments: { ...PAYMENTS, namespace: "team-a" } },
        { ...ext, istio: { dataplane: "ambient" } },
      ),
      "waypoint",
    );
    refused(
      withServices({ payments: PAYMENTS }, ext),
      "no service in services uses it",
    );
    assert.deepStrictEqual(
      problems(
        withServices({ payments: { ...PAYMENTS, namespace: "team-a" } }, ext),
      ),
      [],
    );
  });
});
