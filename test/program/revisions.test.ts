// istiod as revisions (issue 24) through the whole program: a release per revision, the tags'
// webhooks owned by the stack, the namespaces' istio.io/rev labels, the pod-template annotation
// that rolls pods onto a moved tag, the order (tags after every release, pods after the tags),
// each upgrade step's exact change set, and the refusals.
import * as assert from "assert";
import {
  refuseIstioChange,
  type InstalledIstio,
  validateConfig,
} from "../../components/config";
import { problems } from "../support/configProblems";
import {
  byType,
  deployments,
  named,
  namespaces,
  release,
  releases,
} from "../support/finders";
import { DEV_CONFIG, type Rendering, renderProgram } from "../support/mocks";

const OLD = "1-30-5";
const NEW = "1-31-1";
const MWC =
  "kubernetes:admissionregistration.k8s.io/v1:MutatingWebhookConfiguration";
const TAGS = "service-mesh:istio:RevisionTags::istio-tags";

/** The upgrade's steps as stack config (istio.version stays the newest revision's). */
const step = (istio: Record<string, unknown>) => ({
  ...DEV_CONFIG,
  istio: { version: "1.31.1", ...istio },
});
const STEP0 = step({
  version: "1.30.5",
  revisions: { [OLD]: { version: "1.30.5" } },
  tags: { prod: OLD },
});
const STEP1 = step({
  revisions: { [OLD]: { version: "1.30.5" }, [NEW]: { version: "1.31.1" } },
  tags: { prod: OLD },
});
const STEP2 = step({
  revisions: { [OLD]: { version: "1.30.5" }, [NEW]: { version: "1.31.1" } },
  tags: { prod: NEW },
});
const STEP3 = step({
  revisions: { [NEW]: { version: "1.31.1" } },
  tags: { prod: NEW },
});

const cache = new Map<unknown, Promise<Rendering>>();
const rendered = (config: Record<string, unknown>) => {
  if (!cache.has(config)) {
    cache.set(config, renderProgram(config));
  }
  return cache.get(config)!;
};

interface Webhook {
  name: string;
  clientConfig: { service?: { name: string }; url?: string };
  namespaceSelector: { matchExpressions: unknown[] };
  objectSelector: { matchExpressions: unknown[] };
}
const tagWebhook = (r: Rendering, tag: string) =>
  named(
    byType<{
      metadata: { name: string; labels: Record<string, string> };
      webhooks: Webhook[];
    }>(r, MWC),
    `istio-revision-tag-${tag}`,
  );

/** The resources whose inputs differ between two renderings of the same resources. */
function changedInputs(before: Rendering, after: Rendering): string[] {
  const old = new Map(
    before.resources.map((x) => [
      `${x.type}::${x.name}`,
      JSON.stringify(x.inputs),
    ]),
  );
  return after.resources
    .filter((x) => old.get(`${x.type}::${x.name}`) !== JSON.stringify(x.inputs))
    .map((x) => `${x.type}::${x.name}`);
}

function refused(raw: Record<string, unknown>, ...fragments: string[]) {
  const found = problems(raw);
  assert.ok(
    found.some((p) => fragments.every((f) => p.includes(f))),
    `expected a problem with ${fragments.join(" / ")}; got:\n${found.join("\n")}`,
  );
}

