// tools/preflight.js: what deploy, recover, rollout and traffic check before they touch anything,
// each missing piece one line with its fix (commands answered by an injected runner), and
// whether npm ci is needed (package-lock.json against node_modules' own record, in temp folders).
import * as assert from "node:assert/strict";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import {
  npmCiNeeded,
  preflight,
  type RunResult,
  type Runner,
} from "../../tools/preflight.js";

const ok = (stdout: string): RunResult => ({ status: 0, stdout, stderr: "" });
const fails = (stderr: string, status = 1): RunResult => ({
  status,
  stdout: "",
  stderr,
});
const notOnPath = (cmd: string): RunResult => ({
  status: null,
  stdout: "",
  stderr: "",
  error: { code: "ENOENT", message: `spawnSync ${cmd} ENOENT` },
});

/** A runner answering by "cmd args..."; anything else is a test failure. */
function runner(answers: Record<string, RunResult>): Runner {
  return (cmd, args) => {
    const key = [cmd, ...args].join(" ");
    const a = answers[key] ?? answers[cmd];
    assert.ok(a, `unexpected command: ${key}`);
    return a;
  };
}

const LOGGED_IN = ok('{"user":"me","url":"file://~"}');
const CONTEXT = ok("kind-mesh\n");

describe("the preflight of deploy, recover, rollout and traffic", () => {
  let cwd: string;
  beforeEach(() => {
    cwd = fs.mkdtempSync(path.join(os.tmpdir(), "preflight-"));
    fs.writeFileSync(path.join(cwd, "Pulumi.yaml"), "name: service-mesh\n");
  });
  afterEach(() => fs.rmSync(cwd, { recursive: true, force: true }));

  const check = (
    answers: Record<string, RunResult>,
    env: NodeJS.ProcessEnv = { PULUMI_CONFIG_PASSPHRASE: "x" },
    more: { kube?: boolean; mayInit?: boolean } = { kube: true },
  ) => preflight({ stack: "dev", cwd, env, run: runner(answers), ...more });

  it("WHEN everything is there THEN there is no problem, and the backend and context are known", () => {
    assert.deepEqual(
      check({ "pulumi whoami --json": LOGGED_IN, kubectl: CONTEXT }),
      {
        problems: [],
        backendUrl: "file://~",
        stackExists: undefined,
        kubeContext: "kind-mesh",
      },
    );
  });

  it("WHEN the pulumi CLI is not on PATH THEN one line names it and how to install it", () => {
    assert.deepEqual(
      check({ pulumi: notOnPath("pulumi"), kubectl: CONTEXT }).problems,
      [
        "the pulumi CLI is not on PATH: install it (curl -fsSL https://get.pulumi.com | sh, or https://www.pulumi.com/docs/install/), then log in (pulumi login --local keeps the state in ~/.pulumi)",
      ],
    );
  });

  it("WHEN the CLI is not logged in THEN one line says so, with the CLI's words and the login commands", () => {
    const whoami = fails(
      "error: PULUMI_ACCESS_TOKEN must be set for login during non-interactive CLI sessions\n",
      255,
    );
    assert.deepEqual(check({ pulumi: whoami, kubectl: CONTEXT }).problems, [
      "not logged in to a Pulumi backend (pulumi whoami: PULUMI_ACCESS_TOKEN must be set for login during non-interactive CLI sessions): run pulumi login --local (state in ~/.pulumi), or pulumi login for Pulumi Cloud",
    ]);
  });

  it("WHEN the stack's file has an encryptionsalt and no passphrase is set THEN one line names the variable and the fix", () => {
    fs.writeFileSync(
      path.join(cwd, "Pulumi.dev.yaml"),
      "encryptionsalt: v1:abc\nconfig: {}\n",
    );
    const answers = { "pulumi whoami --json": LOGGED_IN, kubectl: CONTEXT };
    assert.deepEqual(check(answers, {}).problems, [
      "stack dev keeps its secrets with a passphrase (Pulumi.dev.yaml has an encryptionsalt), and PULUMI_CONFIG_PASSPHRASE is not set: the CLI runs non-interactively and cannot ask for it; export PULUMI_CONFIG_PASSPHRASE=<passphrase> (or PULUMI_CONFIG_PASSPHRASE_FILE=<file>)",
    ]);
    // Either variable will do; an empty passphrase is a passphrase.
    assert.deepEqual(
      check(answers, { PULUMI_CONFIG_PASSPHRASE: "" }).problems,
      [],
    );
    fs.writeFileSync(path.join(cwd, "pass"), "secret\n");
    assert.deepEqual(
      check(answers, { PULUMI_CONFIG_PASSPHRASE_FILE: "pass" }).problems,
      [],
    );
    assert.deepEqual(
      check(answers, { PULUMI_CONFIG_PASSPHRASE_FILE: "gone.txt" }).problems,
      [
        "PULUMI_CONFIG_PASSPHRASE_FILE names no file (gone.txt): point it at the file holding the stack's passphrase, or export PULUMI_CONFIG_PASSPHRASE=<passphrase>",
      ],
    );
  });

  it("WHEN deploy would create the stack on a local backend without a passphrase THEN it says stack init needs one", () => {
    const answers = {
      "pulumi whoami --json": LOGGED_IN,
      "pulumi stack ls --json": ok("[]"),
      kubectl: CONTEXT,
    };
    const r = check(answers, {}, { kube: true, mayInit: true });
    assert.equal(r.stackExists, false);
    assert.deepEqual(r.problems, [
      "stack dev keeps its secrets with a passphrase (it does not exist yet, and pulumi stack init on file://~ asks for a passphrase), and PULUMI_CONFIG_PASSPHRASE is not set: the CLI runs non-interactively and cannot ask for it; export PULUMI_CONFIG_PASSPHRASE=<passphrase> (or PULUMI_CONFIG_PASSPHRASE_FILE=<file>)",
    ]);
    // On Pulumi Cloud a new stack's secrets need no passphrase.
    const cloud = {
      ...answers,
      "pulumi whoami --json": ok('{"url":"https://api.pulumi.com"}'),
    };
    assert.deepEqual(
      check(cloud, {}, { kube: true, mayInit: true }).problems,
      [],
    );
  });

  it("WHEN kubectl has no current context, or is missing THEN one line says so, with the fix", () => {
    const answers = { "pulumi whoami --json": LOGGED_IN };
    assert.deepEqual(
      check({
        ...answers,
        kubectl: fails("error: current-context is not set\n"),
      }).problems,
      [
        "no current kubectl context (kubectl: current-context is not set): the stack deploys to the current context; choose one with kubectl config use-context <name> (kubectl config get-contexts lists them), or create a cluster (e.g. kind create cluster)",
      ],
    );
    assert.deepEqual(
      check({ ...answers, kubectl: notOnPath("kubectl") }).problems,
      [
        "kubectl is not on PATH: install it (https://kubernetes.io/docs/tasks/tools/) and point it at your cluster",
      ],
    );
    // Tools that do not talk to the cluster do not ask kubectl.
    assert.deepEqual(check(answers, undefined, {}).problems, []);
  });

  it("WHEN several things are missing THEN every one is reported at once", () => {
    fs.writeFileSync(path.join(cwd, "Pulumi.dev.yaml"), "encryptionsalt: x\n");
    const r = check(
      { pulumi: notOnPath("pulumi"), kubectl: notOnPath("kubectl") },
      {},
    );
    assert.equal(r.problems.length, 3, r.problems.join("\n"));
  });
});

