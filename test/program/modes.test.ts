// The data plane (sidecar, ambient) and routing API (istio, gateway-api) modes: what each renders,
// in which order, and the canary property in all four combinations.
import * as assert from "assert";
import {
  gatewayApiCrdsUrl,
  gatewayApiVersionFor,
  type HTTPRouteSpec,
  type KubernetesGatewaySpec,
  principal,
  waypointPrincipal,
} from "../../components/core";
import { ISTIO_DEFAULTS } from "../../components/config";
import type { IstiodValues } from "../../components/specs";
import {
  byType,
  changedResources,
  deployments,
  istioResources,
  named,
  namespaces,
  ref,
  release,
  releases,
  services,
  specOf,
  TYPE,
  type K8sObject,
} from "../support/finders";
import {
  type RecordedResource,
  type Rendering,
  renderProgram,
} from "../support/mocks";
import { MODE_STACK } from "./golden.test";

const GATEWAY_API = "gateway.networking.k8s.io/v1";
const CONFIG_FILE = "kubernetes:yaml/v2:ConfigFile";
const HTTPROUTE = `kubernetes:${GATEWAY_API}:HTTPRoute`;
const K8S_GATEWAY = `kubernetes:${GATEWAY_API}:Gateway`;
const GRANT = `kubernetes:${GATEWAY_API}:ReferenceGrant`;

type GatewayInputs = K8sObject<KubernetesGatewaySpec>;
type RouteInputs = K8sObject<HTTPRouteSpec>;

const MODES = [
  ["sidecar", "istio"],
  ["ambient", "istio"],
  ["sidecar", "gateway-api"],
  ["ambient", "gateway-api"],
] as const;

const rendered = new Map<string, Promise<Rendering>>();
/** A mode's stack (MODE_STACK: Bookinfo, header canary, mirroring), rendered once. */
function renderMode(dataplane: string, api: string): Promise<Rendering> {
  const key = `${dataplane}/${api}`;
  if (!rendered.has(key)) {
    rendered.set(key, renderProgram(MODE_STACK(dataplane, api)));
  }
  return rendered.get(key)!;
}

const dependsOn = (
  x: RecordedResource<unknown>,
  y: RecordedResource<unknown>,
) => x.dependsOn.includes(ref(y));

