// The rollout's lock file (O_EXCL, pid + host + start time): a second rollout on the stack is
// refused while the first runs, a lock whose process is gone is taken over with a message, and a
// rollout removes only its own lock. Real files in a temp folder; the live line's formats.
import * as assert from "assert";
import { spawn, spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import {
  acquireLock,
  judgeLock,
  LockHeldError,
  lockPath,
  rolloutAlive,
} from "../../tools/rollout/lock";
import {
  eventLine,
  isInteractive,
  liveLine,
  Progress,
} from "../../tools/rollout/progress";

const owner = { stack: "dev", to: "v2" };

describe("the rollout's lock", () => {
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "rollout-lock-"));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it("WHEN a rollout takes the lock THEN the file names its pid, host and start, and release removes it", () => {
    const lock = acquireLock(dir, owner, assert.fail);
    assert.strictEqual(lock.file, path.join(dir, ".rollout", "dev.lock"));
    const held = JSON.parse(fs.readFileSync(lock.file, "utf8"));
    assert.strictEqual(held.pid, process.pid);
    assert.strictEqual(held.host, os.hostname());
    assert.ok(!Number.isNaN(Date.parse(held.startedAt)));
    lock.release();
    assert.ok(!fs.existsSync(lock.file));
  });

  it("WHEN a second rollout starts on the stack while the first runs THEN it is refused, naming the first", () => {
    const first = acquireLock(dir, owner, assert.fail, () => true);
    assert.throws(
      () =>
        acquireLock(dir, { stack: "dev", to: "v3" }, assert.fail, () => true),
      (e: Error) =>
        e instanceof LockHeldError &&
        e.message.startsWith(
          `another rollout is running on stack dev (pid ${process.pid} on ${os.hostname()}, started `,
        ) &&
        e.message.endsWith(
          `--to v2); wait for it to end, or stop it with 'kill -INT ${process.pid}' (it rolls back)`,
        ),
    );
    // Another stack has a lock of its own.
    acquireLock(dir, { stack: "prod", to: "v2" }, assert.fail).release();
    first.release();
  });

  it("WHEN the lock's process is gone THEN the lock is taken over, with a message", () => {
    const dead = spawnSync(process.execPath, ["-e", ""]).pid!;
    const file = lockPath(dir, "dev");
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(
      file,
      JSON.stringify({
        pid: dead,
        host: os.hostname(),
        startedAt: "2026-11-20T10:00:00.000Z",
        ...owner,
      }),
    );
    const said: string[] = [];
    const lock = acquireLock(dir, owner, (m) => said.push(m));
    assert.deepStrictEqual(said, [
      `taking over the stale lock of pid ${dead} on ${os.hostname()}, started 2026-11-20T10:00:00.000Z, --to v2: that process is no longer running`,
    ]);
    assert.strictEqual(
      JSON.parse(fs.readFileSync(file, "utf8")).pid,
      process.pid,
    );
    assert.deepStrictEqual(fs.readdirSync(path.dirname(file)), ["dev.lock"]);
    lock.release();
  });

  it("WHEN a lock was taken over by another rollout THEN the first one's release leaves it alone", () => {
    const lock = acquireLock(dir, owner, assert.fail);
    const other = {
      pid: 1,
      host: os.hostname(),
      startedAt: "2026-11-21T00:00:00.000Z",
      ...owner,
    };
    fs.writeFileSync(lock.file, JSON.stringify(other));
    lock.release();
    assert.deepStrictEqual(
      JSON.parse(fs.readFileSync(lock.file, "utf8")),
      other,
    );
  });

  it("WHEN the lock is held on another host THEN it is refused: this host cannot check that process", () => {
    const v = judgeLock(
      { pid: 42, host: "ci-runner-7", startedAt: "T", ...owner },
      "/p/.rollout/dev.lock",
      "laptop",
      () => false,
    );
    assert.deepStrictEqual(v, {
      kind: "held",
      message:
        "another rollout holds stack dev (pid 42 on ci-runner-7, started T, --to v2); this host cannot check it: if it is gone, delete /p/.rollout/dev.lock",
    });
  });

  it("WHEN a pid runs something other than a rollout (a reused pid) THEN it does not count as alive", async () => {
    assert.strictEqual(rolloutAlive(process.pid), false); // mocha
    assert.strictEqual(
      rolloutAlive(spawnSync(process.execPath, ["-e", ""]).pid!),
      false,
    );
    const rollout = spawn(process.execPath, [
      "-e",
      "setTimeout(() => {}, 10000)",
      "tools/rollout/main.ts",
    ]);
    try {
      await new Promise((r) => rollout.once("spawn", r));
      assert.strictEqual(rolloutAlive(rollout.pid!), true);
    } finally {
      rollout.kill();
    }
  });

  it("WHEN an upgrade holds the lock THEN a rollout sees it alive too (they share the lock)", async () => {
    const upgrade = spawn(process.execPath, [
      "-e",
      "setTimeout(() => {}, 10000)",
      "tools/upgrade/main.ts",
    ]);
    try {
      await new Promise((r) => upgrade.once("spawn", r));
      assert.strictEqual(rolloutAlive(upgrade.pid!), true);
    } finally {
      upgrade.kill();
    }
  });

  it("WHEN a stack name holds a slash THEN its lock file is still one file in .rollout/", () => {
    assert.strictEqual(
      lockPath("/p", "acme/mesh/prod"),
      "/p/.rollout/acme_mesh_prod.lock",
    );
  });
});

