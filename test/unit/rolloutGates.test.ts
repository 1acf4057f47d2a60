// The rollout's gates (success rate and p99 against the thresholds; too few requests is
// inconclusive, never a pass), the decision each check leads to, Prometheus' answers, and the
// PromQL asked in each data plane and routing mode. What the answers add up to over a window is in
// rolloutWindow.test.ts.
import * as assert from "assert";
import type { Thresholds } from "../../tools/rollout/args";
import { decide, evaluateGates, retryEveryMs } from "../../tools/rollout/gates";
import { vectorOf } from "../../tools/rollout/prometheus";
import {
  canaryQueries,
  type MetricTarget,
  promDuration,
} from "../../tools/rollout/promql";

const T: Thresholds = {
  maxErrorRatePercent: 1,
  maxP99Ms: 500,
  minRequests: 20,
};

describe("the rollout's gates", () => {
  const cases: Array<
    [string, { requests: number; errors: number; p99Ms: number | null }, string]
  > = [
    [
      "enough requests, few errors, fast",
      { requests: 200, errors: 1, p99Ms: 120 },
      "PASS | requests 200 (min 20) · errors 0.5% (max 1%) · p99 120 ms (max 500 ms)",
    ],
    [
      "an error rate exactly at the limit",
      { requests: 100, errors: 1, p99Ms: 500 },
      "PASS | requests 100 (min 20) · errors 1% (max 1%) · p99 500 ms (max 500 ms)",
    ],
    [
      "too many errors",
      { requests: 200, errors: 20, p99Ms: 120 },
      "FAIL: error rate 10% > 1% | requests 200 (min 20) · errors 10% (max 1%) · p99 120 ms (max 500 ms)",
    ],
    [
      "a slow p99",
      { requests: 200, errors: 0, p99Ms: 812.34 },
      "FAIL: p99 812.3 ms > 500 ms | requests 200 (min 20) · errors 0% (max 1%) · p99 812.3 ms (max 500 ms)",
    ],
    [
      "both gates failing",
      { requests: 50, errors: 25, p99Ms: 900 },
      "FAIL: error rate 50% > 1%, p99 900 ms > 500 ms | requests 50 (min 20) · errors 50% (max 1%) · p99 900 ms (max 500 ms)",
    ],
    [
      "too few requests, all fine",
      { requests: 12, errors: 0, p99Ms: 30 },
      "INCONCLUSIVE: too few requests (12 < 20) | requests 12 (min 20) · errors 0% (max 1%) · p99 30 ms (max 500 ms)",
    ],
    [
      "too few requests, all failing (inconclusive too: not enough to judge)",
      { requests: 5, errors: 5, p99Ms: 2000 },
      "INCONCLUSIVE: too few requests (5 < 20) | requests 5 (min 20) · errors 100% (max 1%) · p99 2000 ms (max 500 ms)",
    ],
    [
      "no requests at all",
      { requests: 0, errors: 0, p99Ms: null },
      "INCONCLUSIVE: too few requests (0 < 20) | requests 0 (min 20) · errors - (max 1%) · p99 - (max 500 ms)",
    ],
    [
      "requests but no latency data",
      { requests: 100, errors: 0, p99Ms: null },
      "INCONCLUSIVE: no latency data | requests 100 (min 20) · errors 0% (max 1%) · p99 - (max 500 ms)",
    ],
    [
      "a NaN count (a broken answer)",
      { requests: NaN, errors: 0, p99Ms: 10 },
      "INCONCLUSIVE: too few requests (0 < 20) | requests 0 (min 20) · errors - (max 1%) · p99 10 ms (max 500 ms)",
    ],
  ];
  for (const [what, sample, summary] of cases) {
    it(`WHEN the canary shows ${what} THEN the verdict says so against each gate`, () => {
      assert.strictEqual(evaluateGates(sample, T).summary, summary);
    });
  }
});

