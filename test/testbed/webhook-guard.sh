#!/usr/bin/env bash
# Network-safety check for the test bed: the API server must never call into a simulated pod.
# Fails if any MutatingWebhookConfiguration or ValidatingWebhookConfiguration has a webhook whose
# clientConfig uses `service` (with --enable-aggregator-routing the API server would dial the
# Service's endpoints, i.e. fake pod IPs once KWOK marks them Ready), if a webhook URL points
# anywhere but 127.0.0.1/localhost, or if an APIService has spec.service set (same routing).
#
# Usage: test/testbed/webhook-guard.sh [DIR]
#   DIR: a kube-up.sh directory (uses DIR/kubeconfig and DIR/env's KUBECTL); without it,
#        $KUBECONFIG and kubectl on PATH (or $KUBECTL).
# Exit: 0 clean; 1 offenders found (one line each on stderr: kind/name webhook -> target);
#       2 the API could not be read.
# Run it after every apply that may add webhooks (istiod/base charts, gateway chart...), and
# before creating pods that would make an offending Service's endpoints Ready.
set -euo pipefail

if [ $# -ge 1 ]; then
  DIR=$(cd "$1" && pwd)
  # shellcheck disable=SC1091
  [ -f "$DIR/env" ] && source "$DIR/env"
  export KUBECONFIG=$DIR/kubeconfig
fi
KUBECTL=${KUBECTL:-$(command -v kubectl || true)}
[ -n "$KUBECTL" ] || { echo "webhook-guard: no kubectl" >&2; exit 2; }

# One line per webhook: "<Kind>/<name> <webhook> service=<ns>/<svc>:<port><path>" or "... url=<url>";
# one per APIService: "APIService/<name> - service=<ns>/<svc>" or "... local".
webhooks='{{range .items}}{{$o := .metadata.name}}{{range .webhooks}}{{$o}} {{.name}} {{with .clientConfig.service}}service={{.namespace}}/{{.name}}:{{or .port 443}}{{or .path ""}}{{else}}url={{.clientConfig.url}}{{end}}
{{end}}{{end}}'
apiservices='{{range .items}}{{.metadata.name}} - {{with .spec.service}}service={{.namespace}}/{{.name}}{{else}}local{{end}}
{{end}}'

bad=0 n=0
check() { # kind lines
  local kind=$1 lines=$2 name hook target host
  while read -r name hook target; do
    [ -n "$name" ] || continue
    n=$((n + 1))
    case $target in
      service=*)
        if [ "$kind" = APIService ]; then
          echo "webhook-guard: APIService/$name has spec.service ${target#service=}: aggregated API calls go to that Service's endpoints (simulated pods)" >&2
        else
          echo "webhook-guard: $kind/$name webhook $hook has clientConfig.service ${target#service=}: calls go to that Service's endpoints (simulated pods); use a URL on 127.0.0.1" >&2
        fi
        bad=1 ;;
      url=*)
        host=${target#url=}; host=${host#*://}; host=${host%%/*}; host=${host%:*}
        case $host in
          127.0.0.1|localhost|\[::1\]) ;;
          *) echo "webhook-guard: $kind/$name webhook $hook has url ${target#url=}: not a loopback address" >&2; bad=1 ;;
        esac ;;
    esac
  done <<<"$lines"
}
for kind in MutatingWebhookConfiguration ValidatingWebhookConfiguration; do
  out=$("$KUBECTL" get "$kind" -o go-template="$webhooks" 2>&1) || { echo "webhook-guard: cannot list ${kind}s: $out" >&2; exit 2; }
  check "$kind" "$out"
done
out=$("$KUBECTL" get apiservices -o go-template="$apiservices" 2>&1) || { echo "webhook-guard: cannot list APIServices: $out" >&2; exit 2; }
check APIService "$out"

if [ "$bad" = 1 ]; then
  echo "webhook-guard: FAILED: the API server could call a simulated pod (see above)" >&2
  exit 1
fi
echo "webhook-guard: ok ($n webhooks/APIServices checked, none routed to a Service or off loopback)" >&2
