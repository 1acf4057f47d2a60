// mesh.provider linkerd, the whole program: Linkerd's charts in order, the demo app's routing and
// policy as Linkerd reads them, and the canary property. Renderings are shared across tests.
import * as assert from "assert";
import { byType, changedResources, ref, TYPE } from "../support/finders";
import { generateLinkerdIdentity } from "../../components/linkerd";
import {
  isSecret,
  type RecordedResource,
  type Rendering,
  renderProgram,
  secretValue,
} from "../support/mocks";

const LINKERD = {
  mesh: { provider: "linkerd" },
  canary: {
    weights: { v1: 80, v2: 20 },
    header: { name: "x-canary", value: "always", version: "v2" },
  },
};
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- rendered inputs: untyped JSON read by path
type Inputs = Record<string, any>;
const CRDS = "kubernetes:yaml/v2:ConfigFile::linkerd-gateway-api-crds";
const LINKERD_CRDS = `${TYPE.release}::linkerd-crds`;
const CONTROL_PLANE = `${TYPE.release}::linkerd-control-plane`;
const HTTPROUTE = "kubernetes:gateway.networking.k8s.io/v1:HTTPRoute";

let base: Promise<Rendering> | undefined;
const rendered = () => (base ??= renderProgram(LINKERD));

function named(r: Rendering, type: string, name: string) {
  const found = r.resources.find((x) => x.type === type && x.name === name);
  assert.ok(found, `no ${type}::${name}`);
  return found as RecordedResource<Inputs>;
}

