#!/usr/bin/env bash
# Builds the Pulumi side of the local test bed from Go modules (no get.pulumi.com, no GitHub):
#   pulumi, pulumi-language-nodejs   CLI/engine and Node.js language host
#   pulumi-resource-kubernetes       Kubernetes provider plugin
#   pulumi-resource-random           random provider plugin (not buildable here, see RANDOM below)
#
# Usage: test/testbed/build-pulumi.sh [--update-modules] [--force]
#   --update-modules  regenerate the wrapper modules under test/testbed/go/pulumi-* (go.mod +
#                     go.sum) for the versions below, then build
#   --force           rebuild even if the cached binaries exist
#
# Output (cached outside the repo, keyed by version; skipped when present and current):
#   $CACHE/pulumi-<PULUMI_VERSION>/bin/{pulumi,pulumi-language-nodejs}  (the latter is the options
#       shim, langhost-options.sh, starting the real host in libexec/pulumi-language-nodejs)
#   $CACHE/kubernetes-v<KUBERNETES_PLUGIN_VERSION>/bin/pulumi-resource-kubernetes
#   $CACHE/random-<RANDOM_VERSION>/bin/pulumi-resource-random   (only if buildable)
# with CACHE=${SERVICE_MESH_TESTBED_CACHE:-$HOME/.cache/service-mesh-testbed}.
# Progress goes to stderr; stdout is only NAME=value lines, so callers can do:
#   eval "$(test/testbed/build-pulumi.sh)"; export PATH="$PULUMI_PATH:$PATH"
# A warm run (everything cached) needs no Go toolchain and takes well under a second.
#
# Running the engine offline with these binaries:
#   PATH="$PULUMI_PATH:$PATH"                    plugins on PATH are used whatever their version
#   PULUMI_HOME=<scratch dir>  PULUMI_BACKEND_URL=file://<dir>  PULUMI_CONFIG_PASSPHRASE=<any>
#   PULUMI_SKIP_UPDATE_CHECK=true  PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION=true
set -euo pipefail
shopt -s inherit_errexit

# --- versions ----------------------------------------------------------------------------------
# Pulumi CLI (module github.com/pulumi/pulumi/pkg/v3, tag pkg/v3.248.0 = commit dc7edd58bc13).
PULUMI_VERSION=v3.248.0

# Node.js language host. The matching module, github.com/pulumi/pulumi/sdk/nodejs/cmd/
# pulumi-language-nodejs/v3 (no tags; v3.248.0 would be v3.0.0-20260624180030-dc7edd58bc13), is
# not served by the module proxy reachable here (403 "not available" for every version tried),
# so the host is built from the last sdk/v3 release that still carried it as a package
# (github.com/pulumi/pulumi/sdk/v3/nodejs/cmd/pulumi-language-nodejs, up to v3.68.0). The
# 3.248 engine supports older hosts (it falls back from GetRequiredPackages to
# GetRequiredPlugins), and the host only starts @pulumi/pulumi's own `cmd/run` from the
# project's node_modules, so the program runs with the project's SDK (3.248.0).
LANGHOST_SDK_VERSION=v3.68.0

# Kubernetes provider. The project locks @pulumi/kubernetes 4.34.2, but the proxy here serves
# github.com/pulumi/pulumi-kubernetes/provider/v4 (no tags of its own) at one commit only:
# f47bc2d6f199 (2026-01-15, master between the v4.24.0 and v4.25.0 releases). It is built and
# labelled honestly with Pulumi's dev-build convention (<next minor>-alpha.<unix time>+<sha>);
# the engine still uses it for the SDK's 4.34.2 requests because plugins on PATH win (with the
# warning "resource plugin kubernetes is expected to have version >=4.34.2, but has 4.25.0-...").
# Provider fixes after January 2026 (4.25-4.34, e.g. 4.32.0's preview of CRDs installed by a
# helm.v3.Release) are missing from it.
# Wanted: the v4.34.2 release commit (set both variables and run --update-modules once the proxy
# serves it; KUBERNETES_PLUGIN_VERSION=4.34.2).
KUBERNETES_MODULE_VERSION=v4.0.0-20260115033456-f47bc2d6f199
KUBERNETES_PLUGIN_VERSION=4.25.0-alpha.1768448096+f47bc2d6f199

