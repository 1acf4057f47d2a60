// What the gates read from Prometheus over a step's window, against a fake Prometheus that holds
// scraped samples and answers the instant queries the rollout asks the way Prometheus evaluates
// them (instant selectors with the 5-minute lookback, offset, range selectors, last_over_time,
// increase() with its extrapolation, histogram_quantile). The fake answers the PromQL the gates
// asked before (sum(increase(...))) too, which shows prometheus/prometheus#7249 here: Envoy
// creates the istio_requests_total series of a response code at its first such answer, increase()
// does not count a series' first sample, so errors that start inside the window read as zero.
import * as assert from "assert";
import * as http from "http";
import type { AddressInfo } from "net";
import type { Thresholds } from "../../tools/rollout/args";
import { evaluateGates, type Sample } from "../../tools/rollout/gates";
import { Prometheus } from "../../tools/rollout/prometheus";
import {
  bucketQuantile,
  canaryQueries,
  increases,
  type MetricTarget,
} from "../../tools/rollout/promql";

type Labels = Record<string, string>;
interface FakeSeries {
  readonly labels: Labels;
  /** [ms, value], in time order. */
  readonly samples: Array<[number, number]>;
}

const LOOKBACK_MS = 5 * 60_000;

/** Prometheus' extrapolatedRate for increase() (promql/functions.go), floats only. */
function increase(
  samples: Array<[number, number]>,
  rangeStart: number,
  rangeEnd: number,
): number | undefined {
  if (samples.length < 2) {
    return undefined;
  }
  const [firstT, firstV] = samples[0];
  const [lastT, lastV] = samples[samples.length - 1];
  let result = lastV - firstV;
  let prev = 0;
  for (const [, v] of samples) {
    if (v < prev) {
      result += prev;
    }
    prev = v;
  }
  let durationToStart = (firstT - rangeStart) / 1000;
  const durationToEnd = (rangeEnd - lastT) / 1000;
  const sampledInterval = (lastT - firstT) / 1000;
  const average = sampledInterval / (samples.length - 1);
  if (result > 0 && firstV >= 0) {
    const durationToZero = sampledInterval * (firstV / result);
    if (durationToZero < durationToStart) {
      durationToStart = durationToZero;
    }
  }
  const threshold = average * 1.1;
  let interval = sampledInterval;
  interval += durationToStart < threshold ? durationToStart : average / 2;
  interval += durationToEnd < threshold ? durationToEnd : average / 2;
  return result * (interval / sampledInterval);
}

/** histogram_quantile over {le, count} (promql/quantile.go, bucketQuantile), for the old query. */
function quantile(q: number, buckets: Array<[number, number]>): number {
  const b = [...buckets].sort((x, y) => x[0] - y[0]);
  const total = b[b.length - 1][1];
  if (b[b.length - 1][0] !== Infinity || b.length < 2 || total === 0) {
    return NaN;
  }
  let rank = q * total;
  const i = b.findIndex(([, c], j) => j < b.length - 1 && c >= rank);
  const at = i === -1 ? b.length - 1 : i;
  if (at === b.length - 1) {
    return b[b.length - 2][0];
  }
  let start = 0;
  let count = b[at][1];
  if (at > 0) {
    start = b[at - 1][0];
    count -= b[at - 1][1];
    rank -= b[at - 1][1];
  }
  return start + (b[at][0] - start) * (rank / count);
}

const ms = (n: string, unit: string) =>
  Number(n) * ({ ms: 1, s: 1000, m: 60_000 } as Record<string, number>)[unit];

/** A Prometheus HTTP API (/api/v1/query) over fixed samples, evaluated at `now`. */
class FakePrometheus {
  readonly series: FakeSeries[] = [];
  readonly asked: string[] = [];
  now = 0;
  private server?: http.Server;

  add(name: string, labels: Labels, samples: Array<[number, number]>) {
    this.series.push({ labels: { __name__: name, ...labels }, samples });
  }

