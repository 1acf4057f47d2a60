import * as assert from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as yaml from "js-yaml";
import { CONFIG_KEYS, DEFAULTS, validateConfig } from "../components/config";
import { problems } from "./configProblems";
import { DEV_CONFIG, renderProgram } from "./mocks";

const weights = (w: unknown) => ({ canary: { weights: w } });

// Each bad input of the canary section, and the one message it must produce.
const badCanary: Array<[string, Record<string, unknown>, string]> = [
  [
    "weights not summing to 100",
    weights({ v1: 70, v2: 20 }),
    "canary.weights must sum to 100 (got 90: v1=70, v2=20); adjust the weights so they add up to exactly 100",
  ],
  [
    "weights summing above 100",
    weights({ v1: 80, v2: 30 }),
    "canary.weights must sum to 100 (got 110: v1=80, v2=30); adjust the weights so they add up to exactly 100",
  ],
  [
    "a negative weight",
    weights({ v1: 100, v2: -10 }),
    "canary.weights.v2 must be a whole number from 0 to 100 (got -10); e.g. 'pulumi config set --path canary.weights.v2 20'",
  ],
  [
    "a weight above 100",
    weights({ v1: 150 }),
    "canary.weights.v1 must be a whole number from 0 to 100 (got 150); e.g. 'pulumi config set --path canary.weights.v1 20'",
  ],
  [
    "a non-integer weight",
    weights({ v1: 79.5, v2: 20 }),
    "canary.weights.v1 must be a whole number from 0 to 100 (got 79.5); e.g. 'pulumi config set --path canary.weights.v1 20'",
  ],
  [
    "a non-numeric weight",
    weights({ v1: "eighty", v2: 20 }),
    "canary.weights.v1 must be a whole number from 0 to 100 (got \"eighty\"); e.g. 'pulumi config set --path canary.weights.v1 20'",
  ],
  [
    "a numeric string weight (the CLI stores integers as numbers)",
    weights({ v1: "80", v2: 20 }),
    "canary.weights.v1 must be a whole number from 0 to 100 (got \"80\"); e.g. 'pulumi config set --path canary.weights.v1 20'",
  ],
  [
    "an empty weights map",
    weights({}),
    "canary.weights must map at least one version to a weight (got {}); e.g. 'pulumi config set --path canary.weights.v1 100'",
  ],
  [
    "weights missing under canary",
    { canary: {} },
    "canary.weights is not set; give each version a weight, e.g. 'pulumi config set --path canary.weights.v1 100'",
  ],
  [
    "no canary config at all",
    {},
    "canary.weights is not set; give each backend version a weight, e.g. 'pulumi config set --path canary.weights.v1 100'",
  ],
  [
    "weights given as a list",
    weights([80, 20]),
    "canary.weights must map at least one version to a weight (got [80,20]); e.g. 'pulumi config set --path canary.weights.v1 100'",
  ],
  [
    "a version name that is not a valid label value",
    weights({ "V_1!": 100 }),
    "canary.weights has an invalid version name \"V_1!\": use at most 40 lowercase letters, digits and '-', starting and ending with a letter or digit (e.g. v1)",
  ],
  [
    "a misspelt canary field",
    { canary: { weight: { v1: 100 }, weights: { v1: 100 } } },
    'canary.weight is not a known setting (got {"v1":100}); known fields of canary: weights, header, mirror',
  ],
];

