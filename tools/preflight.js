// What `npm run deploy`, `recover`, `rollout` and `traffic` need before they touch anything: the
// pulumi CLI on PATH, a login (`pulumi whoami`), the stack's passphrase when its secrets use one,
// and a current kubectl context (the stack's Kubernetes provider uses it). Each missing piece is
// one line naming it and the fix, all of them at once, found in about a second, instead of a
// failure deep inside a run (`sh: pulumi: not found` after `npm ci` and a build; "deploy it first"
// when the CLI is missing; the Automation API's passphrase error, which it cannot prompt for).
//
// Also whether `npm ci` is needed: node_modules matches package-lock.json when npm's own record of
// what it installed (node_modules/.package-lock.json) lists the same packages at the same
// versions and integrity, and each of them is on disk.
//
// Plain JavaScript without dependencies: `npm run deploy` runs it before node_modules exists.
// Commands run through an injectable runner (spawnSync's result), so tests need no CLI.
"use strict";
const childProcess = require("child_process");
const fs = require("fs");
const path = require("path");

const INSTALL_PULUMI =
  "install it (curl -fsSL https://get.pulumi.com | sh, or https://www.pulumi.com/docs/install/), then log in (pulumi login --local keeps the state in ~/.pulumi)";
const INSTALL_KUBECTL =
  "install it (https://kubernetes.io/docs/tasks/tools/) and point it at your cluster";
const PASSPHRASE_FIX =
  "export PULUMI_CONFIG_PASSPHRASE=<passphrase> (or PULUMI_CONFIG_PASSPHRASE_FILE=<file>)";

/** Runs a command to its end, output captured; never throws (spawnSync's result). */
function runCommand(cmd, args, opts = {}) {
  const r = childProcess.spawnSync(cmd, args, {
    encoding: "utf8",
    stdio: ["ignore", "pipe", "pipe"],
    timeout: 60_000,
    cwd: opts.cwd,
    // No update check: it is a network call, and its notice is noise here.
    env: { ...(opts.env || process.env), PULUMI_SKIP_UPDATE_CHECK: "true" },
  });
  return {
    status: r.status,
    stdout: r.stdout || "",
    stderr: r.stderr || "",
    error: r.error,
  };
}

/** The first non-empty line of a command's error output, without pulumi's "error: " prefix. */
function firstLine(r) {
  const text = `${r.stderr}\n${r.stdout}\n${r.error ? r.error.message : ""}`;
  const line = text.split("\n").find((l) => l.trim()) || `exit ${r.status}`;
  return line.trim().replace(/^error: /, "");
}

const notOnPath = (r) => Boolean(r.error && r.error.code === "ENOENT");

/** The last part of a stack name: `org/project/dev` keeps its config in Pulumi.dev.yaml. */
const stackLeaf = (stack) => stack.split("/").pop();

/** Self-managed (DIY) backends keep secrets with a passphrase unless told otherwise. */
const isDiyBackend = (url) => Boolean(url) && !/^https?:\/\//.test(url);

/**
 * The login: `pulumi whoami --json`. Returns the backend's URL, or the problem (CLI missing, not
 * logged in).
 */
function checkLogin(run) {
  const r = run("pulumi", ["whoami", "--json"]);
  if (notOnPath(r)) {
    return { problem: `the pulumi CLI is not on PATH: ${INSTALL_PULUMI}` };
  }
  if (r.status !== 0) {
    return {
      problem: `not logged in to a Pulumi backend (pulumi whoami: ${firstLine(r)}): run pulumi login --local (state in ~/.pulumi), or pulumi login for Pulumi Cloud`,
    };
  }
  try {
    return { backendUrl: String(JSON.parse(r.stdout).url || "") };
  } catch {
    return { backendUrl: "" };
  }
}

/** Whether the stack exists (`pulumi stack ls --json`, in the project); undefined if unknown. */
function stackExists(run, stack) {
  const r = run("pulumi", ["stack", "ls", "--json"]);
  if (r.status !== 0) {
    return undefined;
  }
  try {
    const names = JSON.parse(r.stdout).map((s) => String(s.name));
    return names.some((n) => n === stack || stackLeaf(n) === stackLeaf(stack));
  } catch {
    return undefined;
  }
}

/**
 * The passphrase, when the stack's secrets need one and neither PULUMI_CONFIG_PASSPHRASE nor
 * PULUMI_CONFIG_PASSPHRASE_FILE is set: the stack's Pulumi.<stack>.yaml has an encryptionsalt,
 * or the stack does not exist yet on a self-managed backend (`stack init` would ask).
 */
