// The steps of each flow: the config each step leaves, what its `up` restarts and what is checked
// after it. Pure; plan.ts decides which flow and refuses what cannot be planned.
import {
  type ConfigChange,
  configChanges,
  dashed,
  type IstioState,
  type RevisionConfig,
} from "./state";
import { compareVersions, UpgradeRefusal } from "./versions";

export interface PlannedStep {
  /** 1-based, fixed per flow: canary 1 adopt, 2 add, 3 move, 4 remove; in place 1. */
  readonly index: number;
  readonly title: string;
  /** The config already holds this step: nothing to apply. */
  readonly done: boolean;
  readonly before: IstioState;
  readonly after: IstioState;
  readonly changes: readonly ConfigChange[];
  /** What the step's `up` restarts or replaces. */
  readonly restarts: readonly string[];
  /** What is checked after its `up`. */
  readonly check: string;
  /** The config changes that undo it (then `pulumi up`). */
  readonly rollback: readonly ConfigChange[];
  readonly notes: readonly string[];
}

/** What a step is, before its changes are worked out (steps.ts). */
export interface StepDraft {
  readonly title: string;
  readonly after: IstioState;
  readonly restarts: readonly string[];
  readonly check: string;
  readonly notes?: readonly string[];
}

/** A numbered step from its draft: changes, rollback and done from the states. */
export function toStep(
  index: number,
  before: IstioState,
  d: StepDraft,
): PlannedStep {
  const changes = configChanges(before, d.after);
  const rollback = configChanges(d.after, before);
  const notes = [...(d.notes ?? [])];
  for (const [name, r] of Object.entries(before.revisions ?? {})) {
    if (r.values && !(name in (d.after.revisions ?? {}))) {
      notes.push(
        `rolling back re-adds revision ${name} without its values (${Object.keys(r.values).join(", ")}): set them again with 'pulumi config set --path istio.revisions.${name}.values.<key> ...'`,
      );
    }
  }
  return {
    index,
    title: d.title,
    done: changes.length === 0,
    before,
    after: d.after,
    changes,
    restarts: d.restarts,
    check: d.check,
    rollback,
    notes,
  };
}

/** Picks the new revision's name among the configured ones, or a new one. */
export function newRevisionName(
  revisions: Readonly<Record<string, RevisionConfig>>,
  tags: Readonly<Record<string, string>>,
  to: string,
  asked: string | undefined,
): string {
  const fix = `name another with --revision-name <name>`;
  if (asked !== undefined) {
    if (asked === "default" || asked in tags) {
      throw new UpgradeRefusal(
        `--revision-name ${asked}: ${asked === "default" ? "Istio reserves 'default'" : `${asked} is a tag of the stack`}; ${fix}`,
      );
    }
    const r = revisions[asked];
    if (r !== undefined && r.version !== to) {
      throw new UpgradeRefusal(
        `--revision-name ${asked}: the stack already has revision ${asked} on ${r.version}, not ${to}; ${fix}`,
      );
    }
    return asked;
  }
  const same = Object.keys(revisions).filter(
    (n) => revisions[n].version === to,
  );
  const picked = same.find((n) => n !== tags.prod) ?? same[0];
  if (picked !== undefined) {
    return picked;
  }
  const name = dashed(to);
  if (name in revisions || name in tags) {
    throw new UpgradeRefusal(
      `the new revision's default name ${name} is taken by ${name in tags ? "a tag" : `revision ${name} on ${revisions[name].version}`}; ${fix}`,
    );
  }
  return name;
}

const ROLL = "kubectl rollout restart deployment -n <namespace>";

/** In place: istio.version only; Helm rolls istiod and the gateways, sidecars wait for a restart. */
export function inPlaceStep(
  s: IstioState,
  current: string,
  to: string,
): StepDraft {
  const ambient = s.dataplane === "ambient";
  const notes = [
    "Helm upgrades the charts in Istio's order: base (CRDs), istiod, then the gateways" +
      (ambient ? ", istio-cni, ztunnel" : ""),
  ];
  if (s.imageTag !== undefined) {
    notes.push(
      `istio.tag pins the images to ${s.imageTag}: they stay there unless you change it too ('pulumi config rm --path istio.tag' to follow the version)`,
    );
  }
  return {
    title: `in place: istio.version ${current} -> ${to}`,
    after: { ...s, version: to },
    restarts: [
      `istiod: rolled by Helm onto ${to}`,
      `gateways: rolled by Helm onto ${to}`,
      ...(ambient
        ? [
            `istio-cni, then ztunnel: their DaemonSets roll node by node after the control plane; ztunnel's upgrade resets long-lived connections on each node`,
            "waypoints: rolled by istiod onto the new proxy",
          ]
        : [
            `sidecars: keep the ${current} proxy until their pods restart (${ROLL}), then istiod injects ${to}`,
          ]),
    ],
    check: `istiod Available on ${to}; every pod of the stack's namespaces Ready (revision default)`,
    notes,
  };
}

const names = (xs: readonly string[]) => xs.join(", ");

