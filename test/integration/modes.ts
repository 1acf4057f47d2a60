// Scenarios 24-27: the other data plane and routing API, alone and together (sidecar with Istio's
// API is scenarios 1-20). Each mode's stack, with Bookinfo, the header canary and mirroring, goes
// up on the test bed awaiting readiness; then we read what the real istiod made of it: the status
// it wrote on the Gateway API and policy objects, and the config of the proxy that applies the
// canary (the frontend's sidecar, or the namespace's waypoint in ambient), of the ingress gateway
// and, in ambient, of ztunnel. A weight shift must update one resource and move that proxy's split.
import { execFileSync } from "child_process";
import { LocalWorkspace, type Stack } from "@pulumi/pulumi/automation";
import {
  analyze,
  baseConfig,
  check,
  env,
  KUBECONFIG,
  kube,
  log,
  pulumiLog,
  type StackObject,
  stackObjects,
  step,
  timed,
  upChangingOnly,
} from "./harness";
import {
  awaitProxyConfig,
  checkInjectedAndReady,
  eventually,
  meshHost,
  outboundRoutes,
  podOf,
  pods,
  proxyConfig,
} from "./controlPlane";
import type { Dataplane, RoutingApi } from "../../components/core";
import type { KubeObject } from "./kubeClient";
import { checkDestroyed } from "./lifecycle";
import {
  clusterWeights,
  httpConnectionManagers,
  protoMillis,
  type ProxyConfig,
  inboundRbac,
  rbacPolicies,
  readZtunnelConfig,
} from "./xds";

const DEMO = "mesh-demo";
const APP_NAMESPACES = [DEMO, "bookinfo"];
const XDS_BIN = env("TESTBED_XDS");
const XDS_ADDRESS = env("ISTIOD_XDS");
const spiffe = (ns: string, sa: string) =>
  `spiffe://cluster.local/ns/${ns}/sa/${sa}`;

/** The config the mode stacks share: 80/20 with a header canary, 10 % mirrored to v2, Bookinfo. */
const MODE_CONFIG: Array<[string, string]> = [
  ["canary.weights.v1", "80"],
  ["canary.weights.v2", "20"],
  ["canary.header.name", "x-canary"],
  ["canary.header.value", "always"],
  ["canary.header.version", "v2"],
  ["canary.mirror.version", "v2"],
  ["canary.mirror.percent", "10"],
  ["bookinfo.enabled", "true"],
];

/**
 * The routes a proxy applies to requests for `host`: the frontend sidecar's outbound route
 * (RDS), or the waypoint's, which istiod puts inline in the `main_internal` listener's chain for
 * the Service (a waypoint gets no RDS).
 */
function canaryRoutes(cfg: ProxyConfig, ambient: boolean, host: string) {
  if (!ambient) {
    return outboundRoutes(cfg, host, 80);
  }
  const hcm = waypointChain(cfg, host, 80);
  return hcm.route_config.virtual_hosts[0].routes as any[];
}

/** The HTTP connection manager a waypoint runs for traffic to one Service port. */
export function waypointChain(
  cfg: ProxyConfig,
  host: string,
  port: number,
): any {
  const internal = cfg.listeners.find((l) => l.name === "main_internal");
  check(internal, "the waypoint has no main_internal listener");
  const name = `inbound-vip|${port}|http|${host}`;
  const hcm = httpConnectionManagers(internal).find(
    (h) => h.route_config?.name === name,
  );
  check(hcm, `the waypoint has no chain for ${name}`);
  return hcm;
}

/** The cluster a version's traffic goes to: a subset of the Service, or the version's Service. */
function versionCluster(
  ambient: boolean,
  api: RoutingApi,
  service: string,
  version: string,
  ns = DEMO,
): string {
  const host =
    api === "istio"
      ? meshHost(service, ns)
      : meshHost(`${service}-${version}`, ns);
  const subset = api === "istio" ? version : "";
  return ambient
    ? `inbound-vip|80|http${subset ? `/${subset}` : ""}|${host}`
    : `outbound|80|${subset}|${host}`;
}