function checkPassphrase({ env, cwd, stack, backendUrl, exists }) {
  if (env.PULUMI_CONFIG_PASSPHRASE !== undefined) {
    return undefined;
  }
  const file = env.PULUMI_CONFIG_PASSPHRASE_FILE;
  if (file) {
    return fs.existsSync(path.resolve(cwd, file))
      ? undefined
      : `PULUMI_CONFIG_PASSPHRASE_FILE names no file (${file}): point it at the file holding the stack's passphrase, or export PULUMI_CONFIG_PASSPHRASE=<passphrase>`;
  }
  const configName = `Pulumi.${stackLeaf(stack)}.yaml`;
  let config;
  try {
    config = fs.readFileSync(path.join(configDir(cwd), configName), "utf8");
  } catch {
    config = "";
  }
  const why = /^encryptionsalt:/m.test(config)
    ? `${configName} has an encryptionsalt`
    : exists === false &&
        isDiyBackend(backendUrl) &&
        !/^secretsprovider:/m.test(config)
      ? `it does not exist yet, and pulumi stack init on ${backendUrl} asks for a passphrase`
      : undefined;
  return why
    ? `stack ${stack} keeps its secrets with a passphrase (${why}), and PULUMI_CONFIG_PASSPHRASE is not set: the CLI runs non-interactively and cannot ask for it; ${PASSPHRASE_FIX}`
    : undefined;
}

/** Where the stack config files are: Pulumi.yaml's stackConfigDir, else the project folder. */
function configDir(cwd) {
  try {
    const project = fs.readFileSync(path.join(cwd, "Pulumi.yaml"), "utf8");
    const dir = /^stackConfigDir:\s*["']?([^"'\s]+)/m.exec(project);
    return dir ? path.resolve(cwd, dir[1]) : cwd;
  } catch {
    return cwd;
  }
}

/** The current kubectl context, or the problem (kubectl missing, no context). */
function checkKubeContext(run) {
  const r = run("kubectl", ["config", "current-context"]);
  if (notOnPath(r)) {
    return { problem: `kubectl is not on PATH: ${INSTALL_KUBECTL}` };
  }
  const context = r.stdout.trim();
  if (r.status !== 0 || !context) {
    return {
      problem: `no current kubectl context (kubectl: ${firstLine(r)}): the stack deploys to the current context; choose one with kubectl config use-context <name> (kubectl config get-contexts lists them), or create a cluster (e.g. kind create cluster)`,
    };
  }
  return { context };
}

/**
 * Every check a tool needs, every problem at once (one line each, with its fix). `kube`: the
 * tool talks to the cluster; `mayInit`: the tool creates the stack when it is missing (deploy).
 */
function preflight(opts) {
  const env = opts.env || process.env;
  const cwd = opts.cwd || process.cwd();
  const run = opts.run || ((cmd, args) => runCommand(cmd, args, { cwd, env }));
  const problems = [];
  const login = checkLogin(run);
  if (login.problem) {
    problems.push(login.problem);
  }
  const exists =
    opts.mayInit && !login.problem ? stackExists(run, opts.stack) : undefined;
  const passphrase = checkPassphrase({
    env,
    cwd,
    stack: opts.stack,
    backendUrl: login.backendUrl,
    exists,
  });
  if (passphrase) {
    problems.push(passphrase);
  }
  let kubeContext;
  if (opts.kube) {
    const kube = checkKubeContext(run);
    if (kube.problem) {
      problems.push(kube.problem);
    }
    kubeContext = kube.context;
  }
  return {
    problems,
    backendUrl: login.backendUrl,
    stackExists: exists,
    kubeContext,
  };
}

/**
 * Whether `npm ci` must run in `root`: undefined when node_modules matches package-lock.json,
 * else why not.
 */
function npmCiNeeded(root) {
  let wanted;
  try {
    wanted = JSON.parse(
      fs.readFileSync(path.join(root, "package-lock.json"), "utf8"),
    ).packages;
  } catch (e) {
    return `package-lock.json cannot be read (${e.message})`;
  }
  if (!fs.existsSync(path.join(root, "node_modules"))) {
    return "node_modules does not exist";
  }
  let installed;
  try {
    installed = JSON.parse(
      fs.readFileSync(
        path.join(root, "node_modules", ".package-lock.json"),
        "utf8",
      ),
    ).packages;
  } catch {
    return "node_modules has no record of its install (node_modules/.package-lock.json)";
  }
  if (!wanted || !installed) {
    return "package-lock.json or node_modules/.package-lock.json lists no packages";
  }
  for (const [key, want] of Object.entries(wanted)) {
    if (key === "") {
      continue; // the project itself
    }
    const have = installed[key];
    if (!have) {
      if (want.optional) {
        continue; // npm skips optional packages of other platforms
      }
      return `${key} is in package-lock.json but not installed`;
    }
    for (const field of ["version", "resolved", "integrity"]) {
      if (want[field] !== have[field]) {
        return `${key} is ${want.version} in package-lock.json, ${have.version} in node_modules`;
      }
    }
    if (!want.link && !fs.existsSync(path.join(root, key, "package.json"))) {
      return `${key} is missing from node_modules`;
    }
  }
  for (const key of Object.keys(installed)) {
    if (!(key in wanted)) {
      return `${key} is installed but not in package-lock.json`;
    }
  }
  return undefined;
}

module.exports = {
  runCommand,
  checkLogin,
  checkPassphrase,
  checkKubeContext,
  stackExists,
  preflight,
  npmCiNeeded,
  PASSPHRASE_FIX,
};
