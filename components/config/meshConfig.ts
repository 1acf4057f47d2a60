// The whole stack configuration: every top-level key, its default, and the rules that span
// sections. validateConfig() returns a fully defaulted MeshConfig or throws a ConfigError listing
// every problem; nothing here registers a resource, so a bad value stops the program before the
// cluster is touched.
import {
  CANARY_DEFAULTS,
  type CanaryConfig,
  DEMO_DEFAULTS,
  type DemoConfig,
  DEMO_SERVICES,
  IMAGES_DEFAULTS,
  type ImagesConfig,
  INGRESS_DEFAULTS,
  type IngressConfig,
  validateCanary,
  validateDemo,
  validateImages,
  validateIngress,
} from "./app";
import {
  BOOKINFO_DEFAULTS,
  BOOKINFO_PATHS,
  BOOKINFO_SERVICES,
  type BookinfoConfig,
  validateBookinfo,
} from "./bookinfo";
import { Checker } from "./checker";
import { gatewayPrincipal } from "../core";
import {
  checkChartDir,
  checkUnusedChartValues,
  installedCharts,
} from "./charts";
import { type IstioConfig, ISTIO_DEFAULTS, validateIstio } from "./istio";
import { labelledNamespaces } from "./istioInstalled";
import * as meshSections from "./linkerd";
import { checkRevisionScope } from "./istioRevisions";
import {
  OBSERVABILITY_DEFAULTS,
  type ObservabilityConfig,
  validateObservability,
} from "./observability";
import {
  RESILIENCE_DEFAULTS,
  type ResilienceConfig,
  validateResilience,
} from "./resilience";
import {
  ROUTING_DEFAULTS,
  type RoutingConfig,
  validateRouting,
} from "./routing";
import { EGRESS_DEFAULTS, type EgressConfig, validateEgress } from "./egress";
import { checkModes } from "./modes";
import type { Fields } from "./section";
import {
  checkSecrets,
  type DeclaredService,
  resolvePrincipals,
  stackIdentities,
  validateServices,
} from "./serviceGraph";
import {
  SECURITY_DEFAULTS,
  type SecurityConfig,
  validateSecurity,
} from "./security";
import { keyPath, show } from "./show";

/** With `mesh` (istio or linkerd) and `linkerd` (its charts and identity) from MeshSections. */
export interface MeshConfig extends meshSections.MeshSections {
  readonly istio: IstioConfig;
  /** Istio's routing API or the Gateway API, and the Gateway API CRDs' source. */
  readonly routing: RoutingConfig;
  readonly ingress: IngressConfig;
  /** The demo app preset. */
  readonly demo: DemoConfig;
  /** Namespace of the demo app, and of declared services that name no other. */
  readonly appNamespace: string;
  /** Container images of the demo app. */
  readonly images: ImagesConfig;
  /** Backend versions, weights and canary routing. */
  readonly canary: CanaryConfig;
  /** mTLS, authorization and edge protection. */
  readonly security: SecurityConfig;
  /** Traffic policy, timeouts, retries and faults of every versioned service. */
  readonly resilience: ResilienceConfig;
  /** Prometheus, Grafana, Kiali, Jaeger and tracing. */
  readonly observability: ObservabilityConfig;
  /** Istio's Bookinfo sample and its exercises. */
  readonly bookinfo: BookinfoConfig;
  /** Users' own services, in the order declared, their callers resolved. */
  readonly services: readonly DeclaredService[];
  /** Namespaces declared services use that the stack must not create (their owners did). */
  readonly externalNamespaces: readonly string[];
  /** External hosts the mesh may reach through its egress gateway, and the outbound policy. */
  readonly egress: EgressConfig;
  /** When true, nothing waits for readiness (Helm releases and workloads). */
  readonly skipAwait: boolean;
}

/** Every top-level key with its default, in the order docs/configuration.md documents them. */
export const DEFAULTS = {
  istio: ISTIO_DEFAULTS,
  ...meshSections.MESH_SECTION_DEFAULTS,
  routing: ROUTING_DEFAULTS,
  ingress: INGRESS_DEFAULTS,
  demo: DEMO_DEFAULTS,
  appNamespace: "mesh-demo",
  images: IMAGES_DEFAULTS,
  canary: CANARY_DEFAULTS,
  security: SECURITY_DEFAULTS,
  resilience: RESILIENCE_DEFAULTS,
  observability: OBSERVABILITY_DEFAULTS,
  bookinfo: BOOKINFO_DEFAULTS,
  services: [] as readonly DeclaredService[],
  externalNamespaces: [] as readonly string[],
  egress: EGRESS_DEFAULTS,
  skipAwait: false,
} satisfies Fields<MeshConfig>;

export type ConfigKey = keyof typeof DEFAULTS;

/** Every top-level key this program reads; anything else in the project's namespace is a typo. */
export const CONFIG_KEYS = Object.keys(DEFAULTS) as readonly ConfigKey[];

/** The keys holding an object or a list, which the CLI stores as JSON; the others hold a plain value. */
export const OBJECT_KEYS: readonly ConfigKey[] = CONFIG_KEYS.filter(
  (k) => typeof DEFAULTS[k] === "object",
);

/**
 * Validates and defaults the raw config. Throws a ConfigError naming every bad key. `isSecret`
 * says whether a top-level key is stored encrypted (a secret set with `--secret --path` makes its
 * whole key secret); by default none is.
 */
