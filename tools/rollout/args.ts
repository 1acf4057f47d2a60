// `npm run rollout`'s command line: every flag checked, every problem reported at once, each
// message naming the flag, the value and the fix. Pure: argv in, options out.
import * as path from "path";
import { DURATION, durationMillis } from "../../components/core/duration";
import {
  type FlagSpec,
  integerFlag,
  numberFlag,
  quote,
  stackFlag,
  tokenize,
  urlFlag,
  UsageError,
} from "../flags";

export const ROLLOUT_USAGE =
  "npm run rollout -- --stack <stack> --to <version> [--service <name>] [--steps 10,25,50,100] [--interval 1m] " +
  "[--prometheus <url>] [--max-error-rate <percent>] [--max-p99-ms <ms>] [--min-requests <n>] " +
  "[--dry-run] [--report <file>]";

const SPEC: FlagSpec = {
  stack: "value",
  to: "value",
  service: "value",
  steps: "value",
  interval: "value",
  prometheus: "value",
  "max-error-rate": "value",
  "max-p99-ms": "value",
  "min-requests": "value",
  "dry-run": "boolean",
  report: "value",
  help: "boolean",
};

/** Defaults of every optional flag (docs/progressive-delivery.md). */
export const ROLLOUT_DEFAULTS = {
  steps: [10, 25, 50, 100],
  intervalMs: 60_000,
  prometheus: "http://127.0.0.1:9090",
  maxErrorRatePercent: 1,
  maxP99Ms: 500,
  minRequests: 20,
};

export interface Thresholds {
  /** Largest share of 5xx answers the canary may give, in percent. */
  readonly maxErrorRatePercent: number;
  /** Largest 99th-percentile latency the canary may have, in milliseconds. */
  readonly maxP99Ms: number;
  /** Fewer canary requests than this in a window is inconclusive, never a pass. */
  readonly minRequests: number;
}

export interface RolloutOptions {
  readonly stack: string;
  readonly to: string;
  /**
   * The declared service (the stack config's services.<name>) whose weights move; undefined: the
   * demo backend (canary.weights).
   */
  readonly service?: string;
  /** Percent of the target's share at each step, strictly increasing, ending at 100. */
  readonly steps: readonly number[];
  readonly intervalMs: number;
  readonly prometheus: string;
  readonly thresholds: Thresholds;
  readonly dryRun: boolean;
  /** Where to write the JSON report (absolute), if asked. */
  readonly report?: string;
}

/** A version name as canary.weights accepts it (a DNS label of at most 40 characters). */
const VERSION = /^[a-z0-9]([-a-z0-9]{0,38}[a-z0-9])?$/;
/** A service name as the stack config's services accepts it (a DNS-1035 label of at most 40). */
const SERVICE = /^[a-z]([-a-z0-9]{0,38}[a-z0-9])?$/;
/** Shortest interval: the metrics of a step need a few scrapes. */
const MIN_INTERVAL_MS = 1000;

function parseSteps(problems: string[], raw: string): number[] | undefined {
  const fix = "e.g. --steps 10,25,50,100";
  const parts = raw.split(",");
  const steps: number[] = [];
  for (const p of parts) {
    const n = /^[0-9]+$/.test(p.trim()) ? Number(p.trim()) : NaN;
    if (!Number.isInteger(n) || n < 1 || n > 100) {
      problems.push(
        `--steps must list whole percentages from 1 to 100, separated by commas (got ${quote(raw)}: ${quote(p)} is not one); ${fix}`,
      );
      return undefined;
    }
    steps.push(n);
  }
  for (let i = 1; i < steps.length; i++) {
    if (steps[i] <= steps[i - 1]) {
      problems.push(
        `--steps must increase (got ${quote(raw)}: ${steps[i]} follows ${steps[i - 1]}); ${fix}`,
      );
      return undefined;
    }
  }
  if (steps[steps.length - 1] !== 100) {
    problems.push(
      `--steps must end at 100, the full promotion (got ${quote(raw)}); add it: --steps ${raw},100`,
    );
    return undefined;
  }
  return steps;
}

