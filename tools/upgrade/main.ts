// `npm run upgrade -- --stack <stack> --to <version> [--in-place] [--step N | --all] [--dry-run]`:
// Istio upgrades driven through the stack's config. Prints the plan (plan.ts: in place, or the
// four canary steps by revision), and with --step N or --all applies steps through the Automation
// API: the step's config changes, one `up`, then the check (check.ts); the first failure stops
// with the commands that roll the step back. docs/upgrades.md, "Upgrading Istio". Runs through
// tools/register.js, like the program and the other tools.
import { commandGist } from "../automation";
import { applySteps, drift, selectSteps } from "./apply";
import { parseUpgradeArgs, UPGRADE_USAGE, type UpgradeOptions } from "./args";
import { planUpgrade } from "./plan";
import { formatPlan } from "./print";
import { StateError } from "./state";
import { Kubectl, UpgradeStack } from "./stack";
import { UpgradeRefusal } from "./versions";
import { parseOrExit } from "../flags";
import { preflight } from "../preflight.js";
import {
  acquireLock,
  type HeldLock,
  LockHeldError,
  lockPath,
  rolloutAlive,
} from "../rollout/lock";

const HELP = `${UPGRADE_USAGE}

Prints the plan of an Istio upgrade of the stack: the config changes of each step (as
'pulumi config set --path' commands), what each step's 'pulumi up' restarts, the check after it
and the commands that roll it back. Canary by revision (the default): 1 adopt revisions, 2 add
the new revision, 3 move the tags to it, 4 remove the old one; a step the config already holds is
marked done. --in-place: one step, istio.version (one minor at most; ambient stacks upgrade this
way only). --step N applies step N, --all every step not done, each followed by its check: istiod
of each revision Available, every pod of the stack's namespaces injected by the expected revision
and Ready, within --check-timeout seconds (default 300). --dry-run prints and changes nothing.
Needs the pulumi CLI, logged in, PULUMI_CONFIG_PASSPHRASE when the stack uses one, and for
--step/--all kubectl on the stack's cluster (SERVICE_MESH_KUBECTL names another kubectl).
Exit codes: 0 planned or applied and checked, 1 a step's up or check failed (the config holds
that step; the message gives the rollback), 2 refused (flags, plan, preflight, lock, config not
deployed), 130/143 interrupted. See docs/upgrades.md, "Upgrading Istio".`;

const say = (line: string) => process.stdout.write(`[upgrade] ${line}\n`);

async function upgrade(
  opts: UpgradeOptions,
  workDir: string,
  abort: AbortController,
): Promise<number> {
  const logFile = lockPath(workDir, opts.stack).replace(
    /\.lock$/,
    ".upgrade.log",
  );
  const stack = await UpgradeStack.open(opts.stack, workDir, logFile);
  const state = await stack.istio();
  const outputs = await stack.outputs();
  const deployedVersion =
    typeof outputs.istioVersion === "string" ? outputs.istioVersion : undefined;
  const plan = planUpgrade({
    state,
    deployedVersion,
    to: opts.to,
    inPlace: opts.inPlace,
    revisionName: opts.revisionName,
  });
  process.stdout.write(`${formatPlan(opts.stack, plan).join("\n")}\n`);
  const steps = selectSteps(plan, { step: opts.step, all: opts.all });
  const differs = drift(state, outputs);
  if (differs.length > 0) {
    say(
      `the stack's config differs from what was last deployed: ${differs.join("; ")}`,
    );
  }
  if (steps.length === 0) {
    return 0;
  }
  if (opts.dryRun) {
    say(
      `dry run: would apply step ${steps.map((s) => s.index).join(", ")}; nothing changed`,
    );
    return 0;
  }
  if (Object.keys(outputs).length === 0) {
    say(
      `refused: stack ${opts.stack} has no outputs yet: deploy it first ('pulumi up'), then upgrade`,
    );
    return 2;
  }
  if (differs.length > 0) {
    say(
      "refused: a step starts from what is deployed: run 'pulumi up' to finish the change in the config (or revert it), then run this again",
    );
    return 2;
  }
  say(`engine output: ${logFile}`);
  const result = await applySteps(
    {
      stackName: opts.stack,
      plan,
      steps,
      wait: {
        timeoutMs: opts.checkTimeoutSeconds * 1000,
        pollMs: 5000,
        now: () => Date.now(),
        sleep: (ms) =>
          new Promise((resolve) => {
            const t = setTimeout(resolve, ms);
            abort.signal.addEventListener(
              "abort",
              () => (clearTimeout(t), resolve()),
              {
                once: true,
              },
            );
          }),
        signal: abort.signal,
      },
    },
    { stack, kube: new Kubectl(), say },
  );
  if (result.ok) {
    const left = plan.steps.filter(
      (s) => !s.done && !result.applied.includes(s.index),
    );
    say(
      `applied and checked: step ${result.applied.join(", ")}` +
        (left.length > 0
          ? `; next: --step ${left[0].index} (${left[0].title})`
          : `; Istio ${plan.to} done`),
    );
    return 0;
  }
  say(result.message);
  if (abort.signal.aborted) {
    return abort.signal.reason === "SIGTERM" ? 143 : 130;
  }
  return 1;
}

async function main(): Promise<number> {
  const workDir = process.cwd();
  const opts = parseOrExit(
    "upgrade",
    () => parseUpgradeArgs(process.argv.slice(2)),
    HELP,
  );
  if (typeof opts === "number") {
    return opts;
  }
  const applying = !opts.dryRun && (opts.all || opts.step !== undefined);
  // Before the lock and the stack: the CLI, its login and the passphrase (and kubectl to apply).
  const { problems } = preflight({
    stack: opts.stack,
    cwd: workDir,
    kube: applying,
  });
  if (problems.length > 0) {
    problems.forEach((p) => say(`refused: ${p}`));
    return 2;
  }
  const abort = new AbortController();
  const onSignal = (sig: NodeJS.Signals) => {
    if (!abort.signal.aborted) {
      say(`${sig}: stopping; the in-flight up (if any) is cancelled`);
      abort.abort(sig);
    }
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  let lock: HeldLock | undefined;
  try {
    if (applying) {
      // One rollout or upgrade per stack: each `up` applies the whole stack.
      lock = acquireLock(
        workDir,
        { stack: opts.stack, to: `istio ${opts.to}` },
        say,
        rolloutAlive,
      );
    }
    return await upgrade(opts, workDir, abort);
  } catch (e) {
    if (
      e instanceof LockHeldError ||
      e instanceof UpgradeRefusal ||
      e instanceof StateError
    ) {
      say(`refused: ${e.message}`);
      return 2;
    }
    say(`failed before any change: ${commandGist(e)}`);
    return 2;
  } finally {
    lock?.release();
  }
}

main().then(
  (code) => process.exit(code),
  (e) => {
    process.stderr.write(`upgrade: ${(e as Error).stack ?? e}\n`);
    process.exit(2);
  },
);
