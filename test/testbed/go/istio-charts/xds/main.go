// Command testbed-xds reads the Envoy configuration that istiod would push to one pod's proxy,
// without an Envoy: it looks the pod up in the API server, builds the xDS node the way
// pilot-agent does (id and metadata), opens one ADS stream to istiod's plaintext gRPC port and
// asks for CDS, EDS (for the EDS clusters), LDS and RDS (for the routes the HTTP connection
// managers name), acking each response. It prints one JSON document with the requested kinds,
// every resource (and every nested Any, e.g. RBAC or JWT filter configs) rendered as JSON,
// sorted by name, with stable key order.
//
// The node's type follows the istio-proxy container's arguments as pilot-agent's does: sidecar,
// router (gateways) or waypoint (Gateway API waypoints, whose Deployment istiod itself creates;
// with ambient enabled istiod builds their listeners from what uses the waypoint). A waypoint's
// HTTP routes are inline in its listeners (route_config), not sent by RDS.
//
// With --ztunnel the pod stands for a ztunnel (node type ztunnel, e.g. a pod of the ztunnel
// DaemonSet): instead of Envoy's xDS it opens one delta ADS stream, as ztunnel does, subscribes
// to every (wildcard) istio.workload.Address and istio.security.Authorization istiod computes
// (pkg/workloadapi), acks each, and prints them. istiod refuses a ztunnel unless
// PILOT_ENABLE_AMBIENT=true. IP addresses in Address resources are bytes, so they come out
// base64-encoded (as in istiod's /debug/ambientz).
//
// Usage:
//
//	testbed-xds --kubeconfig K --xds 127.0.0.1:PORT [--timeout 10s] NAMESPACE/POD [KIND...]
//	testbed-xds --kubeconfig K --xds 127.0.0.1:PORT --ztunnel NAMESPACE/POD [addresses|authorizations|all]...
//	testbed-xds --kubeconfig K [--ztunnel] --node NAMESPACE/POD
//
// KIND is listeners, routes, clusters, endpoints or all (default all). --node prints the xDS
// node (id, cluster, metadata) that would be sent, without connecting to istiod.
// Exit status: 0 on success, 1 on any error (including a timeout), 2 on bad usage.
//
// Only for the local test bed: istiod's plaintext xDS port must be on loopback.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"net"
	"os"
	"slices"
	"sort"
	"strings"
	"time"

	clusterv3 "github.com/envoyproxy/go-control-plane/envoy/config/cluster/v3"
	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	endpointv3 "github.com/envoyproxy/go-control-plane/envoy/config/endpoint/v3"
	listenerv3 "github.com/envoyproxy/go-control-plane/envoy/config/listener/v3"
	routev3 "github.com/envoyproxy/go-control-plane/envoy/config/route/v3"
	hcmv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/network/http_connection_manager/v3"
	discoveryv3 "github.com/envoyproxy/go-control-plane/envoy/service/discovery/v3"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
	"google.golang.org/protobuf/types/known/anypb"
	"google.golang.org/protobuf/types/known/emptypb"
	"google.golang.org/protobuf/types/known/structpb"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"

	// Register every Envoy extension type istiod may emit (filters, transport sockets,
	// tracers, Istio's own) and the TypedStruct wrappers (e.g. Istio's stats filters), so
	// nested Anys can be rendered.
	_ "github.com/cncf/xds/go/udpa/type/v1"
	_ "github.com/cncf/xds/go/xds/type/v3"
	_ "istio.io/api/envoy/extensions/stats" // Istio's stats filter (stats.PluginConfig)
	_ "istio.io/istio/pkg/config/xds"
	"istio.io/istio/pkg/version"
	_ "istio.io/istio/pkg/workloadapi"          // istio.workload.Address (ztunnel)
	_ "istio.io/istio/pkg/workloadapi/security" // istio.security.Authorization (ztunnel)
)

