// `npm run traffic -- --service <name>` (issue 22): the weights and default URL from the stack
// output services.<name>, the refusals (a service the stack does not have, one the ingress cannot
// reach), and answers counted by the x-mesh-version response header that the routes of declared
// services set, with the demo's body ("backend v1") as the fallback.
import * as assert from "assert";
import * as http from "http";
import type { AddressInfo } from "net";
import { probe } from "../../tools/traffic/probe";
import { serviceProbe, TrafficRefusal } from "../../tools/traffic/service";
import { answerVersion, judgeSplit } from "../../tools/traffic/split";
import { mulberry32 } from "../support/fuzzConfig";
import { ORDERS_OUTPUT } from "../support/servicesOutput";

const ORDERS = ORDERS_OUTPUT;

function refusal(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    assert.ok(e instanceof TrafficRefusal, String(e));
    return e.message;
  }
  assert.fail("accepted");
}

describe("npm run traffic --service: the stack output services.X", () => {
  it("WHEN the service has an ingress path THEN its weights are compared and the port-forward plus the path is probed", () => {
    assert.deepStrictEqual(
      serviceProbe({ orders: ORDERS }, "orders", "dev", undefined),
      { weights: { v1: 90, v2: 10 }, url: "http://localhost:8080/orders" },
    );
  });

  it("WHEN --url is given THEN it is probed, with or without an ingress path", () => {
    assert.deepStrictEqual(
      serviceProbe(
        { orders: { ...ORDERS, ingressPath: null } },
        "orders",
        "dev",
        "http://127.0.0.1:9000/",
      ),
      { weights: { v1: 90, v2: 10 }, url: "http://127.0.0.1:9000/" },
    );
  });

  it("WHEN the service has no ingress path and no --url is given THEN it is refused, saying how to add one", () => {
    assert.strictEqual(
      refusal(() =>
        serviceProbe(
          { orders: { ...ORDERS, ingressPath: null } },
          "orders",
          "dev",
          undefined,
        ),
      ),
      "--service orders: orders has no ingress path (the stack output services.orders.ingressPath is null), " +
        "so the port-forward cannot reach it; add one with " +
        "'pulumi config set --path services.orders.ingress.path /orders' and 'pulumi up', or give --url",
    );
  });

  it("WHEN the stack has no such service THEN it is refused, naming the flag, the value and the services it has", () => {
    assert.strictEqual(
      refusal(() =>
        serviceProbe(
          { orders: ORDERS, cart: ORDERS },
          "payments",
          "dev",
          undefined,
        ),
      ),
      `--service "payments": stack dev's services output has no payments (it has orders, cart); ` +
        `name one of them, or declare it under services in the stack's config and 'pulumi up'`,
    );
    assert.match(
      refusal(() => serviceProbe({}, "orders", "dev", undefined)),
      /\(it has none\)/,
    );
  });

  it("WHEN the service speaks tcp or grpc THEN it is refused: the probe sends HTTP GETs", () => {
    for (const protocol of ["tcp", "grpc"]) {
      assert.match(
        refusal(() =>
          serviceProbe(
            { orders: { ...ORDERS, protocol } },
            "orders",
            "dev",
            undefined,
          ),
        ),
        new RegExp(
          `^--service orders: orders speaks ${protocol}, and the probe sends HTTP GETs`,
        ),
      );
    }
  });

  it("WHEN the output's weights cannot be read THEN it fails (exit 1), not a refusal", () => {
    assert.throws(
      () =>
        serviceProbe(
          { orders: { ...ORDERS, weights: "[secret]" } },
          "orders",
          "dev",
          undefined,
        ),
      (e: Error) =>
        !(e instanceof TrafficRefusal) &&
        /services\.orders\.weights is not a map of versions to weights/.test(
          e.message,
        ),
    );
  });
});

describe("npm run traffic: the version of an answer", () => {
  it("WHEN an answer has x-mesh-version THEN the header names its version, whatever the body says", () => {
    assert.strictEqual(answerVersion("v2", '{"order": 42}'), "v2");
    assert.strictEqual(answerVersion(" canary-1 ", "backend v1"), "canary-1");
  });

  it("WHEN an answer has no header THEN the demo's body names it, as before", () => {
    assert.strictEqual(answerVersion(null, "backend v1\n"), "v1");
    assert.strictEqual(answerVersion(undefined, '{"order": 42}'), undefined);
  });

  it("WHEN the header is not one version (repeated, or not a name) THEN the answer names none", () => {
    assert.strictEqual(answerVersion("v1, v2", "backend v1"), undefined);
    assert.strictEqual(answerVersion("V2", "backend v1"), undefined);
    assert.strictEqual(answerVersion("", "backend v1"), undefined);
  });

  describe("against a local router whose answers carry x-mesh-version", () => {
    let server: http.Server;
    let url: string;
    before(async () => {
      // Like a declared service's route: weighted per request, the version in a header, a JSON body.
      const rand = mulberry32(7);
      server = http.createServer((req, res) => {
        if (req.url === "/bad") {
          res.writeHead(200, { "x-mesh-version": "v1, v2" }).end("{}");
          return;
        }
        const v = rand() < 0.9 ? "v1" : "v2";
        res
          .writeHead(200, {
            "content-type": "application/json",
            "x-mesh-version": v,
          })
          .end('{"orders": []}');
      });
      await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
      url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    });
    after(() => server.close());

    it("WHEN the route splits 90/10 THEN every answer is counted by its header and the split passes", async () => {
      const r = await probe({
        url: `${url}/orders`,
        requests: 200,
        concurrency: 8,
      });
      assert.deepStrictEqual(r.failures, {});
      assert.strictEqual(r.counts.v1 + r.counts.v2, 200);
      assert.ok(judgeSplit(r.counts, { v1: 90, v2: 10 }).ok);
    });

    it("WHEN the header names no single version THEN the answers fail apart, quoting the header", async () => {
      const r = await probe({ url: `${url}/bad`, requests: 3, concurrency: 1 });
      assert.deepStrictEqual(r.counts, {});
      assert.deepStrictEqual(r.failures, { "unexpected header": 3 });
      assert.strictEqual(
        r.firstFailure,
        'an x-mesh-version header that names no single version: "v1, v2"',
      );
    });
  });
});
