#!/usr/bin/env bash
# Turns the bare control plane of test/testbed/kube-up.sh into a cluster where workloads run,
# in simulation: kube-scheduler binds pods, KWOK plays kubelet for fake Nodes and their pods
# (IPs, containers running, Ready; see test/testbed/kwok-stages.yaml), so Deployments become
# Available, EndpointSlices fill, Jobs complete and deletions finish. No container ever runs.
#
# Usage: test/testbed/kube-up.sh DIR && test/testbed/cluster-up.sh DIR
#        (stop everything with test/testbed/kube-down.sh DIR)
#
# Starts (pids and logs in DIR, all on loopback):
#   kube-scheduler  {kube-scheduler.pid,log}; own client cert (CN system:kube-scheduler, signed
#                   by kube-up's CA), secure port on a free 127.0.0.1 port for /healthz
#   kwok            {kwok.pid,log}; admin kubeconfig, stages from kwok-stages.yaml, manages only
#                   Nodes annotated kwok.x-k8s.io/node=fake, renews their Leases; serves nothing
# and creates $CLUSTER_NODES (default 1) Nodes testbed-node-1.. with InternalIP 127.0.0.<1+i>
# (loopback: nothing listens there), podCIDR 10.244.<i>.0/24, capacity
# $CLUSTER_NODE_CPU (32) CPU / $CLUSTER_NODE_MEMORY (64Gi) / $CLUSTER_NODE_PODS (110) pods,
# kubelet version $CLUSTER_KUBELET_VERSION (default: the API server's version), then waits until
# they are Ready and untainted (timeout $CLUSTER_UP_TIMEOUT s, default 120).
# Writes DIR/cluster.env (KEY=VALUE lines, also printed on stdout): KWOK_BIN, CLUSTER_NODES
# (comma-separated names), CLUSTER_POD_CIDR, KUBE_SCHEDULER_URL.
#
# Pod IPs (10.244.0.0/16) and ClusterIPs exist only in the API: nothing may connect to them.
# Every admission webhook must be URL-based on 127.0.0.1 (istiod-up.sh; network-guard.yaml enforces it).
#
# Istio note: istiod's injector picks native sidecars (istio-proxy as an init container with
# restartPolicy Always) when the pod's node reports kubelet >= 1.33; set
# CLUSTER_KUBELET_VERSION=v1.32.0 for classic sidecars (istio-proxy in .spec.containers).
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
[ $# -eq 1 ] || { echo "usage: $0 DIR" >&2; exit 2; }
DIR=$(cd "$1" && pwd)
TIMEOUT=${CLUSTER_UP_TIMEOUT:-120}
NODES=${CLUSTER_NODES:-1}
POD_CIDR=10.244.0.0/16
NODE_ANNOTATION=kwok.x-k8s.io/node=fake

log() { printf '[cluster-up] %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

[ -f "$DIR/env" ] || die "$DIR/env not found: run kube-up.sh $DIR first"
# shellcheck disable=SC1091
source "$DIR/env"   # KUBECONFIG, KUBECTL, KUBE_BIN, KUBE_API_URL
[ -n "${KUBECTL:-}" ] || die "no kubectl recorded in $DIR/env"
case $NODES in ''|*[!0-9]*) die "CLUSTER_NODES must be a number" ;; esac
[ "$NODES" -ge 1 ] && [ "$NODES" -le 50 ] || die "CLUSTER_NODES must be 1..50"
k() { "$KUBECTL" --kubeconfig "$DIR/kubeconfig" "$@"; }

alive_ours() { # name -> true if DIR/name.pid is a live process started for this DIR
  local pid
  pid=$(cat "$DIR/$1.pid" 2>/dev/null) || return 1
  [ -r "/proc/$pid/cmdline" ] && tr '\0' '\n' <"/proc/$pid/cmdline" | grep -qF "$DIR/"
}
for c in kube-scheduler kwok; do
  alive_ours "$c" && die "$c from a previous cluster-up is still running in $DIR; run kube-down.sh $DIR first"
done
alive_ours kube-apiserver || die "kube-apiserver of $DIR is not running (kube-up.sh $DIR)"

# --- binaries -----------------------------------------------------------------------------------
[ -x "$KUBE_BIN/kube-scheduler" ] || die "missing $KUBE_BIN/kube-scheduler (run test/testbed/build-kube.sh)"
if [ -z "${KWOK_BIN:-}" ]; then
  eval "$("$HERE/build-kwok.sh" | grep -E '^(KWOK_BIN|KWOK_VERSION)=')"
fi
[ -x "$KWOK_BIN/kwok" ] || die "missing $KWOK_BIN/kwok"
KUBELET_VERSION=${CLUSTER_KUBELET_VERSION:-$("$KUBE_BIN/kube-apiserver" --version | awk '{print $2}')}

# --- free loopback port ----------------------------------------------------------------------------
# shellcheck source=ports.sh
. "$HERE/ports.sh"
SCHED_PORT=$(free_port)

# --- scheduler client certificate ---------------------------------------------------------------
P=$DIR/pki
[ -f "$P/ca.key" ] || die "$P/ca.key not found (kube-up.sh keeps its CA there)"
# shellcheck source=pki.sh
. "$HERE/pki.sh"
pki_sign "$P" ca scheduler "/CN=system:kube-scheduler" clientAuth
# The scheduler's kubeconfig: the admin one with the scheduler's identity swapped in.
(
  umask 077
  sed -e "s#^\(    client-certificate-data:\).*#\1 $(base64 -w0 <"$P/scheduler.crt")#" \
      -e "s#^\(    client-key-data:\).*#\1 $(base64 -w0 <"$P/scheduler.key")#" \
      -e 's#kubernetes-admin#system:kube-scheduler#g' \
      "$DIR/kubeconfig" >"$DIR/scheduler.kubeconfig"
)

# --- start processes ----------------------------------------------------------------------------
STARTED=()
start() { # NAME cmd... : detached, pid in DIR/NAME.pid, log in DIR/NAME.log
  local name=$1; shift
  setsid "$@" </dev/null >"$DIR/$name.log" 2>&1 &
  echo $! >"$DIR/$name.pid"
  STARTED+=("$name")
  log "started $name (pid $!, log $DIR/$name.log)"
}
fail() {
  log "ERROR: $*"
  local c
  for c in "${STARTED[@]}"; do
    printf '\n----- tail of %s -----\n' "$DIR/$c.log" >&2
    tail -n 30 "$DIR/$c.log" >&2
  done
  log "stopping what cluster-up started"
  for c in "${STARTED[@]}"; do
    if alive_ours "$c"; then kill -TERM "$(cat "$DIR/$c.pid")" 2>/dev/null || true; fi
  done
  exit 1
}
DEADLINE=$(( SECONDS + TIMEOUT ))
wait_for() { # DESC cmd...
  local desc=$1 c; shift
  until "$@" >/dev/null 2>&1; do
    for c in "${STARTED[@]}"; do alive_ours "$c" || fail "$c exited while waiting for $desc"; done
    [ $SECONDS -lt $DEADLINE ] || fail "timed out after ${TIMEOUT}s waiting for $desc"
    sleep 0.5
  done
  log "ok: $desc"
}
T0=$SECONDS

start kube-scheduler "$KUBE_BIN/kube-scheduler" \
  --kubeconfig "$DIR/scheduler.kubeconfig" \
  --authentication-kubeconfig "$DIR/scheduler.kubeconfig" \
  --authorization-kubeconfig "$DIR/scheduler.kubeconfig" \
  --bind-address 127.0.0.1 --secure-port "$SCHED_PORT" \
  --cert-dir "$DIR/scheduler-certs" \
  --leader-elect=false \
  --profiling=false
wait_for "kube-scheduler /healthz" curl -fsS -k "https://127.0.0.1:$SCHED_PORT/healthz"

# KWOK: no --node-port/--server-address, so it serves nothing (no fake kubelet API); the pod
# IPs it hands out come from each Node's spec.podCIDR (else --cidr). HOME is a scratch dir so
# a user's ~/.kwok/kwok.yaml (loaded by default) cannot add stages.
mkdir -p "$DIR/kwok-home"
start kwok env HOME="$DIR/kwok-home" "$KWOK_BIN/kwok" \
  --kubeconfig "$DIR/kubeconfig" \
  --config "$HERE/kwok-stages.yaml" \
  --manage-nodes-with-annotation-selector "$NODE_ANNOTATION" \
  --cidr "$POD_CIDR" \
  --node-ip 127.0.0.2 \
  --node-lease-duration-seconds 40

# --- fake nodes ---------------------------------------------------------------------------------
NODE_NAMES=()
for i in $(seq 1 "$NODES"); do
  name=testbed-node-$i
  ip=127.0.0.$((1 + i))
  NODE_NAMES+=("$name")
  k apply -f - >/dev/null <<EOF || fail "creating node $name"
apiVersion: v1
kind: Node
metadata:
  name: $name
  annotations:
    ${NODE_ANNOTATION%%=*}: "${NODE_ANNOTATION#*=}"
  labels:
    kubernetes.io/hostname: $name
    kubernetes.io/os: linux
    kubernetes.io/arch: amd64
    node.kubernetes.io/instance-type: kwok
    topology.kubernetes.io/region: testbed
    topology.kubernetes.io/zone: testbed-a
    type: kwok
spec:
  podCIDR: 10.244.$i.0/24
  podCIDRs: [10.244.$i.0/24]
EOF
  # Capacity, address and kubelet version are status fields: set them through the status
  # subresource; KWOK's node stages add the conditions (Ready) and leave these alone.
  k patch node "$name" --subresource=status --type=merge -p "$(cat <<EOF
{"status":{
  "capacity":{"cpu":"${CLUSTER_NODE_CPU:-32}","memory":"${CLUSTER_NODE_MEMORY:-64Gi}","pods":"${CLUSTER_NODE_PODS:-110}","ephemeral-storage":"100Gi"},
  "allocatable":{"cpu":"${CLUSTER_NODE_CPU:-32}","memory":"${CLUSTER_NODE_MEMORY:-64Gi}","pods":"${CLUSTER_NODE_PODS:-110}","ephemeral-storage":"100Gi"},
  "addresses":[{"type":"InternalIP","address":"$ip"},{"type":"Hostname","address":"$name"}],
  "nodeInfo":{"kubeletVersion":"$KUBELET_VERSION","kubeProxyVersion":"","architecture":"amd64","operatingSystem":"linux",
    "containerRuntimeVersion":"kwok://${KWOK_VERSION:-unknown}","osImage":"kwok","kernelVersion":"kwok",
    "machineID":"","systemUUID":"","bootID":""}
}}
EOF
)" >/dev/null || fail "setting status of node $name"
done

node_ready() { # all our nodes Ready and without the node-lifecycle controller's taints
  local n out
  for n in "${NODE_NAMES[@]}"; do
    out=$(k get node "$n" -o jsonpath='{.status.conditions[?(@.type=="Ready")].status}|{.spec.taints}') || return 1
    [ "${out%%|*}" = True ] && [ -z "${out#*|}" ] || return 1
  done
}
wait_for "nodes Ready and untainted (${NODE_NAMES[*]})" node_ready

cat >"$DIR/cluster.env" <<EOF
KWOK_BIN=$KWOK_BIN
CLUSTER_NODES=$(IFS=,; echo "${NODE_NAMES[*]}")
CLUSTER_POD_CIDR=$POD_CIDR
KUBE_SCHEDULER_URL=https://127.0.0.1:$SCHED_PORT
EOF
log "cluster ready in $((SECONDS - T0))s: ${NODE_NAMES[*]} (env $DIR/cluster.env)"
cat "$DIR/cluster.env"
