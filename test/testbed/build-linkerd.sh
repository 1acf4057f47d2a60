#!/usr/bin/env bash
# Builds the Linkerd part of the offline test bed from the vendored Linkerd edge-26.8.3
# (../shared/vendor/linkerd-edge-26.8.3 beside the repo, else /work/shared/vendor/..., read-only;
# $LINKERD_VENDOR overrides) and the Go
# module proxy: Linkerd's Go control plane, run out of cluster on loopback by
# test/testbed/linkerd-up.sh, our probe of it, and the Helm charts with a test-bed-only patch.
#
# Usage: test/testbed/build-linkerd.sh [--force]
#   --force   rebuild and re-copy everything even if cached
#
# Output (cached outside the repo; each piece skipped when present, a warm run takes seconds
# and needs no Go toolchain), with CACHE=${SERVICE_MESH_TESTBED_CACHE:-$HOME/.cache/service-mesh-testbed}:
#   $CACHE/linkerd-edge-26.8.3/src/             the vendored Go source with the patches below
#   $CACHE/linkerd-edge-26.8.3/bin/controller   `go build ./controller/cmd`: subcommands
#       destination, identity, proxy-injector, sp-validator (and heartbeat), version-stamped
#   $CACHE/linkerd-edge-26.8.3/bin/linkerd-probe  our client (test/testbed/go/linkerd-probe):
#       identity Certify and destination Get, printed as JSON
#   $CACHE/linkerd-edge-26.8.3/charts/{linkerd-crds,linkerd-control-plane,linkerd-viz}
# Progress goes to stderr; stdout is only KEY=VALUE lines (LINKERD_VERSION, LINKERD_DIR,
# LINKERD_CHARTS, LINKERD_CONTROLLER, LINKERD_PROBE), so callers can do
#   eval "$(test/testbed/build-linkerd.sh)"
# Cold (2 cores, modules already downloaded): the controller 10 min with an empty Go build
# cache (1.4 GB of it), 25 s when the cache holds its dependencies (client-go etc., e.g. from
# another build of the same module graph); the probe 65 s alone, 1 s after the controller (it
# shares gRPC/protobuf); the charts a second. A first download of the modules adds ~1 GB.
#
# Source patch (test bed only, applied with sed to the copy in the cache; the build fails if it
# no longer applies):
#   pkg/k8s/labels.go  MountPathBase "/var/run/linkerd" -> "var/run/linkerd" (relative). In a
#     pod the components read their mounted files under /var/run/linkerd: the injector's and
#     sp-validator's serving cert tls/tls.{crt,key}, the injector's config/values (ConfigMap
#     linkerd-config) and identity/trust-roots/ca-bundle.crt (identity and the injector). Out
#     of cluster each process reads them under its own working directory instead
#     (linkerd-up.sh lays out DIR/linkerd/<component>/var/run/linkerd/...), so several test
#     beds can run side by side and nothing is written to the host's /var/run.
#   The only other absolute path these components read is identity's issuer directory
#     (-issuer, default /var/run/linkerd/identity/issuer): linkerd-up.sh passes the flag, no
#     patch. In-cluster defaults (service account token, in-cluster config) are never used:
#     every component gets -kubeconfig.
#
# Chart patch (test bed only; applied with awk to the cache copy; a marker holding a hash of the
# patch code makes a changed patch re-copy the charts):
#   The webhook configurations name a Service in clientConfig, which the test bed's API server
#   refuses (test/testbed/network-guard.yaml): the Service's endpoints are simulated pods.
#   Each now renders `url: <value>` instead of the `service:` block when the value is set,
#   and is unchanged otherwise:
#     linkerd-control-plane  testbedWebhookURLs.proxyInjector    linkerd-proxy-injector-webhook-config
#                            testbedWebhookURLs.profileValidator linkerd-sp-validator-webhook-config
#                            testbedWebhookURLs.policyValidator  linkerd-policy-validator-webhook-config
#     linkerd-viz            testbedWebhookURLs.tapInjector      linkerd-tap-injector-webhook-config
#   The caBundle still comes from proxyInjector.caBundle / profileValidator.caBundle /
#   policyValidator.caBundle / tapInjector.caBundle (PEM text), as upstream. Note that
#   linkerd-viz also has an APIService (v1alpha1.tap.linkerd.io) naming a Service, which the
#   network guard refuses too; it is not patched (an APIService cannot take a URL).
set -euo pipefail

LINKERD_VERSION=edge-26.8.3

