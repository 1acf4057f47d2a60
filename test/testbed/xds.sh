#!/usr/bin/env bash
# `npm run testbed:xds -- <namespace>/<pod> [listeners|routes|clusters|endpoints|all]`
# Prints as JSON what the test bed's istiod sends that pod's proxy (sidecar, gateway router or
# waypoint), with the node metadata taken from the pod itself: the test bed's
# `istioctl proxy-config`. Flags go before the pod and are passed on to testbed-xds, e.g.
# `--ztunnel <namespace>/<pod> [addresses|authorizations|all]` (what istiod sends a ztunnel,
# ambient only) or `--node <namespace>/<pod>` (the xDS node it would send).
#
# Needs a running test bed: either KUBECONFIG and ISTIOD_XDS in the environment, or
# TESTBED_DIR=<dir> pointing at a kube-up directory (its kubeconfig and istiod.env are read).
# Keep one up after the scenarios with `IT_KEEP=1 npm run test:integration`; it prints the dir.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
[ $# -ge 1 ] || { sed -n '2,12p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2; exit 2; }
if [ -n "${TESTBED_DIR:-}" ]; then
  export KUBECONFIG=$TESTBED_DIR/kubeconfig
  set -a; . "$TESTBED_DIR/istiod.env"; set +a
fi
: "${KUBECONFIG:?set KUBECONFIG (or TESTBED_DIR)}" "${ISTIOD_XDS:?set ISTIOD_XDS (or TESTBED_DIR)}"
if [ -z "${TESTBED_XDS:-}" ]; then
  v=$(sed -n 's/^ISTIO_VERSION="\(.*\)"$/\1/p' "$HERE/build-istio.sh")
  TESTBED_XDS=${SERVICE_MESH_TESTBED_CACHE:-$HOME/.cache/service-mesh-testbed}/istio-$v/bin/testbed-xds
fi
[ -x "$TESTBED_XDS" ] || { echo "no $TESTBED_XDS: run test/testbed/build-istio.sh" >&2; exit 1; }
exec "$TESTBED_XDS" --kubeconfig "$KUBECONFIG" --xds "$ISTIOD_XDS" "$@"
