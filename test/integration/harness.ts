// The test bed's harness: environment, PASS/FAIL steps, timings, the project copy the engine runs,
// and the checks several scenarios share (stack objects, change sets, snapshots, istioctl analyze).
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { EngineEvent, Stack } from "@pulumi/pulumi/automation";
import { KubeClient, objectPath } from "./kubeClient";

export const ROOT = path.resolve(__dirname, "..", "..");
export const env = (name: string): string => {
  const v = process.env[name];
  if (!v) {
    throw new Error(
      `${name} is not set; run this through 'npm run test:integration'`,
    );
  }
  return v;
};
export const WORK = env("IT_WORK_DIR");
export const KUBECONFIG = env("KUBECONFIG");
export const CHARTS = env("ISTIO_CHARTS");
export const ISTIO_VERSION = env("ISTIO_VERSION");
export const ISTIOCTL = env("ISTIOCTL");

export const kube = new KubeClient(KUBECONFIG);
/** The engine's own output goes to a log file the runner shows on failure. */
export const pulumiLog = (text: string) =>
  fs.appendFileSync(path.join(WORK, "pulumi.log"), text);
export const timings: Array<[string, number]> = [];
export const results: Array<[string, boolean, string]> = [];

export function log(msg: string): void {
  process.stdout.write(`[it] ${msg}\n`);
}

export async function step(
  name: string,
  fn: () => Promise<void>,
): Promise<boolean> {
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

export async function timed<T>(
  label: string,
  fn: () => Promise<T>,
): Promise<T> {
  const start = Date.now();
  try {
    return await fn();
  } finally {
    const secs = (Date.now() - start) / 1000;
    timings.push([label, secs]);
    log(`${label}: ${secs.toFixed(1)} s`);
  }
}

export function check(cond: unknown, msg: string): asserts cond {
  if (!cond) {
    throw new Error(msg);
  }
}

/**
 * Stack config (path keys) every test-bed stack shares: local charts, istiod's webhooks by URL on
 * loopback, the istiod pod's readiness gate, and no chart-based addons.
 */
export function testbedConfig(): Array<[string, string]> {
  // The general escape hatch (istio.values.<chart>) carries what the test bed needs: the
  // injection and validation webhooks call the local istiod by URL, never a Service.
  const inject = env("ISTIOD_WEBHOOK_URL_INJECT");
  const validate = env("ISTIOD_WEBHOOK_URL_VALIDATE");
  const ca = env("ISTIOD_CA_BUNDLE");
  return [
    ["istio.chartDir", CHARTS],
    ["istio.version", ISTIO_VERSION],
    ["istio.values.istiod.istiodRemote.injectionURL", inject],
    ["istio.values.istiod.istiodRemote.injectionCABundle", ca],
    // With the CA bundles both validating webhooks fail closed, so every Istio resource the
    // stack creates is checked by the real istiod (the stack orders them after the istiod
    // release, and the chart's simulated istiod pod only turns Ready once the real one answers).
    ["istio.values.istiod.base.validationURL", validate],
    ["istio.values.istiod.base.validationCABundle", ca],
    ["istio.values.base.base.validationURL", validate],
    ["istio.values.base.base.validationCABundle", ca],
    [
      'istio.values.istiod.podAnnotations["testbed.local/ready-when"]',
      "istiod",
    ],
    // Their charts come from repositories this machine cannot reach (and Grafana's password
    // needs the random provider, which cannot be built here); Jaeger is our own Deployment.
    ...["prometheus", "grafana", "kiali"].map((addon): [string, string] => [
      `observability.${addon}.enabled`,
      "false",
    ]),
  ];
}

/** Sets the shared test-bed config on a stack (the Automation API's scenarios). */
export async function baseConfig(stack: Stack): Promise<void> {
  for (const [key, value] of testbedConfig()) {
    await stack.setConfig(key, { value }, true);
  }
}

/** A copy of the project in the work dir, so the stack's config file never lands in the repo. */
export function copyProject(): string {
  const dir = path.join(WORK, "project");
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(dir, { recursive: true });
  for (const f of [
    "index.ts",
    "components",
    "tools",
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

export interface StackObject {
  urn: string;
  path: string;
}

/** Every Kubernetes object the stack manages directly (Helm releases are checked separately). */
export async function stackObjects(stack: Stack): Promise<StackObject[]> {
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
export const HELM_RELEASES: Array<[string, string]> = [
  ["istio-system", "istio-base"],
  ["istio-system", "istiod"],
  ["istio-ingress", "istio-ingressgateway"],
];

export const ISTIO_CRDS = [
  "virtualservices.networking.istio.io",
  "destinationrules.networking.istio.io",
  "gateways.networking.istio.io",
  "peerauthentications.security.istio.io",
  "authorizationpolicies.security.istio.io",
  "telemetries.telemetry.istio.io",
];

/** resourceVersion of every stack object and Helm release secret: equal snapshots mean no change. */
export async function snapshot(
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

export function changesOf(events: EngineEvent[]): Array<[string, string]> {
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
export async function upChangingOnly(
  stack: Stack,
  label: string,
  config: Record<string, string>,
  /** The resource that must be the one update: a VirtualService's name, or "<Kind>::<name>". */
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
      changes[0][1].endsWith(
        virtualService.includes("::")
          ? virtualService
          : `VirtualService::${virtualService}`,
      ),
    `expected one update of ${virtualService}, got ${JSON.stringify(changes)}`,
  );
}

export async function backendWeights(): Promise<Record<string, number>> {
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
export async function analyze(): Promise<void> {
  let out: string;
  try {
    // Pods now run on the simulated nodes, so the analyzers that check a Gateway's selector and
    // each subset against live pods run for real: no finding is suppressed.
    out = execFileSync(
      ISTIOCTL,
      ["analyze", "--kubeconfig", KUBECONFIG, "--all-namespaces"],
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

/** Records a measured figure for the closing `timings:` line. */
export function record(label: string, secs: number): void {
  timings.push([label, secs]);
  log(`${label}: ${secs.toFixed(1)} s`);
}

/**
 * A failure in one line: the message's first, and for a failed Automation API command (whose
 * message starts "code: N", the engine's output after it) the engine's first error besides
 * "update failed", so the summary names the cause (a webhook refused, a timeout...).
 */
export function failureLine(msg: string): string {
  const lines = msg.split("\n");
  if (!/^code: -?\d+/.test(lines[0])) return lines[0];
  const cause = lines
    .map((l) => l.trim())
    .find((l) => /error: /.test(l) && !/error: update failed$/.test(l));
  return cause ? `${lines[0]}: ${cause.slice(0, 400)}` : lines[0];
}

/** Prints the timings, a line per scenario and the closing count; returns the exit code. */
export function report(expected: number): number {
  log(
    "timings: " + timings.map(([l, s]) => `${l} ${s.toFixed(1)} s`).join(", "),
  );
  const passed = results.filter((r) => r[1]).length;
  const failed = results.length - passed;
  for (const [name, ok, msg] of results) {
    log(`${ok ? "ok  " : "FAIL"} ${name}${ok ? "" : `: ${failureLine(msg)}`}`);
  }
  if (results.length !== expected) {
    log(`expected ${expected} scenarios, ran ${results.length}`);
  }
  process.stdout.write(`integration: ${passed} passed, ${failed} failed\n`);
  return failed === 0 && results.length === expected ? 0 : 1;
}
