// `npm run recover [-- --stack NAME]`: makes a stack deployable again after a `pulumi up` that was
// killed (a crashed laptop, a cancelled CI job) or that lost its cluster half-way. Run it, then
// `pulumi up`. The stack defaults to $STACK, else `dev` (as `npm run deploy`). What it repairs,
// each only if it finds it (README, "Operations: recovering from faults"):
//
// 1. File backends: a zero-length `.attrs` file beside the stack's checkpoint. The backend writes
//    that metadata file after the checkpoint data and before renaming it into place; a kill in
//    between leaves it empty, and every later command fails with "failed to load checkpoint:
//    EOF". An empty one holds nothing, so it is deleted (the checkpoint itself is the previous,
//    complete one).
// 2. The stack's lock, left by the killed process: every later command fails with "the stack is
//    currently locked". On a file backend the lock names its process: unless that process is
//    proven gone (tools/pulumiLock.ts), this refuses, and a lock taken on another host is removed
//    only with --force-unlock-other-host; otherwise it runs `pulumi cancel`, which deletes the
//    lock. On other backends it only says what to do: it cannot see who holds the lock.
// 3. Pending operations: `pulumi refresh --clear-pending-creates` drops the pending creates
//    (`pulumi up` then creates those objects again; the provider applies with server-side apply,
//    so an object that already exists is taken over, not refused) and settles the others.
// 4. Helm releases cut off mid-install. Helm writes a release's record (a Secret, owner=helm)
//    before it creates the objects and marks it deployed after its wait; cut off in between (the
//    engine killed, or the API server gone), the record stays pending-install, and the next
//    install fails with "cannot re-use a name that is still in use". A `pulumi preview` says which
//    releases the next `up` will install; a record of one of them is a leftover if it is pending,
//    or if the killed run was installing that release (a pending CREATE): it is deleted, and the
//    next install adopts the objects, which carry Helm's ownership labels. A deployed release the
//    stack never installed is only reported.
//
// Uses the `pulumi` and `kubectl` on PATH; kubectl must point at the stack's cluster (the stack's
// provider uses the current kubectl context too). Runs through tools/register.js, like the
// program; `npm run build` type-checks it.
import { execFileSync, type ExecFileSyncOptions } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { judgeStackLock } from "./pulumiLock";

/** What `pulumi stack export` says of an operation the killed run left pending. */
interface PendingOperation {
  type: string;
  resource: { urn: string };
}

/** A step of `pulumi preview --json`. */
interface PreviewStep {
  op: string;
  urn: string;
  newState?: { type: string; inputs: { name: string; namespace: string } };
}

/** A file backend's lock file. */
interface Lock {
  pid: number;
  hostname: string;
  timestamp: string;
}

const HELM_RELEASE = "kubernetes:helm.sh/v3:Release";

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
}
const stack = arg("--stack") ?? process.env.STACK ?? "dev";
/** Remove a lock taken on another host, which this host cannot check (dangerous). */
const forceOtherHost = process.argv.includes("--force-unlock-other-host");
const log = (msg: string) => process.stdout.write(`[recover] ${msg}\n`);

function run(
  cmd: string,
  args: string[],
  opts: ExecFileSyncOptions = {},
): string {
  return execFileSync(cmd, args, {
    encoding: "utf8",
    stdio: ["ignore", "pipe", "pipe"],
    ...opts,
  }) as string;
}
const pulumi = (...args: string[]) =>
  run("pulumi", [...args, "--stack", stack, "--non-interactive"]);

/** The directory of a file:// backend, or undefined for any other backend. */
function fileBackendDir(): string | undefined {
  const url = JSON.parse(run("pulumi", ["whoami", "--json"])).url ?? "";
  if (!url.startsWith("file://")) {
    return undefined;
  }
  const p = decodeURIComponent(url.slice("file://".length).split("?")[0]);
  return p === "~" || p.startsWith("~/")
    ? path.join(os.homedir(), p.slice(1))
    : p;
}

function files(dir: string): string[] {
  if (!fs.existsSync(dir)) {
    return [];
  }
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    return e.isDirectory() ? files(p) : [p];
  });
}

/** Step 1: empty metadata files left by a write the kill cut short. */
function repairBookkeeping(dir: string): void {
  const empty = files(path.join(dir, ".pulumi")).filter(
    (f) => f.endsWith(".attrs") && fs.statSync(f).size === 0,
  );
  for (const f of empty) {
    fs.rmSync(f);
    log(`deleted the empty metadata file ${f} (a write cut short)`);
  }
}

