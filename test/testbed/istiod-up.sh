#!/usr/bin/env bash
# Runs istiod (pilot-discovery) on this machine, out of cluster, against the control plane of
# test/testbed/kube-up.sh DIR: the "control plane in the loop". Every listener is on a free
# 127.0.0.1 port; the API server reaches the injection and validation webhooks by URL on
# 127.0.0.1 with a throwaway CA, never through a Service.
#
# Usage: test/testbed/istiod-up.sh [MODE] DIR
#   (no mode)               prepare (below), start pilot-discovery now, wait until /ready
#   --certs-only            prepare only: CA, serving cert, ports and DIR/istiod.env; nothing runs.
#                           Use it before rendering the charts (their values need the URLs and CA)
#   --when-injector-exists  prepare, then return at once, leaving a background watcher
#                           (DIR/istiod-watch.{pid,log}) that starts pilot-discovery as soon as
#                           the ConfigMap istio-system/istio-sidecar-injector exists (istiod only
#                           injects if it exists at start), then stays as the readiness gate that
#                           turns the chart's simulated istiod pods Ready (kwok-stages.yaml). Meant
#                           to be launched before a `pulumi up` that installs the istiod chart.
#   --restart               stop the running pilot-discovery (if any) and start it again, same
#                           ports and certs (e.g. after the injector ConfigMap changed or appeared)
#   --wait                  wait until the watcher (if any) has made its final start and
#                           pilot-discovery is /ready
#   --stop                  stop the watcher and pilot-discovery (kube-down.sh DIR does too)
#
# "Prepare" is idempotent: DIR/istiod/ keeps the CA and cert, DIR/istiod.env the ports, so the
# URLs handed to the charts stay valid across restarts. Delete DIR/istiod.env for new ports.
# Every mode but --stop prints DIR/istiod.env on stdout (KEY=VALUE, shell-sourceable, no spaces):
#   ISTIOD_XDS                   127.0.0.1:P   plaintext xDS gRPC (no auth; testbed-xds --xds)
#   ISTIOD_XDS_SECURE            127.0.0.1:P   TLS xDS gRPC
#   ISTIOD_HTTP                  http://127.0.0.1:P  /ready, /debug/...
#   ISTIOD_MONITORING            http://127.0.0.1:P  /metrics
#   ISTIOD_WEBHOOK_URL_INJECT    https://127.0.0.1:P/inject
#   ISTIOD_WEBHOOK_URL_VALIDATE  https://127.0.0.1:P/validate
#   ISTIOD_CA_BUNDLE             base64 of the CA's PEM (the webhooks' caBundle)
#   ISTIOD_CA_FILE               that CA as a file
#   ISTIOD_BIN, TESTBED_XDS      the pilot-discovery and testbed-xds binaries
# Chart values that point the webhooks here: base chart
#   base.validationURL=$ISTIOD_WEBHOOK_URL_VALIDATE base.validationCABundle=$ISTIOD_CA_BUNDLE
# istiod chart: the same two, plus
#   istiodRemote.injectionURL=$ISTIOD_WEBHOOK_URL_INJECT istiodRemote.injectionCABundle=$ISTIOD_CA_BUNDLE
#
# pilot-discovery runs with POD_NAMESPACE=istio-system, CLUSTER_ID=Kubernetes, empty
# INJECTION_WEBHOOK_CONFIG_NAME/VALIDATION_WEBHOOK_CONFIG_NAME (it must not patch the webhooks),
# PILOT_JWT_ENABLE_REMOTE_JWKS=envoy (istiod never fetches a RequestAuthentication's jwksUri;
# the xDS then carries remote_jwks for Envoy instead of inlined keys), cwd DIR/istiod/run
# (it writes ./var/run/... there), log DIR/istiod.log. Binaries from build-istio.sh (built if
# missing), or $ISTIO_DIR. Timeout for readiness: $ISTIOD_UP_TIMEOUT s (default 60); the
# watcher gives up after $ISTIOD_WATCH_TIMEOUT s (default 3600).
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=pki.sh
. "$HERE/pki.sh"
usage() { sed -n '7,21p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2; exit 2; }
MODE=start
while [ $# -gt 1 ]; do
  case $1 in
    --certs-only) MODE=certs ;;
    --when-injector-exists) MODE=watch ;;
    --restart) MODE=restart ;;
    --wait) MODE=wait ;;
    --stop) MODE=stop ;;
    --_watcher) MODE=_watcher ;;   # internal: the background watcher itself
    *) usage ;;
  esac
  shift
