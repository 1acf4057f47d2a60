// Proxy scoping (routing.scopeProxies): what each sidecar imports, computed from who may call whom.
// The ALLOW policies already name every caller of every service; read the other way round, they
// say which services each workload calls. Istio's guidance for large meshes is exactly this: a
// Sidecar resource per workload listing the hosts it calls, and exportTo on routing resources, so
// a proxy's config grows with its own dependencies instead of with the mesh.
import type * as pulumi from "@pulumi/pulumi";
import {
  ISTIO_NAMESPACE,
  principal,
  serviceHost,
  serviceSelector,
  type SidecarSpec,
} from "../core";
import type { AllowRule } from "./security";

/** `<trust domain>/ns/<namespace>/sa/<account>`: the namespace, or undefined for anything else. */
export function principalNamespace(principal: string): string | undefined {
  return /^(?:spiffe:\/\/)?[^/]+\/ns\/([^/]+)\/sa\/[^/]+$/.exec(principal)?.[1];
}

/**
 * The exportTo of a service's VirtualService and DestinationRules: its own namespace (`.`) and
 * each namespace a caller runs in (a caller's proxy applies both), sorted, each once.
 */
export function exportToOf(
  namespace: string,
  callerPrincipals: readonly string[],
): string[] {
  const others = new Set<string>();
  for (const p of callerPrincipals) {
    const ns = principalNamespace(p);
    if (ns !== undefined && ns !== namespace) {
      others.add(ns);
    }
  }
  return [".", ...[...others].sort()];
}

/** A host a sidecar may import, as the Sidecar resource writes it: `<namespace>/<host>`. */
export function importedHost(namespace: string, host: string): string {
  return `${namespace}/${host}`;
}

/**
 * Every Sidecar's first import: the mesh's own namespace (istiod, and the addons: the tracing
 * collector a proxy sends spans to is one of its clusters).
 */
export const MESH_HOSTS: readonly string[] = [`${ISTIO_NAMESPACE}/*`];

/** Something a workload may call, and who may call it. */
export interface CallTarget {
  /** What a caller's Sidecar imports for it, each `<namespace>/<host>`. */
  readonly hosts: readonly string[];
  /** The principals its ALLOW policy admits. */
  readonly callers: readonly string[];
}

/**
 * A service as its callers' Sidecars import it: its Services (`services`, in `namespace`: the
 * service's own and, with the Gateway API, its version Services, which its route sends to) and the
 * principals its ALLOW rules admit.
 */
export function serviceCallTarget(
  namespace: string,
  services: readonly string[],
  allow: readonly AllowRule[],
): CallTarget {
  return {
    hosts: services.map((s) =>
      importedHost(namespace, serviceHost(s, namespace)),
    ),
    callers: [...new Set(allow.flatMap((r) => r.principals))],
  };
}

/** A workload of the stack whose sidecar a Sidecar resource scopes. */
export interface ScopedWorkload {
  /** The service's name, which names its Sidecar resource. */
  readonly name: string;
  readonly namespace: string;
  /** The SPIFFE principal its pods run as: policies name it as a caller. */
  readonly principal: string;
  /** The labels every version's pods carry. */
  readonly labels: Readonly<Record<string, string>>;
  /** Exists once the namespace does: the Sidecar waits for it. */
  readonly account: pulumi.Resource;
}

/** The pods of a service the stack deploys: under its own ServiceAccount, labelled `app`. */
export function scopedWorkload(
  namespace: string,
  name: string,
  account: pulumi.Resource,
): ScopedWorkload {
  return {
    name,
    namespace,
    principal: principal(namespace, name),
    labels: serviceSelector(name),
    account,
  };
}

/**
 * The hosts one workload's sidecar imports: the mesh's own, then every target whose policy admits
 * the workload's principal, sorted and each once. Nothing else: a call the policies do not list
 * finds no route at the caller.
 */
export function sidecarHosts(
  principal: string,
  targets: readonly CallTarget[],
): string[] {
  const hosts = new Set<string>();
  for (const t of targets) {
    if (t.callers.includes(principal)) {
      t.hosts.forEach((h) => hosts.add(h));
    }
  }
  return [...MESH_HOSTS, ...[...hosts].sort()];
}

/** The Sidecar resource of the pods `labels` select, importing exactly `hosts`. */
export function sidecarSpec(
  labels: Readonly<Record<string, string>>,
  hosts: readonly string[],
): SidecarSpec {
  return { workloadSelector: { labels: { ...labels } }, egress: [{ hosts }] };
}