/** What istiod sends this ztunnel pod now. */
export const ztunnelConfig = (pod: KubeObject) =>
  readZtunnelConfig(
    XDS_BIN,
    KUBECONFIG,
    XDS_ADDRESS,
    `${pod.metadata.namespace}/${pod.metadata.name}`,
  );

/** The status conditions istiod wrote on an object, as "Type=Status" strings. */
export function conditions(
  obj: KubeObject | undefined,
  parent = false,
): string[] {
  const list = parent
    ? (obj?.status?.parents ?? []).flatMap((p: any) => p.conditions ?? [])
    : (obj?.status?.conditions ?? []);
  return list.map((c: any) => `${c.type}=${c.status}`);
}

/** An app namespace carries the mesh labels of its data plane, and not the other's. */
async function checkMeshLabels(
  ns: string,
  dataplane: Dataplane,
): Promise<void> {
  const labels: Record<string, string> =
    (await kube.get(`/api/v1/namespaces/${ns}`))?.metadata.labels ?? {};
  check(
    dataplane === "ambient"
      ? labels["istio.io/dataplane-mode"] === "ambient" &&
          labels["istio.io/use-waypoint"] === "waypoint" &&
          !labels["istio-injection"]
      : labels["istio-injection"] === "enabled" &&
          !labels["istio.io/dataplane-mode"],
    `${ns} is labelled ${JSON.stringify(labels)}`,
  );
}

/** Every pod of the app namespaces: no sidecar (ambient) or injected (sidecar), and Ready. */
export async function checkAppPods(
  dataplane: Dataplane,
  namespaces: readonly string[] = APP_NAMESPACES,
): Promise<string> {
  const lines: string[] = [];
  for (const ns of namespaces) {
    if (dataplane === "sidecar") {
      lines.push(await checkInjectedAndReady(ns, "istio-init"));
      continue;
    }
    const list = (await pods(ns)).filter((p) => !p.metadata.deletionTimestamp);
    const apps = list.filter(
      (p) => !p.metadata.labels?.["gateway.networking.k8s.io/gateway-name"],
    );
    for (const p of apps) {
      const names = [
        ...(p.spec.initContainers ?? []),
        ...(p.spec.containers ?? []),
      ].map((c: any) => c.name);
      check(
        !names.some((n: string) => n.startsWith("istio-")),
        `${ns}/${p.metadata.name} was given Istio containers in ambient: ${names.join(", ")}`,
      );
    }
    const waypoints = list.filter(
      (p) =>
        p.metadata.labels?.["gateway.networking.k8s.io/gateway-name"] ===
        "waypoint",
    );
    check(
      waypoints.length === 1,
      `${ns} has ${waypoints.length} waypoint pods`,
    );
    // Sized by istio.waypointResources (the chart's global.waypoint.resources).
    const proxy = waypoints[0].spec.containers.find(
      (c: any) => c.name === "istio-proxy",
    );
    check(
      JSON.stringify(proxy?.resources?.requests) ===
        JSON.stringify({ cpu: "10m", memory: "48Mi" }),
      `the waypoint requests ${JSON.stringify(proxy?.resources?.requests)}`,
    );
    for (const p of list) {
      const ready = (p.status?.conditions ?? []).find(
        (c: any) => c.type === "Ready",
      );
      check(ready?.status === "True", `${ns}/${p.metadata.name} is not Ready`);
    }
    lines.push(
      `${apps.length} app pods in ${ns} without a sidecar, and its waypoint, Ready`,
    );
  }
  return lines.join("; ");
}

