// The `security` section of the stack config: mTLS mode, istio-cni with the restricted Pod
// Security Standard, JWT validation and local rate limiting at the ingress gateway.
import { durationMillis, type MtlsMode } from "../core";
import { type Checker, isPlainObject } from "./checker";
import { type Fields, Section } from "./section";
import { show } from "./show";

export interface JwtConfig {
  /** The `iss` claim tokens must carry. */
  readonly issuer: string;
  /** Where the gateway fetches the signing keys; exactly one of jwksUri and jwks is set. */
  readonly jwksUri?: string;
  /** Inline JWKS document (JSON with a `keys` list). */
  readonly jwks?: string;
  /** Paths reachable without a token (Istio path syntax: exact, `prefix*` or `*suffix`). */
  readonly publicPaths: string[];
}

export interface RateLimitConfig {
  /** Requests the gateway admits per interval (the token bucket's size and refill). */
  readonly requests: number;
  /** Refill interval of the bucket, an Istio duration of at least 50ms. */
  readonly interval: string;
}

export interface SecurityConfig {
  /** Mesh-wide mTLS mode. */
  readonly mtlsMode: MtlsMode;
  /** Install istio-cni and enforce the restricted Pod Security Standard in app namespaces. */
  readonly cni: boolean;
  /** JWT validation at the gateway; off unless set. */
  readonly jwt?: JwtConfig;
  /** Local rate limit at the gateway; off unless set. */
  readonly rateLimit?: RateLimitConfig;
}

export const SECURITY_DEFAULTS = {
  mtlsMode: "STRICT" as MtlsMode,
  cni: false,
  jwt: undefined as JwtConfig | undefined,
  rateLimit: undefined as RateLimitConfig | undefined,
};

const JWT_DEFAULTS = {
  /** Required; "" only stands in while the problem is reported. */
  issuer: "",
  jwksUri: undefined as string | undefined,
  jwks: undefined as string | undefined,
  publicPaths: [] as readonly string[],
};

const RATE_LIMIT_DEFAULTS = {
  /** Required; 100 is the example its message gives. */
  requests: 100,
  interval: "1s",
};

const HTTPS_URL = /^https:\/\/[^\s/$.?#][^\s]*$/;
const PATH = /^(\/[^\s]*|\*[^\s]*)$/;

export function validateSecurity(c: Checker, raw: unknown): SecurityConfig {
  const s = new Section(c, "security", raw, SECURITY_DEFAULTS);
  return {
    mtlsMode: s.oneOf("mtlsMode", ["STRICT", "PERMISSIVE"]),
    cni: s.boolean("cni"),
    jwt: s.has("jwt")
      ? validateJwt(c, s.sectionOf("jwt", JWT_DEFAULTS))
      : undefined,
    rateLimit: s.has("rateLimit")
      ? validateRateLimit(c, s.sectionOf("rateLimit", RATE_LIMIT_DEFAULTS))
      : undefined,
  } satisfies Fields<typeof SECURITY_DEFAULTS>;
}

function validateJwt(c: Checker, j: Section<typeof JWT_DEFAULTS>): JwtConfig {
  const issuer = j.string("issuer", {
    re: HTTPS_URL,
    hint: "must be the issuer's https:// URL, exactly as tokens carry it in `iss`",
  });
  if (!j.has("issuer")) {
    c.fail(
      `${j.path("issuer")} is not set; set it with 'pulumi config set --path ${j.path("issuer")} https://issuer.example.com'`,
    );
  }
  const jwksUri = j.field("jwksUri", (key, value) =>
    value === undefined
      ? undefined
      : c.string(key, value, "", {
          re: HTTPS_URL,
          hint: "must be an https:// URL",
        }),
  );
  const jwks = j.field("jwks", (key, value) => {
    if (value === undefined) {
      return undefined;
    }
    const doc = c.string(key, value, "");
    if (!isJwks(doc)) {
      c.fail(
        `${key} must be a JSON Web Key Set, a JSON object with a non-empty "keys" list (got ${show(shorten(doc))})`,
      );
    }
    return doc;
  });
  if ((jwksUri === undefined) === (jwks === undefined)) {
    c.fail(
      `${j.key} needs exactly one of jwksUri and jwks (got ${jwksUri === undefined ? "neither" : "both"}); e.g. 'pulumi config set --path ${j.path("jwksUri")} ${issuer || "https://issuer.example.com"}/.well-known/jwks.json'`,
    );
  }
  const publicPaths = j.stringList("publicPaths", {
    re: PATH,
    hint: "is not a path: start it with / (or * for a suffix match)",
  });
  // A path that matches every request makes the whole edge public: JWT on in name only.
  for (const p of publicPaths.filter((p) => p === "*" || p === "/*")) {
    c.fail(
      `${j.path("publicPaths")} has ${JSON.stringify(p)}, which makes every path public and turns the JWT check off; ` +
        `list the public paths themselves (e.g. /healthz), or remove security.jwt to run without JWT`,
    );
  }
  return {
    issuer,
    jwksUri,
    jwks,
    publicPaths,
  } satisfies Fields<typeof JWT_DEFAULTS>;
}

function validateRateLimit(
  c: Checker,
  r: Section<typeof RATE_LIMIT_DEFAULTS>,
): RateLimitConfig {
  if (!r.has("requests")) {
    c.fail(
      `${r.path("requests")} is not set; e.g. 'pulumi config set --path ${r.path("requests")} ${RATE_LIMIT_DEFAULTS.requests}'`,
    );
  }
  const limit = {
    requests: r.integer("requests", 1, 1_000_000),
    interval: r.duration("interval"),
  } satisfies Fields<typeof RATE_LIMIT_DEFAULTS>;
  if (durationMillis(limit.interval) < 50) {
    c.fail(
      `${r.path("interval")} must be at least 50ms, Envoy's smallest refill interval (got ${show(limit.interval)})`,
    );
  }
  return limit;
}

function isJwks(text: string): boolean {
  try {
    const doc: unknown = JSON.parse(text);
    return isPlainObject(doc) && Array.isArray(doc.keys) && doc.keys.length > 0;
  } catch {
    return false;
  }
}

function shorten(s: string): string {
  return s.length > 40 ? `${s.slice(0, 37)}...` : s;
}
