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

/**
 * Whether a key of this project is stored encrypted. A value set with `pulumi config set --secret
 * --path services.x.env.Y.secret` makes its whole top-level key secret, which the runtime lists
 * in its secret keys. The SDK's reader of that list (runtime.isConfigSecret, 3.248) is marked
 * internal: if a later SDK drops it, no key can be proven plain, so every key counts as secret
 * rather than refusing a stack that did use --secret.
 */
export function isSecretConfig(projectName: string, key: string): boolean {
  const runtime = pulumi.runtime as unknown as {
    isConfigSecret?: (k: string) => boolean;
  };
  return runtime.isConfigSecret?.(`${projectName}:${key}`) ?? true;
}
