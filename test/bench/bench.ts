// `npm run bench`: how fast the everyday operations are, and what the stack asks of a cluster,
// measured on the test bed (test/bench/run.sh starts it) with the Pulumi CLI run exactly as the
// README tells users to run it (`pulumi up`, `pulumi preview`, here with --yes). It reports and
// never fails on slowness; it fails only when an operation does something other than expected
// (a shift that updates more than one resource, a preview that sees changes).
//
// Knobs: BENCH_RUNS (default 5) repetitions of each quick operation, BENCH_COLD_RUNS (3) cold
// `up`s, BENCH_SIZES ("10,50,200") the numbers of services of the big stacks ("" skips them),
// BENCH_BIG_RUNS (3) previews and shifts per big stack. The big stacks themselves (and what
// istiod sends one of their proxies, with and without routing.scopeProxies) are in scale.ts.
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import {
  copyProject,
  env,
  kube,
  ROOT,
  testbedConfig,
  WORK,
} from "../integration/harness";
import {
  changed,
  expectOneUpdate,
  istiodProcess,
  pad,
  pulumi,
  run,
  say,
  secs,
  setConfig,
  weights,
} from "./cli";
import {
  footprint,
  median,
  type ModeFootprint,
  modeFootprint,
  type PodLike,
  type Requests,
} from "./footprint";
import { bigStacks } from "./scale";

const RUNS = Number(process.env.BENCH_RUNS ?? 5);
const COLD_RUNS = Number(process.env.BENCH_COLD_RUNS ?? 3);
const SIZES = (process.env.BENCH_SIZES ?? "10,50,200")
  .split(",")
  .filter((s) => s.trim() !== "")
  .map(Number);
const SHIFT_RUNS = Number(process.env.BENCH_BIG_RUNS ?? 3); // per big stack
const NAMESPACES = ["istio-system", "istio-ingress", "mesh-demo", "bookinfo"];

/** The engine floor: a one-ConfigMap TypeScript program through the same CLI and plugin. */
function floorProject(): string {
  const dir = path.join(WORK, "floor");
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(
    path.join(dir, "Pulumi.yaml"),
    "name: bench-floor\nruntime:\n  name: nodejs\n  options:\n    typescript: true\n",
  );
  fs.writeFileSync(
    path.join(dir, "index.ts"),
    [
      'import * as k8s from "@pulumi/kubernetes";',
      'import * as pulumi from "@pulumi/pulumi";',
      'new k8s.core.v1.ConfigMap("floor", {',
      '  metadata: { name: "bench-floor", namespace: "default" },',
      '  data: { value: new pulumi.Config().get("value") ?? "0" },',
      "});",
      "",
    ].join("\n"),
  );
  fs.writeFileSync(
    path.join(dir, "package.json"),
    JSON.stringify({ name: "bench-floor", main: "index.ts" }),
  );
  fs.writeFileSync(
    path.join(dir, "tsconfig.json"),
    JSON.stringify({
      compilerOptions: {
        strict: true,
        target: "es2020",
        module: "commonjs",
        moduleResolution: "node",
        skipLibCheck: true,
      },
      files: ["index.ts"],
    }),
  );
  fs.symlinkSync(
    path.join(ROOT, "node_modules"),
    path.join(dir, "node_modules"),
  );
  return dir;
}

/** Requests of every pod in the stack's namespaces, per workload. */
async function readFootprint(): Promise<ReturnType<typeof footprint>> {
  const pods: PodLike[] = [];
  for (const ns of NAMESPACES) {
    pods.push(
      ...((await kube.list(`/api/v1/namespaces/${ns}/pods`)) as PodLike[]),
    );
  }
  return footprint(pods);
}

const APP_NAMESPACES = ["mesh-demo", "bookinfo"];

/** Waits until the app namespaces hold only sidecar-less pods and a waypoint each, all Ready. */
async function ambientSettled(timeoutMs = 180_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    let ok = true;
    for (const ns of APP_NAMESPACES) {
      const pods = await kube.list(`/api/v1/namespaces/${ns}/pods`);
      const names = (p: any) =>
        [...(p.spec.initContainers ?? []), ...p.spec.containers].map(
          (c: any) => c.name,
        );
      const ready = (p: any) =>
        (p.status?.conditions ?? []).some(
          (c: any) => c.type === "Ready" && c.status === "True",
        );
      const waypoints = pods.filter(
        (p: any) =>
          p.metadata.labels?.["gateway.networking.k8s.io/gateway-name"] ===
          "waypoint",
      );
      ok &&=
        waypoints.length === 1 &&
        pods.every(
          (p: any) =>
            ready(p) &&
            (waypoints.includes(p) || !names(p).includes("istio-proxy")),
        );
    }
    if (ok) {
      return;
    }
    if (Date.now() > deadline) {
      throw new Error("the app pods did not roll to ambient in time");
    }
    await new Promise((r) => setTimeout(r, 500));
  }
}

