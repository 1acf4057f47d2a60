// Scenario 31a (IT_ONLY=services): the declared services of scenarios 28-31 in the other modes,
// ambient with the Gateway API on one stack (as scenario 26 does for the demo). orders (v1/v2
// 90/10, called by frontend, no ingress path), payments (called by orders) and route-only legacy
// (70/30, its pods created outside the stack) in shop. What the real istiod made of it: the
// HTTPRoutes' status, and the config of shop's waypoint, which applies the routes and the L7
// policy in ambient (each version a Service of its own), and of ztunnel (only the waypoint in).
import { LocalWorkspace, type Stack } from "@pulumi/pulumi/automation";
import {
  baseConfig,
  check,
  env,
  kube,
  log,
  pulumiLog,
  record,
  type StackObject,
  stackObjects,
  step,
  timed,
  upChangingOnly,
} from "./harness";
import { awaitProxyConfig, eventually, meshHost, podOf } from "./controlPlane";
import {
  FRONTEND,
  holds,
  LEGACY_PORT,
  kubectl,
  legacyObjects,
  ORDERS,
  removeLegacyAndDestroy,
  SERVICES_CONFIG,
  same,
  SHOP,
  checkVersionEndpoints,
  versionCluster,
  versionHeaders,
} from "./declaredServices";
import {
  checkAppPods,
  conditions,
  waypointChain,
  ztunnelConfig,
} from "./modes";
import { clusterWeights, type ProxyConfig, rbacPolicies } from "./xds";

const STACK = "services-ambient-gateway-api";
const WAYPOINT = { "gateway.networking.k8s.io/gateway-name": "waypoint" };
const V12 = ["v1", "v2"];
/** ztunnel's rendering of a policy admitting only shop's waypoint. */
const ONLY_WAYPOINT = JSON.stringify([
  {
    rules: [
      {
        matches: [
          { principals: [{ exact: `cluster.local/ns/${SHOP}/sa/waypoint` }] },
        ],
      },
    ],
  },
]);

/** The services section without orders' ingress (orders' only caller is frontend). */
const CONFIG: Array<[string, string]> = [
  ...SERVICES_CONFIG.filter(
    ([k]) =>
      k !== "services.orders.ingress.path" &&
      k !== "services.orders.callers[1]",
  ),
  ["istio.dataplane", "ambient"],
  ["routing.api", "gateway-api"],
  // The test bed's offline copy of the pinned CRDs (build-gateway-api.sh).
  ["routing.gatewayApiCrdsFile", env("GATEWAY_API_CRDS")],
];

/** The waypoint's weighted route for a Service: weights and x-mesh-version by version. */
function waypointSplit(cfg: ProxyConfig, svc: string, port: number) {
  const hcm = waypointChain(cfg, meshHost(svc, SHOP), port);
  const routes = hcm.route_config.virtual_hosts[0].routes as any[];
  const route = routes[routes.length - 1];
  const w = clusterWeights(route);
  const h = versionHeaders(route);
  const weights: Record<string, number> = {};
  const headers: Record<string, string> = {};
  for (const v of V12) {
    const c = versionCluster(svc, port, v);
    if (c in w) {
      weights[v] = w[c];
      headers[v] = h[c];
    }
  }
  check(
    Object.keys(w).length === Object.keys(weights).length,
    `the waypoint routes ${svc} to ${Object.keys(w).join(", ")}`,
  );
  return { weights, headers, hcm };
}

/** Who the waypoint admits to a Service and its version Services: one ALLOW, same principals. */
function waypointAdmits(
  cfg: ProxyConfig,
  svc: string,
  port: number,
  versions: readonly string[],
) {
  const got = new Set<string>();
  for (const h of [svc, ...versions.map((v) => `${svc}-${v}`)]) {
    const rules = rbacPolicies([waypointChain(cfg, meshHost(h, SHOP), port)]);
    check(
      rules.length === 1 &&
        rules[0].name.includes(`policy[${svc}-allow]`) &&
        !rules[0].matchesNothing &&
        rules[0].methods.length + rules[0].paths.length === 0,
      `the waypoint's RBAC for ${h}: ${rules.map((r) => r.name).join(", ")}`,
    );
    got.add(JSON.stringify(rules[0].principals));
  }
  check(
    got.size === 1,
    `${svc}'s Services admit different callers: ${[...got]}`,
  );
  return JSON.parse([...got][0]) as string[];
}

export async function ambientServiceScenario(workDir: string): Promise<void> {
  const stack = await LocalWorkspace.createOrSelectStack({
    stackName: STACK,
    workDir,
  });
  const objects: StackObject[] = [];
  await step(
    "31a. declared services in ambient with the Gateway API: up; the HTTPRoutes of orders, payments and route-only legacy Accepted; shop's waypoint routes orders 90/10 and legacy 70/30 over the version Services with x-mesh-version per backend, each version Service's endpoints exactly its pods (legacy's: created outside); the waypoint admits exactly frontend to orders and orders to payments and legacy, ztunnel only the waypoint; a weight shift updates exactly orders' HTTPRoute and reaches the waypoint; destroy leaves nothing",
    async () => {
      try {
        await upAndCheck(stack, objects);
      } finally {
        await removeLegacyAndDestroy(stack, objects);
      }
    },
  );
}