export function validateConfig(
  raw: Record<string, unknown>,
  isSecret: (key: ConfigKey) => boolean = () => false,
): MeshConfig {
  const c = new Checker();
  for (const key of Object.keys(raw)) {
    if (!(CONFIG_KEYS as readonly string[]).includes(key)) {
      // `pulumi config set resilience.timeout 3s` without --path sets a key of that name.
      const section = OBJECT_KEYS.find((k) => key.startsWith(`${k}.`));
      const fix = section
        ? `to set a field of ${section}, run 'pulumi config rm ${key}' and 'pulumi config set --path ${key} <value>'`
        : `known keys: ${CONFIG_KEYS.join(", ")}`;
      c.fail(
        `${keyPath("", key)} is not a setting of this program (got ${show(raw[key])}); ${fix}`,
      );
    }
  }
  const meshes = meshSections.validateMeshSections(c, raw, isSecret("linkerd"));
  const istio = validateIstio(c, raw.istio);
  const routes = meshSections.onMesh(meshes, validateRouting(c, raw.routing));
  const routing = routes.routing;
  const ingress = validateIngress(c, raw.ingress);
  const appNamespace = c.namespace(
    "appNamespace",
    raw.appNamespace,
    DEFAULTS.appNamespace,
  );
  if (appNamespace === ingress.namespace) {
    c.fail(
      `appNamespace must differ from ingress.namespace (both are ${show(appNamespace)}); the gateway gets a namespace of its own`,
    );
  }
  const demo = validateDemo(c, raw.demo);
  for (const key of ["canary", "images"] as const) {
    if (!demo.enabled && raw[key] !== undefined) {
      c.fail(
        `${key} is set (got ${show(raw[key])}) but demo.enabled is false, so there is no demo app to apply it to; remove it with 'pulumi config rm ${key}'`,
      );
    }
  }
  const images = validateImages(c, demo.enabled ? raw.images : undefined);
  const canary = demo.enabled ? validateCanary(c, raw.canary) : { weights: [] };
  const observability = validateObservability(c, raw.observability);
  const bookinfo = validateBookinfo(c, raw.bookinfo);
  if (
    bookinfo.enabled &&
    [appNamespace, ingress.namespace].includes(bookinfo.namespace)
  ) {
    c.fail(
      `bookinfo.namespace must differ from appNamespace and ingress.namespace (got ${show(bookinfo.namespace)}); Bookinfo gets a namespace of its own`,
    );
  }
  const externalNamespaces = c.stringList(
    "externalNamespaces",
    raw.externalNamespaces,
    DEFAULTS.externalNamespaces,
  );
  const presets = [
    ...(demo.enabled
      ? [{ namespace: appNamespace, names: DEMO_SERVICES, paths: ["/"] }]
      : []),
    ...(bookinfo.enabled
      ? [
          {
            namespace: bookinfo.namespace,
            names: BOOKINFO_SERVICES,
            paths: BOOKINFO_PATHS,
          },
        ]
      : []),
  ];
  const ingressPrincipal = gatewayPrincipal(ingress.namespace, routing.api);
  const services = validateServices(c, raw.services, {
    appNamespace,
    ingressNamespace: ingress.namespace,
    ingressPrincipal,
    routingApi: routing.api,
    dataplane: istio.dataplane,
    presets,
    presetNamespaces: bookinfo.enabled ? [bookinfo.namespace] : [],
    presetPaths: presets.flatMap((p) => p.paths),
    externalNamespaces,
  });
  checkSecrets(c, services, isSecret("services"));
  const egressRaw = validateEgress(c, raw.egress);
  const identities = stackIdentities(presets, services);
  const egress = {
    ...egressRaw,
    hosts: egressRaw.hosts.map((h) => ({
      ...h,
      allowedPrincipals: resolvePrincipals(
        c,
        keyPath(keyPath("egress.hosts", h.host), "callers"),
        h.callers,
        identities,
        ingressPrincipal,
      ),
    })),
  };
  if (
    [
      ingress.namespace,
      appNamespace,
      ...services.map((s) => s.namespace),
    ].includes(egress.namespace) ||
    (bookinfo.enabled && bookinfo.namespace === egress.namespace)
  ) {
    c.fail(
      `egress.namespace must be a namespace of its own (got ${show(egress.namespace)}, which the ingress or an app uses); the egress gateway's namespace is the only one allowed to reach the outside`,
    );
  }
  const resilience = validateResilience(c, raw.resilience, [
    ...(demo.enabled ? DEMO_SERVICES : []),
    ...(bookinfo.enabled ? BOOKINFO_SERVICES : []),
    ...services.map((s) => s.name),
  ]);
  const security = validateSecurity(c, raw.security);
  const charts = installedCharts(
    istio,
    routing,
    security.cni,
    egress.hosts.length > 0,
  );
  checkChartDir(c, istio.chartDir, charts);
  checkUnusedChartValues(c, istio, charts);
  checkModes(c, raw, istio, routes.modes, resilience, bookinfo, services);
  checkRevisionScope(
    c,
    istio,
    routing.api,
    labelledNamespaces({
      demo,
      appNamespace,
      bookinfo,
      services,
      externalNamespaces,
      ingress,
      egress,
    }),
  );
  const skipAwait = c.boolean("skipAwait", raw.skipAwait, DEFAULTS.skipAwait);
  c.throwIfAny();
  return {
    istio,
    ...meshes,
    routing,
    ingress,
    demo,
    appNamespace,
    images,
    canary,
    security,
    resilience,
    observability,
    bookinfo,
    services,
    externalNamespaces,
    egress,
    skipAwait,
  } satisfies Fields<typeof DEFAULTS>;
}
