// Golden renderings: every resource the program registers for four stacks, with its type, name,
// parent, dependsOn, provider and inputs, compared with the files under test/golden/. They pin
// the URNs and every rendered input, so a refactor that would replace or change a user's
// resources fails here.
//
// A deliberate change is recorded by regenerating the files and reviewing their diff:
//   UPDATE_GOLDEN=1 npm test
import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import { DEV_CONFIG, renderProgram, type Rendering } from "../support/mocks";

const GOLDEN_DIR = path.join(__dirname, "..", "golden");

/** A stack in one data plane and routing mode, with every feature all modes share. */
export function MODE_STACK(
  dataplane: string,
  api: string,
): Record<string, unknown> {
  return {
    canary: {
      weights: { v1: 80, v2: 20 },
      header: { name: "x-canary", value: "always", version: "v2" },
      mirror: { version: "v2", percent: 10 },
    },
    istio: { dataplane },
    routing: { api },
    bookinfo: { enabled: true },
  };
}

/** The stacks pinned by golden files, by file name. */
export const GOLDEN_STACKS: Record<string, Record<string, unknown>> = {
  // (a) the dev stack as Pulumi.dev.yaml ships it.
  dev: DEV_CONFIG,
  // (b) every optional feature on, every section away from its defaults.
  "all-features": {
    canary: {
      weights: { v1: 60, v2: 30, v3: 10 },
      header: { name: "x-canary", value: "always", version: "v2" },
      mirror: { version: "v3", percent: 5 },
    },
    appNamespace: "shop",
    ingress: { namespace: "edge", serviceType: "LoadBalancer" },
    images: {
      frontend: "nginxinc/nginx-unprivileged:1.27.5-alpine",
      backend: "hashicorp/http-echo@sha256:" + "a".repeat(64),
    },
    istio: {
      version: "1.30.5",
      chartRepo: "oci://ghcr.io/istio/release/charts",
      hub: "mirror.example.com/istio",
      tag: "1.30.5-distroless",
      istiodResources: {
        requests: { cpu: "200m", memory: "512Mi" },
        limits: { cpu: "2", memory: "2Gi" },
      },
      proxyResources: { requests: { cpu: "20m", memory: "64Mi" } },
      platform: "k3s",
      values: {
        base: { base: { validationURL: "https://127.0.0.1:1/validate" } },
        istiod: { global: { logAsJson: true, hub: "ignored.example.com" } },
        gateway: { podAnnotations: { team: "edge" } },
        cni: { cni: { logLevel: "debug" } },
      },
    },
    security: {
      mtlsMode: "PERMISSIVE",
      cni: true,
      jwt: {
        issuer: "https://auth.example.com",
        jwksUri: "https://auth.example.com/.well-known/jwks.json",
        publicPaths: ["/healthz", "/public/*"],
      },
      rateLimit: { requests: 50, interval: "500ms" },
    },
    resilience: {
      loadBalancer: "cookie:session",
      connectionPool: {
        maxConnections: 10,
        maxPendingRequests: 5,
        maxRetries: 3,
      },
      outlierDetection: {
        consecutive5xxErrors: 2,
        interval: "1s",
        baseEjectionTime: "1m",
        maxEjectionPercent: 100,
      },
      timeout: "3s",
      retries: { attempts: 1, perTryTimeout: "1s", retryOn: "5xx,reset" },
      faults: {
        backend: {
          delay: { percent: 50, fixedDelay: "2s" },
          abort: { percent: 10, httpStatus: 503 },
        },
        frontend: { abort: { percent: 1, httpStatus: 500 } },
        details: { delay: { percent: 5, fixedDelay: "100ms" } },
      },
    },
    observability: {
      prometheus: { chartRepo: "oci://registry.example.com/charts" },
      grafana: { chartVersion: "9.2.3", dashboards: false },
      kiali: { authStrategy: "anonymous", chartPath: "/charts/kiali-server" },
      jaeger: { image: "jaegertracing/jaeger:2.10.0" },
      samplingPercent: 25,
    },
    bookinfo: {
      enabled: true,
      namespace: "books",
      imageHub: "mirror.example.com/istio",
      imageTag: "1.20.4",
      reviews: {
        weights: { v1: 20, v2: 30, v3: 50 },
        userRoute: { user: "jason", version: "v3" },
        timeout: "0.5s",
      },
      ratings: {
        fault: {
          user: "jason",
          delay: { percent: 100, fixedDelay: "7s" },
          abort: { percent: 50, httpStatus: 500 },
        },
      },
    },
    skipAwait: "true",
  },
  // (c) Bookinfo on, with its defaults.
  bookinfo: { ...DEV_CONFIG, bookinfo: { enabled: true } },
  // (d) the other branches: charts from a local directory, every addon off (no tracing), an
  // inline JWKS, consistent hashing on a header.
  minimal: {
    canary: { weights: { v1: 100 } },
    istio: { chartDir: "test/fixtures/charts" },
    security: {
      jwt: {
        issuer: "https://auth.example.com",
        jwks: JSON.stringify({ keys: [{ kty: "RSA", e: "AQAB", n: "x" }] }),
      },
    },
    resilience: { loadBalancer: "header:x-user" },
    observability: {
      prometheus: { enabled: false },
      grafana: { enabled: false },
      kiali: { enabled: false },
      jaeger: { enabled: false },
    },
  },
  // (e-g) the other data plane and routing API, alone and together, with Bookinfo and the
  // canary's header route and mirroring (the features every mode supports).
  ambient: MODE_STACK("ambient", "istio"),
  "gateway-api": MODE_STACK("sidecar", "gateway-api"),
  "ambient-gateway-api": MODE_STACK("ambient", "gateway-api"),
};