/** The up and every check before the destroy; fills `objects` as soon as the up is done. */
async function upAndCheck(stack: Stack, objects: StackObject[]): Promise<void> {
  await baseConfig(stack);
  for (const [key, value] of CONFIG) {
    await stack.setConfig(key, { value }, true);
  }
  const res = await timed("cold up (services, ambient + gateway-api)", () =>
    stack.up({ onOutput: pulumiLog }),
  );
  check(res.summary.result === "succeeded", `up ended ${res.summary.result}`);
  objects.push(...(await stackObjects(stack)));
  kubectl(
    ["apply", "-f", "-"],
    JSON.stringify({
      apiVersion: "v1",
      kind: "List",
      items: legacyObjects(true),
    }),
  );
  const ready = await eventually(
    "shop's and the demo's pods Ready without sidecars, each with its waypoint",
    () => checkAppPods("ambient", ["mesh-demo", SHOP]),
    120_000,
  );
  log(`${ready.value} (${ready.seconds.toFixed(1)} s after legacy's apply)`);

  for (const route of ["orders", "payments", "legacy"]) {
    const { value } = await eventually(
      `${SHOP}/${route} accepted`,
      async () => {
        const c = conditions(
          await kube.get(
            `/apis/gateway.networking.k8s.io/v1/namespaces/${SHOP}/httproutes/${route}`,
          ),
          true,
        );
        check(
          c.includes("Accepted=True") && c.includes("ResolvedRefs=True"),
          c.join(","),
        );
        return c;
      },
    );
    log(`HTTPRoute ${SHOP}/${route}: ${value.join(", ")}`);
  }

  const waypoint = await podOf(SHOP, WAYPOINT);
  const want = { v1: 90, v2: 10 };
  const { cfg, seconds } = await awaitProxyConfig(
    waypoint,
    "orders 90/10, legacy 70/30 and their endpoints",
    holds(
      (c) =>
        same(waypointSplit(c, "orders", 8080).weights, want) &&
        same(waypointSplit(c, "legacy", LEGACY_PORT).weights, {
          v1: 70,
          v2: 30,
        }) &&
        // Every version Service's cluster with its endpoints: legacy's pods were created
        // outside the stack just before, and istiod may not have their addresses yet.
        (
          [
            ["orders", 8080, V12],
            ["legacy", LEGACY_PORT, V12],
            ["payments", 8080, ["v1"]],
          ] as const
        ).every(([svc, port, versions]) =>
          versions.every((v) =>
            c.endpoints.some(
              (e) =>
                e.cluster_name === versionCluster(svc, port, v) &&
                (e.endpoints ?? []).some(
                  (l: any) => (l.lb_endpoints ?? []).length > 0,
                ),
            ),
          ),
        ),
    ),
  );
  for (const [svc, port] of [
    ["orders", 8080],
    ["legacy", LEGACY_PORT],
  ] as const) {
    const s = waypointSplit(cfg, svc, port);
    check(
      JSON.stringify(s.headers) === '{"v1":"v1","v2":"v2"}',
      `the waypoint's ${svc} backends set x-mesh-version ${JSON.stringify(s.headers)}`,
    );
    log(
      `waypoint: ${svc} -> ${JSON.stringify(s.weights)} over ${svc}-v1/${svc}-v2, x-mesh-version ${JSON.stringify(s.headers)}`,
    );
    log(`endpoints: ${await checkVersionEndpoints(cfg, svc, port, V12)}`);
  }
  log(
    `endpoints: ${await checkVersionEndpoints(cfg, "payments", 8080, ["v1"])} (read in ${seconds.toFixed(1)} s)`,
  );

  for (const [svc, port, callers, versions] of [
    ["orders", 8080, [FRONTEND], V12],
    ["payments", 8080, [ORDERS], ["v1"]],
    ["legacy", LEGACY_PORT, [ORDERS], V12],
  ] as const) {
    const got = waypointAdmits(cfg, svc, port, versions);
    check(
      JSON.stringify(got) === JSON.stringify(callers),
      `the waypoint admits ${JSON.stringify(got)} to ${svc}, not ${JSON.stringify(callers)}`,
    );
    log(`waypoint: ${svc} (and its version Services) admits ${got.join(", ")}`);
  }

  const zt = ztunnelConfig(await podOf("istio-system", { app: "ztunnel" }));
  const auth = (name: string) =>
    zt.authorizations.find((a) => a.name === name && a.namespace === SHOP);
  check(
    auth("deny-all")?.scope === "NAMESPACE",
    "ztunnel lacks shop's deny-all",
  );
  for (const svc of ["orders", "payments", "legacy"]) {
    const groups = JSON.stringify(auth(`${svc}-allow-waypoint`)?.groups);
    check(groups === ONLY_WAYPOINT, `ztunnel's ${svc} policy: ${groups}`);
    const service = zt.addresses.find(
      (a) => a.service?.hostname === meshHost(svc, SHOP),
    )?.service;
    check(
      service?.waypoint?.hostname?.hostname === meshHost("waypoint", SHOP),
      `ztunnel does not send ${svc}'s traffic to shop's waypoint: ${JSON.stringify(service)}`,
    );
  }
  log(
    "ztunnel: shop's deny-all; orders, payments and legacy admit only shop/waypoint and are served by it",
  );

  await upChangingOnly(
    stack,
    "orders-shift up (ambient + gateway-api)",
    {
      "services.orders.versions.v1.weight": "50",
      "services.orders.versions.v2.weight": "50",
    },
    "HTTPRoute::orders-route",
  );
  const pushed = await awaitProxyConfig(
    waypoint,
    "orders 50/50",
    holds((c) =>
      same(waypointSplit(c, "orders", 8080).weights, { v1: 50, v2: 50 }),
    ),
  );
  record("waypoint propagation (orders)", pushed.seconds);
}
