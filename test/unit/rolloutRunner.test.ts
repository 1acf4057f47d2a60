// The rollout loop under fakes (a stack that records each config write and `up`, canned metrics, a
// clock that jumps): promotion, and every way back to the start weights, each with the outcome and
// exit code a user sees.
import * as assert from "assert";
import type { Sample } from "../../tools/rollout/gates";
import { planRollout, type Weights } from "../../tools/rollout/plan";
import {
  exitCode,
  type RolloutEvent,
  type RolloutReport,
} from "../../tools/rollout/report";
import { runRollout, type StackPort } from "../../tools/rollout/runner";

const START: Weights = { v1: 80, v2: 20 };
const HEALTHY: Sample = { requests: 100, errors: 0, p99Ms: 40 };
const FAILING: Sample = { requests: 100, errors: 30, p99Ms: 40 };
const QUIET: Sample = { requests: 2, errors: 0, p99Ms: 40 };

class LockedError extends Error {}

interface Scenario {
  /** The sample of each check, in order; the last repeats. */
  samples: Sample[];
  /** Called at the start of each `up` (1-based); may abort, or throw to fail it. */
  onUp?: (n: number, abort: AbortController) => void;
  /** Aborts when the clock passes this time (ms). */
  abortAt?: number;
  rollbackFails?: boolean;
  /**
   * The rollback's first `up`s find the stack locked: by an update still finishing (released
   * after this many attempts), or by a process that died holding it ("stale", removable).
   */
  rollbackLocked?: { attempts: number; stale: boolean };
}

async function run(s: Scenario) {
  const plan = planRollout(START, "v2", [50, 100]);
  const abort = new AbortController();
  let now = 0;
  let config: Weights = { ...START };
  let deployed: Weights = { ...START };
  const ups: Weights[] = [];
  const events: RolloutEvent[] = [];
  let checks = 0;
  let lockedAttempts = 0;
  let released = 0;
  const stack: StackPort = {
    setWeights: async (w) => {
      config = { ...w };
    },
    up: async (signal) => {
      ups.push({ ...config });
      s.onUp?.(ups.length, abort);
      if (signal?.aborted) {
        throw new Error("update canceled");
      }
      if (s.rollbackFails && !signal) {
        throw new Error("connection refused");
      }
      if (
        !signal &&
        s.rollbackLocked &&
        lockedAttempts < s.rollbackLocked.attempts
      ) {
        lockedAttempts++;
        throw new LockedError("the stack is currently locked by 1 lock(s)");
      }
      now += 5000;
      deployed = { ...config };
      return { outputWeights: deployed };
    },
    isLockedError: (e) => e instanceof LockedError,
    releaseStaleLock: async () => {
      if (!s.rollbackLocked?.stale) {
        return false;
      }
      released++;
      lockedAttempts = s.rollbackLocked.attempts;
      return true;
    },
  };
  const report: RolloutReport = {
    stack: "dev",
    target: "v2",
    stable: "v1",
    startWeights: START,
    steps: [],
    thresholds: { maxErrorRatePercent: 1, maxP99Ms: 500, minRequests: 20 },
    intervalSeconds: 10,
    prometheus: "http://127.0.0.1:9090",
    queries: {
      requests: "",
      requestsAtStart: "",
      latency: "",
      latencyAtStart: "",
    },
    skippedSteps: [],
    startedAt: "",
  };
  await runRollout(
    plan,
    report,
    {
      intervalMs: 10_000,
      thresholds: report.thresholds,
      tickMs: 1000,
      abort: abort.signal,
    },
    {
      stack,
      metrics: {
        sample: async () => {
          if (s.samples.length === 0) {
            throw new Error(
              "Prometheus at http://127.0.0.1:9090 did not answer (ECONNREFUSED)",
            );
          }
          return s.samples[Math.min(checks++, s.samples.length - 1)];
        },
      },
      clock: {
        now: () => now,
        sleep: async (ms) => {
          now += ms;
          if (
            s.abortAt !== undefined &&
            now >= s.abortAt &&
            !abort.signal.aborted
          ) {
            abort.abort("SIGINT");
          }
        },
      },
      emit: (e) => events.push(e),
    },
  );
  return { report, config, deployed, ups, events, abort, released };
}