describe("the ambient data plane", () => {
  let r: Rendering;
  before(async () => {
    r = await renderMode("ambient", "istio");
  });

  it("WHEN ambient THEN base, istiod (ambient profile), istio-cni (ambient profile) and ztunnel install in that order, each waiting for the one before", () => {
    const base = release(r, "istio-base");
    const istiod = release<IstiodValues>(r, "istiod");
    const cni = release(r, "istio-cni");
    const ztunnel = release(r, "ztunnel");
    assert.ok(dependsOn(istiod, base), "istiod waits for base");
    assert.ok(dependsOn(cni, istiod), "cni waits for istiod");
    assert.ok(dependsOn(ztunnel, cni), "ztunnel waits for cni");
    assert.strictEqual(istiod.inputs.values.profile, "ambient");
    assert.strictEqual(cni.inputs.values.profile, "ambient");
    // Waypoints are Gateway API Gateways: their CRDs go in before istiod, which watches them.
    const crds = one(byType(r, CONFIG_FILE));
    assert.deepStrictEqual(crds.inputs, {
      file: gatewayApiCrdsUrl(gatewayApiVersionFor(ISTIO_DEFAULTS.version)),
    });
    assert.ok(dependsOn(istiod, crds));
    assert.strictEqual(
      istiod.inputs.values.env.PILOT_ENABLE_GATEWAY_API_DEPLOYMENT_CONTROLLER,
      "true",
    );
  });

  it("WHEN ambient THEN ztunnel and waypoints are sized for a laptop, not the charts' defaults", () => {
    const ztunnel = release<{ resources: { requests: object } }>(r, "ztunnel");
    assert.deepStrictEqual(ztunnel.inputs.values.resources.requests, {
      cpu: "10m",
      memory: "32Mi",
    });
    const istiod = release<IstiodValues>(r, "istiod");
    assert.deepStrictEqual(istiod.inputs.values.global.waypoint, {
      resources: {
        requests: { cpu: "10m", memory: "48Mi" },
        limits: { cpu: "1000m", memory: "256Mi" },
      },
    });
  });

  it("WHEN ambient THEN app namespaces join the ambient mesh through their waypoint, with no injection label, under the restricted standard", () => {
    for (const ns of ["mesh-demo", "bookinfo"]) {
      const labels = named(namespaces(r), ns).inputs.metadata.labels ?? {};
      assert.strictEqual(labels["istio.io/dataplane-mode"], "ambient", ns);
      assert.strictEqual(labels["istio.io/use-waypoint"], "waypoint", ns);
      assert.strictEqual(labels["istio.io/ingress-use-waypoint"], "true", ns);
      assert.strictEqual(labels["istio-injection"], undefined, ns);
      assert.strictEqual(
        labels["pod-security.kubernetes.io/enforce"],
        "restricted",
        ns,
      );
      const waypoint = named(
        byType<GatewayInputs>(r, K8S_GATEWAY),
        "waypoint",
        ns,
      );
      assert.strictEqual(
        waypoint.inputs.spec.gatewayClassName,
        "istio-waypoint",
      );
      assert.deepStrictEqual(waypoint.inputs.spec.listeners, [
        { name: "mesh", port: 15008, protocol: "HBONE" },
      ]);
      assert.deepStrictEqual(waypoint.inputs.metadata.labels, {
        "istio.io/waypoint-for": "service",
      });
    }
    // The ingress gateway keeps its injected namespace.
    const ingress = named(namespaces(r), "istio-ingress").inputs.metadata
      .labels;
    assert.strictEqual(ingress?.["istio-injection"], "enabled");
  });

  it("WHEN ambient THEN every app pod waits for ztunnel, which captures its traffic", () => {
    const ztunnel = release(r, "ztunnel");
    const apps = deployments(r).filter((d) =>
      ["mesh-demo", "bookinfo"].includes(d.inputs.metadata.namespace ?? ""),
    );
    assert.strictEqual(apps.length, 9);
    for (const d of apps) {
      assert.ok(dependsOn(d, ztunnel), `${d.name} waits for ztunnel`);
    }
  });

  it("WHEN ambient THEN each service's callers are checked at the waypoint (L7, targetRefs) and only the waypoint reaches its pods (L4, ztunnel)", () => {
    const l7 = specOf(r, "AuthorizationPolicy", "backend-allow", "mesh-demo");
    assert.strictEqual(l7.selector, undefined);
    assert.deepStrictEqual(l7.targetRefs, [
      { group: "", kind: "Service", name: "backend" },
    ]);
    assert.deepStrictEqual(l7.rules?.[0].from?.[0].source.principals, [
      principal("mesh-demo", "frontend"),
    ]);
    assert.deepStrictEqual(l7.rules?.[0].to?.[0].operation.methods, [
      "GET",
      "HEAD",
    ]);
    const l4 = specOf(
      r,
      "AuthorizationPolicy",
      "backend-allow-waypoint",
      "mesh-demo",
    );
    assert.deepStrictEqual(l4, {
      selector: { matchLabels: { app: "backend" } },
      action: "ALLOW",
      rules: [
        {
          from: [{ source: { principals: [waypointPrincipal("mesh-demo")] } }],
        },
      ],
    });
    // No policy on a selector names HTTP: ztunnel would enforce it as a deny.
    for (const p of istioResources(r, "AuthorizationPolicy")) {
      const spec = p.inputs.spec;
      if (spec.selector && p.inputs.metadata.namespace !== "istio-ingress") {
        assert.ok(
          (spec.rules ?? []).every((rule) => !rule.to),
          `${p.name} selects workloads and names operations`,
        );
      }
    }
  });

  it("WHEN ambient THEN the canary stays a VirtualService over DestinationRule subsets, consumed by the waypoint, without sidecar-only TLS settings", () => {
    const dr = specOf(r, "DestinationRule", "backend", "mesh-demo");
    assert.strictEqual(dr.trafficPolicy.tls, undefined);
    assert.deepStrictEqual(
      (dr.subsets ?? []).map((s) => s.name),
      ["v1", "v2"],
    );
    const vs = specOf(r, "VirtualService", "backend", "mesh-demo");
    assert.deepStrictEqual(
      vs.http.map((h) => h.name),
      ["header-1-v2", "weighted"],
    );
  });
});

