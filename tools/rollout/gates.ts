// The gates and the decision each check leads to. Pure.
//
// A sample is what Prometheus says of the canary since its step was applied: requests, 5xx
// answers, and the 99th-percentile latency. Too few requests is inconclusive: the step holds and
// asks again within its hold budget, and an inconclusive step never passes; when the budget is
// spent it rolls back. A failing gate rolls back at once.
import type { Thresholds } from "./args";

export interface Sample {
  /**
   * Canary requests in the window: the increase of each of its request counters between the
   * window's start and the check, a series born inside the window counted from 0 (promql.ts).
   */
  readonly requests: number;
  /** Of which answered 5xx. */
  readonly errors: number;
  /** 99th-percentile latency in milliseconds, or null without data. */
  readonly p99Ms: number | null;
}

export type VerdictKind = "pass" | "fail" | "inconclusive";

export interface Check {
  readonly gate: "requests" | "error rate" | "p99";
  readonly value: number | null;
  readonly limit: number;
  /** null: not judged (no data, or too few requests). */
  readonly ok: boolean | null;
}

export interface Verdict {
  readonly kind: VerdictKind;
  readonly checks: readonly Check[];
  /** One line: what was seen against which limit. */
  readonly summary: string;
}

const round = (n: number, digits = 1) => {
  const f = 10 ** digits;
  return Math.round(n * f) / f;
};

/** The canary's error rate in percent (null without requests). */
export function errorRatePercent(s: Sample): number | null {
  return s.requests > 0 ? (100 * s.errors) / s.requests : null;
}

/** Judges one sample against the thresholds. */
export function evaluateGates(sample: Sample, t: Thresholds): Verdict {
  const finite = (n: number | null) => n !== null && Number.isFinite(n);
  const requests = Number.isFinite(sample.requests) ? sample.requests : 0;
  const enough = requests >= t.minRequests;
  const rate = finite(sample.errors)
    ? errorRatePercent({ ...sample, requests })
    : null;
  const p99 = finite(sample.p99Ms) ? sample.p99Ms : null;
  const checks: Check[] = [
    { gate: "requests", value: requests, limit: t.minRequests, ok: enough },
    {
      gate: "error rate",
      value: rate,
      limit: t.maxErrorRatePercent,
      ok: !enough || rate === null ? null : rate <= t.maxErrorRatePercent,
    },
    {
      gate: "p99",
      value: p99,
      limit: t.maxP99Ms,
      ok: !enough || p99 === null ? null : p99 <= t.maxP99Ms,
    },
  ];
  const failed = checks.filter((c) => c.ok === false && c.gate !== "requests");
  const kind: VerdictKind =
    failed.length > 0
      ? "fail"
      : checks.every((c) => c.ok === true)
        ? "pass"
        : "inconclusive";
  return { kind, checks, summary: describe(kind, checks) };
}

function describe(kind: VerdictKind, checks: readonly Check[]): string {
  const [req, rate, p99] = checks;
  const parts = [
    `requests ${round(req.value ?? 0, 0)} (min ${req.limit})`,
    `errors ${rate.value === null ? "-" : `${round(rate.value, 2)}%`} (max ${rate.limit}%)`,
    `p99 ${p99.value === null ? "-" : `${round(p99.value)} ms`} (max ${p99.limit} ms)`,
  ];
  let why = "";
  if (kind === "fail") {
    why = checks
      .filter((c) => c.ok === false && c.gate !== "requests")
      .map((c) =>
        c.gate === "error rate"
          ? `error rate ${round(c.value!, 2)}% > ${c.limit}%`
          : `p99 ${round(c.value!)} ms > ${c.limit} ms`,
      )
      .join(", ");
  } else if (kind === "inconclusive") {
    why = req.ok
      ? "no latency data"
      : `too few requests (${round(req.value ?? 0, 0)} < ${req.limit})`;
  }
  return `${kind.toUpperCase()}${why ? `: ${why}` : ""} | ${parts.join(" · ")}`;
}

export type Action =
  | { readonly kind: "advance" }
  | { readonly kind: "hold"; readonly retryInMs: number }
  | { readonly kind: "rollback"; readonly reason: string };

/** How often a holding step asks again: a fifth of the interval, 1 s to 15 s. */
export function retryEveryMs(intervalMs: number): number {
  return Math.min(15_000, Math.max(1000, Math.round(intervalMs / 5)));
}

/**
 * What a step does after a check: a pass advances, a failure rolls back, and an inconclusive
 * result holds the step and asks again while the hold budget (one interval after the first
 * check) lasts, then rolls back.
 */
export function decide(
  verdict: Verdict,
  heldMs: number,
  intervalMs: number,
): Action {
  if (verdict.kind === "pass") {
    return { kind: "advance" };
  }
  if (verdict.kind === "fail") {
    return { kind: "rollback", reason: `gate failed: ${verdict.summary}` };
  }
  const retryInMs = retryEveryMs(intervalMs);
  if (heldMs + retryInMs <= intervalMs) {
    return { kind: "hold", retryInMs };
  }
  return {
    kind: "rollback",
    reason: `inconclusive after holding ${Math.round(heldMs / 1000)} s (an inconclusive step never passes): ${verdict.summary}`,
  };
}
