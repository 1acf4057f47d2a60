#!/usr/bin/env bash
# Generates the Gateway API standard-channel CRDs for the offline test bed from the Go API types
# of the pinned sigs.k8s.io/gateway-api module (no GitHub, no release download), with
# controller-tools' CRD generator used as a library by our generator
# (test/testbed/go/gateway-api-crds). Also builds controller-gen from the same pin.
#
# Usage: test/testbed/build-gateway-api.sh [--update-modules] [--force]
#   --update-modules  rewrite the wrapper module test/testbed/go/gateway-api-crds (go.mod +
#                     go.sum, via go mod tidy) for the versions below, then build
#   --force           rebuild and regenerate even if the cached output is current
#
# Output (cached outside the repo, keyed by version; skipped when present and current):
#   $CACHE/gateway-api-<GATEWAY_API_VERSION>/standard-install.yaml   the CRDs, one multi-doc YAML
#   $CACHE/gateway-api-<GATEWAY_API_VERSION>/bin/{gateway-api-crds,controller-gen}
#   $CACHE/gateway-api-<GATEWAY_API_VERSION>/BUILD-INFO   versions + hash of the generator sources
# with CACHE=${SERVICE_MESH_TESTBED_CACHE:-$HOME/.cache/service-mesh-testbed}.
# Progress goes to stderr; stdout is only NAME=value lines, so callers can do:
#   eval "$(test/testbed/build-gateway-api.sh)"; kubectl apply --server-side -f "$GATEWAY_API_CRDS"
# A warm run needs no Go toolchain. Cold: a few seconds of module downloads, ~1 min of compile
# on 2 cores (empty Go build cache; ~25 s when client-go etc. are already built), ~1 s of
# generation (the generator parses the API packages through `go list`, so generating needs the
# Go toolchain and the module cache, not the network).
#
# For tests only: users get the upstream release manifest
#   https://github.com/kubernetes-sigs/gateway-api/releases/download/<version>/standard-install.yaml
# (or, air-gapped, their own copy of that file); this one must never be shipped in its place.
#
# How it differs from the release's standard-install.yaml. Upstream's hack/build-install-yaml.sh
# concatenates the module's config/crd/standard/gateway*.yaml; for v1.5.1 each generated CRD
# document was compared with those files (read for the comparison only, never copied):
#   - CRDs: byte-identical documents, same set and order: backendtlspolicies, gatewayclasses,
#     gateways, grpcroutes, httproutes, listenersets, referencegrants, tlsroutes
#     (.gateway.networking.k8s.io): same schemas, descriptions, CEL rules, versions and
#     served/storage flags (alpha versions present, not served), deprecation warnings, printer
#     columns, annotations (bundle-version v1.5.1, channel standard, api-approved) and the
#     release's trailing `status:` stanza.
#   - Missing: the ValidatingAdmissionPolicy + Binding "safe-upgrades.gateway.networking.k8s.io"
#     (hand-written upstream, not derived from Go types; it refuses experimental CRDs over
#     standard ones and bundle versions below v1.5.0). The test bed does not need it; users get
#     it with the release file.
#   - Comments only: the release opens with the Kubernetes Authors' license boilerplate and puts
#     "# config/crd/standard/<file>" before each document; this file has its own header saying
#     what it is and "# <crd name>" before each document. Comments never reach the cluster.
# Standard-channel rules (go/gateway-api-crds/main.go): kinds with a non-alpha version; fields
# marked <gateway:experimental> dropped; <gateway:standard:validation:...> applied,
# <gateway:experimental:validation:...> not; <gateway:...> description markup removed.
#
# Version choice: Istio 1.30 builds against Gateway API v1.5.1 (istio.io/istio's go.mod), and
# the module's pkg/consts.BundleVersion is v1.5.1 (checked at generation). controller-tools
# v0.20.1 is the release built on the Kubernetes 0.35 libraries, like gateway-api v1.5.1
# (k8s.io/apimachinery v0.35.1), so the API types are type-checked against the apimachinery
# they were written for. The proxy here also serves v0.20.0 and v0.21.0-v0.23.0 (Kubernetes
# 0.36/0.37 libraries, go 1.26); none answered 403, and v0.21.0 and v0.23.0 were tried with the
# same generator: byte-identical output.
set -euo pipefail

GATEWAY_API_VERSION=v1.5.1
CONTROLLER_TOOLS_VERSION=v0.20.1

export GOFLAGS=-buildvcs=false
export GOTOOLCHAIN=local
export CGO_ENABLED=0

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
CACHE=${SERVICE_MESH_TESTBED_CACHE:-$HOME/.cache/service-mesh-testbed}
GWAPI_DIR=$CACHE/gateway-api-$GATEWAY_API_VERSION
GWAPI_MOD=$HERE/go/gateway-api-crds
CRDS=$GWAPI_DIR/standard-install.yaml

TB_NAME=build-gateway-api
# shellcheck source=common.sh
source "$HERE/common.sh"
parse_build_args "${BASH_SOURCE[0]}" 2,26 "$@"

gen_gomod() {
  cat <<EOF
// Wrapper module: generates the Gateway API standard-channel CRDs from the API types of
// sigs.k8s.io/gateway-api with controller-tools' CRD generator (main.go), and builds
// controller-gen, for the test bed.
// Written by test/testbed/build-gateway-api.sh --update-modules (go mod tidy); the versions
// are pinned there.
module servicemesh.local/testbed/gateway-api-crds

go 1.25.0

require (
	sigs.k8s.io/controller-tools $CONTROLLER_TOOLS_VERSION
	sigs.k8s.io/gateway-api $GATEWAY_API_VERSION
)

tool sigs.k8s.io/controller-tools/cmd/controller-gen
EOF
}