describe("istiod as revisions: config", () => {
  it("WHEN revisions and tags are given THEN defaultRevision follows prod and namespaces default to prod", () => {
    const istio = validateConfig(STEP1).istio;
    assert.deepStrictEqual(Object.keys(istio.revisions!), [OLD, NEW]);
    assert.strictEqual(istio.defaultRevision, OLD);
    assert.deepStrictEqual(istio.namespaceTags, {});
  });

  it("WHEN a tag names no configured revision THEN it is refused: a tag on a removed revision injects nothing", () => {
    refused(
      step({
        revisions: { [NEW]: { version: "1.31.1" } },
        tags: { prod: OLD },
      }),
      "istio.tags.prod must name a configured revision",
      "injects nothing",
    );
  });

  it("WHEN prod is missing, or tags come without revisions THEN each is refused with the fix", () => {
    refused(
      step({
        revisions: { [NEW]: { version: "1.31.1" } },
        tags: { canary: NEW },
      }),
      "istio.tags.prod must be set",
    );
    refused(
      step({ tags: { prod: NEW } }),
      "istio.tags is set but istio.revisions is not",
    );
  });

  it("WHEN istio.version is not the newest revision's THEN it is refused: base and gateways go first", () => {
    refused(
      step({
        version: "1.30.5",
        revisions: {
          [OLD]: { version: "1.30.5" },
          [NEW]: { version: "1.31.1" },
        },
        tags: { prod: OLD },
      }),
      "istio.version must be the newest revision's version",
      "1.31.1",
    );
  });

  it("WHEN three revisions, a revision named default, or a tag named like a revision THEN each is refused", () => {
    refused(
      step({
        revisions: {
          a: { version: "1.31.1" },
          b: { version: "1.31.1" },
          c: { version: "1.31.1" },
        },
        tags: { prod: "a" },
      }),
      "at most 2 run at once",
    );
    refused(
      step({
        revisions: { default: { version: "1.31.1" } },
        tags: { prod: "default" },
      }),
      'not "default"',
    );
    refused(
      step({
        revisions: { [NEW]: { version: "1.31.1" } },
        tags: { prod: NEW, [NEW]: NEW },
      }),
      "must not share a name",
    );
  });

  it("WHEN revisions meet ambient, the Gateway API, or a namespace the stack does not label THEN each is refused", () => {
    const base = {
      revisions: { [NEW]: { version: "1.31.1" } },
      tags: { prod: NEW },
    };
    refused(
      step({ ...base, dataplane: "ambient" }),
      "no canary upgrade for ztunnel and istio-cni",
    );
    refused(
      { ...step(base), routing: { api: "gateway-api" } },
      "supported with routing.api istio",
    );
    refused(
      step({ ...base, namespaceTags: { "team-a": "prod" } }),
      "istio.namespaceTags.team-a names a namespace the stack does not label",
    );
  });
});

