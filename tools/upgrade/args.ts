// `npm run upgrade`'s command line: every flag checked, every problem reported at once, each
// message naming the flag, the value and the fix (tools/flags.ts). Pure: argv in, options out.
// Whether --to is a release this program knows is the plan's judgement (versions.ts).
import {
  type FlagSpec,
  integerFlag,
  quote,
  stackFlag,
  tokenize,
  UsageError,
} from "../flags";

export const UPGRADE_USAGE =
  "npm run upgrade -- --stack <stack> --to <version> [--in-place] [--step N | --all] [--dry-run] " +
  "[--revision-name <name>] [--check-timeout <seconds>]";

const SPEC: FlagSpec = {
  stack: "value",
  to: "value",
  "in-place": "boolean",
  step: "value",
  all: "boolean",
  "dry-run": "boolean",
  "revision-name": "value",
  "check-timeout": "value",
  help: "boolean",
};

export const UPGRADE_DEFAULTS = { checkTimeoutSeconds: 300 };

export interface UpgradeOptions {
  readonly stack: string;
  readonly to: string;
  readonly inPlace: boolean;
  /** Apply exactly this step (1-based). */
  readonly step?: number;
  /** Apply every step not done yet, in order. */
  readonly all: boolean;
  /** Print the plan (and what --step/--all would apply) without changing anything. */
  readonly dryRun: boolean;
  readonly revisionName?: string;
  readonly checkTimeoutSeconds: number;
}

/** A stack name as Pulumi accepts it: `name`, `org/name` or `org/project/name`. */
/** A revision name as istio.revisions takes it: a DNS label of at most 30 (istio-sidecar-injector-<rev>). */
const REVISION = /^[a-z0-9]([-a-z0-9]{0,28}[a-z0-9])?$/;

/** Parses the upgrade's argv (without node and the script); throws UsageError listing every problem. */
export function parseUpgradeArgs(
  argv: readonly string[],
): UpgradeOptions | "help" {
  const problems: string[] = [];
  const flags = tokenize(argv, SPEC, problems);
  if (flags.get("help") === true) {
    return "help";
  }
  const str = (name: string) => flags.get(name) as string | undefined;
  const stack = stackFlag(problems, str("stack"), "name the stack to upgrade");
  const to = str("to");
  if (to === undefined) {
    problems.push(
      "--to is required: name the Istio release to upgrade to, e.g. --to 1.30.5",
    );
  }
  const stepRaw = str("step");
  const step =
    stepRaw === undefined
      ? undefined
      : integerFlag(problems, "step", stepRaw, 1, 4, "1");
  const all = flags.get("all") === true;
  if (stepRaw !== undefined && all) {
    problems.push(
      `--step ${stepRaw} and --all both given: give --step N for one step, or --all for every step not done yet`,
    );
  }
  const revisionName = str("revision-name");
  if (
    revisionName !== undefined &&
    (!REVISION.test(revisionName) ||
      revisionName === "default" ||
      /^[0-9]+$/.test(revisionName))
  ) {
    problems.push(
      `--revision-name must be a DNS label other than "default", not all digits (pulumi config set --path would store a number): lowercase letters, digits and '-', at most 30 (got ${quote(revisionName)}); e.g. --revision-name 1-30-5`,
    );
  }
  const inPlace = flags.get("in-place") === true;
  if (inPlace && revisionName !== undefined) {
    problems.push(
      `--revision-name ${quote(revisionName)} with --in-place: an in-place upgrade adds no revision; drop one of them`,
    );
  }
  const timeoutRaw = str("check-timeout");
  const checkTimeoutSeconds =
    timeoutRaw === undefined
      ? UPGRADE_DEFAULTS.checkTimeoutSeconds
      : integerFlag(problems, "check-timeout", timeoutRaw, 1, 86_400, "300");
  if (problems.length > 0) {
    throw new UsageError(problems, UPGRADE_USAGE);
  }
  return {
    stack: stack!,
    to: to!,
    inPlace,
    step,
    all,
    dryRun: flags.get("dry-run") === true,
    revisionName,
    checkTimeoutSeconds: checkTimeoutSeconds!,
  };
}
