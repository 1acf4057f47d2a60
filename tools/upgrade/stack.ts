// The stack and the cluster as the upgrade sees them: the stack through Pulumi's Automation API
// (LocalWorkspace on the project folder: the same program, config file and validation as
// `pulumi up` here), its config changed by path as `pulumi config set --path` does, each `up`'s
// engine output appended to a log file; the cluster through kubectl (SERVICE_MESH_KUBECTL, else
// `kubectl`, on the current context, as the stack's provider).
import { isLockedError, releaseStaleLock } from "../automation";
import { execFile } from "child_process";
import * as fs from "fs";
import * as path from "path";
import {
  LocalWorkspace,
  type OutputMap,
  type Stack,
} from "@pulumi/pulumi/automation";
import type { UpgradeStackPort } from "./apply";
import type { KubePort } from "./check";
import { type IstioState, readIstioState } from "./state";
import { type HostFacts, THIS_HOST } from "../pulumiLock";

const values = (o: OutputMap): Record<string, unknown> =>
  Object.fromEntries(Object.entries(o).map(([k, v]) => [k, v.value]));

export class UpgradeStack implements UpgradeStackPort {
  private constructor(
    private readonly stack: Stack,
    /** The engine's output of every `up`, appended. */
    readonly logFile: string,
  ) {}

  static async open(
    stackName: string,
    workDir: string,
    logFile: string,
  ): Promise<UpgradeStack> {
    const stack = await LocalWorkspace.selectStack({ stackName, workDir });
    return new UpgradeStack(stack, logFile);
  }

  /** The `istio` section of the stack's config. */
  async istio(): Promise<IstioState> {
    return readIstioState(await this.stack.getAllConfig());
  }

  /** The outputs of the last `up` (empty when never deployed). */
  async outputs(): Promise<Record<string, unknown>> {
    return values(await this.stack.outputs());
  }

  async setConfig(key: string, value: string): Promise<void> {
    await this.stack.setConfig(key, { value }, true);
  }

  async removeConfig(key: string): Promise<void> {
    await this.stack.removeConfig(key, true);
  }

  async up(signal?: AbortSignal): Promise<Record<string, unknown>> {
    if (signal?.aborted) {
      throw new Error("interrupted before the up started");
    }
    fs.mkdirSync(path.dirname(this.logFile), { recursive: true });
    const log = (text: string) => fs.appendFileSync(this.logFile, text);
    log(`\n=== pulumi up ${new Date().toISOString()}\n`);
    const res = await this.stack.up({ onOutput: log, signal });
    return values(res.outputs);
  }

  isLockedError(e: unknown): boolean {
    return isLockedError(e);
  }

  releaseStaleLock(e: unknown, host: HostFacts = THIS_HOST): Promise<boolean> {
    return releaseStaleLock(this.stack, e, host);
  }
}

/** kubectl's JSON answers, through SERVICE_MESH_KUBECTL or `kubectl`. */
export class Kubectl implements KubePort {
  constructor(
    private readonly command: string = process.env.SERVICE_MESH_KUBECTL ||
      "kubectl",
  ) {}

  getJson(args: readonly string[]): Promise<unknown> {
    return new Promise((resolve, reject) => {
      execFile(
        this.command,
        [...args],
        { encoding: "utf8", timeout: 30_000, maxBuffer: 64 << 20 },
        (err, stdout, stderr) => {
          if (err) {
            const why =
              (err as NodeJS.ErrnoException).code === "ENOENT"
                ? `${this.command} is not on PATH: install kubectl or set SERVICE_MESH_KUBECTL to its path`
                : String(stderr).trim() || err.message;
            reject(new Error(`${this.command} ${args.join(" ")}: ${why}`));
            return;
          }
          try {
            resolve(JSON.parse(stdout));
          } catch {
            reject(new Error(`${this.command} ${args.join(" ")}: not JSON`));
          }
        },
      );
    });
  }
}
