// The mesh and linkerd sections, and every Istio-only setting refused with mesh.provider linkerd:
// each message names the key, shows the value, says what Linkerd offers and how to remove it.
import * as assert from "assert";
import { validateConfig } from "../../components/config";
import { problems } from "../support/configProblems";

/** A declared service Linkerd can run: two versions, called by the demo's frontend. */
const ORDERS = {
  namespace: "shop",
  versions: {
    v1: { image: "registry.example.com/orders:1.4.2", weight: 90 },
    v2: { image: "registry.example.com/orders:1.5.0", weight: 10 },
  },
  callers: ["frontend"],
};

const LINKERD = {
  mesh: { provider: "linkerd" },
  canary: { weights: { v1: 80, v2: 20 } },
};

describe("config: mesh.provider and linkerd", () => {
  it("WHEN mesh is unset THEN the provider is istio and Linkerd's defaults are the pinned edge release", () => {
    const c = validateConfig({
      canary: { weights: { v1: 100 } },
      demo: { enabled: true },
    });
    assert.strictEqual(c.mesh.provider, "istio");
    assert.strictEqual(c.routing.api, "istio");
    assert.deepStrictEqual(
      [
        c.linkerd.chartRepo,
        c.linkerd.chartVersion,
        c.linkerd.namespace,
        c.linkerd.viz,
        c.linkerd.identity,
      ],
      ["https://helm.linkerd.io/edge", "2026.8.3", "linkerd", false, undefined],
    );
  });

  it("WHEN mesh.provider is linkerd THEN routing is the Gateway API, with no proxy scoping", () => {
    const c = validateConfig(LINKERD);
    assert.strictEqual(c.routing.api, "gateway-api");
    assert.strictEqual(c.routing.scopeProxies, false);
  });

  it("WHEN mesh.provider is neither THEN it is refused with the choices", () => {
    assert.deepStrictEqual(
      problems({ ...LINKERD, mesh: { provider: "consul" } }).map((p) =>
        p.slice(0, 40),
      ),
      ["mesh.provider must be one of istio, link"],
    );
  });

  it("WHEN linkerd is set while the provider is istio THEN it is refused without showing its values", () => {
    const [p] = problems({
      canary: { weights: { v1: 100 } },
      linkerd: { viz: true, identity: { issuerKeyPem: "s3cret" } },
    }).filter((x) => x.startsWith("linkerd "));
    assert.match(
      p,
      /^linkerd is set \(got fields \["viz","identity"\]\) but mesh.provider is istio; .*'pulumi config rm linkerd'/,
    );
    assert.ok(!p.includes("s3cret"));
  });

  it("WHEN linkerd.values names a chart it does not install or holds no object THEN each is refused with the fix", () => {
    const found = problems({
      ...LINKERD,
      linkerd: { values: { controlPlane: "debug", cni: {} } },
    }).filter((p) => p.startsWith("linkerd.values"));
    assert.strictEqual(found.length, 2, found.join("\n"));
    assert.ok(
      found.some((p) =>
        p.startsWith(
          'linkerd.values.controlPlane must be an object of Helm values for the linkerd-control-plane chart (got "debug")',
        ),
      ),
      found.join("\n"),
    );
    assert.ok(
      found.some(
        (p) => p.includes("cni") && p.includes("crds, controlPlane, viz"),
      ),
      found.join("\n"),
    );
  });

  it("WHEN linkerd.chartDir lacks a chart THEN the missing folders are named", () => {
    assert.deepStrictEqual(
      problems({ ...LINKERD, linkerd: { chartDir: "test/fixtures/charts" } }),
      [
        'linkerd.chartDir must hold the charts linkerd-crds/, linkerd-control-plane/, each with a Chart.yaml (got "test/fixtures/charts", missing linkerd-crds, linkerd-control-plane); point it at unpacked copies of Linkerd\'s charts',
      ],
    );
  });
});

