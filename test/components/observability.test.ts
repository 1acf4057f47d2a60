// Component tests of the observability addons, rendered alone under the recording mocks.
import * as assert from "assert";
import * as pulumi from "@pulumi/pulumi";
import {
  type ObservabilityConfig,
  validateConfig,
} from "../../components/config";
import { Observability } from "../../components/observability";
import {
  assertOwnsEverything,
  renderComponent,
  STAND_INS,
} from "../support/components";
import {
  byType,
  deployments,
  istioResource,
  istioResources,
  named,
  type NetworkPolicyInputs,
  ref,
  release,
  releases,
  type SecretInputs,
  services,
  TYPE,
} from "../support/finders";
import {
  DEV_CONFIG,
  isSecret,
  type Rendering,
  secretValue,
} from "../support/mocks";

const observabilityOf = (
  o: Record<string, unknown> = {},
): ObservabilityConfig =>
  validateConfig({ ...DEV_CONFIG, observability: o }).observability;

function render(
  config: ObservabilityConfig,
  skipAwait = false,
): Promise<Rendering & { addons?: Observability }> {
  let addons: Observability | undefined;
  return renderComponent(
    ({ mesh, provider }) => {
      addons = new Observability(
        "observability",
        { mesh, config, spanSources: ["mesh-demo", "istio-ingress"] },
        { provider },
      );
    },
    { skipAwait },
  ).then((r) => ({ ...r, addons }));
}

describe("Observability", () => {
  let r: Rendering & { addons?: Observability };
  before(async () => {
    r = await render(observabilityOf());
  });

  it("WHEN rendered THEN it owns all it makes, on the provider it was given", () => {
    assertOwnsEverything(r, "service-mesh:observability:Addons");
  });

  it("WHEN rendered THEN Prometheus, Grafana and Kiali come from their pinned charts into istio-system, after the root namespace and the CRDs", () => {
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
      assert.strictEqual(rel.inputs.skipAwait, false);
      for (const dep of [STAND_INS.rootNamespace, STAND_INS.crds]) {
        assert.ok(
          rel.dependsOn.includes(dep),
          `${name} does not wait for ${dep}`,
        );
      }
    }
  });

  it("WHEN Grafana is on THEN its generated password lives in a Secret (a Pulumi secret) that Grafana and Kiali wait for", async () => {
    const pw = byType<{ length: number }>(r, TYPE.password);
    assert.strictEqual(pw.length, 1);
    assert.strictEqual(pw[0].inputs.length, 24);
    const secret = named(byType<SecretInputs>(r, TYPE.secret), "grafana-admin");
    assert.ok(isSecret(secret.inputs.stringData), "encrypted in state");
    assert.strictEqual(
      secretValue<Record<string, string>>(secret.inputs.stringData)[
        "admin-password"
      ],
      "mock-password",
    );
    for (const name of ["grafana", "kiali"]) {
      assert.ok(release(r, name).dependsOn.includes(ref(secret)));
      assert.ok(
        !JSON.stringify(release(r, name).inputs.values).includes(
          "mock-password",
        ),
      );
    }
    const exported = r.addons?.grafanaAdminPassword;
    assert.ok(exported);
    assert.strictEqual(await pulumi.isSecret(exported), true);
  });

  it("WHEN Jaeger is on THEN it runs hardened, outside the mesh, behind its Services and NetworkPolicy, and tracing is on mesh-wide", () => {
    const pod = named(deployments(r), "jaeger", "istio-system").inputs.spec
      .template;
    assert.strictEqual(pod.metadata.labels["sidecar.istio.io/inject"], "false");
    assert.strictEqual(
      pod.spec.containers[0].securityContext.readOnlyRootFilesystem,
      true,
    );
    assert.match(pod.spec.containers[0].image, /^jaegertracing\/jaeger:2\./);
    const tracing = named(services(r), "tracing");
    assert.deepStrictEqual(
      tracing.inputs.spec.ports.map((p) => [p.name, p.port, p.appProtocol]),
      [
        ["http-query", 80, "http"],
        ["grpc-query", 16685, "grpc"],
      ],
    );
    assert.ok(named(services(r), "jaeger-collector"));
    const netpol = named(
      byType<NetworkPolicyInputs>(r, TYPE.networkPolicy),
      "jaeger",
    );
    assert.strictEqual(netpol.inputs.spec.ingress.length, 2);
    const telemetry = istioResource(
      r,
      "Telemetry",
      "mesh-default",
      "istio-system",
    );
    assert.strictEqual(
      telemetry.inputs.spec.tracing[0].randomSamplingPercentage,
      1,
    );
    assert.deepStrictEqual(
      telemetry.dependsOn.sort(),
      [STAND_INS.crds, STAND_INS.istiod, STAND_INS.rootNamespace].sort(),
    );
  });

  it("WHEN rendered THEN it offers a port-forward command and a URL for each dashboard", () => {
    const dashboards = r.addons?.dashboards ?? {};
    assert.deepStrictEqual(Object.keys(dashboards).sort(), [
      "grafana",
      "jaeger",
      "kiali",
      "prometheus",
    ]);
    assert.deepStrictEqual(dashboards.grafana, {
      command: "kubectl -n istio-system port-forward svc/grafana 3000:80",
      url: "http://localhost:3000/",
    });
    assert.deepStrictEqual(dashboards.kiali, {
      command: "kubectl -n istio-system port-forward svc/kiali 20001:20001",
      url: "http://localhost:20001/kiali",
    });
  });

  it("WHEN every addon is off THEN nothing but the component is registered", async () => {
    const off = await render(
      observabilityOf({
        prometheus: { enabled: false },
        grafana: { enabled: false },
        kiali: { enabled: false },
        jaeger: { enabled: false },
      }),
    );
    assert.deepStrictEqual(releases(off), []);
    assert.deepStrictEqual(istioResources(off), []);
    assert.deepStrictEqual(byType(off, TYPE.password), []);
    assert.deepStrictEqual(off.addons?.dashboards, {});
    assert.strictEqual(off.addons?.grafanaAdminPassword, undefined);
  });

  it("WHEN an addon's chart is local and the mesh skips waiting THEN the release uses the path and does not wait, nor does Jaeger", async () => {
    const local = await render(
      observabilityOf({ kiali: { chartPath: "/charts/kiali-server" } }),
      true,
    );
    const kiali = release(local, "kiali").inputs;
    assert.strictEqual(kiali.chart, "/charts/kiali-server");
    assert.strictEqual(kiali.repositoryOpts, undefined);
    for (const rel of releases(local)) {
      assert.strictEqual(rel.inputs.skipAwait, true);
    }
    assert.deepStrictEqual(
      named(deployments(local), "jaeger").inputs.metadata.annotations,
      { "pulumi.com/skipAwait": "true" },
    );
  });
});