describe("the rollout's progress lines", () => {
  const step = {
    index: 2,
    percent: 50,
    weights: { v1: 50, v2: 50 },
    upSeconds: 4.24,
    checks: [],
  };
  const check = {
    at: 20,
    windowSeconds: 60,
    requests: 200,
    errors: 0,
    p99Ms: 41,
    errorRatePercent: 0,
    verdict: "pass" as const,
    summary:
      "PASS | requests 200 (min 20) · errors 0% (max 1%) · p99 41 ms (max 500 ms)",
  };

  it("WHEN a step waits THEN the live line shows step, weights, the last check against the gates, and the time left", () => {
    assert.strictEqual(
      liveLine({ kind: "wait", step, of: 4, remainingMs: 23_400, last: check }),
      "step 2/4 v1=50 v2=50 | requests 200 (min 20) · errors 0% (max 1%) · p99 41 ms (max 500 ms) | next check in 24s",
    );
    assert.strictEqual(
      liveLine({ kind: "wait", step, of: 4, remainingMs: 60_000 }),
      "step 2/4 v1=50 v2=50 | no check yet | next check in 60s",
    );
  });

  it("WHEN a step is applied and checked THEN plain lines say so", () => {
    assert.strictEqual(
      eventLine({ kind: "apply", step, of: 4 }),
      "step 2/4 (50%): setting v1=50 v2=50 and running up",
    );
    assert.strictEqual(
      eventLine({ kind: "applied", step, of: 4 }),
      "step 2/4: up done in 4.2 s, watching the canary",
    );
    assert.strictEqual(
      eventLine({ kind: "check", step, of: 4, check, action: "advance" }),
      `step 2/4 check (window 60s): ${check.summary} -> advance`,
    );
  });

  it("WHEN on a terminal THEN the live line is redrawn in place and cleared before a plain line; in CI only plain lines", () => {
    const out = (tty: boolean) => {
      const written: string[] = [];
      const stream = {
        isTTY: tty,
        columns: 200,
        write: (t: string) => written.push(t),
      };
      const p = new Progress(
        stream as unknown as NodeJS.WriteStream,
        isInteractive(stream as unknown as NodeJS.WriteStream, {}),
      );
      p.event({ kind: "wait", step, of: 4, remainingMs: 5000 });
      p.event({ kind: "apply", step, of: 4 });
      return written;
    };
    assert.deepStrictEqual(out(true), [
      "\r\x1b[2K[rollout] step 2/4 v1=50 v2=50 | no check yet | next check in 5s",
      "\r\x1b[2K",
      "[rollout] step 2/4 (50%): setting v1=50 v2=50 and running up\n",
    ]);
    assert.deepStrictEqual(out(false), [
      "[rollout] step 2/4 (50%): setting v1=50 v2=50 and running up\n",
    ]);
    assert.strictEqual(
      isInteractive({ isTTY: true } as NodeJS.WriteStream, { CI: "true" }),
      false,
    );
  });
});
