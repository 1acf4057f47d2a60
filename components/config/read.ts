// Reading this project's stack config from the Pulumi runtime, as plain values for validation.
import * as pulumi from "@pulumi/pulumi";
import { ConfigError } from "./checker";
import { CONFIG_KEYS, OBJECT_KEYS } from "./meshConfig";
import { show } from "./show";

/**
 * Reads this project's keys from Pulumi config as plain values: object-valued keys are parsed
 * from JSON, scalars stay strings. Unknown keys of the project namespace are returned under their
 * name too, so validation can reject typos.
 */
export function readRawConfig(projectName: string): Record<string, unknown> {
  const prefix = `${projectName}:`;
  // Collected as entries: assigning raw["__proto__"] would set the prototype, not report the key.
  const entries: Array<[string, unknown]> = [];
  const parseErrors: string[] = [];
  for (const [fullKey, value] of Object.entries(pulumi.runtime.allConfig())) {
    if (!fullKey.startsWith(prefix)) {
      continue;
    }
    const key = fullKey.slice(prefix.length);
    if (
      (CONFIG_KEYS as readonly string[]).includes(key) &&
      (OBJECT_KEYS as readonly string[]).includes(key)
    ) {
      try {
        entries.push([key, JSON.parse(value)]);
      } catch {
        parseErrors.push(
          `${key} must be an object (got ${show(value)}); set its fields with ` +
            `'pulumi config set --path ${key}.<field> <value>'`,
        );
      }
    } else {
      entries.push([key, value]);
    }
  }
  if (parseErrors.length > 0) {
    throw new ConfigError(parseErrors);
  }
  return Object.fromEntries(entries);
}
