// Unit tests of the routing builders: plain functions in, typed Istio specs out.
import * as assert from "assert";
import {
  DEFAULT_ROUTING_POLICY,
  type RoutingPolicy,
} from "../../components/core";
import {
  destinationRuleSpec,
  gatewaySpec,
  ingressVirtualServiceSpec,
  trafficPolicySpec,
  weightedVirtualServiceSpec,
} from "../../components/specs";
import { route, split } from "../support/finders";

const HOST = "backend.mesh-demo.svc.cluster.local";
const V1_V2 = [
  { version: "v1", weight: 80 },
  { version: "v2", weight: 20 },
];
const policy = (p: Partial<RoutingPolicy>): RoutingPolicy => ({
  ...DEFAULT_ROUTING_POLICY,
  ...p,
});

describe("DestinationRule builder", () => {
  it("WHEN defaults are used THEN the traffic policy is conservative and states mesh mTLS", () => {
    assert.deepStrictEqual(trafficPolicySpec(DEFAULT_ROUTING_POLICY), {
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
  });

  it("WHEN hashing on a header or a cookie THEN Istio's consistentHash names it", () => {
    const lb = (loadBalancer: RoutingPolicy["loadBalancer"]) =>
      trafficPolicySpec(policy({ loadBalancer })).loadBalancer;
    assert.deepStrictEqual(lb({ consistentHash: { header: "x-user" } }), {
      consistentHash: { httpHeaderName: "x-user" },
    });
    assert.deepStrictEqual(lb({ consistentHash: { cookie: "session" } }), {
      consistentHash: { httpCookie: { name: "session", ttl: "3600s" } },
    });
  });

  it("WHEN versions are deployed THEN each gets a subset selecting its version label", () => {
    const dr = destinationRuleSpec(HOST, ["v1", "v2"]);
    assert.strictEqual(dr.host, HOST);
    assert.deepStrictEqual(dr.subsets, [
      { name: "v1", labels: { version: "v1" } },
      { name: "v2", labels: { version: "v2" } },
    ]);
  });
});

describe("weighted VirtualService builder", () => {
  it("WHEN only weights are given THEN one weighted route splits over the subsets, with the default timeout and retries", () => {
    const vs = weightedVirtualServiceSpec(HOST, 80, V1_V2);
    assert.deepStrictEqual(vs.hosts, [HOST]);
    assert.strictEqual(vs.http.length, 1);
    const weighted = route(vs, "weighted");
    assert.deepStrictEqual(split(weighted), [
      ["v1", 80],
      ["v2", 20],
    ]);
    assert.deepStrictEqual(weighted.route[0].destination.port, { number: 80 });
    assert.strictEqual(weighted.match, undefined, "it catches everything");
    assert.strictEqual(weighted.timeout, "10s");
    assert.deepStrictEqual(weighted.retries, {
      attempts: 2,
      perTryTimeout: "3s",
      retryOn: "connect-failure,refused-stream,unavailable,cancelled,503",
    });
    assert.strictEqual(weighted.fault, undefined);
    assert.strictEqual(weighted.mirror, undefined);
  });

  it("WHEN a version has weight 0 THEN it stays listed, deployed but idle", () => {
    const vs = weightedVirtualServiceSpec(HOST, 80, [
      { version: "v1", weight: 0 },
      { version: "v2", weight: 0 },
      { version: "v3", weight: 100 },
    ]);
    assert.deepStrictEqual(
      split(route(vs, "weighted")).map(([, w]) => w),
      [0, 0, 100],
    );
  });

  it("WHEN retries are 0 THEN the route says attempts 0 and nothing else", () => {
    const vs = weightedVirtualServiceSpec(
      HOST,
      80,
      V1_V2,
      policy({
        retries: { attempts: 0, perTryTimeout: "3s", retryOn: "5xx" },
      }),
    );
    assert.deepStrictEqual(route(vs, "weighted").retries, { attempts: 0 });
  });

  it("WHEN a fault is set THEN the weighted route injects its delay and abort", () => {
    const vs = weightedVirtualServiceSpec(
      HOST,
      80,
      V1_V2,
      policy({
        fault: {
          delay: { percent: 50, fixedDelay: "2s" },
          abort: { percent: 10, httpStatus: 503 },
        },
      }),
    );
    assert.deepStrictEqual(route(vs, "weighted").fault, {
      delay: { percentage: { value: 50 }, fixedDelay: "2s" },
      abort: { percentage: { value: 10 }, httpStatus: 503 },
    });
  });

  it("WHEN a header route is set THEN it comes before the weighted route and goes to its version", () => {
    const vs = weightedVirtualServiceSpec(
      HOST,
      80,
      V1_V2,
      policy({
        headerRoutes: [{ header: "x-canary", value: "always", version: "v2" }],
      }),
    );
    assert.deepStrictEqual(
      vs.http.map((h) => h.name),
      ["header-1-v2", "weighted"],
    );
    const header = route(vs, "header-1-v2");
    assert.deepStrictEqual(header.match, [
      { headers: { "x-canary": { exact: "always" } } },
    ]);
    assert.deepStrictEqual(header.route, [
      { destination: { host: HOST, subset: "v2", port: { number: 80 } } },
    ]);
  });

  it("WHEN a header route has a fault of its own THEN only its requests get it", () => {
    const vs = weightedVirtualServiceSpec(
      HOST,
      80,
      V1_V2,
      policy({
        headerRoutes: [
          {
            header: "end-user",
            value: "jason",
            version: "v1",
            fault: { delay: { percent: 100, fixedDelay: "7s" } },
          },
        ],
      }),
    );
    assert.deepStrictEqual(route(vs, "header-1-v1").fault, {
      delay: { percentage: { value: 100 }, fixedDelay: "7s" },
    });
    assert.strictEqual(route(vs, "weighted").fault, undefined);
  });

  it("WHEN mirroring is set THEN the weighted route copies that share to the version", () => {
    const vs = weightedVirtualServiceSpec(
      HOST,
      80,
      V1_V2,
      policy({ mirror: { version: "v2", percent: 25 } }),
    );
    const weighted = route(vs, "weighted");
    assert.deepStrictEqual(weighted.mirror, {
      host: HOST,
      subset: "v2",
      port: { number: 80 },
    });
    assert.deepStrictEqual(weighted.mirrorPercentage, { value: 25 });
  });
});

describe("ingress builders", () => {
  const target = (p: RoutingPolicy = DEFAULT_ROUTING_POLICY) => ({
    service: "frontend",
    namespace: "mesh-demo",
    host: "frontend.mesh-demo.svc.cluster.local",
    port: 80,
    versions: [{ version: "v1", weight: 100 }],
    policy: p,
  });

  it("WHEN the gateway chart's pods are selected THEN the Gateway serves plain HTTP for any host on their port", () => {
    assert.deepStrictEqual(gatewaySpec({ app: "gw", istio: "gw" }, 80), {
      selector: { app: "gw", istio: "gw" },
      servers: [
        { port: { number: 80, name: "http", protocol: "HTTP" }, hosts: ["*"] },
      ],
    });
  });

  it("WHEN routes are given THEN they are tried in order, exact paths before prefixes, a route without paths catching all", () => {
    const vs = ingressVirtualServiceSpec("edge/gw", [
      {
        name: "shop",
        exact: ["/cart"],
        prefixes: ["/static"],
        target: target(),
      },
      { name: "frontend", prefixes: [], target: target() },
    ]);
    assert.deepStrictEqual(vs.gateways, ["edge/gw"]);
    assert.deepStrictEqual(vs.hosts, ["*"]);
    assert.deepStrictEqual(
      vs.http.map((h) => h.name),
      ["shop", "frontend"],
    );
    assert.deepStrictEqual(route(vs, "shop").match, [
      { uri: { exact: "/cart" } },
      { uri: { prefix: "/static" } },
    ]);
    assert.strictEqual(route(vs, "frontend").match, undefined);
    assert.deepStrictEqual(route(vs, "frontend").route, [
      {
        destination: {
          host: "frontend.mesh-demo.svc.cluster.local",
          subset: "v1",
          port: { number: 80 },
        },
        weight: 100,
      },
    ]);
  });

  it("WHEN the target has no fault THEN the edge route still times out and retries as the service does", () => {
    const edge = route(
      ingressVirtualServiceSpec("edge/gw", [
        { name: "frontend", target: target() },
      ]),
      "frontend",
    );
    assert.strictEqual(edge.timeout, "10s");
    assert.strictEqual(edge.retries.attempts, 2);
    assert.strictEqual(edge.fault, undefined);
  });

  it("WHEN the target has a timeout, retries and a fault THEN the edge route carries them, since the mesh route does not apply at the gateway", () => {
    const vs = ingressVirtualServiceSpec("edge/gw", [
      {
        name: "frontend",
        target: target(
          policy({
            timeout: "4s",
            retries: { attempts: 1, perTryTimeout: "2s", retryOn: "5xx" },
            fault: { abort: { percent: 10, httpStatus: 503 } },
          }),
        ),
      },
    ]);
    const edge = route(vs, "frontend");
    assert.strictEqual(edge.timeout, "4s");
    assert.deepStrictEqual(edge.retries, {
      attempts: 1,
      perTryTimeout: "2s",
      retryOn: "5xx",
    });
    assert.deepStrictEqual(edge.fault, {
      abort: { percentage: { value: 10 }, httpStatus: 503 },
    });
  });
});
