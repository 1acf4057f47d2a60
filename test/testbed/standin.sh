# Stand-in builds, for the unit tests of the build scripts' install and caching logic
# (test/unit/testbedInstall.test.ts). Sourced by every build-*.sh (not run).
#
# With TESTBED_STANDIN_BUILD=1, each compile, download and generation step writes a small shell
# script where its binary (or the generator that writes charts or CRDs) would go, and never runs
# go, the module proxy or the vendored sources; everything else (cache checks, leftovers, old
# layouts, temp dirs, install, stdout) is the scripts' real code. A stand-in prints the version
# line its caller checks and says it is one; it is never a usable tool, so only ever point
# SERVICE_MESH_TESTBED_CACHE at a scratch directory with it.

standin_build() { [ "${TESTBED_STANDIN_BUILD:-0}" = 1 ]; }

# standin_script FILE BODY: an executable shell script running BODY (with the script's arguments).
standin_script() {
  mkdir -p "$(dirname "$1")"
  printf '#!/bin/sh\n# test bed stand-in (TESTBED_STANDIN_BUILD=1), not a real build\n%s\n' "$2" >"$1"
  chmod 0755 "$1"
}

# standin_exec FILE LINE: a stand-in binary that prints LINE whatever its arguments.
standin_exec() {
  case $2 in *"'"*) echo "standin_exec: no quotes in the line: $2" >&2; return 1 ;; esac
  standin_script "$1" "echo '$2'"
}
