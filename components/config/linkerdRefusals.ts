// What `mesh.provider linkerd` cannot honour: every Istio-only setting the user set is refused
// before any resource, naming the key, the value and what Linkerd offers instead. Facts about
// Linkerd come from its docs (linkerd.io/2-edge) and its charts and CRDs at edge-26.8.3.
import { type Checker, isPlainObject } from "./checker";
import { show } from "./show";

/** The retry conditions Linkerd's retry.linkerd.io/http annotation takes: status codes and classes. */
export const LINKERD_RETRY_STATUS = /^(\d{3}(-\d{3})?|5xx|gateway-error)$/;
/** Istio conditions that have no annotation but a status of their own in Linkerd's terms. */
const DROPPED_BY_DEFAULT = new Set([
  "connect-failure",
  "refused-stream",
  "unavailable",
  "cancelled",
  "retriable-status-codes",
]);

/**
 * The status conditions of an Envoy retryOn list that Linkerd's annotation takes; the
 * connection-level conditions of the default list are left out (Linkerd's proxy does not
 * express them per route).
 */
export function linkerdRetryOn(retryOn: string): string[] {
  return retryOn
    .split(",")
    .map((t) => t.trim())
    .filter((t) => LINKERD_RETRY_STATUS.test(t));
}

/** Each key path set in `raw` under `section` (one level deep). */
function setKeys(raw: Record<string, unknown>, section: string): string[] {
  const v = raw[section];
  if (v === undefined) {
    return [];
  }
  return isPlainObject(v)
    ? Object.keys(v).map((k) => `${section}.${k}`)
    : [section];
}

function valueAt(raw: Record<string, unknown>, key: string): unknown {
  return key
    .split(".")
    .reduce<unknown>((v, k) => (isPlainObject(v) ? v[k] : undefined), raw);
}

/** Per key (or section): why Linkerd cannot take it and what it offers instead. */
const OFFERS: Readonly<Record<string, string>> = {
  istio:
    "Linkerd is installed from linkerd.* (chartRepo, chartVersion, chartDir, proxyResources, identity, viz)",
  "routing.scopeProxies":
    "Linkerd's proxies discover each destination on demand, so there is no Sidecar scoping to turn on",
  ingress:
    "Linkerd has no ingress gateway; mesh an ingress controller (namespace annotation linkerd.io/inject: ingress) in front of svc/frontend, or port-forward svc/frontend",
  "security.cni":
    "Linkerd's own CNI plugin (the linkerd2-cni chart) is not installed by this stack yet; without it linkerd-init sets up each pod's iptables",
  "security.jwt":
    "Linkerd has no JWT authentication; validate tokens in the ingress controller",
  "security.rateLimit":
    "Linkerd rate-limits at a Server (HTTPLocalRateLimitPolicy), which this stack does not emit yet; there is no gateway to limit at",
  "resilience.loadBalancer":
    "Linkerd balances requests by latency (EWMA) and takes no load-balancer setting",
  "resilience.connectionPool":
    "Linkerd has no connection-pool limits; it sheds load by its own queues",
  "resilience.outlierDetection":
    "Linkerd's equivalent is failure accrual (Service annotation balancer.linkerd.io/failure-accrual: consecutive), which this stack does not emit yet",
  "resilience.faults":
    "Linkerd has no fault injection; its docs send a share of an HTTPRoute's traffic to a backend that answers errors",
  "canary.mirror":
    "Linkerd's HTTPRoutes do not mirror traffic (no RequestMirror filter)",
  egress:
    "Linkerd controls egress with EgressNetwork (policy.linkerd.io/v1alpha1), which this stack does not emit yet",
  observability:
    "Linkerd's metrics and dashboard come from linkerd-viz: set 'pulumi config set --path linkerd.viz true'",
  bookinfo:
    "Bookinfo is not rendered on Linkerd yet (the demo app and declared services are); keep bookinfo.enabled false",
  tcp: "Linkerd splits traffic with HTTPRoutes (http, http2, grpc); a TCP split needs TCPRoute, which the Gateway API ships as experimental only: use protocol http, http2 or grpc, or Istio",
  serviceIngress:
    "Linkerd has no ingress gateway: mesh an ingress controller (namespace annotation linkerd.io/inject: ingress) and route to the service's Service, or port-forward it",
};

/**
 * With mesh.provider linkerd: records one problem per Istio-only key the user set. Each names
 * the key, its value, what Linkerd offers, and how to remove it.
 */
export function checkLinkerdRefusals(
  c: Checker,
  raw: Record<string, unknown>,
): void {
  const refuse = (key: string, offer: string) =>
    c.fail(
      `${key} is set (got ${show(valueAt(raw, key))}) but mesh.provider is linkerd; ${offer}; remove it with 'pulumi config rm --path ${key}'`,
    );
  for (const section of ["istio", "ingress", "egress", "observability"]) {
    setKeys(raw, section).forEach((k) => refuse(k, OFFERS[section]));
  }
  for (const key of [
    "routing.scopeProxies",
    "security.cni",
    "security.jwt",
    "security.rateLimit",
    "resilience.loadBalancer",
    "resilience.connectionPool",
    "resilience.outlierDetection",
    "resilience.faults",
    "canary.mirror",
  ]) {
    if (valueAt(raw, key) !== undefined) {
      refuse(key, OFFERS[key]);
    }
  }
  const api = valueAt(raw, "routing.api");
  if (api !== undefined && api !== "gateway-api") {
    refuse(
      "routing.api",
      "Linkerd routes with Gateway API HTTPRoutes only (routing.api gateway-api is implied)",
    );
  }
  const mtls = valueAt(raw, "security.mtlsMode");
  if (mtls !== undefined && mtls !== "STRICT") {
    refuse(
      "security.mtlsMode",
      "Linkerd always speaks mTLS between meshed pods, and the app namespaces' default-inbound-policy deny refuses every caller no MeshTLSAuthentication names",
    );
  }
  const retryOn = valueAt(raw, "resilience.retries.retryOn");
  if (typeof retryOn === "string") {
    const unsupported = retryOn
      .split(",")
      .map((t) => t.trim())
      .filter(
        (t) => !LINKERD_RETRY_STATUS.test(t) && !DROPPED_BY_DEFAULT.has(t),
      );
    if (unsupported.length > 0 || linkerdRetryOn(retryOn).length === 0) {
      refuse(
        "resilience.retries.retryOn",
        `Linkerd retries on response status only (annotation retry.linkerd.io/http: codes such as 503, ranges such as 500-504, 5xx or gateway-error)${unsupported.length > 0 ? `, not ${unsupported.join(", ")}` : ""}`,
      );
    }
  }
  const enabled = valueAt(raw, "bookinfo.enabled");
  if (enabled === true || enabled === "true") {
    refuse("bookinfo.enabled", OFFERS.bookinfo);
  }
  const services = raw.services;
  if (isPlainObject(services)) {
    for (const name of Object.keys(services)) {
      const key = (field: string) => `services.${name}.${field}`;
      if (valueAt(raw, key("mirror")) !== undefined) {
        refuse(key("mirror"), OFFERS["canary.mirror"]);
      }
      if (valueAt(raw, key("protocol")) === "tcp") {
        refuse(key("protocol"), OFFERS.tcp);
      }
      if (valueAt(raw, key("ingress")) !== undefined) {
        refuse(key("ingress"), OFFERS.serviceIngress);
      }
      const callers = valueAt(raw, key("callers"));
      if (Array.isArray(callers) && callers.includes("ingress")) {
        refuse(key("callers"), OFFERS.serviceIngress);
      }
    }
  }
}
