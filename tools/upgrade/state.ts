// The stack config's `istio` section as far as an upgrade moves it (version, revisions, tags,
// defaultRevision, namespaceTags), read from `pulumi config --json`, and the config changes
// between two such states, as `pulumi config set --path` / `pulumi config rm --path` commands.
// Pure.

export type Dataplane = "sidecar" | "ambient";

export interface RevisionConfig {
  readonly version: string;
  /** Extra istiod chart values of this revision only (the test bed's webhook URLs). */
  readonly values?: Record<string, unknown>;
}

/** What an upgrade reads and writes of `istio`. Undefined: not set in the stack's config. */
export interface IstioState {
  /** istio.version; undefined when the config leaves it to the program's default. */
  readonly version?: string;
  readonly dataplane: Dataplane;
  /** istio.tag: the image tag, when the config pins one (it would keep the old images). */
  readonly imageTag?: string;
  readonly revisions?: Readonly<Record<string, RevisionConfig>>;
  readonly tags?: Readonly<Record<string, string>>;
  readonly defaultRevision?: string;
  readonly namespaceTags?: Readonly<Record<string, string>>;
}

/** One config change, by path (`pulumi config set --path` / `rm --path`). */
export type ConfigChange =
  | { readonly op: "set"; readonly path: string; readonly value: string }
  | { readonly op: "rm"; readonly path: string };

/** Raised when the stack's config cannot be read as an `istio` section; the message says why. */
export class StateError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "StateError";
  }
}

const isMap = (v: unknown): v is Record<string, unknown> =>
  typeof v === "object" && v !== null && !Array.isArray(v);

function stringMap(
  raw: unknown,
  key: string,
): Record<string, string> | undefined {
  if (raw === undefined) {
    return undefined;
  }
  if (!isMap(raw) || Object.values(raw).some((v) => typeof v !== "string")) {
    throw new StateError(
      `the stack's ${key} is not a map of names to names (got ${JSON.stringify(raw)}); fix it with 'pulumi config set --path ${key}.<name> <value>'`,
    );
  }
  return raw as Record<string, string>;
}

/**
 * The `istio` section from `pulumi config --json` (the Automation API's getAllConfig): keys
 * `<project>:istio`, values JSON text. A stack without the section is all defaults.
 */
export function readIstioState(
  config: Record<string, { value: string }>,
): IstioState {
  const key = Object.keys(config).find((k) => /^[^:]+:istio$/.test(k));
  let istio: unknown = {};
  if (key !== undefined) {
    try {
      istio = JSON.parse(config[key].value);
    } catch {
      istio = config[key].value;
    }
  }
  if (!isMap(istio)) {
    throw new StateError(
      `the stack's istio config is not a map (got ${JSON.stringify(istio)}); see docs/configuration.md`,
    );
  }
  const str = (k: string) =>
    typeof istio[k] === "string" ? (istio[k] as string) : undefined;
  let revisions: Record<string, RevisionConfig> | undefined;
  if (istio.revisions !== undefined) {
    if (!isMap(istio.revisions)) {
      throw new StateError(
        `the stack's istio.revisions is not a map (got ${JSON.stringify(istio.revisions)}); e.g. 'pulumi config set --path istio.revisions.1-30-4.version 1.30.4'`,
      );
    }
    revisions = {};
    for (const [name, r] of Object.entries(istio.revisions)) {
      if (!isMap(r) || typeof r.version !== "string") {
        throw new StateError(
          `the stack's istio.revisions.${name} has no version (got ${JSON.stringify(r)}); e.g. 'pulumi config set --path istio.revisions.${name}.version 1.30.4'`,
        );
      }
      revisions[name] = isMap(r.values)
        ? { version: r.version, values: r.values }
        : { version: r.version };
    }
  }
  return {
    version: str("version"),
    dataplane: istio.dataplane === "ambient" ? "ambient" : "sidecar",
    imageTag: str("tag"),
    revisions,
    tags: stringMap(istio.tags, "istio.tags"),
    defaultRevision: str("defaultRevision"),
    namespaceTags: stringMap(istio.namespaceTags, "istio.namespaceTags"),
  };
}

/** `1.30.4` -> `1-30-4`: a revision name (a DNS label) for a version. */
export const dashed = (version: string): string => version.replace(/\./g, "-");

/** The revision a namespace's tag or revision name resolves to. */
export const resolveRevision = (s: IstioState, tagOrRev: string): string =>
  s.tags?.[tagOrRev] ?? tagOrRev;

/** The changes of a string map at `base` (rm of the whole map when it goes). */
function mapChanges(
  base: string,
  before: Readonly<Record<string, string>> | undefined,
  after: Readonly<Record<string, string>> | undefined,
): ConfigChange[] {
  if (after === undefined) {
    return before === undefined ? [] : [{ op: "rm", path: base }];
  }
  const out: ConfigChange[] = [];
  for (const [k, v] of Object.entries(after)) {
    if (before?.[k] !== v) {
      out.push({ op: "set", path: `${base}.${k}`, value: v });
    }
  }
  for (const k of Object.keys(before ?? {})) {
    if (!(k in after)) {
      out.push({ op: "rm", path: `${base}.${k}` });
    }
  }
  return out;
}

const versionsOf = (r: IstioState["revisions"]) =>
  r === undefined
    ? undefined
    : Object.fromEntries(Object.entries(r).map(([n, c]) => [n, c.version]));

/**
 * The config changes that turn `before` into `after`: version, revisions, tags, defaultRevision,
 * namespaceTags, in that order. A revision that goes is removed whole (its values with it).
 */
export function configChanges(
  before: IstioState,
  after: IstioState,
): ConfigChange[] {
  const out: ConfigChange[] = [];
  if (after.version !== before.version) {
    out.push(
      after.version === undefined
        ? { op: "rm", path: "istio.version" }
        : { op: "set", path: "istio.version", value: after.version },
    );
  }
  const revs = mapChanges(
    "istio.revisions",
    versionsOf(before.revisions),
    versionsOf(after.revisions),
  ).map((c): ConfigChange => {
    if (c.op === "set") {
      return { ...c, path: `${c.path}.version` };
    }
    return c;
  });
  out.push(...revs);
  out.push(...mapChanges("istio.tags", before.tags, after.tags));
  if (after.defaultRevision !== before.defaultRevision) {
    out.push(
      after.defaultRevision === undefined
        ? { op: "rm", path: "istio.defaultRevision" }
        : {
            op: "set",
            path: "istio.defaultRevision",
            value: after.defaultRevision,
          },
    );
  }
  out.push(
    ...mapChanges(
      "istio.namespaceTags",
      before.namespaceTags,
      after.namespaceTags,
    ),
  );
  return out;
}

/** A value as a POSIX shell word: bare when safe, else single-quoted. */
const shellWord = (s: string) =>
  /^[A-Za-z0-9_./:@=+-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;

/** The CLI command of a change, for the stack `stack`. */
export function changeCommand(stack: string, c: ConfigChange): string {
  const where = `--stack ${shellWord(stack)} --path ${shellWord(c.path)}`;
  return c.op === "set"
    ? `pulumi config set ${where} ${shellWord(c.value)}`
    : `pulumi config rm ${where}`;
}
