// Istio's Bookinfo sample on the same routing component as the demo app.
import * as pulumi from "@pulumi/pulumi";
import type { Mesh, RoutingPolicy, VersionWeight } from "../core";
import { BOOKINFO_INGRESS_PATHS, type BookinfoService } from "../config";
import type { IngressRoute } from "../specs";
import { AppNamespace, VersionedService } from "../workloads";
import { bookinfoAllowRules } from "./bookinfoCallGraph";
import { BOOKINFO_PORT, bookinfoWorkload } from "./bookinfoWorkloads";

export interface BookinfoArgs {
  /** The control plane. */
  readonly mesh: Mesh;
  /** Namespace created for Bookinfo, in the mesh and default-deny. */
  readonly namespace: string;
  /** Registry and tag of the sample's images (examples-bookinfo-<service>-<version>). */
  readonly imageHub: string;
  readonly imageTag: string;
  /** Weights of reviews v1, v2, v3. */
  readonly reviewsWeights: readonly VersionWeight[];
  /** Routing policy of each service. */
  readonly policies: Readonly<Record<BookinfoService, RoutingPolicy>>;
  /** SPIFFE principal of the ingress gateway, the only caller productpage admits. */
  readonly ingressPrincipal: string;
  /** Namespace of the ingress gateway, whose routes this app admits. */
  readonly ingressNamespace: string;
  /** Enforce the restricted Pod Security Standard (needs istio-cni with sidecars). Defaults to false. */
  readonly restricted?: boolean;
}

/** The paths of the sample's own Gateway route, all served by productpage. */
export const BOOKINFO_INGRESS: Pick<IngressRoute, "exact" | "prefixes"> =
  BOOKINFO_INGRESS_PATHS;

/**
 * Istio's Bookinfo sample on the same generic routing component as the demo app: productpage,
 * details, ratings (v1 each) and reviews (v1, v2, v3), each with its own ServiceAccount and an
 * ALLOW policy for exactly the services that call it (bookinfoCallGraph.ts).
 */
export class Bookinfo extends pulumi.ComponentResource {
  readonly services: Partial<Record<BookinfoService, VersionedService>> = {};
  readonly ingressRoutes: IngressRoute[];
  /** The sample's namespace. */
  readonly appNamespace: AppNamespace;

  constructor(
    name: string,
    args: BookinfoArgs,
    opts?: pulumi.ComponentResourceOptions,
  ) {
    super("service-mesh:app:Bookinfo", name, {}, opts);
    const { mesh } = args;
    const ns = (this.appNamespace = new AppNamespace(
      `${name}-ns`,
      {
        mesh,
        name: args.namespace,
        restricted: args.restricted,
        ingressNamespace: args.ingressNamespace,
      },
      { parent: this },
    ));
    const v1 = [{ version: "v1", weight: 100 }];
    const service = (
      svc: BookinfoService,
      versions: readonly VersionWeight[],
    ): VersionedService =>
      (this.services[svc] = new VersionedService(
        svc,
        {
          mesh,
          namespace: args.namespace,
          versions,
          port: BOOKINFO_PORT,
          workload: (v) =>
            bookinfoWorkload(svc, v, args.imageHub, args.imageTag),
          policy: args.policies[svc],
          allow: bookinfoAllowRules(svc, args.namespace, args.ingressPrincipal),
          dependsOn: [ns.namespace],
        },
        { parent: this },
      ));

    const productpage = service("productpage", v1);
    service("details", v1);
    service("reviews", args.reviewsWeights);
    service("ratings", v1);

    this.ingressRoutes = [
      {
        name: "bookinfo",
        ...BOOKINFO_INGRESS,
        target: productpage.ingressTarget,
      },
    ];
    this.registerOutputs({ namespace: args.namespace });
  }
}
