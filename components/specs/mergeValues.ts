// Helm values from two sources: the user's extra values per chart (stack config) and ours.

/** Plain objects only: an Output or other class instance among our values is a value, not a map. */
const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === "object" &&
  v !== null &&
  [Object.prototype, null].includes(Object.getPrototypeOf(v));

/** A chart's values: the ones we set, typed, and whatever else the user added. */
export type ChartValues<T> = T & Record<string, unknown>;

/**
 * Deep-merges `ours` over `base`: nested objects merge key by key; anything else in `ours`
 * (scalars, lists) replaces what `base` holds. So users can add any value a chart reads, and the
 * values this program depends on (selectors, names, security settings) stay as it sets them.
 */
export function mergeValues<T extends object>(
  base: Readonly<Record<string, unknown>>,
  ours: T,
): ChartValues<T> {
  const out: Record<string, unknown> = { ...base };
  for (const [k, v] of Object.entries(ours)) {
    const b = out[k];
    out[k] = isObject(b) && isObject(v) ? mergeValues(b, v) : v;
  }
  return out as ChartValues<T>;
}