describe("whether npm ci is needed", () => {
  let root: string;
  const lock = {
    name: "x",
    lockfileVersion: 3,
    packages: {
      "": { name: "x" },
      "node_modules/a": {
        version: "1.0.0",
        resolved: "https://r/a-1.0.0.tgz",
        integrity: "sha512-a",
      },
      "node_modules/fsevents": {
        version: "2.3.3",
        resolved: "https://r/fsevents-2.3.3.tgz",
        integrity: "sha512-f",
        optional: true,
        os: ["darwin"],
      },
    },
  };
  const write = (file: string, data: unknown) => {
    fs.mkdirSync(path.dirname(path.join(root, file)), { recursive: true });
    fs.writeFileSync(path.join(root, file), JSON.stringify(data));
  };
  /** node_modules as `npm ci` leaves it for `lock` on Linux (no fsevents). */
  const installed = () => {
    const { "": _root, "node_modules/fsevents": _opt, ...rest } = lock.packages;
    write("node_modules/.package-lock.json", { ...lock, packages: rest });
    write("node_modules/a/package.json", { name: "a", version: "1.0.0" });
  };
  beforeEach(() => {
    root = fs.mkdtempSync(path.join(os.tmpdir(), "npm-ci-"));
    write("package-lock.json", lock);
  });
  afterEach(() => fs.rmSync(root, { recursive: true, force: true }));

  it("WHEN node_modules is as npm ci left it THEN no npm ci (an optional package of another platform may be absent)", () => {
    installed();
    assert.equal(npmCiNeeded(root), undefined);
  });

  it("WHEN there is no node_modules, or no record of its install THEN npm ci runs", () => {
    assert.equal(npmCiNeeded(root), "node_modules does not exist");
    fs.mkdirSync(path.join(root, "node_modules"));
    assert.equal(
      npmCiNeeded(root),
      "node_modules has no record of its install (node_modules/.package-lock.json)",
    );
  });

  it("WHEN package-lock.json moved a package to another version THEN npm ci runs, naming it", () => {
    installed();
    const newer = structuredClone(lock);
    newer.packages["node_modules/a"] = {
      version: "1.1.0",
      resolved: "https://r/a-1.1.0.tgz",
      integrity: "sha512-b",
    };
    write("package-lock.json", newer);
    assert.equal(
      npmCiNeeded(root),
      "node_modules/a is 1.1.0 in package-lock.json, 1.0.0 in node_modules",
    );
  });

  it("WHEN a package was deleted from node_modules, or one is extra THEN npm ci runs", () => {
    installed();
    fs.rmSync(path.join(root, "node_modules", "a"), { recursive: true });
    assert.equal(
      npmCiNeeded(root),
      "node_modules/a is missing from node_modules",
    );
    installed();
    const hidden = JSON.parse(
      fs.readFileSync(
        path.join(root, "node_modules", ".package-lock.json"),
        "utf8",
      ),
    );
    hidden.packages["node_modules/b"] = { version: "2.0.0" };
    write("node_modules/.package-lock.json", hidden);
    assert.equal(
      npmCiNeeded(root),
      "node_modules/b is installed but not in package-lock.json",
    );
  });
});