/** One mode, from nothing to destroyed. */
async function modeScenario(
  n: number,
  workDir: string,
  dataplane: Dataplane,
  api: RoutingApi,
  /** Leave the stack up (for the switch scenario) instead of destroying it. */
  keepUp = false,
): Promise<{ stack: Stack; objects: StackObject[] } | undefined> {
  let kept: { stack: Stack; objects: StackObject[] } | undefined;
  const ambient = dataplane === "ambient";
  const name = `${dataplane}-${api}`;
  const stack: Stack = await LocalWorkspace.createOrSelectStack({
    stackName: name,
    workDir,
  });
  await step(
    `${n}. ${dataplane} data plane with ${api} routing: up awaits every release and workload, istiod accepts every object and computes the canary (80/20, header, mirror, timeout) for the ${ambient ? "waypoint" : "frontend's sidecar"}; a weight shift updates one resource and the split; ${keepUp ? "kept up for the switch" : "destroy"}`,
    async () => {
      await baseConfig(stack);
      for (const [key, value] of [
        ...MODE_CONFIG,
        ["istio.dataplane", dataplane],
        ["routing.api", api],
        // The test bed's offline copy of the pinned CRDs (build-gateway-api.sh).
        ...(ambient || api === "gateway-api"
          ? [["routing.gatewayApiCrdsFile", env("GATEWAY_API_CRDS")]]
          : []),
      ]) {
        await stack.setConfig(key, { value }, true);
      }
      if (api === "gateway-api" && !ambient) {
        await olderGatewayApiRefused(stack);
      }
      const res = await timed(`cold up (${name})`, () =>
        stack.up({ onOutput: pulumiLog }),
      );
      check(
        res.summary.result === "succeeded",
        `up ended ${res.summary.result}`,
      );
      const objects = await stackObjects(stack);

      // Namespaces, pods and the node agents.
      for (const ns of APP_NAMESPACES) {
        await checkMeshLabels(ns, dataplane);
      }
      log(
        await eventually(
          "the app pods Ready",
          () => checkAppPods(dataplane),
          120_000,
        ).then((x) => x.value),
      );
      if (ambient) {
        // The charts' DaemonSets: a Ready pod on every node.
        for (const name of ["ztunnel", "istio-cni-node"]) {
          const ds = await kube.get(
            `/apis/apps/v1/namespaces/istio-system/daemonsets/${name}`,
          );
          const st = ds?.status ?? {};
          check(
            st.desiredNumberScheduled > 0 &&
              st.numberReady === st.desiredNumberScheduled,
            `DaemonSet ${name}: ${st.numberReady ?? 0} of ${st.desiredNumberScheduled ?? 0} pods Ready`,
          );
        }
      }

      // What istiod wrote back on our objects.
      if (api === "gateway-api") {
        for (const [ns, route] of [
          [DEMO, "backend"],
          [DEMO, "frontend"],
          ["bookinfo", "reviews"],
          ["istio-ingress", "ingress-routes"],
        ]) {
          const got = await eventually(`${ns}/${route} accepted`, async () => {
            const o = await kube.get(
              `/apis/gateway.networking.k8s.io/v1/namespaces/${ns}/httproutes/${route}`,
            );
            const c = conditions(o, true);
            check(
              c.includes("Accepted=True") && c.includes("ResolvedRefs=True"),
              c.join(","),
            );
            return c;
          });
          log(`HTTPRoute ${ns}/${route}: ${got.value.join(", ")}`);
        }
      }
      for (const [ns, gw] of [
        ...(api === "gateway-api" ? [["istio-ingress", "mesh-gateway"]] : []),
        ...(ambient ? APP_NAMESPACES.map((ns) => [ns, "waypoint"]) : []),
      ]) {
        const { value } = await eventually(
          `${ns}/${gw} programmed`,
          async () => {
            const c = conditions(
              await kube.get(
                `/apis/gateway.networking.k8s.io/v1/namespaces/${ns}/gateways/${gw}`,
              ),
            );
            check(c.includes("Programmed=True"), c.join(","));
            return c;
          },
        );
        log(`Gateway ${ns}/${gw}: ${value.join(", ")}`);
      }
      if (ambient) {
        // Each service: L7 at the waypoint, L4 (only the waypoint may connect) at ztunnel.
        const policies = await kube.list(
          `/apis/security.istio.io/v1/namespaces/${DEMO}/authorizationpolicies`,
        );
        const want: Record<string, string> = {
          "deny-all": "ZtunnelAccepted=True",
          "backend-allow": "WaypointAccepted=True",
          "backend-allow-waypoint": "ZtunnelAccepted=True",
          "frontend-allow": "WaypointAccepted=True",
          "frontend-allow-waypoint": "ZtunnelAccepted=True",
        };
        for (const [policy, condition] of Object.entries(want)) {
          const { value } = await eventually(
            `${policy} ${condition}`,
            async () => {
              const p = (
                await kube.list(
                  `/apis/security.istio.io/v1/namespaces/${DEMO}/authorizationpolicies`,
                )
              ).find((x) => x.metadata.name === policy);
              const c = conditions(p);
              check(c.includes(condition), c.join(",") || "no status");
              return c;
            },
          );
          log(`AuthorizationPolicy ${DEMO}/${policy}: ${value.join(", ")}`);
        }
        check(policies.length === 5, `${policies.length} policies in ${DEMO}`);
      }

      // The canary, as the proxy that applies it receives it.
      const proxyPod = ambient
        ? await podOf(DEMO, {
            "gateway.networking.k8s.io/gateway-name": "waypoint",
          })
        : await podOf(DEMO, { app: "frontend" });
      const backend = meshHost("backend", DEMO);
      const split = (cfg: ProxyConfig) => {
        const routes = canaryRoutes(cfg, ambient, backend);
        return clusterWeights(routes[routes.length - 1]);
      };
      const v1 = versionCluster(ambient, api, "backend", "v1");
      const v2 = versionCluster(ambient, api, "backend", "v2");
      const { cfg, seconds } = await awaitProxyConfig(
        proxyPod,
        "the backend's canary",
        (c) => {
          try {
            return split(c)[v1] === 80;
          } catch {
            return false;
          }
        },
      );
      const routes = canaryRoutes(cfg, ambient, backend);
      const weighted = routes[routes.length - 1];
      check(
        routes.length === 2 &&
          JSON.stringify(routes[0].match?.headers ?? []).includes("x-canary"),
        `routes to the backend: ${routes.map((r: any) => r.name).join(", ")}`,
      );
      check(
        JSON.stringify(clusterWeights(routes[0])) ===
          JSON.stringify({ [v2]: 100 }),
        `the header route goes to ${JSON.stringify(clusterWeights(routes[0]))}`,
      );
      check(
        JSON.stringify(split(cfg)) === JSON.stringify({ [v1]: 80, [v2]: 20 }),
        `the split is ${JSON.stringify(split(cfg))}`,
      );
      const mirror = weighted.route.request_mirror_policies ?? [];
      check(
        mirror.length === 1 &&
          mirror[0].cluster === v2 &&
          mirror[0].runtime_fraction?.default_value?.numerator === 100_000 &&
          mirror[0].runtime_fraction?.default_value?.denominator === "MILLION",
        `mirroring ${JSON.stringify(mirror)}`,
      );
      check(
        protoMillis(weighted.route.timeout) === 10_000,
        `timeout ${weighted.route.timeout}`,
      );
      // Istio's retries (resilience.retries with Istio's API; Istio's default with HTTPRoute).
      check(
        weighted.route.retry_policy?.num_retries === 2,
        `retries ${JSON.stringify(weighted.route.retry_policy)}`,
      );
      log(
        `${proxyPod.metadata.name}: header x-canary -> ${v2}; ${JSON.stringify(split(cfg))}; mirror 10 % -> v2; timeout 10 s (read in ${seconds.toFixed(1)} s)`,
      );

      // Who may call the backend, where it is enforced.
      const rules = ambient
        ? rbacPolicies([waypointChain(cfg, backend, 80)])
        : inboundRbac(
            proxyConfig(await podOf(DEMO, { app: "backend", version: "v1" })),
            8080,
          );
      const allow = rules.filter((p) => /backend-allow/.test(p.name));
      check(
        allow.length === 1 &&
          JSON.stringify(allow[0].principals) ===
            JSON.stringify([spiffe(DEMO, "frontend")]) &&
          JSON.stringify(allow[0].methods) === JSON.stringify(["GET", "HEAD"]),
        `the backend's ALLOW at the ${ambient ? "waypoint" : "sidecar"}: ${JSON.stringify(allow)}`,
      );
      if (ambient && api === "gateway-api") {
        // A caller naming a version's Service is checked too.
        for (const v of ["v1", "v2"]) {
          const p = rbacPolicies([
            waypointChain(cfg, meshHost(`backend-${v}`, DEMO), 80),
          ]).filter((x) => /backend-allow/.test(x.name));
          check(
            p.length === 1,
            `backend-${v} is not protected at the waypoint`,
          );
        }
      }
      log(
        `backend admits ${allow[0].principals.join(", ")} (${allow[0].methods.join("/")}) at the ${ambient ? "waypoint" : "sidecar"}`,
      );

      if (ambient) {
        const zt = ztunnelConfig(
          await podOf("istio-system", { app: "ztunnel" }),
        );
        const auth = (name: string, ns = DEMO) =>
          zt.authorizations.find((a) => a.name === name && a.namespace === ns);
        check(
          auth("deny-all")?.scope === "NAMESPACE",
          "ztunnel lacks deny-all",
        );
        check(
          JSON.stringify(auth("backend-allow-waypoint")?.groups) ===
            JSON.stringify([
              {
                rules: [
                  {
                    matches: [
                      {
                        principals: [
                          { exact: `cluster.local/ns/${DEMO}/sa/waypoint` },
                        ],
                      },
                    ],
                  },
                ],
              },
            ]),
          `ztunnel's backend policy: ${JSON.stringify(auth("backend-allow-waypoint"))}`,
        );
        // STRICT mTLS without sidecars: ztunnel refuses connections without a peer identity.
        check(
          auth("istio_converted_static_strict", "istio-system")?.action ===
            "DENY",
          "ztunnel has no STRICT policy",
        );
        const svc = zt.addresses.find(
          (a) => a.service?.hostname === backend,
        )?.service;
        check(
          svc?.waypoint?.hostname?.hostname === meshHost("waypoint", DEMO) &&
            svc.ingress_use_waypoint === true,
          `ztunnel does not send the backend's traffic to the waypoint: ${JSON.stringify(svc)}`,
        );
        log(
          `ztunnel: deny-all, backend-allow-waypoint (only ${DEMO}/waypoint), STRICT as a DENY without identity; backend's Service served by the waypoint, ingress included`,
        );
      }

      // The ingress gateway routes the edge with the targets' weights and timeouts.
      const gateway = await podOf(
        "istio-ingress",
        api === "istio"
          ? { app: "istio-ingressgateway" }
          : { "gateway.networking.k8s.io/gateway-name": "mesh-gateway" },
      );
      const { cfg: gw } = await awaitProxyConfig(
        gateway,
        "the edge routes",
        (c) => c.routes.length > 0,
      );
      const edge = gw.routes.flatMap((rc: any) =>
        (rc.virtual_hosts ?? []).flatMap((vh: any) => vh.routes ?? []),
      );
      const frontendEdge = edge.find((r: any) => r.name === "frontend");
      check(
        frontendEdge &&
          Object.keys(clusterWeights(frontendEdge))[0] ===
            `outbound|80|${api === "istio" ? "v1" : ""}|${meshHost(api === "istio" ? "frontend" : "frontend-v1", DEMO)}` &&
          protoMillis(frontendEdge.route.timeout) === 10_000,
        `the gateway's frontend route: ${JSON.stringify(frontendEdge?.route)}`,
      );
      check(
        edge.filter((r: any) => r.name === "bookinfo").length >= 1,
        "the gateway has no Bookinfo route",
      );
      if (api === "gateway-api") {
        // istiod deployed the gateway with the parameters' overlays: size and Service type.
        const proxy = gateway.spec.containers.find(
          (c: any) => c.name === "istio-proxy",
        );
        check(
          JSON.stringify(proxy?.resources?.requests) ===
            JSON.stringify({ cpu: "50m", memory: "128Mi" }),
          `the gateway requests ${JSON.stringify(proxy?.resources?.requests)}`,
        );
        const svc = await kube.get(
          "/api/v1/namespaces/istio-ingress/services/mesh-gateway-istio",
        );
        check(
          svc?.spec.type === "ClusterIP",
          `the gateway's Service is ${svc?.spec.type}`,
        );
      }
      log(
        `ingress ${gateway.metadata.name}: ${edge.length} routes, frontend -> ${Object.keys(clusterWeights(frontendEdge))[0]}`,
      );

      await analyze();

      // The canary property, down to the proxy.
      await upChangingOnly(
        stack,
        `weight shift (${name})`,
        { "canary.weights.v1": "50", "canary.weights.v2": "50" },
        api === "istio"
          ? "VirtualService::backend-vs"
          : "HTTPRoute::backend-route",
      );
      const { seconds: pushed } = await awaitProxyConfig(
        proxyPod,
        "the 50/50 split",
        (c) => {
          try {
            const s = split(c);
            return s[v1] === 50 && s[v2] === 50;
          } catch {
            return false;
          }
        },
      );
      log(
        `50/50 in ${proxyPod.metadata.name}'s config ${pushed.toFixed(1)} s after the up`,
      );

      if (keepUp) {
        kept = { stack, objects };
        return;
      }
      await timed(`destroy (${name})`, () =>
        stack.destroy({ onOutput: pulumiLog }),
      );
      await checkDestroyed(objects);
      await stack.workspace.removeStack(name);
    },
  );
  return kept;
}

