// Whole-program properties: a config change touches only what it must (so `pulumi preview` shows
// exactly that), and a bad config stops the program before any resource.
import * as assert from "assert";
import { CONFIG_KEYS } from "../../components/config";
import {
  changedResources,
  inNamespace,
  route,
  specOf,
  split,
} from "../support/finders";
import {
  DEV_CONFIG,
  type RecordedResource,
  type Rendering,
  renderDev,
  renderProgram,
} from "../support/mocks";

const BOOKINFO = { ...DEV_CONFIG, bookinfo: { enabled: true } };

describe("the canary property and its kin", () => {
  it("WHEN only the weights change THEN only the backend VirtualService changes", async () => {
    const before = await renderDev();
    const after = await renderProgram({
      canary: { weights: { v1: 50, v2: 50 } },
    });
    // Every resource, its inputs and its options (dependsOn, parent, provider) are compared.
    assert.deepStrictEqual(changedResources(before, after), [
      "kubernetes:networking.istio.io/v1:VirtualService::backend-vs",
    ]);
    assert.deepStrictEqual(
      split(route(specOf(after, "VirtualService", "backend"), "weighted")),
      [
        ["v1", 50],
        ["v2", 50],
      ],
    );
    assert.deepStrictEqual(after.outputs.canaryWeights, { v1: 50, v2: 50 });
  });

  it("WHEN only the traffic policy changes THEN only the DestinationRules change", async () => {
    const a = await renderDev();
    const b = await renderProgram({
      ...DEV_CONFIG,
      resilience: { loadBalancer: "RANDOM" },
    });
    assert.deepStrictEqual(changedResources(a, b).sort(), [
      "kubernetes:networking.istio.io/v1:DestinationRule::backend-dr",
      "kubernetes:networking.istio.io/v1:DestinationRule::frontend-dr",
    ]);
  });

  it("WHEN only the sampling changes THEN only the Telemetry resource changes", async () => {
    const a = await renderDev();
    const b = await renderProgram({
      ...DEV_CONFIG,
      observability: { samplingPercent: 50 },
    });
    assert.deepStrictEqual(changedResources(a, b), [
      "kubernetes:telemetry.istio.io/v1:Telemetry::observability-tracing",
    ]);
  });

  it("WHEN only Bookinfo's reviews weights change THEN only the reviews VirtualService changes", async () => {
    const a = await renderProgram(BOOKINFO);
    const b = await renderProgram({
      ...DEV_CONFIG,
      bookinfo: { enabled: true, reviews: { weights: { v1: 20, v2: 80 } } },
    });
    assert.deepStrictEqual(changedResources(a, b), [
      "kubernetes:networking.istio.io/v1:VirtualService::reviews-vs",
    ]);
  });

  it("WHEN Bookinfo is toggled THEN the demo app is untouched", async () => {
    const off = await renderDev();
    const on = await renderProgram(BOOKINFO);
    const demo = (x: Rendering) =>
      x.resources
        .filter(
          (
            res: RecordedResource<{
              metadata?: { name?: string; namespace?: string };
            }>,
          ) =>
            res.inputs.metadata?.namespace === "mesh-demo" ||
            res.inputs.metadata?.name === "mesh-demo",
        )
        .map((res) => JSON.stringify(res));
    assert.ok(demo(off).length > 10);
    assert.deepStrictEqual(demo(on), demo(off));
    assert.ok(inNamespace(on.resources, "bookinfo").length > 0);
    assert.strictEqual(inNamespace(off.resources, "bookinfo").length, 0);
  });
});

/** The program's error and what it registered before failing. */
async function failure(
  config: Record<string, unknown>,
): Promise<Error & { recorded: RecordedResource[] }> {
  return renderProgram(config).then(
    () => assert.fail("the program accepted bad config"),
    (e: Error & { recorded: RecordedResource[] }) => e,
  );
}

describe("the program with bad config", () => {
  const bad: Array<[string, Record<string, unknown>, string]> = [
    [
      "weights not summing to 100",
      { canary: { weights: { v1: 70, v2: 20 } } },
      "canary.weights must sum to 100 (got 90: v1=70, v2=20); adjust the weights so they add up to exactly 100",
    ],
    [
      "no canary config at all",
      {},
      "canary.weights is not set; give each backend version a weight, e.g. 'pulumi config set --path canary.weights.v1 100'",
    ],
    [
      "a bad security setting",
      { ...DEV_CONFIG, security: { mtlsMode: "OFF" } },
      'security.mtlsMode must be one of STRICT, PERMISSIVE (got "OFF")',
    ],
    [
      "a section that is not an object",
      { ...DEV_CONFIG, resilience: [1, 2] },
      `resilience must be an object (got [1,2]); set its fields with 'pulumi config set --path resilience.<field> <value>'`,
    ],
  ];
  for (const [what, config, message] of bad) {
    it(`WHEN given ${what} THEN it stops before any resource, naming the problem`, async () => {
      const err = await failure(config);
      assert.ok(
        err.message.startsWith(
          "Invalid stack configuration (nothing was deployed):\n",
        ),
      );
      assert.ok(err.message.includes(`  - ${message}`), err.message);
      assert.deepStrictEqual(
        err.recorded
          .filter((x) => x.type !== "pulumi:pulumi:Stack")
          .map((x) => x.type),
        [],
      );
    });
  }

  it("WHEN a top-level key is misspelt THEN it is named as unknown, whatever its value", async () => {
    const err = await failure({ ...DEV_CONFIG, canaryWeights: "v2=20" });
    assert.ok(
      err.message.includes(
        `canaryWeights is not a setting of this program (got "v2=20"); known keys: ${CONFIG_KEYS.join(", ")}`,
      ),
    );
  });

  it("WHEN an object-valued key holds no JSON THEN the CLI's value is named with the fix", async () => {
    const err = await failure({ ...DEV_CONFIG, istio: "v1.30" });
    assert.ok(
      err.message.includes(
        `istio must be an object (got "v1.30"); set its fields with 'pulumi config set --path istio.<field> <value>'`,
      ),
      err.message,
    );
  });
});
