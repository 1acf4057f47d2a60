// Unit tests of config validation, no Pulumi runtime: every message names the key, the value and
// the fix, exactly as users see it; every problem is reported at once; defaults apply.
import * as assert from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import {
  CONFIG_KEYS,
  DEFAULTS,
  OBJECT_KEYS,
  validateConfig,
} from "../../components/config";
import { problems } from "../support/configProblems";
import { DEV_CONFIG } from "../support/mocks";

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

// Each bad value of the other top-level sections, and its message.
const otherBad: Array<[string, Record<string, unknown>, string]> = [
  [
    "an unknown top-level key",
    { ...DEV_CONFIG, canaryWeights: "x" },
    `canaryWeights is not a setting of this program (got "x"); known keys: ${CONFIG_KEYS.join(", ")}`,
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
    'istio.version must be an Istio release such as 1.31.1 (got "1.30")',
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
    'istio.hubb is not a known setting (got "x"); known fields of istio: version, chartRepo, chartDir, hub, tag, istiodResources, proxyResources, dataplane, ztunnelResources, waypointResources, platform, values, revisions, tags, defaultRevision, namespaceTags',
  ],
];

describe("config validation: canary and top-level keys", () => {
  for (const [what, raw, message] of badCanary) {
    it(`WHEN given ${what} THEN it reports exactly that`, () => {
      assert.deepStrictEqual(problems(raw), [message]);
    });
  }
  for (const [what, raw, message] of otherBad) {
    it(`WHEN given ${what} THEN it reports exactly that`, () => {
      assert.deepStrictEqual(problems(raw), [message]);
    });
  }

  it("WHEN istio.platform is unknown or openshift THEN config is refused with the known list and why", () => {
    for (const p of ["eks", "openshift"]) {
      const [msg] = problems({ ...DEV_CONFIG, istio: { platform: p } });
      assert.match(
        msg,
        new RegExp(
          `^istio.platform must be one of gke, k3d, k3s, microk8s, minikube \\(got "${p}"\\)`,
        ),
      );
    }
    assert.match(
      problems({ ...DEV_CONFIG, istio: { platform: "openshift" } })[0],
      /OpenShift needs istio-cni and ztunnel in kube-system/,
    );
  });

  it("WHEN a chart's extra values are not an object, or the chart is unknown THEN config is refused", () => {
    assert.deepStrictEqual(
      problems({ ...DEV_CONFIG, istio: { values: { istiod: "x" } } }),
      [
        `istio.values.istiod must be an object of Helm values for the istiod chart (got "x"); e.g. 'pulumi config set --path istio.values.istiod.<key> <value>'`,
      ],
    );
    assert.deepStrictEqual(
      problems({ ...DEV_CONFIG, istio: { values: { ztunel: {} } } }),
      [
        `istio.values.ztunel is not a known setting (got {}); known fields of istio.values: base, istiod, gateway, cni, ztunnel`,
      ],
    );
  });

  it("WHEN several values are bad THEN every problem is reported at once", () => {
    const found = problems({
      canary: { weights: { v1: 70 } },
      skipAwait: "maybe",
      appNamespace: "A",
    });
    assert.strictEqual(found.length, 3, found.join("\n"));
  });

  it("WHEN the dev stack's config is read THEN the documented defaults apply", () => {
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

  it("WHEN a weight is 0 or there are three versions THEN they are accepted in order", () => {
    const c = validateConfig(weights({ v1: 0, v2: 60, "v3-beta": 40 }));
    assert.deepStrictEqual(
      c.canary.weights.map((w) => w.weight),
      [0, 60, 40],
    );
  });

  it("WHEN istio.chartDir holds the three charts THEN it is accepted, with cni only when needed", () => {
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
    assert.deepStrictEqual(
      problems({
        ...DEV_CONFIG,
        istio: { chartDir: dir },
        security: { cni: true },
      }),
      [
        `istio.chartDir must hold the charts base/, istiod/, gateway/, cni/, each with a Chart.yaml (got ${JSON.stringify(dir)}, missing cni); point it at an unpacked copy of Istio's charts`,
      ],
    );
  });

  it("WHEN the CLI stores a key THEN exactly the object-valued ones are parsed as JSON", () => {
    assert.deepStrictEqual(
      [...CONFIG_KEYS].filter((k) => !OBJECT_KEYS.includes(k)),
      ["appNamespace", "skipAwait"],
    );
  });
});

describe("where Istio comes from this month", () => {
  const istio = (fields: Record<string, unknown>) =>
    problems({ ...DEV_CONFIG, istio: fields });

  it("WHEN the defaults are used THEN charts come from blob.istio.io and images from docker.io/istio, at the newest confirmed release", () => {
    const c = validateConfig(DEV_CONFIG);
    assert.strictEqual(
      c.istio.chartRepo,
      "https://blob.istio.io/istio-release/charts",
    );
    assert.strictEqual(c.istio.hub, "docker.io/istio");
    assert.strictEqual(c.istio.version, "1.31.1");
  });

  it("WHEN a retired chart repository or image registry is named THEN it is refused with why and what to use", () => {
    for (const repo of [
      "https://istio-release.storage.googleapis.com/charts",
      "https://istio-release.storage.googleapis.com/charts/",
      "oci://gcr.io/istio-release/charts",
    ]) {
      const [msg] = istio({ chartRepo: repo });
      assert.match(
        msg,
        /^istio\.chartRepo is Istio's retired chart repository/,
      );
      assert.match(msg, /switches it off in December 2026/);
      assert.match(msg, /https:\/\/blob\.istio\.io\/istio-release\/charts/);
    }
    for (const hub of ["registry.istio.io/release", "gcr.io/istio-release"]) {
      const [msg] = istio({ hub });
      assert.match(msg, /^istio\.hub is Istio's retired image registry/);
      assert.match(
        msg,
        /cannot pull the images.*Use docker\.io\/istio or a pull-through cache/,
      );
    }
  });

  it("WHEN a mirror or pull-through cache is named THEN it is accepted", () => {
    assert.deepStrictEqual(
      istio({
        chartRepo: "oci://ghcr.io/istio/release/charts",
        hub: "mirror.example.com:5000/istio",
      }),
      [],
    );
  });

  it("WHEN istio.version is a 1.30 or 1.31 release THEN it is accepted; an end-of-life or unknown minor is refused, naming the releases to use", () => {
    assert.deepStrictEqual(istio({ version: "1.30.4" }), []);
    assert.deepStrictEqual(istio({ version: "1.31.1" }), []);
    const [old] = istio({ version: "1.29.3" });
    assert.match(
      old,
      /^istio\.version must be a release of Istio 1\.30 or 1\.31 \(got "1\.29\.3"\); Istio 1\.29 is past its end of life/,
    );
    assert.match(old, /Use 1\.30\.5 or 1\.31\.1/);
    const [next] = istio({ version: "1.32.0" });
    assert.match(next, /has not been checked against 1\.32's upgrade notes/);
  });
});
