// What the declared-services scenarios (services.ts) deploy and read: the stack's `services`
// section, the route-only service's objects its owner creates outside the stack, and readers of
// istiod's config for one service (its weighted route, x-mesh-version, who its RBAC admits; in
// ambient, at the waypoint, each version Service's endpoints), and the group's teardown.
import { execFileSync } from "child_process";
import type { Stack } from "@pulumi/pulumi/automation";
import { check, kube, pulumiLog, type StackObject, timed } from "./harness";
import {
  eventually,
  meshHost,
  pods,
  outboundRoutes,
  subsetWeights,
} from "./controlPlane";
import { checkDestroyed } from "./lifecycle";
import {
  clusterWeights,
  inboundRbac,
  outboundCluster,
  type ProxyConfig,
} from "./xds";

export const SHOP = "shop";
const spiffe = (ns: string, sa: string) =>
  `spiffe://cluster.local/ns/${ns}/sa/${sa}`;
export const FRONTEND = spiffe("mesh-demo", "frontend");
export const GATEWAY = spiffe("istio-ingress", "istio-ingressgateway");
export const ORDERS = spiffe(SHOP, "orders");
export const LEGACY_PORT = 9090;

/** The stack's services section, as `pulumi config set --path` would write it. */
export const SERVICES_CONFIG: Array<[string, string]> = [
  ["canary.weights.v1", "80"],
  ["canary.weights.v2", "20"],
  ["services.orders.namespace", SHOP],
  ["services.orders.versions.v1.image", "registry.example.com/orders:1.4.2"],
  ["services.orders.versions.v1.weight", "90"],
  ["services.orders.versions.v2.image", "registry.example.com/orders:1.5.0"],
  ["services.orders.versions.v2.weight", "10"],
  ["services.orders.callers[0]", "frontend"],
  ["services.orders.callers[1]", "ingress"],
  ["services.orders.ingress.path", "/orders"],
  ["services.payments.namespace", SHOP],
  ["services.payments.versions.v1.image", "registry.example.com/pay:2.0.1"],
  ["services.payments.versions.v1.weight", "100"],
  ["services.payments.callers[0]", "orders"],
  ["services.legacy.namespace", SHOP],
  ["services.legacy.port", String(LEGACY_PORT)],
  ["services.legacy.createService", "false"],
  ["services.legacy.versions.v1.selector.app", "legacy"],
  ["services.legacy.versions.v1.selector.version", "v1"],
  ["services.legacy.versions.v1.weight", "70"],
  ["services.legacy.versions.v2.selector.app", "legacy"],
  ["services.legacy.versions.v2.selector.version", "v2"],
  ["services.legacy.versions.v2.weight", "30"],
  ["services.legacy.callers[0]", "shop/orders"],
];

/**
 * What legacy's owner deploys: its account, its Service and a Deployment per version; `restricted`
 * (a namespace enforcing the restricted Pod Security Standard, as in ambient) hardens the pods.
 */
export function legacyObjects(restricted = false): object[] {
  const meta = (name: string, labels: Record<string, string>) => ({
    name,
    namespace: SHOP,
    labels,
  });
  const deployment = (version: string) => {
    const labels = { app: "legacy", version };
    return {
      apiVersion: "apps/v1",
      kind: "Deployment",
      metadata: meta(`legacy-${version}`, labels),
      spec: {
        replicas: 1,
        selector: { matchLabels: labels },
        template: {
          metadata: { labels },
          spec: {
            serviceAccountName: "legacy",
            ...(restricted ? { securityContext: RESTRICTED_POD } : {}),
            containers: [
              {
                name: "legacy",
                image: `registry.example.com/legacy:${version}`,
                ports: [{ name: "http", containerPort: LEGACY_PORT }],
                ...(restricted
                  ? { securityContext: RESTRICTED_CONTAINER }
                  : {}),
              },
            ],
          },
        },
      },
    };
  };
  return [
    {
      apiVersion: "v1",
      kind: "ServiceAccount",
      metadata: meta("legacy", { app: "legacy" }),
    },
    {
      apiVersion: "v1",
      kind: "Service",
      metadata: meta("legacy", { app: "legacy" }),
      spec: {
        selector: { app: "legacy" },
        ports: [
          {
            name: "http",
            appProtocol: "http",
            port: LEGACY_PORT,
            targetPort: LEGACY_PORT,
          },
        ],
      },
    },
    deployment("v1"),
    deployment("v2"),
  ];
}

const RESTRICTED_POD = {
  runAsNonRoot: true,
  runAsUser: 10001,
  seccompProfile: { type: "RuntimeDefault" },
};
const RESTRICTED_CONTAINER = {
  allowPrivilegeEscalation: false,
  capabilities: { drop: ["ALL"] },
};

export function kubectl(args: string[], input?: string): string {
  return execFileSync("kubectl", args, { encoding: "utf8", input });
}

/** legacy's owner removes what it made; then the stack goes, shop with it, and nothing is left. */
export async function removeLegacyAndDestroy(
  stack: Stack,
  objects: StackObject[],
): Promise<void> {
  kubectl([
    "-n",
    SHOP,
    "delete",
    "deployment,service,serviceaccount",
    "-l",
    "app=legacy",
    "--ignore-not-found",
    "--wait=true",
  ]);
  await timed(`destroy (${stack.name})`, () =>
    stack.destroy({ onOutput: pulumiLog }),
  );
  await eventually(
    "namespace shop gone",
    async () =>
      check(!(await kube.get(`/api/v1/namespaces/${SHOP}`)), "shop remains"),
    120_000,
  );
  await checkDestroyed(objects);
  await stack.workspace.removeStack(stack.name);
}

