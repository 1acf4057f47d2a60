// Random stack configs for fuzzing the validator, from a seeded generator so that any case can be
// replayed. Most cases are valid configs with a few mutations (so validation gets past the first
// check of each section and into its deep rules); the rest follow the shape of the defaults with
// random values, or are random objects altogether.
import { DEFAULTS } from "../../components/config";

/** Returns numbers in [0, 1), the same sequence for the same seed (mulberry32). */
export function mulberry32(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
}

type Json = Record<string, unknown>;

/** Valid configs: the dev stack's, and ones that set every section (each checked in the test). */
export const VALID_BASES: readonly Json[] = [
  { canary: { weights: { v1: 80, v2: 20 } } },
  {
    istio: {
      version: "1.30.3",
      chartDir: "test/fixtures/charts",
      hub: "localhost:5000/istio",
      tag: "1.30.3",
      platform: "k3d",
      istiodResources: { requests: { cpu: "200m", memory: "512Mi" } },
      proxyResources: { limits: { cpu: "0.5", memory: "128Mi" } },
      values: { istiod: { pilot: { env: { A: "1" } } }, cni: { x: 1 } },
    },
    ingress: { namespace: "edge", serviceType: "NodePort" },
    appNamespace: "shop",
    images: { frontend: "registry.example.com/web/nginx:1.27.4" },
    canary: {
      weights: { v1: 50, v2: 30, "v3-beta": 20 },
      header: { name: "x-canary", value: "always", version: "v2" },
      mirror: { version: "v3-beta", percent: 10 },
    },
    security: {
      mtlsMode: "PERMISSIVE",
      cni: true,
      jwt: {
        issuer: "https://auth.example.com",
        jwksUri: "https://auth.example.com/jwks.json",
        publicPaths: ["/healthz", "*.css"],
      },
      rateLimit: { requests: 100, interval: "1s" },
    },
    resilience: {
      loadBalancer: "header:x-user",
      connectionPool: { maxConnections: 10, maxRetries: 0 },
      outlierDetection: { consecutive5xxErrors: 3, interval: "5s" },
      timeout: "4s",
      retries: { attempts: 2, perTryTimeout: "1s", retryOn: "5xx,reset" },
      faults: {
        backend: { abort: { percent: 5, httpStatus: 503 } },
        reviews: { delay: { percent: 50, fixedDelay: "2s" } },
      },
    },
    observability: {
      grafana: { dashboards: false },
      kiali: { authStrategy: "anonymous" },
      samplingPercent: 12.5,
    },
    bookinfo: {
      enabled: true,
      namespace: "books",
      reviews: {
        weights: { v1: 50, v3: 50 },
        userRoute: { user: "jason", version: "v2" },
        timeout: "0.5s",
      },
      ratings: {
        fault: { user: "jason", delay: { percent: 100, fixedDelay: "7s" } },
      },
    },
    skipAwait: "true",
  },
  {
    canary: { weights: { stable: 100, next: 0 } },
    security: {
      jwt: {
        issuer: "https://id.example.org",
        jwks: JSON.stringify({ keys: [{ kty: "RSA", e: "AQAB", n: "x" }] }),
      },
    },
    observability: {
      prometheus: { enabled: false },
      grafana: { enabled: false },
      kiali: { enabled: false },
      jaeger: { enabled: false },
    },
    bookinfo: { enabled: false, reviews: { weights: { v2: 100 } } },
    skipAwait: false,
  },
];

/**
 * Every field name the config knows, at any depth (those of its optional parts too), with the
 * values the defaults and the valid bases give it.
 */