const (
	typeCluster  = "type.googleapis.com/envoy.config.cluster.v3.Cluster"
	typeEndpoint = "type.googleapis.com/envoy.config.endpoint.v3.ClusterLoadAssignment"
	typeListener = "type.googleapis.com/envoy.config.listener.v3.Listener"
	typeRoute    = "type.googleapis.com/envoy.config.route.v3.RouteConfiguration"
)

var kinds = []string{"clusters", "endpoints", "listeners", "routes"}

// What istiod sends a ztunnel (delta xDS only), by the output's key.
const (
	typeAddress       = "type.googleapis.com/istio.workload.Address"
	typeAuthorization = "type.googleapis.com/istio.security.Authorization"
)

var ztunnelKinds = map[string]string{"addresses": typeAddress, "authorizations": typeAuthorization}

func main() {
	fs := flag.NewFlagSet("testbed-xds", flag.ContinueOnError)
	kubeconfig := fs.String("kubeconfig", os.Getenv("KUBECONFIG"), "kubeconfig of the API server istiod watches")
	addr := fs.String("xds", os.Getenv("ISTIOD_XDS"), "istiod's plaintext xDS (gRPC) address, host:port")
	timeout := fs.Duration("timeout", 10*time.Second, "overall deadline")
	clusterID := fs.String("cluster-id", "Kubernetes", "CLUSTER_ID metadata when the pod does not set ISTIO_META_CLUSTER_ID")
	domain := fs.String("domain", "cluster.local", "cluster DNS domain (node id suffix)")
	ztunnel := fs.Bool("ztunnel", false, "the pod is a ztunnel: read its Address and Authorization resources (delta xDS)")
	printNode := fs.Bool("node", false, "print the xDS node built for the pod and exit (no connection to istiod)")
	showVersion := fs.Bool("version", false, "print the Istio version this was built for and exit")
	fs.Usage = func() {
		fmt.Fprintln(os.Stderr, "usage: testbed-xds --kubeconfig K --xds HOST:PORT [--timeout 10s] NAMESPACE/POD [listeners|routes|clusters|endpoints|all]...")
		fmt.Fprintln(os.Stderr, "       testbed-xds --kubeconfig K --xds HOST:PORT --ztunnel NAMESPACE/POD [addresses|authorizations|all]...")
		fmt.Fprintln(os.Stderr, "       testbed-xds --kubeconfig K [--ztunnel] --node NAMESPACE/POD")
		fs.PrintDefaults()
	}
	if err := fs.Parse(os.Args[1:]); err != nil {
		os.Exit(2)
	}
	if *showVersion {
		fmt.Println(version.Info.Version)
		return
	}
	args := fs.Args()
	if len(args) < 1 || (*addr == "" && !*printNode) || *kubeconfig == "" {
		fs.Usage()
		os.Exit(2)
	}
	// Test-bed safety: only ever talk to an istiod on this machine.
	if host, _, err := net.SplitHostPort(*addr); !*printNode && (err != nil || !(host == "127.0.0.1" || host == "localhost" || host == "::1")) {
		fmt.Fprintf(os.Stderr, "testbed-xds: --xds %q must be 127.0.0.1:PORT (loopback only)\n", *addr)
		os.Exit(2)
	}
	ns, pod, ok := strings.Cut(args[0], "/")
	if !ok || ns == "" || pod == "" {
		fmt.Fprintf(os.Stderr, "testbed-xds: %q is not NAMESPACE/POD\n", args[0])
		os.Exit(2)
	}
	valid := kinds
	if *ztunnel {
		valid = []string{"addresses", "authorizations"}
	}
	want := map[string]bool{}
	for _, k := range args[1:] {
		switch {
		case k == "all":
			for _, kk := range valid {
				want[kk] = true
			}
		case slices.Contains(valid, k):
			want[k] = true
		default:
			fmt.Fprintf(os.Stderr, "testbed-xds: unknown kind %q (%s, all)\n", k, strings.Join(valid, ", "))
			os.Exit(2)
		}
	}
	if len(want) == 0 {
		for _, kk := range valid {
			want[kk] = true
		}
	}
	nodeType := ""
	if *ztunnel {
		nodeType = "ztunnel"
	}

	ctx, cancel := context.WithTimeout(context.Background(), *timeout)
	defer cancel()
	out, err := run(ctx, *kubeconfig, *addr, ns, pod, nodeType, *clusterID, *domain, *printNode, want)
	if err != nil {
		if errors.Is(err, context.DeadlineExceeded) || ctx.Err() != nil {
			fmt.Fprintf(os.Stderr, "testbed-xds: timed out after %s (%v)\n", *timeout, err)
		} else {
			fmt.Fprintf(os.Stderr, "testbed-xds: %v\n", err)
		}
		os.Exit(1)
	}
	os.Stdout.Write(out)
}

