// Config of the data plane and routing modes: each value is checked, and what a mode cannot honour
// is refused before any resource, naming the key, the value, the mode that supports it and the fix.
import * as assert from "assert";
import { validateConfig } from "../../components/config";
import { problems } from "../support/configProblems";

const base = { canary: { weights: { v1: 80, v2: 20 } } };
const gatewayApi = { ...base, routing: { api: "gateway-api" } };

describe("mode config", () => {
  it("WHEN nothing is set THEN sidecars with Istio's routing API, installing Gateway API CRDs only when needed", () => {
    const c = validateConfig(base);
    assert.strictEqual(c.istio.dataplane, "sidecar");
    assert.deepStrictEqual(c.routing, {
      api: "istio",
      gatewayApiCrds: "install",
      gatewayApiCrdsFile: undefined,
      scopeProxies: true,
    });
  });

  it("WHEN a mode is misspelt THEN the key, the value and the choices with their meaning are named", () => {
    assert.deepStrictEqual(
      problems({
        ...base,
        istio: { dataplane: "sidecarless" },
        routing: { api: "gateway" },
      }),
      [
        'istio.dataplane must be one of sidecar, ambient (got "sidecarless"); sidecar injects an Envoy into every app pod; ambient runs ztunnel per node and a waypoint per app namespace',
        'routing.api must be one of istio, gateway-api (got "gateway"); istio routes with Gateway, VirtualService and DestinationRule; gateway-api with Gateway and HTTPRoute',
      ],
    );
  });

  it("WHEN gateway-api routing is asked for retries, faults or Bookinfo's fault drill THEN each is refused with the mode that has it", () => {
    const got = problems({
      ...gatewayApi,
      resilience: {
        retries: { attempts: 3 },
        faults: { backend: { abort: { percent: 10, httpStatus: 503 } } },
      },
      bookinfo: {
        enabled: true,
        ratings: {
          fault: { user: "jason", delay: { percent: 100, fixedDelay: "7s" } },
        },
      },
    });
    assert.strictEqual(got.length, 3);
    assert.match(
      got[0],
      /^resilience\.retries is set \(got \{"attempts":3\}\) but routing\.api is gateway-api, which has no equivalent; HTTPRoute retries are only in the experimental channel of Gateway API v1\.5\.1; remove resilience\.retries .*or route with 'pulumi config set --path routing\.api istio'$/,
    );
    assert.match(
      got[1],
      /^resilience\.faults\.backend is set .* the Gateway API has no fault injection; remove it with 'pulumi config rm --path resilience\.faults\.backend'/,
    );
    assert.match(
      got[2],
      /^bookinfo\.ratings\.fault is set .* no fault injection/,
    );
  });

  it("WHEN gateway-api routing uses the header canary, mirroring, timeouts and traffic policy THEN it is accepted", () => {
    assert.deepStrictEqual(
      problems({
        ...gatewayApi,
        canary: {
          weights: { v1: 80, v2: 20 },
          header: { name: "x-canary", value: "1", version: "v2" },
          mirror: { version: "v2", percent: 5 },
        },
        resilience: { timeout: "2s", loadBalancer: "RANDOM" },
        bookinfo: {
          enabled: true,
          reviews: { userRoute: { user: "jason", version: "v3" } },
        },
      }),
      [],
    );
  });

  it("WHEN values are given for a chart the mode does not install THEN they are refused with how to install it", () => {
    assert.deepStrictEqual(
      problems({
        ...gatewayApi,
        istio: {
          values: {
            ztunnel: { logLevel: "debug" },
            gateway: { replicaCount: 2 },
          },
        },
      }),
      [
        'istio.values.gateway is set but the gateway chart is not installed in this configuration (got {"replicaCount":2}); with routing.api gateway-api, istiod deploys the ingress proxy for a Gateway API Gateway instead, or remove istio.values.gateway',
        `istio.values.ztunnel is set but the ztunnel chart is not installed in this configuration (got {"logLevel":"debug"}); ztunnel runs only with 'pulumi config set --path istio.dataplane ambient', or remove istio.values.ztunnel`,
      ],
    );
    // Ambient installs cni and ztunnel, so their values are used.
    assert.deepStrictEqual(
      problems({
        ...base,
        istio: {
          dataplane: "ambient",
          values: { ztunnel: { logLevel: "debug" }, cni: { x: 1 } },
        },
      }),
      [],
    );
  });

  it("WHEN the Gateway API CRDs' file is unused, contradicted or missing THEN it is refused", () => {
    assert.match(
      problems({ ...base, routing: { gatewayApiCrdsFile: "package.json" } })[0],
      /^routing\.gatewayApiCrdsFile is set .* but nothing uses the Gateway API with routing\.api istio and istio\.dataplane sidecar/,
    );
    assert.match(
      problems({
        ...base,
        routing: {
          api: "gateway-api",
          gatewayApiCrds: "cluster",
          gatewayApiCrdsFile: "package.json",
        },
      })[0],
      /but routing\.gatewayApiCrds is cluster, so nothing is installed from it; remove one of them$/,
    );
    assert.match(
      problems({
        ...gatewayApi,
        routing: { api: "gateway-api", gatewayApiCrdsFile: "no/such.yaml" },
      })[0],
      /^routing\.gatewayApiCrdsFile must name an existing file \(got "no\/such\.yaml", not found at .*no\/such\.yaml\)/,
    );
    assert.deepStrictEqual(
      problems({
        ...gatewayApi,
        routing: { api: "gateway-api", gatewayApiCrds: "bundled" },
      }),
      [
        'routing.gatewayApiCrds must be one of install, cluster (got "bundled"); install applies the pinned standard-channel CRDs; cluster uses those already installed',
      ],
    );
  });
});
