import * as assert from "assert";
import { validateConfig } from "../components/config";
import { problems } from "./configProblems";
import {
  changedResources,
  DEV_CONFIG,
  istioResources,
  named,
  one,
  renderDev,
  Rendering,
  renderProgram,
} from "./mocks";

const backendVs = (r: Rendering) =>
  named(istioResources(r, "VirtualService"), "backend").inputs.spec;
const backendDr = (r: Rendering) =>
  named(istioResources(r, "DestinationRule"), "backend").inputs.spec;

describe("resilience defaults (dev stack)", () => {
  let r: Rendering;
  before(async () => {
    r = await renderDev();
  });

  it("puts a conservative traffic policy on every DestinationRule", () => {
    const drs = istioResources(r, "DestinationRule");
    assert.deepStrictEqual(drs.map((d) => d.inputs.metadata.name).sort(), [
      "backend",
      "frontend",
    ]);
    for (const dr of drs) {
      assert.deepStrictEqual(dr.inputs.spec.trafficPolicy, {
        loadBalancer: { simple: "LEAST_REQUEST" },
        connectionPool: {
          tcp: { maxConnections: 100 },
          http: { http1MaxPendingRequests: 100, maxRetries: 10 },
        },
        outlierDetection: {
          consecutive5xxErrors: 5,
          interval: "10s",
          baseEjectionTime: "30s",
          maxEjectionPercent: 50,
        },
        tls: { mode: "ISTIO_MUTUAL" },
      });
    }
  });

  it("times out and retries every in-mesh route, with no fault, header route or mirror", () => {
    const spec = backendVs(r);
    assert.strictEqual(spec.http.length, 1);
    const route = spec.http[0];
    assert.strictEqual(route.timeout, "10s");
    assert.deepStrictEqual(route.retries, {
      attempts: 2,
      perTryTimeout: "3s",
      retryOn: "connect-failure,refused-stream,unavailable,cancelled,503",
    });
    assert.strictEqual(route.fault, undefined);
    assert.strictEqual(route.mirror, undefined);
  });
});

