// linkerd-probe talks to the Linkerd control plane that test/testbed/linkerd-up.sh runs on
// loopback, the way a linkerd-proxy would, and prints what it got as one JSON line:
//
//	linkerd-probe certify --addr 127.0.0.1:P --token-file F --identity NAME --trust-anchors PEM
//	    io.linkerd.proxy.identity.Identity/Certify with a fresh ECDSA P-256 key and a CSR for NAME
//	    (<sa>.<ns>.serviceaccount.identity.<controlNs>.<trustDomain>) and the ServiceAccount token
//	    in F (kubectl create token SA -n NS --audience identity.l5d.io); the returned leaf and
//	    intermediates are verified against the trust anchors. Prints {identity, leafSubject,
//	    leafDnsSans, issuerSubject, notBefore, notAfter, chainVerified}.
//	linkerd-probe get --addr 127.0.0.1:P --path svc.ns.svc.cluster.local:PORT [--timeout 10s]
//	    io.linkerd.proxy.destination.Destination/Get: waits for the first update with addresses
//	    (or a NoEndpoints update), merges what follows within --settle, prints
//	    {path, addresses:[{ip, port, labels, tlsIdentity}]} (addresses sorted by ip, port).
//	    Linkerd edge-26.8.3's destination sends no update at all for a Service without
//	    endpoints (it only sends NoEndpoints to a stream that had addresses, as a Remove); with
//	    --allow-empty a timeout without any update prints empty addresses ("noUpdate": true)
//	    and exits 0 instead of failing.
//
// Both services speak plaintext gRPC (in a pod, the linkerd-proxy in front of them terminates
// mTLS); so does this probe. It never connects anywhere but --addr.
package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/binary"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/netip"
	"os"
	"sort"
	"strings"
	"time"

	pbdst "github.com/linkerd/linkerd2-proxy-api/go/destination"
	pbid "github.com/linkerd/linkerd2-proxy-api/go/identity"
	pbnet "github.com/linkerd/linkerd2-proxy-api/go/net"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
)

const usage = `usage:
  linkerd-probe certify --addr 127.0.0.1:PORT --token-file FILE --identity NAME --trust-anchors PEMFILE [--timeout 10s]
  linkerd-probe get --addr 127.0.0.1:PORT --path HOST:PORT [--timeout 10s] [--settle 500ms] [--allow-empty] [--context-token JSON]
  linkerd-probe --help
Prints one JSON line on stdout; exits non-zero with a message on stderr on any error.
`

func main() {
	if len(os.Args) < 2 {
		fmt.Fprint(os.Stderr, usage)
		os.Exit(2)
	}
	var err error
	switch os.Args[1] {
	case "-h", "-help", "--help", "help":
		fmt.Print(usage)
		return
	case "certify":
		err = certify(os.Args[2:])
	case "get":
		err = get(os.Args[2:])
	default:
		fmt.Fprintf(os.Stderr, "linkerd-probe: unknown command %q\n%s", os.Args[1], usage)
		os.Exit(2)
	}
	if errors.Is(err, flag.ErrHelp) {
		return
	}
	var ue usageError
	if errors.As(err, &ue) {
		fmt.Fprintf(os.Stderr, "linkerd-probe %s: %s\n%s", os.Args[1], ue.msg, usage)
		os.Exit(2)
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "linkerd-probe %s: %s\n", os.Args[1], err)
		os.Exit(1)
	}
}

type usageError struct{ msg string }

func (u usageError) Error() string { return u.msg }

func parse(fs *flag.FlagSet, args []string, required ...string) error {
	fs.SetOutput(io.Discard)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Print(usage)
			return err
		}
		return usageError{err.Error()}
	}
	if fs.NArg() > 0 {
		return usageError{fmt.Sprintf("unexpected argument %q", fs.Arg(0))}
	}
	for _, r := range required {
		if fs.Lookup(r).Value.String() == "" {
			return usageError{"--" + r + " is required"}
		}
	}
	return nil
}

func dial(addr string) (*grpc.ClientConn, error) {
	conn, err := grpc.NewClient("passthrough:///"+addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return nil, fmt.Errorf("dial %s: %w", addr, err)
	}
	return conn, nil
}

func printJSON(v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	fmt.Println(string(b))
	return nil
}

// --- certify -------------------------------------------------------------------------------------

type certifyResult struct {
	Identity      string   `json:"identity"`
	LeafSubject   string   `json:"leafSubject"`
	LeafDNSSans   []string `json:"leafDnsSans"`
	IssuerSubject string   `json:"issuerSubject"`
	NotBefore     string   `json:"notBefore"`
	NotAfter      string   `json:"notAfter"`
	ValidUntil    string   `json:"validUntil,omitempty"`
	Intermediates int      `json:"intermediates"`
	ChainVerified bool     `json:"chainVerified"`
	VerifyError   string   `json:"verifyError,omitempty"`
}

