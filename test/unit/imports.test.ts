import * as assert from "assert";
import * as path from "path";

import { circles, layerViolations, readImportGraph } from "../lint/importGraph";

describe("the import graph (checked by npm run lint)", () => {
  const graph = readImportGraph(path.resolve(__dirname, "..", ".."), [
    "components",
    "test",
  ]);

  it("WHEN the program and its tests are read THEN no files import each other in a circle", () => {
    assert.deepStrictEqual(circles(graph), []);
  });

  it("WHEN components/ imports THEN every import goes down a floor", () => {
    assert.deepStrictEqual(layerViolations(graph), []);
  });

  it("WHEN a circle or an upward import exists THEN the checker names it", () => {
    const bad = new Map([
      ["components/core/names.ts", ["components/config/meshConfig.ts"]],
      ["components/config/meshConfig.ts", ["components/core/names.ts"]],
      ["components/apps/demoApp.ts", ["index.ts"]],
    ]);
    assert.deepStrictEqual(circles(bad), [
      ["components/config/meshConfig.ts", "components/core/names.ts"],
    ]);
    assert.deepStrictEqual(layerViolations(bad), [
      "components/core/names.ts imports components/config/meshConfig.ts: components/core may import only nothing of the project",
      "components/apps/demoApp.ts imports index.ts (the top floor)",
    ]);
  });
});
