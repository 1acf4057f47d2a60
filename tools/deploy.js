// `npm run deploy [-- <pulumi up flags>]`: checks what a deploy needs, then installs, type-checks,
// selects (or creates) the stack and runs `pulumi up`. The stack is $STACK, else `dev`.
//
// 1. Before anything is installed or changed (tools/preflight.js), one line each with its fix:
//    the pulumi CLI on PATH, the login (`pulumi whoami`), the passphrase when the stack's secrets
//    use one (or when a new stack on a self-managed backend will), the current kubectl context.
// 2. `npm ci`, only when node_modules does not match package-lock.json.
// 3. `npm run build` (tsc): type errors stop here, before anything reaches a cluster.
// 4. `pulumi stack select`; a stack that does not exist is created (`pulumi stack init`); any
//    other failure of select (a login that expired, a backend that is down) is shown as it is.
// 5. `pulumi up`, with the arguments given after `--`.
//
// Exit codes: 0 deployed; 2 something the deploy needs is missing (nothing was installed or
// changed); otherwise the exit code of the step that failed (npm ci, the build, pulumi).
//
// Plain JavaScript without dependencies: it runs before node_modules exists.
"use strict";
const childProcess = require("child_process");
const path = require("path");
const { npmCiNeeded, preflight, runCommand } = require("./preflight");

const ROOT = path.join(__dirname, "..");
const say = (line) => process.stdout.write(`[deploy] ${line}\n`);

const HELP = `usage: [STACK=<stack>] npm run deploy [-- <pulumi up flags>]

Deploys the stack ($STACK, default dev) from this folder: checks the prerequisites (the pulumi
CLI, its login, PULUMI_CONFIG_PASSPHRASE when the stack's secrets use a passphrase, the current
kubectl context), runs npm ci when node_modules does not match package-lock.json, npm run build,
selects the stack (creating it if missing) and runs pulumi up with the flags given after --,
e.g. npm run deploy -- --yes.
Exit codes: 0 deployed, 2 a prerequisite is missing (nothing installed or changed), otherwise
the exit code of the step that failed. See README.md, "Deploy".`;

/** Runs a step with the terminal attached; resolves to its exit code (128+n on a signal). */
function step(cmd, args) {
  return new Promise((resolve) => {
    const child = childProcess.spawn(cmd, args, {
      cwd: ROOT,
      stdio: "inherit",
      shell: process.platform === "win32",
    });
    // Ctrl-C reaches the step too (same process group): let it stop on its own terms.
    const ignore = () => {};
    process.on("SIGINT", ignore);
    child.on("error", (e) => {
      say(`${cmd} could not start: ${e.message}`);
      resolve(127);
    });
    child.on("close", (code, signal) => {
      process.off("SIGINT", ignore);
      resolve(code ?? (signal === "SIGINT" ? 130 : 143));
    });
  });
}

/** npm: the one running this script when there is one, else the one on PATH. */
function npm(args) {
  const cli = process.env.npm_execpath;
  return cli && /npm/.test(path.basename(cli))
    ? step(process.execPath, [cli, ...args])
    : step("npm", args);
}

async function main(argv) {
  if (argv.includes("--help") || argv.includes("-h")) {
    process.stdout.write(`${HELP}\n`);
    return 0;
  }
  const stack = process.env.STACK || "dev";
  const checked = preflight({ stack, kube: true, mayInit: true, cwd: ROOT });
  if (checked.problems.length > 0) {
    for (const p of checked.problems) {
      say(`missing: ${p}`);
    }
    say("nothing was installed or changed");
    return 2;
  }
  say(
    `stack ${stack} on ${checked.backendUrl}, kubectl context ${checked.kubeContext}`,
  );
  const stale = npmCiNeeded(ROOT);
  let code;
  if (stale) {
    say(`npm ci: ${stale}`);
    if ((code = await npm(["ci"])) !== 0) {
      return code;
    }
  } else {
    say("node_modules matches package-lock.json: no npm ci");
  }
  if ((code = await npm(["run", "build"])) !== 0) {
    return code;
  }
  if (checked.stackExists === false) {
    say(`stack ${stack} does not exist: creating it`);
    if ((code = await step("pulumi", ["stack", "init", stack])) !== 0) {
      return code;
    }
  } else {
    const select = runCommand("pulumi", ["stack", "select", stack], {
      cwd: ROOT,
    });
    if (select.status !== 0) {
      const why = `${select.stderr}${select.stdout}`.trim();
      if (!/no stack named/i.test(why)) {
        say(`pulumi stack select ${stack} failed:\n${why}`);
        return select.status ?? 1;
      }
      say(`stack ${stack} does not exist: creating it`);
      if ((code = await step("pulumi", ["stack", "init", stack])) !== 0) {
        return code;
      }
    }
  }
  return step("pulumi", ["up", ...argv]);
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (e) => {
    process.stderr.write(`deploy: ${(e && e.stack) || e}\n`);
    process.exit(1);
  },
);
