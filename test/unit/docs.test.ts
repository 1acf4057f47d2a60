// The documents agree with the code: README, docs/, Pulumi.yaml and Pulumi.dev.yaml. No Pulumi runtime.
import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import * as yaml from "js-yaml";
import { CONFIG_KEYS, DEFAULTS, validateConfig } from "../../components/config";
import { DEV_CONFIG } from "../support/mocks";

const ROOT = path.join(__dirname, "..", "..");
const read = (file: string) => fs.readFileSync(path.join(ROOT, file), "utf8");
const readme = () => read("README.md");

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

describe("docs/configuration.md", () => {
  it("documents every config key the program reads", () => {
    const text = read("docs/configuration.md");
    for (const key of CONFIG_KEYS) {
      assert.match(
        text,
        new RegExp("\\| `" + key + "[.`]"),
        `${key} has no row in a config table of docs/configuration.md`,
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
});

describe("the README", () => {
  it("names npm test as the test command", () => {
    const text = readme();
    assert.ok(text.includes("npm test"));
    assert.ok(text.includes("npm run test:integration"));
  });

  it("stays short: at most 200 lines", () => {
    const lines = readme().split("\n").length;
    assert.ok(
      lines <= 200,
      `README.md has ${lines} lines; move detail to docs/`,
    );
  });

  it("links every docs file from its table, and every linked file exists", () => {
    const text = readme();
    const table = text.slice(text.indexOf("## Documentation"));
    const linked = new Set(
      [...table.matchAll(/\]\((docs\/[^)#]+\.md)\)/g)].map((m) => m[1]),
    );
    for (const file of linked) {
      assert.ok(fs.existsSync(path.join(ROOT, file)), `${file} does not exist`);
    }
    const docs = fs
      .readdirSync(path.join(ROOT, "docs"))
      .filter((f) => f.endsWith(".md"))
      .map((f) => `docs/${f}`);
    for (const file of [...docs, "docs/linkerd.md"]) {
      assert.ok(linked.has(file), `the README's table does not link ${file}`);
    }
  });
});

/** GitHub's heading anchors: lowercase, punctuation but hyphens dropped, spaces to hyphens. */
function slug(heading: string): string {
  return heading
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\s_-]/gu, "")
    .replace(/\s/g, "-");
}

/** Every anchor a markdown file offers: its headings, numbered -1, -2... when repeated. */
function anchors(markdown: string): Set<string> {
  const seen = new Map<string, number>();
  const out = new Set<string>();
  let fence = false;
  for (const line of markdown.split("\n")) {
    if (/^\s*(```|~~~)/.test(line)) fence = !fence;
    const m = !fence && /^#{1,6}\s+(.*?)\s*#*\s*$/.exec(line);
    if (!m) continue;
    const base = slug(m[1]);
    const n = seen.get(base) ?? 0;
    seen.set(base, n + 1);
    out.add(n === 0 ? base : `${base}-${n}`);
  }
  return out;
}

describe("links between the README and docs/", () => {
  it("slugs headings as GitHub does", () => {
    assert.strictEqual(
      slug("Operations: recovering from faults"),
      "operations-recovering-from-faults",
    );
    assert.strictEqual(
      slug("An interrupted `pulumi up` (a crashed laptop, a cancelled CI job)"),
      "an-interrupted-pulumi-up-a-crashed-laptop-a-cancelled-ci-job",
    );
    assert.strictEqual(
      slug("Every field of a `services` entry"),
      "every-field-of-a-services-entry",
    );
    assert.deepStrictEqual(
      [...anchors("# A\n```sh\n# not a heading\n```\n## A\n### B-c d")],
      ["a", "a-1", "b-c-d"],
    );
  });

  it("points every relative link at a file that exists, and an anchor at a heading", () => {
    const files = [
      "README.md",
      ...fs
        .readdirSync(path.join(ROOT, "docs"))
        .filter((f) => f.endsWith(".md"))
        .map((f) => `docs/${f}`),
    ];
    const problems: string[] = [];
    for (const file of files) {
      // Code spans and fenced blocks hold no links.
      const text = read(file)
        .replace(/^\s*(```|~~~)[\s\S]*?^\s*\1/gm, "")
        .replace(/`[^`\n]*`/g, "");
      for (const [, target] of text.matchAll(/\]\(([^)\s]+)\)/g)) {
        if (/^[a-z][a-z0-9+.-]*:/i.test(target)) continue; // https:, mailto:
        const [rel, anchor] = target.split("#", 2);
        const dest = rel
          ? path.normalize(path.join(path.dirname(file), rel))
          : file;
        if (!fs.existsSync(path.join(ROOT, dest))) {
          problems.push(`${file}: ${target}: no file ${dest}`);
          continue;
        }
        if (anchor !== undefined && !anchors(read(dest)).has(anchor)) {
          problems.push(`${file}: ${target}: no heading #${anchor} in ${dest}`);
        }
      }
    }
    assert.deepStrictEqual(problems, []);
  });
});
describe("docs/security.md on istio-cni", () => {
  it("names istio-init's root and NET_ADMIN/NET_RAW, and istio-validation's uid 1337", () => {
    const text = read("docs/security.md");
    for (const s of [
      "istio-init",
      "NET_ADMIN",
      "NET_RAW",
      "istio-validation",
      "1337",
    ]) {
      assert.ok(text.includes(s), `docs/security.md lacks ${s}`);
    }
  });
});

describe("docs/layout.md", () => {
  it("names every layer of components/ and nothing that is gone", () => {
    const layout = read("docs/layout.md");
    const layers = fs
      .readdirSync(path.join(ROOT, "components"), { withFileTypes: true })
      .filter((d) => d.isDirectory())
      .map((d) => d.name);
    assert.ok(layers.length >= 7);
    for (const layer of layers) {
      assert.ok(
        layout.includes(`components/${layer}/`),
        `docs/layout.md does not describe components/${layer}/`,
      );
    }
    for (const [, file] of layout.matchAll(/`(components\/[^`]+\.ts)`/g)) {
      assert.ok(fs.existsSync(path.join(ROOT, file)), `${file} does not exist`);
    }
  });
});
