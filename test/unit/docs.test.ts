// The documents agree with the code: README, Pulumi.yaml and Pulumi.dev.yaml. No Pulumi runtime.
import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import * as yaml from "js-yaml";
import { CONFIG_KEYS, DEFAULTS, validateConfig } from "../../components/config";
import { DEV_CONFIG } from "../support/mocks";

const ROOT = path.join(__dirname, "..", "..");
const readme = () => fs.readFileSync(path.join(ROOT, "README.md"), "utf8");

describe("Pulumi.yaml and the stack file", () => {
  it("declares the same defaults in Pulumi.yaml as the code uses", () => {
    const project = yaml.load(
      fs.readFileSync(path.join(ROOT, "Pulumi.yaml"), "utf8"),
    ) as {
      config: Record<string, { default?: unknown }>;
    };
    assert.strictEqual(project.config.skipAwait.default, DEFAULTS.skipAwait);
    assert.strictEqual(
      project.config.appNamespace.default,
      DEFAULTS.appNamespace,
    );
    // Object sections default to {}, which the program must read as "all defaults".
    const sections = Object.fromEntries(
      Object.entries(project.config)
        .filter(([, decl]) => typeof decl.default === "object")
        .map(([key, decl]) => [key, decl.default]),
    );
    assert.deepStrictEqual(Object.keys(sections).sort(), [
      "bookinfo",
      "demo",
      "egress",
      "externalNamespaces",
      "images",
      "ingress",
      "istio",
      "observability",
      "resilience",
      "routing",
      "security",
      "services",
    ]);
    assert.deepStrictEqual(
      validateConfig({ ...DEV_CONFIG, ...sections }),
      validateConfig(DEV_CONFIG),
    );
    // A declared key without a default is required by the CLI itself, before the program runs.
    assert.strictEqual(
      project.config.canary,
      undefined,
      "canary must stay undeclared so the program's own message applies",
    );
  });

  it("ships the seeds' 80/20 split and the demo in Pulumi.dev.yaml, as the tests render it", () => {
    const stack = yaml.load(
      fs.readFileSync(path.join(ROOT, "Pulumi.dev.yaml"), "utf8"),
    ) as {
      config: Record<string, unknown>;
    };
    assert.deepStrictEqual(
      stack.config,
      Object.fromEntries(
        Object.entries(DEV_CONFIG).map(([k, v]) => [`service-mesh:${k}`, v]),
      ),
    );
  });
});

describe("the README", () => {
  it("documents every config key the program reads", () => {
    const text = readme();
    for (const key of CONFIG_KEYS) {
      assert.match(
        text,
        new RegExp("\\| `" + key + "[.`]"),
        `${key} has no row in a README config table`,
      );
    }
    for (const key of [
      "security.mtlsMode",
      "security.cni",
      "resilience.timeout",
      "observability.samplingPercent",
      "bookinfo.reviews.weights",
      "canary.header",
      "canary.mirror",
    ]) {
      assert.ok(text.includes("`" + key), `${key} is not documented`);
    }
  });

  it("names npm test as the test command", () => {
    const text = readme();
    assert.ok(text.includes("npm test"));
    assert.ok(text.includes("npm run test:integration"));
  });
});

describe("the README on istio-cni", () => {
  it("names istio-init's root and NET_ADMIN/NET_RAW, and istio-validation's uid 1337", () => {
    const text = readme();
    for (const s of [
      "istio-init",
      "NET_ADMIN",
      "NET_RAW",
      "istio-validation",
      "1337",
    ]) {
      assert.ok(text.includes(s), `README lacks ${s}`);
    }
  });
});

describe("the README's layout", () => {
  it("names every layer of components/ and nothing that is gone", () => {
    const text = readme();
    const layout = text.slice(text.indexOf("## Layout"));
    const layers = fs
      .readdirSync(path.join(ROOT, "components"), { withFileTypes: true })
      .filter((d) => d.isDirectory())
      .map((d) => d.name);
    assert.ok(layers.length >= 7);
    for (const layer of layers) {
      assert.ok(
        layout.includes(`components/${layer}/`),
        `## Layout does not describe components/${layer}/`,
      );
    }
    for (const [, file] of layout.matchAll(/`(components\/[^`]+\.ts)`/g)) {
      assert.ok(fs.existsSync(path.join(ROOT, file)), `${file} does not exist`);
    }
  });
});
