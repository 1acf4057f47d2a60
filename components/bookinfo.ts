import * as pulumi from "@pulumi/pulumi";
import { AppNamespace } from "./appNamespace";
import { VersionWeight } from "./config";
import { RoutingPolicy } from "./routingPolicy";
import { IngressRoute } from "./routingSpecs";
import { BookinfoService, callsTo } from "./bookinfoCallGraph";
import { AllowRule } from "./securitySpecs";
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

/** gunicorn workers of productpage (the image's own command runs 8; see the workload). */
export const PRODUCTPAGE_WORKERS = 2;

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
    // Each service admits exactly the calls the sample's call graph names (bookinfoCallGraph.ts).
    const allowFor = (svc: BookinfoService): AllowRule[] =>
      callsTo(svc).map((c) => ({
        principals: [
          c.from === "ingress"
            ? args.ingressPrincipal
            : servicePrincipal(args.namespace, c.from),
        ],
        methods: c.methods,
        paths: c.paths,
      }));

    // details (ruby), ratings (node) and productpage (python) declare `USER 1000` in their
    // Dockerfiles (istio/istio samples/bookinfo/src/*/Dockerfile) and write only temp files.
    const workload = (
      service: string,
      version: string,
      extra: Partial<WorkloadSpec> = {},
    ): WorkloadSpec => ({
      image: `${args.imageHub}/examples-bookinfo-${service}-${version}:${args.imageTag}`,
      port: BOOKINFO_PORT,
      probePath: "/health",
      runAsUser: 1000,
      writablePaths: [{ path: "/tmp" }],
      resources: {
        requests: { cpu: "10m", memory: "64Mi" },
        limits: { cpu: "500m", memory: "256Mi" },
      },
      ...extra,
    });
    const service = (
      svc: BookinfoService,
      versions: VersionWeight[],
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
          allow: allowFor(svc),
          crds: args.crds,
          istiod: args.istiod,
          dependsOn: [ns.namespace],
          skipAwait: args.skipAwait,
        },
        { parent: this },
      ));

    const v1 = [{ version: "v1", weight: 100 }];
    service("productpage", v1, (v) =>
      workload("productpage", v, {
        // The image's CMD is `gunicorn -b [::]:9080 productpage:app -w 8 --keep-alive 2
        // -k gevent` without --preload: eight gevent workers of Flask, gevent and requests
        // measure about 275 MiB PSS before the app's own imports, over a 256Mi limit.
        // gunicorn ranks its command line above GUNICORN_CMD_ARGS, so the worker count can
        // only change by replacing CMD: the same command with two workers (each gevent worker
        // serves many requests concurrently; plenty for the sample). Heartbeat files go to /tmp.
        args: [
          "gunicorn",
          "-b",
          "[::]:9080",
          "productpage:app",
          "-w",
          String(PRODUCTPAGE_WORKERS),
          "--keep-alive",
          "2",
          "-k",
          "gevent",
        ],
        resources: {
          requests: { cpu: "10m", memory: "128Mi" },
          limits: { cpu: "500m", memory: "256Mi" },
        },
      }),
    );
    service("details", v1, (v) => workload("details", v));
    service("reviews", args.reviewsWeights, (v) =>
      workload("reviews", v, {
        // reviews/Dockerfile: FROM open-liberty:<...>-kernel-slim-java17-openj9, USER 1001,
        // server copied to /opt/ol/wlp/usr/servers/defaultServer. Open Liberty's image
        // (OpenLiberty/ci.docker kernel-slim Dockerfile) creates user 1001 in group 0 and makes
        // /config, /logs, /opt/ol/wlp/usr and /opt/ol/wlp/output group-0 writable (g+rw), so the
        // pod runs as 1001:0. Liberty writes its workarea, pid and (if the read-only shared class
        // cache in /opt/java/.scc is unusable) a class cache under WLP_OUTPUT_DIR=/opt/ol/wlp/output,
        // its logs to LOG_DIR=/logs, RANDFILE to /tmp/.rnd, and the entrypoint
        // (helpers/runtime/docker-server.sh, under `set -e`) writes
        // /config/configDropins/defaults/keystore.xml at every first start. /config is a symlink
        // to the server directory, so the real path is mounted.
        runAsUser: 1001,
        runAsGroup: 0,
        writablePaths: [
          { path: "/opt/ol/wlp/output", sizeLimit: "256Mi" },
          {
            path: "/opt/ol/wlp/usr/servers/defaultServer/configDropins/defaults",
            sizeLimit: "1Mi",
          },
          { path: "/logs", sizeLimit: "64Mi" },
          { path: "/tmp", sizeLimit: "32Mi" },
        ],
        resources: {
          requests: { cpu: "50m", memory: "256Mi" },
          limits: { cpu: "1000m", memory: "1Gi" },
        },
        livenessDelaySeconds: 60,
      }),
    );
    service("ratings", v1, (v) => workload("ratings", v));

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
