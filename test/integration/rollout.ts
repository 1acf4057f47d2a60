// The rollout's test bed proof (`npm run test:rollout`, test/integration/rollout.sh): `npm run
// rollout` as users run it, against a real stack (the real engine, provider and istiod on the test
// bed's API server), a real Prometheus (Debian's package, run on 127.0.0.1) and our stand-in for
// the backend proxies' Istio metrics (istioMetrics.ts), whose traffic follows the weights the API
// server holds. Healthy canaries are promoted, an unhealthy one and an interrupted one roll back,
// a second rollout is refused; each ends with the API server's route and the stack's config at
// the weights it must. The metrics never come from a real Envoy: none runs here.
//
// A declared service (issue 22) is rolled out on the same stack: rolloutService.ts.
//
// ROLLOUT_ONLY=<key>[,<key>] runs only those scenarios (keys: unhealthy, burst, inconclusive,
// sigint, promote, service, gateway-api), and ROLLOUT_REPEAT=<n> runs each of them n times in a row, e.g.
// ROLLOUT_ONLY=sigint ROLLOUT_REPEAT=10 npm run test:rollout.
import type { Stack } from "@pulumi/pulumi/automation";
import * as fs from "fs";
import * as path from "path";
import { fileURLToPath } from "url";
import {
  check,
  copyProject,
  env,
  log,
  pulumiLog,
  report,
  step,
  timed,
  WORK,
} from "./harness";
import { startExporter, type Exporter } from "./istioMetrics";
import { startPrometheus, type PrometheusServer } from "./prometheusServer";
import {
  ORDERS_CONFIG,
  rolloutOrders,
  startOrdersExporter,
} from "./rolloutService";
import {
  type Api,
  DEMO,
  deploy,
  expectWeights,
  FLAGS,
  rollout,
  type RolloutRun,
  routeWeights,
  START,
} from "./rolloutHarness";

/** The engine's output of every `up` the rollouts ran on stack rollout (stack.ts appends it). */
function engineUps(workDir: string): string[] {
  const file = path.join(workDir, ".rollout", "rollout.log");
  return fs.existsSync(file)
    ? fs.readFileSync(file, "utf8").split("\n=== pulumi up ").slice(1)
    : [];
}

/**
 * What the engine prints once it has taken the stack's lock and begun the update
 * (`Updating (<stack>):`, before any resource step).
 */
const UPDATE_BEGUN = /Updating \(/;

/**
 * Resolves when the engine output of up number `index` (0-based, engineUps) shows the update has
 * begun; rejects after `timeoutMs`.
 */
async function whenUpdating(
  workDir: string,
  index: number,
  timeoutMs = 60_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const ups = engineUps(workDir);
    if (ups.length > index && UPDATE_BEGUN.test(ups[index])) {
      return;
    }
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(
    `the engine output of up ${index + 1} did not show the update begin within ${timeoutMs / 1000} s`,
  );
}

/** The file backend's lock files of a stack (.pulumi/locks/.../<stack>/<id>.json). */
function stackLocks(stackName: string): string[] {
  const walk = (dir: string): string[] =>
    fs.existsSync(dir)
      ? fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
          const p = path.join(dir, e.name);
          return e.isDirectory() ? walk(p) : [p];
        })
      : [];
  const backend = fileURLToPath(env("PULUMI_BACKEND_URL"));
  return walk(path.join(backend, ".pulumi", "locks")).filter(
    (f) => f.endsWith(".json") && path.basename(path.dirname(f)) === stackName,
  );
}

/** Operations the engine began and never finished, per the stack's state. */
async function pendingOperations(stack: Stack): Promise<unknown[]> {
  const state = await stack.exportStack();
  return (
    (state.deployment as { pending_operations?: unknown[] })
      .pending_operations ?? []
  );
}

interface Context {
  workDir: string;
  stack: Stack;
  api: Api;
  exporter: Exporter;
  /** The stand-in for orders' metrics, with the service scenario selected. */
  orders?: Exporter;
  flags: (steps: string, minRequests?: string) => string[];
}

/** Puts the stack back at the start weights (config and `up`), for a run that follows. */
async function restart(stack: Stack): Promise<void> {
  for (const [v, w] of Object.entries(START)) {
    await stack.setConfig(`canary.weights.${v}`, { value: String(w) }, true);
  }
  await timed("up back to 80/20", () => stack.up({ onOutput: pulumiLog }));
}

interface Scenario {
  readonly key: string;
  readonly api: Api;
  readonly name: string;
  /** The weights it leaves the stack at, when not the start weights. */
  readonly leaves?: Record<string, number>;
  run(c: Context): Promise<void>;
}

