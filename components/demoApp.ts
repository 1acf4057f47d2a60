import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { VersionWeight } from "./config";
import { AppNamespace } from "./appNamespace";
import { RoutingPolicy } from "./routingPolicy";
import { IngressRoute } from "./routingSpecs";
import { servicePrincipal, VersionedService } from "./versionedService";

export interface DemoAppArgs {
  /** Namespace created for the app and labelled for sidecar injection. */
  readonly namespace: string;
  /** Backend versions and weights (validated config). */
  readonly backendVersions: VersionWeight[];
  /** Routing policy of the backend (and its canary header route and mirroring). */
  readonly backendPolicy: RoutingPolicy;
  /** Routing policy of the frontend. */
  readonly frontendPolicy: RoutingPolicy;
  /** Pinned images: an nginx (unprivileged) frontend and an http-echo backend. */
  readonly images: { frontend: string; backend: string };
  /** The Istio CRDs (the `base` release). */
  readonly crds: pulumi.Resource;
  /** istiod (its release), needed before any injected pod. */
  readonly istiod: pulumi.Resource;
  /** SPIFFE principal of the ingress gateway, the only caller the frontend admits. */
  readonly ingressPrincipal: string;
  /** Enforce the restricted Pod Security Standard on the namespace (needs istio-cni). Defaults to false. */
  readonly restricted?: boolean;
  /** When true nothing waits for readiness. Defaults to false. */
  readonly skipAwait?: boolean;
}

/** Port both the frontend and the backend containers listen on. */
export const APP_CONTAINER_PORT = 8080;

/**
 * nginx config of the frontend: every request is proxied to the backend Service, so the answer
 * names the backend version that served it. HTTP/1.1 because Envoy refuses nginx's default 1.0.
 */
export function frontendNginxConfig(
  backendHost: string,
  backendPort: number,
): string {
  return [
    "server {",
    `    listen ${APP_CONTAINER_PORT};`,
    "    location = /healthz {",
    "        access_log off;",
    "        default_type text/plain;",
    "        return 200 'ok\\n';",
    "    }",
    "    location / {",
    "        proxy_http_version 1.1;",
    '        proxy_set_header Connection "";',
    `        proxy_pass http://${backendHost}:${backendPort};`,
    "    }",
    "}",
    "",
  ].join("\n");
}

/**
 * The demo application: a `frontend` (nginx) that forwards every request to a `backend`
 * (http-echo answering "backend <version>"), the backend deployed in every configured version
 * with weighted routing between them.
 */
export class DemoApp extends pulumi.ComponentResource {
  readonly namespace: AppNamespace;
  readonly frontend: VersionedService;
  readonly backend: VersionedService;
  /** How the ingress reaches this app: every path goes to the frontend. */
  readonly ingressRoutes: IngressRoute[];

  constructor(
    name: string,
    args: DemoAppArgs,
    opts?: pulumi.ComponentResourceOptions,
  ) {
    super("service-mesh:app:DemoApp", name, {}, opts);
    const common = {
      namespace: args.namespace,
      crds: args.crds,
      istiod: args.istiod,
      skipAwait: args.skipAwait,
    };

    this.namespace = new AppNamespace(
      `${name}-ns`,
      { name: args.namespace, restricted: args.restricted, crds: args.crds },
      { parent: this },
    );
    const ns = this.namespace.namespace;
    const frontendPrincipal = servicePrincipal(args.namespace, "frontend");

    this.backend = new VersionedService(
      "backend",
      {
        ...common,
        versions: args.backendVersions,
        policy: args.backendPolicy,
        dependsOn: [ns],
        // The frontend proxies whatever it receives; the backend answers any path.
        allow: [{ principals: [frontendPrincipal], methods: ["GET", "HEAD"] }],
        // hashicorp/http-echo (Dockerfile): FROM distroless/static-debian12:nonroot (uid
        // 65532, our default), ENTRYPOINT /http-echo; it writes nothing and serves /health.
        workload: (version) => ({
          image: args.images.backend,
          args: [`-listen=:${APP_CONTAINER_PORT}`, `-text=backend ${version}`],
          port: APP_CONTAINER_PORT,
          probePath: "/health",
        }),
      },
      { parent: this },
    );

    const nginxConfigName = "frontend-nginx";
    const nginxConfig = new k8s.core.v1.ConfigMap(
      `${name}-frontend-config`,
      {
        metadata: { name: nginxConfigName, namespace: args.namespace },
        data: {
          "default.conf": frontendNginxConfig(
            this.backend.host,
            this.backend.port,
          ),
        },
      },
      { parent: this, dependsOn: [ns] },
    );

    this.frontend = new VersionedService(
      "frontend",
      {
        ...common,
        versions: [{ version: "v1", weight: 100 }],
        policy: args.frontendPolicy,
        // nginx resolves the backend's name when it starts.
        dependsOn: [ns, nginxConfig, this.backend.service],
        allow: [
          {
            principals: [args.ingressPrincipal],
            methods: ["GET", "HEAD"],
          },
        ],
        workload: () => ({
          image: args.images.frontend,
          port: APP_CONTAINER_PORT,
          probePath: "/healthz",
          // nginxinc/docker-nginx-unprivileged (mainline/alpine-slim/Dockerfile): USER 101,
          // pid file moved to /tmp/nginx.pid and every *_temp_path to /tmp; /var/cache/nginx
          // and /etc/nginx chowned to 101:0. Its entrypoint's 30-tune-worker-processes.sh, on
          // with NGINX_ENTRYPOINT_WORKER_PROCESSES_AUTOTUNE, sets worker_processes to the
          // cgroup CPU limit (instead of `auto`, one worker per node CPU) by rewriting
          // /etc/nginx/nginx.conf with `sed -i.bak`; on a read-only /etc/nginx it only logs
          // and skips. So /etc/nginx is an emptyDir seeded with the image's own files, and
          // our server block is mounted over conf.d.
          runAsUser: 101,
          writablePaths: [
            { path: "/tmp" },
            { path: "/var/cache/nginx" },
            { path: "/etc/nginx", seedFromImage: true },
          ],
          configMaps: [
            { name: nginxConfigName, mountPath: "/etc/nginx/conf.d" },
          ],
          env: {
            NGINX_ENTRYPOINT_QUIET_LOGS: "1",
            NGINX_ENTRYPOINT_WORKER_PROCESSES_AUTOTUNE: "1",
          },
        }),
      },
      { parent: this },
    );

    this.ingressRoutes = [
      {
        name: "frontend",
        prefixes: ["/"],
        target: this.frontend.ingressTarget,
      },
    ];

    this.registerOutputs({
      namespace: args.namespace,
      backendVersions: args.backendVersions.map((v) => v.version),
    });
  }
}
