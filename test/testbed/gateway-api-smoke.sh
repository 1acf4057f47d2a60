#!/usr/bin/env bash
# Checks the test bed's generated Gateway API CRDs (test/testbed/build-gateway-api.sh) against a
# real API server: build (cached), kube-up, install, exercise, analyze, kube-down.
#
# Usage: test/testbed/gateway-api-smoke.sh [DIR]   (DIR defaults to a fresh temp dir; removed on
#                                                   success)
# istioctl comes from $ISTIOCTL, else from test/testbed/build-istio.sh (cached; a cold build of
# it is long).
#
# Checks:
#  - `kubectl apply --server-side` of the file succeeds; every CRD in it becomes Established and
#    carries the annotations gateway.networking.k8s.io/bundle-version=$GATEWAY_API_VERSION and
#    gateway.networking.k8s.io/channel=standard
#  - accepted and stored as written: a Gateway of class istio; a GAMMA HTTPRoute (parentRef the
#    Service reviews) with weighted backendRefs, a RequestMirror filter (percent) and
#    spec.rules[].timeouts.request/backendRequest; an ingress HTTPRoute on the Gateway
#  - the standard channel's filtering, seen by the API server: an experimental-only field
#    (spec.rules[].retry) is refused by server-side apply ("field not declared in schema") and
#    pruned from the stored object when validation is off; the experimental-only filter type
#    ExternalAuth fails the enum; the v1alpha2 TLSRoute version is not served
#  - istioctl analyze, offline on the file and against the cluster: no IST0176 (outdated Gateway
#    API CRDs); the same file with bundle-version v1.4.1 does raise IST0176 (the check is live)
#  - kube-down leaves no process behind
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
OWN_DIR=0
if [ $# -ge 1 ]; then DIR=$1; else DIR=$(mktemp -d "${TMPDIR:-/tmp}/gateway-api-smoke.XXXXXX"); OWN_DIR=1; fi
mkdir -p "$DIR"
DIR=$(cd "$DIR" && pwd)

log() { printf '[gateway-api-smoke] %s\n' "$*" >&2; }
fail() { log "FAIL: $*"; exit 1; }

t0=$SECONDS
eval "$("$HERE/build-gateway-api.sh")"
if [ -z "${ISTIOCTL:-}" ]; then
  ISTIOCTL=$("$HERE/build-istio.sh" | tail -n1)/bin/istioctl
fi
[ -x "$ISTIOCTL" ] || fail "no istioctl at $ISTIOCTL"
log "CRDs and istioctl ready in $((SECONDS - t0))s: $GATEWAY_API_CRDS"

cleanup() { "$HERE/kube-down.sh" "$DIR" || true; }
trap cleanup EXIT
"$HERE/kube-up.sh" "$DIR"
# shellcheck disable=SC1091
. "$DIR/env"
PIDS=$(cat "$DIR"/*.pid)
k() { "$KUBECTL" --kubeconfig "$KUBECONFIG" "$@"; }

# expect_fail PATTERN cmd... : cmd must fail and its output must match PATTERN (grep -E).
expect_fail() {
  local pattern=$1 out; shift
  if out=$("$@" 2>&1); then fail "expected a failure matching /$pattern/, got success: $out"; fi
  grep -qE "$pattern" <<<"$out" || fail "expected /$pattern/, got: $out"
}

# --- install -----------------------------------------------------------------------------------
k apply --server-side -f "$GATEWAY_API_CRDS" >&2
mapfile -t crds < <(sed -n 's/^  name: \(.*\.gateway\.networking\.k8s\.io\)$/\1/p' "$GATEWAY_API_CRDS")
[ ${#crds[@]} -gt 0 ] || fail "no CRD names found in $GATEWAY_API_CRDS"
k wait --for=condition=Established --timeout=60s "${crds[@]/#/crd/}" >&2
for c in "${crds[@]}"; do
  got=$(k get crd "$c" -o jsonpath='{.metadata.annotations.gateway\.networking\.k8s\.io/bundle-version} {.metadata.annotations.gateway\.networking\.k8s\.io/channel}')
  [ "$got" = "$GATEWAY_API_VERSION standard" ] || fail "$c: bundle-version/channel are '$got'"
done
log "ok: ${#crds[@]} CRDs Established, bundle-version $GATEWAY_API_VERSION, channel standard"

# --- standard-channel objects --------------------------------------------------------------------
NS=gwapi-smoke
k apply --server-side -f - >&2 <<EOF
apiVersion: v1
kind: Namespace
metadata: {name: $NS}
---
apiVersion: v1
kind: Service
metadata: {name: reviews, namespace: $NS}
spec: {selector: {app: reviews}, ports: [{name: http, port: 9080}]}
---
apiVersion: v1
kind: Service
metadata: {name: reviews-v1, namespace: $NS}
spec: {selector: {app: reviews, version: v1}, ports: [{name: http, port: 9080}]}
---
apiVersion: v1
kind: Service
metadata: {name: reviews-v2, namespace: $NS}
spec: {selector: {app: reviews, version: v2}, ports: [{name: http, port: 9080}]}
---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: ingress, namespace: $NS}
spec:
  gatewayClassName: istio
  listeners:
  - {name: http, port: 80, protocol: HTTP, allowedRoutes: {namespaces: {from: Same}}}
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: reviews-canary, namespace: $NS}
spec:
  parentRefs:
  - {group: "", kind: Service, name: reviews, port: 9080}
  rules:
  - backendRefs:
    - {name: reviews-v1, port: 9080, weight: 90}
    - {name: reviews-v2, port: 9080, weight: 10}
    filters:
    - type: RequestMirror
      requestMirror:
        backendRef: {name: reviews-v2, port: 9080}
        percent: 5
    timeouts: {request: 10s, backendRequest: 2s}
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: reviews-ingress, namespace: $NS}
spec:
  parentRefs:
  - {name: ingress, sectionName: http}
  hostnames: [reviews.example.test]
  rules:
  - matches: [{path: {type: PathPrefix, value: /reviews}}]
    backendRefs: [{name: reviews, port: 9080}]
    timeouts: {request: 5s}
EOF
got=$(k -n "$NS" get httproute reviews-canary -o jsonpath='{.spec.parentRefs[0].kind}/{.spec.parentRefs[0].name}:{.spec.parentRefs[0].port} {.spec.rules[0].backendRefs[*].weight} {.spec.rules[0].filters[0].type}:{.spec.rules[0].filters[0].requestMirror.percent} {.spec.rules[0].timeouts.request}/{.spec.rules[0].timeouts.backendRequest}')
[ "$got" = "Service/reviews:9080 90 10 RequestMirror:5 10s/2s" ] || fail "reviews-canary stored as: $got"
got=$(k -n "$NS" get gateway ingress -o jsonpath='{.spec.gatewayClassName}')
[ "$got" = istio ] || fail "gateway class: $got"
log "ok: Gateway (class istio), GAMMA HTTPRoute (weights, RequestMirror, timeouts), ingress HTTPRoute stored"

# --- experimental-only fields and versions are not there -----------------------------------------
retry_route() {
  cat <<EOF
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: reviews-retry, namespace: $NS}
spec:
  parentRefs: [{group: "", kind: Service, name: reviews, port: 9080}]
  rules:
  - backendRefs: [{name: reviews-v1, port: 9080}]
    retry: {attempts: 3, codes: [503]}
EOF
}
expect_fail 'spec\.rules\[0\]\.retry: field not declared in schema' \
  k apply --server-side -f <(retry_route)
retry_route | k create --validate=false -f - >&2
got=$(k -n "$NS" get httproute reviews-retry -o jsonpath='{.spec.rules[0].retry}')
[ -z "$got" ] || fail "experimental field spec.rules[].retry was stored: $got"
expect_fail 'Unsupported value: "ExternalAuth"' k create --validate=false -f - <<EOF
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: reviews-extauth, namespace: $NS}
spec:
  parentRefs: [{group: "", kind: Service, name: reviews, port: 9080}]
  rules:
  - backendRefs: [{name: reviews-v1, port: 9080}]
    filters: [{type: ExternalAuth}]
EOF
k -n "$NS" get tlsroutes.v1.gateway.networking.k8s.io >/dev/null
expect_fail 'could not find the requested resource|doesn.t have a resource type|no matches for kind' \
  k -n "$NS" get tlsroutes.v1alpha2.gateway.networking.k8s.io
log "ok: spec.rules[].retry refused (server-side apply) / pruned (validation off), ExternalAuth refused, TLSRoute v1alpha2 not served"

# --- Istio's view: IST0176 (outdated Gateway API CRDs) -------------------------------------------
out=$("$ISTIOCTL" analyze --use-kube=false "$GATEWAY_API_CRDS" 2>&1) || fail "istioctl analyze (file): $out"
! grep -q IST0176 <<<"$out" || fail "IST0176 on the generated file: $out"
sed "s#gateway.networking.k8s.io/bundle-version: $GATEWAY_API_VERSION#gateway.networking.k8s.io/bundle-version: v1.4.1#" \
  "$GATEWAY_API_CRDS" >"$DIR/crds-v1.4.1.yaml"
out=$("$ISTIOCTL" analyze --use-kube=false "$DIR/crds-v1.4.1.yaml" 2>&1) || true
grep -q IST0176 <<<"$out" || fail "no IST0176 for bundle-version v1.4.1 (is the check still live?): $out"
out=$("$ISTIOCTL" analyze --kubeconfig "$KUBECONFIG" --all-namespaces 2>&1) || fail "istioctl analyze (cluster): $out"
! grep -q IST0176 <<<"$out" || fail "IST0176 on the cluster: $out"
log "ok: istioctl analyze: no IST0176 (file and cluster); a v1.4.1 bundle-version does raise it"

# --- tear down ----------------------------------------------------------------------------------
trap - EXIT
"$HERE/kube-down.sh" "$DIR"
for p in $PIDS; do
  if [ -d "/proc/$p" ] && tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null | grep -qF "$DIR/"; then
    fail "process $p still running after kube-down"
  fi
done
if [ "$OWN_DIR" = 1 ]; then rm -rf "$DIR"; fi
log "PASS"
