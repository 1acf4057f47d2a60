// Scenarios 28-31 (IT_ONLY=services): users' own services from the `services` config (issue 22),
// on a stack of their own. orders (v1/v2 90/10, called by the demo's frontend and the ingress at
// /orders) and payments (called by orders) are deployed by the stack in namespace shop; legacy is
// route-only (70/30, called by orders): its ServiceAccount, Service and two Deployments are
// created by the test through the API server, as another team would, and injected by the real
// istiod. Then what istiod sends the callers' and callees' proxies: weights, x-mesh-version, each
// subset's endpoints and the callees' RBAC; weight shifts by `up` reach the callers' proxies.
import {
  type EngineEvent,
  LocalWorkspace,
  type Stack,
} from "@pulumi/pulumi/automation";
import {
  baseConfig,
  changesOf,
  check,
  log,
  pulumiLog,
  record,
  type StackObject,
  stackObjects,
  step,
  timed,
  upChangingOnly,
} from "./harness";
import {
  awaitProxyConfig,
  checkInjectedAndReady,
  checkSubsetEndpoints,
  eventually,
  podOf,
} from "./controlPlane";
import {
  admitted,
  checkVersionHeaders,
  FRONTEND,
  GATEWAY,
  gatewayRoute,
  holds,
  kubectl,
  LEGACY_PORT,
  legacyObjects,
  ORDERS,
  removeLegacyAndDestroy,
  SERVICES_CONFIG,
  same,
  SHOP,
  weightedRoute,
} from "./declaredServices";
import { ambientServiceScenario } from "./servicesAmbient";
import { inboundRbac, type ProxyConfig } from "./xds";

const STACK = "services";
const V12 = ["v1", "v2"];

/** The group: 4 scenarios on one stack, destroyed at the end, then 31a on a stack of its own. */
export const SERVICE_SCENARIOS = 5;

async function upDeclared(stack: Stack): Promise<StackObject[]> {
  await baseConfig(stack);
  for (const [key, value] of SERVICES_CONFIG) {
    await stack.setConfig(key, { value }, true);
  }
  const res = await timed("cold up (services)", () =>
    stack.up({ onOutput: pulumiLog }),
  );
  check(res.summary.result === "succeeded", `up ended ${res.summary.result}`);
  const out = (await stack.outputs()).services?.value;
  check(
    same(out?.orders?.weights, { v1: 90, v2: 10 }) &&
      out?.orders?.ingressPath === "/orders" &&
      out?.legacy?.routeOnly === true &&
      out?.legacy?.metrics?.v2?.service === "legacy" &&
      out?.legacy?.metrics?.v2?.revision === "v2",
    `the services output is ${JSON.stringify(out)}`,
  );
  // legacy's owner ships it, through the API server, once the stack has made the namespace.
  kubectl(
    ["apply", "-f", "-"],
    JSON.stringify({ apiVersion: "v1", kind: "List", items: legacyObjects() }),
  );
  const ready = await eventually(
    "shop's pods (legacy's included) injected and Ready",
    () => checkInjectedAndReady(SHOP, "istio-init"),
    120_000,
  );
  log(`${ready.value} (${ready.seconds.toFixed(1)} s after legacy's apply)`);
  return stackObjects(stack);
}

/** Weights and x-mesh-version of frontend's and the gateway's routes to orders. */
async function checkOrdersRoutes(
  want: Record<string, number>,
): Promise<number> {
  const frontend = await podOf("mesh-demo", { app: "frontend" });
  const { cfg, seconds } = await awaitProxyConfig(
    frontend,
    `orders at ${JSON.stringify(want)}`,
    holds((c) => same(weightedRoute(c, "orders", 8080, V12).weights, want)),
  );
  const o = weightedRoute(cfg, "orders", 8080, V12);
  checkVersionHeaders(o, 8080);
  log(
    `frontend -> orders ${JSON.stringify(o.weights)}, x-mesh-version ${JSON.stringify(o.headers)}`,
  );
  const gateway = await podOf("istio-ingress", { app: "istio-ingressgateway" });
  const gw = (
    await awaitProxyConfig(
      gateway,
      `/orders at ${JSON.stringify(want)}`,
      holds((c) =>
        same(gatewayRoute(c, "/orders", "orders", 8080).weights, want),
      ),
    )
  ).cfg;
  const g = gatewayRoute(gw, "/orders", "orders", 8080);
  check(
    Object.values(g.headers).sort().join() === "v1,v2",
    `the gateway's /orders sets x-mesh-version ${JSON.stringify(g.headers)}`,
  );
  log(
    `gateway /orders -> ${JSON.stringify(g.weights)}, x-mesh-version ${JSON.stringify(g.headers)}`,
  );
  return seconds;
}

/** Weights of orders' routes to legacy (route-only) and payments; returns orders' config. */
async function checkOrdersCalls(
  legacy: Record<string, number>,
): Promise<ProxyConfig> {
  const orders = await podOf(SHOP, { app: "orders", version: "v1" });
  const { cfg } = await awaitProxyConfig(
    orders,
    `legacy at ${JSON.stringify(legacy)} and payments`,
    holds(
      (c) =>
        same(weightedRoute(c, "legacy", LEGACY_PORT, V12).weights, legacy) &&
        same(weightedRoute(c, "payments", 8080, ["v1"]).weights, { v1: 100 }),
    ),
  );
  const l = weightedRoute(cfg, "legacy", LEGACY_PORT, V12);
  checkVersionHeaders(l, LEGACY_PORT);
  log(
    `orders -> legacy ${JSON.stringify(l.weights)}, x-mesh-version ${JSON.stringify(l.headers)}; -> payments {"v1":100}`,
  );
  return cfg;
}

