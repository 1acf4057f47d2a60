// Component tests of the workload building blocks, each rendered alone under the recording
// mocks: AppNamespace and VersionedService.
import * as assert from "assert";
import { DEFAULT_ROUTING_POLICY } from "../../components/core";
import { trafficPolicySpec } from "../../components/specs";
import { AppNamespace, VersionedService } from "../../components/workloads";
import {
  assertOwnsEverything,
  renderComponent,
  STAND_INS,
} from "../support/components";
import {
  deployments,
  istioResource,
  named,
  namespaces,
  ref,
  route,
  serviceAccounts,
  services,
  specOf,
  split,
} from "../support/finders";
import type { Rendering } from "../support/mocks";

describe("AppNamespace", () => {
  const render = (restricted?: boolean) =>
    renderComponent(({ mesh, provider }) => {
      new AppNamespace("app", { mesh, name: "shop", restricted }, { provider });
    });

  it("WHEN rendered THEN the namespace is injected and denies every call by default, once it, the CRDs and istiod exist", async () => {
    const r = await render();
    assertOwnsEverything(r, "service-mesh:app:AppNamespace");
    const ns = named(namespaces(r), "shop");
    assert.deepStrictEqual(ns.inputs.metadata.labels, {
      "istio-injection": "enabled",
    });
    const deny = istioResource(r, "AuthorizationPolicy", "deny-all", "shop");
    assert.deepStrictEqual(deny.inputs.spec, {});
    assert.deepStrictEqual(
      deny.dependsOn.sort(),
      [ref(ns), STAND_INS.crds, STAND_INS.istiod].sort(),
    );
  });

  it("WHEN restricted THEN the namespace enforces the restricted Pod Security Standard", async () => {
    const r = await render(true);
    const labels = named(namespaces(r), "shop").inputs.metadata.labels ?? {};
    assert.strictEqual(
      labels["pod-security.kubernetes.io/enforce"],
      "restricted",
    );
    assert.strictEqual(labels["istio-injection"], "enabled");
  });
});

describe("VersionedService", () => {
  const render = (skipAwait = false) =>
    renderComponent(
      ({ mesh, provider }) => {
        new VersionedService(
          "backend",
          {
            mesh,
            namespace: "shop",
            versions: [
              { version: "v1", weight: 80 },
              { version: "v2", weight: 20 },
              { version: "v3", weight: 0 },
            ],
            workload: (v) => ({
              image: `echo:1.0`,
              args: [`-text=${v}`],
              port: 8080,
              probePath: "/health",
            }),
            allow: [
              {
                principals: ["cluster.local/ns/shop/sa/web"],
                methods: ["GET"],
              },
            ],
          },
          { provider },
        );
      },
      { skipAwait },
    );
  let r: Rendering;
  before(async () => {
    r = await render();
  });

  it("WHEN rendered THEN it owns all it makes, on the provider it was given", () => {
    assertOwnsEverything(r, "service-mesh:routing:VersionedService");
  });

  it("WHEN three versions are listed THEN each gets a Deployment, weight 0 included, and the Service selects them all by app", () => {
    const svc = named(services(r), "backend", "shop");
    assert.deepStrictEqual(svc.inputs.spec.selector, { app: "backend" });
    assert.deepStrictEqual(
      deployments(r).map((d) => d.inputs.metadata.name),
      ["backend-v1", "backend-v2", "backend-v3"],
    );
    for (const d of deployments(r)) {
      const labels = d.inputs.spec.template.metadata.labels;
      assert.deepStrictEqual(d.inputs.spec.selector.matchLabels, labels);
      assert.strictEqual(labels.app, "backend");
      assert.strictEqual(
        d.inputs.spec.template.spec.serviceAccountName,
        "backend",
      );
    }
  });

  it("WHEN rendered THEN the DestinationRule has one subset per Deployment's version label", () => {
    const dr = specOf(r, "DestinationRule", "backend", "shop");
    assert.strictEqual(dr.host, "backend.shop.svc.cluster.local");
    assert.deepStrictEqual(
      (dr.subsets ?? []).map((s) => s.name),
      deployments(r).map((d) => d.inputs.spec.template.metadata.labels.version),
    );
    assert.deepStrictEqual(
      dr.trafficPolicy,
      trafficPolicySpec(DEFAULT_ROUTING_POLICY),
      "no policy given: the defaults",
    );
  });

  it("WHEN rendered THEN the VirtualService splits by the weights on the Service's port", () => {
    const weighted = route(specOf(r, "VirtualService", "backend"), "weighted");
    assert.deepStrictEqual(split(weighted), [
      ["v1", 80],
      ["v2", 20],
      ["v3", 0],
    ]);
    const port = named(services(r), "backend").inputs.spec.ports[0].port;
    for (const d of weighted.route) {
      assert.strictEqual(d.destination.port?.number, port);
    }
  });

  it("WHEN rendered THEN pods wait for istiod and their account, Istio resources for the CRDs and istiod, the routes for their subsets", () => {
    const sa = ref(named(serviceAccounts(r), "backend"));
    for (const d of deployments(r)) {
      assert.deepStrictEqual(d.dependsOn.sort(), [STAND_INS.istiod, sa].sort());
    }
    const dr = istioResource(r, "DestinationRule", "backend");
    assert.deepStrictEqual(
      dr.dependsOn.sort(),
      [STAND_INS.crds, STAND_INS.istiod].sort(),
    );
    assert.deepStrictEqual(
      istioResource(r, "VirtualService", "backend").dependsOn.sort(),
      [STAND_INS.crds, STAND_INS.istiod, ref(dr)].sort(),
    );
  });

  it("WHEN rendered THEN only the named callers are admitted, and the account mounts no token", () => {
    const allow = specOf(r, "AuthorizationPolicy", "backend-allow");
    assert.deepStrictEqual(allow.selector, { matchLabels: { app: "backend" } });
    assert.deepStrictEqual(allow.rules?.[0].from, [
      { source: { principals: ["cluster.local/ns/shop/sa/web"] } },
    ]);
    assert.strictEqual(
      named(serviceAccounts(r), "backend").inputs.automountServiceAccountToken,
      false,
    );
  });

  it("WHEN the mesh skips waiting THEN Deployments and the Service say so; by default they wait", async () => {
    for (const x of [...deployments(r), ...services(r)]) {
      assert.strictEqual(x.inputs.metadata.annotations, undefined);
    }
    const skipped = await render(true);
    for (const x of [...deployments(skipped), ...services(skipped)]) {
      assert.deepStrictEqual(x.inputs.metadata.annotations, {
        "pulumi.com/skipAwait": "true",
      });
    }
  });
});
