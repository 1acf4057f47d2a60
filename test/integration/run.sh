#!/usr/bin/env bash
# `npm run test:integration`: the local test bed (test/testbed/session.sh: loopback etcd,
# kube-apiserver, controller-manager, scheduler, KWOK's simulated nodes, istiod armed), then the
# scenarios of test/integration/scenarios.ts with the real Pulumi engine. Every process started
# is stopped, even on failure. IT_KEEP=1 keeps the cluster and istiod running for inspection
# (`npm run testbed:xds`).
set -euo pipefail
TB_SESSION=it
# shellcheck source=../testbed/session.sh
. "$(dirname "${BASH_SOURCE[0]}")/../testbed/session.sh"

node -r ts-node/register/transpile-only test/integration/scenarios.ts
