package health

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	grpchealth "google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
)

// grpcServer starts a real grpc-go server on loopback with the standard
// health service (unless bare) and returns its address.
func grpcServer(t *testing.T, bare bool, opts ...grpc.ServerOption) (string, *grpchealth.Server) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := grpc.NewServer(opts...)
	hs := grpchealth.NewServer()
	if !bare {
		healthpb.RegisterHealthServer(srv, hs)
	}
	hs.SetServingStatus("svc", healthpb.HealthCheckResponse_SERVING)
	hs.SetServingStatus("down", healthpb.HealthCheckResponse_NOT_SERVING)
	done := make(chan struct{})
	go func() { defer close(done); srv.Serve(ln) }()
	t.Cleanup(func() { srv.Stop(); <-done })
	return ln.Addr().String(), hs
}

// selfSigned returns a TLS certificate for 127.0.0.1 and localhost.
func selfSigned(t *testing.T) tls.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "hcinit test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, DNSNames: []string{"localhost"},
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}

func grpcProbe(t *testing.T, spec string, timeout time.Duration) outcome {
	t.Helper()
	sp, err := ParseSpec(spec)
	if err != nil {
		t.Fatal(err)
	}
	sp.Timeout = timeout
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	return newGRPCProbe(sp)(ctx)
}

func TestGRPCProbe(t *testing.T) {
	addr, _ := grpcServer(t, false)
	bare, _ := grpcServer(t, true)
	cert := selfSigned(t)
	tlsAddr, _ := grpcServer(t, false, grpc.Creds(credentials.NewServerTLSFromCert(&cert)))

	// A plain HTTP/1.1 server (net/http without TLS speaks no HTTP/2), and an
	// HTTP/2 server that is not gRPC.
	h1 := httptest.NewServer(http.NotFoundHandler())
	defer h1.Close()
	h2 := httptest.NewUnstartedServer(http.NotFoundHandler())
	h2.EnableHTTP2 = true
	h2.StartTLS()
	defer h2.Close()
	h2addr := strings.TrimPrefix(h2.URL, "https://")
	// A TCP server that accepts and never answers.
	silent, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer silent.Close()
	// A closed port.
	closed, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closedAddr := closed.Addr().String()
	closed.Close()

	const second = time.Second
	for _, tc := range []struct {
		name, spec string
		timeout    time.Duration
		code       int
		output     string // the whole output, or a prefix when it ends in "…"
	}{
		{"server", "grpc://" + addr, 5 * second, 0, "service healthy"},
		{"service", "grpc://" + addr + "/svc", 5 * second, 0, "service healthy"},
		{"service key", "type=grpc,addr=" + addr + ",service=svc", 5 * second, 0, "service healthy"},
		{"not serving", "grpc://" + addr + "/down", 5 * second, 1, `service unhealthy (responded with "NOT_SERVING")`},
		{"unknown service", "grpc://" + addr + "/nosuch", 5 * second, 1,
			"error: health rpc probe failed: rpc error: code = NotFound desc = unknown service"},
		{"no health service", "grpc://" + bare, 5 * second, 1,
			"error: this server does not implement the grpc health protocol (grpc.health.v1.Health): unknown service grpc.health.v1.Health"},
		{"http/1.1 server", "grpc://" + strings.TrimPrefix(h1.URL, "http://"), 5 * second, 1,
			`error: failed to connect service at "` + strings.TrimPrefix(h1.URL, "http://") + `": error reading server preface: the server answered in HTTP/1 ("HTTP/1.1 "…), not HTTP/2: not a gRPC port?`},
		{"http/2 server, not grpc", "grpc://" + h2addr + ",tls=true,insecure=true", 5 * second, 1,
			`error: this server does not implement the grpc health protocol (grpc.health.v1.Health): unexpected HTTP status code received from server: 404 (Not Found); transport: received unexpected content-type "text/plain; charset=utf-8"`},
		{"tls", "grpc://" + tlsAddr + "/svc,tls=true,insecure=true", 5 * second, 0, "service healthy"},
		{"tls unverified", "grpc://" + tlsAddr + ",tls=true", 5 * second, 1,
			`error: failed to connect service at "` + tlsAddr + `": tls: failed to verify certificate: x509: certificate signed by unknown authority…`},
		{"plaintext to tls", "grpc://" + tlsAddr, 5 * second, 1, `error: failed to connect service at "` + tlsAddr + `": …`},
		{"tls to plaintext", "grpc://" + addr + ",tls=true,insecure=true", 5 * second, 1, `error: failed to connect service at "` + addr + `": …`},
		{"connection refused", "grpc://" + closedAddr, 5 * second, 1,
			`error: failed to connect service at "` + closedAddr + `": dial tcp ` + closedAddr + `: connect: connection refused`},
		{"silent server", "grpc://" + silent.Addr().String(), 300 * time.Millisecond, 1,
			`timeout: failed to connect service "` + silent.Addr().String() + `" within 300ms: context deadline exceeded`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := grpcProbe(t, tc.spec, tc.timeout)
			want, prefix := strings.CutSuffix(tc.output, "…")
			ok := o.output == want || prefix && strings.HasPrefix(o.output, want)
			if o.code != tc.code || !ok {
				t.Errorf("have code %d, output %q; want code %d, output %q", o.code, o.output, tc.code, tc.output)
			}
		})
	}
}

