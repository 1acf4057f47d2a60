// How `pulumi up` and `pulumi preview` load this TypeScript program (Pulumi.yaml's `nodeargs`).
//
// Every .ts file Node requires is stripped of its types by sucrase and cached, keyed by the
// file's path and contents and sucrase's version, under node_modules/.cache/service-mesh-ts/, so
// an unchanged program (a weight shift, a preview) loads without compiling anything. Nothing is
// type-checked here: `npm run build` (tsc) does that, and `npm run deploy` and CI run it first.
//
// Measured on the test bed (docs/performance.md): Pulumi's own ts-node loader type-checks the whole
// program on every run (about 3 s of a 5 s weight shift); transpile-only ts-node still costs about
// 0.9 s per run, and sucrase with its inline source maps about 0.5 s (the maps are parsed for the
// stack trace Pulumi records with every resource). Sucrase keeps each statement on its original
// line, so stack traces point at the right .ts lines without any source map.
//
// Plain JavaScript because it runs before anything can compile TypeScript.
"use strict";
const fs = require("fs");
const Module = require("module");
const { compile } = require("./compile");

// Pulumi's runner installs source-map-support before it loads the program, and the SDK records a
// stack trace for every promise it tracks (dozens per resource): each one was mapped frame by frame
// through the SDK's own source maps, about 0.2 s of a 2 s preview (Node's CPU profiler, test bed).
// The program's own frames need no map (sucrase keeps lines), so once the runner has loaded the
// program's first file, stack traces go back to V8's own format: the SDK's frames then name its
// compiled .js lines, ours the right .ts lines.
let plainStackTraces = false;

Module._extensions[".ts"] = function loadTypeScript(module, filename) {
  if (!plainStackTraces) {
    plainStackTraces = true;
    Error.prepareStackTrace = undefined;
  }
  module._compile(
    compile(fs.readFileSync(filename, "utf8"), filename),
    filename,
  );
};
