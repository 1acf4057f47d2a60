// The rules of `services` that span services and sections: every name unique in the stack, every
// namespace the stack's to create (or listed in externalNamespaces), every caller resolved to a
// SPIFFE principal of something that exists, no two ingress paths alike.
import { type Dataplane, principal, type RoutingApi } from "../core";
import { type Checker, isPlainObject } from "./checker";
import { checkServiceName } from "./serviceFields";
import { type ServiceConfig, validateService } from "./services";
import { keyPath, show } from "./show";

/** A declared service with its callers resolved. */
export interface DeclaredService extends ServiceConfig {
  /** SPIFFE principals (without the scheme) admitted by its ALLOW policy. */
  readonly allowedPrincipals: readonly string[];
}

/** What the rest of the stack deploys, which services may name as callers or must not collide with. */
export interface StackContext {
  readonly appNamespace: string;
  readonly ingressNamespace: string;
  readonly ingressPrincipal: string;
  readonly routingApi: RoutingApi;
  readonly dataplane: Dataplane;
  /** The services of the presets (the demo's, Bookinfo's), by namespace. */
  readonly presets: readonly { namespace: string; names: readonly string[] }[];
  /** Namespaces of presets (their own, which declared services must not share), but appNamespace. */
  readonly presetNamespaces: readonly string[];
  /** Ingress path prefixes the presets route ("/" for the demo). */
  readonly presetPaths: readonly string[];
  /** Namespaces the stack uses but must not create (externalNamespaces). */
  readonly externalNamespaces: readonly string[];
}

/** `spiffe://<trust domain>/ns/<namespace>/sa/<service account>`. */
const SPIFFE =
  /^spiffe:\/\/([a-z0-9.-]+)\/ns\/([a-z0-9]([-a-z0-9]*[a-z0-9])?)\/sa\/([a-z0-9]([-a-z0-9.]*[a-z0-9])?)$/;

/** Validates the `services` map and resolves every caller. */
export function validateServices(
  c: Checker,
  raw: unknown,
  ctx: StackContext,
): DeclaredService[] {
  if (raw === undefined) {
    return [];
  }
  if (!isPlainObject(raw)) {
    c.fail(
      `services must map service names to their settings (got ${show(raw)}); e.g. 'pulumi config set --path services.orders.versions.v1.image registry.example.com/team/orders:1.0.0'`,
    );
    return [];
  }
  const taken = new Map<string, string>();
  for (const p of ctx.presets) {
    for (const n of p.names) {
      taken.set(n, p.namespace);
    }
  }
  const services: ServiceConfig[] = [];
  for (const [name, entry] of Object.entries(raw)) {
    if (!checkServiceName(c, name)) {
      continue;
    }
    if (taken.has(name)) {
      c.fail(
        `services.${name}: the name is taken by a preset's service in namespace ${show(taken.get(name))} (the demo's frontend and backend with demo.enabled, Bookinfo's with bookinfo.enabled); ` +
          `service names are unique across the stack (resilience.faults and callers name them): rename it, or turn the preset off`,
      );
      continue;
    }
    services.push(validateService(c, name, entry, ctx.appNamespace));
  }
  checkNamespaces(c, services, ctx);
  checkObjectNames(c, services, ctx);
  checkIngressPaths(c, services, ctx);
  const known = stackIdentities(ctx.presets, services);
  return services.map((s) => ({
    ...s,
    allowedPrincipals: resolveCallers(c, s, known, ctx),
  }));
}

function checkNamespaces(
  c: Checker,
  services: readonly ServiceConfig[],
  ctx: StackContext,
): void {
  for (const s of services) {
    const key = keyPath(keyPath("services", s.name), "namespace");
    if (
      s.namespace === ctx.ingressNamespace ||
      ctx.presetNamespaces.includes(s.namespace)
    ) {
      c.fail(
        `${key} must not be the ingress gateway's or a preset's namespace (got ${show(s.namespace)}); choose a namespace of its own, e.g. 'pulumi config set --path ${key} shop'`,
      );
    }
  }
  for (const ns of ctx.externalNamespaces) {
    if (ctx.dataplane === "ambient") {
      c.fail(
        `externalNamespaces lists ${show(ns)} but istio.dataplane is ambient: a service's L7 policy is enforced by its namespace's waypoint, which the stack only deploys in namespaces it owns; remove it from externalNamespaces so the stack creates the namespace, or use the sidecar data plane`,
      );
    }
    if (ns === ctx.appNamespace || ctx.presetNamespaces.includes(ns)) {
      c.fail(
        `externalNamespaces lists ${show(ns)}, which the stack creates itself (the app namespace or a preset's); remove it from externalNamespaces`,
      );
    } else if (!services.some((s) => s.namespace === ns)) {
      c.fail(
        `externalNamespaces lists ${show(ns)} but no service in services uses it, so it does nothing; remove it, or put a service there with services.<name>.namespace`,
      );
    }
  }
}

/**
 * A service's objects are named `<name>` and `<name>-<version>` (Deployments, version Services),
 * and so are the stack's resources: `a-b` at version `c` and `a` at version `b-c` would collide,
 * and so would a name under a preset's (`backend-v3` beside the demo's backend).
 */
