#!/usr/bin/env bash
# `npm run test:integration`: the local test bed. Builds whatever is missing (cached under
# ~/.cache/service-mesh-testbed), starts etcd + kube-apiserver + kube-controller-manager on
# loopback, runs the scenarios of test/integration/scenarios.ts with the real Pulumi engine, and
# stops every process it started, even on failure.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
TESTBED=$ROOT/test/testbed
cd "$ROOT"

start=$(date +%s)
echo "[it] building or reusing the test bed's tools"
eval "$(bash "$TESTBED/build-kube.sh")"        # KUBE_BIN, ETCD_BIN
export KUBE_BIN ETCD_BIN
eval "$(bash "$TESTBED/build-pulumi.sh")"      # PULUMI_PATH (CLI, language host, provider plugins)
ISTIO_DIR=$(bash "$TESTBED/build-istio.sh" | tail -n 1)
export ISTIO_CHARTS=$ISTIO_DIR/charts ISTIOCTL=$ISTIO_DIR/bin/istioctl
export ISTIO_VERSION=${ISTIO_DIR##*/istio-}
echo "[it] tools ready after $(( $(date +%s) - start )) s"

WORK=$(mktemp -d "${TMPDIR:-/tmp}/service-mesh-it.XXXXXX")
cleanup() {
  local rc=$?
  bash "$TESTBED/kube-down.sh" "$WORK/kube" || true
  if [ "$rc" -ne 0 ]; then
    echo "[it] failed; logs kept in $WORK (pulumi.log, kube/*.log)"
    tail -n 40 "$WORK/pulumi.log" 2>/dev/null || true
  else
    rm -rf "$WORK"
  fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

mkdir -p "$WORK/kube"
bash "$TESTBED/kube-up.sh" "$WORK/kube"

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

node -r ts-node/register/transpile-only test/integration/scenarios.ts