func run(ctx context.Context, kubeconfig, addr, ns, podName, nodeType, clusterID, domain string, printNode bool, want map[string]bool) ([]byte, error) {
	cfg, err := clientcmd.BuildConfigFromFlags("", kubeconfig)
	if err != nil {
		return nil, fmt.Errorf("kubeconfig %s: %w", kubeconfig, err)
	}
	kc, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, err
	}
	pod, err := kc.CoreV1().Pods(ns).Get(ctx, podName, metav1.GetOptions{})
	if err != nil {
		return nil, fmt.Errorf("reading pod %s/%s: %w", ns, podName, err)
	}
	node, err := buildNode(pod, nodeType, clusterID, domain)
	if err != nil {
		return nil, err
	}
	if printNode {
		return encodeJSON(map[string]any{"id": node.Id, "cluster": node.Cluster, "metadata": render(node.Metadata)})
	}

	conn, err := grpc.NewClient(addr,
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(256<<20)))
	if err != nil {
		return nil, fmt.Errorf("xds %s: %w", addr, err)
	}
	defer conn.Close()
	if nodeType == "ztunnel" {
		return readZtunnel(ctx, conn, node, want)
	}
	stream, err := discoveryv3.NewAggregatedDiscoveryServiceClient(conn).StreamAggregatedResources(ctx)
	if err != nil {
		return nil, fmt.Errorf("opening ADS stream to %s: %w", addr, err)
	}
	a := &ads{stream: stream, node: node, got: map[string]*discoveryv3.DiscoveryResponse{}, acked: map[string]string{}}
	a.recvErr = make(chan error, 1)
	a.responses = make(chan *discoveryv3.DiscoveryResponse, 16)
	go a.recvLoop()

	result := map[string][]json.RawMessage{}

	// CDS, then EDS for the EDS clusters.
	cds, err := a.fetch(ctx, typeCluster, nil)
	if err != nil {
		return nil, fmt.Errorf("CDS: %w", err)
	}
	var edsNames []string
	for _, r := range cds.Resources {
		c := &clusterv3.Cluster{}
		if err := r.UnmarshalTo(c); err != nil {
			return nil, fmt.Errorf("decoding cluster: %w", err)
		}
		if c.GetType() == clusterv3.Cluster_EDS {
			n := c.GetEdsClusterConfig().GetServiceName()
			if n == "" {
				n = c.GetName()
			}
			edsNames = append(edsNames, n)
		}
	}
	if want["clusters"] {
		result["clusters"] = renderAll(cds.Resources)
	}
	if want["endpoints"] {
		result["endpoints"] = []json.RawMessage{}
	}
	if len(edsNames) > 0 {
		sort.Strings(edsNames)
		eds, err := a.fetch(ctx, typeEndpoint, edsNames)
		if err != nil {
			return nil, fmt.Errorf("EDS: %w", err)
		}
		if want["endpoints"] {
			result["endpoints"] = renderAll(eds.Resources)
		}
	}

	// LDS, then RDS for the route configurations the HTTP connection managers name.
	lds, err := a.fetch(ctx, typeListener, nil)
	if err != nil {
		return nil, fmt.Errorf("LDS: %w", err)
	}
	if want["listeners"] {
		result["listeners"] = renderAll(lds.Resources)
	}
	routeNames := map[string]bool{}
	for _, r := range lds.Resources {
		l := &listenerv3.Listener{}
		if err := r.UnmarshalTo(l); err != nil {
			return nil, fmt.Errorf("decoding listener: %w", err)
		}
		chains := append([]*listenerv3.FilterChain{}, l.GetFilterChains()...)
		if l.GetDefaultFilterChain() != nil {
			chains = append(chains, l.GetDefaultFilterChain())
		}
		for _, fc := range chains {
			for _, f := range fc.GetFilters() {
				tc := f.GetTypedConfig()
				if tc == nil || !tc.MessageIs(&hcmv3.HttpConnectionManager{}) {
					continue
				}
				h := &hcmv3.HttpConnectionManager{}
				if err := tc.UnmarshalTo(h); err != nil {
					return nil, fmt.Errorf("decoding HTTP connection manager: %w", err)
				}
				if n := h.GetRds().GetRouteConfigName(); n != "" {
					routeNames[n] = true
				}
			}
		}
	}
	if want["routes"] {
		result["routes"] = []json.RawMessage{}
	}
	if len(routeNames) > 0 {
		names := make([]string, 0, len(routeNames))
		for n := range routeNames {
			names = append(names, n)
		}
		sort.Strings(names)
		rds, err := a.fetch(ctx, typeRoute, names)
		if err != nil {
			return nil, fmt.Errorf("RDS: %w", err)
		}
		if want["routes"] {
			result["routes"] = renderAll(rds.Resources)
		}
	}

	doc := map[string]any{}
	for k, v := range result {
		doc[k] = v
	}
	return encodeJSON(doc)
}

