// `npm run deploy` as npm runs it (package.json's script through sh, in the project folder), with
// stand-ins for pulumi, kubectl and npm as the whole PATH: it checks what it needs before it
// installs anything, shows why a stack select failed, and passes its arguments to pulumi up.
import * as assert from "node:assert/strict";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { npmCiNeeded } from "../../tools/preflight.js";
import {
  KUBECTL_WITH_CONTEXT,
  PULUMI_LOGGED_IN,
  type StandIns,
  standIns,
} from "./standIns";

const ROOT = path.join(__dirname, "..", "..");
const SCRIPT = JSON.parse(
  fs.readFileSync(path.join(ROOT, "package.json"), "utf8"),
).scripts.deploy as string;

describe("npm run deploy", () => {
  let bin: StandIns | undefined;
  afterEach(() => bin?.remove());

  /** Runs the deploy script as `npm run deploy -- <args>` would, with only the stand-ins on PATH. */
  const deploy = (
    scripts: Record<string, string>,
    env: NodeJS.ProcessEnv = {},
    args: string[] = [],
  ) => {
    bin = standIns(scripts);
    const started = Date.now();
    const r = spawnSync(
      "/bin/sh",
      ["-c", `${SCRIPT} "$@"`, "deploy", ...args],
      {
        cwd: ROOT,
        encoding: "utf8",
        env: { PATH: bin.bin, HOME: bin.bin, STACK: "dev", ...env },
        timeout: 20_000,
      },
    );
    return { ...r, seconds: (Date.now() - started) / 1000 };
  };

  it("WHEN the pulumi CLI is not on PATH THEN it stops at once, naming the CLI and its install, before npm ci", () => {
    const r = deploy({ npm: "", kubectl: KUBECTL_WITH_CONTEXT });
    assert.equal(r.status, 2, `${r.stdout}${r.stderr}`);
    assert.match(
      r.stdout,
      /^\[deploy\] missing: the pulumi CLI is not on PATH: install it \(curl -fsSL https:\/\/get\.pulumi\.com \| sh/m,
    );
    assert.deepEqual(bin!.calls("npm"), [], "npm ran before the check");
    assert.ok(r.seconds < 5, `took ${r.seconds} s`);
  });

  it("WHEN select fails for another reason than a missing stack THEN its error is shown and nothing is created or deployed", () => {
    const r = deploy(
      {
        npm: "",
        kubectl: KUBECTL_WITH_CONTEXT,
        pulumi: `${PULUMI_LOGGED_IN(["dev"])}
case "$1 $2" in
  "stack select") echo "error: could not read stack dev: open /s/.pulumi/stacks/service-mesh/dev.json: permission denied" >&2; exit 255 ;;
esac`,
      },
      { PULUMI_CONFIG_PASSPHRASE: "x" },
    );
    assert.equal(r.status, 255, `${r.stdout}${r.stderr}`);
    assert.match(
      r.stdout,
      /pulumi stack select dev failed:\nerror: could not read stack dev: open \/s\/\.pulumi\/stacks\/service-mesh\/dev\.json: permission denied/,
    );
    const pulumi = bin!.calls("pulumi");
    assert.ok(
      !pulumi.some((c) => /^(up|stack init)/.test(c)),
      pulumi.join("\n"),
    );
  });

  it("WHEN all is there and the stack is new THEN it builds, creates the stack and runs up with the arguments given", () => {
    const r = deploy(
      {
        npm: "",
        kubectl: KUBECTL_WITH_CONTEXT,
        pulumi: PULUMI_LOGGED_IN([]),
      },
      { PULUMI_CONFIG_PASSPHRASE: "x", STACK: "prod" },
      ["--yes", "--skip-preview"],
    );
    assert.equal(r.status, 0, `${r.stdout}${r.stderr}`);
    assert.deepEqual(
      bin!.calls("npm"),
      npmCiNeeded(ROOT) ? ["ci", "run build"] : ["run build"],
    );
    assert.deepEqual(bin!.calls("pulumi").slice(-2), [
      "stack init prod",
      "up --yes --skip-preview",
    ]);
  });
});
