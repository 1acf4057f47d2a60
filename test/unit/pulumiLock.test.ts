// Reading the owner of a stack's lock from the engine's error, and whether it still runs.
import * as assert from "assert";
import { spawn } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { lockOwner, pulumiRunsHere } from "../../tools/pulumiLock";

describe("a stack lock's owner", () => {
  it("WHEN the engine reports the stack locked THEN the owner's host and pid are read from its words", () => {
    // As the 3.248 CLI printed it in CI when a cancelled update still held the lock.
    const error =
      "error: the stack is currently locked by 1 lock(s). Either wait for the other process(es) to end or delete the lock file with `pulumi cancel`.\n" +
      "  file:///tmp/x/state/.pulumi/locks/organization/service-mesh/rollout/1393018a.json?no_tmp_dir=true: created by root@vm (pid 29878) at 2026-11-21T15:37:46Z";
    assert.deepStrictEqual(lockOwner(error), { host: "vm", pid: 29878 });
    assert.strictEqual(lockOwner("error: connection refused"), undefined);
  });

  it("WHEN a process named pulumi runs THEN it holds its lock; WHEN it is gone, or another program, THEN not", async () => {
    // A copy of sleep named pulumi: the kernel's comm for it is "pulumi", as for the CLI.
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "pulumi-lock-"));
    const fake = path.join(dir, "pulumi");
    fs.copyFileSync("/bin/sleep", fake);
    fs.chmodSync(fake, 0o755);
    const child = spawn(fake, ["30"], { stdio: "ignore" });
    try {
      assert.strictEqual(pulumiRunsHere(child.pid!), true);
      assert.strictEqual(pulumiRunsHere(process.pid), false); // node, not pulumi
    } finally {
      const exited = new Promise((r) => child.once("exit", r));
      child.kill("SIGKILL");
      await exited;
      fs.rmSync(dir, { recursive: true, force: true });
    }
    assert.strictEqual(pulumiRunsHere(child.pid!), false);
  });
});