// encodeJSON: indented, HTML left unescaped, map keys sorted (encoding/json), so stable.
func encodeJSON(doc any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(doc); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// readZtunnel reads what istiod sends a ztunnel: one delta ADS stream, a wildcard subscription
// per wanted type (as ztunnel subscribes), the first response of each (for a wildcard
// subscription it carries the full set), each acked. Later pushes are acked and ignored.
func readZtunnel(ctx context.Context, conn *grpc.ClientConn, node *corev3.Node, want map[string]bool) ([]byte, error) {
	stream, err := discoveryv3.NewAggregatedDiscoveryServiceClient(conn).DeltaAggregatedResources(ctx)
	if err != nil {
		return nil, fmt.Errorf("opening delta ADS stream: %w", err)
	}
	responses := make(chan *discoveryv3.DeltaDiscoveryResponse, 16)
	recvErr := make(chan error, 1)
	go func() {
		for {
			r, err := stream.Recv()
			if err != nil {
				recvErr <- err
				return
			}
			responses <- r
		}
	}()
	sentNode := false
	send := func(req *discoveryv3.DeltaDiscoveryRequest) error {
		if !sentNode {
			req.Node = node
			sentNode = true
		}
		return stream.Send(req)
	}
	doc := map[string]any{}
	for _, key := range []string{"addresses", "authorizations"} {
		if !want[key] {
			continue
		}
		typeURL := ztunnelKinds[key]
		if err := send(&discoveryv3.DeltaDiscoveryRequest{TypeUrl: typeURL, ResourceNamesSubscribe: []string{"*"}}); err != nil {
			return nil, fmt.Errorf("sending %s request: %w", key, err)
		}
		var got *discoveryv3.DeltaDiscoveryResponse
		for got == nil {
			select {
			case <-ctx.Done():
				return nil, fmt.Errorf("no %s response from istiod: %w", key, ctx.Err())
			case err := <-recvErr:
				return nil, fmt.Errorf("stream closed by istiod: %w", err)
			case r := <-responses:
				if err := send(&discoveryv3.DeltaDiscoveryRequest{TypeUrl: r.TypeUrl, ResponseNonce: r.Nonce}); err != nil {
					return nil, fmt.Errorf("sending ack: %w", err)
				}
				if r.TypeUrl == typeURL {
					got = r
				}
			}
		}
		sort.SliceStable(got.Resources, func(i, j int) bool { return got.Resources[i].Name < got.Resources[j].Name })
		items := make([]json.RawMessage, 0, len(got.Resources))
		for _, r := range got.Resources {
			m, err := r.GetResource().UnmarshalNew()
			if err != nil {
				items = append(items, errJSON(r.Name, err))
				continue
			}
			items = append(items, render(m))
		}
		doc[key] = items
	}
	return encodeJSON(doc)
}

// buildNode mirrors what pilot-agent sends for a pod: the node id and the metadata it derives
// from the istio-proxy container's ISTIO_META_* / ISTIO_METAJSON_* environment, the pod's labels
// and annotations (the agent reads them through the downward API), IPs and service account.
// nodeType, when set (ztunnel), overrides the type the proxy container's arguments give.
func buildNode(pod *corev1.Pod, nodeType, clusterID, domain string) (*corev3.Node, error) {
	ip := pod.Status.PodIP
	if ip == "" {
		return nil, fmt.Errorf("pod %s/%s has no IP yet (phase %s); is it scheduled on a KWOK node?", pod.Namespace, pod.Name, pod.Status.Phase)
	}
	// istio-proxy is a regular container, or a native sidecar (an init container with
	// restartPolicy Always), which the injector uses when the node's kubelet is 1.33+.
	var proxy *corev1.Container
	for _, cs := range [][]corev1.Container{pod.Spec.Containers, pod.Spec.InitContainers} {
		for i := range cs {
			if cs[i].Name == "istio-proxy" {
				proxy = &cs[i]
			}
		}
	}
	// The agent's role is its first argument after "proxy": sidecar (the injector's), router
	// (gateways) or waypoint (istiod's waypoint template: `proxy waypoint --domain ...
	// --serviceCluster <sa>.$(POD_NAMESPACE)`). istiod keys on the node id's type (model.Waypoint)
	// to build a waypoint's listeners and clusters from the services and workloads that use it.
	role := "sidecar"
	dnsDomain := pod.Namespace + ".svc." + domain
	serviceCluster := ""
	meta := map[string]any{}
	if proxy != nil {
		for i, a := range proxy.Args {
			switch {
			case a == "router" || a == "waypoint":
				role = a
			case (a == "--domain" || a == "--serviceCluster") && i+1 < len(proxy.Args):
				v := expandArg(pod, proxy, proxy.Args[i+1])
				if a == "--domain" {
					dnsDomain = v
				} else {
					serviceCluster = v
				}
			}
		}
		for _, e := range proxy.Env {
			val, ok := envValue(pod, e)
			if !ok {
				continue
			}
			switch {
			case strings.HasPrefix(e.Name, "ISTIO_METAJSON_"):
				m := map[string]any{}
				if err := json.Unmarshal([]byte(val), &m); err == nil {
					for k, v := range m {
						meta[k] = v
					}
				}
			case strings.HasPrefix(e.Name, "ISTIO_META_"):
				meta[strings.TrimPrefix(e.Name, "ISTIO_META_")] = val
			case e.Name == "PROXY_CONFIG":
				pc := map[string]any{}
				if err := json.Unmarshal([]byte(val), &pc); err == nil {
					meta["PROXY_CONFIG"] = pc
				}
			}
		}
	}
	labels := map[string]any{}
	for k, v := range pod.Labels {
		if k != "pod-template-hash" {
			labels[k] = v
		}
	}
	meta["LABELS"] = labels
	if len(pod.Annotations) > 0 {
		ann := map[string]any{}
		for k, v := range pod.Annotations {
			ann[k] = v
		}
		meta["ANNOTATIONS"] = ann
	}
	ips := []string{}
	for _, p := range pod.Status.PodIPs {
		ips = append(ips, p.IP)
	}
	if len(ips) == 0 {
		ips = []string{ip}
	}
	meta["INSTANCE_IPS"] = strings.Join(ips, ",")
	meta["NAME"] = pod.Name
	meta["NAMESPACE"] = pod.Namespace
	sa := pod.Spec.ServiceAccountName
	if sa == "" {
		sa = "default"
	}
	meta["SERVICE_ACCOUNT"] = sa
	if _, ok := meta["CLUSTER_ID"]; !ok {
		meta["CLUSTER_ID"] = clusterID
	}
	if _, ok := meta["ISTIO_VERSION"]; !ok {
		meta["ISTIO_VERSION"] = version.Info.Version
	}
	if _, ok := meta["NODE_NAME"]; !ok && pod.Spec.NodeName != "" {
		meta["NODE_NAME"] = pod.Spec.NodeName
	}
	if _, ok := meta["POD_PORTS"]; !ok {
		// The injector sets ISTIO_META_POD_PORTS; for other pods derive it the same way.
		type port struct {
			Name          string `json:"name,omitempty"`
			ContainerPort int32  `json:"containerPort"`
			Protocol      string `json:"protocol"`
		}
		var ports []port
		for _, c := range pod.Spec.Containers {
			if c.Name == "istio-proxy" {
				continue
			}
			for _, p := range c.Ports {
				ports = append(ports, port{p.Name, p.ContainerPort, string(p.Protocol)})
			}
		}
		if len(ports) > 0 {
			b, _ := json.Marshal(ports)
			meta["POD_PORTS"] = string(b)
		}
	}
	if _, ok := meta["METADATA_DISCOVERY"]; !ok {
		// As the agent: metadata discovery follows ENABLE_HBONE (the ambient profile's
		// proxyMetadata) unless set explicitly.
		if v, ok := meta["ENABLE_HBONE"].(string); ok {
			meta["METADATA_DISCOVERY"] = v
		}
	}
	meta["ENVOY_STATUS_PORT"] = 15021
	meta["ENVOY_PROMETHEUS_PORT"] = 15090
	md, err := structpb.NewStruct(meta)
	if err != nil {
		return nil, fmt.Errorf("building node metadata: %w", err)
	}
	if nodeType == "" {
		nodeType = role
	}
	cluster := clusterName(pod)
	if serviceCluster != "" && serviceCluster != "istio-proxy" {
		cluster = serviceCluster // the agent's --serviceCluster wins over the labels
	}
	return &corev3.Node{
		Id:            fmt.Sprintf("%s~%s~%s.%s~%s", nodeType, ip, pod.Name, pod.Namespace, dnsDomain),
		Cluster:       cluster,
		Metadata:      md,
		UserAgentName: "envoy",
	}, nil
}

// clusterName is the agent's default service cluster: "<app or workload name>.<namespace>".
func clusterName(pod *corev1.Pod) string {
	for _, k := range []string{"service.istio.io/canonical-name", "app.kubernetes.io/name", "app"} {
		if v := pod.Labels[k]; v != "" {
			return v + "." + pod.Namespace
		}
	}
	return "istio-proxy." + pod.Namespace
}

// expandArg expands $(VAR) in a container argument from the container's env, as the kubelet
// does ($$ is a literal $; an unknown or unresolvable variable stays as written).
func expandArg(pod *corev1.Pod, c *corev1.Container, arg string) string {
	vars := map[string]string{}
	for _, e := range c.Env {
		if v, ok := envValue(pod, e); ok {
			vars[e.Name] = v
		}
	}
	var b strings.Builder
	for i := 0; i < len(arg); i++ {
		if arg[i] != '$' || i+1 >= len(arg) {
			b.WriteByte(arg[i])
			continue
		}
		switch arg[i+1] {
		case '$':
			b.WriteByte('$')
			i++
		case '(':
			if end := strings.IndexByte(arg[i+2:], ')'); end >= 0 {
				name := arg[i+2 : i+2+end]
				if v, ok := vars[name]; ok {
					b.WriteString(v)
				} else {
					b.WriteString(arg[i : i+3+end])
				}
				i += 2 + end
				continue
			}
			b.WriteByte('$')
		default:
			b.WriteByte('$')
		}
	}
	return b.String()
}

// envValue resolves a container env var: literal values and the downward-API fields the
// injection template uses. Secret/ConfigMap references are skipped.
func envValue(pod *corev1.Pod, e corev1.EnvVar) (string, bool) {
	if e.ValueFrom == nil {
		return e.Value, true
	}
	f := e.ValueFrom.FieldRef
	if f == nil {
		return "", false
	}
	switch f.FieldPath {
	case "metadata.name":
		return pod.Name, true
	case "metadata.namespace":
		return pod.Namespace, true
	case "spec.nodeName":
		return pod.Spec.NodeName, true
	case "spec.serviceAccountName":
		return pod.Spec.ServiceAccountName, true
	case "status.podIP":
		return pod.Status.PodIP, true
	case "status.hostIP":
		return pod.Status.HostIP, true
	case "status.podIPs":
		ips := []string{}
		for _, p := range pod.Status.PodIPs {
			ips = append(ips, p.IP)
		}
		return strings.Join(ips, ","), true
	}
	if strings.HasPrefix(f.FieldPath, "metadata.labels['") {
		return pod.Labels[strings.TrimSuffix(strings.TrimPrefix(f.FieldPath, "metadata.labels['"), "']")], true
	}
	if strings.HasPrefix(f.FieldPath, "metadata.annotations['") {
		return pod.Annotations[strings.TrimSuffix(strings.TrimPrefix(f.FieldPath, "metadata.annotations['"), "']")], true
	}
	return "", false
}

// ads is a minimal state-of-the-world ADS client: one request per type, acking every response.
type ads struct {
	stream    discoveryv3.AggregatedDiscoveryService_StreamAggregatedResourcesClient
	node      *corev3.Node
	sentNode  bool
	got       map[string]*discoveryv3.DiscoveryResponse
	acked     map[string]string
	responses chan *discoveryv3.DiscoveryResponse
	recvErr   chan error
}

func (a *ads) recvLoop() {
	for {
		r, err := a.stream.Recv()
		if err != nil {
			a.recvErr <- err
			return
		}
		a.responses <- r
	}
}

func (a *ads) send(req *discoveryv3.DiscoveryRequest) error {
	if !a.sentNode {
		req.Node = a.node
		a.sentNode = true
	}
	return a.stream.Send(req)
}

// fetch subscribes to typeURL (names nil = wildcard) and returns the first response of that
// type. Responses of other types arriving meanwhile (pushes) are acked and remembered.
func (a *ads) fetch(ctx context.Context, typeURL string, names []string) (*discoveryv3.DiscoveryResponse, error) {
	if err := a.send(&discoveryv3.DiscoveryRequest{TypeUrl: typeURL, ResourceNames: names}); err != nil {
		return nil, fmt.Errorf("sending request: %w", err)
	}
	for {
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("no %s response from istiod: %w", shortType(typeURL), ctx.Err())
		case err := <-a.recvErr:
			return nil, fmt.Errorf("stream closed by istiod: %w", err)
		case r := <-a.responses:
			// ACK: same names, the response's version and nonce.
			ack := &discoveryv3.DiscoveryRequest{
				TypeUrl:       r.TypeUrl,
				VersionInfo:   r.VersionInfo,
				ResponseNonce: r.Nonce,
			}
			if r.TypeUrl == typeURL {
				ack.ResourceNames = names
			} else if prev, ok := a.got[r.TypeUrl]; ok {
				ack.ResourceNames = namesOf(prev)
			}
			if err := a.send(ack); err != nil {
				return nil, fmt.Errorf("sending ack: %w", err)
			}
			a.got[r.TypeUrl] = r
			if r.TypeUrl == typeURL {
				return r, nil
			}
		}
	}
}

