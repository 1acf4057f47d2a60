// `npm run upgrade`'s command line: defaults, every bad flag refused with a message naming the
// flag, the value and the fix (all at once), and --help, which never acts: run as users run it,
// with stand-ins for pulumi and kubectl as the whole PATH, neither is called.
import * as assert from "node:assert/strict";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { parseOrExit, UsageError } from "../../tools/flags";
import { parseUpgradeArgs } from "../../tools/upgrade/args";
import { type StandIns, standIns } from "./standIns";

function refusal(argv: string[]): string[] {
  try {
    parseUpgradeArgs(argv);
  } catch (e) {
    assert.ok(e instanceof UsageError, String(e));
    return e.problems;
  }
  assert.fail(`accepted ${JSON.stringify(argv)}`);
}

describe("npm run upgrade: the command line", () => {
  it("WHEN only --stack and --to are given THEN it plans (no step), canary, timeout 300 s", () => {
    assert.deepEqual(parseUpgradeArgs(["--stack", "dev", "--to", "1.30.5"]), {
      stack: "dev",
      to: "1.30.5",
      inPlace: false,
      step: undefined,
      all: false,
      dryRun: false,
      revisionName: undefined,
      checkTimeoutSeconds: 300,
    });
  });

  it("WHEN every flag is given (both spellings) THEN each is read", () => {
    const o = parseUpgradeArgs([
      "--stack=acme/service-mesh/prod",
      "--to",
      "1.31.1",
      "--step=3",
      "--dry-run",
      "--revision-name",
      "blue",
      "--check-timeout=60",
    ]);
    assert.ok(o !== "help");
    assert.equal(o.stack, "acme/service-mesh/prod");
    assert.equal(o.step, 3);
    assert.equal(o.dryRun, true);
    assert.equal(o.revisionName, "blue");
    assert.equal(o.checkTimeoutSeconds, 60);
    const all = parseUpgradeArgs([
      "--stack",
      "dev",
      "--to",
      "1.30.5",
      "--all",
      "--in-place",
    ]);
    assert.ok(all !== "help" && all.all && all.inPlace);
  });

  it("WHEN --help is given, even beside bad flags THEN it asks for help only", () => {
    assert.equal(parseUpgradeArgs(["--help"]), "help");
    assert.equal(
      parseUpgradeArgs(["--stak", "x", "--step", "0", "--help"]),
      "help",
    );
  });

  it("WHEN flags are bad THEN every problem names the flag, the value and the fix", () => {
    const p = refusal([
      "--stak",
      "dev",
      "--step",
      "5",
      "--all",
      "--revision-name",
      "Default_1",
      "--check-timeout",
      "0",
      "--dry-run=yes",
    ]);
    assert.deepEqual(p, [
      'unknown flag --stak (given "dev"): did you mean --stack? use one of --stack, --to, --in-place, --step, --all, --dry-run, --revision-name, --check-timeout, --help',
      '--dry-run takes no value (got "yes"); write --dry-run alone',
      "--stack is required: name the stack to upgrade, e.g. --stack dev",
      "--to is required: name the Istio release to upgrade to, e.g. --to 1.30.5",
      '--step must be a whole number from 1 to 4 (got "5"); e.g. --step 1',
      "--step 5 and --all both given: give --step N for one step, or --all for every step not done yet",
      `--revision-name must be a DNS label other than "default", not all digits (pulumi config set --path would store a number): lowercase letters, digits and '-', at most 30 (got "Default_1"); e.g. --revision-name 1-30-5`,
      '--check-timeout must be a whole number from 1 to 86400 (got "0"); e.g. --check-timeout 300',
    ]);
    assert.match(
      refusal([
        "--stack",
        "dev",
        "--to",
        "1.30.5",
        "--revision-name",
        "default",
      ])[0],
      /other than "default"/,
    );
    assert.match(
      refusal([
        "--stack",
        "dev",
        "--to",
        "1.30.5",
        "--revision-name",
        "130",
      ])[0],
      /not all digits/,
    );
    assert.match(
      refusal([
        "--stack",
        "dev",
        "--to",
        "1.30.5",
        "--in-place",
        "--revision-name",
        "b",
      ])[0],
      /an in-place upgrade adds no revision; drop one of them/,
    );
    assert.match(
      refusal(["--stack", "a b", "--to", "1.30.5"])[0],
      /--stack must be a stack name/,
    );
  });
});

describe("npm run upgrade: help and bad flags run nothing", () => {
  let bin: StandIns;
  before(() => {
    bin = standIns({ pulumi: "exit 1", kubectl: "exit 1" });
  });
  after(() => bin.remove());
  const ROOT = path.join(__dirname, "..", "..");
  const SCRIPT = JSON.parse(
    fs.readFileSync(path.join(ROOT, "package.json"), "utf8"),
  ).scripts.upgrade as string;

  it("WHEN run with --help beside other flags THEN it prints the usage, exits 0 and never calls pulumi or kubectl", () => {
    const help = spawnSync(
      "/bin/sh",
      [
        "-c",
        `${SCRIPT} "$@"`,
        "upgrade",
        "--help",
        "--stack",
        "dev",
        "--to",
        "1.30.5",
        "--all",
      ],
      {
        cwd: ROOT,
        encoding: "utf8",
        env: { PATH: bin.bin, HOME: bin.bin },
        timeout: 20_000,
      },
    );
    assert.equal(help.status, 0, help.stderr);
    assert.match(
      help.stdout,
      /^npm run upgrade -- --stack <stack> --to <version>/,
    );
    assert.deepEqual(bin.calls("pulumi"), []);
    assert.deepEqual(bin.calls("kubectl"), []);
  });

  it("WHEN a flag is bad THEN parseOrExit says why on stderr and gives exit code 2", () => {
    const out = { text: "", write: (t: string) => ((out.text += t), true) };
    const code = parseOrExit(
      "upgrade",
      () =>
        parseUpgradeArgs(["--stack", "dev", "--to", "1.30.5", "--step", "x"]),
      "help",
      { stdout: out as never, stderr: out as never },
    );
    assert.equal(code, 2);
    assert.match(
      out.text,
      /^upgrade: refused:\n {2}- --step must be a whole number/,
    );
  });
});
