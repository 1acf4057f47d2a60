// Which Istio upgrades the tool accepts: a release of a minor this program knows, at most one minor
// in place, at most two minors by canary (Istio skips one minor at most), never down across minors.
// Pure.
import { ISTIO_MINORS } from "../../components/config/istioReleases";

/** Raised for an upgrade the tool will not plan; the message names what, the value and the fix. */
export class UpgradeRefusal extends Error {
  constructor(message: string) {
    super(message);
    this.name = "UpgradeRefusal";
  }
}

/** `1.30.4`: an Istio release as the charts are published (no pre-releases). */
export const RELEASE = /^(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)$/;

export type Minors = Readonly<Record<string, string>>;

const parts = (v: string) => v.split(".").map(Number);
export const minorOf = (v: string): string => v.split(".", 2).join(".");

/** Negative, zero or positive as `a` is older, the same or newer than `b`. */
export function compareVersions(a: string, b: string): number {
  const [x, y] = [parts(a), parts(b)];
  for (let i = 0; i < 3; i++) {
    if (x[i] !== y[i]) {
      return (x[i] ?? 0) - (y[i] ?? 0);
    }
  }
  return 0;
}

/** How many minors `to` is ahead of `from` (negative behind); Infinity across majors. */
export function minorJump(from: string, to: string): number {
  const [a, b] = [parts(from), parts(to)];
  return a[0] === b[0] ? b[1] - a[1] : b[0] > a[0] ? Infinity : -Infinity;
}

/** Refuses a target that is not a release of a known minor; returns notes (a newer patch). */
export function checkTarget(
  to: string,
  minors: Minors = ISTIO_MINORS,
): string[] {
  const known = Object.values(minors).join(", ");
  if (!RELEASE.test(to)) {
    throw new UpgradeRefusal(
      `--to ${JSON.stringify(to)} is not an Istio release: give major.minor.patch, e.g. --to ${known.split(", ").pop()}`,
    );
  }
  const newest = minors[minorOf(to)];
  if (newest === undefined) {
    throw new UpgradeRefusal(
      `--to ${to}: this program renders the chart values of Istio ${Object.keys(minors).join(" and ")} only, ` +
        `not ${minorOf(to)}; use one of ${known}`,
    );
  }
  return compareVersions(to, newest) > 0
    ? [
        `${to} is newer than the newest ${minorOf(to)} release this program knows (${newest}): its charts and images must exist`,
      ]
    : [];
}

/** The newest known release of the minor `n` minors after `version`'s, if known. */
function newestAhead(version: string, n: number, minors: Minors): string {
  const [major, minor] = parts(version);
  return minors[`${major}.${minor + n}`] ?? `${major}.${minor + n}.x`;
}

/** Refuses a jump the flow cannot make; `current` is the version the stack runs. */
export function checkJump(
  current: string,
  to: string,
  flow: "canary" | "in-place",
  minors: Minors = ISTIO_MINORS,
): void {
  const jump = minorJump(current, to);
  if (jump < 0) {
    throw new UpgradeRefusal(
      `--to ${to} is a downgrade across minors from ${current}: Istio does not support it. ` +
        `To undo a canary upgrade, move the tag back (pulumi config set --path istio.tags.prod <old revision>, then pulumi up); ` +
        `otherwise stay on ${minorOf(current)} (e.g. --to ${minors[minorOf(current)] ?? current})`,
    );
  }
  if (flow === "in-place" && jump > 1) {
    throw new UpgradeRefusal(
      `--to ${to} with --in-place jumps ${jump === Infinity ? "a major" : `${jump} minors`} from ${current}: in place, Istio upgrades one minor at a time. ` +
        `Go to ${newestAhead(current, 1, minors)} first (--in-place --to ${newestAhead(current, 1, minors)}), or drop --in-place: a canary upgrade may skip one minor`,
    );
  }
  if (flow === "canary" && jump > 2) {
    throw new UpgradeRefusal(
      `--to ${to} jumps ${jump === Infinity ? "a major" : `${jump} minors`} from ${current}: a canary upgrade may skip one minor at most. ` +
        `Go to ${newestAhead(current, 2, minors)} first (--to ${newestAhead(current, 2, minors)})`,
    );
  }
}
