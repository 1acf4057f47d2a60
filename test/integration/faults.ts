// The faults of real operations (issue 13), each a scenario on its own stack ("faults"), awaiting
// readiness as users run it (skipAwait off: Helm waits for its releases, so a Helm install is
// in flight long enough to be interrupted):
//   21a-c  a cold `up` killed like a crashed laptop or a cancelled CI job, at three points;
//          then the recovery of docs/operations.md (`npm run recover`, `pulumi up`);
//   22     hand edits (drift), found by `preview --refresh` and undone by `up --refresh`;
//   23     the API server killed in the middle of an `up` and started again.
// Every one ends with checkConverged: the stack and the API server agree again.
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { EngineEvent, LocalWorkspace, Stack } from "@pulumi/pulumi/automation";
import {
  backendWeights,
  baseConfig,
  changesOf,
  check,
  HELM_RELEASES,
  kube,
  log,
  pulumiLog,
  stackObjects,
  step,
  timed,
  upChangingOnly,
  WORK,
} from "./harness";
import { checkInjectedAndReady } from "./controlPlane";
import { checkDestroyed } from "./lifecycle";
import { inventory, KubeObject, objectPath } from "./kubeClient";

const STACK = "faults";
const DEMO = "mesh-demo";
const STACK_NAMESPACES = ["istio-system", "istio-ingress", DEMO];
const KUBE_DIR = path.join(WORK, "kube");
const BACKEND_DIR = path.join(WORK, "state", ".pulumi");
/** How long the API server stays away in scenario 23. */
const OUTAGE_SECONDS = 10;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const kubectl = (...args: string[]) =>
  execFileSync("kubectl", args, { encoding: "utf8", stdio: "pipe" });
const secretsOf = (ns: string, selector: string) =>
  kube.list(
    `/api/v1/namespaces/${ns}/secrets?labelSelector=${encodeURIComponent(selector)}`,
  );

// --- the engine's processes ---------------------------------------------------------------------

function procStat(pid: number): { ppid: number; state: string } | undefined {
  try {
    const s = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
    const [state, ppid] = s.slice(s.lastIndexOf(")") + 2).split(" ");
    return { state, ppid: Number(ppid) };
  } catch {
    return undefined;
  }
}
const comm = (pid: number) => {
  try {
    return fs.readFileSync(`/proc/${pid}/comm`, "utf8").trim();
  } catch {
    return "?";
  }
};
const alive = (pid: number) => {
  const s = procStat(pid);
  return s !== undefined && s.state !== "Z";
};
function childrenOf(pid: number): number[] {
  return fs
    .readdirSync("/proc")
    .filter((d) => /^\d+$/.test(d))
    .map(Number)
    .filter((p) => procStat(p)?.ppid === pid);
}
const treeOf = (pid: number): number[] => [
  pid,
  ...childrenOf(pid).flatMap(treeOf),
];

/**
 * SIGKILLs the `pulumi` CLI the Automation API started for this process and everything under
 * it (language host, the program's node, the provider plugins), as a crashed machine or a CI
 * runner tearing down its job would. Killing the CLI alone is a softer fault: on this test bed
 * the language host and the Kubernetes plugin then run on as orphans (seen for 10 s and more),
 * and the plugin finished the Helm install it had begun (istiod went from pending-install to
 * deployed), so nothing would be interrupted. Returns "pid:name" of each process killed.
 */
async function killEngine(): Promise<string> {
  const clis = childrenOf(process.pid).filter((p) => comm(p) === "pulumi");
  check(clis.length === 1, `expected one pulumi CLI, found ${clis.length}`);
  const tree = treeOf(clis[0]);
  const names = tree.map((p) => `${p}:${comm(p)}`).join(" ");
  for (const pid of tree) {
    process.kill(pid, "SIGKILL");
  }
  for (let i = 0; i < 40 && tree.some(alive); i++) {
    await sleep(50);
  }
  check(
    !tree.some(alive),
    `still running: ${tree.filter(alive).map(comm).join(", ")}`,
  );
  return names;
}

/**
 * Polls `reached` every 100 ms until it holds; fails at once if the `up` ends first (it finished
 * or failed before the point), or after two minutes. Resolves to the seconds it took.
 */
async function whenReached(
  what: string,
  reached: () => Promise<boolean>,
  up: Promise<unknown>,
): Promise<number> {
  let ended = false;
  void up.finally(() => (ended = true));
  const start = Date.now();
  for (;;) {
    if (await reached()) {
      return (Date.now() - start) / 1000;
    }
    check(!ended, `up ended before ${what}`);
    check(Date.now() - start < 120_000, `${what} never happened`);
    await sleep(100);
  }
}

