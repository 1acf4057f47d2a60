// The observability addons beside istiod, and the mesh's tracing.
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import {
  chartRelease,
  chartSource,
  ISTIO_NAMESPACE,
  istioResource,
  type Mesh,
} from "../core";
import type { AddonChart, ObservabilityConfig } from "../config";
import {
  ADDON_SERVICES,
  GRAFANA_ADMIN,
  grafanaValues,
  jaegerNetworkPolicySpec,
  kialiValues,
  prometheusValues,
  telemetrySpec,
} from "../specs";
import { createJaeger } from "./jaeger";

export interface ObservabilityArgs {
  /** The control plane: the addons live in its root namespace, Kiali reads Istio's CRDs. */
  readonly mesh: Mesh;
  /** Which addons, their chart sources, Kiali's auth and the sampling (validated config). */
  readonly config: ObservabilityConfig;
  /** Namespaces whose proxies send spans to Jaeger's collector (every injected namespace). */
  readonly spanSources: readonly string[];
}

/** A command and a URL that open one dashboard from a workstation. */
export interface Dashboard {
  readonly command: string;
  readonly url: string;
}

/** How a workstation reaches an addon's Service: a port-forward, then a local URL. */
function forward(
  svc: { name: string; port: number },
  local: number,
  path = "/",
): Dashboard {
  return {
    command: `kubectl -n ${ISTIO_NAMESPACE} port-forward svc/${svc.name} ${local}:${svc.port}`,
    url: `http://localhost:${local}${path}`,
  };
}

/**
 * The observability addons beside istiod, none of them injected: Prometheus scrapes the proxies'
 * merged metrics on port 15020, which the pilot-agent serves outside the mTLS listener, so STRICT
 * mTLS does not stand in its way. Grafana (with a generated admin password), Kiali, Jaeger v2,
 * and the Telemetry resource that turns tracing on for the whole mesh.
 */
export class Observability extends pulumi.ComponentResource {
  /** Port-forward commands and URLs of the enabled dashboards. */
  readonly dashboards: Record<string, Dashboard> = {};
  /** Grafana's generated admin password (a secret), when Grafana is enabled. */
  readonly grafanaAdminPassword?: pulumi.Output<string>;

  constructor(
    name: string,
    args: ObservabilityArgs,
    opts?: pulumi.ComponentResourceOptions,
  ) {
    super("service-mesh:observability:Addons", name, {}, opts);
    const { mesh } = args;
    const cfg = args.config;
    const release = (
      releaseName: string,
      chart: string,
      a: AddonChart,
      values: object,
      extraDeps: pulumi.Resource[] = [],
    ) =>
      chartRelease(
        `${name}-${releaseName}`,
        {
          releaseName,
          namespace: ISTIO_NAMESPACE,
          source: chartSource(chart, a.chartRepo, a.chartVersion, a.chartPath),
          values,
          skipAwait: mesh.skipAwait,
        },
        {
          parent: this,
          dependsOn: [mesh.rootNamespace, mesh.crds, ...extraDeps],
        },
      );

    if (cfg.prometheus.enabled) {
      release("prometheus", "prometheus", cfg.prometheus, prometheusValues());
      this.dashboards.prometheus = forward(ADDON_SERVICES.prometheus, 9090);
    }

    // Grafana's admin credentials; Kiali mounts the same Secret to log in to Grafana.
    let grafanaSecret: k8s.core.v1.Secret | undefined;
    if (cfg.grafana.enabled) {
      const password = new random.RandomPassword(
        `${name}-grafana-password`,
        { length: 24, special: false },
        { parent: this },
      );
      grafanaSecret = new k8s.core.v1.Secret(
        `${name}-grafana-admin`,
        {
          metadata: { name: GRAFANA_ADMIN.secret, namespace: ISTIO_NAMESPACE },
          stringData: {
            [GRAFANA_ADMIN.userKey]: GRAFANA_ADMIN.user,
            [GRAFANA_ADMIN.passwordKey]: password.result,
          },
        },
        { parent: this, dependsOn: [mesh.rootNamespace] },
      );
      release(
        "grafana",
        "grafana",
        cfg.grafana,
        grafanaValues(GRAFANA_ADMIN.secret, cfg.grafana.dashboards),
        [grafanaSecret],
      );
      this.grafanaAdminPassword = pulumi.secret(password.result);
      this.dashboards.grafana = forward(ADDON_SERVICES.grafana, 3000);
    }

    if (cfg.jaeger.enabled) {
      createJaeger(name, this, mesh, cfg.jaeger.image);
      new k8s.networking.v1.NetworkPolicy(
        `${name}-jaeger-netpol`,
        {
          metadata: { name: "jaeger", namespace: ISTIO_NAMESPACE },
          spec: jaegerNetworkPolicySpec(args.spanSources, cfg.kiali.enabled),
        },
        { parent: this, dependsOn: [mesh.rootNamespace] },
      );
      this.dashboards.jaeger = forward(ADDON_SERVICES.tracing, 16686);
      istioResource(
        `${name}-tracing`,
        {
          kind: "Telemetry",
          metadata: { name: "mesh-default", namespace: ISTIO_NAMESPACE },
          spec: telemetrySpec(cfg.samplingPercent),
        },
        { parent: this, mesh, dependsOn: [mesh.rootNamespace] },
      );
    }

    if (cfg.kiali.enabled) {
      release(
        "kiali",
        "kiali-server",
        cfg.kiali,
        kialiValues({
          authStrategy: cfg.kiali.authStrategy,
          grafana: cfg.grafana.enabled,
          tracing: cfg.jaeger.enabled,
          grafanaSecret: GRAFANA_ADMIN.secret,
        }),
        grafanaSecret ? [grafanaSecret] : [],
      );
      this.dashboards.kiali = forward(ADDON_SERVICES.kiali, 20001, "/kiali");
    }

    this.registerOutputs({ dashboards: this.dashboards });
  }
}