func certify(args []string) error {
	fs := flag.NewFlagSet("certify", flag.ContinueOnError)
	addr := fs.String("addr", "", "identity service gRPC address (127.0.0.1:PORT)")
	tokenFile := fs.String("token-file", "", "file holding the ServiceAccount token (audience identity.l5d.io)")
	identity := fs.String("identity", "", "identity to certify: <sa>.<ns>.serviceaccount.identity.<controlNs>.<trustDomain>")
	anchorsFile := fs.String("trust-anchors", "", "PEM file with the trust anchors")
	timeout := fs.Duration("timeout", 10*time.Second, "deadline of the call")
	if err := parse(fs, args, "addr", "token-file", "identity", "trust-anchors"); err != nil {
		return err
	}
	tok, err := os.ReadFile(*tokenFile)
	if err != nil {
		return err
	}
	tok = []byte(strings.TrimSpace(string(tok)))
	if len(tok) == 0 {
		return fmt.Errorf("%s is empty", *tokenFile)
	}
	anchorsPEM, err := os.ReadFile(*anchorsFile)
	if err != nil {
		return err
	}
	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM(anchorsPEM) {
		return fmt.Errorf("%s holds no PEM certificate", *anchorsFile)
	}

	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return err
	}
	csr, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{
		Subject:  pkix.Name{CommonName: *identity},
		DNSNames: []string{*identity},
	}, key)
	if err != nil {
		return fmt.Errorf("CSR: %w", err)
	}

	conn, err := dial(*addr)
	if err != nil {
		return err
	}
	defer conn.Close()
	ctx, cancel := context.WithTimeout(context.Background(), *timeout)
	defer cancel()
	rsp, err := pbid.NewIdentityClient(conn).Certify(ctx, &pbid.CertifyRequest{
		Identity:                  *identity,
		Token:                     tok,
		CertificateSigningRequest: csr,
	})
	if err != nil {
		return fmt.Errorf("Certify at %s: %w", *addr, err)
	}
	leaf, err := x509.ParseCertificate(rsp.GetLeafCertificate())
	if err != nil {
		return fmt.Errorf("leaf certificate: %w", err)
	}
	inter := x509.NewCertPool()
	var issuer *x509.Certificate
	for i, der := range rsp.GetIntermediateCertificates() {
		c, err := x509.ParseCertificate(der)
		if err != nil {
			return fmt.Errorf("intermediate certificate %d: %w", i, err)
		}
		if issuer == nil {
			issuer = c
		}
		inter.AddCert(c)
	}
	res := certifyResult{
		Identity:      *identity,
		LeafSubject:   leaf.Subject.String(),
		LeafDNSSans:   leaf.DNSNames,
		IssuerSubject: leaf.Issuer.String(),
		NotBefore:     leaf.NotBefore.UTC().Format(time.RFC3339),
		NotAfter:      leaf.NotAfter.UTC().Format(time.RFC3339),
		Intermediates: len(rsp.GetIntermediateCertificates()),
	}
	if issuer != nil {
		res.IssuerSubject = issuer.Subject.String()
	}
	if vu := rsp.GetValidUntil(); vu != nil {
		res.ValidUntil = vu.AsTime().UTC().Format(time.RFC3339)
	}
	var verr error
	if pub, ok := leaf.PublicKey.(*ecdsa.PublicKey); !ok || !pub.Equal(&key.PublicKey) {
		verr = errors.New("the leaf certificate does not carry the key of our CSR")
	} else if _, err := leaf.Verify(x509.VerifyOptions{
		DNSName:       *identity,
		Roots:         roots,
		Intermediates: inter,
		KeyUsages:     []x509.ExtKeyUsage{x509.ExtKeyUsageAny},
	}); err != nil {
		verr = fmt.Errorf("chain verification against %s: %w", *anchorsFile, err)
	}
	res.ChainVerified = verr == nil
	if verr != nil {
		res.VerifyError = verr.Error()
	}
	if err := printJSON(res); err != nil {
		return err
	}
	return verr
}

// --- get -----------------------------------------------------------------------------------------

type address struct {
	IP          string            `json:"ip"`
	Port        uint32            `json:"port"`
	Labels      map[string]string `json:"labels"`
	TLSIdentity string            `json:"tlsIdentity"`
}

type getResult struct {
	Path        string    `json:"path"`
	Addresses   []address `json:"addresses"`
	NoEndpoints bool      `json:"noEndpoints,omitempty"`
	Exists      *bool     `json:"exists,omitempty"`
	NoUpdate    bool      `json:"noUpdate,omitempty"`
	SetLabels   any       `json:"setLabels,omitempty"`
}

