// `npm run rollout -- --stack <stack> --to <version> [--service <name>] [...]`: a metric-gated
// canary rollout driven through the stack itself. Each step sets the weights in the stack's config
// (canary.weights for the demo backend; services.<name>.versions.<version>.weight with --service)
// and runs `up` (Automation API: the same program and validation), waits the interval, asks
// Prometheus for the canary's error rate and p99 (Istio's standard metrics), and advances, holds
// or rolls back. A failing gate, a failed `up`, or Ctrl-C puts the start weights back with one
// more `up`. See docs/progressive-delivery.md. Runs through tools/register.js, like the program and
// `npm run recover`.
import { commandGist } from "../automation";
import * as fs from "fs";
import * as path from "path";
import { parseRolloutArgs, ROLLOUT_USAGE, type RolloutOptions } from "./args";
import { parseOrExit } from "../flags";
import { preflight } from "../preflight.js";
import { acquireLock, type HeldLock, LockHeldError, lockPath } from "./lock";
import { formatWeights, PlanError, planRollout, sameWeights } from "./plan";
import { isInteractive, Progress } from "./progress";
import { Prometheus } from "./prometheus";
import { canaryQueries, reporterFor, WINDOW_RULE } from "./promql";
import { exitCode, type RolloutReport } from "./report";
import { runRollout } from "./runner";
import { DEMO_SERVICE, metricTarget } from "./service";
import { AutomationStack } from "./stack";

const HELP = `${ROLLOUT_USAGE}

Shifts traffic to --to step by step through the stack's config and 'pulumi up', gated on the
canary's error rate and p99 latency from Prometheus (Istio's standard metrics). A failing gate,
a step that stays inconclusive, a failed 'up' or Ctrl-C rolls back to the start weights.
Without --service it moves the demo backend's canary.weights; --service <name> moves a service
declared in the stack config's services (services.<name>.versions.<version>.weight), watching
the pods its stack output services.<name>.metrics names. One rollout per stack at a time.
Needs the pulumi CLI, logged in, and PULUMI_CONFIG_PASSPHRASE (or PULUMI_CONFIG_PASSPHRASE_FILE)
when the stack's secrets use a passphrase (a local backend's default): checked before anything.
Exit codes: 0 promoted, 1 rolled back, 2 refused (bad flags; the CLI, login or passphrase
missing; plan; lock), 3 rollback failed, 130/143 interrupted (rolled back). See
docs/progressive-delivery.md.`;

const sleep = (ms: number, signal: AbortSignal) =>
  new Promise<void>((resolve) => {
    const t = setTimeout(resolve, ms);
    signal.addEventListener("abort", () => (clearTimeout(t), resolve()), {
      once: true,
    });
  });

function writeReport(
  file: string | undefined,
  report: RolloutReport,
  progress: Progress,
): void {
  if (file) {
    fs.writeFileSync(file, JSON.stringify(report, null, 2) + "\n");
    progress.say(`report written to ${file}`);
  }
}

