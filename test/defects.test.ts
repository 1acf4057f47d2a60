// The defects a review found against the images' Dockerfiles, Istio 1.30's charts and the
// sample's source (issue 15), one block each. Every test here failed before its fix.
import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";

import { problems } from "./configProblems";
import {
  byType,
  DEV_CONFIG,
  istioResources,
  named,
  RecordedResource,
  ref,
  release,
  Rendering,
  renderProgram,
} from "./mocks";

const DEPLOYMENT = "kubernetes:apps/v1:Deployment";
const NETWORK_POLICY = "kubernetes:networking.k8s.io/v1:NetworkPolicy";
const BOOKINFO = { ...DEV_CONFIG, bookinfo: { enabled: true } };
const ISTIO_RELEASES = ["istio-base", "istiod", "istio-ingressgateway"];

const podOf = (r: Rendering, deployment: string) =>
  named(byType(r, DEPLOYMENT), deployment).inputs.spec.template.spec;
const mounts = (pod: any) =>
  Object.fromEntries(
    pod.containers[0].volumeMounts.map((m: any) => [m.mountPath, m.name]),
  );
const volume = (pod: any, name: string) =>
  pod.volumes.find((v: any) => v.name === name);
const ingressRoute = (r: Rendering, name: string) =>
  named(
    istioResources(r, "VirtualService"),
    "ingress-routes",
  ).inputs.spec.http.find((h: any) => h.name === name);

