import * as assert from "assert";

import { BOOKINFO_CALLS } from "../components/apps";
import { BOOKINFO_SERVICES } from "../components/config";
import { admits } from "./authz";
import { problems } from "./configProblems";
import {
  byType,
  changedResources,
  DEV_CONFIG,
  istioResources,
  named,
  one,
  RecordedResource,
  renderDev,
  Rendering,
  renderProgram,
} from "./mocks";

const DEPLOYMENT = "kubernetes:apps/v1:Deployment";
const inNs = (list: RecordedResource[], ns: string) =>
  list.filter((x) => x.inputs.metadata?.namespace === ns);
const vsSpec = (r: Rendering, name: string) =>
  named(inNs(istioResources(r, "VirtualService"), "bookinfo"), name).inputs
    .spec;
const ON = { ...DEV_CONFIG, bookinfo: { enabled: true } };

describe("Bookinfo", () => {
  let r: Rendering;
  before(async () => {
    r = await renderProgram(ON);
  });

  it("deploys the sample's six workloads, pinned, each service under its own account", () => {
    const deployments = inNs(byType(r, DEPLOYMENT), "bookinfo");
    assert.deepStrictEqual(
      deployments.map((d) => d.inputs.metadata.name).sort(),
      [
        "details-v1",
        "productpage-v1",
        "ratings-v1",
        "reviews-v1",
        "reviews-v2",
        "reviews-v3",
      ],
    );
    for (const d of deployments) {
      const pod = d.inputs.spec.template.spec;
      const { app, version } = d.inputs.spec.template.metadata.labels;
      assert.strictEqual(
        pod.containers[0].image,
        `docker.io/istio/examples-bookinfo-${app}-${version}:1.20.3`,
      );
      assert.strictEqual(pod.serviceAccountName, app);
      // reviews is Open Liberty (uid 1001, group 0); the others declare USER 1000.
      assert.strictEqual(
        pod.securityContext.runAsUser,
        app === "reviews" ? 1001 : 1000,
      );
      assert.strictEqual(
        pod.containers[0].securityContext.readOnlyRootFilesystem,
        true,
      );
      assert.strictEqual(pod.containers[0].ports[0].containerPort, 9080);
    }
  });

  it("gives all four services a DestinationRule whose subsets match their deployments", () => {
    const drs = inNs(istioResources(r, "DestinationRule"), "bookinfo");
    assert.deepStrictEqual(drs.map((d) => d.inputs.metadata.name).sort(), [
      "details",
      "productpage",
      "ratings",
      "reviews",
    ]);
    for (const dr of drs) {
      const svc = dr.inputs.metadata.name;
      const versions = inNs(byType(r, DEPLOYMENT), "bookinfo")
        .filter((d) => d.inputs.spec.template.metadata.labels.app === svc)
        .map((d) => d.inputs.spec.template.metadata.labels.version);
      assert.deepStrictEqual(
        dr.inputs.spec.subsets.map((s: any) => s.name),
        versions,
      );
    }
  });

  it("routes all reviews traffic to v1 by default, with no exercise configured", () => {
    const reviews = vsSpec(r, "reviews");
    assert.strictEqual(reviews.http.length, 1);
    assert.deepStrictEqual(
      reviews.http[0].route.map((d: any) => [d.destination.subset, d.weight]),
      [
        ["v1", 100],
        ["v2", 0],
        ["v3", 0],
      ],
    );
    assert.strictEqual(
      reviews.http[0].timeout,
      "10s",
      "the shared default, not an exercise timeout",
    );
    assert.strictEqual(vsSpec(r, "ratings").http.length, 1);
    assert.strictEqual(vsSpec(r, "ratings").http[0].fault, undefined);
  });

  it("routes Bookinfo's paths through the gateway before the demo app's catch-all", () => {
    const http = named(istioResources(r, "VirtualService"), "ingress-routes")
      .inputs.spec.http;
    assert.deepStrictEqual(
      http.map((h: any) => h.name),
      ["bookinfo", "frontend"],
    );
    assert.deepStrictEqual(http[0].match, [
      { uri: { exact: "/productpage" } },
      { uri: { exact: "/login" } },
      { uri: { exact: "/logout" } },
      { uri: { prefix: "/static" } },
      { uri: { prefix: "/api/v1/products" } },
    ]);
    assert.deepStrictEqual(http[0].route, [
      {
        destination: {
          host: "productpage.bookinfo.svc.cluster.local",
          subset: "v1",
          port: { number: 9080 },
        },
        weight: 100,
      },
    ]);
    assert.deepStrictEqual(
      r.outputs.bookinfoApp.url,
      "http://localhost:8080/productpage",
    );
  });

  describe("admits exactly the calls of the sample's call graph (bookinfoCallGraph.ts)", () => {
    const policy = (svc: string) =>
      named(
        inNs(istioResources(r, "AuthorizationPolicy"), "bookinfo"),
        `${svc}-allow`,
      ).inputs.spec;
    const principalOf = (caller: string) =>
      caller === "ingress"
        ? "cluster.local/ns/istio-ingress/sa/istio-ingressgateway"
        : `cluster.local/ns/bookinfo/sa/${caller}`;
    // A concrete request for each pattern, as the sample sends it (product id 0).
    const concrete = (p: string) => p.replace(/\*$/, "0");

    for (const call of BOOKINFO_CALLS) {
      for (const method of call.methods) {
        const path = concrete(call.paths?.[0] ?? "/productpage");
        it(`WHEN ${call.from} calls ${method} ${call.to}${path} THEN the policy admits it`, () => {
          assert.ok(
            admits(policy(call.to), {
              principal: principalOf(call.from),
              method,
              path,
            }),
          );
        });
      }
    }

    const callers = ["ingress", ...BOOKINFO_SERVICES];
    for (const to of BOOKINFO_SERVICES) {
      for (const from of callers.filter(
        (f) => !BOOKINFO_CALLS.some((c) => c.from === f && c.to === to),
      )) {
        it(`WHEN ${from} calls ${to}, which the sample never does, THEN it is denied`, () => {
          for (const path of ["/", `/${to}/0`, "/productpage", "/health"]) {
            assert.ok(
              !admits(policy(to), {
                principal: principalOf(from),
                method: "GET",
                path,
              }),
              `${from} -> ${to} GET ${path} admitted`,
            );
          }
        });
      }
    }

    it("productpage reaches ratings directly, for /api/v1/products/<id>/ratings", () => {
      assert.ok(
        admits(policy("ratings"), {
          principal: principalOf("productpage"),
          method: "GET",
          path: "/ratings/0",
        }),
      );
    });

    it("a known caller is refused other methods and paths", () => {
      assert.ok(
        !admits(policy("ratings"), {
          principal: principalOf("reviews"),
          method: "POST",
          path: "/ratings/0",
        }),
      );
      assert.ok(
        !admits(policy("details"), {
          principal: principalOf("productpage"),
          method: "GET",
          path: "/admin",
        }),
      );
    });

    it("the namespace denies everything else by default", () => {
      assert.deepStrictEqual(
        named(
          inNs(istioResources(r, "AuthorizationPolicy"), "bookinfo"),
          "deny-all",
        ).inputs.spec,
        {},
      );
    });
  });

  it("leaves the demo app untouched when toggled", async () => {
    const off = await renderDev();
    const demo = (x: Rendering) =>
      x.resources
        .filter(
          (res) =>
            res.inputs.metadata?.namespace === "mesh-demo" ||
            res.inputs.metadata?.name === "mesh-demo",
        )
        .map((res) => JSON.stringify(res));
    assert.ok(demo(off).length > 10);
    assert.deepStrictEqual(demo(r), demo(off));
    assert.ok(inNs(r.resources, "bookinfo").length > 0);
    assert.strictEqual(inNs(off.resources, "bookinfo").length, 0);
    assert.strictEqual(off.outputs.bookinfoApp, null);
  });
});

