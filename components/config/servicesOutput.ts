// The stack output `services` (index.ts), from the validated config: what `npm run rollout --
// --service` and `npm run traffic -- --service` read.
import {
  canonicalIdentity,
  type DeclaredServiceOutput,
  serviceHost,
} from "../core";
import type { ServiceConfig } from "./services";

/** The stack output `services`: each declared service's place, split and metrics' names. */
export function servicesOutput(
  services: readonly ServiceConfig[],
): Record<string, DeclaredServiceOutput> {
  return Object.fromEntries(
    services.map((s) => [
      s.name,
      {
        namespace: s.namespace,
        host: serviceHost(s.name, s.namespace),
        port: s.port,
        protocol: s.protocol,
        weights: Object.fromEntries(
          s.versions.map((v) => [v.version, v.weight]),
        ),
        routeOnly: s.routeOnly,
        ingressPath: s.ingressPath ?? null,
        metrics: Object.fromEntries(
          s.versions.map((v) => [
            v.version,
            v.selector
              ? canonicalIdentity(v.selector)
              : { service: s.name, revision: v.version },
          ]),
        ),
      },
    ]),
  );
}
