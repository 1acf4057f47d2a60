import * as assert from "assert";

import { problems } from "./configProblems";
import {
  byType,
  DEV_CONFIG,
  istioResources,
  named,
  one,
  renderDev,
  Rendering,
  renderProgram,
} from "./mocks";

const DEPLOYMENT = "kubernetes:apps/v1:Deployment";

const JWKS = JSON.stringify({
  keys: [{ kty: "RSA", e: "AQAB", n: "xyz", kid: "k1" }],
});

describe("security (dev stack)", () => {
  let r: Rendering;
  before(async () => {
    r = await renderDev();
  });

  it("enforces STRICT mTLS mesh-wide from the root namespace", () => {
    const pa = one(
      istioResources(r, "PeerAuthentication"),
      "PeerAuthentication",
    );
    assert.strictEqual(pa.inputs.metadata.namespace, "istio-system");
    assert.strictEqual(pa.inputs.metadata.name, "default");
    assert.deepStrictEqual(pa.inputs.spec, { mtls: { mode: "STRICT" } });
    assert.strictEqual(pa.inputs.apiVersion, "security.istio.io/v1");
  });

  it("denies everything in the app namespace unless a policy allows it", () => {
    const deny = named(istioResources(r, "AuthorizationPolicy"), "deny-all");
    assert.strictEqual(deny.inputs.metadata.namespace, "mesh-demo");
    assert.deepStrictEqual(deny.inputs.spec, {});
  });

  it("lets only the gateway call the frontend and only the frontend call the backend", () => {
    const policies = istioResources(r, "AuthorizationPolicy");
    const frontend = named(policies, "frontend-allow");
    const backend = named(policies, "backend-allow");
    assert.deepStrictEqual(frontend.inputs.spec.selector, {
      matchLabels: { app: "frontend" },
    });
    assert.deepStrictEqual(frontend.inputs.spec.rules[0].from, [
      {
        source: {
          principals: [
            "cluster.local/ns/istio-ingress/sa/istio-ingressgateway",
          ],
        },
      },
    ]);
    assert.deepStrictEqual(backend.inputs.spec.selector, {
      matchLabels: { app: "backend" },
    });
    assert.deepStrictEqual(backend.inputs.spec.rules[0].from, [
      { source: { principals: ["cluster.local/ns/mesh-demo/sa/frontend"] } },
    ]);
    for (const p of [frontend, backend]) {
      assert.strictEqual(p.inputs.spec.action, "ALLOW");
      assert.deepStrictEqual(p.inputs.spec.rules[0].to[0].operation.methods, [
        "GET",
        "HEAD",
      ]);
    }
  });

  it("names in every principal a ServiceAccount that the stack creates", () => {
    const accounts = new Set(
      byType(r, "kubernetes:core/v1:ServiceAccount").map(
        (s) => `${s.inputs.metadata.namespace}/${s.inputs.metadata.name}`,
      ),
    );
    // The gateway's account comes from its chart, named by the values we pass.
    const gw = one(
      byType(r, "kubernetes:helm.sh/v3:Release").filter(
        (x) => x.inputs.name === "istio-ingressgateway",
      ),
      "gateway",
    );
    assert.deepStrictEqual(gw.inputs.values.serviceAccount, {
      create: true,
      name: "istio-ingressgateway",
    });
    accounts.add(
      `${gw.inputs.namespace}/${gw.inputs.values.serviceAccount.name}`,
    );
    const principals = istioResources(r, "AuthorizationPolicy").flatMap((p) =>
      (p.inputs.spec.rules ?? []).flatMap((rule: any) =>
        (rule.from ?? []).flatMap((f: any) => f.source.principals ?? []),
      ),
    );
    assert.ok(principals.length >= 2);
    for (const p of principals) {
      const m = /^cluster\.local\/ns\/([^/]+)\/sa\/([^/]+)$/.exec(p);
      assert.ok(m, `malformed principal ${p}`);
      assert.ok(
        accounts.has(`${m[1]}/${m[2]}`),
        `principal ${p} names no ServiceAccount of the stack`,
      );
    }
    // And each workload really runs as the account its principal names.
    for (const d of byType(r, DEPLOYMENT)) {
      assert.ok(
        accounts.has(
          `${d.inputs.metadata.namespace}/${d.inputs.spec.template.spec.serviceAccountName}`,
        ),
      );
    }
    const istiod = one(
      byType(r, "kubernetes:helm.sh/v3:Release").filter(
        (x) => x.inputs.name === "istiod",
      ),
      "istiod",
    );
    assert.strictEqual(
      istiod.inputs.values.meshConfig.trustDomain,
      "cluster.local",
    );
    assert.match(
      istiod.inputs.values.env.BLOCKED_CIDRS_IN_JWKS_URIS,
      /^169\.254\.0\.0\/16,/,
    );
  });

  it("hands out no ServiceAccount tokens", () => {
    for (const sa of byType(r, "kubernetes:core/v1:ServiceAccount")) {
      assert.strictEqual(sa.inputs.automountServiceAccountToken, false);
    }
  });

  it("mounts an emptyDir for every writable path of a read-only container", () => {
    const frontend = named(byType(r, DEPLOYMENT), "frontend-v1").inputs.spec
      .template.spec;
    const mounts = frontend.containers[0].volumeMounts.map(
      (m: any) => m.mountPath,
    );
    assert.ok(mounts.includes("/tmp"));
    const volumes = new Map(frontend.volumes.map((v: any) => [v.name, v]));
    for (const m of frontend.containers[0].volumeMounts) {
      assert.ok(volumes.has(m.name), `mount ${m.mountPath} has no volume`);
    }
  });

  it("installs no optional piece unless asked: no CNI, no PSS label, no JWT, no rate limit", () => {
    assert.strictEqual(
      byType(r, "kubernetes:helm.sh/v3:Release").filter(
        (x) => x.inputs.name === "istio-cni",
      ).length,
      0,
    );
    const ns = named(byType(r, "kubernetes:core/v1:Namespace"), "mesh-demo");
    assert.strictEqual(
      ns.inputs.metadata.labels["pod-security.kubernetes.io/enforce"],
      undefined,
    );
    assert.strictEqual(istioResources(r, "RequestAuthentication").length, 0);
    assert.strictEqual(istioResources(r, "EnvoyFilter").length, 0);
  });
});

