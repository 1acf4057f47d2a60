#!/usr/bin/env bash
# Builds the Istio part of the offline test bed from Go modules only (no Helm repo,
# no GitHub):
#
#   $CACHE/istio-$ISTIO_VERSION/charts/{base,istiod,gateway,cni,ztunnel}
#       the Helm charts embedded in istio.io/istio/manifests, laid out like the
#       published chart repo (point helm / helm.v3.Release `chart:` at a subdir)
#   $CACHE/istio-$ISTIO_VERSION/bin/istioctl
#   $CACHE/istio-$ISTIO_VERSION/bin/pilot-discovery   istiod's binary, run out of cluster by
#       test/testbed/istiod-up.sh (control plane in the loop)
#   $CACHE/istio-$ISTIO_VERSION/bin/testbed-xds       our xDS reader (go/istio-charts/xds):
#       prints the Envoy config istiod computes for one pod as JSON
#
# CACHE defaults to $HOME/.cache/service-mesh-testbed (SERVICE_MESH_TESTBED_CACHE).
# Each piece is skipped when already present, so a warm run takes seconds.
# Cold run: about 1 min of downloads (module cache ~1 GB) plus istioctl's compile
# (many minutes on 2 cores).
#
# Version pinning: Istio tags have no "v" (1.30.4) and the Go proxy resolves
# them to pseudo-versions. The module proxy this test bed uses does not resolve
# the tags at all (403), so the pseudo-version is pinned here and in
# go/istio-charts/go.mod: v0.0.0-20260826214018-9739e10eb9d7 is the release-1.30
# commit cut for 1.30.4 (released 2026-08-27; it requires client-go at the
# v1.30.4 tag commit and carries the 1.30.4 fixes). Four dependencies the proxy
# refuses are replaced in go.mod (see the comment there); the charts are not
# affected by that, istioctl is built against istio.io/api v1.30.3.
#
# Chart placeholders rewritten the way Istio's release-builder does on publish:
#   Chart.yaml  version/appVersion 1.0.0            -> $ISTIO_VERSION
#   values.yaml hub: registry.istio.io/testing      -> $ISTIO_CHART_HUB
#               tag: latest                         -> $ISTIO_VERSION
# (istiod, cni and ztunnel values; base and gateway have no image defaults.)
# Still pass global.hub/global.tag explicitly when installing.
set -euo pipefail

ISTIO_VERSION="1.30.4"
ISTIO_MODULE_VERSION="v0.0.0-20260826214018-9739e10eb9d7" # must match go/istio-charts/go.mod
ISTIO_CHART_HUB="${ISTIO_CHART_HUB:-registry.istio.io/release}" # 1.30's published default hub

CACHE="${SERVICE_MESH_TESTBED_CACHE:-$HOME/.cache/service-mesh-testbed}"
DEST="$CACHE/istio-$ISTIO_VERSION"
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
MOD_DIR="$HERE/go/istio-charts"

export PATH="$PATH:/usr/local/go/bin"
export GOFLAGS=-buildvcs=false
export CGO_ENABLED=0
export GOTOOLCHAIN="${GOTOOLCHAIN:-local}"
export CI="${CI:-true}"

log() { printf '[build-istio %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }
# shellcheck source=standin.sh
source "$HERE/standin.sh"

if standin_build; then
  log "stand-in build (TESTBED_STANDIN_BUILD=1): no Go toolchain"
  go() { die "go $* in a stand-in build"; }
  goenv() { echo standin; }
else
  command -v go >/dev/null || die "go not found (expected /usr/local/go/bin/go)"
  goenv() { go env "$1"; }
fi
grep -q "istio.io/istio $ISTIO_MODULE_VERSION" "$MOD_DIR/go.mod" \
  || die "$MOD_DIR/go.mod does not require istio.io/istio $ISTIO_MODULE_VERSION"

mkdir -p "$DEST"
DEST="$(cd "$DEST" && pwd)" # absolute: go build -C changes directory
TMP="$(mktemp -d "$DEST/.tmp.XXXXXX")"
trap 'rm -rf "$TMP"' EXIT

T0=$SECONDS
step_start() { STEP_T=$SECONDS; log "$1 ..."; }
step_done() { log "$1 done in $((SECONDS - STEP_T))s"; }

# go -C runs inside the wrapper module, so its go.mod/go.sum (with replaces) apply.
gobuild() {
  if standin_build; then istio_standin "$@"; return; fi
  go build -C "$MOD_DIR" -mod=readonly -trimpath "$@"
}

# A stand-in for `gobuild ... -o OUT PKG` (standin.sh): the chart writer's writes Chart.yaml files
# with the -version it is given; the binaries print the version line their checks below expect.
istio_standin() {
  local out="" pkg=${!#}
  while [ $# -gt 0 ]; do [ "$1" = -o ] && out=$2; shift; done
  case $pkg in
    .) standin_script "$out" 'while [ $# -gt 0 ]; do case $1 in -out) o=$2 ;; -version) v=$2 ;; esac; shift; done
for c in base istiod gateway cni ztunnel; do
  mkdir -p "$o/$c" && printf "name: %s\nversion: %s\n" "$c" "$v" >"$o/$c/Chart.yaml"
done' ;;
    */istioctl) standin_exec "$out" "client version: $ISTIO_VERSION" ;;
    *) standin_exec "$out" "$ISTIO_VERSION" ;;
  esac
}

