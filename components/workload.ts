// The pod every workload of the stack runs: one hardened container, its own ServiceAccount, no
// API token, resources set. Built in one place so no workload can forget a setting.
import * as k8s from "@pulumi/kubernetes";
import { Resources } from "./config";

/** What differs between workloads; everything else is fixed by hardenedPodSpec(). */
export interface WorkloadSpec {
  /** Pinned image reference. */
  readonly image: string;
  readonly args?: string[];
  readonly env?: Record<string, string>;
  /** Port the container listens on; also the target of the Service. */
  readonly port: number;
  /** HTTP path answering 200 when the container is up; used by both probes. */
  readonly probePath: string;
  /** Port of the probes, when not `port`. */
  readonly probePort?: number;
  /** Further named container ports. */
  readonly extraPorts?: { name: string; port: number }[];
  /** Numeric user the container runs as. Defaults to 65532 (nonroot). */
  readonly runAsUser?: number;
  /** Requests and limits. Defaults to DEFAULT_WORKLOAD_RESOURCES. */
  readonly resources?: Resources;
  /** Paths that must stay writable under a read-only root filesystem; each gets an emptyDir. */
  readonly writablePaths?: string[];
  /** Seconds before the first liveness probe; slow starters (the JVM) need more. Defaults to 10. */
  readonly livenessDelaySeconds?: number;
  /** ConfigMaps mounted read-only, by mount path. */
  readonly configMaps?: { name: string; mountPath: string }[];
}

export const DEFAULT_WORKLOAD_RESOURCES: Resources = {
  requests: { cpu: "10m", memory: "32Mi" },
  limits: { cpu: "200m", memory: "128Mi" },
};

export const DEFAULT_RUN_AS_USER = 65532;

/** Builds the pod spec of one workload. `container` names the single app container. */
export function hardenedPodSpec(
  container: string,
  serviceAccountName: string,
  w: WorkloadSpec,
): k8s.types.input.core.v1.PodSpec {
  const writable = (w.writablePaths ?? []).map((mountPath, i) => ({
    name: `writable-${i}`,
    mountPath,
  }));
  const configs = (w.configMaps ?? []).map((c, i) => ({
    name: `config-${i}`,
    configMap: c.name,
    mountPath: c.mountPath,
  }));
  const probe = {
    httpGet: { path: w.probePath, port: w.probePort ?? w.port },
    periodSeconds: 10,
  };
  return {
    serviceAccountName,
    // The app never calls the Kubernetes API. Istio's proxy authenticates with its own
    // projected istio-token volume, which this setting does not affect.
    automountServiceAccountToken: false,
    securityContext: {
      runAsNonRoot: true,
      runAsUser: w.runAsUser ?? DEFAULT_RUN_AS_USER,
      runAsGroup: w.runAsUser ?? DEFAULT_RUN_AS_USER,
      seccompProfile: { type: "RuntimeDefault" },
    },
    containers: [
      {
        name: container,
        image: w.image,
        args: w.args,
        env: Object.entries(w.env ?? {}).map(([name, value]) => ({
          name,
          value,
        })),
        ports: [
          { name: "http", containerPort: w.port },
          ...(w.extraPorts ?? []).map((p) => ({
            name: p.name,
            containerPort: p.port,
          })),
        ],
        readinessProbe: { ...probe, initialDelaySeconds: 2 },
        livenessProbe: {
          ...probe,
          initialDelaySeconds: w.livenessDelaySeconds ?? 10,
        },
        resources: w.resources ?? DEFAULT_WORKLOAD_RESOURCES,
        securityContext: {
          runAsNonRoot: true,
          allowPrivilegeEscalation: false,
          readOnlyRootFilesystem: true,
          capabilities: { drop: ["ALL"] },
          seccompProfile: { type: "RuntimeDefault" },
        },
        volumeMounts: [
          ...writable.map((v) => ({ name: v.name, mountPath: v.mountPath })),
          ...configs.map((v) => ({
            name: v.name,
            mountPath: v.mountPath,
            readOnly: true,
          })),
        ],
      },
    ],
    volumes: [
      ...writable.map((v) => ({
        name: v.name,
        emptyDir: { sizeLimit: "16Mi" },
      })),
      ...configs.map((v) => ({
        name: v.name,
        configMap: { name: v.configMap },
      })),
    ],
  };
}
