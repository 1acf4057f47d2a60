// Component tests of the control plane and the ingress gateway, each rendered alone under the
// recording mocks.
import * as assert from "assert";
import { validateConfig } from "../../components/config";
import type { Mesh } from "../../components/core";
import { IngressGateway, IstioControlPlane } from "../../components/istio";
import {
  assertOwnsEverything,
  renderComponent,
  STAND_INS,
} from "../support/components";
import {
  istioResource,
  istioResources,
  named,
  namespaces,
  ref,
  release,
  releases,
  specOf,
} from "../support/finders";
import { DEV_CONFIG, type Rendering } from "../support/mocks";

const istio = validateConfig(DEV_CONFIG).istio;
const REPO = { repo: "https://blob.istio.io/istio-release/charts" };

describe("IstioControlPlane", () => {
  let r: Rendering;
  let mesh: Mesh | undefined;
  let cp: IstioControlPlane | undefined;
  before(async () => {
    r = await renderComponent(({ provider }) => {
      cp = new IstioControlPlane("istio", { istio }, { provider });
      mesh = cp.mesh;
    });
  });

  it("WHEN rendered THEN it owns all it makes, on the provider it was given", () => {
    assertOwnsEverything(r, "service-mesh:istio:ControlPlane");
  });

  it("WHEN rendered THEN base and istiod come from Istio's repository at the pinned version, into istio-system", () => {
    for (const name of ["istio-base", "istiod"]) {
      const rel = release(r, name).inputs;
      assert.strictEqual(rel.version, "1.31.1");
      assert.deepStrictEqual(rel.repositoryOpts, REPO);
      assert.strictEqual(rel.namespace, "istio-system");
      assert.strictEqual(rel.skipAwait, false);
      assert.strictEqual(rel.timeout, 600);
    }
    assert.strictEqual(release(r, "istio-base").inputs.chart, "base");
    assert.deepStrictEqual(
      releases(r)
        .map((x) => x.inputs.name)
        .sort(),
      ["istio-base", "istiod"],
      "no istio-cni unless asked",
    );
    assert.ok(named(namespaces(r), "istio-system"));
    assert.strictEqual(
      named(namespaces(r), "istio-system").inputs.metadata.labels,
      undefined,
      "the addons beside istiod are not injected",
    );
  });

  it("WHEN rendered THEN the namespace comes before base, base (the CRDs) before istiod", () => {
    const ns = named(namespaces(r), "istio-system");
    assert.ok(release(r, "istio-base").dependsOn.includes(ref(ns)));
    assert.deepStrictEqual(release(r, "istiod").dependsOn, [
      ref(release(r, "istio-base")),
    ]);
  });

  it("WHEN rendered THEN mTLS is STRICT mesh-wide, from the root namespace, once the CRDs and istiod (its validating webhook) exist", () => {
    const pa = istioResource(
      r,
      "PeerAuthentication",
      "default",
      "istio-system",
    );
    assert.deepStrictEqual(pa.inputs.spec, { mtls: { mode: "STRICT" } });
    assert.strictEqual(pa.inputs.apiVersion, "security.istio.io/v1");
    assert.deepStrictEqual(
      pa.dependsOn.sort(),
      [ref(release(r, "istio-base")), ref(release(r, "istiod"))].sort(),
    );
  });

  it("WHEN rendered THEN its mesh handle is base, istiod and the root namespace", () => {
    assert.ok(mesh && cp);
    assert.strictEqual(mesh.crds, cp.base);
    assert.strictEqual(mesh.istiod, cp.istiod);
    assert.strictEqual(mesh.rootNamespace, cp.namespace);
    assert.strictEqual(mesh.skipAwait, false);
  });

  it("WHEN istio-cni is on THEN it installs between base and istiod; PERMISSIVE mTLS is kept", async () => {
    const r2 = await renderComponent(({ provider }) => {
      new IstioControlPlane(
        "istio",
        { istio, cni: true, mtlsMode: "PERMISSIVE", skipAwait: true },
        { provider },
      );
    });
    const cni = release(r2, "istio-cni");
    assert.strictEqual(cni.inputs.chart, "cni");
    assert.strictEqual(cni.inputs.namespace, "istio-system");
    assert.strictEqual(cni.inputs.skipAwait, true);
    assert.deepStrictEqual(cni.dependsOn, [ref(release(r2, "istio-base"))]);
    assert.deepStrictEqual(release(r2, "istiod").dependsOn.sort(), [
      ref(release(r2, "istio-base")),
      ref(cni),
    ]);
    assert.deepStrictEqual(
      specOf(r2, "PeerAuthentication", "default").mtls.mode,
      "PERMISSIVE",
    );
  });
});

