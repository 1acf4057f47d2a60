// observability: Prometheus, Grafana, Kiali and Jaeger beside istiod, and mesh-wide tracing.
export * from "./observability";
