// Which versioned service a rollout moves, where its weights live and what Istio's metrics call
// its pods. Pure: the stack's config and outputs in, weights and the metric target out.
//
// - The demo backend (no --service): weights at canary.weights.<version>, deployed weights in the
//   canaryWeights output, namespace in appNamespace; its pods' canonical service is `backend` and
//   their canonical revision is the version's name.
// - A declared service (--service X, the stack config's services.X, issue 22): weights at
//   services.X.versions.<version>.weight, and the stack output services.X says what the last `up`
//   deployed (weights), where (namespace) and what Istio's metrics call each version's pods
//   (metrics[<version>]: {service, revision}, or {unknown: why} for a route-only version whose
//   selector does not pin the canonical labels, which no gate can watch).
import {
  CANARY_WEIGHTS,
  PlanError,
  type Weights,
  type WeightsConfig,
} from "./plan";
import type {
  DeclaredServiceOutput,
  VersionMetrics,
} from "../../components/core/serviceOutput";
import type { Dataplane, MetricTarget, RoutingApi } from "./promql";

/** The demo's versioned service: its pods' canonical service. */
export const DEMO_SERVICE = "backend";

/** Where a rollout reads and writes one service's weights. */
export interface WeightsPlace extends WeightsConfig {
  /** The declared service, or undefined for the demo backend. */
  readonly service?: string;
  /** The stack output holding the deployed weights, for messages. */
  readonly output: string;
}

/** The weights' place for the demo backend (undefined) or a declared service. */
export function weightsPlace(service?: string): WeightsPlace {
  if (service === undefined) {
    return { ...CANARY_WEIGHTS, output: "canaryWeights" };
  }
  return {
    service,
    label: `services.${service}.versions`,
    configKey: (v) => `services.${service}.versions.${v}.weight`,
    output: `services.${service}.weights`,
  };
}

export type { VersionMetrics };

/** What a rollout reads of the stack output services.X (index.ts writes it). */
export type ServiceOutput = Pick<
  DeclaredServiceOutput,
  "namespace" | "metrics"
> &
  Partial<Pick<DeclaredServiceOutput, "protocol" | "weights">>;

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === "object" && v !== null && !Array.isArray(v);

/** A map of versions to numbers, or undefined. */
export const asWeights = (v: unknown): Weights | undefined =>
  isObject(v) && Object.values(v).every((n) => typeof n === "number")
    ? (v as Weights)
    : undefined;

/** The stack config's `services` (its JSON text, undefined when unset) as a map. */
function parseServices(raw: string | undefined): Record<string, unknown> {
  if (raw === undefined) {
    return {};
  }
  let v: unknown;
  try {
    v = JSON.parse(raw);
  } catch {
    v = undefined;
  }
  if (!isObject(v)) {
    throw new PlanError(
      `the stack's services config is not a map of service names (got ${raw}); see docs/services.md`,
    );
  }
  return v;
}

/** The services a config declares, for messages. */
const declared = (services: Record<string, unknown>): string =>
  Object.keys(services).length > 0
    ? `it declares ${Object.keys(services).join(", ")}`
    : "it declares none";

/**
 * The weights of `service` in the stack config's `services` (JSON text, undefined when unset):
 * services.X.versions.<v>.weight. Refuses a service the stack does not declare, naming those it
 * does, and a version without a whole-number weight.
 */
