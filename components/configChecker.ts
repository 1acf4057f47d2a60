// The machinery of config validation: a Checker collects every problem while the sections walk
// the raw values, so the user sees all of them at once. Each message names the key, the value
// and the fix.
import { Resources, VersionWeight } from "./config";

// DNS-1123 label: what Kubernetes accepts for namespace names, and what Istio accepts for subset
// names. Version names end up in both (Deployment names, subsets), so they must satisfy it.
export const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const CPU = /^([0-9]+m|[0-9]+(\.[0-9]+)?)$/;
const MEMORY = /^[0-9]+(\.[0-9]+)?(Ki|Mi|Gi|Ti|k|M|G|T)?$/;
export const DURATION = /^[0-9]+(\.[0-9]+)?(h|m|s|ms)$/;
export const SEMVER = /^[0-9]+\.[0-9]+\.[0-9]+(-[0-9A-Za-z.-]+)?$/;
const RESERVED_NAMESPACES = new Set([
  "kube-system",
  "kube-public",
  "kube-node-lease",
  "default",
  "istio-system",
]);

/** Collects problems while walking the raw config, so the user sees all of them at once. */
export class Checker {
  readonly problems: string[] = [];

  fail(msg: string): void {
    this.problems.push(msg);
  }

  /** Returns the object at `key`, or {} (with a problem recorded) if it is not a plain object. */
  object(
    key: string,
    value: unknown,
    known: string[],
  ): Record<string, unknown> {
    if (value === undefined) {
      return {};
    }
    if (!isPlainObject(value)) {
      this.fail(
        `${key} must be an object (got ${show(value)}); set its fields with 'pulumi config set --path ${key}.<field> <value>'`,
      );
      return {};
    }
    for (const k of Object.keys(value)) {
      if (!known.includes(k)) {
        this.fail(
          `${key}.${k} is not a known setting (got ${show(value[k])}); known fields of ${key}: ${known.join(", ")}`,
        );
      }
    }
    return value;
  }

  string(
    key: string,
    value: unknown,
    fallback: string,
    rule?: { re: RegExp; hint: string },
  ): string {
    if (value === undefined) {
      return fallback;
    }
    if (typeof value !== "string" || value === "") {
      this.fail(
        `${key} must be a non-empty string (got ${show(value)}); remove it to use the default ${show(fallback)}`,
      );
      return fallback;
    }
    if (rule && !rule.re.test(value)) {
      this.fail(`${key} ${rule.hint} (got ${show(value)})`);
    }
    return value;
  }

  boolean(key: string, value: unknown, fallback: boolean): boolean {
    if (value === undefined) {
      return fallback;
    }
    if (value === true || value === "true") {
      return true;
    }
    if (value === false || value === "false") {
      return false;
    }
    const path = key.includes(".") ? "--path " : "";
    this.fail(
      `${key} must be true or false (got ${show(value)}); set it with 'pulumi config set ${path}${key} true'`,
    );
    return fallback;
  }

  oneOf<T extends string>(
    key: string,
    value: unknown,
    allowed: readonly T[],
    fallback: T,
  ): T {
    if (value === undefined) {
      return fallback;
    }
    if (
      typeof value === "string" &&
      (allowed as readonly string[]).includes(value)
    ) {
      return value as T;
    }
    this.fail(
      `${key} must be one of ${allowed.join(", ")} (got ${show(value)})`,
    );
    return fallback;
  }

  namespace(key: string, value: unknown, fallback: string): string {
    const ns = this.string(key, value, fallback, {
      re: DNS_LABEL,
      hint: "must be a valid namespace name: lowercase letters, digits and '-', starting and ending with a letter or digit",
    });
    if (RESERVED_NAMESPACES.has(ns)) {
      this.fail(
        `${key} must not be a system namespace (got ${show(ns)}); choose a namespace of its own, e.g. ${show(fallback)}`,
      );
    }
    return ns;
  }

  image(key: string, value: unknown, fallback: string): string {
    const image = this.string(key, value, fallback);
    // A pinned image names a tag or a digest; "latest" and untagged images move under you.
    const lastSegment = image.slice(image.lastIndexOf("/") + 1);
    if (
      !image.includes("@sha256:") &&
      (!lastSegment.includes(":") || lastSegment.endsWith(":latest"))
    ) {
      this.fail(
        `${key} must pin a tag or digest other than latest (got ${show(image)}), e.g. ${show(fallback)}`,
      );
    }
    return image;
  }