describe("config: Istio-only settings with mesh.provider linkerd", () => {
  const refused: Array<[string, Record<string, unknown>, string]> = [
    [
      "istio.version",
      { istio: { version: "1.31.1" } },
      "Linkerd is installed from linkerd.*",
    ],
    [
      "routing.api",
      { routing: { api: "istio" } },
      "Gateway API HTTPRoutes only",
    ],
    [
      "routing.scopeProxies",
      { routing: { scopeProxies: true } },
      "no Sidecar scoping",
    ],
    [
      "ingress.namespace",
      { ingress: { namespace: "edge" } },
      "linkerd.io/inject: ingress",
    ],
    [
      "security.mtlsMode",
      { security: { mtlsMode: "PERMISSIVE" } },
      "always speaks mTLS",
    ],
    ["security.cni", { security: { cni: true } }, "linkerd2-cni"],
    [
      "security.jwt",
      {
        security: {
          jwt: {
            issuer: "https://a.example.com",
            jwksUri: "https://a.example.com/j",
          },
        },
      },
      "no JWT authentication",
    ],
    [
      "security.rateLimit",
      { security: { rateLimit: { requests: 5 } } },
      "HTTPLocalRateLimitPolicy",
    ],
    [
      "resilience.loadBalancer",
      { resilience: { loadBalancer: "RANDOM" } },
      "EWMA",
    ],
    [
      "resilience.connectionPool",
      { resilience: { connectionPool: { maxConnections: 5 } } },
      "no connection-pool limits",
    ],
    [
      "resilience.outlierDetection",
      { resilience: { outlierDetection: { interval: "1s" } } },
      "balancer.linkerd.io/failure-accrual",
    ],
    [
      "resilience.faults",
      { resilience: { faults: { backend: { abort: { percent: 5 } } } } },
      "no fault injection",
    ],
    [
      "resilience.retries.retryOn",
      { resilience: { retries: { retryOn: "reset,5xx" } } },
      "not reset",
    ],
    [
      "canary.mirror",
      {
        canary: {
          weights: { v1: 80, v2: 20 },
          mirror: { version: "v2", percent: 5 },
        },
      },
      "do not mirror",
    ],
    [
      "egress.hosts",
      { egress: { hosts: { "api.example.com": { port: 443 } } } },
      "EgressNetwork",
    ],
    [
      "observability.samplingPercent",
      { observability: { samplingPercent: 5 } },
      "linkerd.viz true",
    ],
    [
      "bookinfo.enabled",
      { bookinfo: { enabled: true } },
      "Bookinfo is not rendered on Linkerd yet",
    ],
    [
      "services.orders.mirror",
      {
        services: {
          orders: { ...ORDERS, mirror: { version: "v2", percent: 5 } },
        },
      },
      "do not mirror",
    ],
    [
      "services.orders.protocol",
      { services: { orders: { ...ORDERS, protocol: "tcp" } } },
      "TCPRoute",
    ],
    [
      "services.orders.callers",
      { services: { orders: { ...ORDERS, callers: ["frontend", "ingress"] } } },
      "no ingress gateway",
    ],
    [
      "services.orders.ingress",
      { services: { orders: { ...ORDERS, ingress: { path: "/orders" } } } },
      "no ingress gateway",
    ],
  ];
  for (const [key, config, offer] of refused) {
    it(`WHEN ${key} is set THEN it is refused, naming its value, what Linkerd offers and the fix`, () => {
      const found = problems({ ...LINKERD, ...config }).filter((p) =>
        p.startsWith(`${key} is set (got `),
      );
      assert.strictEqual(
        found.length,
        1,
        problems({ ...LINKERD, ...config }).join("\n"),
      );
      assert.ok(found[0].includes("but mesh.provider is linkerd; "), found[0]);
      assert.ok(found[0].includes(offer), found[0]);
      assert.ok(
        found[0].endsWith(`remove it with 'pulumi config rm --path ${key}'`),
        found[0],
      );
    });
  }

  it("WHEN only what Linkerd honours is set THEN it is accepted: weights, header canary, timeout, status retries, STRICT, gateway-api, declared services and namespaces of their own", () => {
    assert.deepStrictEqual(
      problems({
        ...LINKERD,
        canary: {
          weights: { v1: 80, v2: 20 },
          header: { name: "x-canary", value: "1", version: "v2" },
        },
        resilience: {
          timeout: "2s",
          retries: {
            attempts: 3,
            retryOn: "5xx,gateway-error,connect-failure",
          },
        },
        security: { mtlsMode: "STRICT" },
        routing: { api: "gateway-api", gatewayApiCrds: "install" },
        linkerd: { viz: true },
        services: { orders: ORDERS },
        externalNamespaces: ["shop"],
      }),
      [],
    );
  });
});
