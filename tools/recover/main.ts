// `npm run recover [-- --stack NAME] [--yes]`: makes a stack deployable again after a `pulumi up`
// that was killed (a crashed laptop, a cancelled CI job) or that lost its cluster half-way. Run
// it, then `pulumi up`. The stack defaults to $STACK, else `dev` (as `npm run deploy`). It reads
// first, shows its plan and asks (a terminal) or needs --yes (no terminal) before it changes
// anything. What it repairs, each only if it finds it (docs/operations.md, "Operations: recovering
// from faults"; `--help` says the same):
//
// 1. File backends: a zero-length `.attrs` file beside the stack's checkpoint. The backend writes
//    that metadata file after the checkpoint data and before renaming it into place; a kill in
//    between leaves it empty, and every later command fails with "failed to load checkpoint:
//    EOF". An empty one holds nothing, so it is deleted (the checkpoint itself is the previous,
//    complete one). Nothing else can be read before that, so it is a plan of its own.
// 2. The stack's lock, left by the killed process: every later command fails with "the stack is
//    currently locked". On a file backend the lock names its process: it is removed (`pulumi
//    cancel`) only when that process is proven gone (tools/pulumiLock.ts), and a lock taken on
//    another host only with --force-unlock-other-host; otherwise this refuses. On other backends
//    it only says what to do: it cannot see who holds the lock.
// 3. Pending operations: `pulumi refresh --clear-pending-creates` drops the pending creates
//    (`pulumi up` then creates those objects again; the provider applies with server-side apply,
//    so an object that already exists is taken over, not refused) and settles the others.
// 4. Helm releases cut off mid-install. Helm writes a release's record (a Secret, owner=helm)
//    before it creates the objects and marks it deployed after its wait; cut off in between (the
//    engine killed, or the API server gone), the record stays pending-install, and the next
//    install fails with "cannot re-use a name that is still in use". A `pulumi preview` (which
//    takes no lock on a file backend) says which releases the next `up` will install; a record
//    of one of them is a leftover if it is pending, or if the killed run was installing that
//    release (a pending CREATE): it is deleted, and the next install adopts the objects, which
//    carry Helm's ownership labels. A deployed release the stack never installed is only reported.
//
// Uses the `pulumi` and `kubectl` on PATH (tools/preflight.js checks them, the login and the
// passphrase first); kubectl must point at the stack's cluster (the stack's provider uses the
// current kubectl context too). Runs through tools/register.js, like the program; `npm run build`
// type-checks it.
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as readline from "readline";
import { parseOrExit } from "../flags";
import { preflight } from "../preflight.js";
import { THIS_HOST } from "../pulumiLock";
import { parseRecoverArgs, RECOVER_HELP, type RecoverOptions } from "./args";
import {
  changesSomething,
  judgeLocks,
  judgeReleases,
  type LockFileFact,
  type PendingOperation,
  planLines,
  type PreviewStep,
  type RecoverPlan,
  type ReleaseRecords,
  releasesToInstall,
  selector,
} from "./plan";

const log = (msg: string) => process.stdout.write(`[recover] ${msg}\n`);

/** Raised to stop with exit 2, nothing (more) changed; each line is said on its own. */
class Refused extends Error {
  constructor(readonly lines: string[]) {
    super(lines.join("; "));
  }
}

function run(cmd: string, args: string[]): string {
  return execFileSync(cmd, args, {
    encoding: "utf8",
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, PULUMI_SKIP_UPDATE_CHECK: "true" },
    maxBuffer: 256 * 1024 * 1024,
  });
}

