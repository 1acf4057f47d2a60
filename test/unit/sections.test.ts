// Unit tests of the config sections (resilience, security, observability, Bookinfo), no Pulumi
// runtime: each bad value's exact message, and what the good ones read as.
import * as assert from "assert";
import {
  bookinfoPolicies,
  routingPolicyFor,
  validateConfig,
} from "../../components/config";
import { problems } from "../support/configProblems";
import { DEV_CONFIG } from "../support/mocks";

const JWKS = JSON.stringify({
  keys: [{ kty: "RSA", e: "AQAB", n: "xyz", kid: "k1" }],
});

const badResilience: Array<[string, Record<string, unknown>, string]> = [
  [
    "an unknown load balancer",
    { resilience: { loadBalancer: "FASTEST" } },
    'resilience.loadBalancer must be one of ROUND_ROBIN, LEAST_REQUEST, RANDOM, header:<name> or cookie:<name> for consistent hashing (got "FASTEST")',
  ],
  [
    "a timeout not in Istio's format",
    { resilience: { timeout: "10" } },
    `resilience.timeout needs a unit (got "10"): a duration is a number and h, m, s or ms, e.g. 10s; set it with 'pulumi config set --path resilience.timeout 10s'`,
  ],
  [
    "a zero timeout",
    { resilience: { timeout: "0s" } },
    'resilience.timeout must be at least 1ms (got "0s")',
  ],
  [
    "too many retries",
    { resilience: { retries: { attempts: 50 } } },
    "resilience.retries.attempts must be a whole number from 0 to 10 (got 50); e.g. 'pulumi config set --path resilience.retries.attempts 2'",
  ],
  [
    "an ejection percentage over 100",
    { resilience: { outlierDetection: { maxEjectionPercent: 150 } } },
    "resilience.outlierDetection.maxEjectionPercent must be a whole number from 0 to 100 (got 150); e.g. 'pulumi config set --path resilience.outlierDetection.maxEjectionPercent 50'",
  ],
  [
    "a fault percentage over 100",
    {
      resilience: {
        faults: { backend: { abort: { percent: 120, httpStatus: 500 } } },
      },
    },
    "resilience.faults.backend.abort.percent must be a percentage from 0 to 100 (got 120); e.g. 'pulumi config set --path resilience.faults.backend.abort.percent 100'",
  ],
  [
    "a fault for an unknown service",
    { resilience: { faults: { payments: { abort: { percent: 5 } } } } },
    'resilience.faults.payments is not a known setting (got {"abort":{"percent":5}}); known fields of resilience.faults: frontend, backend',
  ],
  [
    "an empty fault",
    { resilience: { faults: { backend: {} } } },
    "resilience.faults.backend must set delay, abort or both (got {}); e.g. 'pulumi config set --path resilience.faults.backend.abort.percent 10'",
  ],
  [
    "a header route to a version that is not deployed",
    {
      canary: {
        weights: { v1: 100 },
        header: { name: "x-canary", value: "1", version: "v9" },
      },
    },
    'canary.header.version must name a deployed version, one of v1 (got "v9")',
  ],
  [
    "a mirror percentage over 100",
    {
      canary: {
        weights: { v1: 80, v2: 20 },
        mirror: { version: "v2", percent: 101 },
      },
    },
    "canary.mirror.percent must be a percentage from 0 to 100 (got 101); e.g. 'pulumi config set --path canary.mirror.percent 100'",
  ],
];

const badSecurity: Array<[string, unknown, string]> = [
  [
    "an unknown mTLS mode",
    { mtlsMode: "DISABLE" },
    'security.mtlsMode must be one of STRICT, PERMISSIVE (got "DISABLE")',
  ],
  [
    "a malformed issuer URL",
    { jwt: { issuer: "auth.example.com", jwks: JWKS } },
    'security.jwt.issuer must be the issuer\'s https:// URL, exactly as tokens carry it in `iss` (got "auth.example.com")',
  ],
  [
    "a JWT config without keys",
    { jwt: { issuer: "https://a.example.com" } },
    "security.jwt needs exactly one of jwksUri and jwks (got neither); e.g. 'pulumi config set --path security.jwt.jwksUri https://a.example.com/.well-known/jwks.json'",
  ],
  [
    "an inline JWKS that is not one",
    { jwt: { issuer: "https://a.example.com", jwks: "{}" } },
    'security.jwt.jwks must be a JSON Web Key Set, a JSON object with a non-empty "keys" list (got "{}")',
  ],
  [
    "a public path without a slash",
    {
      jwt: {
        issuer: "https://a.example.com",
        jwks: JWKS,
        publicPaths: ["health"],
      },
    },
    'security.jwt.publicPaths has "health", which is not a path: start it with / (or * for a suffix match)',
  ],
  [
    "a non-positive rate",
    { rateLimit: { requests: 0 } },
    "security.rateLimit.requests must be a whole number from 1 to 1000000 (got 0); e.g. 'pulumi config set --path security.rateLimit.requests 100'",
  ],
  [
    "a rate limit without a rate",
    { rateLimit: { interval: "1s" } },
    "security.rateLimit.requests is not set; e.g. 'pulumi config set --path security.rateLimit.requests 100'",
  ],
  [
    "a malformed interval",
    { rateLimit: { requests: 10, interval: "1 minute" } },
    'security.rateLimit.interval must be a duration such as 100ms, 2s or 1m (a number and h, m, s or ms) (got "1 minute")',
  ],
  [
    "an interval too short for Envoy",
    { rateLimit: { requests: 10, interval: "10ms" } },
    'security.rateLimit.interval must be at least 50ms, Envoy\'s smallest refill interval (got "10ms")',
  ],
  [
    "a non-boolean cni",
    { cni: "on" },
    "security.cni must be true or false (got \"on\"); set it with 'pulumi config set --path security.cni true'",
  ],
];

