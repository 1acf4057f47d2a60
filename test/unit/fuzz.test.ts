// Fuzzing the validator: random configs (test/support/fuzzConfig.ts) must each come back as a
// valid config or be refused with a ConfigError; anything else thrown fails with the seed and
// the input. FUZZ_SEED (a number, or "random") and FUZZ_RUNS override the defaults.
import * as assert from "assert";
import {
  ConfigError,
  type MeshConfig,
  validateConfig,
} from "../../components/config";
import { DNS_LABEL } from "../../components/config/patterns";
import {
  describeInput,
  mulberry32,
  randomConfig,
  VALID_BASES,
} from "../support/fuzzConfig";

const SEED =
  process.env.FUZZ_SEED === "random"
    ? Date.now() >>> 0
    : Number(process.env.FUZZ_SEED ?? 1307) >>> 0;
const RUNS = Number(process.env.FUZZ_RUNS ?? 3000);
/** Longer than any message of a key, a shortened value and a fix. */
const MAX_PROBLEM = 1000;

/** What no accepted config may hold, whatever input it came from. */
function invalidities(c: MeshConfig): string[] {
  const found: string[] = [];
  const expect = (ok: boolean, what: string) => {
    if (!ok) {
      found.push(what);
    }
  };
  const label = (name: string, max: number) =>
    DNS_LABEL.test(name) && name.length <= max;
  const splits: Array<[string, MeshConfig["canary"]["weights"]]> = [
    ["canary", c.canary.weights],
    ["reviews", c.bookinfo.reviews.weights],
  ];
  for (const [what, weights] of splits) {
    expect(weights.length > 0, `${what} has no versions`);
    expect(
      weights.every((w) => label(w.version, 40) && Number.isInteger(w.weight)),
      `${what} has a bad version or weight`,
    );
    expect(
      weights.reduce((sum, w) => sum + w.weight, 0) === 100,
      `${what} weights do not sum to 100`,
    );
  }
  const versions = c.canary.weights.map((w) => w.version);
  for (const routed of [c.canary.header?.version, c.canary.mirror?.version]) {
    expect(
      routed === undefined || versions.includes(routed),
      `routes to ${routed}, which is not deployed`,
    );
  }
  const namespaces = [
    c.appNamespace,
    c.ingress.namespace,
    ...(c.bookinfo.enabled ? [c.bookinfo.namespace] : []),
  ];
  expect(
    namespaces.every((ns) => label(ns, 63)),
    `a namespace is not a DNS label: ${namespaces.join(", ")}`,
  );
  expect(
    new Set(namespaces).size === namespaces.length,
    "two parts share a namespace",
  );
  for (const image of [
    c.images.frontend,
    c.images.backend,
    c.observability.jaeger.image,
  ]) {
    expect(/[:@][^/]+$/.test(image), `image ${image} is not pinned`);
  }
  const percents = [
    c.observability.samplingPercent,
    c.canary.mirror?.percent ?? 0,
  ];
  expect(
    percents.every((p) => Number.isFinite(p) && p >= 0 && p <= 100),
    `a percentage is out of range: ${percents.join(", ")}`,
  );
  expect(typeof c.skipAwait === "boolean", "skipAwait is not a boolean");
  return found;
}

describe("config fuzzing", () => {
  it("WHEN the fuzzer's valid bases are validated THEN each is accepted", () => {
    for (const base of VALID_BASES) {
      assert.deepStrictEqual(invalidities(validateConfig(base)), []);
    }
  });

  it(`WHEN ${RUNS} random configs (FUZZ_SEED=${SEED}) are validated THEN each is a valid config or a ConfigError`, () => {
    const rand = mulberry32(SEED);
    let accepted = 0;
    for (let i = 0; i < RUNS; i++) {
      const input = randomConfig(rand);
      const where = () =>
        `case ${i} (replay: FUZZ_SEED=${SEED} FUZZ_RUNS=${i + 1} npm test -- --grep fuzz)\ninput: ${describeInput(input)}`;
      let config: MeshConfig;
      try {
        config = validateConfig(input);
      } catch (e) {
        if (!(e instanceof ConfigError)) {
          assert.fail(
            `threw ${e instanceof Error ? e.stack : String(e)}\non ${where()}`,
          );
        }
        const bad = e.problems.filter(
          (p) => typeof p !== "string" || p === "" || p.length > MAX_PROBLEM,
        );
        assert.ok(
          e.problems.length > 0 && bad.length === 0,
          `a ConfigError with problems ${describeInput(bad)} on ${where()}`,
        );
        continue;
      }
      accepted++;
      const broken = invalidities(config);
      assert.ok(
        broken.length === 0,
        `accepted with ${broken.join("; ")} on ${where()}`,
      );
    }
    if (RUNS >= 500) {
      // The generator must keep reaching both outcomes, or the fuzzing has gone blind.
      const share = accepted / RUNS;
      assert.ok(
        share > 0.1 && share < 0.9,
        `${accepted} of ${RUNS} accepted (FUZZ_SEED=${SEED})`,
      );
    }
  });
});
