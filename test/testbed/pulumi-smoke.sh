#!/usr/bin/env bash
# Smoke test of the Pulumi pieces built by build-pulumi.sh, fully offline: a scratch TypeScript
# project (outside the repo) with a Kubernetes provider in render mode (writes YAML, needs no API
# server), `pulumi stack init`, `up`, `destroy`, inside a network namespace with no network when
# possible (root + unshare), so any attempt to download plugins or reach a backend fails loudly.
#
# Usage: test/testbed/pulumi-smoke.sh [scratch-dir]     (default: a new temp dir, removed after)
# The project's node_modules (npm ci) are reused when present, else npm installs into the
# scratch dir (registry access needed for that step only).
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
log() { printf '[pulumi-smoke] %s\n' "$*" >&2; }

eval "$("$HERE/build-pulumi.sh")"

KEEP=0
if [ $# -gt 0 ]; then SCRATCH=$1; KEEP=1; mkdir -p "$SCRATCH"
else SCRATCH=$(mktemp -d "${TMPDIR:-/tmp}/pulumi-smoke-XXXXXX"); fi
case $SCRATCH in "$REPO"|"$REPO"/*) echo "scratch dir must be outside the repo" >&2; exit 2 ;; esac
[ "$KEEP" = 1 ] || trap 'rm -rf "$SCRATCH"' EXIT
SCRATCH=$(cd "$SCRATCH" && pwd)
PROJ=$SCRATCH/proj
rm -rf "$PROJ" "$SCRATCH/home" "$SCRATCH/state"
mkdir -p "$PROJ" "$SCRATCH/home" "$SCRATCH/state"

cat >"$PROJ/Pulumi.yaml" <<'EOF'
name: testbed-smoke
runtime:
  name: nodejs
  options:
    typescript: true
description: offline smoke test of the test bed's Pulumi engine and plugins
EOF
cat >"$PROJ/tsconfig.json" <<'EOF'
{
  "compilerOptions": {
    "strict": true, "target": "es2020", "module": "commonjs", "moduleResolution": "node",
    "skipLibCheck": true
  },
  "files": ["index.ts"]
}
EOF
cat >"$PROJ/index.ts" <<'EOF'
import * as pulumi from "@pulumi/pulumi";
import * as k8s from "@pulumi/kubernetes";

const outDir = new pulumi.Config().require("renderDir");
// Render mode: the provider writes manifests to outDir instead of calling an API server.
const render = new k8s.Provider("render", { renderYamlToDirectory: outDir });
const ns = new k8s.core.v1.Namespace("smoke", { metadata: { name: "smoke" } }, { provider: render });
const cm = new k8s.core.v1.ConfigMap("smoke", {
    metadata: { namespace: ns.metadata.name, name: "smoke" },
    data: { hello: "world" },
}, { provider: render });

export const configMap = cm.metadata.name;
EOF

if [ -d "$REPO/node_modules/@pulumi/kubernetes" ] && [ -d "$REPO/node_modules/@pulumi/pulumi" ]; then
  ln -s "$REPO/node_modules" "$PROJ/node_modules"
  cp "$REPO/package.json" "$PROJ/package.json"
  log "using $REPO/node_modules"
else
  v() { node -p "require('$REPO/package.json').dependencies['$1'] || require('$REPO/package.json').devDependencies['$1']"; }
  (cd "$PROJ" && npm init -y >/dev/null &&
   npm install --no-audit --no-fund "@pulumi/pulumi@$(v @pulumi/pulumi)" \
     "@pulumi/kubernetes@$(v @pulumi/kubernetes)" "typescript@$(v typescript)" "ts-node@$(v ts-node)" >&2)
fi

export PATH="$PULUMI_PATH:$PATH"
export PULUMI_HOME=$SCRATCH/home
export PULUMI_BACKEND_URL=file://$SCRATCH/state
export PULUMI_CONFIG_PASSPHRASE=smoke
export PULUMI_SKIP_UPDATE_CHECK=true
export PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION=true
export PULUMI_AUTOMATION_API_SKIP_VERSION_CHECK=true

OFFLINE=()
if [ "$(id -u)" = 0 ] && command -v unshare >/dev/null && unshare -n true 2>/dev/null; then
  OFFLINE=(unshare -n bash -c 'ip link set lo up 2>/dev/null || true; exec "$@"' _)
  log "running the engine in a network namespace without network"
else
  log "not root (or no unshare): running with the host network"
fi

run() { log "\$ $*"; (cd "$PROJ" && "${OFFLINE[@]}" "$@"); }
run pulumi version
# The Kubernetes plugin on PATH is the version build-pulumi.sh names (its schema carries it).
v=$(run pulumi package get-schema "$KUBERNETES_BIN/pulumi-resource-kubernetes" |
  node -e 'let s = ""; process.stdin.on("data", (d) => (s += d)).on("end", () => console.log(JSON.parse(s).version))')
[ "$v" = "$KUBERNETES_PLUGIN_VERSION" ] ||
  { echo "pulumi-resource-kubernetes reports version $v, build-pulumi.sh says $KUBERNETES_PLUGIN_VERSION" >&2; exit 1; }
log "pulumi-resource-kubernetes: version $v"
run pulumi stack init dev --non-interactive
run pulumi config set renderDir "$SCRATCH/rendered"
run pulumi up --yes --non-interactive --skip-preview
test -s "$SCRATCH/rendered/1-manifest/"*configmap*smoke*.yaml ||
  { ls -R "$SCRATCH/rendered" >&2; echo "rendered ConfigMap manifest missing" >&2; exit 1; }
run pulumi stack output configMap
run pulumi destroy --yes --non-interactive --skip-preview
run pulumi stack rm dev --yes --non-interactive
if [ -d "$PULUMI_HOME/plugins" ] && [ -n "$(ls -A "$PULUMI_HOME/plugins")" ]; then
  echo "unexpected plugin installs under $PULUMI_HOME/plugins:" >&2; ls "$PULUMI_HOME/plugins" >&2; exit 1
fi
log "OK"
