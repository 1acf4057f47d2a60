#!/usr/bin/env bash
# Runs Linkerd's Go control plane (edge-26.8.3: identity, destination, proxy-injector,
# sp-validator; test/testbed/build-linkerd.sh builds it) on this machine, out of cluster, against
# the control plane of test/testbed/kube-up.sh DIR, as istiod-up.sh does for istiod. Every
# listener is on a free 127.0.0.1 port; the API server reaches the webhooks by URL on 127.0.0.1
# with a throwaway CA, never through a Service.
#
# Usage: test/testbed/linkerd-up.sh [MODE] DIR
#   --certs-only                 prepare only (CA, serving cert, ports, DIR/linkerd.env); nothing
#                                runs. Use it before rendering the charts (their values need it)
#   --when-control-plane-exists  prepare, then return at once, leaving a background watcher
#                                (DIR/linkerd-watch.{pid,log}) that starts the four components
#                                once the linkerd-control-plane chart's objects exist in namespace
#                                linkerd (ConfigMaps linkerd-config and linkerd-identity-trust-roots,
#                                Secret linkerd-identity-issuer), then releases the chart's pods
#                                (readiness gate below) and restarts the components when those
#                                objects change or are created anew (stops them while they are gone)
#   --restart                    stop the components (if running) and start them again now, same
#                                ports and certs, on the chart's objects as they are now
#   --wait                       wait until all four components run and answer
#   --stop                       stop the watcher and the components (kube-down.sh DIR does too)
#   (no mode)                    prepare, start the components now (the objects must exist), wait
#   -h, --help                   print this help
#
# "Prepare" is idempotent: DIR/linkerd/certs keeps the CA and serving cert, DIR/linkerd.env the
# ports, so the URLs handed to the charts stay valid across restarts (delete DIR/linkerd.env for
# new ports). Every mode but --stop prints DIR/linkerd.env (KEY=VALUE, shell-sourceable):
#   LINKERD_INJECTOR_URL          https://127.0.0.1:P/  proxy-injector webhook
#   LINKERD_SP_VALIDATOR_URL      https://127.0.0.1:P/  sp-validator (ServiceProfile) webhook
#   LINKERD_POLICY_VALIDATOR_URL  https://127.0.0.1:P/  nothing listens there: the policy
#                                 controller is Rust and not built; with the chart's default
#                                 webhookFailurePolicy=Ignore the API server admits the requests
#   LINKERD_WEBHOOK_CA_PEM_FILE   the webhooks' CA, PEM (the caBundle values take PEM text)
#   LINKERD_TRUST_ANCHORS_PEM_FILE, LINKERD_ISSUER_CRT_PEM_FILE, LINKERD_ISSUER_KEY_PEM_FILE
#                                 a throwaway identity PKI (ECDSA P-256 trust anchor; issuer CA
#                                 CN identity.linkerd.cluster.local, pathlen 0, signed by it),
#                                 offered for the values below; the components use what the
#                                 chart installs, whatever its origin
#   LINKERD_IDENTITY_ADDR         127.0.0.1:P  identity gRPC, plaintext (linkerd-probe certify)
#   LINKERD_DESTINATION_ADDR      127.0.0.1:P  destination gRPC, plaintext (linkerd-probe get)
#   LINKERD_{IDENTITY,DESTINATION,INJECTOR,SP_VALIDATOR}_ADMIN  http://127.0.0.1:P (/ready, /metrics)
#   LINKERD_NAMESPACE (linkerd), LINKERD_CONTROLLER, LINKERD_PROBE, LINKERD_CHARTS
# linkerd-control-plane chart values that point the webhooks here (see build-linkerd.sh):
#   testbedWebhookURLs.proxyInjector=$LINKERD_INJECTOR_URL  proxyInjector.caBundle=<PEM>
#   testbedWebhookURLs.profileValidator=$LINKERD_SP_VALIDATOR_URL  profileValidator.caBundle=<PEM>
#   testbedWebhookURLs.policyValidator=$LINKERD_POLICY_VALIDATOR_URL  policyValidator.caBundle=<PEM>
#   identityTrustAnchorsPEM=<anchor PEM>  identity.issuer.tls.crtPEM=<PEM>  identity.issuer.tls.keyPEM=<PEM>
#   podAnnotations: {testbed.local/ready-when: linkerd}   (the readiness gate)
# and the linkerd-crds chart first (destination needs its CRDs). Namespace linkerd as
# `linkerd install` makes it: labels linkerd.io/is-control-plane=true,
# config.linkerd.io/admission-webhooks=disabled, linkerd.io/control-plane-ns=linkerd,
# pod-security.kubernetes.io/enforce=privileged, annotation linkerd.io/inject=disabled (the chart
# renders that Namespace only for the CLI, never under Helm).
#
# Each component runs as in its pod: the args of its container in the chart's Deployment
# (linkerd-identity/identity, linkerd-destination/destination and sp-validator,
# linkerd-proxy-injector/proxy-injector), read at each start (so chart values such as the trust
# domain, issuance lifetime, log level reach it; without the Deployment, the chart's defaults),
# minus the addresses, which are the test bed's: -addr, -admin-addr, -metrics-addr on 127.0.0.1,
# -kubeconfig DIR/kubeconfig, identity's -issuer. Its mounted files are laid out under its
# working directory DIR/linkerd/<component> (the build patches /var/run/linkerd to the relative
# var/run/linkerd): config/values (linkerd-config), identity/trust-roots/ca-bundle.crt,
# identity/issuer/* (the issuer Secret's keys), tls/tls.{crt,key} (the serving cert above).
# Logs DIR/linkerd-<component>.log, pids DIR/linkerd-<component>.pid.
#
# Readiness gate (kwok-stages.yaml): pods in namespace linkerd annotated testbed.local/ready-when
# stand for these processes; once all four answer, the watcher annotates them
# testbed.local/ready=true (and each new one, while the components run).
#
# Binaries from build-linkerd.sh (built if missing), or $LINKERD_DIR. Timeout for readiness:
# $LINKERD_UP_TIMEOUT s (default 60); the watcher gives up after $LINKERD_WATCH_TIMEOUT s
# (default 3600) without the chart's objects. Starts and stops hold DIR/linkerd.lock.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=pki.sh
. "$HERE/pki.sh"
usage() { sed -n '8,23p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; }
MODE=start
while [ $# -gt 0 ]; do
  case $1 in
    -h|--help) usage; exit 0 ;;
    --certs-only) MODE=certs ;;
    --when-control-plane-exists) MODE=watch ;;
    --restart) MODE=restart ;;
    --wait) MODE=wait ;;
    --stop) MODE=stop ;;
    --_watcher) MODE=_watcher ;;   # internal: the background watcher itself
    -*) echo "linkerd-up.sh: unknown argument: $1" >&2; usage >&2; exit 2 ;;
    *) break ;;
  esac
  shift
