// Jaeger v2 beside istiod: its ServiceAccount, Deployment and the Services the proxies and Kiali
// reach it by. Built by the Observability component, as its own children.
import * as k8s from "@pulumi/kubernetes";
import type * as pulumi from "@pulumi/pulumi";
import { ISTIO_NAMESPACE, type Mesh, skipAwaitAnnotations } from "../core";
import {
  ADDON_SERVICES,
  deploymentSpec,
  hardenedPodSpec,
  JAEGER_LABELS,
  jaegerWorkload,
  serviceAccountArgs,
} from "../specs";

/** A port of a Jaeger Service; gRPC ports are named so, and Istio reads the protocol from it. */
interface ServicePort {
  readonly name: string;
  readonly port: number;
  readonly targetPort: number;
}

/**
 * Jaeger v2 all-in-one (in-memory storage) as Istio's samples run it, hardened like every other
 * workload, and outside the mesh: spans arrive from every proxy in plain OTLP.
 */
export function createJaeger(
  name: string,
  parent: pulumi.Resource,
  mesh: Mesh,
  image: string,
): void {
  const labels = JAEGER_LABELS;
  const annotations = skipAwaitAnnotations(mesh.skipAwait);
  const metadata = (resourceName: string) => ({
    name: resourceName,
    namespace: ISTIO_NAMESPACE,
    labels,
    annotations,
  });
  const sa = new k8s.core.v1.ServiceAccount(
    `${name}-jaeger-sa`,
    serviceAccountArgs("jaeger", ISTIO_NAMESPACE, labels),
    { parent, dependsOn: [mesh.rootNamespace] },
  );
  new k8s.apps.v1.Deployment(
    `${name}-jaeger`,
    {
      metadata: metadata("jaeger"),
      spec: deploymentSpec({
        selector: labels,
        podLabels: { "sidecar.istio.io/inject": "false" },
        replicas: 1,
        pod: hardenedPodSpec("jaeger", "jaeger", jaegerWorkload(image)),
      }),
    },
    { parent, dependsOn: [mesh.rootNamespace, sa] },
  );
  const service = (
    suffix: string,
    serviceName: string,
    ports: readonly ServicePort[],
  ) =>
    new k8s.core.v1.Service(
      `${name}-${suffix}`,
      {
        metadata: metadata(serviceName),
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
      { parent, dependsOn: [mesh.rootNamespace] },
    );
  const t = ADDON_SERVICES.tracing;
  const col = ADDON_SERVICES.collector;
  service("tracing-svc", t.name, [
    { name: "http-query", port: t.port, targetPort: t.uiPort },
    { name: "grpc-query", port: t.grpcPort, targetPort: t.grpcPort },
  ]);
  service("collector-svc", col.name, [
    { name: "otlp-grpc", port: col.otlpGrpcPort, targetPort: col.otlpGrpcPort },
    { name: "otlp-http", port: col.otlpHttpPort, targetPort: col.otlpHttpPort },
  ]);
}
