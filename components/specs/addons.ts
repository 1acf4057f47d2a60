// The observability addons' Services and shared names. Every in-cluster URL is built here from
// the same constants the chart values set, so the wiring cannot drift.
import { ISTIO_NAMESPACE } from "../core";

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

/** A Service of the addons as a URL from inside the cluster. */
export function serviceUrl(
  service: { name: string; port: number },
  path = "",
): string {
  return `http://${service.name}.${ISTIO_NAMESPACE}:${service.port}${path}`;
}

/** Grafana's admin credentials: the Secret Pulumi writes and both Grafana and Kiali read. */
export const GRAFANA_ADMIN = {
  secret: "grafana-admin",
  user: "admin",
  userKey: "admin-user",
  passwordKey: "admin-password",
};

/** Labels the kiali-server chart puts on Kiali's pods. */
export const KIALI_POD_LABELS = { "app.kubernetes.io/name": "kiali" };
