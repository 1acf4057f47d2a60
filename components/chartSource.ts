// Where a Helm chart comes from, as the inputs of a helm.v3.Release.

/** The chart inputs of a helm.v3.Release: a repository chart at a pinned version, or a local path. */
export interface ChartSource {
  chart: string;
  version?: string;
  repositoryOpts?: { repo: string };
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
