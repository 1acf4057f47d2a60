// The traffic probe against local HTTP servers on 127.0.0.1 that answer like the demo: two
// backends ("backend v1", "backend v2") behind a router that picks one per request at a known
// split, as the frontend's proxy does. The split arithmetic (3σ of a binomial), the chart, and
// `npm run traffic` itself.
import * as assert from "assert";
import { execFile } from "child_process";
import * as http from "http";
import type { AddressInfo } from "net";
import * as path from "path";
import { probe } from "../../tools/traffic/probe";
import { mulberry32 } from "../support/fuzzConfig";
import {
  judgeSplit,
  renderSplit,
  verdictLine,
  versionOf,
} from "../../tools/traffic/split";

const ROOT = path.resolve(__dirname, "..", "..");

/** Starts a server on 127.0.0.1 and returns its URL. */
async function listen(
  handler: http.RequestListener,
): Promise<{ url: string; server: http.Server }> {
  const server = http.createServer(handler);
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/`,
    server,
  };
}

/** http-echo's answer: the text and a newline. */
const echo =
  (text: string): http.RequestListener =>
  (_req, res) => {
    res.writeHead(200, { "content-type": "text/plain" });
    res.end(`${text}\n`);
  };

/**
 * A router in front of the backends, picking per request with a seeded generator (mulberry32) (like Envoy's
 * weighted clusters); `fail` answers that share with 503 instead.
 */
function router(
  backends: Array<[string, number]>,
  seed: number,
  fail = 0,
): http.RequestListener {
  const rand = mulberry32(seed);
  return (_req, res) => {
    if (rand() < fail) {
      res.writeHead(503).end("no healthy upstream");
      return;
    }
    let x = rand() * 100;
    const [url] =
      backends.find(([, w]) => (x -= w) < 0) ?? backends[backends.length - 1];
    http.get(url, (up) =>
      up.pipe(res.writeHead(up.statusCode ?? 502, up.headers)),
    );
  };
}

describe("the traffic probe", () => {
  const servers: http.Server[] = [];
  let v1: string;
  let v2: string;
  let v3: string;
  const start = async (handler: http.RequestListener) => {
    const s = await listen(handler);
    servers.push(s.server);
    return s.url;
  };
  before(async () => {
    v1 = await start(echo("backend v1"));
    v2 = await start(echo("backend v2"));
    v3 = await start(echo("backend v3"));
  });
  after(() => servers.forEach((s) => s.close()));

  it("WHEN an answer names a version THEN it is counted for it, and anything else is not", () => {
    assert.strictEqual(versionOf("backend v1\n"), "v1");
    assert.strictEqual(versionOf("backend canary-2"), "canary-2");
    assert.strictEqual(versionOf("<html>502 Bad Gateway</html>"), undefined);
    assert.strictEqual(versionOf("backend v1; rm -rf"), undefined);
  });

  it("WHEN the router splits 80/20 and 80/20 is configured THEN every answer is counted and the split is within 3σ", async () => {
    const url = await start(
      router(
        [
          [v1, 80],
          [v2, 20],
        ],
        11,
      ),
    );
    const r = await probe({ url, requests: 256, concurrency: 16 });
    assert.deepStrictEqual(r.failures, {});
    assert.strictEqual((r.counts.v1 ?? 0) + (r.counts.v2 ?? 0), 256);
    const v = judgeSplit(r.counts, { v1: 80, v2: 20 });
    assert.ok(v.ok, renderSplit(v).join("\n"));
    // σ = √(256·0.2·0.8) = 6.4 answers, so 3σ = 19.2 answers = 7.5 points.
    assert.strictEqual(v.rows[1].tolerance, 7.5);
  });

  it("WHEN the router splits 50/50 but 80/20 is configured THEN the probe says the split is off", async () => {
    const url = await start(
      router(
        [
          [v1, 50],
          [v2, 50],
        ],
        5,
      ),
    );
    const r = await probe({ url, requests: 256, concurrency: 16 });
    const v = judgeSplit(r.counts, { v1: 80, v2: 20 });
    assert.strictEqual(v.ok, false);
    assert.match(
      verdictLine(v),
      /^FAIL: v1 [45]\d\.\d% vs 80\.0%, v2 [45]\d\.\d% vs 20\.0% \(each version within 3σ/,
    );
  });

  it("WHEN a version without a weight answers THEN it is flagged", async () => {
    const url = await start(
      router(
        [
          [v1, 90],
          [v3, 10],
        ],
        3,
      ),
    );
    const v = judgeSplit(
      (await probe({ url, requests: 200, concurrency: 4 })).counts,
      { v1: 100 },
    );
    assert.strictEqual(v.ok, false);
    assert.deepStrictEqual(
      v.rows.map((r) => [r.version, r.ok, r.note]),
      [
        ["v1", false, undefined],
        ["v3", false, "answered, but has no configured weight"],
      ],
    );
  });

  it("WHEN requests fail THEN they are counted apart with the first failure, not as a version", async () => {
    const url = await start(router([[v1, 100]], 9, 0.25));
    const r = await probe({ url, requests: 200, concurrency: 16 });
    assert.ok(r.failures["HTTP 503"] > 20, JSON.stringify(r.failures));
    assert.strictEqual(r.firstFailure, "HTTP 503: no healthy upstream");
    assert.strictEqual(r.counts.v1 + r.failures["HTTP 503"], 200);
    const closed = await listen(echo("gone"));
    await new Promise((r) => closed.server.close(r));
    const refused = await probe({
      url: closed.url,
      requests: 3,
      concurrency: 1,
    });
    assert.deepStrictEqual(refused.failures, { ECONNREFUSED: 3 });
  });

  it("WHEN a weight is 0 THEN a single answer from that version is off (σ = 0)", () => {
    const v = judgeSplit({ v1: 199, v2: 1 }, { v1: 100, v2: 0 });
    assert.deepStrictEqual(
      v.rows.map((r) => [r.version, r.ok, r.deviationSigmas]),
      [
        ["v1", false, -Infinity],
        ["v2", false, Infinity],
      ],
    );
    assert.ok(judgeSplit({ v1: 200 }, { v1: 100, v2: 0 }).ok);
  });

  it("WHEN the chart is drawn THEN each version gets its bar, a | at its weight, the numbers and the verdict", () => {
    const lines = renderSplit(
      judgeSplit({ v1: 162, v2: 38 }, { v1: 80, v2: 20 }),
      20,
    );
    assert.deepStrictEqual(lines, [
      "version  observed (| = configured)  observed         configured  verdict",
      "v1       ████████████████|···   81.0% (  162)       80.0%  ok (+0.4σ, allowed ±8.5 pts)",
      "v2       ████|···············   19.0% (   38)       20.0%  ok (-0.4σ, allowed ±8.5 pts)",
    ]);
  });

  it("WHEN npm run traffic probes the router with --weights THEN it prints the chart and PASS, and exits 0", async () => {
    const url = await start(
      router(
        [
          [v1, 80],
          [v2, 20],
        ],
        21,
      ),
    );
    const out = await new Promise<{ code: number; stdout: string }>((resolve) =>
      execFile(
        process.execPath,
        [
          "--require",
          "./tools/register.js",
          "tools/traffic/main.ts",
          "--url",
          url,
          "--requests",
          "200",
          "--weights",
          "v1=80,v2=20",
        ],
        { cwd: ROOT, env: { ...process.env, CI: "true" } },
        (err, stdout) =>
          resolve({
            code: err ? ((err as { code?: number }).code ?? 1) : 0,
            stdout,
          }),
      ),
    );
    assert.strictEqual(out.code, 0, out.stdout);
    assert.match(out.stdout, /\[traffic\] v1 +█+\|?[█·|]+ +\d+\.\d% \(/);
    assert.match(
      out.stdout,
      /\[traffic\] PASS: the observed split matches the configured weights \(each version within 3σ of its weight, σ = √\(n·p·\(1−p\)\), n = 200\)/,
    );
  });
});
