// A duration without a unit (`resilience.timeout 3`, as `pulumi config set --path` stores it: a
// number) is fixed in one round: the first message already names the value with a unit.
import * as assert from "node:assert/strict";
import { problems } from "../support/configProblems";
import { DEV_CONFIG } from "../support/mocks";

const withTimeout = (timeout: unknown) =>
  problems({ ...DEV_CONFIG, resilience: { timeout } });

describe("a duration given without a unit", () => {
  it("WHEN resilience.timeout is the number 3 THEN the first message suggests 3s and the command that sets it", () => {
    assert.deepEqual(withTimeout(3), [
      "resilience.timeout needs a unit (got 3): a duration is a number and h, m, s or ms, e.g. 3s; set it with 'pulumi config set --path resilience.timeout 3s'",
    ]);
  });

  it("WHEN it is the quoted string 1.5 THEN the message suggests 1.5s the same way", () => {
    assert.deepEqual(withTimeout("1.5"), [
      `resilience.timeout needs a unit (got "1.5"): a duration is a number and h, m, s or ms, e.g. 1.5s; set it with 'pulumi config set --path resilience.timeout 1.5s'`,
    ]);
  });

  it("WHEN the suggested value is set THEN it is accepted", () => {
    assert.deepEqual(withTimeout("3s"), []);
  });

  it("WHEN a nested duration lacks its unit THEN its own key is named", () => {
    assert.deepEqual(
      problems({
        ...DEV_CONFIG,
        resilience: { retries: { attempts: 2, perTryTimeout: 2 } },
      }),
      [
        "resilience.retries.perTryTimeout needs a unit (got 2): a duration is a number and h, m, s or ms, e.g. 2s; set it with 'pulumi config set --path resilience.retries.perTryTimeout 2s'",
      ],
    );
  });
});
