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
  "[--service <name>] [--weights v1=80,v2=20] [--concurrency N]";

export const TRAFFIC_HELP = `usage: ${TRAFFIC_USAGE}

Sends --requests GETs through the stack's ingress (run its port-forward first: see
'pulumi stack output portForwardCommand'), counts the answers per version (by the response
header x-mesh-version when an answer has it, as the routes of declared services set it; else by
the demo backend's answer "backend v1", ...), and draws the observed split beside the configured
weights: the stack's canaryWeights output (what the last 'up' deployed), services.<name>.weights
with --service, or --weights. Each version passes when it is within 3 sigma of its weight
(sigma = sqrt(n*p*(1-p)) for n answers).

Flags:
  --requests N              how many requests (default 200; 1 to 100000)
  --url <url>               where to send them (default http://localhost:8080/, the port-forward;
                            with --service, http://localhost:8080<its ingress path>)
  --stack <stack>           whose weights to compare with (default: $STACK, else dev)
  --service <name>          a service declared in the stack config's services: its weights are
                            the stack output services.<name>.weights (default: the demo backend)
  --weights v1=80,v2=20     the configured weights, given here: the stack is not read for them
  --concurrency N           requests in flight (default 8; 1 to 64)
  --help                    this text

Reading the stack needs the pulumi CLI, logged in, and PULUMI_CONFIG_PASSPHRASE (or
PULUMI_CONFIG_PASSPHRASE_FILE) when the stack's secrets use a passphrase.
Exit codes: 0 the split is within tolerance and every request was answered, 1 a version out of
tolerance, a failed request, or the stack's weights could not be read, 2 refused before any
request (bad flags; the pulumi CLI, its login or the passphrase missing; a --service the stack
does not have, or one without an ingress path and no --url). See
docs/progressive-delivery.md, "The traffic probe".`;

const SPEC: FlagSpec = {
  requests: "value",
  url: "value",
  stack: "value",
  service: "value",
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
  /**
   * Where to send the requests; undefined only with --service and no --url: the stack output
   * services.<name>.ingressPath on the port-forward then.
   */
  readonly url?: string;
  /** Read the configured weights from this stack's outputs... */
  readonly stack: string;
  /** ...its services.<name>.weights (a declared service), or canaryWeights (undefined)... */
  readonly service?: string;
  /** ...unless given here. */
  readonly weights?: Record<string, number>;
  readonly concurrency: number;
}

/** A service name as the stack config's services accepts it (a DNS-1035 label of at most 40). */
const SERVICE = /^[a-z]([-a-z0-9]{0,38}[a-z0-9])?$/;

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
  const service = str("service");
  if (service !== undefined && !SERVICE.test(service)) {
    problems.push(
      `--service must name a service of the stack config's services: a lowercase letter, then letters, digits and '-', at most 40 (got ${quote(service)}); e.g. --service orders`,
    );
  }
  const url =
    str("url") !== undefined
      ? urlFlag(problems, "url", str("url")!, TRAFFIC_DEFAULTS.url)?.toString()
      : service === undefined
        ? TRAFFIC_DEFAULTS.url
        : undefined;
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
    url,
    stack,
    service,
    weights,
    concurrency: concurrency!,
  };
}