/** Object keys sorted at every depth; array order is kept (it means something in a spec). */
function stable(value: unknown): unknown {
  if (Array.isArray(value)) {
    return value.map(stable);
  }
  if (typeof value === "object" && value !== null) {
    return Object.fromEntries(
      Object.keys(value)
        .sort()
        .map((k) => [k, stable((value as Record<string, unknown>)[k])]),
    );
  }
  return value;
}

/**
 * What a golden file holds: each resource by `type::name`, sorted, with dependsOn sorted (the
 * engine reads it as a set) and the outputs of the stack.
 */
export function goldenOf(r: Rendering): string {
  const resources = r.resources
    .map((x) => ({
      type: x.type,
      name: x.name,
      parent: x.parent ?? null,
      custom: x.custom,
      provider: x.provider ?? null,
      dependsOn: [...x.dependsOn].sort(),
      inputs: x.inputs,
    }))
    .sort((a, b) =>
      `${a.type}::${a.name}`.localeCompare(`${b.type}::${b.name}`),
    );
  return (
    JSON.stringify(stable({ resources, outputs: r.outputs }), null, 2) + "\n"
  );
}

describe("golden renderings (UPDATE_GOLDEN=1 npm test rewrites them)", () => {
  for (const [stack, config] of Object.entries(GOLDEN_STACKS)) {
    it(`WHEN the ${stack} stack is rendered THEN every resource, option and input equals test/golden/${stack}.json`, async () => {
      const file = path.join(GOLDEN_DIR, `${stack}.json`);
      const fresh = goldenOf(await renderProgram(config));
      if (process.env.UPDATE_GOLDEN === "1") {
        fs.mkdirSync(GOLDEN_DIR, { recursive: true });
        fs.writeFileSync(file, fresh);
        return;
      }
      assert.ok(
        fs.existsSync(file),
        `${file} is missing; create it with UPDATE_GOLDEN=1 npm test`,
      );
      // Compared as text so a failure shows the first differing lines.
      assert.strictEqual(fresh, fs.readFileSync(file, "utf8"));
    });
  }
});