describe("mesh.provider linkerd", () => {
  it("WHEN rendered THEN Linkerd's two charts come from its edge repository at 2026.8.3, and nothing of Istio is registered", async () => {
    const r = await rendered();
    const releases = byType<Inputs>(r, TYPE.release);
    assert.deepStrictEqual(
      releases.map((x) => [
        x.name,
        x.inputs.chart,
        x.inputs.version,
        x.inputs.repositoryOpts?.repo,
        x.inputs.namespace,
      ]),
      [
        [
          "linkerd-crds",
          "linkerd-crds",
          "2026.8.3",
          "https://helm.linkerd.io/edge",
          "linkerd",
        ],
        [
          "linkerd-control-plane",
          "linkerd-control-plane",
          "2026.8.3",
          "https://helm.linkerd.io/edge",
          "linkerd",
        ],
      ],
    );
    assert.deepStrictEqual(
      r.resources
        .filter((x) =>
          /istio\.io|Istio|ingress|observability/i.test(x.type + x.name),
        )
        .map(ref),
      [],
    );
  });

  it("WHEN rendered THEN linkerd-crds leaves the Gateway API to the stack and the control plane has no heartbeat, a laptop-sized proxy and controllers, and the generated identity", async () => {
    const r = await rendered();
    assert.deepStrictEqual(
      named(r, TYPE.release, "linkerd-crds").inputs.values,
      {
        installGatewayAPI: false,
      },
    );
    const values = named(r, TYPE.release, "linkerd-control-plane").inputs
      .values;
    assert.strictEqual(values.disableHeartBeat, true);
    assert.deepStrictEqual(values.proxy.resources, {
      cpu: { request: "10m", limit: "1" },
      memory: { request: "32Mi", limit: "250Mi" },
    });
    // Every controller sized (the chart leaves them BestEffort).
    const controller = {
      cpu: { request: "10m", limit: "1" },
      memory: { request: "64Mi", limit: "250Mi" },
    };
    for (const key of [
      "destinationResources",
      "identityResources",
      "proxyInjectorResources",
      "spValidatorResources",
    ]) {
      assert.deepStrictEqual(values[key], controller, key);
    }
    assert.deepStrictEqual(values.policyController.resources, controller);
    // The mocks answer for the dynamic resource (test/support/mocks.ts).
    assert.strictEqual(values.identityTrustAnchorsPEM, "mock-anchor-pem");
    assert.deepStrictEqual(values.identity.issuer.tls, {
      crtPEM: "mock-issuer-pem",
      keyPEM: "mock-issuer-key-pem",
    });
    assert.strictEqual(
      named(r, "pulumi-nodejs:dynamic:Resource", "linkerd-identity").inputs
        .trustDomain,
      "cluster.local",
    );
  });

  it("WHEN the stack is destroyed THEN linkerd-crds stays (Linkerd's CRDs are the cluster's, as Istio's are), and the control plane goes", async () => {
    const r = await rendered();
    assert.strictEqual(
      named(r, TYPE.release, "linkerd-crds").retainOnDelete,
      true,
    );
    assert.ok(!named(r, TYPE.release, "linkerd-control-plane").retainOnDelete);
  });

  it("WHEN rendered THEN the Gateway API CRDs come before linkerd-crds, it before the control plane, and that before every injected pod", async () => {
    const r = await rendered();
    assert.ok(named(r, TYPE.release, "linkerd-crds").dependsOn.includes(CRDS));
    assert.ok(
      named(r, TYPE.release, "linkerd-control-plane").dependsOn.includes(
        LINKERD_CRDS,
      ),
    );
    assert.ok(
      named(r, TYPE.release, "linkerd-control-plane").dependsOn.includes(
        "pulumi-nodejs:dynamic:Resource::linkerd-identity",
      ),
    );
    const pods = byType(r, TYPE.deployment);
    assert.deepStrictEqual(pods.map((d) => d.name).sort(), [
      "backend-v1",
      "backend-v2",
      "frontend-v1",
    ]);
    for (const d of pods) {
      assert.ok(d.dependsOn.includes(CONTROL_PLANE), d.name);
    }
    for (const p of r.resources.filter((x) =>
      x.type.includes("policy.linkerd.io"),
    )) {
      assert.ok(p.dependsOn.includes(LINKERD_CRDS), p.name);
    }
    for (const h of byType(r, HTTPROUTE)) {
      assert.ok(h.dependsOn.includes(CRDS), h.name);
    }
  });

  it("WHEN rendered THEN the app namespace is injected by Linkerd and denies by default, with no Istio label", async () => {
    const meta = named(await rendered(), TYPE.namespace, "demo-ns-ns").inputs
      .metadata;
    assert.deepStrictEqual(meta.annotations, {
      "linkerd.io/inject": "enabled",
      "config.linkerd.io/default-inbound-policy": "deny",
      "pulumi.com/patchForce": "true",
    });
    assert.deepStrictEqual(meta.labels ?? {}, {});
  });

  it("WHEN rendered THEN the backend's HTTPRoute hangs on its Service, the header canary first, then the weights over the version Services, with the timeout and retries", async () => {
    const r = await rendered();
    const route = named(r, HTTPROUTE, "backend-route").inputs;
    assert.deepStrictEqual(route.spec.parentRefs, [
      { group: "", kind: "Service", name: "backend", port: 80 },
    ]);
    const [header, weighted] = route.spec.rules;
    assert.deepStrictEqual(header.matches, [
      { headers: [{ type: "Exact", name: "x-canary", value: "always" }] },
    ]);
    assert.deepStrictEqual(header.backendRefs, [
      { name: "backend-v2", port: 80 },
    ]);
    assert.deepStrictEqual(
      weighted.backendRefs.map((b: { name: string; weight: number }) => [
        b.name,
        b.weight,
      ]),
      [
        ["backend-v1", 80],
        ["backend-v2", 20],
      ],
    );
    assert.deepStrictEqual(weighted.timeouts, { request: "10s" });
    assert.strictEqual(
      route.metadata.annotations["retry.linkerd.io/http"],
      "503",
    );
    assert.strictEqual(
      route.metadata.annotations["retry.linkerd.io/limit"],
      "2",
    );
    assert.strictEqual(
      route.metadata.annotations["retry.linkerd.io/timeout"],
      "3s",
    );
    assert.deepStrictEqual(
      byType<Inputs>(r, TYPE.service)
        .map((s) => s.inputs.metadata.name)
        .sort(),
      ["backend", "backend-v1", "backend-v2", "frontend", "frontend-v1"],
    );
  });

  it("WHEN anyone calls THEN the backend's Server admits only the frontend's ServiceAccount identity, and the frontend's admits no meshed caller", async () => {
    const r = await rendered();
    const server = named(
      r,
      "kubernetes:policy.linkerd.io/v1beta3:Server",
      "backend-server",
    ).inputs;
    assert.deepStrictEqual(server.spec, {
      podSelector: { matchLabels: { app: "backend" } },
      port: "http",
      proxyProtocol: "HTTP/1",
    });
    assert.deepStrictEqual(
      named(
        r,
        "kubernetes:policy.linkerd.io/v1alpha1:MeshTLSAuthentication",
        "backend-callers",
      ).inputs.spec,
      {
        identities: [
          "frontend.mesh-demo.serviceaccount.identity.linkerd.cluster.local",
        ],
      },
    );
    assert.deepStrictEqual(
      named(
        r,
        "kubernetes:policy.linkerd.io/v1alpha1:AuthorizationPolicy",
        "backend-allow",
      ).inputs.spec,
      {
        targetRef: {
          group: "policy.linkerd.io",
          kind: "Server",
          name: "backend",
        },
        requiredAuthenticationRefs: [
          {
            group: "policy.linkerd.io",
            kind: "MeshTLSAuthentication",
            name: "backend-callers",
          },
        ],
      },
    );
    assert.ok(
      named(
        r,
        "kubernetes:policy.linkerd.io/v1beta3:Server",
        "frontend-server",
      ),
    );
    assert.deepStrictEqual(
      r.resources
        .filter(
          (x) =>
            x.type.includes("policy.linkerd.io") &&
            x.name.startsWith("frontend"),
        )
        .map((x) => x.name),
      ["frontend-server"],
    );
    assert.strictEqual(
      r.outputs.portForwardCommand,
      "kubectl -n mesh-demo port-forward svc/frontend 8080:80",
    );
    assert.deepStrictEqual(
      [r.outputs.istioVersion, r.outputs.dataplane, r.outputs.routingApi],
      [null, null, "gateway-api"],
    );
  });

  it("WHEN only the weights change THEN only the backend's HTTPRoute changes", async () => {
    const before = await rendered();
    const after = await renderProgram({
      ...LINKERD,
      canary: { ...LINKERD.canary, weights: { v1: 50, v2: 50 } },
    });
    assert.deepStrictEqual(changedResources(before, after), [
      `${HTTPROUTE}::backend-route`,
    ]);
    assert.deepStrictEqual(after.outputs.canaryWeights, { v1: 50, v2: 50 });
  });

  it("WHEN viz is on and charts are local THEN linkerd-viz installs after the control plane into its own namespace, each chart from the directory", async () => {
    const r = await renderProgram({
      ...LINKERD,
      linkerd: { viz: true, chartDir: "test/fixtures/linkerd-charts" },
    });
    const viz = named(r, TYPE.release, "linkerd-viz");
    assert.strictEqual(
      viz.inputs.chart,
      "test/fixtures/linkerd-charts/linkerd-viz",
    );
    assert.strictEqual(viz.inputs.namespace, "linkerd-viz");
    assert.deepStrictEqual(viz.inputs.values, {
      linkerdNamespace: "linkerd",
      createNamespaceMetadataJob: false,
    });
    assert.ok(viz.dependsOn.includes(CONTROL_PLANE));
    assert.strictEqual(
      named(r, TYPE.release, "linkerd-crds").inputs.chart,
      "test/fixtures/linkerd-charts/linkerd-crds",
    );
    assert.deepStrictEqual(Object.keys(r.outputs.dashboards as object), [
      "linkerdViz",
    ]);
  });
});

