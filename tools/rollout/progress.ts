// How a rollout shows its progress: on a terminal, one live line (step, weights, the last check
// against the gates, time to the next check) under the lines of what happened; in CI (no TTY, or
// CI=true), plain lines only, one per event. The line formats are pure functions.
import { formatWeights } from "./plan";
import type { RolloutEvent } from "./report";

const secs = (ms: number) => `${Math.max(0, Math.ceil(ms / 1000))}s`;

/** The line an event prints, or undefined for events that only refresh the live line. */
export function eventLine(e: RolloutEvent): string | undefined {
  switch (e.kind) {
    case "apply":
      return `step ${e.step.index}/${e.of} (${e.step.percent}%): setting ${formatWeights(e.step.weights)} and running up`;
    case "applied":
      return `step ${e.step.index}/${e.of}: up done in ${e.step.upSeconds?.toFixed(1)} s, watching the canary`;
    case "check":
      return `step ${e.step.index}/${e.of} check (window ${e.check.windowSeconds}s): ${e.check.summary} -> ${e.action}`;
    case "rollback":
      return `rolling back to ${formatWeights(e.weights)}: ${e.reason}`;
    case "note":
      return e.message;
    case "done": {
      const r = e.report;
      const rb = r.rollback
        ? r.rollback.ok
          ? ` (rollback up ${r.rollback.upSeconds?.toFixed(1) ?? "0"} s)`
          : ` (ROLLBACK FAILED: ${r.rollback.error}; the config holds ${formatWeights(r.startWeights)}: run 'pulumi up')`
        : "";
      return `${r.outcome}: ${formatWeights(r.finalWeights ?? r.startWeights)}${rb}${r.reason ? ` | ${r.reason}` : ""}`;
    }
    case "wait":
      return undefined;
  }
}

/** The live line while a step waits: where it is, the last check, and the time to the next. */
export function liveLine(e: Extract<RolloutEvent, { kind: "wait" }>): string {
  const last = e.last
    ? e.last.summary.replace(/^[A-Z]+(: [^|]*)? \| /, "")
    : "no check yet";
  return `step ${e.step.index}/${e.of} ${formatWeights(e.step.weights)} | ${last} | next check in ${secs(e.remainingMs)}`;
}

/** Whether to draw a live line: a terminal, and not CI. */
export function isInteractive(
  stream: NodeJS.WriteStream,
  env: NodeJS.ProcessEnv,
): boolean {
  return Boolean(stream.isTTY) && env.CI !== "true" && env.CI !== "1";
}

/** Writes events to a stream, as a live line or as plain lines. */
export class Progress {
  private live = false;

  constructor(
    private readonly out: NodeJS.WriteStream,
    readonly interactive: boolean,
    private readonly prefix = "[rollout] ",
  ) {}

  event(e: RolloutEvent): void {
    if (e.kind === "wait") {
      if (this.interactive) {
        const cols = this.out.columns ?? 120;
        this.out.write(
          `\r\x1b[2K${(this.prefix + liveLine(e)).slice(0, cols - 1)}`,
        );
        this.live = true;
      }
      return;
    }
    const line = eventLine(e);
    if (line !== undefined) {
      this.say(line);
    }
  }

  say(line: string): void {
    if (this.live) {
      this.out.write("\r\x1b[2K");
      this.live = false;
    }
    this.out.write(`${this.prefix}${line}\n`);
  }
}