describe("Gateway API routing", () => {
  let r: Rendering;
  before(async () => {
    r = await renderMode("sidecar", "gateway-api");
  });

  it("WHEN gateway-api THEN there is no VirtualService, no Istio Gateway and no gateway chart", () => {
    assert.deepStrictEqual(istioResources(r, "VirtualService"), []);
    assert.deepStrictEqual(istioResources(r, "Gateway"), []);
    assert.ok(
      !releases(r).some((x) => x.inputs.name === "istio-ingressgateway"),
    );
  });

  it("WHEN gateway-api THEN each version has a Service of its own, with a traffic-policy-only DestinationRule", () => {
    for (const v of ["v1", "v2"]) {
      const svc = named(services(r), `backend-${v}`, "mesh-demo");
      assert.deepStrictEqual(svc.inputs.spec.selector, {
        app: "backend",
        version: v,
      });
      const dr = specOf(r, "DestinationRule", `backend-${v}`, "mesh-demo");
      assert.strictEqual(dr.host, `backend-${v}.mesh-demo.svc.cluster.local`);
      assert.strictEqual(dr.subsets, undefined);
      assert.deepStrictEqual(dr.trafficPolicy.tls, { mode: "ISTIO_MUTUAL" });
    }
  });

  it("WHEN gateway-api THEN the backend's HTTPRoute has the Service as parent, the header canary ahead of the weighted rule, mirroring and the timeout", () => {
    const route = named(
      byType<RouteInputs>(r, HTTPROUTE),
      "backend",
      "mesh-demo",
    );
    const spec = route.inputs.spec;
    assert.deepStrictEqual(spec.parentRefs, [
      { group: "", kind: "Service", name: "backend", port: 80 },
    ]);
    assert.deepStrictEqual(
      spec.rules.map((x) => x.name),
      ["header-1-v2", "weighted"],
    );
    assert.deepStrictEqual(spec.rules[0].matches, [
      { headers: [{ type: "Exact", name: "x-canary", value: "always" }] },
    ]);
    assert.deepStrictEqual(spec.rules[0].backendRefs, [
      { name: "backend-v2", port: 80 },
    ]);
    assert.deepStrictEqual(spec.rules[1].backendRefs, [
      { name: "backend-v1", port: 80, weight: 80 },
      { name: "backend-v2", port: 80, weight: 20 },
    ]);
    assert.deepStrictEqual(spec.rules[1].filters, [
      {
        type: "RequestMirror",
        requestMirror: {
          backendRef: { name: "backend-v2", port: 80 },
          percent: 10,
        },
      },
    ]);
    assert.deepStrictEqual(spec.rules[1].timeouts, { request: "10s" });
    // The route waits for the Services it names.
    for (const s of ["backend", "backend-v1", "backend-v2"]) {
      assert.ok(dependsOn(route, named(services(r), s, "mesh-demo")), s);
    }
  });

  it("WHEN gateway-api THEN the ingress is a Gateway of class istio, sized and typed by its parameters, with one HTTPRoute granted into each app namespace", () => {
    const gw = named(
      byType<GatewayInputs>(r, K8S_GATEWAY),
      "mesh-gateway",
      "istio-ingress",
    );
    assert.strictEqual(gw.inputs.spec.gatewayClassName, "istio");
    assert.deepStrictEqual(gw.inputs.spec.infrastructure, {
      parametersRef: {
        group: "",
        kind: "ConfigMap",
        name: "mesh-gateway-params",
      },
    });
    const params = named(
      byType<{ metadata: { name: string }; data: Record<string, string> }>(
        r,
        TYPE.configMap,
      ),
      "mesh-gateway-params",
      "istio-ingress",
    );
    assert.ok(
      dependsOn(gw, params),
      "the parameters exist before istiod deploys the gateway",
    );
    assert.deepStrictEqual(JSON.parse(params.inputs.data.service), {
      spec: { type: "ClusterIP" },
    });
    const edge = named(
      byType<RouteInputs>(r, HTTPROUTE),
      "ingress-routes",
      "istio-ingress",
    );
    assert.deepStrictEqual(
      edge.inputs.spec.rules.map((x) => [
        x.name,
        x.backendRefs.map((b) => `${b.namespace}/${b.name}`),
      ]),
      [
        ["bookinfo", ["bookinfo/productpage-v1"]],
        ["frontend", ["mesh-demo/frontend-v1"]],
      ],
    );
    for (const ns of ["mesh-demo", "bookinfo"]) {
      const grant = named(
        byType<K8sObject<{ from: { namespace: string }[] }>>(r, GRANT),
        "ingress-routes",
        ns,
      );
      assert.deepStrictEqual(
        grant.inputs.spec.from.map((f) => f.namespace),
        ["istio-ingress"],
      );
    }
    // Policies name the account istiod's deployment controller gives the gateway.
    const frontend = specOf(
      r,
      "AuthorizationPolicy",
      "frontend-allow",
      "mesh-demo",
    );
    assert.deepStrictEqual(frontend.rules?.[0].from?.[0].source.principals, [
      principal("istio-ingress", "mesh-gateway-istio"),
    ]);
    assert.strictEqual(
      r.outputs.portForwardCommand,
      "kubectl -n istio-ingress port-forward svc/mesh-gateway-istio 8080:80",
    );
  });

  it("WHEN every Gateway API resource is deployed THEN it waits for the Gateway API CRDs and istiod", () => {
    const crds = one(byType(r, CONFIG_FILE));
    const istiod = release(r, "istiod");
    const all = [
      ...byType(r, HTTPROUTE),
      ...byType(r, K8S_GATEWAY),
      ...byType(r, GRANT),
    ];
    assert.strictEqual(all.length, 10);
    for (const x of all) {
      assert.ok(dependsOn(x, crds) && dependsOn(x, istiod), x.name);
    }
  });
});

