// Where each Istio chart comes from and the values it gets. Pure, so tests can check the values
// against the charts' expectations without rendering anything.
import {
  chartSource,
  type ChartSource,
  ISTIO_NAMESPACE,
  needsGatewayApi,
  revisionAnnotations,
  type RoutingApi,
  type Quantities,
  type Resources,
  TRUST_DOMAIN,
} from "../core";
import type {
  IngressServiceType,
  IstioChartName,
  IstioConfig,
  IstioPlatform,
} from "../config";
import { type ChartValues, mergeValues } from "./mergeValues";
import { type ExtensionProvider, TRACING_PROVIDER } from "./tracing";

export function istioChartSource(
  istio: IstioConfig,
  chart: IstioChartName,
): ChartSource {
  return chartSource(
    chart,
    istio.chartRepo,
    istio.version,
    istio.chartDir && `${istio.chartDir.replace(/\/+$/, "")}/${chart}`,
  );
}

/** The `global` values every Istio chart gets. */
export interface GlobalValues {
  readonly istioNamespace: string;
  readonly platform?: IstioPlatform;
  readonly networkPolicy: { readonly enabled: boolean };
}

/**
 * The platform profile (CNI paths of k3s, GKE, ...), and the charts' own NetworkPolicies. Those
 * admit exactly what the stack uses: istiod its webhook (15017), xDS (15010, 15012) and metrics
 * (15014, 8080); the gateway its Service's target ports (80, 443), health (15021) and metrics
 * (15020, 15090); istio-cni its metrics. Egress stays open (istiod fetches JWKS, gateways reach
 * every service).
 */
function globalValues(istio: IstioConfig): GlobalValues {
  return {
    istioNamespace: ISTIO_NAMESPACE,
    ...(istio.platform ? { platform: istio.platform } : {}),
    networkPolicy: { enabled: true },
  };
}

export interface BaseValues {
  readonly global: GlobalValues & { readonly enableReaderRBAC: boolean };
  /** With istiod as revisions: the one whose webhook validates Istio resources. */
  readonly defaultRevision?: string;
}

/**
 * base carries the CRDs and the default validating webhook. The `istio-reader` account serves
 * only multicluster (remote istiods reading this cluster's secrets): Istio 1.30 drops it with
 * enableReaderRBAC=false on both base (its ServiceAccount) and istiod (its ClusterRole).
 */
export function baseValues(istio: IstioConfig): ChartValues<BaseValues> {
  return mergeValues(istio.values.base, {
    global: { ...globalValues(istio), enableReaderRBAC: false },
    // The default validator (istiod-default-validator) calls this revision's istiod.
    ...(istio.revisions && istio.defaultRevision
      ? { defaultRevision: istio.defaultRevision }
      : {}),
  });
}

export interface IstiodValues {
  readonly global: GlobalValues & {
    readonly hub: string;
    readonly tag: string;
    readonly enableReaderRBAC: boolean;
    readonly proxy: { readonly resources: Resources };
    readonly waypoint?: { readonly resources: Resources };
  };
  readonly resources: Resources;
  readonly replicaCount: number;
  readonly autoscaleEnabled: boolean;
  readonly meshConfig: {
    readonly accessLogFile: string;
    readonly trustDomain: string;
    readonly extensionProviders?: readonly ExtensionProvider[];
    readonly outboundTrafficPolicy?: { readonly mode: "REGISTRY_ONLY" };
  };
  readonly cni: { readonly enabled: boolean };
  readonly env: Readonly<Record<string, string>>;
  /** Istio's ambient profile (PILOT_ENABLE_AMBIENT, HBONE for gateways), in ambient only. */
  readonly profile?: "ambient";
  /** Gateways istiod deploys (waypoints, Gateway API ingress): hardened for restricted namespaces. */
  readonly gateways?: {
    readonly seccompProfile: { readonly type: "RuntimeDefault" };
  };
}

/**
 * istiod's values. `tracing` adds the OpenTelemetry provider that the Telemetry resource selects;
 * the sampling rate lives in that resource, so changing it never upgrades istiod.
 */
export function istiodValues(
  istio: IstioConfig,
  cni: boolean,
  tracing: boolean,
  routingApi: RoutingApi = "istio",
  /** Only hosts the mesh knows are reachable (egress.mode registry-only). Defaults to false. */
  registryOnly = false,
): ChartValues<IstiodValues> {
  const ambient = istio.dataplane === "ambient";
  return mergeValues(istio.values.istiod, {
    // Istio's Helm guide for ambient: istiod with the ambient profile, then cni with the same
    // profile, then ztunnel.
    ...(ambient ? { profile: "ambient" as const } : {}),
    global: {
      ...globalValues(istio),
      hub: istio.hub,
      tag: istio.tag,
      enableReaderRBAC: false,
      // Every injected proxy's requests and limits (and of the gateways istiod deploys).
      proxy: { resources: istio.proxyResources },
      // The waypoint template reads global.waypoint.resources.
      ...(ambient ? { waypoint: { resources: istio.waypointResources } } : {}),
    },
    // The waypoint template sets the container's seccomp profile from here; without one its
    // pods break the restricted Pod Security Standard that ambient app namespaces enforce.
    ...(ambient
      ? { gateways: { seccompProfile: { type: "RuntimeDefault" as const } } }
      : {}),
    // One small replica: the chart default (500m CPU, 2Gi memory, autoscaling) does not fit
    // a laptop cluster.
    resources: istio.istiodResources,
    replicaCount: 1,
    autoscaleEnabled: false,
    meshConfig: {
      accessLogFile: "/dev/stdout",
      trustDomain: TRUST_DOMAIN,
      ...(tracing ? { extensionProviders: [TRACING_PROVIDER] } : {}),
      // Sidecars send a request for a host no ServiceEntry or Service declares to a black hole
      // instead of passing it through (ztunnel does not apply it: ambient relies on the
      // NetworkPolicies).
      ...(registryOnly
        ? { outboundTrafficPolicy: { mode: "REGISTRY_ONLY" as const } }
        : {}),
    },
    // With istio-cni the node agent sets up traffic redirection, so injected pods need no
    // privileged istio-init container. Ambient always runs it.
    cni: { enabled: cni || ambient },
    // istiod fetches JWKS URIs of RequestAuthentications itself: never from link-local
    // addresses, where cloud metadata services live.
    env: {
      BLOCKED_CIDRS_IN_JWKS_URIS: "169.254.0.0/16,fe80::/10",
      // Gateway API automated deployment (istiod creates the Deployment and Service of each
      // waypoint and Gateway API ingress Gateway) is the only user of the
      // istiod-gateway-controller ClusterRole (create/delete Deployments, Services,
      // ServiceAccounts cluster-wide); the chart leaves that role out when this is "false",
      // as it is when the ingress is the gateway chart and there are no waypoints.
      PILOT_ENABLE_GATEWAY_API_DEPLOYMENT_CONTROLLER: String(
        needsGatewayApi(istio.dataplane, routingApi),
      ),
    },
  } satisfies IstiodValues);
}

