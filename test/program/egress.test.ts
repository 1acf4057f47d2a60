// Egress control through the whole program: the resources of each host, the order (the gateway
// after istiod), who may use the gateway, REGISTRY_ONLY, the NetworkPolicies, ambient's waypoint,
// and that egress leaves the canary property intact.
import * as assert from "assert";
import { validateConfig } from "../../components/config";
import { problems } from "../support/configProblems";
import {
  byType,
  changedResources,
  named,
  release,
  specOf,
} from "../support/finders";
import { DEV_CONFIG, type Rendering, renderProgram } from "../support/mocks";

const EGRESS = {
  mode: "registry-only",
  hosts: {
    "api.stripe.com": { port: 443, protocol: "tls", callers: ["backend"] },
    "httpbin.org": {
      port: 80,
      protocol: "http",
      callers: ["frontend"],
      originateTls: true,
    },
  },
};
const CONFIG = { ...DEV_CONFIG, egress: EGRESS };
const GATEWAY_HOST = "istio-egressgateway.istio-egress.svc.cluster.local";
const FRONTEND = "cluster.local/ns/mesh-demo/sa/frontend";
const BACKEND = "cluster.local/ns/mesh-demo/sa/backend";

let shared: Promise<Rendering> | undefined;
const rendered = () => (shared ??= renderProgram(CONFIG));

function refused(raw: Record<string, unknown>, ...fragments: string[]) {
  const found = problems(raw);
  assert.ok(
    found.some((p) => fragments.every((f) => p.includes(f))),
    `expected a problem with ${fragments.join(" / ")}; got:\n${found.join("\n")}`,
  );
}
const withHost = (
  host: string,
  entry: Record<string, unknown>,
  extra = {},
) => ({
  ...DEV_CONFIG,
  egress: { hosts: { [host]: entry }, ...extra },
});

describe("config: egress", () => {
  it("WHEN the issue's two hosts are given THEN defaults apply and callers resolve to principals", () => {
    const e = validateConfig(CONFIG).egress;
    assert.strictEqual(e.namespace, "istio-egress");
    assert.strictEqual(e.networkPolicies, true);
    assert.deepStrictEqual(
      e.hosts.map((h) => [
        h.host,
        h.port,
        h.protocol,
        h.originateTls,
        h.allowedPrincipals,
      ]),
      [
        ["api.stripe.com", 443, "tls", false, [BACKEND]],
        ["httpbin.org", 80, "http", true, [FRONTEND]],
      ],
    );
  });

  it("WHEN a host is a wildcard, an IP or not a DNS name THEN it is refused with the reason", () => {
    refused(withHost("*.stripe.com", {}), "wildcard hosts are not supported");
    refused(withHost("10.0.0.1", {}), "must be a lowercase DNS name");
    refused(withHost("localhost", {}), "must be a lowercase DNS name");
  });

  it("WHEN a port is out of range or the proxy's own THEN it is refused", () => {
    refused(
      withHost("a.example.com", { port: 70000 }),
      'egress.hosts["a.example.com"].port',
    );
    refused(
      withHost("a.example.com", { port: 15021 }),
      "a port Istio's proxies and control plane use",
    );
  });

  it("WHEN originateTls is asked for a tls host THEN it is refused", () => {
    refused(
      withHost("a.example.com", { protocol: "tls", originateTls: true }),
      "originateTls is true but",
      "protocol is tls",
    );
  });

  it("WHEN a caller is unknown, or is the ingress THEN it is refused", () => {
    refused(
      withHost("a.example.com", { callers: ["billing"] }),
      'egress.hosts["a.example.com"].callers has "billing"',
    );
    refused(
      withHost("a.example.com", { callers: ["ingress"] }),
      "the ingress gateway forwards into the mesh",
    );
  });

  it("WHEN two hosts share a port with different protocols THEN it is refused", () => {
    refused(
      {
        ...DEV_CONFIG,
        egress: {
          hosts: {
            "a.example.com": { port: 8443, protocol: "tls" },
            "b.example.com": { port: 8443, protocol: "http" },
          },
        },
      },
      "both use port 8443",
    );
  });

  it("WHEN two hosts would name their resources alike THEN it is refused", () => {
    refused(
      {
        ...DEV_CONFIG,
        egress: { hosts: { "a-b.example.com": {}, "a.b.example.com": {} } },
      },
      'would both name their resources "a-b-example-com"',
    );
  });

  it("WHEN egress.namespace is an app's or the ingress's THEN it is refused", () => {
    refused(
      { ...CONFIG, egress: { ...EGRESS, namespace: "mesh-demo" } },
      "egress.namespace must be a namespace of its own",
    );
    refused(
      { ...CONFIG, egress: { ...EGRESS, namespace: "istio-ingress" } },
      "egress.namespace must be a namespace of its own",
    );
  });
});