describe("the Gateway API CRDs' source", () => {
  it("WHEN neither mode uses the Gateway API THEN none are installed and istiod deploys no gateways", async () => {
    const r = await renderMode("sidecar", "istio");
    assert.deepStrictEqual(byType(r, CONFIG_FILE), []);
    assert.strictEqual(
      release<IstiodValues>(r, "istiod").inputs.values.env
        .PILOT_ENABLE_GATEWAY_API_DEPLOYMENT_CONTROLLER,
      "false",
    );
  });

  it("WHEN a local copy is named THEN it is installed from that file; WHEN the cluster has them THEN nothing is installed or waited for", async () => {
    const local = await renderProgram({
      ...MODE_STACK("sidecar", "gateway-api"),
      routing: { api: "gateway-api", gatewayApiCrdsFile: "package.json" },
    });
    assert.deepStrictEqual(one(byType(local, CONFIG_FILE)).inputs, {
      file: `${process.cwd()}/package.json`,
    });
    const cluster = await withInstalledGatewayApi(
      `${gatewayApiVersionFor(ISTIO_DEFAULTS.version)} standard`,
      () =>
        renderProgram({
          ...MODE_STACK("ambient", "gateway-api"),
          routing: { api: "gateway-api", gatewayApiCrds: "cluster" },
        }),
    );
    assert.deepStrictEqual(byType(cluster, CONFIG_FILE), []);
    const route = named(
      byType<RouteInputs>(cluster, HTTPROUTE),
      "backend",
      "mesh-demo",
    );
    assert.deepStrictEqual(
      route.dependsOn.filter((d) => d.includes("ConfigFile")),
      [],
    );
  });
});

describe("switching the data plane of a deployed stack", () => {
  it("WHEN istio.dataplane changes THEN every app Deployment's pod template changes, so its pods come back with or without a sidecar", async () => {
    const sidecar = await renderMode("sidecar", "istio");
    const ambient = await renderMode("ambient", "istio");
    const templates = (r: Rendering) =>
      deployments(r)
        .filter((d) =>
          ["mesh-demo", "bookinfo"].includes(d.inputs.metadata.namespace ?? ""),
        )
        .map((d) => [d.name, d.inputs.spec.template.metadata?.annotations]);
    assert.strictEqual(templates(sidecar).length, 9);
    assert.ok(templates(sidecar).every(([, a]) => a === undefined));
    assert.ok(
      templates(ambient).every(
        ([, a]) =>
          JSON.stringify(a) ===
          JSON.stringify({ "service-mesh/dataplane": "ambient" }),
      ),
    );
  });
});

