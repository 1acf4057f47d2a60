// Pure builders for Linkerd: its charts' values, and a versioned service's policy (Server,
// MeshTLSAuthentication, AuthorizationPolicy) and retry annotations. Value keys are those of the
// charts at edge-26.8.3 (../shared/vendor/linkerd-edge-26.8.3/charts/*/values.yaml).
import type * as pulumi from "@pulumi/pulumi";
import {
  type LinkerdAuthorizationPolicySpec,
  linkerdIdentityOf,
  type LinkerdProxyProtocol,
  type MeshTLSAuthenticationSpec,
  type Resources,
  type Retries,
  type ServerSpec,
} from "../core";
import { linkerdRetryOn } from "../config";
import type { AllowRule } from "./security";

/** linkerd-crds: the stack installs the Gateway API CRDs itself (values.yaml installGatewayAPI). */
export function linkerdCrdsValues(): { installGatewayAPI: false } {
  return { installGatewayAPI: false };
}

/** The identity material the control plane chart takes. */
export interface LinkerdIdentityValues {
  readonly trustAnchorPem: pulumi.Input<string>;
  readonly issuerCertPem: pulumi.Input<string>;
  readonly issuerKeyPem: pulumi.Input<string>;
}

/** The chart's per-resource {request, limit} shape (values.yaml proxy.resources). */
const chartResources = (r: Resources) => ({
  cpu: { request: r.requests.cpu, limit: r.limits.cpu },
  memory: { request: r.requests.memory, limit: r.limits.memory },
});

/**
 * linkerd-control-plane: the identity (identityTrustAnchorsPEM, identity.issuer.tls.*; the chart
 * does not check the anchor, a missing one fails at run time), no heartbeat (its CronJob calls
 * out of the cluster), every proxy sized by `proxyResources` and every controller by
 * `controllerResources` (values.yaml destinationResources, identityResources,
 * proxyInjectorResources, spValidatorResources, policyController.resources).
 */
export function linkerdControlPlaneValues(
  identity: LinkerdIdentityValues,
  proxyResources: Resources,
  controllerResources: Resources,
) {
  const controller = chartResources(controllerResources);
  return {
    destinationResources: controller,
    identityResources: controller,
    proxyInjectorResources: controller,
    spValidatorResources: controller,
    policyController: { resources: controller },
    disableHeartBeat: true,
    identityTrustAnchorsPEM: identity.trustAnchorPem,
    identity: {
      issuer: {
        tls: { crtPEM: identity.issuerCertPem, keyPEM: identity.issuerKeyPem },
      },
    },
    proxy: { resources: chartResources(proxyResources) },
  };
}

/**
 * linkerd-viz: the chart's defaults (its own Prometheus, the dashboard on `web`), told where the
 * control plane runs (values.yaml linkerdNamespace). Its namespace is the stack's, created with
 * the labels the chart's metadata Job would add, so that Job is off (createNamespaceMetadataJob).
 */
export function linkerdVizValues(linkerdNamespace: string): {
  linkerdNamespace: string;
  createNamespaceMetadataJob: false;
} {
  return { linkerdNamespace, createNamespaceMetadataJob: false };
}

const PROXY_PROTOCOLS: Record<string, LinkerdProxyProtocol> = {
  http: "HTTP/1",
  http2: "HTTP/2",
  grpc: "gRPC",
  tcp: "opaque",
};

/** The pods' serving port as a Server: once selected, only authorized callers reach it. */
export function linkerdServerSpec(
  podSelector: Record<string, string>,
  port: string | number,
  protocol: string,
): ServerSpec {
  return {
    podSelector: { matchLabels: podSelector },
    port,
    proxyProtocol: PROXY_PROTOCOLS[protocol] ?? "HTTP/1",
  };
}

/**
 * The callers of every allow rule, as Linkerd identities, sorted and unique. Linkerd authorizes
 * callers at a Server by identity; the rules' methods and paths would need an inbound route per
 * rule, which this stack does not emit, so on Linkerd they are not enforced (the identity is).
 */
export function linkerdCallerIdentities(
  allow: readonly AllowRule[],
  controlNamespace?: string,
): string[] {
  return [
    ...new Set(
      allow
        .flatMap((r) => r.principals)
        .map((p) => linkerdIdentityOf(p, controlNamespace)),
    ),
  ].sort();
}

export function meshTLSAuthenticationSpec(
  identities: readonly string[],
): MeshTLSAuthenticationSpec {
  return { identities };
}

export function linkerdAuthorizationPolicySpec(
  server: string,
  authentication: string,
): LinkerdAuthorizationPolicySpec {
  return {
    targetRef: { group: "policy.linkerd.io", kind: "Server", name: server },
    requiredAuthenticationRefs: [
      {
        group: "policy.linkerd.io",
        kind: "MeshTLSAuthentication",
        name: authentication,
      },
    ],
  };
}

/**
 * Retries as Linkerd's annotations on an HTTPRoute (linkerd.io/2-edge reference "Retries"):
 * the status conditions of retryOn, the attempts as the limit, the per-try timeout. None when
 * retries are off or no condition is a status.
 */
export function linkerdRetryAnnotations(
  retries: Retries,
): Record<string, string> {
  const statuses = linkerdRetryOn(retries.retryOn);
  if (retries.attempts === 0 || statuses.length === 0) {
    return {};
  }
  return {
    "retry.linkerd.io/http": statuses.join(","),
    "retry.linkerd.io/limit": String(retries.attempts),
    "retry.linkerd.io/timeout": retries.perTryTimeout,
  };
}
