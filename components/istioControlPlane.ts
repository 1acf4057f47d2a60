import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { IstioConfig } from "./config";
import {
  baseValues,
  cniValues,
  istioChartSource,
  istiodValues,
  ISTIO_NAMESPACE,
} from "./istioValues";
import { MtlsMode } from "./securityConfig";
import { peerAuthenticationSpec, SECURITY_API } from "./securitySpecs";

export interface IstioControlPlaneArgs {
  /** Chart source, images and istiod sizing (validated config). */
  readonly istio: IstioConfig;
  /** Mesh-wide mTLS mode of the root namespace's PeerAuthentication. Defaults to STRICT. */
  readonly mtlsMode?: MtlsMode;
  /** Install istio-cni (between base and istiod) so pods need no privileged init container. Defaults to false. */
  readonly cni?: boolean;
  /** Register the OpenTelemetry tracing provider (Jaeger's collector) in the mesh config. Defaults to false. */
  readonly tracing?: boolean;
  /** When true the Helm releases do not wait for readiness. Defaults to false. */
  readonly skipAwait?: boolean;
  /** Helm timeout in seconds for each release. Defaults to 600. */
  readonly timeoutSeconds?: number;
}

export { ISTIO_NAMESPACE };

/**
 * Istio's control plane from its Helm charts: `base` (the CRDs and the default validating
 * webhook), then `istiod` (discovery, CA and the sidecar injector).
 *
 * Consumers order their resources on the two releases: `base` before any Istio custom resource,
 * `istiod` before any pod that needs injection.
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

  constructor(
    name: string,
    args: IstioControlPlaneArgs,
    opts?: pulumi.ComponentResourceOptions,
  ) {
    super("service-mesh:istio:ControlPlane", name, {}, opts);
    const common = {
      namespace: ISTIO_NAMESPACE,
      skipAwait: args.skipAwait ?? false,
      timeout: args.timeoutSeconds ?? 600,
    };

    this.namespace = new k8s.core.v1.Namespace(
      `${name}-ns`,
      { metadata: { name: ISTIO_NAMESPACE } },
      { parent: this },
    );

    this.base = new k8s.helm.v3.Release(
      `${name}-base`,
      {
        ...common,
        ...istioChartSource(args.istio, "base"),
        name: "istio-base",
        values: baseValues(args.istio),
      },
      { parent: this, dependsOn: [this.namespace] },
    );

    const cni = args.cni ?? false;
    if (cni) {
      this.cni = new k8s.helm.v3.Release(
        `${name}-cni`,
        {
          ...common,
          ...istioChartSource(args.istio, "cni"),
          name: "istio-cni",
          values: cniValues(args.istio),
        },
        { parent: this, dependsOn: [this.base] },
      );
    }

    // istiod's validating webhook and deployment reference the CRDs that base installs; with
    // CNI, the node agent must be in place before istiod injects pods that rely on it.
    this.istiod = new k8s.helm.v3.Release(
      `${name}-istiod`,
      {
        ...common,
        ...istioChartSource(args.istio, "istiod"),
        name: "istiod",
        values: istiodValues(args.istio, cni, args.tracing ?? false),
      },
      {
        parent: this,
        dependsOn: this.cni ? [this.base, this.cni] : [this.base],
      },
    );

    this.peerAuthentication = new k8s.apiextensions.CustomResource(
      `${name}-mtls`,
      {
        apiVersion: SECURITY_API,
        kind: "PeerAuthentication",
        metadata: { name: "default", namespace: ISTIO_NAMESPACE },
        spec: peerAuthenticationSpec(args.mtlsMode ?? "STRICT"),
      },
      { parent: this, dependsOn: [this.base] },
    );

    this.registerOutputs({
      base: this.base.status,
      istiod: this.istiod.status,
    });
  }
}
