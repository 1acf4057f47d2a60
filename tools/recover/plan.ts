// What `npm run recover` will do, decided from what it read (lock files, the state's pending
// operations, the preview's Helm releases and their records in the cluster) before it changes
// anything, and the plan's words. Pure: facts in, decisions and lines out.
import { type HostFacts, judgeStackLock } from "../pulumiLock";

/** A lock file of a file backend, as read. */
export interface LockFileFact {
  readonly file: string;
  /** Its contents, or undefined when it cannot be parsed (empty: its write was cut short). */
  readonly lock?: {
    readonly pid: number;
    readonly hostname: string;
    readonly timestamp: string;
  };
  /** Milliseconds since it was last written. */
  readonly ageMs: number;
}

/** An unreadable lock younger than this may be one a starting update is writing right now. */
export const LOCK_WRITE_MS = 10_000;

export type LockJudgement =
  /** The locks may all be removed (`pulumi cancel`); one line each says why. */
  | { readonly kind: "remove"; readonly reasons: string[] }
  /** A lock may still be held: nothing may be done. */
  | { readonly kind: "refuse"; readonly message: string };

/** Whether the stack's locks may be removed: only when every holder is proven gone. */
export function judgeLocks(
  locks: readonly LockFileFact[],
  opts: { readonly forceOtherHost: boolean },
  facts: HostFacts,
): LockJudgement {
  const reasons: string[] = [];
  for (const { file, lock, ageMs } of locks) {
    if (!lock) {
      if (ageMs < LOCK_WRITE_MS) {
        return {
          kind: "refuse",
          message: `the lock file ${file} is being written (unreadable, ${Math.round(ageMs / 1000)} s old): an update is starting; run recover again when it has ended`,
        };
      }
      reasons.push(
        `the lock file ${file} is unreadable (its write was cut short)`,
      );
      continue;
    }
    const verdict = judgeStackLock(
      { host: lock.hostname, pid: lock.pid },
      opts,
      facts,
    );
    const since = `the stack's lock of ${lock.timestamp}`;
    if (verdict.stale) {
      reasons.push(`${since}: ${verdict.reason}`);
      continue;
    }
    const fix =
      lock.hostname === facts.hostname()
        ? `let that update finish (or stop it), then run recover again; if 'ps -p ${lock.pid}' shows no pulumi, nothing holds the lock: remove it with 'pulumi cancel'`
        : `if nothing runs on the stack on ${lock.hostname} any more, run again with --force-unlock-other-host (dangerous if an update still runs there)`;
    return {
      kind: "refuse",
      message: `${since} may still be held: ${verdict.reason}; ${fix}`,
    };
  }
  return { kind: "remove", reasons };
}

/** What `pulumi stack export` says of an operation the killed run left pending. */
export interface PendingOperation {
  readonly type: string;
  readonly resource: { readonly urn: string };
}

/** A step of `pulumi preview --json`. */
export interface PreviewStep {
  readonly op: string;
  readonly urn: string;
  readonly newState?: {
    readonly type: string;
    readonly inputs: { readonly name: string; readonly namespace: string };
  };
}

/** A Helm release the next `up` installs. */
export interface ReleaseToInstall {
  readonly urn: string;
  readonly name: string;
  readonly namespace: string;
}

/** A release to install and the statuses of the records Helm already has of it. */
export interface ReleaseRecords {
  readonly release: ReleaseToInstall;
  readonly statuses: readonly string[];
}

const HELM_RELEASE = "kubernetes:helm.sh/v3:Release";

/** The Helm releases the preview creates. */
export function releasesToInstall(
  steps: readonly PreviewStep[],
): ReleaseToInstall[] {
  return steps.flatMap((s) =>
    s.op === "create" && s.newState?.type === HELM_RELEASE
      ? [{ urn: s.urn, ...s.newState.inputs }]
      : [],
  );
}

/**
 * Which records are leftovers of a cut-off install (to delete): all pending, or of a release the
 * killed run was creating; the others belong to a release the stack never installed (left alone).
 */
export function judgeReleases(
  found: readonly ReleaseRecords[],
  wasCreating: ReadonlySet<string>,
): { drop: ReleaseRecords[]; foreign: ReleaseRecords[] } {
  const withRecords = found.filter((r) => r.statuses.length > 0);
  const leftover = (r: ReleaseRecords) =>
    wasCreating.has(r.release.urn) ||
    r.statuses.every((st) => st.startsWith("pending"));
  return {
    drop: withRecords.filter(leftover),
    foreign: withRecords.filter((r) => !leftover(r)),
  };
}

export interface RecoverPlan {
  /** Why each lock may be removed; empty: no lock to remove. */
  readonly locks: readonly string[];
  readonly pending: readonly PendingOperation[];
  readonly drop: readonly ReleaseRecords[];
  /** Releases in the way of the next up that are not the stack's: reported, left alone. */
  readonly foreign: readonly ReleaseRecords[];
}

export const selector = (r: ReleaseToInstall) => `owner=helm,name=${r.name}`;
const named = (r: ReleaseRecords) =>
  `Helm release ${r.release.namespace}/${r.release.name} (${r.statuses.join(", ")})`;

/** Whether the plan changes anything. */
export const changesSomething = (p: RecoverPlan) =>
  p.locks.length + p.pending.length + p.drop.length > 0;

/** The plan as the user reads it before confirming: numbered steps, then what is left alone. */
export function planLines(p: RecoverPlan): string[] {
  const lines: string[] = [];
  const step = (text: string) => lines.push(`  ${lines.length + 1}. ${text}`);
  if (p.locks.length > 0) {
    step(`remove the stack's lock ('pulumi cancel'): ${p.locks.join("; ")}`);
  }
  if (p.pending.length > 0) {
    step(
      `clear ${p.pending.length} pending operation(s) of the killed run ('pulumi refresh --clear-pending-creates'): ` +
        p.pending.map((op) => `${op.type} ${op.resource.urn}`).join(", "),
    );
  }
  for (const r of p.drop) {
    step(
      `delete the leftover record(s) of ${named(r)} ('kubectl -n ${r.release.namespace} delete secrets -l ${selector(r.release)}'): the next up installs it again, adopting its objects`,
    );
  }
  return [
    ...lines,
    ...p.foreign.map(
      (r) =>
        `  left alone: ${named(r)} exists but is not the stack's: uninstall it, or the next up fails`,
    ),
  ];
}
