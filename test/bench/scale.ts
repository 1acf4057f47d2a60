// The benchmark's big stacks (bigStack.ts): for each size N, a cold `up`, no-op previews and
// weight shifts, then (issue 26) what istiod sends one caller's proxy, svc-001's, with
// routing.scopeProxies on (the default) and, after `pulumi config set --path
// routing.scopeProxies false` and an `up` on the same stack, off: its clusters, virtual hosts,
// endpoint groups and bytes, istiod's memory, and how long a shift of svc-000 (which svc-001
// calls) takes to reach it. Then `destroy`.
import * as fs from "fs";
import * as path from "path";
import { ROOT, testbedConfig } from "../integration/harness";
import { calleesOf, serviceName } from "./callGraph";
import {
  changed,
  expectOneUpdate,
  pad,
  pulumi,
  say,
  secs,
  setConfig,
  v2Weight,
  weights,
} from "./cli";
import { median } from "./footprint";
import {
  calledHosts,
  clusterNames,
  type ConfigSize,
  istiodMemory,
  kib,
  podRef,
  propagation,
  type Propagation,
  showPropagation,
  stableConfig,
} from "./scoping";

const APP_NAMESPACE = "mesh-demo";
/** The caller whose proxy is read: it calls svc-000, the service the shifts move. */
const CALLER = 1;
const host = (i: number) =>
  `${serviceName(i)}.${APP_NAMESPACE}.svc.cluster.local`;

/** The big stack's project: bigStack.ts and its call graph, beside the project copy's components. */
function bigProject(project: string): string {
  const big = path.join(project, "test", "bench");
  fs.mkdirSync(big, { recursive: true });
  for (const f of ["bigStack.ts", "callGraph.ts"]) {
    fs.copyFileSync(path.join(ROOT, "test/bench", f), path.join(big, f));
  }
  fs.writeFileSync(
    path.join(big, "Pulumi.yaml"),
    [
      "name: service-mesh",
      "main: bigStack.ts",
      "runtime:",
      "  name: nodejs",
      "  options:",
      "    typescript: false",
      `    nodeargs: --require ${path.join(project, "tools", "register.js")}`,
      "",
    ].join("\n"),
  );
  return big;
}

interface ModeRow {
  n: number;
  mode: "scoped" | "unscoped";
  size: ConfigSize;
  memory: string;
  propagation: Propagation;
}

/**
 * Measures svc-001's proxy in the stack's current mode: waits until its config is settled (with
 * scoping, outbound clusters for exactly its three callees; without, for every service) and
 * stable, reads istiod's memory, then shifts svc-000 to weights(shift) and times the new split's
 * arrival at the proxy.
 */
async function measureMode(
  cwd: string,
  n: number,
  mode: ModeRow["mode"],
  shift: number,
): Promise<ModeRow> {
  const pod = await podRef(APP_NAMESPACE, serviceName(CALLER), "v1");
  const callees = calleesOf(CALLER, n).map(host).sort();
  const everyService = Array.from({ length: n }, (_, i) => host(i));
  const { cfg, size, reads } = await stableConfig(
    pod,
    mode === "scoped"
      ? `outbound clusters for exactly ${callees.join(", ")}`
      : `outbound clusters for all ${n} services`,
    (hosts) =>
      mode === "scoped"
        ? JSON.stringify(hosts) === JSON.stringify(callees)
        : everyService.every((h) => hosts.includes(h)),
  );
  const memory = await istiodMemory();
  say(
    `big stack ${n} ${mode}: ${pod} settled after ${reads} reads: ${size.clusters} clusters ` +
      `(outbound to ${calledHosts(cfg).length} hosts outside istio-system), ${size.virtualHosts} virtual hosts, ` +
      `${size.endpointGroups} endpoint groups, ${size.bytes} bytes; istiod ${memory}`,
  );
  if (mode === "scoped") {
    say(`  its clusters: ${clusterNames(cfg).join(" ")}`);
  }

  setConfig(cwd, weights(shift));
  const up = pulumi(cwd, ["up", "--yes"]);
  const returned = process.hrtime.bigint();
  expectOneUpdate(up.out, `shift with ${n} services (${mode})`);
  const p = await propagation(
    pod,
    host(0),
    { v1: 100 - v2Weight(shift), v2: v2Weight(shift) },
    returned,
  );
  say(
    `big stack ${n} ${mode}: shift to ${100 - v2Weight(shift)}/${v2Weight(shift)} in ${secs(up.secs)}, ` +
      `at ${serviceName(CALLER)}'s proxy ${showPropagation(p)} later`,
  );
  return { n, mode, size, memory, propagation: p };
}

