// The machinery of config validation: a Checker collects every problem while the sections walk
// the raw values, so the user sees all of them at once. Each rule takes the value's full key and
// a fallback, and each message names the key, the value and the fix.
import * as pulumi from "@pulumi/pulumi";
import {
  DURATION,
  durationMillis,
  ISTIO_NAMESPACE,
  missingUnit,
  type Resources,
} from "../core";
import { CPU, DNS_LABEL, IMAGE, MEMORY, type Pattern } from "./patterns";
import { keyPath, show } from "./show";

const RESERVED_NAMESPACES = new Set([
  "kube-system",
  "kube-public",
  "kube-node-lease",
  "default",
  ISTIO_NAMESPACE,
]);

/** Raised for invalid stack configuration; Pulumi prints its message without a stack trace. */
export class ConfigError extends pulumi.RunError {
  constructor(readonly problems: string[]) {
    super(
      "Invalid stack configuration (nothing was deployed):\n" +
        problems.map((p) => `  - ${p}`).join("\n"),
    );
    this.name = "ConfigError";
  }
}

/** Collects problems while walking the raw config, so the user sees all of them at once. */
export class Checker {
  readonly problems: string[] = [];

  fail(msg: string): void {
    this.problems.push(msg);
  }

  /** Throws a ConfigError listing every problem found, if there is any. */
  throwIfAny(): void {
    if (this.problems.length > 0) {
      throw new ConfigError(this.problems);
    }
  }

  /**
   * The object at `key`, or {} (with a problem recorded) if it is not a plain object. Fields not
   * in `known` are reported as unknown, whatever their value.
   */
  object(
    key: string,
    value: unknown,
    known: readonly string[],
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
          `${keyPath(key, k)} is not a known setting (got ${show(value[k])}); known fields of ${key}: ${known.join(", ")}`,
        );
      }
    }
    return value;
  }

  string(
    key: string,
    value: unknown,
    fallback: string,
    rule?: Pattern,
  ): string {
    if (value === undefined) {
      return fallback;
    }
    if (typeof value !== "string" || value === "") {
      // A stack file's unquoted 1.30 or true arrives as a number or a boolean.
      const quote =
        typeof value === "number" || typeof value === "boolean"
          ? `quote it in the stack's YAML (unquoted, YAML reads it as a ${typeof value}), or `
          : "";
      this.fail(
        `${key} must be a non-empty string (got ${show(value)}); ${quote}remove it to use the default ${show(fallback)}`,
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
    /** What the choices mean, added to the message. */
    meaning?: string,
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
      `${key} must be one of ${allowed.join(", ")} (got ${show(value)})${meaning ? `; ${meaning}` : ""}`,
    );
    return fallback;
  }

  namespace(key: string, value: unknown, fallback: string): string {
    const ns = this.string(key, value, fallback, {
      re: DNS_LABEL,
      hint: "must be a valid namespace name: lowercase letters, digits and '-', starting and ending with a letter or digit",
    });
    if (ns.length > 63) {
      this.fail(
        `${key} must be at most 63 characters, Kubernetes' limit for a namespace name (got ${show(ns)}, ${ns.length} characters)`,
      );
    }
    if (RESERVED_NAMESPACES.has(ns)) {
      this.fail(
        `${key} must not be a system namespace (got ${show(ns)}); choose a namespace of its own, e.g. ${show(fallback)}`,
      );
    }
    return ns;
  }

  image(key: string, value: unknown, fallback: string): string {
    const image = this.string(key, value, fallback, IMAGE);
    if (!IMAGE.re.test(image)) {
      return image;
    }
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
    const noUnit = missingUnit(key, value); // a bare number: suggest its unit
    if (noUnit) this.fail(noUnit);
    const d = this.string(key, noUnit ? undefined : value, fallback, {
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
    fallback: readonly string[],
    rule?: Pattern,
  ): string[] {
    if (value === undefined) {
      return [...fallback];
    }
    if (
      !Array.isArray(value) ||
      value.some((v) => typeof v !== "string" || v === "")
    ) {
      this.fail(
        `${key} must be a list of non-empty strings (got ${show(value)}); e.g. 'pulumi config set --path "${key}[0]" <value>'`,
      );
      return [...fallback];
    }
    for (const v of value as string[]) {
      if (rule && !rule.re.test(v)) {
        this.fail(`${key} has ${show(v)}, which ${rule.hint}`);
      }
    }
    return value as string[];
  }

  /** Requests and limits, each with cpu and memory; what is left out keeps its fallback. */
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

export function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}
