// service-mesh: Istio, a canary-ready demo app and its routing, in one `pulumi up`.
//
// This file reads and validates the stack config, wires the components together and exports
// what a user needs next. All config is validated before the first resource is registered.
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { Bookinfo, DeclaredServices, DemoApp } from "./components/apps";
import {
  bookinfoPolicies,
  checkCluster,
  isSecretConfig,
  readRawConfig,
  revisionsOutput,
  routingPolicyFor,
  servicesOutput,
  validateConfig,
} from "./components/config";
import {
  forceApply,
  GATEWAY_HTTP_PORT,
  gatewayPrincipal,
} from "./components/core";
import {
  EgressGateway,
  IngressGateway,
  IstioControlPlane,
} from "./components/istio";
import { linkerdControlPlaneFor } from "./components/linkerd";
import { Observability } from "./components/observability";
import { ProxyScopes } from "./components/workloads";

const project = pulumi.getProject();
const config = validateConfig(readRawConfig(project), (key) =>
  isSecretConfig(project, key),
);

// What the cluster has (Gateway API CRDs, istiod), read before any change: a change it cannot
// take is refused with nothing deployed (components/config/clusterChecks.ts).
const cluster = checkCluster(
  config,
  process.env.SERVICE_MESH_KUBECTL ?? "kubectl",
);
if (cluster.refusal) {
  throw new pulumi.RunError(cluster.refusal);
}
cluster.notes.forEach((n) => pulumi.log.info(n));
cluster.warnings.forEach((w) => pulumi.log.warn(w));
const routing = cluster.routing;

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

// mesh.provider linkerd: Linkerd's charts instead of Istio's, and no gateways (the config refuses
// every Istio-only setting, components/config/linkerdRefusals.ts).
const linkerd = linkerdControlPlaneFor(config, routing, { provider });
const istio = linkerd
  ? undefined
  : new IstioControlPlane(
      "istio",
      {
        istio: config.istio,
        routing,
        mtlsMode: config.security.mtlsMode,
        cni: config.security.cni,
        tracing: config.observability.jaeger.enabled,
        registryOnly: config.egress.mode === "registry-only",
        skipAwait: config.skipAwait,
      },
      { provider },
    );
const mesh = linkerd?.mesh ?? istio!.mesh;
const ingressNamespace = config.ingress.namespace;
const ingressPrincipal = gatewayPrincipal(ingressNamespace, config.routing.api);
// The restricted Pod Security Standard holds when no privileged istio-init is injected: with
// istio-cni in sidecar mode, and always in ambient (pods are left as they are).
const restricted = config.security.cni || config.istio.dataplane === "ambient";

const demo = config.demo.enabled
  ? new DemoApp(
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
        ingressPrincipal: linkerd ? undefined : ingressPrincipal,
        ingressNamespace,
        restricted,
      },
      { provider },
    )
  : undefined;

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

// Only with services declared, so a stack without them keeps exactly the resources it had.
const declared =
  config.services.length > 0
    ? new DeclaredServices(
        "services",
        {
          mesh,
          services: config.services,
          resilience: config.resilience,
          ingressNamespace,
          restricted,
          externalNamespaces: config.externalNamespaces,
          // Services in the demo's namespace wait for the demo to create it.
          existingNamespaces: demo
            ? { [config.appNamespace]: demo.namespace.namespace }
            : {},
        },
        { provider },
      )
    : undefined;

const ingress = linkerd
  ? undefined
  : new IngressGateway(
      "ingress",
      {
        mesh,
        istio: config.istio,
        namespace: ingressNamespace,
        serviceType: config.ingress.serviceType,
        // Bookinfo's exact paths and declared services' prefixes first: the demo app's catch-all
        // "/" would shadow them.
        routes: [
          ...(bookinfo?.ingressRoutes ?? []),
          ...(declared?.ingressRoutes ?? []),
          ...(demo?.ingressRoutes ?? []),
        ],
        jwt: config.security.jwt,
        rateLimit: config.security.rateLimit,
      },
      { provider },
    );

