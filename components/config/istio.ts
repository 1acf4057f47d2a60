// The `istio` section of the stack config: which Istio, where its charts and images come from,
// how big istiod and the proxies are, the platform profile, and extra chart values.
import {
  DATAPLANES,
  type Dataplane,
  istioMinor,
  type Resources,
} from "../core";
import { chartValues } from "./chartValues";
import type { Checker } from "./checker";
import {
  ISTIO_CHART_REPO,
  ISTIO_HUB,
  ISTIO_MINORS,
  RETIRED_ISTIO_LOCATIONS,
} from "./istioReleases";
import { type IstioRevision, validateRevisions } from "./istioRevisions";
import { IMAGE_HUB, IMAGE_TAG, SEMVER } from "./patterns";
import { type Fields, Section } from "./section";
import { show } from "./show";

/** The Istio charts this program installs, by the key of their extra values. */
export const ISTIO_CHARTS = [
  "base",
  "istiod",
  "gateway",
  "cni",
  "ztunnel",
] as const;
export type IstioChartName = (typeof ISTIO_CHARTS)[number];

/**
 * The platforms Istio 1.30's charts have a profile for (files/profile-platform-*.yaml; an unknown
 * one fails the chart render), except openshift: it needs istio-cni and ztunnel in kube-system and
 * SecurityContextConstraints this program does not manage.
 */
export const ISTIO_PLATFORMS = [
  "gke",
  "k3d",
  "k3s",
  "microk8s",
  "minikube",
] as const;
export type IstioPlatform = (typeof ISTIO_PLATFORMS)[number];

/** Where the Istio charts come from: a Helm repository, or a local directory (air-gapped). */
export interface IstioConfig {
  /** Istio release; charts and images use it. */
  readonly version: string;
  /** Helm repository holding the `base`, `istiod` and `gateway` charts. */
  readonly chartRepo: string;
  /** Local directory with `base/`, `istiod/` and `gateway/` chart folders; wins over chartRepo. */
  readonly chartDir?: string;
  /** Image registry for istiod, proxies and the gateway. */
  readonly hub: string;
  /** Image tag; defaults to the version. */
  readonly tag: string;
  /** istiod's requests and limits. */
  readonly istiodResources: Resources;
  /** Requests and limits of every injected proxy (global.proxy.resources). */
  readonly proxyResources: Resources;
  /** Sidecars in every app pod, or ambient: ztunnel per node and a waypoint per app namespace. */
  readonly dataplane: Dataplane;
  /** ztunnel's requests and limits (ambient). */
  readonly ztunnelResources: Resources;
  /** Each waypoint proxy's requests and limits (ambient; global.waypoint.resources). */
  readonly waypointResources: Resources;
  /** The cluster's platform profile (global.platform), for clusters whose CNI paths differ. */
  readonly platform?: IstioPlatform;
  /** Extra chart values per chart, merged under ours (ours win where both set a key). */
  readonly values: Readonly<Record<IstioChartName, Record<string, unknown>>>;
  /**
   * istiod as named revisions, a Helm release each (istioRevisions.ts); undefined: one
   * revisionless istiod, as without this setting.
   */
  readonly revisions?: Readonly<Record<string, IstioRevision>>;
  /** Revision tags: tag -> revision; `prod` is required with revisions. Defaults to none. */
  readonly tags: Readonly<Record<string, string>>;
  /** The revision that validates Istio resources (base's defaultRevision). Defaults to tags.prod's. */
  readonly defaultRevision?: string;
  /** Namespace of the stack -> the tag or revision its pods follow. Defaults to `prod` for each. */
  readonly namespaceTags: Readonly<Record<string, string>>;
}

export const ISTIO_DEFAULTS = {
  // The newest release Istio's announcements confirm. The test bed verifies 1.30.4, the newest
  // the Go module proxy serves (docs/upgrades.md, "Versions and sources").
  version: "1.31.1",
  chartRepo: ISTIO_CHART_REPO,
  chartDir: undefined as string | undefined,
  hub: ISTIO_HUB,
  /** The version. */
  tag: undefined as string | undefined,
  istiodResources: {
    requests: { cpu: "100m", memory: "256Mi" },
    limits: { cpu: "1000m", memory: "1Gi" },
  } as Resources,
  // The chart's default (100m / 128Mi requested, 2 CPUs / 1Gi limit) reserves a tenth of a
  // CPU per pod. Istio publishes 0.20 vCPU / 60 MB for a sidecar at 1000 rps; an idle
  // laptop demo is far below that, and the limits leave room for bursts.
  proxyResources: {
    requests: { cpu: "10m", memory: "40Mi" },
    limits: { cpu: "1000m", memory: "256Mi" },
  } as Resources,
  dataplane: "sidecar" as Dataplane,
  // The chart's default (200m / 512Mi requested) is sized for ~200k pods (its values.yaml).
  // Istio publishes 0.06 vCPU / 12 MB for ztunnel at 1000 rps; a laptop demo idles far below.
  ztunnelResources: {
    requests: { cpu: "10m", memory: "32Mi" },
    limits: { cpu: "1000m", memory: "256Mi" },
  } as Resources,
  // The chart's default (100m / 128Mi requested, 2 CPUs / 1Gi limit); Istio publishes
  // 0.25 vCPU / 60 MB for a waypoint at 1000 rps.
  waypointResources: {
    requests: { cpu: "10m", memory: "48Mi" },
    limits: { cpu: "1000m", memory: "256Mi" },
  } as Resources,
  platform: undefined as IstioPlatform | undefined,
  values: Object.fromEntries(
    ISTIO_CHARTS.map((chart) => [chart, {}]),
  ) as Record<IstioChartName, Record<string, unknown>>,
  revisions: undefined as Record<string, IstioRevision> | undefined,
  tags: {} as Record<string, string>,
  defaultRevision: undefined as string | undefined,
  namespaceTags: {} as Record<string, string>,
};

