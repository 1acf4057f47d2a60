// Linkerd's control plane from its Helm charts, and the same `mesh` handle Istio's hands out.
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import {
  chartRelease,
  chartSource,
  gatewayApiCrdsUrl,
  type Mesh,
  TRUST_DOMAIN,
} from "../core";
import {
  gatewayApiVersionOf,
  type LinkerdConfig,
  LINKERD_VIZ_CHART,
  type MeshConfig,
  type RoutingConfig,
} from "../config";
import {
  linkerdControlPlaneValues,
  linkerdCrdsValues,
  type LinkerdIdentityValues,
  linkerdVizValues,
  mergeValues,
} from "../specs";
import { LinkerdIdentity } from "./identity";

/** The extension's namespace (Linkerd's docs install linkerd-viz there). */
export const LINKERD_VIZ_NAMESPACE = "linkerd-viz";

export interface LinkerdControlPlaneArgs {
  /** Chart source, proxy size, identity and viz (validated config). */
  readonly linkerd: LinkerdConfig;
  /** Whether the stack installs the Gateway API CRDs (index.ts decides from the cluster). */
  readonly routing: RoutingConfig;
  /** The Gateway API release the stack pins (the same bundle Istio's side installs). */
  readonly gatewayApiVersion: string;
  /** When true the releases, and everything built on `mesh`, do not wait for readiness. Defaults to false. */
  readonly skipAwait?: boolean;
}

/**
 * Linkerd in the order its docs give, each step waiting for the one before:
 * Gateway API CRDs (Linkerd's routes are HTTPRoutes) -> `linkerd-crds` (its policy CRDs, with
 * installGatewayAPI false) -> `linkerd-control-plane` (destination, identity, proxy injector) ->
 * optionally `linkerd-viz`. The identity comes from config or a LinkerdIdentity generated once.
 *
 * Consumers take `mesh`: Linkerd policies wait for `crds`, pods for `dataPlane` (the injector).
 */
export class LinkerdControlPlane extends pulumi.ComponentResource {
  readonly namespace: k8s.core.v1.Namespace;
  readonly gatewayApiCrds?: k8s.yaml.v2.ConfigFile;
  readonly crds: k8s.helm.v3.Release;
  /** The generated identity; none when config gives one. */
  readonly identity?: LinkerdIdentity;
  readonly controlPlane: k8s.helm.v3.Release;
  readonly viz?: k8s.helm.v3.Release;
  /** The dashboard's port-forward command and URL, with viz. */
  readonly dashboards: Record<string, { command: string; url: string }>;
  readonly mesh: Mesh;

