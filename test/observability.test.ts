import * as assert from "assert";
import * as pulumi from "@pulumi/pulumi";
import { ADDON_SERVICES } from "../components/specs";
import { validateConfig } from "../components/config";
import { problems } from "./configProblems";
import {
  byType,
  changedResources,
  DEV_CONFIG,
  isSecret,
  istioResources,
  one,
  ref,
  release,
  renderDev,
  Rendering,
  renderProgram,
  secretValue,
} from "./mocks";

const RELEASE = "kubernetes:helm.sh/v3:Release";

/** The in-cluster URL of a Service the stack creates, read from what the stack registered. */
function urlOf(service: { name: string; port: number }): string {
  return `http://${service.name}.istio-system:${service.port}`;
}

describe("observability (dev stack)", () => {
  let r: Rendering;
  before(async () => {
    r = await renderDev();
  });

  it("installs Prometheus, Grafana and Kiali from their pinned charts into the addon namespace, after base", () => {
    const base = ref(release(r, "istio-base"));
    for (const [name, chart, version, repo] of [
      [
        "prometheus",
        "prometheus",
        "28.13.0",
        "https://prometheus-community.github.io/helm-charts",
      ],
      ["grafana", "grafana", "9.2.2", "https://grafana.github.io/helm-charts"],
      ["kiali", "kiali-server", "2.27.0", "https://kiali.org/helm-charts"],
    ]) {
      const rel = release(r, name);
      assert.strictEqual(rel.inputs.chart, chart);
      assert.strictEqual(rel.inputs.version, version);
      assert.deepStrictEqual(rel.inputs.repositoryOpts, { repo });
      assert.strictEqual(rel.inputs.namespace, "istio-system");
      assert.ok(
        rel.dependsOn.includes(base),
        `${name} does not wait for the Istio CRDs`,
      );
    }
  });

  it("runs Prometheus without the parts a mesh demo does not need", () => {
    const v = release(r, "prometheus").inputs.values;
    for (const off of [
      "alertmanager",
      "prometheus-pushgateway",
      "kube-state-metrics",
      "prometheus-node-exporter",
    ]) {
      assert.strictEqual(v[off].enabled, false, off);
    }
    assert.strictEqual(v.server.persistentVolume.enabled, false);
    assert.ok(v.server.resources.limits.memory);
  });

  it("points Grafana's datasource and Kiali at the Services the charts create", () => {
    const prom = release(r, "prometheus").inputs.values.server;
    const promUrl = urlOf({
      name: prom.fullnameOverride,
      port: prom.service.servicePort,
    });
    const grafana = release(r, "grafana").inputs.values;
    assert.strictEqual(
      grafana.datasources["datasources.yaml"].datasources[0].url,
      promUrl,
    );
    const kiali = release(r, "kiali").inputs.values.external_services;
    assert.strictEqual(kiali.prometheus.url, promUrl);
    assert.strictEqual(
      kiali.grafana.internal_url,
      urlOf({ name: grafana.fullnameOverride, port: grafana.service.port }),
    );
    // Kiali's tracing URL names the tracing Service's gRPC port, as the stack creates it.
    const tracing = one(
      byType(r, "kubernetes:core/v1:Service").filter(
        (s) => s.inputs.metadata.name === "tracing",
      ),
      "tracing",
    );
    const grpc = tracing.inputs.spec.ports.find(
      (p: any) => p.name === "grpc-query",
    );
    assert.strictEqual(
      kiali.tracing.internal_url,
      urlOf({ name: "tracing", port: grpc.port }),
    );
    assert.strictEqual(kiali.tracing.enabled, true);
  });

  it("provisions Istio's five dashboards in Grafana from config", () => {
    const dashboards = release(r, "grafana").inputs.values.dashboards.istio;
    assert.deepStrictEqual(
      Object.values(dashboards)
        .map((d: any) => d.gnetId)
        .sort(),
      [11829, 7630, 7636, 7639, 7645],
    );
  });

  it("generates Grafana's admin password into a Secret the chart reads, and exports it as a secret", async () => {
    const pw = one(
      byType(r, "random:index/randomPassword:RandomPassword"),
      "password",
    );
    assert.strictEqual(pw.inputs.length, 24);
    const secret = one(
      byType(r, "kubernetes:core/v1:Secret").filter(
        (s) => s.inputs.metadata.name === "grafana-admin",
      ),
      "secret",
    );
    const admin = release(r, "grafana").inputs.values.admin;
    assert.strictEqual(admin.existingSecret, secret.inputs.metadata.name);
    assert.ok(
      isSecret(secret.inputs.stringData),
      "the Secret's data is a Pulumi secret, encrypted in state",
    );
    assert.strictEqual(
      secretValue(secret.inputs.stringData)[admin.passwordKey],
      "mock-password",
    );
    assert.ok(secret.dependsOn.length > 0);
    assert.ok(release(r, "grafana").dependsOn.includes(ref(secret)));
    assert.strictEqual(
      JSON.stringify(release(r, "grafana").inputs.values).includes(
        "mock-password",
      ),
      false,
      "no password in values",
    );
    assert.strictEqual(
      await pulumi.isSecret(
        r.exports.grafanaAdminPassword as pulumi.Output<string>,
      ),
      true,
      "exported as a secret",
    );
    assert.strictEqual(r.outputs.grafanaAdminPassword, "mock-password");
  });

  it("uses a safe Kiali auth strategy unless anonymous is asked for", async () => {
    assert.strictEqual(
      release(r, "kiali").inputs.values.auth.strategy,
      "token",
    );
    const anon = validateConfig({
      ...DEV_CONFIG,
      observability: { kiali: { authStrategy: "anonymous" } },
    });
    assert.strictEqual(anon.observability.kiali.authStrategy, "anonymous");
  });

  it("sends traces to Jaeger through one provider name shared by mesh config and Telemetry", () => {
    const mesh = release(r, "istiod").inputs.values.meshConfig;
    assert.strictEqual(mesh.extensionProviders.length, 1);
    const provider = mesh.extensionProviders[0];
    const telemetry = one(istioResources(r, "Telemetry"), "Telemetry");
    assert.strictEqual(telemetry.inputs.metadata.namespace, "istio-system");
    assert.deepStrictEqual(telemetry.inputs.spec.tracing[0].providers, [
      { name: provider.name },
    ]);
    assert.strictEqual(
      telemetry.inputs.spec.tracing[0].randomSamplingPercentage,
      1,
    );
    const collector = one(
      byType(r, "kubernetes:core/v1:Service").filter(
        (s) => s.inputs.metadata.name === ADDON_SERVICES.collector.name,
      ),
      "collector",
    );
    assert.strictEqual(
      provider.opentelemetry.service,
      `${collector.inputs.metadata.name}.istio-system.svc.cluster.local`,
    );
    assert.ok(
      collector.inputs.spec.ports.some(
        (p: any) => p.port === provider.opentelemetry.port,
      ),
    );
    assert.ok(telemetry.dependsOn.includes(ref(release(r, "istio-base"))));
  });

  it("keeps the addons out of the mesh and Jaeger hardened", () => {
    const ns = byType(r, "kubernetes:core/v1:Namespace").find(
      (n) => n.inputs.metadata.name === "istio-system",
    );
    assert.strictEqual(
      ns?.inputs.metadata.labels?.["istio-injection"],
      undefined,
    );
    const jaeger = one(
      byType(r, "kubernetes:apps/v1:Deployment").filter(
        (d) => d.inputs.metadata.name === "jaeger",
      ),
      "jaeger",
    );
    const pod = jaeger.inputs.spec.template;
    assert.strictEqual(pod.metadata.labels["sidecar.istio.io/inject"], "false");
    assert.strictEqual(
      pod.spec.containers[0].securityContext.readOnlyRootFilesystem,
      true,
    );
    assert.match(pod.spec.containers[0].image, /^jaegertracing\/jaeger:2\./);
  });

  it("exports a port-forward command and a URL for each dashboard", () => {
    assert.deepStrictEqual(Object.keys(r.outputs.dashboards).sort(), [
      "grafana",
      "jaeger",
      "kiali",
      "prometheus",
    ]);
    assert.deepStrictEqual(r.outputs.dashboards.grafana, {
      command: "kubectl -n istio-system port-forward svc/grafana 3000:80",
      url: "http://localhost:3000/",
    });
    assert.deepStrictEqual(r.outputs.dashboards.kiali, {
      command: "kubectl -n istio-system port-forward svc/kiali 20001:20001",
      url: "http://localhost:20001/kiali",
    });
  });
});

