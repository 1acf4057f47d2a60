// The rollout's rollback removes a stack lock (pulumi cancel) only when its holder is proven gone:
// never another host's lock, never a pid this host cannot check. AutomationStack with a stand-in
// for the Automation API's Stack and injected host facts.
import * as assert from "node:assert/strict";
import * as os from "os";
import * as path from "path";
import type { HostFacts } from "../../tools/pulumiLock";
import { AutomationStack } from "../../tools/rollout/stack";

/** This host's name, so the old code (which read os.hostname()) judged the same holder. */
const HERE = os.hostname();

const lockedBy = (host: string, pid: number) =>
  new Error(
    "error: the stack is currently locked by 1 lock(s). Either wait for the other process(es) to end or delete the lock file with `pulumi cancel`.\n" +
      `  file:///s/.pulumi/locks/organization/service-mesh/dev/1.json: created by me@${host} (pid ${pid}) at 2026-11-21T15:37:46Z`,
  );

/** An AutomationStack over a stand-in Stack that counts its cancels. */
function stackCountingCancels(): {
  stack: AutomationStack;
  cancels: () => number;
} {
  let cancels = 0;
  const fake = { cancel: async () => void cancels++ };
  const stack: AutomationStack = Reflect.construct(AutomationStack, [
    fake,
    path.join(os.tmpdir(), "unused.log"),
  ]);
  return { stack, cancels: () => cancels };
}

/** A host without /proc (macOS) on which every pid answers signal 0 as `code` says. */
const macOS = (code?: "ESRCH" | "EPERM"): HostFacts => ({
  procDir: path.join(os.tmpdir(), "no-proc-here"),
  kill: () => {
    if (code) {
      throw Object.assign(new Error(code), { code });
    }
  },
  hostname: () => HERE,
});

describe("the rollout's rollback and a stale stack lock", () => {
  it("WHEN the lock's pid still answers on a host without /proc THEN the rollback does not cancel it", async () => {
    const { stack, cancels } = stackCountingCancels();
    assert.equal(
      await stack.releaseStaleLock(lockedBy(HERE, 4242), macOS()),
      false,
    );
    assert.equal(
      await stack.releaseStaleLock(lockedBy(HERE, 4242), macOS("EPERM")),
      false,
    );
    assert.equal(cancels(), 0);
  });

  it("WHEN the lock was taken on another host THEN the rollback never cancels it, even if no such pid runs here", async () => {
    const { stack, cancels } = stackCountingCancels();
    assert.equal(
      await stack.releaseStaleLock(
        lockedBy("ci-runner-7", 4242),
        macOS("ESRCH"),
      ),
      false,
    );
    assert.equal(cancels(), 0);
  });

  it("WHEN the lock's pid is gone from this host THEN the rollback cancels the lock, once", async () => {
    const { stack, cancels } = stackCountingCancels();
    assert.equal(
      await stack.releaseStaleLock(lockedBy(HERE, 4242), macOS("ESRCH")),
      true,
    );
    assert.equal(cancels(), 1);
  });

  it("WHEN the error names no owner THEN nothing is cancelled", async () => {
    const { stack, cancels } = stackCountingCancels();
    assert.equal(
      await stack.releaseStaleLock(
        new Error("connection refused"),
        macOS("ESRCH"),
      ),
      false,
    );
    assert.equal(cancels(), 0);
  });
});
