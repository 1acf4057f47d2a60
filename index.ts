// service-mesh: Istio, a canary-ready demo app and its routing, in one `pulumi up`.
//
// This file reads and validates the stack config, wires the components together and exports
// what a user needs next. All config is validated before the first resource is registered.
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { Bookinfo, DemoApp } from "./components/apps";
import {
  bookinfoPolicies,
  planGatewayApiCrds,
  readInstalledGatewayApi,
  readRawConfig,
  routingPolicyFor,
  validateConfig,
} from "./components/config";
import {
  forceApply,
  GATEWAY_HTTP_PORT,
  gatewayApiVersionFor,
  gatewayPrincipal,
  istioMinor,
  needsGatewayApi,
} from "./components/core";
import { IngressGateway, IstioControlPlane } from "./components/istio";
import { Observability } from "./components/observability";

const config = validateConfig(readRawConfig(pulumi.getProject()));

// The Gateway API CRDs are the cluster's, not the stack's: read what the cluster has before any
// change, and refuse (nothing deployed) a bundle older than the one the pinned Istio needs.
let routing = config.routing;
if (needsGatewayApi(config.istio.dataplane, routing.api)) {
  const plan = planGatewayApiCrds(
    routing,
    gatewayApiVersionFor(config.istio.version),
    istioMinor(config.istio.version),
    readInstalledGatewayApi(process.env.SERVICE_MESH_KUBECTL ?? "kubectl"),
  );
  if (plan.action === "refuse") {
    throw new pulumi.RunError(
      `Gateway API CRDs (nothing was deployed): ${plan.reason}`,
    );
  }
  pulumi.log.info(plan.note);
  routing = { ...routing, gatewayApiCrds: plan.action };
}

// The stack's config owns every field it declares: a hand edit is undone by `pulumi up
// --refresh`, and an object left behind by an interrupted `up` is taken back by the next one
// (components/core/ownership.ts). Registered before the first resource.
pulumi.runtime.registerStackTransformation(forceApply);

// The current kubectl context (KUBECONFIG), made explicit so every resource names its provider.
// - enablePatchForce: every server-side apply takes back the fields the stack declares, including
//   those of remote components' children (the Gateway API CRDs), which the stack transformation
//   above never sees.
// - upsertExistingObjects: since provider 4.29 creating an object that already exists fails with
//   AlreadyExists. An interrupted `up` leaves objects the API server created but the state never
//   recorded; the next `up` (after `npm run recover`) takes them back instead of failing on each.
//   Every object the stack creates has a name of its own, in namespaces of its own, and the
//   Gateway API CRDs are adopted only at the bundle the stack pins (config/gatewayApiCrds.ts).
const provider = new k8s.Provider("k8s", {
  enablePatchForce: true,
  upsertExistingObjects: true,
});

const istio = new IstioControlPlane(
  "istio",
  {
    istio: config.istio,
    routing,
    mtlsMode: config.security.mtlsMode,
    cni: config.security.cni,
    tracing: config.observability.jaeger.enabled,
    skipAwait: config.skipAwait,
  },
  { provider },
);
const mesh = istio.mesh;
const ingressNamespace = config.ingress.namespace;
const ingressPrincipal = gatewayPrincipal(ingressNamespace, config.routing.api);
// The restricted Pod Security Standard holds when no privileged istio-init is injected: with
// istio-cni in sidecar mode, and always in ambient (pods are left as they are).
const restricted = config.security.cni || config.istio.dataplane === "ambient";

const demo = new DemoApp(
  "demo",
  {
    mesh,
    namespace: config.appNamespace,
    backendVersions: config.canary.weights,
    backendPolicy: routingPolicyFor(config.resilience, "backend", {
      headerRoutes: config.canary.header ? [config.canary.header] : [],
      mirror: config.canary.mirror,
    }),
    frontendPolicy: routingPolicyFor(config.resilience, "frontend"),
    images: config.images,
    ingressPrincipal,
    ingressNamespace,
    restricted,
  },
  { provider },
);

const bookinfoConfig = config.bookinfo;
const bookinfo = bookinfoConfig.enabled
  ? new Bookinfo(
      "bookinfo",
      {
        mesh,
        namespace: bookinfoConfig.namespace,
        imageHub: bookinfoConfig.imageHub,
        imageTag: bookinfoConfig.imageTag,
        reviewsWeights: bookinfoConfig.reviews.weights,
        policies: bookinfoPolicies(bookinfoConfig, config.resilience),
        ingressPrincipal,
        ingressNamespace,
        restricted,
      },
      { provider },
    )
  : undefined;

const ingress = new IngressGateway(
  "ingress",
  {
    mesh,
    istio: config.istio,
    namespace: ingressNamespace,
    serviceType: config.ingress.serviceType,
    // Bookinfo's exact paths first: the demo app's catch-all "/" would shadow them.
    routes: [...(bookinfo?.ingressRoutes ?? []), ...demo.ingressRoutes],
    jwt: config.security.jwt,
    rateLimit: config.security.rateLimit,
  },
  { provider },
);

const observability = new Observability(
  "observability",
  {
    mesh,
    config: config.observability,
    spanSources: [
      config.appNamespace,
      config.ingress.namespace,
      ...(bookinfoConfig.enabled ? [bookinfoConfig.namespace] : []),
    ],
  },
  { provider },
);

const localPort = 8080;

/** The traffic split in effect, version to percent. */
export const canaryWeights = Object.fromEntries(
  config.canary.weights.map((w) => [w.version, w.weight]),
);
/** Every backend version deployed, including those at weight 0. */
export const backendVersions = config.canary.weights.map((w) => w.version);
export const istioVersion = config.istio.version;
/** sidecar or ambient. */
export const dataplane = config.istio.dataplane;
/** istio (VirtualService) or gateway-api (HTTPRoute). */
export const routingApi = config.routing.api;
export const appNamespace = config.appNamespace;
export const ingressService = {
  name: ingress.serviceName,
  namespace: ingress.namespace,
  port: GATEWAY_HTTP_PORT,
};
export const portForwardCommand = `kubectl -n ${ingress.namespace} port-forward svc/${ingress.serviceName} ${localPort}:${GATEWAY_HTTP_PORT}`;
export const curlCommand = `curl -s http://localhost:${localPort}/`;
/** Bookinfo's product page (through the same port-forward) and reviews split, or null when disabled. */
export const bookinfoApp = bookinfo
  ? {
      namespace: bookinfoConfig.namespace,
      url: `http://localhost:${localPort}/productpage`,
      reviewsWeights: Object.fromEntries(
        bookinfoConfig.reviews.weights.map((w) => [w.version, w.weight]),
      ),
    }
  : null;
/** For each enabled dashboard: the port-forward command and the URL it opens. */
export const dashboards = observability.dashboards;
/** Grafana's generated admin password (user "admin"); `pulumi stack output --show-secrets` reveals it. */
export const grafanaAdminPassword = observability.grafanaAdminPassword ?? null;