func ipString(a *pbnet.IPAddress) string {
	switch {
	case a == nil:
		return ""
	case a.GetIpv6() != nil:
		var b [16]byte
		binary.BigEndian.PutUint64(b[:8], a.GetIpv6().GetFirst())
		binary.BigEndian.PutUint64(b[8:], a.GetIpv6().GetLast())
		return netip.AddrFrom16(b).String()
	default:
		var b [4]byte
		binary.BigEndian.PutUint32(b[:], a.GetIpv4())
		return netip.AddrFrom4(b).String()
	}
}

func addrKey(a *pbnet.TcpAddress) string {
	return fmt.Sprintf("%s:%d", ipString(a.GetIp()), a.GetPort())
}

func get(args []string) error {
	fs := flag.NewFlagSet("get", flag.ContinueOnError)
	addr := fs.String("addr", "", "destination service gRPC address (127.0.0.1:PORT)")
	path := fs.String("path", "", "authority to resolve: <svc>.<ns>.svc.<clusterDomain>:<port>")
	timeout := fs.Duration("timeout", 10*time.Second, "how long to wait for the first update with addresses")
	settle := fs.Duration("settle", 500*time.Millisecond, "after the first update, how long to merge further updates")
	allowEmpty := fs.Bool("allow-empty", false, "a timeout without any update prints empty addresses and exits 0")
	ctxToken := fs.String("context-token", "", `context token, as a proxy sends it ({"ns":"NS","nodeName":"NODE"})`)
	if err := parse(fs, args, "addr", "path"); err != nil {
		return err
	}
	conn, err := dial(*addr)
	if err != nil {
		return err
	}
	defer conn.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	stream, err := pbdst.NewDestinationClient(conn).Get(ctx, &pbdst.GetDestination{
		Scheme: "k8s", Path: *path, ContextToken: *ctxToken,
	})
	if err != nil {
		return fmt.Errorf("Get %s at %s: %w", *path, *addr, err)
	}

	type recvd struct {
		u   *pbdst.Update
		err error
	}
	ch := make(chan recvd)
	go func() {
		for {
			u, err := stream.Recv()
			select {
			case ch <- recvd{u, err}:
			case <-ctx.Done():
				return
			}
			if err != nil {
				return
			}
		}
	}()

	res := getResult{Path: *path, Addresses: []address{}}
	set := map[string]address{}
	deadline := time.NewTimer(*timeout)
	defer deadline.Stop()
	var settleC <-chan time.Time
	for done := false; !done; {
		select {
		case <-deadline.C:
			if settleC == nil && *allowEmpty {
				res.NoUpdate = true
				done = true
			} else if settleC == nil {
				return fmt.Errorf("no update with addresses for %s from %s within %s", *path, *addr, *timeout)
			}
		case <-settleC:
			done = true
		case r := <-ch:
			if r.err != nil {
				if settleC != nil && (errors.Is(r.err, io.EOF)) {
					done = true
					break
				}
				return fmt.Errorf("Get %s at %s: %w", *path, *addr, r.err)
			}
			switch up := r.u.GetUpdate().(type) {
			case *pbdst.Update_Add:
				if len(up.Add.GetMetricLabels()) > 0 {
					res.SetLabels = up.Add.GetMetricLabels()
				}
				for _, wa := range up.Add.GetAddrs() {
					a := address{
						IP:     ipString(wa.GetAddr().GetIp()),
						Port:   wa.GetAddr().GetPort(),
						Labels: wa.GetMetricLabels(),
					}
					if a.Labels == nil {
						a.Labels = map[string]string{}
					}
					if id := wa.GetTlsIdentity().GetDnsLikeIdentity(); id != nil {
						a.TLSIdentity = id.GetName()
					}
					set[addrKey(wa.GetAddr())] = a
				}
				res.NoEndpoints, res.Exists = false, nil
			case *pbdst.Update_Remove:
				for _, ta := range up.Remove.GetAddrs() {
					delete(set, addrKey(ta))
				}
			case *pbdst.Update_NoEndpoints:
				set = map[string]address{}
				exists := up.NoEndpoints.GetExists()
				res.NoEndpoints, res.Exists = true, &exists
			}
			if settleC == nil && (len(set) > 0 || res.NoEndpoints) {
				settleC = time.After(*settle)
			}
		}
	}
	for _, a := range set {
		res.Addresses = append(res.Addresses, a)
	}
	sort.Slice(res.Addresses, func(i, j int) bool {
		ai, _ := netip.ParseAddr(res.Addresses[i].IP)
		aj, _ := netip.ParseAddr(res.Addresses[j].IP)
		if c := ai.Compare(aj); c != 0 {
			return c < 0
		}
		return res.Addresses[i].Port < res.Addresses[j].Port
	})
	return printJSON(res)
}