func namesOf(r *discoveryv3.DiscoveryResponse) []string {
	if r.TypeUrl == typeCluster || r.TypeUrl == typeListener {
		return nil
	}
	var n []string
	for _, res := range r.Resources {
		m, err := res.UnmarshalNew()
		if err != nil {
			continue
		}
		switch x := m.(type) {
		case *endpointv3.ClusterLoadAssignment:
			n = append(n, x.ClusterName)
		case *routev3.RouteConfiguration:
			n = append(n, x.Name)
		}
	}
	return n
}

func shortType(t string) string {
	switch t {
	case typeCluster:
		return "CDS"
	case typeEndpoint:
		return "EDS"
	case typeListener:
		return "LDS"
	case typeRoute:
		return "RDS"
	}
	return t
}

// renderAll renders each resource as JSON (nested Anys expanded through the global type
// registry), sorted by the resource's name.
func renderAll(res []*anypb.Any) []json.RawMessage {
	type item struct {
		name string
		js   json.RawMessage
	}
	items := make([]item, 0, len(res))
	for _, r := range res {
		m, err := r.UnmarshalNew()
		if err != nil {
			items = append(items, item{r.TypeUrl, errJSON(r.TypeUrl, err)})
			continue
		}
		items = append(items, item{resourceName(m), render(m)})
	}
	sort.SliceStable(items, func(i, j int) bool { return items[i].name < items[j].name })
	out := make([]json.RawMessage, len(items))
	for i, it := range items {
		out[i] = it.js
	}
	return out
}

