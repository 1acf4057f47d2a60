#!/usr/bin/env bash
# `npm run test:rollout`: the rollout's proof on the local test bed (test/testbed/session.sh: the
# API server, KWOK's simulated nodes, istiod), with a real Prometheus from Debian's `prometheus`
# package run on 127.0.0.1 by the scenarios (never its packaged service), scraping a stand-in for
# the backend proxies' Istio metrics. test/integration/rollout.ts runs `npm run rollout` against a
# real stack: promote, roll back an unhealthy canary, roll back on SIGINT, refuse a second run,
# and promote under routing.api gateway-api. Every process started is stopped, even on failure.
set -euo pipefail
TB_SESSION=rollout
# shellcheck source=../testbed/session.sh
. "$(dirname "${BASH_SOURCE[0]}")/../testbed/session.sh"

node -r ts-node/register/transpile-only test/integration/rollout.ts
