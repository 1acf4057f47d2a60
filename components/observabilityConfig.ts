// The `observability` section of the stack config: Prometheus, Grafana and Kiali from their
// charts, Jaeger v2, and the mesh's tracing.
import { Checker } from "./configChecker";

/** Where an addon's chart comes from: a repository at a pinned version, or a local path. */
export interface AddonChart {
  readonly enabled: boolean;
  readonly chartRepo: string;
  readonly chartVersion: string;
  /** Local chart directory; wins over the repository (air-gapped clusters). */
  readonly chartPath?: string;
}

export type KialiAuthStrategy = "token" | "anonymous";

export interface ObservabilityConfig {
  /** Namespace of the addons; Istio's root namespace, where Kiali expects them. */
  readonly namespace: string;
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

export const OBSERVABILITY_DEFAULTS = {
  prometheus: {
    chartRepo: "https://prometheus-community.github.io/helm-charts",
    chartVersion: "28.13.0",
  },
  grafana: {
    chartRepo: "https://grafana.github.io/helm-charts",
    chartVersion: "9.2.2",
    dashboards: true,
  },
  kiali: {
    chartRepo: "https://kiali.org/helm-charts",
    chartVersion: "2.27.0",
    authStrategy: "token" as KialiAuthStrategy,
  },
  jaeger: { image: "jaegertracing/jaeger:2.9.0" },
  samplingPercent: 1,
};

function addon(
  c: Checker,
  key: string,
  raw: unknown,
  defaults: { chartRepo: string; chartVersion: string },
  extra: string[] = [],
): AddonChart & { raw: Record<string, unknown> } {
  const a = c.object(key, raw, [
    "enabled",
    "chartRepo",
    "chartVersion",
    "chartPath",
    ...extra,
  ]);
  return {
    raw: a,
    enabled: c.boolean(`${key}.enabled`, a.enabled, true),
    chartRepo: c.helmRepo(`${key}.chartRepo`, a.chartRepo, defaults.chartRepo),
    chartVersion: c.string(
      `${key}.chartVersion`,
      a.chartVersion,
      defaults.chartVersion,
      {
        re: /^[0-9]+\.[0-9]+\.[0-9]+(-[0-9A-Za-z.-]+)?$/,
        hint: "must pin an exact chart version such as 1.2.3",
      },
    ),
    chartPath:
      a.chartPath === undefined
        ? undefined
        : c.string(`${key}.chartPath`, a.chartPath, ""),
  };
}

export function validateObservability(
  c: Checker,
  raw: unknown,
): ObservabilityConfig {
  const o = c.object("observability", raw, [
    "prometheus",
    "grafana",
    "kiali",
    "jaeger",
    "samplingPercent",
  ]);
  const D = OBSERVABILITY_DEFAULTS;
  const { raw: _p, ...prometheus } = addon(
    c,
    "observability.prometheus",
    o.prometheus,
    D.prometheus,
  );
  const { raw: g, ...grafanaChart } = addon(
    c,
    "observability.grafana",
    o.grafana,
    D.grafana,
    ["dashboards"],
  );
  const grafana = {
    ...grafanaChart,
    dashboards: c.boolean(
      "observability.grafana.dashboards",
      g.dashboards,
      D.grafana.dashboards,
    ),
  };
  const { raw: k, ...kiali } = addon(
    c,
    "observability.kiali",
    o.kiali,
    D.kiali,
    ["authStrategy"],
  );
  const j = c.object("observability.jaeger", o.jaeger, ["enabled", "image"]);
  const jaeger = {
    enabled: c.boolean("observability.jaeger.enabled", j.enabled, true),
    image: c.image("observability.jaeger.image", j.image, D.jaeger.image),
  };
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
    namespace: "istio-system",
    prometheus,
    grafana,
    kiali: {
      ...kiali,
      authStrategy: c.oneOf(
        "observability.kiali.authStrategy",
        k.authStrategy,
        ["token", "anonymous"] as const,
        D.kiali.authStrategy,
      ),
    },
    jaeger,
    samplingPercent: c.percent(
      "observability.samplingPercent",
      o.samplingPercent,
      D.samplingPercent,
    ),
  };
}
