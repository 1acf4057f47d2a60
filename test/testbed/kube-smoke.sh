#!/usr/bin/env bash
# End-to-end check of the local control plane: build (cached), kube-up, exercise the API and the
# controller manager, kube-down, and confirm nothing is left running.
#
# Usage: test/testbed/kube-smoke.sh [DIR]     (DIR defaults to a fresh temp dir; removed on success)
#
# Checks:
#  - a namespace is created and really goes away on delete (namespace controller finalizes it)
#  - a Deployment gets a ReplicaSet and a Pod (deployment + replicaset controllers; the Pod stays
#    Pending: there is no scheduler or kubelet) and a LoadBalancer Service gets a ClusterIP and
#    NodePort (no external address: expected)
#  - a CRD is established and a custom resource of it is stored, then deleted with the CRD
#  - garbage collection: deleting the Deployment removes its ReplicaSet and Pod
#  - admission webhooks pointing at a Service with no endpoints: failurePolicy Fail rejects the
#    request at once, Ignore lets it through
#  - kube-down leaves no process behind
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
OWN_DIR=0
if [ $# -ge 1 ]; then DIR=$1; else DIR=$(mktemp -d "${TMPDIR:-/tmp}/kube-smoke.XXXXXX"); OWN_DIR=1; fi

log() { printf '[kube-smoke] %s\n' "$*" >&2; }
t0=$SECONDS
eval "$("$HERE/build-kube.sh")"
log "binaries ready in $((SECONDS - t0))s"

cleanup() { "$HERE/kube-down.sh" "$DIR" || true; }
trap cleanup EXIT

t0=$SECONDS
"$HERE/kube-up.sh" "$DIR"
log "kube-up took $((SECONDS - t0))s"
# shellcheck disable=SC1091
. "$DIR/env"
PIDS=$(cat "$DIR"/*.pid)
k() { "$KUBECTL" --kubeconfig "$KUBECONFIG" "$@"; }
# until_ok SECONDS DESC cmd...
until_ok() {
  local n=$1 desc=$2; shift 2
  local end=$((SECONDS + n))
  until "$@" >/dev/null 2>&1; do
    [ $SECONDS -lt $end ] || { log "FAIL: $desc (after ${n}s)"; return 1; }
    sleep 0.5
  done
  log "ok: $desc"
}
gone() { ! k get "$@" >/dev/null 2>&1; }

k version >&2

# --- namespace lifecycle ------------------------------------------------------------------------
k create ns x
t=$SECONDS
k delete ns x --timeout=60s
until_ok 60 "namespace x is gone" gone ns x
log "namespace x deleted in $((SECONDS - t))s"

# --- workloads -----------------------------------------------------------------------------------
k create ns smoke
until_ok 30 "serviceaccount smoke/default" k -n smoke get sa default
k -n smoke create deployment web --image=registry.invalid/nginx:1 --replicas=1
k -n smoke create service loadbalancer web --tcp=80:8080
until_ok 30 "deployment controller made a ReplicaSet" \
  bash -c "[ -n \"\$(\"$KUBECTL\" --kubeconfig '$KUBECONFIG' -n smoke get rs -l app=web -o name)\" ]"
until_ok 30 "replicaset controller made a (Pending) Pod" \
  bash -c "\"$KUBECTL\" --kubeconfig '$KUBECONFIG' -n smoke get pods -l app=web -o jsonpath='{.items[*].status.phase}' | grep -q Pending"
k -n smoke get deploy,rs,pods,svc -o wide >&2
[ -n "$(k -n smoke get svc web -o jsonpath='{.spec.ports[0].nodePort}')" ] || { log "FAIL: no nodePort"; exit 1; }
[ -z "$(k -n smoke get svc web -o jsonpath='{.status.loadBalancer.ingress}')" ] || { log "FAIL: unexpected LB ingress"; exit 1; }
log "ok: LoadBalancer Service has a ClusterIP/NodePort and (as expected) no external address"

# --- CRD and custom resource --------------------------------------------------------------------
k apply -f - <<'EOF'
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: widgets.smoke.testbed.local
spec:
  group: smoke.testbed.local
  scope: Namespaced
  names: {plural: widgets, singular: widget, kind: Widget}
  versions:
  - name: v1
    served: true
    storage: true
    schema:
      openAPIV3Schema:
        type: object
        properties:
          spec:
            type: object
            properties:
              size: {type: integer, minimum: 1}
EOF
k wait --for=condition=Established crd/widgets.smoke.testbed.local --timeout=60s
until_ok 30 "discovery serves widgets" k -n smoke get widgets
k -n smoke apply -f - <<'EOF'
apiVersion: smoke.testbed.local/v1
kind: Widget
metadata: {name: w1}
spec: {size: 3}
EOF
[ "$(k -n smoke get widget w1 -o jsonpath='{.spec.size}')" = 3 ] || { log "FAIL: custom resource"; exit 1; }
if k -n smoke apply -f - >/dev/null 2>&1 <<'EOF'
apiVersion: smoke.testbed.local/v1
kind: Widget
metadata: {name: bad}
spec: {size: 0}
EOF
then log "FAIL: schema validation did not reject size 0"; exit 1; fi
log "ok: custom resource stored, schema validation enforced"

# --- webhooks pointing at a Service with no endpoints (what Istio's look like here) -------------
k -n smoke create service clusterip nowhere --tcp=443:443
webhook() { # name failurePolicy
  cat <<EOF
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingWebhookConfiguration
metadata: {name: $1}
webhooks:
- name: $1.smoke.testbed.local
  failurePolicy: $2
  sideEffects: None
  admissionReviewVersions: [v1]
  timeoutSeconds: 10
  clientConfig:
    service: {name: nowhere, namespace: smoke, path: /validate, port: 443}
  rules:
  - apiGroups: [smoke.testbed.local]
    apiVersions: ["*"]
    operations: [CREATE, UPDATE]
    resources: [widgets]
EOF
}
webhook smoke-fail Fail | k apply -f -
# The API server picks up webhook configurations from an informer: retry briefly until it bites.
t=$SECONDS end=$((SECONDS + 15)) out=""
while :; do
  if out=$(k -n smoke create -f - 2>&1 <<'EOF'
apiVersion: smoke.testbed.local/v1
kind: Widget
metadata: {name: w2}
spec: {size: 1}
EOF
  ); then
    k -n smoke delete widget w2 >/dev/null
    [ $SECONDS -lt $end ] || { log "FAIL: failurePolicy Fail webhook did not reject"; exit 1; }
    sleep 0.5; t=$SECONDS; continue
  fi
  break
done
case $out in *"no endpoints available"*) ;; *) log "FAIL: unexpected error: $out"; exit 1 ;; esac
log "ok: failurePolicy Fail rejected in $((SECONDS - t))s: $out"
k delete validatingwebhookconfiguration smoke-fail
webhook smoke-ignore Ignore | k apply -f -
t=$SECONDS
k -n smoke create -f - <<'EOF'
apiVersion: smoke.testbed.local/v1
kind: Widget
metadata: {name: w3}
spec: {size: 1}
EOF
log "ok: failurePolicy Ignore admitted in $((SECONDS - t))s"
k delete validatingwebhookconfiguration smoke-ignore

# --- delete everything ----------------------------------------------------------------------------
k -n smoke delete deployment web --timeout=60s
until_ok 60 "garbage collector removed ReplicaSet and Pod" \
  bash -c "[ -z \"\$(\"$KUBECTL\" --kubeconfig '$KUBECONFIG' -n smoke get rs,pods -o name)\" ]"
k -n smoke delete service web nowhere
k delete crd widgets.smoke.testbed.local --timeout=60s
until_ok 60 "CRD gone" gone crd widgets.smoke.testbed.local
k delete ns smoke --timeout=90s
until_ok 90 "namespace smoke is gone" gone ns smoke

# --- down ------------------------------------------------------------------------------------------
trap - EXIT
"$HERE/kube-down.sh" "$DIR"
# An orphaned child is reaped by pid 1; a zombie (state Z) is already dead, so wait it out.
running() { local st; st=$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null) && [ "$st" != Z ]; }
left=""
for p in $PIDS; do running "$p" && left+=" $p"; done
[ -z "$left" ] || { log "FAIL: processes still running:$left"; exit 1; }
log "ok: no control-plane process left (pids were: ${PIDS//$'\n'/ })"
[ "$OWN_DIR" = 0 ] || rm -rf "$DIR"
log "PASS"
