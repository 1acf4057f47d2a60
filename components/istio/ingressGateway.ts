// The ingress gateway: Istio's gateway chart, the Istio Gateway selecting its pods and the
// VirtualService routing what enters (routing.api istio), or a Gateway API Gateway that istiod
// deploys and an HTTPRoute (gateway-api); and the optional edge protection.
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import {
  chartRelease,
  GATEWAY_HTTP_PORT,
  GATEWAY_RELEASE,
  gatewayApiPodLabels,
  gatewayApiResource,
  gatewayPodLabels,
  INGRESS_GATEWAY_NAME,
  ingressServiceName,
  gatewayInjector,
  gatewayRevision,
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
  GATEWAY_RESOURCES,
  gatewayParameters,
  gatewaySpec,
  gatewayValues,
  ingressGatewaySpec,
  ingressHTTPRouteSpec,
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
  /** Routes of the ingress VirtualService (tried in order) or HTTPRoute (by match precedence). */
  readonly routes: readonly IngressRoute[];
  /** Validate JWTs at the edge and require one outside the public paths. Defaults to off. */
  readonly jwt?: JwtConfig;
  /** Local rate limit of the gateway. Defaults to off. */
  readonly rateLimit?: RateLimitConfig;
}

/**
 * The ingress gateway. With Istio's routing API: Istio's `gateway` chart (release
 * GATEWAY_RELEASE), an Istio Gateway selecting its pods and the VirtualService that routes what
 * enters. With the Gateway API: a Gateway of class `istio`, whose proxy istiod deploys
 * ("<name>-istio", sized and typed by a parameters ConfigMap), and an HTTPRoute attached to it;
 * each target namespace grants the route access (AppNamespace's ReferenceGrant).
 */
export class IngressGateway extends pulumi.ComponentResource {
  /** The gateway chart's release (routing.api istio). */
  readonly release?: k8s.helm.v3.Release;
  /** The Istio Gateway, or the Gateway API Gateway. */
  readonly gateway: k8s.apiextensions.CustomResource;
  /** The ingress VirtualService, or HTTPRoute. */
  readonly routes: k8s.apiextensions.CustomResource;
  /** Name of the gateway's Service (the release, or "<gateway>-istio"). */
  readonly serviceName: string;
  readonly namespace: string;
  /** "<namespace>/<name>" of the Gateway. */
  readonly gatewayRef: string;

  constructor(
    name: string,
    args: IngressGatewayArgs,
    opts?: pulumi.ComponentResourceOptions,
  ) {
    super("service-mesh:istio:IngressGateway", name, {}, opts);
    const { mesh } = args;
    const gatewayApi = mesh.routingApi === "gateway-api";
    const podLabels = gatewayApi
      ? gatewayApiPodLabels(INGRESS_GATEWAY_NAME)
      : gatewayPodLabels(GATEWAY_RELEASE);
    this.serviceName = ingressServiceName(mesh.routingApi);
    this.namespace = args.namespace;

    // Injection enabled: the chart's gateway pods are completed by the injector (a namespace
    // marked istio-injection=disabled would leave them without a proxy).
    const ns = new k8s.core.v1.Namespace(
      `${name}-ns`,
      {
        metadata: {
          name: args.namespace,
          labels: injectionLabels(mesh.revisions?.labelOf(args.namespace)),
        },
      },
      { parent: this },
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
        { parent: this, mesh, dependsOn: [ns] },
      );

    const gatewayName = INGRESS_GATEWAY_NAME;
    this.gatewayRef = `${args.namespace}/${gatewayName}`;
    if (gatewayApi) {
      const parametersName = `${gatewayName}-params`;
      const parameters = new k8s.core.v1.ConfigMap(
        `${name}-gateway-params`,
        {
          metadata: { name: parametersName, namespace: args.namespace },
          data: gatewayParameters(GATEWAY_RESOURCES, args.serviceType),
        },
        { parent: this, dependsOn: [ns] },
      );
      // istiod deploys the proxy, its image and config coming from its own injection
      // templates; the parameters must exist first or the first Deployment ignores them.
      this.gateway = gatewayApiResource(
        `${name}-gw`,
        {
          kind: "Gateway",
          metadata: { name: gatewayName, namespace: args.namespace },
          spec: ingressGatewaySpec(parametersName),
        },
        { parent: this, mesh, dependsOn: [ns, parameters] },
      );
      this.routes = gatewayApiResource(
        `${name}-routes`,
        {
          kind: "HTTPRoute",
          metadata: { name: "ingress-routes", namespace: args.namespace },
          spec: ingressHTTPRouteSpec(
            { name: gatewayName, namespace: args.namespace },
            args.routes,
          ),
        },
        { parent: this, mesh, dependsOn: [ns, this.gateway] },
      );
    } else {
      this.release = chartRelease(
        `${name}-gateway`,
        {
          releaseName: GATEWAY_RELEASE,
          namespace: args.namespace,
          source: istioChartSource(args.istio, "gateway"),
          values: gatewayValues(
            args.istio,
            args.serviceType,
            GATEWAY_RELEASE,
            undefined,
            undefined,
            gatewayRevision(mesh, args.namespace),
          ),
          skipAwait: mesh.skipAwait,
        },
        // The gateway pods use `image: auto` and are completed by istiod's injector (with
        // revisions, by their tag's).
        { parent: this, dependsOn: [ns, gatewayInjector(mesh)] },
      );
      this.gateway = resource(
        "gw",
        "Gateway",
        gatewayName,
        gatewaySpec(podLabels, GATEWAY_HTTP_PORT),
      );
      this.routes = resource(
        "routes",
        "VirtualService",
        "ingress-routes",
        ingressVirtualServiceSpec(this.gatewayRef, args.routes),
      );
    }

    // Edge protection, each piece only when configured; both kinds of gateway pods are
    // selected by their labels.
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
