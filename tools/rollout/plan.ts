// The step planner: which weights each step of a rollout sets. Pure.
//
// Only two versions change weight: the target (`--to`) and the current stable version, the other
// version with the most traffic. Every other version keeps its weight, so their pool stays
// theirs: the target's and the stable version's weights together form the pool the rollout moves,
// and step p gives the target p % of that pool (rounded to a whole percent), the stable version
// the rest. At 100 the stable version is left at weight 0, still deployed. Steps the target has
// already reached are skipped, so a rollout never lowers the target's weight before a rollback.

/** Version -> percent, in the stack config's order. */
export type Weights = Record<string, number>;

export interface PlannedStep {
  /** 1-based position among the steps that run. */
  readonly index: number;
  /** The `--steps` value: the target's share of the pool, in percent. */
  readonly percent: number;
  /** Every version's weight at this step (sums to 100). */
  readonly weights: Weights;
}

export interface Plan {
  readonly target: string;
  /** The version the target takes traffic from. */
  readonly stable: string;
  readonly start: Weights;
  readonly steps: readonly PlannedStep[];
  /** `--steps` values that would not raise the target's weight (already reached, or rounding). */
  readonly skipped: readonly number[];
}

/** Raised when no rollout can be planned; the message says why and what to do. */
export class PlanError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "PlanError";
  }
}

/** Where the weights live in the stack's config, for messages. */
export interface WeightsConfig {
  /** What messages call them: `canary.weights`, or `services.<name>.versions` (--service). */
  readonly label: string;
  /** The config path of a version's weight, as `pulumi config set --path` takes it. */
  configKey(version: string): string;
}

/** The demo backend's weights: canary.weights.<version>. */
export const CANARY_WEIGHTS: WeightsConfig = {
  label: "canary.weights",
  configKey: (v) => `canary.weights.${v}`,
};

export const formatWeights = (w: Weights): string =>
  Object.entries(w)
    .map(([v, n]) => `${v}=${n}`)
    .join(" ");

/**
 * The stable version: the other version with the most traffic; on a tie, the one listed first
 * in the stack config.
 */
export function stableVersion(
  start: Weights,
  target: string,
): string | undefined {
  let best: string | undefined;
  for (const [v, w] of Object.entries(start)) {
    if (v !== target && (best === undefined || w > start[best])) {
      best = v;
    }
  }
  return best;
}

/** The weights of each step, from the stack's current weights towards `target`. */
export function planRollout(
  start: Weights,
  target: string,
  steps: readonly number[],
  where: WeightsConfig = CANARY_WEIGHTS,
): Plan {
  const versions = Object.keys(start);
  const sum = Object.values(start).reduce((s, w) => s + w, 0);
  if (
    versions.length === 0 ||
    sum !== 100 ||
    Object.values(start).some((w) => !Number.isInteger(w) || w < 0)
  ) {
    throw new PlanError(
      `the stack's ${where.label} are not a valid split (${formatWeights(start) || "none"}); ` +
        `fix them with 'pulumi config set --path ${where.configKey("<version>")} <percent>' and 'pulumi up' first`,
    );
  }
  if (!(target in start)) {
    throw new PlanError(
      `--to ${target}: ${target} is not deployed (${where.label} has ${versions.join(", ")}); ` +
        `deploy it at weight 0 first: 'pulumi config set --path ${where.configKey(target)} 0' and 'pulumi up'`,
    );
  }
  const stable = stableVersion(start, target);
  if (stable === undefined || start[stable] === 0) {
    throw new PlanError(
      `--to ${target}: nothing to roll out, no other version has traffic to give (${formatWeights(start)})`,
    );
  }
  if (
    steps.length === 0 ||
    steps.some(
      (p, i) =>
        !Number.isInteger(p) ||
        p < 1 ||
        p > 100 ||
        (i > 0 && p <= steps[i - 1]),
    ) ||
    steps[steps.length - 1] !== 100
  ) {
    throw new PlanError(
      `steps must be whole percentages from 1 to 100, increasing and ending at 100 (got ${steps.join(",")})`,
    );
  }
  const pool = start[target] + start[stable];
  const planned: PlannedStep[] = [];
  const skipped: number[] = [];
  let current = start[target];
  for (const percent of steps) {
    const targetWeight = Math.round((pool * percent) / 100);
    if (targetWeight <= current) {
      skipped.push(percent);
      continue;
    }
    current = targetWeight;
    planned.push({
      index: planned.length + 1,
      percent,
      weights: {
        ...start,
        [target]: targetWeight,
        [stable]: pool - targetWeight,
      },
    });
  }
  return { target, stable, start, steps: planned, skipped };
}

/** Whether two splits give every version the same weight. */
export function sameWeights(a: Weights, b: Weights): boolean {
  const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
  return [...keys].every((k) => a[k] === b[k]);
}