function checkObjectNames(
  c: Checker,
  services: readonly ServiceConfig[],
  ctx: StackContext,
): void {
  const presets = ctx.presets.flatMap((p) => p.names);
  const owner = new Map<string, string>();
  for (const s of services) {
    for (const object of [
      s.name,
      ...s.versions.map((v) => `${s.name}-${v.version}`),
    ]) {
      const clash =
        owner.get(object) ?? presets.find((p) => object.startsWith(`${p}-`));
      if (clash !== undefined && clash !== s.name) {
        c.fail(
          `services.${s.name}: its object ${show(object)} would collide with ${show(clash)}'s (objects are named <service> and <service>-<version>); rename the service or the version`,
        );
      }
      owner.set(object, s.name);
    }
  }
}

function checkIngressPaths(
  c: Checker,
  services: readonly ServiceConfig[],
  ctx: StackContext,
): void {
  const owners = new Map<string, string>(
    ctx.presetPaths.map((p) => [
      p,
      "a preset (the demo's frontend or Bookinfo)",
    ]),
  );
  for (const s of services) {
    if (s.ingressPath === undefined) {
      continue;
    }
    const key = `services.${s.name}.ingress.path`;
    const owner = owners.get(s.ingressPath);
    if (owner) {
      c.fail(
        `${key} is ${show(s.ingressPath)}, which ${owner} already routes; give each service a path of its own, e.g. /${s.name}`,
      );
    }
    owners.set(s.ingressPath, `services.${s.name}`);
  }
}

/** A workload of the stack that may be named as a caller, and its SPIFFE principal. */
export interface StackIdentity {
  readonly name: string;
  readonly namespace: string;
  readonly principal: string;
}

/** Every service of the stack that may be named as a caller: the presets' and the declared. */
export function stackIdentities(
  presets: StackContext["presets"],
  services: readonly ServiceConfig[],
): StackIdentity[] {
  return [
    ...presets.flatMap((p) =>
      p.names.map((name) => ({
        name,
        namespace: p.namespace,
        principal: principal(p.namespace, name),
      })),
    ),
    ...services.map((s) => ({
      name: s.name,
      namespace: s.namespace,
      principal: principal(s.namespace, s.serviceAccount),
    })),
  ];
}

/** Each caller: `ingress`, a service of the stack (`name` or `namespace/name`), or a SPIFFE ID. */
function resolveCallers(
  c: Checker,
  s: ServiceConfig,
  known: readonly StackIdentity[],
  ctx: StackContext,
): string[] {
  const key = `services.${s.name}.callers`;
  const result = resolvePrincipals(
    c,
    key,
    s.callers,
    known,
    ctx.ingressPrincipal,
  );
  if (s.ingressPath !== undefined && !s.callers.includes("ingress")) {
    c.fail(
      `services.${s.name}.ingress is set but ${key} does not list ingress, so the gateway's requests would be denied; add it with 'pulumi config set --path "${key}[${s.callers.length}]" ingress'`,
    );
  }
  return result;
}

/**
 * The principals of a list of callers at `key`: `ingress`, a service of the stack (`name` or
 * `namespace/name`), or a spiffe:// ID. Anything else is refused, naming the known services.
 */
export function resolvePrincipals(
  c: Checker,
  key: string,
  callers: readonly string[],
  known: readonly StackIdentity[],
  ingressPrincipal: string,
): string[] {
  const names = known.map((k) => `${k.namespace}/${k.name}`).join(", ");
  const result = new Set<string>();
  for (const caller of callers) {
    let found: string | undefined;
    if (caller === "ingress") {
      found = ingressPrincipal;
    } else if (caller.startsWith("spiffe://")) {
      const m = SPIFFE.exec(caller);
      found = m ? caller.slice("spiffe://".length) : undefined;
      if (!m) {
        c.fail(
          `${key} has ${show(caller)}, which is not a SPIFFE ID of the form spiffe://<trust domain>/ns/<namespace>/sa/<service account>`,
        );
        continue;
      }
    } else {
      const [ns, name] = caller.includes("/")
        ? caller.split("/", 2)
        : [undefined, caller];
      const matches = known.filter(
        (k) => k.name === name && (ns === undefined || k.namespace === ns),
      );
      found = matches.length === 1 ? matches[0].principal : undefined;
    }
    if (found === undefined) {
      c.fail(
        `${key} has ${show(caller)}, which is not a service of this stack (${names || "none"}), 'ingress' or a spiffe:// ID; ` +
          `fix the name, declare the caller in services, or name its identity as spiffe://cluster.local/ns/<namespace>/sa/<service account>`,
      );
      continue;
    }
    result.add(found);
  }
  return [...result];
}

/** A {secret} environment value stored in plain text in the stack's file would not be one. */
export function checkSecrets(
  c: Checker,
  services: readonly DeclaredService[],
  encrypted: boolean,
): void {
  if (encrypted) {
    return;
  }
  for (const s of services) {
    for (const [name, v] of Object.entries(s.env)) {
      if ("secret" in v) {
        const key = `services.${s.name}.env.${name}.secret`;
        c.fail(
          `${key} is stored in plain text in the stack's config file; store it encrypted with 'pulumi config set --secret --path ${key} <value>'`,
        );
      }
    }
  }
}
