# Shared by the test bed's build scripts (sourced, not run). Before sourcing, set TB_NAME (the
# script's short name, used in messages and the lock file) and CACHE.

log() { printf '[%s] %s\n' "$TB_NAME" "$*" >&2; }

# The Go toolchain, looked up only when something must be built (a warm run needs none).
GO=
need_go() {
  [ -z "$GO" ] || return 0
  if command -v go >/dev/null 2>&1; then GO=$(command -v go)
  elif [ -x /usr/local/go/bin/go ]; then GO=/usr/local/go/bin/go
  else echo "$TB_NAME.sh: no Go toolchain (go on PATH or /usr/local/go/bin/go)" >&2; exit 1; fi
  log "go: $("$GO" version)  cache: $CACHE"
}

# Serialize concurrent runs (two CI steps, two shells) on the same cache: holds fd 9 until exit.
lock_cache() {
  mkdir -p "$CACHE"
  exec 9>"$CACHE/.$TB_NAME.lock"
  flock 9
}
