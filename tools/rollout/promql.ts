// The PromQL the gates ask, from Istio's standard metrics. Pure.
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

import type { Dataplane, RoutingApi } from "../../components/core/mesh";

export type { Dataplane, RoutingApi };

export interface MetricTarget {
  readonly dataplane: Dataplane;
  readonly routingApi: RoutingApi;
  /** The app's namespace (the stack output appNamespace). */
  readonly namespace: string;
  /** The canonical service of the versioned service: `backend` for the demo. */
  readonly service: string;
  readonly version: string;
}

export interface CanaryQueries {
  /** Requests the canary answered in the window. */
  readonly requests: string;
  /** Of which 5xx. */
  readonly errors: string;
  /** 99th-percentile latency in ms over the window (NaN without requests). */
  readonly p99: string;
}

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
    `destination_version=${literal(t.version)}`,
    ...extra,
  ];
  return `{${matchers.join(",")}}`;
}

/** The three queries over the last `windowSeconds` (whole seconds, at least 1). */
export function canaryQueries(
  t: MetricTarget,
  windowSeconds: number,
): CanaryQueries {
  const w = `[${Math.max(1, Math.ceil(windowSeconds))}s]`;
  const all = canarySelector(t);
  const errors = canarySelector(t, [`response_code=~"5.."`]);
  return {
    requests: `sum(increase(istio_requests_total${all}${w}))`,
    errors: `sum(increase(istio_requests_total${errors}${w}))`,
    p99: `histogram_quantile(0.99, sum by (le) (increase(istio_request_duration_milliseconds_bucket${all}${w})))`,
  };
}
