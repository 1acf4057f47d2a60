// The rollout loop: for each step, set the weights in the stack's config, `up`, wait the interval,
// judge the canary's metrics, and advance, hold or roll back. It talks to the stack, Prometheus and
// the clock only through the ports below, so the unit tests drive it with fakes.
import type { Thresholds } from "./args";
import {
  decide,
  errorRatePercent,
  evaluateGates,
  type Sample,
  type Verdict,
} from "./gates";
import type { Plan, Weights } from "./plan";
import { sameWeights } from "./plan";
import type {
  CheckRecord,
  RolloutEvent,
  RolloutReport,
  StepRecord,
} from "./report";

export interface StackPort {
  /** Writes every version's weight into the stack's config (keys: service.ts, weightsPlace). */
  setWeights(w: Weights): Promise<void>;
  /** Runs `up`, cancelled (SIGINT to the engine) when `signal` aborts; returns the deployed weights. */
  up(signal?: AbortSignal): Promise<{ outputWeights?: Weights }>;
  /** The output the deployed weights come from, for messages (default canaryWeights). */
  readonly weightsOutput?: string;
  /** Whether an `up` failed because another update holds the stack's lock. */
  isLockedError(e: unknown): boolean;
  /**
   * When `e` says the stack is locked by a process of this host that is gone (our own update,
   * cancelled and killed before it released the lock), removes that lock and returns true.
   */
  releaseStaleLock(e: unknown): Promise<boolean>;
}

/** How long a rollback waits for a lock that a cancelled update is still releasing. */
export const ROLLBACK_LOCK_WAIT_MS = 60_000;

export interface MetricsPort {
  /**
   * The canary's requests, errors and p99 over the last `windowSeconds` (to the millisecond: the
   * window begins when the step's `up` returned).
   */
  sample(windowSeconds: number): Promise<Sample>;
}

export interface ClockPort {
  now(): number;
  /** Resolves after `ms`, or as soon as `signal` aborts. */
  sleep(ms: number, signal: AbortSignal): Promise<void>;
}

export interface RunnerOptions {
  readonly intervalMs: number;
  readonly thresholds: Thresholds;
  /** How often the progress display is refreshed while waiting. */
  readonly tickMs: number;
  /** Aborted by SIGINT or SIGTERM; its reason names the signal. */
  readonly abort: AbortSignal;
}

export interface Ports {
  readonly stack: StackPort;
  readonly metrics: MetricsPort;
  readonly clock: ClockPort;
  readonly emit: (e: RolloutEvent) => void;
}

const message = (e: unknown) =>
  (e instanceof Error ? e.message : String(e)).trim();

/** Why the rollout stops short: the reason, and the outcome it leads to. */
class Stop {
  constructor(
    readonly reason: string,
    readonly interrupted: boolean,
    /** The cluster is known unchanged: restoring the config is enough. */
    readonly configOnly = false,
  ) {}
}

