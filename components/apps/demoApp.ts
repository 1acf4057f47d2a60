// The demo application: an nginx frontend and a versioned http-echo backend.
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import type { Mesh, RoutingPolicy, VersionWeight } from "../core";
import type { ImagesConfig } from "../config";
import type { IngressRoute } from "../specs";
import { AppNamespace, servicePrincipal, VersionedService } from "../workloads";
import {
  backendWorkload,
  FRONTEND_NGINX_CONFIG,
  frontendNginxConfig,
  frontendWorkload,
} from "./demoWorkloads";

export interface DemoAppArgs {
  /** The control plane. */
  readonly mesh: Mesh;
  /** Namespace created for the app, in the mesh and default-deny. */
  readonly namespace: string;
  /** Backend versions and weights (validated config). */
  readonly backendVersions: readonly VersionWeight[];
  /** Routing policy of the backend (and its canary header route and mirroring). */
  readonly backendPolicy: RoutingPolicy;
  /** Routing policy of the frontend. */
  readonly frontendPolicy: RoutingPolicy;
  /** Pinned images: an nginx (unprivileged) frontend and an http-echo backend. */
  readonly images: ImagesConfig;
  /**
   * SPIFFE principal of the ingress gateway, the only caller the frontend admits. None on
   * Linkerd, which has no ingress gateway: then no meshed caller is admitted, and the way in is
   * `kubectl port-forward svc/frontend` (its connections reach the pod on loopback, which the
   * proxy's inbound redirect leaves alone; to be shown on the test bed).
   */
  readonly ingressPrincipal?: string;
  /** Namespace of the ingress gateway, whose routes this app admits. */
  readonly ingressNamespace: string;
  /** Enforce the restricted Pod Security Standard on the namespace (needs istio-cni with sidecars). Defaults to false. */
  readonly restricted?: boolean;
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
    const { mesh } = args;
    this.namespace = new AppNamespace(
      `${name}-ns`,
      {
        mesh,
        name: args.namespace,
        restricted: args.restricted,
        ingressNamespace: args.ingressNamespace,
      },
      { parent: this },
    );
    const ns = this.namespace.namespace;

    // The services keep the names they were first deployed with ("backend", "frontend"): a
    // name derived from the component's would change their URNs and replace them.
    this.backend = new VersionedService(
      "backend",
      {
        mesh,
        namespace: args.namespace,
        versions: args.backendVersions,
        policy: args.backendPolicy,
        dependsOn: [ns],
        // The frontend proxies whatever it receives; the backend answers any path.
        allow: [
          {
            principals: [servicePrincipal(args.namespace, "frontend")],
            methods: ["GET", "HEAD"],
          },
        ],
        workload: (version) => backendWorkload(args.images.backend, version),
      },
      { parent: this },
    );

    const nginxConfig = new k8s.core.v1.ConfigMap(
      `${name}-frontend-config`,
      {
        metadata: { name: FRONTEND_NGINX_CONFIG, namespace: args.namespace },
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
        mesh,
        namespace: args.namespace,
        versions: [{ version: "v1", weight: 100 }],
        policy: args.frontendPolicy,
        // nginx resolves the backend's name when it starts.
        dependsOn: [
          ns,
          nginxConfig,
          ...(this.backend.service ? [this.backend.service] : []),
        ],
        allow: args.ingressPrincipal
          ? [{ principals: [args.ingressPrincipal], methods: ["GET", "HEAD"] }]
          : [],
        workload: () => frontendWorkload(args.images.frontend),
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
