// Applying steps: for each, its config changes through the stack (set and rm by path, as
// `pulumi config set --path` does), one `up`, then the check; the first failure stops the run with
// what failed and the commands that roll the step back. The stack, Kubernetes and the clock are
// ports, so the unit tests drive it with fakes.
import type { UpgradePlan } from "./plan";
import { stepCommand } from "./print";
import { changeCommand, type IstioState } from "./state";
import type { PlannedStep } from "./steps";
import {
  expectationFor,
  type KubePort,
  waitForCheck,
  type WaitOptions,
} from "./check";
import { UpgradeRefusal } from "./versions";

export interface UpgradeStackPort {
  setConfig(path: string, value: string): Promise<void>;
  removeConfig(path: string): Promise<void>;
  /** Runs `up`, cancelled when `signal` aborts; returns the stack's outputs (values). */
  up(signal?: AbortSignal): Promise<Record<string, unknown>>;
  /** Whether an `up` failed because another update holds the stack's lock. */
  isLockedError(e: unknown): boolean;
  /** Removes the lock `e` names when its holder is proven gone (tools/pulumiLock.ts); true if so. */
  releaseStaleLock(e: unknown): Promise<boolean>;
}

export interface ApplyPorts {
  readonly stack: UpgradeStackPort;
  readonly kube: KubePort;
  readonly say: (line: string) => void;
}

export interface ApplyOptions {
  readonly stackName: string;
  readonly plan: UpgradePlan;
  /** The steps to apply, in order (selectSteps). */
  readonly steps: readonly PlannedStep[];
  readonly wait: WaitOptions;
}

export type ApplyResult =
  | { readonly ok: true; readonly applied: readonly number[] }
  | {
      readonly ok: false;
      readonly applied: readonly number[];
      readonly failedStep: number;
      readonly message: string;
    };

/** The steps `--step N` or `--all` applies; refuses a step done or one whose predecessor is not. */
export function selectSteps(
  plan: UpgradePlan,
  sel: { readonly step?: number; readonly all: boolean },
): PlannedStep[] {
  const pending = plan.steps.filter((s) => !s.done);
  if (sel.all) {
    return pending;
  }
  if (sel.step === undefined) {
    return [];
  }
  const n = sel.step;
  const step = plan.steps.find((s) => s.index === n);
  if (step === undefined) {
    throw new UpgradeRefusal(
      `--step ${n}: this ${plan.flow} plan has steps 1 to ${plan.steps.length}; e.g. ${stepCommand("<stack>", plan, pending[0]?.index ?? 1)}`,
    );
  }
  if (step.done) {
    throw new UpgradeRefusal(
      `--step ${n} (${step.title}) is already done: the config holds it` +
        (pending.length > 0
          ? `; the next step is ${pending[0].index} (--step ${pending[0].index})`
          : ""),
    );
  }
  const earlier = pending.find((s) => s.index < n);
  if (earlier !== undefined) {
    throw new UpgradeRefusal(
      `--step ${n}: step ${earlier.index} (${earlier.title}) is not applied yet; apply it first (--step ${earlier.index}), or --all`,
    );
  }
  return [step];
}

const isMap = (v: unknown): v is Record<string, unknown> =>
  typeof v === "object" && v !== null && !Array.isArray(v);

const sameMap = (a: Record<string, unknown>, b: Record<string, unknown>) =>
  JSON.stringify(Object.entries(a).sort()) ===
  JSON.stringify(Object.entries(b).sort());

/**
 * Where the deployed stack (its outputs istioVersion and istioRevisions) differs from `s`: empty
 * when they agree or when the outputs do not say.
 */
export function drift(
  s: IstioState,
  outputs: Record<string, unknown>,
): string[] {
  const out: string[] = [];
  const v = outputs.istioVersion;
  if (typeof v === "string" && s.version !== undefined && v !== s.version) {
    out.push(`istio.version is ${s.version}, the stack deployed ${v}`);
  }
  // The program exports istioRevisions exactly when it runs revisions (undefined without).
  const r = outputs.istioRevisions;
  if (Object.keys(outputs).length === 0) {
    return out;
  }
  const deployed =
    isMap(r) && isMap(r.revisions)
      ? Object.fromEntries(
          Object.entries(r.revisions).map(([n, x]) => [
            n,
            isMap(x) ? x.version : x,
          ]),
        )
      : undefined;
  const config =
    s.revisions === undefined
      ? undefined
      : Object.fromEntries(
          Object.entries(s.revisions).map(([n, x]) => [n, x.version]),
        );
  const show = (m: object | undefined) => (m ? JSON.stringify(m) : "none");
  if (
    (deployed === undefined) !== (config === undefined) ||
    (deployed && config && !sameMap(deployed, config))
  ) {
    out.push(
      `istio.revisions are ${show(config)}, the stack deployed ${show(deployed)}`,
    );
  } else if (isMap(r) && !sameMap(isMap(r.tags) ? r.tags : {}, s.tags ?? {})) {
    out.push(
      `istio.tags are ${JSON.stringify(s.tags ?? {})}, the stack deployed ${JSON.stringify(r.tags ?? {})}`,
    );
  }
  return out;
}

