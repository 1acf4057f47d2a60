// The Kubernetes Gateway API resources this stack emits, typed for exactly the fields it sets,
// and the one way to make them. Field names are the API's (the standard channel of the version
// the pinned Istio builds against, GATEWAY_API_VERSION); a field we do not set is left out.
// Retries (HTTPRouteRule.retry) are only in the experimental channel of that version, and the
// API has no fault injection: the config refuses both in gateway-api mode.
import type * as k8s from "@pulumi/kubernetes";
import { customResource } from "./customResource";
import type * as pulumi from "@pulumi/pulumi";
import type { Mesh } from "./mesh";

/**
 * The Gateway API release each Istio minor this program knows builds against (Istio's go.mod;
 * 1.31's upgrade notes: "Gateway API v1.6"), standard channel.
 */
export const GATEWAY_API_FOR_ISTIO: Readonly<Record<string, string>> = {
  "1.30": "v1.5.1",
  "1.31": "v1.6.0",
};

/** The Gateway API release of the oldest Istio minor this program knows (the field set it emits). */
export const GATEWAY_API_VERSION = GATEWAY_API_FOR_ISTIO["1.30"];

/** `1.30` of `1.30.4`. */
export const istioMinor = (version: string): string =>
  version.split(".").slice(0, 2).join(".");

/** The Gateway API release an Istio version builds against (the newest known for a newer minor). */
export function gatewayApiVersionFor(istioVersion: string): string {
  return (
    GATEWAY_API_FOR_ISTIO[istioMinor(istioVersion)] ??
    Object.values(GATEWAY_API_FOR_ISTIO).at(-1)!
  );
}

/** The official release manifest of the standard channel at `version`. */
export const gatewayApiCrdsUrl = (version: string): string =>
  `https://github.com/kubernetes-sigs/gateway-api/releases/download/${version}/standard-install.yaml`;

/** Istio's GatewayClasses: `istio` deploys an ingress proxy, `istio-waypoint` an L7 waypoint. */
export type GatewayClassName = "istio" | "istio-waypoint";

export interface Listener {
  readonly name: string;
  readonly port: number;
  readonly protocol: "HTTP" | "HBONE";
  /** Which namespaces' routes may attach. Defaults (API) to the Gateway's own namespace. */
  readonly allowedRoutes?: {
    readonly namespaces: { readonly from: "Same" | "All" };
  };
}

export interface KubernetesGatewaySpec {
  readonly gatewayClassName: GatewayClassName;
  readonly listeners: readonly Listener[];
  /** Istio reads a ConfigMap here and merges its `deployment`/`service` overlays into what it deploys. */
  readonly infrastructure?: {
    readonly parametersRef: {
      readonly group: "";
      readonly kind: "ConfigMap";
      readonly name: string;
    };
  };
}

/** A route's parent: a Gateway (north-south) or a Service (east-west, GAMMA). */
export type ParentReference =
  | {
      readonly group: "gateway.networking.k8s.io";
      readonly kind: "Gateway";
      readonly name: string;
      readonly namespace?: string;
    }
  | {
      readonly group: "";
      readonly kind: "Service";
      readonly name: string;
      readonly port: number;
    };

/** A Service to send to; `namespace` only across namespaces (needs a ReferenceGrant there). */
export interface BackendRef {
  readonly name: string;
  readonly namespace?: string;
  readonly port: number;
  readonly weight?: number;
  /** Filters applied when this backend is picked (Istio: the destination's headers). */
  readonly filters?: readonly {
    readonly type: "ResponseHeaderModifier";
    readonly responseHeaderModifier: {
      readonly set: readonly {
        readonly name: string;
        readonly value: string;
      }[];
    };
  }[];
}

export interface HTTPRouteMatch {
  readonly path?: {
    readonly type: "Exact" | "PathPrefix";
    readonly value: string;
  };
  readonly headers?: readonly {
    readonly type: "Exact";
    readonly name: string;
    readonly value: string;
  }[];
}

export interface HTTPRouteFilter {
  readonly type: "RequestMirror";
  readonly requestMirror: {
    readonly backendRef: Omit<BackendRef, "weight">;
    readonly percent: number;
  };
}

export interface HTTPRouteRule {
  readonly name: string;
  readonly matches?: readonly HTTPRouteMatch[];
  readonly backendRefs: readonly BackendRef[];
  readonly filters?: readonly HTTPRouteFilter[];
  /** `request`: the whole request, retries included (Istio's route timeout). */
  readonly timeouts?: { readonly request: string };
}

export interface HTTPRouteSpec {
  readonly parentRefs: readonly ParentReference[];
  readonly hostnames?: readonly string[];
  readonly rules: readonly HTTPRouteRule[];
}

/** Lets routes in `from` namespaces send to this namespace's Services. */
export interface ReferenceGrantSpec {
  readonly from: readonly {
    readonly group: "gateway.networking.k8s.io";
    readonly kind: "HTTPRoute";
    readonly namespace: string;
  }[];
  readonly to: readonly { readonly group: ""; readonly kind: "Service" }[];
}

/** The spec type of every Gateway API kind this stack emits. */
export interface GatewayApiSpecs {
  Gateway: KubernetesGatewaySpec;
  HTTPRoute: HTTPRouteSpec;
  ReferenceGrant: ReferenceGrantSpec;
}

export type GatewayApiKind = keyof GatewayApiSpecs;

/** Every kind in its standard-channel version. */
export const GATEWAY_API_VERSIONS: {
  readonly [K in GatewayApiKind]: string;
} = {
  Gateway: "gateway.networking.k8s.io/v1",
  HTTPRoute: "gateway.networking.k8s.io/v1",
  ReferenceGrant: "gateway.networking.k8s.io/v1",
};

export interface GatewayApiResourceArgs<K extends GatewayApiKind> {
  readonly kind: K;
  readonly metadata: {
    readonly name: string;
    readonly namespace: string;
    readonly labels?: Readonly<Record<string, string>>;
    /** Linkerd reads a route's retries from annotations (retry.linkerd.io/*). */
    readonly annotations?: Readonly<Record<string, string>>;
  };
  readonly spec: GatewayApiSpecs[K];
}

/**
 * A Gateway API resource of `kind`, ordered after the Gateway API CRDs (when the stack installs
 * them) and istiod, which turns Gateways into proxies and routes into their config. The
 * provider comes from the parent.
 */
export function gatewayApiResource<K extends GatewayApiKind>(
  name: string,
  args: GatewayApiResourceArgs<K>,
  opts: {
    readonly parent: pulumi.Resource;
    readonly mesh: Pick<Mesh, "gatewayApiCrds" | "istiod">;
    readonly dependsOn?: readonly pulumi.Resource[];
  },
): k8s.apiextensions.CustomResource {
  return customResource(name, GATEWAY_API_VERSIONS, args, {
    parent: opts.parent,
    dependsOn: [
      ...(opts.dependsOn ?? []),
      ...(opts.mesh.gatewayApiCrds ? [opts.mesh.gatewayApiCrds] : []),
      opts.mesh.istiod,
    ],
  });
}