  private select(selector: string): FakeSeries[] {
    const m = /^([a-zA-Z_:][\w:]*)\{(.*)\}$/.exec(selector.trim());
    assert.ok(m, `not a selector: ${selector}`);
    const matchers = [
      ...m[2].matchAll(/(\w+)(=~|!~|!=|=)"((?:[^"\\]|\\.)*)"/g),
    ];
    return this.series.filter(
      (s) =>
        s.labels.__name__ === m[1] &&
        matchers.every(([, label, op, value]) => {
          const v = s.labels[label] ?? "";
          const re = new RegExp(`^(?:${value})$`);
          return op === "="
            ? v === value
            : op === "!="
              ? v !== value
              : op === "=~"
                ? re.test(v)
                : !re.test(v);
        }),
    );
  }

  private inRange(s: FakeSeries, t: number, range: number) {
    return s.samples.filter(([ts]) => ts > t - range && ts <= t);
  }

  /** The answer of one instant query: [labels, value] per series. */
  evaluate(query: string): Array<[Labels, number]> {
    const t = this.now;
    const drop = ({ __name__: _, ...rest }: Labels) => rest;
    let m = /^sum\(increase\((.*)\[(\d+)(ms|s|m)\]\)\)$/.exec(query);
    if (m) {
      const range = ms(m[2], m[3]);
      const parts = this.select(m[1])
        .map((s) => increase(this.inRange(s, t, range), t - range, t))
        .filter((v): v is number => v !== undefined);
      return parts.length ? [[{}, parts.reduce((a, b) => a + b, 0)]] : [];
    }
    m =
      /^histogram_quantile\(([\d.]+), sum by \(le\) \(increase\((.*)\[(\d+)(ms|s|m)\]\)\)\)$/.exec(
        query,
      );
    if (m) {
      const range = ms(m[3], m[4]);
      const byLe = new Map<number, number>();
      for (const s of this.select(m[2])) {
        const v = increase(this.inRange(s, t, range), t - range, t);
        if (v !== undefined) {
          const le = s.labels.le === "+Inf" ? Infinity : Number(s.labels.le);
          byLe.set(le, (byLe.get(le) ?? 0) + v);
        }
      }
      return byLe.size ? [[{}, quantile(Number(m[1]), [...byLe])]] : [];
    }
    m = /^last_over_time\((.*)\[(\d+)(ms|s|m)\]\)$/.exec(query);
    if (m) {
      const range = ms(m[2], m[3]);
      return this.select(m[1]).flatMap((s): Array<[Labels, number]> => {
        const inside = this.inRange(s, t, range);
        return inside.length
          ? [[drop(s.labels), inside[inside.length - 1][1]]]
          : [];
      });
    }
    m = /^(.*\})(?: offset (\d+)(ms|s|m))?$/.exec(query);
    assert.ok(m, `the fake does not know this query: ${query}`);
    const at = t - (m[2] ? ms(m[2], m[3]) : 0);
    return this.select(m[1]).flatMap((s): Array<[Labels, number]> => {
      const seen = this.inRange(s, at, LOOKBACK_MS);
      return seen.length ? [[s.labels, seen[seen.length - 1][1]]] : [];
    });
  }

  async start(): Promise<string> {
    this.server = http.createServer((req, res) => {
      const url = new URL(req.url!, "http://x");
      const query = url.searchParams.get("query") ?? "";
      this.asked.push(query);
      const result = this.evaluate(query).map(([metric, v]) => ({
        metric,
        value: [this.now / 1000, String(v)],
      }));
      res.writeHead(200, { "content-type": "application/json" });
      res.end(
        JSON.stringify({
          status: "success",
          data: { resultType: "vector", result },
        }),
      );
    });
    await new Promise<void>((r) => this.server!.listen(0, "127.0.0.1", r));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  async stop() {
    await new Promise((r) => this.server?.close(r));
  }
}

const T: Thresholds = {
  maxErrorRatePercent: 1,
  maxP99Ms: 500,
  minRequests: 20,
};
const TARGET: MetricTarget = {
  dataplane: "sidecar",
  routingApi: "istio",
  namespace: "mesh-demo",
  service: "backend",
  revision: "v2",
};
const BOUNDS = [0.5, 1, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000];

