// The whole stack configuration: every top-level key, its default, and the rules that span
// sections. validateConfig() returns a fully defaulted MeshConfig or throws a ConfigError listing
// every problem; nothing here registers a resource, so a bad value stops the program before the
// cluster is touched.
import * as fs from "fs";
import * as path from "path";
import {
  CANARY_DEFAULTS,
  type CanaryConfig,
  DEMO_SERVICES,
  IMAGES_DEFAULTS,
  type ImagesConfig,
  INGRESS_DEFAULTS,
  type IngressConfig,
  validateCanary,
  validateImages,
  validateIngress,
} from "./app";
import {
  BOOKINFO_DEFAULTS,
  BOOKINFO_SERVICES,
  type BookinfoConfig,
  validateBookinfo,
} from "./bookinfo";
import { Checker, isPlainObject } from "./checker";
import { GATEWAY_API_VERSION, needsGatewayApi } from "../core";
import {
  ISTIO_CHARTS,
  type IstioChartName,
  type IstioConfig,
  ISTIO_DEFAULTS,
  validateIstio,
} from "./istio";
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
import type { Fields } from "./section";
import {
  SECURITY_DEFAULTS,
  type SecurityConfig,
  validateSecurity,
} from "./security";
import { keyPath, show } from "./show";

export interface MeshConfig {
  readonly istio: IstioConfig;
  /** Istio's routing API or the Gateway API, and the Gateway API CRDs' source. */
  readonly routing: RoutingConfig;
  readonly ingress: IngressConfig;
  /** Namespace of the demo app, labelled for sidecar injection. */
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
  /** When true, nothing waits for readiness (Helm releases and workloads). */
  readonly skipAwait: boolean;
}

/** Every top-level key with its default, in the order the README documents them. */
export const DEFAULTS = {
  istio: ISTIO_DEFAULTS,
  routing: ROUTING_DEFAULTS,
  ingress: INGRESS_DEFAULTS,
  appNamespace: "mesh-demo",
  images: IMAGES_DEFAULTS,
  canary: CANARY_DEFAULTS,
  security: SECURITY_DEFAULTS,
  resilience: RESILIENCE_DEFAULTS,
  observability: OBSERVABILITY_DEFAULTS,
  bookinfo: BOOKINFO_DEFAULTS,
  skipAwait: false,
} satisfies Fields<MeshConfig>;

export type ConfigKey = keyof typeof DEFAULTS;

/** Every top-level key this program reads; anything else in the project's namespace is a typo. */
export const CONFIG_KEYS = Object.keys(DEFAULTS) as readonly ConfigKey[];

/** The keys holding an object, which the CLI stores as JSON; the others hold a plain value. */
export const OBJECT_KEYS: readonly ConfigKey[] = CONFIG_KEYS.filter(
  (k) => typeof DEFAULTS[k] === "object",
);

/** Validates and defaults the raw config. Throws a ConfigError naming every bad key. */
export function validateConfig(raw: Record<string, unknown>): MeshConfig {
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
  const istio = validateIstio(c, raw.istio);
  const routing = validateRouting(c, raw.routing);
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
  const images = validateImages(c, raw.images);
  const canary = validateCanary(c, raw.canary);
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
  const resilience = validateResilience(c, raw.resilience, [
    ...DEMO_SERVICES,
    ...(bookinfo.enabled ? BOOKINFO_SERVICES : []),
  ]);
  const security = validateSecurity(c, raw.security);
  const charts = installedCharts(istio, routing, security.cni);
  checkChartDir(c, istio.chartDir, charts);
  checkUnusedChartValues(c, istio, charts);
  checkModes(c, raw, istio, routing, resilience, bookinfo);
  const skipAwait = c.boolean("skipAwait", raw.skipAwait, DEFAULTS.skipAwait);
  c.throwIfAny();
  return {
    istio,
    routing,
    ingress,
    appNamespace,
    images,
    canary,
    security,
    resilience,
    observability,
    bookinfo,
    skipAwait,
  } satisfies Fields<typeof DEFAULTS>;
}

/**
 * The Istio charts the stack installs in this configuration: istio-cni with security.cni or in
 * ambient (which needs it), ztunnel in ambient, and the gateway chart unless the Gateway API's
 * ingress Gateway (deployed by istiod) takes its place.
 */
