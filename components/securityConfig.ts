// The `security` section of the stack config: mTLS mode, istio-cni with the restricted Pod
// Security Standard, JWT validation and local rate limiting at the ingress gateway.
import { Checker, durationMillis, isPlainObject, show } from "./configChecker";

export type MtlsMode = "STRICT" | "PERMISSIVE";

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
  readonly jwt?: JwtConfig;
  readonly rateLimit?: RateLimitConfig;
}

export const SECURITY_DEFAULTS = {
  mtlsMode: "STRICT" as MtlsMode,
  cni: false,
  publicPaths: [] as string[],
  rateLimitInterval: "1s",
};

const HTTPS_URL = /^https:\/\/[^\s/$.?#][^\s]*$/;
const PATH = /^(\/[^\s]*|\*[^\s]*)$/;

export function validateSecurity(c: Checker, raw: unknown): SecurityConfig {
  const s = c.object("security", raw, ["mtlsMode", "cni", "jwt", "rateLimit"]);
  const mtlsMode = c.oneOf(
    "security.mtlsMode",
    s.mtlsMode,
    ["STRICT", "PERMISSIVE"] as const,
    SECURITY_DEFAULTS.mtlsMode,
  );
  const cni = c.boolean("security.cni", s.cni, SECURITY_DEFAULTS.cni);

  let jwt: JwtConfig | undefined;
  if (s.jwt !== undefined) {
    const j = c.object("security.jwt", s.jwt, [
      "issuer",
      "jwksUri",
      "jwks",
      "publicPaths",
    ]);
    const issuer = c.string("security.jwt.issuer", j.issuer, "", {
      re: HTTPS_URL,
      hint: "must be the issuer's https:// URL, exactly as tokens carry it in `iss`",
    });
    if (j.issuer === undefined) {
      c.fail(
        `security.jwt.issuer is not set; set it with 'pulumi config set --path security.jwt.issuer https://issuer.example.com'`,
      );
    }
    const jwksUri =
      j.jwksUri === undefined
        ? undefined
        : c.string("security.jwt.jwksUri", j.jwksUri, "", {
            re: HTTPS_URL,
            hint: "must be an https:// URL",
          });
    let jwks: string | undefined;
    if (j.jwks !== undefined) {
      jwks = c.string("security.jwt.jwks", j.jwks, "");
      if (!isJwks(jwks)) {
        c.fail(
          `security.jwt.jwks must be a JSON Web Key Set, a JSON object with a non-empty "keys" list (got ${show(shorten(jwks))})`,
        );
      }
    }
    if ((jwksUri === undefined) === (jwks === undefined)) {
      c.fail(
        `security.jwt needs exactly one of jwksUri and jwks (got ${jwksUri === undefined ? "neither" : "both"}); e.g. 'pulumi config set --path security.jwt.jwksUri ${issuer || "https://issuer.example.com"}/.well-known/jwks.json'`,
      );
    }
    const publicPaths = c.stringList(
      "security.jwt.publicPaths",
      j.publicPaths,
      SECURITY_DEFAULTS.publicPaths,
      {
        re: PATH,
        hint: "is not a path: start it with / (or * for a suffix match)",
      },
    );
    jwt = { issuer, jwksUri, jwks, publicPaths };
  }

  let rateLimit: RateLimitConfig | undefined;
  if (s.rateLimit !== undefined) {
    const r = c.object("security.rateLimit", s.rateLimit, [
      "requests",
      "interval",
    ]);
    if (r.requests === undefined) {
      c.fail(
        `security.rateLimit.requests is not set; e.g. 'pulumi config set --path security.rateLimit.requests 100'`,
      );
    }
    const requests = c.integer(
      "security.rateLimit.requests",
      r.requests,
      100,
      1,
      1_000_000,
    );
    const interval = c.duration(
      "security.rateLimit.interval",
      r.interval,
      SECURITY_DEFAULTS.rateLimitInterval,
    );
    if (durationMillis(interval) < 50) {
      c.fail(
        `security.rateLimit.interval must be at least 50ms, Envoy's smallest refill interval (got ${show(interval)})`,
      );
    }
    rateLimit = { requests, interval };
  }
  return { mtlsMode, cni, jwt, rateLimit };
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