done
[ $# -eq 1 ] || { usage >&2; exit 2; }
[ -d "$1" ] || { echo "linkerd-up.sh: $1: no such directory (run kube-up.sh first)" >&2; exit 2; }
DIR=$(cd "$1" && pwd)
TIMEOUT=${LINKERD_UP_TIMEOUT:-60}
NS=linkerd
ENVF=$DIR/linkerd.env
CERTS=$DIR/linkerd/certs
WATCH=linkerd-watch
COMPONENTS=(identity destination proxy-injector sp-validator)

log() { printf '[linkerd-up %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

# shellcheck source=procs.sh
. "$HERE/procs.sh"   # k, ours, stop_proc

# Starts and stops hold DIR/linkerd.lock (fd 8; the components must not inherit it).
lock() { exec 8>"$DIR/linkerd.lock"; flock -w 120 8 || die "$DIR/linkerd.lock held for 120s"; }
unlock() { exec 8>&-; }

# --- binaries --------------------------------------------------------------------------------------
find_bins() {
  if [ -z "${LINKERD_DIR:-}" ]; then
    local v cache
    v=$(sed -n 's/^LINKERD_VERSION=\(.*\)$/\1/p' "$HERE/build-linkerd.sh")
    cache=${SERVICE_MESH_TESTBED_CACHE:-$HOME/.cache/service-mesh-testbed}
    LINKERD_DIR=$cache/linkerd-$v
    if [ ! -x "$LINKERD_DIR/bin/controller" ] || [ ! -x "$LINKERD_DIR/bin/linkerd-probe" ] \
       || [ ! -f "$LINKERD_DIR/charts/linkerd-control-plane/Chart.yaml" ]; then
      LINKERD_DIR=$("$HERE/build-linkerd.sh" | sed -n 's/^LINKERD_DIR=//p')
    fi
  fi
  CONTROLLER=$LINKERD_DIR/bin/controller
  PROBE=$LINKERD_DIR/bin/linkerd-probe
  [ -x "$CONTROLLER" ] || die "missing $CONTROLLER (test/testbed/build-linkerd.sh builds it)"
}

# --- prepare: CA, serving cert, ports, env file --------------------------------------------------------
# shellcheck source=ports.sh
. "$HERE/ports.sh"
prepare() {
  find_bins
  if [ -f "$ENVF" ] && [ -s "$CERTS/tls.crt" ] && [ -s "$CERTS/tls.key" ] && [ -s "$CERTS/ca.crt" ] \
     && [ -s "$CERTS/issuer.key" ] && grep -q '^LINKERD_ISSUER_KEY_PEM_FILE=' "$ENVF"; then
    return 0
  fi
  mkdir -p "$CERTS"; chmod 700 "$DIR/linkerd" "$CERTS"
  if [ ! -s "$CERTS/tls.crt" ] || [ ! -s "$CERTS/tls.key" ] || [ ! -s "$CERTS/ca.crt" ]; then
    log "generating the webhooks' throwaway CA and serving certificate in $CERTS"
    pki_ca "$CERTS" ca service-mesh-testbed-linkerd-webhook-ca
    # SANs: 127.0.0.1 (the URLs) and the Services' names, as the chart's own certs have.
    pki_sign "$CERTS" ca tls "/CN=linkerd-proxy-injector.$NS.svc" serverAuth \
      "IP:127.0.0.1,DNS:localhost,DNS:linkerd-proxy-injector.$NS.svc,DNS:linkerd-sp-validator.$NS.svc,DNS:linkerd-policy-validator.$NS.svc"
  fi
  if [ ! -s "$CERTS/trust-anchor.crt" ] || [ ! -s "$CERTS/issuer.crt" ] || [ ! -s "$CERTS/issuer.key" ]; then
    identity_pki
  fi
  local name p
  {
    for name in IDENTITY_GRPC IDENTITY_ADMIN DESTINATION_GRPC DESTINATION_ADMIN INJECTOR INJECTOR_ADMIN \
                SP_VALIDATOR SP_VALIDATOR_ADMIN POLICY_VALIDATOR; do
      p=$(free_port); USED_PORTS+="$p "
      printf -v "P_$name" %s "$p"
    done
    echo "LINKERD_INJECTOR_URL=https://127.0.0.1:$P_INJECTOR/"
    echo "LINKERD_SP_VALIDATOR_URL=https://127.0.0.1:$P_SP_VALIDATOR/"
    echo "LINKERD_POLICY_VALIDATOR_URL=https://127.0.0.1:$P_POLICY_VALIDATOR/"
    echo "LINKERD_WEBHOOK_CA_PEM_FILE=$CERTS/ca.crt"
    echo "LINKERD_TRUST_ANCHORS_PEM_FILE=$CERTS/trust-anchor.crt"
    echo "LINKERD_ISSUER_CRT_PEM_FILE=$CERTS/issuer.crt"
    echo "LINKERD_ISSUER_KEY_PEM_FILE=$CERTS/issuer.key"
    echo "LINKERD_IDENTITY_ADDR=127.0.0.1:$P_IDENTITY_GRPC"
    echo "LINKERD_DESTINATION_ADDR=127.0.0.1:$P_DESTINATION_GRPC"
    echo "LINKERD_IDENTITY_ADMIN=http://127.0.0.1:$P_IDENTITY_ADMIN"
    echo "LINKERD_DESTINATION_ADMIN=http://127.0.0.1:$P_DESTINATION_ADMIN"
    echo "LINKERD_INJECTOR_ADMIN=http://127.0.0.1:$P_INJECTOR_ADMIN"
    echo "LINKERD_SP_VALIDATOR_ADMIN=http://127.0.0.1:$P_SP_VALIDATOR_ADMIN"
    echo "LINKERD_NAMESPACE=$NS"
    echo "LINKERD_CONTROLLER=$CONTROLLER"
    echo "LINKERD_PROBE=$PROBE"
    echo "LINKERD_CHARTS=$LINKERD_DIR/charts"
  } >"$ENVF.tmp"
  mv "$ENVF.tmp" "$ENVF"
  log "wrote $ENVF"
}

# The mesh's identity PKI, as Linkerd wants it (ECDSA P-256, like `step certificate create
# root.linkerd.cluster.local --profile root-ca` and `identity.linkerd.cluster.local --profile
# intermediate-ca`): a trust anchor and an issuer CA (pathlen 0) signed by it, one year. Offered
# for the chart values identityTrustAnchorsPEM and identity.issuer.tls.{crtPEM,keyPEM}; the
# components use whatever the chart installs.
identity_pki() {
  local d=$CERTS
  PKI_DIR=$d
  log "generating a throwaway identity trust anchor and issuer (ECDSA P-256) in $d"
  pki_ossl ecparam -name prime256v1 -genkey -noout -out "$d/trust-anchor.key"
  pki_ossl req -x509 -new -key "$d/trust-anchor.key" -sha256 -days 365 -subj "/CN=root.linkerd.cluster.local" \
    -addext "basicConstraints=critical,CA:TRUE,pathlen:1" -addext "keyUsage=critical,keyCertSign,cRLSign" \
    -out "$d/trust-anchor.crt"
  pki_ossl ecparam -name prime256v1 -genkey -noout -out "$d/issuer.key"
  pki_ossl req -new -key "$d/issuer.key" -subj "/CN=identity.linkerd.cluster.local" -out "$d/issuer.csr"
  printf '%s\n' "basicConstraints=critical,CA:TRUE,pathlen:0" "keyUsage=critical,keyCertSign,cRLSign" >"$d/issuer.ext"
  pki_ossl x509 -req -in "$d/issuer.csr" -CA "$d/trust-anchor.crt" -CAkey "$d/trust-anchor.key" -CAcreateserial \
    -days 365 -sha256 -extfile "$d/issuer.ext" -out "$d/issuer.crt"
  rm -f "$d/issuer.csr" "$d/issuer.ext"
}

hostport() { local u=${1#*://}; u=${u%%/*}; echo "${u##*:}"; }
load_env() {
  # shellcheck disable=SC1090
  source "$ENVF"
  CONTROLLER=$LINKERD_CONTROLLER
  declare -gA LISTEN ADMIN
  LISTEN=([identity]=$(hostport "$LINKERD_IDENTITY_ADDR") [destination]=$(hostport "$LINKERD_DESTINATION_ADDR")
          [proxy-injector]=$(hostport "$LINKERD_INJECTOR_URL") [sp-validator]=$(hostport "$LINKERD_SP_VALIDATOR_URL"))
  ADMIN=([identity]=$(hostport "$LINKERD_IDENTITY_ADMIN") [destination]=$(hostport "$LINKERD_DESTINATION_ADMIN")
         [proxy-injector]=$(hostport "$LINKERD_INJECTOR_ADMIN") [sp-validator]=$(hostport "$LINKERD_SP_VALIDATOR_ADMIN"))
}

# --- the chart's objects ---------------------------------------------------------------------------
# One kubectl call per watcher tick lists what the watcher needs, one record per line:
#   obj KIND/NAME UID RESOURCEVERSION   for the three objects the components read
#   pod NAME                            for each gated pod not yet released
# shellcheck disable=SC2016 # $r, $k, $v are template variables
STATE_TPL='{{range .items}}{{if eq .kind "Pod"}}{{$w := ""}}{{$r := ""}}{{range $k, $v := .metadata.annotations}}{{if eq $k "testbed.local/ready-when"}}{{$w = $v}}{{end}}{{if eq $k "testbed.local/ready"}}{{$r = $v}}{{end}}{{end}}{{if and (ne $w "") (ne $r "true") (not .metadata.deletionTimestamp)}}pod {{.metadata.name}}{{"\n"}}{{end}}{{else if or (eq .metadata.name "linkerd-config") (eq .metadata.name "linkerd-identity-trust-roots") (eq .metadata.name "linkerd-identity-issuer")}}obj {{.kind}}/{{.metadata.name}} {{.metadata.uid}} {{.metadata.resourceVersion}}{{"\n"}}{{end}}{{end}}'
read_state() { # -> FP (fingerprint of the three objects, "" unless all exist), PODS; fails if the API server does
  local out
  out=$(k -n "$NS" get pods,configmaps,secrets -o go-template="$STATE_TPL" 2>/dev/null) || return 1
  PODS=()
  local objs
  objs=$(grep '^obj ' <<<"$out" | sort || true)
  if [ "$(grep -c . <<<"$objs")" = 3 ]; then FP=$(echo "$objs" | sha256sum | cut -c1-16); else FP=; fi
  mapfile -t PODS < <(sed -n 's/^pod //p' <<<"$out")
}
started_fp() { cat "$DIR/linkerd.started" 2>/dev/null || true; }

# Container args of the chart's Deployment, one per line, without the ones the test bed sets.
chart_args() { # deployment container -> lines; empty if absent
  k -n "$NS" get deployment "$1" --ignore-not-found \
    -o go-template='{{range .spec.template.spec.containers}}{{if eq .name "'"$2"'"}}{{range .args}}{{.}}{{"\n"}}{{end}}{{end}}{{end}}' 2>/dev/null \
    | sed '1{/^[a-z-]*$/d}' \
    | grep -vE '^--?(addr|admin-addr|metrics-addr|kubeconfig|issuer)(=|$)' || true
}
default_args() { # component -> the chart's args with its default values
  case $1 in
    identity) printf '%s\n' -controller-namespace=$NS -identity-trust-domain=cluster.local \
      -identity-issuance-lifetime=24h0m0s -identity-clock-skew-allowance=20s -identity-scheme=linkerd.io/tls ;;
    destination) printf '%s\n' -controller-namespace=$NS -cluster-domain=cluster.local \
      -identity-trust-domain=cluster.local -default-opaque-ports=25,587,3306,4444,5432,6379,9300,11211 ;;
    proxy-injector) printf '%s\n' -linkerd-namespace=$NS ;;
    sp-validator) ;;
  esac
}

