# Shared by the test bed's build scripts (sourced, not run). Before sourcing, set TB_NAME (the
# script's short name, used in messages and the lock file) and CACHE.

log() { printf '[%s] %s\n' "$TB_NAME" "$*" >&2; }

# shellcheck source=standin.sh
source "$(dirname "${BASH_SOURCE[0]}")/standin.sh"

# The Go toolchain, looked up only when something must be built (a warm run needs none). A
# stand-in build (standin.sh) uses none: GO=false, so a go call that slipped past the stand-in
# steps fails the run.
GO=
need_go() {
  [ -z "$GO" ] || return 0
  if standin_build; then GO=false; log "stand-in build (TESTBED_STANDIN_BUILD=1): no Go toolchain"; return 0; fi
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

# The build scripts' shared flags: --update-modules (regenerate the wrapper modules' go.mod and
# go.sum, then build), --force (rebuild even when cached), -h/--help (print the header's usage
# lines, given as a sed range). Sets UPDATE and FORCE.
parse_build_args() { # script help-range args...
  local script=$1 help=$2 a
  shift 2
  UPDATE=0 FORCE=0
  for a in "$@"; do
    case $a in
      --update-modules) UPDATE=1 ;;
      --force) FORCE=1 ;;
      -h|--help) sed -n "${help}p" "$script" | sed 's/^# \{0,1\}//'; exit 0 ;;
      *) echo "$TB_NAME.sh: unknown argument: $a" >&2; exit 2 ;;
    esac
  done
}

# time_build LABEL cmd... : runs cmd, logs and records (in BUILT) the seconds it took.
BUILT=()
time_build() {
  local label=$1; shift
  local t0=$SECONDS
  log "building $label ..."
  "$@"
  log "built $label in $((SECONDS - t0))s"
  BUILT+=("$label: $((SECONDS - t0))s")
}