/** Step 2: the lock of a file backend; refuses if its process is still running here. */
function releaseLock(dir: string, project: string): void {
  const lockDir = path.join(dir, ".pulumi", "locks");
  const locks = files(lockDir).filter(
    (f) =>
      f.endsWith(".json") &&
      path.basename(path.dirname(f)) === stack &&
      path.basename(path.dirname(path.dirname(f))) === project,
  );
  if (locks.length === 0) {
    return;
  }
  for (const f of locks) {
    let lock: Lock;
    try {
      lock = JSON.parse(fs.readFileSync(f, "utf8"));
    } catch {
      log(`unreadable lock ${f} (its write was cut short)`);
      continue;
    }
    const verdict = judgeStackLock(
      { host: lock.hostname, pid: lock.pid },
      { forceOtherHost },
    );
    if (!verdict.stale) {
      throw new Error(
        `the stack's lock (since ${lock.timestamp}) may still be held: ${verdict.reason}; let it finish` +
          (lock.hostname === os.hostname()
            ? ""
            : `, or, if nothing runs on the stack there, pass --force-unlock-other-host`),
      );
    }
    log(`stale lock since ${lock.timestamp}: ${verdict.reason}`);
  }
  pulumi("cancel", "--yes");
  log("lock removed (pulumi cancel)");
}

/** Step 4: leftover records of the Helm releases the next `up` will install. */
function dropReleaseRecords(wasCreating: Set<string>): void {
  const steps: PreviewStep[] =
    JSON.parse(pulumi("preview", "--json")).steps ?? [];
  for (const step of steps) {
    if (step.op !== "create" || step.newState?.type !== HELM_RELEASE) {
      continue;
    }
    const { name, namespace } = step.newState.inputs;
    const selector = `owner=helm,name=${name}`;
    const records: Array<{ metadata: { labels: Record<string, string> } }> =
      JSON.parse(
        run("kubectl", [
          "-n",
          namespace,
          "get",
          "secrets",
          "-l",
          selector,
          "-o",
          "json",
        ]),
      ).items;
    if (records.length === 0) {
      continue;
    }
    const statuses = records.map((r) => r.metadata.labels.status);
    const leftover =
      wasCreating.has(step.urn) ||
      statuses.every((st) => st.startsWith("pending"));
    if (!leftover) {
      log(
        `Helm release ${namespace}/${name} (${statuses.join(", ")}) exists but is not the stack's, so it is left alone: uninstall it, or the next up fails`,
      );
      process.exitCode = 1;
      continue;
    }
    run("kubectl", ["-n", namespace, "delete", "secrets", "-l", selector]);
    log(
      `deleted the leftover record(s) of Helm release ${namespace}/${name} (${statuses.join(", ")}): the next up installs it again, adopting its objects`,
    );
  }
}

function main(): void {
  const project = /^name:\s*(\S+)/m.exec(
    fs.readFileSync(path.join(process.cwd(), "Pulumi.yaml"), "utf8"),
  )?.[1];
  if (!project) {
    throw new Error(
      "no project name in ./Pulumi.yaml: run this in the project's directory",
    );
  }
  const dir = fileBackendDir();
  if (dir) {
    repairBookkeeping(dir);
    releaseLock(dir, project);
  } else {
    log(
      "not a file backend: if `pulumi up` says the stack is locked or an update is in progress, and nothing runs on it, run `pulumi cancel`",
    );
  }
  const pending: PendingOperation[] =
    JSON.parse(pulumi("stack", "export")).deployment.pending_operations ?? [];
  for (const op of pending) {
    log(`pending: ${op.type} ${op.resource.urn}`);
  }
  if (pending.length > 0) {
    pulumi("refresh", "--clear-pending-creates", "--yes");
    log(
      `cleared ${pending.length} pending operations (pulumi refresh --clear-pending-creates)`,
    );
  }
  const wasCreating = new Set(
    pending.filter((op) => op.type === "creating").map((op) => op.resource.urn),
  );
  dropReleaseRecords(wasCreating);
  log("done: now run `pulumi up`");
}

try {
  main();
} catch (e) {
  const err = e as Error & { stderr?: string };
  const stderr = err.stderr ? `\n${err.stderr}` : "";
  process.stderr.write(`[recover] failed: ${err.message}${stderr}\n`);
  process.exitCode = 1;
}
