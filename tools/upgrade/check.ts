// The check after each step's `up`: istiod of each configured revision Available (and a removed
// revision's gone), and every pod of the stack's namespaces injected by the revision its namespace
// resolves to and Ready. The injector records the revision in the pod's sidecar.istio.io/status
// annotation and its istio.io/rev label; a pod that is terminating, on another revision or not
// Ready keeps the check waiting, up to --check-timeout. Kubernetes is read through KubePort
// (kubectl's JSON), so the judgement is tested on canned output. Pure but for the wait loop.
import type { PlannedStep } from "./steps";
import { type IstioState, resolveRevision } from "./state";

export const ISTIO_NAMESPACE = "istio-system";

/** `kubectl get ... -o json`: the parsed answer. */
export interface KubePort {
  getJson(args: readonly string[]): Promise<unknown>;
}

export interface Expectation {
  /** Deployments in istio-system that must be Available, with the release they run. */
  readonly istiod: readonly {
    readonly name: string;
    readonly version: string;
  }[];
  /** Deployments in istio-system that must be gone. */
  readonly gone: readonly string[];
  /** Namespace -> the revision its pods must be injected by (null: Ready only, ambient). */
  readonly namespaces: Readonly<Record<string, string | null>>;
}

const isMap = (v: unknown): v is Record<string, unknown> =>
  typeof v === "object" && v !== null && !Array.isArray(v);

/** A revision whose injector is served from elsewhere (istiodRemote.injectionURL: the test bed). */
const remote = (values: Record<string, unknown> | undefined) => {
  const r = values?.istiodRemote;
  return isMap(r) && typeof r.injectionURL === "string";
};

/**
 * The istiod Deployments a state runs: istiod-<rev> per revision, or istiod. A revision injected
 * from istiodRemote.injectionURL runs its istiod outside the cluster: no Deployment to check.
 */
function istiodOf(s: IstioState, fallback: string) {
  return s.revisions === undefined
    ? [{ name: "istiod", version: s.version ?? fallback }]
    : Object.entries(s.revisions)
        .filter(([, r]) => !remote(r.values))
        .map(([rev, r]) => ({ name: `istiod-${rev}`, version: r.version }));
}

/**
 * What must hold after `step`: from the stack's outputs (istioRevisions.namespaces, the lead's
 * export), else from the config (appNamespace, then istio.namespaceTags' namespaces).
 */
export function expectationFor(
  step: PlannedStep,
  to: string,
  outputs: Record<string, unknown>,
): Expectation {
  const { before, after } = step;
  const istiod = istiodOf(after, to);
  const gone = istiodOf(before, to)
    .map((d) => d.name)
    .filter((n) => !istiod.some((d) => d.name === n));
  const expected = (tagOrRev: string): string | null =>
    after.dataplane === "ambient"
      ? null
      : after.revisions === undefined
        ? "default"
        : resolveRevision(after, tagOrRev);
  const namespaces: Record<string, string | null> = {};
  const rev = outputs.istioRevisions;
  if (isMap(rev) && isMap(rev.namespaces)) {
    for (const [ns, r] of Object.entries(rev.namespaces)) {
      namespaces[ns] = typeof r === "string" ? expected(r) : expected("prod");
    }
  } else {
    const app = outputs.appNamespace;
    for (const ns of [
      ...(typeof app === "string" ? [app] : []),
      ...Object.keys(after.namespaceTags ?? {}),
    ]) {
      namespaces[ns] = expected(after.namespaceTags?.[ns] ?? "prod");
    }
  }
  return { istiod, gone, namespaces };
}

interface K8sObject {
  metadata?: {
    name?: string;
    deletionTimestamp?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
  };
  spec?: {
    replicas?: number;
    template?: { spec?: { containers?: { image?: string }[] } };
  };
  status?: {
    phase?: string;
    availableReplicas?: number;
    updatedReplicas?: number;
    conditions?: { type?: string; status?: string }[];
  };
}

const itemsOf = (list: unknown): K8sObject[] =>
  isMap(list) && Array.isArray(list.items) ? (list.items as K8sObject[]) : [];

/** The release an image's tag names (`:1.30.5`, `:1.30.5-distroless`), if it names one. */
const imageRelease = (image: string | undefined) =>
  /:([0-9]+\.[0-9]+\.[0-9]+)(-[a-z]+)?$/.exec(image ?? "")?.[1];

