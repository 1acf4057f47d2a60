// The Gateway API CRDs are shared by every team on a cluster: deleting one deletes every object of
// its kind, cluster-wide, and downgrading one drops the fields newer objects use. Before the stack
// registers anything it reads which bundle the cluster has (kubectl, the current context: the
// stack's provider uses it too) and decides, with the config, what the stack does with them.
// Registers nothing.
import { execFileSync } from "child_process";
import { gatewayApiCrdsUrl } from "../core";
import { show } from "./show";
import type { RoutingConfig } from "./routing";

/** A Gateway API CRD bundle as its CRDs' annotations name it. */
export interface GatewayApiBundle {
  /** `gateway.networking.k8s.io/bundle-version`, e.g. v1.5.1. */
  readonly version: string;
  /** `gateway.networking.k8s.io/channel`: standard or experimental. */
  readonly channel: string;
}

/** What is installed: a bundle, nothing, or CRDs without the bundle annotations. */
export type InstalledGatewayApi = GatewayApiBundle | "absent";

/**
 * What the stack does with the CRDs:
 * - install: apply the pinned bundle (none installed, or the same one, which is adopted);
 * - cluster: use what the cluster has and leave it alone (a newer or experimental bundle, or
 *   routing.gatewayApiCrds cluster);
 * - refuse: stop before any change, with the reason and the fix.
 */
export type GatewayApiCrdsPlan =
  | { readonly action: "install"; readonly note: string }
  | { readonly action: "cluster"; readonly note: string }
  | { readonly action: "refuse"; readonly reason: string };

/** The CRD whose annotations speak for the bundle (every bundle has it). */
export const GATEWAY_CRD = "gateways.gateway.networking.k8s.io";

/** vX.Y.Z as numbers, or undefined when it is not one. */
function semver(v: string): [number, number, number] | undefined {
  const m = /^v?(\d+)\.(\d+)\.(\d+)(?:[-+].*)?$/.exec(v);
  return m ? [Number(m[1]), Number(m[2]), Number(m[3])] : undefined;
}

/** <0, 0, >0 as a is older, the same as or newer than b; undefined if either is not a version. */
export function compareVersions(a: string, b: string): number | undefined {
  const x = semver(a);
  const y = semver(b);
  if (!x || !y) {
    return undefined;
  }
  return x[0] - y[0] || x[1] - y[1] || x[2] - y[2];
}

/**
 * The plan for the CRDs, given the config, the bundle the pinned Istio builds against and what
 * the cluster has. Pure.
 */
export function planGatewayApiCrds(
  routing: Pick<RoutingConfig, "gatewayApiCrds" | "gatewayApiCrdsFile">,
  wanted: string,
  /** Why the mesh needs `wanted` or newer, for the messages (istioGatewayApiNeed, linkerdGatewayApiNeed). */
  need: string,
  installed: InstalledGatewayApi,
): GatewayApiCrdsPlan {
  const source = routing.gatewayApiCrdsFile ?? gatewayApiCrdsUrl(wanted);
  const upgrade = `kubectl apply --server-side -f ${source}`;
  if (installed === "absent") {
    return routing.gatewayApiCrds === "install"
      ? {
          action: "install",
          note: `installing the Gateway API CRDs ${wanted} (standard channel); they are kept when the stack is destroyed`,
        }
      : {
          action: "refuse",
          reason: `routing.gatewayApiCrds is ${show("cluster")} but the cluster has no Gateway API CRDs (no ${GATEWAY_CRD}); ${need}: install them (${upgrade}), or let the stack install them with 'pulumi config set --path routing.gatewayApiCrds install'`,
        };
  }
  const order = compareVersions(installed.version, wanted);
  const found = `the cluster's Gateway API CRDs are ${installed.version} (${installed.channel} channel)`;
  if (order === undefined) {
    return {
      action: "refuse",
      reason: `${found}, which is not a release version; ${need}. Check ${GATEWAY_CRD}'s annotations gateway.networking.k8s.io/bundle-version and /channel, or reinstall them (${upgrade})`,
    };
  }
  if (order < 0) {
    return {
      action: "refuse",
      reason: `${found}, older than ${wanted}; ${need}. They are shared by every team on the cluster, so the stack does not upgrade them behind your back: upgrade them first (${upgrade}), then run 'pulumi up' again`,
    };
  }
  if (
    routing.gatewayApiCrds === "cluster" ||
    order > 0 ||
    installed.channel !== "standard"
  ) {
    return {
      action: "cluster",
      note: `using ${found} as they are (they serve everything ${wanted} standard does); the stack neither changes nor deletes them`,
    };
  }
  return {
    action: "install",
    note: `${found}, the bundle the stack pins: adopted as they are, and kept when the stack is destroyed`,
  };
}

/** Why Istio needs its bundle: istiod reads the CRDs of the release it builds against. */
export const istioGatewayApiNeed = (istioMinor: string, wanted: string) =>
  `Istio ${istioMinor} builds against ${wanted} (istiod ignores the resources of older CRDs; istioctl analyze reports IST0176)`;

/**
 * Why Linkerd stacks need theirs: Linkerd itself reads HTTPRoutes from v1.1.1 on (the bundle its
 * linkerd-crds chart carries at edge-26.8.3), but the stack's routes use the standard fields of
 * `wanted` (request timeouts among them), which older CRDs would prune.
 */
export const linkerdGatewayApiNeed = (wanted: string) =>
  `the stack's HTTPRoutes on Linkerd use the standard-channel fields of ${wanted} (request timeouts among them), which older CRDs drop`;

/** Runs a command and returns its stdout; throws with its stderr on failure. */
export type CommandRunner = (cmd: string, args: readonly string[]) => string;

export const runCommand: CommandRunner = (cmd, args) =>
  execFileSync(cmd, args, {
    encoding: "utf8",
    stdio: ["ignore", "pipe", "pipe"],
    timeout: 30_000,
  });

/**
 * Reads the installed bundle with `kubectl get crd` (KUBECONFIG and the current context, as the
 * stack's provider). `kubectl` is the command's name or path (SERVICE_MESH_KUBECTL overrides it).
 * Throws a message naming the fix when kubectl is missing or cannot reach the cluster.
 */
export function readInstalledGatewayApi(
  kubectl: string,
  run: CommandRunner = runCommand,
): InstalledGatewayApi {
  let out: string;
  try {
    out = run(kubectl, ["get", "crd", GATEWAY_CRD, "-o", "json"]);
  } catch (e) {
    const err = e as Error & { code?: string; stderr?: string };
    const stderr = String(err.stderr ?? "").trim();
    if (/NotFound|not found/.test(stderr)) {
      return "absent";
    }
    const why =
      err.code === "ENOENT"
        ? `${kubectl} is not on PATH`
        : stderr || err.message;
    throw Object.assign(
      new Error(
        `cannot read the cluster's Gateway API CRDs (${why}); the stack reads them before any change so that it never downgrades or deletes CRDs other teams use. ` +
          `Install kubectl and point its current context at the stack's cluster (kubectl config current-context), or set SERVICE_MESH_KUBECTL to its path`,
      ),
      { cause: e },
    );
  }
  const crd = JSON.parse(out) as {
    metadata?: { annotations?: Record<string, string> };
  };
  const a = crd.metadata?.annotations ?? {};
  return {
    version: a["gateway.networking.k8s.io/bundle-version"] ?? "unknown",
    channel: a["gateway.networking.k8s.io/channel"] ?? "unknown",
  };
}
