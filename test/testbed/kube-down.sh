#!/usr/bin/env bash
# Stops the control plane that test/testbed/kube-up.sh started in DIR, and whatever
# cluster-up.sh (kube-scheduler, kwok), istiod-up.sh (pilot-discovery and its start-later
# watcher, the revisionless one and each revision's) and linkerd-up.sh (its watcher and the
# Linkerd components) started there.
#
# Usage: test/testbed/kube-down.sh [--purge] DIR
#   --purge   also delete DIR afterwards
#
# Only the processes recorded in DIR/{linkerd-watch,linkerd-COMPONENT,istiod-watch,istiod-watch-REV,istiod,istiod-REV,kwok,
# kube-scheduler,kube-controller-manager,kube-apiserver,etcd}.pid are signalled, and only if that pid is still the process kube-up started (its command line names
# a path inside DIR), so a recycled pid is never hit. Each gets SIGTERM, then SIGKILL after
# $KUBE_DOWN_GRACE seconds (default 10). Safe to run twice, or when nothing is running.
set -euo pipefail

PURGE=0
if [ "${1:-}" = --purge ]; then PURGE=1; shift; fi
[ $# -eq 1 ] || { echo "usage: $0 [--purge] DIR" >&2; exit 2; }
[ -d "$1" ] || { echo "[kube-down] $1: no such directory, nothing to stop" >&2; exit 0; }
DIR=$(cd "$1" && pwd)
GRACE=${KUBE_DOWN_GRACE:-10}

log() { printf '[kube-down] %s\n' "$*" >&2; }

ours() { # pid -> true if it is alive and was started by kube-up for this DIR
  [ -r "/proc/$1/cmdline" ] && tr '\0' '\n' <"/proc/$1/cmdline" | grep -qF "$DIR/"
}

# istiod-up.sh's revisions (--revision REV): DIR/istiod-watch-REV.pid and DIR/istiod-REV.pid.
watchers=() istiods=()
for f in "$DIR"/istiod-*.pid; do
  [ -e "$f" ] || continue
  c=$(basename "$f" .pid)
  case $c in
    istiod-watch) ;;
    istiod-watch-*) watchers+=("$c") ;;
    *) istiods+=("$c") ;;
  esac
done
# Reverse start order: Linkerd's watcher and components (linkerd-up.sh), istiod's watchers (so
# they cannot start istiod meanwhile), every istiod, kwok, scheduler, controller manager, API
# server, etcd.
for c in linkerd-watch linkerd-identity linkerd-destination linkerd-proxy-injector linkerd-sp-validator istiod-watch "${watchers[@]}" istiod "${istiods[@]}" kwok kube-scheduler kube-controller-manager kube-apiserver etcd; do
  f=$DIR/$c.pid
  [ -f "$f" ] || continue
  pid=$(tr -dc '0-9' <"$f")
  if [ -z "$pid" ] || ! ours "$pid"; then
    log "$c: not running"
    rm -f "$f"; continue
  fi
  kill -TERM "$pid" 2>/dev/null || true
  t=$(( SECONDS + GRACE ))
  while ours "$pid" && [ $SECONDS -lt $t ]; do
    # a zombie (reaped only when its parent exits) counts as stopped
    [ "$(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null)" = Z ] && break
    sleep 0.2
  done
  if ours "$pid" && [ "$(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null)" != Z ]; then
    log "$c (pid $pid) ignored SIGTERM for ${GRACE}s; sending SIGKILL"
    kill -KILL "$pid" 2>/dev/null || true
    sleep 0.5
  fi
  log "$c (pid $pid) stopped"
  rm -f "$f"
done

if [ "$PURGE" = 1 ]; then
  rm -rf "$DIR"
  log "removed $DIR"
fi