export function serviceConfigWeights(
  raw: string | undefined,
  service: string,
  stack: string,
): Weights {
  const services = parseServices(raw);
  if (!Object.prototype.hasOwnProperty.call(services, service)) {
    throw new PlanError(
      `--service ${JSON.stringify(service)}: stack ${stack} declares no service ${service} under services (${declared(services)}); ` +
        `name one of them, declare it under services in the stack's config and 'pulumi up', ` +
        `or leave out --service to roll out the demo's backend`,
    );
  }
  const entry = services[service];
  const versions = isObject(entry) ? entry.versions : undefined;
  if (!isObject(versions) || Object.keys(versions).length === 0) {
    throw new PlanError(
      `--service ${service}: services.${service}.versions is not a map of versions (got ${JSON.stringify(versions)}); ` +
        `declare them, e.g. 'pulumi config set --path services.${service}.versions.v1.weight 100'`,
    );
  }
  const weights: Weights = {};
  for (const [v, spec] of Object.entries(versions)) {
    const w = isObject(spec) ? spec.weight : undefined;
    if (typeof w !== "number" || !Number.isInteger(w)) {
      throw new PlanError(
        `--service ${service}: services.${service}.versions.${v}.weight is not a whole number (got ${JSON.stringify(w)}); ` +
          `set it with 'pulumi config set --path services.${service}.versions.${v}.weight <percent>' and 'pulumi up'`,
      );
    }
    weights[v] = w;
  }
  return weights;
}

/** The entry of `service` in the stack output `services`, or why a rollout cannot use it. */
export function serviceOutput(
  outputs: unknown,
  service: string,
  stack: string,
): ServiceOutput {
  const entry = isObject(outputs) ? outputs[service] : undefined;
  if (!isObject(entry)) {
    throw new PlanError(
      `--service ${service}: stack ${stack}'s outputs have no services.${service}: ` +
        `deploy it first ('pulumi up'), then roll out`,
    );
  }
  if (typeof entry.namespace !== "string" || !isObject(entry.metrics)) {
    throw new PlanError(
      `--service ${service}: the stack output services.${service} lacks its namespace or metrics ` +
        `(got ${JSON.stringify(entry)}); run 'pulumi up' with this checkout's program first`,
    );
  }
  return {
    namespace: entry.namespace,
    protocol:
      typeof entry.protocol === "string"
        ? (entry.protocol as ServiceOutput["protocol"])
        : undefined,
    weights: asWeights(entry.weights),
    metrics: entry.metrics as Record<string, VersionMetrics>,
  };
}

/** What the gates watch: the deployment's facts, and the service the rollout moves. */
export interface TargetFacts {
  readonly dataplane: Dataplane;
  readonly routingApi: RoutingApi;
  readonly namespace: string;
  /** Istio's names of each version's pods; undefined for the demo backend. */
  readonly metrics?: Readonly<Record<string, VersionMetrics>>;
  /** The service's protocol; undefined for the demo backend (http). */
  readonly protocol?: string;
}

/**
 * The canary's metric target: the namespace, and the canonical service and revision of the
 * target version's pods (`destination_canonical_service`, `destination_version`). Refuses, before
 * any change, a version whose pods Istio's metrics cannot tell apart, and a TCP service (its
 * proxies report no requests, response codes or latencies: every window would be inconclusive).
 */
export function metricTarget(
  facts: TargetFacts,
  place: WeightsPlace,
  to: string,
): MetricTarget {
  const base = {
    dataplane: facts.dataplane,
    routingApi: facts.routingApi,
    namespace: facts.namespace,
  };
  if (place.service === undefined || facts.metrics === undefined) {
    return { ...base, service: DEMO_SERVICE, revision: to };
  }
  const flag = `--service ${place.service} --to ${to}`;
  if (facts.protocol === "tcp") {
    throw new PlanError(
      `${flag}: ${place.service} is a tcp service, and Istio reports no requests, errors or latencies ` +
        `for TCP, so the gates could never pass; shift its weights with 'pulumi config set --path ` +
        `${place.configKey(to)} <percent>' and 'pulumi up' instead`,
    );
  }
  const m = facts.metrics[to];
  if (m === undefined) {
    throw new PlanError(
      `${flag}: the stack output services.${place.service}.metrics has no ${to} ` +
        `(it has ${Object.keys(facts.metrics).join(", ") || "none"}); run 'pulumi up' first`,
    );
  }
  if ("unknown" in m) {
    throw new PlanError(
      `${flag}: the gates cannot watch ${to} (services.${place.service}.metrics.${to}): ${m.unknown}`,
    );
  }
  return { ...base, service: m.service, revision: m.revision };
}