# Lays out each component's working directory from the chart's objects as they are now.
layout() {
  local base=$DIR/linkerd c d key val
  for c in "${COMPONENTS[@]}"; do
    rm -rf "$base/$c/var"; mkdir -p "$base/$c/var/run/linkerd"
  done
  # trust roots: identity and the injector
  for c in identity proxy-injector; do
    d=$base/$c/var/run/linkerd/identity/trust-roots; mkdir -p "$d"
    k -n "$NS" get configmap linkerd-identity-trust-roots -o go-template='{{index .data "ca-bundle.crt"}}' >"$d/ca-bundle.crt" \
      || return 1
  done
  # the injector's values (ConfigMap linkerd-config, key values)
  d=$base/proxy-injector/var/run/linkerd/config; mkdir -p "$d"
  k -n "$NS" get configmap linkerd-config -o go-template='{{index .data "values"}}' >"$d/values" || return 1
  [ -s "$d/values" ] || { log "ConfigMap $NS/linkerd-config has no key 'values'"; return 1; }
  # the issuer's credentials: every key of the Secret (crt.pem/key.pem for the chart's
  # linkerd.io/tls scheme, tls.crt/tls.key for kubernetes.io/tls)
  d=$base/identity/var/run/linkerd/identity/issuer; mkdir -p "$d"; chmod 700 "$d"
  # shellcheck disable=SC2016
  while read -r key val; do
    [[ $key =~ ^[A-Za-z0-9._-]+$ ]] || continue
    base64 -d <<<"$val" >"$d/$key"
  done < <(k -n "$NS" get secret linkerd-identity-issuer -o go-template='{{range $k, $v := .data}}{{$k}} {{$v}}{{"\n"}}{{end}}')
  # the webhooks' serving cert
  for c in proxy-injector sp-validator; do
    d=$base/$c/var/run/linkerd/tls; mkdir -p "$d"; chmod 700 "$d"
    cp "$CERTS/tls.crt" "$d/tls.crt"; cp "$CERTS/tls.key" "$d/tls.key"
  done
}

