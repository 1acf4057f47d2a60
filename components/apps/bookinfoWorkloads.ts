// Bookinfo's workloads as the sample's images need them, each fact from its Dockerfile.
import type { Resources } from "../core";
import type { BookinfoService } from "../config";
import type { WorkloadSpec } from "../specs";

/** Every Bookinfo service listens on this port, behind a Service on the same port. */
export const BOOKINFO_PORT = 9080;

/** gunicorn workers of productpage (the image's own command runs 8; see below). */
export const PRODUCTPAGE_WORKERS = 2;

const SMALL: Resources = {
  requests: { cpu: "10m", memory: "64Mi" },
  limits: { cpu: "500m", memory: "256Mi" },
};

/** What one service's pods differ in from the sample's common shape. */
const EXTRAS: Record<BookinfoService, Partial<WorkloadSpec>> = {
  // The image's CMD is `gunicorn -b [::]:9080 productpage:app -w 8 --keep-alive 2 -k gevent`
  // without --preload: eight gevent workers of Flask, gevent and requests measure about 275 MiB
  // PSS before the app's own imports, over a 256Mi limit. gunicorn ranks its command line above
  // GUNICORN_CMD_ARGS, so the worker count can only change by replacing CMD: the same command
  // with two workers (each gevent worker serves many requests concurrently; plenty for the
  // sample). Heartbeat files go to /tmp.
  productpage: {
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
  },
  details: {},
  // reviews/Dockerfile: FROM open-liberty:<...>-kernel-slim-java17-openj9, USER 1001, server
  // copied to /opt/ol/wlp/usr/servers/defaultServer. Open Liberty's image (OpenLiberty/ci.docker
  // kernel-slim Dockerfile) creates user 1001 in group 0 and makes /config, /logs,
  // /opt/ol/wlp/usr and /opt/ol/wlp/output group-0 writable (g+rw), so the pod runs as 1001:0.
  // Liberty writes its workarea, pid and (if the read-only shared class cache in /opt/java/.scc
  // is unusable) a class cache under WLP_OUTPUT_DIR=/opt/ol/wlp/output, its logs to
  // LOG_DIR=/logs, RANDFILE to /tmp/.rnd, and the entrypoint (helpers/runtime/docker-server.sh,
  // under `set -e`) writes /config/configDropins/defaults/keystore.xml at every first start.
  // /config is a symlink to the server directory, so the real path is mounted.
  reviews: {
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
  },
  ratings: {},
};

/**
 * One version of one service. details (ruby), ratings (node) and productpage (python) declare
 * `USER 1000` in their Dockerfiles (istio/istio samples/bookinfo/src/<service>/Dockerfile) and
 * write only temp files; reviews differs as EXTRAS says.
 */
export function bookinfoWorkload(
  service: BookinfoService,
  version: string,
  imageHub: string,
  imageTag: string,
): WorkloadSpec {
  return {
    image: `${imageHub}/examples-bookinfo-${service}-${version}:${imageTag}`,
    port: BOOKINFO_PORT,
    probePath: "/health",
    runAsUser: 1000,
    writablePaths: [{ path: "/tmp" }],
    resources: SMALL,
    ...EXTRAS[service],
  };
}
