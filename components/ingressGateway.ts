import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { IngressServiceType, IstioConfig } from "./config";
import { gatewayPodLabels, injectionLabels } from "./labels";
import { gatewayValues, istioChartSource } from "./istioValues";
import {
  gatewaySpec,
  ingressVirtualServiceSpec,
  IngressRoute,
  NETWORKING_API,
} from "./routingSpecs";
import { JwtConfig, RateLimitConfig } from "./securityConfig";
import {
  ENVOY_FILTER_API,
  principal,
  rateLimitEnvoyFilterSpec,
  requestAuthenticationSpec,
  requireJwtSpec,
  SECURITY_API,
} from "./securitySpecs";

export interface IngressGatewayArgs {
  /** Chart source (validated config); the gateway's image comes from istiod's injection. */
  readonly istio: IstioConfig;
  /** Namespace of the gateway, created here and left injectable. */
  readonly namespace: string;
  /** Type of the gateway Service. */
  readonly serviceType: IngressServiceType;
  /** Routes of the ingress VirtualService, tried in order. */
  readonly routes: IngressRoute[];
  /** Validate JWTs at the edge and require one outside the public paths. Defaults to off. */
  readonly jwt?: JwtConfig;
  /** Local rate limit of the gateway. Defaults to off. */
  readonly rateLimit?: RateLimitConfig;
  /** The Istio CRDs (the `base` release): the Gateway and VirtualService need them. */
  readonly crds: pulumi.Resource;
  /** istiod (its release): the gateway pods are completed by its injector. */
  readonly istiod: pulumi.Resource;
  /** When true the release does not wait for readiness. Defaults to false. */
  readonly skipAwait?: boolean;
}

/** Helm release name of the gateway; its Service, ServiceAccount and pod labels derive from it. */
export const GATEWAY_RELEASE = "istio-ingressgateway";

/** The principal of the gateway's workloads, for policies that admit traffic from the edge. */
export function gatewayPrincipal(namespace: string): string {
  return principal(namespace, GATEWAY_RELEASE);
}

/** Port the gateway chart's Service exposes for HTTP, and the port its pods listen on. */
export const GATEWAY_HTTP_PORT = 80;

/**
 * The ingress gateway from Istio's `gateway` chart, an Istio Gateway selecting its pods, and the
 * VirtualService that routes what enters through it.
 */
export class IngressGateway extends pulumi.ComponentResource {
  readonly release: k8s.helm.v3.Release;
  readonly gateway: k8s.apiextensions.CustomResource;
  readonly virtualService: k8s.apiextensions.CustomResource;
  /** Name of the gateway's Service (equal to the release name). */
  readonly serviceName: string;
  readonly namespace: string;
  /** "<namespace>/<name>" as VirtualServices reference the Gateway. */
  readonly gatewayRef: string;

  constructor(
    name: string,
    args: IngressGatewayArgs,
    opts?: pulumi.ComponentResourceOptions,
  ) {
    super("service-mesh:istio:IngressGateway", name, {}, opts);
    const releaseName = GATEWAY_RELEASE;
    const podLabels = gatewayPodLabels(releaseName);
    this.serviceName = releaseName;
    this.namespace = args.namespace;

    // Injection enabled: the gateway's pods are completed by the injector (a namespace marked
    // istio-injection=disabled would leave them without a proxy).
    const ns = new k8s.core.v1.Namespace(
      `${name}-ns`,
      { metadata: { name: args.namespace, labels: injectionLabels() } },
      { parent: this },
    );

    this.release = new k8s.helm.v3.Release(
      `${name}-gateway`,
      {
        ...istioChartSource(args.istio, "gateway"),
        name: releaseName,
        namespace: args.namespace,
        values: gatewayValues(args.istio, args.serviceType, releaseName),
        skipAwait: args.skipAwait ?? false,
        timeout: 600,
      },
      // The gateway pods use `image: auto` and are completed by istiod's injector.
      { parent: this, dependsOn: [ns, args.istiod] },
    );

    const gatewayName = "mesh-gateway";
    this.gatewayRef = `${args.namespace}/${gatewayName}`;
    this.gateway = new k8s.apiextensions.CustomResource(
      `${name}-gw`,
      {
        apiVersion: NETWORKING_API,
        kind: "Gateway",
        metadata: { name: gatewayName, namespace: args.namespace },
        spec: gatewaySpec(podLabels, GATEWAY_HTTP_PORT),
      },
      { parent: this, dependsOn: [ns, args.crds] },
    );

    this.virtualService = new k8s.apiextensions.CustomResource(
      `${name}-routes`,
      {
        apiVersion: NETWORKING_API,
        kind: "VirtualService",
        metadata: { name: "ingress-routes", namespace: args.namespace },
        spec: ingressVirtualServiceSpec(this.gatewayRef, args.routes),
      },
      { parent: this, dependsOn: [ns, args.crds] },
    );

    // Edge protection, each piece only when configured.
    const edge = (
      suffix: string,
      apiVersion: string,
      kind: string,
      resourceName: string,
      spec: object,
    ) =>
      new k8s.apiextensions.CustomResource(
        `${name}-${suffix}`,
        {
          apiVersion,
          kind,
          metadata: { name: resourceName, namespace: args.namespace },
          spec,
        },
        { parent: this, dependsOn: [ns, args.crds] },
      );
    if (args.jwt) {
      edge(
        "jwt",
        SECURITY_API,
        "RequestAuthentication",
        "edge-jwt",
        requestAuthenticationSpec(podLabels, args.jwt),
      );
      edge(
        "require-jwt",
        SECURITY_API,
        "AuthorizationPolicy",
        "edge-require-jwt",
        requireJwtSpec(podLabels, args.jwt.publicPaths),
      );
    }
    if (args.rateLimit) {
      edge(
        "ratelimit",
        ENVOY_FILTER_API,
        "EnvoyFilter",
        "edge-local-ratelimit",
        rateLimitEnvoyFilterSpec(podLabels, args.rateLimit),
      );
    }

    this.registerOutputs({
      serviceName: this.serviceName,
      namespace: this.namespace,
      gatewayRef: this.gatewayRef,
    });
  }
}