  constructor(
    name: string,
    args: LinkerdControlPlaneArgs,
    opts?: pulumi.ComponentResourceOptions,
  ) {
    super("service-mesh:linkerd:ControlPlane", name, {}, opts);
    const { linkerd, routing } = args;
    const skipAwait = args.skipAwait ?? false;
    const source = (chart: string) =>
      chartSource(
        chart,
        linkerd.chartRepo,
        linkerd.chartVersion,
        linkerd.chartDir ? `${linkerd.chartDir}/${chart}` : undefined,
      );

    // Installed by Helm, not the CLI, the chart leaves its namespace to us: these are the labels
    // its CLI template sets (linkerd-control-plane/templates/namespace.yaml).
    this.namespace = new k8s.core.v1.Namespace(
      `${name}-ns`,
      {
        metadata: {
          name: linkerd.namespace,
          annotations: { "linkerd.io/inject": "disabled" },
          labels: {
            "linkerd.io/is-control-plane": "true",
            "config.linkerd.io/admission-webhooks": "disabled",
            "linkerd.io/control-plane-ns": linkerd.namespace,
            // linkerd-init needs NET_ADMIN without the CNI plugin.
            "pod-security.kubernetes.io/enforce": "privileged",
          },
        },
      },
      { parent: this },
    );

    if (routing.gatewayApiCrds === "install") {
      // As on Istio's side: shared with every team, so they outlive the stack.
      this.gatewayApiCrds = new k8s.yaml.v2.ConfigFile(
        `${name}-gateway-api-crds`,
        {
          file:
            routing.gatewayApiCrdsFile ??
            gatewayApiCrdsUrl(args.gatewayApiVersion),
        },
        { parent: this, retainOnDelete: true },
      );
    }

    const release = (
      suffix: string,
      chart: string,
      namespace: string,
      values: object,
      dependsOn: pulumi.Resource[],
      retainOnDelete = false,
    ) =>
      chartRelease(
        `${name}-${suffix}`,
        {
          releaseName: chart,
          namespace,
          source: source(chart),
          values,
          skipAwait,
        },
        { parent: this, dependsOn, retainOnDelete },
      );

    // Linkerd's policy CRDs are the cluster's, as Istio's are (its base chart keeps them): a
    // destroy leaves the release, so every team's Servers and policies outlive the stack, and a
    // later install adopts the CRDs (their Helm annotations name the same release).
    this.crds = release(
      "crds",
      "linkerd-crds",
      linkerd.namespace,
      mergeValues(linkerd.values.crds, linkerdCrdsValues()),
      [this.namespace, ...(this.gatewayApiCrds ? [this.gatewayApiCrds] : [])],
      true,
    );

    let identity: LinkerdIdentityValues;
    if (linkerd.identity) {
      identity = {
        trustAnchorPem: linkerd.identity.trustAnchorPem,
        issuerCertPem: linkerd.identity.issuerCertPem,
        issuerKeyPem: pulumi.secret(linkerd.identity.issuerKeyPem),
      };
    } else {
      this.identity = new LinkerdIdentity(
        `${name}-identity`,
        { trustDomain: TRUST_DOMAIN },
        { parent: this },
      );
      identity = this.identity;
    }

    this.controlPlane = release(
      "control-plane",
      "linkerd-control-plane",
      linkerd.namespace,
      mergeValues(
        linkerd.values.controlPlane,
        linkerdControlPlaneValues(
          identity,
          linkerd.proxyResources,
          linkerd.controllerResources,
        ),
      ),
      [this.crds, ...(this.identity ? [this.identity] : [])],
    );

    this.dashboards = {};
    if (linkerd.viz) {
      const vizNs = new k8s.core.v1.Namespace(
        `${name}-viz-ns`,
        {
          metadata: {
            name: LINKERD_VIZ_NAMESPACE,
            labels: {
              "linkerd.io/extension": "viz",
              "pod-security.kubernetes.io/enforce": "privileged",
            },
          },
        },
        { parent: this },
      );
      // The extension's pods are injected: the control plane's injector must answer first.
      this.viz = release(
        "viz",
        LINKERD_VIZ_CHART,
        LINKERD_VIZ_NAMESPACE,
        mergeValues(linkerd.values.viz, linkerdVizValues(linkerd.namespace)),
        [vizNs, this.controlPlane],
      );
      this.dashboards.linkerdViz = {
        command: `kubectl -n ${LINKERD_VIZ_NAMESPACE} port-forward svc/web 8084:8084`,
        url: "http://localhost:8084",
      };
    }

    this.mesh = {
      provider: "linkerd",
      crds: this.crds,
      istiod: this.controlPlane,
      // The proxy injector is a webhook of the control-plane release; a pod created before it
      // answers runs without a proxy (webhookFailurePolicy Ignore), outside the mesh.
      dataPlane: this.controlPlane,
      gatewayApiCrds: this.gatewayApiCrds,
      rootNamespace: this.namespace,
      controlNamespace: linkerd.namespace,
      dataplane: "sidecar",
      routingApi: "gateway-api",
      scopeProxies: false,
      skipAwait,
    };
    this.registerOutputs({ controlPlane: this.controlPlane.status });
  }
}

/**
 * The control plane of mesh.provider linkerd, or undefined with Istio. The Gateway API bundle is
 * the one the cluster checks planned for (gatewayApiVersionOf).
 */
export function linkerdControlPlaneFor(
  config: MeshConfig,
  routing: RoutingConfig,
  opts: pulumi.ComponentResourceOptions,
): LinkerdControlPlane | undefined {
  if (config.mesh.provider !== "linkerd") {
    return undefined;
  }
  return new LinkerdControlPlane(
    "linkerd",
    {
      linkerd: config.linkerd,
      routing,
      gatewayApiVersion: gatewayApiVersionOf(config),
      skipAwait: config.skipAwait,
    },
    opts,
  );
}