export function installedCharts(
  istio: IstioConfig,
  routing: RoutingConfig,
  cni: boolean,
): IstioChartName[] {
  const ambient = istio.dataplane === "ambient";
  return [
    "base",
    "istiod",
    ...(routing.api === "istio" ? (["gateway"] as const) : []),
    ...(cni || ambient ? (["cni"] as const) : []),
    ...(ambient ? (["ztunnel"] as const) : []),
  ];
}

/** Extra values for a chart that is not installed would silently do nothing. */
function checkUnusedChartValues(
  c: Checker,
  istio: IstioConfig,
  charts: readonly IstioChartName[],
): void {
  const why: Record<IstioChartName, string> = {
    base: "",
    istiod: "",
    cni: "turn it on with 'pulumi config set --path security.cni true' (or use istio.dataplane ambient, which installs it)",
    ztunnel:
      "ztunnel runs only with 'pulumi config set --path istio.dataplane ambient'",
    gateway:
      "with routing.api gateway-api, istiod deploys the ingress proxy for a Gateway API Gateway instead",
  };
  for (const chart of ISTIO_CHARTS) {
    if (
      !charts.includes(chart) &&
      Object.keys(istio.values[chart]).length > 0
    ) {
      c.fail(
        `istio.values.${chart} is set but the ${chart} chart is not installed in this configuration (got ${show(istio.values[chart])}); ${why[chart]}, or remove istio.values.${chart}`,
      );
    }
  }
}

/**
 * Settings a mode cannot honour are refused with the mode that supports them (the README's
 * feature-by-mode table says the same).
 */
function checkModes(
  c: Checker,
  raw: Record<string, unknown>,
  istio: IstioConfig,
  routing: RoutingConfig,
  resilience: ResilienceConfig,
  bookinfo: BookinfoConfig,
): void {
  const gatewayApi = routing.api === "gateway-api";
  const onlyIstio = (what: string, got: unknown, fix: string) =>
    c.fail(
      `${what} is set (got ${show(got)}) but routing.api is gateway-api, which has no equivalent; ${fix}, or route with 'pulumi config set --path routing.api istio'`,
    );
  if (gatewayApi) {
    const rawRetries = isPlainObject(raw.resilience)
      ? raw.resilience.retries
      : undefined;
    if (rawRetries !== undefined) {
      onlyIstio(
        "resilience.retries",
        rawRetries,
        "HTTPRoute retries are only in the experimental channel of Gateway API " +
          `${GATEWAY_API_VERSION}; remove resilience.retries to keep Istio's default retries (2 attempts on connect-failure, refused-stream, unavailable, cancelled, retriable-status-codes)`,
      );
    }
    for (const service of Object.keys(resilience.faults)) {
      onlyIstio(
        `resilience.faults.${service}`,
        resilience.faults[service],
        `the Gateway API has no fault injection; remove it with 'pulumi config rm --path resilience.faults.${service}'`,
      );
    }
    if (bookinfo.enabled && bookinfo.ratings.fault) {
      onlyIstio(
        "bookinfo.ratings.fault",
        bookinfo.ratings.fault,
        "the Gateway API has no fault injection; remove it with 'pulumi config rm --path bookinfo.ratings.fault'",
      );
    }
  }
  const needed = needsGatewayApi(istio.dataplane, routing.api);
  if (routing.gatewayApiCrdsFile !== undefined) {
    if (!needed) {
      c.fail(
        `routing.gatewayApiCrdsFile is set (got ${show(routing.gatewayApiCrdsFile)}) but nothing uses the Gateway API with routing.api istio and istio.dataplane sidecar; remove it, or set routing.api gateway-api or istio.dataplane ambient`,
      );
    } else if (routing.gatewayApiCrds === "cluster") {
      c.fail(
        `routing.gatewayApiCrdsFile is set (got ${show(routing.gatewayApiCrdsFile)}) but routing.gatewayApiCrds is cluster, so nothing is installed from it; remove one of them`,
      );
    }
  }
}

/** A local chart directory must hold every chart the stack installs. */
function checkChartDir(
  c: Checker,
  chartDir: string | undefined,
  charts: readonly IstioChartName[],
): void {
  if (!chartDir) {
    return;
  }
  const missing = charts.filter(
    (ch) => !fs.existsSync(path.join(chartDir, ch, "Chart.yaml")),
  );
  if (missing.length > 0) {
    c.fail(
      `istio.chartDir must hold the charts ${charts.map((ch) => `${ch}/`).join(", ")}, each with a Chart.yaml ` +
        `(got ${show(chartDir)}, missing ${missing.join(", ")}); point it at an unpacked copy of Istio's charts`,
    );
  }
}