describe("mesh.provider linkerd with extra chart values", () => {
  it("WHEN linkerd.values sets keys of each chart THEN each release carries them, and where a key is ours ours wins", async () => {
    const r = await renderProgram({
      ...LINKERD,
      linkerd: {
        viz: true,
        chartDir: "test/fixtures/linkerd-charts",
        values: {
          crds: { commonLabels: { team: "platform" }, installGatewayAPI: true },
          controlPlane: {
            podAnnotations: { "example.com/owner": "platform" },
            disableHeartBeat: false,
            proxy: { logLevel: "debug", resources: { cpu: { request: "1" } } },
          },
          viz: { dashboard: { replicas: 2 } },
        },
      },
    });
    assert.deepStrictEqual(
      named(r, TYPE.release, "linkerd-crds").inputs.values,
      { commonLabels: { team: "platform" }, installGatewayAPI: false },
    );
    const cp = named(r, TYPE.release, "linkerd-control-plane").inputs.values;
    assert.deepStrictEqual(cp.podAnnotations, {
      "example.com/owner": "platform",
    });
    assert.strictEqual(cp.disableHeartBeat, true);
    assert.strictEqual(cp.proxy.logLevel, "debug");
    assert.deepStrictEqual(cp.proxy.resources.cpu, {
      request: "10m",
      limit: "1",
    });
    assert.strictEqual(cp.identityTrustAnchorsPEM, "mock-anchor-pem");
    assert.deepStrictEqual(
      named(r, TYPE.release, "linkerd-viz").inputs.values.dashboard,
      { replicas: 2 },
    );
  });
});

