// The traffic probe's arithmetic: which version an answer names, how far the observed split may
// stray from the configured weights by chance, and the bar chart. Pure.
//
// An answer names its version in the response header x-mesh-version, which the routes of declared
// HTTP services (the stack config's services, issue 22) set on each weighted destination, or, for
// the demo backend, whose routes set no such header, in its body ("backend v1").
//
// Each request is routed on its own (Envoy's weighted clusters pick per request), so the count of
// a version with weight p among n answers is binomial: mean n·p, standard deviation
// σ = √(n·p·(1−p)). The verdict allows 3σ either way, which a correct split passes 99.7 % of the
// time for each version; a version with weight 0 (or 100) has σ = 0 and must be seen never
// (or always).

/** The demo backend answers "backend <version>" (http-echo's -text). */
const ANSWER = /^backend ([a-z0-9]([-a-z0-9]*[a-z0-9])?)\s*$/;

/** A version name as the stack's weights accept it (a DNS label). */
const VERSION = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

/** The response header a declared service's route sets to the version that answered. */
export const VERSION_HEADER = "x-mesh-version";

/** The version named by an answer body, or undefined for anything else. */
export function versionOf(body: string): string | undefined {
  return ANSWER.exec(body)?.[1];
}

/**
 * The version an answer names: its x-mesh-version header when it has one (`header`, as fetch's
 * Headers.get gives it: null when absent, repeated headers joined by ", "), else its body. A header
 * that is not one version name names none: the body is not asked, since the route said otherwise.
 */
export function answerVersion(
  header: string | null | undefined,
  body: string,
): string | undefined {
  if (header === null || header === undefined) {
    return versionOf(body);
  }
  const v = header.trim();
  return VERSION.test(v) ? v : undefined;
}

/** How many standard deviations the verdict allows. */
export const SIGMAS = 3;

export interface SplitRow {
  readonly version: string;
  /** Configured percent (0 for a version that answered without a weight). */
  readonly configured: number;
  readonly count: number;
  /** Observed percent of the answers. */
  readonly observed: number;
  /** Allowed deviation from the configured percent, in percentage points (3σ). */
  readonly tolerance: number;
  /** (count − n·p) / σ; ±Infinity when σ = 0 and the count is off. */
  readonly deviationSigmas: number;
  readonly ok: boolean;
  readonly note?: string;
}

export interface SplitVerdict {
  readonly n: number;
  readonly rows: readonly SplitRow[];
  readonly ok: boolean;
}

/** Compares observed counts with the configured weights (percent). */
export function judgeSplit(
  counts: Readonly<Record<string, number>>,
  weights: Readonly<Record<string, number>>,
): SplitVerdict {
  const n = Object.values(counts).reduce((s, c) => s + c, 0);
  const versions = [
    ...Object.keys(weights),
    ...Object.keys(counts)
      .filter((v) => !(v in weights))
      .sort(),
  ];
  const rows = versions.map((version): SplitRow => {
    const configured = weights[version] ?? 0;
    const count = counts[version] ?? 0;
    const p = configured / 100;
    const sigma = Math.sqrt(n * p * (1 - p));
    const off = count - n * p;
    const deviationSigmas =
      sigma > 0 ? off / sigma : off === 0 ? 0 : Math.sign(off) * Infinity;
    const ok = n > 0 && Math.abs(off) <= SIGMAS * sigma + 1e-9;
    return {
      version,
      configured,
      count,
      observed: n > 0 ? (100 * count) / n : 0,
      tolerance: n > 0 ? (100 * SIGMAS * sigma) / n : 0,
      deviationSigmas,
      ok,
      note:
        version in weights
          ? undefined
          : "answered, but has no configured weight",
    };
  });
  return { n, rows, ok: n > 0 && rows.every((r) => r.ok) };
}

const pct = (x: number) => `${x.toFixed(1)}%`;

/**
 * The chart: per version a bar of the observed share, a `|` where the configured weight is, the
 * numbers, and whether the version is within tolerance.
 */
export function renderSplit(v: SplitVerdict, width = 40): string[] {
  const name = Math.max(7, ...v.rows.map((r) => r.version.length));
  const lines = [
    `${"version".padEnd(name)}  ${"observed (| = configured)".padEnd(width)}  observed         configured  verdict`,
  ];
  for (const r of v.rows) {
    const filled = Math.round((r.observed / 100) * width);
    const mark = Math.min(width - 1, Math.round((r.configured / 100) * width));
    const bar = Array.from({ length: width }, (_, i) =>
      i === mark ? "|" : i < filled ? "█" : "·",
    ).join("");
    const dev = Number.isFinite(r.deviationSigmas)
      ? `${r.deviationSigmas >= 0 ? "+" : ""}${r.deviationSigmas.toFixed(1)}σ`
      : "never expected";
    const verdict = `${r.ok ? "ok" : "OFF"} (${dev}, allowed ±${r.tolerance.toFixed(1)} pts)${r.note ? `: ${r.note}` : ""}`;
    lines.push(
      `${r.version.padEnd(name)}  ${bar}  ${pct(r.observed).padStart(6)} (${String(r.count).padStart(5)})  ${pct(r.configured).padStart(10)}  ${verdict}`,
    );
  }
  return lines;
}

/** The closing line: the verdict and the rule it applied. */
export function verdictLine(v: SplitVerdict): string {
  const rule = `each version within ${SIGMAS}σ of its weight, σ = √(n·p·(1−p)), n = ${v.n}`;
  if (v.n === 0) {
    return `FAIL: no answer named a version (${rule})`;
  }
  return v.ok
    ? `PASS: the observed split matches the configured weights (${rule})`
    : `FAIL: ${v.rows
        .filter((r) => !r.ok)
        .map((r) => `${r.version} ${pct(r.observed)} vs ${pct(r.configured)}`)
        .join(", ")} (${rule})`;
}
