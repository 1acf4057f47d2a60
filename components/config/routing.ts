// The `routing` section of the stack config: which API routes traffic, and where the Gateway API
// CRDs come from when the stack needs them (gateway-api routing, or ambient's waypoints).
import * as fs from "fs";
import * as path from "path";
import { ROUTING_APIS, type RoutingApi } from "../core";
import type { Checker } from "./checker";
import { type Fields, Section } from "./section";
import { show } from "./show";

/** Install the pinned Gateway API CRDs (standard channel), or use those the cluster has. */
export type GatewayApiCrdsSource = "install" | "cluster";

export interface RoutingConfig {
  /** istio: Gateway, VirtualService, DestinationRule. gateway-api: Gateway, HTTPRoute. */
  readonly api: RoutingApi;
  /** Whether the stack installs the Gateway API CRDs or the cluster already has them. */
  readonly gatewayApiCrds: GatewayApiCrdsSource;
  /**
   * A local copy of the release's standard-install.yaml (air-gapped clusters), as an absolute
   * path; the official release URL when unset.
   */
  readonly gatewayApiCrdsFile?: string;
  /**
   * Scope every proxy to what it calls: each sidecar of the stack's workloads gets a Sidecar
   * resource listing exactly the services whose policies admit it (and the mesh's own namespace),
   * and each service's routing is exported only to its callers' namespaces. Defaults to true.
   */
  readonly scopeProxies: boolean;
}

export const ROUTING_DEFAULTS = {
  api: "istio" as RoutingApi,
  gatewayApiCrds: "install" as GatewayApiCrdsSource,
  gatewayApiCrdsFile: undefined as string | undefined,
  scopeProxies: true,
};

export function validateRouting(c: Checker, raw: unknown): RoutingConfig {
  const s = new Section(c, "routing", raw, ROUTING_DEFAULTS);
  return {
    api: s.field("api", (key, value, fallback) =>
      c.oneOf(
        key,
        value,
        ROUTING_APIS,
        fallback,
        "istio routes with Gateway, VirtualService and DestinationRule; gateway-api with Gateway and HTTPRoute",
      ),
    ),
    gatewayApiCrds: s.field("gatewayApiCrds", (key, value, fallback) =>
      c.oneOf(
        key,
        value,
        ["install", "cluster"] as const,
        fallback,
        "install applies the pinned standard-channel CRDs; cluster uses those already installed",
      ),
    ),
    gatewayApiCrdsFile: s.field("gatewayApiCrdsFile", (key, value) =>
      crdsFile(c, key, value),
    ),
    scopeProxies: s.boolean("scopeProxies"),
  } satisfies Fields<typeof ROUTING_DEFAULTS>;
}

/** A readable local file, resolved against the project directory (where `pulumi up` runs). */
function crdsFile(c: Checker, key: string, value: unknown): string | undefined {
  if (value === undefined) {
    return undefined;
  }
  if (typeof value !== "string" || value.trim() === "") {
    c.fail(
      `${key} must be the path of a local copy of the Gateway API's standard-install.yaml (got ${show(value)}); remove it to install from the official release URL`,
    );
    return undefined;
  }
  const file = path.resolve(value);
  if (!fs.existsSync(file) || !fs.statSync(file).isFile()) {
    c.fail(
      `${key} must name an existing file (got ${show(value)}, not found at ${file}); download the release's standard-install.yaml there or remove the key`,
    );
    return undefined;
  }
  return file;
}
