// The `mesh` and `linkerd` sections of the stack config: which service mesh runs the stack, and
// how Linkerd is installed when it is the one. The Linkerd facts cited come from its charts at
// edge-26.8.3 (../shared/vendor/linkerd-edge-26.8.3/charts/*/values.yaml).
import * as fs from "fs";
import * as path from "path";
import { MESH_PROVIDERS, type MeshProvider, type Resources } from "../core";
import { chartValues } from "./chartValues";
import { type Checker, isPlainObject } from "./checker";
import {
  checkIdentityPems,
  type LinkerdIdentityConfig,
} from "./linkerdIdentity";
import { checkLinkerdRefusals } from "./linkerdRefusals";
import type { RoutingConfig } from "./routing";
import { type Fields, Section } from "./section";
import { show } from "./show";

export interface MeshSectionConfig {
  /** The service mesh. Defaults to istio. */
  readonly provider: MeshProvider;
}

export const MESH_DEFAULTS = { provider: "istio" as MeshProvider };

/** Open-source Linkerd ships edge releases only; its Helm repository for them. */
export const LINKERD_CHART_REPO = "https://helm.linkerd.io/edge";
/** The chart version of the edge release the stack pins (images edge-26.8.3). */
export const LINKERD_CHART_VERSION = "2026.8.3";
/** The charts the stack installs from linkerd.chartRepo or linkerd.chartDir. */
export const LINKERD_CHARTS = [
  "linkerd-crds",
  "linkerd-control-plane",
] as const;
export const LINKERD_VIZ_CHART = "linkerd-viz";
/** The keys of `linkerd.values`, one per chart the stack may install. */
export const LINKERD_VALUES_CHARTS = {
  crds: "linkerd-crds",
  controlPlane: "linkerd-control-plane",
  viz: LINKERD_VIZ_CHART,
} as const;
export type LinkerdValuesChart = keyof typeof LINKERD_VALUES_CHARTS;

export interface LinkerdConfig {
  /** Helm repository of Linkerd's charts. Defaults to LINKERD_CHART_REPO. */
  readonly chartRepo: string;
  /** Chart version of every Linkerd chart. Defaults to LINKERD_CHART_VERSION. */
  readonly chartVersion: string;
  /**
   * A local directory with `linkerd-crds/`, `linkerd-control-plane/` (and `linkerd-viz/` with
   * viz) chart folders; wins over chartRepo (air-gapped clusters). Defaults to none.
   */
  readonly chartDir?: string;
  /** Namespace of the control plane. Defaults to linkerd. */
  readonly namespace: string;
  /** Install linkerd-viz (metrics, dashboard) in `linkerd-viz`. Defaults to false. */
  readonly viz: boolean;
  /**
   * Every injected proxy's requests and limits. Defaults to a laptop's share: 10m CPU, 32Mi
   * memory requested, 250Mi memory limit (the chart leaves them unset).
   */
  readonly proxyResources: Resources;
  /**
   * Requests and limits of each Go controller of the control plane (destination, identity, proxy
   * injector, sp-validator) and of the policy controller. Defaults to a laptop's share: 10m CPU,
   * 64Mi memory requested, 250Mi memory limit (the chart leaves them unset; its HA values
   * request 100m / 50Mi).
   */
  readonly controllerResources: Resources;
  /**
   * The trust anchor and issuer from a team's own PKI; generated once and kept in the stack's
   * state as secrets when unset (LinkerdIdentity). See LinkerdIdentityConfig.
   */
  readonly identity?: LinkerdIdentityConfig;
  /**
   * Extra Helm values per chart (`crds`, `controlPlane`, `viz`), merged under the stack's own
   * (ours win where both set a key). Defaults to none.
   */
  readonly values: Readonly<
    Record<LinkerdValuesChart, Record<string, unknown>>
  >;
}

export const LINKERD_DEFAULTS = {
  chartRepo: LINKERD_CHART_REPO,
  chartVersion: LINKERD_CHART_VERSION,
  chartDir: undefined as string | undefined,
  namespace: "linkerd",
  viz: false,
  proxyResources: {
    requests: { cpu: "10m", memory: "32Mi" },
    limits: { cpu: "1", memory: "250Mi" },
  } as Resources,
  controllerResources: {
    requests: { cpu: "10m", memory: "64Mi" },
    limits: { cpu: "1", memory: "250Mi" },
  } as Resources,
  identity: undefined as LinkerdIdentityConfig | undefined,
  values: { crds: {}, controlPlane: {}, viz: {} } as Record<
    LinkerdValuesChart,
    Record<string, unknown>
  >,
};