describe("the rollout's decision after a check", () => {
  const pass = evaluateGates({ requests: 100, errors: 0, p99Ms: 10 }, T);
  const fail = evaluateGates({ requests: 100, errors: 50, p99Ms: 10 }, T);
  const unsure = evaluateGates({ requests: 3, errors: 0, p99Ms: 10 }, T);

  it("WHEN a check passes THEN the step advances", () => {
    assert.deepStrictEqual(decide(pass, 0, 60_000), { kind: "advance" });
  });

  it("WHEN a gate fails THEN it rolls back at once, even on the first check", () => {
    const a = decide(fail, 0, 60_000);
    assert.strictEqual(a.kind, "rollback");
    assert.match(
      (a as { reason: string }).reason,
      /^gate failed: FAIL: error rate 50% > 1%/,
    );
  });

  it("WHEN a check is inconclusive THEN the step holds, asking again every fifth of the interval, while the budget lasts", () => {
    assert.strictEqual(retryEveryMs(60_000), 12_000);
    assert.strictEqual(retryEveryMs(3000), 1000);
    assert.strictEqual(retryEveryMs(600_000), 15_000);
    assert.deepStrictEqual(decide(unsure, 0, 60_000), {
      kind: "hold",
      retryInMs: 12_000,
    });
    assert.deepStrictEqual(decide(unsure, 48_000, 60_000), {
      kind: "hold",
      retryInMs: 12_000,
    });
  });

  it("WHEN it stays inconclusive past the budget THEN it rolls back: inconclusive never passes", () => {
    const a = decide(unsure, 60_000, 60_000);
    assert.strictEqual(a.kind, "rollback");
    assert.match(
      (a as { reason: string }).reason,
      /^inconclusive after holding 60 s \(an inconclusive step never passes\): INCONCLUSIVE: too few requests \(3 < 20\)/,
    );
  });
});

describe("Prometheus' answers", () => {
  const vector = (...values: Array<[Record<string, string>, string]>) => ({
    status: "success",
    data: {
      resultType: "vector",
      result: values.map(([metric, v]) => ({ metric, value: [1, v] })),
    },
  });

  it("WHEN a query matches series THEN each is read with its labels", () => {
    assert.deepStrictEqual(
      vectorOf(vector([{ response_code: "200" }, "41.5"], [{}, "3"])),
      [
        { labels: { response_code: "200" }, value: 41.5 },
        { labels: {}, value: 3 },
      ],
    );
  });
  it("WHEN no series matches THEN the answer is empty", () => {
    assert.deepStrictEqual(vectorOf(vector()), []);
  });
  it("WHEN Prometheus refuses the query THEN its reason is in the error", () => {
    assert.throws(
      () =>
        vectorOf({
          status: "error",
          errorType: "bad_data",
          error: "parse error",
        }),
      /Prometheus refused the query \(bad_data: parse error\)/,
    );
    assert.throws(
      () =>
        vectorOf({
          status: "success",
          data: { resultType: "matrix", result: [] },
        }),
      /answered a matrix, not a vector/,
    );
    assert.throws(() => vectorOf("<html>"), /refused the query \(not JSON\)/);
  });
});

describe("the PromQL of the canary's gates", () => {
  const target = (
    dataplane: "sidecar" | "ambient",
    routingApi: "istio" | "gateway-api",
  ): MetricTarget => ({
    dataplane,
    routingApi,
    namespace: "mesh-demo",
    service: "backend",
    revision: "v2",
  });
  const sidecar =
    '{reporter="destination",destination_workload_namespace="mesh-demo",destination_canonical_service="backend",destination_version="v2"}';
  const waypoint =
    '{reporter="waypoint",destination_workload_namespace="mesh-demo",destination_canonical_service="backend",destination_version="v2"}';
  const expected = (sel: string) => ({
    requests: `last_over_time(istio_requests_total${sel}[60s])`,
    requestsAtStart: `istio_requests_total${sel} offset 60s`,
    latency: `last_over_time(istio_request_duration_milliseconds_bucket${sel}[60s])`,
    latencyAtStart: `istio_request_duration_milliseconds_bucket${sel} offset 60s`,
  });

  for (const routing of ["istio", "gateway-api"] as const) {
    it(`WHEN sidecars report with routing.api ${routing} THEN the queries count the backend sidecar's inbound side (reporter destination) once`, () => {
      assert.deepStrictEqual(
        canaryQueries(target("sidecar", routing), 60),
        expected(sidecar),
      );
    });
    it(`WHEN ambient reports with routing.api ${routing} THEN the queries read the waypoint's L7 metrics (reporter waypoint)`, () => {
      assert.deepStrictEqual(
        canaryQueries(target("ambient", routing), 60),
        expected(waypoint),
      );
    });
  }

  it("WHEN the routing API is gateway-api THEN nothing selects on destination_service, which names the version Service backend-v2 there", () => {
    for (const q of Object.values(
      canaryQueries(target("sidecar", "gateway-api"), 60),
    )) {
      assert.ok(!q.includes("destination_service"), q);
    }
  });

  it("WHEN the window is fractional or zero THEN it is given to the millisecond, at least one", () => {
    const q = (w: number) => canaryQueries(target("sidecar", "istio"), w);
    assert.match(q(2.1).requests, /\[2100ms\]\)$/);
    assert.match(q(2.1).requestsAtStart, / offset 2100ms$/);
    assert.match(q(0).requests, /\[1ms\]\)$/);
    assert.strictEqual(promDuration(90), "90s");
    assert.strictEqual(promDuration(12.3456), "12346ms");
  });
});