const badObservability: Array<[string, unknown, string]> = [
  [
    "sampling above 100",
    { samplingPercent: 150 },
    "observability.samplingPercent must be a percentage from 0 to 100 (got 150); e.g. 'pulumi config set --path observability.samplingPercent 1'",
  ],
  [
    "an unknown Kiali auth strategy",
    { kiali: { authStrategy: "none" } },
    'observability.kiali.authStrategy must be one of token, anonymous (got "none")',
  ],
  [
    "an unpinned chart version",
    { grafana: { chartVersion: "latest" } },
    'observability.grafana.chartVersion must pin an exact chart version such as 1.2.3 (got "latest")',
  ],
  [
    "Kiali without Prometheus",
    { prometheus: { enabled: false }, grafana: { enabled: false } },
    "observability.kiali.enabled needs observability.prometheus.enabled (Kiali's graphs come from Prometheus); enable Prometheus or set 'pulumi config set --path observability.kiali.enabled false'",
  ],
];

const badBookinfo: Array<[string, unknown, string]> = [
  [
    "reviews weights not summing to 100",
    { reviews: { weights: { v1: 50, v2: 20 } } },
    "bookinfo.reviews.weights must sum to 100 (got 70: v1=50, v2=20); adjust the weights so they add up to exactly 100",
  ],
  [
    "a reviews version the sample lacks",
    { reviews: { weights: { v1: 50, v4: 50 } } },
    "bookinfo.reviews.weights.v4 is not a version of reviews; the sample ships v1, v2, v3",
  ],
  [
    "a user route to an unknown version",
    { reviews: { userRoute: { user: "jason", version: "v7" } } },
    'bookinfo.reviews.userRoute.version must be one of v1, v2, v3 (got "v7")',
  ],
  [
    "a ratings fault without delay or abort",
    { ratings: { fault: { user: "jason" } } },
    "bookinfo.ratings.fault must set delay, abort or both (got {}); e.g. 'pulumi config set --path bookinfo.ratings.fault.abort.percent 10'",
  ],
  [
    "a malformed reviews timeout",
    { reviews: { timeout: "half a second" } },
    'bookinfo.reviews.timeout must be a duration such as 100ms, 2s or 1m (a number and h, m, s or ms) (got "half a second")',
  ],
  [
    "Bookinfo in the demo app's namespace",
    { enabled: true, namespace: "mesh-demo" },
    'bookinfo.namespace must differ from appNamespace and ingress.namespace (got "mesh-demo"); Bookinfo gets a namespace of its own',
  ],
];