// --- what a killed engine leaves in the file backend ---------------------------------------------

function backendFiles(dir = BACKEND_DIR): string[] {
  if (!fs.existsSync(dir)) {
    return [];
  }
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    return e.isDirectory() ? backendFiles(p) : [p];
  });
}
const lockFiles = () =>
  backendFiles(path.join(BACKEND_DIR, "locks")).filter((f) =>
    f.endsWith(".json"),
  );
const emptyMetadataFiles = () =>
  backendFiles().filter(
    (f) => f.endsWith(".attrs") && fs.statSync(f).size === 0,
  );

/** The recovery step of docs/operations.md, run as users run it, in the project directory. */
function recover(workDir: string): string {
  return execFileSync(
    "npm",
    ["run", "-s", "recover", "--", "--stack", STACK, "--yes"],
    {
      cwd: workDir,
      encoding: "utf8",
      stdio: "pipe",
    },
  );
}

// --- converged ----------------------------------------------------------------------------------

const groupOf = (apiVersion: string) =>
  apiVersion.includes("/") ? apiVersion.split("/")[0] : "";
const keyOf = (group: string, kind: string, o: KubeObject["metadata"]) =>
  `${group}/${kind}/${o.namespace ?? ""}/${o.name}`;

/**
 * The stack and the API server agree: the state has no pending operation; every Kubernetes
 * object of the state is in the API server, once; each of its Helm releases has a deployed
 * record and none stuck pending; nothing outside the state is ours, that is, no object (in the
 * stack's namespaces, or cluster-scoped) carries a field manager of Pulumi's
 * (`pulumi-kubernetes-*`, operation Apply) or Helm's release annotation without being in the
 * state, and no Helm release record names a release the state lacks; and a preview wants no
 * change. Returns a one-line summary.
 */
export async function checkConverged(stack: Stack): Promise<string> {
  const state = (await stack.exportStack()).deployment;
  const pending = state.pending_operations ?? [];
  check(
    pending.length === 0,
    `pending operations left: ${pending.map((o: any) => `${o.type} ${o.resource.urn}`).join(", ")}`,
  );
  const objects = await stackObjects(stack);
  const keys = new Map<string, string>();
  for (const r of state.resources ?? []) {
    if (!r.custom || !r.type.startsWith("kubernetes:") || !r.outputs?.kind) {
      continue;
    }
    if (r.type.startsWith("kubernetes:helm.sh")) {
      continue;
    }
    const k = keyOf(
      groupOf(r.outputs.apiVersion),
      r.outputs.kind,
      r.outputs.metadata,
    );
    check(
      !keys.has(k),
      `${k} is in the state twice (${keys.get(k)}, ${r.urn})`,
    );
    keys.set(k, r.urn);
  }
  for (const o of objects) {
    check(await kube.get(o.path), `${o.urn} is not in the API server`);
  }
  const releases = (state.resources ?? [])
    .filter((r: any) => r.type === "kubernetes:helm.sh/v3:Release")
    .map((r: any) => `${r.outputs.namespace}/${r.outputs.name}`)
    .sort();
  const want = HELM_RELEASES.map(([ns, rel]) => `${ns}/${rel}`).sort();
  check(
    JSON.stringify(releases) === JSON.stringify(want),
    `Helm releases in the state: ${releases.join(", ")}; want ${want.join(", ")}`,
  );
  for (const rel of releases) {
    const [ns, name] = rel.split("/");
    const statuses = (await secretsOf(ns, `owner=helm,name=${name}`)).map(
      (s) => s.metadata.labels?.status ?? "?",
    );
    check(
      statuses.includes("deployed") &&
        !statuses.some((s) => s.startsWith("pending")),
      `Helm release ${rel} has records ${statuses.join(", ")}`,
    );
  }
  const live = await inventory(kube, STACK_NAMESPACES);
  const orphans: string[] = [];
  for (const { group, kind, object } of live) {
    const m = object.metadata;
    const key = keyOf(group, kind, m);
    const applied = (m.managedFields ?? []).some(
      (f) =>
        f.operation === "Apply" && f.manager.startsWith("pulumi-kubernetes-"),
    );
    if (applied && !keys.has(key)) {
      orphans.push(`${key} (applied by Pulumi)`);
    }
    const rel = m.annotations?.["meta.helm.sh/release-name"];
    const relNs = m.annotations?.["meta.helm.sh/release-namespace"];
    if (rel && !releases.includes(`${relNs}/${rel}`)) {
      orphans.push(`${key} (Helm release ${relNs}/${rel})`);
    }
    if (
      kind === "Secret" &&
      m.labels?.owner === "helm" &&
      !releases.includes(`${m.namespace}/${m.labels.name}`)
    ) {
      orphans.push(`${key} (record of Helm release ${m.labels.name})`);
    }
  }
  check(orphans.length === 0, `not in the state: ${orphans.join(", ")}`);
  const events: EngineEvent[] = [];
  await timed("converged preview", () =>
    stack.preview({ onEvent: (e) => events.push(e) }),
  );
  const changes = changesOf(events);
  check(
    changes.length === 0,
    `preview wants changes: ${JSON.stringify(changes)}`,
  );
  return `converged: ${objects.length} objects and ${releases.length} Helm releases in the state, each once in the API server; no pending operation; none of ${live.length} live objects outside the state; preview: no changes`;
}

