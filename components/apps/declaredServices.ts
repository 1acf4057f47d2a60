// Users' own services, from the stack's `services` config: each a VersionedService, the same
// component the demo and Bookinfo use, in namespaces the stack creates (or its owners did).
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import {
  gatewayApiResource,
  type Mesh,
  type RoutingPolicy,
  VERSION_HEADER,
} from "../core";
import {
  type DeclaredService,
  type ResilienceConfig,
  routingPolicyFor,
} from "../config";
import {
  referenceGrantSpec,
  type IngressRoute,
  type WorkloadSpec,
} from "../specs";
import { AppNamespace, VersionedService } from "../workloads";

export interface DeclaredServicesArgs {
  readonly mesh: Mesh;
  /** The validated `services` config, callers resolved. */
  readonly services: readonly DeclaredService[];
  /** Timeouts, retries, pools and faults (by service name). */
  readonly resilience: ResilienceConfig;
  /** Namespace of the ingress gateway, whose routes the namespaces admit. */
  readonly ingressNamespace: string;
  /** Enforce the restricted Pod Security Standard on the namespaces created. Defaults to false. */
  readonly restricted?: boolean;
  /** Namespaces the stack must not create: their owners did, and put them in the mesh. */
  readonly externalNamespaces: readonly string[];
  /** Namespaces another component of the stack creates (the demo's), which services wait for. */
  readonly existingNamespaces: Readonly<Record<string, pulumi.Resource>>;
}

/** The routing policy of a declared service: the shared resilience, its own header and mirror. */
export function declaredServicePolicy(
  s: DeclaredService,
  resilience: ResilienceConfig,
): RoutingPolicy {
  return {
    ...routingPolicyFor(resilience, s.name, {
      headerRoutes: s.header ? [s.header] : [],
      mirror: s.mirror,
    }),
    // A TCP route has no response to mark.
    ...(s.protocol === "tcp" ? {} : { versionHeader: VERSION_HEADER }),
  };
}

/** The pod of one version of a declared service (hardenedPodSpec fixes everything else). */
export function declaredWorkload(
  s: DeclaredService,
  version: string,
  secretName: string,
): WorkloadSpec {
  const env = Object.entries(s.env);
  return {
    image: s.versions.find((v) => v.version === version)?.image ?? "",
    port: s.targetPort,
    probePath: s.probePath,
    runAsUser: s.runAsUser,
    resources: s.resources,
    writablePaths: s.writablePaths.map((path) => ({ path })),
    env: Object.fromEntries(
      env.flatMap(([n, v]) => ("value" in v ? [[n, v.value]] : [])),
    ),
    secretEnv: Object.fromEntries(
      env.flatMap(([n, v]) =>
        "secret" in v ? [[n, { secret: secretName, key: n }]] : [],
      ),
    ),
  };
}

/**
 * Every declared service: a namespace for each that the stack owns (in the mesh, default-deny),
 * a Secret for a service's secret environment values, and a VersionedService per service whose
 * ALLOW policy admits exactly its callers.
 */
export class DeclaredServices extends pulumi.ComponentResource {
  readonly services: Record<string, VersionedService> = {};
  /** The namespaces this component created, by name (not the external or existing ones). */
  readonly createdNamespaces: Record<string, pulumi.Resource> = {};
  /** How the ingress reaches the services that set `ingress.path`. */
  readonly ingressRoutes: IngressRoute[];

  constructor(
    name: string,
    args: DeclaredServicesArgs,
    opts?: pulumi.ComponentResourceOptions,
  ) {
    super("service-mesh:app:DeclaredServices", name, {}, opts);
    const { mesh } = args;
    const namespaces: Record<string, pulumi.Resource> = {
      ...args.existingNamespaces,
    };
    for (const ns of new Set(args.services.map((s) => s.namespace))) {
      if (namespaces[ns]) {
        continue;
      }
      if (args.externalNamespaces.includes(ns)) {
        // Its owner created it and put it in the mesh; the ingress still needs leave to route in
        // (Linkerd has no ingress of ours).
        if (mesh.routingApi === "gateway-api" && mesh.provider !== "linkerd") {
          namespaces[ns] = gatewayApiResource(
            `${name}-${ns}-ingress-grant`,
            {
              kind: "ReferenceGrant",
              metadata: { name: "ingress-routes", namespace: ns },
              spec: referenceGrantSpec(args.ingressNamespace),
            },
            { parent: this, mesh },
          );
        }
        continue;
      }
      namespaces[ns] = this.createdNamespaces[ns] = new AppNamespace(
        `${name}-${ns}`,
        {
          mesh,
          name: ns,
          restricted: args.restricted,
          ingressNamespace: args.ingressNamespace,
        },
        { parent: this },
      ).namespace;
    }

    for (const s of args.services) {
      const deps = namespaces[s.namespace] ? [namespaces[s.namespace]] : [];
      const secretName = `${s.name}-env`;
      const secrets = Object.entries(s.env).flatMap(([n, v]) =>
        "secret" in v ? [[n, pulumi.secret(v.secret)] as const] : [],
      );
      const secret =
        secrets.length > 0
          ? new k8s.core.v1.Secret(
              `${s.name}-env`,
              {
                metadata: { name: secretName, namespace: s.namespace },
                type: "Opaque",
                stringData: Object.fromEntries(secrets),
              },
              { parent: this, dependsOn: deps },
            )
          : undefined;
      this.services[s.name] = new VersionedService(
        s.name,
        {
          mesh,
          namespace: s.namespace,
          versions: s.versions,
          workload: s.routeOnly
            ? undefined
            : (version) => declaredWorkload(s, version, secretName),
          port: s.port,
          targetPort: s.targetPort,
          protocol: s.protocol,
          maxSurge: s.maxSurge,
          createService: s.createService,
          policy: declaredServicePolicy(s, args.resilience),
          dependsOn: [...deps, ...(secret ? [secret] : [])],
          allow:
            s.allowedPrincipals.length > 0
              ? [{ principals: s.allowedPrincipals, methods: [] }]
              : [],
        },
        { parent: this },
      );
    }

    // Longer prefixes first, so /orders/admin is not shadowed by /orders.
    this.ingressRoutes = args.services
      .filter((s) => s.ingressPath !== undefined)
      .sort((a, b) => b.ingressPath!.length - a.ingressPath!.length)
      .map((s) => ({
        name: s.name,
        prefixes: [s.ingressPath!],
        target: this.services[s.name].ingressTarget,
      }));
    this.registerOutputs({ services: args.services.map((s) => s.name) });
  }
}
