// Unit tests of the pod builder and of each image's needs (demo app, Bookinfo, Jaeger), and of
// Bookinfo's call graph: plain data, no runtime.
import * as assert from "assert";
import type * as k8s from "@pulumi/kubernetes";
import {
  backendWorkload,
  BOOKINFO_CALLS,
  bookinfoAllowRules,
  bookinfoWorkload,
  frontendNginxConfig,
  frontendWorkload,
} from "../../components/apps";
import { principal } from "../../components/core";
import { BOOKINFO_SERVICES } from "../../components/config";
import {
  allowSpec,
  deploymentSpec,
  hardenedPodSpec,
  JAEGER_HEALTH_PORT,
  jaegerWorkload,
  type WorkloadSpec,
} from "../../components/specs";
import { admits } from "../support/authz";

type PodSpec = k8s.types.output.core.v1.PodSpec;

/** The pod a workload runs as, read back as the API returns it. */
const podOf = (w: WorkloadSpec): PodSpec =>
  hardenedPodSpec("app", "app", w) as unknown as PodSpec;
const mounts = (pod: PodSpec) =>
  Object.fromEntries(
    pod.containers[0].volumeMounts.map((m) => [m.mountPath, m.name]),
  );
const volume = (pod: PodSpec, name: string) =>
  pod.volumes.find((v) => v.name === name);

describe("the hardened pod", () => {
  const pod = podOf({
    image: "example/app:1.0",
    port: 8080,
    probePath: "/health",
    writablePaths: [{ path: "/tmp" }, { path: "/data", sizeLimit: "1Gi" }],
  });

  it("WHEN any workload runs THEN it is non-root, read-only, without capabilities or an API token", () => {
    assert.strictEqual(pod.automountServiceAccountToken, false);
    assert.strictEqual(pod.serviceAccountName, "app");
    assert.deepStrictEqual(pod.securityContext, {
      runAsNonRoot: true,
      runAsUser: 65532,
      runAsGroup: 65532,
      seccompProfile: { type: "RuntimeDefault" },
    });
    assert.deepStrictEqual(pod.containers[0].securityContext, {
      runAsNonRoot: true,
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      capabilities: { drop: ["ALL"] },
      seccompProfile: { type: "RuntimeDefault" },
    });
    assert.ok(pod.containers[0].resources.requests.cpu);
    assert.strictEqual(
      pod.containers[0].readinessProbe.httpGet.path,
      "/health",
    );
    assert.strictEqual(pod.containers[0].livenessProbe.httpGet.path, "/health");
  });

  it("WHEN paths must stay writable THEN each is an emptyDir of its size (16Mi unless said)", () => {
    const m = mounts(pod);
    assert.deepStrictEqual(volume(pod, m["/tmp"])?.emptyDir, {
      sizeLimit: "16Mi",
    });
    assert.deepStrictEqual(volume(pod, m["/data"])?.emptyDir, {
      sizeLimit: "1Gi",
    });
    for (const mount of pod.containers[0].volumeMounts) {
      assert.ok(
        volume(pod, mount.name),
        `mount ${mount.mountPath} has no volume`,
      );
    }
  });

  it("WHEN a Deployment wraps it THEN it selects its pods by the selector, which they carry with any extra labels", () => {
    const spec = deploymentSpec({
      selector: { app: "a", version: "v1" },
      podLabels: { extra: "x" },
      replicas: 2,
      pod: { containers: [] },
    });
    assert.deepStrictEqual(spec.selector, {
      matchLabels: { app: "a", version: "v1" },
    });
    assert.deepStrictEqual(spec.template, {
      metadata: { labels: { app: "a", version: "v1", extra: "x" } },
      spec: { containers: [] },
    });
  });
});

describe("the demo app's workloads", () => {
  it("WHEN the frontend starts THEN nginx proxies every request to the backend over HTTP/1.1", () => {
    const conf = frontendNginxConfig("backend.mesh-demo.svc.cluster.local", 80);
    assert.match(
      conf,
      /proxy_pass http:\/\/backend\.mesh-demo\.svc\.cluster\.local:80;/,
    );
    assert.match(conf, /proxy_http_version 1\.1;/);
  });

  it("WHEN a backend version runs THEN it answers with its version's name", () => {
    assert.ok(
      backendWorkload("echo:1", "v2").args?.includes("-text=backend v2"),
    );
  });

  it("WHEN the frontend starts THEN the image's autotune can rewrite a writable /etc/nginx seeded from the image", () => {
    const pod = podOf(frontendWorkload("nginx:1"));
    const c = pod.containers[0];
    const env = Object.fromEntries(c.env.map((e) => [e.name, e.value]));
    assert.strictEqual(env.NGINX_ENTRYPOINT_WORKER_PROCESSES_AUTOTUNE, "1");
    const m = mounts(pod);
    assert.ok(volume(pod, m["/etc/nginx"])?.emptyDir);
    assert.ok(m["/etc/nginx/conf.d"], "our server block stays mounted");
    const seed = pod.initContainers.find((i) => i.name === "seed-writable");
    assert.ok(seed);
    assert.strictEqual(seed.image, c.image);
    assert.match(seed.command[2], /cp -a \/etc\/nginx\/\. /);
    assert.strictEqual(seed.securityContext.readOnlyRootFilesystem, true);
    assert.strictEqual(c.resources.limits.cpu, "200m");
    assert.strictEqual(pod.securityContext.runAsUser, 101);
  });
});

