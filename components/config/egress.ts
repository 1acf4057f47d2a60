// The `egress` section of the stack config: which external hosts the mesh may reach, through an
// egress gateway, and who may call each. Callers are resolved like a declared service's
// (serviceGraph.ts), so this module only reads the section.
import type { Checker } from "./checker";
import { isPlainObject } from "./checker";
import { type Fields, Section } from "./section";
import { keyPath, show } from "./show";

export type EgressMode = "allow-any" | "registry-only";
export const EGRESS_MODES: readonly EgressMode[] = [
  "allow-any",
  "registry-only",
];

/** What the caller sends: plain HTTP (the gateway may originate TLS) or its own TLS (passed through by SNI). */
export type EgressProtocol = "http" | "tls";

export interface EgressHost {
  /** The external DNS name. */
  readonly host: string;
  /** The port callers dial (and, without originateTls, the host's). */
  readonly port: number;
  readonly protocol: EgressProtocol;
  /** As the user wrote them (services of the stack or spiffe:// IDs; not ingress). */
  readonly callers: readonly string[];
  /** The gateway calls the host on 443 with TLS; callers speak plain HTTP. */
  readonly originateTls: boolean;
  /** The callers' SPIFFE principals (resolved by validateConfig with the rest of the stack). */
  readonly allowedPrincipals: readonly string[];
}

export interface EgressConfig {
  /** allow-any: today's behaviour; registry-only: only hosts the mesh knows are reachable. */
  readonly mode: EgressMode;
  /** Namespace of the egress gateway (sidecar data plane) or egress waypoint (ambient). */
  readonly namespace: string;
  /** NetworkPolicies that let app pods reach only the mesh, DNS and the egress gateway. */
  readonly networkPolicies: boolean;
  readonly hosts: readonly EgressHost[];
}

export const EGRESS_DEFAULTS = {
  mode: "allow-any" as EgressMode,
  namespace: "istio-egress",
  networkPolicies: true,
  /** By host name; none by default. */
  hosts: {} as Readonly<Record<string, unknown>>,
};

const HOST_DEFAULTS = {
  /** 80 for http, 443 for tls. */
  port: undefined as number | undefined,
  protocol: "tls" as EgressProtocol,
  callers: [] as readonly string[],
  originateTls: false,
};

/** A DNS name of at least two labels: no IP address, no wildcard, no trailing dot. */
const DNS_NAME =
  /^(?=.{1,253}$)([a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?\.)+[a-z]([-a-z0-9]{0,61}[a-z0-9])?$/;
const IPV4 = /^[0-9.]+$/;

/** A host name as the resources name it: `api.stripe.com` -> `api-stripe-com`. */
export function hostSlug(host: string): string {
  return host.replace(/\./g, "-");
}

export function validateEgress(c: Checker, raw: unknown): EgressConfig {
  const s = new Section(c, "egress", raw, EGRESS_DEFAULTS);
  const hosts: EgressHost[] = [];
  const rawHosts = s.raw.hosts;
  if (rawHosts !== undefined && !isPlainObject(rawHosts)) {
    c.fail(
      `egress.hosts must map host names to their settings (got ${show(rawHosts)}); e.g. 'pulumi config set --path 'egress.hosts["api.stripe.com"].port' 443'`,
    );
  }
  for (const [host, entry] of Object.entries(
    isPlainObject(rawHosts) ? rawHosts : {},
  )) {
    const key = keyPath("egress.hosts", host);
    if (host.includes("*")) {
      c.fail(
        `${key}: wildcard hosts are not supported (got ${show(host)}): a ServiceEntry routed through the egress gateway resolves its host by DNS, and Istio cannot resolve a wildcard; list each host`,
      );
      continue;
    }
    if (IPV4.test(host) || host.includes(":") || !DNS_NAME.test(host)) {
      c.fail(
        `${key}: ${show(host)} must be a lowercase DNS name such as api.example.com (no IP address, port or trailing dot): the gateway's routes, SNI and policies match names`,
      );
      continue;
    }
    const h = new Section(c, key, entry, HOST_DEFAULTS);
    const protocol = h.oneOf("protocol", ["http", "tls"]);
    const originateTls = h.boolean("originateTls");
    if (originateTls && protocol === "tls") {
      c.fail(
        `${h.path("originateTls")} is true but ${h.path("protocol")} is tls: the caller already speaks TLS, which the gateway passes through; use protocol http with originateTls, or drop originateTls`,
      );
    }
    const port = h.field("port", (k, v) =>
      c.integer(k, v, protocol === "http" ? 80 : 443, 1, 65535),
    );
    const result = {
      port,
      protocol,
      callers: h.stringList("callers"),
      originateTls,
    } satisfies Fields<typeof HOST_DEFAULTS>;
    if (result.callers.includes("ingress")) {
      c.fail(
        `${h.path("callers")} lists ingress, but the ingress gateway forwards into the mesh, not out of it; name the services that call ${host}`,
      );
    }
    hosts.push({ host, ...result, allowedPrincipals: [] });
  }
  checkPorts(c, hosts);
  const config = {
    mode: s.oneOf("mode", EGRESS_MODES),
    namespace: s.namespace("namespace"),
    networkPolicies: s.boolean("networkPolicies"),
    hosts,
  } satisfies Fields<typeof EGRESS_DEFAULTS>;
  return config;
}

/** The ports Istio reserves for its proxies and istiod (docs: ops/deployment/application-requirements). */
const ISTIO_PORTS = [
  15000, 15001, 15004, 15006, 15008, 15009, 15010, 15012, 15014, 15017, 15020,
  15021, 15053, 15090,
];

/**
 * Hosts sharing a port must share its protocol: the gateway's Service has one port of that
 * number, and a sidecar's listener for it speaks one protocol. 15021 is the gateway's health port.
 */
function checkPorts(c: Checker, hosts: readonly EgressHost[]): void {
  const byPort = new Map<number, EgressHost>();
  const bySlug = new Map<string, string>();
  for (const h of hosts) {
    // Resources are named after the host with dots as dashes: two hosts must not share a name.
    const twin = bySlug.get(hostSlug(h.host));
    if (twin) {
      c.fail(
        `${keyPath("egress.hosts", h.host)} and ${keyPath("egress.hosts", twin)} would both name their resources ${show(hostSlug(h.host))} (dots become dashes); route only one of them through the egress gateway`,
      );
    }
    bySlug.set(hostSlug(h.host), h.host);
    if (ISTIO_PORTS.includes(h.port)) {
      c.fail(
        `${keyPath(keyPath("egress.hosts", h.host), "port")} is ${h.port}, a port Istio's proxies and control plane use themselves (${ISTIO_PORTS.join(", ")}); call the host on another port`,
      );
    }
    const other = byPort.get(h.port);
    if (other && other.protocol !== h.protocol) {
      c.fail(
        `${keyPath("egress.hosts", h.host)} and ${keyPath("egress.hosts", other.host)} both use port ${h.port} but one is ${h.protocol} and the other ${other.protocol}; the gateway serves one protocol per port, so move one to another port`,
      );
    }
    byPort.set(h.port, h);
  }
}

/** True when the stack deploys an egress gateway (sidecar) or egress waypoint (ambient). */
export function egressEnabled(egress: EgressConfig): boolean {
  return egress.hosts.length > 0;
}
