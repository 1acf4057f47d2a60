// Config validation as the tests ask about it: which problems does a raw config have?
import * as assert from "assert";
import { ConfigError, validateConfig } from "../../components/config";

/** The problems validateConfig reports for a raw config, or [] if it passes. */
export function problems(raw: Record<string, unknown>): string[] {
  try {
    validateConfig(raw);
    return [];
  } catch (e) {
    assert.ok(e instanceof ConfigError, `expected a ConfigError, got ${e}`);
    return e.problems;
  }
}
