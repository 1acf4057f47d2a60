#!/usr/bin/env bash
# Sourced (not run) by `npm run test:integration` and `npm run bench`: builds or reuses the test
# bed's tools (cached under ~/.cache/service-mesh-testbed), starts on loopback etcd,
# kube-apiserver, kube-controller-manager, kube-scheduler and KWOK (simulated nodes), arms istiod
# (pilot-discovery starts as soon as the istiod chart's injector config exists), and exports what
# the engine and the TypeScript drivers need. Registers an EXIT trap that stops every process it
# started, even on failure.
#
# Before sourcing, set TB_SESSION (a short name for messages and the work dir). After it:
# WORK (scratch dir, removed on success), KUBECONFIG, IT_WORK_DIR, PATH with the Pulumi CLI and
# kubectl, PULUMI_* for an offline file backend, ISTIO_CHARTS, ISTIO_VERSION, ISTIOCTL,
# ISTIOD_* (webhook URLs, CA bundle, xDS address), TESTBED_XDS, and GATEWAY_API_CRDS (the
# Gateway API standard-channel CRDs as one multi-document YAML file, generated offline by
# build-gateway-api.sh; not applied: a scenario or the stack installs them) with
# GATEWAY_API_VERSION (v1.5.1, the version Istio 1.30 builds against). When the run includes
# the Linkerd scenarios (IT_ONLY unset or naming linkerd): LINKERD_* (build-linkerd.sh's charts,
# controller and probe; linkerd-up.sh's webhook URLs, CA file and gRPC addresses).
#
# IT_KEEP=1 keeps the cluster and istiod running afterwards; it prints how to reach and stop them.
# A scenario may start more istiods, one per revision (istiod-up.sh --revision REV, state in
# $WORK/kube/istiod-REV.*); the EXIT trap's kube-down.sh stops them too.
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
TESTBED=$ROOT/test/testbed
: "${TB_SESSION:?set TB_SESSION before sourcing session.sh}"
cd "$ROOT"

tb_log() { echo "[$TB_SESSION] $*"; }

# Runs test/testbed/$1 and keeps its stdout in TB_OUT. A failed build stops the session here,
# naming the script: `eval "$(bash build-x.sh)"` alone would eval nothing, succeed, and leave the
# failure to a later "unbound variable".
tb_build() {
  local rc=0
  TB_OUT=$(bash "$TESTBED/$1") || rc=$?
  if [ "$rc" -ne 0 ] || [ -z "$TB_OUT" ]; then
    echo "[$TB_SESSION] ERROR: test/testbed/$1 failed (exit $rc; its messages are above); the test bed is not started" >&2
    exit $(( rc == 0 ? 1 : rc ))
  fi
}

