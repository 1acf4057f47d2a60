import * as pulumi from "@pulumi/pulumi";
import { AppNamespace } from "./appNamespace";
import { VersionWeight } from "./config";
import { RoutingPolicy } from "./routingPolicy";
import { IngressRoute } from "./routingSpecs";
import { servicePrincipal, VersionedService } from "./versionedService";
import { WorkloadSpec } from "./workload";

export interface BookinfoArgs {
  /** Namespace created for Bookinfo, injected and default-deny. */
  readonly namespace: string;
  /** Registry and tag of the sample's images (examples-bookinfo-<service>-<version>). */
  readonly imageHub: string;
  readonly imageTag: string;
  /** Weights of reviews v1, v2, v3. */
  readonly reviewsWeights: VersionWeight[];
  /** Routing policy of each service, by name (productpage, details, reviews, ratings). */
  readonly policies: Record<string, RoutingPolicy>;
  /** SPIFFE principal of the ingress gateway, the only caller productpage admits. */
  readonly ingressPrincipal: string;
  /** The Istio CRDs (the `base` release). */
  readonly crds: pulumi.Resource;
  /** istiod (its release), needed before any injected pod. */
  readonly istiod: pulumi.Resource;
  /** Enforce the restricted Pod Security Standard (needs istio-cni). Defaults to false. */
  readonly restricted?: boolean;
  /** When true nothing waits for readiness. Defaults to false. */
  readonly skipAwait?: boolean;
}

/** Every Bookinfo service listens on this port, behind a Service on the same port. */
export const BOOKINFO_PORT = 9080;

/** The paths of the sample's own Gateway route, all served by productpage. */
export const BOOKINFO_INGRESS: Pick<IngressRoute, "exact" | "prefixes"> = {
  exact: ["/productpage", "/login", "/logout"],
  prefixes: ["/static", "/api/v1/products"],
};

/**
 * Istio's Bookinfo sample on the same generic routing component as the demo app: productpage,
 * details, ratings (v1 each) and reviews (v1, v2, v3), each with its own ServiceAccount and an
 * ALLOW policy for exactly the service that calls it.
 */
export class Bookinfo extends pulumi.ComponentResource {
  readonly services: Record<string, VersionedService> = {};
  readonly ingressRoutes: IngressRoute[];

  constructor(
    name: string,
    args: BookinfoArgs,
    opts?: pulumi.ComponentResourceOptions,
  ) {
    super("service-mesh:app:Bookinfo", name, {}, opts);
    const ns = new AppNamespace(
      `${name}-ns`,
      { name: args.namespace, restricted: args.restricted, crds: args.crds },
      { parent: this },
    );
    const caller = (svc: string) => servicePrincipal(args.namespace, svc);

    // The sample runs as uid 1000; the Liberty server of reviews writes its output and logs.
    const workload = (
      service: string,
      version: string,
      extra: Partial<WorkloadSpec> = {},
    ): WorkloadSpec => ({
      image: `${args.imageHub}/examples-bookinfo-${service}-${version}:${args.imageTag}`,
      port: BOOKINFO_PORT,
      probePath: "/health",
      runAsUser: 1000,
      writablePaths: ["/tmp"],
      resources: {
        requests: { cpu: "10m", memory: "64Mi" },
        limits: { cpu: "500m", memory: "256Mi" },
      },
      ...extra,
    });

    const service = (
      svc: string,
      versions: VersionWeight[],
      allowFrom: string,
      methods: string[],
      w: (v: string) => WorkloadSpec,
    ) =>
      (this.services[svc] = new VersionedService(
        svc,
        {
          namespace: args.namespace,
          versions,
          port: BOOKINFO_PORT,
          workload: w,
          policy: args.policies[svc],
          allow: { principals: [allowFrom], methods },
          crds: args.crds,
          istiod: args.istiod,
          dependsOn: [ns.namespace],
          skipAwait: args.skipAwait,
        },
        { parent: this },
      ));

    const v1 = [{ version: "v1", weight: 100 }];
    // Login and logout are form posts to productpage.
    service(
      "productpage",
      v1,
      args.ingressPrincipal,
      ["GET", "HEAD", "POST"],
      (v) => workload("productpage", v),
    );
    service("details", v1, caller("productpage"), ["GET"], (v) =>
      workload("details", v),
    );
    service(
      "reviews",
      args.reviewsWeights,
      caller("productpage"),
      ["GET"],
      (v) =>
        workload("reviews", v, {
          env: { LOG_DIR: "/tmp/logs" },
          writablePaths: ["/tmp", "/opt/ibm/wlp/output"],
          resources: {
            requests: { cpu: "50m", memory: "256Mi" },
            limits: { cpu: "1000m", memory: "1Gi" },
          },
          livenessDelaySeconds: 60,
        }),
    );
    // reviews v2 and v3 fetch their stars from ratings.
    service("ratings", v1, caller("reviews"), ["GET"], (v) =>
      workload("ratings", v),
    );

    this.ingressRoutes = [
      {
        name: "bookinfo",
        ...BOOKINFO_INGRESS,
        target: this.services.productpage.ingressTarget,
      },
    ];
    this.registerOutputs({ namespace: args.namespace });
  }
}
