// Our own probe of the Linkerd control plane that test/testbed/linkerd-up.sh runs on loopback
// (identity Certify, destination Get). Built by test/testbed/build-linkerd.sh; versions follow
// the go.mod of github.com/linkerd/linkerd2 edge-26.8.3 (proxy API v0.20.0, gRPC v1.83.0).
module servicemesh.local/testbed/linkerd-probe

go 1.26.0

require (
	github.com/linkerd/linkerd2-proxy-api v0.20.0
	google.golang.org/grpc v1.83.0
)

require (
	github.com/golang/protobuf v1.5.4 // indirect
	golang.org/x/net v0.58.0 // indirect
	golang.org/x/sys v0.47.0 // indirect
	golang.org/x/text v0.41.0 // indirect
	google.golang.org/genproto/googleapis/rpc v0.0.0-20260526163538-3dc84a4a5aaa // indirect
	google.golang.org/protobuf v1.36.12 // indirect
)
