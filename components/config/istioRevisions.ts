// Canary upgrades of the control plane (issue 24): istiod as named revisions, revision tags, and
// which revision each namespace of the stack follows. Istio's Helm canary flow: a second istiod
// release per revision beside the first, namespaces labelled istio.io/rev=<tag> (and no
// istio-injection, which wins over it), a tag moved from one revision to the other, the old
// revision removed last. Registers nothing.
import { type Dataplane, istioMinor } from "../core";
import { type Checker, isPlainObject } from "./checker";
import { DNS_LABEL, SEMVER } from "./patterns";
import { show } from "./show";

/** One revision of istiod: its own Helm release `istiod-<name>`, Deployment and webhooks. */
export interface IstioRevision {
  /** The Istio release this revision's istiod chart and image are. */
  readonly version: string;
  /** Extra istiod chart values for this revision only, merged over istio.values.istiod. Defaults to none. */
  readonly values: Readonly<Record<string, unknown>>;
}

/** The tag every namespace of the stack follows unless istio.namespaceTags names another. */
export const DEFAULT_TAG = "prod";

/** At most the revision being left and the one being adopted run at once. */
export const MAX_REVISIONS = 2;

/**
 * istiod's objects are named `istio-sidecar-injector-<revision>` and the tags'
 * `istio-revision-tag-<tag>`: both within the 63 characters of a label value and a name.
 */
const MAX_NAME = 30;

/** The revision settings of the `istio` section, read; undefined revisions: none configured. */
export interface RevisionSettings {
  readonly revisions?: Readonly<Record<string, IstioRevision>>;
  readonly tags: Readonly<Record<string, string>>;
  readonly defaultRevision?: string;
  readonly namespaceTags: Readonly<Record<string, string>>;
}

function name(c: Checker, key: string, value: string, what: string): boolean {
  if (
    DNS_LABEL.test(value) &&
    value.length <= MAX_NAME &&
    value !== "default"
  ) {
    return true;
  }
  c.fail(
    `${key} must name ${what} with lowercase letters, digits and '-', at most ${MAX_NAME} characters, and not "default" (Istio's name for the revisionless istiod) (got ${show(value)}); e.g. 1-30-5`,
  );
  return false;
}

function stringMap(
  c: Checker,
  key: string,
  value: unknown,
): Record<string, string> {
  if (value === undefined) {
    return {};
  }
  if (!isPlainObject(value)) {
    c.fail(
      `${key} must be an object of names (got ${show(value)}); e.g. 'pulumi config set --path ${key}.${DEFAULT_TAG} 1-30-5'`,
    );
    return {};
  }
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(value)) {
    if (typeof v !== "string") {
      c.fail(`${key}.${k} must be a name (got ${show(v)})`);
    } else {
      out[k] = v;
    }
  }
  return out;
}

function revision(
  c: Checker,
  key: string,
  value: unknown,
): IstioRevision | undefined {
  if (!isPlainObject(value)) {
    c.fail(
      `${key} must be an object with the revision's version (got ${show(value)}); e.g. 'pulumi config set --path ${key}.version 1.30.5'`,
    );
    return undefined;
  }
  for (const k of Object.keys(value)) {
    if (k !== "version" && k !== "values") {
      c.fail(
        `${key}.${k} is not a known setting (got ${show(value[k])}); known fields of ${key}: version, values`,
      );
    }
  }
  const version = value.version;
  if (typeof version !== "string" || !SEMVER.test(version)) {
    c.fail(
      `${key}.version must be an Istio release such as 1.30.5 (got ${show(version)}); 'pulumi config set --path ${key}.version 1.30.5'`,
    );
    return undefined;
  }
  if (value.values !== undefined && !isPlainObject(value.values)) {
    c.fail(
      `${key}.values must be an object of istiod chart values (got ${show(value.values)}); e.g. 'pulumi config set --path ${key}.values.<key> <value>'`,
    );
  }
  return { version, values: isPlainObject(value.values) ? value.values : {} };
}

