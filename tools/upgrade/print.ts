// The plan as the user reads it: numbered steps, each with its config commands, what its `up`
// restarts, the check that follows and the commands that undo it; then the other flow, when it is
// allowed too. Pure: lines out.
import type { UpgradePlan } from "./plan";
import { changeCommand } from "./state";
import type { PlannedStep } from "./steps";

const FLOW = {
  canary: "canary by revision",
  "in-place": "in place",
} as const;

/** The command that applies step `n` of this plan. */
export const stepCommand = (
  stack: string,
  plan: UpgradePlan,
  n: number,
): string =>
  `npm run upgrade -- --stack ${stack} --to ${plan.to}${plan.flow === "in-place" ? " --in-place" : ""} --step ${n}`;

function stepLines(stack: string, plan: UpgradePlan, s: PlannedStep): string[] {
  const of = plan.steps.length;
  if (s.done) {
    return [`step ${s.index}/${of}: ${s.title}: done (the config holds it)`];
  }
  return [
    `step ${s.index}/${of}: ${s.title}`,
    "  config:",
    ...s.changes.map((c) => `    ${changeCommand(stack, c)}`),
    `    then: pulumi up --stack ${stack}   (or: ${stepCommand(stack, plan, s.index)})`,
    "  restarts:",
    ...s.restarts.map((r) => `    - ${r}`),
    `  check: ${s.check}`,
    "  rollback:",
    ...s.rollback.map((c) => `    ${changeCommand(stack, c)}`),
    `    then: pulumi up --stack ${stack}`,
    ...s.notes.map((n) => `  note: ${n}`),
  ];
}

/** The plan's lines (no trailing newline). */
export function formatPlan(stack: string, plan: UpgradePlan): string[] {
  const pending = plan.steps.filter((s) => !s.done).length;
  const lines = [
    `Istio upgrade of stack ${stack}: ${plan.from} -> ${plan.to}, ${FLOW[plan.flow]} ` +
      `(${plan.steps.length} step${plan.steps.length > 1 ? "s" : ""}, ${pending} to apply, each one 'pulumi up'; --step N applies one, --all each in turn)`,
    ...plan.notes.map((n) => `note: ${n}`),
    ...plan.steps.flatMap((s) => stepLines(stack, plan, s)),
  ];
  const alt = plan.alternative;
  if (alt !== undefined) {
    lines.push(
      "",
      `alternative: ${FLOW[alt.flow]} (${alt.flow === "in-place" ? "--in-place" : "without --in-place"}), ${alt.steps.length} step${alt.steps.length > 1 ? "s" : ""}:`,
      ...alt.steps.flatMap((s) =>
        stepLines(stack, alt, s).map((l) => `  ${l}`),
      ),
    );
  }
  return lines;
}