/** Deploys, times and measures each size, then prints both tables. */
export async function bigStacks(
  project: string,
  sizes: readonly number[],
  shiftRuns: number,
): Promise<void> {
  const big = bigProject(project);
  const table: string[] = [];
  const modes: ModeRow[] = [];
  for (const n of sizes) {
    pulumi(big, ["stack", "select", "--create", `big-${n}`]);
    setConfig(big, [
      ...testbedConfig(),
      ...weights(1),
      ["appNamespace", APP_NAMESPACE],
      ["bench:services", String(n)],
    ]);
    const up = pulumi(big, ["up", "--yes"]);
    const resources = changed(up.out).created ?? 0;
    let shift = 1; // the weights in effect: weights(shift)
    const pv: number[] = [];
    const sh: number[] = [];
    for (let i = 0; i < shiftRuns; i++) {
      pv.push(pulumi(big, ["preview", "--expect-no-changes"]).secs);
      setConfig(big, weights(i));
      const s = pulumi(big, ["up", "--yes"]);
      expectOneUpdate(s.out, `shift with ${n} services`);
      sh.push(s.secs);
      shift = i;
    }

    modes.push(await measureMode(big, n, "scoped", ++shift));
    setConfig(big, [["routing.scopeProxies", "false"]]);
    const unscope = pulumi(big, ["up", "--yes"]);
    say(
      `big stack ${n}: routing.scopeProxies false in ${secs(unscope.secs)} (${JSON.stringify(changed(unscope.out))})`,
    );
    modes.push(await measureMode(big, n, "unscoped", shift + 1));

    const down = pulumi(big, ["destroy", "--yes"]);
    pulumi(big, ["stack", "rm", "--yes"]);
    const line =
      `  ${pad(String(n), 9)} ${pad(String(resources), 10)} ${pad(secs(up.secs), 10)} ` +
      `${pad(secs(median(pv)), 10)} ${pad(secs(median(sh)), 10)} ${secs(down.secs)}`;
    table.push(line);
    say(`big stack ${n}: ${line.trim()}`);
  }
  say("");
  say(
    `big stacks (preview and shift: medians of ${shiftRuns}, with routing.scopeProxies on; every shift updated one resource; ` +
      `destroy after the switch to unscoped)`,
  );
  say(
    `  ${pad("services", 9)} ${pad("resources", 10)} ${pad("cold up", 10)} ${pad("preview", 10)} ${pad("shift", 10)} destroy`,
  );
  table.forEach((l) => say(l));

  say("");
  say(
    `per-proxy config of ${serviceName(CALLER)} (calls 3 services) as istiod sends it, with and without routing.scopeProxies; ` +
      `propagation: from a shift's up returning to the first read showing the new split (each read a new ADS connection)`,
  );
  say(
    `  ${pad("services", 9)} ${pad("mode", 9)} ${pad("clusters", 9)} ${pad("virtual hosts", 14)} ` +
      `${pad("endpoint groups", 16)} ${pad("xDS bytes", 12)} ${pad("istiod RSS", 18)} propagation`,
  );
  for (const r of modes) {
    say(
      `  ${pad(String(r.n), 9)} ${pad(r.mode, 9)} ${pad(String(r.size.clusters), 9)} ` +
        `${pad(String(r.size.virtualHosts), 14)} ${pad(String(r.size.endpointGroups), 16)} ` +
        `${pad(kib(r.size.bytes), 12)} ${pad(r.memory, 18)} ${showPropagation(r.propagation)}`,
    );
  }
}
