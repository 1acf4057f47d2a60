// Unit tests of the chart values and chart sources: what each chart gets, no runtime.
import * as assert from "assert";
import { chartSource, ISTIO_NAMESPACE } from "../../components/core";
import { type IstioConfig, validateConfig } from "../../components/config";
import {
  ADDON_SERVICES,
  baseValues,
  cniValues,
  GRAFANA_ADMIN,
  gatewayValues,
  grafanaValues,
  istioChartSource,
  istiodValues,
  jaegerNetworkPolicySpec,
  kialiValues,
  prometheusValues,
  serviceUrl,
  telemetrySpec,
  TRACING_PROVIDER,
} from "../../components/specs";
import { DEV_CONFIG } from "../support/mocks";

/** The validated `istio` section of a stack. */
const istioOf = (istio: Record<string, unknown> = {}): IstioConfig =>
  validateConfig({ ...DEV_CONFIG, istio }).istio;

describe("chart sources", () => {
  it("WHEN the repository is classic THEN the chart is named with the pinned version and the repository URL", () => {
    assert.deepStrictEqual(istioChartSource(istioOf(), "istiod"), {
      chart: "istiod",
      version: "1.31.1",
      repositoryOpts: {
        repo: "https://blob.istio.io/istio-release/charts",
      },
    });
  });

  it("WHEN the repository is an OCI registry THEN the chart is its full reference", () => {
    assert.deepStrictEqual(
      istioChartSource(
        istioOf({ chartRepo: "oci://ghcr.io/istio/release/charts/" }),
        "istiod",
      ),
      { chart: "oci://ghcr.io/istio/release/charts/istiod", version: "1.31.1" },
    );
  });

  it("WHEN a local directory or path is given THEN it wins, used as it is", () => {
    assert.deepStrictEqual(
      istioChartSource(istioOf({ chartDir: "test/fixtures/charts/" }), "base"),
      { chart: "test/fixtures/charts/base" },
    );
    assert.deepStrictEqual(
      chartSource(
        "kiali-server",
        "https://kiali.org/helm-charts",
        "2.27.0",
        "/c/k",
      ),
      { chart: "/c/k" },
    );
  });
});

