// The PromQL the gates ask, from Istio's standard metrics, and how their answers become the gates'
// numbers (windowSample). Pure.
//
// Which proxy reports the canary's requests depends on the data plane:
// - sidecar: the backend pod's own sidecar, on its inbound side, with reporter="destination"
//   (istio/proxy source/extensions/filters/http/istio_stats/istio_stats.cc: Reporter::ServerSidecar
//   tags "destination"). The frontend's sidecar reports the same requests again with
//   reporter="source", so the reporter must be fixed or every request counts twice.
// - ambient: ztunnel reports only TCP metrics; L7 metrics come from the namespace's waypoint, whose
//   stats filter istiod configures as Reporter_SERVER_GATEWAY (istio/istio
//   pilot/pkg/model/telemetry.go, generateStatsConfig: `if isWaypoint`), which the proxy tags
//   reporter="waypoint" (istio_stats.cc, Reporter::ServerGateway). The waypoint takes the
//   destination's labels from the workload it routed to (istio/proxy
//   source/extensions/common/workload_discovery/api.cc: app and version are the canonical service
//   and canonical revision), so destination_version is set in both data planes.
//
// The routing API changes the service the request was addressed to, not the workload that
// answered: with gateway-api the route's backends are the per-version Services `backend-v1`,
// `backend-v2`, so `destination_service_name` (taken from the upstream cluster's service) reads
// `backend-v2` where the istio routing API's subsets give `backend`. The queries therefore never
// select on destination_service*: they select the answering workload by its namespace, its
// canonical service (the pods' `app` label, istio/istio pkg/kube/labels/labels.go: canonical name
// from service.istio.io/canonical-name, app.kubernetes.io/name, then app; revision from
// service.istio.io/canonical-revision, app.kubernetes.io/version, then version) and
// destination_version, the same in both routing modes.
//
// The demo's pods are `app: backend`, `version: <version>`. A declared service's (--service X,
// issue 22) canonical service and revision come from the stack output services.X.metrics, which
// the program reads off the pods' labels; a route-only version whose selector does not pin them
// has no such names, and is refused before any change (tools/rollout/service.ts, metricTarget).

import type { Dataplane, RoutingApi } from "../../components/core/mesh";
import type { Sample } from "./gates";

export type { Dataplane, RoutingApi };

export interface MetricTarget {
  readonly dataplane: Dataplane;
  readonly routingApi: RoutingApi;
  /** The namespace of the target's pods (appNamespace, or the output services.X.namespace). */
  readonly namespace: string;
  /** The canonical service of the target's pods: `backend` for the demo. */
  readonly service: string;
  /**
   * The canonical revision of the target's pods, which Istio's metrics call destination_version:
   * the version's name for the demo, services.X.metrics[<version>].revision for a declared service.
   */
  readonly revision: string;
}

/**
 * What the gates ask over a window: the canary's raw counters, each series on its own, at the
 * check and when the window began. Prometheus' increase() does not count a series' first sample
 * (prometheus/prometheus#7249), and Envoy creates the series of a response code (and its latency
 * buckets) at the first such answer, so errors that begin inside the window would read as zero
 * there. Here a series absent at the start counts from 0 (see windowSample).
 */
export interface CanaryQueries {
  /** Every request counter of the canary at the check: each series' latest sample in the window. */
  readonly requests: string;
  /** The same counters when the window began (a series born since is absent: 0). */
  readonly requestsAtStart: string;
  /** Every latency bucket counter (`le`) of the canary at the check. */
  readonly latency: string;
  /** The same buckets when the window began. */
  readonly latencyAtStart: string;
}

/** One series of an instant query's answer. */
export interface SeriesValue {
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
}

/** The answers to the four queries of CanaryQueries. */
export type CanaryAnswers = {
  readonly [K in keyof CanaryQueries]: readonly SeriesValue[];
};

/** The reporter whose series count each request once. */
export function reporterFor(dataplane: Dataplane): string {
  return dataplane === "ambient" ? "waypoint" : "destination";
}

/** A PromQL string literal. */
const literal = (s: string): string => JSON.stringify(s);

/** The label matchers that select the canary's answered requests. */
export function canarySelector(t: MetricTarget, extra: string[] = []): string {
  const matchers = [
    `reporter=${literal(reporterFor(t.dataplane))}`,
    `destination_workload_namespace=${literal(t.namespace)}`,
    `destination_canonical_service=${literal(t.service)}`,
    `destination_version=${literal(t.revision)}`,
    ...extra,
  ];
  return `{${matchers.join(",")}}`;
}

/** A PromQL duration: whole seconds when it is, else milliseconds; at least 1 ms. */
export function promDuration(seconds: number): string {
  const ms = Math.max(1, Math.round(seconds * 1000));
  return ms % 1000 === 0 ? `${ms / 1000}s` : `${ms}ms`;
}

/**
 * The queries over the last `windowSeconds`. The check reads each series' latest sample in the
 * window (last_over_time: a series whose pod went away inside the window keeps its last value);
 * the start reads each series as an instant query `offset` the window does (Prometheus' lookback:
 * the latest sample at or before the window's start).
 */
