// Unit tests of the security builders and the edge rate limit: typed Istio specs, no runtime.
import * as assert from "assert";
import { gatewayPodLabels, principal } from "../../components/core";
import {
  allowSpec,
  denyAllSpec,
  peerAuthenticationSpec,
  protoDuration,
  rateLimitEnvoyFilterSpec,
  requestAuthenticationSpec,
  requireJwtSpec,
} from "../../components/specs";
import { admits } from "../support/authz";

const GATEWAY = gatewayPodLabels("istio-ingressgateway");

describe("security builders", () => {
  it("WHEN mTLS is STRICT or PERMISSIVE THEN the PeerAuthentication says so", () => {
    assert.deepStrictEqual(peerAuthenticationSpec("STRICT"), {
      mtls: { mode: "STRICT" },
    });
    assert.deepStrictEqual(peerAuthenticationSpec("PERMISSIVE"), {
      mtls: { mode: "PERMISSIVE" },
    });
  });

  it("WHEN a namespace is closed THEN its policy has an empty spec, which denies everything", () => {
    assert.deepStrictEqual(denyAllSpec(), {});
  });

  it("WHEN callers are named THEN exactly they are admitted, with their methods and paths", () => {
    const frontend = principal("mesh-demo", "frontend");
    const spec = allowSpec({ selector: { app: "backend" } }, [
      { principals: [frontend], methods: ["GET", "HEAD"] },
      {
        principals: [principal("mesh-demo", "jobs")],
        methods: ["POST"],
        paths: ["/jobs/*"],
      },
    ]);
    assert.deepStrictEqual(spec.selector, {
      matchLabels: { app: "backend" },
    });
    assert.strictEqual(spec.action, "ALLOW");
    assert.strictEqual(frontend, "cluster.local/ns/mesh-demo/sa/frontend");
    const call = (p: string, method: string, path: string) =>
      admits(spec, { principal: p, method, path });
    assert.ok(call(frontend, "GET", "/anything"));
    assert.ok(!call(frontend, "POST", "/jobs/1"));
    assert.ok(call(principal("mesh-demo", "jobs"), "POST", "/jobs/1"));
    assert.ok(!call(principal("mesh-demo", "jobs"), "POST", "/admin"));
    assert.ok(!call(principal("other", "frontend"), "GET", "/"));
  });

  it("WHEN JWTs are validated THEN the gateway's pods check the issuer against its keys", () => {
    assert.deepStrictEqual(
      requestAuthenticationSpec(GATEWAY, {
        issuer: "https://auth.example.com",
        jwksUri: "https://auth.example.com/jwks.json",
        publicPaths: [],
      }),
      {
        selector: {
          matchLabels: { app: "istio-ingressgateway", istio: "ingressgateway" },
        },
        jwtRules: [
          {
            issuer: "https://auth.example.com",
            jwksUri: "https://auth.example.com/jwks.json",
          },
        ],
      },
    );
    assert.deepStrictEqual(
      requestAuthenticationSpec(GATEWAY, {
        issuer: "https://a.example.com",
        jwks: '{"keys":[]}',
        publicPaths: [],
      }).jwtRules,
      [{ issuer: "https://a.example.com", jwks: '{"keys":[]}' }],
    );
  });

  it("WHEN a token is required THEN only requests with one, or to a public path, pass", () => {
    assert.deepStrictEqual(requireJwtSpec(GATEWAY, ["/healthz", "/public/*"]), {
      selector: { matchLabels: GATEWAY },
      action: "ALLOW",
      rules: [
        { from: [{ source: { requestPrincipals: ["*"] } }] },
        { to: [{ operation: { paths: ["/healthz", "/public/*"] } }] },
      ],
    });
    assert.strictEqual(
      requireJwtSpec(GATEWAY, []).rules?.length,
      1,
      "no public paths, no second rule",
    );
  });
});

describe("edge rate limit builder", () => {
  it("WHEN 50 requests per 500ms are allowed THEN Envoy's token bucket holds and refills 50 every 0.5s, first in the gateway's chain", () => {
    const ef = rateLimitEnvoyFilterSpec(GATEWAY, {
      requests: 50,
      interval: "500ms",
    });
    assert.deepStrictEqual(ef.workloadSelector, { labels: GATEWAY });
    const [patch] = ef.configPatches;
    assert.strictEqual(patch.match.context, "GATEWAY");
    assert.strictEqual(patch.patch.operation, "INSERT_FIRST");
    const typed = patch.patch.value.typed_config as {
      value: { token_bucket: unknown };
    };
    assert.deepStrictEqual(typed.value.token_bucket, {
      max_tokens: 50,
      tokens_per_fill: 50,
      fill_interval: "0.5s",
    });
  });

  it("WHEN an Istio duration is given THEN Envoy gets it in seconds", () => {
    assert.strictEqual(protoDuration("1m"), "60s");
    assert.strictEqual(protoDuration("50ms"), "0.05s");
  });
});
