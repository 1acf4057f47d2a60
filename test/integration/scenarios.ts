// The test bed's scenarios: the real Pulumi engine, the real Kubernetes provider and Istio's real
// charts against a real kube-apiserver. Run by test/integration/run.sh, which builds the tools,
// starts the API server and sets KUBECONFIG, PATH and the Pulumi environment.
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { EngineEvent, LocalWorkspace, Stack } from "@pulumi/pulumi/automation";
import { KubeClient, KubeObject, objectPath } from "./kubeClient";

const ROOT = path.resolve(__dirname, "..", "..");
const env = (name: string): string => {
  const v = process.env[name];
  if (!v) {
    throw new Error(
      `${name} is not set; run this through 'npm run test:integration'`,
    );
  }
  return v;
};
const WORK = env("IT_WORK_DIR");
const KUBECONFIG = env("KUBECONFIG");
const CHARTS = env("ISTIO_CHARTS");
const ISTIO_VERSION = env("ISTIO_VERSION");
const ISTIOCTL = env("ISTIOCTL");

const kube = new KubeClient(KUBECONFIG);
/** The engine's own output goes to a log file the runner shows on failure. */
const pulumiLog = (text: string) =>
  fs.appendFileSync(path.join(WORK, "pulumi.log"), text);
const timings: Array<[string, number]> = [];
const results: Array<[string, boolean, string]> = [];

function log(msg: string): void {
  process.stdout.write(`[it] ${msg}\n`);
}

async function step(name: string, fn: () => Promise<void>): Promise<boolean> {
  log(`--- ${name}`);
  try {
    await fn();
    results.push([name, true, ""]);
    log(`PASS ${name}`);
    return true;
  } catch (e) {
    const msg = e instanceof Error ? e.message : String(e);
    results.push([name, false, msg]);
    log(`FAIL ${name}: ${msg}`);
    return false;
  }
}

async function timed<T>(label: string, fn: () => Promise<T>): Promise<T> {
  const start = Date.now();
  try {
    return await fn();
  } finally {
    const secs = (Date.now() - start) / 1000;
    timings.push([label, secs]);
    log(`${label}: ${secs.toFixed(1)} s`);
  }
}

function check(cond: unknown, msg: string): asserts cond {
  if (!cond) {
    throw new Error(msg);
  }
}

/** A copy of the project in the work dir, so the stack's config file never lands in the repo. */
function copyProject(): string {
  const dir = path.join(WORK, "project");
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(dir, { recursive: true });
  for (const f of [
    "index.ts",
    "components",
    "package.json",
    "tsconfig.json",
    "Pulumi.yaml",
    "Pulumi.dev.yaml",
  ]) {
    fs.cpSync(path.join(ROOT, f), path.join(dir, f), { recursive: true });
  }
  fs.symlinkSync(
    path.join(ROOT, "node_modules"),
    path.join(dir, "node_modules"),
  );
  return dir;
}

interface StackObject {
  urn: string;
  path: string;
}

/** Every Kubernetes object the stack manages directly (Helm releases are checked separately). */
async function stackObjects(stack: Stack): Promise<StackObject[]> {
  const state = await stack.exportStack();
  const resources = (state.deployment.resources ?? []) as Array<{
    urn: string;
    type: string;
    custom?: boolean;
    outputs?: any;
  }>;
  return resources
    .filter(
      (r) =>
        r.custom &&
        r.type.startsWith("kubernetes:") &&
        !r.type.startsWith("kubernetes:helm.sh"),
    )
    .map((r) => ({
      urn: r.urn,
      path: objectPath(
        r.outputs.apiVersion,
        r.outputs.kind,
        r.outputs.metadata.name,
        r.outputs.metadata.namespace,
      ),
    }));
}

/** The releases of the dev stack (the test bed turns the chart-based addons off). */
const HELM_RELEASES: Array<[string, string]> = [
  ["istio-system", "istio-base"],
  ["istio-system", "istiod"],
  ["istio-ingress", "istio-ingressgateway"],
];