describe("Bookinfo exercises", () => {
  it("shifts reviews traffic by weight (unlisted versions get 0)", async () => {
    const r = await renderProgram({
      ...DEV_CONFIG,
      bookinfo: { enabled: true, reviews: { weights: { v1: 50, v3: 50 } } },
    });
    assert.deepStrictEqual(
      vsSpec(r, "reviews").http[0].route.map((d: any) => [
        d.destination.subset,
        d.weight,
      ]),
      [
        ["v1", 50],
        ["v2", 0],
        ["v3", 50],
      ],
    );
    assert.deepStrictEqual(r.outputs.bookinfoApp.reviewsWeights, {
      v1: 50,
      v2: 0,
      v3: 50,
    });
  });

  it("routes a logged-in user to a chosen reviews version", async () => {
    const r = await renderProgram({
      ...DEV_CONFIG,
      bookinfo: {
        enabled: true,
        reviews: { userRoute: { user: "jason", version: "v2" } },
      },
    });
    const http = vsSpec(r, "reviews").http;
    assert.deepStrictEqual(http[0].match, [
      { headers: { "end-user": { exact: "jason" } } },
    ]);
    assert.strictEqual(http[0].route[0].destination.subset, "v2");
    assert.strictEqual(http[1].name, "weighted");
  });

  it("delays or aborts ratings for one user only", async () => {
    const r = await renderProgram({
      ...DEV_CONFIG,
      bookinfo: {
        enabled: true,
        ratings: {
          fault: { user: "jason", delay: { percent: 100, fixedDelay: "7s" } },
        },
      },
    });
    const http = vsSpec(r, "ratings").http;
    assert.deepStrictEqual(http[0].match, [
      { headers: { "end-user": { exact: "jason" } } },
    ]);
    assert.deepStrictEqual(http[0].fault, {
      delay: { percentage: { value: 100 }, fixedDelay: "7s" },
    });
    assert.strictEqual(http[1].fault, undefined, "everyone else is unaffected");
  });

  it("puts a timeout on reviews", async () => {
    const r = await renderProgram({
      ...DEV_CONFIG,
      bookinfo: { enabled: true, reviews: { timeout: "0.5s" } },
    });
    assert.strictEqual(vsSpec(r, "reviews").http[0].timeout, "0.5s");
    assert.strictEqual(vsSpec(r, "ratings").http[0].timeout, "10s");
  });

  const bad: Array<[string, unknown, string]> = [
    [
      "reviews weights not summing to 100",
      { reviews: { weights: { v1: 50, v2: 20 } } },
      "bookinfo.reviews.weights must sum to 100 (got 70: v1=50, v2=20); adjust the weights so they add up to exactly 100",
    ],
    [
      "a reviews version the sample lacks",
      { reviews: { weights: { v1: 50, v4: 50 } } },
      "bookinfo.reviews.weights.v4 is not a version of reviews; the sample ships v1, v2, v3",
    ],
    [
      "a user route to an unknown version",
      { reviews: { userRoute: { user: "jason", version: "v7" } } },
      'bookinfo.reviews.userRoute.version must be one of v1, v2, v3 (got "v7")',
    ],
    [
      "a ratings fault without delay or abort",
      { ratings: { fault: { user: "jason" } } },
      "bookinfo.ratings.fault must set delay, abort or both (got {}); e.g. 'pulumi config set --path bookinfo.ratings.fault.abort.percent 10'",
    ],
    [
      "a malformed reviews timeout",
      { reviews: { timeout: "half a second" } },
      'bookinfo.reviews.timeout must be a duration such as 100ms, 2s or 1m (a number and h, m, s or ms) (got "half a second")',
    ],
    [
      "Bookinfo in the demo app's namespace",
      { enabled: true, namespace: "mesh-demo" },
      'bookinfo.namespace must differ from appNamespace and ingress.namespace (got "mesh-demo"); Bookinfo gets a namespace of its own',
    ],
  ];
  for (const [what, bookinfo, message] of bad) {
    it(`rejects ${what}`, () => {
      assert.deepStrictEqual(problems({ ...DEV_CONFIG, bookinfo }), [message]);
    });
  }

  it("changes only the reviews VirtualService when only the reviews weights change", async () => {
    const a = await renderProgram(ON);
    const b = await renderProgram({
      ...DEV_CONFIG,
      bookinfo: { enabled: true, reviews: { weights: { v1: 20, v2: 80 } } },
    });
    assert.deepStrictEqual(changedResources(a, b), [
      "kubernetes:networking.istio.io/v1:VirtualService::reviews-vs",
    ]);
  });
});