describe("mesh.provider linkerd with a team's own identity", () => {
  it("WHEN linkerd.identity is given as a secret THEN the control plane takes it, the key stays secret, and nothing is generated", async () => {
    const pems = await generateLinkerdIdentity("cluster.local");
    const identity = {
      trustAnchorPem: pems.trustAnchorPem,
      issuerCertPem: pems.issuerCertPem,
      issuerKeyPem: pems.issuerKeyPem,
    };
    const r = await renderProgram({ ...LINKERD, linkerd: { identity } }, [
      "linkerd",
    ]);
    // A secret anywhere in the values makes the engine keep the whole values secret.
    const raw = named(r, TYPE.release, "linkerd-control-plane").inputs.values;
    assert.ok(isSecret(raw));
    const values = secretValue<Inputs>(raw);
    assert.strictEqual(values.identityTrustAnchorsPEM, pems.trustAnchorPem);
    assert.deepStrictEqual(values.identity.issuer.tls, {
      crtPEM: pems.issuerCertPem,
      keyPEM: pems.issuerKeyPem,
    });
    assert.deepStrictEqual(byType(r, "pulumi-nodejs:dynamic:Resource"), []);
  });
});

describe("mesh.provider linkerd with Istio-only settings", () => {
  it("WHEN Istio-only keys are set THEN the program stops before any resource, naming each key, its value and what Linkerd offers", async () => {
    const err = await renderProgram({
      ...LINKERD,
      istio: { dataplane: "ambient" },
      ingress: { serviceType: "LoadBalancer" },
      canary: { ...LINKERD.canary, mirror: { version: "v2", percent: 10 } },
    }).then(
      () => assert.fail("accepted"),
      (e: Error & { recorded: RecordedResource[] }) => e,
    );
    for (const s of [
      'istio.dataplane is set (got "ambient") but mesh.provider is linkerd; Linkerd is installed from linkerd.*',
      'ingress.serviceType is set (got "LoadBalancer") but mesh.provider is linkerd; Linkerd has no ingress gateway',
      'canary.mirror is set (got {"version":"v2","percent":10}) but mesh.provider is linkerd; Linkerd\'s HTTPRoutes do not mirror traffic',
      "remove it with 'pulumi config rm --path canary.mirror'",
    ]) {
      assert.ok(err.message.includes(s), `${s}\n---\n${err.message}`);
    }
    assert.deepStrictEqual(
      err.recorded.filter((x) => x.type !== "pulumi:pulumi:Stack").map(ref),
      [],
    );
  });
});

