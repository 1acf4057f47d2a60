// The rollout's step planner: only the target and the stable version change weight, every other
// version keeps its own, each step is a valid split (whole numbers summing to 100), and the
// target's weight only rises.
import * as assert from "assert";
import {
  PlanError,
  planRollout,
  stableVersion,
  type Weights,
} from "../../tools/rollout/plan";
import { mulberry32 } from "../support/fuzzConfig";

const weightsOf = (plan: ReturnType<typeof planRollout>) =>
  plan.steps.map((s) => s.weights);

function refused(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    assert.ok(e instanceof PlanError, String(e));
    return e.message;
  }
  assert.fail("planned");
}

describe("the rollout's step planner", () => {
  it("WHEN the dev split 80/20 goes to v2 by the default steps THEN v2 rises and v1 gives way", () => {
    const plan = planRollout({ v1: 80, v2: 20 }, "v2", [10, 25, 50, 100]);
    assert.strictEqual(plan.stable, "v1");
    assert.deepStrictEqual(plan.skipped, [10]);
    assert.deepStrictEqual(weightsOf(plan), [
      { v1: 75, v2: 25 },
      { v1: 50, v2: 50 },
      { v1: 0, v2: 100 },
    ]);
    assert.deepStrictEqual(
      plan.steps.map((s) => [s.index, s.percent]),
      [
        [1, 25],
        [2, 50],
        [3, 100],
      ],
    );
  });

  it("WHEN a third version holds traffic THEN it keeps its weight and the pool of the other two moves", () => {
    const plan = planRollout({ v1: 60, v2: 0, v3: 40 }, "v2", [10, 50, 100]);
    assert.strictEqual(plan.stable, "v1");
    assert.deepStrictEqual(weightsOf(plan), [
      { v1: 54, v2: 6, v3: 40 },
      { v1: 30, v2: 30, v3: 40 },
      { v1: 0, v2: 60, v3: 40 },
    ]);
  });

  it("WHEN the target is not the last listed THEN the order of the config is kept", () => {
    const plan = planRollout({ canary: 0, stable: 100 }, "canary", [50, 100]);
    assert.deepStrictEqual(Object.keys(plan.steps[0].weights), [
      "canary",
      "stable",
    ]);
  });

  it("WHEN a step is already reached or rounding repeats a weight THEN it is skipped, never repeated", () => {
    // v3 starts at 33 of a pool of 67 (v1's 34 and its own): 10 % is reached already, 50 % gives
    // 34 (33.5 rounded), and 51 % gives 34 again.
    const plan = planRollout(
      { v1: 34, v2: 33, v3: 33 },
      "v3",
      [10, 50, 51, 100],
    );
    assert.strictEqual(plan.stable, "v1");
    assert.deepStrictEqual(plan.skipped, [10, 51]);
    assert.deepStrictEqual(weightsOf(plan), [
      { v1: 33, v2: 33, v3: 34 },
      { v1: 0, v2: 33, v3: 67 },
    ]);
  });

  it("WHEN versions tie for the most traffic THEN the first listed is the stable one", () => {
    assert.strictEqual(stableVersion({ v1: 40, v2: 40, v3: 20 }, "v3"), "v1");
    assert.strictEqual(stableVersion({ v1: 40, v2: 40, v3: 20 }, "v1"), "v2");
  });

  it("WHEN any split of up to 6 versions is planned THEN every step sums to 100, only two versions move, the target only rises", () => {
    const next = mulberry32(7);
    const rand = (n: number) => Math.floor(next() * n);
    for (let run = 0; run < 500; run++) {
      const count = 2 + rand(5);
      const start: Weights = {};
      let left = 100;
      for (let i = 0; i < count; i++) {
        const w = i === count - 1 ? left : rand(left + 1);
        start[`v${i}`] = w;
        left -= w;
      }
      const target = `v${rand(count)}`;
      const steps = [...new Set([1 + rand(40), 41 + rand(40), 100])];
      let plan;
      try {
        plan = planRollout(start, target, steps);
      } catch (e) {
        assert.ok(e instanceof PlanError);
        assert.strictEqual(
          start[stableVersion(start, target)!],
          0,
          (e as Error).message,
        );
        continue;
      }
      let last = start[target];
      for (const s of plan.steps) {
        assert.strictEqual(
          Object.values(s.weights).reduce((a, b) => a + b, 0),
          100,
        );
        for (const [v, w] of Object.entries(s.weights)) {
          assert.ok(Number.isInteger(w) && w >= 0, `${v}=${w}`);
          if (v !== target && v !== plan.stable) {
            assert.strictEqual(
              w,
              start[v],
              `${v} moved in ${JSON.stringify(s.weights)}`,
            );
          }
        }
        assert.ok(
          s.weights[target] > last,
          `target did not rise: ${JSON.stringify(s.weights)}`,
        );
        last = s.weights[target];
      }
      const end = plan.steps[plan.steps.length - 1].weights;
      assert.strictEqual(end[plan.stable], 0);
      assert.strictEqual(end[target], start[target] + start[plan.stable]);
    }
  });

  const bad: Array<[string, () => unknown, string]> = [
    [
      "a target that is not deployed",
      () => planRollout({ v1: 80, v2: 20 }, "v3", [50, 100]),
      "--to v3: v3 is not deployed (canary.weights has v1, v2); deploy it at weight 0 first: " +
        "'pulumi config set --path canary.weights.v3 0' and 'pulumi up'",
    ],
    [
      "a target that already has all the traffic",
      () => planRollout({ v1: 0, v2: 100 }, "v2", [50, 100]),
      "--to v2: nothing to roll out, no other version has traffic to give (v1=0 v2=100)",
    ],
    [
      "a single version",
      () => planRollout({ v1: 100 }, "v1", [100]),
      "--to v1: nothing to roll out, no other version has traffic to give (v1=100)",
    ],
    [
      "a stack split that does not sum to 100",
      () => planRollout({ v1: 70, v2: 20 }, "v2", [100]),
      "the stack's canary.weights are not a valid split (v1=70 v2=20); fix them with " +
        "'pulumi config set --path canary.weights.<version> <percent>' and 'pulumi up' first",
    ],
    [
      "steps that do not end at 100",
      () => planRollout({ v1: 80, v2: 20 }, "v2", [50]),
      "steps must be whole percentages from 1 to 100, increasing and ending at 100 (got 50)",
    ],
  ];
  for (const [what, fn, message] of bad) {
    it(`WHEN given ${what} THEN no plan is made and the message says what to do`, () => {
      assert.strictEqual(refused(fn), message);
    });
  }
});
