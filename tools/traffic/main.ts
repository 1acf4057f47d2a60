// `npm run traffic -- [--requests N] [--url ...] [--service <name>]`: sends requests through the
// stack's ingress (the port-forward the stack outputs as portForwardCommand, run it first), counts
// the answers per version (the x-mesh-version header of a declared service's routes, else the demo
// backend's "backend v1", ...), and prints the observed split as a bar chart beside the configured
// weights (the stack's canaryWeights output, services.<name>.weights with --service, or
// --weights), with a 3σ tolerance verdict. Exit 0 when the split is within tolerance and every
// request was answered, 1 otherwise, 2 refused before any request: bad flags, (reading the stack)
// the pulumi CLI, its login or the passphrase missing (tools/preflight.js), each named with its
// fix, or a --service the stack does not have or cannot be reached without --url (service.ts).
import { execFileSync } from "child_process";
import { parseOrExit } from "../flags";
import { preflight } from "../preflight.js";
import { parseTrafficArgs, TRAFFIC_HELP, type TrafficOptions } from "./args";
import { probe } from "./probe";
import { serviceProbe, TrafficRefusal } from "./service";
import { judgeSplit, renderSplit, verdictLine } from "./split";

const say = (line: string) => process.stdout.write(`[traffic] ${line}\n`);

/** One of the stack's outputs, parsed (`pulumi stack output <name> --json`). */
function stackOutput(stack: string, name: string, fix: string): unknown {
  let out: string | undefined;
  let failure: { stderr?: string; message: string } | undefined;
  try {
    out = execFileSync(
      "pulumi",
      [
        "stack",
        "output",
        name,
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
      `could not read stack ${stack}'s ${name} output (${(failure?.stderr || failure?.message || "").trim()}); ` +
        `deploy it first, name it with --stack, or ${fix}`,
    );
  }
  return JSON.parse(out) as unknown;
}

/** Where to send the requests and the weights to compare with: flags first, then the stack. */
function target(opts: TrafficOptions): {
  url: string;
  weights: Record<string, number>;
  source: string;
} {
  if (opts.service === undefined) {
    return {
      url: opts.url!,
      weights:
        opts.weights ??
        (stackOutput(
          opts.stack,
          "canaryWeights",
          "give --weights v1=80,v2=20",
        ) as Record<string, number>),
      source: opts.weights ? "--weights" : `stack ${opts.stack}`,
    };
  }
  if (opts.weights !== undefined && opts.url !== undefined) {
    return { url: opts.url, weights: opts.weights, source: "--weights" };
  }
  const s = serviceProbe(
    stackOutput(opts.stack, "services", "give --weights and --url"),
    opts.service,
    opts.stack,
    opts.url,
  );
  return {
    url: s.url,
    weights: opts.weights ?? s.weights,
    source: opts.weights
      ? "--weights"
      : `stack ${opts.stack}, services.${opts.service}.weights`,
  };
}

async function run(opts: TrafficOptions): Promise<number> {
  const { url, weights, source } = target(opts);
  say(
    `${opts.requests} requests to ${url} (${opts.concurrency} in flight); configured: ` +
      `${Object.entries(weights)
        .map(([v, w]) => `${v}=${w}`)
        .join(" ")} (${source})`,
  );
  const result = await probe({ ...opts, url });
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
    if (url.includes("localhost:8080") || url.includes("127.0.0.1:8080")) {
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
  if (opts.weights === undefined || opts.url === undefined) {
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
    if (e instanceof TrafficRefusal) {
      say(`refused: ${e.message}`);
      return 2;
    }
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
