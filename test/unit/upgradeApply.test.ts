// Applying upgrade steps under fakes (a stack that records each config write and `up`, a kubectl
// that answers from the step's expected state, a clock that jumps): config before `up`, the check
// after it, --all stopping at the first failure with the rollback commands, a failed `up`, a stale
// lock, which steps --step N and --all pick, and the refusal of a config not yet deployed.
import * as assert from "node:assert/strict";
import {
  applySteps,
  drift,
  selectSteps,
  type UpgradeStackPort,
} from "../../tools/upgrade/apply";
import type { KubePort } from "../../tools/upgrade/check";
import { planUpgrade, type UpgradePlan } from "../../tools/upgrade/plan";
import {
  type IstioState,
  readIstioState,
  resolveRevision,
} from "../../tools/upgrade/state";
import { UpgradeRefusal } from "../../tools/upgrade/versions";

const state = (istio: object) =>
  readIstioState({ "service-mesh:istio": { value: JSON.stringify(istio) } });
const PLAN = planUpgrade({
  state: state({ version: "1.30.4" }),
  to: "1.30.5",
  inPlace: false,
});

class LockedError extends Error {}

/** The outputs the program gives for a config (index.ts: istioVersion, istioRevisions). */
function outputsFor(s: IstioState): Record<string, unknown> {
  return {
    appNamespace: "demo",
    istioVersion: s.version,
    istioRevisions: s.revisions && {
      revisions: s.revisions,
      tags: s.tags,
      namespaces: { demo: resolveRevision(s, "prod") },
    },
  };
}

/** Records every call in `log`; `up` fails as `failUp` says (n: the up's number, 1-based). */
class FakeStack implements UpgradeStackPort {
  ups = 0;
  /** The outputs the n-th up returns: those of the n-th step applied (tests run steps from 1). */
  outputsOf = (n: number): Record<string, unknown> =>
    outputsFor(PLAN.steps[n - 1].after);
  constructor(
    readonly log: string[],
    private readonly failUp: (n: number) => Error | undefined = () => undefined,
  ) {}
  async setConfig(path: string, value: string) {
    this.log.push(`set ${path} ${value}`);
  }
  async removeConfig(path: string) {
    this.log.push(`rm ${path}`);
  }
  async up(): Promise<Record<string, unknown>> {
    this.ups++;
    this.log.push("up");
    const e = this.failUp(this.ups);
    if (e) {
      throw e;
    }
    return this.outputsOf(this.ups);
  }
  isLockedError(e: unknown) {
    return e instanceof LockedError;
  }
  async releaseStaleLock() {
    this.log.push("release stale lock");
    return true;
  }
}

/** istiod of `revs` Available on 1.30.4/1.30.5 by name; demo's pod on `podRev(nth up)`. */
function fakeKube(log: string[], podRev: () => string): KubePort {
  return {
    getJson: async (args) => {
      log.push(`kubectl ${args[1]}`);
      if (args[1] === "deployments") {
        const names: Record<string, string> = {
          istiod: "1.30.4",
          "istiod-1-30-4": "1.30.4",
          "istiod-1-30-5": "1.30.5",
        };
        const lines = log.filter(
          (l) =>
            l.startsWith("set istio.revisions.") ||
            l.startsWith("rm istio.revisions"),
        );
        const present = new Set(["istiod"]);
        for (const l of lines) {
          const m = /istio.revisions\.([^.\s]+)/.exec(l);
          if (l.startsWith("set") && m) {
            present.add(`istiod-${m[1]}`);
            present.delete("istiod");
          } else if (m) {
            present.delete(`istiod-${m[1]}`);
          }
        }
        return {
          items: [...present].map((name) => ({
            metadata: { name },
            spec: {
              replicas: 1,
              template: {
                spec: { containers: [{ image: `istio/pilot:${names[name]}` }] },
              },
            },
            status: { availableReplicas: 1, updatedReplicas: 1 },
          })),
        };
      }
      return {
        items: [
          {
            metadata: {
              name: "backend-v1-x",
              annotations: {
                "sidecar.istio.io/status": JSON.stringify({
                  revision: podRev(),
                }),
              },
            },
            status: {
              phase: "Running",
              conditions: [{ type: "Ready", status: "True" }],
            },
          },
        ],
      };
    },
  };
}

