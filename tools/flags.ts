// The command-line grammar the tools share (`npm run rollout`, `traffic` and `recover`): `--name
// value`, `--name=value` and boolean `--name`. Every problem is collected, so the user sees all of
// them at once, and each message names the flag, the value and the fix, as the stack config's
// messages do; an unknown flag one or two typos from a known one gets a "did you mean".

/** What a tool accepts: each flag, and whether it takes a value. */
export type FlagSpec = Record<string, "value" | "boolean">;

/** Raised for a command line the tool refuses; the message lists every problem. */
export class UsageError extends Error {
  constructor(
    readonly problems: string[],
    readonly usage: string,
  ) {
    super(`${problems.map((p) => `  - ${p}`).join("\n")}\n\nusage: ${usage}`);
    this.name = "UsageError";
  }
}

/** A value as the user typed it, quoted for messages. */
export const quote = (v: string): string => JSON.stringify(v);

/**
 * Splits argv (without node and the script) into flag values. Unknown flags, positional words,
 * repeated flags, a value flag without its value and a value given to a boolean flag are
 * reported in `problems`.
 */
export function tokenize(
  argv: readonly string[],
  spec: FlagSpec,
  problems: string[],
): Map<string, string | true> {
  const seen = new Map<string, string | true>();
  const known = Object.keys(spec)
    .map((f) => `--${f}`)
    .join(", ");
  for (let i = 0; i < argv.length; i++) {
    const word = argv[i];
    if (!word.startsWith("--")) {
      problems.push(
        `unexpected argument ${quote(word)}: every option is a flag (${known})`,
      );
      continue;
    }
    const eq = word.indexOf("=");
    const name = eq >= 0 ? word.slice(2, eq) : word.slice(2);
    const kind = spec[name];
    if (kind === undefined) {
      let given = eq >= 0 ? word.slice(eq + 1) : undefined;
      if (
        eq < 0 &&
        argv[i + 1] !== undefined &&
        !argv[i + 1].startsWith("--")
      ) {
        given = argv[++i]; // its value, most likely
      }
      const near = Object.keys(spec).find((f) => {
        const d = editDistance(f, name);
        return d <= 2 && d <= name.length / 2;
      });
      problems.push(
        `unknown flag --${name}${given === undefined ? "" : ` (given ${quote(given)})`}: ` +
          `${near ? `did you mean --${near}? ` : ""}use one of ${known}`,
      );
      continue;
    }
    let value: string | true;
    if (kind === "boolean") {
      if (eq >= 0) {
        problems.push(
          `--${name} takes no value (got ${quote(word.slice(eq + 1))}); write --${name} alone`,
        );
        continue;
      }
      value = true;
    } else if (eq >= 0) {
      value = word.slice(eq + 1);
    } else if (argv[i + 1] === undefined || argv[i + 1].startsWith("--")) {
      problems.push(`--${name} needs a value, e.g. --${name} <value>`);
      continue;
    } else {
      value = argv[++i];
    }
    if (seen.has(name)) {
      problems.push(
        `--${name} is given twice (${show(seen.get(name)!)} and ${show(value)}); give it once`,
      );
      continue;
    }
    seen.set(name, value);
  }
  return seen;
}

const show = (v: string | true) => (v === true ? "set" : quote(v));

/** Levenshtein distance, for "did you mean" (a typo is one or two edits from the flag). */
function editDistance(a: string, b: string): number {
  let row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const next = [i];
    for (let j = 1; j <= b.length; j++) {
      next[j] = Math.min(
        row[j] + 1,
        next[j - 1] + 1,
        row[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1),
      );
    }
    row = next;
  }
  return row[b.length];
}

/** A stack name as Pulumi accepts it: `name`, `org/name` or `org/project/name`. */
const STACK_NAME = /^([A-Za-z0-9_.-]+\/){0,2}[A-Za-z0-9_.-]+$/;

/**
 * A stack name, or a problem recorded: `missing` says what to do when it is not given at all
 * (undefined: the caller has a default), `name` is how the message names it (--stack, $STACK).
 */
export function stackFlag(
  problems: string[],
  stack: string | undefined,
  missing?: string,
  name = "--stack",
): string | undefined {
  if (stack === undefined) {
    if (missing) {
      problems.push(`--stack is required: ${missing}, e.g. --stack dev`);
    }
    return undefined;
  }
  if (!STACK_NAME.test(stack)) {
    problems.push(
      `${name} must be a stack name such as dev or acme/service-mesh/prod (got ${quote(stack)}); see 'pulumi stack ls'`,
    );
    return undefined;
  }
  return stack;
}

/** A whole number within [min, max], or undefined with a problem recorded. */
export function integerFlag(
  problems: string[],
  name: string,
  raw: string,
  min: number,
  max: number,
  example: string,
): number | undefined {
  const n = /^[0-9]+$/.test(raw) ? Number(raw) : NaN;
  if (!Number.isSafeInteger(n) || n < min || n > max) {
    problems.push(
      `--${name} must be a whole number from ${min} to ${max} (got ${quote(raw)}); e.g. --${name} ${example}`,
    );
    return undefined;
  }
  return n;
}

/** A decimal number within [min, max] (min excluded when `exclusiveMin`), or undefined. */
export function numberFlag(
  problems: string[],
  name: string,
  raw: string,
  range: { min: number; max: number; exclusiveMin?: boolean },
  example: string,
): number | undefined {
  const n = /^[0-9]+(\.[0-9]+)?$/.test(raw) ? Number(raw) : NaN;
  const low = range.exclusiveMin ? n <= range.min : n < range.min;
  if (!Number.isFinite(n) || low || n > range.max) {
    const from = range.exclusiveMin
      ? `greater than ${range.min}`
      : `from ${range.min}`;
    problems.push(
      `--${name} must be a number ${from} up to ${range.max} (got ${quote(raw)}); e.g. --${name} ${example}`,
    );
    return undefined;
  }
  return n;
}

/** An http:// or https:// URL, or undefined with a problem recorded. */
export function urlFlag(
  problems: string[],
  name: string,
  raw: string,
  example: string,
): URL | undefined {
  let url: URL | undefined;
  try {
    url = new URL(raw);
  } catch {
    url = undefined;
  }
  if (!url || !["http:", "https:"].includes(url.protocol) || !url.hostname) {
    problems.push(
      `--${name} must be an http:// or https:// URL (got ${quote(raw)}); e.g. --${name} ${example}`,
    );
    return undefined;
  }
  if (url.username || url.password) {
    problems.push(
      `--${name} must not carry credentials (got a URL with a user name or password); ` +
        `give the plain URL, e.g. --${name} ${example}`,
    );
    return undefined;
  }
  return url;
}

/**
 * The tools' common start: parse argv, or say why it is refused (exit 2), or print the help
 * (exit 0). Returns the options, or the exit code when there is nothing more to do.
 */
export function parseOrExit<T>(
  tool: string,
  parse: () => T | "help",
  help: string,
  out: {
    stdout: NodeJS.WritableStream;
    stderr: NodeJS.WritableStream;
  } = process,
): T | number {
  let opts: T | "help";
  try {
    opts = parse();
  } catch (e) {
    if (e instanceof UsageError) {
      out.stderr.write(`${tool}: refused:\n${e.message}\n`);
      return 2;
    }
    throw e;
  }
  if (opts === "help") {
    out.stdout.write(`${help}\n`);
    return 0;
  }
  return opts;
}