describe("defects found by review (issue 15)", () => {
  describe("1. Bookinfo reviews (Open Liberty) can start", () => {
    let r: Rendering;
    before(async () => {
      r = await renderProgram(BOOKINFO);
    });
    for (const v of ["v1", "v2", "v3"]) {
      it(`WHEN reviews-${v} runs THEN it is uid 1001 in group 0, as the Liberty image's group-writable dirs need`, () => {
        const pod = podOf(r, `reviews-${v}`);
        assert.strictEqual(pod.securityContext.runAsUser, 1001);
        assert.strictEqual(pod.securityContext.runAsGroup, 0);
        assert.strictEqual(pod.securityContext.runAsNonRoot, true);
        assert.strictEqual(
          pod.containers[0].securityContext.readOnlyRootFilesystem,
          true,
        );
      });
    }
    it("WHEN Liberty starts THEN every path it writes is an emptyDir, and nothing mounts the old /opt/ibm layout", () => {
      const pod = podOf(r, "reviews-v2");
      const m = mounts(pod);
      for (const p of [
        "/opt/ol/wlp/output",
        "/opt/ol/wlp/usr/servers/defaultServer/configDropins/defaults",
        "/logs",
        "/tmp",
      ]) {
        assert.ok(m[p], `${p} is not writable`);
        assert.ok(volume(pod, m[p]).emptyDir, `${p} is not an emptyDir`);
      }
      assert.ok(!Object.keys(m).some((p) => p.startsWith("/opt/ibm")));
      // The workarea and logs must not hit the eviction limit of a 16Mi emptyDir.
      assert.strictEqual(
        volume(pod, m["/opt/ol/wlp/output"]).emptyDir.sizeLimit,
        "256Mi",
      );
    });
  });

  describe("2. edge traffic carries the timeout, retries and fault of the service it enters", () => {
    const cfg = {
      ...BOOKINFO,
      resilience: {
        timeout: "4s",
        retries: { attempts: 1, perTryTimeout: "2s" },
        faults: {
          frontend: { abort: { percent: 10, httpStatus: 503 } },
          productpage: { delay: { percent: 50, fixedDelay: "2s" } },
        },
      },
    };
    let r: Rendering;
    before(async () => {
      r = await renderProgram(cfg);
    });
    it("WHEN a fault is set on frontend THEN the gateway's route to frontend injects it", () => {
      const route = ingressRoute(r, "frontend");
      assert.deepStrictEqual(route.fault, {
        abort: { percentage: { value: 10 }, httpStatus: 503 },
      });
      assert.strictEqual(route.timeout, "4s");
      assert.strictEqual(route.retries.attempts, 1);
      assert.strictEqual(route.retries.perTryTimeout, "2s");
    });
    it("WHEN a fault is set on productpage THEN the gateway's Bookinfo route injects it", () => {
      const route = ingressRoute(r, "bookinfo");
      assert.deepStrictEqual(route.fault, {
        delay: { percentage: { value: 50 }, fixedDelay: "2s" },
      });
      assert.strictEqual(route.timeout, "4s");
    });
    it("WHEN no fault is set THEN the edge routes still time out and retry as the services do", async () => {
      const dev = await renderProgram(DEV_CONFIG);
      const route = ingressRoute(dev, "frontend");
      assert.strictEqual(route.timeout, "10s");
      assert.strictEqual(route.retries.attempts, 2);
      assert.strictEqual(route.fault, undefined);
    });
  });

  describe("4. productpage fits its memory limit", () => {
    it("WHEN productpage runs THEN gunicorn starts 2 gevent workers, not the image's 8, under 256Mi", async () => {
      const r = await renderProgram(BOOKINFO);
      const c = podOf(r, "productpage-v1").containers[0];
      const args: string[] = c.args;
      assert.strictEqual(args[0], "gunicorn");
      assert.strictEqual(args[args.indexOf("-w") + 1], "2");
      assert.strictEqual(args[args.indexOf("-k") + 1], "gevent");
      assert.ok(args.includes("productpage:app"));
      assert.strictEqual(c.resources.limits.memory, "256Mi");
      assert.ok(mounts(podOf(r, "productpage-v1"))["/tmp"]);
    });
  });

  describe("5. Kiali can read Grafana", () => {
    let r: Rendering;
    before(async () => {
      r = await renderProgram(DEV_CONFIG);
    });
    it("WHEN Grafana and Kiali are on THEN Kiali logs in with the admin Secret Grafana reads", () => {
      const kiali = release(r, "kiali").inputs.values;
      const grafana = release(r, "grafana").inputs.values;
      const secret = grafana.admin.existingSecret;
      assert.deepStrictEqual(kiali.external_services.grafana.auth, {
        type: "basic",
        username: `secret:${secret}:${grafana.admin.userKey}`,
        password: `secret:${secret}:${grafana.admin.passwordKey}`,
      });
      assert.ok(!JSON.stringify(kiali).includes("mock-password"));
    });
    it("WHEN Kiali starts THEN the Secret it mounts exists already", () => {
      const secret = named(
        byType(r, "kubernetes:core/v1:Secret"),
        "grafana-admin",
      );
      assert.ok(release(r, "kiali").dependsOn.includes(ref(secret)));
    });
  });

  describe("6. istio.platform", () => {
    it("WHEN istio.platform is k3s THEN every Istio chart gets global.platform k3s", async () => {
      const r = await renderProgram({
        ...DEV_CONFIG,
        istio: { platform: "k3s" },
        security: { cni: true },
      });
      for (const name of [...ISTIO_RELEASES, "istio-cni"]) {
        assert.strictEqual(
          release(r, name).inputs.values.global.platform,
          "k3s",
          name,
        );
      }
    });
    it("WHEN unset THEN no chart gets a platform profile", async () => {
      const r = await renderProgram(DEV_CONFIG);
      for (const name of ISTIO_RELEASES) {
        assert.strictEqual(
          release(r, name).inputs.values.global.platform,
          undefined,
        );
      }
    });
    it("WHEN istio.platform is unknown or openshift THEN config is refused with the known list", () => {
      for (const p of ["eks", "openshift"]) {
        const [msg] = problems({ ...DEV_CONFIG, istio: { platform: p } });
        assert.match(
          msg,
          new RegExp(
            `^istio.platform must be one of gke, k3d, k3s, microk8s, minikube \\(got "${p}"\\)`,
          ),
        );
      }
    });
  });

  describe("7. images from Istio's own registry", () => {
    it("WHEN defaults are used THEN istiod, proxies and cni pull from registry.istio.io/release", async () => {
      const r = await renderProgram({ ...DEV_CONFIG, security: { cni: true } });
      for (const name of ["istiod", "istio-cni"]) {
        assert.strictEqual(
          release(r, name).inputs.values.global.hub,
          "registry.istio.io/release",
        );
      }
    });
  });

  describe("8. laptop-sized sidecars", () => {
    it("WHEN defaults are used THEN every proxy requests 10m / 40Mi", async () => {
      const r = await renderProgram(DEV_CONFIG);
      assert.deepStrictEqual(
        release(r, "istiod").inputs.values.global.proxy.resources,
        {
          requests: { cpu: "10m", memory: "40Mi" },
          limits: { cpu: "1000m", memory: "256Mi" },
        },
      );
    });
    it("WHEN istio.proxyResources is set THEN the proxies get it", async () => {
      const resources = {
        requests: { cpu: "50m", memory: "64Mi" },
        limits: { cpu: "500m", memory: "128Mi" },
      };
      const r = await renderProgram({
        ...DEV_CONFIG,
        istio: { proxyResources: resources },
      });
      assert.deepStrictEqual(
        release(r, "istiod").inputs.values.global.proxy.resources,
        resources,
      );
    });
  });

  describe("9. nginx workers follow the CPU limit", () => {
    it("WHEN the frontend starts THEN the image's autotune can rewrite a writable /etc/nginx seeded from the image", async () => {
      const r = await renderProgram(DEV_CONFIG);
      const pod = podOf(r, "frontend-v1");
      const c = pod.containers[0];
      const env = Object.fromEntries(c.env.map((e: any) => [e.name, e.value]));
      assert.strictEqual(env.NGINX_ENTRYPOINT_WORKER_PROCESSES_AUTOTUNE, "1");
      const m = mounts(pod);
      assert.ok(volume(pod, m["/etc/nginx"]).emptyDir);
      assert.ok(m["/etc/nginx/conf.d"], "our server block stays mounted");
      const seed = pod.initContainers.find(
        (i: any) => i.name === "seed-writable",
      );
      assert.strictEqual(seed.image, c.image);
      assert.match(seed.command[2], /cp -a \/etc\/nginx\/\. /);
      assert.strictEqual(seed.securityContext.readOnlyRootFilesystem, true);
      assert.strictEqual(c.resources.limits.cpu, "200m");
    });
  });

  describe("10. Grafana without egress", () => {
    it("WHEN observability.grafana.dashboards is false THEN nothing is downloaded at pod start", async () => {
      const r = await renderProgram({
        ...DEV_CONFIG,
        observability: { grafana: { dashboards: false } },
      });
      const values = release(r, "grafana").inputs.values;
      assert.strictEqual(values.dashboards, undefined);
      assert.ok(values.datasources, "Prometheus stays its data source");
    });
    it("WHEN left on THEN Istio's five dashboards are fetched", async () => {
      const r = await renderProgram(DEV_CONFIG);
      assert.strictEqual(
        Object.keys(release(r, "grafana").inputs.values.dashboards.istio)
          .length,
        5,
      );
    });
  });

  describe("11. Jaeger is reachable only by who needs it", () => {
    let r: Rendering;
    let policy: RecordedResource;
    before(async () => {
      r = await renderProgram(BOOKINFO);
      policy = named(byType(r, NETWORK_POLICY), "jaeger");
    });
    it("WHEN proxies send spans THEN only the injected namespaces may reach OTLP", () => {
      const spec = policy.inputs.spec;
      assert.deepStrictEqual(spec.podSelector.matchLabels, { app: "jaeger" });
      assert.deepStrictEqual(spec.policyTypes, ["Ingress"]);
      const otlp = spec.ingress[0];
      assert.deepStrictEqual(
        otlp.ports.map((p: any) => p.port),
        [4317, 4318],
      );
      assert.deepStrictEqual(
        otlp.from[0].namespaceSelector.matchExpressions[0].values,
        ["bookinfo", "istio-ingress", "mesh-demo"],
      );
    });
    it("WHEN traces are read THEN only Kiali may reach the query ports", () => {
      const query = policy.inputs.spec.ingress[1];
      assert.deepStrictEqual(
        query.ports.map((p: any) => p.port),
        [16685, 16686],
      );
      assert.deepStrictEqual(query.from, [
        { podSelector: { matchLabels: { "app.kubernetes.io/name": "kiali" } } },
      ]);
      assert.strictEqual(policy.inputs.spec.ingress.length, 2);
    });
    it("WHEN its probes run THEN the health port 13133 is a declared container port", () => {
      const ports = podOf(r, "jaeger").containers[0].ports;
      assert.ok(ports.some((p: any) => p.containerPort === 13133));
    });
  });

  describe("12. the README says what runs in each CNI mode", () => {
    it("names istio-init's root and NET_ADMIN/NET_RAW, and istio-validation's uid 1337", () => {
      const readme = fs.readFileSync(
        path.join(__dirname, "..", "README.md"),
        "utf8",
      );
      for (const s of [
        "istio-init",
        "NET_ADMIN",
        "NET_RAW",
        "istio-validation",
        "1337",
      ]) {
        assert.ok(readme.includes(s), `README lacks ${s}`);
      }
    });
  });

  describe("13. least privilege for the charts", () => {
    let r: Rendering;
    before(async () => {
      r = await renderProgram({ ...DEV_CONFIG, security: { cni: true } });
    });
    it("WHEN the ingress is the gateway chart THEN istiod's Gateway API deployment controller (and its ClusterRole) is off", () => {
      assert.strictEqual(
        release(r, "istiod").inputs.values.env
          .PILOT_ENABLE_GATEWAY_API_DEPLOYMENT_CONTROLLER,
        "false",
      );
    });
    it("WHEN single-cluster THEN the multicluster istio-reader RBAC is off on base and istiod", () => {
      for (const name of ["istio-base", "istiod"]) {
        assert.strictEqual(
          release(r, name).inputs.values.global.enableReaderRBAC,
          false,
        );
      }
    });
    it("WHEN installed THEN istiod, the gateway and istio-cni get the charts' own NetworkPolicies", () => {
      for (const name of ["istiod", "istio-ingressgateway", "istio-cni"]) {
        assert.deepStrictEqual(
          release(r, name).inputs.values.global.networkPolicy,
          { enabled: true },
        );
      }
    });
  });
});