/** The labels the backend's sidecar reports a response with (one pod). */
const proxy = (code: string, pod = "backend-v2-abc"): Labels => ({
  reporter: "destination",
  destination_workload_namespace: "mesh-demo",
  destination_canonical_service: "backend",
  destination_version: "v2",
  destination_workload: "backend-v2",
  response_code: code,
  pod,
});

/**
 * The step started at T0 and the check is 60 s later. The proxy is scraped every 15 s, at T0-55,
 * -40, -25, -10, +5, +20, +35 and +50 s.
 */
const T0 = 10_000_000;
const SCRAPES = [-55, -40, -25, -10, 5, 20, 35, 50].map((s) => T0 + s * 1000);

/**
 * Adds a response code's counter and latency buckets (every answer takes `latencyMs`): `total(t)`
 * answers so far at each scrape, or none before the series exists (undefined).
 */
function respond(
  p: FakePrometheus,
  labels: Labels,
  latencyMs: number,
  total: (t: number) => number | undefined,
) {
  const at = SCRAPES.flatMap((t): Array<[number, number]> => {
    const v = total(t);
    return v === undefined ? [] : [[t, v]];
  });
  p.add("istio_requests_total", labels, at);
  for (const le of [...BOUNDS.map(String), "+Inf"]) {
    const bound = le === "+Inf" ? Infinity : Number(le);
    p.add(
      "istio_request_duration_milliseconds_bucket",
      { ...labels, le },
      at.map(([t, v]) => [t, latencyMs <= bound ? v : 0]),
    );
  }
}

/** 10 OK answers a second (20 ms) since long before the step: 1000 at T0. */
const steadyOk = (t: number) => 1000 + (10 * (t - T0)) / 1000;

async function sampleOf(p: FakePrometheus): Promise<Sample> {
  const url = await p.start();
  try {
    p.now = T0 + 60_000;
    return await new Prometheus(url).sample(canaryQueries(TARGET, 60));
  } finally {
    await p.stop();
  }
}