describe("Bookinfo's workloads", () => {
  const hub = "docker.io/istio";
  for (const v of ["v1", "v2", "v3"]) {
    it(`WHEN reviews-${v} runs THEN it is uid 1001 in group 0, as the Liberty image's group-writable dirs need`, () => {
      const pod = podOf(bookinfoWorkload("reviews", v, hub, "1.20.3"));
      assert.strictEqual(pod.securityContext.runAsUser, 1001);
      assert.strictEqual(pod.securityContext.runAsGroup, 0);
      assert.strictEqual(pod.securityContext.runAsNonRoot, true);
    });
  }

  it("WHEN Liberty starts THEN every path it writes is an emptyDir, and nothing mounts the old /opt/ibm layout", () => {
    const pod = podOf(bookinfoWorkload("reviews", "v2", hub, "1.20.3"));
    const m = mounts(pod);
    for (const p of [
      "/opt/ol/wlp/output",
      "/opt/ol/wlp/usr/servers/defaultServer/configDropins/defaults",
      "/logs",
      "/tmp",
    ]) {
      assert.ok(volume(pod, m[p])?.emptyDir, `${p} is not an emptyDir`);
    }
    assert.ok(!Object.keys(m).some((p) => p.startsWith("/opt/ibm")));
    // The workarea and logs must not hit the eviction limit of a 16Mi emptyDir.
    assert.strictEqual(
      volume(pod, m["/opt/ol/wlp/output"])?.emptyDir.sizeLimit,
      "256Mi",
    );
  });

  it("WHEN productpage runs THEN gunicorn starts 2 gevent workers, not the image's 8, under 256Mi", () => {
    const w = bookinfoWorkload("productpage", "v1", hub, "1.20.3");
    const args = w.args ?? [];
    assert.strictEqual(args[0], "gunicorn");
    assert.strictEqual(args[args.indexOf("-w") + 1], "2");
    assert.strictEqual(args[args.indexOf("-k") + 1], "gevent");
    assert.ok(args.includes("productpage:app"));
    assert.strictEqual(w.resources?.limits.memory, "256Mi");
    assert.ok(mounts(podOf(w))["/tmp"]);
  });

  it("WHEN any service runs THEN it is the sample's pinned image on 9080, as USER 1000 unless it is reviews", () => {
    for (const svc of BOOKINFO_SERVICES) {
      const w = bookinfoWorkload(svc, "v1", hub, "1.20.3");
      assert.strictEqual(
        w.image,
        `docker.io/istio/examples-bookinfo-${svc}-v1:1.20.3`,
      );
      assert.strictEqual(w.port, 9080);
      assert.strictEqual(w.runAsUser, svc === "reviews" ? 1001 : 1000);
    }
  });
});

describe("Jaeger's workload", () => {
  it("WHEN its probes run THEN the health port 13133 is a declared container port", () => {
    const pod = podOf(jaegerWorkload("jaegertracing/jaeger:2.9.0"));
    assert.ok(
      pod.containers[0].ports.some(
        (p) => p.containerPort === JAEGER_HEALTH_PORT,
      ),
    );
    assert.strictEqual(pod.securityContext.runAsUser, 10001);
  });
});

describe("Bookinfo's call graph, as ALLOW policies", () => {
  const gateway = principal("istio-ingress", "istio-ingressgateway");
  const policy = (svc: (typeof BOOKINFO_SERVICES)[number]) =>
    allowSpec(
      { selector: { app: svc } },
      bookinfoAllowRules(svc, "bookinfo", gateway),
    );
  const principalOf = (caller: string) =>
    caller === "ingress" ? gateway : principal("bookinfo", caller);
  // A concrete request for each pattern, as the sample sends it (product id 0).
  const concrete = (p: string) => p.replace(/\*$/, "0");

  for (const call of BOOKINFO_CALLS) {
    for (const method of call.methods) {
      const path = concrete(call.paths?.[0] ?? "/productpage");
      it(`WHEN ${call.from} calls ${method} ${call.to}${path} THEN the policy admits it`, () => {
        assert.ok(
          admits(policy(call.to), {
            principal: principalOf(call.from),
            method,
            path,
          }),
        );
      });
    }
  }

  const callers = ["ingress", ...BOOKINFO_SERVICES];
  for (const to of BOOKINFO_SERVICES) {
    for (const from of callers.filter(
      (f) => !BOOKINFO_CALLS.some((c) => c.from === f && c.to === to),
    )) {
      it(`WHEN ${from} calls ${to}, which the sample never does, THEN it is denied`, () => {
        for (const path of ["/", `/${to}/0`, "/productpage", "/health"]) {
          assert.ok(
            !admits(policy(to), {
              principal: principalOf(from),
              method: "GET",
              path,
            }),
            `${from} -> ${to} GET ${path} admitted`,
          );
        }
      });
    }
  }

  it("WHEN productpage serves /api/v1/products/<id>/ratings THEN it reaches ratings directly", () => {
    assert.ok(
      admits(policy("ratings"), {
        principal: principalOf("productpage"),
        method: "GET",
        path: "/ratings/0",
      }),
    );
  });

  it("WHEN a known caller uses another method or path THEN it is refused", () => {
    assert.ok(
      !admits(policy("ratings"), {
        principal: principalOf("reviews"),
        method: "POST",
        path: "/ratings/0",
      }),
    );
    assert.ok(
      !admits(policy("details"), {
        principal: principalOf("productpage"),
        method: "GET",
        path: "/admin",
      }),
    );
  });
});