export function canaryQueries(
  t: MetricTarget,
  windowSeconds: number,
): CanaryQueries {
  const w = promDuration(windowSeconds);
  const all = canarySelector(t);
  const requests = `istio_requests_total${all}`;
  const buckets = `istio_request_duration_milliseconds_bucket${all}`;
  return {
    requests: `last_over_time(${requests}[${w}])`,
    requestsAtStart: `${requests} offset ${w}`,
    latency: `last_over_time(${buckets}[${w}])`,
    latencyAtStart: `${buckets} offset ${w}`,
  };
}

/** How the gates' numbers come from the answers, for the dry run. */
export const WINDOW_RULE =
  "each series' increase is its value at the check minus its value at the start (absent at the start: 0; " +
  "lower: the pod restarted, the later value); requests sum them, errors those with a 5xx response_code, " +
  "p99 is histogram_quantile's interpolation over the buckets' increases summed by le";

const seriesKey = (labels: Readonly<Record<string, string>>): string =>
  JSON.stringify(
    Object.entries(labels)
      .filter(([k]) => k !== "__name__")
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)),
  );

/**
 * Each series' increase over the window, from its value when the window began and its value at
 * the check. A series absent at the start was born inside the window: it counts from 0. A value
 * lower than at the start is a counter reset (the proxy restarted): the later value is the
 * increase, as Prometheus counts a reset. A series absent at the check had no sample in the window.
 */
export function increases(
  atStart: readonly SeriesValue[],
  atCheck: readonly SeriesValue[],
): SeriesValue[] {
  const start = new Map(
    atStart
      .filter((s) => Number.isFinite(s.value))
      .map((s) => [seriesKey(s.labels), s.value]),
  );
  return atCheck
    .filter((s) => Number.isFinite(s.value))
    .map((s) => {
      const before = start.get(seriesKey(s.labels)) ?? 0;
      return {
        labels: s.labels,
        value: s.value >= before ? s.value - before : s.value,
      };
    });
}

/** A 5xx answer: what response_code=~"5.." selects (PromQL regexes are anchored). */
export const isServerError = (labels: Readonly<Record<string, string>>) =>
  /^5..$/.test(labels.response_code ?? "");

/** An `le` label as Prometheus parses it ("+Inf" included); undefined when absent or not a number. */
function upperBound(le: string | undefined): number | undefined {
  if (le === undefined) {
    return undefined;
  }
  if (/^\+?inf$/i.test(le.trim())) {
    return Infinity;
  }
  const n = Number(le);
  return le.trim() !== "" && !Number.isNaN(n) ? n : undefined;
}

/**
 * The q-quantile of cumulative buckets, by Prometheus' histogram_quantile rule for classic
 * histograms (prometheus/prometheus promql/quantile.go, bucketQuantile; the rule the docs of
 * histogram_quantile state): buckets sorted by upper bound, those with the same bound merged, the
 * counts forced monotonic; no +Inf bucket, fewer than two buckets or no observations is no data
 * (null); rank = q * observations; in the first bucket whose count reaches the rank, the value is
 * interpolated linearly between the bucket's lower bound (the previous bound, or 0 for the first
 * bucket) and its upper bound; a rank in the +Inf bucket gives the highest finite bound.
 */
export function bucketQuantile(
  q: number,
  buckets: ReadonlyArray<{ readonly le: number; readonly count: number }>,
): number | null {
  const sorted = [...buckets]
    .filter((b) => !Number.isNaN(b.le) && Number.isFinite(b.count))
    .sort((a, b) => a.le - b.le);
  if (sorted.length === 0 || sorted[sorted.length - 1].le !== Infinity) {
    return null;
  }
  const b: Array<{ le: number; count: number }> = [];
  for (const x of sorted) {
    const last = b[b.length - 1];
    if (last && last.le === x.le) {
      last.count += x.count;
    } else {
      b.push({ le: x.le, count: x.count });
    }
  }
  for (let i = 1; i < b.length; i++) {
    b[i].count = Math.max(b[i].count, b[i - 1].count);
  }
  if (b.length < 2) {
    return null;
  }
  const observations = b[b.length - 1].count;
  if (!(observations > 0)) {
    return null;
  }
  let rank = q * observations;
  let i = 0;
  while (i < b.length - 1 && b[i].count < rank) {
    i++;
  }
  if (i === b.length - 1) {
    return b[b.length - 2].le;
  }
  if (i === 0 && b[0].le <= 0) {
    return b[0].le;
  }
  let lower = 0;
  let count = b[i].count;
  if (i > 0) {
    lower = b[i - 1].le;
    count -= b[i - 1].count;
    rank -= b[i - 1].count;
  }
  return lower + (b[i].le - lower) * (rank / count);
}

/** The gates' sample from the four answers: requests, 5xx answers and p99 over the window. */
export function windowSample(a: CanaryAnswers): Sample {
  const requests = increases(a.requestsAtStart, a.requests);
  const total = (s: readonly SeriesValue[]) =>
    s.reduce((sum, x) => sum + x.value, 0);
  const byLe = new Map<number, number>();
  for (const s of increases(a.latencyAtStart, a.latency)) {
    const le = upperBound(s.labels.le);
    if (le !== undefined) {
      byLe.set(le, (byLe.get(le) ?? 0) + s.value);
    }
  }
  return {
    requests: total(requests),
    errors: total(requests.filter((s) => isServerError(s.labels))),
    p99Ms: bucketQuantile(
      0.99,
      [...byLe].map(([le, count]) => ({ le, count })),
    ),
  };
}
