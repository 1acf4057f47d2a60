// `npm run recover`'s command line. Pure: argv in, options out; every problem at once, each
// naming the flag, the value and the fix (tools/flags.ts). `-h` is read as `--help`.
import { type FlagSpec, stackFlag, tokenize, UsageError } from "../flags";

export const RECOVER_USAGE =
  "npm run recover -- [--stack <stack>] [--yes] [--force-unlock-other-host]";

export const RECOVER_HELP = `usage: ${RECOVER_USAGE}

Makes a stack deployable again after a 'pulumi up' that was killed (a crashed laptop, a cancelled
CI job) or lost its cluster half-way; then run 'pulumi up'. Run it in the project folder. It first
shows its plan and asks before it changes anything. What it repairs, each only if it finds it:
  - empty metadata files (.attrs) of a file backend, left by a write cut short ("failed to load
    checkpoint: EOF"): deleted;
  - the stack's lock ("the stack is currently locked"), only when its pulumi process is proven
    gone: removed with 'pulumi cancel' (a file backend; on others it only says what to do);
  - pending operations of the killed run: 'pulumi refresh --clear-pending-creates';
  - Helm release records cut off mid-install ("cannot re-use a name that is still in use") of
    releases the next 'up' installs: deleted with kubectl (a release the stack never installed
    is only reported).

Flags:
  --stack <stack>             the stack (default: $STACK, else dev)
  --yes                       carry out the plan without asking (needed without a terminal, e.g. CI)
  --force-unlock-other-host   DANGEROUS: also remove a lock taken on another host, which this host
                              cannot check; if a 'pulumi up' still runs there, two updates then
                              write the same state. Only when you know nothing runs on the stack.
  -h, --help                  this text

Needs the pulumi CLI (logged in), PULUMI_CONFIG_PASSPHRASE (or PULUMI_CONFIG_PASSPHRASE_FILE) when
the stack's secrets use a passphrase, and kubectl with the stack's cluster as current context.
Exit codes: 0 repaired (or nothing to repair), 1 a step failed, or a Helm release blocks the next
up and is not the stack's (reported, left alone), 2 refused, nothing changed (bad flags, something
missing, a lock that may still be held, the plan not confirmed). See docs/operations.md,
"Operations: recovering from faults".`;

const SPEC: FlagSpec = {
  stack: "value",
  yes: "boolean",
  "force-unlock-other-host": "boolean",
  help: "boolean",
};

export interface RecoverOptions {
  readonly stack: string;
  /** Carry out the plan without asking. */
  readonly yes: boolean;
  /** Remove a lock taken on another host too (dangerous). */
  readonly forceUnlockOtherHost: boolean;
}

/** Parses recover's argv (without node and the script); throws UsageError listing every problem. */
export function parseRecoverArgs(
  argv: readonly string[],
  env: NodeJS.ProcessEnv,
): RecoverOptions | "help" {
  const problems: string[] = [];
  const flags = tokenize(
    argv.map((a) => (a === "-h" ? "--help" : a)),
    SPEC,
    problems,
  );
  if (flags.get("help") === true) {
    return "help";
  }
  const given = flags.get("stack") as string | undefined;
  const stack = given ?? env.STACK ?? "dev";
  stackFlag(
    problems,
    stack,
    undefined,
    given === undefined ? "$STACK" : "--stack",
  );
  if (problems.length > 0) {
    throw new UsageError(problems, RECOVER_USAGE);
  }
  return {
    stack,
    yes: flags.get("yes") === true,
    forceUnlockOtherHost: flags.get("force-unlock-other-host") === true,
  };
}
