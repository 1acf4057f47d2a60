// Scenarios 32-36 (IT_ONLY=egress): egress control (issue 23) on stacks of their own, with
// `egress.mode registry-only` and two external hosts: api.stripe.com (the caller's own TLS on 443,
// passed through by SNI; caller backend) and httpbin.org (plain HTTP on 80, the gateway
// originates TLS; caller frontend). What istiod sends the callers' sidecars, the egress gateway
// (the gateway chart's pod, injected by istiod) and, in ambient, the egress namespace's waypoint
// (egressChecks.ts says what each must show). The hosts are only names in config: nothing here
// resolves them or connects to them.
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { LocalWorkspace, type Stack } from "@pulumi/pulumi/automation";
import {
  appEgressPolicySpec,
  gatewayEgressPolicySpec,
} from "../../components/specs/networkPolicy";
import {
  analyze,
  baseConfig,
  check,
  env,
  kube,
  log,
  pulumiLog,
  type StackObject,
  stackObjects,
  step,
  timed,
  WORK,
} from "./harness";
import {
  awaitProxyConfig,
  checkInjectedAndReady,
  eventually,
  podOf,
} from "./controlPlane";
import {
  checkCallerSidecar,
  checkGateway,
  checkWaypoint,
  DEMO,
  EGRESS,
  HTTPBIN,
  same,
  STRIPE,
} from "./egressChecks";
import { checkDestroyed } from "./lifecycle";
import type { KubeObject } from "./kubeClient";
import type { ProxyConfig } from "./xds";

/** The group: 5 scenarios on two stacks, each destroyed. */
export const EGRESS_SCENARIOS = 5;

const EGRESS_CONFIG: Array<[string, string]> = [
  ["canary.weights.v1", "80"],
  ["canary.weights.v2", "20"],
  ["egress.mode", "registry-only"],
  [`egress.hosts["${STRIPE}"].port`, "443"],
  [`egress.hosts["${STRIPE}"].protocol`, "tls"],
  [`egress.hosts["${STRIPE}"].callers[0]`, "backend"],
  [`egress.hosts["${HTTPBIN}"].port`, "80"],
  [`egress.hosts["${HTTPBIN}"].protocol`, "http"],
  [`egress.hosts["${HTTPBIN}"].callers[0]`, "frontend"],
  [`egress.hosts["${HTTPBIN}"].originateTls`, "true"],
];

/** Polls a proxy's config until `checker` passes, then logs its line (with IT_EGRESS_DUMP=<dir>, writes the config there). */
async function awaitChecked(
  pod: KubeObject,
  name: string,
  checker: (cfg: ProxyConfig) => string,
): Promise<void> {
  let last: ProxyConfig | undefined;
  let line = "";
  const dump = () => {
    const dir = process.env.IT_EGRESS_DUMP;
    if (dir && last) {
      fs.mkdirSync(dir, { recursive: true });
      fs.writeFileSync(path.join(dir, `${name}.json`), JSON.stringify(last));
    }
  };
  try {
    const { seconds } = await awaitProxyConfig(pod, name, (c) => {
      last = c;
      line = checker(c);
      return true;
    });
    log(
      `${name} ${pod.metadata.name} (read in ${seconds.toFixed(1)} s): ${line}`,
    );
  } catch (e) {
    // On timeout, say what differs in the last config read.
    if (last) {
      checker(last);
    }
    throw e;
  } finally {
    dump();
  }
}

async function upEgress(
  stack: Stack,
  ambient: boolean,
): Promise<StackObject[]> {
  await baseConfig(stack);
  for (const [key, value] of [
    ...EGRESS_CONFIG,
    ...(ambient
      ? [
          ["istio.dataplane", "ambient"],
          ["routing.gatewayApiCrdsFile", env("GATEWAY_API_CRDS")],
        ]
      : []),
  ]) {
    await stack.setConfig(key, { value }, true);
  }
  const res = await timed(`cold up (${stack.name})`, () =>
    stack.up({ onOutput: pulumiLog }),
  );
  check(res.summary.result === "succeeded", `up ended ${res.summary.result}`);
  const out = (await stack.outputs()).egressHosts?.value;
  check(
    out?.mode === "registry-only" && same(out?.hosts, [STRIPE, HTTPBIN]),
    `the egressHosts output is ${JSON.stringify(out)}`,
  );
  return stackObjects(stack);
}