describe("config validation", () => {
  for (const [what, raw, message] of badCanary) {
    it(`rejects ${what}`, () => {
      assert.deepStrictEqual(problems(raw), [message]);
    });
  }

  const otherBad: Array<[string, Record<string, unknown>, string]> = [
    [
      "an unknown top-level key",
      { ...DEV_CONFIG, canaryWeights: "x" },
      `canaryWeights is not a setting of this program; known keys: ${CONFIG_KEYS.join(", ")}`,
    ],
    [
      "a non-boolean skipAwait",
      { ...DEV_CONFIG, skipAwait: "yes" },
      "skipAwait must be true or false (got \"yes\"); set it with 'pulumi config set skipAwait true'",
    ],
    [
      "an invalid namespace",
      { ...DEV_CONFIG, appNamespace: "Mesh_Demo" },
      "appNamespace must be a valid namespace name: lowercase letters, digits and '-', starting and ending with a letter or digit (got \"Mesh_Demo\")",
    ],
    [
      "a system namespace",
      { ...DEV_CONFIG, appNamespace: "istio-system" },
      'appNamespace must not be a system namespace (got "istio-system"); choose a namespace of its own, e.g. "mesh-demo"',
    ],
    [
      "the app in the gateway's namespace",
      { ...DEV_CONFIG, appNamespace: "istio-ingress" },
      'appNamespace must differ from ingress.namespace (both are "istio-ingress"); the gateway gets a namespace of its own',
    ],
    [
      "an unknown service type",
      { ...DEV_CONFIG, ingress: { serviceType: "Ingress" } },
      'ingress.serviceType must be one of ClusterIP, NodePort, LoadBalancer (got "Ingress")',
    ],
    [
      "an unpinned image",
      { ...DEV_CONFIG, images: { backend: "hashicorp/http-echo" } },
      'images.backend must pin a tag or digest other than latest (got "hashicorp/http-echo"), e.g. "hashicorp/http-echo:1.0.0"',
    ],
    [
      "a latest image",
      { ...DEV_CONFIG, images: { frontend: "nginx:latest" } },
      'images.frontend must pin a tag or digest other than latest (got "nginx:latest"), e.g. "nginxinc/nginx-unprivileged:1.27.4-alpine"',
    ],
    [
      "a malformed Istio version",
      { ...DEV_CONFIG, istio: { version: "1.30" } },
      'istio.version must be an Istio release such as 1.30.4 (got "1.30")',
    ],
    [
      "a chart repo that is not a URL",
      { ...DEV_CONFIG, istio: { chartRepo: "istio-release" } },
      'istio.chartRepo must be an http(s):// or oci:// Helm repository URL (got "istio-release")',
    ],
    [
      "a chart directory without the charts",
      { ...DEV_CONFIG, istio: { chartDir: "/nonexistent" } },
      'istio.chartDir must hold the charts base/, istiod/, gateway/, each with a Chart.yaml (got "/nonexistent", missing base, istiod, gateway); point it at an unpacked copy of Istio\'s charts',
    ],
    [
      "a bad CPU quantity",
      {
        ...DEV_CONFIG,
        istio: { istiodResources: { requests: { cpu: "lots" } } },
      },
      'istio.istiodResources.requests.cpu must be a CPU quantity such as 100m or 0.5 (got "lots")',
    ],
    [
      "a bad memory quantity",
      {
        ...DEV_CONFIG,
        istio: { istiodResources: { limits: { memory: "1GB" } } },
      },
      'istio.istiodResources.limits.memory must be a memory quantity such as 256Mi or 1Gi (got "1GB")',
    ],
    [
      "a misspelt istio field",
      { ...DEV_CONFIG, istio: { hubb: "x" } },
      'istio.hubb is not a known setting (got "x"); known fields of istio: version, chartRepo, chartDir, hub, tag, istiodResources, proxyResources, platform, values',
    ],
  ];
  for (const [what, raw, message] of otherBad) {
    it(`rejects ${what}`, () => {
      assert.deepStrictEqual(problems(raw), [message]);
    });
  }

  it("reports every problem at once", () => {
    const found = problems({
      canary: { weights: { v1: 70 } },
      skipAwait: "maybe",
      appNamespace: "A",
    });
    assert.strictEqual(found.length, 3, found.join("\n"));
  });

  it("applies the documented defaults to the dev stack's config", () => {
    const c = validateConfig(DEV_CONFIG);
    assert.deepStrictEqual(c.canary.weights, [
      { version: "v1", weight: 80 },
      { version: "v2", weight: 20 },
    ]);
    assert.strictEqual(c.istio.version, DEFAULTS.istio.version);
    assert.strictEqual(
      c.istio.tag,
      DEFAULTS.istio.version,
      "the image tag follows the version",
    );
    assert.strictEqual(c.istio.chartDir, undefined);
    assert.strictEqual(c.appNamespace, "mesh-demo");
    assert.strictEqual(c.ingress.namespace, "istio-ingress");
    assert.strictEqual(c.skipAwait, false);
    assert.deepStrictEqual(c.istio.istiodResources.requests, {
      cpu: "100m",
      memory: "256Mi",
    });
  });

  it("accepts a weight of 0 and any number of versions", () => {
    const c = validateConfig(weights({ v1: 0, v2: 60, "v3-beta": 40 }));
    assert.deepStrictEqual(
      c.canary.weights.map((w) => w.weight),
      [0, 60, 40],
    );
  });

  it("accepts a local chart directory holding the three charts", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "charts-"));
    for (const chart of ["base", "istiod", "gateway"]) {
      fs.mkdirSync(path.join(dir, chart));
      fs.writeFileSync(path.join(dir, chart, "Chart.yaml"), "name: x\n");
    }
    assert.strictEqual(
      validateConfig({ ...DEV_CONFIG, istio: { chartDir: dir } }).istio
        .chartDir,
      dir,
    );
  });

  it("declares the same defaults in Pulumi.yaml as the code uses", () => {
    const project = yaml.load(
      fs.readFileSync(path.join(__dirname, "..", "Pulumi.yaml"), "utf8"),
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
      "images",
      "ingress",
      "istio",
      "observability",
      "resilience",
      "security",
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

  it("ships the seeds' 80/20 split in Pulumi.dev.yaml", () => {
    const stack = yaml.load(
      fs.readFileSync(path.join(__dirname, "..", "Pulumi.dev.yaml"), "utf8"),
    ) as {
      config: Record<string, unknown>;
    };
    assert.deepStrictEqual(
      stack.config["service-mesh:canary"],
      DEV_CONFIG.canary,
    );
  });
});

describe("the program with bad config", () => {
  it("names a misspelt top-level key as unknown, whatever its value", async () => {
    const err = await renderProgram({
      ...DEV_CONFIG,
      canaryWeights: "v2=20",
    }).then(
      () => assert.fail("the program accepted an unknown key"),
      (e: Error) => e,
    );
    assert.match(
      err.message,
      /canaryWeights is not a setting of this program; known keys: istio, /,
    );
  });

  for (const [what, raw, message] of badCanary) {
    it(`stops before any resource on ${what}`, async () => {
      const err = await renderProgram(raw).then(
        () => assert.fail("the program accepted bad config"),
        (e: Error & { recorded: Array<{ type: string }> }) => e,
      );
      assert.ok(err.message.includes(`  - ${message}`), err.message);
      assert.deepStrictEqual(
        err.recorded
          .filter((r) => r.type !== "pulumi:pulumi:Stack")
          .map((r) => r.type),
        [],
      );
    });
  }
});

describe("the README", () => {
  it("documents every config key the program reads", () => {
    const readme = fs.readFileSync(
      path.join(__dirname, "..", "README.md"),
      "utf8",
    );
    for (const key of CONFIG_KEYS) {
      assert.match(
        readme,
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
      assert.ok(readme.includes("`" + key), `${key} is not documented`);
    }
  });

  it("names npm test as the test command", () => {
    const readme = fs.readFileSync(
      path.join(__dirname, "..", "README.md"),
      "utf8",
    );
    assert.ok(readme.includes("npm test"));
    assert.ok(readme.includes("npm run test:integration"));
  });
});