start=$(date +%s)
tb_log "building or reusing the test bed's tools"
tb_build build-kube.sh; eval "$TB_OUT"         # KUBE_BIN, ETCD_BIN
export KUBE_BIN ETCD_BIN
tb_build build-kwok.sh; eval "$TB_OUT"         # KWOK_BIN
tb_build build-pulumi.sh; eval "$TB_OUT"       # PULUMI_PATH (CLI, language host, provider plugins)
tb_build build-istio.sh; ISTIO_DIR=${TB_OUT##*$'\n'}  # charts, istioctl, pilot-discovery, testbed-xds
export ISTIO_DIR ISTIO_CHARTS=$ISTIO_DIR/charts ISTIOCTL=$ISTIO_DIR/bin/istioctl
export ISTIO_VERSION=${ISTIO_DIR##*/istio-}
tb_build build-gateway-api.sh; eval "$TB_OUT"  # GATEWAY_API_VERSION, GATEWAY_API_CRDS, CONTROLLER_GEN
export GATEWAY_API_VERSION GATEWAY_API_CRDS
# Linkerd's (scenarios 45-50, IT_ONLY=linkerd): only for a test-bed run that includes them.
TB_LINKERD=0
if [ "$TB_SESSION" = it ] && { [ -z "${IT_ONLY:-}" ] || [[ ",$IT_ONLY," == *,linkerd,* ]]; }; then
  TB_LINKERD=1
  tb_build build-linkerd.sh; eval "$TB_OUT"    # LINKERD_CHARTS, LINKERD_CONTROLLER, LINKERD_PROBE
  export LINKERD_CHARTS LINKERD_CONTROLLER LINKERD_PROBE
fi
tb_log "tools ready after $(( $(date +%s) - start )) s"

WORK=$(mktemp -d "${TMPDIR:-/tmp}/service-mesh-$TB_SESSION.XXXXXX")
tb_cleanup() {
  local rc=$?
  if [ "${IT_KEEP:-0}" = 1 ]; then
    tb_log "IT_KEEP=1: cluster and istiod left running in $WORK/kube"
    tb_log "  export KUBECONFIG=$WORK/kube/kubeconfig; set -a; . $WORK/kube/istiod.env; set +a"
    tb_log "  TESTBED_DIR=$WORK/kube npm run -s testbed:xds -- <namespace>/<pod> routes"
    local f rev
    for f in "$WORK"/kube/istiod-*.env; do
      [ -e "$f" ] || continue
      rev=${f##*/istiod-}; rev=${rev%.env}
      tb_log "  istiod of revision $rev: set -a; . $f; set +a (then testbed:xds without TESTBED_DIR reads it)"
    done
    tb_log "  stop with: bash test/testbed/kube-down.sh --purge $WORK/kube"
    exit "$rc"
  fi
  bash "$TESTBED/kube-down.sh" "$WORK/kube" || true
  if [ "$rc" -ne 0 ]; then
    tb_log "failed; logs kept in $WORK (pulumi.log, kube/*.log)"
    tail -n 40 "$WORK/pulumi.log" 2>/dev/null || true
  else
    rm -rf "$WORK"
  fi
  exit "$rc"
}
trap tb_cleanup EXIT
trap 'exit 130' INT TERM

mkdir -p "$WORK/kube"
bash "$TESTBED/kube-up.sh" "$WORK/kube"
# The network guard first, before any webhook or pod exists (see network-guard.yaml).
"$KUBE_BIN/kubectl" --kubeconfig "$WORK/kube/kubeconfig" apply -f "$TESTBED/network-guard.yaml" >/dev/null
bash "$TESTBED/cluster-up.sh" "$WORK/kube" >/dev/null   # scheduler, KWOK, simulated nodes
# istiod's CA and webhook URLs now (the chart values need them); pilot-discovery itself starts
# as soon as `up` has applied the istiod chart's injector config.
set -a
# shellcheck disable=SC1091
. <(bash "$TESTBED/istiod-up.sh" --when-injector-exists "$WORK/kube")
set +a
export TESTBED_XDS ISTIOD_XDS
# Linkerd's webhook URLs, CA and addresses now (the chart values need them); the Linkerd
# scenarios arm its Go control plane themselves (linkerd-up.sh --when-control-plane-exists), so
# its watcher polls the API server only while they run.
if [ "$TB_LINKERD" = 1 ]; then
  set -a
  # shellcheck disable=SC1091
  . <(bash "$TESTBED/linkerd-up.sh" --certs-only "$WORK/kube")
  set +a
  export LINKERD_UP="$TESTBED/linkerd-up.sh" LINKERD_DIR_KUBE="$WORK/kube"
fi

export KUBECONFIG=$WORK/kube/kubeconfig
export IT_WORK_DIR=$WORK
export PATH=$PULUMI_PATH:$KUBE_BIN:$PATH
export PULUMI_HOME=$WORK/pulumi-home
export PULUMI_BACKEND_URL=file://$WORK/state
export PULUMI_CONFIG_PASSPHRASE=testbed-only
export PULUMI_SKIP_UPDATE_CHECK=true
export PULUMI_SKIP_CONFIRMATIONS=true
export PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION=true
mkdir -p "$WORK/state" "$PULUMI_HOME"