start_component() { # component
  local c=$1 deploy container args=() extra=() a
  case $c in
    identity) deploy=linkerd-identity; container=identity
      extra=(-addr="127.0.0.1:${LISTEN[$c]}" -admin-addr="127.0.0.1:${ADMIN[$c]}" -issuer=var/run/linkerd/identity/issuer) ;;
    destination) deploy=linkerd-destination; container=destination
      extra=(-addr="127.0.0.1:${LISTEN[$c]}" -metrics-addr="127.0.0.1:${ADMIN[$c]}") ;;
    proxy-injector) deploy=linkerd-proxy-injector; container=proxy-injector
      extra=(-addr="127.0.0.1:${LISTEN[$c]}" -metrics-addr="127.0.0.1:${ADMIN[$c]}") ;;
    sp-validator) deploy=linkerd-destination; container=sp-validator
      extra=(-addr="127.0.0.1:${LISTEN[$c]}" -metrics-addr="127.0.0.1:${ADMIN[$c]}") ;;
  esac
  mapfile -t args < <(chart_args "$deploy" "$container")
  local from="$NS/$deploy"
  if [ ${#args[@]} -eq 0 ]; then mapfile -t args < <(default_args "$c"); from="the chart's defaults (no $NS/$deploy)"; fi
  for a in "${LISTEN[$c]}" "${ADMIN[$c]}"; do
    local t=$(( SECONDS + 15 ))
    while port_listened "$a"; do
      [ $SECONDS -lt $t ] || { log "port 127.0.0.1:$a of $ENVF has a listener; stop it or delete $ENVF"; return 1; }
      sleep 0.5
    done
  done
  log "starting $c (args from $from: ${args[*]}; log $DIR/linkerd-$c.log)"
  # env -i keeps the host's proxy variables out; HOSTNAME names destination's lease holder.
  setsid env -i -C "$DIR/linkerd/$c" PATH=/usr/bin:/bin HOME="$DIR/linkerd/$c" HOSTNAME="linkerd-$c-testbed" \
    "$CONTROLLER" "$c" "${args[@]}" "${extra[@]}" -kubeconfig="$DIR/kubeconfig" \
    </dev/null >>"$DIR/linkerd-$c.log" 2>&1 8>&- &
  echo $! >"$DIR/linkerd-$c.pid"
}

start_all() { # needs the lock; fails if the chart's objects are missing
  load_env
  [ -f "$DIR/kubeconfig" ] || die "$DIR/kubeconfig not found (kube-up.sh $DIR)"
  local fp=${1:-}
  if [ -z "$fp" ]; then read_state || die "cannot reach the API server"; fp=$FP; fi
  [ -n "$fp" ] || { log "the chart's objects are not all in namespace $NS (ConfigMaps linkerd-config," \
    "linkerd-identity-trust-roots, Secret linkerd-identity-issuer): install linkerd-control-plane first"; return 1; }
  k get crd servers.policy.linkerd.io serviceprofiles.linkerd.io externalworkloads.workload.linkerd.io >/dev/null 2>&1 \
    || log "note: Linkerd's CRDs (linkerd-crds chart) are missing: destination will not become ready without them"
  layout || { log "could not read the chart's objects"; return 1; }
  local c
  for c in "${COMPONENTS[@]}"; do
    if ours "linkerd-$c" >/dev/null; then log "$c already running (pid $(ours "linkerd-$c"))"; continue; fi
    start_component "$c" || return 1
  done
  echo "$fp" >"$DIR/linkerd.started"
}
stop_all() { local c; for c in "${COMPONENTS[@]}"; do stop_proc "linkerd-$c"; done; rm -f "$DIR/linkerd.started"; }
all_running() { local c; for c in "${COMPONENTS[@]}"; do ours "linkerd-$c" >/dev/null || return 1; done; }

answers() { # component -> true if its admin server is /ready and its listener answers
  local c=$1
  curl -fsS -o /dev/null --max-time 2 "http://127.0.0.1:${ADMIN[$c]}/ready" 2>/dev/null || return 1
  case $c in
    proxy-injector|sp-validator)   # a TLS handshake with our serving cert (no request: an
      # empty one makes the webhook log a warning)
      timeout 3 openssl s_client -connect "127.0.0.1:${LISTEN[$c]}" -CAfile "$CERTS/ca.crt" \
        -verify_ip 127.0.0.1 -verify_return_error </dev/null >/dev/null 2>&1 ;;
    *) port_listened "${LISTEN[$c]}" ;;
  esac
}
all_answer() { local c; for c in "${COMPONENTS[@]}"; do answers "$c" || return 1; done; }

