// The stack, through Pulumi's Automation API: the same program, config file and validation as
// `pulumi up` in this folder. The weights live in the stack's config, set by path as
// `pulumi config set --path` does: `canary.weights.<version>` for the demo backend,
// `services.<name>.versions.<version>.weight` for a declared service (--service), so the stack's
// state is the single source of truth at every step: nothing in the cluster is edited behind the
// engine's back. What each `up` deployed is read back from the outputs: canaryWeights, or
// services.<name>.weights.
import { isLockedError, releaseStaleLock } from "../automation";
import * as fs from "fs";
import * as path from "path";
import {
  LocalWorkspace,
  type OutputMap,
  type Stack,
} from "@pulumi/pulumi/automation";
import { PlanError, type Weights } from "./plan";
import type { StackPort } from "./runner";
import {
  asWeights,
  serviceConfigWeights,
  serviceOutput,
  type TargetFacts,
  weightsPlace,
  type WeightsPlace,
} from "./service";
import { type HostFacts, THIS_HOST } from "../pulumiLock";

/** What the rollout needs from the stack's config and the deployed stack's outputs. */
export interface StackFacts extends TargetFacts {
  /** The weights in the stack's config (what the next `up` applies). */
  readonly configWeights: Weights;
  /** The weights of the last `up` (canaryWeights, or services.<name>.weights). */
  readonly deployedWeights?: Weights;
}

/** The weights an `up` deployed, from its outputs: canaryWeights or services.<name>.weights. */
export function deployedWeights(
  outputs: OutputMap,
  place: WeightsPlace,
): Weights | undefined {
  if (place.service === undefined) {
    return asWeights(outputs.canaryWeights?.value);
  }
  const services = outputs.services?.value as
    Record<string, { weights?: unknown } | undefined> | undefined;
  return asWeights(services?.[place.service]?.weights);
}

export class AutomationStack implements StackPort {
  private constructor(
    private readonly stack: Stack,
    /** The engine's output of every `up`, appended. */
    readonly logFile: string,
    /** Whose weights the rollout moves: the demo backend's, or a declared service's. */
    readonly place: WeightsPlace = weightsPlace(),
  ) {}

  static async open(
    stackName: string,
    workDir: string,
    logFile: string,
    service?: string,
  ): Promise<AutomationStack> {
    const stack = await LocalWorkspace.selectStack({ stackName, workDir });
    return new AutomationStack(stack, logFile, weightsPlace(service));
  }

  get weightsOutput(): string {
    return this.place.output;
  }

  /** A config value's text (JSON for a map), or undefined when the key is not set. */
  private async configValue(key: string): Promise<string | undefined> {
    try {
      return (await this.stack.getConfig(key, true)).value;
    } catch (e) {
      if (/not found/i.test(String(e))) {
        return undefined;
      }
      throw e;
    }
  }

  /** The demo backend's weights in the config (canary.weights). */
  private async canaryWeights(): Promise<Weights> {
    const raw = await this.configValue("canary.weights");
    if (raw === undefined) {
      throw new PlanError(
        `stack ${this.stack.name} has no canary.weights (is its demo off?): name one of its services ` +
          `with --service <name>, or set them with 'pulumi config set --path canary.weights.v1 100'`,
      );
    }
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
    return configWeights;
  }

  /**
   * Reads the config weights and the outputs of the last `up`; refuses a stack never deployed,
   * and a --service the stack does not declare or has not deployed.
   */
  async facts(): Promise<StackFacts> {
    const service = this.place.service;
    const configWeights =
      service === undefined
        ? await this.canaryWeights()
        : serviceConfigWeights(
            await this.configValue("services"),
            service,
            this.stack.name,
          );
    const out = await this.stack.outputs();
    const value = (k: string) => out[k]?.value as unknown;
    const noOutputs = `stack ${this.stack.name} has no outputs yet: deploy it first ('pulumi up'), then roll out`;
    if (value("meshProvider") === "linkerd") {
      throw new PlanError(
        `stack ${this.stack.name} runs mesh.provider linkerd: the rollout's gates read Istio's metrics (istio_requests_total), so it does not run on Linkerd yet; shift the weights with 'pulumi config set' and 'pulumi up'`,
      );
    }
    const mesh = {
      dataplane:
        value("dataplane") === "ambient"
          ? ("ambient" as const)
          : ("sidecar" as const),
      routingApi:
        value("routingApi") === "gateway-api"
          ? ("gateway-api" as const)
          : ("istio" as const),
      configWeights,
      deployedWeights: deployedWeights(out, this.place),
    };
    if (service === undefined) {
      if (typeof value("appNamespace") !== "string") {
        throw new Error(noOutputs);
      }
      return { ...mesh, namespace: value("appNamespace") as string };
    }
    if (Object.keys(out).length === 0) {
      throw new Error(noOutputs);
    }
    const s = serviceOutput(value("services"), service, this.stack.name);
    return {
      ...mesh,
      namespace: s.namespace,
      metrics: s.metrics,
      protocol: s.protocol,
    };
  }

  async setWeights(w: Weights): Promise<void> {
    await this.stack.setAllConfig(
      Object.fromEntries(
        Object.entries(w).map(([v, n]) => [
          this.place.configKey(v),
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
    return { outputWeights: deployedWeights(res.outputs, this.place) };
  }

  isLockedError(e: unknown): boolean {
    return isLockedError(e);
  }

  releaseStaleLock(e: unknown, host: HostFacts = THIS_HOST): Promise<boolean> {
    return releaseStaleLock(this.stack, e, host);
  }
}
