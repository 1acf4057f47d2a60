// The one way this stack installs a Helm chart: a helm.v3.Release, so `helm list` and
// `helm get values` work and chart hooks run.
import * as k8s from "@pulumi/kubernetes";
import type * as pulumi from "@pulumi/pulumi";

/** The chart inputs of a helm.v3.Release: a repository chart at a pinned version, or a local path. */
export interface ChartSource {
  readonly chart: string;
  readonly version?: string;
  readonly repositoryOpts?: { readonly repo: string };
}

/**
 * A local path wins (used as it is on disk; Helm ignores a version for it). An OCI registry is
 * addressed by the chart's full reference; a classic repository by name plus repository URL.
 */
export function chartSource(
  chart: string,
  repo: string,
  version: string,
  localPath?: string,
): ChartSource {
  if (localPath) {
    return { chart: localPath };
  }
  if (repo.startsWith("oci://")) {
    return { chart: `${repo.replace(/\/+$/, "")}/${chart}`, version };
  }
  return { chart, version, repositoryOpts: { repo } };
}

export interface ChartReleaseArgs {
  /** The Helm release name (`helm list`); charts name their objects after it. */
  readonly releaseName: string;
  readonly namespace: string;
  readonly source: ChartSource;
  /** The chart's values, a JSON object (typed by the builder that made it). */
  readonly values: object;
  /** Do not wait for the release's workloads to become ready (Mesh.skipAwait). */
  readonly skipAwait: boolean;
  /** Seconds Helm waits for the release. Defaults to 600. */
  readonly timeoutSeconds?: number;
}

/** A Helm release of one chart; the provider comes from the parent in `opts`. */
export function chartRelease(
  name: string,
  args: ChartReleaseArgs,
  opts: pulumi.CustomResourceOptions,
): k8s.helm.v3.Release {
  return new k8s.helm.v3.Release(
    name,
    {
      ...args.source,
      name: args.releaseName,
      namespace: args.namespace,
      values: args.values,
      skipAwait: args.skipAwait,
      timeout: args.timeoutSeconds ?? 600,
    },
    opts,
  );
}
