// Istio's duration format, shared by config validation and the Envoy specs that need seconds.

/** A number and a unit of h, m, s or ms, e.g. 1.5s or 100ms. */
export const DURATION = /^[0-9]+(\.[0-9]+)?(h|m|s|ms)$/;

/** Milliseconds of a duration that matches DURATION; NaN for anything else. */
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

/**
 * The message for a duration given without a unit (`pulumi config set --path <key> 3` stores the
 * number 3), naming the value with one, so a single round fixes it; undefined for anything else.
 */
export function missingUnit(key: string, value: unknown): string | undefined {
  const v =
    typeof value === "number" || typeof value === "string" ? String(value) : "";
  if (!/^[0-9]+(\.[0-9]+)?$/.test(v)) {
    return undefined;
  }
  const got = typeof value === "string" ? JSON.stringify(value) : v;
  return `${key} needs a unit (got ${got}): a duration is a number and h, m, s or ms, e.g. ${v}s; set it with 'pulumi config set --path ${key} ${v}s'`;
}
