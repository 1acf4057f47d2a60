// Stack configuration: the one place that knows every key, its default and its rules.
//
// index.ts reads the raw values with readRawConfig() and hands them to validateConfig(), which
// returns a fully-defaulted MeshConfig or throws a ConfigError listing every problem. Nothing in
// here registers a resource, so a bad value stops the program before the cluster is touched.
import * as fs from "fs";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import {
  Checker,
  DNS_LABEL,
  isPlainObject,
  SEMVER,
  show,
  validateWeights,
} from "./configChecker";
import {
  BOOKINFO_SERVICES,
  BookinfoConfig,
  validateBookinfo,
} from "./bookinfoConfig";
import {
  ObservabilityConfig,
  validateObservability,
} from "./observabilityConfig";
import {
  ResilienceConfig,
  validateHeaderRoute,
  validateMirror,
  validateResilience,
} from "./resilienceConfig";
import { HeaderRoute } from "./routingPolicy";
import { SecurityConfig, validateSecurity } from "./securityConfig";

/** Kubernetes resource requests and limits, as the Kubernetes API spells them. */
export interface Resources {
  requests: { cpu: string; memory: string };
  limits: { cpu: string; memory: string };
}

/** Where the Istio charts come from: a Helm repository, or a local directory (air-gapped). */
export interface IstioConfig {
  /** Istio release; charts and images use it. */
  version: string;
  /** Helm repository holding the `base`, `istiod` and `gateway` charts. */
  chartRepo: string;
  /** Local directory with `base/`, `istiod/` and `gateway/` chart folders; wins over chartRepo. */
  chartDir?: string;
  /** Image registry for istiod, proxies and the gateway. */
  hub: string;
  /** Image tag; defaults to the version. */
  tag: string;
  /** istiod's requests and limits. */
  istiodResources: Resources;
  /** Requests and limits of every injected proxy (global.proxy.resources). */
  proxyResources: Resources;
  /** The cluster's platform profile (global.platform), for clusters whose CNI paths differ. */
  platform?: IstioPlatform;
  /** Extra chart values per chart, merged under ours (ours win where both set a key). */
  values: Record<IstioChartName, Record<string, unknown>>;
}

/** The Istio charts this program installs, by the key of their extra values. */
export const ISTIO_CHARTS = ["base", "istiod", "gateway", "cni"] as const;
export type IstioChartName = (typeof ISTIO_CHARTS)[number];

/**
 * The platforms Istio 1.30's charts have a profile for (files/profile-platform-*.yaml; an unknown
 * one fails the chart render), except openshift: it needs istio-cni and ztunnel in kube-system and
 * SecurityContextConstraints this program does not manage.
 */
export const ISTIO_PLATFORMS = [
  "gke",
  "k3d",
  "k3s",
  "microk8s",
  "minikube",
] as const;
export type IstioPlatform = (typeof ISTIO_PLATFORMS)[number];

export type IngressServiceType = "ClusterIP" | "NodePort" | "LoadBalancer";

export interface IngressConfig {
  /** Namespace of the ingress gateway (not the app's: the gateway must be injectable). */
  namespace: string;
  /** Type of the gateway's Service. */
  serviceType: IngressServiceType;
}

/** One deployed version of a service and the share of traffic it receives. */
export interface VersionWeight {
  version: string;
  weight: number;
}

/** The demo backend's canary: weights, and optionally a header route and mirroring. */
export interface CanaryConfig {
  /** Versions and their weights, in the order the user listed them. */
  weights: VersionWeight[];
  /** Requests carrying this header value go to one version regardless of weights. */
  header?: HeaderRoute;
  /** Shadow a percentage of live traffic to a version. */
  mirror?: { version: string; percent: number };
}

/** The versioned services of the demo app, which `resilience.faults` may target. */
export const DEMO_SERVICES = ["frontend", "backend"];

export interface MeshConfig {
  istio: IstioConfig;
  ingress: IngressConfig;
  /** Namespace of the demo app, labelled for sidecar injection. */
  appNamespace: string;
  /** Container images of the demo app. */
  images: { frontend: string; backend: string };
  /** Backend versions, weights and canary routing. */
  canary: CanaryConfig;
  /** Traffic policy, timeouts, retries and faults of every versioned service. */
  resilience: ResilienceConfig;
  /** Prometheus, Grafana, Kiali, Jaeger and tracing. */
  observability: ObservabilityConfig;
  /** Istio's Bookinfo sample and its exercises. */
  bookinfo: BookinfoConfig;
  /** mTLS, authorization and edge protection. */
  security: SecurityConfig;
  /** When true, nothing waits for readiness (Helm releases and workloads). */
  skipAwait: boolean;
}