/** The directory of a file:// backend, or undefined for any other backend. */
function fileBackendDir(url: string): string | undefined {
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

/** The stack's lock files (`.pulumi/locks/<org>/<project>/<stack>/<id>.json`), as read. */
function readLocks(
  dir: string,
  project: string,
  stack: string,
): LockFileFact[] {
  const leaf = stack.split("/").pop();
  return files(path.join(dir, ".pulumi", "locks"))
    .filter(
      (f) =>
        f.endsWith(".json") &&
        path.basename(path.dirname(f)) === leaf &&
        path.basename(path.dirname(path.dirname(f))) === project,
    )
    .map((file) => {
      const ageMs = Date.now() - fs.statSync(file).mtimeMs;
      try {
        const lock = JSON.parse(fs.readFileSync(file, "utf8"));
        return typeof lock.pid === "number" && typeof lock.hostname === "string"
          ? { file, lock, ageMs }
          : { file, ageMs };
      } catch {
        return { file, ageMs };
      }
    });
}

/** Carries on only when confirmed: --yes, or "y" at the terminal; otherwise Refused. */
async function confirm(opts: RecoverOptions, what: string): Promise<void> {
  if (opts.yes) {
    return;
  }
  if (!process.stdin.isTTY) {
    throw new Refused([
      "no terminal to confirm the plan on: run it again with --yes to carry it out; nothing was changed",
    ]);
  }
  const rl = readline.createInterface({
    input: process.stdin,
    output: process.stdout,
  });
  const answer = await new Promise<string>((resolve) =>
    rl.question(`[recover] ${what}? [y/N] `, resolve),
  );
  rl.close();
  if (!/^y(es)?$/i.test(answer.trim())) {
    throw new Refused(["not confirmed: nothing was changed"]);
  }
}

/** Step 1: empty metadata files left by a write the kill cut short; a plan of its own. */
async function repairBookkeeping(
  dir: string,
  opts: RecoverOptions,
): Promise<void> {
  const empty = files(path.join(dir, ".pulumi")).filter(
    (f) => f.endsWith(".attrs") && fs.statSync(f).size === 0,
  );
  if (empty.length === 0) {
    return;
  }
  log("plan, first part (until they are gone, no command can read the stack):");
  for (const f of empty) {
    log(`  delete the empty metadata file ${f} (a write cut short)`);
  }
  await confirm(opts, "delete these empty files");
  for (const f of empty) {
    fs.rmSync(f);
    log(`deleted ${f}`);
  }
}

async function main(): Promise<number> {
  const opts = parseOrExit(
    "recover",
    () => parseRecoverArgs(process.argv.slice(2), process.env),
    RECOVER_HELP,
  );
  if (typeof opts === "number") {
    return opts;
  }
  const { stack } = opts;
  const project = /^name:\s*(\S+)/m.exec(
    fs.existsSync("Pulumi.yaml") ? fs.readFileSync("Pulumi.yaml", "utf8") : "",
  )?.[1];
  if (!project) {
    throw new Refused([
      "no project name in ./Pulumi.yaml: run this in the project's folder",
    ]);
  }
  const checked = preflight({ stack, kube: true });
  if (checked.problems.length > 0) {
    throw new Refused(checked.problems);
  }
  const pulumi = (...args: string[]) =>
    run("pulumi", [...args, "--stack", stack, "--non-interactive"]);

  const dir = fileBackendDir(checked.backendUrl ?? "");
  let locks: LockFileFact[] = [];
  let lockReasons: string[] = [];
  if (dir) {
    locks = readLocks(dir, project, stack);
    const judged = judgeLocks(
      locks,
      { forceOtherHost: opts.forceUnlockOtherHost },
      THIS_HOST,
    );
    if (judged.kind === "refuse") {
      throw new Refused([judged.message]);
    }
    lockReasons = judged.reasons;
    await repairBookkeeping(dir, opts);
  } else {
    log(
      "not a file backend: if `pulumi up` says the stack is locked or an update is in progress, and nothing runs on it, run `pulumi cancel`",
    );
  }

  log(`reading stack ${stack}: its state, a preview, the Helm records`);
  const pending: PendingOperation[] =
    JSON.parse(pulumi("stack", "export")).deployment.pending_operations ?? [];
  const steps: PreviewStep[] =
    JSON.parse(pulumi("preview", "--json")).steps ?? [];
  const found: ReleaseRecords[] = releasesToInstall(steps).map((release) => {
    const items: Array<{ metadata: { labels: Record<string, string> } }> =
      JSON.parse(
        run("kubectl", [
          "-n",
          release.namespace,
          "get",
          "secrets",
          "-l",
          selector(release),
          "-o",
          "json",
        ]),
      ).items;
    return { release, statuses: items.map((r) => r.metadata.labels.status) };
  });
  const wasCreating = new Set(
    pending.filter((op) => op.type === "creating").map((op) => op.resource.urn),
  );
  const plan: RecoverPlan = {
    locks: lockReasons,
    pending,
    ...judgeReleases(found, wasCreating),
  };

  if (!changesSomething(plan)) {
    for (const line of planLines(plan)) {
      log(line);
    }
    log(
      plan.foreign.length > 0
        ? "nothing to repair, but the release(s) above stop the next up"
        : "nothing to repair: run `pulumi up`",
    );
    return plan.foreign.length > 0 ? 1 : 0;
  }
  log(`plan for stack ${stack}:`);
  for (const line of planLines(plan)) {
    log(line);
  }
  await confirm(opts, "carry out this plan");

  if (plan.locks.length > 0) {
    // `pulumi cancel` deletes every lock of the stack: stop if one appeared since they were judged.
    const now = readLocks(dir!, project, stack).map((l) => l.file);
    const judged = new Set(locks.map((l) => l.file));
    const fresh = now.filter((f) => !judged.has(f));
    if (fresh.length > 0) {
      throw new Refused([
        `a new lock appeared meanwhile (${fresh.join(", ")}): an update has started; nothing more was changed`,
      ]);
    }
    pulumi("cancel", "--yes");
    log("lock removed (pulumi cancel)");
  }
  if (plan.pending.length > 0) {
    pulumi("refresh", "--clear-pending-creates", "--yes");
    log(
      `cleared ${plan.pending.length} pending operation(s) (pulumi refresh --clear-pending-creates)`,
    );
  }
  for (const { release } of plan.drop) {
    run("kubectl", [
      "-n",
      release.namespace,
      "delete",
      "secrets",
      "-l",
      selector(release),
    ]);
    log(
      `deleted the leftover record(s) of Helm release ${release.namespace}/${release.name}`,
    );
  }
  if (plan.foreign.length > 0) {
    log("done, but the release(s) left alone above stop the next up");
    return 1;
  }
  log("done: now run `pulumi up`");
  return 0;
}

main().then(
  (code) => process.exit(code),
  (e) => {
    if (e instanceof Refused) {
      for (const line of e.lines) {
        process.stderr.write(`recover: refused: ${line}\n`);
      }
      process.exit(2);
    }
    const err = e as Error & { stderr?: string };
    const stderr = err.stderr ? `\n${err.stderr}` : "";
    process.stderr.write(`recover: failed: ${err.message}${stderr}\n`);
    process.exit(1);
  },
);
