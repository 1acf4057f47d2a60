// The compile step of tools/register.js (see there): TypeScript to CommonJS by sucrase, cached.
// Separate so tests can call it without replacing their own .ts loader.
"use strict";
const crypto = require("crypto");
const fs = require("fs");
const path = require("path");

const SUCRASE_VERSION = require("sucrase/package.json").version;
const CACHE_DIR = path.join(
  __dirname,
  "..",
  "node_modules",
  ".cache",
  "service-mesh-ts",
);
const TRANSFORMS = ["typescript", "imports"];

let sucrase; // loaded on the first cache miss only

/** The JavaScript for one TypeScript source, from the cache or compiled (and then cached). */
function compile(source, filename) {
  const key = crypto
    .createHash("sha256")
    .update(`${SUCRASE_VERSION}\0${TRANSFORMS.join(",")}\0${filename}\0`)
    .update(source)
    .digest("hex");
  const cached = path.join(CACHE_DIR, `${key}.js`);
  try {
    return fs.readFileSync(cached, "utf8");
  } catch {
    // not cached yet
  }
  sucrase = sucrase || require("sucrase");
  const { code } = sucrase.transform(source, {
    transforms: TRANSFORMS,
    filePath: filename,
  });
  try {
    // Written whole and then renamed, so a concurrent run never reads half a file.
    fs.mkdirSync(CACHE_DIR, { recursive: true });
    const tmp = `${cached}.${process.pid}.tmp`;
    fs.writeFileSync(tmp, code);
    fs.renameSync(tmp, cached);
  } catch {
    // A read-only node_modules only loses the cache.
  }
  return code;
}

module.exports = { compile, CACHE_DIR };