describe("observability options", () => {
  it("installs nothing of an addon that is off, and no tracing without Jaeger", async () => {
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
      byType(r, RELEASE)
        .map((x) => x.inputs.name)
        .sort(),
      ["istio-base", "istio-ingressgateway", "istiod"],
    );
    assert.strictEqual(istioResources(r, "Telemetry").length, 0);
    assert.strictEqual(
      release(r, "istiod").inputs.values.meshConfig.extensionProviders,
      undefined,
    );
    assert.strictEqual(
      byType(r, "random:index/randomPassword:RandomPassword").length,
      0,
    );
    assert.deepStrictEqual(r.outputs.dashboards, {});
    assert.strictEqual(r.outputs.grafanaAdminPassword, null);
  });

  it("changes only the Telemetry resource when only the sampling changes", async () => {
    const a = await renderDev();
    const b = await renderProgram({
      ...DEV_CONFIG,
      observability: { samplingPercent: 50 },
    });
    assert.deepStrictEqual(changedResources(a, b), [
      "kubernetes:telemetry.istio.io/v1:Telemetry::observability-tracing",
    ]);
  });

  it("installs an addon from a local chart path", async () => {
    const r = await renderProgram({
      ...DEV_CONFIG,
      observability: { kiali: { chartPath: "/charts/kiali-server" } },
    });
    assert.strictEqual(
      release(r, "kiali").inputs.chart,
      "/charts/kiali-server",
    );
    assert.strictEqual(release(r, "kiali").inputs.repositoryOpts, undefined);
  });

  const bad: Array<[string, unknown, string]> = [
    [
      "sampling above 100",
      { samplingPercent: 150 },
      "observability.samplingPercent must be a percentage from 0 to 100 (got 150); e.g. 'pulumi config set --path observability.samplingPercent 1'",
    ],
    [
      "an unknown Kiali auth strategy",
      { kiali: { authStrategy: "none" } },
      'observability.kiali.authStrategy must be one of token, anonymous (got "none")',
    ],
    [
      "an unpinned chart version",
      { grafana: { chartVersion: "latest" } },
      'observability.grafana.chartVersion must pin an exact chart version such as 1.2.3 (got "latest")',
    ],
    [
      "Kiali without Prometheus",
      { prometheus: { enabled: false }, grafana: { enabled: false } },
      "observability.kiali.enabled needs observability.prometheus.enabled (Kiali's graphs come from Prometheus); enable Prometheus or set 'pulumi config set --path observability.kiali.enabled false'",
    ],
  ];
  for (const [what, observability, message] of bad) {
    it(`rejects ${what}`, () => {
      assert.deepStrictEqual(problems({ ...DEV_CONFIG, observability }), [
        message,
      ]);
    });
  }
});
