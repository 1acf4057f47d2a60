#!/usr/bin/env bash
# Runs istiod (pilot-discovery) on this machine, out of cluster, against the control plane of
# test/testbed/kube-up.sh DIR: the "control plane in the loop". Every listener is on a free
# 127.0.0.1 port; the API server reaches the injection and validation webhooks by URL on
# 127.0.0.1 with a throwaway CA, never through a Service.
#
# Usage: test/testbed/istiod-up.sh [--revision REV] [MODE] DIR
#   (or ISTIOD_REVISION=REV in the environment; the flag wins. Revisions: see below)
#   (no mode)               prepare (below), start pilot-discovery now, wait until /ready
#   --certs-only            prepare only: CA, serving cert, ports and DIR/istiod.env; nothing runs.
#                           Use it before rendering the charts (their values need the URLs and CA)
#   --when-injector-exists  prepare, then return at once, leaving a background watcher
#                           (DIR/istiod-watch.{pid,log}) that starts pilot-discovery as soon as
#                           the ConfigMap istio-system/istio-sidecar-injector exists (istiod only
#                           injects if it exists at start) and the chart's Deployment does (waited
#                           for up to $ISTIOD_DEPLOY_WAIT s, default 5: its env is istiod's, below),
#                           then stays as the readiness gate that turns the chart's simulated
#                           istiod pods Ready (kwok-stages.yaml) and restarts pilot-discovery
#                           whenever that Deployment's env changes (a helm upgrade toggling
#                           ambient), before it releases the new istiod pod: an `up` that
#                           waits for the istiod release returns with istiod on the new env
#                           (DIR/istiod.chart-env shows what it took). Meant to be launched
#                           before a `pulumi up` that installs the istiod chart
#   --restart               stop the running pilot-discovery (if any) and start it again, same
#                           ports and certs, with the chart's env as it is now (e.g. after the
#                           injector ConfigMap appeared or changed)
#   --wait                  wait until pilot-discovery runs (the watcher, if any, has made its
#                           first start) and is /ready
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
# pilot-discovery's environment, as in the pod the chart describes: every env var of the istiod
# chart's Deployment (istio-system/$ISTIOD_DEPLOYMENT, default istiod; container discovery) that
# has a literal value, read from the API server at each start; valueFrom ones (POD_NAME,
# GOMAXPROCS...) are skipped. So chart values reach it: profile=ambient's PILOT_ENABLE_AMBIENT,
# `env.*`, traceSampling... Then the test bed's own settings, which win over the chart's:
# POD_NAMESPACE=istio-system, POD_NAME=istiod-testbed, REVISION=default, CLUSTER_ID=Kubernetes,
# KUBECONFIG=DIR/kubeconfig (the chart's points into a pod), empty
# INJECTION_WEBHOOK_CONFIG_NAME/VALIDATION_WEBHOOK_CONFIG_NAME (it must not patch the webhooks),
# PILOT_JWT_ENABLE_REMOTE_JWKS=envoy (istiod never fetches a RequestAuthentication's jwksUri;
# the xDS then carries remote_jwks for Envoy instead of inlined keys), PATH, HOME. What it took
# goes to DIR/istiod.chart-env (shell-sourceable, names only: hash=, deployment=, taken=,
# overridden=) and to this script's log. Without the Deployment it starts with the test bed's
# settings alone. cwd DIR/istiod/run (it writes ./var/run/... there), log DIR/istiod.log.
# Revisions (istiod chart value `revision: REV`, a canary upgrade's second control plane): with
# --revision REV (a DNS label, not "default", not "watch"/"watch-*") everything above is that
# revision's own, beside the revisionless istiod and other revisions, each its own process:
#   state     DIR/istiod-REV.{env,pid,log,chart-env,lock}, DIR/istiod-watch-REV.{pid,log},
#             working dir DIR/istiod-REV/ (cwd DIR/istiod-REV/run); its own free ports
#   chart     ConfigMaps istio-sidecar-injector-REV and istio-REV (pilot-discovery reads the
#             mesh config from istio-REV when REVISION=REV), Deployment istiod-REV (env read
#             from it; ISTIOD_DEPLOYMENT overrides), gate for pods -l app=istiod,istio.io/rev=REV
#   own env   REVISION=REV, POD_NAME=istiod-REV-testbed (leader elections tell them apart)
#   env file  as above plus ISTIOD_REVISION=REV; ISTIOD_CA_BUNDLE is the same for every revision
# One throwaway CA and serving certificate (DIR/istiod/) serve every revision's webhooks, so the
# istio-ca-root-cert ConfigMaps they publish agree. The mesh CA (workload certs) is the Secret
# istio-system/istio-ca-secret, created by the first istiod that starts and loaded by the others.
# The revisionless istiod (REVISION=default) releases only pods labelled istio.io/rev=default
# (the revisionless chart's), so each watcher gates only its own revision's pods.
# kube-down.sh DIR stops every revision's watcher and pilot-discovery.
#
# Binaries from build-istio.sh (built if missing), or $ISTIO_DIR. Timeout for readiness:
# $ISTIOD_UP_TIMEOUT s (default 60); the watcher gives up after $ISTIOD_WATCH_TIMEOUT s
# (default 3600). Starts and stops are serialized by a lock (DIR/istiod.lock, per revision
# DIR/istiod-REV.lock), so the watcher's restarts and --restart never overlap.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=pki.sh
. "$HERE/pki.sh"
usage() { sed -n '7,29p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2; exit 2; }
MODE=start
REV=${ISTIOD_REVISION:-}
while [ $# -gt 1 ]; do
  case $1 in
    --revision) [ $# -gt 2 ] || usage; REV=$2; shift ;;
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
NS=istio-system
[ "$REV" != default ] || REV=   # the revisionless istiod is revision "default"
if [ -n "$REV" ]; then
  if [[ ! $REV =~ ^[a-z0-9]([-a-z0-9]*[a-z0-9])?$ ]] || [ ${#REV} -gt 63 ]; then
    echo "istiod-up.sh: revision '$REV' is not a DNS label" >&2; exit 2
  fi
  case $REV in watch|watch-*)
    echo "istiod-up.sh: revision '$REV' would share the watcher's file names" >&2; exit 2 ;;
  esac
  SUF=-$REV
else
  SUF=
fi
ME=istiod$SUF            # pid/log/env/lock names: DIR/$ME.*
WATCH=istiod-watch$SUF   # the watcher's: DIR/$WATCH.{pid,log}
ENVF=$DIR/$ME.env
CERTS=$DIR/istiod        # the CA and serving cert, shared by every revision
S=$DIR/$ME               # working dir (the revisionless one keeps its certs there too)
INJECTOR_CM=istio-sidecar-injector$SUF
MESH_CM=istio$SUF
REV_LABEL=${REV:-default}

log() { printf '[istiod-up %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

# shellcheck source=procs.sh
. "$HERE/procs.sh"   # k, ours, stop_proc

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
# shellcheck source=ports.sh
. "$HERE/ports.sh"
prepare() {
  find_bins
  if [ -f "$ENVF" ] && [ -s "$CERTS/tls.crt" ] && [ -s "$CERTS/tls.key" ] && [ -s "$CERTS/ca.crt" ]; then
    return 0
  fi
  mkdir -p "$CERTS" "$S/run"; chmod 700 "$CERTS" "$S"
  # Revisions prepare at other times than the revisionless istiod: one makes the certs.
  exec 7>"$DIR/.istiod-pki.lock"; flock -w 60 7 || die "$DIR/.istiod-pki.lock held for 60s"
  if [ ! -s "$CERTS/tls.crt" ] || [ ! -s "$CERTS/tls.key" ] || [ ! -s "$CERTS/ca.crt" ]; then
    log "generating istiod's throwaway CA and serving certificate in $CERTS"
    pki_ca "$CERTS" ca service-mesh-testbed-istiod-ca
    pki_sign "$CERTS" ca tls "/CN=istiod.$NS.svc" serverAuth,clientAuth \
      "IP:127.0.0.1,DNS:localhost,DNS:istiod.$NS.svc,DNS:istiod.$NS.svc.cluster.local"
  fi
  exec 7>&-
  local grpc secure http https mon
  grpc=$(free_port); USED_PORTS+="$grpc "; secure=$(free_port); USED_PORTS+="$secure "
  http=$(free_port); USED_PORTS+="$http "; https=$(free_port); USED_PORTS+="$https "
  mon=$(free_port); USED_PORTS+="$mon "
  cat >"$ENVF.tmp" <<EOF
ISTIOD_XDS=127.0.0.1:$grpc
ISTIOD_XDS_SECURE=127.0.0.1:$secure
ISTIOD_HTTP=http://127.0.0.1:$http
ISTIOD_MONITORING=http://127.0.0.1:$mon
ISTIOD_WEBHOOK_URL_INJECT=https://127.0.0.1:$https/inject
ISTIOD_WEBHOOK_URL_VALIDATE=https://127.0.0.1:$https/validate
ISTIOD_CA_BUNDLE=$(base64 -w0 <"$CERTS/ca.crt")
ISTIOD_CA_FILE=$CERTS/ca.crt
ISTIOD_BIN=$ISTIOD_BIN
TESTBED_XDS=$TESTBED_XDS
EOF
  [ -z "$REV" ] || echo "ISTIOD_REVISION=$REV" >>"$ENVF.tmp"
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

# --- the chart's environment ----------------------------------------------------------------------
DEPLOY=${ISTIOD_DEPLOYMENT:-istiod$SUF}
# kubectl go-templates. Each record ends in NUL (an env value may hold a newline): "deployment"
# once the chart's Deployment was read, "env NAME=VALUE" for each env var of its discovery
# container with a literal value (valueFrom ones skipped), and (GATE_TPL, for the readiness gate)
# "pod NAME" for each istiod pod not yet released (no testbed.local/ready=true). One kubectl call
# per watcher tick reads both.
ENV_TPL='{{range .spec.template.spec.containers}}{{if eq .name "discovery"}}{{range .env}}{{if not .valueFrom}}env {{.name}}={{if .value}}{{.value}}{{end}}{{"\x00"}}{{end}}{{end}}{{end}}{{end}}'
DEPLOY_TPL='deployment{{"\x00"}}'$ENV_TPL
# shellcheck disable=SC2016 # $r, $k, $v are template variables
GATE_TPL='{{range .items}}{{if eq .kind "Pod"}}{{$r := ""}}{{range $k, $v := .metadata.annotations}}{{if eq $k "testbed.local/ready"}}{{$r = $v}}{{end}}{{end}}{{if ne $r "true"}}pod {{.metadata.name}}{{"\x00"}}{{end}}{{else if eq .metadata.name "'$DEPLOY'"}}'$DEPLOY_TPL'{{end}}{{end}}'
# The test bed's own settings (start_istiod): they win over the chart's.
OWN_ENV=" PATH HOME POD_NAMESPACE POD_NAME REVISION CLUSTER_ID KUBECONFIG INJECTION_WEBHOOK_CONFIG_NAME VALIDATION_WEBHOOK_CONFIG_NAME PILOT_JWT_ENABLE_REMOTE_JWKS "

parse_records() { # file -> SEEN (1 if the Deployment was read), CHART_ENV (NAME=VALUE...), PODS
  local r
  SEEN=0 CHART_ENV=() PODS=()
  while IFS= read -r -d '' r; do
    case $r in
      deployment) SEEN=1 ;;
      "env "*) CHART_ENV+=("${r#env }") ;;
      "pod "*) PODS+=("${r#pod }") ;;
    esac
  done <"$1"
}
read_chart_env() { # -> parse_records' variables for the Deployment now; fails if the API server does
  k -n "$NS" get deployment "$DEPLOY" --ignore-not-found -o go-template="$DEPLOY_TPL" >"$S/chart.rec" 2>/dev/null \
    || return 1
  parse_records "$S/chart.rec"
}
env_hash() { printf '%s\0' "${CHART_ENV[@]}" | sha256sum | cut -c1-16; }
uniq_words() { [ $# -eq 0 ] || printf '%s\n' "$@" | sort -u | tr '\n' ' ' | sed 's/ $//'; }
started_hash() { sed -n 's/^hash=//p' "$DIR/$ME.chart-env" 2>/dev/null; }

# Starts and stops hold DIR/$ME.lock (fd 8; pilot-discovery must not inherit it).
lock() { exec 8>"$DIR/$ME.lock"; flock -w 120 8 || die "$DIR/$ME.lock held for 120s"; }
unlock() { exec 8>&-; }

# --- start / wait ----------------------------------------------------------------------------------
start_istiod() {
  load_env
  INJECTOR=unknown
  if ours "$ME" >/dev/null; then log "pilot-discovery already running (pid $(ours "$ME"))"; return 0; fi
  [ -f "$DIR/kubeconfig" ] || die "$DIR/kubeconfig not found (kube-up.sh $DIR)"
  # Its own ports again (a restart): only a listener is in the way. The connections of the
  # pilot-discovery just stopped linger in TIME_WAIT on the same local ports for a minute, and
  # do not stop a new listener from binding (Go sets SO_REUSEADDR); give a listener that is
  # still going away 15 s.
  local p t
  for p in "$GRPC" "$SECURE" "$HTTP" "$HTTPS" "$MON"; do
    t=$(( SECONDS + 15 ))
    while port_listened "$p"; do
      [ $SECONDS -lt $t ] || die "port 127.0.0.1:$p of $ENVF has a listener; stop it or delete $ENVF (new ports mean new chart values)"
      sleep 0.5
    done
  done
  k get namespace "$NS" >/dev/null 2>&1 \
    || die "namespace $NS does not exist: istiod keeps its CA there and would never become ready (create it or apply the charts first, or use --when-injector-exists)"
  mkdir -p "$S/run"
  INJECTOR=absent
  k -n "$NS" get configmap "$INJECTOR_CM" >/dev/null 2>&1 && INJECTOR=present
  log "starting pilot-discovery${REV:+ of revision $REV} ($INJECTOR_CM ConfigMap: $INJECTOR; log $DIR/$ME.log)"
  [ "$INJECTOR" = present ] || log "note: without that ConfigMap at start istiod never injects; use --restart after installing the istiod chart"
  # The chart's env (literal values only), then the test bed's own, which win.
  local e name taken=() overridden=() skipped=() envs=()
  local from=absent
  SEEN=0 CHART_ENV=()
  if read_chart_env; then
    [ "$SEEN" = 0 ] || from=$NS/$DEPLOY
  else
    from=unreadable
    log "note: could not read $NS/$DEPLOY (API server away?): starting without the chart's env"
  fi
  for e in "${CHART_ENV[@]}"; do
    name=${e%%=*}
    if [[ ! $name =~ ^[A-Za-z_][A-Za-z0-9_]*$ ]]; then skipped+=("$name"); continue; fi
    case $OWN_ENV in *" $name "*) overridden+=("$name"); continue ;; esac
    envs+=("$e"); taken+=("$name")
  done
  envs+=(
    PATH=/usr/bin:/bin HOME="$S/run"
    POD_NAMESPACE="$NS" POD_NAME="$ME-testbed" REVISION="$REV_LABEL"
    CLUSTER_ID=Kubernetes KUBECONFIG="$DIR/kubeconfig"
    INJECTION_WEBHOOK_CONFIG_NAME= VALIDATION_WEBHOOK_CONFIG_NAME=
    PILOT_JWT_ENABLE_REMOTE_JWKS=envoy
  )
  {
    echo "hash=$(env_hash)"
    echo "deployment=$from"
    echo "taken='$(uniq_words "${taken[@]}")'"
    echo "overridden='$(uniq_words "${overridden[@]}")'"
  } >"$DIR/$ME.chart-env"
  if [ "$SEEN" = 1 ]; then
    log "env from $NS/$DEPLOY (container discovery): $(uniq_words "${taken[@]}")"
    [ ${#overridden[@]} -eq 0 ] || log "  the test bed's own settings win over the chart's: $(uniq_words "${overridden[@]}")"
    [ ${#skipped[@]} -eq 0 ] || log "  skipped (not a shell name): ${skipped[*]}"
  elif [ "$from" = absent ]; then
    log "no $NS/$DEPLOY Deployment: the test bed's settings only"
  fi
  STARTED_AT=$SECONDS
  # GOMAXPROCS/GOMEMLIMIT left to the runtime; env -i keeps the host's proxy variables out.
  setsid env -i -C "$S/run" "${envs[@]}" \
    "$ISTIOD_BIN" discovery \
      --kubeconfig "$DIR/kubeconfig" \
      --domain cluster.local \
      --grpcAddr "127.0.0.1:$GRPC" \
      --secureGRPCAddr "127.0.0.1:$SECURE" \
      --httpAddr "127.0.0.1:$HTTP" \
      --httpsAddr "127.0.0.1:$HTTPS" \
      --monitoringAddr "127.0.0.1:$MON" \
      --ctrlz_port 0 \
      --tlsCertFile "$CERTS/tls.crt" --tlsKeyFile "$CERTS/tls.key" --caCertFile "$CERTS/ca.crt" \
      --meshConfig "$S/run/no-mesh-file" --networksConfig "$S/run/no-networks-file" \
      </dev/null >>"$DIR/$ME.log" 2>&1 8>&- &
  echo $! >"$DIR/$ME.pid"
  log "started pilot-discovery (pid $!)"
}

wait_ready() {
  load_env
  local deadline=$(( SECONDS + TIMEOUT )) t0=$SECONDS
  until curl -fsS -o /dev/null "http://127.0.0.1:$HTTP/ready" 2>/dev/null \
     && curl -fsS -o /dev/null --cacert "$CERTS/ca.crt" "https://127.0.0.1:$HTTPS/ready" 2>/dev/null; do
    if ! ours "$ME" >/dev/null; then
      tail -n 30 "$DIR/$ME.log" >&2 || true
      die "pilot-discovery is not running (see $DIR/$ME.log)"
    fi
    [ $SECONDS -lt $deadline ] || { tail -n 30 "$DIR/$ME.log" >&2; die "pilot-discovery not ready after ${TIMEOUT}s"; }
    sleep 0.2
  done
  log "pilot-discovery ready (pid $(ours "$ME"), ${SECONDS}s into the script, waited $((SECONDS - t0))s)"
}

case $MODE in
  certs)
    prepare ;;
  start)
    prepare; lock; start_istiod; unlock; wait_ready ;;
  restart)
    prepare; lock; stop_proc "$ME"; start_istiod; unlock; wait_ready ;;
  wait)
    [ -f "$ENVF" ] || die "$ENVF not found"
    deadline=$(( SECONDS + ${ISTIOD_WATCH_TIMEOUT:-3600} ))
    # A watcher that has not started pilot-discovery yet will; without a watcher nothing will.
    until ours "$ME" >/dev/null; do
      ours "$WATCH" >/dev/null || die "pilot-discovery is not running (watcher log: $DIR/$WATCH.log)"
      [ $SECONDS -lt $deadline ] || die "timed out waiting for the watcher to start pilot-discovery"
      sleep 0.5
    done
    wait_ready ;;
  stop)
    stop_proc "$WATCH"; lock; stop_proc "$ME"; unlock ;;
  watch)
    prepare
    if ours "$WATCH" >/dev/null; then die "a watcher is already running (pid $(ours "$WATCH"))"; fi
    # The watcher's command line names "$DIR/" so kube-down.sh recognises it as ours.
    args=(--_watcher)
    [ -z "$REV" ] || args=(--revision "$REV" --_watcher)
    setsid bash "${BASH_SOURCE[0]}" "${args[@]}" "$DIR/" </dev/null >"$DIR/$WATCH.log" 2>&1 &
    echo $! >"$DIR/$WATCH.pid"
    log "watcher started (pid $!, log $DIR/$WATCH.log): pilot-discovery${REV:+ of revision $REV}" \
      "starts when $NS/$INJECTOR_CM exists"
    ;;
  _watcher)
    load_env; find_bins
    deadline=$(( SECONDS + ${ISTIOD_WATCH_TIMEOUT:-3600} ))
    injector() { k -n "$NS" get configmap "$INJECTOR_CM" >/dev/null 2>&1; }
    until injector; do
      [ $SECONDS -lt $deadline ] || die "gave up after ${ISTIOD_WATCH_TIMEOUT:-3600}s: no $NS/$INJECTOR_CM"
      sleep 0.25
    done
    log "$NS/$INJECTOR_CM exists"
    # The chart creates the mesh config (ConfigMap $MESH_CM) alongside; give it a moment to land.
    for _ in 1 2 3 4 5 6 7 8 9 10; do k -n "$NS" get configmap "$MESH_CM" >/dev/null 2>&1 && break; sleep 0.5; done
    # Its Deployment comes after its ConfigMaps (Helm's kind order) and carries istiod's env: wait
    # for it a little. Should it come later, the env check below restarts pilot-discovery then.
    wait_deploy=${ISTIOD_DEPLOY_WAIT:-5}
    t=$(( SECONDS + wait_deploy ))
    until read_chart_env && [ "$SEEN" = 1 ]; do
      if [ $SECONDS -ge $t ]; then log "no $NS/$DEPLOY after ${wait_deploy}s: starting without its env"; break; fi
      sleep 0.25
    done
    # A start can fail for a passing reason (a listener's port taken between the check and the
    # bind): try three times before giving up, which leaves every later up waiting for istiod.
    for attempt in 1 2 3; do
      lock; start_istiod; unlock
      ( wait_ready ) && break
      [ "$attempt" -lt 3 ] || die "pilot-discovery did not start in 3 attempts (see $DIR/$ME.log)"
      log "pilot-discovery did not start (attempt $attempt of 3): again in 2 s"
      lock; stop_proc "$ME"; unlock
      sleep 2
    done
    # The readiness gate (kwok-stages.yaml): the istiod chart's simulated pods stand for this
    # process. They become Ready only now, so Helm's wait on the istiod release, and everything
    # ordered after it, waits for a webhook that answers. Pods the chart replaces later (an
    # upgrade) are released as they appear, for as long as pilot-discovery runs: after it has
    # been restarted when the upgrade changed the Deployment's env (one kubectl call per tick
    # reads both), so what is ordered after that upgrade meets the istiod it configured.
    log "releasing the istiod chart's pods (-l app=istiod,istio.io/rev=$REV_LABEL; testbed.local/ready=true) while pilot-discovery runs;" \
      "restarting it when the env of $NS/$DEPLOY changes"
    while :; do
      if ! ours "$ME" >/dev/null; then
        # Stopped for good, or by a restart (--restart holds the lock until its new start).
        flock -w 120 "$DIR/$ME.lock" true 8>&- || true
        ours "$ME" >/dev/null || break
      fi
      # The API server may be away for a moment (the outage scenario): then skip the tick.
      # Only this revision's pods (the revisionless chart's are istio.io/rev=default).
      # Pods listed first, then the Deployment (kubectl makes the calls in this order): a pod
      # seen was made from a Deployment at least as new as the one read after it, so an upgrade
      # that changes the env is seen in the tick that would release its new pod.
      if k -n "$NS" get pods,deployments -l "app=istiod,istio.io/rev=$REV_LABEL" -o go-template="$GATE_TPL" >"$S/gate.rec" 2>/dev/null; then
        parse_records "$S/gate.rec"
        pods=("${PODS[@]}")
        if [ "$SEEN" = 1 ] && [ "$(env_hash)" != "$(started_hash)" ]; then
          log "the env of $NS/$DEPLOY changed: restarting pilot-discovery"
          lock; stop_proc "$ME"; start_istiod; unlock
          ( wait_ready ) || log "pilot-discovery did not come back (see $DIR/$ME.log)"
        fi
        # Only in a tick that read the Deployment too: kubectl lists deployments and pods in two
        # calls, so a new chart's pod can be listed while its Deployment (and new env) was not
        # yet; released then, it would be Ready on the old env, before the restart.
        if [ "$SEEN" = 1 ]; then
          for pod in "${pods[@]}"; do
            k -n "$NS" annotate pod "$pod" testbed.local/ready=true --overwrite >/dev/null 2>&1 || true
          done
        fi
      fi
      sleep 0.5
    done
    log "pilot-discovery is gone: the watcher ends"
    rm -f "$DIR/$WATCH.pid"
    exit 0 ;;
esac
[ "$MODE" = stop ] || cat "$ENVF"
