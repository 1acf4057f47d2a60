// `npm run rollout -- --service <name>` against a stand-in for the Automation API's Stack: which
// config keys it reads and writes (services.<name>.versions.<v>.weight, by path), which outputs it
// compares with (services.<name>.weights), and that the demo backend keeps canary.weights; the
// runner's and the lock's messages name the service's output and flag.
import * as assert from "node:assert/strict";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import type { ConfigMap, OutputMap } from "@pulumi/pulumi/automation";
import { acquireLock, LockHeldError } from "../../tools/rollout/lock";
import { planRollout } from "../../tools/rollout/plan";
import type { RolloutReport } from "../../tools/rollout/report";
import { runRollout } from "../../tools/rollout/runner";
import { weightsPlace } from "../../tools/rollout/service";
import { AutomationStack } from "../../tools/rollout/stack";
import { ORDERS_OUTPUT as ORDERS } from "../support/servicesOutput";

const out = (values: Record<string, unknown>): OutputMap =>
  Object.fromEntries(
    Object.entries(values).map(([k, value]) => [k, { value, secret: false }]),
  );

const SERVICES_CONFIG = {
  orders: {
    versions: {
      v1: { image: "ghcr.io/acme/orders:1.4.2", weight: 90 },
      v2: { image: "ghcr.io/acme/orders:1.5.0", weight: 10 },
    },
  },
};

const ORDERS_OUTPUT = { ...ORDERS, ingressPath: null };

/** A stand-in Stack: config by key (JSON text), outputs, and a record of every call. */
function fakeStack(
  config: Record<string, unknown>,
  outputs: Record<string, unknown>,
) {
  const calls = {
    get: [] as Array<[string, boolean | undefined]>,
    set: [] as Array<[ConfigMap, boolean | undefined]>,
  };
  let upOutputs = out(outputs);
  const stack = {
    name: "dev",
    getConfig: async (key: string, p?: boolean) => {
      calls.get.push([key, p]);
      if (!(key in config)) {
        throw new Error(
          `code: 255\n stderr: error: configuration key '${key}' not found for stack 'dev'`,
        );
      }
      return { value: JSON.stringify(config[key]), secret: false };
    },
    outputs: async () => out(outputs),
    setAllConfig: async (c: ConfigMap, p?: boolean) => {
      calls.set.push([c, p]);
    },
    up: async () => ({ outputs: upOutputs }),
  };
  return {
    stack,
    calls,
    setUpOutputs: (o: Record<string, unknown>) => (upOutputs = out(o)),
  };
}