export const ISTIO_CHART_REPO =
  "https://istio-release.storage.googleapis.com/charts";

export const DEFAULTS = {
  istio: {
    version: "1.30.4",
    chartRepo: ISTIO_CHART_REPO,
    // Istio's own registry, the default of its 1.30 charts ("Default registry for Istio images
    // is now registry.istio.io", 1.30 release announcement): anonymous pulls of every image from
    // Docker Hub on a fresh cluster run into its rate limits.
    hub: "registry.istio.io/release",
    istiodResources: {
      requests: { cpu: "100m", memory: "256Mi" },
      limits: { cpu: "1000m", memory: "1Gi" },
    },
    // The chart's default (100m / 128Mi requested, 2 CPUs / 1Gi limit) reserves a tenth of a
    // CPU per pod. Istio publishes 0.20 vCPU / 60 MB for a sidecar at 1000 rps; an idle
    // laptop demo is far below that, and the limits leave room for bursts.
    proxyResources: {
      requests: { cpu: "10m", memory: "40Mi" },
      limits: { cpu: "1000m", memory: "256Mi" },
    },
  },
  ingress: {
    namespace: "istio-ingress",
    serviceType: "ClusterIP" as IngressServiceType,
  },
  appNamespace: "mesh-demo",
  images: {
    frontend: "nginxinc/nginx-unprivileged:1.27.4-alpine",
    backend: "hashicorp/http-echo:1.0.0",
  },
  skipAwait: false,
};

/** Every top-level key this program reads; anything else in the project's namespace is a typo. */
export const CONFIG_KEYS = [
  "istio",
  "ingress",
  "appNamespace",
  "images",
  "canary",
  "security",
  "resilience",
  "observability",
  "bookinfo",
  "skipAwait",
] as const;
/** The keys holding a plain value; every other key is an object, stored by the CLI as JSON. */
const SCALAR_KEYS = new Set(["appNamespace", "skipAwait"]);

/** Raised for invalid stack configuration; Pulumi prints its message without a stack trace. */
export class ConfigError extends pulumi.RunError {
  constructor(readonly problems: string[]) {
    super(
      "Invalid stack configuration (nothing was deployed):\n" +
        problems.map((p) => `  - ${p}`).join("\n"),
    );
    this.name = "ConfigError";
  }
}

/**
 * Reads this project's keys from Pulumi config as plain values: object-valued keys are parsed
 * from JSON, scalars stay strings. Unknown keys of the project namespace are returned under their
 * name too, so validation can reject typos.
 */
export function readRawConfig(projectName: string): Record<string, unknown> {
  const prefix = `${projectName}:`;
  const raw: Record<string, unknown> = {};
  const parseErrors: string[] = [];
  for (const [fullKey, value] of Object.entries(pulumi.runtime.allConfig())) {
    if (!fullKey.startsWith(prefix)) {
      continue;
    }
    const key = fullKey.slice(prefix.length);
    if (
      (CONFIG_KEYS as readonly string[]).includes(key) &&
      !SCALAR_KEYS.has(key)
    ) {
      try {
        raw[key] = JSON.parse(value);
      } catch {
        parseErrors.push(
          `${key} must be an object (got ${JSON.stringify(value)}); set its fields with ` +
            `'pulumi config set --path ${key}.<field> <value>'`,
        );
      }
    } else {
      raw[key] = value;
    }
  }
  if (parseErrors.length > 0) {
    throw new ConfigError(parseErrors);
  }
  return raw;
}

/** `istio.platform`: a profile the charts know, or unset for clusters with standard CNI paths. */
function validatePlatform(
  c: Checker,
  value: unknown,
): IstioPlatform | undefined {
  if (value === undefined) {
    return undefined;
  }
  if (
    typeof value === "string" &&
    (ISTIO_PLATFORMS as readonly string[]).includes(value)
  ) {
    return value as IstioPlatform;
  }
  const why =
    value === "openshift"
      ? "OpenShift needs istio-cni and ztunnel in kube-system and SecurityContextConstraints this program does not manage"
      : `Istio's charts have a profile for ${ISTIO_PLATFORMS.join(", ")}`;
  c.fail(
    `istio.platform must be one of ${ISTIO_PLATFORMS.join(", ")} (got ${show(value)}); ${why}. Remove the key on clusters with standard CNI paths (kind, Docker Desktop, EKS, AKS)`,
  );
  return undefined;
}