function parseInterval(problems: string[], raw: string): number | undefined {
  const ms = DURATION.test(raw) ? durationMillis(raw) : NaN;
  if (!Number.isFinite(ms) || ms < MIN_INTERVAL_MS || ms > 24 * 3600_000) {
    problems.push(
      `--interval must be a duration from 1s to 24h such as 30s, 2m or 1h (got ${quote(raw)}); e.g. --interval 1m`,
    );
    return undefined;
  }
  return ms;
}

/** Parses the rollout's argv (without node and the script); throws UsageError listing every problem. */
export function parseRolloutArgs(
  argv: readonly string[],
  cwd: string,
): RolloutOptions | "help" {
  const problems: string[] = [];
  const flags = tokenize(argv, SPEC, problems);
  if (flags.get("help") === true) {
    return "help";
  }
  const str = (name: string) => flags.get(name) as string | undefined;
  const stack = stackFlag(problems, str("stack"), "name the stack to roll out");
  const to = str("to");
  if (to === undefined) {
    problems.push(
      "--to is required: name the version to promote, e.g. --to v2",
    );
  } else if (!VERSION.test(to)) {
    problems.push(
      `--to must be a version name of canary.weights: lowercase letters, digits and '-', at most 40 (got ${quote(to)}); e.g. --to v2`,
    );
  }
  const service = str("service");
  if (service !== undefined && !SERVICE.test(service)) {
    problems.push(
      `--service must name a service of the stack config's services: a lowercase letter, then letters, digits and '-', at most 40 (got ${quote(service)}); e.g. --service orders`,
    );
  }
  const steps =
    str("steps") === undefined
      ? ROLLOUT_DEFAULTS.steps
      : parseSteps(problems, str("steps")!);
  const intervalMs =
    str("interval") === undefined
      ? ROLLOUT_DEFAULTS.intervalMs
      : parseInterval(problems, str("interval")!);
  const prometheus =
    str("prometheus") === undefined
      ? ROLLOUT_DEFAULTS.prometheus
      : urlFlag(
          problems,
          "prometheus",
          str("prometheus")!,
          "http://127.0.0.1:9090",
        )
          ?.toString()
          .replace(/\/+$/, "");
  const maxErrorRatePercent =
    str("max-error-rate") === undefined
      ? ROLLOUT_DEFAULTS.maxErrorRatePercent
      : numberFlag(
          problems,
          "max-error-rate",
          str("max-error-rate")!,
          { min: 0, max: 100 },
          "1",
        );
  const maxP99Ms =
    str("max-p99-ms") === undefined
      ? ROLLOUT_DEFAULTS.maxP99Ms
      : numberFlag(
          problems,
          "max-p99-ms",
          str("max-p99-ms")!,
          { min: 0, max: 3_600_000, exclusiveMin: true },
          "500",
        );
  const minRequests =
    str("min-requests") === undefined
      ? ROLLOUT_DEFAULTS.minRequests
      : integerFlag(
          problems,
          "min-requests",
          str("min-requests")!,
          1,
          1_000_000_000,
          "20",
        );
  const reportRaw = str("report");
  let report: string | undefined;
  if (reportRaw !== undefined) {
    if (reportRaw === "" || reportRaw.endsWith("/")) {
      problems.push(
        `--report must name a file (got ${quote(reportRaw)}); e.g. --report rollout-report.json`,
      );
    } else {
      report = path.resolve(cwd, reportRaw);
    }
  }
  if (problems.length > 0) {
    throw new UsageError(problems, ROLLOUT_USAGE);
  }
  return {
    stack: stack!,
    to: to!,
    service,
    steps: steps!,
    intervalMs: intervalMs!,
    prometheus: prometheus!,
    thresholds: {
      maxErrorRatePercent: maxErrorRatePercent!,
      maxP99Ms: maxP99Ms!,
      minRequests: minRequests!,
    },
    dryRun: flags.get("dry-run") === true,
    report,
  };
}
