#!/usr/bin/env bash
# `npm run bench`: starts the test bed (test/testbed/session.sh) and runs test/bench/bench.ts,
# which prints the speed of a weight shift, a no-op preview and a cold `up` beside the engine's
# floor and kubectl, the stack's requested footprint per workload, and how big stacks scale.
# A benchmark, not a test: it reports and never fails on a slow machine. Every process started is
# stopped at the end. See bench.ts for BENCH_RUNS, BENCH_COLD_RUNS and BENCH_SIZES.
set -euo pipefail
TB_SESSION=bench
# Room for the biggest stack (200 services in two versions, plus Istio): one simulated node that
# takes 500 pods instead of the kubelet's default 110, beyond which pods stay Pending.
export CLUSTER_NODE_PODS=${CLUSTER_NODE_PODS:-500}
# shellcheck source=../testbed/session.sh
. "$(dirname "${BASH_SOURCE[0]}")/../testbed/session.sh"

node -r ts-node/register/transpile-only test/bench/bench.ts