  /** A Helm repository URL (http, https or oci). */
  helmRepo(key: string, value: unknown, fallback: string): string {
    return this.string(key, value, fallback, {
      re: /^(https?|oci):\/\/\S+$/,
      hint: "must be an http(s):// or oci:// Helm repository URL",
    });
  }

  /** A whole number in [min, max]. The CLI stores `--path` integers as numbers. */
  integer(
    key: string,
    value: unknown,
    fallback: number,
    min: number,
    max: number,
  ): number {
    if (value === undefined) {
      return fallback;
    }
    if (
      typeof value !== "number" ||
      !Number.isInteger(value) ||
      value < min ||
      value > max
    ) {
      this.fail(
        `${key} must be a whole number from ${min} to ${max} (got ${show(value)}); e.g. 'pulumi config set --path ${key} ${fallback}'`,
      );
      return fallback;
    }
    return value;
  }

  /** A percentage, 0 to 100, fractions allowed (Istio's Percent type). */
  percent(key: string, value: unknown, fallback: number): number {
    if (value === undefined) {
      return fallback;
    }
    if (
      typeof value !== "number" ||
      !Number.isFinite(value) ||
      value < 0 ||
      value > 100
    ) {
      this.fail(
        `${key} must be a percentage from 0 to 100 (got ${show(value)}); e.g. 'pulumi config set --path ${key} ${fallback}'`,
      );
      return fallback;
    }
    return value;
  }

  /** A duration in Istio's format: a number and a unit of h, m, s or ms, e.g. 1.5s or 100ms. */
  duration(key: string, value: unknown, fallback: string): string {
    const d = this.string(key, value, fallback, {
      re: DURATION,
      hint: "must be a duration such as 100ms, 2s or 1m (a number and h, m, s or ms)",
    });
    if (DURATION.test(d) && durationMillis(d) < 1) {
      this.fail(`${key} must be at least 1ms (got ${show(d)})`);
    }
    return d;
  }

  /** A list of strings each matching `rule`. */
  stringList(
    key: string,
    value: unknown,
    fallback: string[],
    rule?: { re: RegExp; hint: string },
  ): string[] {
    if (value === undefined) {
      return fallback;
    }
    if (
      !Array.isArray(value) ||
      value.some((v) => typeof v !== "string" || v === "")
    ) {
      this.fail(
        `${key} must be a list of non-empty strings (got ${show(value)}); e.g. 'pulumi config set --path "${key}[0]" <value>'`,
      );
      return fallback;
    }
    for (const v of value as string[]) {
      if (rule && !rule.re.test(v)) {
        this.fail(`${key} has ${show(v)}, which ${rule.hint}`);
      }
    }
    return value as string[];
  }

  resources(key: string, value: unknown, fallback: Resources): Resources {
    const obj = this.object(key, value, ["requests", "limits"]);
    const part = (kind: "requests" | "limits") => {
      const sub = this.object(`${key}.${kind}`, obj[kind], ["cpu", "memory"]);
      return {
        cpu: this.string(`${key}.${kind}.cpu`, sub.cpu, fallback[kind].cpu, {
          re: CPU,
          hint: "must be a CPU quantity such as 100m or 0.5",
        }),
        memory: this.string(
          `${key}.${kind}.memory`,
          sub.memory,
          fallback[kind].memory,
          {
            re: MEMORY,
            hint: "must be a memory quantity such as 256Mi or 1Gi",
          },
        ),
      };
    };
    return { requests: part("requests"), limits: part("limits") };
  }
}

/**
 * Validates the canary weights: a non-empty map of version name to an integer percentage, the
 * percentages summing to exactly 100. `key` is the config path used in messages (the same rules
 * serve every weighted service, e.g. Bookinfo's reviews).
 */
export function validateWeights(
  c: Checker,
  key: string,
  value: unknown,
): VersionWeight[] {
  const example = `pulumi config set --path ${key}.v1 100`;
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
        `${key}.${version} must be a whole number from 0 to 100 (got ${show(weight)}); ` +
          `e.g. 'pulumi config set --path ${key}.${version} 20'`,
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

export function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

export function show(v: unknown): string {
  return JSON.stringify(v) ?? String(v);
}

/** Milliseconds of a duration that matches DURATION. */
export function durationMillis(d: string): number {
  const m = /^([0-9.]+)(h|m|s|ms)$/.exec(d);
  if (!m) {
    return NaN;
  }
  const unit = { h: 3600000, m: 60000, s: 1000, ms: 1 }[
    m[2] as "h" | "m" | "s" | "ms"
  ];
  return parseFloat(m[1]) * unit;
}
