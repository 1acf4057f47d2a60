// The rollout's own lock: one rollout per stack and checkout at a time. Pulumi's stack lock covers
// each `up`, but a rollout is many `up`s with waits between them, and a second rollout could slip
// its `up` into a wait and then roll back to weights that are not the stack's. So the whole run
// holds a lock file, created with O_EXCL (`wx`: creation fails if the file exists, atomically on
// local file systems), holding the owner's pid, host and start time. A lock whose process is gone
// (killed, a crashed laptop) is stale: it is taken over, with a message.
import * as fs from "fs";
import * as os from "os";
import * as path from "path";

export interface LockOwner {
  readonly pid: number;
  readonly host: string;
  readonly startedAt: string;
  readonly stack: string;
  readonly to: string;
  /** The declared service it moves (--service); absent for the demo backend. */
  readonly service?: string;
}

/** The lock file of a stack, in the project's `.rollout/` folder. */
export function lockPath(workDir: string, stack: string): string {
  return path.join(
    workDir,
    ".rollout",
    `${stack.replace(/[^A-Za-z0-9._-]/g, "_")}.lock`,
  );
}

export type LockVerdict =
  | { readonly kind: "held"; readonly message: string }
  | { readonly kind: "stale"; readonly message: string };

/**
 * What an existing lock means: held by a live process (or one this host cannot check), or stale.
 * `alive` says whether a pid on this host still runs a rollout.
 */
export function judgeLock(
  owner: LockOwner | undefined,
  file: string,
  host: string,
  alive: (pid: number) => boolean,
): LockVerdict {
  if (owner === undefined) {
    return {
      kind: "stale",
      message: `taking over the unreadable lock ${file} (its writer was cut off)`,
    };
  }
  const who = `pid ${owner.pid} on ${owner.host}, started ${owner.startedAt}, ${owner.service ? `--service ${owner.service} ` : ""}--to ${owner.to}`;
  if (owner.host !== host) {
    return {
      kind: "held",
      message:
        `another rollout holds stack ${owner.stack} (${who}); this host cannot check it: ` +
        `if it is gone, delete ${file}`,
    };
  }
  if (alive(owner.pid)) {
    return {
      kind: "held",
      message:
        `another rollout is running on stack ${owner.stack} (${who}); wait for it to end, ` +
        `or stop it with 'kill -INT ${owner.pid}' (it rolls back)`,
    };
  }
  return {
    kind: "stale",
    message: `taking over the stale lock of ${who}: that process is no longer running`,
  };
}

/**
 * Whether a pid on this host runs a rollout or an upgrade (`npm run upgrade` takes the same lock:
 * one of them per stack at a time): signal 0 says it exists, and its command line (in /proc)
 * must name tools/rollout/main or tools/upgrade/main, so a pid reused by another program does
 * not count.
 */
export function rolloutAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== "EPERM") {
      return false;
    }
  }
  try {
    const cmdline = fs.readFileSync(`/proc/${pid}/cmdline`, "utf8");
    return /(rollout|upgrade)\/main/.test(cmdline);
  } catch {
    return true; // no /proc here: trust the signal
  }
}

function readOwner(file: string): LockOwner | undefined {
  try {
    const o = JSON.parse(fs.readFileSync(file, "utf8"));
    return typeof o.pid === "number" && typeof o.host === "string"
      ? (o as LockOwner)
      : undefined;
  } catch {
    return undefined;
  }
}

export class LockHeldError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "LockHeldError";
  }
}

export interface HeldLock {
  readonly file: string;
  /** Removes the lock, if it is still ours. */
  release(): void;
}

/**
 * Takes the stack's lock or throws LockHeldError. `say` receives the take-over message of a stale
 * lock. A lock file being written right now (empty, younger than 5 s) counts as held.
 */
export function acquireLock(
  workDir: string,
  owner: Omit<LockOwner, "pid" | "host" | "startedAt">,
  say: (msg: string) => void,
  alive: (pid: number) => boolean = rolloutAlive,
): HeldLock {
  const file = lockPath(workDir, owner.stack);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const me: LockOwner = {
    pid: process.pid,
    host: os.hostname(),
    startedAt: new Date().toISOString(),
    ...owner,
  };
  for (let attempt = 0; attempt < 2; attempt++) {
    let fd: number;
    try {
      fd = fs.openSync(file, "wx", 0o644);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "EEXIST") {
        throw e;
      }
      const existing = readOwner(file);
      if (
        existing === undefined &&
        Date.now() - fs.statSync(file).mtimeMs < 5000
      ) {
        throw new LockHeldError(
          `another rollout is taking the lock ${file} right now`,
        );
      }
      const verdict = judgeLock(existing, file, me.host, alive);
      if (verdict.kind === "held" || attempt > 0) {
        throw new LockHeldError(verdict.message);
      }
      // Move the stale file aside and check it is the one judged: between the read and the
      // move another rollout may have taken it over and written a fresh lock, which is put back.
      const aside = `${file}.stale-${process.pid}`;
      try {
        fs.renameSync(file, aside);
      } catch {
        continue; // gone meanwhile: try again
      }
      const moved = readOwner(aside);
      if (
        existing !== undefined &&
        (moved?.pid !== existing.pid || moved.startedAt !== existing.startedAt)
      ) {
        try {
          fs.linkSync(aside, file);
        } finally {
          fs.rmSync(aside, { force: true });
        }
        throw new LockHeldError(
          `another rollout took over the lock ${file} just now`,
        );
      }
      fs.rmSync(aside, { force: true });
      say(verdict.message);
      continue;
    }
    fs.writeSync(fd, JSON.stringify(me) + "\n");
    fs.fsyncSync(fd);
    fs.closeSync(fd);
    return {
      file,
      release: () => {
        const now = readOwner(file);
        if (now?.pid === me.pid && now.startedAt === me.startedAt) {
          fs.rmSync(file, { force: true });
        }
      },
    };
  }
  throw new LockHeldError(`could not take the lock ${file}`);
}