describe("npm run rollout --service: the stack's config and outputs", () => {
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "rollout-service-"));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  const open = (fake: ReturnType<typeof fakeStack>, service?: string) =>
    Reflect.construct(AutomationStack, [
      fake.stack,
      path.join(dir, "dev.log"),
      weightsPlace(service),
    ]) as AutomationStack;

  it("WHEN --service orders THEN the facts come from the config's services and the output services.orders", async () => {
    const fake = fakeStack(
      { services: SERVICES_CONFIG },
      {
        dataplane: "sidecar",
        routingApi: "gateway-api",
        appNamespace: "mesh-demo",
        services: { orders: ORDERS_OUTPUT },
      },
    );
    assert.deepEqual(await open(fake, "orders").facts(), {
      dataplane: "sidecar",
      routingApi: "gateway-api",
      namespace: "shop",
      configWeights: { v1: 90, v2: 10 },
      deployedWeights: { v1: 90, v2: 10 },
      metrics: ORDERS_OUTPUT.metrics,
      protocol: "http",
    });
    assert.deepEqual(fake.calls.get, [["services", true]]);
  });

  it("WHEN a step is written THEN each weight goes to services.orders.versions.<v>.weight by path", async () => {
    const fake = fakeStack({ services: SERVICES_CONFIG }, {});
    await open(fake, "orders").setWeights({ v1: 50, v2: 50 });
    assert.deepEqual(fake.calls.set, [
      [
        {
          "services.orders.versions.v1.weight": { value: "50" },
          "services.orders.versions.v2.weight": { value: "50" },
        },
        true,
      ],
    ]);
  });

  it("WHEN an up ends THEN the weights it deployed are read from services.orders.weights, not canaryWeights", async () => {
    const fake = fakeStack({}, {});
    fake.setUpOutputs({
      canaryWeights: { v1: 100, v2: 0 },
      services: { orders: { ...ORDERS_OUTPUT, weights: { v1: 50, v2: 50 } } },
    });
    assert.deepEqual(await open(fake, "orders").up(), {
      outputWeights: { v1: 50, v2: 50 },
    });
    assert.deepEqual(await open(fake).up(), {
      outputWeights: { v1: 100, v2: 0 },
    });
  });

  it("WHEN no --service THEN the demo's canary.weights, canaryWeights and appNamespace are used, as before", async () => {
    const fake = fakeStack(
      { "canary.weights": { v1: 80, v2: 20 }, services: SERVICES_CONFIG },
      {
        dataplane: "ambient",
        appNamespace: "mesh-demo",
        canaryWeights: { v1: 80, v2: 20 },
        services: { orders: ORDERS_OUTPUT },
      },
    );
    const stack = open(fake);
    assert.deepEqual(await stack.facts(), {
      dataplane: "ambient",
      routingApi: "istio",
      namespace: "mesh-demo",
      configWeights: { v1: 80, v2: 20 },
      deployedWeights: { v1: 80, v2: 20 },
    });
    await stack.setWeights({ v1: 75, v2: 25 });
    assert.deepEqual(fake.calls.get, [["canary.weights", true]]);
    assert.deepEqual(Object.keys(fake.calls.set[0][0]), [
      "canary.weights.v1",
      "canary.weights.v2",
    ]);
  });

  it("WHEN the stack has no demo weights and no --service is given THEN it says to name a service", async () => {
    const fake = fakeStack({ services: SERVICES_CONFIG }, {});
    await assert.rejects(
      open(fake).facts(),
      /^PlanError: stack dev has no canary.weights \(is its demo off\?\): name one of its services with --service <name>/,
    );
  });

  it("WHEN the stack runs Linkerd THEN the rollout refuses: its gates read Istio's metrics", async () => {
    const fake = fakeStack(
      { "canary.weights": { v1: 90, v2: 10 } },
      { meshProvider: "linkerd", appNamespace: "mesh-demo" },
    );
    await assert.rejects(
      open(fake).facts(),
      /^PlanError: stack dev runs mesh.provider linkerd: the rollout's gates read Istio's metrics/,
    );
  });

  it("WHEN --service names an undeclared service THEN facts refuse before the outputs are read", async () => {
    const fake = fakeStack({ services: SERVICES_CONFIG }, {});
    await assert.rejects(
      open(fake, "payments").facts(),
      /^PlanError: --service "payments": stack dev declares no service payments under services \(it declares orders\)/,
    );
  });

  it("WHEN an up deploys other weights than planned THEN the rollback's reason names services.orders.weights", async () => {
    const plan = planRollout({ v1: 90, v2: 10 }, "v2", [100]);
    let ups = 0;
    const report = await runRollout(
      plan,
      { steps: [] } as unknown as RolloutReport,
      {
        intervalMs: 1000,
        thresholds: { maxErrorRatePercent: 1, maxP99Ms: 500, minRequests: 1 },
        tickMs: 1000,
        abort: new AbortController().signal,
      },
      {
        stack: {
          weightsOutput: "services.orders.weights",
          setWeights: async () => undefined,
          up: async () => ({
            outputWeights: ++ups === 1 ? { v1: 90, v2: 10 } : undefined,
          }),
          isLockedError: () => false,
          releaseStaleLock: async () => false,
        },
        metrics: { sample: async () => assert.fail("no step was applied") },
        clock: { now: () => 0, sleep: async () => undefined },
        emit: () => undefined,
      },
    );
    assert.equal(report.outcome, "rolled-back");
    assert.equal(
      report.reason,
      'after step 1 the stack outputs services.orders.weights {"v1":90,"v2":10}, not the planned {"v1":0,"v2":100}',
    );
  });

  it("WHEN a rollout of one service runs THEN a rollout of another service on the same stack is refused, naming the first", () => {
    const first = acquireLock(
      dir,
      { stack: "dev", to: "v2", service: "orders" },
      assert.fail,
      () => true,
    );
    assert.throws(
      () =>
        acquireLock(
          dir,
          { stack: "dev", to: "v3", service: "cart" },
          assert.fail,
          () => true,
        ),
      (e: Error) =>
        e instanceof LockHeldError &&
        /^another rollout is running on stack dev \(.*, --service orders --to v2\);/.test(
          e.message,
        ),
    );
    first.release();
  });
});