describe("the gates' window when an error series is born inside it (prometheus#7249)", () => {
  const bursts: Array<[string, (t: number) => number | undefined]> = [
    [
      "40 answers 503 in one burst 20 s into the step (the series is born at 40 and stays there)",
      (t) => (t >= T0 + 20_000 ? 40 : undefined),
    ],
    [
      "30 answers 503 just before the check (the series has one sample in the window)",
      (t) => (t >= T0 + 50_000 ? 30 : undefined),
    ],
  ];

  for (const [what, errors] of bursts) {
    it(`WHEN ${what} THEN they count and the error gate FAILS`, async () => {
      const p = new FakePrometheus();
      respond(p, proxy("200"), 20, steadyOk);
      respond(p, proxy("503"), 20, errors);
      const born = errors(T0 + 60_000)!;
      const sample = await sampleOf(p);
      assert.strictEqual(sample.errors, born);
      assert.strictEqual(sample.requests, 600 + born);
      const verdict = evaluateGates(sample, T);
      assert.strictEqual(verdict.kind, "fail", verdict.summary);
      assert.match(verdict.summary, /^FAIL: error rate \d+(\.\d+)?% > 1%/);
    });

    it(`WHEN ${what} THEN increase(), which the gate asked before, reads 0 errors and the gate PASSES`, () => {
      const p = new FakePrometheus();
      respond(p, proxy("200"), 20, steadyOk);
      respond(p, proxy("503"), 20, errors);
      p.now = T0 + 60_000;
      const sel =
        '{reporter="destination",destination_workload_namespace="mesh-demo",destination_canonical_service="backend",destination_version="v2"';
      const one = (q: string) => p.evaluate(q)[0]?.[1] ?? 0;
      const old: Sample = {
        requests: one(`sum(increase(istio_requests_total${sel}}[60s]))`),
        errors: one(
          `sum(increase(istio_requests_total${sel},response_code=~"5.."}[60s]))`,
        ),
        p99Ms: one(
          `histogram_quantile(0.99, sum by (le) (increase(istio_request_duration_milliseconds_bucket${sel}}[60s])))`,
        ),
      };
      assert.strictEqual(old.errors, 0);
      assert.strictEqual(evaluateGates(old, T).kind, "pass");
    });
  }

  it("WHEN slow 503s (5 s timeouts) begin inside the window THEN their latency buckets count and the p99 gate FAILS", async () => {
    const p = new FakePrometheus();
    respond(p, proxy("200"), 20, steadyOk);
    respond(p, proxy("503"), 4000, (t) =>
      t >= T0 + 20_000 ? 5 + (t - T0 - 20_000) / 1000 : undefined,
    );
    const sample = await sampleOf(p);
    // 35 slow answers of 635: more than 1 %, so the p99 is in the 2500-5000 ms bucket.
    assert.strictEqual(sample.errors, 35);
    assert.ok(
      sample.p99Ms !== null && sample.p99Ms > 2500 && sample.p99Ms <= 5000,
      String(sample.p99Ms),
    );
    assert.match(
      evaluateGates(sample, T).summary,
      /p99 \d+(\.\d+)? ms > 500 ms/,
    );
  });

  it("WHEN errors are born inside the window but the canary has too few requests THEN it is inconclusive, never a pass", async () => {
    const p = new FakePrometheus();
    respond(p, proxy("503"), 20, (t) => (t >= T0 + 20_000 ? 5 : undefined));
    const sample = await sampleOf(p);
    assert.deepStrictEqual([sample.requests, sample.errors], [5, 5]);
    assert.strictEqual(evaluateGates(sample, T).kind, "inconclusive");
  });

  it("WHEN the canary answered nothing in the window THEN 0 requests and no latency data", async () => {
    const p = new FakePrometheus();
    respond(p, proxy("200"), 20, () => 1000);
    const sample = await sampleOf(p);
    assert.deepStrictEqual(sample, { requests: 0, errors: 0, p99Ms: null });
  });
});

describe("the gates' window across a counter reset (the pod restarted)", () => {
  it("WHEN a series reads lower at the check than at the step's start THEN its later value is its increase", async () => {
    const p = new FakePrometheus();
    // Restarted 10 s into the step: 5000 OK answers before, 100 after by +20 s, then 15 a second.
    const restarted = (t: number) =>
      t < T0 + 10_000
        ? 5000 + (t - T0) / 100
        : 100 + (15 * (t - T0 - 20_000)) / 1000;
    respond(p, proxy("200"), 20, restarted);
    // Its 503 series too: 50 before the restart, 40 after it.
    respond(p, proxy("503"), 20, (t) => (t < T0 + 10_000 ? 50 : 40));
    const sample = await sampleOf(p);
    assert.deepStrictEqual([sample.requests, sample.errors], [550 + 40, 40]);
    assert.strictEqual(evaluateGates(sample, T).kind, "fail");
  });

  it("WHEN a second pod starts inside the window THEN its series count from 0 and the first pod's from the step's start", async () => {
    const p = new FakePrometheus();
    respond(p, proxy("200", "backend-v2-a"), 20, steadyOk);
    respond(p, proxy("200", "backend-v2-b"), 20, (t) =>
      t >= T0 + 5_000 ? 7 + (t - T0 - 5_000) / 100 : undefined,
    );
    const sample = await sampleOf(p);
    assert.deepStrictEqual([sample.requests, sample.errors], [600 + 457, 0]);
    assert.strictEqual(evaluateGates(sample, T).kind, "pass");
  });
});