done
[ $# -eq 1 ] || usage
case $1 in -*) usage ;; esac
[ -d "$1" ] || { echo "istiod-up.sh: $1: no such directory (run kube-up.sh first)" >&2; exit 2; }
DIR=$(cd "$1" && pwd)
TIMEOUT=${ISTIOD_UP_TIMEOUT:-60}
ENVF=$DIR/istiod.env
S=$DIR/istiod            # certs and working dir
NS=istio-system

log() { printf '[istiod-up %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

# shellcheck disable=SC1091
[ -f "$DIR/env" ] && source "$DIR/env"   # KUBECTL, KUBE_BIN
KUBECTL=${KUBECTL:-$(command -v kubectl || true)}
k() { "$KUBECTL" --kubeconfig "$DIR/kubeconfig" "$@"; }

ours() { # name -> pid if DIR/name.pid is a live process started for this DIR
  local pid
  [ -f "$DIR/$1.pid" ] || return 1
  pid=$(tr -dc '0-9' <"$DIR/$1.pid")
  [ -n "$pid" ] && [ -r "/proc/$pid/cmdline" ] && tr '\0' '\n' <"/proc/$pid/cmdline" | grep -qF "$DIR/" \
    && [ "$(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null)" != Z ] && echo "$pid"
}
stop_proc() { # name
  local pid t
  pid=$(ours "$1") || { rm -f "$DIR/$1.pid"; return 0; }
  kill -TERM "$pid" 2>/dev/null || true
  t=$(( SECONDS + 15 ))
  while ours "$1" >/dev/null && [ $SECONDS -lt $t ]; do sleep 0.2; done
  if ours "$1" >/dev/null; then kill -KILL "$pid" 2>/dev/null || true; sleep 0.3; fi
  rm -f "$DIR/$1.pid"
  log "stopped $1 (pid $pid)"
}

# --- binaries -------------------------------------------------------------------------------------
find_bins() {
  if [ -z "${ISTIO_DIR:-}" ]; then
    local v cache
    v=$(sed -n 's/^ISTIO_VERSION="\(.*\)"$/\1/p' "$HERE/build-istio.sh")
    cache=${SERVICE_MESH_TESTBED_CACHE:-$HOME/.cache/service-mesh-testbed}
    ISTIO_DIR=$cache/istio-$v
    if [ ! -x "$ISTIO_DIR/bin/pilot-discovery" ] || [ ! -x "$ISTIO_DIR/bin/testbed-xds" ]; then
      ISTIO_DIR=$("$HERE/build-istio.sh" | tail -n 1)
    fi
  fi
  ISTIOD_BIN=$ISTIO_DIR/bin/pilot-discovery
  TESTBED_XDS=$ISTIO_DIR/bin/testbed-xds
  [ -x "$ISTIOD_BIN" ] || die "missing $ISTIOD_BIN (test/testbed/build-istio.sh builds it)"
}

# --- prepare: ports, CA, serving cert, env file ------------------------------------------------------
port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && ! ss -Htan "( sport = :$1 )" 2>/dev/null | grep -q .; }
free_port() {
  local p
  for _ in $(seq 1 200); do
    p=$(( 20000 + (RANDOM * 32768 + RANDOM) % 30000 ))
    case " ${USED:-} " in *" $p "*) continue ;; esac
    if port_free "$p"; then USED="${USED:-} $p"; echo "$p"; return 0; fi
  done
  die "no free port found"
}
prepare() {
  find_bins
  if [ -f "$ENVF" ] && [ -s "$S/tls.crt" ] && [ -s "$S/tls.key" ] && [ -s "$S/ca.crt" ]; then
    return 0
  fi
  mkdir -p "$S/run"; chmod 700 "$S"
  log "generating istiod's throwaway CA and serving certificate in $S"
  pki_ca "$S" ca service-mesh-testbed-istiod-ca
  pki_sign "$S" ca tls "/CN=istiod.$NS.svc" serverAuth,clientAuth \
    "IP:127.0.0.1,DNS:localhost,DNS:istiod.$NS.svc,DNS:istiod.$NS.svc.cluster.local"
  local grpc secure http https mon
  grpc=$(free_port); secure=$(free_port); http=$(free_port); https=$(free_port); mon=$(free_port)
  cat >"$ENVF.tmp" <<EOF
ISTIOD_XDS=127.0.0.1:$grpc
ISTIOD_XDS_SECURE=127.0.0.1:$secure
ISTIOD_HTTP=http://127.0.0.1:$http
ISTIOD_MONITORING=http://127.0.0.1:$mon
ISTIOD_WEBHOOK_URL_INJECT=https://127.0.0.1:$https/inject
ISTIOD_WEBHOOK_URL_VALIDATE=https://127.0.0.1:$https/validate
ISTIOD_CA_BUNDLE=$(base64 -w0 <"$S/ca.crt")
ISTIOD_CA_FILE=$S/ca.crt
ISTIOD_BIN=$ISTIOD_BIN
TESTBED_XDS=$TESTBED_XDS
EOF
  mv "$ENVF.tmp" "$ENVF"
  log "wrote $ENVF"
}