/** istiod's average CPU (millicores) and memory while the deployed stack sits idle. */
async function istiodAtRest(seconds: number): Promise<string> {
  const before = istiodProcess();
  await new Promise((r) => setTimeout(r, seconds * 1000));
  const after = istiodProcess();
  if (!before || !after) {
    return "not running";
  }
  const milli = ((after.cpuSecs - before.cpuSecs) / seconds) * 1000;
  return `${Math.round(milli)}m CPU over ${seconds} s idle, ${Math.round(after.rssMi)}Mi resident`;
}

const fmt = (r: Requests) => `${Math.round(r.cpu)}m / ${Math.round(r.memMi)}Mi`;

async function main(): Promise<void> {
  const pulumiVersion = run(ROOT, "pulumi", ["version"]).out.trim();
  say(
    `${new Date().toISOString().slice(0, 10)}, ${os.cpus().length} cores, ` +
      `${Math.round(os.totalmem() / 1024 ** 3)} GiB, pulumi ${pulumiVersion}, ` +
      `runs ${RUNS} (cold ${COLD_RUNS}), sizes ${SIZES.join(",") || "none"}`,
  );

  // --- the default stack, as the test bed deploys it ---------------------------------------
  const project = copyProject();
  pulumi(project, ["stack", "select", "--create", "bench"]);
  setConfig(project, [...testbedConfig(), ...weights(1)]);
  const floor = floorProject();
  pulumi(floor, ["stack", "select", "--create", "floor"]);
  const transpileOnly = { PULUMI_NODEJS_TRANSPILE_ONLY: "true" };
  pulumi(floor, ["up", "--yes"], transpileOnly);

  const cold: number[] = [];
  for (let i = 0; i < COLD_RUNS; i++) {
    if (i > 0) {
      pulumi(project, ["destroy", "--yes"]);
    }
    const up = pulumi(project, ["up", "--yes"]);
    cold.push(up.secs);
    say(
      `cold up ${i + 1}/${COLD_RUNS}: ${secs(up.secs)} (${JSON.stringify(changed(up.out))})`,
    );
  }

  // kubectl apply of the edited VirtualService (the seeds' way), on a copy named backend-kubectl:
  // an edit of the stack's own object would take its weights away from the stack (the next `up`
  // then stops at a server-side apply conflict, which is what the drift section of docs/operations.md covers).
  const vs = JSON.parse(
    run(project, "kubectl", [
      "-n",
      "mesh-demo",
      "get",
      "virtualservice",
      "backend",
      "-o",
      "json",
    ]).out,
  );
  const vsFile = path.join(WORK, "backend-kubectl.json");
  const writeVs = (w1: number) => {
    const route = vs.spec.http[vs.spec.http.length - 1].route;
    route[0].weight = w1;
    route[1].weight = 100 - w1;
    fs.writeFileSync(
      vsFile,
      JSON.stringify({
        apiVersion: vs.apiVersion,
        kind: vs.kind,
        metadata: { name: "backend-kubectl", namespace: "mesh-demo" },
        spec: vs.spec,
      }),
    );
  };
  writeVs(80);
  run(project, "kubectl", ["apply", "-f", vsFile]);
  const kubectlApply: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    writeVs(i % 2 === 0 ? 70 : 80);
    kubectlApply.push(run(project, "kubectl", ["apply", "-f", vsFile]).secs);
  }
  run(project, "kubectl", ["delete", "-f", vsFile]);

  // The floor and ours interleaved, so both see the same machine.
  const floorUp: number[] = [];
  const floorPreview: number[] = [];
  const shift: number[] = [];
  const preview: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    pulumi(floor, ["config", "set", "value", String(i)]);
    floorUp.push(pulumi(floor, ["up", "--yes"], transpileOnly).secs);
    setConfig(project, weights(i));
    const up = pulumi(project, ["up", "--yes"]);
    expectOneUpdate(up.out, "weight shift");
    shift.push(up.secs);
    floorPreview.push(
      pulumi(floor, ["preview", "--expect-no-changes"], transpileOnly).secs,
    );
    preview.push(pulumi(project, ["preview", "--expect-no-changes"]).secs);
  }
  // Leave the stack at 80/20 (the last shift may have been 70/30).
  setConfig(project, weights(1));
  pulumi(project, ["up", "--yes"]);

  const fp = await readFootprint();
  const istiodIdle = await istiodAtRest(20);
  setConfig(project, [["bookinfo.enabled", "true"]]);
  pulumi(project, ["up", "--yes"]);
  const fpBookinfo = await readFootprint();

  // The same demo and Bookinfo in ambient, switched live as a user would: every app Deployment
  // rolls without its sidecar, ztunnel and istio-cni join, each app namespace gets a waypoint.
  setConfig(project, [
    ["istio.dataplane", "ambient"],
    ["routing.gatewayApiCrdsFile", env("GATEWAY_API_CRDS")],
  ]);
  const toAmbient = pulumi(project, ["up", "--yes"]);
  const settled = Date.now();
  await ambientSettled();
  const settleSecs = (Date.now() - settled) / 1000;
  const fpAmbient = await readFootprint();

  const rows: Array<[string, number, string]> = [
    ["engine floor: pulumi up (1 ConfigMap)", median(floorUp), ""],
    ["engine floor: pulumi preview", median(floorPreview), ""],
    ["kubectl apply of the VirtualService", median(kubectlApply), ""],
    [
      "weight shift: pulumi up",
      median(shift),
      `${(median(shift) / median(floorUp)).toFixed(2)}x floor up, ` +
        `${(median(shift) / median(kubectlApply)).toFixed(0)}x kubectl`,
    ],
    [
      "no-op pulumi preview",
      median(preview),
      `${(median(preview) / median(floorPreview)).toFixed(2)}x floor preview`,
    ],
    ["cold pulumi up", median(cold), `${COLD_RUNS} runs`],
  ];
  say("");
  say(
    `speed (medians of ${RUNS}; each pulumi up includes its preview, as users run it)`,
  );
  for (const [what, s, note] of rows) {
    say(`  ${pad(what, 40)} ${pad(secs(s), 9)} ${note}`);
  }
  const shiftRatio = median(shift) / median(floorUp);
  const previewRatio = median(preview) / median(floorPreview);
  say(
    `  target <= 1.25x floor: shift ${shiftRatio.toFixed(2)}x ${shiftRatio <= 1.25 ? "met" : "NOT met"}, ` +
      `preview ${previewRatio.toFixed(2)}x ${previewRatio <= 1.25 ? "met" : "NOT met"}`,
  );

  say("");
  say(
    "footprint: requests per workload as the API server holds them (sidecars injected by istiod)",
  );
  say(
    `  ${pad("workload", 36)} ${pad("pods", 5)} ${pad("app", 16)} ${pad("sidecar", 14)} total`,
  );
  for (const w of fp.workloads) {
    say(
      `  ${pad(w.workload, 36)} ${pad(String(w.pods), 5)} ${pad(fmt(w.app), 16)} ` +
        `${pad(fmt(w.proxy), 14)} ${fmt(w.total)}`,
    );
  }
  say(`  default stack:      ${fmt(fp.total)}   (target <= 300m / 768Mi)`);
  say(
    `  istiod measured (pilot-discovery on the test bed, no Envoy connected): ${istiodIdle}`,
  );
  const bookinfoOnly = fpBookinfo.workloads.filter((w) =>
    w.workload.startsWith("bookinfo/"),
  );
  say(
    `  with Bookinfo on:   ${fmt(fpBookinfo.total)}   (Bookinfo: ${bookinfoOnly
      .map((w) => `${w.workload.slice(9)} ${fmt(w.total)}`)
      .join(", ")})`,
  );
  const modes: Array<[string, ModeFootprint]> = [
    ["sidecar", modeFootprint(fpBookinfo, APP_NAMESPACES)],
    ["ambient", modeFootprint(fpAmbient, APP_NAMESPACES)],
  ];
  say("");
  say(
    `data plane of the demo and Bookinfo, sidecar vs ambient (requests; switched live in ${secs(toAmbient.secs)} + ${secs(settleSecs)} for the pods to roll)`,
  );
  say(
    `  ${pad("mode", 8)} ${pad("apps", 14)} ${pad("sidecars/waypoints", 19)} ${pad("node agents", 22)} total`,
  );
  for (const [mode, m] of modes) {
    say(
      `  ${pad(mode, 8)} ${pad(fmt(m.apps), 14)} ${pad(fmt(m.proxies), 19)} ` +
        `${pad(m.nodes ? `${fmt(m.nodeAgents)} (${m.nodes} node)` : "-", 22)} ${fmt(m.total)}`,
    );
  }
  say(
    `  every other workload (istiod, ingress, Jaeger) is the same in both: ${fmt(fpAmbient.total)} in all for ambient, ${fmt(fpBookinfo.total)} for sidecar`,
  );
  pulumi(project, ["destroy", "--yes"]);

  // --- big stacks -----------------------------------------------------------------------------
  if (SIZES.length > 0) {
    await bigStacks(project, SIZES, SHIFT_RUNS);
  }
}

main().catch((e) => {
  say(`aborted: ${e instanceof Error ? e.message : e}`);
  process.exitCode = 1;
});
