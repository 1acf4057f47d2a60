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
import { Checker } from "./checker";
import { type IstioConfig, ISTIO_DEFAULTS, validateIstio } from "./istio";
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
import type { Fields } from "./section";
import {
  SECURITY_DEFAULTS,
  type SecurityConfig,
  validateSecurity,
} from "./security";
import { keyPath, show } from "./show";

export interface MeshConfig {
  readonly istio: IstioConfig;
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
  checkChartDir(c, istio.chartDir, security.cni);
  if (!security.cni && Object.keys(istio.values.cni).length > 0) {
    c.fail(
      `istio.values.cni is set but security.cni is off, so the cni chart is not installed (got ${show(istio.values.cni)}); ` +
        `turn it on with 'pulumi config set --path security.cni true' or remove istio.values.cni`,
    );
  }
  const skipAwait = c.boolean("skipAwait", raw.skipAwait, DEFAULTS.skipAwait);
  c.throwIfAny();
  return {
    istio,
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

/** A local chart directory must hold every chart the stack installs. */
function checkChartDir(
  c: Checker,
  chartDir: string | undefined,
  cni: boolean,
): void {
  if (!chartDir) {
    return;
  }
  const charts = ["base", "istiod", "gateway", ...(cni ? ["cni"] : [])];
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