/** Destroys a stack and checks that nothing of it (the egress namespace included) is left. */
async function destroy(stack: Stack, objects: StackObject[]): Promise<void> {
  await timed(`destroy (${stack.name})`, () =>
    stack.destroy({ onOutput: pulumiLog }),
  );
  await eventually(
    `namespace ${EGRESS} gone`,
    async () =>
      check(!(await kube.get(`/api/v1/namespaces/${EGRESS}`)), "remains"),
    120_000,
  );
  await checkDestroyed(objects);
  await stack.workspace.removeStack(stack.name);
}

/** Keys sorted, so that objects compare by content (the API server reorders fields). */
const canonical = (v: unknown): unknown =>
  Array.isArray(v)
    ? v.map(canonical)
    : v && typeof v === "object"
      ? Object.fromEntries(
          Object.keys(v)
            .sort()
            .map((k) => [k, canonical((v as Record<string, unknown>)[k])]),
        )
      : v;

/** The NetworkPolicies in the API server are the program's specs, as rendered (L2 here). */
async function checkNetworkPolicies(): Promise<string> {
  const mesh = ["istio-system", "istio-ingress", DEMO, EGRESS];
  // Both hosts are called on 443 by the gateway (httpbin.org with TLS origination).
  const want: Array<[string, string, unknown]> = [
    [DEMO, "egress-mesh-only", appEgressPolicySpec(mesh)],
    [EGRESS, "egress-gateway", gatewayEgressPolicySpec(mesh, [443, 443])],
  ];
  for (const [ns, name, spec] of want) {
    const np = await kube.get(
      `/apis/networking.k8s.io/v1/namespaces/${ns}/networkpolicies/${name}`,
    );
    check(np, `NetworkPolicy ${ns}/${name} is not in the API server`);
    check(
      same(canonical(np.spec), canonical(spec)),
      `NetworkPolicy ${ns}/${name} is ${JSON.stringify(np.spec)}, rendered ${JSON.stringify(spec)}`,
    );
  }
  // No other policy in the egress namespace: NetworkPolicies add up, and the gateway chart's own
  // (egress: allow all) would undo the limit to the hosts' ports.
  const inEgress = await kube.list(
    `/apis/networking.k8s.io/v1/namespaces/${EGRESS}/networkpolicies`,
  );
  check(
    same(
      inEgress.map((p) => p.metadata.name),
      ["egress-gateway"],
    ),
    `the egress namespace holds NetworkPolicies ${inEgress.map((p) => p.metadata.name).join(", ")}; only egress-gateway may be there`,
  );
  const all = await kube.list("/apis/networking.k8s.io/v1/networkpolicies");
  return all
    .map((p) => `${p.metadata.namespace}/${p.metadata.name}`)
    .join(", ");
}

/**
 * istiod (pilot-discovery) holds no socket off loopback now: it has not resolved or connected to
 * the hosts it configures (a snapshot of `ss`; the hosts are only names in its config).
 */
function checkIstiodLoopbackOnly(): string {
  const pid = fs
    .readFileSync(path.join(WORK, "kube", "istiod.pid"), "utf8")
    .trim();
  const sockets = execFileSync("ss", ["-Htunap"], { encoding: "utf8" })
    .split("\n")
    .filter((l) => l.includes(`pid=${pid},`));
  const loopback = (a: string) =>
    /^(127\.0\.0\.1|\[::ffff:127\.0\.0\.1\]|\*|0\.0\.0\.0|\[::\]):/.test(a);
  const off = sockets.filter((l) => {
    const [, , , , local, peer] = l.trim().split(/\s+/);
    return (
      !/^127\.0\.0\.1:|^\[::ffff:127\.0\.0\.1\]:/.test(local) || !loopback(peer)
    );
  });
  check(sockets.length > 0, `no socket of pilot-discovery (pid ${pid})`);
  check(off.length === 0, `istiod sockets off loopback: ${off.join("; ")}`);
  return `istiod's ${sockets.length} sockets all on 127.0.0.1`;
}