async function destroyAll(stack: Stack): Promise<void> {
  const objects = await stackObjects(stack);
  await timed("faults destroy", () => stack.destroy({ onOutput: pulumiLog }));
  await checkDestroyed(objects);
}

// --- 21: an up killed at three points -----------------------------------------------------------

interface KillPoint {
  id: string;
  what: string;
  reached: () => Promise<boolean>;
  /** What the kill must have left in the cluster, checked before the recovery. */
  left?: () => Promise<string>;
}

const KILL_POINTS: KillPoint[] = [
  {
    id: "21a",
    what: "early, once the first of the stack's namespaces exists",
    reached: async () => {
      for (const ns of STACK_NAMESPACES) {
        if (await kube.get(`/api/v1/namespaces/${ns}`)) {
          return true;
        }
      }
      return false;
    },
  },
  {
    id: "21b",
    what: "during the Helm releases, while istiod's is pending-install",
    reached: async () =>
      (await secretsOf("istio-system", "owner=helm,name=istiod")).some(
        (s) => s.metadata.labels?.status === "pending-install",
      ),
    left: async () => {
      // Helm was cut off mid-install: its record stays pending-install, and a plain retry
      // would fail with "cannot re-use a name that is still in use".
      const statuses = (
        await secretsOf("istio-system", "owner=helm,name=istiod")
      ).map((s) => s.metadata.labels?.status);
      check(
        JSON.stringify(statuses) === '["pending-install"]',
        `istiod's release records: ${statuses.join(", ")}`,
      );
      return "istiod's Helm release record left pending-install";
    },
  },
  {
    id: "21c",
    what: "during the app, once its first Deployment exists",
    reached: async () =>
      (await kube.list(`/apis/apps/v1/namespaces/${DEMO}/deployments`)).length >
      0,
  },
];

async function interruptedUp(
  stack: Stack,
  workDir: string,
  point: KillPoint,
): Promise<void> {
  check(
    !(await kube.get(`/api/v1/namespaces/${DEMO}`)),
    "the cluster is not empty: this up would not be cold",
  );
  const up = stack.up({ onOutput: pulumiLog }).then(
    () => undefined,
    (e: Error) => e,
  );
  const seconds = await whenReached(point.what, point.reached, up);
  const killed = await killEngine();
  const err = await up;
  check(err, "up was not interrupted");
  log(`${point.id}: killed ${seconds.toFixed(1)} s into the up: ${killed}`);
  const locks = lockFiles();
  const empty = emptyMetadataFiles();
  log(
    `${point.id}: left behind: ${locks.length} lock file(s)${empty.length ? `, empty metadata ${empty.map((f) => path.relative(BACKEND_DIR, f)).join(", ")}` : ""}`,
  );
  check(
    locks.length === 1,
    `expected the killed run's lock, found ${locks.length}`,
  );
  if (point.left) {
    log(`${point.id}: ${await point.left()}`);
  }
  // Without recovery the next up is refused: by the lock, or by an unreadable checkpoint.
  const refused = await stack.up({ onOutput: pulumiLog }).then(
    () => undefined,
    (e: Error) => e,
  );
  check(refused, "the next up ran despite the killed run's lock");
  const why = /currently locked|failed to load checkpoint: EOF/.exec(
    refused.message,
  );
  check(why, `the next up failed otherwise: ${refused.message.slice(-400)}`);
  log(`${point.id}: without recovery the next up stops: "${why[0]}"`);
  const report = await timed(`recover (${point.id})`, async () =>
    recover(workDir),
  );
  log(report.trim());
  const res = await timed(`up after recover (${point.id})`, () =>
    stack.up({ onOutput: pulumiLog }),
  );
  check(res.summary.result === "succeeded", `up ended ${res.summary.result}`);
  check(lockFiles().length === 0, "a lock is left after the up");
  log(await checkConverged(stack));
}