/** Runs the plan; fills and returns the report (the caller created it with the plan's facts). */
export async function runRollout(
  plan: Plan,
  report: RolloutReport,
  opts: RunnerOptions,
  ports: Ports,
): Promise<RolloutReport> {
  const { stack, metrics, clock, emit } = ports;
  const started = clock.now();
  const of = plan.steps.length;
  const interrupted = () =>
    new Stop(`interrupted by ${String(opts.abort.reason ?? "a signal")}`, true);

  /** Waits `ms`, refreshing the display; throws Stop when interrupted. */
  const wait = async (step: StepRecord, ms: number) => {
    const until = clock.now() + ms;
    for (let left = ms; left > 0; left = until - clock.now()) {
      if (opts.abort.aborted) {
        throw interrupted();
      }
      emit({
        kind: "wait",
        step,
        of,
        remainingMs: left,
        last: step.checks[step.checks.length - 1],
      });
      await clock.sleep(Math.min(opts.tickMs, left), opts.abort);
    }
    if (opts.abort.aborted) {
      throw interrupted();
    }
  };

  const runStep = async (step: StepRecord, first: boolean) => {
    if (opts.abort.aborted) {
      // Before the first step nothing has changed yet: restoring the config is enough.
      throw new Stop(interrupted().reason, true, first);
    }
    emit({ kind: "apply", step, of });
    await stack.setWeights(step.weights);
    const upStart = clock.now();
    let outputWeights: Weights | undefined;
    try {
      ({ outputWeights } = await stack.up(opts.abort));
    } catch (e) {
      step.upSeconds = (clock.now() - upStart) / 1000;
      if (opts.abort.aborted) {
        step.result = "interrupted";
        throw new Stop(
          `${interrupted().reason} during the up of step ${step.index}`,
          true,
        );
      }
      step.result = "up-failed";
      const locked = first && stack.isLockedError(e);
      throw new Stop(
        locked
          ? `the stack is locked by another update (${message(e).split("\n")[0]}); nothing was changed`
          : `pulumi up failed at step ${step.index}: ${message(e)}`,
        false,
        locked,
      );
    }
    step.upSeconds = (clock.now() - upStart) / 1000;
    if (outputWeights && !sameWeights(outputWeights, step.weights)) {
      step.result = "up-failed";
      throw new Stop(
        `after step ${step.index} the stack outputs ${stack.weightsOutput ?? "canaryWeights"} ${JSON.stringify(outputWeights)}, not the planned ${JSON.stringify(step.weights)}`,
        false,
      );
    }
    const appliedAt = clock.now();
    emit({ kind: "applied", step, of });
    await wait(step, opts.intervalMs);
    let heldMs = 0;
    for (;;) {
      const windowMs = clock.now() - appliedAt;
      const windowSeconds = Math.ceil(windowMs / 1000);
      let verdict: Verdict;
      let sample: Sample;
      try {
        sample = await metrics.sample(windowMs / 1000);
        verdict = evaluateGates(sample, opts.thresholds);
      } catch (e) {
        // Prometheus unreachable or refusing: no verdict, which never passes.
        sample = { requests: 0, errors: 0, p99Ms: null };
        verdict = {
          kind: "inconclusive",
          checks: [],
          summary: `INCONCLUSIVE: no metrics (${message(e)})`,
        };
      }
      const check: CheckRecord = {
        at: (clock.now() - started) / 1000,
        windowSeconds,
        ...sample,
        errorRatePercent: errorRatePercent(sample),
        verdict: verdict.kind,
        summary: verdict.summary,
      };
      step.checks.push(check);
      const action = decide(verdict, heldMs, opts.intervalMs);
      emit({
        kind: "check",
        step,
        of,
        check,
        action:
          action.kind === "hold"
            ? `hold, ask again in ${Math.round(action.retryInMs / 1000)} s`
            : action.kind,
      });
      if (action.kind === "advance") {
        step.result = "passed";
        return;
      }
      if (action.kind === "rollback") {
        step.result = "rolled-back";
        throw new Stop(`step ${step.index}: ${action.reason}`, false);
      }
      await wait(step, action.retryInMs);
      heldMs += action.retryInMs;
    }
  };

  let stop: Stop | undefined;
  for (const planned of plan.steps) {
    const step: StepRecord = { ...planned, checks: [] };
    report.steps.push(step);
    try {
      await runStep(step, report.steps.length === 1);
    } catch (e) {
      stop =
        e instanceof Stop
          ? e
          : new Stop(`unexpected error: ${message(e)}`, false);
      break;
    }
  }

  if (stop === undefined) {
    report.outcome = "promoted";
    report.finalWeights =
      plan.steps[plan.steps.length - 1]?.weights ?? plan.start;
  } else {
    report.reason = stop.reason;
    emit({ kind: "rollback", reason: stop.reason, weights: plan.start });
    report.outcome = await rollBack(plan.start, stop, report, ports, clock);
  }
  report.endedAt = new Date().toISOString();
  emit({ kind: "done", report });
  return report;
}

/**
 * The rollback's `up`. An update we just cancelled may still hold the stack's lock for a moment
 * (the engine finishing its cancellation), or may have died holding it (its process gone): the
 * first is waited for, the second removed, and the `up` tried again, for at most
 * ROLLBACK_LOCK_WAIT_MS. A lock held by a live process past that is an error.
 */
async function rollbackUp(
  ports: Ports,
  clock: ClockPort,
): Promise<{ outputWeights?: Weights }> {
  const deadline = clock.now() + ROLLBACK_LOCK_WAIT_MS;
  const never = new AbortController().signal;
  for (;;) {
    try {
      return await ports.stack.up();
    } catch (e) {
      if (!ports.stack.isLockedError(e) || clock.now() >= deadline) {
        throw e;
      }
      if (!(await ports.stack.releaseStaleLock(e))) {
        await clock.sleep(1000, never);
      }
    }
  }
}

/** Puts the start weights back: config, then (unless nothing changed) one more `up`. */
async function rollBack(
  start: Weights,
  stop: Stop,
  report: RolloutReport,
  ports: Ports,
  clock: ClockPort,
): Promise<NonNullable<RolloutReport["outcome"]>> {
  const t0 = clock.now();
  try {
    await ports.stack.setWeights(start);
    report.finalWeights = start;
    if (stop.configOnly) {
      report.rollback = { ok: true };
      return stop.interrupted ? "interrupted" : "refused";
    }
    // Not cancellable: a rollback cut short would leave the cluster between two splits.
    const { outputWeights } = await rollbackUp(ports, clock);
    report.rollback = { ok: true, upSeconds: (clock.now() - t0) / 1000 };
    if (outputWeights && !sameWeights(outputWeights, start)) {
      throw new Error(
        `the stack outputs ${ports.stack.weightsOutput ?? "canaryWeights"} ${JSON.stringify(outputWeights)} after the rollback`,
      );
    }
  } catch (e) {
    report.rollback = {
      ok: false,
      upSeconds: (clock.now() - t0) / 1000,
      error: message(e),
    };
    return "rollback-failed";
  }
  return stop.interrupted ? "interrupted" : "rolled-back";
}