async function rollout(
  opts: RolloutOptions,
  workDir: string,
  progress: Progress,
  abort: AbortController,
): Promise<number> {
  const logFile = lockPath(workDir, opts.stack).replace(/\.lock$/, ".log");
  const stack = await AutomationStack.open(
    opts.stack,
    workDir,
    logFile,
    opts.service,
  );
  const where = stack.place;
  const facts = await stack.facts();
  if (
    facts.deployedWeights &&
    !sameWeights(facts.deployedWeights, facts.configWeights)
  ) {
    progress.say(
      `refused: the stack's config ${where.label} (${formatWeights(facts.configWeights)}) differs from what was last deployed ` +
        `(${where.output}: ${formatWeights(facts.deployedWeights)}); run 'pulumi up' or revert the config first, so a rollback has a deployed split to return to`,
    );
    return 2;
  }
  const plan = planRollout(facts.configWeights, opts.to, opts.steps, where);
  // Before any change: a target whose pods the metrics cannot name is refused here.
  const target = metricTarget(facts, where, opts.to);
  const report: RolloutReport = {
    stack: opts.stack,
    service: opts.service ?? DEMO_SERVICE,
    target: plan.target,
    stable: plan.stable,
    startWeights: plan.start,
    steps: [],
    thresholds: opts.thresholds,
    intervalSeconds: opts.intervalMs / 1000,
    prometheus: opts.prometheus,
    queries: canaryQueries(target, opts.intervalMs / 1000),
    skippedSteps: plan.skipped,
    startedAt: new Date().toISOString(),
  };
  progress.say(
    `stack ${opts.stack} (${facts.dataplane}, routing ${facts.routingApi}), ${where.service ?? `the demo's ${DEMO_SERVICE}`}: ` +
      `${plan.target} takes traffic from ${plan.stable}, starting at ${formatWeights(plan.start)}; ` +
      `metrics reporter="${reporterFor(facts.dataplane)}", namespace ${target.namespace}, ` +
      `canonical service ${target.service}, revision ${target.revision}`,
  );
  if (facts.protocol === "grpc") {
    progress.say(
      `  note: ${where.service} is grpc: the error gate counts HTTP 5xx answers, not gRPC errors answered with HTTP 200 and a grpc-status`,
    );
  }
  for (const s of plan.steps) {
    progress.say(
      `  step ${s.index}/${plan.steps.length} (${s.percent}%): ${formatWeights(s.weights)}`,
    );
  }
  if (plan.skipped.length > 0) {
    progress.say(
      `  skipped --steps ${plan.skipped.join(",")}: ${plan.target} already has that share`,
    );
  }
  const prometheus = new Prometheus(opts.prometheus);
  if (opts.dryRun) {
    for (const [name, q] of Object.entries(report.queries)) {
      progress.say(`${name}: ${q}`);
    }
    progress.say(`then: ${WINDOW_RULE}`);
    try {
      const s = await prometheus.sample(report.queries);
      progress.say(
        `now (last ${report.intervalSeconds} s): ${JSON.stringify(s)}`,
      );
    } catch (e) {
      progress.say(`Prometheus not reachable: ${(e as Error).message}`);
    }
    report.outcome = "dry-run";
    report.endedAt = new Date().toISOString();
    writeReport(opts.report, report, progress);
    return 0;
  }
  progress.say(`engine output: ${logFile}`);
  await runRollout(
    plan,
    report,
    {
      intervalMs: opts.intervalMs,
      thresholds: opts.thresholds,
      tickMs: progress.interactive ? 1000 : opts.intervalMs,
      abort: abort.signal,
    },
    {
      stack,
      metrics: { sample: (w) => prometheus.sample(canaryQueries(target, w)) },
      clock: { now: () => Date.now(), sleep },
      emit: (e) => progress.event(e),
    },
  );
  writeReport(opts.report, report, progress);
  return exitCode(report.outcome!, String(abort.signal.reason));
}

async function main(): Promise<number> {
  const workDir = process.cwd();
  const progress = new Progress(
    process.stdout,
    isInteractive(process.stdout, process.env),
  );
  const opts = parseOrExit(
    "rollout",
    () => parseRolloutArgs(process.argv.slice(2), workDir),
    HELP,
  );
  if (typeof opts === "number") {
    return opts;
  }
  if (opts.report && !fs.existsSync(path.dirname(opts.report))) {
    process.stderr.write(
      `rollout: refused: --report ${opts.report}: its folder does not exist; create it or name another file\n`,
    );
    return 2;
  }
  // Before the lock and the stack: the CLI, its login and the passphrase, one line each.
  const { problems } = preflight({ stack: opts.stack, cwd: workDir });
  if (problems.length > 0) {
    problems.forEach((p) => progress.say(`refused: ${p}`));
    return 2;
  }
  // Signals first: from here on Ctrl-C means "roll back", never "die half-way".
  const abort = new AbortController();
  const onSignal = (sig: NodeJS.Signals) => {
    if (!abort.signal.aborted) {
      progress.say(
        `${sig}: stopping; the in-flight up (if any) is cancelled, then the start weights are put back`,
      );
      abort.abort(sig);
    } else {
      progress.say(`${sig} again: the rollback runs to its end; wait for it`);
    }
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  let lock: HeldLock | undefined;
  try {
    if (!opts.dryRun) {
      // One rollout per stack, whichever service it moves: each `up` applies the whole stack.
      lock = acquireLock(
        workDir,
        { stack: opts.stack, to: opts.to, service: opts.service },
        (m) => progress.say(m),
      );
    }
    return await rollout(opts, workDir, progress, abort);
  } catch (e) {
    if (e instanceof LockHeldError || e instanceof PlanError) {
      progress.say(`refused: ${e.message}`);
      return 2;
    }
    progress.say(`failed before any change: ${commandGist(e)}`);
    return 2;
  } finally {
    lock?.release();
  }
}

main().then(
  (code) => process.exit(code),
  (e) => {
    process.stderr.write(`rollout: ${(e as Error).stack ?? e}\n`);
    process.exit(2);
  },
);
