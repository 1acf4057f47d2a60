// What a rollout reports: the JSON written by `--report`, and the events the progress display
// shows as they happen.
import type { Thresholds } from "./args";
import type { Sample, VerdictKind } from "./gates";
import type { Weights } from "./plan";
import type { CanaryQueries } from "./promql";

export type Outcome =
  /** Every step passed; the target holds the pool. */
  | "promoted"
  /** A gate failed, stayed inconclusive, or an `up` failed: back at the start weights. */
  | "rolled-back"
  /** Ctrl-C (SIGINT) or SIGTERM: back at the start weights. */
  | "interrupted"
  /** The rollback's own `up` failed: the config holds the start weights, the cluster may not. */
  | "rollback-failed"
  /** The stack was locked by another update before anything changed; only the config was restored. */
  | "refused"
  | "dry-run";

export interface CheckRecord extends Sample {
  /** Seconds since the rollout started. */
  readonly at: number;
  readonly windowSeconds: number;
  readonly errorRatePercent: number | null;
  readonly verdict: VerdictKind;
  readonly summary: string;
}

export interface StepRecord {
  readonly index: number;
  readonly percent: number;
  readonly weights: Weights;
  /** How long its `up` took, in seconds. */
  upSeconds?: number;
  checks: CheckRecord[];
  result?: "passed" | "rolled-back" | "interrupted" | "up-failed";
}

export interface RolloutReport {
  readonly stack: string;
  /** The service whose weights moved: a declared service (--service), or the demo's backend. */
  readonly service?: string;
  readonly target: string;
  readonly stable: string;
  readonly startWeights: Weights;
  readonly steps: StepRecord[];
  readonly thresholds: Thresholds;
  readonly intervalSeconds: number;
  readonly prometheus: string;
  /** The queries of the first window, for reading by hand (the window grows with the step). */
  readonly queries: CanaryQueries;
  readonly skippedSteps: readonly number[];
  readonly startedAt: string;
  endedAt?: string;
  outcome?: Outcome;
  /** Why it rolled back, was interrupted or refused. */
  reason?: string;
  /** The weights in the stack's config and (after a successful `up`) the cluster at the end. */
  finalWeights?: Weights;
  rollback?: { upSeconds?: number; ok: boolean; error?: string };
}

export type RolloutEvent =
  | { readonly kind: "apply"; readonly step: StepRecord; readonly of: number }
  | { readonly kind: "applied"; readonly step: StepRecord; readonly of: number }
  | {
      readonly kind: "wait";
      readonly step: StepRecord;
      readonly of: number;
      /** Milliseconds to the next check. */
      readonly remainingMs: number;
      readonly last?: CheckRecord;
    }
  | {
      readonly kind: "check";
      readonly step: StepRecord;
      readonly of: number;
      readonly check: CheckRecord;
      readonly action: string;
    }
  | {
      readonly kind: "rollback";
      readonly reason: string;
      readonly weights: Weights;
    }
  | { readonly kind: "note"; readonly message: string }
  | { readonly kind: "done"; readonly report: RolloutReport };

/** Exit code of each outcome (docs/progressive-delivery.md). */
export function exitCode(outcome: Outcome, signal?: string): number {
  switch (outcome) {
    case "promoted":
    case "dry-run":
      return 0;
    case "rolled-back":
      return 1;
    case "refused":
      return 2;
    case "rollback-failed":
      return 3;
    case "interrupted":
      return signal === "SIGTERM" ? 143 : 130;
  }
}
