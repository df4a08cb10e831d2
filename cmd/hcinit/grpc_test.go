package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	grpchealth "google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	"github.com/wisdom-oss/go-healthcheck/supervisor/health"
)

// startGRPC serves grpc-go's own health service on loopback, over TLS when
// cert is given, until the test ends.
func startGRPC(t *testing.T, cert *tls.Certificate) (string, *grpchealth.Server) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var opts []grpc.ServerOption
	if cert != nil {
		opts = append(opts, grpc.Creds(credentials.NewServerTLSFromCert(cert)))
	}
	srv := grpc.NewServer(opts...)
	hs := grpchealth.NewServer()
	healthpb.RegisterHealthServer(srv, hs)
	done := make(chan struct{})
	go func() { defer close(done); srv.Serve(ln) }()
	t.Cleanup(func() { srv.Stop(); <-done })
	return ln.Addr().String(), hs
}

// TestGRPCCheck: hcinit's grpc check against a real grpc-go health server
// follows what the server says, as `hcinit check` and `hcinit status` report.
func TestGRPCCheck(t *testing.T) {
	t.Parallel()
	addr, hs := startGRPC(t, nil)
	hs.SetServingStatus("app", healthpb.HealthCheckResponse_SERVING)
	sock := filepath.Join(t.TempDir(), "hc.sock")
	_, err := spawn(t, []string{hcinitBin(), "--socket", sock, "--check", "grpc://" + addr + "/app",
		"--check", "grpc://" + addr + "/nosuch,level=ready", "--interval", "200ms", "--retries", "1", "--", "sleep", "60"})
	if err != nil {
		t.Fatal(err)
	}
	st, err := waitStatus(sock, 10*time.Second, "grpc check healthy", func(st health.Status) bool {
		return len(st.Checks) == 2 && st.Checks[0].Status == health.StatusHealthy && st.Checks[1].Status == health.StatusUnhealthy
	})
	if err != nil {
		t.Fatal(err)
	}
	if out := st.Checks[1].Log[len(st.Checks[1].Log)-1].Output; out != "error: health rpc probe failed: rpc error: code = NotFound desc = unknown service" {
		t.Errorf("unknown service: output %q", out)
	}
	if out, code, err := hcinitClient("check", "--live", "--socket", sock); err != nil || code != 0 {
		t.Errorf("hcinit check --live: %q, exit %d, %v; want 0", out, code, err)
	}

	hs.SetServingStatus("app", healthpb.HealthCheckResponse_NOT_SERVING)
	if _, err := waitStatus(sock, 10*time.Second, "grpc check unhealthy", func(st health.Status) bool {
		return st.Checks[0].Status == health.StatusUnhealthy
	}); err != nil {
		t.Fatal(err)
	}
	out, code, err := hcinitClient("check", "--live", "--socket", sock)
	if err != nil || code != 1 || !strings.Contains(out, `service unhealthy (responded with "NOT_SERVING")`) {
		t.Errorf("hcinit check --live: %q, exit %d, %v; want 1 and NOT_SERVING", out, code, err)
	}
}

// TestGRPCCheckTLS: a verified TLS connection, with the CA given the way a
// FROM scratch image gives it (SSL_CERT_FILE), and a refused one without it.
func TestGRPCCheckTLS(t *testing.T) {
	t.Parallel()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "hcinit test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, IsCA: true, BasicConstraintsValid: true,
		KeyUsage:    x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	caFile := filepath.Join(dir, "ca.pem")
	if err := os.WriteFile(caFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644); err != nil {
		t.Fatal(err)
	}
	addr, _ := startGRPC(t, &tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key})

	sock := filepath.Join(dir, "hc.sock")
	_, err = spawn(t, []string{hcinitBin(), "--socket", sock, "--check", "grpc://" + addr + ",tls=true,name=verified",
		"--check", "grpc://" + addr + ",name=plaintext,level=ready", "--interval", "200ms", "--retries", "1", "--", "sleep", "60"},
		withEnv("SSL_CERT_FILE="+caFile))
	if err != nil {
		t.Fatal(err)
	}
	st, err := waitStatus(sock, 10*time.Second, "tls check healthy", func(st health.Status) bool {
		return len(st.Checks) == 2 && st.Checks[0].Status == health.StatusHealthy && st.Checks[1].Status == health.StatusUnhealthy
	})
	if err != nil {
		t.Fatal(err)
	}
	if out := st.Checks[1].Log[len(st.Checks[1].Log)-1].Output; !strings.HasPrefix(out, "error: failed to connect service at") {
		t.Errorf("plaintext to a TLS server: output %q", out)
	}

	// Without the CA the certificate is not trusted.
	sock2 := filepath.Join(dir, "hc2.sock")
	_, err = spawn(t, []string{hcinitBin(), "--socket", sock2, "--check", "grpc://" + addr + ",tls=true",
		"--interval", "200ms", "--retries", "1", "--", "sleep", "60"}, withEnv("SSL_CERT_FILE="+filepath.Join(dir, "none.pem")))
	if err != nil {
		t.Fatal(err)
	}
	st, err = waitStatus(sock2, 10*time.Second, "untrusted tls check unhealthy", func(st health.Status) bool {
		return len(st.Checks) == 1 && st.Checks[0].Status == health.StatusUnhealthy
	})
	if err != nil {
		t.Fatal(err)
	}
	if out := st.Checks[0].Log[len(st.Checks[0].Log)-1].Output; !strings.Contains(out, "certificate signed by unknown authority") {
		t.Errorf("untrusted certificate: output %q", out)
	}
}