const SEEN = (() => {
  const seen = new Map<string, unknown[]>();
  const walk = (v: unknown) => {
    if (typeof v === "object" && v !== null && !Array.isArray(v)) {
      for (const [k, child] of Object.entries(v)) {
        seen.set(k, [...(seen.get(k) ?? []), child]);
        walk(child);
      }
    }
  };
  walk(DEFAULTS);
  VALID_BASES.forEach(walk);
  return seen;
})();
const KNOWN_KEYS = [...SEEN.keys()];
const ODD_KEYS = [
  "__proto__",
  "constructor",
  "toString",
  "valueOf",
  "hasOwnProperty",
  "prototype",
  "",
  " ",
  "a.b",
  "v1; rm",
  "../",
  "V1",
  "x".repeat(64),
  "ü",
];
const STRINGS = [
  "",
  " ",
  "v1; rm -rf /",
  "../",
  "..",
  "/",
  "V1",
  "a".repeat(63),
  "a".repeat(64),
  "x".repeat(300),
  "\u0000",
  "a\r\nb: c",
  "ü",
  "😀",
  "${jndi:ldap://x}",
  "$(id)",
  "' OR 1=1 --",
  "true",
  "false",
  "null",
  "NaN",
  "1e308",
  "-1",
  "0",
  "100",
  "1.30",
  "1.30.4",
  "1.30.4-rc.0",
  "10s",
  "0s",
  "0.5s",
  "1ms",
  "49ms",
  "2h",
  "5xx",
  "header:x-user",
  "cookie:",
  "https://a.example.com",
  "http://a.example.com",
  "oci://ghcr.io/istio/charts",
  "nginx",
  "nginx:latest",
  "a/b:1",
  `a/b@sha256:${"c".repeat(64)}`,
  "{}",
  '{"keys":[{}]}',
  "STRICT",
  "PERMISSIVE",
  "ROUND_ROBIN",
  "ClusterIP",
  "LoadBalancer",
  "token",
  "anonymous",
  "gke",
  "openshift",
  "v1",
  "v2",
  "v3",
  "jason",
  "mesh-demo",
  "istio-ingress",
  "istio-system",
  "bookinfo",
  "/healthz",
  "*",
  "100m",
  "1Gi",
  "test/fixtures/charts",
  "/nonexistent",
];
const NUMBERS = [
  NaN,
  Infinity,
  -Infinity,
  -0,
  0,
  1,
  -1,
  0.5,
  20,
  50,
  80,
  99.999,
  100,
  101,
  599,
  1e6,
  1e308,
  Number.MAX_SAFE_INTEGER + 2,
  Number.MIN_VALUE,
];

/** Draws from a seeded sequence. */
class Draw {
  constructor(private readonly rand: () => number) {}

  /** True with probability p. */
  chance(p: number): boolean {
    return this.rand() < p;
  }

  /** A whole number in [0, n). */
  below(n: number): number {
    return Math.floor(this.rand() * n);
  }

  pick<T>(list: readonly T[]): T {
    return list[this.below(list.length)];
  }

  key(): string {
    return this.chance(0.7) ? this.pick(KNOWN_KEYS) : this.pick(ODD_KEYS);
  }

  string(): string {
    if (this.chance(0.8)) {
      return this.pick(STRINGS);
    }
    const chars = "abcxyz019-._:/@ *;$\\\"'\n\t\u00e9A";
    return Array.from({ length: this.below(12) }, () =>
      this.pick([...chars]),
    ).join("");
  }

  scalar(): unknown {
    switch (this.below(8)) {
      case 0:
      case 1:
      case 2:
        return this.string();
      case 3:
        return this.pick(NUMBERS);
      case 4:
        return this.below(121);
      case 5:
        return this.chance(0.5);
      case 6:
        return null;
      default:
        // Not JSON, but the validator takes any object: it must not trip on these either.
        return this.pick([undefined, 7n, Symbol("s"), () => 1]);
    }
  }

  /** Any value: a scalar, or a list or an object of values, at most `depth` deep. */
  value(depth: number): unknown {
    if (depth <= 0 || this.chance(0.55)) {
      return this.scalar();
    }
    const n = this.below(4);
    if (this.chance(0.3)) {
      return Array.from({ length: n }, () => this.value(depth - 1));
    }
    return Object.fromEntries(
      Array.from({ length: n }, () => [this.key(), this.value(depth - 1)]),
    );
  }

