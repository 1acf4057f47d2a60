// Prometheus' HTTP API (`GET /api/v1/query`): instant queries, each series of the answer with its
// labels and value.
import type { Sample } from "./gates";
import { type CanaryQueries, type SeriesValue, windowSample } from "./promql";

/** What /api/v1/query answers (the parts read here). */
interface QueryResponse {
  status: "success" | "error";
  errorType?: string;
  error?: string;
  data?: {
    resultType: string;
    result: Array<{ metric: Record<string, string>; value: [number, string] }>;
  };
}

/** The series of an instant query's answer (an empty vector: none; "NaN" reads as NaN). */
export function vectorOf(body: unknown): SeriesValue[] {
  const r = body as QueryResponse;
  if (!r || typeof r !== "object" || r.status !== "success" || !r.data) {
    const why =
      r && typeof r === "object"
        ? `${r.errorType ?? "error"}: ${r.error ?? "no data"}`
        : "not JSON";
    throw new Error(`Prometheus refused the query (${why})`);
  }
  if (r.data.resultType !== "vector") {
    throw new Error(`Prometheus answered a ${r.data.resultType}, not a vector`);
  }
  return r.data.result.map((s) => ({
    labels: s.metric ?? {},
    value: Number(s.value[1]),
  }));
}

export class Prometheus {
  constructor(
    readonly baseUrl: string,
    private readonly timeoutMs = 10_000,
  ) {}

  /** Runs one instant query (at Prometheus' own now). */
  async query(promql: string): Promise<SeriesValue[]> {
    const url = `${this.baseUrl}/api/v1/query?${new URLSearchParams({ query: promql })}`;
    let res: Response | undefined;
    let failure: unknown;
    try {
      res = await fetch(url, { signal: AbortSignal.timeout(this.timeoutMs) });
    } catch (e) {
      failure = e;
    }
    if (res === undefined) {
      const cause = (failure as { cause?: { code?: string } }).cause?.code;
      throw new Error(
        `Prometheus at ${this.baseUrl} did not answer (${cause ?? (failure as Error).message}); ` +
          `check --prometheus (e.g. the stack's Prometheus port-forward)`,
      );
    }
    const text = await res.text();
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      throw new Error(
        `Prometheus at ${this.baseUrl} answered HTTP ${res.status}, not JSON: ${text.slice(0, 200)}`,
      );
    }
    return vectorOf(body);
  }

  /**
   * The canary's sample over the queries' window: its counters at the check and at the window's
   * start, each series on its own, turned into requests, errors and p99 (promql.ts, windowSample).
   */
  async sample(q: CanaryQueries): Promise<Sample> {
    const [requests, requestsAtStart, latency, latencyAtStart] =
      await Promise.all([
        this.query(q.requests),
        this.query(q.requestsAtStart),
        this.query(q.latency),
        this.query(q.latencyAtStart),
      ]);
    return windowSample({
      requests,
      requestsAtStart,
      latency,
      latencyAtStart,
    });
  }
}
