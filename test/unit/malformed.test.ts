// The table of malformed configs (test/support/malformedConfigs.ts) against the validator: each
// is refused with one problem, which names the key, shows the value and gives the fix.
import * as assert from "assert";
import * as yaml from "js-yaml";
import { problems } from "../support/configProblems";
import { laughs, MALFORMED } from "../support/malformedConfigs";

/** Long enough for a key, a shortened value and the fix; a whole expanded value is not. */
const MAX_MESSAGE = 600;

describe("malformed config, refused by the validator", () => {
  it("WHEN the table is read THEN it covers every kind of bad input with at least 25 configs", () => {
    assert.ok(MALFORMED.length >= 25, `only ${MALFORMED.length} rows`);
    assert.deepStrictEqual([...new Set(MALFORMED.map((m) => m.kind))].sort(), [
      "YAML",
      "conflict",
      "injection",
      "nesting",
      "range",
      "type",
      "unknown key",
    ]);
  });

  for (const m of MALFORMED) {
    it(`WHEN given ${m.what} (${m.kind}) THEN one problem names ${m.key}, its value and the fix`, () => {
      const found = problems(m.config);
      assert.strictEqual(found.length, 1, found.join("\n") || "accepted");
      const [message] = found;
      assert.ok(message.startsWith(`${m.key} `), message);
      assert.ok(message.includes(m.got), `value ${m.got} not in: ${message}`);
      assert.ok(message.includes(m.fix), `fix "${m.fix}" not in: ${message}`);
      assert.ok(message.length <= MAX_MESSAGE, `${message.length} characters`);
    });
  }

  it("WHEN a value shares its parts (YAML aliases left unexpanded, 9^12 strings) or holds itself THEN it is refused at once, shortened", () => {
    const shared = yaml.load(laughs(12));
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    const found = problems({
      canary: { weights: { v1: 100 } },
      istio: { hub: shared, values: { istiod: cyclic } },
    });
    assert.strictEqual(found.length, 2, found.join("\n"));
    assert.ok(found.every((p) => p.length <= MAX_MESSAGE));
    assert.match(
      found[0],
      /^istio\.hub must be a non-empty string \(got \[\[\[/,
    );
    assert.match(
      found[1],
      /^istio\.values\.istiod must nest at most 32 levels/,
    );
  });
});
