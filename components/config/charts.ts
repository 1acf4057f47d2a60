// Which of Istio's charts the stack installs, and the chart settings that only make sense for
// charts it installs.
import * as fs from "fs";
import * as path from "path";
import type { Checker } from "./checker";
import { ISTIO_CHARTS, type IstioChartName, type IstioConfig } from "./istio";
import type { RoutingConfig } from "./routing";
import { show } from "./show";

/**
 * The Istio charts the stack installs in this configuration: istio-cni with security.cni or in
 * ambient (which needs it), ztunnel in ambient, and the gateway chart for the ingress (unless the
 * Gateway API's ingress Gateway, deployed by istiod, takes its place) or the egress gateway
 * (sidecar data plane; ambient's egress goes through a waypoint).
 */
export function installedCharts(
  istio: IstioConfig,
  routing: RoutingConfig,
  cni: boolean,
  /** Egress hosts are configured: with sidecars, the gateway chart runs the egress gateway. */
  egress = false,
): IstioChartName[] {
  const ambient = istio.dataplane === "ambient";
  return [
    "base",
    "istiod",
    ...(routing.api === "istio" || (egress && !ambient)
      ? (["gateway"] as const)
      : []),
    ...(cni || ambient ? (["cni"] as const) : []),
    ...(ambient ? (["ztunnel"] as const) : []),
  ];
}

/** Extra values for a chart that is not installed would silently do nothing. */
export function checkUnusedChartValues(
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

/** A local chart directory must hold every chart the stack installs. */
export function checkChartDir(
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
