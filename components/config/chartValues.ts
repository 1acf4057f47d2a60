// `<mesh>.values.<chart>`: extra Helm values for one of the charts a section installs, passed on as
// they are (the chart checks them, not us) and merged under the stack's own values.
import { type Checker, isPlainObject } from "./checker";
import type { Fields, Section } from "./section";
import { show } from "./show";

/**
 * Chart values nest a few levels. Far deeper ones pass on to the release and overflow the stack
 * when it is registered, after other resources, so they are refused here.
 */
const MAX_VALUES_DEPTH = 32;

/** Each chart's extra values from a `values` section whose fields are the chart keys. */
export function chartValues<D extends Record<string, Record<string, unknown>>>(
  c: Checker,
  s: Section<D>,
  chartLabel: (chart: keyof D & string) => string = (chart) => chart,
): D {
  const values = (chart: keyof D & string) =>
    s.field(chart, (key, value, fallback) => {
      if (value !== undefined && !isPlainObject(value)) {
        c.fail(
          `${key} must be an object of Helm values for the ${chartLabel(chart)} chart (got ${show(value)}); e.g. 'pulumi config set --path ${key}.<key> <value>'`,
        );
      } else if (nestsDeeper(value, MAX_VALUES_DEPTH)) {
        c.fail(
          `${key} must nest at most ${MAX_VALUES_DEPTH} levels, as a chart's values do (got ${show(value)}); set each value at its own path, e.g. 'pulumi config set --path ${key}.<key>.<key> <value>'`,
        );
        return fallback;
      }
      return isPlainObject(value) ? value : fallback;
    });
  const out = Object.fromEntries(
    (Object.keys(s.defaults) as Array<keyof D & string>).map((chart) => [
      chart,
      values(chart),
    ]),
  );
  return out as D & Fields<D>;
}

/**
 * True when `value` holds objects or lists more than `levels` deep, or a cycle. Each object is
 * walked once per depth it is reached at, so shared parts (YAML aliases) are not walked again.
 */
function nestsDeeper(
  value: unknown,
  levels: number,
  explored = new Map<object, number>(),
  path = new Set<object>(),
): boolean {
  if (typeof value !== "object" || value === null) {
    return false;
  }
  if (levels === 0 || path.has(value)) {
    return true;
  }
  if ((explored.get(value) ?? -1) >= levels) {
    return false;
  }
  explored.set(value, levels);
  path.add(value);
  const deeper = Object.values(value).some((v) =>
    nestsDeeper(v, levels - 1, explored, path),
  );
  path.delete(value);
  return deeper;
}
