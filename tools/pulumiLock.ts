// Who holds a stack's lock, and whether it may be removed. The engine names the owner of a file
// backend's lock as "<user>@<host> (pid <n>)". Removing a lock under a running `pulumi up` lets a
// second update write the same state at the same time, so a lock is stale only when its holder is
// proven gone:
//
// - taken on another host: this host cannot see that host's processes, so never, unless the user
//   asks for it (`npm run recover -- --force-unlock-other-host`; the rollout never does);
// - with /proc (Linux): the pid's comm must name another program than pulumi (a reused pid), or
//   the pid must be absent from /proc and signal 0 must say ESRCH (no such process);
// - without /proc (macOS, Windows): signal 0 must say ESRCH. A pid that answers, or that belongs
//   to another user (EPERM), may be the pulumi that holds the lock: kept.
//
// Shared by `npm run recover` and the rollout's rollback. The platform facts are injectable, so
// each branch is tested on any host.
import * as fs from "fs";
import * as os from "os";
import * as path from "path";

/** What this host can tell about its processes. */
export interface HostFacts {
  /** Where the process table is mounted: "/proc" on Linux; absent on macOS and Windows. */
  readonly procDir: string;
  /** `process.kill`: signal 0 checks that a pid exists without touching the process. */
  readonly kill: (pid: number, signal: 0) => void;
  readonly hostname: () => string;
}

export const THIS_HOST: HostFacts = {
  procDir: "/proc",
  kill: (pid, signal) => process.kill(pid, signal),
  hostname: () => os.hostname(),
};

/** The owner of a lock: the host it was taken on and the pulumi process's pid there. */
export interface LockHolder {
  readonly host: string;
  readonly pid: number;
}

export interface LockVerdict {
  /** True only when the holder is proven gone (or the user forced another host's lock). */
  readonly stale: boolean;
  /** Why, in words for the user. */
  readonly reason: string;
}

/** What signal 0 says of a pid: gone (ESRCH), alive, alive as another user (EPERM), or unknown. */
function signalZero(
  pid: number,
  facts: HostFacts,
): "gone" | "alive" | "other-user" | "unknown" {
  try {
    facts.kill(pid, 0);
    return "alive";
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    return code === "ESRCH"
      ? "gone"
      : code === "EPERM"
        ? "other-user"
        : "unknown";
  }
}

/** The pid's comm from /proc, or undefined when /proc has no such pid; throws on other errors. */
function readComm(pid: number, facts: HostFacts): string | undefined {
  try {
    return fs
      .readFileSync(path.join(facts.procDir, String(pid), "comm"), "utf8")
      .trim();
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") {
      return undefined;
    }
    throw e;
  }
}

function hasProc(facts: HostFacts): boolean {
  try {
    return fs.statSync(facts.procDir).isDirectory();
  } catch {
    return false;
  }
}

/** Whether the lock of `holder` may be removed, and why (see the header). */
export function judgeStackLock(
  holder: LockHolder,
  opts: { readonly forceOtherHost: boolean },
  facts: HostFacts = THIS_HOST,
): LockVerdict {
  const here = facts.hostname();
  const { host, pid } = holder;
  if (host !== here) {
    return opts.forceOtherHost
      ? {
          stale: true,
          reason: `the lock was taken on host ${host} (pid ${pid}), which this host cannot check: removed on request (--force-unlock-other-host)`,
        }
      : {
          stale: false,
          reason: `the lock was taken on host ${host} (pid ${pid}), and this host (${here}) cannot see that host's processes`,
        };
  }
  const who = `pid ${pid} on ${host}`;
  const gone = { stale: true, reason: `no process has ${who} any more` };
  if (hasProc(facts)) {
    let comm: string | undefined;
    try {
      comm = readComm(pid, facts);
    } catch (e) {
      return {
        stale: false,
        reason: `${who}: /proc cannot be read (${(e as Error).message}), so this host cannot tell whether it is pulumi`,
      };
    }
    if (comm === "pulumi") {
      return { stale: false, reason: `${who} is a running pulumi process` };
    }
    if (comm !== undefined) {
      return {
        stale: true,
        reason: `${who} now runs ${comm}, not pulumi: the process that took the lock is gone`,
      };
    }
    // Not in /proc: gone, unless /proc hides other users' processes (hidepid) and it still runs.
    return signalZero(pid, facts) === "gone"
      ? gone
      : {
          stale: false,
          reason: `${who} runs, but /proc does not show it: this host cannot tell whether it is pulumi`,
        };
  }
  switch (signalZero(pid, facts)) {
    case "gone":
      return gone;
    case "alive":
      return {
        stale: false,
        reason: `${who} runs, and without /proc this host cannot tell whether it is pulumi`,
      };
    case "other-user":
      return {
        stale: false,
        reason: `${who} runs (as another user), and without /proc this host cannot tell whether it is pulumi`,
      };
    default:
      return {
        stale: false,
        reason: `${who}: signal 0 gave no answer, so this host cannot tell whether it runs`,
      };
  }
}

/** The owner the engine names in a "stack is locked" error, if it names one. */
export function lockOwner(error: string): LockHolder | undefined {
  const m = / created by [^@\s]+@(\S+) \(pid (\d+)\)/.exec(error);
  return m ? { host: m[1], pid: Number(m[2]) } : undefined;
}
