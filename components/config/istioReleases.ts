// Which Istio releases this program knows and where Istio publishes them, as of 2026-12.

/**
 * Where Istio publishes its charts, every version (istio.io blog "An update on our move to AWS",
 * 2026-08-21); also at oci://ghcr.io/istio/release/charts.
 */
export const ISTIO_CHART_REPO = "https://blob.istio.io/istio-release/charts";

/**
 * Istio's image registry from 1.31 on, and for every earlier release (the same post: "migrate to
 * docker.io/istio or a pull-through cache"). Docker Hub limits anonymous pulls (10 an hour per
 * address, Docker's docs): a cluster that pulls often belongs behind a pull-through cache, named
 * with istio.hub.
 */
export const ISTIO_HUB = "docker.io/istio";

/**
 * The chart repositories and image registries Istio switches off in December 2026 (the same
 * post), with what replaces them. Each is refused: a fresh deploy from them fails (the charts
 * 404; the images never pull).
 */
export const RETIRED_ISTIO_LOCATIONS: Readonly<
  Record<"chartRepo" | "hub", readonly string[]>
> = {
  chartRepo: [
    "https://istio-release.storage.googleapis.com/charts",
    "http://istio-release.storage.googleapis.com/charts",
    "gcr.io/istio-release/charts",
    "oci://gcr.io/istio-release/charts",
  ],
  hub: ["registry.istio.io/release", "gcr.io/istio-release"],
};

/**
 * The Istio minors this program renders values for, each with its newest patch confirmed by
 * Istio's release announcements (1.30.5 and 1.31.1, both 2026-09-21). A minor is supported until
 * six weeks after the release of the minor two after it (Istio's support policy): 1.30 until six
 * weeks after 1.32.0. 1.29 reached its end of life on 2026-10-12.
 */
export const ISTIO_MINORS: Readonly<Record<string, string>> = {
  "1.30": "1.30.5",
  "1.31": "1.31.1",
};