// The app namespaces the stack creates, by name: egress NetworkPolicies go into each.
const appNamespaces: Record<string, pulumi.Resource> = {
  ...(demo ? { [config.appNamespace]: demo.namespace.namespace } : {}),
  ...(bookinfo
    ? { [bookinfoConfig.namespace]: bookinfo.appNamespace.namespace }
    : {}),
  ...(declared?.createdNamespaces ?? {}),
};
const egress =
  config.egress.hosts.length > 0
    ? new EgressGateway(
        "egress",
        {
          mesh,
          istio: config.istio,
          egress: config.egress,
          policy: routingPolicyFor(config.resilience, "egress"),
          appNamespaces,
          meshNamespaces: [
            ingressNamespace,
            ...Object.keys(appNamespaces),
            ...config.services.map((s) => s.namespace),
          ],
        },
        { provider },
      )
    : undefined;

// Each sidecar imports only what it calls (routing.scopeProxies): the call graph is the stack's
// ALLOW policies read the other way round, so it is whole only once every service exists.
if (mesh.scopeProxies && mesh.dataplane === "sidecar") {
  new ProxyScopes(
    "scopes",
    {
      mesh,
      services: [
        ...(demo ? [demo.frontend, demo.backend] : []),
        ...Object.values(bookinfo?.services ?? {}),
        ...Object.values(declared?.services ?? {}),
      ],
      external: egress?.callTargets ?? [],
    },
    { provider },
  );
}

const observability = linkerd
  ? undefined
  : new Observability(
      "observability",
      {
        mesh,
        config: config.observability,
        spanSources: [
          ...new Set([
            ...(config.demo.enabled ? [config.appNamespace] : []),
            config.ingress.namespace,
            ...(bookinfoConfig.enabled ? [bookinfoConfig.namespace] : []),
            ...config.services.map((s) => s.namespace),
            // The egress gateway's (or waypoint's) spans too.
            ...(egress ? [config.egress.namespace] : []),
          ]),
        ],
      },
      { provider },
    );

const localPort = 8080;

/** The demo backend's traffic split in effect, version to percent; null without the demo. */
export const canaryWeights = demo
  ? Object.fromEntries(config.canary.weights.map((w) => [w.version, w.weight]))
  : null;
/** Every demo backend version deployed, including those at weight 0. */
export const backendVersions = config.canary.weights.map((w) => w.version);
/**
 * Each declared service: where it is, the split this `up` deployed, and what Istio's metrics call
 * each version's pods (`npm run rollout -- --service` and `npm run traffic -- --service` read it).
 */
export const services = servicesOutput(config.services);
/** Istio's release; null on Linkerd. */
export const istioVersion = linkerd ? null : config.istio.version;
/** sidecar or ambient; null on Linkerd. */
export const dataplane = linkerd ? null : config.istio.dataplane;
/** With istiod as revisions: versions, tags and each namespace's revision (null without). */
export const istioRevisions = revisionsOutput(config) ?? null;
/** istio (VirtualService) or gateway-api (HTTPRoute). */
/** The service mesh the stack runs: istio or linkerd (mesh.provider). */
export const meshProvider = config.mesh.provider;
export const routingApi = config.routing.api;
export const appNamespace = config.appNamespace;
// On Linkerd, which has no ingress gateway, the demo's frontend Service stands in for it.
const entry = ingress
  ? {
      name: ingress.serviceName,
      namespace: ingress.namespace,
      port: GATEWAY_HTTP_PORT,
    }
  : { name: "frontend", namespace: config.appNamespace, port: 80 };
export const ingressService = entry;
export const portForwardCommand = `kubectl -n ${entry.namespace} port-forward svc/${entry.name} ${localPort}:${entry.port}`;
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
/** The egress gateway's namespace and the external hosts the mesh may reach, or null. */
export const egressHosts = egress
  ? {
      namespace: config.egress.namespace,
      mode: config.egress.mode,
      hosts: config.egress.hosts.map((h) => h.host),
    }
  : null;
/** For each enabled dashboard: the port-forward command and the URL it opens. */
export const dashboards = observability?.dashboards ?? linkerd!.dashboards;
/** Grafana's generated admin password (user "admin"); `pulumi stack output --show-secrets` reveals it. */
export const grafanaAdminPassword = observability?.grafanaAdminPassword ?? null;