/**
 * Reads istio.revisions, istio.tags, istio.defaultRevision and istio.namespaceTags and checks
 * them against each other: every tag and namespace names a configured revision (a tag left
 * pointing at a removed revision injects nothing: istio/istio#55897), `prod` exists, tags and
 * revisions do not share names, and istio.version (base, gateways) is the newest revision's.
 */
export function validateRevisions(
  c: Checker,
  raw: Record<string, unknown>,
  version: string,
  dataplane: Dataplane,
): RevisionSettings {
  const tags = stringMap(c, "istio.tags", raw.tags);
  const namespaceTags = stringMap(c, "istio.namespaceTags", raw.namespaceTags);
  const defaultRevision = raw.defaultRevision;
  if (raw.revisions === undefined) {
    for (const [key, set] of [
      ["istio.tags", Object.keys(tags).length > 0],
      ["istio.defaultRevision", defaultRevision !== undefined],
      ["istio.namespaceTags", Object.keys(namespaceTags).length > 0],
    ] as const) {
      if (set) {
        c.fail(
          `${key} is set but istio.revisions is not (got ${show(raw[key.slice(6)])}); tags and revisions only exist with revisions: add one, e.g. 'pulumi config set --path istio.revisions.${version.replace(/\./g, "-")}.version ${version}', or remove ${key}`,
        );
      }
    }
    return { tags: {}, namespaceTags: {} };
  }
  if (
    !isPlainObject(raw.revisions) ||
    Object.keys(raw.revisions).length === 0
  ) {
    c.fail(
      `istio.revisions must be an object of revisions, each with a version (got ${show(raw.revisions)}); e.g. 'pulumi config set --path istio.revisions.${version.replace(/\./g, "-")}.version ${version}', or remove it to run istiod without revisions`,
    );
    return { tags: {}, namespaceTags: {} };
  }
  const revisions: Record<string, IstioRevision> = {};
  for (const [rev, value] of Object.entries(raw.revisions)) {
    const key = `istio.revisions.${rev}`;
    const r = revision(c, key, value);
    if (name(c, key, rev, "a revision") && r) {
      revisions[rev] = r;
    }
  }
  const names = Object.keys(revisions);
  if (Object.keys(raw.revisions).length > MAX_REVISIONS) {
    c.fail(
      `istio.revisions holds ${Object.keys(raw.revisions).length} revisions (got ${show(Object.keys(raw.revisions))}); at most ${MAX_REVISIONS} run at once, the one being left and the one being adopted: remove the oldest once nothing uses it`,
    );
  }
  if (dataplane === "ambient") {
    c.fail(
      `istio.revisions is set but istio.dataplane is ambient (got ${show(names)}); Istio has no canary upgrade for ztunnel and istio-cni: upgrade ambient in place with 'pulumi config set --path istio.version <version>' (istiod, then istio-cni, then ztunnel), and remove istio.revisions`,
    );
  }
  const known = `configured revisions: ${names.join(", ") || "none"}`;
  for (const [tag, rev] of Object.entries(tags)) {
    const key = `istio.tags.${tag}`;
    if (name(c, key, tag, "a tag") && names.includes(tag)) {
      c.fail(
        `${key} names a tag like a revision (got ${show(tag)}); a tag and a revision must not share a name, or istio.io/rev=${tag} would mean both`,
      );
    }
    if (!names.includes(rev)) {
      c.fail(
        `${key} must name a configured revision (got ${show(rev)}; ${known}); a tag pointing at a revision that is not installed injects nothing. 'pulumi config set --path ${key} <revision>'`,
      );
    }
  }
  if (tags[DEFAULT_TAG] === undefined) {
    c.fail(
      `istio.tags.${DEFAULT_TAG} must be set with istio.revisions (got ${show(raw.tags)}); every namespace of the stack follows the tag ${DEFAULT_TAG} unless istio.namespaceTags names another: 'pulumi config set --path istio.tags.${DEFAULT_TAG} ${names[0] ?? "<revision>"}'`,
    );
  }
  if (
    defaultRevision !== undefined &&
    (typeof defaultRevision !== "string" || !names.includes(defaultRevision))
  ) {
    c.fail(
      `istio.defaultRevision must name a configured revision (got ${show(defaultRevision)}; ${known}); it picks the istiod that validates Istio resources. Remove it to follow istio.tags.${DEFAULT_TAG}`,
    );
  }
  for (const [ns, target] of Object.entries(namespaceTags)) {
    if (!names.includes(target) && tags[target] === undefined) {
      c.fail(
        `istio.namespaceTags.${ns} must name a tag or a revision (got ${show(target)}; tags: ${Object.keys(tags).join(", ") || "none"}; ${known}); 'pulumi config set --path istio.namespaceTags.${ns} ${DEFAULT_TAG}'`,
      );
    }
  }
  const newest = names
    .map((r) => revisions[r].version)
    .sort(compareReleases)
    .at(-1);
  if (newest !== undefined && version !== newest) {
    c.fail(
      `istio.version must be the newest revision's version with istio.revisions (got ${show(version)}, newest revision ${show(newest)}); the base chart (CRDs, backward compatible) and the gateway charts go first, as Istio's canary upgrade does: 'pulumi config set --path istio.version ${newest}'`,
    );
  }
  for (const r of names) {
    const gap = minorGap(revisions[r].version, version);
    if (gap > 2) {
      c.fail(
        `istio.revisions.${r}.version is ${gap} minors from istio.version (got ${show(revisions[r].version)} and ${show(version)}); a canary upgrade may skip at most one minor`,
      );
    }
  }
  return {
    revisions,
    tags,
    defaultRevision:
      typeof defaultRevision === "string" ? defaultRevision : tags[DEFAULT_TAG],
    namespaceTags,
  };
}