/** Validates and defaults the raw config. Throws a ConfigError naming every bad key. */
export function validateConfig(raw: Record<string, unknown>): MeshConfig {
  const c = new Checker();
  for (const key of Object.keys(raw)) {
    if (!(CONFIG_KEYS as readonly string[]).includes(key)) {
      c.fail(
        `${key} is not a setting of this program; known keys: ${CONFIG_KEYS.join(", ")}`,
      );
    }
  }

  const istioRaw = c.object("istio", raw.istio, [
    "version",
    "chartRepo",
    "chartDir",
    "hub",
    "tag",
    "istiodResources",
    "proxyResources",
    "platform",
    "values",
  ]);
  const valuesRaw = c.object("istio.values", istioRaw.values, [
    ...ISTIO_CHARTS,
  ]);
  const chartValues = Object.fromEntries(
    ISTIO_CHARTS.map((chart) => {
      const v = valuesRaw[chart];
      if (v !== undefined && !isPlainObject(v)) {
        c.fail(
          `istio.values.${chart} must be an object of Helm values for the ${chart} chart (got ${show(v)}); e.g. 'pulumi config set --path istio.values.${chart}.<key> <value>'`,
        );
      }
      return [chart, isPlainObject(v) ? v : {}];
    }),
  ) as Record<IstioChartName, Record<string, unknown>>;
  const version = c.string(
    "istio.version",
    istioRaw.version,
    DEFAULTS.istio.version,
    {
      re: SEMVER,
      hint: "must be an Istio release such as 1.30.4",
    },
  );
  const chartRepo = c.helmRepo(
    "istio.chartRepo",
    istioRaw.chartRepo,
    DEFAULTS.istio.chartRepo,
  );
  const chartDir =
    istioRaw.chartDir === undefined
      ? undefined
      : c.string("istio.chartDir", istioRaw.chartDir, "");
  const istio: IstioConfig = {
    version,
    chartRepo,
    chartDir: chartDir || undefined,
    hub: c.string("istio.hub", istioRaw.hub, DEFAULTS.istio.hub),
    tag: c.string("istio.tag", istioRaw.tag, version),
    istiodResources: c.resources(
      "istio.istiodResources",
      istioRaw.istiodResources,
      DEFAULTS.istio.istiodResources,
    ),
    proxyResources: c.resources(
      "istio.proxyResources",
      istioRaw.proxyResources,
      DEFAULTS.istio.proxyResources,
    ),
    platform: validatePlatform(c, istioRaw.platform),
    values: chartValues,
  };

  const ingressRaw = c.object("ingress", raw.ingress, [
    "namespace",
    "serviceType",
  ]);
  const ingress: IngressConfig = {
    namespace: c.namespace(
      "ingress.namespace",
      ingressRaw.namespace,
      DEFAULTS.ingress.namespace,
    ),
    serviceType: c.oneOf(
      "ingress.serviceType",
      ingressRaw.serviceType,
      ["ClusterIP", "NodePort", "LoadBalancer"] as const,
      DEFAULTS.ingress.serviceType,
    ),
  };

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

  const imagesRaw = c.object("images", raw.images, ["frontend", "backend"]);
  const images = {
    frontend: c.image(
      "images.frontend",
      imagesRaw.frontend,
      DEFAULTS.images.frontend,
    ),
    backend: c.image(
      "images.backend",
      imagesRaw.backend,
      DEFAULTS.images.backend,
    ),
  };

  const canary: CanaryConfig = { weights: [] };
  if (raw.canary === undefined) {
    c.fail(
      `canary.weights is not set; give each backend version a weight, e.g. 'pulumi config set --path canary.weights.v1 100'`,
    );
  } else {
    const canaryRaw = c.object("canary", raw.canary, [
      "weights",
      "header",
      "mirror",
    ]);
    if (isPlainObject(raw.canary)) {
      canary.weights = validateWeights(c, "canary.weights", canaryRaw.weights);
      canary.header = validateHeaderRoute(
        c,
        "canary.header",
        canaryRaw.header,
        canary.weights,
      );
      canary.mirror = validateMirror(
        c,
        "canary.mirror",
        canaryRaw.mirror,
        canary.weights,
      );
    }
  }

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
  if (chartDir) {
    const charts = [
      "base",
      "istiod",
      "gateway",
      ...(security.cni ? ["cni"] : []),
    ];
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
  const skipAwait = c.boolean("skipAwait", raw.skipAwait, DEFAULTS.skipAwait);

  if (c.problems.length > 0) {
    throw new ConfigError(c.problems);
  }
  return {
    istio,
    ingress,
    appNamespace,
    images,
    canary,
    resilience,
    observability,
    bookinfo,
    security,
    skipAwait,
  };
}
