// `npm run traffic` as users run it, with stand-ins as the whole PATH: its help says what it does,
// its defaults and exit codes; reading the stack's weights first checks the pulumi CLI, the login
// and the passphrase, so a missing one is named instead of "deploy it first".
import * as assert from "node:assert/strict";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { PULUMI_LOGGED_IN, runTool, type StandIns, standIns } from "./standIns";

describe("npm run traffic: help and prerequisites", () => {
  let project: string;
  let bin: StandIns | undefined;
  beforeEach(() => {
    project = fs.mkdtempSync(path.join(os.tmpdir(), "traffic-"));
    fs.writeFileSync(path.join(project, "Pulumi.yaml"), "name: service-mesh\n");
  });
  afterEach(() => {
    bin?.remove();
    fs.rmSync(project, { recursive: true, force: true });
  });

  const traffic = (scripts: Record<string, string>, ...args: string[]) => {
    bin = standIns(scripts);
    return runTool("tools/traffic/main.ts", args, {
      cwd: project,
      env: { PATH: bin.bin, HOME: project },
    });
  };

  it("WHEN --help is given THEN it says what it does, each flag's default and the exit codes, and runs nothing", () => {
    const r = traffic({ pulumi: "" }, "--help");
    assert.equal(r.status, 0, r.stderr);
    for (const said of [
      /^usage: npm run traffic -- /,
      /counts the answers per version/,
      /--requests N +how many requests \(default 200;/,
      /--url <url> +where to send them \(default http:\/\/localhost:8080\/,/,
      /--stack <stack> +.*\(default: \$STACK, else dev\)/,
      /--concurrency N +requests in flight \(default 8;/,
      /PULUMI_CONFIG_PASSPHRASE/,
      /Exit codes: 0 the split is within tolerance[^]*, 1 a version out of\ntolerance[^]*, 2 refused before any\nrequest/,
    ]) {
      assert.match(r.stdout, said);
    }
    assert.deepEqual(bin!.calls("pulumi"), []);
  });

  it("WHEN the pulumi CLI is not on PATH THEN it names the CLI and its install (not 'deploy it first'), exit 2", () => {
    const r = traffic({});
    assert.equal(r.status, 2, `${r.stdout}${r.stderr}`);
    assert.match(
      r.stdout,
      /^\[traffic\] refused: the pulumi CLI is not on PATH: install it/m,
    );
    assert.doesNotMatch(r.stdout, /deploy it first/);
  });

  it("WHEN the stack's secrets use a passphrase and none is set THEN one line says so and the fix, exit 2, before reading the stack", () => {
    fs.writeFileSync(
      path.join(project, "Pulumi.dev.yaml"),
      "encryptionsalt: v1:abc\n",
    );
    const r = traffic({ pulumi: PULUMI_LOGGED_IN() });
    assert.equal(r.status, 2, `${r.stdout}${r.stderr}`);
    assert.equal(
      r.stdout,
      "[traffic] refused: stack dev keeps its secrets with a passphrase (Pulumi.dev.yaml has an encryptionsalt), and PULUMI_CONFIG_PASSPHRASE is not set: the CLI runs non-interactively and cannot ask for it; export PULUMI_CONFIG_PASSPHRASE=<passphrase> (or PULUMI_CONFIG_PASSPHRASE_FILE=<file>)\n",
    );
    assert.deepEqual(bin!.calls("pulumi"), ["whoami --json"]);
  });
});