export async function serviceScenarios(workDir: string): Promise<void> {
  const stack = await LocalWorkspace.createOrSelectStack({
    stackName: STACK,
    workDir,
  });
  let objects: StackObject[] = [];
  const upOk = await step(
    "28. declared services: up of orders (v1/v2 90/10) and payments in shop, and route-only legacy; legacy's account, Service and Deployments created outside the stack; every pod in shop injected by istiod and Ready",
    async () => {
      objects = await upDeclared(stack);
    },
  );
  await step(
    "29. istiod's config: frontend and the gateway (/orders) route orders 90/10 with x-mesh-version per version; orders routes payments and the route-only legacy 70/30; each subset's endpoints are exactly that version's pods (legacy's: the pods created outside)",
    async () => {
      check(upOk, "the up failed");
      await checkOrdersRoutes({ v1: 90, v2: 10 });
      const frontend = await podOf("mesh-demo", { app: "frontend" });
      log(
        `orders: ${await checkSubsetEndpoints(await awaitEds(frontend), "orders", SHOP, 8080, V12)}`,
      );
      const cfg = await checkOrdersCalls({ v1: 70, v2: 30 });
      log(
        `legacy: ${await checkSubsetEndpoints(cfg, "legacy", SHOP, LEGACY_PORT, V12)}`,
      );
      log(
        `payments: ${await checkSubsetEndpoints(cfg, "payments", SHOP, 8080, ["v1"])}`,
      );
    },
  );
  await step(
    "30. istiod's RBAC: orders' pods admit exactly frontend and the ingress gateway, payments' exactly orders, legacy's (outside pods) exactly orders; each besides the namespace's deny-all",
    async () => {
      check(upOk, "the up failed");
      const want: Array<[string, string, number, string[]]> = [
        ["orders", "v1", 8080, [FRONTEND, GATEWAY]],
        ["orders", "v2", 8080, [FRONTEND, GATEWAY]],
        ["payments", "v1", 8080, [ORDERS]],
        ["legacy", "v1", LEGACY_PORT, [ORDERS]],
        ["legacy", "v2", LEGACY_PORT, [ORDERS]],
      ];
      for (const [app, version, port, principals] of want) {
        const pod = await podOf(SHOP, { app, version });
        const { cfg } = await awaitProxyConfig(
          pod,
          `inbound ${port}`,
          holds((c) => inboundRbac(c, port).length > 0),
        );
        const got = admitted(cfg, port);
        check(
          JSON.stringify(got) === JSON.stringify([...principals].sort()),
          `${app} ${version} admits ${JSON.stringify(got)}, not ${JSON.stringify(principals)}`,
        );
        log(`${app} ${version} admits ${got.join(", ")} + deny-all`);
      }
    },
  );
  await step(
    "31. weight shifts by up: orders to 50/50 updates exactly orders' VirtualService and the gateway's (the edge route carries the split), frontend's and the gateway's proxies get it; legacy to 40/60 updates exactly legacy's VirtualService, orders' proxy gets it; destroy leaves nothing",
    async () => {
      try {
        check(upOk, "the up failed");
        await shifts(stack);
      } finally {
        await removeLegacyAndDestroy(stack, objects);
      }
    },
  );
  // 31a: the same services in ambient with the Gateway API, on a stack of its own.
  await ambientServiceScenario(workDir);
}

/** frontend's config once istiod has sent the orders subsets' endpoints. */
async function awaitEds(pod: Parameters<typeof awaitProxyConfig>[0]) {
  return (
    await awaitProxyConfig(pod, "orders' endpoints", (c) =>
      c.endpoints.some((e) =>
        e.cluster_name?.endsWith("|orders.shop.svc.cluster.local"),
      ),
    )
  ).cfg;
}

async function shifts(stack: Stack): Promise<void> {
  await stack.setConfig(
    "services.orders.versions.v1.weight",
    { value: "50" },
    true,
  );
  await stack.setConfig(
    "services.orders.versions.v2.weight",
    { value: "50" },
    true,
  );
  const events: EngineEvent[] = [];
  await timed("orders-shift up", () =>
    stack.up({ onOutput: pulumiLog, onEvent: (e) => events.push(e) }),
  );
  const changes = changesOf(events)
    .map(([op, urn]) => `${op} ${urn.split("::").pop()}`)
    .sort();
  check(
    JSON.stringify(changes) === '["update ingress-routes","update orders-vs"]',
    `the orders shift changed ${JSON.stringify(changes)}`,
  );
  log(`the orders shift: ${changes.join(", ")}`);
  record(
    "proxy propagation (orders)",
    await checkOrdersRoutes({ v1: 50, v2: 50 }),
  );

  await upChangingOnly(
    stack,
    "legacy-shift up",
    {
      "services.legacy.versions.v1.weight": "40",
      "services.legacy.versions.v2.weight": "60",
    },
    "legacy-vs",
  );
  await checkOrdersCalls({ v1: 40, v2: 60 });
}