describe("extra chart values (istio.values.<chart>)", () => {
  it("WHEN a user adds values THEN they reach the chart, merged under ours", async () => {
    const r = await renderProgram({
      ...DEV_CONFIG,
      istio: {
        values: {
          istiod: {
            istiodRemote: { injectionURL: "https://127.0.0.1:1/inject" },
            global: { hub: "evil.example/istio", logAsJson: true },
          },
          base: { base: { validationURL: "https://127.0.0.1:1/validate" } },
        },
      },
    });
    const istiod = release(r, "istiod").inputs.values;
    assert.strictEqual(
      istiod.istiodRemote.injectionURL,
      "https://127.0.0.1:1/inject",
    );
    assert.strictEqual(istiod.global.logAsJson, true);
    // Ours win: the pinned registry stays.
    assert.strictEqual(istiod.global.hub, "registry.istio.io/release");
    assert.strictEqual(
      release(r, "istio-base").inputs.values.base.validationURL,
      "https://127.0.0.1:1/validate",
    );
  });
  it("WHEN a chart's values are not an object, or the chart is unknown THEN config is refused", () => {
    assert.deepStrictEqual(
      problems({ ...DEV_CONFIG, istio: { values: { istiod: "x" } } }),
      [
        `istio.values.istiod must be an object of Helm values for the istiod chart (got "x"); e.g. 'pulumi config set --path istio.values.istiod.<key> <value>'`,
      ],
    );
    assert.deepStrictEqual(
      problems({ ...DEV_CONFIG, istio: { values: { ztunel: {} } } }),
      [
        `istio.values.ztunel is not a known setting (got {}); known fields of istio.values: base, istiod, gateway, cni`,
      ],
    );
  });
});