  /** A config shaped like `shape` (the defaults): its keys, mostly, with random values. */
  shaped(shape: unknown, depth: number): unknown {
    if (typeof shape !== "object" || shape === null || Array.isArray(shape)) {
      return this.chance(0.3) ? shape : this.scalar();
    }
    const entries = Object.entries(shape)
      .filter(() => this.chance(0.4))
      .map(([k, v]) => [k, this.shaped(v, depth - 1)]);
    if (this.chance(0.2)) {
      entries.push([this.key(), this.value(2)]);
    }
    return Object.fromEntries(entries);
  }

  /** Changes one place in `config`, which it owns. */
  mutate(config: Json): void {
    // Walk down from the top to an object or list, and change one of its entries.
    let node: Record<string, unknown> = config;
    for (;;) {
      const keys = Object.keys(node);
      const k = keys.length > 0 ? this.pick(keys) : undefined;
      const child = k === undefined ? undefined : node[k];
      if (
        k === undefined ||
        typeof child !== "object" ||
        child === null ||
        this.chance(0.25)
      ) {
        this.change(node, k);
        return;
      }
      node = child as Record<string, unknown>;
    }
  }

  private change(node: Record<string, unknown>, k: string | undefined): void {
    const put = (key: string, v: unknown) =>
      Object.defineProperty(node, key, {
        value: v,
        enumerable: true,
        writable: true,
        configurable: true,
      });
    const old = k === undefined ? undefined : node[k];
    switch (k === undefined ? 0 : this.pick([0, 1, 2, 3, 4, 4, 4, 5, 6, 7])) {
      case 0:
        put(this.key(), this.value(2));
        return;
      case 1:
        delete node[k!];
        return;
      case 2:
        put(k!, this.value(3));
        return;
      case 3:
        // A plausible value of the same type: a near miss or a valid alternative.
        put(
          k!,
          typeof old === "number"
            ? this.chance(0.5)
              ? this.below(101)
              : old + this.pick([-1, 1, 0.5, 100])
            : typeof old === "boolean"
              ? !old
              : typeof old === "string"
                ? this.string()
                : this.scalar(),
        );
        return;
      case 4: {
        // A value this field has elsewhere: often valid alone, maybe not with the rest.
        const seen = (SEEN.get(k!) ?? []).filter((v) => v !== undefined);
        put(
          k!,
          seen.length > 0
            ? JSON.parse(JSON.stringify(this.pick(seen)))
            : this.scalar(),
        );
        return;
      }
      case 5:
        put(k!, [old]);
        return;
      case 6:
        put(
          k!,
          typeof old === "string" ? old.toUpperCase() : `${this.below(101)}`,
        );
        return;
      default:
        // The value's JSON text in its place, as a string.
        put(k!, describeInput(old));
        return;
    }
  }
}

/** One random config: near-valid (most), shaped like the defaults, or random. */
export function randomConfig(rand: () => number): Json {
  const d = new Draw(rand);
  const kind = d.below(20);
  if (kind < 14) {
    const config = JSON.parse(JSON.stringify(d.pick(VALID_BASES))) as Json;
    const mutations = d.pick([0, 1, 1, 1, 1, 2, 2, 3]);
    for (let i = 0; i < mutations; i++) {
      d.mutate(config);
    }
    return config;
  }
  if (kind < 18) {
    return {
      ...(d.shaped(DEFAULTS, 4) as Json),
      canary: { weights: d.chance(0.7) ? { v1: 100 } : d.value(2) },
    };
  }
  const top = d.value(4);
  return typeof top === "object" && top !== null && !Array.isArray(top)
    ? (top as Json)
    : { [d.key()]: top };
}

/** An input as a failure message shows it: JSON, with what JSON cannot say spelt out. */
export function describeInput(input: unknown): string {
  const text = JSON.stringify(input, (_k, v: unknown) =>
    typeof v === "number" && !Number.isFinite(v)
      ? String(v)
      : typeof v === "bigint"
        ? `${v}n`
        : v === undefined || typeof v === "symbol" || typeof v === "function"
          ? String(v)
          : v,
  );
  return text.length > 4000 ? `${text.slice(0, 4000)}...` : text;
}
