// The ingress gateway: Istio's gateway chart, the Istio Gateway selecting its pods, the
// VirtualService routing what enters, and the optional edge protection.
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import {
  chartRelease,
  GATEWAY_HTTP_PORT,
  GATEWAY_RELEASE,
  gatewayPodLabels,
  injectionLabels,
  istioResource,
  type IstioKind,
  type IstioSpecs,
  type Mesh,
} from "../core";
import type {
  IngressServiceType,
  IstioConfig,
  JwtConfig,
  RateLimitConfig,
} from "../config";
import {
  gatewaySpec,
  gatewayValues,
  type IngressRoute,
  ingressVirtualServiceSpec,
  istioChartSource,
  rateLimitEnvoyFilterSpec,
  requestAuthenticationSpec,
  requireJwtSpec,
} from "../specs";

export interface IngressGatewayArgs {
  /** The control plane: the Istio resources wait for its CRDs, the gateway pods for istiod. */
  readonly mesh: Mesh;
  /** Chart source (validated config); the gateway's image comes from istiod's injection. */
  readonly istio: IstioConfig;
  /** Namespace of the gateway, created here and left injectable. */
  readonly namespace: string;
  /** Type of the gateway Service. */
  readonly serviceType: IngressServiceType;
  /** Routes of the ingress VirtualService, tried in order. */
  readonly routes: readonly IngressRoute[];
  /** Validate JWTs at the edge and require one outside the public paths. Defaults to off. */
  readonly jwt?: JwtConfig;
  /** Local rate limit of the gateway. Defaults to off. */
  readonly rateLimit?: RateLimitConfig;
}

/**
 * The ingress gateway from Istio's `gateway` chart (release GATEWAY_RELEASE), an Istio Gateway
 * selecting its pods, and the VirtualService that routes what enters through it.
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
    const podLabels = gatewayPodLabels(GATEWAY_RELEASE);
    this.serviceName = GATEWAY_RELEASE;
    this.namespace = args.namespace;

    // Injection enabled: the gateway's pods are completed by the injector (a namespace marked
    // istio-injection=disabled would leave them without a proxy).
    const ns = new k8s.core.v1.Namespace(
      `${name}-ns`,
      { metadata: { name: args.namespace, labels: injectionLabels() } },
      { parent: this },
    );

    this.release = chartRelease(
      `${name}-gateway`,
      {
        releaseName: GATEWAY_RELEASE,
        namespace: args.namespace,
        source: istioChartSource(args.istio, "gateway"),
        values: gatewayValues(args.istio, args.serviceType, GATEWAY_RELEASE),
        skipAwait: args.mesh.skipAwait,
      },
      // The gateway pods use `image: auto` and are completed by istiod's injector.
      { parent: this, dependsOn: [ns, args.mesh.istiod] },
    );

    // Every Istio resource of the gateway lives in its namespace.
    const resource = <K extends IstioKind>(
      suffix: string,
      kind: K,
      resourceName: string,
      spec: IstioSpecs[K],
    ) =>
      istioResource(
        `${name}-${suffix}`,
        {
          kind,
          metadata: { name: resourceName, namespace: args.namespace },
          spec,
        },
        { parent: this, mesh: args.mesh, dependsOn: [ns] },
      );

    const gatewayName = "mesh-gateway";
    this.gatewayRef = `${args.namespace}/${gatewayName}`;
    this.gateway = resource(
      "gw",
      "Gateway",
      gatewayName,
      gatewaySpec(podLabels, GATEWAY_HTTP_PORT),
    );
    this.virtualService = resource(
      "routes",
      "VirtualService",
      "ingress-routes",
      ingressVirtualServiceSpec(this.gatewayRef, args.routes),
    );

    // Edge protection, each piece only when configured.
    if (args.jwt) {
      resource(
        "jwt",
        "RequestAuthentication",
        "edge-jwt",
        requestAuthenticationSpec(podLabels, args.jwt),
      );
      resource(
        "require-jwt",
        "AuthorizationPolicy",
        "edge-require-jwt",
        requireJwtSpec(podLabels, args.jwt.publicPaths),
      );
    }
    if (args.rateLimit) {
      resource(
        "ratelimit",
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