// slowHealth answers Check only when the call's context ends.
type slowHealth struct {
	healthpb.UnimplementedHealthServer
}

func (slowHealth) Check(ctx context.Context, _ *healthpb.HealthCheckRequest) (*healthpb.HealthCheckResponse, error) {
	<-ctx.Done()
	return nil, ctx.Err()
}

// The rpc itself times out: kubelet's message, and the deadline reached the
// server as grpc-timeout (it ends the server's call).
func TestGRPCProbeRPCTimeout(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := grpc.NewServer()
	healthpb.RegisterHealthServer(srv, slowHealth{})
	done := make(chan struct{})
	go func() { defer close(done); srv.Serve(ln) }()
	defer func() { srv.Stop(); <-done }()

	o := grpcProbe(t, "grpc://"+ln.Addr().String(), 500*time.Millisecond)
	if want := "timeout: health rpc did not complete within 500ms"; o.code != 1 || o.output != want {
		t.Errorf("have code %d, output %q; want code 1, output %q", o.code, o.output, want)
	}
}

// The state follows the server's: SERVING, then NOT_SERVING, then SERVING.
func TestGRPCProbeFollowsServer(t *testing.T) {
	addr, hs := grpcServer(t, false)
	for _, st := range []healthpb.HealthCheckResponse_ServingStatus{
		healthpb.HealthCheckResponse_SERVING, healthpb.HealthCheckResponse_NOT_SERVING,
		healthpb.HealthCheckResponse_SERVING,
	} {
		hs.SetServingStatus("app", st)
		o := grpcProbe(t, "grpc://"+addr+"/app", 5*time.Second)
		if (o.code == 0) != (st == healthpb.HealthCheckResponse_SERVING) {
			t.Errorf("server says %s: have code %d, output %q", st, o.code, o.output)
		}
	}
}

func TestGRPCSpec(t *testing.T) {
	for _, tc := range []struct {
		spec    string
		addr    string
		service string
		tls     bool
		err     string
	}{
		{spec: "grpc://127.0.0.1:50051", addr: "127.0.0.1:50051"},
		{spec: "grpc://[::1]:50051/my.pkg.Svc,tls=true,insecure=true,timeout=2s", addr: "[::1]:50051", service: "my.pkg.Svc", tls: true},
		{spec: "type=grpc,addr=:50051,service=a", addr: ":50051", service: "a"},
		{spec: "grpc://127.0.0.1", err: "addr: want HOST:PORT"},
		{spec: "grpc://127.0.0.1:1,insecure=true", err: "insecure: skips certificate verification, which needs tls=true"},
		{spec: "grpc://127.0.0.1:1,tls=maybe", err: "tls: want true or false"},
		{spec: "grpc://127.0.0.1:1?x=1", err: "want grpc://HOST:PORT[/SERVICE]"},
		{spec: "grpc://127.0.0.1:1,url=http://x", err: `key "url" does not apply to a grpc check`},
	} {
		sp, err := ParseSpec(tc.spec)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("ParseSpec(%q): have error %v, want %q", tc.spec, err, tc.err)
			}
			continue
		}
		if err != nil || sp.Kind != KindGRPC || sp.Addr != tc.addr || sp.Service != tc.service || sp.TLS != tc.tls {
			t.Errorf("ParseSpec(%q) = %+v, %v", tc.spec, sp, err)
		}
	}
}
