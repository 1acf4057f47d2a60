// The rollout of a declared service on the test bed (ROLLOUT_ONLY=service, issue 22): the istio
// stack of `npm run test:rollout` also declares orders (v1/v2 90/10 in namespace shop, called by
// the demo's frontend), and a second stand-in exporter serves the metrics of orders' pods, its
// traffic split by the weights orders' VirtualService holds; the same real Prometheus scrapes
// both. `npm run rollout -- --service orders` must watch orders' series, not the backend's: an
// unhealthy orders v2 (the backend's v2 healthy) rolls back to 90/10, a healthy one is promoted to
// 0/100, and the demo's backend stays at its 80/20 throughout.
import type { Stack } from "@pulumi/pulumi/automation";
import { check, kube, log, pulumiLog, timed } from "./harness";
import { type Exporter, startExporter } from "./istioMetrics";
import { routeWeights, rollout, START } from "./rolloutHarness";

const SHOP = "shop";
const ORDERS_START = { v1: 90, v2: 10 };

/** orders in the stack config, as `pulumi config set --path` writes it. */
export const ORDERS_CONFIG: Array<[string, string]> = [
  ["services.orders.namespace", SHOP],
  ["services.orders.versions.v1.image", "registry.example.com/orders:1.4.2"],
  ["services.orders.versions.v1.weight", "90"],
  ["services.orders.versions.v2.image", "registry.example.com/orders:1.5.0"],
  ["services.orders.versions.v2.weight", "10"],
  ["services.orders.callers[0]", "frontend"],
];

/** The weights orders' VirtualService holds ({} while there is none). */
async function ordersRouteWeights(): Promise<Record<string, number>> {
  const vs = await kube.get(
    `/apis/networking.istio.io/v1/namespaces/${SHOP}/virtualservices/orders`,
  );
  const route = vs?.spec.http[vs.spec.http.length - 1].route ?? [];
  return Object.fromEntries(
    route.map((r: any) => [r.destination.subset, r.weight ?? 0]),
  );
}

/** The stand-in for orders' proxies' metrics (canonical service orders, revisions v1 and v2). */
export function startOrdersExporter(): Promise<Exporter> {
  return startExporter({
    namespace: SHOP,
    service: "orders",
    versions: ["v1", "v2"],
    readWeights: ordersRouteWeights,
    rps: 100,
  });
}

async function configWeights(stack: Stack): Promise<Record<string, number>> {
  const versions = JSON.parse(
    (await stack.getConfig("services.orders.versions", true)).value,
  );
  return Object.fromEntries(
    Object.entries<any>(versions).map(([v, e]) => [v, e.weight]),
  );
}

/** orders' VirtualService, the config and the output hold `want`; the backend is at 80/20. */
async function expectOrders(
  stack: Stack,
  want: Record<string, number>,
): Promise<string> {
  const same = (x: unknown) => JSON.stringify(x) === JSON.stringify(want);
  const live = await ordersRouteWeights();
  check(same(live), `orders' VirtualService holds ${JSON.stringify(live)}`);
  const config = await configWeights(stack);
  check(same(config), `the config holds ${JSON.stringify(config)}`);
  const output = (await stack.outputs()).services?.value?.orders?.weights;
  check(same(output), `services.orders.weights is ${JSON.stringify(output)}`);
  const backend = await routeWeights("istio");
  check(
    JSON.stringify(backend) === JSON.stringify(START),
    `the demo's backend moved to ${JSON.stringify(backend)}`,
  );
  return `orders' VirtualService, config and output at ${JSON.stringify(want)}, the backend at ${JSON.stringify(backend)}`;
}

/** The scenario's body (rollout.ts's `service`). */
export async function rolloutOrders(
  workDir: string,
  stack: Stack,
  orders: Exporter | undefined,
  flags: string[],
): Promise<void> {
  check(orders, "no exporter for orders");
  if (
    JSON.stringify(await configWeights(stack)) !== JSON.stringify(ORDERS_START)
  ) {
    for (const [v, w] of Object.entries(ORDERS_START)) {
      await stack.setConfig(
        `services.orders.versions.${v}.weight`,
        { value: String(w) },
        true,
      );
    }
    await timed("up back to 90/10", () => stack.up({ onOutput: pulumiLog }));
  }
  const args = [...flags, "--service", "orders"];
  orders.set("v2", { errorRate: 0.3 });
  try {
    const r = await timed("rollout rolled back (orders)", () =>
      rollout(workDir, args),
    );
    check(
      r.code === 1 &&
        r.report?.outcome === "rolled-back" &&
        /^step 1: gate failed: FAIL: error rate [23]\d(\.\d+)?% > 2%/.test(
          r.report.reason,
        ),
      `exit ${r.code}, outcome ${r.report?.outcome}: ${r.report?.reason}`,
    );
    check(
      /canonical service orders, revision v2/.test(r.stdout),
      "the rollout does not say it watches orders' v2",
    );
    log(`unhealthy orders v2: ${r.report.reason}`);
  } finally {
    orders.set("v2", { errorRate: 0 });
  }
  log(await expectOrders(stack, ORDERS_START));
  const p = await timed("rollout promoted (orders)", () =>
    rollout(workDir, args),
  );
  check(
    p.code === 0 && p.report?.outcome === "promoted",
    `exit ${p.code}, outcome ${p.report?.outcome}: ${p.report?.reason}`,
  );
  const checks = p.report.steps.flatMap((s: any) => s.checks);
  check(
    checks.every((c: any) => c.verdict === "pass"),
    JSON.stringify(checks),
  );
  log(`checks: ${checks.map((c: any) => c.summary).join(" / ")}`);
  log(await expectOrders(stack, { v1: 0, v2: 100 }));
}
