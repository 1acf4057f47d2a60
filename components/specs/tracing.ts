// Tracing: the mesh's OpenTelemetry provider, the Telemetry spec that turns it on, and Jaeger v2
// (the collector and query service) with the NetworkPolicy that guards it.
import type * as k8s from "@pulumi/kubernetes";
import { ISTIO_NAMESPACE, serviceHost, type TelemetrySpec } from "../core";
import { ADDON_SERVICES, KIALI_POD_LABELS } from "./addons";
import type { WorkloadSpec } from "./workload";

/** An entry of istiod's meshConfig.extensionProviders. */
export interface ExtensionProvider {
  readonly name: string;
  readonly opentelemetry: { readonly service: string; readonly port: number };
}

/** The mesh's tracing provider: an OpenTelemetry exporter to Jaeger's collector. */
export const TRACING_PROVIDER: ExtensionProvider = {
  name: "otel-tracing",
  opentelemetry: {
    service: serviceHost(ADDON_SERVICES.collector.name, ISTIO_NAMESPACE),
    port: ADDON_SERVICES.collector.otlpGrpcPort,
  },
};

/** Tracing for the whole mesh (in the root namespace), through TRACING_PROVIDER. */
export function telemetrySpec(samplingPercent: number): TelemetrySpec {
  return {
    tracing: [
      {
        providers: [{ name: TRACING_PROVIDER.name }],
        randomSamplingPercentage: samplingPercent,
      },
    ],
  };
}

/** Labels of Jaeger's pods; its Services and NetworkPolicy select them. */
export const JAEGER_LABELS = { app: "jaeger" };

/** Jaeger's health endpoint (healthcheckv2 in its all-in-one config), used by the probes. */
export const JAEGER_HEALTH_PORT = 13133;

/**
 * Jaeger v2 all-in-one (in-memory storage) as Istio's samples run it. jaegertracing/jaeger
 * cmd/jaeger/Dockerfile: USER 10001, VOLUME /tmp; its all-in-one config serves health
 * (healthcheckv2, path /status) on 13133 and keeps traces in memory.
 */
export function jaegerWorkload(image: string): WorkloadSpec {
  const t = ADDON_SERVICES.tracing;
  const col = ADDON_SERVICES.collector;
  return {
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
  };
}

/**
 * Jaeger runs outside the mesh (no sidecar, so no mTLS or AuthorizationPolicy reaches it): this
 * policy is its only guard. Spans (OTLP 4317/4318) are admitted only from the namespaces whose
 * proxies send them; the query ports (UI 16686, gRPC 16685) only from Kiali. Probes come from the
 * kubelet and `kubectl port-forward` enters the pod's own network namespace, so neither is
 * affected.
 */
export function jaegerNetworkPolicySpec(
  spanSources: readonly string[],
  kiali: boolean,
): k8s.types.input.networking.v1.NetworkPolicySpec {
  const tcp = (port: number) => ({ protocol: "TCP", port });
  const col = ADDON_SERVICES.collector;
  const q = ADDON_SERVICES.tracing;
  return {
    podSelector: { matchLabels: JAEGER_LABELS },
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
