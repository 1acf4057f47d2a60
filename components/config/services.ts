// The `services` section of the stack config: users' own services, each deployed in versions
// from images (or, route-only, selected among pods someone else deploys), routed by weight, and
// callable only by the callers it names. This module reads one service at a time; the rules that
// span services and sections (callers, names, namespaces) are in serviceGraph.ts.
import {
  commonLabels,
  type HeaderRoute,
  type Resources,
  type VersionWeight,
} from "../core";
import { type Checker, isPlainObject } from "./checker";
import { DNS_LABEL } from "./patterns";
import {
  ABSOLUTE_PATH,
  DEFAULT_MAX_SURGE,
  env,
  type EnvValue,
  HTTP_PATH,
  ingressPath,
  labels,
  maxSurge,
} from "./serviceFields";

export type { EnvValue };
import { type Fields, Section } from "./section";
import { keyPath, show } from "./show";
import {
  validateHeaderRoute,
  validateMirror,
  validateWeights,
} from "./weights";

/** What the Service's port speaks: its appProtocol, and which routing features apply. */
export type ServiceProtocol = "http" | "http2" | "grpc" | "tcp";
export const SERVICE_PROTOCOLS: readonly ServiceProtocol[] = [
  "http",
  "http2",
  "grpc",
  "tcp",
];

/** One version of a declared service. */
export interface ServiceVersion extends VersionWeight {
  /** Pinned image; absent for a route-only service. */
  readonly image?: string;
  /** Route-only: the labels of this version's pods, deployed by someone else. */
  readonly selector?: Readonly<Record<string, string>>;
  /** Pods of this version. Defaults to 1. */
  readonly replicas: number;
}

export interface ServiceConfig {
  readonly name: string;
  readonly namespace: string;
  readonly port: number;
  readonly targetPort: number;
  readonly protocol: ServiceProtocol;
  readonly versions: readonly ServiceVersion[];
  /** Versions are selected among pods the stack does not deploy. */
  readonly routeOnly: boolean;
  /** As the user wrote them; serviceGraph.ts resolves them to principals. */
  readonly callers: readonly string[];
  /** The ServiceAccount the pods run as: the service's own, or route-only, the owner's. */
  readonly serviceAccount: string;
  /** Route-only: create the Service (false when its owner already did). */
  readonly createService: boolean;
  /** Path prefix the ingress gateway routes to this service. */
  readonly ingressPath?: string;
  readonly header?: HeaderRoute;
  readonly mirror?: { readonly version: string; readonly percent: number };
  readonly resources: Resources;
  readonly env: Readonly<Record<string, EnvValue>>;
  /** HTTP path of both probes; absent means a TCP check on the port. */
  readonly probePath?: string;
  readonly writablePaths: readonly string[];
  readonly runAsUser: number;
  /** Extra pods a rolling update may start (a count or a percent); applies with replicas > 1. */
  readonly maxSurge: number | string;
}

/** Every field of one service entry and its default (docs/services.md). */
export const SERVICE_DEFAULTS = {
  /** The app namespace (appNamespace) when unset. */
  namespace: undefined as string | undefined,
  port: 8080,
  /** The port when unset. */
  targetPort: undefined as number | undefined,
  protocol: "http" as ServiceProtocol,
  /** Required. */
  versions: undefined as Record<string, unknown> | undefined,
  callers: [] as readonly string[],
  /** The service's name when unset. */
  serviceAccount: undefined as string | undefined,
  createService: true,
  ingress: undefined as { path: string } | undefined,
  header: undefined as HeaderRoute | undefined,
  mirror: undefined as ServiceConfig["mirror"],
  resources: {
    requests: { cpu: "10m", memory: "32Mi" },
    limits: { cpu: "200m", memory: "128Mi" },
  } as Resources,
  env: {} as Record<string, unknown>,
  probePath: undefined as string | undefined,
  writablePaths: ["/tmp"] as readonly string[],
  runAsUser: 65532,
  maxSurge: DEFAULT_MAX_SURGE as number | string,
};

const VERSION_DEFAULTS = {
  image: undefined as string | undefined,
  selector: undefined as Record<string, string> | undefined,
  /** Required. */
  weight: undefined as number | undefined,
  replicas: 1,
};

/** One version: an image (deployed by the stack) or a selector (route-only). */
function validateVersion(
  c: Checker,
  key: string,
  version: string,
  raw: unknown,
): ServiceVersion {
  const s = new Section(c, key, raw, VERSION_DEFAULTS);
  const example = `pulumi config set --path ${keyPath(key, "image")} registry.example.com/team/app:1.2.3`;
  const image = s.field("image", (k, v) =>
    v === undefined
      ? undefined
      : c.image(k, v, "registry.example.com/team/app:1.2.3"),
  );
  const selector = s.field("selector", (k, v) => labels(c, k, v));
  if ((image === undefined) === (selector === undefined)) {
    c.fail(
      `${key} needs exactly one of image (the stack deploys it) or selector (route-only: its pods are deployed by someone else) ` +
        `(got ${show(raw)}); e.g. '${example}'`,
    );
  }
  if (selector !== undefined && s.has("replicas")) {
    c.fail(
      `${keyPath(key, "replicas")} is set (got ${show(s.raw.replicas)}) but the version is route-only (selector): its owner scales it; remove replicas`,
    );
  }
  return {
    version,
    weight: 0, // taken from validateWeights, which reports every weight problem at once
    image,
    selector,
    replicas: s.integer("replicas", 1, 50),
  };
}