/** The two sections every stack has, whichever mesh it runs. */
export interface MeshSections {
  /** Which service mesh runs the stack: istio (default) or linkerd. */
  readonly mesh: MeshSectionConfig;
  /** Linkerd's charts, proxy size and identity (mesh.provider linkerd). */
  readonly linkerd: LinkerdConfig;
}

export const MESH_SECTION_DEFAULTS = {
  mesh: MESH_DEFAULTS,
  linkerd: LINKERD_DEFAULTS,
};

export function validateMesh(c: Checker, raw: unknown): MeshSectionConfig {
  const s = new Section(c, "mesh", raw, MESH_DEFAULTS);
  return {
    provider: s.oneOf("provider", MESH_PROVIDERS),
  } satisfies Fields<typeof MESH_DEFAULTS>;
}

/**
 * The linkerd section; `keySecret` says whether the stack stores `linkerd` encrypted (the issuer
 * key must be). `now` is when the given certificates must be valid.
 */
export function validateLinkerd(
  c: Checker,
  raw: unknown,
  provider: MeshProvider,
  keySecret: boolean,
  now: Date = new Date(),
): LinkerdConfig {
  if (provider !== "linkerd" && raw !== undefined) {
    c.fail(
      `linkerd is set (got fields ${show(isPlainObject(raw) ? Object.keys(raw) : raw)}) but mesh.provider is istio; set 'pulumi config set --path mesh.provider linkerd', or remove it with 'pulumi config rm linkerd'`,
    );
  }
  const s = new Section(c, "linkerd", raw, LINKERD_DEFAULTS);
  const chartDir = s.field(
    "chartDir",
    (key, value) =>
      (value === undefined ? undefined : c.string(key, value, "")) || undefined,
  );
  const viz = s.boolean("viz");
  if (chartDir) {
    const charts = [...LINKERD_CHARTS, ...(viz ? [LINKERD_VIZ_CHART] : [])];
    const missing = charts.filter(
      (ch) => !fs.existsSync(path.join(chartDir, ch, "Chart.yaml")),
    );
    if (missing.length > 0) {
      c.fail(
        `linkerd.chartDir must hold the charts ${charts.map((ch) => `${ch}/`).join(", ")}, each with a Chart.yaml (got ${show(chartDir)}, missing ${missing.join(", ")}); point it at unpacked copies of Linkerd's charts`,
      );
    }
  }
  const identity = s.has("identity")
    ? checkIdentityPems(c, s.path("identity"), s.raw.identity, keySecret, now)
    : undefined;
  return {
    chartRepo: s.helmRepo("chartRepo"),
    chartVersion: s.string("chartVersion", {
      re: /^\d+\.\d+\.\d+$/,
      hint: `must be a Linkerd chart version such as ${LINKERD_CHART_VERSION}`,
    }),
    chartDir,
    namespace: s.namespace("namespace"),
    viz,
    proxyResources: s.resources("proxyResources"),
    controllerResources: s.resources("controllerResources"),
    identity,
    values: chartValues(
      c,
      s.section("values"),
      (chart) => LINKERD_VALUES_CHARTS[chart],
    ),
  } satisfies Fields<typeof LINKERD_DEFAULTS>;
}

/**
 * The mesh and linkerd sections, and with mesh.provider linkerd every Istio-only key refused.
 * `linkerdSecret`: whether the stack stores `linkerd` encrypted.
 */
export function validateMeshSections(
  c: Checker,
  raw: Record<string, unknown>,
  linkerdSecret: boolean,
): MeshSections {
  const mesh = validateMesh(c, raw.mesh);
  const linkerd = validateLinkerd(c, raw.linkerd, mesh.provider, linkerdSecret);
  if (mesh.provider === "linkerd") {
    checkLinkerdRefusals(c, raw);
  }
  return { mesh, linkerd };
}

/**
 * The routing the stack uses on a mesh, and the one Istio's mode rules (checkModes) judge. On
 * Linkerd: routes are Gateway API HTTPRoutes and proxies need no scoping; Istio's mode rules
 * speak of Istio's routing APIs, so they judge Istio's defaults (checkLinkerdRefusals speaks for
 * Linkerd), and the Gateway API CRDs file is used whatever Istio would need.
 */
export function onMesh(
  sections: MeshSections,
  routing: RoutingConfig,
): { routing: RoutingConfig; modes: RoutingConfig } {
  if (sections.mesh.provider !== "linkerd") {
    return { routing, modes: routing };
  }
  return {
    routing: { ...routing, api: "gateway-api", scopeProxies: false },
    modes: { ...routing, api: "istio", gatewayApiCrdsFile: undefined },
  };
}
