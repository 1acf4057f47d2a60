// Whether a stack's lock may be removed: only when its pulumi process is proven gone. Each
// platform's branch with injected facts (a fake /proc, a fake kill, a hostname), and the real
// /proc with a real process named pulumi.
import * as assert from "node:assert/strict";
import { spawn } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import {
  type HostFacts,
  judgeStackLock,
  lockOwner,
  THIS_HOST,
} from "../../tools/pulumiLock";

const HOST = "laptop";
const PID = 4242;

/** A kill(pid, 0) that answers as the OS would: nothing thrown means the pid exists. */
const kill = (code?: "ESRCH" | "EPERM") => (): void => {
  if (code) {
    throw Object.assign(new Error(`kill ${code}`), { code });
  }
};

describe("a stack lock's owner", () => {
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "pulumi-lock-"));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  /** Facts of a host with a /proc holding the given pid's comm (none: no such pid). */
  const linux = (comm: string | undefined, k = kill("ESRCH")): HostFacts => {
    const proc = path.join(dir, "proc");
    fs.mkdirSync(proc, { recursive: true });
    if (comm !== undefined) {
      fs.mkdirSync(path.join(proc, String(PID)));
      fs.writeFileSync(path.join(proc, String(PID), "comm"), `${comm}\n`);
    }
    return { procDir: proc, kill: k, hostname: () => HOST };
  };
  /** Facts of a host without /proc (macOS, Windows). */
  const noProc = (k: HostFacts["kill"]): HostFacts => ({
    procDir: path.join(dir, "no-proc"),
    kill: k,
    hostname: () => HOST,
  });
  const judge = (facts: HostFacts, host = HOST, forceOtherHost = false) =>
    judgeStackLock({ host, pid: PID }, { forceOtherHost }, facts);

  it("WHEN the engine reports the stack locked THEN the owner's host and pid are read from its words", () => {
    // As the 3.248 CLI printed it in CI when a cancelled update still held the lock.
    const error =
      "error: the stack is currently locked by 1 lock(s). Either wait for the other process(es) to end or delete the lock file with `pulumi cancel`.\n" +
      "  file:///tmp/x/state/.pulumi/locks/organization/service-mesh/rollout/1393018a.json?no_tmp_dir=true: created by root@vm (pid 29878) at 2026-11-21T15:37:46Z";
    assert.deepEqual(lockOwner(error), { host: "vm", pid: 29878 });
    assert.equal(lockOwner("error: connection refused"), undefined);
  });

  it("WHEN /proc shows a pulumi process with the lock's pid THEN the lock is kept", () => {
    assert.deepEqual(judge(linux("pulumi", kill())), {
      stale: false,
      reason: `pid ${PID} on ${HOST} is a running pulumi process`,
    });
  });

  it("WHEN /proc has no such pid and signal 0 says ESRCH THEN the lock is stale", () => {
    assert.deepEqual(judge(linux(undefined)), {
      stale: true,
      reason: `no process has pid ${PID} on ${HOST} any more`,
    });
  });

  it("WHEN /proc shows the pid running another program (a reused pid) THEN the lock is stale", () => {
    assert.deepEqual(judge(linux("sshd", kill())), {
      stale: true,
      reason: `pid ${PID} on ${HOST} now runs sshd, not pulumi: the process that took the lock is gone`,
    });
  });

  it("WHEN /proc hides a pid that signal 0 still finds (hidepid) THEN the lock is kept", () => {
    assert.deepEqual(judge(linux(undefined, kill("EPERM"))), {
      stale: false,
      reason: `pid ${PID} on ${HOST} runs, but /proc does not show it: this host cannot tell whether it is pulumi`,
    });
  });

  it("WHEN there is no /proc and the pid answers signal 0 THEN the lock is kept: nothing proves it dead", () => {
    assert.deepEqual(judge(noProc(kill())), {
      stale: false,
      reason: `pid ${PID} on ${HOST} runs, and without /proc this host cannot tell whether it is pulumi`,
    });
  });

  it("WHEN there is no /proc and signal 0 says ESRCH THEN the lock is stale", () => {
    assert.deepEqual(judge(noProc(kill("ESRCH"))), {
      stale: true,
      reason: `no process has pid ${PID} on ${HOST} any more`,
    });
  });

  it("WHEN there is no /proc and signal 0 says EPERM (another user's process) THEN the lock is kept", () => {
    assert.deepEqual(judge(noProc(kill("EPERM"))), {
      stale: false,
      reason: `pid ${PID} on ${HOST} runs (as another user), and without /proc this host cannot tell whether it is pulumi`,
    });
  });

  it("WHEN the lock was taken on another host THEN it is kept, whatever this host's pids say", () => {
    assert.deepEqual(judge(noProc(kill("ESRCH")), "ci-runner-7"), {
      stale: false,
      reason: `the lock was taken on host ci-runner-7 (pid ${PID}), and this host (${HOST}) cannot see that host's processes`,
    });
  });

  it("WHEN the lock was taken on another host and the user forces it THEN it is stale", () => {
    assert.deepEqual(judge(noProc(kill()), "ci-runner-7", true), {
      stale: true,
      reason: `the lock was taken on host ci-runner-7 (pid ${PID}), which this host cannot check: removed on request (--force-unlock-other-host)`,
    });
  });

  it("WHEN a real process named pulumi runs THEN this host keeps its lock; WHEN it is gone, or another program, THEN not", async () => {
    // A copy of sleep named pulumi: the kernel's comm for it is "pulumi", as for the CLI.
    const fake = path.join(dir, "pulumi");
    fs.copyFileSync("/bin/sleep", fake);
    fs.chmodSync(fake, 0o755);
    const child = spawn(fake, ["30"], { stdio: "ignore" });
    const here = (pid: number) =>
      judgeStackLock({ host: os.hostname(), pid }, { forceOtherHost: false })
        .stale;
    try {
      await new Promise((r) => child.once("spawn", r));
      assert.equal(here(child.pid!), false);
      assert.equal(here(process.pid), true); // node, not pulumi
    } finally {
      const exited = new Promise((r) => child.once("exit", r));
      child.kill("SIGKILL");
      await exited;
    }
    assert.equal(here(child.pid!), true);
    assert.equal(THIS_HOST.procDir, "/proc");
  });
});