# random provider (npm @pulumi/random 4.21.2; tag sdk/v4.21.2 = commit b62f810278b9). Its
# module github.com/pulumi/pulumi-random/provider/v4 is not served by the proxy here at any
# version tried (403), so it cannot be built; the script checks and reports instead of failing.
RANDOM_VERSION=v4.21.2
RANDOM_MODULE_VERSION=v4.0.0-20260917112258-b62f810278b9

export GOFLAGS=-buildvcs=false
export GOTOOLCHAIN=local        # never download a toolchain; go.mod `toolchain` lines are older
export CGO_ENABLED=0            # Pulumi's release binaries are static too

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
CACHE=${SERVICE_MESH_TESTBED_CACHE:-$HOME/.cache/service-mesh-testbed}
PULUMI_DIR=$CACHE/pulumi-$PULUMI_VERSION
KUBE_PLUGIN_DIR=$CACHE/kubernetes-v$KUBERNETES_PLUGIN_VERSION
RANDOM_DIR=$CACHE/random-$RANDOM_VERSION
CLI_MOD=$HERE/go/pulumi-cli
LANGHOST_MOD=$HERE/go/pulumi-language-nodejs
KUBE_MOD=$HERE/go/pulumi-resource-kubernetes
KUBE_CMD=cmd/pulumi-resource-kubernetes

TB_NAME=build-pulumi
# shellcheck source=common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
parse_build_args "${BASH_SOURCE[0]}" 2,25 "$@"

# Pulumi module versions from the proxy here are partly missing from its checksum database
# (e.g. pkg/v3@v3.248.0: sumdb lookup 404), so the checksum database is skipped for them. Every
# build runs inside a wrapper module with a committed go.sum and -mod=readonly, so all build
# inputs are still verified against pinned hashes.
export GONOSUMDB=${GONOSUMDB:+$GONOSUMDB,}github.com/pulumi

lock_cache

# A cache entry is current when all its binaries exist and its BUILD-INFO matches.
is_current() { # dir stamp bin...
  local d=$1 stamp=$2; shift 2
  [ "$FORCE" = 0 ] && [ "$UPDATE" = 0 ] || return 1
  [ -f "$d/BUILD-INFO" ] && [ "$(cat "$d/BUILD-INFO")" = "$stamp" ] || return 1
  local b; for b in "$@"; do [ -x "$d/bin/$b" ] || return 1; done
}

# Move a finished temp dir into place (rename; the old entry, if any, is removed first).
install_dir() { # tmp dest
  rm -rf "$2.old"
  [ ! -e "$2" ] || mv -T "$2" "$2.old"
  mv -T "$1" "$2"
  rm -rf "$2.old"
}

# Field of `go mod download -json` (first occurrence), e.g. modjson DIR example.com/m@v1 GoMod.
# DIR is a module with a go.sum to verify against, or "" for a neutral directory (no go.mod).
QDIR=$CACHE/.query
modjson() {
  local dir=${1:-$QDIR}; mkdir -p "$dir"
  (cd "$dir" && "$GO" mod download -json "$2") | sed -n "s/^[[:space:]]*\"$3\": \"\(.*\)\",\{0,1\}$/\1/p" | head -n1
}

# Is module@version served by the proxy? (no download of the zip; a stand-in build never asks)
mod_available() {
  local out
  if standin_build; then log "  $1: not asked (stand-in build)"; return 1; fi
  mkdir -p "$QDIR"
  out=$(cd "$QDIR" && "$GO" mod download -json "$1" 2>&1 |
    sed -n 's/^[[:space:]]*"Error": "\(.*\)",\{0,1\}$/\1/p' | sed 's/\\[nt]/ /g' | head -n1) || true
  [ -z "$out" ] && return 0
  log "  $1: $out"
  return 1
}