export function validateIstio(c: Checker, raw: unknown): IstioConfig {
  const s = new Section(c, "istio", raw, ISTIO_DEFAULTS);
  const version = s.string("version", {
    re: SEMVER,
    hint: `must be an Istio release such as ${ISTIO_DEFAULTS.version}`,
  });
  knownMinor(c, "istio.version", version);
  const chartRepo = s.helmRepo("chartRepo");
  notRetired(c, "istio.chartRepo", chartRepo, ISTIO_CHART_REPO);
  const dataplane = s.field("dataplane", (key, value, fallback) =>
    c.oneOf(
      key,
      value,
      DATAPLANES,
      fallback,
      "sidecar injects an Envoy into every app pod; ambient runs ztunnel per node and a waypoint per app namespace",
    ),
  );
  const revisions = validateRevisions(c, s.raw, version, dataplane);
  const hub = s.string("hub", IMAGE_HUB);
  notRetired(c, "istio.hub", hub, ISTIO_HUB);
  return {
    version,
    chartRepo,
    chartDir: s.field(
      "chartDir",
      (key, value) =>
        (value === undefined ? undefined : c.string(key, value, "")) ||
        undefined,
    ),
    hub,
    tag: s.field("tag", (key, value) =>
      c.string(key, value, version, IMAGE_TAG),
    ),
    istiodResources: s.resources("istiodResources"),
    proxyResources: s.resources("proxyResources"),
    dataplane,
    ztunnelResources: s.resources("ztunnelResources"),
    waypointResources: s.resources("waypointResources"),
    platform: s.field("platform", (key, value) => platform(c, key, value)),
    values: chartValues(c, s.section("values")),
    revisions: revisions.revisions,
    tags: revisions.tags,
    defaultRevision: revisions.defaultRevision,
    namespaceTags: revisions.namespaceTags,
  } satisfies Fields<typeof ISTIO_DEFAULTS>;
}

/** `istio.version` of a minor whose chart values this program knows. */
function knownMinor(c: Checker, key: string, version: string): void {
  const minor = istioMinor(version);
  if (!SEMVER.test(version) || minor in ISTIO_MINORS) {
    return;
  }
  const known = Object.values(ISTIO_MINORS).join(" or ");
  const why =
    Number(minor.split(".")[1]) < 30 && minor.startsWith("1.")
      ? `Istio ${minor} is past its end of life (a minor is supported until six weeks after the second minor after it)`
      : `this program renders the chart values of Istio ${Object.keys(ISTIO_MINORS).join(" and ")} only, and has not been checked against ${minor}'s upgrade notes`;
  c.fail(
    `${key} must be a release of Istio ${Object.keys(ISTIO_MINORS).join(" or ")} (got ${show(version)}); ${why}. Use ${known}, e.g. 'pulumi config set --path ${key} ${ISTIO_DEFAULTS.version}'`,
  );
}

/** A chart repository or image registry that Istio has not switched off. */
function notRetired(
  c: Checker,
  key: "istio.chartRepo" | "istio.hub",
  value: string,
  replacement: string,
): void {
  const field = key === "istio.chartRepo" ? "chartRepo" : "hub";
  const normalized = value.replace(/\/+$/, "");
  if (!RETIRED_ISTIO_LOCATIONS[field].includes(normalized)) {
    return;
  }
  const what = field === "chartRepo" ? "chart repository" : "image registry";
  c.fail(
    `${key} is Istio's retired ${what} (got ${show(value)}): Istio switches it off in December 2026 (istio.io, "An update on our move to AWS"), so a fresh deploy ${field === "chartRepo" ? "cannot download the charts" : "cannot pull the images"}. ` +
      `Use ${replacement}${field === "chartRepo" ? " or oci://ghcr.io/istio/release/charts" : " or a pull-through cache of it"}: 'pulumi config set --path ${key} ${replacement}', or remove the key for the default`,
  );
}

/** `istio.platform`: a profile the charts know, or unset for clusters with standard CNI paths. */
function platform(
  c: Checker,
  key: string,
  value: unknown,
): IstioPlatform | undefined {
  if (value === undefined) {
    return undefined;
  }
  if (
    typeof value === "string" &&
    (ISTIO_PLATFORMS as readonly string[]).includes(value)
  ) {
    return value as IstioPlatform;
  }
  const why =
    value === "openshift"
      ? "OpenShift needs istio-cni and ztunnel in kube-system and SecurityContextConstraints this program does not manage"
      : `Istio's charts have a profile for ${ISTIO_PLATFORMS.join(", ")}`;
  c.fail(
    `${key} must be one of ${ISTIO_PLATFORMS.join(", ")} (got ${show(value)}); ${why}. Remove the key on clusters with standard CNI paths (kind, Docker Desktop, EKS, AKS)`,
  );
  return undefined;
}
