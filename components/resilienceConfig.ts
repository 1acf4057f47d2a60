// The `resilience` section of the stack config (traffic policy, timeouts, retries, faults) and the
// routing extras shared by every weighted service's section (header canary, mirroring).
import { Checker, show } from "./configChecker";
import { VersionWeight } from "./config";
import {
  ConnectionPool,
  DEFAULT_ROUTING_POLICY,
  Fault,
  HeaderRoute,
  LoadBalancer,
  OutlierDetection,
  Retries,
  RoutingPolicy,
} from "./routingPolicy";

/** Policy shared by every versioned service, plus faults by service name. */
export interface ResilienceConfig {
  readonly loadBalancer: LoadBalancer;
  readonly connectionPool: ConnectionPool;
  readonly outlierDetection: OutlierDetection;
  readonly timeout: string;
  readonly retries: Retries;
  /** Fault injection by service name (e.g. backend); off for services not listed. */
  readonly faults: Record<string, Fault>;
}

const D = DEFAULT_ROUTING_POLICY;
const SIMPLE = ["ROUND_ROBIN", "LEAST_REQUEST", "RANDOM"] as const;
const HEADER_NAME = /^[a-z0-9][a-z0-9-]*$/;
const RETRY_ON = /^[a-z0-9-]+(,[a-z0-9-]+)*$/;