func resourceName(m proto.Message) string {
	switch x := m.(type) {
	case *clusterv3.Cluster:
		return x.Name
	case *endpointv3.ClusterLoadAssignment:
		return x.ClusterName
	case *listenerv3.Listener:
		return x.Name
	case *routev3.RouteConfiguration:
		return x.Name
	}
	return ""
}

// render: protojson (proto field names, as Envoy's config_dump), then re-encoded through
// encoding/json so the bytes are stable (protojson deliberately varies its whitespace).
func render(m proto.Message) json.RawMessage {
	b, err := protojson.MarshalOptions{UseProtoNames: true}.Marshal(m)
	if err != nil {
		// A nested Any of a type this binary does not know: render it as an empty value
		// (its "@type" is kept) rather than losing the whole resource.
		fmt.Fprintf(os.Stderr, "testbed-xds: warning: %s %q: %v (rendered as empty)\n",
			m.ProtoReflect().Descriptor().FullName(), resourceName(m), err)
		b, err = protojson.MarshalOptions{UseProtoNames: true, Resolver: lenientResolver{}}.Marshal(m)
	}
	if err != nil {
		return errJSON(string(m.ProtoReflect().Descriptor().FullName()), err)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return errJSON(string(m.ProtoReflect().Descriptor().FullName()), err)
	}
	var out bytes.Buffer
	enc := json.NewEncoder(&out)
	enc.SetEscapeHTML(false) // keep regexes and URLs readable
	if err := enc.Encode(v); err != nil {
		return errJSON(string(m.ProtoReflect().Descriptor().FullName()), err)
	}
	return bytes.TrimRight(out.Bytes(), "\n")
}

