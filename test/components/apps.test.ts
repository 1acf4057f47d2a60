// Component tests of the applications, each rendered alone under the recording mocks: the demo
// app and Bookinfo.
import * as assert from "assert";
import {
  Bookinfo,
  BOOKINFO_INGRESS,
  bookinfoAllowRules,
  DemoApp,
} from "../../components/apps";
import {
  BOOKINFO_SERVICES,
  bookinfoPolicies,
  routingPolicyFor,
  validateConfig,
} from "../../components/config";
import { gatewayPrincipal } from "../../components/core";
import { allowSpec, type IngressRoute } from "../../components/specs";
import { admits } from "../support/authz";
import { assertOwnsEverything, renderComponent } from "../support/components";
import {
  byType,
  type ConfigMapInputs,
  deployments,
  inNamespace,
  istioResources,
  named,
  ref,
  route,
  services,
  specOf,
  split,
  TYPE,
} from "../support/finders";
import { DEV_CONFIG, type Rendering } from "../support/mocks";

const config = validateConfig({ ...DEV_CONFIG, bookinfo: { enabled: true } });
const GATEWAY = gatewayPrincipal("istio-ingress");

describe("DemoApp", () => {
  let r: Rendering;
  let routes: IngressRoute[] = [];
  before(async () => {
    r = await renderComponent(({ mesh, provider }) => {
      routes = new DemoApp(
        "demo",
        {
          mesh,
          namespace: "mesh-demo",
          backendVersions: config.canary.weights,
          backendPolicy: routingPolicyFor(config.resilience, "backend"),
          frontendPolicy: routingPolicyFor(config.resilience, "frontend"),
          images: config.images,
          ingressPrincipal: GATEWAY,
          ingressNamespace: "istio-ingress",
        },
        { provider },
      ).ingressRoutes;
    });
  });

  it("WHEN rendered THEN it owns all it makes, on the provider it was given", () => {
    assertOwnsEverything(r, "service-mesh:app:DemoApp");
  });

  it("WHEN rendered THEN the frontend proxies to the backend Service, whose versions answer with their name", () => {
    const conf = named(
      byType<ConfigMapInputs>(r, TYPE.configMap),
      "frontend-nginx",
    ).inputs.data["default.conf"];
    const port = named(services(r), "backend").inputs.spec.ports[0].port;
    assert.match(
      conf,
      new RegExp(
        `proxy_pass http://backend\\.mesh-demo\\.svc\\.cluster\\.local:${port};`,
      ),
    );
    for (const v of ["v1", "v2"]) {
      const pod = named(deployments(r), `backend-${v}`).inputs.spec.template
        .spec;
      assert.ok(pod.containers[0].args.includes(`-text=backend ${v}`));
    }
  });

  it("WHEN the frontend starts THEN its config and the backend's Service exist (nginx resolves the name at start)", () => {
    const frontend = named(deployments(r), "frontend-v1");
    for (const dep of [
      named(byType(r, TYPE.configMap), "frontend-nginx"),
      named(services(r), "backend"),
    ]) {
      assert.ok(frontend.dependsOn.includes(ref(dep)));
    }
  });

  it("WHEN anyone calls THEN only the gateway reaches the frontend and only the frontend the backend", () => {
    const frontend = specOf(r, "AuthorizationPolicy", "frontend-allow");
    const backend = specOf(r, "AuthorizationPolicy", "backend-allow");
    const call = (principal: string) => ({
      principal,
      method: "GET",
      path: "/",
    });
    const frontendSa = "cluster.local/ns/mesh-demo/sa/frontend";
    assert.ok(admits(frontend, call(GATEWAY)));
    assert.ok(!admits(frontend, call(frontendSa)));
    assert.ok(admits(backend, call(frontendSa)));
    assert.ok(!admits(backend, call(GATEWAY)));
    assert.ok(!admits(backend, { ...call(frontendSa), method: "POST" }));
  });

  it("WHEN the gateway routes to the app THEN every path goes to the frontend's subsets", () => {
    assert.deepStrictEqual(
      routes.map((x) => [x.name, x.prefixes, x.target.host]),
      [["frontend", ["/"], "frontend.mesh-demo.svc.cluster.local"]],
    );
  });
});