/** The ingress gateway's own requests and limits; the chart default allows 2 CPUs. */
export const GATEWAY_RESOURCES: Resources = {
  requests: { cpu: "50m", memory: "128Mi" },
  limits: { cpu: "1000m", memory: "512Mi" },
};

export interface GatewayValues {
  readonly global: GlobalValues;
  readonly service: {
    readonly type: IngressServiceType;
    /** The Service's ports; omitted, the chart's (15021 status, 80, 443). */
    readonly ports?: readonly GatewayServicePort[];
  };
  readonly serviceAccount: { readonly create: boolean; readonly name: string };
  readonly replicaCount: number;
  readonly autoscaling: { readonly enabled: boolean };
  readonly resources: Resources;
  /** The tag (istio.io/rev) the gateway's pods follow, with istiod as revisions. */
  readonly revision?: string;
  readonly podAnnotations?: Readonly<Record<string, string>>;
}

export interface GatewayServicePort {
  readonly name: string;
  readonly port: number;
  readonly protocol: "TCP";
  readonly targetPort: number;
}

/** Values for the `gateway` chart, whose schema rejects unknown keys: only keys it declares. */
export function gatewayValues(
  istio: IstioConfig,
  serviceType: IngressServiceType,
  serviceAccount: string,
  /** The Service's ports beside the status port; omitted, the chart's. */
  ports?: readonly { name: string; port: number }[],
  /**
   * The chart's own NetworkPolicy (global.networkPolicy). Defaults to true. Its egress rule allows
   * everything, and NetworkPolicies add up, so the egress gateway turns it off when the stack's
   * own policy limits where the gateway may connect.
   */
  chartNetworkPolicy = true,
  /**
   * With istiod as revisions: the tag the gateway's pods follow (their istio.io/rev) and the
   * revision it resolves to, recorded on the pod template so a move rolls them. Defaults to none.
   */
  revision?: { readonly tag: string; readonly revision: string },
): ChartValues<GatewayValues> {
  return mergeValues(istio.values.gateway, {
    ...(revision
      ? {
          revision: revision.tag,
          podAnnotations: revisionAnnotations(revision.revision),
        }
      : {}),
    global: {
      ...globalValues(istio),
      networkPolicy: { enabled: chartNetworkPolicy },
    },
    service: {
      type: serviceType,
      ...(ports
        ? {
            ports: [
              // The chart's readiness port, which its probes and the Service keep.
              {
                name: "status-port",
                port: 15021,
                protocol: "TCP",
                targetPort: 15021,
              },
              ...ports.map((p) => ({
                name: p.name,
                port: p.port,
                protocol: "TCP" as const,
                targetPort: p.port,
              })),
            ],
          }
        : {}),
    },
    // Named explicitly: authorization policies name the gateway by this account's principal.
    serviceAccount: { create: true, name: serviceAccount },
    replicaCount: 1,
    autoscaling: { enabled: false },
    resources: GATEWAY_RESOURCES,
  } satisfies GatewayValues);
}

export interface CniValues {
  readonly global: GlobalValues & {
    readonly hub: string;
    readonly tag: string;
  };
  readonly resources: { readonly requests: Quantities };
  /** In ambient, the node agent also moves each pod's traffic into ztunnel. */
  readonly profile?: "ambient";
}

/** istio-cni's node agent, sized small; its images follow istiod's. */
export function cniValues(istio: IstioConfig): ChartValues<CniValues> {
  return mergeValues(istio.values.cni, {
    ...(istio.dataplane === "ambient" ? { profile: "ambient" as const } : {}),
    global: { ...globalValues(istio), hub: istio.hub, tag: istio.tag },
    resources: { requests: { cpu: "50m", memory: "64Mi" } },
  } satisfies CniValues);
}

export interface ZtunnelValues {
  readonly global: GlobalValues;
  readonly hub: string;
  readonly tag: string;
  readonly resources: Resources;
}

/**
 * ztunnel, the ambient node proxy. Its chart takes hub and tag at the top level (values.yaml),
 * and its default request (200m / 512Mi) is sized for ~200k pods.
 */
export function ztunnelValues(istio: IstioConfig): ChartValues<ZtunnelValues> {
  return mergeValues(istio.values.ztunnel, {
    global: globalValues(istio),
    hub: istio.hub,
    tag: istio.tag,
    resources: istio.ztunnelResources,
  } satisfies ZtunnelValues);
}
