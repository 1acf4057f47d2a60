// What the stack reads of the cluster before it registers anything (kubectl, the current
// context, or SERVICE_MESH_KUBECTL): the Gateway API CRDs it would install or use, and the
// istiod it would upgrade. Each may refuse the change; nothing is deployed then. Registers
// nothing.
import {
  GATEWAY_API_VERSION,
  gatewayApiVersionFor,
  istioMinor,
  needsGatewayApi,
} from "../core";
import {
  istioGatewayApiNeed,
  linkerdGatewayApiNeed,
  planGatewayApiCrds,
  readInstalledGatewayApi,
} from "./gatewayApiCrds";
import {
  labelledNamespaces,
  readInstalledIstio,
  refuseIstioChange,
} from "./istioInstalled";
import { namespaceTag, resolveRevision } from "./istioRevisions";
import type { MeshConfig } from "./meshConfig";
import type { RoutingConfig } from "./routing";

export interface ClusterChecks {
  /** The routing config, with what the stack does with the Gateway API CRDs decided. */
  readonly routing: RoutingConfig;
  /** Why the change is refused (the program stops before any resource); undefined: it is not. */
  readonly refusal?: string;
  readonly notes: readonly string[];
  readonly warnings: readonly string[];
}

/**
 * The Gateway API bundle the stack installs and requires: the one the pinned Istio builds
 * against, or on Linkerd the oldest whose standard channel has every field the stack emits
 * (GATEWAY_API_VERSION; Linkerd itself reads older ones).
 */
export function gatewayApiVersionOf(config: MeshConfig): string {
  return config.mesh.provider === "linkerd"
    ? GATEWAY_API_VERSION
    : gatewayApiVersionFor(config.istio.version);
}

/** Reads the cluster and decides; see the module comment. */
export function checkCluster(
  config: MeshConfig,
  kubectl: string,
): ClusterChecks {
  const notes: string[] = [];
  const warnings: string[] = [];
  let routing = config.routing;
  const linkerd = config.mesh.provider === "linkerd";
  // The Gateway API CRDs are the cluster's, not the stack's: a bundle older than the one the
  // pinned Istio needs (on Linkerd: the one whose fields the stack's routes use) is refused.
  if (linkerd || needsGatewayApi(config.istio.dataplane, routing.api)) {
    const wanted = gatewayApiVersionOf(config);
    const plan = planGatewayApiCrds(
      routing,
      wanted,
      linkerd
        ? linkerdGatewayApiNeed(wanted)
        : istioGatewayApiNeed(istioMinor(config.istio.version), wanted),
      readInstalledGatewayApi(kubectl),
    );
    if (plan.action === "refuse") {
      return {
        routing,
        refusal: `Gateway API CRDs (nothing was deployed): ${plan.reason}`,
        notes,
        warnings,
      };
    }
    notes.push(plan.note);
    routing = { ...routing, gatewayApiCrds: plan.action };
  }
  if (linkerd) {
    // Istio's upgrade rules speak of an istiod this stack does not run.
    return { routing, notes, warnings };
  }
  // The control plane the cluster runs: an in-place jump of more than one minor, or a revision
  // removed while a namespace outside the stack still uses it, is refused.
  const installed = readInstalledIstio(kubectl);
  if ("unreadable" in installed) {
    warnings.push(
      `could not read the cluster's istiod Deployments (${installed.unreadable}); the upgrade checks (in place one minor at a time, no namespace left on a removed revision) did not run`,
    );
    return { routing, notes, warnings };
  }
  const refusals = refuseIstioChange(
    config.istio,
    installed,
    labelledNamespaces(config),
  );
  return {
    routing,
    notes,
    warnings,
    ...(refusals.length > 0
      ? {
          refusal: `Istio upgrade refused (nothing was deployed): ${refusals.join("; ")}`,
        }
      : {}),
  };
}

/**
 * The `istioRevisions` output, with istiod as revisions: each revision's version, each tag's
 * revision, the default revision, and the revision that injects each namespace the stack labels
 * (`npm run upgrade` checks the pods against it). Undefined without revisions.
 */
export function revisionsOutput(config: MeshConfig) {
  const istio = config.istio;
  if (!istio.revisions) {
    return undefined;
  }
  return {
    revisions: Object.fromEntries(
      Object.entries(istio.revisions).map(([r, v]) => [
        r,
        { version: v.version },
      ]),
    ),
    tags: istio.tags,
    defaultRevision: istio.defaultRevision,
    namespaces: Object.fromEntries(
      labelledNamespaces(config).map((ns) => [
        ns,
        resolveRevision(istio, namespaceTag(istio, ns)),
      ]),
    ),
  };
}