describe("program: egress", () => {
  it("WHEN registry-only THEN istiod's mesh config says REGISTRY_ONLY; by default it says nothing", async () => {
    const r = await rendered();
    const mesh = (
      release(r, "istiod").inputs.values as {
        meshConfig: Record<string, unknown>;
      }
    ).meshConfig;
    assert.deepStrictEqual(mesh.outboundTrafficPolicy, {
      mode: "REGISTRY_ONLY",
    });
    const plain = await renderProgram(DEV_CONFIG);
    const plainMesh = (
      release(plain, "istiod").inputs.values as {
        meshConfig: Record<string, unknown>;
      }
    ).meshConfig;
    assert.strictEqual(plainMesh.outboundTrafficPolicy, undefined);
    assert.strictEqual(plain.outputs.egressHosts, null);
  });

  it("WHEN hosts are listed THEN the egress gateway is Istio's gateway chart, ClusterIP, with a port per host port, after istiod", async () => {
    const r = await rendered();
    const gw = release(r, "istio-egressgateway");
    assert.strictEqual(gw.inputs.namespace, "istio-egress");
    const values = gw.inputs.values as {
      service: { type: string; ports: { name: string; port: number }[] };
    };
    assert.strictEqual(values.service.type, "ClusterIP");
    // The chart's own NetworkPolicy allows all egress and would undo the stack's limit.
    assert.deepStrictEqual(
      (gw.inputs.values as { global: { networkPolicy: unknown } }).global
        .networkPolicy,
      { enabled: false },
    );
    assert.deepStrictEqual(
      values.service.ports.map((p) => [p.name, p.port]),
      [
        ["status-port", 15021],
        ["tls-443", 443],
        ["http-80", 80],
      ],
    );
    assert.ok(
      gw.dependsOn.includes(`kubernetes:helm.sh/v3:Release::istio-istiod`),
      gw.dependsOn.join(", "),
    );
  });

  it("WHEN a tls host is listed THEN sidecars send it by SNI to its gateway subset and the gateway forwards it as TCP", async () => {
    const r = await rendered();
    const se = specOf(r, "ServiceEntry", "api-stripe-com", "istio-egress");
    assert.deepStrictEqual(se, {
      hosts: ["api.stripe.com"],
      location: "MESH_EXTERNAL",
      resolution: "DNS",
      ports: [{ number: 443, name: "tls-443", protocol: "TLS" }],
    });
    const vs = specOf(r, "VirtualService", "api-stripe-com", "istio-egress");
    assert.deepStrictEqual(vs.gateways, ["mesh", "istio-egress/egress"]);
    assert.deepStrictEqual(vs.tls, [
      {
        match: [
          { gateways: ["mesh"], port: 443, sniHosts: ["api.stripe.com"] },
        ],
        route: [
          {
            destination: {
              host: GATEWAY_HOST,
              subset: "api-stripe-com",
              port: { number: 443 },
            },
          },
        ],
      },
    ]);
    assert.deepStrictEqual(vs.tcp, [
      {
        match: [{ gateways: ["istio-egress/egress"], port: 443 }],
        route: [
          { destination: { host: "api.stripe.com", port: { number: 443 } } },
        ],
      },
    ]);
  });

  it("WHEN an http host asks for TLS origination THEN callers dial 80, the gateway calls 443 with SIMPLE TLS, and no 443 route skips the gateway", async () => {
    const r = await rendered();
    const se = specOf(r, "ServiceEntry", "httpbin-org", "istio-egress");
    assert.deepStrictEqual(se.ports, [
      { number: 80, name: "http-80", protocol: "HTTP", targetPort: 443 },
    ]);
    const dr = specOf(r, "DestinationRule", "httpbin-org-tls", "istio-egress");
    assert.deepStrictEqual(dr.trafficPolicy.portLevelSettings, [
      {
        port: { number: 80 },
        tls: {
          mode: "SIMPLE",
          sni: "httpbin.org",
          subjectAltNames: ["httpbin.org"],
        },
      },
    ]);
    const vs = specOf(r, "VirtualService", "httpbin-org", "istio-egress");
    // Both legs carry the stack's timeout and retries (resilience defaults).
    assert.deepStrictEqual(
      vs.http.map((h) => [h.timeout, h.retries.attempts]),
      [
        ["10s", 2],
        ["10s", 2],
      ],
    );
    assert.deepStrictEqual(
      vs.http.map((h) => [h.name, h.match, h.route[0].destination]),
      [
        [
          "to-egress-gateway",
          [{ gateways: ["mesh"], port: 80 }],
          { host: GATEWAY_HOST, subset: "httpbin-org", port: { number: 80 } },
        ],
        [
          "to-host",
          [{ gateways: ["istio-egress/egress"], port: 80 }],
          { host: "httpbin.org", port: { number: 80 } },
        ],
      ],
    );
  });

  it("WHEN sidecars reach the gateway THEN each host has a mutual-TLS server and a subset naming it as SNI", async () => {
    const r = await rendered();
    const gw = specOf(r, "Gateway", "egress", "istio-egress");
    assert.deepStrictEqual(gw.selector, {
      app: "istio-egressgateway",
      istio: "egressgateway",
    });
    assert.deepStrictEqual(
      gw.servers.map((s) => [s.port.number, s.port.protocol, s.hosts, s.tls]),
      [
        [443, "TLS", ["api.stripe.com"], { mode: "ISTIO_MUTUAL" }],
        [80, "HTTPS", ["httpbin.org"], { mode: "ISTIO_MUTUAL" }],
      ],
    );
    const dr = specOf(
      r,
      "DestinationRule",
      "istio-egressgateway",
      "istio-egress",
    );
    assert.strictEqual(dr.host, GATEWAY_HOST);
    assert.deepStrictEqual(
      dr.subsets?.map((s) => [s.name, s.trafficPolicy?.portLevelSettings]),
      [
        [
          "api-stripe-com",
          [
            {
              port: { number: 443 },
              tls: { mode: "ISTIO_MUTUAL", sni: "api.stripe.com" },
            },
          ],
        ],
        [
          "httpbin-org",
          [
            {
              port: { number: 80 },
              tls: { mode: "ISTIO_MUTUAL", sni: "httpbin.org" },
            },
          ],
        ],
      ],
    );
  });

  it("WHEN callers are listed THEN the gateway admits exactly them, each for its own host by SNI", async () => {
    const r = await rendered();
    const p = specOf(
      r,
      "AuthorizationPolicy",
      "egress-callers",
      "istio-egress",
    );
    assert.deepStrictEqual(p.selector, {
      matchLabels: { app: "istio-egressgateway", istio: "egressgateway" },
    });
    assert.deepStrictEqual(p.rules, [
      {
        from: [{ source: { principals: [BACKEND] } }],
        when: [{ key: "connection.sni", values: ["api.stripe.com"] }],
      },
      {
        from: [{ source: { principals: [FRONTEND] } }],
        to: [{ operation: { hosts: ["httpbin.org", "httpbin.org:80"] } }],
        when: [{ key: "connection.sni", values: ["httpbin.org"] }],
      },
    ]);
  });

  it("WHEN egress is on THEN app namespaces may reach only DNS and the mesh, and only the egress namespace reaches out, on the hosts' ports", async () => {
    const r = await rendered();
    const all = byType<{
      metadata: { name: string; namespace: string };
      spec: { egress: { to?: unknown[]; ports?: { port: number }[] }[] };
    }>(r, "kubernetes:networking.k8s.io/v1:NetworkPolicy");
    const policies = all.filter((p) =>
      p.inputs.metadata.name.startsWith("egress-"),
    );
    assert.deepStrictEqual(
      policies
        .map((p) => `${p.inputs.metadata.namespace}/${p.inputs.metadata.name}`)
        .sort(),
      ["istio-egress/egress-gateway", "mesh-demo/egress-mesh-only"],
    );
    const app = named(policies, "egress-mesh-only", "mesh-demo").inputs.spec;
    assert.ok(
      !JSON.stringify(app).includes("ipBlock"),
      "no app pod may reach an IP outside the cluster",
    );
    assert.ok(
      JSON.stringify(app).includes(
        '"values":["istio-egress","istio-ingress","istio-system","mesh-demo"]',
      ),
      JSON.stringify(app),
    );
    const out = named(policies, "egress-gateway", "istio-egress").inputs.spec
      .egress[2];
    assert.deepStrictEqual(out, {
      to: [{ ipBlock: { cidr: "0.0.0.0/0" } }],
      ports: [{ protocol: "TCP", port: 443 }],
    });
    const noPolicies = await renderProgram({
      ...CONFIG,
      egress: { ...EGRESS, networkPolicies: false },
    });
    assert.strictEqual(
      byType(
        noPolicies,
        "kubernetes:networking.k8s.io/v1:NetworkPolicy",
      ).filter((p) => p.name.startsWith("egress-")).length,
      0,
    );
  });

  it("WHEN the data plane is ambient THEN the egress namespace's waypoint serves the ServiceEntries, each with a policy bound to it, and no gateway chart runs", async () => {
    const r = await renderProgram({
      ...CONFIG,
      istio: { dataplane: "ambient" },
    });
    assert.ok(!r.resources.some((x) => x.name === "egress-gateway"));
    const ns = named(
      byType<{ metadata: { name: string; labels: Record<string, string> } }>(
        r,
        "kubernetes:core/v1:Namespace",
      ),
      "istio-egress",
    );
    assert.strictEqual(
      ns.inputs.metadata.labels["istio.io/dataplane-mode"],
      "ambient",
    );
    assert.strictEqual(
      ns.inputs.metadata.labels["istio.io/use-waypoint"],
      "waypoint",
    );
    assert.deepStrictEqual(
      specOf(r, "AuthorizationPolicy", "api-stripe-com", "istio-egress"),
      {
        targetRefs: [
          {
            group: "networking.istio.io",
            kind: "ServiceEntry",
            name: "api-stripe-com",
          },
        ],
        action: "ALLOW",
        rules: [{ from: [{ source: { principals: [BACKEND] } }] }],
      },
    );
  });

  it("WHEN the routing API is gateway-api THEN egress is the same Istio resources and gateway chart as with istio routing, and no HTTPRoute names an external host", async () => {
    const egressInputs = (r: Rendering) =>
      r.resources
        .filter((x) => {
          const i = x.inputs as {
            namespace?: string;
            metadata?: { namespace?: string };
          };
          return (i.metadata?.namespace ?? i.namespace) === "istio-egress";
        })
        .map((x) => `${x.type} ${x.name} ${JSON.stringify(x.inputs)}`)
        .sort();
    const gatewayApi = await renderProgram({
      ...CONFIG,
      routing: { api: "gateway-api" },
    });
    const istio = egressInputs(await rendered());
    assert.ok(istio.length >= 8, istio.join("\n"));
    assert.deepStrictEqual(egressInputs(gatewayApi), istio);
    // The gateway chart is installed for the egress gateway alone (the ingress is istiod's).
    assert.deepStrictEqual(
      byType<{ name: string }>(gatewayApi, "kubernetes:helm.sh/v3:Release")
        .map((x) => x.inputs.name)
        .filter((n) => n.includes("gateway")),
      ["istio-egressgateway"],
    );
    const routes = JSON.stringify(
      gatewayApi.resources.filter((x) => x.type.endsWith(":HTTPRoute")),
    );
    for (const host of Object.keys(EGRESS.hosts)) {
      assert.ok(!routes.includes(host), `an HTTPRoute names ${host}`);
    }
  });

  it("WHEN egress is on THEN a weight shift still changes the backend's route only", async () => {
    const before = await rendered();
    const after = await renderProgram({
      ...CONFIG,
      canary: { weights: { v1: 50, v2: 50 } },
    });
    assert.deepStrictEqual(changedResources(before, after), [
      "kubernetes:networking.istio.io/v1:VirtualService::backend-vs",
    ]);
  });
});
