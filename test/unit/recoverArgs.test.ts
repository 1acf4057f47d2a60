// `npm run recover`'s command line (tools/recover/args.ts, the shared grammar of tools/flags.ts):
// defaults, help in both spellings, and every bad flag refused with flag, value and fix.
import * as assert from "node:assert/strict";
import { UsageError } from "../../tools/flags";
import { parseRecoverArgs } from "../../tools/recover/args";
import { parseTrafficArgs } from "../../tools/traffic/args";

function refusal(argv: string[], env: NodeJS.ProcessEnv = {}): string[] {
  try {
    parseRecoverArgs(argv, env);
  } catch (e) {
    assert.ok(e instanceof UsageError, String(e));
    return e.problems;
  }
  assert.fail(`accepted ${JSON.stringify(argv)}`);
}

describe("npm run recover: the command line", () => {
  it("WHEN nothing is given THEN stack dev (or $STACK), asking first, no other host's lock", () => {
    const plain = { stack: "dev", yes: false, forceUnlockOtherHost: false };
    assert.deepEqual(parseRecoverArgs([], {}), plain);
    assert.deepEqual(parseRecoverArgs([], { STACK: "prod" }), {
      ...plain,
      stack: "prod",
    });
  });

  it("WHEN every flag is given THEN each is read", () => {
    assert.deepEqual(
      parseRecoverArgs(
        [
          "--stack=acme/service-mesh/prod",
          "--yes",
          "--force-unlock-other-host",
        ],
        { STACK: "dev" },
      ),
      {
        stack: "acme/service-mesh/prod",
        yes: true,
        forceUnlockOtherHost: true,
      },
    );
  });

  it("WHEN --help or -h is given, even beside bad flags THEN it asks for the help text", () => {
    for (const argv of [
      ["--help"],
      ["-h"],
      ["--stak", "prod", "-h"],
      ["--stack", "-h"],
    ]) {
      assert.equal(parseRecoverArgs(argv, {}), "help", argv.join(" "));
    }
  });

  const bad: Array<[string, string[], string]> = [
    [
      "a misspelt flag with its value",
      ["--stak", "prod"],
      `unknown flag --stak (given "prod"): did you mean --stack? use one of --stack, --yes, --force-unlock-other-host, --help`,
    ],
    [
      "--stack without its value",
      ["--stack"],
      "--stack needs a value, e.g. --stack <value>",
    ],
    [
      "a value given to --yes",
      ["--yes=no"],
      `--yes takes no value (got "no"); write --yes alone`,
    ],
    [
      "a short flag other than -h",
      ["-y"],
      `unexpected argument "-y": every option is a flag (--stack, --yes, --force-unlock-other-host, --help)`,
    ],
    [
      "a stack name with a space",
      ["--stack", "my stack"],
      `--stack must be a stack name such as dev or acme/service-mesh/prod (got "my stack"); see 'pulumi stack ls'`,
    ],
  ];
  for (const [what, argv, problem] of bad) {
    it(`WHEN given ${what} THEN it is refused, naming flag, value and fix`, () => {
      assert.deepEqual(refusal(argv), [problem]);
    });
  }

  it("WHEN $STACK is not a stack name THEN the message names $STACK, not a flag", () => {
    assert.deepEqual(refusal([], { STACK: "a b" }), [
      `$STACK must be a stack name such as dev or acme/service-mesh/prod (got "a b"); see 'pulumi stack ls'`,
    ]);
  });
});

describe("the shared flag grammar's typo hint", () => {
  it("WHEN a flag is one or two edits from a known one THEN the message suggests it; a far one gets none", () => {
    const problems = (argv: string[]) => {
      try {
        parseTrafficArgs(argv, {});
      } catch (e) {
        return (e as UsageError).problems;
      }
      return [];
    };
    assert.match(
      problems(["--request", "5"])[0],
      /^unknown flag --request \(given "5"\): did you mean --requests\? /,
    );
    assert.match(problems(["--x"])[0], /^unknown flag --x: use one of /);
  });
});
