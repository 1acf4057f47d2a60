// The traffic probe's requests: N GETs with a few in flight, each answer counted by the version it
// names (its x-mesh-version header, else its body: split.ts, answerVersion); failures (an HTTP
// error, an answer that names no version, no answer) counted apart.
import { answerVersion, VERSION_HEADER } from "./split";

export interface ProbeResult {
  /** Answers per version. */
  readonly counts: Record<string, number>;
  /** Failures by kind, e.g. "HTTP 503", "unexpected body", "unexpected header", "ECONNREFUSED". */
  readonly failures: Record<string, number>;
  /** The first failure, in full, for the message. */
  readonly firstFailure?: string;
  readonly seconds: number;
}

export interface ProbeOptions {
  readonly url: string;
  readonly requests: number;
  readonly concurrency: number;
  readonly timeoutMs?: number;
}

/** Sends the requests and counts the answers. */
export async function probe(o: ProbeOptions): Promise<ProbeResult> {
  const counts: Record<string, number> = {};
  const failures: Record<string, number> = {};
  let firstFailure: string | undefined;
  const fail = (kind: string, detail: string) => {
    failures[kind] = (failures[kind] ?? 0) + 1;
    firstFailure ??= detail;
  };
  const start = Date.now();
  let next = 0;
  const worker = async () => {
    while (next < o.requests) {
      next++;
      try {
        const res = await fetch(o.url, {
          signal: AbortSignal.timeout(o.timeoutMs ?? 5000),
          headers: { "cache-control": "no-cache" },
        });
        const body = await res.text();
        const header = res.headers.get(VERSION_HEADER);
        const version = answerVersion(header, body);
        if (res.status !== 200) {
          fail(
            `HTTP ${res.status}`,
            `HTTP ${res.status}: ${body.slice(0, 120).trim()}`,
          );
        } else if (version === undefined && header !== null) {
          fail(
            "unexpected header",
            `an ${VERSION_HEADER} header that names no single version: ${JSON.stringify(header.slice(0, 120))}`,
          );
        } else if (version === undefined) {
          fail(
            "unexpected body",
            `no ${VERSION_HEADER} header, and a body that names no version: ${JSON.stringify(body.slice(0, 120))}`,
          );
        } else {
          counts[version] = (counts[version] ?? 0) + 1;
        }
      } catch (e) {
        const err = e as Error & { cause?: { code?: string } };
        const kind = err.cause?.code ?? err.name;
        fail(kind, `${kind}: ${err.cause ? String(err.cause) : err.message}`);
      }
    }
  };
  await Promise.all(
    Array.from({ length: Math.min(o.concurrency, o.requests) }, worker),
  );
  return {
    counts,
    failures,
    firstFailure,
    seconds: (Date.now() - start) / 1000,
  };
}
