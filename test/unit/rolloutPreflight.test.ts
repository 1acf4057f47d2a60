// `npm run rollout` checks the pulumi CLI, its login and the stack's passphrase before it takes
// its lock or opens the stack: a local-backend user without PULUMI_CONFIG_PASSPHRASE gets one line
// naming it and the fix, not the Automation API's error. The real tool, stand-ins as the PATH.
import * as assert from "node:assert/strict";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { PULUMI_LOGGED_IN, runTool, standIns } from "./standIns";

describe("npm run rollout: prerequisites first", () => {
  it("WHEN the stack's secrets use a passphrase and none is set THEN one line says so and the fix, exit 2, before the lock or the stack", () => {
    const project = fs.mkdtempSync(path.join(os.tmpdir(), "rollout-pre-"));
    const bin = standIns({ pulumi: PULUMI_LOGGED_IN() });
    try {
      fs.writeFileSync(
        path.join(project, "Pulumi.yaml"),
        "name: service-mesh\n",
      );
      fs.writeFileSync(
        path.join(project, "Pulumi.dev.yaml"),
        "encryptionsalt: v1:abc\n",
      );
      const r = runTool(
        "tools/rollout/main.ts",
        ["--stack", "dev", "--to", "v2"],
        { cwd: project, env: { PATH: bin.bin, HOME: project, CI: "true" } },
      );
      assert.equal(r.status, 2, `${r.stdout}${r.stderr}`);
      assert.equal(
        r.stdout,
        "[rollout] refused: stack dev keeps its secrets with a passphrase (Pulumi.dev.yaml has an encryptionsalt), and PULUMI_CONFIG_PASSPHRASE is not set: the CLI runs non-interactively and cannot ask for it; export PULUMI_CONFIG_PASSPHRASE=<passphrase> (or PULUMI_CONFIG_PASSPHRASE_FILE=<file>)\n",
      );
      assert.deepEqual(bin.calls("pulumi"), ["whoami --json"]);
      assert.ok(
        !fs.existsSync(path.join(project, ".rollout")),
        "took its lock",
      );
    } finally {
      bin.remove();
      fs.rmSync(project, { recursive: true, force: true });
    }
  });
});