describe("Istio chart values", () => {
  it("WHEN defaults are used THEN istiod is one small replica with pinned images from Istio's registry", () => {
    const v = istiodValues(istioOf(), false, false);
    assert.deepStrictEqual(v.resources.requests, {
      cpu: "100m",
      memory: "256Mi",
    });
    assert.strictEqual(v.replicaCount, 1);
    assert.strictEqual(v.autoscaleEnabled, false);
    assert.strictEqual(v.global.tag, "1.31.1");
    assert.strictEqual(v.global.hub, "docker.io/istio");
    assert.strictEqual(v.global.istioNamespace, ISTIO_NAMESPACE);
    assert.strictEqual(v.meshConfig.trustDomain, "cluster.local");
    assert.match(v.env.BLOCKED_CIDRS_IN_JWKS_URIS, /^169\.254\.0\.0\/16,/);
    assert.deepStrictEqual(v.cni, { enabled: false });
  });

  it("WHEN defaults are used THEN every proxy requests 10m / 40Mi, and istio.proxyResources overrides it", () => {
    assert.deepStrictEqual(
      istiodValues(istioOf(), false, false).global.proxy.resources,
      {
        requests: { cpu: "10m", memory: "40Mi" },
        limits: { cpu: "1000m", memory: "256Mi" },
      },
    );
    const resources = {
      requests: { cpu: "50m", memory: "64Mi" },
      limits: { cpu: "500m", memory: "128Mi" },
    };
    assert.deepStrictEqual(
      istiodValues(istioOf({ proxyResources: resources }), false, false).global
        .proxy.resources,
      resources,
    );
  });

  it("WHEN istio.platform is k3s THEN every chart gets global.platform k3s; unset, none does", () => {
    const k3s = istioOf({ platform: "k3s" });
    for (const v of [
      baseValues(k3s),
      istiodValues(k3s, true, false),
      gatewayValues(k3s, "ClusterIP", "gw"),
      cniValues(k3s),
    ]) {
      assert.strictEqual(v.global.platform, "k3s");
    }
    const none = istioOf();
    for (const v of [
      baseValues(none),
      istiodValues(none, false, false),
      gatewayValues(none, "ClusterIP", "gw"),
    ]) {
      assert.ok(!("platform" in v.global));
    }
  });

  it("WHEN istio-cni is on THEN istiod knows it and the node agent pulls from the same registry", () => {
    assert.deepStrictEqual(istiodValues(istioOf(), true, false).cni, {
      enabled: true,
    });
    assert.strictEqual(cniValues(istioOf()).global.hub, "docker.io/istio");
  });

  it("WHEN single-cluster THEN the multicluster istio-reader RBAC is off on base and istiod", () => {
    assert.strictEqual(baseValues(istioOf()).global.enableReaderRBAC, false);
    assert.strictEqual(
      istiodValues(istioOf(), false, false).global.enableReaderRBAC,
      false,
    );
  });

  it("WHEN the ingress is the gateway chart THEN istiod's Gateway API deployment controller (and its ClusterRole) is off", () => {
    assert.strictEqual(
      istiodValues(istioOf(), false, false).env
        .PILOT_ENABLE_GATEWAY_API_DEPLOYMENT_CONTROLLER,
      "false",
    );
  });

  it("WHEN installed THEN istiod, the gateway and istio-cni get the charts' own NetworkPolicies", () => {
    const istio = istioOf();
    for (const v of [
      istiodValues(istio, true, false),
      gatewayValues(istio, "ClusterIP", "gw"),
      cniValues(istio),
    ]) {
      assert.deepStrictEqual(v.global.networkPolicy, { enabled: true });
    }
  });

  it("WHEN the gateway is installed THEN its ServiceAccount is named as policies name it, one replica", () => {
    const v = gatewayValues(istioOf(), "LoadBalancer", "istio-ingressgateway");
    assert.deepStrictEqual(v.serviceAccount, {
      create: true,
      name: "istio-ingressgateway",
    });
    assert.deepStrictEqual(v.service, { type: "LoadBalancer" });
    assert.deepStrictEqual(v.autoscaling, { enabled: false });
  });

  it("WHEN a user adds values THEN they reach the chart, merged under ours", () => {
    const istio = istioOf({
      values: {
        istiod: {
          istiodRemote: { injectionURL: "https://127.0.0.1:1/inject" },
          global: { hub: "evil.example/istio", logAsJson: true },
        },
        base: { base: { validationURL: "https://127.0.0.1:1/validate" } },
      },
    });
    const istiod = istiodValues(istio, false, false);
    assert.deepStrictEqual(istiod.istiodRemote, {
      injectionURL: "https://127.0.0.1:1/inject",
    });
    assert.strictEqual(
      (istiod.global as unknown as Record<string, unknown>).logAsJson,
      true,
    );
    // Ours win: the pinned registry stays.
    assert.strictEqual(istiod.global.hub, "docker.io/istio");
    assert.deepStrictEqual(baseValues(istio).base, {
      validationURL: "https://127.0.0.1:1/validate",
    });
  });

  it("WHEN tracing is on THEN istiod's mesh config has the one provider, pointing at Jaeger's collector; off, none", () => {
    assert.deepStrictEqual(
      istiodValues(istioOf(), false, true).meshConfig.extensionProviders,
      [TRACING_PROVIDER],
    );
    assert.deepStrictEqual(TRACING_PROVIDER.opentelemetry, {
      service: "jaeger-collector.istio-system.svc.cluster.local",
      port: ADDON_SERVICES.collector.otlpGrpcPort,
    });
    assert.strictEqual(
      istiodValues(istioOf(), false, false).meshConfig.extensionProviders,
      undefined,
    );
  });
});

