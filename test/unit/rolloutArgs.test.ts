// The command lines of `npm run rollout` and `npm run traffic`: defaults, and every bad flag
// refused with a message naming the flag, the value and the fix, all problems at once.
import * as assert from "assert";
import { UsageError } from "../../tools/flags";
import { parseRolloutArgs, ROLLOUT_DEFAULTS } from "../../tools/rollout/args";
import { parseTrafficArgs } from "../../tools/traffic/args";

const base = ["--stack", "dev", "--to", "v2"];

function refusal(
  argv: string[],
  parse: (a: string[]) => unknown = (a) => parseRolloutArgs(a, "/work"),
): string[] {
  try {
    parse(argv);
  } catch (e) {
    assert.ok(e instanceof UsageError, String(e));
    return e.problems;
  }
  assert.fail(`accepted ${JSON.stringify(argv)}`);
}

describe("npm run rollout: the command line", () => {
  it("WHEN only --stack and --to are given THEN every default applies", () => {
    assert.deepStrictEqual(parseRolloutArgs(base, "/work"), {
      stack: "dev",
      to: "v2",
      service: undefined,
      steps: ROLLOUT_DEFAULTS.steps,
      intervalMs: 60_000,
      prometheus: "http://127.0.0.1:9090",
      thresholds: { maxErrorRatePercent: 1, maxP99Ms: 500, minRequests: 20 },
      dryRun: false,
      report: undefined,
    });
  });

  it("WHEN every flag is given (both spellings) THEN each is read", () => {
    const o = parseRolloutArgs(
      [
        "--stack=acme/service-mesh/prod",
        "--to",
        "v3-beta",
        "--service=orders-api",
        "--steps",
        "5,50,100",
        "--interval=90s",
        "--prometheus",
        "http://127.0.0.1:19090/",
        "--max-error-rate",
        "0.5",
        "--max-p99-ms",
        "250",
        "--min-requests",
        "100",
        "--dry-run",
        "--report",
        "out/r.json",
      ],
      "/work",
    );
    assert.ok(o !== "help");
    assert.deepStrictEqual(o, {
      stack: "acme/service-mesh/prod",
      to: "v3-beta",
      service: "orders-api",
      steps: [5, 50, 100],
      intervalMs: 90_000,
      prometheus: "http://127.0.0.1:19090",
      thresholds: { maxErrorRatePercent: 0.5, maxP99Ms: 250, minRequests: 100 },
      dryRun: true,
      report: "/work/out/r.json",
    });
  });

  it("WHEN --help is given THEN it asks for the help text", () => {
    assert.strictEqual(parseRolloutArgs(["--help"], "/work"), "help");
  });

  // Each bad command line, and the exact problem it must produce.
  const bad: Array<[string, string[], string]> = [
    [
      "no --stack",
      ["--to", "v2"],
      "--stack is required: name the stack to roll out, e.g. --stack dev",
    ],
    [
      "no --to",
      ["--stack", "dev"],
      "--to is required: name the version to promote, e.g. --to v2",
    ],
    [
      "a stack name with a space",
      ["--stack", "my stack", "--to", "v2"],
      `--stack must be a stack name such as dev or acme/service-mesh/prod (got "my stack"); see 'pulumi stack ls'`,
    ],
    [
      "an upper-case version",
      ["--stack", "dev", "--to", "V2"],
      `--to must be a version name of canary.weights: lowercase letters, digits and '-', at most 40 (got "V2"); e.g. --to v2`,
    ],
    [
      "a service name with a capital",
      [...base, "--service", "Orders"],
      `--service must name a service of the stack config's services: a lowercase letter, then letters, digits and '-', at most 40 (got "Orders"); e.g. --service orders`,
    ],
    [
      "a service name starting with a digit",
      [...base, "--service", "2orders"],
      `--service must name a service of the stack config's services: a lowercase letter, then letters, digits and '-', at most 40 (got "2orders"); e.g. --service orders`,
    ],
    [
      "a step that is not a number",
      [...base, "--steps", "10,half,100"],
      `--steps must list whole percentages from 1 to 100, separated by commas (got "10,half,100": "half" is not one); e.g. --steps 10,25,50,100`,
    ],
    [
      "a step of 0",
      [...base, "--steps", "0,100"],
      `--steps must list whole percentages from 1 to 100, separated by commas (got "0,100": "0" is not one); e.g. --steps 10,25,50,100`,
    ],
    [
      "a step above 100",
      [...base, "--steps", "50,150"],
      `--steps must list whole percentages from 1 to 100, separated by commas (got "50,150": "150" is not one); e.g. --steps 10,25,50,100`,
    ],
    [
      "steps that go down",
      [...base, "--steps", "10,50,25,100"],
      `--steps must increase (got "10,50,25,100": 25 follows 50); e.g. --steps 10,25,50,100`,
    ],
    [
      "a repeated step",
      [...base, "--steps", "50,50,100"],
      `--steps must increase (got "50,50,100": 50 follows 50); e.g. --steps 10,25,50,100`,
    ],
    [
      "steps that stop short of 100",
      [...base, "--steps", "10,50"],
      `--steps must end at 100, the full promotion (got "10,50"); add it: --steps 10,50,100`,
    ],
    [
      "an interval without a unit",
      [...base, "--interval", "60"],
      `--interval must be a duration from 1s to 24h such as 30s, 2m or 1h (got "60"); e.g. --interval 1m`,
    ],
    [
      "an interval below a second",
      [...base, "--interval", "500ms"],
      `--interval must be a duration from 1s to 24h such as 30s, 2m or 1h (got "500ms"); e.g. --interval 1m`,
    ],
    [
      "a Prometheus URL without a scheme",
      [...base, "--prometheus", "localhost:9090"],
      `--prometheus must be an http:// or https:// URL (got "localhost:9090"); e.g. --prometheus http://127.0.0.1:9090`,
    ],
    [
      "a Prometheus URL with credentials",
      [...base, "--prometheus", "http://admin:pw@127.0.0.1:9090"],
      "--prometheus must not carry credentials (got a URL with a user name or password); give the plain URL, e.g. --prometheus http://127.0.0.1:9090",
    ],
    [
      "an error rate above 100",
      [...base, "--max-error-rate", "150"],
      `--max-error-rate must be a number from 0 up to 100 (got "150"); e.g. --max-error-rate 1`,
    ],
    [
      "a negative error rate",
      [...base, "--max-error-rate", "-1"],
      `--max-error-rate must be a number from 0 up to 100 (got "-1"); e.g. --max-error-rate 1`,
    ],
    [
      "a p99 limit of 0",
      [...base, "--max-p99-ms", "0"],
      `--max-p99-ms must be a number greater than 0 up to 3600000 (got "0"); e.g. --max-p99-ms 500`,
    ],
    [
      "a fractional request minimum",
      [...base, "--min-requests", "2.5"],
      `--min-requests must be a whole number from 1 to 1000000000 (got "2.5"); e.g. --min-requests 20`,
    ],
    [
      "a report path that is a folder",
      [...base, "--report", "out/"],
      `--report must name a file (got "out/"); e.g. --report rollout-report.json`,
    ],
    [
      "an unknown flag",
      [...base, "--canary", "v2"],
      'unknown flag --canary (given "v2"): use one of --stack, --to, --service, --steps, --interval, --prometheus, --max-error-rate, --max-p99-ms, --min-requests, --dry-run, --report, --help',
    ],
    [
      "a positional word",
      [...base, "v2"],
      `unexpected argument "v2": every option is a flag (--stack, --to, --service, --steps, --interval, --prometheus, --max-error-rate, --max-p99-ms, --min-requests, --dry-run, --report, --help)`,
    ],
    [
      "a flag given twice",
      [...base, "--to", "v3"],
      `--to is given twice ("v2" and "v3"); give it once`,
    ],
    [
      "a flag without its value",
      [...base, "--interval"],
      "--interval needs a value, e.g. --interval <value>",
    ],
    [
      "a value given to a boolean flag",
      [...base, "--dry-run=yes"],
      `--dry-run takes no value (got "yes"); write --dry-run alone`,
    ],
  ];
  for (const [what, argv, problem] of bad) {
    it(`WHEN given ${what} THEN it is refused, naming flag, value and fix`, () => {
      assert.deepStrictEqual(refusal(argv), [problem]);
    });
  }

  it("WHEN several flags are bad THEN every problem is reported at once", () => {
    const problems = refusal([
      "--steps",
      "50,10",
      "--interval",
      "soon",
      "--min-requests",
      "0",
    ]);
    assert.strictEqual(problems.length, 5, problems.join("\n"));
  });
});

