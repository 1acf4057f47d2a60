// The pod every workload of the stack runs: one hardened container, its own ServiceAccount, no
// API token, resources set. Built in one place so no workload can forget a setting; the
// Deployment and ServiceAccount around it are built here too.
import type * as k8s from "@pulumi/kubernetes";
import type { Resources } from "../core";

/** A path the container writes under its read-only root filesystem; it gets an emptyDir. */
export interface WritablePath {
  readonly path: string;
  /** Size limit of the emptyDir (the kubelet evicts the pod past it). Defaults to 16Mi. */
  readonly sizeLimit?: string;
  /**
   * Copy what the image holds at this path into the emptyDir before the app starts (an init
   * container of the same image runs `cp -a`), for directories the app rewrites in place, such as
   * nginx's /etc/nginx. Needs `sh` and `cp` in the image. Defaults to false (start empty).
   */
  readonly seedFromImage?: boolean;
}

/** What differs between workloads; everything else is fixed by hardenedPodSpec(). */
export interface WorkloadSpec {
  /** Pinned image reference. */
  readonly image: string;
  /** Replaces the image's ENTRYPOINT; omitted keeps it. */
  readonly command?: string[];
  /** Replaces the image's CMD; omitted keeps it. */
  readonly args?: string[];
  readonly env?: Record<string, string>;
  /** Variables read from a key of a Secret (values the stack keeps secret), by name. */
  readonly secretEnv?: Record<string, { secret: string; key: string }>;
  /** Port the container listens on; also the target of the Service. */
  readonly port: number;
  /** HTTP path answering 200 when the container is up, for both probes; omitted, a TCP check. */
  readonly probePath?: string;
  /** Port of the probes, when not `port`. */
  readonly probePort?: number;
  /** Further named container ports. */
  readonly extraPorts?: { name: string; port: number }[];
  /** Numeric user the container runs as. Defaults to 65532 (nonroot). */
  readonly runAsUser?: number;
  /** Numeric group; images whose directories are group-0 writable need 0. Defaults to runAsUser. */
  readonly runAsGroup?: number;
  /** Requests and limits. Defaults to DEFAULT_WORKLOAD_RESOURCES. */
  readonly resources?: Resources;
  /** Paths that must stay writable under a read-only root filesystem; each gets an emptyDir. */
  readonly writablePaths?: readonly WritablePath[];
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
export const DEFAULT_WRITABLE_SIZE = "16Mi";

/** Builds the pod spec of one workload. `container` names the single app container. */
export function hardenedPodSpec(
  container: string,
  serviceAccountName: string,
  w: WorkloadSpec,
): k8s.types.input.core.v1.PodSpec {
  const writable = (w.writablePaths ?? []).map((p, i) => ({
    name: `writable-${i}`,
    mountPath: p.path,
    sizeLimit: p.sizeLimit ?? DEFAULT_WRITABLE_SIZE,
    seed: p.seedFromImage ?? false,
  }));
  const seeded = writable.filter((v) => v.seed);
  const configs = (w.configMaps ?? []).map((c, i) => ({
    name: `config-${i}`,
    configMap: c.name,
    mountPath: c.mountPath,
  }));
  const probePort = w.probePort ?? w.port;
  const probe = {
    ...(w.probePath !== undefined
      ? { httpGet: { path: w.probePath, port: probePort } }
      : { tcpSocket: { port: probePort } }),
    periodSeconds: 10,
  };
  const runAsUser = w.runAsUser ?? DEFAULT_RUN_AS_USER;
  const containerSecurity = {
    runAsNonRoot: true,
    allowPrivilegeEscalation: false,
    readOnlyRootFilesystem: true,
    capabilities: { drop: ["ALL"] },
    seccompProfile: { type: "RuntimeDefault" },
  };
  const resources = w.resources ?? DEFAULT_WORKLOAD_RESOURCES;
  return {
    serviceAccountName,
    // The app never calls the Kubernetes API. Istio's proxy authenticates with its own
    // projected istio-token volume, which this setting does not affect.
    automountServiceAccountToken: false,
    securityContext: {
      runAsNonRoot: true,
      runAsUser,
      runAsGroup: w.runAsGroup ?? runAsUser,
      seccompProfile: { type: "RuntimeDefault" },
    },
    ...(seeded.length > 0
      ? {
          initContainers: [
            {
              name: "seed-writable",
              image: w.image,
              command: [
                "/bin/sh",
                "-c",
                seeded
                  .map((v) => `cp -a ${v.mountPath}/. /seed/${v.name}/`)
                  .join(" && "),
              ],
              resources,
              securityContext: containerSecurity,
              volumeMounts: seeded.map((v) => ({
                name: v.name,
                mountPath: `/seed/${v.name}`,
              })),
            },
          ],
        }
      : {}),
    containers: [
      {
        name: container,
        image: w.image,
        command: w.command,
        args: w.args,
        env: [
          ...Object.entries(w.env ?? {}).map(([name, value]) => ({
            name,
            value,
          })),
          ...Object.entries(w.secretEnv ?? {}).map(([name, ref]) => ({
            name,
            valueFrom: { secretKeyRef: { name: ref.secret, key: ref.key } },
          })),
        ],
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
        resources,
        securityContext: containerSecurity,
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
        emptyDir: { sizeLimit: v.sizeLimit },
      })),
      ...configs.map((v) => ({
        name: v.name,
        configMap: { name: v.configMap },
      })),
    ],
  };
}

/** The Deployment of one workload: `selector` picks its pods, which carry `podLabels` too. */
export function deploymentSpec(args: {
  readonly selector: Record<string, string>;
  /** Rolling updates start this many extra pods and take none down first. Defaults to Kubernetes' (25%/25%). */
  readonly maxSurge?: number | string;
  /** Labels the pods carry beyond the selector's. Defaults to none. */
  readonly podLabels?: Record<string, string>;
  /** Annotations of the pod template; a change rolls the pods. Defaults to none. */
  readonly podAnnotations?: Record<string, string>;
  readonly replicas: number;
  readonly pod: k8s.types.input.core.v1.PodSpec;
}): k8s.types.input.apps.v1.DeploymentSpec {
  return {
    replicas: args.replicas,
    ...(args.maxSurge !== undefined
      ? {
          strategy: {
            type: "RollingUpdate",
            rollingUpdate: { maxSurge: args.maxSurge, maxUnavailable: 0 },
          },
        }
      : {}),
    selector: { matchLabels: args.selector },
    template: {
      metadata: {
        labels: { ...args.selector, ...args.podLabels },
        ...(args.podAnnotations ? { annotations: args.podAnnotations } : {}),
      },
      spec: args.pod,
    },
  };
}

/** A workload's own ServiceAccount; no API token is mounted from it (see hardenedPodSpec). */
export function serviceAccountArgs(
  name: string,
  namespace: string,
  labels: Record<string, string>,
): k8s.core.v1.ServiceAccountArgs {
  return {
    metadata: { name, namespace, labels },
    automountServiceAccountToken: false,
  };
}
