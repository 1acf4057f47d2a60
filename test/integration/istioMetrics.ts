// A stand-in for the metrics of the demo backend's proxies, for the rollout's test bed proof: an
// HTTP server on 127.0.0.1 serving Istio's standard metric names (istio_requests_total and the
// istio_request_duration_milliseconds histogram, Istio's default buckets) in Prometheus' text
// format, for each backend version, with a controllable error rate and latency. No request flows
// here (no Envoy, no pods that run): the counters grow at a fixed total rate, shared between the
// versions by the weights the API server's VirtualService or HTTPRoute holds right now, read every
// half second, as the frontend's proxy would split requests once istiod pushed the route. Each
// request is reported twice, as a mesh does: by the backend's sidecar (reporter="destination") and
// by the frontend's (reporter="source"), so a query that forgets the reporter counts double.
// As Envoy's stats do, a response code's series (its counter and its latency buckets, both labelled
// with the code) exist only from the first answer with that code: a version that never failed has
// no 503 series at all, and one that starts failing inside a check window creates it there
// (what Prometheus' increase() does not count, prometheus/prometheus#7249).
import * as http from "http";
import type { AddressInfo } from "net";

/** Istio's default buckets for istio_request_duration_milliseconds (the stats filter's). */
const BUCKETS = [
  0.5, 1, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000, 60000,
  300000, 600000, 1800000, 3600000,
];

export interface VersionBehaviour {
  /** Share of requests answered 503, 0..1. */
  errorRate: number;
  /** Every request takes this long (ms). */
  latencyMs: number;
}

/** The series of one response code of one version: born at its first answer. */
interface CodeSeries {
  count: number;
  /** Answers at or below each bucket bound (cumulative, as Prometheus' `le`). */
  buckets: number[];
  sumMs: number;
}

interface VersionState {
  /** Requests not yet whole (the rate is continuous). */
  carry: number;
  errorCarry: number;
  /** By response code, in the order the codes were first answered. */
  codes: Map<string, CodeSeries>;
}

export interface Exporter {
  readonly url: string;
  /** Sets a version's error rate and latency from now on. */
  set(version: string, b: Partial<VersionBehaviour>): void;
  /** The weights last read from the API server. */
  weights(): Record<string, number>;
  /** Requests counted so far per version (both reporters count these once each). */
  totals(): Record<string, number>;
  /** The response codes a version has series for (answered at least once). */
  codes(version: string): string[];
  /** Answers `n` requests of `version` with `code` at once (a burst), as well as its traffic. */
  burst(version: string, n: number, code: string): void;
  stop(): Promise<void>;
}

/**
 * Starts the exporter. `readWeights` returns the split the API server holds; `rps` is the total
 * request rate the versions share.
 */
export async function startExporter(opts: {
  namespace: string;
  service: string;
  versions: string[];
  readWeights: () => Promise<Record<string, number>>;
  rps: number;
}): Promise<Exporter> {
  const behaviour = new Map<string, VersionBehaviour>(
    opts.versions.map((v) => [v, { errorRate: 0, latencyMs: 20 }]),
  );
  const state = new Map<string, VersionState>(
    opts.versions.map((v) => [
      v,
      { carry: 0, errorCarry: 0, codes: new Map<string, CodeSeries>() },
    ]),
  );
  /** Counts `n` answers with `code`; the code's series is created by its first answer. */
  const answer = (v: string, code: string, n: number) => {
    if (n <= 0) {
      return;
    }
    const st = state.get(v)!;
    const latencyMs = behaviour.get(v)!.latencyMs;
    let s = st.codes.get(code);
    if (s === undefined) {
      s = { count: 0, buckets: BUCKETS.map(() => 0), sumMs: 0 };
      st.codes.set(code, s);
    }
    s.count += n;
    s.sumMs += n * latencyMs;
    BUCKETS.forEach((le, i) => {
      if (latencyMs <= le) {
        s.buckets[i] += n;
      }
    });
  };
  let weights: Record<string, number> = await opts.readWeights();
  let last = Date.now();
  const advance = () => {
    const now = Date.now();
    const dt = (now - last) / 1000;
    last = now;
    for (const [v, st] of state) {
      const b = behaviour.get(v)!;
      st.carry += (opts.rps * (weights[v] ?? 0) * dt) / 100;
      const n = Math.floor(st.carry);
      st.carry -= n;
      st.errorCarry += n * b.errorRate;
      const errors = Math.min(n, Math.floor(st.errorCarry));
      st.errorCarry -= errors;
      answer(v, "503", errors);
      answer(v, "200", n - errors);
    }
  };
  const ticker = setInterval(advance, 100);
  let polling = true;
  const poll = async () => {
    while (polling) {
      try {
        weights = await opts.readWeights();
      } catch {
        // keep the last split while the API server does not answer
      }
      await new Promise((r) => setTimeout(r, 500));
    }
  };
  const poller = poll();

  const render = (): string => {
    advance();
    const lines = [
      "# HELP istio_requests_total Total requests (test-bed stand-in).",
      "# TYPE istio_requests_total counter",
    ];
    const hist = [
      "# HELP istio_request_duration_milliseconds Request duration (test-bed stand-in).",
      "# TYPE istio_request_duration_milliseconds histogram",
    ];
    for (const [v, st] of state) {
      for (const reporter of ["destination", "source"]) {
        const base =
          `reporter="${reporter}",source_workload="frontend-v1",source_workload_namespace="${opts.namespace}",` +
          `destination_workload="${opts.service}-${v}",destination_workload_namespace="${opts.namespace}",` +
          `destination_canonical_service="${opts.service}",destination_canonical_revision="${v}",` +
          `destination_app="${opts.service}",destination_version="${v}",` +
          `destination_service_name="${opts.service}",destination_service_namespace="${opts.namespace}",` +
          `request_protocol="http"`;
        for (const [code, s] of st.codes) {
          const labels = `${base},response_code="${code}"`;
          lines.push(`istio_requests_total{${labels}} ${s.count}`);
          BUCKETS.forEach((le, i) =>
            hist.push(
              `istio_request_duration_milliseconds_bucket{${labels},le="${le}"} ${s.buckets[i]}`,
            ),
          );
          hist.push(
            `istio_request_duration_milliseconds_bucket{${labels},le="+Inf"} ${s.count}`,
          );
          hist.push(
            `istio_request_duration_milliseconds_sum{${labels}} ${s.sumMs}`,
          );
          hist.push(
            `istio_request_duration_milliseconds_count{${labels}} ${s.count}`,
          );
        }
      }
    }
    return [...lines, ...hist, ""].join("\n");
  };

  const server = http.createServer((req, res) => {
    if (req.url !== "/metrics") {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { "content-type": "text/plain; version=0.0.4" });
    res.end(render());
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}/metrics`,
    set: (v, b) => behaviour.set(v, { ...behaviour.get(v)!, ...b }),
    weights: () => ({ ...weights }),
    totals: () =>
      Object.fromEntries(
        [...state].map(([v, st]) => [
          v,
          [...st.codes.values()].reduce((n, s) => n + s.count, 0),
        ]),
      ),
    codes: (v) => [...(state.get(v)?.codes.keys() ?? [])],
    burst: (v, n, code) => {
      advance();
      answer(v, code, n);
    },
    stop: async () => {
      clearInterval(ticker);
      polling = false;
      await poller;
      await new Promise((r) => server.close(r));
    },
  };
}
