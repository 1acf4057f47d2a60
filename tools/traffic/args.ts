// `npm run traffic`'s command line. Pure: argv in, options out; every problem at once.
import {
  type FlagSpec,
  integerFlag,
  quote,
  tokenize,
  urlFlag,
  UsageError,
} from "../flags";

export const TRAFFIC_USAGE =
  "npm run traffic -- [--requests N] [--url http://localhost:8080/] [--stack <stack>] " +
  "[--weights v1=80,v2=20] [--concurrency N]";

const SPEC: FlagSpec = {
  requests: "value",
  url: "value",
  stack: "value",
  weights: "value",
  concurrency: "value",
  help: "boolean",
};

export const TRAFFIC_DEFAULTS = {
  requests: 200,
  /** The stack's port-forward (its portForwardCommand output) maps the ingress to this port. */
  url: "http://localhost:8080/",
  concurrency: 8,
};

export interface TrafficOptions {
  readonly requests: number;
  readonly url: string;
  /** Read the configured weights from this stack's canaryWeights output... */
  readonly stack: string;
  /** ...unless given here. */
  readonly weights?: Record<string, number>;
  readonly concurrency: number;
}

const WEIGHT = /^([a-z0-9]([-a-z0-9]*[a-z0-9])?)=([0-9]{1,3})$/;

function parseWeights(
  problems: string[],
  raw: string,
): Record<string, number> | undefined {
  const fix = "e.g. --weights v1=80,v2=20";
  const weights: Record<string, number> = {};
  for (const part of raw.split(",")) {
    const m = WEIGHT.exec(part.trim());
    if (!m || Number(m[3]) > 100 || m[1] in weights) {
      problems.push(
        `--weights must list version=percent pairs, each version once, separated by commas (got ${quote(raw)}: ${quote(part)} is not one); ${fix}`,
      );
      return undefined;
    }
    weights[m[1]] = Number(m[3]);
  }
  const sum = Object.values(weights).reduce((s, w) => s + w, 0);
  if (sum !== 100) {
    problems.push(
      `--weights must sum to 100 (got ${quote(raw)}, which sums to ${sum}); ${fix}`,
    );
    return undefined;
  }
  return weights;
}

/** Parses the probe's argv (without node and the script); throws UsageError listing every problem. */
export function parseTrafficArgs(
  argv: readonly string[],
  env: NodeJS.ProcessEnv,
): TrafficOptions | "help" {
  const problems: string[] = [];
  const flags = tokenize(argv, SPEC, problems);
  if (flags.get("help") === true) {
    return "help";
  }
  const str = (name: string) => flags.get(name) as string | undefined;
  const requests =
    str("requests") === undefined
      ? TRAFFIC_DEFAULTS.requests
      : integerFlag(problems, "requests", str("requests")!, 1, 100_000, "200");
  const concurrency =
    str("concurrency") === undefined
      ? TRAFFIC_DEFAULTS.concurrency
      : integerFlag(problems, "concurrency", str("concurrency")!, 1, 64, "8");
  const url =
    str("url") === undefined
      ? TRAFFIC_DEFAULTS.url
      : urlFlag(problems, "url", str("url")!, TRAFFIC_DEFAULTS.url)?.toString();
  const stack = str("stack") ?? env.STACK ?? "dev";
  if (!/^([A-Za-z0-9_.-]+\/){0,2}[A-Za-z0-9_.-]+$/.test(stack)) {
    problems.push(
      `--stack must be a stack name such as dev (got ${quote(stack)}); see 'pulumi stack ls'`,
    );
  }
  const weights =
    str("weights") === undefined
      ? undefined
      : parseWeights(problems, str("weights")!);
  if (problems.length > 0) {
    throw new UsageError(problems, TRAFFIC_USAGE);
  }
  return {
    requests: requests!,
    url: url!,
    stack,
    weights,
    concurrency: concurrency!,
  };
}
