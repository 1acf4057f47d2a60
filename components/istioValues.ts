// Where each Istio chart comes from and the values it gets. Pure, so tests can check the values
// against the charts' expectations without rendering anything.
import { chartSource, ChartSource } from "./chartSource";
import { IngressServiceType, IstioConfig, Resources } from "./config";
import { TRACING_PROVIDER } from "./addonValues";
import { TRUST_DOMAIN } from "./securitySpecs";

export type IstioChart = "base" | "istiod" | "gateway" | "cni";

export function istioChartSource(
  istio: IstioConfig,
  chart: IstioChart,
): ChartSource {
  return chartSource(
    chart,
    istio.chartRepo,
    istio.version,
    istio.chartDir && `${istio.chartDir.replace(/\/+$/, "")}/${chart}`,
  );
}

/** base carries the CRDs and the default validating webhook; the chart defaults suit us. */
export function baseValues(): Record<string, unknown> {
  return { global: { istioNamespace: "istio-system" } };
}

/**
 * istiod's values. `tracing` adds the OpenTelemetry provider that the Telemetry resource selects;
 * the sampling rate lives in that resource, so changing it never upgrades istiod.
 */
export function istiodValues(
  istio: IstioConfig,
  cni: boolean,
  tracing: boolean,
): Record<string, unknown> {
  return {
    global: { hub: istio.hub, tag: istio.tag, istioNamespace: "istio-system" },
    // One small replica: the chart default (500m CPU, 2Gi memory, autoscaling) does not fit
    // a laptop cluster.
    resources: istio.istiodResources,
    replicaCount: 1,
    autoscaleEnabled: false,
    meshConfig: {
      accessLogFile: "/dev/stdout",
      trustDomain: TRUST_DOMAIN,
      ...(tracing ? { extensionProviders: [TRACING_PROVIDER] } : {}),
    },
    // With istio-cni the node agent sets up traffic redirection, so injected pods need no
    // privileged istio-init container.
    cni: { enabled: cni },
    // istiod fetches JWKS URIs of RequestAuthentications itself: never from link-local
    // addresses, where cloud metadata services live.
    env: { BLOCKED_CIDRS_IN_JWKS_URIS: "169.254.0.0/16,fe80::/10" },
  };
}

/** The ingress gateway's own requests and limits; the chart default allows 2 CPUs. */
export const GATEWAY_RESOURCES: Resources = {
  requests: { cpu: "50m", memory: "128Mi" },
  limits: { cpu: "1000m", memory: "512Mi" },
};

/** Values for the `gateway` chart, whose schema rejects unknown keys: only keys it declares. */
export function gatewayValues(
  serviceType: IngressServiceType,
  serviceAccount: string,
): Record<string, unknown> {
  return {
    service: { type: serviceType },
    // Named explicitly: authorization policies name the gateway by this account's principal.
    serviceAccount: { create: true, name: serviceAccount },
    replicaCount: 1,
    autoscaling: { enabled: false },
    resources: GATEWAY_RESOURCES,
  };
}

/** istio-cni's node agent, sized small; its images follow istiod's. */
export function cniValues(istio: IstioConfig): Record<string, unknown> {
  return {
    global: { hub: istio.hub, tag: istio.tag },
    resources: { requests: { cpu: "50m", memory: "64Mi" } },
  };
}