wait_ready() {
  load_env
  local deadline=$(( SECONDS + TIMEOUT )) t0=$SECONDS c
  for c in "${COMPONENTS[@]}"; do
    until answers "$c"; do
      if ! ours "linkerd-$c" >/dev/null; then
        tail -n 20 "$DIR/linkerd-$c.log" >&2 || true
        log "$c is not running (see $DIR/linkerd-$c.log)"; return 1
      fi
      [ $SECONDS -lt $deadline ] || { tail -n 20 "$DIR/linkerd-$c.log" >&2; log "$c not ready after ${TIMEOUT}s"; return 1; }
      sleep 0.2
    done
  done
  log "identity, destination, proxy-injector and sp-validator answer (waited $((SECONDS - t0))s)"
}

case $MODE in
  certs)
    prepare ;;
  start)
    prepare; lock; start_all || die "not started"; unlock; wait_ready || exit 1 ;;
  restart)
    prepare; lock; stop_all; start_all || die "not started"; unlock; wait_ready || exit 1 ;;
  wait)
    [ -f "$ENVF" ] || die "$ENVF not found"
    deadline=$(( SECONDS + ${LINKERD_WATCH_TIMEOUT:-3600} ))
    until all_running; do
      ours "$WATCH" >/dev/null || die "the components are not running (watcher log: $DIR/$WATCH.log)"
      [ $SECONDS -lt $deadline ] || die "timed out waiting for the watcher to start the components"
      sleep 0.5
    done
    wait_ready || exit 1 ;;
  stop)
    stop_proc "$WATCH"; lock; stop_all; unlock ;;
  watch)
    prepare
    if ours "$WATCH" >/dev/null; then die "a watcher is already running (pid $(ours "$WATCH"))"; fi
    # The watcher's command line names "$DIR/" so kube-down.sh recognises it as ours.
    setsid bash "${BASH_SOURCE[0]}" --_watcher "$DIR/" </dev/null >"$DIR/$WATCH.log" 2>&1 &
    echo $! >"$DIR/$WATCH.pid"
    log "watcher started (pid $!, log $DIR/$WATCH.log): the components start when the" \
      "linkerd-control-plane chart's objects exist in namespace $NS"
    ;;
  _watcher)
    load_env
    deadline=$(( SECONDS + ${LINKERD_WATCH_TIMEOUT:-3600} ))
    log "waiting for ConfigMaps linkerd-config, linkerd-identity-trust-roots and Secret linkerd-identity-issuer in $NS"
    released=0
    while [ -f "$DIR/kubeconfig" ]; do
      if ! read_state; then sleep 1; continue; fi   # API server away for a moment: skip the tick
      if [ -n "$FP" ]; then
        deadline=$(( SECONDS + ${LINKERD_WATCH_TIMEOUT:-3600} ))
        lock
        if [ "$FP" != "$(started_fp)" ] || ! all_running; then
          if [ -n "$(started_fp)" ] && [ "$FP" != "$(started_fp)" ]; then
            log "the chart's objects changed (or were created anew): restarting the components"
          fi
          # The Deployments (the components' args) come after the ConfigMaps and Secret in
          # Helm's kind order: give them a moment on a first start.
          if [ -z "$(started_fp)" ]; then
            for _ in $(seq 1 20); do k -n "$NS" get deployment linkerd-identity linkerd-destination linkerd-proxy-injector >/dev/null 2>&1 && break; sleep 0.25; done
          fi
          stop_all
          if start_all "$FP"; then
            unlock
            wait_ready || log "the components do not all answer yet (see $DIR/linkerd-*.log)"
          else
            unlock; sleep 2
          fi
          continue
        fi
        unlock
        if [ ${#PODS[@]} -gt 0 ] && all_answer; then
          for pod in "${PODS[@]}"; do
            k -n "$NS" annotate pod "$pod" testbed.local/ready=true --overwrite >/dev/null 2>&1 \
              && released=$((released + 1)) && log "released pod $NS/$pod"
          done
        fi
      else
        if [ -n "$(started_fp)" ]; then
          log "the chart's objects are gone (stack destroyed?): stopping the components until they return"
          lock; stop_all; unlock
        fi
        [ $SECONDS -lt $deadline ] || { log "gave up after ${LINKERD_WATCH_TIMEOUT:-3600}s without the chart's objects"; break; }
      fi
      sleep 1
    done
    rm -f "$DIR/$WATCH.pid"
    exit 0 ;;
esac
[ "$MODE" = stop ] || cat "$ENVF"