/** Problems of istio-system's istiod Deployments against the expectation. */
export function judgeIstiod(deployments: unknown, e: Expectation): string[] {
  const byName = new Map(
    itemsOf(deployments).map((d) => [d.metadata?.name ?? "", d]),
  );
  const out: string[] = [];
  for (const want of e.istiod) {
    const d = byName.get(want.name);
    if (d === undefined) {
      out.push(`Deployment ${ISTIO_NAMESPACE}/${want.name} is missing`);
      continue;
    }
    const replicas = d.spec?.replicas ?? 1;
    const ready = Math.min(
      d.status?.availableReplicas ?? 0,
      d.status?.updatedReplicas ?? 0,
    );
    if (ready < replicas) {
      out.push(
        `Deployment ${ISTIO_NAMESPACE}/${want.name} is not Available (${ready}/${replicas} updated and available)`,
      );
    }
    const release = imageRelease(
      d.spec?.template?.spec?.containers?.[0]?.image,
    );
    if (release !== undefined && release !== want.version) {
      out.push(
        `Deployment ${ISTIO_NAMESPACE}/${want.name} runs ${release}, not ${want.version}`,
      );
    }
  }
  for (const name of e.gone) {
    if (byName.has(name)) {
      out.push(`Deployment ${ISTIO_NAMESPACE}/${name} is still there`);
    }
  }
  return out;
}

/** The revision that injected a pod: its sidecar status annotation's, else its istio.io/rev label. */
export function podRevision(p: K8sObject): string | undefined {
  const status = p.metadata?.annotations?.["sidecar.istio.io/status"];
  if (status !== undefined) {
    try {
      const r = (JSON.parse(status) as { revision?: unknown }).revision;
      if (typeof r === "string" && r !== "") {
        return r;
      }
    } catch {
      // not JSON: fall back to the label
    }
  }
  return p.metadata?.labels?.["istio.io/rev"];
}

/** Problems of a namespace's pods: each names the pod and what is wrong. */
export function judgePods(
  namespace: string,
  pods: unknown,
  revision: string | null,
): string[] {
  const out: string[] = [];
  for (const p of itemsOf(pods)) {
    const name = `${namespace}/${p.metadata?.name ?? "?"}`;
    const phase = p.status?.phase;
    const optOut =
      p.metadata?.annotations?.["sidecar.istio.io/inject"] === "false" ||
      p.metadata?.labels?.["sidecar.istio.io/inject"] === "false";
    if (phase === "Succeeded" || phase === "Failed") {
      continue;
    }
    if (p.metadata?.deletionTimestamp !== undefined) {
      out.push(`${name}: terminating (revision ${podRevision(p) ?? "none"})`);
      continue;
    }
    const wrong: string[] = [];
    if (revision !== null && !optOut) {
      const got = podRevision(p);
      if (got !== revision) {
        wrong.push(
          got === undefined
            ? `not injected (expected revision ${revision})`
            : `on revision ${got} (expected ${revision})`,
        );
      }
    }
    const ready = p.status?.conditions?.some(
      (c) => c.type === "Ready" && c.status === "True",
    );
    if (!ready) {
      wrong.push(`not Ready (phase ${phase ?? "unknown"})`);
    }
    if (wrong.length > 0) {
      out.push(`${name}: ${wrong.join(", ")}`);
    }
  }
  return out;
}

/** Every problem now: istiod first, then each namespace's pods. */
export async function checkOnce(
  kube: KubePort,
  e: Expectation,
): Promise<string[]> {
  const deployments = await kube.getJson([
    "get",
    "deployments",
    "-n",
    ISTIO_NAMESPACE,
    "-l",
    "app=istiod",
    "-o",
    "json",
  ]);
  const out = judgeIstiod(deployments, e);
  for (const [ns, rev] of Object.entries(e.namespaces)) {
    const pods = await kube.getJson(["get", "pods", "-n", ns, "-o", "json"]);
    out.push(...judgePods(ns, pods, rev));
  }
  return out;
}

export interface WaitOptions {
  readonly timeoutMs: number;
  readonly pollMs: number;
  readonly now: () => number;
  readonly sleep: (ms: number) => Promise<void>;
  readonly signal?: AbortSignal;
}

/** Checks until nothing is wrong or the timeout passes; returns the last problems (empty: passed). */
export async function waitForCheck(
  kube: KubePort,
  e: Expectation,
  o: WaitOptions,
): Promise<string[]> {
  const end = o.now() + o.timeoutMs;
  for (;;) {
    let problems: string[];
    try {
      problems = await checkOnce(kube, e);
    } catch (err) {
      problems = [`kubectl: ${(err as Error).message.split("\n")[0]}`];
    }
    if (problems.length === 0 || o.now() >= end || o.signal?.aborted) {
      return problems;
    }
    await o.sleep(Math.min(o.pollMs, Math.max(0, end - o.now())));
  }
}
