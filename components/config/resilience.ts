// The `resilience` section of the stack config: the traffic policy, timeouts, retries and faults
// of every versioned service, and how one service's routing policy is assembled from it.
import {
  DEFAULT_ROUTING_POLICY,
  type Fault,
  type HeaderRoute,
  type LoadBalancer,
  type RoutingPolicy,
  type SimpleLB,
} from "../core";
import type { Checker } from "./checker";
import { type Fields, Section } from "./section";
import { show } from "./show";
import { HEADER_NAME } from "./weights";

/** Policy shared by every versioned service, plus faults by service name. */
export type ResilienceConfig = Pick<
  RoutingPolicy,
  "loadBalancer" | "connectionPool" | "outlierDetection" | "timeout" | "retries"
> & {
  /** Fault injection by service name (e.g. backend); off for services not listed. */
  readonly faults: Readonly<Record<string, Fault>>;
};

const D = DEFAULT_ROUTING_POLICY;

export const RESILIENCE_DEFAULTS = {
  loadBalancer: D.loadBalancer,
  connectionPool: D.connectionPool,
  outlierDetection: D.outlierDetection,
  timeout: D.timeout,
  retries: D.retries,
  /** By service name; the known names depend on what is deployed. */
  faults: {} as Readonly<Record<string, Fault>>,
};

export const FAULT_DEFAULTS = {
  delay: undefined as Fault["delay"],
  abort: undefined as Fault["abort"],
};
const DELAY_DEFAULTS = { percent: 100, fixedDelay: "5s" };
const ABORT_DEFAULTS = { percent: 100, httpStatus: 503 };

const SIMPLE: readonly SimpleLB[] = ["ROUND_ROBIN", "LEAST_REQUEST", "RANDOM"];
const RETRY_ON = /^[a-z0-9-]+(,[a-z0-9-]+)*$/;

/** ROUND_ROBIN, LEAST_REQUEST, RANDOM, or `header:<name>` / `cookie:<name>` for consistent hashing. */
function loadBalancer(
  c: Checker,
  key: string,
  value: unknown,
  fallback: LoadBalancer,
): LoadBalancer {
  if (value === undefined) {
    return fallback;
  }
  if (typeof value === "string") {
    if ((SIMPLE as readonly string[]).includes(value)) {
      return { simple: value as SimpleLB };
    }
    const m = /^(header|cookie):(.+)$/.exec(value);
    if (m && HEADER_NAME.test(m[2].toLowerCase())) {
      return {
        consistentHash: m[1] === "header" ? { header: m[2] } : { cookie: m[2] },
      };
    }
  }
  c.fail(
    `${key} must be one of ${SIMPLE.join(", ")}, header:<name> or cookie:<name> for consistent hashing (got ${show(value)})`,
  );
  return fallback;
}

/** A fault at `key`: a delay, an abort or both; undefined when unset. */
export function validateFault(
  c: Checker,
  key: string,
  value: unknown,
): Fault | undefined {
  const s = new Section(c, key, value, FAULT_DEFAULTS);
  const fault = {
    delay: s.has("delay")
      ? delayOf(s.sectionOf("delay", DELAY_DEFAULTS))
      : undefined,
    abort: s.has("abort")
      ? abortOf(s.sectionOf("abort", ABORT_DEFAULTS))
      : undefined,
  } satisfies Fields<typeof FAULT_DEFAULTS>;
  if (value !== undefined && !fault.delay && !fault.abort) {
    c.fail(
      `${key} must set delay, abort or both (got ${show(value)}); e.g. 'pulumi config set --path ${key}.abort.percent 10'`,
    );
    return undefined;
  }
  return fault.delay || fault.abort ? fault : undefined;
}

function delayOf(s: Section<typeof DELAY_DEFAULTS>): Fault["delay"] {
  return {
    percent: s.percent("percent"),
    fixedDelay: s.duration("fixedDelay"),
  } satisfies Fields<typeof DELAY_DEFAULTS>;
}

function abortOf(s: Section<typeof ABORT_DEFAULTS>): Fault["abort"] {
  return {
    percent: s.percent("percent"),
    httpStatus: s.integer("httpStatus", 200, 599),
  } satisfies Fields<typeof ABORT_DEFAULTS>;
}

/** Validates `resilience`; `services` are the names faults may target. */
export function validateResilience(
  c: Checker,
  raw: unknown,
  services: readonly string[],
): ResilienceConfig {
  const s = new Section(c, "resilience", raw, RESILIENCE_DEFAULTS);
  const cp = s.section("connectionPool");
  const od = s.section("outlierDetection");
  const rt = s.section("retries");
  return {
    loadBalancer: s.field("loadBalancer", (k, v, d) =>
      loadBalancer(c, k, v, d),
    ),
    connectionPool: {
      maxConnections: cp.integer("maxConnections", 1, 1_000_000),
      maxPendingRequests: cp.integer("maxPendingRequests", 1, 1_000_000),
      maxRetries: cp.integer("maxRetries", 0, 1_000_000),
    } satisfies Fields<typeof D.connectionPool>,
    outlierDetection: {
      consecutive5xxErrors: od.integer("consecutive5xxErrors", 1, 1000),
      interval: od.duration("interval"),
      baseEjectionTime: od.duration("baseEjectionTime"),
      maxEjectionPercent: od.integer("maxEjectionPercent", 0, 100),
    } satisfies Fields<typeof D.outlierDetection>,
    timeout: s.duration("timeout"),
    retries: {
      attempts: rt.integer("attempts", 0, 10),
      perTryTimeout: rt.duration("perTryTimeout"),
      retryOn: rt.string("retryOn", {
        re: RETRY_ON,
        hint: "must be Envoy retry conditions separated by commas, e.g. 5xx,connect-failure",
      }),
    } satisfies Fields<typeof D.retries>,
    faults: s.field("faults", (key, value) => {
      // Known fields are the services deployed, so a fault on a typo'd service is reported.
      const byService = c.object(key, value, services);
      const faults: Record<string, Fault> = {};
      for (const svc of Object.keys(byService).filter((x) =>
        services.includes(x),
      )) {
        const f = validateFault(c, `${key}.${svc}`, byService[svc]);
        if (f) {
          faults[svc] = f;
        }
      }
      return faults;
    }),
  } satisfies Fields<typeof RESILIENCE_DEFAULTS>;
}

/** The routing policy of one service: the shared settings, its fault, and its own extras. */
export function routingPolicyFor(
  r: ResilienceConfig,
  service: string,
  extras: {
    headerRoutes?: HeaderRoute[];
    mirror?: RoutingPolicy["mirror"];
    timeout?: string;
  } = {},
): RoutingPolicy {
  return {
    loadBalancer: r.loadBalancer,
    connectionPool: r.connectionPool,
    outlierDetection: r.outlierDetection,
    timeout: extras.timeout ?? r.timeout,
    retries: r.retries,
    fault: r.faults[service],
    headerRoutes: extras.headerRoutes ?? [],
    mirror: extras.mirror,
  };
}
