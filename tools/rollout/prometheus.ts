// Prometheus' HTTP API (`GET /api/v1/query`): an instant query, one number back.
import type { Sample } from "./gates";
import type { CanaryQueries } from "./promql";

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

/**
 * The single number of an instant query's answer: an empty vector is `empty` (no series matched:
 * 0 for a count, no data for a quantile), "NaN" is null.
 */
export function scalarOf(body: unknown, empty: number | null): number | null {
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
  if (r.data.result.length === 0) {
    return empty;
  }
  if (r.data.result.length > 1) {
    throw new Error(
      `Prometheus answered ${r.data.result.length} series where one was expected`,
    );
  }
  const v = Number(r.data.result[0].value[1]);
  return Number.isFinite(v) ? v : null;
}

export class Prometheus {
  constructor(
    readonly baseUrl: string,
    private readonly timeoutMs = 10_000,
  ) {}

  /** Runs one instant query. */
  async query(promql: string, empty: number | null): Promise<number | null> {
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
    return scalarOf(body, empty);
  }

  /** The canary's sample: requests and errors (0 when no series), p99 (null when none). */
  async sample(q: CanaryQueries): Promise<Sample> {
    const [requests, errors, p99Ms] = await Promise.all([
      this.query(q.requests, 0),
      this.query(q.errors, 0),
      this.query(q.p99, null),
    ]);
    return { requests: requests ?? 0, errors: errors ?? 0, p99Ms };
  }
}