describe("config sections", () => {
  const tables: Array<[string, Array<[string, unknown, string]>]> = [
    ["resilience", badResilience],
    ["security", badSecurity],
    ["observability", badObservability],
    ["bookinfo", badBookinfo],
  ];
  for (const [section, bad] of tables) {
    for (const [what, value, message] of bad) {
      it(`WHEN ${section} has ${what} THEN it reports exactly that`, () => {
        // The resilience table also sets canary (header routes, mirroring).
        const raw =
          section === "resilience"
            ? { ...DEV_CONFIG, ...(value as object) }
            : { ...DEV_CONFIG, [section]: value };
        assert.deepStrictEqual(problems(raw), [message]);
      });
    }
  }

  it("WHEN loadBalancer names a hash THEN it reads as consistent hashing on that header or cookie", () => {
    const lb = (v: string) =>
      validateConfig({ ...DEV_CONFIG, resilience: { loadBalancer: v } })
        .resilience.loadBalancer;
    assert.deepStrictEqual(lb("header:x-user"), {
      consistentHash: { header: "x-user" },
    });
    assert.deepStrictEqual(lb("cookie:session"), {
      consistentHash: { cookie: "session" },
    });
    assert.deepStrictEqual(lb("ROUND_ROBIN"), { simple: "ROUND_ROBIN" });
  });

  it("WHEN some resilience fields are set THEN the others keep their defaults", () => {
    const r = validateConfig({
      ...DEV_CONFIG,
      resilience: {
        connectionPool: { maxConnections: 10, maxPendingRequests: 5 },
        retries: { attempts: 0 },
      },
    }).resilience;
    assert.deepStrictEqual(r.connectionPool, {
      maxConnections: 10,
      maxPendingRequests: 5,
      maxRetries: 10,
    });
    assert.deepStrictEqual(r.retries, {
      attempts: 0,
      perTryTimeout: "3s",
      retryOn: "connect-failure,refused-stream,unavailable,cancelled,503",
    });
    assert.strictEqual(r.timeout, "10s");
  });

  it("WHEN a fault targets a Bookinfo service THEN it is known only while Bookinfo is on", () => {
    const faults = { resilience: { faults: { reviews: { abort: {} } } } };
    assert.deepStrictEqual(
      problems({ ...DEV_CONFIG, ...faults, bookinfo: { enabled: true } }),
      [],
    );
    assert.match(
      problems({ ...DEV_CONFIG, ...faults })[0],
      /^resilience\.faults\.reviews is not a known setting/,
    );
  });

  it("WHEN Kiali's auth is set to anonymous THEN it reads so", () => {
    const c = validateConfig({
      ...DEV_CONFIG,
      observability: { kiali: { authStrategy: "anonymous" } },
    });
    assert.strictEqual(c.observability.kiali.authStrategy, "anonymous");
  });

  it("WHEN Bookinfo's reviews weights list only some versions THEN the others get 0", () => {
    const c = validateConfig({
      ...DEV_CONFIG,
      bookinfo: { reviews: { weights: { v1: 50, v3: 50 } } },
    });
    assert.deepStrictEqual(c.bookinfo.reviews.weights, [
      { version: "v1", weight: 50 },
      { version: "v2", weight: 0 },
      { version: "v3", weight: 50 },
    ]);
  });

  it("WHEN an inline JWKS is given THEN it is kept as the document", () => {
    const jwt = validateConfig({
      ...DEV_CONFIG,
      security: { jwt: { issuer: "https://auth.example.com", jwks: JWKS } },
    }).security.jwt;
    assert.deepStrictEqual(jwt, {
      issuer: "https://auth.example.com",
      jwksUri: undefined,
      jwks: JWKS,
      publicPaths: [],
    });
  });

  it("WHEN a fault names one service THEN only that service's policy carries it", () => {
    const r = validateConfig({
      ...DEV_CONFIG,
      resilience: {
        outlierDetection: { consecutive5xxErrors: 2, interval: "1s" },
        faults: { backend: { abort: { percent: 10, httpStatus: 503 } } },
      },
    }).resilience;
    assert.deepStrictEqual(routingPolicyFor(r, "backend").fault, {
      delay: undefined,
      abort: { percent: 10, httpStatus: 503 },
    });
    assert.strictEqual(routingPolicyFor(r, "frontend").fault, undefined);
    assert.deepStrictEqual(r.outlierDetection, {
      consecutive5xxErrors: 2,
      interval: "1s",
      baseEjectionTime: "30s",
      maxEjectionPercent: 50,
    });
  });

  it("WHEN Bookinfo's exercises are set THEN reviews routes the user and times out, ratings faults only that user's requests", () => {
    const c = validateConfig({
      ...DEV_CONFIG,
      bookinfo: {
        enabled: true,
        reviews: {
          userRoute: { user: "jason", version: "v2" },
          timeout: "0.5s",
        },
        ratings: {
          fault: { user: "jason", delay: { percent: 100, fixedDelay: "7s" } },
        },
      },
    });
    const p = bookinfoPolicies(c.bookinfo, c.resilience);
    assert.deepStrictEqual(p.reviews.headerRoutes, [
      { header: "end-user", value: "jason", version: "v2" },
    ]);
    assert.strictEqual(p.reviews.timeout, "0.5s");
    assert.strictEqual(p.ratings.timeout, "10s");
    assert.deepStrictEqual(p.ratings.headerRoutes, [
      {
        header: "end-user",
        value: "jason",
        version: "v1",
        fault: { delay: { percent: 100, fixedDelay: "7s" }, abort: undefined },
      },
    ]);
    assert.strictEqual(
      p.ratings.fault,
      undefined,
      "everyone else is unaffected",
    );
    assert.deepStrictEqual(p.details.headerRoutes, []);
  });
});