# Version stamp shared by istioctl, pilot-discovery and testbed-xds (as Istio's release build).
V=istio.io/istio/pkg/version
VERSION_LDFLAGS="-s -w \
 -X $V.buildVersion=$ISTIO_VERSION \
 -X $V.buildGitRevision=${ISTIO_MODULE_VERSION##*-} \
 -X $V.buildTag=$ISTIO_VERSION \
 -X $V.buildStatus=Clean \
 -X $V.buildHub=$ISTIO_CHART_HUB \
 -X $V.buildOS=$(goenv GOOS) \
 -X $V.buildArch=$(goenv GOARCH)"

# --- charts ------------------------------------------------------------------
charts_ok() {
  local c
  for c in base istiod gateway cni ztunnel; do
    grep -qx "version: $ISTIO_VERSION" "$DEST/charts/$c/Chart.yaml" 2>/dev/null || return 1
  done
}
if charts_ok; then
  log "charts present: $DEST/charts"
else
  step_start "writing charts (istio.io/istio@$ISTIO_MODULE_VERSION)"
  gobuild -ldflags '-s -w' -o "$TMP/istio-charts" .
  "$TMP/istio-charts" -out "$TMP/charts" -version "$ISTIO_VERSION" -hub "$ISTIO_CHART_HUB" >&2
  rm -rf "$DEST/charts.old"
  [ -e "$DEST/charts" ] && mv "$DEST/charts" "$DEST/charts.old"
  mv "$TMP/charts" "$DEST/charts"
  rm -rf "$DEST/charts.old"
  step_done "charts"
fi

# --- istioctl ----------------------------------------------------------------
istioctl_ok() {
  [ -x "$DEST/bin/istioctl" ] \
    && "$DEST/bin/istioctl" version --remote=false 2>/dev/null | grep -qx "client version: $ISTIO_VERSION"
}
if istioctl_ok; then
  log "istioctl present: $DEST/bin/istioctl"
else
  step_start "building istioctl $ISTIO_VERSION (long on 2 cores)"
  gobuild -ldflags "$VERSION_LDFLAGS" -o "$TMP/istioctl" istio.io/istio/istioctl/cmd/istioctl
  mkdir -p "$DEST/bin"
  mv -f "$TMP/istioctl" "$DEST/bin/istioctl"
  step_done "istioctl"
fi

# --- pilot-discovery (istiod) and testbed-xds -----------------------------------
# Same module graph and version stamp as istioctl; most packages are shared, so with istioctl
# built these take a minute or two more. A binary is rebuilt when its version differs.
stamped() { # binary version-args... -> true if it reports $ISTIO_VERSION
  local b=$1; shift
  [ -x "$b" ] && "$b" "$@" 2>/dev/null | grep -qxE "(client version: )?$ISTIO_VERSION"
}
if stamped "$DEST/bin/pilot-discovery" version -s; then
  log "pilot-discovery present: $DEST/bin/pilot-discovery"
else
  step_start "building pilot-discovery $ISTIO_VERSION"
  gobuild -ldflags "$VERSION_LDFLAGS" -o "$TMP/pilot-discovery" istio.io/istio/pilot/cmd/pilot-discovery
  mkdir -p "$DEST/bin"
  mv -f "$TMP/pilot-discovery" "$DEST/bin/pilot-discovery"
  step_done "pilot-discovery"
fi
# testbed-xds is our own code: rebuilt whenever its source is newer than the binary.
if stamped "$DEST/bin/testbed-xds" --version && [ -z "$(find "$MOD_DIR/xds" "$MOD_DIR/go.mod" "$MOD_DIR/go.sum" -newer "$DEST/bin/testbed-xds" 2>/dev/null)" ]; then
  log "testbed-xds present: $DEST/bin/testbed-xds"
else
  step_start "building testbed-xds"
  gobuild -ldflags "$VERSION_LDFLAGS" -o "$TMP/testbed-xds" ./xds
  mkdir -p "$DEST/bin"
  mv -f "$TMP/testbed-xds" "$DEST/bin/testbed-xds"
  step_done "testbed-xds"
fi

log "$("$DEST/bin/istioctl" version --remote=false)"
log "ready in $((SECONDS - T0))s: $DEST ($(du -sh "$DEST" | cut -f1))"
echo "$DEST"
