// Rules shared by every weighted service's section (the demo backend's `canary`, Bookinfo's
// `bookinfo.reviews`): the weights, and the routing extras that name a deployed version.
import type { HeaderRoute, VersionWeight } from "../core";
import { type Checker, isPlainObject } from "./checker";
import { DNS_LABEL } from "./patterns";
import { type Fields, Section } from "./section";
import { keyPath, show } from "./show";

/** A lowercase HTTP header name, as Envoy matches it. */
export const HEADER_NAME = /^[a-z0-9][a-z0-9-]*$/;
/** A header value Envoy can match exactly: printable ASCII, no line break to smuggle a header. */
const HEADER_VALUE = /^[\x21-\x7e]([\x20-\x7e]*[\x21-\x7e])?$/;

/**
 * A non-empty map of version name to an integer percentage, the percentages summing to exactly
 * 100. `key` is the config path used in messages; `leaf`, when the weight sits in a field of each
 * version's entry (`services.<name>.versions.v1.weight`), is that field's name.
 */
export function validateWeights(
  c: Checker,
  key: string,
  value: unknown,
  leaf?: string,
): VersionWeight[] {
  const at = (version: string) =>
    leaf ? keyPath(keyPath(key, version), leaf) : keyPath(key, version);
  const example = `pulumi config set --path ${at("v1")} 100`;
  if (value === undefined) {
    c.fail(`${key} is not set; give each version a weight, e.g. '${example}'`);
    return [];
  }
  if (!isPlainObject(value) || Object.keys(value).length === 0) {
    c.fail(
      `${key} must map at least one version to a weight (got ${show(value)}); e.g. '${example}'`,
    );
    return [];
  }
  const result: VersionWeight[] = [];
  let valid = true;
  for (const [version, weight] of Object.entries(value)) {
    if (!DNS_LABEL.test(version) || version.length > 40) {
      c.fail(
        `${key} has an invalid version name ${show(version)}: use at most 40 lowercase letters, digits ` +
          `and '-', starting and ending with a letter or digit (e.g. v1)`,
      );
      valid = false;
    }
    if (
      typeof weight !== "number" ||
      !Number.isInteger(weight) ||
      weight < 0 ||
      weight > 100
    ) {
      c.fail(
        `${at(version)} must be a whole number from 0 to 100 (got ${show(weight)}); ` +
          `e.g. 'pulumi config set --path ${at(version)} 20'`,
      );
      valid = false;
      continue;
    }
    result.push({ version, weight });
  }
  if (valid) {
    const sum = result.reduce((s, w) => s + w.weight, 0);
    if (sum !== 100) {
      const parts = result.map((w) => `${w.version}=${w.weight}`).join(", ");
      c.fail(
        `${key} must sum to 100 (got ${sum}: ${parts}); adjust the weights so they add up to exactly 100`,
      );
    }
  }
  return result;
}

/** A version named by a routing rule must be one that is deployed. */
export function knownVersion(
  c: Checker,
  key: string,
  value: unknown,
  weights: readonly VersionWeight[],
): string {
  const versions = weights.map((w) => w.version);
  if (typeof value !== "string" || !versions.includes(value)) {
    c.fail(
      `${key} must name a deployed version, one of ${versions.join(", ") || "(none)"} (got ${show(value)})`,
    );
    return versions[0] ?? "";
  }
  return value;
}

const HEADER_ROUTE_DEFAULTS = {
  name: "x-canary",
  value: "always",
  /** Required: a deployed version. */
  version: undefined as string | undefined,
};

/** `<section>.header`: requests with header == value go to a version. */
export function validateHeaderRoute(
  c: Checker,
  key: string,
  raw: unknown,
  weights: readonly VersionWeight[],
): HeaderRoute | undefined {
  if (raw === undefined) {
    return undefined;
  }
  const s = new Section(c, key, raw, HEADER_ROUTE_DEFAULTS);
  const h = {
    name: s.string("name", {
      re: HEADER_NAME,
      hint: "must be a lowercase HTTP header name",
    }),
    value: s.string("value", {
      re: HEADER_VALUE,
      hint: "must be a header value of printable ASCII characters, with no line break and no space at either end",
    }),
    version: s.field("version", (k, v) => knownVersion(c, k, v, weights)),
  } satisfies Fields<typeof HEADER_ROUTE_DEFAULTS>;
  return { header: h.name, value: h.value, version: h.version };
}

const MIRROR_DEFAULTS = {
  /** Required: a deployed version. */
  version: undefined as string | undefined,
  percent: 100,
};

/** `<section>.mirror`: shadow a share of live traffic to a version. */
export function validateMirror(
  c: Checker,
  key: string,
  raw: unknown,
  weights: readonly VersionWeight[],
): { version: string; percent: number } | undefined {
  if (raw === undefined) {
    return undefined;
  }
  const s = new Section(c, key, raw, MIRROR_DEFAULTS);
  return {
    version: s.field("version", (k, v) => knownVersion(c, k, v, weights)),
    percent: s.percent("percent"),
  } satisfies Fields<typeof MIRROR_DEFAULTS>;
}
