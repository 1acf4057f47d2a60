// Values of the observability charts and the names they give their Services. Every in-cluster URL
// is built here from the same constants the chart values set, so the wiring cannot drift.
import { KialiAuthStrategy } from "./observabilityConfig";

export const ADDON_NAMESPACE = "istio-system";

/** Services of the addons: names fixed through the charts' values, ports their defaults. */
export const ADDON_SERVICES = {
  prometheus: { name: "prometheus", port: 9090 },
  grafana: { name: "grafana", port: 80 },
  kiali: { name: "kiali", port: 20001 },
  /** Jaeger's query: UI over HTTP and the gRPC API Kiali uses. */
  tracing: { name: "tracing", port: 80, uiPort: 16686, grpcPort: 16685 },
  /** Jaeger's OTLP receiver, where the proxies send spans. */
  collector: {
    name: "jaeger-collector",
    otlpGrpcPort: 4317,
    otlpHttpPort: 4318,
  },
};

/** Jaeger's health endpoint (healthcheckv2 in its all-in-one config), used by the probes. */
export const JAEGER_HEALTH_PORT = 13133;

/** Labels the kiali-server chart puts on Kiali's pods. */
export const KIALI_POD_LABELS = { "app.kubernetes.io/name": "kiali" };

/**
 * Jaeger runs outside the mesh (no sidecar, so no mTLS or AuthorizationPolicy reaches it): this
 * policy is its only guard. Spans (OTLP 4317/4318) are admitted only from the namespaces whose
 * proxies send them; the query ports (UI 16686, gRPC 16685) only from Kiali. Probes come from the
 * kubelet and `kubectl port-forward` enters the pod's own network namespace, so neither is
 * affected.
 */
export function jaegerNetworkPolicySpec(spanSources: string[], kiali: boolean) {
  const tcp = (port: number) => ({ protocol: "TCP", port });
  const col = ADDON_SERVICES.collector;
  const q = ADDON_SERVICES.tracing;
  return {
    podSelector: { matchLabels: { app: "jaeger" } },
    policyTypes: ["Ingress"],
    ingress: [
      {
        from: [
          {
            namespaceSelector: {
              matchExpressions: [
                {
                  key: "kubernetes.io/metadata.name",
                  operator: "In",
                  values: [...spanSources].sort(),
                },
              ],
            },
          },
        ],
        ports: [tcp(col.otlpGrpcPort), tcp(col.otlpHttpPort)],
      },
      ...(kiali
        ? [
            {
              from: [{ podSelector: { matchLabels: KIALI_POD_LABELS } }],
              ports: [tcp(q.grpcPort), tcp(q.uiPort)],
            },
          ]
        : []),
    ],
  };
}

export function serviceUrl(
  service: { name: string; port: number },
  path = "",
): string {
  return `http://${service.name}.${ADDON_NAMESPACE}:${service.port}${path}`;
}

/** The mesh's tracing provider: an OpenTelemetry exporter to Jaeger's collector. */
export const TRACING_PROVIDER = {
  name: "otel-tracing",
  opentelemetry: {
    service: `${ADDON_SERVICES.collector.name}.${ADDON_NAMESPACE}.svc.cluster.local`,
    port: ADDON_SERVICES.collector.otlpGrpcPort,
  },
};

export function telemetrySpec(samplingPercent: number) {
  return {
    tracing: [
      {
        providers: [{ name: TRACING_PROVIDER.name }],
        randomSamplingPercentage: samplingPercent,
      },
    ],
  };
}

/**
 * Prometheus server only: no alertmanager, pushgateway, kube-state-metrics or node-exporter, no
 * persistence. The chart's default `kubernetes-pods` job scrapes the prometheus.io annotations
 * istiod's injector puts on every proxy (Envoy and app metrics merged on port 15020) and on istiod.
 */
export function prometheusValues(): Record<string, unknown> {
  return {
    alertmanager: { enabled: false },
    "prometheus-pushgateway": { enabled: false },
    "kube-state-metrics": { enabled: false },
    "prometheus-node-exporter": { enabled: false },
    configmapReload: { prometheus: { enabled: false } },
    server: {
      fullnameOverride: ADDON_SERVICES.prometheus.name,
      service: { servicePort: ADDON_SERVICES.prometheus.port },
      persistentVolume: { enabled: false },
      retention: "6h",
      global: { scrape_interval: "15s" },
      resources: {
        requests: { cpu: "100m", memory: "256Mi" },
        limits: { cpu: "1000m", memory: "1Gi" },
      },
    },
  };
}