describe("npm run traffic: the command line", () => {
  const parse = (a: string[]) => parseTrafficArgs(a, {});

  it("WHEN nothing is given THEN it probes the port-forward 200 times against stack dev", () => {
    assert.deepStrictEqual(parse([]), {
      requests: 200,
      url: "http://localhost:8080/",
      stack: "dev",
      service: undefined,
      weights: undefined,
      concurrency: 8,
    });
    assert.strictEqual(
      (parseTrafficArgs([], { STACK: "prod" }) as { stack: string }).stack,
      "prod",
    );
  });

  it("WHEN --weights is given THEN the stack is not asked", () => {
    const o = parse([
      "--weights",
      "v1=80,v2=20",
      "--requests",
      "50",
      "--url",
      "http://127.0.0.1:1234/x",
    ]);
    assert.ok(o !== "help");
    assert.deepStrictEqual(o.weights, { v1: 80, v2: 20 });
    assert.strictEqual(o.url, "http://127.0.0.1:1234/x");
  });

  it("WHEN --service is given without --url THEN the URL is left to the stack's ingress path", () => {
    const o = parse(["--service", "orders"]);
    assert.ok(o !== "help");
    assert.strictEqual(o.service, "orders");
    assert.strictEqual(o.url, undefined);
    const given = parse(["--service=orders", "--url", "http://127.0.0.1:9/o"]);
    assert.ok(given !== "help");
    assert.strictEqual(given.url, "http://127.0.0.1:9/o");
  });

  const bad: Array<[string, string[], string]> = [
    [
      "a service name with a dot",
      ["--service", "orders.shop"],
      `--service must name a service of the stack config's services: a lowercase letter, then letters, digits and '-', at most 40 (got "orders.shop"); e.g. --service orders`,
    ],
    [
      "zero requests",
      ["--requests", "0"],
      `--requests must be a whole number from 1 to 100000 (got "0"); e.g. --requests 200`,
    ],
    [
      "weights not summing to 100",
      ["--weights", "v1=80,v2=30"],
      `--weights must sum to 100 (got "v1=80,v2=30", which sums to 110); e.g. --weights v1=80,v2=20`,
    ],
    [
      "a weight without a version",
      ["--weights", "80,20"],
      `--weights must list version=percent pairs, each version once, separated by commas (got "80,20": "80" is not one); e.g. --weights v1=80,v2=20`,
    ],
    [
      "a URL of another scheme",
      ["--url", "ftp://127.0.0.1/"],
      `--url must be an http:// or https:// URL (got "ftp://127.0.0.1/"); e.g. --url http://localhost:8080/`,
    ],
    [
      "too many in flight",
      ["--concurrency", "1000"],
      `--concurrency must be a whole number from 1 to 64 (got "1000"); e.g. --concurrency 8`,
    ],
  ];
  for (const [what, argv, problem] of bad) {
    it(`WHEN given ${what} THEN it is refused, naming flag, value and fix`, () => {
      assert.deepStrictEqual(refusal(argv, parse), [problem]);
    });
  }
});
