// Who holds a stack's lock: the engine names the owner of a file backend's lock as
// "<user>@<host> (pid <n>)". A lock is stale when its owner ran on this host and no pulumi
// process has that pid any more (an engine killed, or one that exited without unlocking).
// Shared by `npm run recover` and the rollout's rollback.
import * as fs from "fs";

/** Whether a pulumi CLI process with this pid runs on this host (its /proc comm says so). */
export function pulumiRunsHere(pid: number): boolean {
  const comm = `/proc/${pid}/comm`;
  return (
    fs.existsSync(comm) && fs.readFileSync(comm, "utf8").trim() === "pulumi"
  );
}

/** The owner the engine names in a "stack is locked" error, if it names one. */
export function lockOwner(
  error: string,
): { host: string; pid: number } | undefined {
  const m = / created by [^@\s]+@(\S+) \(pid (\d+)\)/.exec(error);
  return m ? { host: m[1], pid: Number(m[2]) } : undefined;
}
