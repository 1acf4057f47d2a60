// The demo app's two workloads as their images need them, and the frontend's nginx config.
import type { WorkloadSpec } from "../specs";

/** Port both the frontend and the backend containers listen on. */
export const APP_CONTAINER_PORT = 8080;

/** Name of the ConfigMap holding the frontend's server block. */
export const FRONTEND_NGINX_CONFIG = "frontend-nginx";

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
 * One backend version. hashicorp/http-echo (Dockerfile): FROM distroless/static-debian12:nonroot
 * (uid 65532, our default), ENTRYPOINT /http-echo; it writes nothing and serves /health.
 */
export function backendWorkload(image: string, version: string): WorkloadSpec {
  return {
    image,
    args: [`-listen=:${APP_CONTAINER_PORT}`, `-text=backend ${version}`],
    port: APP_CONTAINER_PORT,
    probePath: "/health",
  };
}

/**
 * The frontend. nginxinc/docker-nginx-unprivileged (mainline/alpine-slim/Dockerfile): USER 101,
 * pid file moved to /tmp/nginx.pid and every *_temp_path to /tmp; /var/cache/nginx and
 * /etc/nginx chowned to 101:0. Its entrypoint's 30-tune-worker-processes.sh, on with
 * NGINX_ENTRYPOINT_WORKER_PROCESSES_AUTOTUNE, sets worker_processes to the cgroup CPU limit
 * (instead of `auto`, one worker per node CPU) by rewriting /etc/nginx/nginx.conf with
 * `sed -i.bak`; on a read-only /etc/nginx it only logs and skips. So /etc/nginx is an emptyDir
 * seeded with the image's own files, and our server block is mounted over conf.d.
 */
export function frontendWorkload(image: string): WorkloadSpec {
  return {
    image,
    port: APP_CONTAINER_PORT,
    probePath: "/healthz",
    runAsUser: 101,
    writablePaths: [
      { path: "/tmp" },
      { path: "/var/cache/nginx" },
      { path: "/etc/nginx", seedFromImage: true },
    ],
    configMaps: [
      { name: FRONTEND_NGINX_CONFIG, mountPath: "/etc/nginx/conf.d" },
    ],
    env: {
      NGINX_ENTRYPOINT_QUIET_LOGS: "1",
      NGINX_ENTRYPOINT_WORKER_PROCESSES_AUTOTUNE: "1",
    },
  };
}
