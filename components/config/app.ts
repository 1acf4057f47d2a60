// The demo app's sections of the stack config: the ingress gateway, the app's namespace and
// images, and the backend's canary.
import type { HeaderRoute, VersionWeight } from "../core";
import { type Checker, isPlainObject } from "./checker";
import { type Fields, Section } from "./section";
import {
  validateHeaderRoute,
  validateMirror,
  validateWeights,
} from "./weights";

export type IngressServiceType = "ClusterIP" | "NodePort" | "LoadBalancer";

export interface IngressConfig {
  /** Namespace of the ingress gateway (not the app's: the gateway must be injectable). */
  readonly namespace: string;
  /** Type of the gateway's Service. */
  readonly serviceType: IngressServiceType;
}

export const INGRESS_DEFAULTS = {
  namespace: "istio-ingress",
  // A laptop cluster has no load balancer, and Helm would wait for an address forever.
  serviceType: "ClusterIP" as IngressServiceType,
};

/** Container images of the demo app, each pinned by tag or digest. */
export interface ImagesConfig {
  readonly frontend: string;
  readonly backend: string;
}

export const IMAGES_DEFAULTS = {
  frontend: "nginxinc/nginx-unprivileged:1.27.4-alpine",
  backend: "hashicorp/http-echo:1.0.0",
};

/** The demo backend's canary: weights, and optionally a header route and mirroring. */
export interface CanaryConfig {
  /** Versions and their weights, in the order the user listed them. */
  readonly weights: VersionWeight[];
  /** Requests carrying this header value go to one version regardless of weights. */
  readonly header?: HeaderRoute;
  /** Shadow a percentage of live traffic to a version. */
  readonly mirror?: { readonly version: string; readonly percent: number };
}

/** Required: the section has no default, and its absence has a message of its own. */
export const CANARY_DEFAULTS = {
  weights: undefined as Record<string, number> | undefined,
  header: undefined as CanaryConfig["header"],
  mirror: undefined as CanaryConfig["mirror"],
};

/** The demo app preset: a frontend and a versioned backend (canary, images). */
export interface DemoConfig {
  readonly enabled: boolean;
}

export const DEMO_DEFAULTS = {
  /** On, so stacks deployed before the switch existed keep their demo. */
  enabled: true,
};

export function validateDemo(c: Checker, raw: unknown): DemoConfig {
  const s = new Section(c, "demo", raw, DEMO_DEFAULTS);
  return { enabled: s.boolean("enabled") } satisfies Fields<
    typeof DEMO_DEFAULTS
  >;
}

/** The versioned services of the demo app, which `resilience.faults` may target. */
export const DEMO_SERVICES = ["frontend", "backend"];

export function validateIngress(c: Checker, raw: unknown): IngressConfig {
  const s = new Section(c, "ingress", raw, INGRESS_DEFAULTS);
  return {
    namespace: s.namespace("namespace"),
    serviceType: s.oneOf("serviceType", [
      "ClusterIP",
      "NodePort",
      "LoadBalancer",
    ]),
  } satisfies Fields<typeof INGRESS_DEFAULTS>;
}

export function validateImages(c: Checker, raw: unknown): ImagesConfig {
  const s = new Section(c, "images", raw, IMAGES_DEFAULTS);
  return {
    frontend: s.image("frontend"),
    backend: s.image("backend"),
  } satisfies Fields<typeof IMAGES_DEFAULTS>;
}

export function validateCanary(c: Checker, raw: unknown): CanaryConfig {
  if (raw === undefined) {
    c.fail(
      `canary.weights is not set; give each backend version a weight, e.g. 'pulumi config set --path canary.weights.v1 100'`,
    );
    return { weights: [] };
  }
  const s = new Section(c, "canary", raw, CANARY_DEFAULTS);
  if (!isPlainObject(raw)) {
    return { weights: [] };
  }
  const weights = s.field("weights", (key, value) =>
    validateWeights(c, key, value),
  );
  return {
    weights,
    header: s.field("header", (key, value) =>
      validateHeaderRoute(c, key, value, weights),
    ),
    mirror: s.field("mirror", (key, value) =>
      validateMirror(c, key, value, weights),
    ),
  } satisfies Fields<typeof CANARY_DEFAULTS>;
}