describe("mesh.provider linkerd with declared services", () => {
  const ORDERS = {
    namespace: "shop",
    versions: {
      v1: { image: "registry.example.com/orders:1.4.2", weight: 90 },
      v2: { image: "registry.example.com/orders:1.5.0", weight: 10 },
    },
    callers: ["frontend"],
  };
  const SERVICES = {
    orders: ORDERS,
    payments: {
      namespace: "shop",
      protocol: "grpc",
      port: 9090,
      versions: {
        v1: { image: "registry.example.com/pay:2.0.1", weight: 100 },
      },
      callers: ["orders"],
    },
    legacy: {
      namespace: "shop",
      versions: {
        v1: { selector: { app: "legacy", version: "v1" }, weight: 70 },
        v2: { selector: { app: "legacy", version: "v2" }, weight: 30 },
      },
      callers: ["shop/orders"],
    },
  };
  let shared: Promise<Rendering> | undefined;
  const withServices = () =>
    (shared ??= renderProgram({ ...LINKERD, services: SERVICES }));
  const weights = (r: Rendering, route: string) =>
    named(r, HTTPROUTE, route)
      .inputs.spec.rules.at(-1)
      .backendRefs.map((b: { name: string; weight: number }) => [
        b.name,
        b.weight,
      ]);
  const identities = (r: Rendering, name: string) =>
    named(
      r,
      "kubernetes:policy.linkerd.io/v1alpha1:MeshTLSAuthentication",
      name,
    ).inputs.spec.identities;

  it("WHEN services are declared THEN their namespace is Linkerd's, each splits by its HTTPRoute over version Services, and each Server admits exactly its callers' identities", async () => {
    const r = await withServices();
    assert.deepStrictEqual(
      named(r, TYPE.namespace, "services-shop-ns").inputs.metadata.annotations,
      {
        "linkerd.io/inject": "enabled",
        "config.linkerd.io/default-inbound-policy": "deny",
        "pulumi.com/patchForce": "true",
      },
    );
    assert.deepStrictEqual(weights(r, "orders-route"), [
      ["orders-v1", 90],
      ["orders-v2", 10],
    ]);
    assert.deepStrictEqual(weights(r, "legacy-route"), [
      ["legacy-v1", 70],
      ["legacy-v2", 30],
    ]);
    assert.deepStrictEqual(identities(r, "orders-callers"), [
      "frontend.mesh-demo.serviceaccount.identity.linkerd.cluster.local",
    ]);
    assert.deepStrictEqual(identities(r, "payments-callers"), [
      "orders.shop.serviceaccount.identity.linkerd.cluster.local",
    ]);
    assert.deepStrictEqual(identities(r, "legacy-callers"), [
      "orders.shop.serviceaccount.identity.linkerd.cluster.local",
    ]);
    assert.strictEqual(
      named(r, "kubernetes:policy.linkerd.io/v1beta3:Server", "payments-server")
        .inputs.spec.proxyProtocol,
      "gRPC",
    );
    const deployments = byType(r, TYPE.deployment).filter(
      (d) => (d.inputs as Inputs).metadata.namespace === "shop",
    );
    assert.deepStrictEqual(deployments.map((d) => d.name).sort(), [
      "orders-v1",
      "orders-v2",
      "payments-v1",
    ]);
    for (const d of deployments) {
      assert.ok(d.dependsOn.includes(CONTROL_PLANE), d.name);
    }
    assert.ok(
      !r.resources.some((x) => x.type.includes("istio.io")),
      "an Istio resource on Linkerd",
    );
  });

  it("WHEN only orders' weights change THEN only orders' HTTPRoute changes", async () => {
    const before = await withServices();
    const after = await renderProgram({
      ...LINKERD,
      services: {
        ...SERVICES,
        orders: {
          ...ORDERS,
          versions: {
            v1: { ...ORDERS.versions.v1, weight: 50 },
            v2: { ...ORDERS.versions.v2, weight: 50 },
          },
        },
      },
    });
    assert.deepStrictEqual(changedResources(before, after), [
      `${HTTPROUTE}::orders-route`,
    ]);
  });

  it("WHEN the control plane has a namespace of its own THEN every caller identity names it", async () => {
    const r = await renderProgram({
      ...LINKERD,
      linkerd: { namespace: "mesh-linkerd" },
      services: { orders: ORDERS },
    });
    assert.deepStrictEqual(identities(r, "orders-callers"), [
      "frontend.mesh-demo.serviceaccount.identity.mesh-linkerd.cluster.local",
    ]);
    assert.deepStrictEqual(identities(r, "backend-callers"), [
      "frontend.mesh-demo.serviceaccount.identity.mesh-linkerd.cluster.local",
    ]);
  });
});

describe("mesh.provider linkerd and the cluster's Gateway API CRDs", () => {
  const CONFIG_FILE = "kubernetes:yaml/v2:ConfigFile";
  async function withInstalled<T>(bundle: string, fn: () => Promise<T>) {
    process.env.STANDIN_GATEWAY_API = bundle;
    try {
      return await fn();
    } finally {
      delete process.env.STANDIN_GATEWAY_API;
    }
  }

  it("WHEN the stack installs them THEN it is the bundle whose standard fields its routes use (v1.5.1), whatever Istio's default, kept on delete", async () => {
    const r = await rendered();
    const file = named(r, CONFIG_FILE, "linkerd-gateway-api-crds");
    assert.match(
      String(file.inputs.file),
      /\/v1\.5\.1\/standard-install\.yaml$/,
    );
    assert.strictEqual(file.retainOnDelete, true);
  });

  it("WHEN the cluster has that bundle (from the stack's last up) THEN the stack keeps managing it: a second up changes nothing", async () => {
    const r = await withInstalled("v1.5.1 standard", () =>
      renderProgram(LINKERD),
    );
    assert.ok(named(r, CONFIG_FILE, "linkerd-gateway-api-crds"));
  });

  it("WHEN the cluster has an older bundle THEN the program stops before any resource with Linkerd's reason, not Istio's", async () => {
    await assert.rejects(
      withInstalled("v1.1.1 standard", () => renderProgram(LINKERD)),
      (e: Error & { recorded: RecordedResource[] }) => {
        assert.match(
          e.message,
          /v1\.1\.1 \(standard channel\), older than v1\.5\.1; the stack's HTTPRoutes on Linkerd use/,
        );
        assert.ok(!e.message.includes("Istio"), e.message);
        assert.deepStrictEqual(
          e.recorded.map((x) => x.type),
          ["pulumi:pulumi:Stack"],
        );
        return true;
      },
    );
  });
});
