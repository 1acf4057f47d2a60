// Settings a routing API or data plane cannot honour, refused with the mode that supports them
// (the feature-by-mode table of docs/modes.md says the same).
import { GATEWAY_API_VERSION, needsGatewayApi } from "../core";
import type { BookinfoConfig } from "./bookinfo";
import { type Checker, isPlainObject } from "./checker";
import type { IstioConfig } from "./istio";
import type { ResilienceConfig } from "./resilience";
import type { RoutingConfig } from "./routing";
import type { DeclaredService } from "./serviceGraph";
import { show } from "./show";

/**
 * Settings a mode cannot honour are refused with the mode that supports them (the
 * feature-by-mode table of docs/modes.md says the same).
 */
export function checkModes(
  c: Checker,
  raw: Record<string, unknown>,
  istio: IstioConfig,
  routing: RoutingConfig,
  resilience: ResilienceConfig,
  bookinfo: BookinfoConfig,
  services: readonly DeclaredService[],
): void {
  const gatewayApi = routing.api === "gateway-api";
  for (const s of services.filter((s) => s.protocol === "tcp")) {
    if (gatewayApi) {
      c.fail(
        `services.${s.name}.protocol is tcp but routing.api is gateway-api, whose TCPRoute is only in the experimental channel the stack does not install; ` +
          `use protocol http, http2 or grpc, or route with 'pulumi config set --path routing.api istio'`,
      );
    }
    if (resilience.faults[s.name] !== undefined) {
      c.fail(
        `resilience.faults.${s.name} is set (got ${show(resilience.faults[s.name])}) but services.${s.name}.protocol is tcp, and faults are injected into HTTP requests; remove it with 'pulumi config rm --path resilience.faults.${s.name}'`,
      );
    }
  }
  const onlyIstio = (what: string, got: unknown, fix: string) =>
    c.fail(
      `${what} is set (got ${show(got)}) but routing.api is gateway-api, which has no equivalent; ${fix}, or route with 'pulumi config set --path routing.api istio'`,
    );
  if (gatewayApi) {
    const rawRetries = isPlainObject(raw.resilience)
      ? raw.resilience.retries
      : undefined;
    if (rawRetries !== undefined) {
      onlyIstio(
        "resilience.retries",
        rawRetries,
        "HTTPRoute retries are only in the experimental channel of Gateway API " +
          `${GATEWAY_API_VERSION}; remove resilience.retries to keep Istio's default retries (2 attempts on connect-failure, refused-stream, unavailable, cancelled, retriable-status-codes)`,
      );
    }
    for (const service of Object.keys(resilience.faults)) {
      onlyIstio(
        `resilience.faults.${service}`,
        resilience.faults[service],
        `the Gateway API has no fault injection; remove it with 'pulumi config rm --path resilience.faults.${service}'`,
      );
    }
    if (bookinfo.enabled && bookinfo.ratings.fault) {
      onlyIstio(
        "bookinfo.ratings.fault",
        bookinfo.ratings.fault,
        "the Gateway API has no fault injection; remove it with 'pulumi config rm --path bookinfo.ratings.fault'",
      );
    }
  }
  const needed = needsGatewayApi(istio.dataplane, routing.api);
  if (routing.gatewayApiCrdsFile !== undefined) {
    if (!needed) {
      c.fail(
        `routing.gatewayApiCrdsFile is set (got ${show(routing.gatewayApiCrdsFile)}) but nothing uses the Gateway API with routing.api istio and istio.dataplane sidecar; remove it, or set routing.api gateway-api or istio.dataplane ambient`,
      );
    } else if (routing.gatewayApiCrds === "cluster") {
      c.fail(
        `routing.gatewayApiCrdsFile is set (got ${show(routing.gatewayApiCrdsFile)}) but routing.gatewayApiCrds is cluster, so nothing is installed from it; remove one of them`,
      );
    }
  }
}
