#!/usr/bin/env bash
# Starts a throwaway Kubernetes control plane on loopback: etcd, kube-apiserver and
# kube-controller-manager (no kubelet, no scheduler: pods stay Pending, nothing becomes Ready,
# LoadBalancer Services never get an address).
#
# Usage: test/testbed/kube-up.sh DIR        (stop with test/testbed/kube-down.sh DIR)
#
# DIR receives: kubeconfig (admin, group system:masters, certs embedded), env (shell-sourceable:
# KUBECONFIG, KUBECTL, KUBE_BIN, KUBE_API_URL, ...), pki/ (throwaway CA and keys), etcd-data/,
# {etcd,kube-apiserver,kube-controller-manager}.{pid,log}.
# Binaries come from test/testbed/build-kube.sh (built on first use, cached afterwards), or
# from $KUBE_BIN and $ETCD_BIN when both are set.
# Every listener binds 127.0.0.1 on a free port. Waits for /readyz, `kubectl get ns` and the
# controller manager's health (timeout: $KUBE_UP_TIMEOUT seconds, default 180); on failure it
# prints the log tails, stops what it started and exits non-zero.
# A previous control plane in DIR must be stopped first; its state in DIR is then discarded.
# Extra flags (word-split): $KUBE_UP_APISERVER_ARGS, $KUBE_UP_KCM_ARGS.
#
# Notable flags:
#  --advertise-address 127.0.0.1 + --endpoint-reconciler-type none: without an advertise address
#    the API server picks the default-route interface (and fails on a host with no default route);
#    the `kubernetes` Service gets no endpoints (nothing in-cluster could reach them anyway).
#  --enable-aggregator-routing=true: webhook and aggregated-API calls go to Service *endpoints*
#    instead of the ClusterIP. With no kube-proxy a ClusterIP is not served locally: the call
#    leaves loopback via the default route (it may hang until the webhook's timeoutSeconds, or,
#    as seen on a sandbox, reach some intercepting proxy). With endpoint routing a Service without
#    ready endpoints fails at once ("no endpoints available for service ..."), and then the
#    webhook's failurePolicy decides: Fail rejects the request, Ignore admits it.
#  --allow-privileged=true: as kubeadm; otherwise privileged pod specs are rejected.
#  --requestheader-* / --proxy-client-*: front-proxy CA, as kubeadm (see the PKI section).
#  controller manager --flex-volume-plugin-dir: its default, /usr/libexec/kubernetes/...,
#    would be created on the host; kept inside DIR instead.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
[ $# -eq 1 ] || { echo "usage: $0 DIR" >&2; exit 2; }
mkdir -p "$1"
DIR=$(cd "$1" && pwd)
TIMEOUT=${KUBE_UP_TIMEOUT:-180}
COMPONENTS=(etcd kube-apiserver kube-controller-manager)
SERVICE_CIDR=10.0.0.0/16
SERVICE_API_IP=10.0.0.1   # first address of SERVICE_CIDR: the `kubernetes` Service

log() { printf '[kube-up] %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

# --- refuse to clobber a running control plane ---------------------------------------------
for c in "${COMPONENTS[@]}"; do
  if [ -s "$DIR/$c.pid" ]; then
    pid=$(cat "$DIR/$c.pid")
    if [ -d "/proc/$pid" ] && tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF "$DIR/"; then
      die "$c (pid $pid) from a previous kube-up is still running in $DIR; run kube-down.sh $DIR first"
    fi
  fi
done

# --- binaries -------------------------------------------------------------------------------
if [ -z "${KUBE_BIN:-}" ] || [ -z "${ETCD_BIN:-}" ]; then
  eval "$("$HERE/build-kube.sh" | grep -E '^(KUBE_BIN|ETCD_BIN|KUBE_VERSION|ETCD_VERSION)=')"
fi
for b in "$ETCD_BIN/etcd" "$KUBE_BIN/kube-apiserver" "$KUBE_BIN/kube-controller-manager"; do
  [ -x "$b" ] || die "missing binary $b"
done
# kubectl matching the API server's minor version (the system one may be outside the +/-1 skew).
KUBECTL=${KUBECTL:-}
if [ -z "$KUBECTL" ]; then
  if [ -x "$KUBE_BIN/kubectl" ]; then KUBECTL=$KUBE_BIN/kubectl; else KUBECTL=$(command -v kubectl || true); fi
fi
for t in openssl curl; do command -v $t >/dev/null || die "$t is required"; done

# --- clean previous state (only what kube-up creates) ----------------------------------------
rm -rf "$DIR/pki" "$DIR/etcd-data" "$DIR/kcm-certs" "$DIR/apiserver-certs" "$DIR/flexvolume"
rm -f "$DIR"/kubeconfig "$DIR"/kcm.kubeconfig "$DIR"/env "$DIR"/*.pid "$DIR"/*.log
mkdir -p "$DIR/pki"
chmod 700 "$DIR/pki"

# --- free loopback ports -----------------------------------------------------------------------
# shellcheck source=ports.sh
. "$HERE/ports.sh"
# $(...) runs free_port in a subshell: record each port here, so none is handed out twice.
ETCD_PORT=$(free_port); USED_PORTS+="$ETCD_PORT "
ETCD_PEER_PORT=$(free_port); USED_PORTS+="$ETCD_PEER_PORT "
API_PORT=$(free_port); USED_PORTS+="$API_PORT "
KCM_PORT=$(free_port); USED_PORTS+="$KCM_PORT "

# --- throwaway PKI ----------------------------------------------------------------------------
P=$DIR/pki
# shellcheck source=pki.sh
. "$HERE/pki.sh"
log "generating certificates in $P"
pki_ca "$P" ca service-mesh-testbed-ca
pki_sign "$P" ca apiserver "/CN=kube-apiserver" serverAuth \
  "IP:127.0.0.1,IP:$SERVICE_API_IP,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local"
pki_sign "$P" ca admin "/O=system:masters/CN=kubernetes-admin" clientAuth
# The bootstrap RBAC policy binds user system:kube-controller-manager to its role.
pki_sign "$P" ca kcm "/CN=system:kube-controller-manager" clientAuth
# Front-proxy (request header) CA and client: lets the API server proxy to aggregated API servers
# and, mainly, fills kube-system/extension-apiserver-authentication, which the controller
# manager's delegated authentication reads (without it, it logs errors every few seconds).
pki_ca "$P" front-proxy-ca front-proxy-ca
pki_sign "$P" front-proxy-ca front-proxy-client "/CN=front-proxy-client" clientAuth
# Service-account token signing key pair.
pki_ossl genrsa -out "$P/sa.key" 2048
pki_ossl rsa -in "$P/sa.key" -pubout -out "$P/sa.pub"

b64() { base64 -w0 <"$1"; }
write_kubeconfig() { # file user cert key
  umask 077
  cat >"$1" <<EOF
apiVersion: v1
kind: Config
clusters:
- name: testbed
  cluster:
    server: https://127.0.0.1:$API_PORT
    certificate-authority-data: $(b64 "$P/ca.crt")
users:
- name: $2
  user:
    client-certificate-data: $(b64 "$3")
    client-key-data: $(b64 "$4")
contexts:
- name: testbed
  context:
    cluster: testbed
    user: $2
current-context: testbed
EOF
  umask 022
}
write_kubeconfig "$DIR/kubeconfig" kubernetes-admin "$P/admin.crt" "$P/admin.key"
write_kubeconfig "$DIR/kcm.kubeconfig" system:kube-controller-manager "$P/kcm.crt" "$P/kcm.key"

# --- start processes ------------------------------------------------------------------------------
STARTED=()
# start NAME cmd... : detached (own session, stdin closed), pid in DIR/NAME.pid, log in DIR/NAME.log
start() {
  local name=$1; shift
  setsid "$@" </dev/null >"$DIR/$name.log" 2>&1 &
  local pid=$!
  echo "$pid" >"$DIR/$name.pid"
  STARTED+=("$name")
  log "started $name (pid $pid, log $DIR/$name.log)"
}

fail() {
  log "ERROR: $*"
  for c in "${COMPONENTS[@]}"; do
    [ -f "$DIR/$c.log" ] || continue
    printf '\n----- tail of %s -----\n' "$DIR/$c.log" >&2
    tail -n 40 "$DIR/$c.log" >&2
  done
  log "stopping what was started"
  "$HERE/kube-down.sh" "$DIR" >&2 || true
  exit 1
}

alive() { local pid; pid=$(cat "$DIR/$1.pid" 2>/dev/null) && kill -0 "$pid" 2>/dev/null; }

# wait_for DESC TEST-CMD... : polls until TEST-CMD succeeds; fails if any started process died
DEADLINE=$(( SECONDS + TIMEOUT ))
wait_for() {
  local desc=$1; shift
  until "$@" >/dev/null 2>&1; do
    local c; for c in "${STARTED[@]}"; do alive "$c" || fail "$c exited while waiting for $desc"; done
    [ $SECONDS -lt $DEADLINE ] || fail "timed out after ${TIMEOUT}s waiting for $desc"
    sleep 0.5
  done
  log "ok: $desc"
}

ETCD_URL=http://127.0.0.1:$ETCD_PORT
# Plain HTTP is acceptable here: etcd listens on loopback only and holds throwaway data.
start etcd "$ETCD_BIN/etcd" \
  --name testbed \
  --data-dir "$DIR/etcd-data" \
  --listen-client-urls "$ETCD_URL" --advertise-client-urls "$ETCD_URL" \
  --listen-peer-urls "http://127.0.0.1:$ETCD_PEER_PORT" \
  --initial-advertise-peer-urls "http://127.0.0.1:$ETCD_PEER_PORT" \
  --initial-cluster "testbed=http://127.0.0.1:$ETCD_PEER_PORT" \
  --initial-cluster-state new \
  --listen-metrics-urls "" \
  --unsafe-no-fsync \
  --quota-backend-bytes 2147483648 \
  --log-level warn
wait_for "etcd health" curl -fsS "$ETCD_URL/health"

API_URL=https://127.0.0.1:$API_PORT
# shellcheck disable=SC2086 # extra args are meant to be word-split
start kube-apiserver "$KUBE_BIN/kube-apiserver" \
  --bind-address 127.0.0.1 --secure-port "$API_PORT" \
  --advertise-address 127.0.0.1 \
  --endpoint-reconciler-type none \
  --etcd-servers "$ETCD_URL" \
  --cert-dir "$DIR/apiserver-certs" \
  --tls-cert-file "$P/apiserver.crt" --tls-private-key-file "$P/apiserver.key" \
  --client-ca-file "$P/ca.crt" \
  --requestheader-client-ca-file "$P/front-proxy-ca.crt" \
  --requestheader-allowed-names front-proxy-client \
  --requestheader-username-headers X-Remote-User \
  --requestheader-group-headers X-Remote-Group \
  --requestheader-extra-headers-prefix X-Remote-Extra- \
  --proxy-client-cert-file "$P/front-proxy-client.crt" \
  --proxy-client-key-file "$P/front-proxy-client.key" \
  --service-cluster-ip-range "$SERVICE_CIDR" \
  --service-account-issuer https://kubernetes.default.svc.cluster.local \
  --service-account-key-file "$P/sa.pub" \
  --service-account-signing-key-file "$P/sa.key" \
  --api-audiences https://kubernetes.default.svc.cluster.local \
  --authorization-mode RBAC \
  --allow-privileged=true \
  --enable-aggregator-routing=true \
  --profiling=false \
  ${KUBE_UP_APISERVER_ARGS:-}

cacurl() { curl -fsS --cacert "$P/ca.crt" --cert "$P/admin.crt" --key "$P/admin.key" "$@"; }
wait_for "kube-apiserver /readyz" cacurl "$API_URL/readyz"

# shellcheck disable=SC2086 # extra args are meant to be word-split
start kube-controller-manager "$KUBE_BIN/kube-controller-manager" \
  --bind-address 127.0.0.1 --secure-port "$KCM_PORT" \
  --cert-dir "$DIR/kcm-certs" \
  --kubeconfig "$DIR/kcm.kubeconfig" \
  --authentication-kubeconfig "$DIR/kcm.kubeconfig" \
  --authorization-kubeconfig "$DIR/kcm.kubeconfig" \
  --use-service-account-credentials=true \
  --service-account-private-key-file "$P/sa.key" \
  --root-ca-file "$P/ca.crt" \
  --cluster-signing-cert-file "$P/ca.crt" --cluster-signing-key-file "$P/ca.key" \
  --service-cluster-ip-range "$SERVICE_CIDR" \
  --controllers '*' \
  --flex-volume-plugin-dir "$DIR/flexvolume" \
  --leader-elect=false \
  --profiling=false \
  ${KUBE_UP_KCM_ARGS:-}

wait_for "kube-controller-manager /healthz" curl -fsS -k "https://127.0.0.1:$KCM_PORT/healthz"
if [ -n "$KUBECTL" ]; then
  wait_for "kubectl get ns" "$KUBECTL" --kubeconfig "$DIR/kubeconfig" get ns
else
  log "no kubectl found; skipping the kubectl check"
fi
# The service-account controller creating default/default proves the controller manager works.
wait_for "serviceaccount default/default" cacurl "$API_URL/api/v1/namespaces/default/serviceaccounts/default"

cat >"$DIR/env" <<EOF
# source this file: control plane started by test/testbed/kube-up.sh
export KUBECONFIG=$DIR/kubeconfig
export KUBECTL=${KUBECTL}
export KUBE_BIN=$KUBE_BIN
export ETCD_BIN=$ETCD_BIN
export KUBE_API_URL=$API_URL
export KUBE_ETCD_URL=$ETCD_URL
EOF
log "control plane up: $API_URL (kubeconfig $DIR/kubeconfig, env $DIR/env)"
log "stop with: $HERE/kube-down.sh $DIR"