/** Orders Istio releases (x.y.z): <0, 0, >0. */
export function compareReleases(a: string, b: string): number {
  const x = a.split(/[.-]/).map(Number);
  const y = b.split(/[.-]/).map(Number);
  return x[0] - y[0] || x[1] - y[1] || x[2] - y[2];
}

/** How many minors apart two releases are (1.30.x and 1.32.y: 2). */
export function minorGap(a: string, b: string): number {
  const [am, an] = istioMinor(a).split(".").map(Number);
  const [bm, bn] = istioMinor(b).split(".").map(Number);
  return am === bm ? Math.abs(an - bn) : Infinity;
}

/** The tag (or revision) a namespace's pods follow: its istio.io/rev label. */
export function namespaceTag(s: RevisionSettings, namespace: string): string {
  return s.namespaceTags[namespace] ?? DEFAULT_TAG;
}

/** The revision a tag or revision name resolves to. */
export function resolveRevision(
  s: RevisionSettings,
  tagOrRevision: string,
): string {
  return s.revisions?.[tagOrRevision] ? tagOrRevision : s.tags[tagOrRevision];
}

/**
 * With revisions: istio.namespaceTags names only namespaces whose labels the stack sets, and the
 * routing API is Istio's (a Gateway API ingress Gateway is deployed by istiod itself, by the
 * revision its own istio.io/rev label names; the stack does not label those yet).
 */
export function checkRevisionScope(
  c: Checker,
  s: RevisionSettings,
  routingApi: string,
  stackNamespaces: readonly string[],
): void {
  if (!s.revisions) {
    return;
  }
  if (routingApi !== "istio") {
    c.fail(
      `istio.revisions is set but routing.api is ${show(routingApi)}; canary upgrades of istiod are supported with routing.api istio: 'pulumi config set --path routing.api istio', or remove istio.revisions`,
    );
  }
  for (const ns of Object.keys(s.namespaceTags)) {
    if (!stackNamespaces.includes(ns)) {
      c.fail(
        `istio.namespaceTags.${ns} names a namespace the stack does not label (got ${show(ns)}; the stack's: ${stackNamespaces.join(", ")}); label a namespace of your own with 'kubectl label namespace ${ns} istio.io/rev=<tag>', or remove the key`,
      );
    }
  }
}
