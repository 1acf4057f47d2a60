// `npm run traffic -- [--requests N] [--url ...]`: sends requests through the stack's ingress (the
// port-forward the stack outputs as portForwardCommand, run it first), counts the answers per
// version ("backend v1", ...), and prints the observed split as a bar chart beside the configured
// weights (the stack's canaryWeights output, or --weights), with a 3σ tolerance verdict. Exit 0
// when the split is within tolerance and every request was answered, 1 otherwise, 2 refused before
// any request: bad flags, or (reading the stack) the pulumi CLI, its login or the passphrase
// missing (tools/preflight.js), each named with its fix.
import { execFileSync } from "child_process";
import { parseOrExit } from "../flags";
import { preflight } from "../preflight.js";
import { parseTrafficArgs, TRAFFIC_HELP, type TrafficOptions } from "./args";
import { probe } from "./probe";
import { judgeSplit, renderSplit, verdictLine } from "./split";

const say = (line: string) => process.stdout.write(`[traffic] ${line}\n`);

/** The stack's configured weights: its canaryWeights output (what the last `up` deployed). */
function stackWeights(stack: string): Record<string, number> {
  let out: string | undefined;
  let failure: { stderr?: string; message: string } | undefined;
  try {
    out = execFileSync(
      "pulumi",
      [
        "stack",
        "output",
        "canaryWeights",
        "--json",
        "--stack",
        stack,
        "--non-interactive",
      ],
      { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] },
    );
  } catch (e) {
    failure = e as { stderr?: string; message: string };
  }
  if (out === undefined) {
    throw new Error(
      `could not read stack ${stack}'s canaryWeights output (${(failure?.stderr || failure?.message || "").trim()}); ` +
        `deploy it first, name it with --stack, or give --weights v1=80,v2=20`,
    );
  }
  return JSON.parse(out) as Record<string, number>;
}

async function run(opts: TrafficOptions): Promise<number> {
  const weights = opts.weights ?? stackWeights(opts.stack);
  say(
    `${opts.requests} requests to ${opts.url} (${opts.concurrency} in flight); configured: ` +
      `${Object.entries(weights)
        .map(([v, w]) => `${v}=${w}`)
        .join(" ")}${opts.weights ? " (--weights)" : ` (stack ${opts.stack})`}`,
  );
  const result = await probe(opts);
  const failed = Object.values(result.failures).reduce((s, c) => s + c, 0);
  const verdict = judgeSplit(result.counts, weights);
  for (const line of renderSplit(verdict)) {
    say(line);
  }
  say(`${verdict.n} answers in ${result.seconds.toFixed(1)} s`);
  if (failed > 0) {
    say(
      `${failed} requests failed (${Object.entries(result.failures)
        .map(([k, c]) => `${k}: ${c}`)
        .join(", ")}); first: ${result.firstFailure}`,
    );
    if (
      opts.url.includes("localhost:8080") ||
      opts.url.includes("127.0.0.1:8080")
    ) {
      say(
        "is the port-forward running? see `pulumi stack output portForwardCommand`",
      );
    }
  }
  say(verdictLine(verdict));
  return verdict.ok && failed === 0 ? 0 : 1;
}

async function main(): Promise<number> {
  const opts = parseOrExit(
    "traffic",
    () => parseTrafficArgs(process.argv.slice(2), process.env),
    TRAFFIC_HELP,
  );
  if (typeof opts === "number") {
    return opts;
  }
  if (opts.weights === undefined) {
    const { problems } = preflight({ stack: opts.stack });
    if (problems.length > 0) {
      for (const p of problems) {
        say(`refused: ${p}`);
      }
      return 2;
    }
  }
  try {
    return await run(opts);
  } catch (e) {
    say(`failed: ${(e as Error).message}`);
    return 1;
  }
}

main().then(
  (code) => process.exit(code),
  (e) => {
    process.stderr.write(`traffic: ${(e as Error).stack ?? e}\n`);
    process.exit(2);
  },
);
