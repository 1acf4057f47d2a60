// Istio's control plane from its Helm charts, and the handle the rest of the stack uses.
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import {
  chartRelease,
  gatewayApiCrdsUrl,
  gatewayApiVersionFor,
  ISTIO_NAMESPACE,
  istioResource,
  type Mesh,
  type MtlsMode,
  needsGatewayApi,
} from "../core";
import {
  type IstioChartName,
  type IstioConfig,
  namespaceTag,
  resolveRevision,
  ROUTING_DEFAULTS,
  type RoutingConfig,
} from "../config";
import {
  baseValues,
  cniValues,
  istioChartSource,
  istiodValues,
  peerAuthenticationSpec,
  revisionConfig,
  revisionRelease,
  withRevision,
  ztunnelValues,
} from "../specs";
import { RevisionTags } from "./revisionTags";

export interface IstioControlPlaneArgs {
  /** Chart source, images, istiod sizing and the data plane mode (validated config). */
  readonly istio: IstioConfig;
  /**
   * The routing API and what the stack does with the Gateway API CRDs: `install` (apply the
   * pinned bundle, adopting the same bundle if the cluster has it) or `cluster` (use the
   * cluster's), and whether proxies are scoped to what they call. Defaults to ROUTING_DEFAULTS
   * (Istio's API, install, scoped proxies). index.ts decides install or cluster from
   * what the cluster has (config/gatewayApiCrds.ts).
   */
  readonly routing?: RoutingConfig;
  /** Mesh-wide mTLS mode of the root namespace's PeerAuthentication. Defaults to STRICT. */
  readonly mtlsMode?: MtlsMode;
  /** Install istio-cni (between base and istiod) so pods need no privileged init container; ambient always installs it. Defaults to false. */
  readonly cni?: boolean;
  /** Register the OpenTelemetry tracing provider (Jaeger's collector) in the mesh config. Defaults to false. */
  readonly tracing?: boolean;
  /** Sidecars reach only hosts the mesh knows (egress.mode registry-only). Defaults to false. */
  readonly registryOnly?: boolean;
  /** When true the Helm releases, and everything built on `mesh`, do not wait for readiness. Defaults to false. */
  readonly skipAwait?: boolean;
  /** Helm timeout in seconds for each release. Defaults to 600. */
  readonly timeoutSeconds?: number;
}

/**
 * Istio's control plane from its Helm charts, in the order Istio documents:
 * - sidecar: `base` (the CRDs and the default validating webhook), optionally `istio-cni`, then
 *   `istiod` (discovery, CA and the sidecar injector);
 * - ambient: `base`, `istiod` (ambient profile), `istio-cni` (ambient profile: the node agent
 *   that hands each pod's traffic to ztunnel), then `ztunnel`;
 * and the mesh-wide mTLS policy. When anything uses the Gateway API (gateway-api routing, or
 * ambient's waypoints), the pinned Gateway API CRDs go in before istiod, which watches them.
 *
 * Consumers take `mesh`: their Istio resources wait for its CRDs, their pods for `dataPlane`.
 */
export class IstioControlPlane extends pulumi.ComponentResource {
  readonly namespace: k8s.core.v1.Namespace;
  /** The `base` release; its completion means the Istio CRDs are registered. */
  readonly base: k8s.helm.v3.Release;
  /**
   * The `istiod` release; its completion means the injection webhook is in place. With istiod
   * as revisions, the default revision's release.
   */
  readonly istiod: k8s.helm.v3.Release;
  /** With istiod as revisions (istio.revisions): the release `istiod-<revision>` of each. */
  readonly revisionReleases: Record<string, k8s.helm.v3.Release> = {};
  /** With istiod as revisions: the revision tags' webhooks, parented by one component. */
  readonly revisionTags?: RevisionTags;
  /** The istio-cni release, when enabled or in ambient. */
  readonly cni?: k8s.helm.v3.Release;
  /** The ztunnel release, in ambient. */
  readonly ztunnel?: k8s.helm.v3.Release;
  /** The Gateway API CRDs, when the stack needs and installs them. */
  readonly gatewayApiCrds?: k8s.yaml.v2.ConfigFile;
  /** Mesh-wide PeerAuthentication in the root namespace. */
  readonly peerAuthentication: k8s.apiextensions.CustomResource;
  /** The handle every other component takes. */
  readonly mesh: Mesh;