describe("the p99 from the latency buckets' increases", () => {
  it("WHEN the window's answers spread over two buckets THEN the p99 is interpolated inside the bucket that holds it, as histogram_quantile does", async () => {
    const p = new FakePrometheus();
    // Before the step: 10000 fast answers (20 ms), none since. In the window: 90 at 30 ms
    // (le 50) and 10 at 80 ms (le 100), all seen by the scrape at +50 s.
    respond(p, proxy("200"), 20, () => 10_000);
    respond(p, { ...proxy("200"), request_protocol: "http" }, 30, (t) =>
      t >= T0 + 50_000 ? 90 : undefined,
    );
    respond(p, { ...proxy("201"), request_protocol: "http" }, 80, (t) =>
      t >= T0 + 50_000 ? 10 : undefined,
    );
    const sample = await sampleOf(p);
    assert.strictEqual(sample.requests, 100);
    // rank 0.99 * 100 = 99 falls in (50, 100], which holds answers 91..100: 50 + 50 * 9/10.
    assert.strictEqual(sample.p99Ms, 95);
  });

  it("WHEN the p99 falls in the +Inf bucket THEN it is the highest finite bound, as histogram_quantile says", async () => {
    const p = new FakePrometheus();
    respond(p, proxy("200"), 60_000, (t) => (t >= T0 ? 50 : undefined));
    const sample = await sampleOf(p);
    assert.strictEqual(sample.p99Ms, 10000);
  });
});

describe("each series' increase over the window", () => {
  const at = (code: string, pod: string, value: number) => ({
    labels: { __name__: "istio_requests_total", response_code: code, pod },
    value,
  });
  const checked = (code: string, pod: string, value: number) => ({
    labels: { response_code: code, pod },
    value,
  });

  it("WHEN a series grew, was born, was reset, or is gone THEN its increase is the difference, its value, its later value, or nothing", () => {
    assert.deepStrictEqual(
      increases(
        [at("200", "a", 100), at("200", "b", 900), at("200", "gone", 5)],
        [
          checked("200", "a", 160),
          checked("503", "a", 7),
          checked("200", "b", 30),
        ],
      ).map((s) => s.value),
      [60, 7, 30],
    );
  });

  it("WHEN a value is not a number THEN that series is left out", () => {
    assert.deepStrictEqual(
      increases([at("200", "a", NaN)], [checked("200", "a", 10)]),
      [checked("200", "a", 10)],
    );
    assert.deepStrictEqual(increases([], [checked("200", "a", NaN)]), []);
  });
});

describe("histogram_quantile's rule over bucket increases", () => {
  const b = (...pairs: Array<[number, number]>) =>
    pairs.map(([le, count]) => ({ le, count }));

  it("WHEN the rank falls in the first bucket THEN it interpolates from 0", () => {
    assert.strictEqual(bucketQuantile(0.5, b([10, 100], [Infinity, 100])), 5);
  });
  it("WHEN buckets come unsorted and twice with one bound THEN they are sorted and merged", () => {
    assert.strictEqual(
      bucketQuantile(
        0.25,
        b([Infinity, 60], [20, 30], [10, 10], [20, 10], [Infinity, 40]),
      ),
      15,
    );
  });
  it("WHEN a higher bucket reads lower (independent resets) THEN the counts are forced monotonic", () => {
    // Forced to 30, 30, 60, 100: rank 35 is the 5th of the 30 answers in (20, 30].
    const p = bucketQuantile(
      0.35,
      b([10, 30], [20, 20], [30, 60], [Infinity, 100]),
    );
    assert.ok(Math.abs(p! - (20 + (10 * 5) / 30)) < 1e-9, String(p));
  });
  it("WHEN there is no +Inf bucket, a single bucket or no observations THEN there is no data", () => {
    assert.strictEqual(bucketQuantile(0.99, b([10, 5], [20, 5])), null);
    assert.strictEqual(bucketQuantile(0.99, b([Infinity, 5])), null);
    assert.strictEqual(bucketQuantile(0.99, b([10, 0], [Infinity, 0])), null);
    assert.strictEqual(bucketQuantile(0.99, []), null);
  });
  it("WHEN the lowest bound is not above 0 and holds the rank THEN that bound is the answer", () => {
    assert.strictEqual(
      bucketQuantile(0.5, b([0, 80], [10, 90], [Infinity, 100])),
      0,
    );
  });
});