describe("security options", () => {
  it("allows PERMISSIVE mTLS for migrations", async () => {
    const r = await renderProgram({
      ...DEV_CONFIG,
      security: { mtlsMode: "PERMISSIVE" },
    });
    assert.deepStrictEqual(
      one(istioResources(r, "PeerAuthentication"), "pa").inputs.spec,
      { mtls: { mode: "PERMISSIVE" } },
    );
  });

  it("installs istio-cni between base and istiod and enforces the restricted standard", async () => {
    const r = await renderProgram({ ...DEV_CONFIG, security: { cni: true } });
    const releases = byType(r, "kubernetes:helm.sh/v3:Release");
    const rel = (n: string) =>
      one(
        releases.filter((x) => x.inputs.name === n),
        n,
      );
    const cni = rel("istio-cni");
    assert.ok(cni.inputs.chart.endsWith("cni"));
    assert.strictEqual(cni.inputs.namespace, "istio-system");
    assert.ok(
      cni.dependsOn.includes(
        `${rel("istio-base").type}::${rel("istio-base").name}`,
      ),
    );
    assert.ok(rel("istiod").dependsOn.includes(`${cni.type}::${cni.name}`));
    assert.deepStrictEqual(rel("istiod").inputs.values.cni, { enabled: true });
    const ns = named(byType(r, "kubernetes:core/v1:Namespace"), "mesh-demo");
    assert.strictEqual(
      ns.inputs.metadata.labels["pod-security.kubernetes.io/enforce"],
      "restricted",
    );
    assert.strictEqual(ns.inputs.metadata.labels["istio-injection"], "enabled");
  });

  it("validates JWTs at the gateway and requires one outside the public paths", async () => {
    const r = await renderProgram({
      ...DEV_CONFIG,
      security: {
        jwt: {
          issuer: "https://auth.example.com",
          jwksUri: "https://auth.example.com/jwks.json",
          publicPaths: ["/healthz", "/public/*"],
        },
      },
    });
    const gatewayLabels = {
      matchLabels: { app: "istio-ingressgateway", istio: "ingressgateway" },
    };
    const ra = one(
      istioResources(r, "RequestAuthentication"),
      "RequestAuthentication",
    );
    assert.strictEqual(ra.inputs.metadata.namespace, "istio-ingress");
    assert.deepStrictEqual(ra.inputs.spec, {
      selector: gatewayLabels,
      jwtRules: [
        {
          issuer: "https://auth.example.com",
          jwksUri: "https://auth.example.com/jwks.json",
        },
      ],
    });
    const ap = named(
      istioResources(r, "AuthorizationPolicy"),
      "edge-require-jwt",
    );
    assert.deepStrictEqual(ap.inputs.spec, {
      selector: gatewayLabels,
      action: "ALLOW",
      rules: [
        { from: [{ source: { requestPrincipals: ["*"] } }] },
        { to: [{ operation: { paths: ["/healthz", "/public/*"] } }] },
      ],
    });
  });

  it("accepts an inline JWKS instead of a URI", async () => {
    const r = await renderProgram({
      ...DEV_CONFIG,
      security: { jwt: { issuer: "https://auth.example.com", jwks: JWKS } },
    });
    assert.deepStrictEqual(
      one(istioResources(r, "RequestAuthentication"), "ra").inputs.spec
        .jwtRules,
      [{ issuer: "https://auth.example.com", jwks: JWKS }],
    );
    const ap = named(
      istioResources(r, "AuthorizationPolicy"),
      "edge-require-jwt",
    );
    assert.strictEqual(
      ap.inputs.spec.rules.length,
      1,
      "no public paths, no second rule",
    );
  });

  it("rate-limits the gateway with Envoy's local rate limit", async () => {
    const r = await renderProgram({
      ...DEV_CONFIG,
      security: { rateLimit: { requests: 50, interval: "500ms" } },
    });
    const ef = one(istioResources(r, "EnvoyFilter"), "EnvoyFilter");
    assert.strictEqual(ef.inputs.apiVersion, "networking.istio.io/v1alpha3");
    assert.deepStrictEqual(ef.inputs.spec.workloadSelector, {
      labels: { app: "istio-ingressgateway", istio: "ingressgateway" },
    });
    const patch = ef.inputs.spec.configPatches[0];
    assert.strictEqual(patch.match.context, "GATEWAY");
    assert.strictEqual(patch.patch.operation, "INSERT_FIRST");
    assert.deepStrictEqual(patch.patch.value.typed_config.value.token_bucket, {
      max_tokens: 50,
      tokens_per_fill: 50,
      fill_interval: "0.5s",
    });
  });

  const bad: Array<[string, unknown, string]> = [
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
  for (const [what, security, message] of bad) {
    it(`rejects ${what}`, () => {
      assert.deepStrictEqual(problems({ ...DEV_CONFIG, security }), [message]);
    });
  }

  it("stops the program before any resource on bad security config", async () => {
    const err = await renderProgram({
      ...DEV_CONFIG,
      security: { mtlsMode: "OFF" },
    }).then(
      () => assert.fail("accepted"),
      (e: Error & { recorded: Array<{ type: string }> }) => e,
    );
    assert.match(
      err.message,
      /security\.mtlsMode must be one of STRICT, PERMISSIVE \(got "OFF"\)/,
    );
    assert.deepStrictEqual(
      err.recorded.filter((x) => x.type !== "pulumi:pulumi:Stack"),
      [],
    );
  });
});