/** A condition on a proxy's config that holds once it can be read without throwing. */
export const holds =
  (f: (c: ProxyConfig) => boolean) =>
  (c: ProxyConfig): boolean => {
    try {
      return f(c);
    } catch {
      return false;
    }
  };

/** Equal weights, in the same order. */
export const same = (a: Record<string, number>, b: Record<string, number>) =>
  JSON.stringify(a) === JSON.stringify(b);

/** The weighted (last) route of a sidecar to a service, its weights and x-mesh-version headers. */
export function weightedRoute(
  cfg: ProxyConfig,
  svc: string,
  port: number,
  versions: string[],
) {
  const host = meshHost(svc, SHOP);
  const routes = outboundRoutes(cfg, host, port);
  const route = routes[routes.length - 1];
  const weights = subsetWeights(route, host, port, versions);
  return { weights, headers: versionHeaders(route), host };
}

/** Each weighted cluster of the route sets x-mesh-version to its own version. */
export function checkVersionHeaders(
  r: ReturnType<typeof weightedRoute>,
  port: number,
): void {
  for (const v of Object.keys(r.weights)) {
    const got = r.headers[outboundCluster(r.host, port, v)];
    check(
      got === v,
      `the ${v} cluster of ${r.host} sets x-mesh-version ${got}`,
    );
  }
}

/** The principals a pod's inbound RBAC admits (besides the namespace's deny-all), sorted. */
export function admitted(cfg: ProxyConfig, port: number): string[] {
  const rules = inboundRbac(cfg, port);
  const denyAll = rules.filter((r) => r.matchesNothing);
  check(
    denyAll.length === 1 && /deny-all/.test(denyAll[0].name),
    `expected the namespace's deny-all, got ${rules.map((r) => r.name).join(", ")}`,
  );
  const allow = rules.filter((r) => !r.matchesNothing);
  for (const r of allow) {
    check(
      r.methods.length === 0 && r.paths.length === 0,
      `${r.name} limits methods or paths: ${r.methods} ${r.paths}`,
    );
  }
  return [...new Set(allow.flatMap((r) => r.principals))].sort();
}

/** The x-mesh-version each weighted cluster of a route sets on its responses, by cluster. */
export function versionHeaders(route: any): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const c of route.route?.weighted_clusters?.clusters ?? []) {
    const set = (c.response_headers_to_add ?? []).find(
      (h: any) => h.header?.key === "x-mesh-version",
    );
    headers[c.name] = set?.header?.value ?? "(none)";
  }
  return headers;
}

/** The ingress gateway's route for a path prefix: its weights by subset, and x-mesh-version. */
export function gatewayRoute(
  cfg: ProxyConfig,
  prefix: string,
  svc: string,
  port: number,
): { weights: Record<string, number>; headers: Record<string, string> } {
  const rc = cfg.routes.find((r) => r.name === "http.80");
  check(rc, "the gateway has no route configuration http.80");
  const route = rc.virtual_hosts
    .flatMap((v: any) => v.routes)
    .find((r: any) => r.match?.prefix === prefix);
  check(route, `the gateway has no route for the prefix ${prefix}`);
  const host = meshHost(svc, SHOP);
  const weights: Record<string, number> = {};
  for (const [cluster, w] of Object.entries(clusterWeights(route))) {
    const [, p, subset, h] = cluster.split("|");
    check(
      h === host && p === String(port),
      `the gateway's ${prefix} reaches ${cluster}`,
    );
    weights[subset] = w;
  }
  return { weights, headers: versionHeaders(route) };
}

/** The waypoint's cluster for one version's Service (a version is a Service with the Gateway API). */
export const versionCluster = (svc: string, port: number, version: string) =>
  `inbound-vip|${port}|http|${meshHost(`${svc}-${version}`, SHOP)}`;

/** Each version Service's cluster at the waypoint holds exactly that version's pods. */
export async function checkVersionEndpoints(
  cfg: ProxyConfig,
  svc: string,
  port: number,
  versions: string[],
): Promise<string> {
  const parts: string[] = [];
  for (const v of versions) {
    const want = (await pods(SHOP, { app: svc, version: v }))
      .filter((p) => !p.metadata.deletionTimestamp)
      .map((p) => `${p.status.podIP}:${port}`)
      .sort();
    const cla = cfg.endpoints.find(
      (e) => e.cluster_name === versionCluster(svc, port, v),
    );
    const got = (cla?.endpoints ?? [])
      .flatMap((l: any) => l.lb_endpoints ?? [])
      .map((e: any) => e.endpoint?.address?.socket_address)
      .map((a: any) => `${a?.address}:${a?.port_value}`)
      .sort();
    check(
      want.length > 0 && JSON.stringify(got) === JSON.stringify(want),
      `${svc}-${v} at the waypoint holds ${got.join(",") || "nothing"}, its pods are ${want.join(",")}`,
    );
    parts.push(`${svc}-${v}=${got.join(",")}`);
  }
  return parts.join(" ");
}
