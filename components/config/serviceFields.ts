// The rules of single fields of a `services` entry (config/services.ts): names, labels,
// environment variables, the ingress path and maxSurge.
import { type Checker, isPlainObject } from "./checker";
import { Section } from "./section";
import { keyPath, show } from "./show";

/** An environment variable: a plain value, or a Pulumi config secret kept secret end to end. */
export type EnvValue = { readonly value: string } | { readonly secret: string };

/** A service name: a DNS-1035 label (Services need a leading letter), short enough for `<name>-<version>`. */
const SERVICE_NAME = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;
export const MAX_SERVICE_NAME = 22;
/** Kubernetes' own and the mesh's objects that a Service of this name would collide with. */
const RESERVED_SERVICE_NAMES = ["kubernetes", "waypoint", "istiod"];
/** A Kubernetes label key (optional DNS prefix) and value. */
export const LABEL_KEY =
  /^([a-z0-9]([-a-z0-9.]*[a-z0-9])?\/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/;
const LABEL_VALUE = /^([A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?$/;
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
export const ABSOLUTE_PATH = /^\/[A-Za-z0-9._/-]*$/;
export const HTTP_PATH = /^\/[A-Za-z0-9._~!$&'()*+,;=:@%/-]*$/;
/** maxSurge's default: one extra pod at a time. */
export const DEFAULT_MAX_SURGE = 1;
const MAX_SURGE = /^([1-9][0-9]?%|100%)$/;

/** A service's name, checked for Kubernetes' rules and the names the stack reserves. */
export function checkServiceName(c: Checker, name: string): boolean {
  const key = keyPath("services", name);
  if (!SERVICE_NAME.test(name) || name.length > MAX_SERVICE_NAME) {
    c.fail(
      `${key}: the service name ${show(name)} must be at most ${MAX_SERVICE_NAME} lowercase letters, digits and '-', starting with a letter ` +
        `(it names the Service, and '<name>-<version>' names each Deployment); rename it`,
    );
    return false;
  }
  if (RESERVED_SERVICE_NAMES.includes(name) || name.startsWith("kube-")) {
    c.fail(
      `${key}: ${show(name)} is reserved (Kubernetes' API Service, a namespace's waypoint, Istio's control plane, or the kube- prefix); choose another name`,
    );
    return false;
  }
  return true;
}

/** A non-empty map of label keys to values. */
export function labels(
  c: Checker,
  key: string,
  raw: unknown,
): Record<string, string> | undefined {
  if (raw === undefined) {
    return undefined;
  }
  if (!isPlainObject(raw) || Object.keys(raw).length === 0) {
    c.fail(
      `${key} must map label keys to values, e.g. {app: orders, version: v1} (got ${show(raw)})`,
    );
    return undefined;
  }
  for (const [k, v] of Object.entries(raw)) {
    if (!LABEL_KEY.test(k) || typeof v !== "string" || !LABEL_VALUE.test(v)) {
      c.fail(
        `${keyPath(key, k)} must be a Kubernetes label: a key such as app or app.kubernetes.io/name and a string value of at most 63 letters, digits, '-', '_' and '.' (got ${show(v)})`,
      );
    }
  }
  return raw as Record<string, string>;
}

/**
 * Environment variables: a plain string (numbers and booleans are written as strings) or
 * {secret: <value>}. Messages never show a value: it may be a secret.
 */
export function env(
  c: Checker,
  key: string,
  raw: unknown,
): Record<string, EnvValue> {
  const result: Record<string, EnvValue> = {};
  if (raw === undefined) {
    return result;
  }
  if (!isPlainObject(raw)) {
    c.fail(
      `${key} must map variable names to values; set one with 'pulumi config set --path ${key}.LOG_LEVEL info'`,
    );
    return result;
  }
  for (const [name, v] of Object.entries(raw)) {
    const k = keyPath(key, name);
    if (!ENV_NAME.test(name)) {
      c.fail(
        `${k}: ${show(name)} is not an environment variable name (letters, digits and '_', not starting with a digit)`,
      );
    } else if (["string", "number", "boolean"].includes(typeof v)) {
      result[name] = { value: String(v) };
    } else if (
      isPlainObject(v) &&
      Object.keys(v).length === 1 &&
      typeof v.secret === "string" &&
      v.secret !== ""
    ) {
      result[name] = { secret: v.secret };
    } else {
      c.fail(
        `${k} must be a plain value or {secret: <value>} (got a ${Array.isArray(v) ? "list" : typeof v}); ` +
          `set a secret with 'pulumi config set --secret --path ${k}.secret <value>'`,
      );
    }
  }
  return result;
}

/** `ingress: {path: /orders}`: a path prefix at the ingress gateway. */
export function ingressPath(
  c: Checker,
  key: string,
  raw: unknown,
): { path: string } | undefined {
  if (raw === undefined) {
    return undefined;
  }
  const s = new Section(c, key, raw, { path: undefined as string | undefined });
  if (!s.has("path")) {
    c.fail(
      `${s.path("path")} is not set; give the prefix the ingress routes, e.g. 'pulumi config set --path ${s.path("path")} /orders'`,
    );
    return undefined;
  }
  const path = c.string(s.path("path"), s.raw.path, "/", {
    re: HTTP_PATH,
    hint: "must be an HTTP path prefix starting with '/', e.g. /orders",
  });
  return { path: path.length > 1 ? path.replace(/\/+$/, "") : path };
}

/** A count (1 to 100) or a percentage, as a Deployment's maxSurge takes it. */
export function maxSurge(
  c: Checker,
  key: string,
  raw: unknown,
): number | string {
  if (raw === undefined) {
    return DEFAULT_MAX_SURGE;
  }
  if (
    typeof raw === "number" &&
    Number.isInteger(raw) &&
    raw >= 1 &&
    raw <= 100
  ) {
    return raw;
  }
  if (typeof raw === "string" && MAX_SURGE.test(raw)) {
    return raw;
  }
  if (typeof raw === "string" && /^[1-9][0-9]?$/.test(raw)) {
    return Number(raw);
  }
  c.fail(
    `${key} must be a whole number of pods from 1 to 100 or a percentage such as 25% (got ${show(raw)})`,
  );
  return DEFAULT_MAX_SURGE;
}