export GOFLAGS=-buildvcs=false
export CGO_ENABLED=0
export GOTOOLCHAIN="${GOTOOLCHAIN:-local}"

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
CACHE=${SERVICE_MESH_TESTBED_CACHE:-$HOME/.cache/service-mesh-testbed}
# The team's shared folder sits beside the project (../shared from the repo root); a clone
# elsewhere (CI's fresh clone) finds it at /work/shared.
if [ -z "${LINKERD_VENDOR:-}" ]; then
  for LINKERD_VENDOR in "$HERE/../../../shared/vendor/linkerd-$LINKERD_VERSION" \
    "/work/shared/vendor/linkerd-$LINKERD_VERSION"; do
    [ -d "$LINKERD_VENDOR" ] && break
  done
fi
VENDOR=$LINKERD_VENDOR
LINKERD_DIR=$CACHE/linkerd-$LINKERD_VERSION
PROBE_MOD=$HERE/go/linkerd-probe
CHARTS=(linkerd-crds linkerd-control-plane linkerd-viz)

TB_NAME=build-linkerd
# shellcheck source=common.sh
source "$HERE/common.sh"
parse_build_args "${BASH_SOURCE[0]}" 7,9 "$@"
[ "$UPDATE" = 0 ] || { echo "build-linkerd.sh: unknown argument: --update-modules" >&2; exit 2; }
die() { log "ERROR: $*"; exit 1; }

# --- patches -------------------------------------------------------------------------------------
patch_src() { # dir: the copy of src/
  local f=$1/pkg/k8s/labels.go
  sed -i 's|^\(\s*MountPathBase = \)"/var/run/linkerd"$|\1"var/run/linkerd"|' "$f"
  grep -qE '^\s*MountPathBase = "var/run/linkerd"$' "$f" || die "source patch no longer applies: $f"
}

# patch_webhook FILE SERVICE KEY: in FILE, the clientConfig `service:` block naming SERVICE
# becomes `url: .Values.testbedWebhookURLs.KEY` when that value is set.
patch_webhook() {
  local f=$1 svc=$2 key=$3 n
  awk -v svc="$svc" -v key="$key" '
    pending != "" {
      if ($0 == "      name: " svc) {
        print "    {{- if index (.Values.testbedWebhookURLs | default dict) \"" key "\" }}"
        print "    url: {{ index .Values.testbedWebhookURLs \"" key "\" | quote }}"
        print "    {{- else }}"
        print pending; inblock = 1; n++
      } else print pending
      pending = ""
    }
    inblock && /^      path: / { print; print "    {{- end }}"; inblock = 0; next }
    $0 == "    service:" && !inblock { pending = $0; next }
    { print }
    END { if (n != 1) exit 3 }
  ' "$f" >"$f.new" || die "chart patch no longer applies: $f (service $svc)"
  mv "$f.new" "$f"
  n=$(grep -c "testbedWebhookURLs \"$key\"" "$f" || true)
  [ "$n" = 1 ] || die "chart patch no longer applies: $f (service $svc)"
}

patch_charts() { # dir holding the chart copies
  local t=$1
  patch_webhook "$t/linkerd-control-plane/templates/proxy-injector-rbac.yaml" linkerd-proxy-injector proxyInjector
  patch_webhook "$t/linkerd-control-plane/templates/destination-rbac.yaml" linkerd-sp-validator profileValidator
  patch_webhook "$t/linkerd-control-plane/templates/destination-rbac.yaml" linkerd-policy-validator policyValidator
  patch_webhook "$t/linkerd-viz/templates/tap-injector-rbac.yaml" tap-injector tapInjector
}

# Markers: the patch code's hash, so a changed patch means a new copy (and a new build).
SRC_MARK="$LINKERD_VERSION $(declare -f patch_src | sha256sum | cut -c1-16)"
CHARTS_MARK="$LINKERD_VERSION $(declare -f patch_charts patch_webhook | sha256sum | cut -c1-16)"
marked() { [ "$(cat "$1" 2>/dev/null)" = "$2" ]; }

src_ok() { [ "$FORCE" = 0 ] && marked "$LINKERD_DIR/src/.testbed-patch" "$SRC_MARK"; }
controller_ok() {
  [ "$FORCE" = 0 ] && [ -x "$LINKERD_DIR/bin/controller" ] && src_ok \
    && marked "$LINKERD_DIR/bin/.controller-src" "$SRC_MARK"
}
probe_ok() {
  [ "$FORCE" = 0 ] && [ -x "$LINKERD_DIR/bin/linkerd-probe" ] \
    && [ -z "$(find "$PROBE_MOD" -newer "$LINKERD_DIR/bin/linkerd-probe" 2>/dev/null)" ]
}
charts_ok() {
  [ "$FORCE" = 0 ] && marked "$LINKERD_DIR/charts/.testbed-patch" "$CHARTS_MARK" || return 1
  local c
  for c in "${CHARTS[@]}"; do [ -f "$LINKERD_DIR/charts/$c/Chart.yaml" ] || return 1; done
}

