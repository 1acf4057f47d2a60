// The `observability` section of the stack config: Prometheus, Grafana and Kiali from their
// charts, Jaeger v2, and the mesh's tracing.
import type { Checker } from "./checker";
import { SEMVER } from "./patterns";
import { type Fields, Section } from "./section";

/** Where an addon's chart comes from: a repository at a pinned version, or a local path. */
export interface AddonChart {
  readonly enabled: boolean;
  readonly chartRepo: string;
  readonly chartVersion: string;
  /** Local chart directory; wins over the repository (air-gapped clusters). */
  readonly chartPath: string | undefined;
}

export type KialiAuthStrategy = "token" | "anonymous";

export interface ObservabilityConfig {
  readonly prometheus: AddonChart;
  /**
   * `dashboards`: download Istio's dashboards from grafana.com when Grafana starts (the chart's
   * download-dashboards init container); a cluster without egress must turn it off.
   */
  readonly grafana: AddonChart & { readonly dashboards: boolean };
  readonly kiali: AddonChart & { readonly authStrategy: KialiAuthStrategy };
  readonly jaeger: { readonly enabled: boolean; readonly image: string };
  /** Percent of requests traced by the proxies, 0-100. */
  readonly samplingPercent: number;
}

/** Every addon is on by default, from its official chart at the version Istio's samples use. */
function addonDefaults(chartRepo: string, chartVersion: string) {
  return {
    enabled: true,
    chartRepo,
    chartVersion,
    chartPath: undefined as string | undefined,
  };
}

export const OBSERVABILITY_DEFAULTS = {
  prometheus: addonDefaults(
    "https://prometheus-community.github.io/helm-charts",
    "28.13.0",
  ),
  grafana: {
    ...addonDefaults("https://grafana.github.io/helm-charts", "9.2.2"),
    dashboards: true,
  },
  kiali: {
    ...addonDefaults("https://kiali.org/helm-charts", "2.27.0"),
    authStrategy: "token" as KialiAuthStrategy,
  },
  jaeger: { enabled: true, image: "jaegertracing/jaeger:2.9.0" },
  samplingPercent: 1,
};

type AddonDefaults = ReturnType<typeof addonDefaults>;

/** The chart fields every addon section shares. */
function addonChart<D extends AddonDefaults>(
  c: Checker,
  section: Section<D>,
): AddonChart {
  // Every addon's defaults extend AddonDefaults, so these fields are its own.
  const s = section as unknown as Section<AddonDefaults>;
  return {
    enabled: s.boolean("enabled"),
    chartRepo: s.helmRepo("chartRepo"),
    chartVersion: s.string("chartVersion", {
      re: SEMVER,
      hint: "must pin an exact chart version such as 1.2.3",
    }),
    chartPath: s.field("chartPath", (key, value) =>
      value === undefined ? undefined : c.string(key, value, ""),
    ),
  } satisfies Fields<AddonDefaults>;
}

export function validateObservability(
  c: Checker,
  raw: unknown,
): ObservabilityConfig {
  const s = new Section(c, "observability", raw, OBSERVABILITY_DEFAULTS);
  const prometheus = addonChart(c, s.section("prometheus"));
  const g = s.section("grafana");
  const grafana = {
    ...addonChart(c, g),
    dashboards: g.boolean("dashboards"),
  } satisfies Fields<typeof OBSERVABILITY_DEFAULTS.grafana>;
  const k = s.section("kiali");
  const kiali = {
    ...addonChart(c, k),
    authStrategy: k.oneOf("authStrategy", ["token", "anonymous"]),
  } satisfies Fields<typeof OBSERVABILITY_DEFAULTS.kiali>;
  const j = s.section("jaeger");
  const jaeger = {
    enabled: j.boolean("enabled"),
    image: j.image("image"),
  } satisfies Fields<typeof OBSERVABILITY_DEFAULTS.jaeger>;
  if (grafana.enabled && !prometheus.enabled) {
    c.fail(
      `observability.grafana.enabled needs observability.prometheus.enabled (Istio's dashboards query Prometheus); enable Prometheus or set 'pulumi config set --path observability.grafana.enabled false'`,
    );
  }
  if (kiali.enabled && !prometheus.enabled) {
    c.fail(
      `observability.kiali.enabled needs observability.prometheus.enabled (Kiali's graphs come from Prometheus); enable Prometheus or set 'pulumi config set --path observability.kiali.enabled false'`,
    );
  }
  return {
    prometheus,
    grafana,
    kiali,
    jaeger,
    samplingPercent: s.percent("samplingPercent"),
  } satisfies Fields<typeof OBSERVABILITY_DEFAULTS>;
}
