// What the upgrade scenarios (upgrade.ts) read: each revision's own istiod on the test bed
// (test/testbed/istiod-up.sh --revision), which istiod injected a pod and which one its proxy
// would connect to, and the mesh config a revision's istiod computes for the demo's proxies,
// reduced to what must not change when the pods move from one revision to the other.
import { execFileSync } from "child_process";
import * as path from "path";
import { check, env, kube, KUBECONFIG, ROOT, WORK } from "./harness";
import {
  eventually,
  outboundRoutes,
  pods,
  subsetWeights,
} from "./controlPlane";
import type { KubeObject } from "./kubeClient";
import {
  inboundRbac,
  inboundTransports,
  outboundCluster,
  protoMillis,
  type ProxyConfig,
  readProxyConfig,
  type RbacRule,
  usesIstioMutualTls,
} from "./xds";

export const DEMO = "mesh-demo";
export const INGRESS = "istio-ingress";
const BACKEND = `backend.${DEMO}.svc.cluster.local`;
const KUBE_DIR = path.join(WORK, "kube");
const ISTIOD_UP = path.join(ROOT, "test", "testbed", "istiod-up.sh");
const XDS_BIN = env("TESTBED_XDS");

/** A revision's pilot-discovery on loopback, as istiod-up.sh --revision wrote its env file. */
export interface RevisionIstiod {
  readonly revision: string;
  readonly xds: string;
  readonly injectURL: string;
  readonly validateURL: string;
  readonly caBundle: string;
}