describe("istiod as revisions: what the stack renders", () => {
  it("WHEN two revisions run THEN each has its release istiod-<rev> at its version, and no revisionless istiod", async () => {
    const r = await rendered(STEP1);
    assert.deepStrictEqual(
      releases(r)
        .map((x) => x.inputs.name)
        .filter((n) => n.startsWith("istiod"))
        .sort(),
      [`istiod-${OLD}`, `istiod-${NEW}`],
    );
    for (const [rev, version] of [
      [OLD, "1.30.5"],
      [NEW, "1.31.1"],
    ]) {
      const rel = release<{ revision: string; global: { tag: string } }>(
        r,
        `istiod-${rev}`,
      );
      assert.strictEqual(rel.inputs.values.revision, rev);
      assert.strictEqual(rel.inputs.values.global.tag, version);
      assert.strictEqual(rel.inputs.version, version);
    }
    const base = release<{ defaultRevision: string }>(r, "istio-base");
    assert.strictEqual(base.inputs.values.defaultRevision, OLD);
  });

  it("WHEN prod points at a revision THEN its tag webhook calls that istiod and matches istio.io/rev=prod namespaces and pods", async () => {
    const hook = tagWebhook(await rendered(STEP1), "prod");
    assert.deepStrictEqual(hook.inputs.metadata.labels["istio.io/rev"], OLD);
    assert.deepStrictEqual(hook.inputs.metadata.labels["istio.io/tag"], "prod");
    assert.deepStrictEqual(
      hook.inputs.webhooks.map((w) => [w.name, w.clientConfig.service?.name]),
      [
        ["rev.namespace.sidecar-injector.istio.io", `istiod-${OLD}`],
        ["rev.object.sidecar-injector.istio.io", `istiod-${OLD}`],
      ],
    );
    assert.deepStrictEqual(
      hook.inputs.webhooks[0].namespaceSelector.matchExpressions,
      [
        { key: "istio.io/rev", operator: "In", values: ["prod"] },
        { key: "istio-injection", operator: "DoesNotExist" },
      ],
    );
  });

  it("WHEN revisions run THEN app and gateway namespaces carry istio.io/rev=prod and no istio-injection, and pods record their revision", async () => {
    const r = await rendered(STEP1);
    for (const ns of ["mesh-demo", "istio-ingress"]) {
      assert.deepStrictEqual(
        named(namespaces(r), ns).inputs.metadata.labels,
        { "istio.io/rev": "prod" },
        ns,
      );
    }
    for (const d of deployments(r).filter(
      (x) => x.inputs.metadata.namespace === "mesh-demo",
    )) {
      assert.deepStrictEqual(
        d.inputs.spec.template.metadata?.annotations,
        { "service-mesh/istio-revision": OLD },
        d.name,
      );
      assert.ok(d.dependsOn.includes(TAGS), `${d.name} waits for the tags`);
    }
    const gw = release<{
      revision: string;
      podAnnotations: Record<string, string>;
    }>(r, "istio-ingressgateway");
    assert.strictEqual(gw.inputs.values.revision, "prod");
    assert.deepStrictEqual(gw.inputs.values.podAnnotations, {
      "service-mesh/istio-revision": OLD,
    });
    assert.ok(gw.dependsOn.includes(TAGS), "the gateway waits for the tags");
  });

  it("WHEN tags exist THEN each waits for every revision's release", async () => {
    const r = await rendered(STEP1);
    const hook = tagWebhook(r, "prod");
    for (const rev of [OLD, NEW]) {
      assert.ok(
        hook.dependsOn.includes(
          `kubernetes:helm.sh/v3:Release::istio-istiod-${rev}`,
        ),
        `${hook.dependsOn}`,
      );
    }
  });
});

describe("istiod as revisions: each step of the upgrade changes exactly what it says", () => {
  it("WHEN a second revision is added THEN only its release is new and nothing else changes (the base upgrades to the newest version first)", async () => {
    const before = await rendered(STEP0);
    const after = await rendered(STEP1);
    const names = (r: Rendering) =>
      new Set(r.resources.map((x) => `${x.type}::${x.name}`));
    const added = [...names(after)].filter((n) => !names(before).has(n));
    assert.deepStrictEqual(added, [
      `kubernetes:helm.sh/v3:Release::istio-istiod-${NEW}`,
    ]);
    const changed = changedInputs(before, after).filter((n) =>
      names(before).has(n),
    );
    // istio.version 1.30.5 -> 1.31.1: the base chart (CRDs) and the gateway chart move first.
    assert.deepStrictEqual(changed.sort(), [
      "kubernetes:helm.sh/v3:Release::ingress-gateway",
      "kubernetes:helm.sh/v3:Release::istio-base",
    ]);
  });

  it("WHEN prod moves to the new revision THEN its tag, the base's default, and every pod template of the namespaces on prod change", async () => {
    // Inputs only: the Istio resources now wait for the new default revision's release, a
    // dependency the engine does not diff.
    const changed = changedInputs(await rendered(STEP1), await rendered(STEP2));
    assert.ok(changed.includes(`${MWC}::istio-tags-prod`), changed.join("\n"));
    assert.ok(changed.includes("kubernetes:helm.sh/v3:Release::istio-base"));
    assert.ok(
      changed.includes("kubernetes:helm.sh/v3:Release::ingress-gateway"),
    );
    for (const d of ["frontend-v1", "backend-v1", "backend-v2"]) {
      assert.ok(changed.includes(`kubernetes:apps/v1:Deployment::${d}`), d);
    }
    // Routing and policy are untouched: the canary property holds through the move.
    assert.ok(
      !changed.some((c) => c.includes(".istio.io/")),
      changed.join("\n"),
    );
    const hook = tagWebhook(await rendered(STEP2), "prod");
    assert.strictEqual(
      hook.inputs.webhooks[0].clientConfig.service?.name,
      `istiod-${NEW}`,
    );
  });

  it("WHEN the old revision is removed THEN its release goes and nothing else of the stack changes", async () => {
    const before = await rendered(STEP2);
    const after = await rendered(STEP3);
    const names = (r: Rendering) =>
      r.resources.map((x) => `${x.type}::${x.name}`);
    assert.deepStrictEqual(
      names(before).filter((n) => !names(after).includes(n)),
      [`kubernetes:helm.sh/v3:Release::istio-istiod-${OLD}`],
    );
  });
});

