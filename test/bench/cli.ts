// The benchmark's ways of running things (bench.ts, scale.ts): the Pulumi CLI and kubectl as
// users run them, each run timed and logged to the work dir's pulumi.log; the change summary of an
// `up`; the weight pairs of the shifts; and the one stack workload that really runs here, istiod.
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { WORK } from "../integration/harness";

export const say = (msg: string) => process.stdout.write(`[bench] ${msg}\n`);
const log = (text: string) =>
  fs.appendFileSync(path.join(WORK, "pulumi.log"), text);

/** Runs a command in `cwd`, logs its output, returns seconds and output; throws on failure. */
export function run(
  cwd: string,
  cmd: string,
  args: string[],
  env: Record<string, string> = {},
): { secs: number; out: string } {
  const start = process.hrtime.bigint();
  let out: string;
  try {
    out = execFileSync(cmd, args, {
      cwd,
      encoding: "utf8",
      stdio: ["ignore", "pipe", "pipe"],
      env: { ...process.env, ...env },
      maxBuffer: 64 * 1024 * 1024,
    });
  } catch (e) {
    const err = e as { stdout?: string; stderr?: string };
    log(`$ ${cmd} ${args.join(" ")}\n${err.stdout ?? ""}${err.stderr ?? ""}`);
    throw new Error(
      `${cmd} ${args.join(" ")} failed in ${cwd}; see pulumi.log`,
    );
  }
  const secs = Number(process.hrtime.bigint() - start) / 1e9;
  log(`$ ${cmd} ${args.join(" ")}  (${secs.toFixed(2)} s)\n${out}`);
  return { secs, out };
}

export const pulumi = (
  cwd: string,
  args: string[],
  env?: Record<string, string>,
) => run(cwd, "pulumi", args, env);

export function setConfig(cwd: string, pairs: Array<[string, string]>): void {
  pulumi(cwd, [
    "config",
    "set-all",
    "--path",
    ...pairs.flatMap(([k, v]) => ["--plaintext", `${k}=${v}`]),
  ]);
}

/** The resources an `up` changed, from its summary ("~ 1 updated", "+ 39 created"...). */
export function changed(out: string): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const m of out.matchAll(
    /^\s+[-+~]*\s*(\d+) (created|updated|deleted|replaced)/gm,
  )) {
    counts[m[2]] = Number(m[1]);
  }
  return counts;
}

export function expectOneUpdate(out: string, what: string): void {
  const c = changed(out);
  if (JSON.stringify(c) !== JSON.stringify({ updated: 1 })) {
    throw new Error(
      `${what} changed ${JSON.stringify(c)}, expected one update`,
    );
  }
}

/** v2's weight in shift i: alternating 30 and 20, so every shift is a real change. */
export const v2Weight = (i: number) => (i % 2 === 0 ? 30 : 20);

/** Weight pairs alternating 70/30 and 80/20, so every shift is a real change. */
export const weights = (i: number): Array<[string, string]> => [
  ["canary.weights.v1", String(100 - v2Weight(i))],
  ["canary.weights.v2", String(v2Weight(i))],
];

/** pilot-discovery, the one workload of the stack that really runs here (out of cluster). */
export function istiodProcess():
  { rssMi: number; cpuSecs: number } | undefined {
  try {
    const pid = fs
      .readFileSync(path.join(WORK, "kube", "istiod.pid"), "utf8")
      .trim();
    const status = fs.readFileSync(`/proc/${pid}/status`, "utf8");
    const kb = (field: string) =>
      Number(
        new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(status)?.[1] ?? NaN,
      );
    // utime and stime, fields 14 and 15 of /proc/<pid>/stat, in clock ticks (100 per second).
    const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return {
      rssMi: kb("VmRSS") / 1024,
      cpuSecs: (Number(fields[11]) + Number(fields[12])) / 100,
    };
  } catch {
    return undefined;
  }
}

export const secs = (s: number) => `${s.toFixed(2)} s`;
export const pad = (s: string, n: number) => s.padEnd(n);