load_env() {
  # shellcheck disable=SC1090
  source "$ENVF"
  GRPC=${ISTIOD_XDS#127.0.0.1:}
  SECURE=${ISTIOD_XDS_SECURE#127.0.0.1:}
  HTTP=${ISTIOD_HTTP##*:}
  MON=${ISTIOD_MONITORING##*:}
  HTTPS=${ISTIOD_WEBHOOK_URL_INJECT#https://127.0.0.1:}; HTTPS=${HTTPS%%/*}
}

# --- start / wait ----------------------------------------------------------------------------------
start_istiod() {
  load_env
  INJECTOR=unknown
  if ours istiod >/dev/null; then log "pilot-discovery already running (pid $(ours istiod))"; return 0; fi
  [ -f "$DIR/kubeconfig" ] || die "$DIR/kubeconfig not found (kube-up.sh $DIR)"
  local p
  for p in "$GRPC" "$SECURE" "$HTTP" "$HTTPS" "$MON"; do
    port_free "$p" || die "port 127.0.0.1:$p of $ENVF is in use; stop its user or delete $ENVF (new ports mean new chart values)"
  done
  k get namespace "$NS" >/dev/null 2>&1 \
    || die "namespace $NS does not exist: istiod keeps its CA there and would never become ready (create it or apply the charts first, or use --when-injector-exists)"
  mkdir -p "$S/run"
  INJECTOR=absent
  k -n "$NS" get configmap istio-sidecar-injector >/dev/null 2>&1 && INJECTOR=present
  log "starting pilot-discovery (istio-sidecar-injector ConfigMap: $INJECTOR; log $DIR/istiod.log)"
  [ "$INJECTOR" = present ] || log "note: without that ConfigMap at start istiod never injects; use --restart after installing the istiod chart"
  STARTED_AT=$SECONDS
  # GOMAXPROCS/GOMEMLIMIT left to the runtime; env -i keeps the host's proxy variables out.
  setsid env -i -C "$S/run" \
    PATH=/usr/bin:/bin HOME="$S/run" \
    POD_NAMESPACE="$NS" POD_NAME=istiod-testbed REVISION=default \
    CLUSTER_ID=Kubernetes \
    INJECTION_WEBHOOK_CONFIG_NAME= VALIDATION_WEBHOOK_CONFIG_NAME= \
    PILOT_JWT_ENABLE_REMOTE_JWKS=envoy \
    "$ISTIOD_BIN" discovery \
      --kubeconfig "$DIR/kubeconfig" \
      --domain cluster.local \
      --grpcAddr "127.0.0.1:$GRPC" \
      --secureGRPCAddr "127.0.0.1:$SECURE" \
      --httpAddr "127.0.0.1:$HTTP" \
      --httpsAddr "127.0.0.1:$HTTPS" \
      --monitoringAddr "127.0.0.1:$MON" \
      --ctrlz_port 0 \
      --tlsCertFile "$S/tls.crt" --tlsKeyFile "$S/tls.key" --caCertFile "$S/ca.crt" \
      --meshConfig "$S/run/no-mesh-file" --networksConfig "$S/run/no-networks-file" \
      </dev/null >>"$DIR/istiod.log" 2>&1 &
  echo $! >"$DIR/istiod.pid"
  log "started pilot-discovery (pid $!)"
}

wait_ready() {
  load_env
  local deadline=$(( SECONDS + TIMEOUT )) t0=$SECONDS
  until curl -fsS -o /dev/null "http://127.0.0.1:$HTTP/ready" 2>/dev/null \
     && curl -fsS -o /dev/null --cacert "$S/ca.crt" "https://127.0.0.1:$HTTPS/ready" 2>/dev/null; do
    if ! ours istiod >/dev/null; then
      tail -n 30 "$DIR/istiod.log" >&2 || true
      die "pilot-discovery is not running (see $DIR/istiod.log)"
    fi
    [ $SECONDS -lt $deadline ] || { tail -n 30 "$DIR/istiod.log" >&2; die "pilot-discovery not ready after ${TIMEOUT}s"; }
    sleep 0.2
  done
  log "pilot-discovery ready (pid $(ours istiod), ${SECONDS}s into the script, waited $((SECONDS - t0))s)"
}

case $MODE in
  certs)
    prepare ;;
  start)
    prepare; start_istiod; wait_ready ;;
  restart)
    prepare; stop_proc istiod; start_istiod; wait_ready ;;
  wait)
    [ -f "$ENVF" ] || die "$ENVF not found"
    deadline=$(( SECONDS + ${ISTIOD_WATCH_TIMEOUT:-3600} ))
    # A watcher still running has not made its final (injecting) start yet.
    while ours istiod-watch >/dev/null; do
      [ $SECONDS -lt $deadline ] || die "timed out waiting for the watcher to start pilot-discovery"
      sleep 0.5
    done
    ours istiod >/dev/null || die "pilot-discovery is not running (watcher log: $DIR/istiod-watch.log)"
    wait_ready ;;
  stop)
    stop_proc istiod-watch; stop_proc istiod ;;
  watch)
    prepare
    if ours istiod-watch >/dev/null; then die "a watcher is already running (pid $(ours istiod-watch))"; fi
    # The watcher's command line names "$DIR/" so kube-down.sh recognises it as ours.
    args=(--_watcher)
    setsid bash "${BASH_SOURCE[0]}" "${args[@]}" "$DIR/" </dev/null >"$DIR/istiod-watch.log" 2>&1 &
    echo $! >"$DIR/istiod-watch.pid"
    log "watcher started (pid $!, log $DIR/istiod-watch.log): pilot-discovery starts when" \
      "$NS/istio-sidecar-injector exists"
    ;;
  _watcher)
    load_env; find_bins
    deadline=$(( SECONDS + ${ISTIOD_WATCH_TIMEOUT:-3600} ))
    injector() { k -n "$NS" get configmap istio-sidecar-injector >/dev/null 2>&1; }
    until injector; do
      [ $SECONDS -lt $deadline ] || die "gave up after ${ISTIOD_WATCH_TIMEOUT:-3600}s: no $NS/istio-sidecar-injector"
      sleep 0.25
    done
    log "$NS/istio-sidecar-injector exists"
    # The chart creates the mesh config (ConfigMap istio) alongside; give it a moment to land.
    for _ in 1 2 3 4 5 6 7 8 9 10; do k -n "$NS" get configmap istio >/dev/null 2>&1 && break; sleep 0.5; done
    start_istiod
    wait_ready
    # The readiness gate (kwok-stages.yaml): the istiod chart's simulated pods stand for this
    # process. They become Ready only now, so Helm's wait on the istiod release, and everything
    # ordered after it, waits for a webhook that answers. Pods the chart replaces later (an
    # upgrade) are released as they appear, for as long as pilot-discovery runs.
    log "releasing the istiod chart's pods (testbed.local/ready=true) while pilot-discovery runs"
    while ours istiod >/dev/null; do
      k -n "$NS" get pods -l app=istiod -o name 2>/dev/null \
        | while read -r pod; do
            [ "$(k -n "$NS" get "$pod" -o 'jsonpath={.metadata.annotations.testbed\.local/ready}' 2>/dev/null)" = true ] \
              || k -n "$NS" annotate "$pod" testbed.local/ready=true --overwrite >/dev/null 2>&1 || true
          done || true   # the API server may be away for a moment (the outage scenario): retry
      sleep 0.5
    done
    rm -f "$DIR/istiod-watch.pid"
    exit 0 ;;
esac
[ "$MODE" = stop ] || cat "$ENVF"
