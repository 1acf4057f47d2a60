// `npm run rollout -- --service <name>` (issue 22): where a declared service's weights live in the
// stack config, which services a stack declares, and what the gates watch, from the stack output
// services.<name>: its namespace and the canonical service and revision of the target's pods; a
// route-only version whose selector does not pin them is refused before any change.
import * as assert from "assert";
import { PlanError, planRollout } from "../../tools/rollout/plan";
import { canaryQueries, canarySelector } from "../../tools/rollout/promql";
import {
  metricTarget,
  serviceConfigWeights,
  serviceOutput,
  type TargetFacts,
  weightsPlace,
} from "../../tools/rollout/service";
import { ORDERS_OUTPUT } from "../support/servicesOutput";

function refused(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    assert.ok(e instanceof PlanError, String(e));
    return e.message;
  }
  assert.fail("accepted");
}

/** The stack config's services, as `pulumi config get services --json` gives its value. */
const SERVICES = JSON.stringify({
  orders: {
    namespace: "shop",
    versions: {
      v1: { image: "ghcr.io/acme/orders:1.4.2", weight: 90 },
      v2: { image: "ghcr.io/acme/orders:1.5.0", weight: 10 },
    },
  },
  cart: {
    versions: { v1: { selector: { app: "cart" }, weight: 100 } },
  },
});

const ORDERS = weightsPlace("orders");

const facts = (over: Partial<TargetFacts> = {}): TargetFacts => ({
  dataplane: "sidecar",
  routingApi: "istio",
  namespace: "shop",
  metrics: {
    v1: { service: "orders", revision: "v1" },
    v2: { service: "orders", revision: "v2" },
  },
  protocol: "http",
  ...over,
});

describe("npm run rollout --service: where the weights live", () => {
  it("WHEN no --service is given THEN the demo's canary.weights and canaryWeights output are used, as before", () => {
    const demo = weightsPlace();
    assert.strictEqual(demo.service, undefined);
    assert.strictEqual(demo.configKey("v2"), "canary.weights.v2");
    assert.strictEqual(demo.output, "canaryWeights");
  });

  it("WHEN --service orders is given THEN each weight is services.orders.versions.<v>.weight and the output services.orders.weights", () => {
    assert.strictEqual(
      ORDERS.configKey("v2"),
      "services.orders.versions.v2.weight",
    );
    assert.strictEqual(ORDERS.output, "services.orders.weights");
  });

  it("WHEN the stack declares the service THEN its weights are read from services.X.versions.<v>.weight, in order", () => {
    assert.deepStrictEqual(serviceConfigWeights(SERVICES, "orders", "dev"), {
      v1: 90,
      v2: 10,
    });
  });

  it("WHEN --service names a service the stack does not declare THEN it is refused, naming the flag, the value and the declared services", () => {
    assert.strictEqual(
      refused(() => serviceConfigWeights(SERVICES, "payments", "dev")),
      `--service "payments": stack dev declares no service payments under services (it declares orders, cart); ` +
        `name one of them, declare it under services in the stack's config and 'pulumi up', ` +
        `or leave out --service to roll out the demo's backend`,
    );
  });

  it("WHEN the stack declares no services at all THEN the refusal says it declares none", () => {
    assert.match(
      refused(() => serviceConfigWeights(undefined, "orders", "dev")),
      /^--service "orders": stack dev declares no service orders under services \(it declares none\);/,
    );
  });

  it("WHEN a version of the service has no whole-number weight THEN it is refused with the config path to set", () => {
    const raw = JSON.stringify({
      orders: { versions: { v1: { weight: 100 }, v2: { image: "x" } } },
    });
    assert.strictEqual(
      refused(() => serviceConfigWeights(raw, "orders", "dev")),
      "--service orders: services.orders.versions.v2.weight is not a whole number (got undefined); " +
        "set it with 'pulumi config set --path services.orders.versions.v2.weight <percent>' and 'pulumi up'",
    );
  });

  it("WHEN a service's plan is refused THEN the message names its config path, not canary.weights", () => {
    assert.strictEqual(
      refused(() => planRollout({ v1: 90, v2: 10 }, "v3", [100], ORDERS)),
      "--to v3: v3 is not deployed (services.orders.versions has v1, v2); deploy it at weight 0 first: " +
        "'pulumi config set --path services.orders.versions.v3.weight 0' and 'pulumi up'",
    );
    assert.match(
      refused(() => planRollout({ v1: 90, v2: 20 }, "v2", [100], ORDERS)),
      /^the stack's services.orders.versions are not a valid split \(v1=90 v2=20\); fix them with 'pulumi config set --path services.orders.versions.<version>.weight <percent>'/,
    );
  });
});

