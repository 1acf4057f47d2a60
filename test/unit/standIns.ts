// Stand-ins for the commands the tools run (pulumi, kubectl, npm): shell scripts in a folder that
// becomes the whole PATH, each appending its arguments to <name>.log and then doing what the test
// says. A tool run this way can only reach what the test put there.
import { spawnSync, type SpawnSyncReturns } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";

export interface StandIns {
  /** The folder to use as PATH. */
  readonly bin: string;
  /** The argument lines a stand-in was called with, in order ([] if never). */
  calls(name: string): string[];
  remove(): void;
}

/**
 * Writes a stand-in per entry: name -> shell script run after the call is logged ("$1"... are
 * the arguments). `node` links to this Node, for tools that run `node` from PATH.
 */
export function standIns(scripts: Record<string, string>): StandIns {
  const bin = fs.mkdtempSync(path.join(os.tmpdir(), "standins-"));
  for (const [name, body] of Object.entries(scripts)) {
    const file = path.join(bin, name);
    fs.writeFileSync(
      file,
      `#!/bin/sh\nprintf '%s\\n' "$*" >> "${bin}/${name}.log"\n${body}\n`,
    );
    fs.chmodSync(file, 0o755);
  }
  fs.symlinkSync(process.execPath, path.join(bin, "node"));
  return {
    bin,
    calls: (name) => {
      const log = path.join(bin, `${name}.log`);
      return fs.existsSync(log)
        ? fs.readFileSync(log, "utf8").split("\n").filter(Boolean)
        : [];
    },
    remove: () => fs.rmSync(bin, { recursive: true, force: true }),
  };
}

/** A pulumi stand-in answering `whoami --json` with a file backend, and `stack ls --json`. */
export const PULUMI_LOGGED_IN = (stacks: string[] = ["dev"]) => `
case "$1 $2" in
  "whoami --json") echo '{"user":"me","url":"file://~"}' ;;
  "stack ls") echo '${JSON.stringify(stacks.map((name) => ({ name })))}' ;;
esac`;

/** A kubectl stand-in whose current context is kind-mesh. */
export const KUBECTL_WITH_CONTEXT = `
case "$1 $2" in
  "config current-context") echo kind-mesh ;;
esac`;

/**
 * Runs one of the project's TypeScript tools (e.g. "tools/traffic/main.ts") as `npm run` does,
 * through tools/register.js, in `cwd` with exactly `env`, and waits for it (20 s at most).
 */
export function runTool(
  script: string,
  args: readonly string[],
  opts: { cwd: string; env: NodeJS.ProcessEnv },
): SpawnSyncReturns<string> {
  const root = path.join(__dirname, "..", "..");
  return spawnSync(
    process.execPath,
    [
      "--require",
      path.join(root, "tools/register.js"),
      path.join(root, script),
      ...args,
    ],
    { cwd: opts.cwd, encoding: "utf8", env: opts.env, timeout: 20_000 },
  );
}
