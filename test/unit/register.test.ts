// tools/register.js and tools/compile.js, the loader `pulumi up` runs the program with (Pulumi.yaml nodeargs).
import * as assert from "assert";
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import * as yaml from "js-yaml";

const ROOT = path.join(__dirname, "..", "..");
// Plain CommonJS (it runs before anything compiles TypeScript), so it is required, not imported.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const register = require("../../tools/compile.js") as {
  compile(source: string, filename: string): string;
  CACHE_DIR: string;
};

function programFiles(dir = path.join(ROOT, "components")): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    return e.isDirectory() ? programFiles(p) : p.endsWith(".ts") ? [p] : [];
  });
}

describe("the program's loader (tools/register.js)", () => {
  it("WHEN Pulumi starts the program THEN it runs through the loader, not ts-node's type check", () => {
    const project = yaml.load(
      fs.readFileSync(path.join(ROOT, "Pulumi.yaml"), "utf8"),
    ) as { runtime: { options: Record<string, unknown> } };
    assert.strictEqual(project.runtime.options.typescript, false);
    assert.strictEqual(
      project.runtime.options.nodeargs,
      "--require ./tools/register.js",
    );
  });

  it("WHEN a program file is compiled THEN every line stays where it was, so stack traces need no source map", () => {
    for (const file of [path.join(ROOT, "index.ts"), ...programFiles()]) {
      const source = fs.readFileSync(file, "utf8");
      const js = register.compile(source, file);
      const lines = (s: string) => s.split("\n");
      // Each constructor call (a resource, an error) is on the same line of the output, where
      // imported names read `new (0, _module.Name)(`.
      lines(source).forEach((line, i) => {
        const m = /\bnew ([A-Z]\w+)\(/.exec(line);
        if (m) {
          assert.ok(
            lines(js)[i]?.includes(m[1]),
            `${path.relative(ROOT, file)}:${i + 1} moved: new ${m[1]}`,
          );
        }
      });
    }
  });

  it("WHEN a file is unchanged THEN its compiled form comes from the cache, and a change misses it", () => {
    const file = path.join(ROOT, "test", "unit", "__register_probe__.ts");
    const source = `export const answer: number = ${process.pid};\n`;
    const first = register.compile(source, file);
    assert.match(first, /const answer = \d+; exports.answer = answer;/);
    const cached = fs
      .readdirSync(register.CACHE_DIR)
      .map((f) => path.join(register.CACHE_DIR, f))
      .filter((f) => fs.readFileSync(f, "utf8") === first);
    assert.strictEqual(cached.length, 1, "one cache entry for the probe");
    try {
      // A marked cache entry proves the second call read it instead of compiling.
      fs.writeFileSync(cached[0], `${first}// from cache\n`);
      assert.match(register.compile(source, file), /\/\/ from cache/);
      const changed = register.compile(source.replace("number", "any"), file);
      assert.doesNotMatch(changed, /from cache/);
    } finally {
      fs.rmSync(cached[0], { force: true });
    }
  });

  it("WHEN the runner has installed a stack-trace mapper THEN loading the program's first file puts V8's own format back", () => {
    // As Pulumi's runner does: a mapper first (source-map-support), then the program.
    const out = execFileSync(
      process.execPath,
      [
        "--require",
        path.join(ROOT, "tools", "register.js"),
        "-e",
        [
          'Error.prepareStackTrace = () => "mapped";',
          `require(${JSON.stringify(path.join(ROOT, "components", "core", "duration.ts"))});`,
          "process.stdout.write(String(new Error('probe').stack).split('\\n')[0]);",
        ].join(" "),
      ],
      { cwd: ROOT, encoding: "utf8" },
    );
    assert.strictEqual(out, "Error: probe");
  });
});