// --- 22: drift ----------------------------------------------------------------------------------

async function drift(stack: Stack, workDir: string): Promise<void> {
  const configFile = path.join(workDir, `Pulumi.${STACK}.yaml`);
  const config = fs.readFileSync(configFile);
  const deployment = objectPath("apps/v1", "Deployment", "backend-v1", DEMO);
  const replicas = (await kube.get(deployment))?.spec.replicas;
  check(replicas !== undefined, "backend-v1 is not deployed");
  const weights = await backendWeights();
  kubectl(
    "-n",
    DEMO,
    "patch",
    "virtualservice",
    "backend",
    "--type=json",
    "-p",
    JSON.stringify([
      { op: "replace", path: "/spec/http/0/route/0/weight", value: 10 },
      { op: "replace", path: "/spec/http/0/route/1/weight", value: 90 },
    ]),
  );
  kubectl(
    "-n",
    DEMO,
    "scale",
    "deployment",
    "backend-v1",
    `--replicas=${replicas + 2}`,
  );
  const drifted = await backendWeights();
  check(drifted.v1 === 10 && drifted.v2 === 90, "the hand edit did not land");
  // Pulumi compares the config with the state it recorded, not with the cluster: without a
  // refresh nothing shows.
  const plain: EngineEvent[] = [];
  await stack.preview({ onEvent: (e) => plain.push(e) });
  check(
    changesOf(plain).length === 0,
    `preview without refresh saw ${JSON.stringify(changesOf(plain))}`,
  );
  const expected = [
    "update Deployment::backend-v1",
    "update VirtualService::backend-vs",
  ];
  // "update Deployment::backend-v1" from each change but the refresh steps themselves.
  const changed = (events: EngineEvent[]) =>
    changesOf(events)
      .filter(([op]) => op !== "refresh")
      .map(([op, urn]) => {
        const [type, name] = urn.split("::").slice(-2);
        return `${op} ${type.split(":").pop()}::${name}`;
      })
      .sort();
  const previewed: EngineEvent[] = [];
  await timed("drift preview --refresh", () =>
    stack.preview({ refresh: true, onEvent: (e) => previewed.push(e) }),
  );
  const seen = changed(previewed);
  check(
    JSON.stringify(seen) === JSON.stringify(expected),
    `preview --refresh reports ${JSON.stringify(seen)}, want ${JSON.stringify(expected)}`,
  );
  log(`preview --refresh: ${seen.join(", ")}`);
  const applied: EngineEvent[] = [];
  await timed("drift up --refresh", () =>
    stack.up({
      refresh: true,
      onOutput: pulumiLog,
      onEvent: (e) => applied.push(e),
    }),
  );
  const done = changed(applied);
  check(
    JSON.stringify(done) === JSON.stringify(expected),
    `up --refresh changed ${JSON.stringify(done)}`,
  );
  const restored = await backendWeights();
  check(
    JSON.stringify(restored) === JSON.stringify(weights),
    `weights ${JSON.stringify(restored)} after up --refresh, config says ${JSON.stringify(weights)}`,
  );
  check(
    (await kube.get(deployment))?.spec.replicas === replicas,
    "backend-v1's replicas were not restored",
  );
  check(
    fs.readFileSync(configFile).equals(config),
    `${path.basename(configFile)} changed`,
  );
  log(
    `restored weights ${JSON.stringify(restored)} and ${replicas} replica(s); ${path.basename(configFile)} byte-identical`,
  );
  log(await checkConverged(stack));
}

// --- 23: API server outage ----------------------------------------------------------------------

const apiserver = (mode: "stop" | "start") =>
  execFileSync("bash", ["test/testbed/apiserver.sh", mode, KUBE_DIR], {
    encoding: "utf8",
    stdio: "pipe",
  });

/** The test bed's other processes, by the pid files kube-up, cluster-up and istiod-up keep. */
function testBedAlive(): void {
  for (const name of [
    "etcd",
    "kube-controller-manager",
    "kube-scheduler",
    "kwok",
    "istiod",
    "istiod-watch",
  ]) {
    const pid = Number(
      fs.readFileSync(path.join(KUBE_DIR, `${name}.pid`), "utf8"),
    );
    check(alive(pid), `${name} (pid ${pid}) did not survive the outage`);
  }
}

