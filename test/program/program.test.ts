// Whole-program tests: what only shows when index.ts wires every component together (order across
// components, the single provider, invariants over every workload, the wiring from config to
// resources, the exports).
import * as assert from "assert";
import type { IstiodValues } from "../../components/specs";
import {
  byType,
  deployments,
  istioResources,
  named,
  namespaces,
  type NetworkPolicyInputs,
  ref,
  release,
  releases,
  route,
  serviceAccounts,
  services,
  specOf,
  TYPE,
} from "../support/finders";
import {
  DEV_CONFIG,
  type Rendering,
  renderDev,
  renderProgram,
} from "../support/mocks";

describe("the program (dev stack)", () => {
  let r: Rendering;
  before(async () => {
    r = await renderDev();
  });

  it("WHEN deployed THEN base comes before istiod, istiod before the gateway", () => {
    const base = release(r, "istio-base");
    const istiod = release(r, "istiod");
    assert.ok(istiod.dependsOn.includes(ref(base)), "istiod needs the CRDs");
    assert.ok(
      release(r, "istio-ingressgateway").dependsOn.includes(ref(istiod)),
      "the gateway's pods are injected by istiod",
    );
  });

  it("WHEN deployed THEN every Istio resource, in every component, waits for base (its CRDs)", () => {
    const base = ref(release(r, "istio-base"));
    const all = istioResources(r);
    assert.ok(all.length >= 10, `found only ${all.length}`);
    for (const cr of all) {
      assert.match(cr.inputs.apiVersion, /\.istio\.io\//);
      assert.ok(
        cr.dependsOn.includes(base),
        `${cr.name} does not wait for base`,
      );
    }
  });

  it("WHEN deployed THEN every workload of an injected namespace waits for istiod, whose webhook must inject it", () => {
    const istiod = ref(release(r, "istiod"));
    const injected = namespaces(r)
      .filter(
        (ns) => ns.inputs.metadata.labels?.["istio-injection"] === "enabled",
      )
      .map((ns) => ns.inputs.metadata.name);
    assert.deepStrictEqual(injected.sort(), ["istio-ingress", "mesh-demo"]);
    const ds = deployments(r).filter((d) =>
      injected.includes(d.inputs.metadata.namespace ?? ""),
    );
    assert.deepStrictEqual(ds.map((d) => d.inputs.metadata.name).sort(), [
      "backend-v1",
      "backend-v2",
      "frontend-v1",
    ]);
    for (const d of ds) {
      assert.ok(
        d.dependsOn.includes(istiod),
        `${d.name} does not wait for istiod`,
      );
    }
  });

  it("WHEN deployed THEN every Kubernetes object goes through the one explicit provider", () => {
    const objects = r.resources.filter(
      (x) => x.custom && x.type.startsWith("kubernetes:"),
    );
    assert.ok(objects.length > 30);
    for (const x of objects) {
      assert.match(
        x.provider ?? "",
        /pulumi:providers:kubernetes::k8s::k8s-id$/,
        `${x.name} uses ${x.provider}`,
      );
    }
  });

  it("WHEN deployed THEN every container is hardened with a pinned image, and runs under its own account", () => {
    const accounts = new Set(
      serviceAccounts(r).map(
        (s) => `${s.inputs.metadata.namespace}/${s.inputs.metadata.name}`,
      ),
    );
    for (const d of deployments(r)) {
      const pod = d.inputs.spec.template.spec;
      assert.strictEqual(pod.automountServiceAccountToken, false);
      assert.strictEqual(pod.securityContext.runAsNonRoot, true);
      assert.ok(
        accounts.has(
          `${d.inputs.metadata.namespace}/${pod.serviceAccountName}`,
        ),
      );
      assert.strictEqual(
        pod.serviceAccountName,
        d.inputs.spec.template.metadata.labels.app,
      );
      for (const c of pod.containers) {
        assert.match(
          c.image,
          /:[0-9][^:]*$/,
          `${d.name} image ${c.image} is not pinned`,
        );
        assert.strictEqual(c.securityContext.readOnlyRootFilesystem, true);
        assert.deepStrictEqual(c.securityContext.capabilities, {
          drop: ["ALL"],
        });
      }
    }
  });

  it("WHEN accounts are created THEN none hands out an API token", () => {
    assert.ok(serviceAccounts(r).length >= 3);
    for (const sa of serviceAccounts(r)) {
      assert.strictEqual(sa.inputs.automountServiceAccountToken, false);
    }
  });

  it("WHEN a policy names a principal THEN a ServiceAccount of the stack (or the gateway chart's, as our values name it) is behind it", () => {
    const accounts = new Set(
      serviceAccounts(r).map(
        (s) => `${s.inputs.metadata.namespace}/${s.inputs.metadata.name}`,
      ),
    );
    const gw = release<{ serviceAccount: { name: string } }>(
      r,
      "istio-ingressgateway",
    ).inputs;
    accounts.add(`${gw.namespace}/${gw.values.serviceAccount.name}`);
    const principals = istioResources(r, "AuthorizationPolicy").flatMap((p) =>
      (p.inputs.spec.rules ?? []).flatMap((rule) =>
        (rule.from ?? []).flatMap((f) => f.source.principals ?? []),
      ),
    );
    assert.ok(principals.length >= 2);
    for (const p of principals) {
      const m = /^cluster\.local\/ns\/([^/]+)\/sa\/([^/]+)$/.exec(p);
      assert.ok(m, `malformed principal ${p}`);
      assert.ok(accounts.has(`${m[1]}/${m[2]}`), `${p} names no account`);
    }
  });

  it("WHEN traffic enters THEN the gateway routes to subsets the frontend's DestinationRule defines, on its Service's port", () => {
    const edge = route(
      specOf(r, "VirtualService", "ingress-routes"),
      "frontend",
    );
    const subsets = (
      specOf(r, "DestinationRule", "frontend").subsets ?? []
    ).map((s) => s.name);
    const port = named(services(r), "frontend").inputs.spec.ports[0].port;
    for (const d of edge.route) {
      assert.strictEqual(
        d.destination.host,
        "frontend.mesh-demo.svc.cluster.local",
      );
      assert.ok(subsets.includes(d.destination.subset ?? ""));
      assert.strictEqual(d.destination.port?.number, port);
    }
  });

  it("WHEN tracing is on THEN istiod's mesh config and the Telemetry resource share one provider, which points at Jaeger's collector Service", () => {
    const mesh = release<IstiodValues>(r, "istiod").inputs.values.meshConfig;
    assert.strictEqual(mesh.extensionProviders?.length, 1);
    const provider = mesh.extensionProviders?.[0];
    assert.ok(provider);
    assert.deepStrictEqual(
      specOf(r, "Telemetry", "mesh-default").tracing[0].providers,
      [{ name: provider.name }],
    );
    const collector = named(services(r), "jaeger-collector", "istio-system");
    assert.strictEqual(
      provider.opentelemetry.service,
      "jaeger-collector.istio-system.svc.cluster.local",
    );
    assert.ok(
      collector.inputs.spec.ports.some(
        (p) => p.port === provider.opentelemetry.port,
      ),
    );
  });

  it("WHEN deployed by default THEN everything waits for readiness", () => {
    for (const rel of releases(r)) {
      assert.strictEqual(rel.inputs.skipAwait, false);
    }
    for (const x of [...deployments(r), ...services(r)]) {
      assert.strictEqual(
        x.inputs.metadata.annotations?.["pulumi.com/skipAwait"],
        undefined,
      );
    }
  });

  it("WHEN deployed THEN every object Pulumi applies itself is force-applied, and no Helm release is", () => {
    const applied = r.resources.filter(
      (x) =>
        x.custom &&
        x.type.startsWith("kubernetes:") &&
        !x.type.startsWith("kubernetes:helm.sh/"),
    );
    assert.ok(applied.length > 20, `found only ${applied.length}`);
    for (const x of applied) {
      const metadata = x.inputs.metadata as {
        annotations?: Record<string, string>;
      };
      assert.strictEqual(
        metadata.annotations?.["pulumi.com/patchForce"],
        "true",
        `${x.type} ${x.name} is applied without force`,
      );
    }
    for (const rel of releases(r)) {
      assert.strictEqual(
        JSON.stringify(rel.inputs).includes("patchForce"),
        false,
      );
    }
  });

  it("WHEN deployed THEN it exports the weights, the versions and how to reach the app", () => {
    assert.deepStrictEqual(r.outputs.canaryWeights, { v1: 80, v2: 20 });
    assert.deepStrictEqual(r.outputs.backendVersions, ["v1", "v2"]);
    assert.strictEqual(r.outputs.istioVersion, "1.31.1");
    assert.deepStrictEqual(r.outputs.ingressService, {
      name: "istio-ingressgateway",
      namespace: "istio-ingress",
      port: 80,
    });
    assert.strictEqual(
      r.outputs.portForwardCommand,
      "kubectl -n istio-ingress port-forward svc/istio-ingressgateway 8080:80",
    );
    assert.strictEqual(r.outputs.curlCommand, "curl -s http://localhost:8080/");
    assert.strictEqual(r.outputs.bookinfoApp, null);
    assert.strictEqual(r.outputs.grafanaAdminPassword, "mock-password");
  });
});

describe("the program's options", () => {
  it("WHEN charts come from a local directory and waiting is off THEN every release uses it and nothing waits", async () => {
    const r = await renderProgram({
      ...DEV_CONFIG,
      skipAwait: "true",
      istio: {
        chartDir: "test/fixtures/charts",
        hub: "localhost:5000/istio",
        tag: "1.30.3",
      },
    });
    for (const rel of releases(r).filter((x) =>
      x.inputs.name.startsWith("istio"),
    )) {
      assert.ok(
        rel.inputs.chart.startsWith("test/fixtures/charts/"),
        rel.inputs.chart,
      );
      assert.strictEqual(rel.inputs.repositoryOpts, undefined);
    }
    for (const rel of releases(r)) {
      assert.strictEqual(
        rel.inputs.skipAwait,
        true,
        `${rel.inputs.name} still waits`,
      );
    }
    const global = release<IstiodValues>(r, "istiod").inputs.values.global;
    assert.strictEqual(global.hub, "localhost:5000/istio");
    assert.strictEqual(global.tag, "1.30.3");
    for (const x of [...deployments(r), ...services(r)]) {
      assert.strictEqual(
        x.inputs.metadata.annotations?.["pulumi.com/skipAwait"],
        "true",
      );
    }
  });

  it("WHEN faults are set on services reached from outside THEN the gateway's routes to them inject them, with the shared timeout and retries", async () => {
    const r = await renderProgram({
      ...DEV_CONFIG,
      bookinfo: { enabled: true },
      resilience: {
        timeout: "4s",
        retries: { attempts: 1, perTryTimeout: "2s" },
        faults: {
          frontend: { abort: { percent: 10, httpStatus: 503 } },
          productpage: { delay: { percent: 50, fixedDelay: "2s" } },
        },
      },
    });
    const edge = specOf(r, "VirtualService", "ingress-routes");
    assert.deepStrictEqual(
      edge.http.map((h) => h.name),
      ["bookinfo", "frontend"],
      "Bookinfo's exact paths before the demo app's catch-all",
    );
    assert.deepStrictEqual(route(edge, "frontend").fault, {
      abort: { percentage: { value: 10 }, httpStatus: 503 },
    });
    assert.deepStrictEqual(route(edge, "bookinfo").fault, {
      delay: { percentage: { value: 50 }, fixedDelay: "2s" },
    });
    for (const name of ["frontend", "bookinfo"]) {
      assert.strictEqual(route(edge, name).timeout, "4s");
      assert.strictEqual(route(edge, name).retries.attempts, 1);
    }
    assert.strictEqual(
      route(specOf(r, "VirtualService", "frontend"), "weighted").fault?.abort
        ?.httpStatus,
      503,
    );
    assert.deepStrictEqual(r.outputs.bookinfoApp, {
      namespace: "bookinfo",
      url: "http://localhost:8080/productpage",
      reviewsWeights: { v1: 100, v2: 0, v3: 0 },
    });
  });

  it("WHEN the canary has a header route and mirroring THEN the backend's VirtualService tries the header first and mirrors the weighted traffic", async () => {
    const r = await renderProgram({
      canary: {
        weights: { v1: 100, v2: 0 },
        header: { name: "x-canary", value: "always", version: "v2" },
        mirror: { version: "v2", percent: 25 },
      },
    });
    const vs = specOf(r, "VirtualService", "backend", "mesh-demo");
    assert.deepStrictEqual(
      vs.http.map((h) => h.name),
      ["header-1-v2", "weighted"],
    );
    assert.deepStrictEqual(route(vs, "header-1-v2").match, [
      { headers: { "x-canary": { exact: "always" } } },
    ]);
    assert.deepStrictEqual(route(vs, "weighted").mirrorPercentage, {
      value: 25,
    });
    assert.strictEqual(
      route(specOf(r, "VirtualService", "frontend"), "weighted").mirror,
      undefined,
      "the canary is the backend's only",
    );
  });

  it("WHEN security.cni is on THEN istio-cni comes before istiod and both app namespaces enforce the restricted standard", async () => {
    const r = await renderProgram({
      ...DEV_CONFIG,
      security: { cni: true },
      bookinfo: { enabled: true },
    });
    assert.ok(
      release(r, "istiod").dependsOn.includes(ref(release(r, "istio-cni"))),
    );
    for (const ns of ["mesh-demo", "bookinfo"]) {
      assert.strictEqual(
        named(namespaces(r), ns).inputs.metadata.labels?.[
          "pod-security.kubernetes.io/enforce"
        ],
        "restricted",
      );
    }
    // Jaeger's OTLP ports admit the proxies of every injected namespace, Bookinfo's included.
    const otlp = named(
      byType<NetworkPolicyInputs>(r, TYPE.networkPolicy),
      "jaeger",
    ).inputs.spec.ingress[0];
    assert.deepStrictEqual(
      otlp.from[0].namespaceSelector.matchExpressions[0].values,
      ["bookinfo", "istio-ingress", "mesh-demo"],
    );
  });

  it("WHEN every addon is off THEN istiod has no tracing provider and only Istio's releases remain", async () => {
    const r = await renderProgram({
      ...DEV_CONFIG,
      observability: {
        prometheus: { enabled: false },
        grafana: { enabled: false },
        kiali: { enabled: false },
        jaeger: { enabled: false },
      },
    });
    assert.deepStrictEqual(
      releases(r)
        .map((x) => x.inputs.name)
        .sort(),
      ["istio-base", "istio-ingressgateway", "istiod"],
    );
    assert.strictEqual(
      release<IstiodValues>(r, "istiod").inputs.values.meshConfig
        .extensionProviders,
      undefined,
    );
    assert.deepStrictEqual(r.outputs.dashboards, {});
    assert.strictEqual(r.outputs.grafanaAdminPassword, null);
  });
});
