#!/usr/bin/env bash
# Builds the KWOK controller (sigs.k8s.io/kwok, cmd/kwok) from Go modules: it plays kubelet for
# fake Nodes (status, heartbeat, lease) and for the pods bound to them (IPs, container states,
# Ready), following the Stage objects in test/testbed/kwok-stages.yaml. Used by cluster-up.sh.
#
# Usage: test/testbed/build-kwok.sh [--update-modules] [--force]
#   --update-modules  rewrite the wrapper module test/testbed/go/kwok (go.mod + go.sum, via
#                     go mod tidy) for KWOK_VERSION below, then build
#   --force           rebuild even if the cached binary exists
#
# Output (cached outside the repo, keyed by version; skipped when present):
#   $CACHE/kwok-<KWOK_VERSION>/bin/kwok
# with CACHE=${SERVICE_MESH_TESTBED_CACHE:-$HOME/.cache/service-mesh-testbed}.
# Progress goes to stderr; stdout is only KWOK_VERSION= and KWOK_BIN= lines, so callers can do:
#   eval "$(test/testbed/build-kwok.sh)"
# A warm run needs no Go toolchain. Cold: ~1 min of downloads, ~3-4 min of compile on 2 cores
# (less when client-go etc. are already in the Go build cache).
#
# Version choice: the module proxy serves v0.6.1, v0.7.0 and v0.8.0. v0.8.0 needs Go 1.26 and
# client-go v0.36; v0.7.0 (client-go v0.33, go 1.24) builds with the local toolchain and has no
# replace directives, so the wrapper only requires it and names cmd/kwok as a tool. Its version
# string is a constant in the module (sigs.k8s.io/kwok/pkg/consts.Version), nothing to stamp.
set -euo pipefail

KWOK_VERSION=v0.7.0

export GOFLAGS=-buildvcs=false
export CGO_ENABLED=0

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
CACHE=${SERVICE_MESH_TESTBED_CACHE:-$HOME/.cache/service-mesh-testbed}
KWOK_DIR=$CACHE/kwok-$KWOK_VERSION
KWOK_MOD=$HERE/go/kwok

TB_NAME=build-kwok
# shellcheck source=common.sh
source "$HERE/common.sh"
parse_build_args "${BASH_SOURCE[0]}" 2,22 "$@"

gen_gomod() {
  cat <<EOF
// Wrapper module: builds the KWOK controller (sigs.k8s.io/kwok/cmd/kwok) for the test bed's
// "control plane in the loop" (fake nodes and pod lifecycles without a kubelet).
// Written by test/testbed/build-kwok.sh --update-modules (go mod tidy); the version is
// pinned there.
module servicemesh.local/testbed/kwok

go 1.24.0

require sigs.k8s.io/kwok $KWOK_VERSION

tool sigs.k8s.io/kwok/cmd/kwok
EOF
}

if [ "$FORCE" = 0 ] && [ "$UPDATE" = 0 ] && [ -x "$KWOK_DIR/bin/kwok" ]; then
  log "kwok $KWOK_VERSION: cached in $KWOK_DIR"
else
  lock_cache
  rm -rf "$CACHE"/.kwok-v*   # leftovers of an interrupted run (safe under the lock)
  need_go
  if [ "$UPDATE" = 1 ]; then
    gen_gomod >"$KWOK_MOD/go.mod"; rm -f "$KWOK_MOD/go.sum"
    (cd "$KWOK_MOD" && GOFLAGS=-mod=mod "$GO" mod tidy >&2)
    log "updated $KWOK_MOD/go.mod and go.sum"
  fi
  grep -qE "^[[:space:]]*(require )?sigs.k8s.io/kwok $KWOK_VERSION( |$)" "$KWOK_MOD/go.mod" || {
    echo "build-kwok.sh: $KWOK_MOD/go.mod does not require sigs.k8s.io/kwok $KWOK_VERSION;" \
      "run test/testbed/build-kwok.sh --update-modules" >&2
    exit 1
  }
  TOTAL0=$SECONDS
  tmp=$(mktemp -d "$CACHE/.kwok-$KWOK_VERSION-XXXXXX")
  trap 'rm -rf "$tmp"' EXIT
  mkdir -p "$tmp/bin"; chmod 755 "$tmp"
  if standin_build; then
    time_build "kwok $KWOK_VERSION (stand-in)" standin_exec "$tmp/bin/kwok" "kwok version $KWOK_VERSION (stand-in)"
  else
    # shellcheck disable=SC2016 # expanded by the inner bash
    time_build "kwok $KWOK_VERSION" \
      bash -c 'cd "$1" && "$2" build -mod=readonly -trimpath -ldflags "-s -w" -o "$3" sigs.k8s.io/kwok/cmd/kwok' \
      _ "$KWOK_MOD" "$GO" "$tmp/bin/kwok"
  fi
  "$tmp/bin/kwok" --version >&2 || true
  rm -rf "$KWOK_DIR"
  mv -T "$tmp" "$KWOK_DIR"
  trap - EXIT
  log "done in $((SECONDS - TOTAL0))s"
fi

echo "KWOK_VERSION=$KWOK_VERSION"
echo "KWOK_BIN=$KWOK_DIR/bin"