describe("npm run rollout --service: the stack output services.X", () => {
  const OUTPUT = { orders: ORDERS_OUTPUT };

  it("WHEN the output has the service THEN its namespace, protocol, weights and metrics are read", () => {
    assert.deepStrictEqual(serviceOutput(OUTPUT, "orders", "dev"), {
      namespace: "shop",
      protocol: "http",
      weights: { v1: 90, v2: 10 },
      metrics: OUTPUT.orders.metrics,
    });
  });

  it("WHEN the service is declared but not deployed yet THEN it is refused: deploy it first", () => {
    for (const outputs of [undefined, {}, { cart: OUTPUT.orders }]) {
      assert.strictEqual(
        refused(() => serviceOutput(outputs, "orders", "dev")),
        "--service orders: stack dev's outputs have no services.orders: deploy it first ('pulumi up'), then roll out",
      );
    }
  });
});

describe("npm run rollout --service: the metric target", () => {
  it("WHEN the demo backend is rolled out THEN the target is service backend, revision = the version, as before", () => {
    assert.deepStrictEqual(
      metricTarget(
        facts({ namespace: "mesh-demo", metrics: undefined }),
        weightsPlace(),
        "v2",
      ),
      {
        dataplane: "sidecar",
        routingApi: "istio",
        namespace: "mesh-demo",
        service: "backend",
        revision: "v2",
      },
    );
  });

  it("WHEN a route-only service's pods carry their own canonical names THEN the PromQL selects those, in its namespace", () => {
    const t = metricTarget(
      facts({
        namespace: "team-a",
        dataplane: "ambient",
        metrics: {
          stable: { service: "orders-api", revision: "1.4.2" },
          canary: { service: "orders-api", revision: "1.5.0-rc1" },
        },
      }),
      ORDERS,
      "canary",
    );
    assert.strictEqual(
      canarySelector(t),
      '{reporter="waypoint",destination_workload_namespace="team-a",destination_canonical_service="orders-api",destination_version="1.5.0-rc1"}',
    );
    assert.strictEqual(
      canaryQueries(t, 60).requests,
      `last_over_time(istio_requests_total${canarySelector(t)}[60s])`,
    );
  });

  it("WHEN the target's metrics are unknown (a selector without canonical labels) THEN it is refused before any change, with the reason", () => {
    const reason =
      "its selector has no version label (nor the app.kubernetes.io/ or service.istio.io/canonical- one), " +
      "so Istio's metrics cannot tell this version's requests apart; label its pods and add the label to the selector";
    assert.strictEqual(
      refused(() =>
        metricTarget(
          facts({
            metrics: {
              v1: { service: "orders", revision: "v1" },
              v2: { unknown: reason },
            },
          }),
          ORDERS,
          "v2",
        ),
      ),
      `--service orders --to v2: the gates cannot watch v2 (services.orders.metrics.v2): ${reason}`,
    );
  });

  it("WHEN only another version's metrics are unknown THEN the target is still watched", () => {
    const t = metricTarget(
      facts({
        metrics: {
          v1: { unknown: "no canonical labels" },
          v2: { service: "orders", revision: "v2" },
        },
      }),
      ORDERS,
      "v2",
    );
    assert.strictEqual(t.revision, "v2");
  });

  it("WHEN the output's metrics lack the target THEN it is refused: run up first", () => {
    assert.strictEqual(
      refused(() =>
        metricTarget(
          facts({ metrics: { v1: { service: "orders", revision: "v1" } } }),
          ORDERS,
          "v2",
        ),
      ),
      "--service orders --to v2: the stack output services.orders.metrics has no v2 (it has v1); run 'pulumi up' first",
    );
  });

  it("WHEN the service is tcp THEN it is refused: Istio reports no requests for TCP, so no gate could pass", () => {
    assert.match(
      refused(() => metricTarget(facts({ protocol: "tcp" }), ORDERS, "v2")),
      /^--service orders --to v2: orders is a tcp service, and Istio reports no requests, errors or latencies for TCP/,
    );
  });
});