/** Fields only a deployed (image) service has, and fields only a route-only one has. */
const IMAGE_ONLY = [
  "resources",
  "env",
  "probePath",
  "writablePaths",
  "runAsUser",
  "maxSurge",
] as const;
const ROUTE_ONLY = ["serviceAccount", "createService"] as const;

/** One entry of `services`, named `name`; `appNamespace` is its namespace's default. */
export function validateService(
  c: Checker,
  name: string,
  raw: unknown,
  appNamespace: string,
): ServiceConfig {
  const key = keyPath("services", name);
  const s = new Section(c, key, raw, SERVICE_DEFAULTS);
  const rawVersions = s.raw.versions;
  const weights = validateWeights(
    c,
    `${key}.versions`,
    isPlainObject(rawVersions)
      ? Object.fromEntries(
          Object.entries(rawVersions).map(([v, e]) => [
            v,
            isPlainObject(e) ? e.weight : undefined,
          ]),
        )
      : rawVersions,
    "weight",
  );
  const versions = isPlainObject(rawVersions)
    ? Object.entries(rawVersions).map(([v, e]) => ({
        ...validateVersion(c, keyPath(`${key}.versions`, v), v, e),
        weight: weights.find((w) => w.version === v)?.weight ?? 0,
      }))
    : [];
  const routeOnly =
    versions.length > 0 && versions.every((v) => v.selector !== undefined);
  if (!routeOnly && versions.some((v) => v.selector !== undefined)) {
    c.fail(
      `${key}.versions mixes route-only versions (selector) with deployed ones (image); a service is either deployed by the stack or by someone else: give every version an image, or every version a selector`,
    );
  }
  if (routeOnly && s.raw.createService !== false) {
    const shared = Object.keys(
      commonLabels(versions.map((v) => v.selector ?? {})),
    );
    if (shared.length === 0) {
      c.fail(
        `${key}.versions: the selectors share no label, so the Service the stack creates could not select every version's pods; ` +
          `give them a common label (e.g. app: ${name}) or, if the service's owner created its Service, set 'pulumi config set --path ${key}.createService false'`,
      );
    }
  }
  for (const f of routeOnly ? IMAGE_ONLY : ROUTE_ONLY) {
    if (s.has(f)) {
      c.fail(
        routeOnly
          ? `${s.path(f)} is set (got ${f === "env" ? "a map" : show(s.raw[f])}) but ${key} is route-only: its pods are deployed by their owner; remove it`
          : `${s.path(f)} is set (got ${show(s.raw[f])}) but ${key} deploys its own versions (image), which run as its own ServiceAccount ${show(name)}; it applies to route-only services (selector), remove it`,
      );
    }
  }
  const protocol = s.oneOf("protocol", SERVICE_PROTOCOLS);
  const port = s.integer("port", 1, 65535);
  const ingress = s.field("ingress", (k, v) => ingressPath(c, k, v));
  const header = s.field("header", (k, v) =>
    validateHeaderRoute(c, k, v, weights),
  );
  const mirror = s.field("mirror", (k, v) => validateMirror(c, k, v, weights));
  if (protocol === "tcp") {
    const http = { ingress, header, mirror };
    for (const [f, v] of Object.entries(http)) {
      if (v !== undefined) {
        c.fail(
          `${keyPath(key, f)} is set (got ${show(s.raw[f])}) but ${key}.protocol is tcp, which is routed by connection, not by request; remove it, or use protocol http, http2 or grpc`,
        );
      }
    }
  }
  const runAsUser = s.integer("runAsUser", 1, 2147483647);
  const config = {
    namespace: s.field("namespace", (k, v) => c.namespace(k, v, appNamespace)),
    port,
    targetPort: s.field("targetPort", (k, v) =>
      c.integer(k, v, port, 1, 65535),
    ),
    protocol,
    versions,
    callers: s.stringList("callers"),
    serviceAccount: s.field("serviceAccount", (k, v) =>
      c.string(k, v, name, {
        re: DNS_LABEL,
        hint: "must be a ServiceAccount name: lowercase letters, digits and '-'",
      }),
    ),
    createService: s.boolean("createService"),
    ingress,
    header,
    mirror,
    resources: s.resources("resources"),
    env: s.field("env", (k, v) => env(c, k, v)),
    probePath: s.field("probePath", (k, v) =>
      v === undefined
        ? undefined
        : c.string(k, v, "/healthz", {
            re: HTTP_PATH,
            hint: "must be an HTTP path starting with '/'",
          }),
    ),
    writablePaths: s.stringList("writablePaths", {
      re: ABSOLUTE_PATH,
      hint: "must be an absolute path such as /tmp",
    }),
    runAsUser,
    maxSurge: s.field("maxSurge", (k, v) => maxSurge(c, k, v)),
  } satisfies Fields<typeof SERVICE_DEFAULTS>;
  const { ingress: _ingress, ...rest } = config;
  return { ...rest, name, routeOnly, ingressPath: _ingress?.path };
}
