// `npm run traffic` as users run it, with stand-ins as the whole PATH: its help says what it does,
// its defaults and exit codes; reading the stack's weights first checks the pulumi CLI, the login
// and the passphrase, so a missing one is named instead of "deploy it first"; --service reads the
// stack output services and counts a local router's answers by their x-mesh-version header.
import * as assert from "node:assert/strict";
import { execFile } from "child_process";
import * as fs from "fs";
import * as http from "http";
import type { AddressInfo } from "net";
import * as os from "os";
import * as path from "path";
import { PULUMI_LOGGED_IN, runTool, type StandIns, standIns } from "./standIns";

/** A logged-in pulumi stand-in whose `stack output services --json` prints `services`. */
const PULUMI_WITH_SERVICES = (services: unknown) => `${PULUMI_LOGGED_IN()}
case "$1 $2 $3" in
  "stack output services") echo '${JSON.stringify(services)}' ;;
esac`;

const ORDERS = {
  namespace: "shop",
  protocol: "http",
  weights: { v1: 50, v2: 50 },
  routeOnly: false,
  ingressPath: null,
  metrics: {},
};

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
      /--service <name> +a service declared in the stack config's services: its weights are\n +the stack output services.<name>.weights/,
      /by the response\nheader x-mesh-version when an answer has it/,
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

  it("WHEN --service names a service without an ingress path and no --url THEN it is refused (exit 2) before any request, saying how to add one", () => {
    const r = traffic(
      { pulumi: PULUMI_WITH_SERVICES({ orders: ORDERS }) },
      "--service",
      "orders",
    );
    assert.equal(r.status, 2, `${r.stdout}${r.stderr}`);
    assert.match(
      r.stdout,
      /^\[traffic\] refused: --service orders: orders has no ingress path .*'pulumi config set --path services.orders.ingress.path \/orders' and 'pulumi up', or give --url$/m,
    );
    assert.ok(
      bin!
        .calls("pulumi")
        .includes("stack output services --json --stack dev --non-interactive"),
    );
  });

  it("WHEN --service orders probes a router that names versions by header THEN it compares with services.orders.weights and passes", async () => {
    const server = http.createServer((_req, res) => {
      res.writeHead(200, { "x-mesh-version": "v1" }).end("{}");
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/orders`;
    bin = standIns({
      pulumi: PULUMI_WITH_SERVICES({
        orders: { ...ORDERS, weights: { v1: 100, v2: 0 } },
      }),
    });
    // execFile, not runTool's spawnSync: this process must keep serving while the tool runs.
    const out = await new Promise<{ code: number; stdout: string }>((resolve) =>
      execFile(
        process.execPath,
        [
          "--require",
          path.join(__dirname, "..", "..", "tools/register.js"),
          path.join(__dirname, "..", "..", "tools/traffic/main.ts"),
          "--service",
          "orders",
          "--url",
          url,
          "--requests",
          "20",
        ],
        { cwd: project, env: { PATH: bin!.bin, HOME: project, CI: "true" } },
        (err, stdout) =>
          resolve({
            code: err ? ((err as { code?: number }).code ?? 1) : 0,
            stdout,
          }),
      ),
    ).finally(() => server.close());
    assert.equal(out.code, 0, out.stdout);
    assert.match(
      out.stdout,
      /configured: v1=100 v2=0 \(stack dev, services.orders.weights\)/,
    );
    assert.match(out.stdout, /^\[traffic\] PASS: /m);
  });
});