describe("the canary property in every mode", () => {
  for (const [dataplane, api] of MODES) {
    it(`WHEN ${dataplane} with ${api} routing AND only the weights change THEN exactly one resource changes, the one holding the weights`, async () => {
      const before = await renderMode(dataplane, api);
      const stack = MODE_STACK(dataplane, api);
      const after = await renderProgram({
        ...stack,
        canary: {
          ...(stack.canary as object),
          weights: { v1: 50, v2: 50 },
        },
      });
      const holder =
        api === "istio"
          ? "kubernetes:networking.istio.io/v1:VirtualService::backend-vs"
          : `${HTTPROUTE}::backend-route`;
      assert.deepStrictEqual(changedResources(before, after), [holder]);
    });
  }
});

function one<T>(list: T[]): T {
  assert.strictEqual(list.length, 1);
  return list[0];
}

/** Renders with the stand-in kubectl reporting this bundle ("<version> <channel>") installed. */
async function withInstalledGatewayApi<T>(
  bundle: string,
  fn: () => Promise<T>,
): Promise<T> {
  process.env.STANDIN_GATEWAY_API = bundle;
  try {
    return await fn();
  } finally {
    delete process.env.STANDIN_GATEWAY_API;
  }
}

describe("the Gateway API CRDs are the cluster's, shared with other teams", () => {
  const stack = MODE_STACK("sidecar", "gateway-api");
  const wanted = gatewayApiVersionFor(ISTIO_DEFAULTS.version);

  it("WHEN the stack installs them THEN they are retained on delete (destroy or a switch back to the Istio API keeps every team's Gateways and routes)", async () => {
    const r = await renderProgram(stack);
    assert.strictEqual(one(byType(r, CONFIG_FILE)).retainOnDelete, true);
  });

  it("WHEN the cluster already has the pinned bundle THEN the stack adopts it (installs the same file)", async () => {
    const r = await withInstalledGatewayApi(`${wanted} standard`, () =>
      renderProgram(stack),
    );
    assert.strictEqual(one(byType(r, CONFIG_FILE)).retainOnDelete, true);
  });

  it("WHEN the cluster has a newer or an experimental bundle THEN the stack leaves it alone and installs nothing", async () => {
    for (const bundle of ["v9.0.0 standard", `${wanted} experimental`]) {
      const r = await withInstalledGatewayApi(bundle, () =>
        renderProgram(stack),
      );
      assert.deepStrictEqual(byType(r, CONFIG_FILE), [], bundle);
    }
  });

  it("WHEN the cluster has an older bundle THEN the program stops before any resource, naming the versions and the upgrade command", async () => {
    await assert.rejects(
      withInstalledGatewayApi("v1.0.0 standard", () => renderProgram(stack)),
      (e: Error & { recorded: RecordedResource[] }) => {
        assert.match(
          e.message,
          /v1\.0\.0 \(standard channel\), older than v1\.\d+\.\d+/,
        );
        assert.match(e.message, /kubectl apply --server-side -f https:\/\//);
        assert.deepStrictEqual(
          e.recorded.map((x) => x.type),
          ["pulumi:pulumi:Stack"],
        );
        return true;
      },
    );
  });
});

describe("the stack's Kubernetes provider", () => {
  it("WHEN any stack is rendered THEN its provider forces server-side apply (patchForce reaches remote components' children) and adopts an object an interrupted up left unrecorded (upsertExistingObjects; provider 4.29+ refuses it otherwise)", async () => {
    const r = await renderProgram(MODE_STACK("sidecar", "istio"));
    const k8s = one(
      r.resources.filter(
        (x) => x.type === "pulumi:providers:kubernetes" && x.name === "k8s",
      ),
    );
    assert.strictEqual(k8s.inputs.enablePatchForce, "true");
    assert.strictEqual(k8s.inputs.upsertExistingObjects, "true");
    assert.deepStrictEqual(
      r.resources
        .filter((x) => x.type === "pulumi:providers:kubernetes")
        .map((x) => x.name),
      ["k8s"],
    );
  });
});
