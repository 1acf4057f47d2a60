// `npm run traffic -- --service <name>`: a declared service's configured weights and default URL,
// from the stack output `services` (index.ts; issue 22): services.<name>.weights, what the last
// `up` deployed, and services.<name>.ingressPath, the path the stack's ingress routes to it (null
// when it has none). Pure.

/** The stack's port-forward (its portForwardCommand output) maps the ingress to this origin. */
export const PORT_FORWARD = "http://localhost:8080";

/** Raised when the probe is refused before any request (exit 2); the message says the fix. */
export class TrafficRefusal extends Error {
  constructor(message: string) {
    super(message);
    this.name = "TrafficRefusal";
  }
}

export interface ServiceProbe {
  /** The weights the last `up` deployed (services.<name>.weights). */
  readonly weights: Record<string, number>;
  /** --url, else the port-forward and the service's ingress path. */
  readonly url: string;
}

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === "object" && v !== null && !Array.isArray(v);

/**
 * The weights and URL to probe `service` with, from the stack output `services` (parsed JSON) and
 * --url (`url`, undefined when not given). Refuses (TrafficRefusal) a service the output does not
 * have, one that does not answer HTTP GETs (tcp, grpc), and one without an ingress path when no
 * --url was given; throws a plain Error when the output's weights cannot be read.
 */
export function serviceProbe(
  outputs: unknown,
  service: string,
  stack: string,
  url: string | undefined,
): ServiceProbe {
  if (!isObject(outputs)) {
    throw new Error(
      `stack ${stack}'s services output is not a map of services (got ${JSON.stringify(outputs)}); ` +
        `run 'pulumi up' with this checkout's program, or give --weights and --url`,
    );
  }
  const entry = outputs[service];
  if (!isObject(entry)) {
    const names = Object.keys(outputs);
    throw new TrafficRefusal(
      `--service ${JSON.stringify(service)}: stack ${stack}'s services output has no ${service} ` +
        `(${names.length > 0 ? `it has ${names.join(", ")}` : "it has none"}); name one of them, ` +
        `or declare it under services in the stack's config and 'pulumi up'`,
    );
  }
  if (entry.protocol === "tcp" || entry.protocol === "grpc") {
    throw new TrafficRefusal(
      `--service ${service}: ${service} speaks ${entry.protocol}, and the probe sends HTTP GETs, ` +
        `which it does not answer; use an http or http2 service`,
    );
  }
  const weights = entry.weights;
  if (
    !isObject(weights) ||
    Object.values(weights).some((w) => typeof w !== "number")
  ) {
    throw new Error(
      `stack ${stack}'s output services.${service}.weights is not a map of versions to weights ` +
        `(got ${JSON.stringify(weights)}); run 'pulumi up', or give --weights v1=80,v2=20`,
    );
  }
  if (url !== undefined) {
    return { weights: weights as Record<string, number>, url };
  }
  const ingressPath = entry.ingressPath;
  if (typeof ingressPath !== "string" || ingressPath === "") {
    throw new TrafficRefusal(
      `--service ${service}: ${service} has no ingress path (the stack output services.${service}.ingressPath is ` +
        `${JSON.stringify(ingressPath ?? null)}), so the port-forward cannot reach it; add one with ` +
        `'pulumi config set --path services.${service}.ingress.path /${service}' and 'pulumi up', ` +
        `or give --url`,
    );
  }
  return {
    weights: weights as Record<string, number>,
    url: `${PORT_FORWARD}${ingressPath.startsWith("/") ? "" : "/"}${ingressPath}`,
  };
}
