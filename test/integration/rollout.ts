// The rollout's test bed proof (`npm run test:rollout`, test/integration/rollout.sh): `npm run
// rollout` as users run it, against a real stack (the real engine, provider and istiod on the test
// bed's API server), a real Prometheus (Debian's package, run on 127.0.0.1) and our stand-in for
// the backend proxies' Istio metrics (istioMetrics.ts), whose traffic follows the weights the API
// server holds. Healthy canaries are promoted, an unhealthy one and an interrupted one roll back,
// a second rollout is refused; each ends with the API server's route and the stack's config at
// the weights it must. The metrics never come from a real Envoy: none runs here.
import * as fs from "fs";
import * as path from "path";
import {
  check,
  copyProject,
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

/** Resolves once the next `up` of stack rollout has begun its update (the engine log says so). */
async function whenUpdating(workDir: string): Promise<void> {
  const file = path.join(workDir, ".rollout", "rollout.log");
  const blocks = () => fs.readFileSync(file, "utf8").split("\n=== pulumi up ");
  const before = blocks().length;
  for (let i = 0; i < 400; i++) {
    const now = blocks();
    if (now.length > before && now[before].includes("Updating (")) {
      return;
    }
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error("the up of step 2 did not begin within 10 s");
}

async function main(): Promise<number> {
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
  let prom: PrometheusServer | undefined;
  try {
    let stack = await deploy(workDir, "rollout", api);
    exporter = await startExporter({
      namespace: DEMO,
      service: "backend",
      versions: ["v1", "v2"],
      readWeights: () => routeWeights(api),
      rps: 100,
    });
    prom = await startPrometheus(
      binary,
      path.join(WORK, "prometheus"),
      new URL(exporter.url).host,
    );
    log(
      `prometheus pid ${prom.pid} at ${prom.url}, scraping ${exporter.url} every 1 s`,
    );
    const flags = (steps: string, minRequests = "20") => [
      "--stack",
      "rollout",
      ...FLAGS,
      "--min-requests",
      minRequests,
      "--steps",
      steps,
      "--prometheus",
      prom!.url,
    ];

    await step(
      "rollout: a dry run changes nothing; an unhealthy canary (v2 answers 30 % 503) rolls back to 80/20 after the first step's gate",
      async () => {
        exporter!.set("v2", { errorRate: 0.3 });
        const dry = await rollout(workDir, [...flags("50,100"), "--dry-run"]);
        check(
          dry.code === 0 && dry.report?.outcome === "dry-run",
          `dry run: exit ${dry.code}: ${dry.stdout}`,
        );
        check(
          dry.stdout.includes(`requests: ${dry.report.queries.requests}`) &&
            dry.report.queries.requests.includes('reporter="destination"'),
          "the dry run does not print the queries",
        );
        log(`dry run: ${await expectWeights(stack, api, START)}`);
        const r = await timed("rollout rolled back (unhealthy)", () =>
          rollout(workDir, flags("50,100")),
        );
        exporter!.set("v2", { errorRate: 0 });
        check(r.code === 1, `exit ${r.code}, not 1`);
        check(
          r.report?.outcome === "rolled-back",
          `outcome ${r.report?.outcome}`,
        );
        check(
          /^step 1: gate failed: FAIL: error rate 3\d(\.\d+)?% > 2%/.test(
            r.report.reason,
          ),
          `reason: ${r.report.reason}`,
        );
        check(
          r.report.steps.length === 1 && r.report.rollback?.ok,
          JSON.stringify(r.report.steps),
        );
        log(await expectWeights(stack, api, START));
      },
    );

    await step(
      "rollout: a canary with too few requests (fewer than --min-requests 100000) is held, then rolled back, never promoted",
      async () => {
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
    );

    await step(
      "rollout: SIGINT mid-rollout (during step 2's up) rolls back to 80/20; a second rollout meanwhile is refused by the lock",
      async () => {
        let second: Promise<RolloutRun> | undefined;
        const r = await timed("rollout rolled back (SIGINT)", () =>
          rollout(workDir, flags("25,50,100"), (line, child) => {
            if (/step 1\/3: up done/.test(line)) {
              second = rollout(workDir, flags("50,100"));
            }
            if (/step 2\/3 \(50%\): setting/.test(line)) {
              // SIGINT once the engine has begun step 2's update (an up takes 2-6 s here).
              void whenUpdating(workDir)
                .catch((e) => log(`${e}; interrupting anyway`))
                .then(() => child.kill("SIGINT"));
            }
          }),
        );
        const other = await second!;
        check(
          other.code === 2 &&
            /refused: another rollout is running on stack rollout \(pid \d+/.test(
              other.stdout,
            ),
          `second rollout: exit ${other.code}: ${other.stdout}`,
        );
        check(r.code === 130, `exit ${r.code}, not 130`);
        check(
          r.report?.outcome === "interrupted",
          `outcome ${r.report?.outcome}`,
        );
        check(
          /^interrupted by SIGINT/.test(r.report.reason),
          `reason: ${r.report.reason}`,
        );
        check(
          !fs.existsSync(path.join(workDir, ".rollout", "rollout.lock")),
          "the lock file is left behind",
        );
        log(
          `reason: ${r.report.reason}; rollback up ${r.report.rollback?.upSeconds?.toFixed(1)} s`,
        );
        // The engine's own account of the cancelled up: the next-to-last up in the engine log.
        const ups = fs
          .readFileSync(path.join(workDir, ".rollout", "rollout.log"), "utf8")
          .split("\n=== pulumi up ");
        const cancelled = ups[ups.length - 2].trim().split("\n");
        log(
          `engine output of the cancelled up (last lines):\n${cancelled.slice(-6).join("\n")}`,
        );
        check(
          /cancel/i.test(cancelled.join("\n")),
          "the engine did not report a cancelled update",
        );
        check(
          r.report.reason === "interrupted by SIGINT during the up of step 2",
          `reason: ${r.report.reason}`,
        );
        log(await expectWeights(stack, api, START));
      },
    );

    await step(
      "rollout: a healthy canary is promoted 80/20 -> 50/50 -> 0/100, every gate passing",
      async () => {
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
        // At 50/50 the canary gets about half of 100 rps over the window (one reporter counted).
        const first = r.report.steps[0].checks[0];
        check(
          first.requests > 30 * first.windowSeconds &&
            first.requests < 70 * first.windowSeconds,
          `step 1 saw ${first.requests} requests in ${first.windowSeconds} s`,
        );
        log(`checks: ${checks.map((c: any) => c.summary).join(" / ")}`);
        log(await expectWeights(stack, api, { v1: 0, v2: 100 }));
      },
    );

    await timed("destroy (rollout)", () =>
      stack.destroy({ onOutput: pulumiLog }),
    );
    api = "gateway-api";
    stack = await deploy(workDir, "rollout-gwapi", api);
    await step(
      "rollout: with routing.api gateway-api, a healthy canary is promoted through the HTTPRoute to 0/100",
      async () => {
        const r = await timed("rollout promoted (gateway-api)", () =>
          rollout(workDir, [
            ...flags("50,100").map((a) =>
              a === "rollout" ? "rollout-gwapi" : a,
            ),
          ]),
        );
        check(
          r.code === 0 && r.report?.outcome === "promoted",
          `exit ${r.code}, outcome ${r.report?.outcome}: ${r.report?.reason}`,
        );
        log(await expectWeights(stack, api, { v1: 0, v2: 100 }));
      },
    );
  } finally {
    await prom?.stop();
    await exporter?.stop();
  }
  return report(5);
}

main().then(
  (code) => process.exit(code),
  (e) => {
    log(`FAIL rollout test bed: ${e instanceof Error ? e.stack : e}`);
    process.exit(1);
  },
);