function loadBalancer(c: Checker, key: string, value: unknown): LoadBalancer {
  if (value === undefined) {
    return D.loadBalancer;
  }
  if (typeof value === "string") {
    if ((SIMPLE as readonly string[]).includes(value)) {
      return { simple: value as (typeof SIMPLE)[number] };
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
  return D.loadBalancer;
}

export function validateFault(
  c: Checker,
  key: string,
  value: unknown,
): Fault | undefined {
  const f = c.object(key, value, ["delay", "abort"]);
  let delay: Fault["delay"];
  let abort: Fault["abort"];
  if (f.delay !== undefined) {
    const d = c.object(`${key}.delay`, f.delay, ["percent", "fixedDelay"]);
    delay = {
      percent: c.percent(`${key}.delay.percent`, d.percent, 100),
      fixedDelay: c.duration(`${key}.delay.fixedDelay`, d.fixedDelay, "5s"),
    };
  }
  if (f.abort !== undefined) {
    const a = c.object(`${key}.abort`, f.abort, ["percent", "httpStatus"]);
    abort = {
      percent: c.percent(`${key}.abort.percent`, a.percent, 100),
      httpStatus: c.integer(
        `${key}.abort.httpStatus`,
        a.httpStatus,
        503,
        200,
        599,
      ),
    };
  }
  if (value !== undefined && !delay && !abort) {
    c.fail(
      `${key} must set delay, abort or both (got ${show(value)}); e.g. 'pulumi config set --path ${key}.abort.percent 10'`,
    );
    return undefined;
  }
  return delay || abort ? { delay, abort } : undefined;
}

/** Validates `resilience`; `services` are the names faults may target. */
export function validateResilience(
  c: Checker,
  raw: unknown,
  services: string[],
): ResilienceConfig {
  const r = c.object("resilience", raw, [
    "loadBalancer",
    "connectionPool",
    "outlierDetection",
    "timeout",
    "retries",
    "faults",
  ]);
  const cp = c.object("resilience.connectionPool", r.connectionPool, [
    "maxConnections",
    "maxPendingRequests",
    "maxRetries",
  ]);
  const od = c.object("resilience.outlierDetection", r.outlierDetection, [
    "consecutive5xxErrors",
    "interval",
    "baseEjectionTime",
    "maxEjectionPercent",
  ]);
  const rt = c.object("resilience.retries", r.retries, [
    "attempts",
    "perTryTimeout",
    "retryOn",
  ]);
  const faultsRaw = c.object("resilience.faults", r.faults, services);
  const faults: Record<string, Fault> = {};
  for (const svc of Object.keys(faultsRaw).filter((s) =>
    services.includes(s),
  )) {
    const f = validateFault(c, `resilience.faults.${svc}`, faultsRaw[svc]);
    if (f) {
      faults[svc] = f;
    }
  }
  return {
    loadBalancer: loadBalancer(c, "resilience.loadBalancer", r.loadBalancer),
    connectionPool: {
      maxConnections: c.integer(
        "resilience.connectionPool.maxConnections",
        cp.maxConnections,
        D.connectionPool.maxConnections,
        1,
        1_000_000,
      ),
      maxPendingRequests: c.integer(
        "resilience.connectionPool.maxPendingRequests",
        cp.maxPendingRequests,
        D.connectionPool.maxPendingRequests,
        1,
        1_000_000,
      ),
      maxRetries: c.integer(
        "resilience.connectionPool.maxRetries",
        cp.maxRetries,
        D.connectionPool.maxRetries,
        0,
        1_000_000,
      ),
    },
    outlierDetection: {
      consecutive5xxErrors: c.integer(
        "resilience.outlierDetection.consecutive5xxErrors",
        od.consecutive5xxErrors,
        D.outlierDetection.consecutive5xxErrors,
        1,
        1000,
      ),
      interval: c.duration(
        "resilience.outlierDetection.interval",
        od.interval,
        D.outlierDetection.interval,
      ),
      baseEjectionTime: c.duration(
        "resilience.outlierDetection.baseEjectionTime",
        od.baseEjectionTime,
        D.outlierDetection.baseEjectionTime,
      ),
      maxEjectionPercent: c.integer(
        "resilience.outlierDetection.maxEjectionPercent",
        od.maxEjectionPercent,
        D.outlierDetection.maxEjectionPercent,
        0,
        100,
      ),
    },
    timeout: c.duration("resilience.timeout", r.timeout, D.timeout),
    retries: {
      attempts: c.integer(
        "resilience.retries.attempts",
        rt.attempts,
        D.retries.attempts,
        0,
        10,
      ),
      perTryTimeout: c.duration(
        "resilience.retries.perTryTimeout",
        rt.perTryTimeout,
        D.retries.perTryTimeout,
      ),
      retryOn: c.string(
        "resilience.retries.retryOn",
        rt.retryOn,
        D.retries.retryOn,
        {
          re: RETRY_ON,
          hint: "must be Envoy retry conditions separated by commas, e.g. 5xx,connect-failure",
        },
      ),
    },
    faults,
  };
}

/** `<section>.header`: requests with header == value go to a version. */
export function validateHeaderRoute(
  c: Checker,
  key: string,
  raw: unknown,
  weights: VersionWeight[],
): HeaderRoute | undefined {
  if (raw === undefined) {
    return undefined;
  }
  const h = c.object(key, raw, ["name", "value", "version"]);
  const header = c.string(`${key}.name`, h.name, "x-canary", {
    re: HEADER_NAME,
    hint: "must be a lowercase HTTP header name",
  });
  const value = c.string(`${key}.value`, h.value, "always");
  const version = knownVersion(c, `${key}.version`, h.version, weights);
  return { header, value, version };
}

/** `<section>.mirror`: shadow a share of live traffic to a version. */
export function validateMirror(
  c: Checker,
  key: string,
  raw: unknown,
  weights: VersionWeight[],
) {
  if (raw === undefined) {
    return undefined;
  }
  const m = c.object(key, raw, ["version", "percent"]);
  return {
    version: knownVersion(c, `${key}.version`, m.version, weights),
    percent: c.percent(`${key}.percent`, m.percent, 100),
  };
}

/** A version named by a routing rule must be one that is deployed. */
export function knownVersion(
  c: Checker,
  key: string,
  value: unknown,
  weights: VersionWeight[],
): string {
  const versions = weights.map((w) => w.version);
  if (typeof value !== "string" || !versions.includes(value)) {
    c.fail(
      `${key} must name a deployed version, one of ${versions.join(", ") || "(none)"} (got ${show(value)})`,
    );
    return versions[0] ?? "";
  }
  return value;
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