describe("the rollout loop", () => {
  it("WHEN every check passes THEN each step is applied through config and up, and it ends promoted", async () => {
    const r = await run({ samples: [HEALTHY] });
    assert.strictEqual(r.report.outcome, "promoted");
    assert.deepStrictEqual(r.ups, [
      { v1: 50, v2: 50 },
      { v1: 0, v2: 100 },
    ]);
    assert.deepStrictEqual(r.config, { v1: 0, v2: 100 });
    assert.deepStrictEqual(r.deployed, { v1: 0, v2: 100 });
    assert.deepStrictEqual(
      r.report.steps.map((s) => [
        s.percent,
        s.result,
        s.checks.length,
        s.upSeconds,
      ]),
      [
        [50, "passed", 1, 5],
        [100, "passed", 1, 5],
      ],
    );
    // The first window covers the interval since the step's up returned.
    assert.strictEqual(r.report.steps[0].checks[0].windowSeconds, 10);
    assert.strictEqual(exitCode(r.report.outcome!), 0);
  });

  it("WHEN a gate fails at the second step THEN one more up restores the start weights, and it exits 1", async () => {
    const r = await run({ samples: [HEALTHY, FAILING] });
    assert.strictEqual(r.report.outcome, "rolled-back");
    assert.deepStrictEqual(r.ups, [
      { v1: 50, v2: 50 },
      { v1: 0, v2: 100 },
      START,
    ]);
    assert.deepStrictEqual(r.config, START);
    assert.deepStrictEqual(r.deployed, START);
    assert.match(
      r.report.reason!,
      /^step 2: gate failed: FAIL: error rate 30% > 1%/,
    );
    assert.deepStrictEqual(r.report.rollback, { ok: true, upSeconds: 5 });
    assert.strictEqual(exitCode(r.report.outcome!), 1);
  });

  it("WHEN a step is inconclusive, then passes within the hold budget THEN it holds and advances", async () => {
    const r = await run({ samples: [QUIET, QUIET, HEALTHY] });
    assert.strictEqual(r.report.outcome, "promoted");
    const first = r.report.steps[0].checks;
    assert.deepStrictEqual(
      first.map((c) => [c.verdict, c.windowSeconds]),
      [
        ["inconclusive", 10],
        ["inconclusive", 12],
        ["pass", 14],
      ],
    );
  });

  it("WHEN a step stays inconclusive THEN it rolls back once the budget (one interval) is spent: never a pass", async () => {
    const r = await run({ samples: [QUIET] });
    assert.strictEqual(r.report.outcome, "rolled-back");
    assert.strictEqual(r.report.steps[0].checks.length, 6); // at 10 s, then every 2 s up to 20 s
    assert.match(r.report.reason!, /^step 1: inconclusive after holding 10 s/);
    assert.deepStrictEqual(r.deployed, START);
  });

  it("WHEN Prometheus cannot be reached THEN the check is inconclusive, and the rollout rolls back, never promotes", async () => {
    const r = await run({ samples: [] });
    assert.strictEqual(r.report.outcome, "rolled-back");
    assert.match(
      r.report.steps[0].checks[0].summary,
      /^INCONCLUSIVE: no metrics/,
    );
  });

  it("WHEN SIGINT arrives while a step waits THEN it rolls back and exits 130", async () => {
    const r = await run({ samples: [HEALTHY], abortAt: 20_000 });
    assert.strictEqual(r.report.outcome, "interrupted");
    assert.match(r.report.reason!, /^interrupted by SIGINT/);
    assert.deepStrictEqual(r.ups, [
      { v1: 50, v2: 50 },
      { v1: 0, v2: 100 },
      START,
    ]);
    assert.deepStrictEqual(r.deployed, START);
    assert.strictEqual(exitCode(r.report.outcome!, "SIGINT"), 130);
    assert.strictEqual(exitCode(r.report.outcome!, "SIGTERM"), 143);
  });

  it("WHEN SIGINT arrives during an up THEN that up is cancelled and one more up restores the start weights", async () => {
    const r = await run({
      samples: [HEALTHY],
      onUp: (n, abort) => n === 2 && abort.abort("SIGINT"),
    });
    assert.strictEqual(r.report.outcome, "interrupted");
    assert.strictEqual(
      r.report.reason,
      "interrupted by SIGINT during the up of step 2",
    );
    assert.strictEqual(r.report.steps[1].result, "interrupted");
    assert.deepStrictEqual(r.ups[2], START);
    assert.deepStrictEqual(r.config, START);
    assert.deepStrictEqual(r.deployed, START);
  });

  it("WHEN an up fails THEN it rolls back with the engine's message", async () => {
    const r = await run({
      samples: [HEALTHY],
      onUp: (n) => {
        if (n === 2) {
          throw new Error("kube-apiserver: connection refused");
        }
      },
    });
    assert.strictEqual(r.report.outcome, "rolled-back");
    assert.strictEqual(
      r.report.reason,
      "pulumi up failed at step 2: kube-apiserver: connection refused",
    );
    assert.deepStrictEqual(r.deployed, START);
  });

  it("WHEN another update holds the stack at the first up THEN only the config is restored, no up runs, and it exits 2", async () => {
    const r = await run({
      samples: [HEALTHY],
      onUp: (n) => {
        if (n === 1) {
          throw new LockedError("the stack is currently locked by 1 lock(s)");
        }
      },
    });
    assert.strictEqual(r.report.outcome, "refused");
    assert.strictEqual(r.ups.length, 1);
    assert.deepStrictEqual(r.config, START);
    assert.strictEqual(exitCode(r.report.outcome!), 2);
  });

  it("WHEN the rollback's own up fails THEN it says so, the config holds the start weights, and it exits 3", async () => {
    const r = await run({ samples: [FAILING], rollbackFails: true });
    assert.strictEqual(r.report.outcome, "rollback-failed");
    assert.deepStrictEqual(r.config, START);
    assert.deepStrictEqual(r.report.rollback, {
      ok: false,
      upSeconds: 0,
      error: "connection refused",
    });
    assert.strictEqual(exitCode(r.report.outcome!), 3);
  });

  it("WHEN the cancelled up still holds the stack's lock THEN the rollback waits for it and succeeds", async () => {
    const r = await run({
      samples: [HEALTHY],
      onUp: (n, abort) => n === 2 && abort.abort("SIGINT"),
      rollbackLocked: { attempts: 3, stale: false },
    });
    assert.strictEqual(r.report.outcome, "interrupted");
    assert.strictEqual(r.report.rollback?.ok, true);
    assert.deepStrictEqual(r.deployed, START);
    assert.strictEqual(r.released, 0);
  });

  it("WHEN the cancelled up died holding the lock THEN the stale lock is removed and the rollback succeeds", async () => {
    const r = await run({
      samples: [HEALTHY],
      onUp: (n, abort) => n === 2 && abort.abort("SIGINT"),
      rollbackLocked: { attempts: 100, stale: true },
    });
    assert.strictEqual(r.report.outcome, "interrupted");
    assert.deepStrictEqual(r.deployed, START);
    assert.strictEqual(r.released, 1);
  });

  it("WHEN a live process keeps the lock past the wait THEN the rollback fails and says so (exit 3)", async () => {
    const r = await run({
      samples: [FAILING],
      rollbackLocked: { attempts: 1000, stale: false },
    });
    assert.strictEqual(r.report.outcome, "rollback-failed");
    assert.strictEqual(exitCode(r.report.outcome!), 3);
    assert.deepStrictEqual(r.config, START);
  });

  it("WHEN it runs THEN the display gets each step, its checks, the rollback and the end", async () => {
    const r = await run({ samples: [HEALTHY, FAILING] });
    const kinds = r.events.filter((e) => e.kind !== "wait").map((e) => e.kind);
    assert.deepStrictEqual(kinds, [
      "apply",
      "applied",
      "check",
      "apply",
      "applied",
      "check",
      "rollback",
      "done",
    ]);
    const waits = r.events.filter((e) => e.kind === "wait");
    assert.deepStrictEqual(
      waits.slice(0, 3).map((e) => (e as { remainingMs: number }).remainingMs),
      [10_000, 9000, 8000],
    );
  });
});
