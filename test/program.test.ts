import * as assert from "assert";
import { gatewayPodLabels, injectionLabels } from "../components/core";
import {
  byType,
  changedResources,
  DEV_CONFIG,
  istioResources,
  named,
  one,
  ref,
  release,
  renderDev,
  Rendering,
  renderProgram,
} from "./mocks";

const DEPLOYMENT = "kubernetes:apps/v1:Deployment";
const SERVICE = "kubernetes:core/v1:Service";
const RELEASE = "kubernetes:helm.sh/v3:Release";
const NAMESPACE = "kubernetes:core/v1:Namespace";

const isSubset = (sub: Record<string, string>, sup: Record<string, string>) =>
  Object.entries(sub).every(([k, v]) => sup[k] === v);

describe("the program (dev stack, mocks)", () => {
  let r: Rendering;
  before(async () => {
    r = await renderDev();
  });

  it("installs base, istiod and the gateway from Istio's chart repository at the pinned version", () => {
    for (const [name, chart] of [
      ["istio-base", "base"],
      ["istiod", "istiod"],
      ["istio-ingressgateway", "gateway"],
    ]) {
      const rel = release(r, name);
      assert.strictEqual(rel.inputs.chart, chart);
      assert.strictEqual(rel.inputs.version, "1.30.4");
      assert.deepStrictEqual(rel.inputs.repositoryOpts, {
        repo: "https://istio-release.storage.googleapis.com/charts",
      });
    }
    assert.strictEqual(
      release(r, "istio-base").inputs.namespace,
      "istio-system",
    );
    assert.strictEqual(release(r, "istiod").inputs.namespace, "istio-system");
    assert.strictEqual(
      release(r, "istio-ingressgateway").inputs.namespace,
      "istio-ingress",
    );
  });

  it("sizes istiod for a laptop and pins its images", () => {
    const values = release(r, "istiod").inputs.values;
    assert.deepStrictEqual(values.resources.requests, {
      cpu: "100m",
      memory: "256Mi",
    });
    assert.strictEqual(values.autoscaleEnabled, false);
    assert.strictEqual(values.global.tag, "1.30.4");
    assert.strictEqual(values.global.hub, "registry.istio.io/release");
  });

  it("orders base before istiod before the gateway", () => {
    const base = release(r, "istio-base");
    const istiod = release(r, "istiod");
    assert.ok(
      istiod.dependsOn.includes(ref(base)),
      "istiod must wait for the CRDs in base",
    );
    assert.ok(
      release(r, "istio-ingressgateway").dependsOn.includes(ref(istiod)),
      "the gateway's pods are injected by istiod",
    );
  });

  it("creates every Istio custom resource after base (its CRDs)", () => {
    const base = ref(release(r, "istio-base"));
    const crs = istioResources(r);
    assert.ok(crs.length >= 5, `found only ${crs.length}`);
    for (const cr of crs) {
      assert.match(cr.inputs.apiVersion, /\.istio\.io\//);
      assert.ok(
        cr.dependsOn.includes(base),
        `${cr.name} does not wait for base`,
      );
    }
  });

  it("creates every workload of an injected namespace after istiod, whose webhook must inject it", () => {
    const istiod = ref(release(r, "istiod"));
    const injected = byType(r, NAMESPACE)
      .filter(
        (ns) => ns.inputs.metadata.labels?.["istio-injection"] === "enabled",
      )
      .map((ns) => ns.inputs.metadata.name);
    const deployments = byType(r, DEPLOYMENT).filter((d) =>
      injected.includes(d.inputs.metadata.namespace),
    );
    assert.deepStrictEqual(
      deployments.map((d) => d.inputs.metadata.name).sort(),
      ["backend-v1", "backend-v2", "frontend-v1"],
    );
    for (const d of deployments) {
      assert.ok(
        d.dependsOn.includes(istiod),
        `${d.name} does not wait for istiod`,
      );
    }
  });

  it("labels the app and gateway namespaces for injection", () => {
    const ns = named(byType(r, NAMESPACE), "mesh-demo");
    assert.deepStrictEqual(ns.inputs.metadata.labels, injectionLabels());
    const gatewayNs = named(byType(r, NAMESPACE), "istio-ingress");
    assert.deepStrictEqual(
      gatewayNs.inputs.metadata.labels,
      injectionLabels(),
      "the gateway's pods are injected",
    );
  });

  it("manages every Kubernetes object through the one explicit provider", () => {
    const k8sResources = r.resources.filter(
      (x) =>
        x.custom &&
        x.type.startsWith("kubernetes:") &&
        !x.type.startsWith("pulumi:providers"),
    );
    assert.ok(k8sResources.length > 10);
    for (const x of k8sResources) {
      assert.match(
        x.provider ?? "",
        /pulumi:providers:kubernetes::k8s::k8s-id$/,
        `${x.name} uses ${x.provider}`,
      );
    }
  });

  it("selects every version's pods with the Service, and each version's pods with its Deployment", () => {
    for (const app of ["backend", "frontend"]) {
      const svc = named(byType(r, SERVICE), app);
      const pods = byType(r, DEPLOYMENT).filter((d) =>
        d.inputs.metadata.name.startsWith(`${app}-`),
      );
      assert.ok(pods.length > 0);
      for (const d of pods) {
        const labels = d.inputs.spec.template.metadata.labels;
        assert.ok(
          isSubset(svc.inputs.spec.selector, labels),
          `${app} Service does not select ${d.name}`,
        );
        assert.deepStrictEqual(d.inputs.spec.selector.matchLabels, labels);
        assert.strictEqual(labels.app, app);
      }
      // The Service must select on app only, or some version would fall out of it.
      assert.deepStrictEqual(svc.inputs.spec.selector, { app });
    }
  });

  it("gives the backend one subset per deployed version, matching the pods' version label", () => {
    const dr = named(istioResources(r, "DestinationRule"), "backend");
    assert.strictEqual(
      dr.inputs.spec.host,
      "backend.mesh-demo.svc.cluster.local",
    );
    const versions = byType(r, DEPLOYMENT)
      .filter((d) => d.inputs.metadata.name.startsWith("backend-"))
      .map((d) => d.inputs.spec.template.metadata.labels.version);
    assert.deepStrictEqual(
      dr.inputs.spec.subsets.map((s: { name: string }) => s.name),
      versions,
    );
    for (const s of dr.inputs.spec.subsets) {
      assert.deepStrictEqual(s.labels, { version: s.name });
    }
  });

  it("splits backend traffic by the configured weights", () => {
    const vs = named(istioResources(r, "VirtualService"), "backend");
    assert.deepStrictEqual(vs.inputs.spec.hosts, [
      "backend.mesh-demo.svc.cluster.local",
    ]);
    const route = vs.inputs.spec.http[0].route.map(
      (d: { destination: { subset: string }; weight: number }) => [
        d.destination.subset,
        d.weight,
      ],
    );
    assert.deepStrictEqual(route, [
      ["v1", 80],
      ["v2", 20],
    ]);
    const svc = named(byType(r, SERVICE), "backend");
    for (const d of vs.inputs.spec.http[0].route) {
      assert.strictEqual(
        d.destination.port.number,
        svc.inputs.spec.ports[0].port,
      );
    }
  });

  it("selects the gateway chart's pods with the Gateway, on the port its Service exposes", () => {
    const gw = named(istioResources(r, "Gateway"), "mesh-gateway");
    const rel = release(r, "istio-ingressgateway");
    assert.deepStrictEqual(
      gw.inputs.spec.selector,
      gatewayPodLabels(rel.inputs.name),
    );
    assert.deepStrictEqual(gw.inputs.spec.selector, {
      app: "istio-ingressgateway",
      istio: "ingressgateway",
    });
    assert.strictEqual(gw.inputs.spec.servers[0].port.number, 80);
    assert.strictEqual(gw.inputs.metadata.namespace, rel.inputs.namespace);
  });

  it("routes ingress traffic through the Gateway to the frontend Service", () => {
    const vs = named(istioResources(r, "VirtualService"), "ingress-routes");
    assert.deepStrictEqual(vs.inputs.spec.gateways, [
      "istio-ingress/mesh-gateway",
    ]);
    const route = vs.inputs.spec.http[vs.inputs.spec.http.length - 1].route;
    const svc = named(byType(r, SERVICE), "frontend");
    // The frontend's own VirtualService does not apply at the gateway, so the gateway routes
    // to its subsets itself, each of which the frontend's DestinationRule defines.
    const subsets = named(
      istioResources(r, "DestinationRule"),
      "frontend",
    ).inputs.spec.subsets.map((s: any) => s.name);
    assert.deepStrictEqual(route, [
      {
        destination: {
          host: "frontend.mesh-demo.svc.cluster.local",
          subset: "v1",
          port: { number: svc.inputs.spec.ports[0].port },
        },
        weight: 100,
      },
    ]);
    assert.ok(subsets.includes(route[0].destination.subset));
  });

  it("makes the frontend forward to the backend Service, whose versions answer with their name", () => {
    const cm = named(
      byType(r, "kubernetes:core/v1:ConfigMap"),
      "frontend-nginx",
    );
    const svc = named(byType(r, SERVICE), "backend");
    assert.match(
      cm.inputs.data["default.conf"],
      new RegExp(
        `proxy_pass http://backend\\.mesh-demo\\.svc\\.cluster\\.local:${svc.inputs.spec.ports[0].port};`,
      ),
    );
    for (const v of ["v1", "v2"]) {
      const d = named(byType(r, DEPLOYMENT), `backend-${v}`);
      assert.ok(
        d.inputs.spec.template.spec.containers[0].args.includes(
          `-text=backend ${v}`,
        ),
      );
    }
  });

  it("runs every container hardened, with pinned images, resources and probes", () => {
    for (const d of byType(r, DEPLOYMENT)) {
      const pod = d.inputs.spec.template.spec;
      assert.strictEqual(pod.automountServiceAccountToken, false);
      assert.strictEqual(pod.securityContext.runAsNonRoot, true);
      for (const c of pod.containers) {
        assert.match(
          c.image,
          /:[0-9][^:]*$/,
          `${d.name} image ${c.image} is not pinned`,
        );
        assert.deepStrictEqual(c.securityContext, {
          runAsNonRoot: true,
          allowPrivilegeEscalation: false,
          readOnlyRootFilesystem: true,
          capabilities: { drop: ["ALL"] },
          seccompProfile: { type: "RuntimeDefault" },
        });
        assert.ok(
          c.resources.requests.cpu && c.resources.limits.memory,
          `${d.name} has no resources`,
        );
        assert.ok(
          c.readinessProbe.httpGet.path && c.livenessProbe.httpGet.path,
          `${d.name} has no probes`,
        );
      }
    }
  });

  it("runs each workload under its own ServiceAccount", () => {
    const accounts = byType(r, "kubernetes:core/v1:ServiceAccount").map(
      (s) => s.inputs.metadata.name,
    );
    for (const d of byType(r, DEPLOYMENT)) {
      assert.ok(
        accounts.includes(d.inputs.spec.template.spec.serviceAccountName),
      );
      assert.strictEqual(
        d.inputs.spec.template.spec.serviceAccountName,
        d.inputs.spec.template.metadata.labels.app,
      );
    }
  });

  it("waits for readiness by default", () => {
    for (const rel of byType(r, RELEASE)) {
      assert.strictEqual(rel.inputs.skipAwait, false);
    }
    for (const d of [...byType(r, DEPLOYMENT), ...byType(r, SERVICE)]) {
      assert.strictEqual(d.inputs.metadata.annotations, undefined);
    }
  });

  it("exports the weights, the versions and how to reach the app", () => {
    assert.deepStrictEqual(r.outputs.canaryWeights, { v1: 80, v2: 20 });
    assert.deepStrictEqual(r.outputs.backendVersions, ["v1", "v2"]);
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
  });
});

describe("the program's options", () => {
  it("installs Istio's charts from an OCI registry by their full reference", async () => {
    const r = await renderProgram({
      ...DEV_CONFIG,
      istio: { chartRepo: "oci://ghcr.io/istio/release/charts" },
    });
    const rel = release(r, "istiod");
    assert.strictEqual(
      rel.inputs.chart,
      "oci://ghcr.io/istio/release/charts/istiod",
    );
    assert.strictEqual(rel.inputs.version, "1.30.4");
    assert.strictEqual(rel.inputs.repositoryOpts, undefined);
  });

  it("deploys every listed version, weight 0 included", async () => {
    const r = await renderProgram({
      canary: { weights: { v1: 0, v2: 0, v3: 100 } },
    });
    const names = byType(r, DEPLOYMENT)
      .map((d) => d.inputs.metadata.name)
      .filter((n) => n.startsWith("backend-"));
    assert.deepStrictEqual(names, ["backend-v1", "backend-v2", "backend-v3"]);
    const vs = named(istioResources(r, "VirtualService"), "backend");
    assert.deepStrictEqual(
      vs.inputs.spec.http[0].route.map((d: { weight: number }) => d.weight),
      [0, 0, 100],
    );
  });

  it("installs from a local chart directory and skips every wait when asked", async () => {
    const fs = await import("fs");
    const os = await import("os");
    const path = await import("path");
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "charts-"));
    for (const chart of ["base", "istiod", "gateway"]) {
      fs.mkdirSync(path.join(dir, chart));
      fs.writeFileSync(path.join(dir, chart, "Chart.yaml"), "name: x\n");
    }
    const r = await renderProgram({
      ...DEV_CONFIG,
      skipAwait: "true",
      istio: { chartDir: dir, hub: "localhost:5000/istio", tag: "1.30.3" },
    });
    for (const rel of byType(r, RELEASE).filter((x) =>
      x.inputs.name.startsWith("istio"),
    )) {
      assert.ok(rel.inputs.chart.startsWith(`${dir}/`), rel.inputs.chart);
      assert.strictEqual(rel.inputs.repositoryOpts, undefined);
      assert.strictEqual(rel.inputs.skipAwait, true);
    }
    for (const rel of byType(r, RELEASE)) {
      assert.strictEqual(
        rel.inputs.skipAwait,
        true,
        `${rel.inputs.name} still waits`,
      );
    }
    assert.strictEqual(
      release(r, "istiod").inputs.values.global.hub,
      "localhost:5000/istio",
    );
    assert.strictEqual(release(r, "istiod").inputs.values.global.tag, "1.30.3");
    for (const d of [...byType(r, DEPLOYMENT), ...byType(r, SERVICE)]) {
      assert.deepStrictEqual(d.inputs.metadata.annotations, {
        "pulumi.com/skipAwait": "true",
      });
    }
  });
});

describe("the canary property", () => {
  it("changes only the backend VirtualService when only the weights change", async () => {
    const before = await renderProgram({
      canary: { weights: { v1: 80, v2: 20 } },
    });
    const after = await renderProgram({
      canary: { weights: { v1: 50, v2: 50 } },
    });
    // Every resource, its inputs and its options (dependsOn, parent, provider) are compared.
    assert.deepStrictEqual(changedResources(before, after), [
      "kubernetes:networking.istio.io/v1:VirtualService::backend-vs",
    ]);
    const weights = (x: Rendering) =>
      named(
        istioResources(x, "VirtualService"),
        "backend",
      ).inputs.spec.http[0].route.map((d: { weight: number }) => d.weight);
    assert.deepStrictEqual(weights(after), [50, 50]);
  });
});