async function outage(stack: Stack): Promise<void> {
  check(
    !(await kube.get(`/api/v1/namespaces/${DEMO}`)),
    "the cluster is not empty: this up would not be cold",
  );
  const started = Date.now();
  let ended = 0;
  const up = stack.up({ onOutput: pulumiLog }).then(
    () => undefined,
    (e: Error) => e,
  );
  void up.then(() => (ended = Date.now()));
  // The app's objects are being created and awaited, and Helm is past creating the gateway's
  // objects (its Deployment is the chart's last), so it is only waiting: the outage cuts
  // Pulumi's own requests, never a Helm install half-way (that case is 21b's).
  const seconds = await whenReached(
    "the app phase, with the gateway's objects created",
    async () =>
      (await kube.list(`/apis/apps/v1/namespaces/${DEMO}/deployments`)).length >
        0 &&
      (await kube.get(
        objectPath(
          "apps/v1",
          "Deployment",
          "istio-ingressgateway",
          "istio-ingress",
        ),
      )) !== undefined,
    up,
  );
  apiserver("stop");
  const down = Date.now();
  log(
    `API server killed ${seconds.toFixed(1)} s into the up; back in ${OUTAGE_SECONDS} s`,
  );
  await sleep(OUTAGE_SECONDS * 1000);
  apiserver("start");
  const back = Date.now();
  log(`API server back after ${((back - down) / 1000).toFixed(1)} s`);
  const err = await up;
  const secs = (t: number) => ((t - started) / 1000).toFixed(1);
  log(
    `the up ended ${secs(ended)} s after it started (the API server went at ${secs(down)} s and was back at ${secs(back)} s)`,
  );
  if (err) {
    // The run's own diagnostics (not its progress lines) must name the unreachable server.
    const first = err.message
      .split("\n")
      .find((l) =>
        /^\s+error: .*(connection refused|connection reset|cluster unreachable)/.test(
          l,
        ),
      );
    check(
      first,
      `up failed without naming the API server: ${err.message.slice(-600)}`,
    );
    log(`up failed, naming the API server: ${first.trim().slice(0, 400)}`);
  } else {
    log("up waited through the outage and succeeded");
  }
  check(lockFiles().length === 0, "the run left its lock");
  const pending =
    (await stack.exportStack()).deployment.pending_operations ?? [];
  check(
    pending.length === 0,
    `the run left ${pending.length} pending operations`,
  );
  testBedAlive();
  const res = await timed("up after the outage", () =>
    stack.up({ onOutput: pulumiLog }),
  );
  check(res.summary.result === "succeeded", `up ended ${res.summary.result}`);
  log(await checkConverged(stack));
  // istiod and KWOK came through: the app's pods are injected and Ready.
  log(await checkInjectedAndReady(DEMO, "istio-init"));
}

// --- the scenarios --------------------------------------------------------------------------------

/** The fault scenarios, on a stack of their own; each prints PASS or FAIL. */
export async function faultScenarios(workDir: string): Promise<void> {
  const stack = await LocalWorkspace.createOrSelectStack({
    stackName: STACK,
    workDir,
  });
  await baseConfig(stack);
  for (const [key, value] of [
    ["canary.weights.v1", "80"],
    ["canary.weights.v2", "20"],
  ]) {
    await stack.setConfig(key, { value }, true);
  }
  for (const point of KILL_POINTS) {
    await step(
      `${point.id}. cold up killed (SIGKILL, engine and plugins) ${point.what}: after npm run recover, up completes and the stack converges`,
      async () => {
        await interruptedUp(stack, workDir, point);
        if (point.id === "21c") {
          // The canary workflow still works on objects the killed run had created.
          await upChangingOnly(
            stack,
            "weight shift after recovery",
            { "canary.weights.v1": "50", "canary.weights.v2": "50" },
            "backend-vs",
          );
        } else {
          await destroyAll(stack);
        }
      },
    );
  }
  await step(
    "22. drift: kubectl edits the backend weights and backend-v1's replicas; preview --refresh reports exactly those two updates, up --refresh restores them, the stack's config file is untouched",
    async () => {
      await drift(stack, workDir);
      await destroyAll(stack);
    },
  );
  await step(
    `23. API server killed in the middle of a cold up and back after ${OUTAGE_SECONDS} s: the run fails naming the API server (or succeeds), leaves no lock or pending operation, and the next up converges`,
    async () => {
      await outage(stack);
      await destroyAll(stack);
      await stack.workspace.removeStack(STACK);
    },
  );
}
