import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import {
  ADDON_NAMESPACE,
  JAEGER_HEALTH_PORT,
  jaegerNetworkPolicySpec,
  ADDON_SERVICES,
  GRAFANA_ADMIN,
  grafanaValues,
  kialiValues,
  prometheusValues,
  telemetrySpec,
} from "./addonValues";
import { chartSource } from "./chartSource";
import { AddonChart, ObservabilityConfig } from "./observabilityConfig";
import { hardenedPodSpec } from "./workload";

export interface ObservabilityArgs {
  /** Which addons, their chart sources, Kiali's auth and the sampling (validated config). */
  readonly config: ObservabilityConfig;
  /** The Istio CRDs (the `base` release): Kiali reads Istio resources, Telemetry is one. */
  readonly crds: pulumi.Resource;
  /** The control plane's namespace, where the addons live. */
  readonly namespace: pulumi.Resource;
  /** Namespaces whose proxies send spans to Jaeger's collector (every injected namespace). */
  readonly spanSources: string[];
  /** When true nothing waits for readiness. Defaults to false. */
  readonly skipAwait?: boolean;
}

/** A command and a URL that open one dashboard from a workstation. */
export interface Dashboard {
  readonly command: string;
  readonly url: string;
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
    const cfg = args.config;
    const deps = [args.namespace, args.crds];
    const release = (
      suffix: string,
      chart: string,
      a: AddonChart,
      values: pulumi.Inputs,
      extraDeps: pulumi.Resource[] = [],
    ) =>
      new k8s.helm.v3.Release(
        `${name}-${suffix}`,
        {
          ...chartSource(chart, a.chartRepo, a.chartVersion, a.chartPath),
          name: suffix,
          namespace: ADDON_NAMESPACE,
          values,
          skipAwait: args.skipAwait ?? false,
          timeout: 600,
        },
        { parent: this, dependsOn: [...deps, ...extraDeps] },
      );
    const forward = (
      svc: { name: string; port: number },
      local: number,
      path = "/",
    ) => ({
      command: `kubectl -n ${ADDON_NAMESPACE} port-forward svc/${svc.name} ${local}:${svc.port}`,
      url: `http://localhost:${local}${path}`,
    });

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
          metadata: { name: GRAFANA_ADMIN.secret, namespace: ADDON_NAMESPACE },
          stringData: {
            [GRAFANA_ADMIN.userKey]: GRAFANA_ADMIN.user,
            [GRAFANA_ADMIN.passwordKey]: password.result,
          },
        },
        { parent: this, dependsOn: [args.namespace] },
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
      this.jaeger(
        name,
        cfg.jaeger.image,
        args.namespace,
        args.skipAwait ?? false,
      );
      new k8s.networking.v1.NetworkPolicy(
        `${name}-jaeger-netpol`,
        {
          metadata: { name: "jaeger", namespace: ADDON_NAMESPACE },
          spec: jaegerNetworkPolicySpec(args.spanSources, cfg.kiali.enabled),
        },
        { parent: this, dependsOn: [args.namespace] },
      );
      this.dashboards.jaeger = forward(
        {
          name: ADDON_SERVICES.tracing.name,
          port: ADDON_SERVICES.tracing.port,
        },
        16686,
      );
      new k8s.apiextensions.CustomResource(
        `${name}-tracing`,
        {
          apiVersion: "telemetry.istio.io/v1",
          kind: "Telemetry",
          metadata: { name: "mesh-default", namespace: ADDON_NAMESPACE },
          spec: telemetrySpec(cfg.samplingPercent),
        },
        { parent: this, dependsOn: deps },
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

  /** Jaeger v2 all-in-one (in-memory storage) as Istio's samples run it, hardened like our workloads. */
  private jaeger(
    name: string,
    image: string,
    namespace: pulumi.Resource,
    skipAwait: boolean,
  ): void {
    const labels = { app: "jaeger" };
    const annotations = skipAwait
      ? { "pulumi.com/skipAwait": "true" }
      : undefined;
    const sa = new k8s.core.v1.ServiceAccount(
      `${name}-jaeger-sa`,
      {
        metadata: { name: "jaeger", namespace: ADDON_NAMESPACE, labels },
        automountServiceAccountToken: false,
      },
      { parent: this, dependsOn: [namespace] },
    );
    const t = ADDON_SERVICES.tracing;
    const col = ADDON_SERVICES.collector;
    new k8s.apps.v1.Deployment(
      `${name}-jaeger`,
      {
        metadata: {
          name: "jaeger",
          namespace: ADDON_NAMESPACE,
          labels,
          annotations,
        },
        spec: {
          replicas: 1,
          selector: { matchLabels: labels },
          template: {
            // Spans arrive from every proxy in plain OTLP; Jaeger itself stays out of the mesh.
            metadata: {
              labels: { ...labels, "sidecar.istio.io/inject": "false" },
            },
            // jaegertracing/jaeger cmd/jaeger/Dockerfile: USER 10001, VOLUME /tmp; its
            // all-in-one config serves health (healthcheckv2, path /status) on 13133 and keeps
            // traces in memory.
            spec: hardenedPodSpec("jaeger", "jaeger", {
              image,
              port: t.uiPort,
              extraPorts: [
                { name: "grpc-query", port: t.grpcPort },
                { name: "otlp-grpc", port: col.otlpGrpcPort },
                { name: "otlp-http", port: col.otlpHttpPort },
                { name: "health", port: JAEGER_HEALTH_PORT },
              ],
              probePath: "/status",
              probePort: JAEGER_HEALTH_PORT,
              runAsUser: 10001,
              writablePaths: [{ path: "/tmp" }],
              resources: {
                requests: { cpu: "50m", memory: "128Mi" },
                limits: { cpu: "500m", memory: "512Mi" },
              },
            }),
          },
        },
      },
      { parent: this, dependsOn: [namespace, sa] },
    );
    const service = (
      suffix: string,
      svcName: string,
      ports: { name: string; port: number; targetPort: number }[],
    ) =>
      new k8s.core.v1.Service(
        `${name}-${suffix}`,
        {
          metadata: {
            name: svcName,
            namespace: ADDON_NAMESPACE,
            labels,
            annotations,
          },
          spec: {
            selector: labels,
            ports: ports.map((p) => ({
              ...p,
              appProtocol:
                p.name.startsWith("grpc") || p.name === "otlp-grpc"
                  ? "grpc"
                  : "http",
            })),
          },
        },
        { parent: this, dependsOn: [namespace] },
      );
    service("tracing-svc", t.name, [
      { name: "http-query", port: t.port, targetPort: t.uiPort },
      { name: "grpc-query", port: t.grpcPort, targetPort: t.grpcPort },
    ]);
    service("collector-svc", col.name, [
      {
        name: "otlp-grpc",
        port: col.otlpGrpcPort,
        targetPort: col.otlpGrpcPort,
      },
      {
        name: "otlp-http",
        port: col.otlpHttpPort,
        targetPort: col.otlpHttpPort,
      },
    ]);
  }
}