describe("Bookinfo", () => {
  let r: Rendering;
  let routes: IngressRoute[] = [];
  before(async () => {
    r = await renderComponent(({ mesh, provider }) => {
      routes = new Bookinfo(
        "bookinfo",
        {
          mesh,
          namespace: "bookinfo",
          imageHub: config.bookinfo.imageHub,
          imageTag: config.bookinfo.imageTag,
          reviewsWeights: config.bookinfo.reviews.weights,
          policies: bookinfoPolicies(config.bookinfo, config.resilience),
          ingressPrincipal: GATEWAY,
          ingressNamespace: "istio-ingress",
        },
        { provider },
      ).ingressRoutes;
    });
  });

  it("WHEN rendered THEN it owns all it makes, on the provider it was given", () => {
    assertOwnsEverything(r, "service-mesh:app:Bookinfo");
  });

  it("WHEN rendered THEN the sample's six workloads run, each service under its own account", () => {
    const ds = inNamespace(deployments(r), "bookinfo");
    assert.deepStrictEqual(ds.map((d) => d.inputs.metadata.name).sort(), [
      "details-v1",
      "productpage-v1",
      "ratings-v1",
      "reviews-v1",
      "reviews-v2",
      "reviews-v3",
    ]);
    for (const d of ds) {
      const { app } = d.inputs.spec.template.metadata.labels;
      assert.strictEqual(d.inputs.spec.template.spec.serviceAccountName, app);
    }
  });

  it("WHEN rendered THEN each of the four services has subsets matching its Deployments", () => {
    const drs = inNamespace(istioResources(r, "DestinationRule"), "bookinfo");
    assert.deepStrictEqual(
      drs.map((d) => d.inputs.metadata.name).sort(),
      [...BOOKINFO_SERVICES].sort(),
    );
    for (const dr of drs) {
      const svc = dr.inputs.metadata.name;
      assert.deepStrictEqual(
        (dr.inputs.spec.subsets ?? []).map((s) => s.name),
        deployments(r)
          .filter((d) => d.inputs.spec.template.metadata.labels.app === svc)
          .map((d) => d.inputs.spec.template.metadata.labels.version),
      );
    }
  });

  it("WHEN defaults are used THEN all reviews traffic goes to v1, with the shared timeout", () => {
    const weighted = route(specOf(r, "VirtualService", "reviews"), "weighted");
    assert.deepStrictEqual(split(weighted), [
      ["v1", 100],
      ["v2", 0],
      ["v3", 0],
    ]);
    assert.strictEqual(weighted.timeout, "10s");
  });

  it("WHEN rendered THEN each service's ALLOW policy is exactly the call graph's, and the namespace denies the rest", () => {
    for (const svc of BOOKINFO_SERVICES) {
      assert.deepStrictEqual(
        specOf(r, "AuthorizationPolicy", `${svc}-allow`, "bookinfo"),
        allowSpec(
          { selector: { app: svc } },
          bookinfoAllowRules(svc, "bookinfo", GATEWAY),
        ),
      );
    }
    assert.deepStrictEqual(
      specOf(r, "AuthorizationPolicy", "deny-all", "bookinfo"),
      {},
    );
  });

  it("WHEN the gateway routes to Bookinfo THEN the sample's paths go to productpage on 9080", () => {
    assert.strictEqual(routes.length, 1);
    assert.deepStrictEqual(routes[0].exact, BOOKINFO_INGRESS.exact);
    assert.deepStrictEqual(routes[0].prefixes, BOOKINFO_INGRESS.prefixes);
    assert.strictEqual(
      routes[0].target.host,
      "productpage.bookinfo.svc.cluster.local",
    );
    assert.strictEqual(routes[0].target.port, 9080);
  });
});