/**
 * Scenario 27: both switches at once on a live stack, ambient with the Gateway API back to
 * sidecars with Istio's API (the default), as a user would flip them: every app pod rolls and
 * comes back injected, the waypoints, ztunnel, istio-cni, HTTPRoutes, version Services and the
 * Gateway API CRDs go, and the frontend's sidecar gets the split the config holds.
 */
async function switchScenario(
  n: number,
  up: { stack: Stack; objects: StackObject[] } | undefined,
): Promise<void> {
  await step(
    `${n}. switching a live stack from ambient + gateway-api to sidecar + istio: pods roll back injected, the ambient and Gateway API objects go (the Gateway API CRDs stay, retained), frontend's sidecar routes the configured 50/50, a preview is then empty; destroy`,
    async () => {
      check(up, "skipped: the stack of the scenario before did not come up");
      const { stack } = up;
      await stack.setConfig("istio.dataplane", { value: "sidecar" }, true);
      await stack.setConfig("routing.api", { value: "istio" }, true);
      // Refused while set: nothing would use the file any more.
      await stack.removeConfig("routing.gatewayApiCrdsFile", true);
      const res = await timed("switch up (to sidecar + istio)", () =>
        stack.up({ onOutput: pulumiLog }),
      );
      check(
        res.summary.result === "succeeded",
        `up ended ${res.summary.result}`,
      );
      const after = await stackObjects(stack);
      for (const ns of APP_NAMESPACES) {
        const { value, seconds } = await eventually(
          `${ns}'s pods rolled back with sidecars`,
          () => checkInjectedAndReady(ns, "istio-init"),
          120_000,
        );
        log(`${value} (${seconds.toFixed(1)} s after the up)`);
        await checkMeshLabels(ns, "sidecar");
      }
      const daemonSets = await kube.list(
        "/apis/apps/v1/namespaces/istio-system/daemonsets",
      );
      check(
        daemonSets.length === 0,
        `DaemonSets left: ${daemonSets.map((d) => d.metadata.name).join(", ")}`,
      );
      // The Gateway API CRDs stay: other teams' Gateways and routes live in them.
      check(
        Boolean(
          await kube.get(
            "/apis/apiextensions.k8s.io/v1/customresourcedefinitions/httproutes.gateway.networking.k8s.io",
          ),
        ),
        "switching back to the Istio API deleted the Gateway API CRDs (retainOnDelete must keep them)",
      );
      check(
        !(await kube.get(`/api/v1/namespaces/${DEMO}/services/backend-v1`)),
        "the version Service backend-v1 is left",
      );
      const frontend = await podOf(DEMO, { app: "frontend" });
      const backend = meshHost("backend", DEMO);
      const { seconds } = await awaitProxyConfig(
        frontend,
        "50/50 over the subsets",
        (c) => {
          try {
            const routes = outboundRoutes(c, backend, 80);
            const w = clusterWeights(routes[routes.length - 1]);
            return (
              w[`outbound|80|v1|${backend}`] === 50 &&
              w[`outbound|80|v2|${backend}`] === 50
            );
          } catch {
            return false;
          }
        },
      );
      log(
        `frontend's sidecar routes 50/50 over the subsets (${seconds.toFixed(1)} s)`,
      );
      const preview = await stack.preview();
      check(
        Object.keys(preview.changeSummary).every((k) => k === "same"),
        `after the switch a preview wants ${JSON.stringify(preview.changeSummary)}`,
      );
      await timed("destroy (switched)", () =>
        stack.destroy({ onOutput: pulumiLog }),
      );
      await checkDestroyed([...up.objects, ...after]);
      await stack.workspace.removeStack(stack.name);
    },
  );
}