/** The four canary steps, each marked done when the config already holds it. */
export function canarySteps(
  s0: IstioState,
  current: string,
  to: string,
  revisionName: string | undefined,
): PlannedStep[] {
  const curRev = dashed(current);
  // 1: adopt revisions: the running version as revision <x-y-z>, tag prod on it.
  const s1: IstioState =
    s0.revisions !== undefined
      ? s0
      : {
          ...s0,
          version: s0.version ?? current,
          revisions: { [curRev]: { version: current } },
          tags: { ...s0.tags, prod: curRev },
        };
  const adopt = toStep(1, s0, {
    title: `adopt revisions: ${current} runs as revision ${curRev}, tag prod -> ${curRev}`,
    after: s1,
    restarts: [
      `istiod: the release istiod is replaced by istiod-${curRev} (the same ${current})`,
      `app namespaces: istio-injection=enabled becomes istio.io/rev=prod; their pods restart once and are injected by ${curRev}`,
      "gateways: the gateway chart takes revision prod; their pods restart once",
    ],
    check: `istiod-${curRev} Available, istiod gone; every pod of the stack's namespaces injected by ${curRev} and Ready`,
    notes: [
      "the only step that restarts every app pod without a new proxy version",
    ],
  });
  const revs = s1.revisions!;
  const tags = s1.tags ?? {};
  const next = newRevisionName(revs, tags, to, revisionName);
  const olds = Object.keys(revs).filter((n) => n !== next);
  if (!(next in revs) && olds.length >= 2) {
    throw new UpgradeRefusal(
      `--to ${to}: the stack already has two revisions (${names(olds.map((n) => `${n} on ${revs[n].version}`))}), the most it runs: ` +
        `finish the upgrade in progress (--to the newer one's version) or roll it back (move the tags back, remove the newer revision) first`,
    );
  }
  const oldNames = names(olds);
  // 2: add the new revision beside the old; a `canary` tag follows it.
  const withNew = { ...revs, [next]: revs[next] ?? { version: to } };
  const newest = Object.values(withNew)
    .map((r) => r.version)
    .reduce((a, b) => (compareVersions(b, a) > 0 ? b : a));
  const s2: IstioState = {
    ...s1,
    version: newest,
    revisions: withNew,
    tags: "canary" in tags ? { ...tags, canary: next } : s1.tags,
  };
  const valued = olds.filter((n) => revs[n].values !== undefined);
  const add = toStep(2, s1, {
    title: `add revision ${next} (${to}) beside ${oldNames}`,
    after: s2,
    restarts: [
      `istiod-${next} (${to}) starts beside istiod-${oldNames}; no app pod moves`,
      ...(s2.version !== s1.version
        ? [
            `istio.version ${s1.version} -> ${s2.version}: the base chart (CRDs) and the gateway chart move; gateway pods stay injected by prod (${tags.prod})`,
          ]
        : []),
      ...("canary" in tags && tags.canary !== next
        ? [`namespaces on tag canary roll onto ${next}`]
        : []),
    ],
    check: `istiod-${next} Available beside istiod-${oldNames}; every pod Ready on its tag's revision`,
    notes:
      valued.length > 0 && !(next in revs)
        ? [
            `revision ${names(valued)} has values (${names(valued.flatMap((n) => Object.keys(revs[n].values!)))}); ${next} gets none: set its own with 'pulumi config set --path istio.revisions.${next}.values.<key> ...' before this step if it needs them`,
          ]
        : [],
  });
  // 3: every tag, and every namespace pinned to an old revision, onto the new one.
  const moved = (m: Readonly<Record<string, string>> | undefined) =>
    m === undefined
      ? undefined
      : Object.fromEntries(
          Object.entries(m).map(([k, v]) => [k, olds.includes(v) ? next : v]),
        );
  const s3: IstioState = {
    ...s2,
    tags: Object.fromEntries(Object.keys(s2.tags ?? {}).map((t) => [t, next])),
    namespaceTags: moved(s2.namespaceTags),
  };
  const move = toStep(3, s2, {
    title: `move tag prod${Object.keys(tags).length > 1 ? " (and every other tag)" : ""} to ${next}`,
    after: s3,
    restarts: [
      `the tags' webhooks point at istiod-${next}; app namespaces on prod and the gateways roll onto ${next} (proxies ${to})`,
    ],
    check: `every pod of the stack's namespaces injected by ${next} and Ready`,
  });
  // 4: remove the old revision; an explicit defaultRevision follows prod.
  const s4: IstioState = {
    ...s3,
    version: to,
    revisions: { [next]: withNew[next] },
    defaultRevision: s3.defaultRevision === undefined ? undefined : next,
  };
  const remove = toStep(4, s3, {
    title: `remove revision ${oldNames}`,
    after: s4,
    restarts: [
      `${s3.defaultRevision === undefined ? `the base chart's defaultRevision (the default validator) follows tag prod, on ${next} since step 3` : `the base chart's defaultRevision (the default validator) -> ${next}`}; then istiod-${oldNames} and its webhooks are deleted; no pod restarts`,
    ],
    check: `istiod-${oldNames} gone; every pod still on ${next} and Ready`,
  });
  return [adopt, add, move, remove];
}
