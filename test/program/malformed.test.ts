// The table of malformed configs (test/support/malformedConfigs.ts) against the whole program:
// each stops it before its first resource, with a message naming the key and the fix.
import * as assert from "assert";
import { MALFORMED } from "../support/malformedConfigs";
import { type RecordedResource, renderProgram } from "../support/mocks";

describe("the program with malformed config", () => {
  for (const m of MALFORMED) {
    it(`WHEN given ${m.what} THEN nothing is registered and ${m.key} is named`, async () => {
      const err = await renderProgram(m.config).then(
        () => assert.fail("the program accepted it"),
        (e: Error & { recorded: RecordedResource[] }) => e,
      );
      assert.strictEqual(err.name, "ConfigError", err.stack);
      assert.ok(
        err.message.includes(`\n  - ${m.key} `) && err.message.includes(m.fix),
        err.message,
      );
      assert.deepStrictEqual(
        err.recorded.map((x) => x.type),
        ["pulumi:pulumi:Stack"],
      );
    });
  }
});