describe("istiod as revisions: the canary property during an upgrade", () => {
  it("WHEN the backend's weights shift while two revisions run THEN exactly its VirtualService changes", async () => {
    const shifted = { ...STEP1, canary: { weights: { v1: 50, v2: 50 } } };
    assert.deepStrictEqual(
      changedInputs(await rendered(STEP1), await rendered(shifted)),
      ["kubernetes:networking.istio.io/v1:VirtualService::backend-vs"],
    );
  });
});

describe("istiod as revisions: what the cluster runs refuses a change", () => {
  const installed = (
    istiods: InstalledIstio["istiods"],
    namespaces: InstalledIstio["namespaces"] = [],
    tags: InstalledIstio["tags"] = {},
  ): InstalledIstio => ({ istiods, namespaces, tags });
  const stack = ["mesh-demo", "istio-ingress"];

  it("WHEN istio.version jumps two minors in place THEN it is refused; one minor passes", () => {
    const cfg = validateConfig({
      ...DEV_CONFIG,
      istio: { version: "1.31.1" },
    }).istio;
    assert.deepStrictEqual(
      refuseIstioChange(
        cfg,
        installed([{ revision: "default", version: "1.30.4" }]),
        stack,
      ),
      [],
    );
    const reasons = refuseIstioChange(
      cfg,
      installed([{ revision: "default", version: "1.29.2" }]),
      stack,
    );
    assert.strictEqual(reasons.length, 1);
    assert.match(
      reasons[0],
      /istio.version moves istiod in place from 1.29.2 to 1.31.1/,
    );
    assert.match(reasons[0], /one minor at a time/);
  });

  it("WHEN a removed revision is still used by a namespace outside the stack THEN it is refused, naming the namespace and the fix", () => {
    const cfg = validateConfig(STEP3).istio;
    const running = [
      { revision: OLD, version: "1.30.5" },
      { revision: NEW, version: "1.31.1" },
    ];
    const reasons = refuseIstioChange(
      cfg,
      installed(running, [
        { name: "team-a", rev: OLD },
        { name: "mesh-demo", rev: OLD },
      ]),
      stack,
    );
    assert.strictEqual(reasons.length, 1, reasons.join("\n"));
    assert.match(
      reasons[0],
      /namespace team-a \(not the stack's\) is labelled istio.io\/rev=1-30-5/,
    );
    assert.match(
      reasons[0],
      /kubectl label namespace team-a istio.io\/rev=prod/,
    );
    // On a tag that moves with the stack, the same namespace is fine.
    assert.deepStrictEqual(
      refuseIstioChange(
        cfg,
        installed(running, [{ name: "team-a", rev: "prod" }], { prod: OLD }),
        stack,
      ),
      [],
    );
  });

  it("WHEN a stack adopts revisions THEN a namespace outside it on istio-injection=enabled is named: the revisionless istiod goes", () => {
    const cfg = validateConfig(STEP3).istio;
    const reasons = refuseIstioChange(
      cfg,
      installed(
        [{ revision: "default", version: "1.31.1" }],
        [{ name: "legacy", injection: "enabled" }],
      ),
      stack,
    );
    assert.strictEqual(reasons.length, 1);
    assert.match(reasons[0], /namespace legacy .* istio-injection=enabled/);
  });
});