const firstLine = (e: unknown) =>
  (e instanceof Error ? e.message : String(e))
    .split("\n")
    .map((l) => l.trim())
    .filter((l) => l)[0] ?? String(e);

function rollbackText(stack: string, s: PlannedStep): string {
  return [
    `roll back step ${s.index} with:`,
    ...s.rollback.map((c) => `  ${changeCommand(stack, c)}`),
    `  pulumi up --stack ${stack}`,
  ].join("\n");
}

/** `up`, retried once after removing a lock whose holder is proven gone. */
async function upOnce(
  stack: UpgradeStackPort,
  signal: AbortSignal | undefined,
): Promise<Record<string, unknown>> {
  try {
    return await stack.up(signal);
  } catch (e) {
    if (stack.isLockedError(e) && (await stack.releaseStaleLock(e))) {
      return stack.up(signal);
    }
    throw e;
  }
}

/** Applies `steps` in order: config, `up`, check; stops at the first failure. */
export async function applySteps(
  o: ApplyOptions,
  ports: ApplyPorts,
): Promise<ApplyResult> {
  const { stack, kube, say } = ports;
  const applied: number[] = [];
  const of = o.plan.steps.length;
  for (const s of o.steps) {
    const fail = (message: string): ApplyResult => ({
      ok: false,
      applied,
      failedStep: s.index,
      message,
    });
    say(`step ${s.index}/${of}: ${s.title}`);
    for (const c of s.changes) {
      say(`  ${changeCommand(o.stackName, c)}`);
      try {
        if (c.op === "set") {
          await stack.setConfig(c.path, c.value);
        } else {
          await stack.removeConfig(c.path);
        }
      } catch (e) {
        return fail(
          `step ${s.index}: ${changeCommand(o.stackName, c)} failed: ${firstLine(e)}\n` +
            `nothing was deployed; the config may hold part of step ${s.index}: ${rollbackText(o.stackName, s).replace(/\n {2}pulumi up.*$/, "")}`,
        );
      }
    }
    const started = o.wait.now();
    let outputs: Record<string, unknown>;
    try {
      say(`  pulumi up (${s.restarts.join("; ")})`);
      outputs = await upOnce(stack, o.wait.signal);
    } catch (e) {
      const locked = stack.isLockedError(e);
      return fail(
        `step ${s.index}: pulumi up failed: ${firstLine(e)}` +
          (locked
            ? "\nthe stack is locked by another update: wait for it to end (or 'npm run recover' if it is gone), then 'pulumi up'"
            : "") +
          `\nthe config holds step ${s.index}: finish it with 'pulumi up --stack ${o.stackName}', or\n${rollbackText(o.stackName, s)}`,
      );
    }
    say(
      `  up done in ${((o.wait.now() - started) / 1000).toFixed(1)} s; checking: ${s.check}`,
    );
    const deployed = drift(s.after, outputs);
    const expect = expectationFor(s, o.plan.to, outputs);
    const problems =
      deployed.length > 0 ? deployed : await waitForCheck(kube, expect, o.wait);
    if (problems.length > 0) {
      return fail(
        `step ${s.index} check failed` +
          (deployed.length > 0
            ? " (the stack's outputs)"
            : ` after ${Math.round(o.wait.timeoutMs / 1000)} s`) +
          `:\n${problems.map((p) => `  - ${p}`).join("\n")}\n${rollbackText(o.stackName, s)}`,
      );
    }
    say(
      `step ${s.index}/${of} checked in ${((o.wait.now() - started) / 1000).toFixed(1)} s: ` +
        `${expect.istiod.map((d) => `${d.name} (${d.version})`).join(", ")} Available; ` +
        `${Object.keys(expect.namespaces).length} namespaces' pods Ready${Object.keys(expect.namespaces).length > 0 ? ` on ${[...new Set(Object.values(expect.namespaces).map((r) => r ?? "ambient"))].join(", ")}` : ""}`,
    );
    applied.push(s.index);
  }
  return { ok: true, applied };
}
