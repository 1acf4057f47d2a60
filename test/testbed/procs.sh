# The processes a test-bed script runs for one cluster dir (sourced, not run): istiod-up.sh and
# linkerd-up.sh each start long-lived processes recorded as DIR/<name>.pid. Before sourcing, set
# DIR (the cluster dir of kube-up.sh) and define log(). Gives k (kubectl on DIR's cluster), ours
# and stop_proc.

# shellcheck disable=SC1091
[ -f "$DIR/env" ] && source "$DIR/env"   # KUBECTL, KUBE_BIN
KUBECTL=${KUBECTL:-$(command -v kubectl || true)}
k() { "$KUBECTL" --kubeconfig "$DIR/kubeconfig" "$@"; }

# ours NAME: prints the pid in DIR/NAME.pid if it is a live process started for this DIR (its
# command line names "DIR/"), so a recycled pid is never taken for ours.
ours() {
  local pid
  [ -f "$DIR/$1.pid" ] || return 1
  pid=$(tr -dc '0-9' <"$DIR/$1.pid")
  [ -n "$pid" ] && [ -r "/proc/$pid/cmdline" ] && tr '\0' '\n' <"/proc/$pid/cmdline" | grep -qF "$DIR/" \
    && [ "$(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null)" != Z ] && echo "$pid"
}

# stop_proc NAME: TERM, up to 15 s for it to exit, then KILL; removes DIR/NAME.pid.
stop_proc() {
  local pid t
  pid=$(ours "$1") || { rm -f "$DIR/$1.pid"; return 0; }
  kill -TERM "$pid" 2>/dev/null || true
  t=$(( SECONDS + 15 ))
  while ours "$1" >/dev/null && [ $SECONDS -lt $t ]; do sleep 0.2; done
  if ours "$1" >/dev/null; then kill -KILL "$pid" 2>/dev/null || true; sleep 0.3; fi
  rm -f "$DIR/$1.pid"
  log "stopped $1 (pid $pid)"
}