const ISTIO_CRDS = [
  "virtualservices.networking.istio.io",
  "destinationrules.networking.istio.io",
  "gateways.networking.istio.io",
  "peerauthentications.security.istio.io",
  "authorizationpolicies.security.istio.io",
  "telemetries.telemetry.istio.io",
];

/** resourceVersion of every stack object and Helm release secret: equal snapshots mean no change. */
async function snapshot(
  objects: StackObject[],
): Promise<Record<string, string>> {
  const snap: Record<string, string> = {};
  for (const o of objects) {
    snap[o.path] =
      (await kube.get(o.path))?.metadata.resourceVersion ?? "missing";
  }
  for (const [ns, rel] of HELM_RELEASES) {
    const secrets = await kube.list(
      `/api/v1/namespaces/${ns}/secrets?labelSelector=owner%3Dhelm,name%3D${rel}`,
    );
    snap[`helm:${ns}/${rel}`] = secrets
      .map((s) => `${s.metadata.name}@${s.metadata.resourceVersion}`)
      .sort()
      .join(",");
  }
  return snap;
}

function changesOf(events: EngineEvent[]): Array<[string, string]> {
  return events
    .filter(
      (e) => e.resourcePreEvent && e.resourcePreEvent.metadata.op !== "same",
    )
    .map(
      (e) =>
        [e.resourcePreEvent!.metadata.op, e.resourcePreEvent!.metadata.urn] as [
          string,
          string,
        ],
    );
}

/** Sets config (by path), runs `up`, and checks that it updated exactly one VirtualService. */
async function upChangingOnly(
  stack: Stack,
  label: string,
  config: Record<string, string>,
  virtualService: string,
): Promise<void> {
  for (const [key, value] of Object.entries(config)) {
    await stack.setConfig(key, { value }, true);
  }
  const events: EngineEvent[] = [];
  await timed(label, () =>
    stack.up({ onOutput: pulumiLog, onEvent: (e) => events.push(e) }),
  );
  const changes = changesOf(events);
  check(
    changes.length === 1 &&
      changes[0][0] === "update" &&
      changes[0][1].endsWith(`VirtualService::${virtualService}`),
    `expected one update of ${virtualService}, got ${JSON.stringify(changes)}`,
  );
}

async function backendWeights(): Promise<Record<string, number>> {
  const vs = await kube.get(
    objectPath(
      "networking.istio.io/v1",
      "VirtualService",
      "backend",
      "mesh-demo",
    ),
  );
  check(vs, "the backend VirtualService is not in the API server");
  return Object.fromEntries(
    vs.spec.http[0].route.map((r: any) => [r.destination.subset, r.weight]),
  );
}

/** istioctl analyze over the live API server; fails on any error it reports. */
async function analyze(): Promise<void> {
  let out: string;
  try {
    // With no kubelet there are no pods: the two findings that only say so are suppressed
    // (the Gateway's selector and each subset are checked against the chart's and the
    // Deployments' labels by the unit tests). Every other error counts.
    const noPods = ["IST0101=Gateway *", "IST0173=DestinationRule *"].flatMap(
      (x) => ["--suppress", x],
    );
    out = execFileSync(
      ISTIOCTL,
      ["analyze", "--kubeconfig", KUBECONFIG, "--all-namespaces", ...noPods],
      {
        encoding: "utf8",
        stdio: ["ignore", "pipe", "pipe"],
      },
    );
  } catch (e) {
    const x = e as { status: number; stdout: string; stderr: string };
    throw new Error(
      `istioctl analyze exited ${x.status}:\n${x.stdout}${x.stderr}`,
    );
  }
  log(`istioctl analyze:\n${out.trim()}`);
  check(!/^Error /m.test(out), "analyze reported errors");
  check(!/IST0140/.test(out), "a subset has no effect at the gateway");
}