const wait = () => {
  let t = 0;
  return {
    timeoutMs: 20_000,
    pollMs: 5000,
    now: () => t,
    sleep: async (ms: number) => void (t += ms),
  };
};

const run = (
  plan: UpgradePlan,
  steps: number[],
  stack: FakeStack,
  kube: KubePort,
  said: string[] = [],
) =>
  applySteps(
    {
      stackName: "dev",
      plan,
      steps: plan.steps.filter((s) => steps.includes(s.index)),
      wait: wait(),
    },
    { stack, kube, say: (l) => said.push(l) },
  );

describe("npm run upgrade: applying steps", () => {
  it("WHEN --all runs on a healthy cluster THEN each step sets its config, runs up, then checks, in order", async () => {
    const log: string[] = [];
    const revs = ["1-30-4", "1-30-4", "1-30-5", "1-30-5"];
    const stack = new FakeStack(log);
    const r = await run(
      PLAN,
      [1, 2, 3, 4],
      stack,
      fakeKube(log, () => revs[stack.ups - 1]),
    );
    assert.deepEqual(r, { ok: true, applied: [1, 2, 3, 4] });
    assert.deepEqual(log, [
      "set istio.revisions.1-30-4.version 1.30.4",
      "set istio.tags.prod 1-30-4",
      "up",
      "kubectl deployments",
      "kubectl pods",
      "set istio.version 1.30.5",
      "set istio.revisions.1-30-5.version 1.30.5",
      "up",
      "kubectl deployments",
      "kubectl pods",
      "set istio.tags.prod 1-30-5",
      "up",
      "kubectl deployments",
      "kubectl pods",
      "rm istio.revisions.1-30-4",
      "up",
      "kubectl deployments",
      "kubectl pods",
    ]);
  });

  it("WHEN the pods stay on the old revision after the move THEN it stops there, naming the pod and the command that moves the tag back", async () => {
    const log: string[] = [];
    const stack = new FakeStack(log);
    const r = await run(
      PLAN,
      [1, 2, 3, 4],
      stack,
      fakeKube(log, () => "1-30-4"),
    );
    assert.equal(r.ok, false);
    assert.ok(!r.ok);
    assert.deepEqual(r.applied, [1, 2]);
    assert.equal(r.failedStep, 3);
    assert.equal(
      r.message,
      "step 3 check failed after 20 s:\n" +
        "  - demo/backend-v1-x: on revision 1-30-4 (expected 1-30-5)\n" +
        "roll back step 3 with:\n" +
        "  pulumi config set --stack dev --path istio.tags.prod 1-30-5".replace(
          "1-30-5",
          "1-30-4",
        ) +
        "\n  pulumi up --stack dev",
    );
    assert.equal(log.filter((l) => l === "up").length, 3, "step 4 never runs");
    assert.ok(!log.includes("rm istio.revisions.1-30-4"));
  });

  it("WHEN up fails THEN nothing is checked and the message says the config holds the step, how to finish it and how to roll back", async () => {
    const log: string[] = [];
    const stack = new FakeStack(
      log,
      () => new Error("update failed\nresource istio-istiod-1-30-5 failed"),
    );
    const r = await run(
      PLAN,
      [1],
      stack,
      fakeKube(log, () => "1-30-4"),
    );
    assert.ok(!r.ok);
    assert.match(
      r.message,
      /^step 1: pulumi up failed: update failed\nthe config holds step 1: finish it with 'pulumi up --stack dev', or\nroll back step 1 with:\n {2}pulumi config rm --stack dev --path istio.revisions\n/,
    );
    assert.ok(!log.some((l) => l.startsWith("kubectl")));
  });

  it("WHEN the stack is locked by our own update that is gone THEN the lock is released and up runs again", async () => {
    const log: string[] = [];
    const stack = new FakeStack(log, (n) =>
      n === 1 ? new LockedError("locked by me@here (pid 1)") : undefined,
    );
    stack.outputsOf = () => outputsFor(PLAN.steps[0].after);
    const r = await run(
      PLAN,
      [1],
      stack,
      fakeKube(log, () => "1-30-4"),
    );
    assert.ok(r.ok, r.ok ? "" : r.message);
    assert.deepEqual(log.slice(2, 5), ["up", "release stale lock", "up"]);
  });

  it("WHEN the up deploys other revisions than the step's THEN the check fails on the outputs", async () => {
    const log: string[] = [];
    const stack = new FakeStack(log);
    stack.up = async () => ({
      istioRevisions: {
        revisions: { "1-30-4": { version: "1.30.4" } },
        tags: { prod: "1-30-4" },
        namespaces: {},
      },
    });
    const r = await run(
      PLAN,
      [2],
      stack,
      fakeKube(log, () => "1-30-4"),
    );
    assert.ok(!r.ok);
    assert.match(
      r.message,
      /^step 2 check failed \(the stack's outputs\):\n {2}- istio.revisions are \{"1-30-4":"1.30.4","1-30-5":"1.30.5"\}, the stack deployed \{"1-30-4":"1.30.4"\}/,
    );
  });
});

describe("npm run upgrade: which steps run", () => {
  const after1 = planUpgrade({
    state: state({
      version: "1.30.4",
      revisions: { "1-30-4": { version: "1.30.4" } },
      tags: { prod: "1-30-4" },
    }),
    to: "1.30.5",
    inPlace: false,
  });
  const refusal = (f: () => unknown) => {
    try {
      f();
    } catch (e) {
      assert.ok(e instanceof UpgradeRefusal, String(e));
      return e.message;
    }
    assert.fail("selected");
  };

  it("WHEN neither --step nor --all THEN none; --all THEN every step not done, in order", () => {
    assert.deepEqual(selectSteps(after1, { all: false }), []);
    assert.deepEqual(
      selectSteps(after1, { all: true }).map((s) => s.index),
      [2, 3, 4],
    );
    assert.deepEqual(
      selectSteps(after1, { step: 2, all: false }).map((s) => s.index),
      [2],
    );
  });

  it("WHEN --step names a step done, one after a step not done, or none of the plan THEN it is refused with the step to run", () => {
    assert.match(
      refusal(() => selectSteps(after1, { step: 1, all: false })),
      /^--step 1 \(adopt revisions: .*\) is already done: the config holds it; the next step is 2 \(--step 2\)$/,
    );
    assert.match(
      refusal(() => selectSteps(after1, { step: 3, all: false })),
      /^--step 3: step 2 \(add revision 1-30-5 \(1.30.5\) beside 1-30-4\) is not applied yet; apply it first \(--step 2\), or --all$/,
    );
    const inPlace = planUpgrade({
      state: state({ version: "1.30.4" }),
      to: "1.30.5",
      inPlace: true,
    });
    assert.match(
      refusal(() => selectSteps(inPlace, { step: 2, all: false })),
      /^--step 2: this in-place plan has steps 1 to 1; e.g. npm run upgrade -- --stack <stack> --to 1.30.5 --in-place --step 1$/,
    );
  });

  it("WHEN the config differs from what was deployed THEN drift names it; outputs without istioRevisions say nothing of revisions", () => {
    const s = state({
      version: "1.30.5",
      revisions: { a: { version: "1.30.4" }, b: { version: "1.30.5" } },
      tags: { prod: "a" },
    });
    assert.deepEqual(
      drift(s, {
        istioVersion: "1.30.4",
        istioRevisions: {
          revisions: { a: { version: "1.30.4" } },
          tags: { prod: "a" },
        },
      }),
      [
        "istio.version is 1.30.5, the stack deployed 1.30.4",
        'istio.revisions are {"a":"1.30.4","b":"1.30.5"}, the stack deployed {"a":"1.30.4"}',
      ],
    );
    assert.deepEqual(drift(s, { istioVersion: "1.30.5" }), [
      'istio.revisions are {"a":"1.30.4","b":"1.30.5"}, the stack deployed none',
    ]);
    assert.deepEqual(drift(s, {}), [], "never deployed: nothing to compare");
    assert.deepEqual(
      drift(state({ version: "1.30.4" }), {
        istioVersion: "1.30.4",
        istioRevisions: undefined,
      }),
      [],
    );
  });
});
