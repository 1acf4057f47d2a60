// The stack, through Pulumi's Automation API: the same program, config file and validation as
// `pulumi up` in this folder. The weights live in the stack's config (`canary.weights.<version>`,
// set by path as `pulumi config set --path` does), so the stack's state is the single source of
// truth at every step: nothing in the cluster is edited behind the engine's back.
import * as fs from "fs";
import * as path from "path";
import {
  ConcurrentUpdateError,
  LocalWorkspace,
  type Stack,
} from "@pulumi/pulumi/automation";
import type { Weights } from "./plan";
import type { Dataplane, RoutingApi } from "./promql";
import type { StackPort } from "./runner";
import {
  type HostFacts,
  judgeStackLock,
  lockOwner,
  THIS_HOST,
} from "../pulumiLock";

/** What the rollout needs from the deployed stack's outputs. */
export interface StackFacts {
  readonly dataplane: Dataplane;
  readonly routingApi: RoutingApi;
  readonly appNamespace: string;
  /** The weights in the stack's config (what the next `up` applies). */
  readonly configWeights: Weights;
  /** The weights of the last `up` (the canaryWeights output). */
  readonly deployedWeights?: Weights;
}

const asWeights = (v: unknown): Weights | undefined =>
  v && typeof v === "object" && !Array.isArray(v) ? (v as Weights) : undefined;

export class AutomationStack implements StackPort {
  private constructor(
    private readonly stack: Stack,
    /** The engine's output of every `up`, appended. */
    readonly logFile: string,
  ) {}

  static async open(
    stackName: string,
    workDir: string,
    logFile: string,
  ): Promise<AutomationStack> {
    const stack = await LocalWorkspace.selectStack({ stackName, workDir });
    return new AutomationStack(stack, logFile);
  }

  /** Reads the config weights and the outputs of the last `up`; refuses a stack never deployed. */
  async facts(): Promise<StackFacts> {
    const raw = (await this.stack.getConfig("canary.weights", true)).value;
    let configWeights: Weights | undefined;
    try {
      configWeights = asWeights(JSON.parse(raw));
    } catch {
      configWeights = undefined;
    }
    if (configWeights === undefined) {
      throw new Error(
        `the stack's canary.weights is not a map of versions to weights (got ${raw}); ` +
          `set it with 'pulumi config set --path canary.weights.v1 100'`,
      );
    }
    const out = await this.stack.outputs();
    const value = (k: string) => out[k]?.value as unknown;
    if (typeof value("appNamespace") !== "string") {
      throw new Error(
        `stack ${this.stack.name} has no outputs yet: deploy it first ('pulumi up'), then roll out`,
      );
    }
    return {
      dataplane: value("dataplane") === "ambient" ? "ambient" : "sidecar",
      routingApi:
        value("routingApi") === "gateway-api" ? "gateway-api" : "istio",
      appNamespace: value("appNamespace") as string,
      configWeights,
      deployedWeights: asWeights(value("canaryWeights")),
    };
  }

  async setWeights(w: Weights): Promise<void> {
    await this.stack.setAllConfig(
      Object.fromEntries(
        Object.entries(w).map(([v, n]) => [
          `canary.weights.${v}`,
          { value: String(n) },
        ]),
      ),
      true,
    );
  }

  async up(signal?: AbortSignal): Promise<{ outputWeights?: Weights }> {
    if (signal?.aborted) {
      // An abort listener added now would never fire: do not start what cannot be cancelled.
      throw new Error("interrupted before the up started");
    }
    fs.mkdirSync(path.dirname(this.logFile), { recursive: true });
    const log = (text: string) => fs.appendFileSync(this.logFile, text);
    log(`\n=== pulumi up ${new Date().toISOString()}\n`);
    const res = await this.stack.up({ onOutput: log, signal });
    return { outputWeights: asWeights(res.outputs.canaryWeights?.value) };
  }

  isLockedError(e: unknown): boolean {
    return e instanceof ConcurrentUpdateError;
  }

  async releaseStaleLock(
    e: unknown,
    host: HostFacts = THIS_HOST,
  ): Promise<boolean> {
    const owner = lockOwner(String(e));
    // Only a holder proven gone; never another host's lock (this host cannot see its processes).
    if (
      !owner ||
      !judgeStackLock(owner, { forceOtherHost: false }, host).stale
    ) {
      return false;
    }
    await this.stack.cancel();
    return true;
  }
}