export async function egressScenarios(workDir: string): Promise<void> {
  const stack = await LocalWorkspace.createOrSelectStack({
    stackName: "egress",
    workDir,
  });
  let objects: StackObject[] = [];
  const upOk = await step(
    "32. egress with sidecars, registry-only, api.stripe.com (tls, callers backend) and httpbin.org (http, TLS origination, callers frontend): up from nothing succeeds, the egressHosts output lists both",
    async () => {
      objects = await upEgress(stack, false);
    },
  );
  await step(
    "33. the egress gateway's pod injected by istiod (router) and Ready; the NetworkPolicies as rendered; istioctl analyze reports no error",
    async () => {
      check(upOk, "the up failed");
      const ready = await eventually(
        "the egress gateway injected and Ready",
        () => checkInjectedAndReady(EGRESS, null),
        120_000,
      );
      log(`${ready.value} (${ready.seconds.toFixed(1)} s after the up)`);
      log(`NetworkPolicies: ${await checkNetworkPolicies()}`);
      await analyze();
    },
  );
  await step(
    "34. istiod's config for the callers' sidecars (frontend, backend): unknown hosts go to BlackHoleCluster (virtualOutbound catch-all; block_all vhosts), no PassthroughCluster route; backend's api.stripe.com:443 by SNI and frontend's httpbin.org:80 by route to the egress gateway's subsets, ISTIO_MUTUAL with the host as SNI; each scoped to its own host (no chain or route for the other's)",
    async () => {
      check(upOk, "the up failed");
      for (const [app, host] of [
        ["frontend", HTTPBIN],
        ["backend", STRIPE],
      ]) {
        await awaitChecked(await podOf(DEMO, { app }), app, (c) =>
          checkCallerSidecar(c, [host]),
        );
      }
    },
  );
  await step(
    "35. istiod's config for the egress gateway: outbound|443||api.stripe.com (TCP) and outbound|80||httpbin.org (TLS origination, SNI httpbin.org, endpoint :443); a chain per host's SNI with Istio mTLS requiring client certs; RBAC admitting exactly backend for api.stripe.com and frontend for httpbin.org, each with its SNI; destroy leaves nothing",
    async () => {
      try {
        check(upOk, "the up failed");
        const pod = await podOf(EGRESS, { app: "istio-egressgateway" });
        await awaitChecked(pod, "egressgateway", checkGateway);
        log(checkIstiodLoopbackOnly());
      } finally {
        await destroy(stack, objects);
      }
    },
  );
  await ambientScenario(workDir);
}

/** 36: ambient: the egress namespace's waypoint serves the ServiceEntries, each with its callers. */
async function ambientScenario(workDir: string): Promise<void> {
  const stack = await LocalWorkspace.createOrSelectStack({
    stackName: "egress-ambient",
    workDir,
  });
  let objects: StackObject[] = [];
  await step(
    "36. egress in ambient: up; the egress namespace's waypoint Ready; istiod's config for it: a chain per ServiceEntry (api.stripe.com:443 TCP, httpbin.org:80 HTTP with TLS origination to :443), each admitting exactly its host's caller; the NetworkPolicies as rendered; destroy leaves nothing",
    async () => {
      try {
        objects = await upEgress(stack, true);
        const waypoint = {
          "gateway.networking.k8s.io/gateway-name": "waypoint",
        };
        const { value: pod, seconds } = await eventually(
          "the egress waypoint Ready",
          async () => {
            const p = await podOf(EGRESS, waypoint);
            check(
              (p.status?.conditions ?? []).some(
                (c: any) => c.type === "Ready" && c.status === "True",
              ),
              "not Ready",
            );
            return p;
          },
          120_000,
        );
        log(`${pod.metadata.name} Ready ${seconds.toFixed(1)} s after the up`);
        await awaitChecked(pod, "waypoint", checkWaypoint);
        log(`NetworkPolicies: ${await checkNetworkPolicies()}`);
        log(checkIstiodLoopbackOnly());
      } finally {
        await destroy(stack, objects);
      }
    },
  );
}