describe("IngressGateway", () => {
  const render = (
    extra: Partial<ConstructorParameters<typeof IngressGateway>[1]> = {},
  ) =>
    renderComponent(({ mesh, provider }) => {
      new IngressGateway(
        "ingress",
        {
          mesh,
          istio,
          namespace: "istio-ingress",
          serviceType: "ClusterIP",
          routes: [],
          ...extra,
        },
        { provider },
      );
    });
  let r: Rendering;
  before(async () => {
    r = await render();
  });

  it("WHEN rendered THEN it owns all it makes, on the provider it was given", () => {
    assertOwnsEverything(r, "service-mesh:istio:IngressGateway");
  });

  it("WHEN rendered THEN the gateway chart installs into its own injected namespace, after istiod", () => {
    const rel = release(r, "istio-ingressgateway");
    assert.strictEqual(rel.inputs.chart, "gateway");
    assert.strictEqual(rel.inputs.version, "1.31.1");
    assert.strictEqual(rel.inputs.namespace, "istio-ingress");
    const ns = named(namespaces(r), "istio-ingress");
    assert.deepStrictEqual(ns.inputs.metadata.labels, {
      "istio-injection": "enabled",
    });
    assert.deepStrictEqual(rel.dependsOn.sort(), [ref(ns), STAND_INS.istiod]);
  });

  it("WHEN rendered THEN the Gateway selects the chart's pods on the port its Service exposes", () => {
    const gw = istioResource(r, "Gateway", "mesh-gateway", "istio-ingress");
    assert.deepStrictEqual(gw.inputs.spec.selector, {
      app: "istio-ingressgateway",
      istio: "ingressgateway",
    });
    assert.strictEqual(gw.inputs.spec.servers[0].port.number, 80);
    assert.strictEqual(
      specOf(r, "VirtualService", "ingress-routes").gateways?.[0],
      "istio-ingress/mesh-gateway",
    );
  });

  it("WHEN rendered THEN every Istio resource waits for its namespace, the CRDs and istiod", () => {
    const ns = ref(named(namespaces(r), "istio-ingress"));
    for (const x of istioResources(r)) {
      assert.deepStrictEqual(
        x.dependsOn.sort(),
        [ns, STAND_INS.crds, STAND_INS.istiod].sort(),
      );
    }
  });

  it("WHEN no edge protection is configured THEN there is no JWT policy and no rate limit", () => {
    assert.strictEqual(istioResources(r, "RequestAuthentication").length, 0);
    assert.strictEqual(istioResources(r, "AuthorizationPolicy").length, 0);
    assert.strictEqual(istioResources(r, "EnvoyFilter").length, 0);
  });

  it("WHEN JWT and a rate limit are configured THEN the gateway's pods validate tokens, require one and are rate-limited", async () => {
    const r2 = await render({
      jwt: {
        issuer: "https://auth.example.com",
        jwksUri: "https://auth.example.com/jwks.json",
        publicPaths: ["/healthz"],
      },
      rateLimit: { requests: 50, interval: "500ms" },
    });
    const selector = { app: "istio-ingressgateway", istio: "ingressgateway" };
    assert.deepStrictEqual(
      specOf(r2, "RequestAuthentication", "edge-jwt", "istio-ingress").selector,
      { matchLabels: selector },
    );
    assert.deepStrictEqual(
      specOf(r2, "AuthorizationPolicy", "edge-require-jwt").rules?.[1],
      { to: [{ operation: { paths: ["/healthz"] } }] },
    );
    const ef = istioResource(r2, "EnvoyFilter", "edge-local-ratelimit");
    assert.strictEqual(ef.inputs.apiVersion, "networking.istio.io/v1alpha3");
    assert.deepStrictEqual(ef.inputs.spec.workloadSelector, {
      labels: selector,
    });
  });
});