# Non-local replace directives of a go.mod (local ones, => ./ or ../, only work upstream).
copy_replaces() { # go.mod path
  awk '
    /^replace \(/ { inblock = 1; next }
    inblock && /^\)/ { inblock = 0; next }
    inblock && !/^[[:space:]]*(\/\/.*)?$/ { line = $0 }
    /^replace / && !/\(/ { line = $0; sub(/^replace /, "", line) }
    line != "" {
      if (line !~ /=>[[:space:]]*\.\.?\//) { gsub(/^[[:space:]]+/, "", line); print "replace " line }
      line = ""
    }' "$1"
}

# --- wrapper go.mod generation -------------------------------------------------------------------
gen_cli_gomod() {
  local gomod
  gomod=$(modjson "" "github.com/pulumi/pulumi/pkg/v3@$PULUMI_VERSION" GoMod)
  [ -n "$gomod" ] || { echo "cannot fetch github.com/pulumi/pulumi/pkg/v3@$PULUMI_VERSION go.mod" >&2; return 1; }
  cat <<EOF
// Wrapper module: builds the pulumi CLI from github.com/pulumi/pulumi/pkg/v3 (cmd/pulumi), whose
// go.mod replaces sdk/v3 with ../sdk, so \`go install\` refuses it. Here sdk/v3 resolves to the
// same release, and pkg's non-local replaces are copied.
// Generated by test/testbed/build-pulumi.sh --update-modules; do not edit by hand.
module servicemesh.local/testbed/pulumi-cli

go $(sed -n 's/^go \([0-9.]*\)$/\1/p' "$gomod")

require (
	github.com/pulumi/pulumi/pkg/v3 $PULUMI_VERSION
	github.com/pulumi/pulumi/sdk/v3 $PULUMI_VERSION
)

$(copy_replaces "$gomod")

tool github.com/pulumi/pulumi/pkg/v3/cmd/pulumi
EOF
}

gen_langhost_gomod() {
  local gomod
  gomod=$(modjson "" "github.com/pulumi/pulumi/sdk/v3@$LANGHOST_SDK_VERSION" GoMod)
  [ -n "$gomod" ] || { echo "cannot fetch github.com/pulumi/pulumi/sdk/v3@$LANGHOST_SDK_VERSION go.mod" >&2; return 1; }
  cat <<EOF
// Wrapper module: builds the Node.js language host from github.com/pulumi/pulumi/sdk/v3
// $LANGHOST_SDK_VERSION, the last release that carried it as a package (see build-pulumi.sh for why
// not the matching pulumi-language-nodejs module).
// Generated by test/testbed/build-pulumi.sh --update-modules; do not edit by hand.
module servicemesh.local/testbed/pulumi-language-nodejs

go 1.24

require github.com/pulumi/pulumi/sdk/v3 $LANGHOST_SDK_VERSION

$(copy_replaces "$gomod")

tool github.com/pulumi/pulumi/sdk/v3/nodejs/cmd/pulumi-language-nodejs
EOF
}

gen_kube_gomod() {
  local gomod sdkver
  gomod=$(modjson "" "github.com/pulumi/pulumi-kubernetes/provider/v4@$KUBERNETES_MODULE_VERSION" GoMod)
  [ -n "$gomod" ] || { echo "cannot fetch pulumi-kubernetes/provider/v4@$KUBERNETES_MODULE_VERSION go.mod" >&2; return 1; }
  sdkver=$(sed -n 's#^[[:space:]]*github.com/pulumi/pulumi-kubernetes/sdk/v4 \(v[^[:space:]]*\).*#\1#p' "$gomod" | head -n1)
  cat <<EOF
// Wrapper module: builds pulumi-resource-kubernetes from github.com/pulumi/pulumi-kubernetes/
// provider/v4. Its main package embeds schema-embed.json and terraform-mapping-embed.json,
// generated from the committed schema.json by generate.go, so build-pulumi.sh copies the
// package into $KUBE_CMD of a scratch copy of this module, generates, and builds there.
// The provider replaces its sdk/v4 with ../sdk; here sdk/v4 is the published version it requires.
// Generated by test/testbed/build-pulumi.sh --update-modules; do not edit by hand.
module servicemesh.local/testbed/pulumi-resource-kubernetes

go $(sed -n 's/^go \([0-9.]*\)$/\1/p' "$gomod")

require (
	github.com/pulumi/pulumi-kubernetes/provider/v4 $KUBERNETES_MODULE_VERSION
	github.com/pulumi/pulumi-kubernetes/sdk/v4 ${sdkver:?no sdk/v4 requirement in provider go.mod}
)

$(copy_replaces "$gomod")
EOF
}

# Ensure the wrapper module at $1 matches what gen_$2_gomod produces (its first line carries a
# hash of the generated text, which `go mod tidy` keeps). Echoes the directory whose go.mod and
# go.sum to build with: the committed wrapper when current, else a scratch copy (with a warning)
# unless --update-modules, which rewrites the committed files. $3, if given, is a function that
# populates a module tree with local packages (needed before `go mod tidy`).
prepare_module() {
  local dir=$1 kind=$2 populate=${3:-} want spec
  want=$(mktemp)
  "gen_${kind}_gomod" >"$want"
  spec="// testbed-spec: $(sha256sum <"$want" | cut -c1-16)"
  if [ "$UPDATE" = 0 ] && [ -f "$dir/go.sum" ] && [ "$(head -n1 "$dir/go.mod" 2>/dev/null)" = "$spec" ]; then
    rm -f "$want"; echo "$dir"; return
  fi
  local scratch; scratch=$(mktemp -d "$CACHE/.mod-$kind-XXXXXX")
  { echo "$spec"; cat "$want"; } >"$scratch/go.mod"; rm -f "$want"
  [ -z "$populate" ] || "$populate" "$scratch"
  (cd "$scratch" && "$GO" mod tidy >&2)
  if [ "$UPDATE" = 1 ]; then
    mkdir -p "$dir"
    cp "$scratch/go.mod" "$scratch/go.sum" "$dir/"
    rm -rf "$scratch"; echo "$dir"; return
  fi
  log "WARNING: $dir is stale for these versions; using a scratch copy." >&2
  log "         Run test/testbed/build-pulumi.sh --update-modules to refresh it." >&2
  echo "$scratch"
}

# Copy the provider's main package (plus generated placeholders) into module tree $1 (whose
# go.sum, when present, verifies the download).
populate_kube() {
  local src
  src=$(modjson "$1" "github.com/pulumi/pulumi-kubernetes/provider/v4@$KUBERNETES_MODULE_VERSION" Dir)
  mkdir -p "$1/$KUBE_CMD"
  cp "$src/$KUBE_CMD"/*.go "$src/$KUBE_CMD"/*.json "$1/$KUBE_CMD/"
  chmod -R u+w "$1/$KUBE_CMD"
  # Placeholders so `go mod tidy` can load the package before generation.
  [ -e "$1/$KUBE_CMD/schema-embed.json" ] || echo '{}' >"$1/$KUBE_CMD/schema-embed.json"
  [ -e "$1/$KUBE_CMD/terraform-mapping-embed.json" ] || echo '{}' >"$1/$KUBE_CMD/terraform-mapping-embed.json"
}

gobuild() { # moddir out ldflags-extra pkg
  (cd "$1" && "$GO" build -mod=readonly -trimpath -ldflags "-s -w $3" -o "$2" "$4")
}

# prepare_module, unless a stand-in build (standin.sh), which needs no module.
build_module() { # dir kind [populate]
  if standin_build; then echo "$CACHE/.standin-no-module"; return; fi
  prepare_module "$@"
}

# gobuild, or a stand-in (standin.sh) printing the version the ldflags would stamp.
build_bin() { # moddir out ldflags-extra pkg
  if standin_build; then standin_exec "$2" "${3##*=} (stand-in)"; return; fi
  gobuild "$@"
}

TOTAL0=$SECONDS
TMPS=()
cleanup() { local t; for t in "${TMPS[@]}"; do rm -rf "$t"; done; }
trap cleanup EXIT

# --- pulumi CLI + Node.js language host -------------------------------------------------------
# Layout: bin/pulumi, bin/pulumi-language-nodejs = the Pulumi.yaml options shim
# (langhost-options.sh), libexec/pulumi-language-nodejs = the real host the shim starts.
PULUMI_STAMP="pulumi $PULUMI_VERSION (github.com/pulumi/pulumi/pkg/v3)
pulumi-language-nodejs $LANGHOST_SDK_VERSION (github.com/pulumi/pulumi/sdk/v3/nodejs/cmd/pulumi-language-nodejs)"
HOST=pulumi-language-nodejs
# A cache from before the shim has the real host in bin/ and no libexec/: move it there (the shim
# is installed below). A cold cache has neither, and a current one has the shim in bin/.
if [ -f "$PULUMI_DIR/bin/$HOST" ] && [ ! -e "$PULUMI_DIR/libexec/$HOST" ] &&
  ! grep -qs "langhost-options" "$PULUMI_DIR/bin/$HOST"; then
  log "pulumi $PULUMI_VERSION: moving the language host from bin/ to libexec/ (cache from before the options shim)"
  mkdir -p "$PULUMI_DIR/libexec"
  mv "$PULUMI_DIR/bin/$HOST" "$PULUMI_DIR/libexec/$HOST"
fi
if is_current "$PULUMI_DIR" "$PULUMI_STAMP" pulumi && [ -x "$PULUMI_DIR/libexec/$HOST" ]; then
  log "pulumi $PULUMI_VERSION: cached in $PULUMI_DIR"
else
  need_go
  tmp=$(mktemp -d "$CACHE/.pulumi-$PULUMI_VERSION-XXXXXX"); TMPS+=("$tmp")
  mkdir -p "$tmp/bin" "$tmp/libexec"
  moddir=$(build_module "$CLI_MOD" cli); case $moddir in "$CACHE"/.mod-*) TMPS+=("$moddir") ;; esac
  time_build "pulumi $PULUMI_VERSION" build_bin "$moddir" "$tmp/bin/pulumi" \
    "-X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=$PULUMI_VERSION" \
    github.com/pulumi/pulumi/pkg/v3/cmd/pulumi
  moddir=$(build_module "$LANGHOST_MOD" langhost); case $moddir in "$CACHE"/.mod-*) TMPS+=("$moddir") ;; esac
  time_build "$HOST $LANGHOST_SDK_VERSION" build_bin "$moddir" "$tmp/libexec/$HOST" \
    "-X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=$LANGHOST_SDK_VERSION" \
    github.com/pulumi/pulumi/sdk/v3/nodejs/cmd/pulumi-language-nodejs
  install -m 0755 "$HERE/langhost-options.sh" "$tmp/bin/$HOST"
  log "pulumi version: $("$tmp/bin/pulumi" version)"
  printf '%s\n' "$PULUMI_STAMP" >"$tmp/BUILD-INFO"
  install_dir "$tmp" "$PULUMI_DIR"
fi
# The shim is the repo's file: refreshed when it changed (or after the move above).
cmp -s "$HERE/langhost-options.sh" "$PULUMI_DIR/bin/$HOST" ||
  install -m 0755 "$HERE/langhost-options.sh" "$PULUMI_DIR/bin/$HOST"

# --- Kubernetes provider -------------------------------------------------------------------------
KUBE_STAMP="pulumi-resource-kubernetes $KUBERNETES_PLUGIN_VERSION (github.com/pulumi/pulumi-kubernetes/provider/v4@$KUBERNETES_MODULE_VERSION)"
if is_current "$KUBE_PLUGIN_DIR" "$KUBE_STAMP" pulumi-resource-kubernetes; then
  log "kubernetes $KUBERNETES_PLUGIN_VERSION: cached in $KUBE_PLUGIN_DIR"
else
  need_go
  tmp=$(mktemp -d "$CACHE/.kubernetes-XXXXXX"); TMPS+=("$tmp")
  mkdir -p "$tmp/bin" "$tmp/src"
  moddir=$(build_module "$KUBE_MOD" kube populate_kube); case $moddir in "$CACHE"/.mod-*) TMPS+=("$moddir") ;; esac
  # Writable copy: wrapper go.mod/go.sum + the provider's main package, then generate.
  kube_generate() {
    cp "$moddir/go.mod" "$moddir/go.sum" "$tmp/src/"
    populate_kube "$tmp/src"
    rm -f "$tmp/src/$KUBE_CMD"/*-embed.json
    (cd "$tmp/src/$KUBE_CMD" && VERSION=$KUBERNETES_PLUGIN_VERSION "$GO" run -mod=readonly ./generate.go)
  }
  standin_build || time_build "kubernetes schema generation" kube_generate
  time_build "pulumi-resource-kubernetes $KUBERNETES_PLUGIN_VERSION" build_bin "$tmp/src" \
    "$tmp/bin/pulumi-resource-kubernetes" \
    "-X github.com/pulumi/pulumi-kubernetes/provider/v4/pkg/version.Version=$KUBERNETES_PLUGIN_VERSION" \
    "./$KUBE_CMD"
  rm -rf "$tmp/src"
  printf '%s\n' "$KUBE_STAMP" >"$tmp/BUILD-INFO"
  install_dir "$tmp" "$KUBE_PLUGIN_DIR"
fi

# --- random provider -----------------------------------------------------------------------------
RANDOM_BIN=
if [ -x "$RANDOM_DIR/bin/pulumi-resource-random" ] && [ "$FORCE" = 0 ]; then
  RANDOM_BIN=$RANDOM_DIR/bin
  log "random $RANDOM_VERSION: cached in $RANDOM_DIR"
elif [ -f "$CACHE/.random-$RANDOM_VERSION-unavailable" ] && [ "$FORCE" = 0 ] && [ "$UPDATE" = 0 ]; then
  log "random $RANDOM_VERSION: not buildable here (checked earlier; --force to re-check)"
else
  need_go
  log "random $RANDOM_VERSION: checking github.com/pulumi/pulumi-random/provider/v4@$RANDOM_MODULE_VERSION"
  if (cd "$CACHE" && mod_available "github.com/pulumi/pulumi-random/provider/v4@$RANDOM_MODULE_VERSION"); then
    log "random $RANDOM_VERSION: the provider module is now served; building it needs a wrapper"
    log "  with its shim module (not in the module zip), which this script does not have yet."
  else
    log "random $RANDOM_VERSION: provider module not served by the module proxy; not built."
  fi
  : >"$CACHE/.random-$RANDOM_VERSION-unavailable"
fi

if [ ${#BUILT[@]} -gt 0 ]; then
  log "built:"; for b in "${BUILT[@]}"; do log "  $b"; done
fi
log "done in $((SECONDS - TOTAL0))s"
echo "PULUMI_VERSION=$PULUMI_VERSION"
echo "PULUMI_BIN=$PULUMI_DIR/bin"
echo "KUBERNETES_PLUGIN_VERSION=$KUBERNETES_PLUGIN_VERSION"
echo "KUBERNETES_BIN=$KUBE_PLUGIN_DIR/bin"
echo "RANDOM_BIN=$RANDOM_BIN"
echo "PULUMI_PATH=$PULUMI_DIR/bin:$KUBE_PLUGIN_DIR/bin${RANDOM_BIN:+:$RANDOM_BIN}"
