package health

import (
	"context"
	"net"
	"strconv"
	"syscall"
	"testing"
	"time"
)

// TestHTTPCheckRefused: a plain http check to an IP address (blocking
// socket) fails as net.Dialer's would.
func TestHTTPCheckRefused(t *testing.T) {
	m := bare(t, Config{})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	_, derr := net.Dial("tcp", addr)
	if derr == nil {
		t.Skip("the closed port was taken again")
	}
	wantFail(t, probeOnce(t, m, "http://"+addr+"/"), `Get "http://`+addr+`/": `+derr.Error())
}

// TestHTTPCheckConnectAborted: a connect that the server never completes
// (its accept queue is full, so SYNs are dropped) ends with the check's
// timeout, not the kernel's SYN retries.
func TestHTTPCheckConnectAborted(t *testing.T) {
	fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer syscall.Close(fd)
	if err := syscall.Bind(fd, &syscall.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Listen(fd, 0); err != nil { // never accepted
		t.Fatal(err)
	}
	sa, _ := syscall.Getsockname(fd)
	addr := "127.0.0.1:" + strconv.Itoa(sa.(*syscall.SockaddrInet4).Port)
	// Fill the accept queue: the connections that complete stay queued.
	var d net.Dialer
	for i := 0; i < 4; i++ {
		ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		if c, err := d.DialContext(ctx, "tcp", addr); err == nil {
			defer c.Close()
		}
		cancel()
	}
	m := bare(t, Config{})
	began := time.Now()
	wantFail(t, probeOnce(t, m, "http://"+addr+"/,timeout=300ms"), "context deadline exceeded")
	if took := time.Since(began); took > 5*time.Second {
		t.Errorf("the check took %s with a 300ms timeout", took)
	}
}

// TestHTTPCheckIPv6: the blocking path speaks IPv6 too.
func TestHTTPCheckIPv6(t *testing.T) {
	ln, err := net.Listen("tcp", "[::1]:0")
	if err != nil {
		t.Skip("no IPv6 loopback:", err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Write([]byte("HTTP/1.1 204 No Content\r\n\r\n"))
			c.Close()
		}
	}()
	m := bare(t, Config{})
	wantPass(t, probeOnce(t, m, "http://"+ln.Addr().String()+"/"), "HTTP 204")
}
