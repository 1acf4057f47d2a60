#!/usr/bin/env bash
# Takes the test bed's kube-apiserver away and brings it back, for the API-server outage
# scenario: etcd, the scheduler, KWOK and istiod keep running and reconnect on their own, as they
# would to a real control plane that restarts; the controller manager is restarted once the API
# server is ready (see restart_kcm).
#
# Usage: test/testbed/apiserver.sh stop|start DIR     (DIR as given to kube-up.sh)
#   stop    records the running API server's command line in DIR/kube-apiserver.cmdline, then
#           SIGKILLs it (a crash, not a graceful drain: in-flight requests are cut, as when the
#           control plane's machine dies) and waits until it is gone
#   start   starts it again from DIR/kube-apiserver.cmdline (same flags: same port, certificates
#           and etcd), appending to DIR/kube-apiserver.log, and waits for /readyz (timeout
#           $APISERVER_TIMEOUT s, default 60)
# Only the process recorded in DIR/kube-apiserver.pid is signalled, and only if its command line
# names a path inside DIR (as in kube-down.sh). Prints the seconds each step took.
set -euo pipefail

[ $# -eq 2 ] || { echo "usage: $0 stop|start DIR" >&2; exit 2; }
MODE=$1
DIR=$(cd "$2" && pwd)
PIDF=$DIR/kube-apiserver.pid
CMDF=$DIR/kube-apiserver.cmdline
TIMEOUT=${APISERVER_TIMEOUT:-60}

log() { printf '[apiserver] %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }
since() { awk -v a="$1" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }'; }
ours() { # pid -> true if alive (not a zombie) and started for this DIR
  [ -r "/proc/$1/cmdline" ] && tr '\0' '\n' <"/proc/$1/cmdline" | grep -qF "$DIR/" \
    && [ "$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null)" != Z ]
}

# The test bed runs kube-controller-manager with --leader-elect=false. On a real control plane it
# holds a lease whose renew deadline (10 s) an outage like this one outlasts, so it exits and is
# restarted. Left running, its EndpointSlice controller stayed stale once (a CI run, 2026-12-04:
# its watches were refused with 403 while the new API server bootstrapped RBAC; "EndpointSlice
# informer cache is out of date" for minutes, and every later Service got no endpoints). So it is
# restarted here, with the same command line, as a lost lease would restart it.
restart_kcm() {
  local pidf=$DIR/kube-controller-manager.pid kpid port=""
  kpid=$(tr -dc '0-9' <"$pidf" 2>/dev/null || true)
  [ -n "$kpid" ] && ours "$kpid" || { log "kube-controller-manager not running; not restarted"; return 0; }
  local t1=$EPOCHREALTIME kargs
  mapfile -d '' kargs <"/proc/$kpid/cmdline"
  for ((i = 0; i < ${#kargs[@]}; i++)); do
    [ "${kargs[$i]}" = --secure-port ] && port=${kargs[$((i + 1))]}
  done
  kill -TERM "$kpid"
  for _ in $(seq 100); do ours "$kpid" || break; sleep 0.1; done
  ours "$kpid" && kill -KILL "$kpid"
  while ours "$kpid"; do sleep 0.05; done
  setsid "${kargs[@]}" </dev/null >>"$DIR/kube-controller-manager.log" 2>&1 &
  echo $! >"$pidf"
  local deadline=$(( SECONDS + TIMEOUT ))
  until curl -fsS -k "https://127.0.0.1:${port:?no --secure-port}/healthz" >/dev/null 2>&1; do
    ours "$(cat "$pidf")" || { tail -n 30 "$DIR/kube-controller-manager.log" >&2; die "kube-controller-manager exited"; }
    [ $SECONDS -lt $deadline ] || die "kube-controller-manager not healthy after ${TIMEOUT}s"
    sleep 0.2
  done
  log "kube-controller-manager (pid $(cat "$pidf")) restarted in $(since "$t1") s, as a lost leader lease would"
}

case $MODE in
  stop)
    [ -f "$PIDF" ] || die "no $PIDF"
    pid=$(tr -dc '0-9' <"$PIDF")
    ours "$pid" || die "kube-apiserver (pid ${pid:-?}) of $DIR is not running"
    cp "/proc/$pid/cmdline" "$CMDF"
    t0=$EPOCHREALTIME
    kill -KILL "$pid"
    while ours "$pid"; do sleep 0.05; done
    rm -f "$PIDF"
    log "kube-apiserver (pid $pid) killed in $(since "$t0") s"
    ;;
  start)
    [ -s "$CMDF" ] || die "no $CMDF: stop it with this script first"
    if [ -f "$PIDF" ] && pid=$(tr -dc '0-9' <"$PIDF") && [ -n "$pid" ] && ours "$pid"; then
      die "kube-apiserver (pid $pid) is already running"
    fi
    mapfile -d '' args <"$CMDF"
    t0=$EPOCHREALTIME
    setsid "${args[@]}" </dev/null >>"$DIR/kube-apiserver.log" 2>&1 &
    echo $! >"$PIDF"
    # shellcheck disable=SC1091
    source "$DIR/env"   # KUBE_API_URL
    P=$DIR/pki
    deadline=$(( SECONDS + TIMEOUT ))
    until curl -fsS --cacert "$P/ca.crt" --cert "$P/admin.crt" --key "$P/admin.key" \
        "$KUBE_API_URL/readyz" >/dev/null 2>&1; do
      ours "$(cat "$PIDF")" || { tail -n 30 "$DIR/kube-apiserver.log" >&2; die "kube-apiserver exited"; }
      [ $SECONDS -lt $deadline ] || die "kube-apiserver not ready after ${TIMEOUT}s"
      sleep 0.2
    done
    log "kube-apiserver (pid $(cat "$PIDF")) ready in $(since "$t0") s"
    restart_kcm
    ;;
  *) die "unknown mode $MODE (stop or start)" ;;
esac
