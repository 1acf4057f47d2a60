// The project's import graph, read with the TypeScript compiler's own pre-processor (no
// resolver plugin, nothing native): which file imports which, the circles, and the layer rule of
// components/. `npm run lint` runs it through checkImports.ts; the unit tests call it directly.
import * as fs from "fs";
import * as path from "path";
import * as ts from "typescript";

/** The layers of components/, bottom up, and the layers each may import besides its own folder. */
export const LAYERS: Record<string, readonly string[]> = {
  core: [],
  config: ["core"],
  specs: ["core", "config"],
  istio: ["core", "config", "specs"],
  linkerd: ["core", "config", "specs"],
  workloads: ["core", "config", "specs"],
  apps: ["core", "config", "specs", "workloads"],
  observability: ["core", "config", "specs"],
};

/** file (relative to root, "/" separated) -> the project files it imports (type-only included). */
export type ImportGraph = Map<string, string[]>;

function tsFiles(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) {
      return e.name === "node_modules" ? [] : tsFiles(p);
    }
    return e.name.endsWith(".ts") && !e.name.endsWith(".d.ts") ? [p] : [];
  });
}

function resolveImport(from: string, spec: string): string | undefined {
  if (!spec.startsWith(".")) {
    return undefined;
  }
  const base = path.resolve(path.dirname(from), spec);
  for (const c of [`${base}.ts`, path.join(base, "index.ts"), base]) {
    if (c.endsWith(".ts") && fs.existsSync(c)) {
      return c;
    }
  }
  if (spec.endsWith(".js") && fs.existsSync(base)) {
    return undefined; // plain JavaScript (tools/), outside the TypeScript graph
  }
  throw new Error(`${from}: cannot resolve import "${spec}"`);
}

/** Reads the graph of `index.ts` and every file under the given folders. */
export function readImportGraph(root: string, folders: string[]): ImportGraph {
  const files = [
    path.join(root, "index.ts"),
    ...folders.flatMap((f) => tsFiles(path.join(root, f))),
  ];
  const rel = (p: string) => path.relative(root, p).split(path.sep).join("/");
  const graph: ImportGraph = new Map();
  for (const f of files) {
    const info = ts.preProcessFile(fs.readFileSync(f, "utf8"), true, true);
    const deps = info.importedFiles
      .map((i) => resolveImport(f, i.fileName))
      .filter((d): d is string => d !== undefined)
      .map(rel);
    graph.set(rel(f), [...new Set(deps)].sort());
  }
  return graph;
}

/** Every circle of the graph (strongly connected components of more than one file, or a self-import). */
export function circles(graph: ImportGraph): string[][] {
  let index = 0;
  const idx = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const found: string[][] = [];
  const visit = (v: string) => {
    idx.set(v, index);
    low.set(v, index++);
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!idx.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) {
        low.set(v, Math.min(low.get(v)!, idx.get(w)!));
      }
    }
    if (low.get(v) === idx.get(v)) {
      const scc: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        scc.push(w);
      } while (w !== v);
      if (scc.length > 1 || (graph.get(v) ?? []).includes(v)) {
        found.push(scc.sort());
      }
    }
  };
  for (const v of [...graph.keys()].sort()) {
    if (!idx.has(v)) {
      visit(v);
    }
  }
  return found;
}

/** The layer of a components/ file ("components/<layer>/..."), or undefined. */
const layerOf = (file: string) =>
  /^components\/([^/]+)\//.exec(file)?.[1] ?? undefined;

/** Imports that break the layer rule: into a layer not allowed, or from components/ up to index.ts. */
export function layerViolations(graph: ImportGraph): string[] {
  const out: string[] = [];
  for (const [from, deps] of graph) {
    const l = layerOf(from);
    if (from.startsWith("components/") && l === undefined) {
      out.push(`${from} is outside every layer folder of components/`);
    }
    if (l !== undefined && !(l in LAYERS)) {
      out.push(`${from} is in components/${l}, which is not a layer`);
      continue;
    }
    for (const to of deps) {
      const t = layerOf(to);
      if (l === undefined) {
        continue;
      }
      if (to === "index.ts") {
        out.push(`${from} imports index.ts (the top floor)`);
      } else if (t !== undefined && t !== l && !LAYERS[l].includes(t)) {
        out.push(
          `${from} imports ${to}: components/${l} may import only ${LAYERS[l].join(", ") || "nothing of the project"}`,
        );
      }
    }
  }
  return out;
}