describe("observability values", () => {
  const kiali = kialiValues({
    authStrategy: "token",
    grafana: true,
    tracing: true,
    grafanaSecret: GRAFANA_ADMIN.secret,
  });

  it("WHEN Prometheus is installed THEN only its server runs, without persistence", () => {
    const v = prometheusValues();
    for (const off of [
      v.alertmanager,
      v["prometheus-pushgateway"],
      v["kube-state-metrics"],
      v["prometheus-node-exporter"],
    ]) {
      assert.strictEqual(off.enabled, false);
    }
    assert.strictEqual(v.server.persistentVolume.enabled, false);
    assert.ok(v.server.resources.limits.memory);
  });

  it("WHEN Grafana and Kiali look for Prometheus THEN they use the Service its values name", () => {
    const prom = prometheusValues().server;
    const url = `http://${prom.fullnameOverride}.istio-system:${prom.service.servicePort}`;
    const grafana = grafanaValues(GRAFANA_ADMIN.secret, true);
    assert.strictEqual(
      grafana.datasources["datasources.yaml"].datasources[0].url,
      url,
    );
    assert.strictEqual(kiali.external_services.prometheus.url, url);
    assert.strictEqual(
      kiali.external_services.grafana.internal_url,
      `http://${grafana.fullnameOverride}.istio-system:${grafana.service.port}`,
    );
    assert.strictEqual(
      kiali.external_services.tracing.internal_url,
      serviceUrl({ name: "tracing", port: ADDON_SERVICES.tracing.grpcPort }),
    );
  });

  it("WHEN dashboards are on THEN Istio's five are provisioned; off, nothing is downloaded and Prometheus stays the datasource", () => {
    const on = grafanaValues(GRAFANA_ADMIN.secret, true);
    assert.deepStrictEqual(
      Object.values(on.dashboards?.istio ?? {})
        .map((d) => d.gnetId)
        .sort(),
      [11829, 7630, 7636, 7639, 7645],
    );
    const off = grafanaValues(GRAFANA_ADMIN.secret, false);
    assert.strictEqual(off.dashboards, undefined);
    assert.strictEqual(off.dashboardProviders, undefined);
    assert.ok(off.datasources);
  });

  it("WHEN Grafana and Kiali are on THEN Kiali logs in with the admin Secret Grafana reads, never a password in values", () => {
    const grafana = grafanaValues(GRAFANA_ADMIN.secret, true);
    const secret = grafana.admin.existingSecret;
    assert.deepStrictEqual(kiali.external_services.grafana.auth, {
      type: "basic",
      username: `secret:${secret}:${grafana.admin.userKey}`,
      password: `secret:${secret}:${grafana.admin.passwordKey}`,
    });
    assert.strictEqual(kiali.auth.strategy, "token");
  });

  it("WHEN sampling is set THEN the Telemetry resource selects the mesh's provider at that rate", () => {
    assert.deepStrictEqual(telemetrySpec(25), {
      tracing: [
        {
          providers: [{ name: TRACING_PROVIDER.name }],
          randomSamplingPercentage: 25,
        },
      ],
    });
  });

  it("WHEN proxies send spans THEN only their namespaces may reach OTLP, and only Kiali the query ports", () => {
    const spec = jaegerNetworkPolicySpec(
      ["mesh-demo", "istio-ingress", "bookinfo"],
      true,
    );
    assert.deepStrictEqual(spec, {
      podSelector: { matchLabels: { app: "jaeger" } },
      policyTypes: ["Ingress"],
      ingress: [
        {
          from: [
            {
              namespaceSelector: {
                matchExpressions: [
                  {
                    key: "kubernetes.io/metadata.name",
                    operator: "In",
                    values: ["bookinfo", "istio-ingress", "mesh-demo"],
                  },
                ],
              },
            },
          ],
          ports: [
            { protocol: "TCP", port: 4317 },
            { protocol: "TCP", port: 4318 },
          ],
        },
        {
          from: [
            {
              podSelector: {
                matchLabels: { "app.kubernetes.io/name": "kiali" },
              },
            },
          ],
          ports: [
            { protocol: "TCP", port: 16685 },
            { protocol: "TCP", port: 16686 },
          ],
        },
      ],
    });
    assert.strictEqual(
      (jaegerNetworkPolicySpec(["mesh-demo"], false).ingress as unknown[])
        .length,
      1,
    );
  });
});