  constructor(
    name: string,
    args: IstioControlPlaneArgs,
    opts?: pulumi.ComponentResourceOptions,
  ) {
    super("service-mesh:istio:ControlPlane", name, {}, opts);
    const skipAwait = args.skipAwait ?? false;
    const release = (
      chart: IstioChartName,
      releaseName: string,
      values: object,
      dependsOn: pulumi.Resource[],
      istio: IstioConfig = args.istio,
      suffix: string = chart,
    ) =>
      chartRelease(
        `${name}-${suffix}`,
        {
          releaseName,
          namespace: ISTIO_NAMESPACE,
          source: istioChartSource(istio, chart),
          values,
          skipAwait,
          timeoutSeconds: args.timeoutSeconds,
        },
        { parent: this, dependsOn },
      );

    this.namespace = new k8s.core.v1.Namespace(
      `${name}-ns`,
      { metadata: { name: ISTIO_NAMESPACE } },
      { parent: this },
    );

    this.base = release("base", "istio-base", baseValues(args.istio), [
      this.namespace,
    ]);

    const routing: RoutingConfig = args.routing ?? ROUTING_DEFAULTS;
    const dataplane = args.istio.dataplane;
    if (
      needsGatewayApi(dataplane, routing.api) &&
      routing.gatewayApiCrds === "install"
    ) {
      // Cluster-scoped and shared with every team: deleting a CRD deletes every object of its
      // kind, so they outlive the stack (retainOnDelete, which the engine passes on to the
      // component's children), and one the cluster already has is adopted (the provider's
      // upsertExistingObjects), not refused. The
      // official release manifest unless config names a local copy.
      this.gatewayApiCrds = new k8s.yaml.v2.ConfigFile(
        `${name}-gateway-api-crds`,
        {
          file:
            routing.gatewayApiCrdsFile ??
            gatewayApiCrdsUrl(gatewayApiVersionFor(args.istio.version)),
        },
        { parent: this, retainOnDelete: true },
      );
    }

    const ambient = dataplane === "ambient";
    const cni = ambient || (args.cni ?? false);
    const tracing = args.tracing ?? false;
    const istiodValuesOf = (istio: IstioConfig = args.istio) =>
      istiodValues(
        istio,
        cni,
        tracing,
        routing.api,
        args.registryOnly ?? false,
      );
    const revisions = args.istio.revisions;
    // One revisionless istiod, or (istio.revisions) a release per revision beside each other,
    // as Istio's canary upgrade runs them; `istiod` is then the default revision's.
    const istiodRelease = (dependsOn: pulumi.Resource[]) => {
      if (!revisions) {
        return release("istiod", "istiod", istiodValuesOf(), dependsOn);
      }
      for (const [rev, r] of Object.entries(revisions)) {
        const istio = revisionConfig(args.istio, r);
        this.revisionReleases[rev] = release(
          "istiod",
          revisionRelease(rev),
          withRevision(istiodValuesOf(istio), rev),
          dependsOn,
          istio,
          revisionRelease(rev),
        );
      }
      return this.revisionReleases[args.istio.defaultRevision!];
    };
    if (ambient) {
      // Istio's Helm guide for ambient: istiod, then the CNI node agent, then ztunnel, which
      // gets its certificates and config from istiod.
      this.istiod = istiodRelease([
        this.base,
        ...(this.gatewayApiCrds ? [this.gatewayApiCrds] : []),
      ]);
      this.cni = release("cni", "istio-cni", cniValues(args.istio), [
        this.istiod,
      ]);
      this.ztunnel = release("ztunnel", "ztunnel", ztunnelValues(args.istio), [
        this.cni,
      ]);
    } else {
      if (cni) {
        this.cni = release("cni", "istio-cni", cniValues(args.istio), [
          this.base,
        ]);
      }
      // istiod's validating webhook and deployment reference the CRDs that base installs; with
      // CNI, the node agent must be in place before istiod injects pods that rely on it.
      this.istiod = istiodRelease([
        this.base,
        ...(this.cni ? [this.cni] : []),
        ...(this.gatewayApiCrds ? [this.gatewayApiCrds] : []),
      ]);
    }
    if (revisions) {
      this.revisionTags = new RevisionTags(
        `${name}-tags`,
        {
          istio: args.istio,
          releases: Object.values(this.revisionReleases),
        },
        { parent: this },
      );
    }

    this.peerAuthentication = istioResource(
      `${name}-mtls`,
      {
        kind: "PeerAuthentication",
        metadata: { name: "default", namespace: ISTIO_NAMESPACE },
        spec: peerAuthenticationSpec(args.mtlsMode ?? "STRICT"),
      },
      { parent: this, mesh: { crds: this.base, istiod: this.istiod } },
    );

    this.mesh = {
      crds: this.base,
      istiod: this.istiod,
      // Sidecar: the injection webhook fails closed. Ambient: a pod started before the CNI
      // agent and ztunnel run is not captured until they do.
      // With revisions, the tags' webhooks, which wait for every revision's release.
      dataPlane: this.ztunnel ?? this.revisionTags ?? this.istiod,
      gatewayApiCrds: this.gatewayApiCrds,
      rootNamespace: this.namespace,
      dataplane,
      routingApi: routing.api,
      scopeProxies: routing.scopeProxies,
      skipAwait,
      ...(revisions
        ? {
            revisions: {
              labelOf: (ns: string) => namespaceTag(args.istio, ns),
              revisionOf: (ns: string) =>
                resolveRevision(args.istio, namespaceTag(args.istio, ns)),
            },
          }
        : {}),
    };

    this.registerOutputs({
      base: this.base.status,
      ...(revisions ? { revisions: Object.keys(revisions) } : {}),
      istiod: this.istiod.status,
      dataplane,
      routingApi: routing.api,
    });
  }
}
