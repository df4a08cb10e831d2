package health

// What one HTTP check and one answer of the --http endpoint cost in
// allocations and bytes (issue #15: CPU per check, RSS under checks). The
// peer on the other side of the loopback connection speaks through raw
// system calls, so that the numbers are hcinit's own:
//
//	go test -run='^$' -bench='HTTPCheck|HTTPEndpoint' -benchmem ./supervisor/health/
//
// Compare allocs/op and B/op, which are deterministic; ns/op on a shared
// machine is not.

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"
)

// rawListen returns a listening loopback TCP socket and its port.
func rawListen(b *testing.B) (int, int) {
	fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		b.Fatal(err)
	}
	if err := syscall.Bind(fd, &syscall.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		b.Fatal(err)
	}
	if err := syscall.Listen(fd, 128); err != nil {
		b.Fatal(err)
	}
	sa, err := syscall.Getsockname(fd)
	if err != nil {
		b.Fatal(err)
	}
	return fd, sa.(*syscall.SockaddrInet4).Port
}

// rawHTTPServer answers every connection on a loopback port with resp after
// reading a request header, on a thread of its own with blocking system
// calls. It returns the address.
func rawHTTPServer(b *testing.B, resp string) string {
	fd, port := rawListen(b)
	done := make(chan struct{})
	go func() {
		defer close(done)
		buf := make([]byte, 4096)
		out := []byte(resp)
		for {
			c, _, err := syscall.Accept4(fd, syscall.SOCK_CLOEXEC)
			if err != nil {
				return // shut down
			}
			n := 0
			for !bytes.Contains(buf[:n], []byte("\r\n\r\n")) && n < len(buf) {
				m, err := syscall.Read(c, buf[n:])
				if err != nil || m <= 0 {
					break
				}
				n += m
			}
			syscall.Write(c, out)
			syscall.Close(c)
		}
	}()
	b.Cleanup(func() {
		syscall.Shutdown(fd, syscall.SHUT_RDWR) // wakes accept
		<-done
		syscall.Close(fd)
	})
	return "127.0.0.1:" + strconv.Itoa(port)
}

// BenchmarkHTTPCheck: one http check, as the scheduler runs it (a context
// with the check's timeout), against a server answering 200 with a short
// body.
//
// With HCINIT_BENCH_HTTP=ADDR the server is another process at ADDR, so
// that `strace -c -f` counts only the check's system calls.
func BenchmarkHTTPCheck(b *testing.B) {
	addr := os.Getenv("HCINIT_BENCH_HTTP")
	if addr == "" {
		addr = rawHTTPServer(b, "HTTP/1.1 200 OK\r\nContent-Type: text/plain; charset=utf-8\r\n"+
			"Date: Mon, 30 Nov 2026 12:00:00 GMT\r\nContent-Length: 8\r\n\r\nhealthy\n")
	}
	sp, err := ParseSpec("http://" + addr + "/healthz")
	if err != nil {
		b.Fatal(err)
	}
	probe := newHTTPProbe(sp, "hcinit/bench")
	b.ReportAllocs()
	for b.Loop() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		o := probe(ctx)
		cancel()
		if o.code != 0 {
			b.Fatal(o.output)
		}
	}
}

// rawGet sends req to 127.0.0.1:port on a new connection and reads the
// answer into buf until the server closes; it returns the answer's length.
func rawGet(b *testing.B, port int, req, buf []byte) int {
	fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		b.Fatal(err)
	}
	defer syscall.Close(fd)
	if err := syscall.Connect(fd, &syscall.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}, Port: port}); err != nil {
		b.Fatal(err)
	}
	if _, err := syscall.Write(fd, req); err != nil {
		b.Fatal(err)
	}
	n := 0
	for n < len(buf) {
		m, err := syscall.Read(fd, buf[n:])
		if err != nil {
			b.Fatal(err)
		}
		if m == 0 {
			break
		}
		n += m
	}
	return n
}

// BenchmarkHTTPEndpoint: one answer of the --http endpoint to GET /livez
// from a client that sends its request and reads until the server closes.
func BenchmarkHTTPEndpoint(b *testing.B) {
	dir := b.TempDir()
	m, err := New(Config{Specs: []string{"process,interval=1h"}, HTTPAddr: "127.0.0.1:0",
		Socket: filepath.Join(dir, "hc.sock"), RuntimeDir: filepath.Join(dir, "run")})
	if err != nil {
		b.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- runActors(m) }()
	b.Cleanup(func() { m.Interrupt(nil); <-done })
	var addr string
	for deadline := time.Now().Add(5 * time.Second); addr == "" && time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		m.mu.Lock()
		addr = m.httpAddr
		m.mu.Unlock()
	}
	_, p, _ := bytes.Cut([]byte(addr), []byte(":"))
	port, err := strconv.Atoi(string(p))
	if err != nil {
		b.Fatalf("address %q: %v", addr, err)
	}
	req := []byte("GET /livez HTTP/1.1\r\nHost: localhost\r\nUser-Agent: kube-probe/1.33\r\nAccept: */*\r\nConnection: close\r\n\r\n")
	buf := make([]byte, 4096)
	b.ReportAllocs()
	for b.Loop() {
		n := rawGet(b, port, req, buf)
		if !bytes.HasPrefix(buf[:n], []byte("HTTP/1.1 ")) {
			b.Fatalf("answer %q", buf[:n])
		}
	}
}
