// Istio's control plane from its Helm charts, and the handle the rest of the stack uses.
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import {
  chartRelease,
  ISTIO_NAMESPACE,
  istioResource,
  type Mesh,
  type MtlsMode,
} from "../core";
import type { IstioChartName, IstioConfig } from "../config";
import {
  baseValues,
  cniValues,
  istioChartSource,
  istiodValues,
  peerAuthenticationSpec,
} from "../specs";

export interface IstioControlPlaneArgs {
  /** Chart source, images and istiod sizing (validated config). */
  readonly istio: IstioConfig;
  /** Mesh-wide mTLS mode of the root namespace's PeerAuthentication. Defaults to STRICT. */
  readonly mtlsMode?: MtlsMode;
  /** Install istio-cni (between base and istiod) so pods need no privileged init container. Defaults to false. */
  readonly cni?: boolean;
  /** Register the OpenTelemetry tracing provider (Jaeger's collector) in the mesh config. Defaults to false. */
  readonly tracing?: boolean;
  /** When true the Helm releases, and everything built on `mesh`, do not wait for readiness. Defaults to false. */
  readonly skipAwait?: boolean;
  /** Helm timeout in seconds for each release. Defaults to 600. */
  readonly timeoutSeconds?: number;
}

/**
 * Istio's control plane from its Helm charts: `base` (the CRDs and the default validating
 * webhook), optionally `istio-cni`, then `istiod` (discovery, CA and the sidecar injector), and
 * the mesh-wide mTLS policy.
 *
 * Consumers take `mesh`: their Istio resources wait for its CRDs, their injected pods for istiod.
 */
export class IstioControlPlane extends pulumi.ComponentResource {
  readonly namespace: k8s.core.v1.Namespace;
  /** The `base` release; its completion means the Istio CRDs are registered. */
  readonly base: k8s.helm.v3.Release;
  /** The `istiod` release; its completion means the injection webhook is in place. */
  readonly istiod: k8s.helm.v3.Release;
  /** The istio-cni release, when enabled. */
  readonly cni?: k8s.helm.v3.Release;
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
    ) =>
      chartRelease(
        `${name}-${chart}`,
        {
          releaseName,
          namespace: ISTIO_NAMESPACE,
          source: istioChartSource(args.istio, chart),
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

    const cni = args.cni ?? false;
    if (cni) {
      this.cni = release("cni", "istio-cni", cniValues(args.istio), [
        this.base,
      ]);
    }

    // istiod's validating webhook and deployment reference the CRDs that base installs; with
    // CNI, the node agent must be in place before istiod injects pods that rely on it.
    this.istiod = release(
      "istiod",
      "istiod",
      istiodValues(args.istio, cni, args.tracing ?? false),
      this.cni ? [this.base, this.cni] : [this.base],
    );

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
      rootNamespace: this.namespace,
      skipAwait,
    };

    this.registerOutputs({
      base: this.base.status,
      istiod: this.istiod.status,
    });
  }
}
