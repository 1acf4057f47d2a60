// `npm run recover` as users run it (package.json's script through sh), with stand-ins for pulumi
// and kubectl as the whole PATH, each logging its calls: asking for help or giving a bad flag
// runs nothing, and exits 0 or 2.
import * as assert from "node:assert/strict";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { type StandIns, standIns } from "./standIns";

const ROOT = path.join(__dirname, "..", "..");
const SCRIPT = JSON.parse(
  fs.readFileSync(path.join(ROOT, "package.json"), "utf8"),
).scripts.recover as string;

describe("npm run recover: help and bad flags run nothing", () => {
  let bin: StandIns;
  before(() => {
    bin = standIns({ pulumi: "", kubectl: "" });
  });
  after(() => bin.remove());

  const recover = (...args: string[]) =>
    spawnSync("/bin/sh", ["-c", `${SCRIPT} "$@"`, "recover", ...args], {
      cwd: ROOT,
      encoding: "utf8",
      env: { PATH: bin.bin, HOME: bin.bin },
      timeout: 20_000,
    });

  const cases: Array<[string[], number, RegExp]> = [
    [["--help"], 0, /^usage: npm run recover -- \[--stack <stack>\]/],
    [["-h"], 0, /^usage: npm run recover -- \[--stack <stack>\]/],
    [
      ["--stak", "prod"],
      2,
      /unknown flag --stak \(given "prod"\): did you mean --stack\?/,
    ],
    [["--stack"], 2, /--stack needs a value, e.g. --stack <value>/],
  ];
  for (const [args, code, said] of cases) {
    it(`WHEN run with ${args.join(" ")} THEN it exits ${code} and never calls pulumi or kubectl`, () => {
      const r = recover(...args);
      assert.equal(r.status, code, `${r.stdout}${r.stderr}`);
      assert.match(code === 0 ? r.stdout : r.stderr, said);
      assert.deepEqual(bin.calls("pulumi"), []);
      assert.deepEqual(bin.calls("kubectl"), []);
    });
  }
});