const SCENARIOS: Scenario[] = [
  {
    key: "unhealthy",
    api: "istio",
    name: "rollout: a dry run changes nothing; an unhealthy canary (v2 answers 30 % 503) rolls back to 80/20 after the first step's gate",
    run: async ({ workDir, stack, api, exporter, flags }) => {
      exporter.set("v2", { errorRate: 0.3 });
      try {
        const dry = await rollout(workDir, [...flags("50,100"), "--dry-run"]);
        check(
          dry.code === 0 && dry.report?.outcome === "dry-run",
          `dry run: exit ${dry.code}: ${dry.stdout}`,
        );
        check(
          dry.stdout.includes(`requests: ${dry.report.queries.requests}`) &&
            dry.stdout.includes(
              `requestsAtStart: ${dry.report.queries.requestsAtStart}`,
            ) &&
            dry.report.queries.requests.includes('reporter="destination"'),
          "the dry run does not print the queries",
        );
        log(`dry run: ${await expectWeights(stack, api, START)}`);
        const r = await timed("rollout rolled back (unhealthy)", () =>
          rollout(workDir, flags("50,100")),
        );
        check(r.code === 1, `exit ${r.code}, not 1`);
        check(
          r.report?.outcome === "rolled-back",
          `outcome ${r.report?.outcome}`,
        );
        check(
          /^step 1: gate failed: FAIL: error rate [23]\d(\.\d+)?% > 2%/.test(
            r.report.reason,
          ),
          `reason: ${r.report.reason}`,
        );
        check(
          r.report.steps.length === 1 && r.report.rollback?.ok,
          JSON.stringify(r.report.steps),
        );
      } finally {
        exporter.set("v2", { errorRate: 0 });
      }
      log(await expectWeights(stack, api, START));
    },
  },
  {
    key: "burst",
    api: "istio",
    name: "rollout: a burst of 40 5xx answers inside step 1's window, under a response code v2 never answered (its series born there, flat after: what increase() reads as 0), rolls back to 80/20",
    run: async ({ workDir, stack, api, exporter, flags }) => {
      const code = ["500", "502", "504", "501", "505", "506", "507"].find(
        (c) => !exporter.codes("v2").includes(c),
      );
      check(code, `v2 already answered every 5xx code the burst could use`);
      let bornBefore: boolean | undefined;
      // The burst comes a while after step 1's up returned, not at once: Prometheus stamps a
      // sample with its scrape's start, so a scrape that began just before the window and was
      // answered just after the burst would put the burst before the window (a race this
      // scenario lost under load). A longer interval keeps the burst well inside the window.
      const r = await timed("rollout rolled back (burst)", () =>
        rollout(
          workDir,
          flags("50,100").map((f) => (f === "3s" ? "5s" : f)),
          (line) => {
            if (/step 1\/2: up done/.test(line)) {
              bornBefore = exporter.codes("v2").includes(code);
              setTimeout(() => exporter.burst("v2", 40, code), 1500);
            }
          },
        ),
      );
      check(
        bornBefore === false,
        `the burst: ${bornBefore === undefined ? "step 1's up never finished" : `v2 had a ${code} series before it`}`,
      );
      check(r.code === 1, `exit ${r.code}, not 1: ${r.report?.reason}`);
      check(
        r.report?.outcome === "rolled-back" &&
          /^step 1: gate failed: FAIL: error rate \d+(\.\d+)?% > 2%/.test(
            r.report.reason,
          ),
        `outcome ${r.report?.outcome}: ${r.report?.reason}`,
      );
      const first = r.report.steps[0].checks[0];
      check(
        first.errors === 40,
        `step 1's check counted ${first.errors} errors, not the burst's 40`,
      );
      log(
        `burst of 40 ${code} answers: the check counted ${first.errors} errors of ${first.requests} requests`,
      );
      log(await expectWeights(stack, api, START));
    },
  },
  {
    key: "inconclusive",
    api: "istio",
    name: "rollout: a canary with too few requests (fewer than --min-requests 100000) is held, then rolled back, never promoted",
    run: async ({ workDir, stack, api, flags }) => {
      const r = await timed("rollout rolled back (inconclusive)", () =>
        rollout(workDir, flags("50,100", "100000")),
      );
      check(r.code === 1, `exit ${r.code}, not 1`);
      check(
        r.report?.outcome === "rolled-back" &&
          /^step 1: inconclusive after holding 3 s/.test(r.report.reason),
        `outcome ${r.report?.outcome}: ${r.report?.reason}`,
      );
      const checks = r.report.steps[0].checks;
      check(
        checks.length >= 2 &&
          checks.every((c: any) => c.verdict === "inconclusive"),
        JSON.stringify(checks),
      );
      log(`${checks.length} inconclusive checks, then the rollback`);
      log(await expectWeights(stack, api, START));
    },
  },
  {
    key: "sigint",
    api: "istio",
    name: "rollout: SIGINT mid-rollout (during step 2's up) rolls back to 80/20; a second rollout meanwhile is refused by the lock",
    run: async ({ workDir, stack, api, flags }) => {
      let second: Promise<RolloutRun> | undefined;
      let signalled: Promise<void> | undefined;
      let notSeen: unknown;
      let locksAtSignal = -1;
      let stepTwo = -1;
      const r = await timed("rollout rolled back (SIGINT)", () =>
        rollout(workDir, flags("25,50,100"), (line, child) => {
          if (/step 1\/3: up done/.test(line)) {
            second = rollout(workDir, flags("50,100"));
            // Step 2's up is the next the engine log gets: its header comes after the interval.
            stepTwo = engineUps(workDir).length;
            signalled = whenUpdating(workDir, stepTwo)
              .catch((e) => {
                notSeen = e; // interrupted all the same, so that the run ends
              })
              .then(() => {
                locksAtSignal = stackLocks("rollout").length;
                child.kill("SIGINT");
              });
          }
        }),
      );
      // For the log only: the engine's account of step 2's cancelled up, and how many ups the
      // rollback took (one refused with "the stack is currently locked" while the cancelled
      // update was still releasing the lock writes only its header here: the engine's error
      // goes to stderr, which the Automation API does not pass to onOutput).
      const ups = engineUps(workDir);
      log(
        `engine output of step 2's up (last lines):\n${(ups[stepTwo] ?? "").trim().split("\n").slice(-4).join("\n")}\n` +
          `then ${ups.length - stepTwo - 1} rollback up(s), the first ${(ups[stepTwo + 1] ?? "").includes("Updating (") ? "began an update" : "printed nothing (refused by the lock)"}`,
      );
      const other = await second!;
      check(signalled, "step 1's up never finished");
      await signalled;
      check(notSeen === undefined, String(notSeen));
      check(
        other.code === 2 &&
          /refused: another rollout is running on stack rollout \(pid \d+/.test(
            other.stdout,
          ),
        `second rollout: exit ${other.code}: ${other.stdout}`,
      );
      check(r.code === 130, `exit ${r.code}, not 130`);
      check(
        r.report?.outcome === "interrupted" &&
          r.report.reason === "interrupted by SIGINT during the up of step 2",
        `outcome ${r.report?.outcome}: ${r.report?.reason}`,
      );
      check(r.report.rollback?.ok, JSON.stringify(r.report.rollback));
      log(
        `reason: ${r.report.reason}; rollback up ${r.report.rollback?.upSeconds?.toFixed(1)} s`,
      );
      // What the user relies on: the start weights in the config, the deployed route and the
      // stack's outputs; both locks released; no operation left pending in the stack's state.
      log(await expectWeights(stack, api, START));
      const outputs = await stack.outputs();
      check(
        JSON.stringify(outputs.canaryWeights?.value) === JSON.stringify(START),
        `the stack's canaryWeights output is ${JSON.stringify(outputs.canaryWeights?.value)}`,
      );
      check(
        !fs.existsSync(path.join(workDir, ".rollout", "rollout.lock")),
        "the rollout's lock file is left behind",
      );
      check(
        locksAtSignal > 0,
        "the stack held no lock file when the signal was sent (where are the backend's locks?)",
      );
      const locks = stackLocks("rollout");
      check(
        locks.length === 0,
        `the stack is still locked: ${locks.join(", ")}`,
      );
      const pending = await pendingOperations(stack);
      check(
        pending.length === 0,
        `pulumi stack export shows pending operations: ${JSON.stringify(pending)}`,
      );
    },
  },
  {
    key: "promote",
    api: "istio",
    name: "rollout: a healthy canary is promoted 80/20 -> 50/50 -> 0/100, every gate passing",
    leaves: { v1: 0, v2: 100 },
    run: async ({ workDir, stack, api, flags }) => {
      const r = await timed("rollout promoted (istio)", () =>
        rollout(workDir, flags("50,100")),
      );
      check(r.code === 0, `exit ${r.code}, not 0`);
      check(r.report?.outcome === "promoted", `outcome ${r.report?.outcome}`);
      const checks = r.report.steps.flatMap((s: any) => s.checks);
      check(
        checks.every((c: any) => c.verdict === "pass"),
        JSON.stringify(checks),
      );
      // At 50/50 the canary gets about half of 100 rps over the window (one reporter counted);
      // the window is rounded up to whole seconds, and the counters are read at their last scrape.
      const first = r.report.steps[0].checks[0];
      check(
        first.requests > 30 * (first.windowSeconds - 1) &&
          first.requests < 70 * first.windowSeconds,
        `step 1 saw ${first.requests} requests in ${first.windowSeconds} s`,
      );
      log(`checks: ${checks.map((c: any) => c.summary).join(" / ")}`);
      log(await expectWeights(stack, api, { v1: 0, v2: 100 }));
    },
  },
  {
    key: "service",
    api: "istio",
    name: "rollout --service orders (a declared service, 90/10): an unhealthy orders v2 rolls back to 90/10, a healthy one is promoted to 0/100; the demo's backend stays at 80/20",
    run: async ({ workDir, stack, orders, flags }) =>
      rolloutOrders(workDir, stack, orders, flags("50,100")),
  },
  {
    key: "gateway-api",
    api: "gateway-api",
    name: "rollout: with routing.api gateway-api, a healthy canary is promoted through the HTTPRoute to 0/100",
    leaves: { v1: 0, v2: 100 },
    run: async ({ workDir, stack, api, flags }) => {
      const r = await timed("rollout promoted (gateway-api)", () =>
        rollout(workDir, flags("50,100")),
      );
      check(
        r.code === 0 && r.report?.outcome === "promoted",
        `exit ${r.code}, outcome ${r.report?.outcome}: ${r.report?.reason}`,
      );
      log(await expectWeights(stack, api, { v1: 0, v2: 100 }));
    },
  },
];

async function main(): Promise<number> {
  const only = (process.env.ROLLOUT_ONLY ?? "").split(",").filter(Boolean);
  const unknown = only.filter((k) => !SCENARIOS.some((s) => s.key === k));
  check(
    unknown.length === 0,
    `ROLLOUT_ONLY: no scenario ${unknown.join(", ")} (keys: ${SCENARIOS.map((s) => s.key).join(", ")})`,
  );
  const repeat = Number(process.env.ROLLOUT_REPEAT ?? "1");
  check(
    Number.isInteger(repeat) && repeat >= 1,
    `ROLLOUT_REPEAT must be a whole number from 1 (got ${process.env.ROLLOUT_REPEAT})`,
  );
  const selected = SCENARIOS.filter(
    (s) => only.length === 0 || only.includes(s.key),
  );
  const workDir = copyProject();
  const binary =
    process.env.PROMETHEUS_BIN ??
    (process.env.PATH ?? "")
      .split(":")
      .map((d) => path.join(d, "prometheus"))
      .find((f) => fs.existsSync(f));
  check(
    binary,
    "no prometheus on PATH: apt-get install -y prometheus (as root), or set PROMETHEUS_BIN",
  );
  let api: Api = "istio";
  let exporter: Exporter | undefined;
  let orders: Exporter | undefined;
  const withOrders = selected.some((s) => s.key === "service");
  let prom: PrometheusServer | undefined;
  try {
    let stack: Stack | undefined;
    for (const apiNow of ["istio", "gateway-api"] as const) {
      const scenarios = selected.filter((s) => s.api === apiNow);
      if (scenarios.length === 0) {
        continue;
      }
      const name = apiNow === "istio" ? "rollout" : "rollout-gwapi";
      if (stack) {
        const done = stack;
        await timed(`destroy (${done.name})`, () =>
          done.destroy({ onOutput: pulumiLog }),
        );
      }
      api = apiNow;
      stack = await deploy(
        workDir,
        name,
        api,
        withOrders && api === "istio" ? ORDERS_CONFIG : [],
      );
      if (exporter === undefined) {
        exporter = await startExporter({
          namespace: DEMO,
          service: "backend",
          versions: ["v1", "v2"],
          readWeights: () => routeWeights(api),
          rps: 100,
        });
        orders = withOrders ? await startOrdersExporter() : undefined;
        prom = await startPrometheus(
          binary,
          path.join(WORK, "prometheus"),
          [exporter, ...(orders ? [orders] : [])].map(
            (e) => new URL(e.url).host,
          ),
        );
        log(
          `prometheus pid ${prom.pid} at ${prom.url}, scraping ${[exporter, ...(orders ? [orders] : [])].map((e) => e.url).join(" and ")} every 1 s`,
        );
      }
      const c: Context = {
        workDir,
        stack,
        api,
        exporter,
        orders,
        flags: (steps: string, minRequests = "20") => [
          "--stack",
          name,
          ...FLAGS,
          "--min-requests",
          minRequests,
          "--steps",
          steps,
          "--prometheus",
          prom!.url,
        ],
      };
      for (const [n, s] of scenarios.entries()) {
        for (let i = 1; i <= repeat; i++) {
          await step(
            repeat > 1 ? `${s.name} (run ${i}/${repeat})` : s.name,
            () => s.run(c),
          );
          if (s.leaves && (i < repeat || n < scenarios.length - 1)) {
            await restart(stack);
          }
        }
      }
    }
  } finally {
    await prom?.stop();
    await exporter?.stop();
    await orders?.stop();
  }
  return report(selected.length * repeat);
}

main().then(
  (code) => process.exit(code),
  (e) => {
    log(`FAIL rollout test bed: ${e instanceof Error ? e.stack : e}`);
    process.exit(1);
  },
);