describe("resilience knobs", () => {
  it("sets the load balancer, including consistent hashing on a header or a cookie", async () => {
    const header = await renderProgram({
      ...DEV_CONFIG,
      resilience: { loadBalancer: "header:x-user" },
    });
    assert.deepStrictEqual(backendDr(header).trafficPolicy.loadBalancer, {
      consistentHash: { httpHeaderName: "x-user" },
    });
    const cookie = validateConfig({
      ...DEV_CONFIG,
      resilience: { loadBalancer: "cookie:session" },
    });
    assert.deepStrictEqual(cookie.resilience.loadBalancer, {
      consistentHash: { cookie: "session" },
    });
    const rr = validateConfig({
      ...DEV_CONFIG,
      resilience: { loadBalancer: "ROUND_ROBIN" },
    });
    assert.deepStrictEqual(rr.resilience.loadBalancer, {
      simple: "ROUND_ROBIN",
    });
  });

  it("takes connection pool, outlier detection, timeout and retries from config", async () => {
    const r = await renderProgram({
      ...DEV_CONFIG,
      resilience: {
        connectionPool: { maxConnections: 10, maxPendingRequests: 5 },
        outlierDetection: {
          consecutive5xxErrors: 2,
          interval: "1s",
          baseEjectionTime: "1m",
          maxEjectionPercent: 100,
        },
        timeout: "2.5s",
        retries: { attempts: 0 },
      },
    });
    const tp = backendDr(r).trafficPolicy;
    assert.deepStrictEqual(tp.connectionPool, {
      tcp: { maxConnections: 10 },
      http: { http1MaxPendingRequests: 5, maxRetries: 10 },
    });
    assert.deepStrictEqual(tp.outlierDetection, {
      consecutive5xxErrors: 2,
      interval: "1s",
      baseEjectionTime: "1m",
      maxEjectionPercent: 100,
    });
    const route = backendVs(r).http[0];
    assert.strictEqual(route.timeout, "2.5s");
    assert.deepStrictEqual(
      route.retries,
      { attempts: 0 },
      "attempts 0 turns retries off",
    );
  });

  it("injects faults into the named service only", async () => {
    const r = await renderProgram({
      ...DEV_CONFIG,
      resilience: {
        faults: {
          backend: {
            delay: { percent: 50, fixedDelay: "2s" },
            abort: { percent: 10, httpStatus: 503 },
          },
        },
      },
    });
    assert.deepStrictEqual(backendVs(r).http[0].fault, {
      delay: { percentage: { value: 50 }, fixedDelay: "2s" },
      abort: { percentage: { value: 10 }, httpStatus: 503 },
    });
    assert.strictEqual(
      named(istioResources(r, "VirtualService"), "frontend").inputs.spec.http[0]
        .fault,
      undefined,
    );
  });

  it("routes the canary header to its version before the weighted route", async () => {
    const r = await renderProgram({
      canary: {
        weights: { v1: 100, v2: 0 },
        header: { name: "x-canary", value: "always", version: "v2" },
      },
    });
    const http = backendVs(r).http;
    assert.strictEqual(http.length, 2);
    assert.deepStrictEqual(http[0].match, [
      { headers: { "x-canary": { exact: "always" } } },
    ]);
    assert.deepStrictEqual(http[0].route, [
      {
        destination: {
          host: "backend.mesh-demo.svc.cluster.local",
          subset: "v2",
          port: { number: 80 },
        },
      },
    ]);
    assert.strictEqual(http[1].name, "weighted");
    assert.strictEqual(
      http[1].match,
      undefined,
      "the weighted route catches everything else",
    );
    assert.deepStrictEqual(
      http[1].route.map((d: any) => [d.destination.subset, d.weight]),
      [
        ["v1", 100],
        ["v2", 0],
      ],
    );
  });

  it("mirrors a percentage of the weighted traffic to a version", async () => {
    const r = await renderProgram({
      canary: {
        weights: { v1: 100, v2: 0 },
        mirror: { version: "v2", percent: 25 },
      },
    });
    const weighted = backendVs(r).http[0];
    assert.deepStrictEqual(weighted.mirror, {
      host: "backend.mesh-demo.svc.cluster.local",
      subset: "v2",
      port: { number: 80 },
    });
    assert.deepStrictEqual(weighted.mirrorPercentage, { value: 25 });
  });

  it("changes only the DestinationRules when only the traffic policy changes", async () => {
    const a = await renderDev();
    const b = await renderProgram({
      ...DEV_CONFIG,
      resilience: { loadBalancer: "RANDOM" },
    });
    assert.deepStrictEqual(changedResources(a, b).sort(), [
      "kubernetes:networking.istio.io/v1:DestinationRule::backend-dr",
      "kubernetes:networking.istio.io/v1:DestinationRule::frontend-dr",
    ]);
  });

  const bad: Array<[string, Record<string, unknown>, string]> = [
    [
      "an unknown load balancer",
      { resilience: { loadBalancer: "FASTEST" } },
      'resilience.loadBalancer must be one of ROUND_ROBIN, LEAST_REQUEST, RANDOM, header:<name> or cookie:<name> for consistent hashing (got "FASTEST")',
    ],
    [
      "a timeout not in Istio's format",
      { resilience: { timeout: "10" } },
      'resilience.timeout must be a duration such as 100ms, 2s or 1m (a number and h, m, s or ms) (got "10")',
    ],
    [
      "a zero timeout",
      { resilience: { timeout: "0s" } },
      'resilience.timeout must be at least 1ms (got "0s")',
    ],
    [
      "too many retries",
      { resilience: { retries: { attempts: 50 } } },
      "resilience.retries.attempts must be a whole number from 0 to 10 (got 50); e.g. 'pulumi config set --path resilience.retries.attempts 2'",
    ],
    [
      "an ejection percentage over 100",
      { resilience: { outlierDetection: { maxEjectionPercent: 150 } } },
      "resilience.outlierDetection.maxEjectionPercent must be a whole number from 0 to 100 (got 150); e.g. 'pulumi config set --path resilience.outlierDetection.maxEjectionPercent 50'",
    ],
    [
      "a fault percentage over 100",
      {
        resilience: {
          faults: { backend: { abort: { percent: 120, httpStatus: 500 } } },
        },
      },
      "resilience.faults.backend.abort.percent must be a percentage from 0 to 100 (got 120); e.g. 'pulumi config set --path resilience.faults.backend.abort.percent 100'",
    ],
    [
      "a fault for an unknown service",
      { resilience: { faults: { payments: { abort: { percent: 5 } } } } },
      'resilience.faults.payments is not a known setting (got {"abort":{"percent":5}}); known fields of resilience.faults: frontend, backend',
    ],
    [
      "an empty fault",
      { resilience: { faults: { backend: {} } } },
      "resilience.faults.backend must set delay, abort or both (got {}); e.g. 'pulumi config set --path resilience.faults.backend.abort.percent 10'",
    ],
    [
      "a header route to a version that is not deployed",
      {
        canary: {
          weights: { v1: 100 },
          header: { name: "x-canary", value: "1", version: "v9" },
        },
      },
      'canary.header.version must name a deployed version, one of v1 (got "v9")',
    ],
    [
      "a mirror percentage over 100",
      {
        canary: {
          weights: { v1: 80, v2: 20 },
          mirror: { version: "v2", percent: 101 },
        },
      },
      "canary.mirror.percent must be a percentage from 0 to 100 (got 101); e.g. 'pulumi config set --path canary.mirror.percent 100'",
    ],
  ];
  for (const [what, raw, message] of bad) {
    it(`rejects ${what}`, () => {
      assert.deepStrictEqual(problems({ ...DEV_CONFIG, ...raw }), [message]);
    });
  }
});