function istiodUp(revision: string, mode: string): string {
  return execFileSync(
    "bash",
    [ISTIOD_UP, "--revision", revision, mode, KUBE_DIR],
    { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"], timeout: 180_000 },
  );
}

function parseEnv(revision: string, out: string): RevisionIstiod {
  const kv = Object.fromEntries(
    out
      .split("\n")
      .filter((l) => /^[A-Z_]+=/.test(l))
      .map((l) => [l.slice(0, l.indexOf("=")), l.slice(l.indexOf("=") + 1)]),
  );
  for (const k of [
    "ISTIOD_XDS",
    "ISTIOD_WEBHOOK_URL_INJECT",
    "ISTIOD_WEBHOOK_URL_VALIDATE",
    "ISTIOD_CA_BUNDLE",
  ]) {
    check(kv[k], `istiod-up.sh --revision ${revision} printed no ${k}`);
  }
  check(
    kv.ISTIOD_REVISION === revision,
    `istiod-up.sh printed the env of revision ${kv.ISTIOD_REVISION}, not ${revision}`,
  );
  return {
    revision,
    xds: kv.ISTIOD_XDS,
    injectURL: kv.ISTIOD_WEBHOOK_URL_INJECT,
    validateURL: kv.ISTIOD_WEBHOOK_URL_VALIDATE,
    caBundle: kv.ISTIOD_CA_BUNDLE,
  };
}

/**
 * Arms a revision's istiod: its ports and env file now (the chart values need its URLs); its
 * pilot-discovery starts once the `up` has applied istio-sidecar-injector-<revision>, and its
 * watcher releases the chart's istiod-<revision> pod only then.
 */
export function armRevision(revision: string): RevisionIstiod {
  return parseEnv(revision, istiodUp(revision, "--when-injector-exists"));
}

/** Waits until the revision's pilot-discovery runs and is ready. */
export function waitRevision(revision: string): void {
  istiodUp(revision, "--wait");
}

/** Stops the revision's watcher and pilot-discovery (its chart's release is gone). */
export function stopRevision(revision: string): void {
  istiodUp(revision, "--stop");
}

/** The pid of a revision's pilot-discovery, or undefined when none runs. */
export function revisionPid(revision: string): number | undefined {
  try {
    const pid = Number(
      execFileSync("cat", [path.join(KUBE_DIR, `istiod-${revision}.pid`)], {
        encoding: "utf8",
        stdio: ["ignore", "pipe", "ignore"],
      }).trim(),
    );
    process.kill(pid, 0);
    return pid;
  } catch {
    return undefined;
  }
}

/** The Service address istiod-<rev>'s proxies connect to (the chart's mesh config says so). */
export const discoveryAddressOf = (revision: string) =>
  `istiod-${revision}.istio-system.svc:15012`;

/** Who injected a pod, as the pod itself says. */
export interface Injection {
  /** The istio.io/rev annotation the injector sets to its own revision. */
  readonly annotation?: string;
  /** The pod's istio.io/rev label, if any (the gateway chart's pods carry their tag). */
  readonly label?: string;
  /** The revision in the sidecar.istio.io/status annotation. */
  readonly status?: string;
  /** The injected proxy's discoveryAddress (PROXY_CONFIG env of istio-proxy). */
  readonly discoveryAddress?: string;
}

const parsed = (text: string | undefined): any => {
  try {
    return text ? JSON.parse(text) : {};
  } catch {
    return {};
  }
};

export function injectionOf(pod: KubeObject): Injection {
  const proxy = [
    ...(pod.spec.initContainers ?? []),
    ...(pod.spec.containers ?? []),
  ].find((c: any) => c.name === "istio-proxy");
  const proxyConfig = (proxy?.env ?? []).find(
    (e: any) => e.name === "PROXY_CONFIG",
  )?.value;
  return {
    annotation: pod.metadata.annotations?.["istio.io/rev"],
    label: pod.metadata.labels?.["istio.io/rev"],
    status: parsed(pod.metadata.annotations?.["sidecar.istio.io/status"])
      .revision,
    discoveryAddress: parsed(proxyConfig).discoveryAddress,
  };
}

const live = (list: KubeObject[]) =>
  list.filter((p) => !p.metadata.deletionTimestamp);

/**
 * Every pod of the namespace was injected by `revision` and its proxy connects to that
 * revision's istiod: the injector's istio.io/rev annotation, sidecar.istio.io/status and the
 * proxy's discoveryAddress say so. No pod is terminating.
 */
export async function checkPodsOn(
  namespace: string,
  revision: string,
): Promise<string> {
  const all = await pods(namespace);
  const gone = all.filter((p) => p.metadata.deletionTimestamp);
  check(
    gone.length === 0,
    `${gone.length} pods of ${namespace} still terminating`,
  );
  check(all.length > 0, `no pods in ${namespace}`);
  for (const p of all) {
    const i = injectionOf(p);
    check(
      i.annotation === revision &&
        i.status === revision &&
        i.discoveryAddress === discoveryAddressOf(revision),
      `${namespace}/${p.metadata.name} is not on revision ${revision}: ${JSON.stringify(i)}`,
    );
  }
  const i = injectionOf(all[0]);
  return `${all.length} pods of ${namespace} injected by ${revision} (${JSON.stringify(i)})`;
}

/** name -> uid of the namespace's live pods: equal maps mean no pod was replaced. */
export async function podIdentities(
  namespace: string,
): Promise<Record<string, string>> {
  return Object.fromEntries(
    live(await pods(namespace))
      .map((p) => [
        p.metadata.name as string,
        (p.metadata as { uid?: string }).uid ?? "",
      ])
      .sort(),
  );
}

/** Pods of any namespace labelled, annotated or injected istio.io/rev=<revision>. */
export async function podsOn(revision: string): Promise<string[]> {
  return (await kube.list("/api/v1/pods"))
    .filter((p) => {
      const i = injectionOf(p);
      return (
        i.label === revision ||
        i.annotation === revision ||
        i.status === revision
      );
    })
    .map((p) => `${p.metadata.namespace}/${p.metadata.name}`);
}

/**
 * The webhooks (mutating and validating) whose clientConfig calls `url` (exactly), or, with
 * `anyPath`, anything on its host:port (the istiod behind it).
 */
export async function webhooksCalling(
  url: string,
  anyPath = false,
): Promise<string[]> {
  const hostPort = new URL(url).host;
  const out: string[] = [];
  for (const kind of [
    "mutatingwebhookconfigurations",
    "validatingwebhookconfigurations",
  ]) {
    for (const w of await kube.list(
      `/apis/admissionregistration.k8s.io/v1/${kind}`,
    )) {
      for (const h of w.webhooks ?? []) {
        const u = h.clientConfig?.url;
        if (u && (anyPath ? new URL(u).host === hostPort : u === url)) {
          out.push(`${kind}/${w.metadata.name}[${h.name}]`);
        }
      }
    }
  }
  return out;
}

/**
 * What a revision's istiod sends the demo's proxies, reduced to what a move between revisions
 * must keep: frontend's routes to the backend (weights by subset, timeout, retries), whether
 * its backend clusters originate Istio mTLS, what every demo pod's inbound 8080 accepts, and
 * the RBAC of backend and frontend. Endpoint IPs are left out: the pods rolled.
 */
export interface MeshView {
  readonly backendRoutes: Array<{
    weights: Record<string, number>;
    timeoutMs?: number;
    retries?: number;
    perTryMs?: number;
  }>;
  readonly mtlsClusters: Record<string, boolean>;
  readonly inbound: Record<string, string[]>;
  readonly rbac: Record<string, RbacRule[]>;
}

function proxyConfigFrom(xds: string, pod: KubeObject): ProxyConfig {
  return readProxyConfig(
    XDS_BIN,
    KUBECONFIG,
    xds,
    `${pod.metadata.namespace}/${pod.metadata.name}`,
  );
}

export async function meshView(istiod: RevisionIstiod): Promise<MeshView> {
  const demo = live(await pods(DEMO)).sort((a, b) =>
    a.metadata.name.localeCompare(b.metadata.name),
  );
  const of = (app: string, version?: string) => {
    const p = demo.find(
      (x) =>
        x.metadata.labels?.app === app &&
        (!version || x.metadata.labels?.version === version),
    );
    check(p, `no ${app}${version ? ` ${version}` : ""} pod in ${DEMO}`);
    return p;
  };
  // A pod that just rolled may not be known to istiod yet: retry until its config is whole.
  const read = async (pod: KubeObject) =>
    (
      await eventually(
        `istiod-${istiod.revision}'s config for ${DEMO}/${pod.metadata.name}`,
        () => {
          const cfg = proxyConfigFrom(istiod.xds, pod);
          check(
            cfg.routes.some((r) => r.name === "80") &&
              cfg.listeners.some((l) => l.name === "virtualInbound"),
            "incomplete",
          );
          return cfg;
        },
        60_000,
      )
    ).value;
  const frontendCfg = await read(of("frontend"));
  const backendCfg = await read(of("backend", "v1"));
  const versions = ["v1", "v2"];
  const backendRoutes = outboundRoutes(frontendCfg, BACKEND, 80).map(
    (r: any) => ({
      weights: subsetWeights(r, BACKEND, 80, versions),
      timeoutMs: protoMillis(r.route?.timeout),
      retries: r.route?.retry_policy?.num_retries,
      perTryMs: protoMillis(r.route?.retry_policy?.per_try_timeout),
    }),
  );
  const mtlsClusters: Record<string, boolean> = {};
  for (const v of versions) {
    const name = outboundCluster(BACKEND, 80, v);
    const c = frontendCfg.clusters.find((x) => x.name === name);
    mtlsClusters[v] = Boolean(c && usesIstioMutualTls(c));
  }
  const inbound: Record<string, string[]> = {};
  for (const p of demo) {
    const key = `${p.metadata.labels?.app}/${p.metadata.labels?.version ?? "-"}`;
    inbound[key] = inboundTransports(await read(p), 8080);
  }
  return {
    backendRoutes,
    mtlsClusters,
    inbound,
    rbac: {
      backend: inboundRbac(backendCfg, 8080),
      frontend: inboundRbac(frontendCfg, 8080),
    },
  };
}

/** One line for the log. */
export function describeView(v: MeshView): string {
  const rbac = Object.entries(v.rbac)
    .map(
      ([who, rules]) =>
        `${who}: ${rules
          .map((r) =>
            r.matchesNothing
              ? "deny-all"
              : `${r.principals.map((p) => p.split("/").pop()).join("|")} ${r.methods.join("/")}`,
          )
          .join("; ")}`,
    )
    .join(", ");
  return (
    `routes ${JSON.stringify(v.backendRoutes)}; mTLS clusters ${JSON.stringify(v.mtlsClusters)}; ` +
    `inbound 8080 ${JSON.stringify(v.inbound)}; RBAC ${rbac}`
  );
}