async function main(): Promise<void> {
  const workDir = copyProject();
  const stack = await LocalWorkspace.createOrSelectStack({
    stackName: "dev",
    workDir,
  });
  await stack.setConfig("skipAwait", { value: "true" });
  await stack.setConfig("istio.chartDir", { value: CHARTS }, true);
  await stack.setConfig("istio.version", { value: ISTIO_VERSION }, true);
  // Their charts come from repositories this machine cannot reach (and Grafana's password
  // needs the random provider, which cannot be built here); Jaeger is our own Deployment.
  for (const addon of ["prometheus", "grafana", "kiali"]) {
    await stack.setConfig(
      `observability.${addon}.enabled`,
      { value: "false" },
      true,
    );
  }
  const output = pulumiLog;
  let objects: StackObject[] = [];

  const upOk = await step(
    "1. up of the dev stack from nothing creates every object",
    async () => {
      const res = await timed("cold up", () => stack.up({ onOutput: output }));
      check(
        res.summary.result === "succeeded",
        `up ended ${res.summary.result}`,
      );
      objects = await stackObjects(stack);
      check(objects.length > 10, `only ${objects.length} objects in the stack`);
      for (const o of objects) {
        check(
          await kube.get(o.path),
          `${o.urn} is not in the API server (${o.path})`,
        );
      }
      const crds = (
        await kube.list(
          "/apis/apiextensions.k8s.io/v1/customresourcedefinitions",
        )
      ).map((c) => c.metadata.name);
      for (const crd of ISTIO_CRDS) {
        check(crds.includes(crd), `CRD ${crd} is not registered`);
      }
      for (const [ns, rel] of HELM_RELEASES) {
        const secrets = await kube.list(
          `/api/v1/namespaces/${ns}/secrets?labelSelector=owner%3Dhelm,name%3D${rel}`,
        );
        check(secrets.length > 0, `Helm release ${ns}/${rel} is not recorded`);
      }
      check(
        await kube.get(
          "/apis/apps/v1/namespaces/istio-system/deployments/istiod",
        ),
        "istiod's Deployment is missing",
      );
      check(
        await kube.get(
          "/apis/apps/v1/namespaces/istio-ingress/deployments/istio-ingressgateway",
        ),
        "the gateway Deployment is missing",
      );
      const istioObjects = objects.filter((o) => o.path.includes(".istio.io/"));
      check(
        istioObjects.length >= 5,
        `only ${istioObjects.length} Istio objects`,
      );
      log(
        `${objects.length} stack objects found in the API server, ${istioObjects.length} of them Istio resources`,
      );
    },
  );

  if (upOk) {
    await step("2. an immediate preview reports no changes", async () => {
      const events: EngineEvent[] = [];
      const res = await timed("no-op preview", () =>
        stack.preview({ onEvent: (e) => events.push(e) }),
      );
      const changes = changesOf(events);
      check(
        changes.length === 0,
        `preview wants changes: ${JSON.stringify(changes)}`,
      );
      check(
        Object.keys(res.changeSummary).every((k) => k === "same"),
        `change summary ${JSON.stringify(res.changeSummary)}`,
      );
    });

    await step(
      "3. changing only the weights updates exactly the backend VirtualService",
      async () => {
        await upChangingOnly(
          stack,
          "weight-change up",
          { "canary.weights.v1": "50", "canary.weights.v2": "50" },
          "backend-vs",
        );
        const weights = await backendWeights();
        check(
          weights.v1 === 50 && weights.v2 === 50,
          `API server holds weights ${JSON.stringify(weights)}`,
        );
      },
    );

    await step(
      "4. invalid weights fail with the config error and change nothing",
      async () => {
        const before = await snapshot(objects);
        await stack.setConfig("canary.weights.v1", { value: "70" }, true);
        const err = await stack.up({ onOutput: output }).then(
          () => undefined,
          (e: Error) => e,
        );
        await stack.setConfig("canary.weights.v1", { value: "50" }, true);
        check(err, "up accepted weights summing to 120");
        check(
          err.message.includes(
            "canary.weights must sum to 100 (got 120: v1=70, v2=50)",
          ),
          `the error does not name the problem: ${err.message.slice(-500)}`,
        );
        const after = await snapshot(objects);
        check(
          JSON.stringify(before) === JSON.stringify(after),
          "the API server changed after a failed up",
        );
      },
    );

    await step(
      "5. istioctl analyze of the live API server reports no errors",
      analyze,
    );

    await step(
      "6. every optional feature is accepted by the CRD schemas and istioctl analyze",
      async () => {
        // JWT and rate limit at the edge, header canary, mirroring, traffic policy, a fault,
        // and Bookinfo with all its exercises: every spec the program can emit.
        const features: Array<[string, string]> = [
          ["security.jwt.issuer", "https://auth.example.com"],
          [
            "security.jwt.jwksUri",
            "https://auth.example.com/.well-known/jwks.json",
          ],
          ["security.jwt.publicPaths[0]", "/healthz"],
          ["security.rateLimit.requests", "100"],
          ["security.rateLimit.interval", "500ms"],
          ["security.cni", "true"],
          ["canary.header.name", "x-canary"],
          ["canary.header.value", "always"],
          ["canary.header.version", "v2"],
          ["canary.mirror.version", "v2"],
          ["canary.mirror.percent", "10"],
          ["resilience.loadBalancer", "header:x-user"],
          ["resilience.faults.backend.abort.percent", "5"],
          ["resilience.faults.backend.abort.httpStatus", "503"],
          ["bookinfo.enabled", "true"],
          ["bookinfo.reviews.userRoute.user", "jason"],
          ["bookinfo.reviews.userRoute.version", "v2"],
          ["bookinfo.reviews.timeout", "0.5s"],
          ["bookinfo.ratings.fault.user", "jason"],
          ["bookinfo.ratings.fault.delay.percent", "100"],
          ["bookinfo.ratings.fault.delay.fixedDelay", "7s"],
        ];
        for (const [key, value] of features) {
          await stack.setConfig(key, { value }, true);
        }
        const res = await timed("features up", () =>
          stack.up({ onOutput: output }),
        );
        check(
          res.summary.result === "succeeded",
          `up ended ${res.summary.result}`,
        );
        objects = await stackObjects(stack);
        for (const o of objects) {
          check(
            await kube.get(o.path),
            `${o.urn} is not in the API server (${o.path})`,
          );
        }
        const kinds = new Set(
          objects
            .filter((o) => o.path.includes(".istio.io/"))
            .map((o) => o.path.split("/").slice(-2, -1)[0]),
        );
        for (const kind of [
          "requestauthentications",
          "envoyfilters",
          "authorizationpolicies",
          "telemetries",
          "peerauthentications",
        ]) {
          check(kinds.has(kind), `no ${kind} in the stack`);
        }
        check(
          await kube.get(
            "/apis/apps/v1/namespaces/istio-system/daemonsets/istio-cni-node",
          ),
          "istio-cni's DaemonSet is missing",
        );
        const demoNs = await kube.get("/api/v1/namespaces/mesh-demo");
        check(
          demoNs?.metadata.labels?.["pod-security.kubernetes.io/enforce"] ===
            "restricted",
          "mesh-demo does not enforce the restricted standard",
        );
        const bookinfo = objects.filter((o) =>
          o.path.includes("/namespaces/bookinfo/"),
        );
        log(
          `${objects.length} stack objects in the API server, ${bookinfo.length} of them Bookinfo's`,
        );
        const reviews = await kube.get(
          objectPath(
            "networking.istio.io/v1",
            "VirtualService",
            "reviews",
            "bookinfo",
          ),
        );
        check(
          reviews?.spec.http[0].match[0].headers["end-user"].exact === "jason",
          "the user route did not reach the API server",
        );
        await analyze();
      },
    );

    await step(
      "7. shifting Bookinfo's reviews weights updates exactly the reviews VirtualService",
      async () => {
        await upChangingOnly(
          stack,
          "reviews-shift up",
          {
            "bookinfo.reviews.weights.v1": "50",
            "bookinfo.reviews.weights.v3": "50",
          },
          "reviews-vs",
        );
        const vs = await kube.get(
          objectPath(
            "networking.istio.io/v1",
            "VirtualService",
            "reviews",
            "bookinfo",
          ),
        );
        const weighted = vs?.spec.http.find(
          (h: { name: string }) => h.name === "weighted",
        );
        const weights = Object.fromEntries(
          weighted.route.map((r: any) => [r.destination.subset, r.weight]),
        );
        check(
          weights.v1 === 50 && weights.v2 === 0 && weights.v3 === 50,
          `API server holds reviews weights ${JSON.stringify(weights)}`,
        );
      },
    );
  }

  await step(
    "8. destroy leaves none of the stack's objects behind",
    async () => {
      await timed("destroy", () => stack.destroy({ onOutput: output }));
      const leftovers: string[] = [];
      for (const o of objects) {
        if (await kube.get(o.path)) {
          leftovers.push(o.path);
        }
      }
      for (const ns of [
        "mesh-demo",
        "bookinfo",
        "istio-ingress",
        "istio-system",
      ]) {
        if (await kube.get(`/api/v1/namespaces/${ns}`)) {
          leftovers.push(`namespace ${ns}`);
        }
      }
      // Istio's base chart marks its CRDs helm.sh/resource-policy=keep, so that uninstalling
      // Istio never deletes everyone's Istio config with them; Helm (and so Pulumi) leaves
      // them. Anything else left, or any custom resource still stored in them, is a leak.
      const crds = (
        await kube.list(
          "/apis/apiextensions.k8s.io/v1/customresourcedefinitions",
        )
      ).filter((c) => c.metadata.name.endsWith(".istio.io"));
      for (const crd of crds) {
        if (crd.metadata.annotations?.["helm.sh/resource-policy"] !== "keep") {
          leftovers.push(`CRD ${crd.metadata.name}`);
        }
        const version = crd.spec.versions.find(
          (v: { storage: boolean }) => v.storage,
        ).name;
        const stored = await kube.list(
          `/apis/${crd.spec.group}/${version}/${crd.spec.names.plural}`,
        );
        leftovers.push(
          ...stored.map(
            (o) => `${o.kind} ${o.metadata.namespace}/${o.metadata.name}`,
          ),
        );
      }
      log(
        `${crds.length} Istio CRDs kept by their helm.sh/resource-policy=keep annotation, none holding objects`,
      );
      const hooks = [
        ...(await kube.list(
          "/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations",
        )),
        ...(await kube.list(
          "/apis/admissionregistration.k8s.io/v1/validatingwebhookconfigurations",
        )),
      ].map((w: KubeObject) => w.metadata.name);
      leftovers.push(...hooks.filter((h) => h.includes("istio")));
      check(leftovers.length === 0, `left behind: ${leftovers.join(", ")}`);
      await stack.workspace.removeStack("dev");
    },
  );

  log(
    "timings: " + timings.map(([l, s]) => `${l} ${s.toFixed(1)} s`).join(", "),
  );
  const passed = results.filter((r) => r[1]).length;
  const failed = results.length - passed;
  for (const [name, ok, msg] of results) {
    log(
      `${ok ? "ok  " : "FAIL"} ${name}${ok ? "" : `: ${msg.split("\n")[0]}`}`,
    );
  }
  process.stdout.write(`integration: ${passed} passed, ${failed} failed\n`);
  process.exitCode = failed === 0 && results.length === 8 ? 0 : 1;
}

main().catch((e) => {
  process.stdout.write(`[it] aborted: ${e instanceof Error ? e.stack : e}\n`);
  process.stdout.write(`integration: 0 passed, 1 failed\n`);
  process.exitCode = 1;
});
