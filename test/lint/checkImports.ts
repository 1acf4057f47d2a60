// `npm run lint` step: fails on any import circle in the program or its tests, and on any import
// of components/ that runs up a floor (see LAYERS in importGraph.ts).
import * as path from "path";
import { circles, layerViolations, readImportGraph } from "./importGraph";

const root = path.resolve(__dirname, "..", "..");
const graph = readImportGraph(root, ["components", "test"]);
const problems = [
  ...circles(graph).map((c) => `import circle: ${c.join(" -> ")}`),
  ...layerViolations(graph),
];
for (const p of problems) {
  console.error(p);
}
console.log(
  `imports: ${graph.size} files, ${[...graph.values()].reduce((n, d) => n + d.length, 0)} imports, ${problems.length} problems`,
);
process.exitCode = problems.length === 0 ? 0 : 1;
