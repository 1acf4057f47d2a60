#!/usr/bin/env bash
# langhost-options.sh, the test bed's options shim: build-pulumi.sh installs it as
# bin/pulumi-language-nodejs next to the CLI (where the engine looks first, so there is no "plugin
# from $PATH" warning) and moves the real host to libexec/.
#
# Why: the 3.248 CLI hands Pulumi.yaml's `runtime.options` to the language host over RPC, but the
# host built here is sdk v3.68.0's (the matching module is not served; see build-pulumi.sh), which
# only reads them as command-line flags. Without this, the test bed would ignore the project's
# `typescript` and `nodeargs` options and run the program differently from a user's machine.
# The engine starts the host in the project root, so this reads ./Pulumi.yaml (with js-yaml from
# the project's node_modules) and passes typescript, tsconfig and nodeargs as the flags the 3.68
# host knows. Without a Pulumi.yaml it passes nothing.
set -euo pipefail
HERE=$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")" && pwd)
REAL=$HERE/../libexec/pulumi-language-nodejs
flags=()
if [ -f Pulumi.yaml ]; then
  mapfile -d '' flags < <(node -e '
    const yaml = require(require.resolve("js-yaml", { paths: [process.cwd()] }));
    const doc = yaml.load(require("fs").readFileSync("Pulumi.yaml", "utf8")) || {};
    const opts = (typeof doc.runtime === "object" && doc.runtime.options) || {};
    for (const k of ["typescript", "tsconfig", "nodeargs"]) {
      if (opts[k] !== undefined) process.stdout.write(`-${k}=${opts[k]}\0`);
    }')
fi
exec "$REAL" "${flags[@]}" "$@"