/** Istio's dashboards on grafana.com: mesh, service, workload, performance, control plane. */
export const ISTIO_DASHBOARDS: Record<string, number> = {
  "istio-mesh": 7639,
  "istio-service": 7636,
  "istio-workload": 7630,
  "istio-performance": 11829,
  "istio-control-plane": 7645,
};

export const GRAFANA_ADMIN = {
  /** The Secret Pulumi writes and both Grafana and Kiali read. */
  secret: "grafana-admin",
  user: "admin",
  userKey: "admin-user",
  passwordKey: "admin-password",
};

/**
 * Grafana with Prometheus as its data source. With `dashboards`, the chart adds an init container
 * (download-dashboards) that fetches Istio's dashboards from grafana.com at every pod start: on a
 * cluster without egress it fails and the release never becomes ready, so it can be turned off.
 */
export function grafanaValues(
  adminSecret: string,
  dashboards: boolean,
): Record<string, unknown> {
  return {
    fullnameOverride: ADDON_SERVICES.grafana.name,
    service: { port: ADDON_SERVICES.grafana.port },
    // The admin password is generated by Pulumi and read from a Secret, never from values.
    admin: {
      existingSecret: adminSecret,
      userKey: GRAFANA_ADMIN.userKey,
      passwordKey: GRAFANA_ADMIN.passwordKey,
    },
    persistence: { enabled: false },
    resources: {
      requests: { cpu: "50m", memory: "128Mi" },
      limits: { cpu: "500m", memory: "256Mi" },
    },
    datasources: {
      "datasources.yaml": {
        apiVersion: 1,
        datasources: [
          {
            name: "Prometheus",
            type: "prometheus",
            uid: "prometheus",
            access: "proxy",
            isDefault: true,
            url: serviceUrl(ADDON_SERVICES.prometheus),
          },
        ],
      },
    },
    ...(dashboards
      ? {
          dashboardProviders: {
            "dashboardproviders.yaml": {
              apiVersion: 1,
              providers: [
                {
                  name: "istio",
                  orgId: 1,
                  folder: "Istio",
                  type: "file",
                  disableDeletion: false,
                  options: { path: "/var/lib/grafana/dashboards/istio" },
                },
              ],
            },
          },
          dashboards: {
            istio: Object.fromEntries(
              Object.entries(ISTIO_DASHBOARDS).map(([name, gnetId]) => [
                name,
                {
                  gnetId,
                  datasource: [{ name: "DS_PROMETHEUS", value: "Prometheus" }],
                },
              ]),
            ),
          },
        }
      : {}),
  };
}

export interface KialiWiring {
  readonly authStrategy: KialiAuthStrategy;
  readonly grafana: boolean;
  readonly tracing: boolean;
  /** Secret (in the addons' namespace) holding Grafana's admin user and password. */
  readonly grafanaSecret: string;
}

/** Kiali's reference to one key of a Secret; its chart mounts the Secret and Kiali reads the file. */
const kialiSecretRef = (secret: string, key: string) =>
  `secret:${secret}:${key}`;

export function kialiValues(w: KialiWiring): Record<string, unknown> {
  return {
    auth: { strategy: w.authStrategy },
    istio_namespace: ADDON_NAMESPACE,
    deployment: {
      instance_name: ADDON_SERVICES.kiali.name,
      resources: {
        requests: { cpu: "10m", memory: "64Mi" },
        limits: { cpu: "500m", memory: "256Mi" },
      },
    },
    external_services: {
      prometheus: { url: serviceUrl(ADDON_SERVICES.prometheus) },
      grafana: {
        enabled: w.grafana,
        // Grafana has no anonymous access: Kiali logs in with the generated admin credentials,
        // read from the same Secret Grafana uses (never the password in plain values).
        auth: {
          type: "basic",
          username: kialiSecretRef(w.grafanaSecret, GRAFANA_ADMIN.userKey),
          password: kialiSecretRef(w.grafanaSecret, GRAFANA_ADMIN.passwordKey),
        },
        internal_url: serviceUrl(ADDON_SERVICES.grafana),
        external_url: "http://localhost:3000",
      },
      tracing: {
        enabled: w.tracing,
        provider: "jaeger",
        use_grpc: true,
        internal_url: serviceUrl({
          name: ADDON_SERVICES.tracing.name,
          port: ADDON_SERVICES.tracing.grpcPort,
        }),
        external_url: "http://localhost:16686",
      },
    },
  };
}