if src_ok && controller_ok && probe_ok && charts_ok; then
  log "linkerd $LINKERD_VERSION: cached in $LINKERD_DIR"
else
  lock_cache
  # A stand-in build (standin.sh) reads nothing vendored: empty source, charts with a Chart.yaml.
  if ! standin_build && { [ ! -d "$VENDOR/src" ] || [ ! -d "$VENDOR/charts" ]; }; then
    die "no vendored Linkerd at $VENDOR (src/, charts/)"
  fi
  mkdir -p "$LINKERD_DIR/bin"
  rm -rf "$LINKERD_DIR"/.tmp.*   # leftovers of an interrupted run (safe under the lock)
  tmp=$(mktemp -d "$LINKERD_DIR/.tmp.XXXXXX")
  trap 'rm -rf "$tmp"' EXIT
  TOTAL0=$SECONDS

  if ! src_ok; then
    log "copying the source to $LINKERD_DIR/src and patching it"
    if standin_build; then
      mkdir -p "$tmp/src"
    else
      cp -r "$VENDOR/src" "$tmp/src"
      chmod -R u+w "$tmp/src"
      patch_src "$tmp/src"
    fi
    echo "$SRC_MARK" >"$tmp/src/.testbed-patch"
    rm -rf "$LINKERD_DIR/src"
    mv "$tmp/src" "$LINKERD_DIR/src"
  fi

  if ! controller_ok; then
    need_go
    if standin_build; then
      time_build "controller (stand-in)" standin_exec "$tmp/controller" "$LINKERD_VERSION"
    else
      # Built in place ($LINKERD_DIR/src: a stable path, so the Go build cache serves a rebuild).
      time_build "controller $LINKERD_VERSION" \
        bash -c 'cd "$1" && "$2" build -mod=readonly -ldflags "-s -w -X github.com/linkerd/linkerd2/pkg/version.Version=$3" -o "$4" ./controller/cmd' \
        _ "$LINKERD_DIR/src" "$GO" "$LINKERD_VERSION" "$tmp/controller"
    fi
    mv -f "$tmp/controller" "$LINKERD_DIR/bin/controller"
    echo "$SRC_MARK" >"$LINKERD_DIR/bin/.controller-src"
  fi

  if ! probe_ok; then
    need_go
    if standin_build; then
      time_build "linkerd-probe (stand-in)" standin_exec "$tmp/linkerd-probe" "linkerd-probe (stand-in)"
    else
      time_build "linkerd-probe" \
        bash -c 'cd "$1" && "$2" build -mod=readonly -ldflags "-s -w" -o "$3" .' \
        _ "$PROBE_MOD" "$GO" "$tmp/linkerd-probe"
    fi
    mv -f "$tmp/linkerd-probe" "$LINKERD_DIR/bin/linkerd-probe"
  fi

  if ! charts_ok; then
    log "copying the charts (${CHARTS[*]}) to $LINKERD_DIR/charts and patching them"
    mkdir -p "$tmp/charts"
    if standin_build; then
      for c in "${CHARTS[@]}"; do
        mkdir -p "$tmp/charts/$c"; printf 'name: %s\nversion: 2026.8.3\n' "$c" >"$tmp/charts/$c/Chart.yaml"
      done
    else
      for c in "${CHARTS[@]}"; do cp -r "$VENDOR/charts/$c" "$tmp/charts/$c"; done
      chmod -R u+w "$tmp/charts"
      patch_charts "$tmp/charts"
    fi
    echo "$CHARTS_MARK" >"$tmp/charts/.testbed-patch"
    rm -rf "$LINKERD_DIR/charts"
    mv "$tmp/charts" "$LINKERD_DIR/charts"
  fi
  [ ${#BUILT[@]} -eq 0 ] || log "built: ${BUILT[*]}"
  log "done in $((SECONDS - TOTAL0))s"
fi

echo "LINKERD_VERSION=$LINKERD_VERSION"
echo "LINKERD_DIR=$LINKERD_DIR"
echo "LINKERD_CHARTS=$LINKERD_DIR/charts"
echo "LINKERD_CONTROLLER=$LINKERD_DIR/bin/controller"
echo "LINKERD_PROBE=$LINKERD_DIR/bin/linkerd-probe"