const GATEWAY_CRD = "gateways.gateway.networking.k8s.io";
const BUNDLE_VERSION = "gateway.networking.k8s.io/bundle-version";

/**
 * The Gateway API CRDs an earlier mode installed are still there (retained). Made to look older
 * than the pinned bundle, they stop a preview before any change, naming both versions; then the
 * real annotation is put back, and the up that follows adopts them.
 */
async function olderGatewayApiRefused(stack: Stack): Promise<void> {
  const crd = await kube.get(
    `/apis/apiextensions.k8s.io/v1/customresourcedefinitions/${GATEWAY_CRD}`,
  );
  if (!crd) {
    log(
      "no Gateway API CRDs installed yet (scenario run alone): refusal not checked",
    );
    return;
  }
  const real = crd.metadata.annotations?.[BUNDLE_VERSION] ?? "";
  const annotate = (v: string) =>
    execFileSync("kubectl", [
      "annotate",
      "crd",
      GATEWAY_CRD,
      `${BUNDLE_VERSION}=${v}`,
      "--overwrite",
    ]);
  annotate("v1.0.0");
  try {
    const refused = await stack.preview({ onOutput: pulumiLog }).then(
      () => "",
      (e: Error) => String(e.message),
    );
    check(
      /Gateway API CRDs \(nothing was deployed\): the cluster's Gateway API CRDs are v1\.0\.0 \(standard channel\), older than v1\.5\.1/.test(
        refused,
      ),
      `a preview with older Gateway API CRDs was not refused: ${refused.slice(-400)}`,
    );
    const state = await stack.exportStack();
    check(
      (state.deployment.resources ?? []).length === 0,
      "the refused preview left resources in the state",
    );
    log("older Gateway API CRDs (v1.0.0) refused before any change");
  } finally {
    annotate(real);
  }
}

/** Scenarios 24-27: each mode on a stack of its own, then a live switch; `only` picks by number (for debugging). */
export async function modeScenarios(
  workDir: string,
  only: readonly string[] = [],
): Promise<void> {
  const modes: Array<[number, Dataplane, RoutingApi]> = [
    [24, "ambient", "istio"],
    [25, "sidecar", "gateway-api"],
    [26, "ambient", "gateway-api"],
  ];
  const wanted = (n: number) => only.length === 0 || only.includes(String(n));
  let last: { stack: Stack; objects: StackObject[] } | undefined;
  for (const [n, dataplane, api] of modes) {
    if (wanted(n)) {
      // The last mode's stack stays up for the switch back (27), which destroys it.
      last = await modeScenario(
        n,
        workDir,
        dataplane,
        api,
        n === 26 && wanted(27),
      );
    }
  }
  if (wanted(27)) {
    await switchScenario(27, last);
  }
}
