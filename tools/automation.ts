// What the rollout and the upgrade share about driving the stack through Pulumi's Automation API:
// the gist of a failed command, and releasing a stack lock whose holder is proven gone.
import { ConcurrentUpdateError, type Stack } from "@pulumi/pulumi/automation";
import {
  type HostFacts,
  judgeStackLock,
  lockOwner,
  THIS_HOST,
} from "./pulumiLock";

/** The gist of an error from the Automation API (whose messages carry the whole command result). */
export function commandGist(e: unknown): string {
  const msg = e instanceof Error ? e.message : String(e);
  if (/spawn pulumi ENOENT/.test(msg)) {
    return "the pulumi CLI is not on PATH; install it (https://www.pulumi.com/docs/install/) and log in to the stack's backend";
  }
  const stderr = /stderr: ([\s\S]*?)(\n err\?:|$)/.exec(msg)?.[1]?.trim();
  return (stderr || msg).split("\n").filter((l) => l.trim())[0] ?? msg;
}

/** True when an `up` failed because another update holds the stack's lock. */
export function isLockedError(e: unknown): boolean {
  return e instanceof ConcurrentUpdateError;
}

/**
 * Cancels (removes) the stack's lock that made `e`, only when its holder is proven gone (never
 * another host's lock: this host cannot see its processes). True when it was released.
 */
export async function releaseStaleLock(
  stack: Pick<Stack, "cancel">,
  e: unknown,
  host: HostFacts = THIS_HOST,
): Promise<boolean> {
  const owner = lockOwner(String(e));
  if (!owner || !judgeStackLock(owner, { forceOtherHost: false }, host).stale) {
    return false;
  }
  await stack.cancel();
  return true;
}