# The cache entry is current when its BUILD-INFO names these versions and the generator's
# sources as they are now (a change to main.go or the module regenerates the CRDs).
stamp() {
  echo "gateway-api $GATEWAY_API_VERSION (sigs.k8s.io/gateway-api), standard channel"
  echo "controller-tools $CONTROLLER_TOOLS_VERSION (sigs.k8s.io/controller-tools)"
  echo "generator $(cat "$GWAPI_MOD/main.go" "$GWAPI_MOD/go.mod" "$GWAPI_MOD/go.sum" | sha256sum | cut -c1-16)"
}
is_current() {
  [ "$FORCE" = 0 ] && [ "$UPDATE" = 0 ] && [ -s "$CRDS" ] \
    && [ -x "$GWAPI_DIR/bin/gateway-api-crds" ] && [ -x "$GWAPI_DIR/bin/controller-gen" ] \
    && [ -f "$GWAPI_DIR/BUILD-INFO" ] && [ "$(cat "$GWAPI_DIR/BUILD-INFO")" = "$(stamp)" ]
}

if is_current; then
  log "gateway-api $GATEWAY_API_VERSION: cached in $GWAPI_DIR"
else
  lock_cache
  rm -rf "$CACHE"/.gateway-api-v*   # leftovers of an interrupted run (safe under the lock)
  need_go
  if [ "$UPDATE" = 1 ]; then
    gen_gomod >"$GWAPI_MOD/go.mod"; rm -f "$GWAPI_MOD/go.sum"
    (cd "$GWAPI_MOD" && GOFLAGS=-mod=mod "$GO" mod tidy >&2)
    log "updated $GWAPI_MOD/go.mod and go.sum"
  fi
  for pin in "sigs.k8s.io/gateway-api $GATEWAY_API_VERSION" "sigs.k8s.io/controller-tools $CONTROLLER_TOOLS_VERSION"; do
    grep -qE "^[[:space:]]*(require )?$pin( |$)" "$GWAPI_MOD/go.mod" || {
      echo "build-gateway-api.sh: $GWAPI_MOD/go.mod does not require $pin;" \
        "run test/testbed/build-gateway-api.sh --update-modules" >&2
      exit 1
    }
  done
  TOTAL0=$SECONDS
  tmp=$(mktemp -d "$CACHE/.gateway-api-$GATEWAY_API_VERSION-XXXXXX")
  trap 'rm -rf "$tmp"' EXIT
  mkdir -p "$tmp/bin"; chmod 755 "$tmp"
  if standin_build; then
    # The generator stand-in writes one placeholder CRD document to -out.
    time_build "gateway-api-crds + controller-gen $CONTROLLER_TOOLS_VERSION (stand-in)" standin_script \
      "$tmp/bin/gateway-api-crds" 'while [ $# -gt 0 ]; do [ "$1" = -out ] && out=$2; shift; done
printf "%s\n" "# stand-in, not the Gateway API CRDs" "kind: CustomResourceDefinition" >"$out"'
    standin_exec "$tmp/bin/controller-gen" "Version: $CONTROLLER_TOOLS_VERSION (stand-in)"
  else
    # shellcheck disable=SC2016 # expanded by the inner bash
    time_build "gateway-api-crds + controller-gen $CONTROLLER_TOOLS_VERSION" \
      bash -c 'cd "$1" && "$2" build -mod=readonly -trimpath -ldflags "-s -w" -o "$3/" . sigs.k8s.io/controller-tools/cmd/controller-gen' \
      _ "$GWAPI_MOD" "$GO" "$tmp/bin"
  fi
  for b in gateway-api-crds controller-gen; do
    [ -x "$tmp/bin/$b" ] || { echo "build-gateway-api.sh: the build did not produce $b" >&2; exit 1; }
  done

  # The generator loads the API packages with `go list` from the wrapper module (the go on PATH
  # is the one that resolves them; -mod=readonly: the committed go.sum pins every source).
  log "generating the standard-channel CRDs from sigs.k8s.io/gateway-api@$GATEWAY_API_VERSION ..."
  t0=$SECONDS
  (cd "$GWAPI_MOD" && PATH="$(dirname "$GO"):$PATH" GOFLAGS="-buildvcs=false -mod=readonly" \
    "$tmp/bin/gateway-api-crds" -out "$tmp/standard-install.yaml" -bundle-version "$GATEWAY_API_VERSION")
  n=$(grep -c '^kind: CustomResourceDefinition$' "$tmp/standard-install.yaml") || true
  [ "${n:-0}" -gt 0 ] || { echo "build-gateway-api.sh: no CRDs generated" >&2; exit 1; }
  log "generated $n CRDs in $((SECONDS - t0))s ($(wc -c <"$tmp/standard-install.yaml") bytes)"

  stamp >"$tmp/BUILD-INFO"
  rm -rf "$GWAPI_DIR.old"
  [ ! -e "$GWAPI_DIR" ] || mv -T "$GWAPI_DIR" "$GWAPI_DIR.old"
  mv -T "$tmp" "$GWAPI_DIR"
  rm -rf "$GWAPI_DIR.old"
  trap - EXIT
  log "done in $((SECONDS - TOTAL0))s"
fi

echo "GATEWAY_API_VERSION=$GATEWAY_API_VERSION"
echo "GATEWAY_API_CRDS=$CRDS"
echo "CONTROLLER_GEN=$GWAPI_DIR/bin/controller-gen"
