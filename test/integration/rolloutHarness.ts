// Helpers of the rollout's test bed proof (rollout.ts): the stack under test, the weights the API
// server's route and the stack's config hold, and `npm run rollout` run as a user runs it.
import { type ChildProcess, spawn } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { LocalWorkspace, Stack } from "@pulumi/pulumi/automation";
import {
  baseConfig,
  check,
  env,
  kube,
  log,
  pulumiLog,
  timed,
  WORK,
} from "./harness";

export const DEMO = "mesh-demo";
export type Api = "istio" | "gateway-api";

/** The weights the API server's route for the backend holds (VirtualService or HTTPRoute). */
export async function routeWeights(api: Api): Promise<Record<string, number>> {
  if (api === "istio") {
    const vs = await kube.get(
      `/apis/networking.istio.io/v1/namespaces/${DEMO}/virtualservices/backend`,
    );
    const route = vs?.spec.http[vs.spec.http.length - 1].route ?? [];
    return Object.fromEntries(
      route.map((r: any) => [r.destination.subset, r.weight ?? 0]),
    );
  }
  const hr = await kube.get(
    `/apis/gateway.networking.k8s.io/v1/namespaces/${DEMO}/httproutes/backend`,
  );
  const refs = hr?.spec.rules[hr.spec.rules.length - 1].backendRefs ?? [];
  return Object.fromEntries(
    refs.map((r: any) => [r.name.replace(/^backend-/, ""), r.weight ?? 1]),
  );
}

export async function configWeights(
  stack: Stack,
): Promise<Record<string, number>> {
  return JSON.parse((await stack.getConfig("canary.weights", true)).value);
}

export interface RolloutRun {
  code: number | null;
  stdout: string;
  report: any;
}

/** Runs `npm run rollout` (the same command line) in the project copy; `onLine` sees each line. */
export function rollout(
  workDir: string,
  args: string[],
  onLine: (line: string, child: ChildProcess) => void = () => {},
): Promise<RolloutRun> {
  const reportFile = path.join(WORK, `rollout-report-${Date.now()}.json`);
  const child = spawn(
    process.execPath,
    [
      "--require",
      "./tools/register.js",
      "tools/rollout/main.ts",
      ...args,
      "--report",
      reportFile,
    ],
    {
      cwd: workDir,
      env: { ...process.env, CI: "true" },
      stdio: ["ignore", "pipe", "pipe"],
    },
  );
  let stdout = "";
  let partial = "";
  child.stdout!.on("data", (d) => {
    stdout += d;
    partial += d;
    const lines = partial.split("\n");
    partial = lines.pop()!;
    for (const l of lines) {
      log(`  ${l}`);
      onLine(l, child);
    }
  });
  child.stderr!.on("data", (d) => {
    stdout += d;
    log(`  (stderr) ${String(d).trim()}`);
  });
  return new Promise((resolve) =>
    child.on("exit", (code) =>
      resolve({
        code,
        stdout,
        report: fs.existsSync(reportFile)
          ? JSON.parse(fs.readFileSync(reportFile, "utf8"))
          : undefined,
      }),
    ),
  );
}

/** Both the API server's route and the stack's config hold `want`. */
export async function expectWeights(
  stack: Stack,
  api: Api,
  want: Record<string, number>,
): Promise<string> {
  const live = await routeWeights(api);
  const config = await configWeights(stack);
  check(
    JSON.stringify(live) === JSON.stringify(want),
    `the ${api === "istio" ? "VirtualService" : "HTTPRoute"} holds ${JSON.stringify(live)}, not ${JSON.stringify(want)}`,
  );
  check(
    JSON.stringify(config) === JSON.stringify(want),
    `the stack config holds ${JSON.stringify(config)}`,
  );
  return `${api === "istio" ? "VirtualService" : "HTTPRoute"} and config at ${JSON.stringify(want)}`;
}

export const START = { v1: 80, v2: 20 };
export const FLAGS = [
  "--to",
  "v2",
  "--interval",
  "3s",
  "--max-error-rate",
  "2",
  "--max-p99-ms",
  "200",
];

export async function deploy(
  workDir: string,
  name: string,
  api: Api,
  /** Further config (path keys), e.g. a declared service (rolloutService.ts). */
  extra: Array<[string, string]> = [],
): Promise<Stack> {
  const stack = await LocalWorkspace.createOrSelectStack({
    stackName: name,
    workDir,
  });
  await baseConfig(stack);
  for (const [k, v] of [
    ["canary.weights.v1", "80"],
    ["canary.weights.v2", "20"],
    ["routing.api", api],
    ...(api === "gateway-api"
      ? [["routing.gatewayApiCrdsFile", env("GATEWAY_API_CRDS")]]
      : []),
    ...extra,
  ]) {
    await stack.setConfig(k, { value: v }, true);
  }
  await timed(`cold up (${name})`, () => stack.up({ onOutput: pulumiLog }));
  return stack;
}
