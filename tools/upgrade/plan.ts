// The upgrade planner: from the stack's `istio` config and a target release, the steps, each one
// config change set and one `pulumi up`. Pure.
//
// In place (no revisions): one step, istio.version. Canary (the default), always the same four
// numbered steps, each marked done when the config already holds it, so `--step N` means the same
// step on every run: 1 adopt revisions (the running version becomes revision <x-y-z>, tag prod on
// it), 2 add the new revision (a tag `canary` follows it), 3 move every tag (and namespaces pinned
// to an old revision) onto it, 4 remove the old revision (defaultRevision follows). The contract of
// issue 24 (docs/upgrades.md, "Upgrading Istio"): at most two revisions, istio.version the newest's.
import { ISTIO_MINORS } from "../../components/config/istioReleases";
import type { IstioState } from "./state";
import { canarySteps, inPlaceStep, type PlannedStep, toStep } from "./steps";
import {
  checkJump,
  checkTarget,
  compareVersions,
  type Minors,
  UpgradeRefusal,
} from "./versions";

export type Flow = "canary" | "in-place";

export interface PlanInput {
  readonly state: IstioState;
  /** istioVersion of the last `up`: the version when the config leaves istio.version unset. */
  readonly deployedVersion?: string;
  readonly to: string;
  readonly inPlace: boolean;
  /** The new revision's name (default: the version, dashed). */
  readonly revisionName?: string;
}

export interface UpgradePlan {
  readonly flow: Flow;
  readonly from: string;
  readonly to: string;
  readonly steps: readonly PlannedStep[];
  readonly notes: readonly string[];
  /** The other flow, when it is allowed too (offered in the printout). */
  readonly alternative?: UpgradePlan;
}

/** The version the stack runs: its prod tag's revision's, or istio.version (or the deployed). */
export function currentVersion(
  s: IstioState,
  deployed: string | undefined,
): string {
  if (s.revisions !== undefined) {
    const prod = s.tags?.prod;
    const rev = prod === undefined ? undefined : s.revisions[prod];
    if (rev === undefined) {
      throw new UpgradeRefusal(
        `the stack has istio.revisions (${Object.keys(s.revisions).join(", ")}) but istio.tags.prod ${prod === undefined ? "is not set" : `names ${prod}, which is not one of them`}: ` +
          `point it at the running revision first, e.g. 'pulumi config set --path istio.tags.prod ${Object.keys(s.revisions)[0]}'`,
      );
    }
    return rev.version;
  }
  const v = s.version ?? deployed;
  if (v === undefined) {
    throw new UpgradeRefusal(
      "the stack's config has no istio.version and the stack has no istioVersion output: deploy it first ('pulumi up'), or set the running version: 'pulumi config set --path istio.version <version>'",
    );
  }
  return v;
}

function plan(
  input: PlanInput,
  flow: Flow,
  current: string,
  minors: Minors,
  notes: string[],
): UpgradePlan {
  const { state, to } = input;
  checkJump(current, to, flow, minors);
  if (flow === "in-place") {
    if (state.revisions !== undefined) {
      throw new UpgradeRefusal(
        `--in-place: the stack runs istiod as revisions (${Object.keys(state.revisions).join(", ")}); upgrade it by canary: drop --in-place`,
      );
    }
    if (to === current) {
      throw new UpgradeRefusal(
        `--to ${to}: the stack already runs ${to} (istio.version); nothing to upgrade`,
      );
    }
    return {
      flow,
      from: current,
      to,
      steps: [toStep(1, state, inPlaceStep(state, current, to))],
      notes,
    };
  }
  if (state.dataplane === "ambient") {
    throw new UpgradeRefusal(
      `--to ${to} by canary: the stack's istio.dataplane is ambient, and ztunnel and istio-cni have no canary upgrade: ` +
        `use --in-place (the control plane first, then istio-cni, then ztunnel: the chart order; ztunnel's upgrade resets long-lived connections on each node)`,
    );
  }
  if (state.revisions === undefined && to === current) {
    throw new UpgradeRefusal(
      `--to ${to}: the stack already runs ${to}; nothing to upgrade (to run it as a revision without a new version, set istio.revisions and istio.tags by hand: docs/upgrades.md, "Upgrading Istio")`,
    );
  }
  const steps = canarySteps(state, current, to, input.revisionName);
  if (steps.every((s) => s.done)) {
    throw new UpgradeRefusal(
      `--to ${to}: the stack already runs ${to} as its only revision (${Object.keys(state.revisions ?? {}).join(", ")}); nothing to upgrade`,
    );
  }
  return { flow, from: current, to, steps, notes };
}

/** The plan of the asked flow, with the other flow as an alternative when it is allowed. */
export function planUpgrade(
  input: PlanInput,
  minors: Minors = ISTIO_MINORS,
): UpgradePlan {
  const notes = checkTarget(input.to, minors);
  const current = currentVersion(input.state, input.deployedVersion);
  if (compareVersions(input.to, current) < 0) {
    notes.push(
      `${input.to} is older than ${current}: a patch downgrade within ${current.split(".", 2).join(".")}`,
    );
  }
  const flow: Flow = input.inPlace ? "in-place" : "canary";
  const main = plan(input, flow, current, minors, notes);
  let alternative: UpgradePlan | undefined;
  try {
    alternative = plan(
      input,
      flow === "canary" ? "in-place" : "canary",
      current,
      minors,
      [],
    );
  } catch (e) {
    if (!(e instanceof UpgradeRefusal)) {
      throw e;
    }
  }
  return { ...main, alternative };
}

export { UpgradeRefusal };
export type { PlannedStep };