func errJSON(what string, err error) json.RawMessage {
	b, _ := json.Marshal(map[string]string{"render_error": fmt.Sprintf("%s: %v", what, err)})
	return b
}

// lenientResolver resolves what the global registry knows and maps any other message type to
// google.protobuf.Empty, so protojson can still render the surrounding resource.
type lenientResolver struct{}

func (lenientResolver) FindMessageByName(n protoreflect.FullName) (protoreflect.MessageType, error) {
	if t, err := protoregistry.GlobalTypes.FindMessageByName(n); err == nil {
		return t, nil
	}
	return (&emptypb.Empty{}).ProtoReflect().Type(), nil
}

func (r lenientResolver) FindMessageByURL(url string) (protoreflect.MessageType, error) {
	if t, err := protoregistry.GlobalTypes.FindMessageByURL(url); err == nil {
		return t, nil
	}
	return (&emptypb.Empty{}).ProtoReflect().Type(), nil
}

func (lenientResolver) FindExtensionByName(n protoreflect.FullName) (protoreflect.ExtensionType, error) {
	return protoregistry.GlobalTypes.FindExtensionByName(n)
}

func (lenientResolver) FindExtensionByNumber(m protoreflect.FullName, f protoreflect.FieldNumber) (protoreflect.ExtensionType, error) {
	return protoregistry.GlobalTypes.FindExtensionByNumber(m, f)
}
