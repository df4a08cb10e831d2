//go:build !windows

package hcclient

import (
	"context"
	"errors"
	"io"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/wisdom-oss/go-healthcheck/common"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

const wait = 5 * time.Second

// shortDir returns a fresh directory short enough for socket paths.
func shortDir(t *testing.T) string {
	t.Helper()
	d, err := os.MkdirTemp("", "hcp")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(d) })
	return d
}

// fakeServer listens on addr and serves every connection with handle; it
// records the requests it read. Cleanup closes it and waits for its goroutines.
func fakeServer(t *testing.T, addr string, handle func(c net.Conn) string) (requests func() []string) {
	t.Helper()
	ln, err := net.Listen("unix", addr)
	if err != nil {
		t.Fatal(err)
	}
	var (
		mu   sync.Mutex
		reqs []string
		wg   sync.WaitGroup
	)
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer c.Close()
				c.SetDeadline(time.Now().Add(wait))
				r := handle(c)
				mu.Lock()
				reqs = append(reqs, r)
				mu.Unlock()
			}()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		wg.Wait()
	})
	return func() []string {
		mu.Lock()
		defer mu.Unlock()
		return append([]string(nil), reqs...)
	}
}

// v1Handler is a go-healthcheck v1.0.x server's connection handler: one read
// of up to 4096 bytes, one reply, close.
func v1Handler(reply string) func(c net.Conn) string {
	return func(c net.Conn) string {
		buf := make([]byte, 4096)
		n, _ := c.Read(buf)
		c.Write([]byte(reply))
		return string(buf[:n])
	}
}

func TestResolve(t *testing.T) {
	dir := t.TempDir()
	nameFile := filepath.Join(dir, "name")
	os.WriteFile(nameFile, []byte("abcDEF0123456789"), 0o644)
	envNameFile := filepath.Join(dir, "env-name")
	os.WriteFile(envNameFile, []byte("fromEnvNameFile1\n"), 0o644)
	badNameFile := filepath.Join(dir, "bad")
	os.WriteFile(badNameFile, []byte("../../etc/passwd"), 0o644)
	missing := filepath.Join(dir, "missing")

	tests := []struct {
		name    string
		env     map[string]string
		opts    Options
		want    string
		wantErr string
	}{
		{"explicit socket wins", map[string]string{common.EnvSocket: "/env.sock"}, Options{Socket: "/x.sock", NameFile: nameFile}, "/x.sock", ""},
		{"env socket before name file", map[string]string{common.EnvSocket: "@abstract"}, Options{NameFile: nameFile}, "@abstract", ""},
		{"name file and dir", nil, Options{NameFile: nameFile, Dir: "/run/hc"}, "/run/hc/abcDEF0123456789.sock", ""},
		{"default dir is /tmp", nil, Options{NameFile: nameFile}, "/tmp/abcDEF0123456789.sock", ""},
		{"env dir", map[string]string{common.EnvSocketDir: "/srv/sock"}, Options{NameFile: nameFile}, "/srv/sock/abcDEF0123456789.sock", ""},
		{"env name file", map[string]string{common.EnvNameFile: envNameFile}, Options{}, "/tmp/fromEnvNameFile1.sock", ""},
		{"missing name file", nil, Options{NameFile: missing}, "", missing},
		{"hostile name", nil, Options{NameFile: badNameFile}, "", badNameFile},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, k := range []string{common.EnvSocket, common.EnvNameFile, common.EnvSocketDir} {
				t.Setenv(k, tt.env[k])
			}
			have, err := Resolve(tt.opts)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("Resolve = %q, %v; want an error naming %s", have, err, tt.wantErr)
				}
				return
			}
			if err != nil || have != tt.want {
				t.Fatalf("Resolve = %q, %v; want %q", have, err, tt.want)
			}
		})
	}
}

func TestResolveWorkingDirectory(t *testing.T) {
	for _, k := range []string{common.EnvSocket, common.EnvNameFile, common.EnvSocketDir} {
		t.Setenv(k, "")
	}
	t.Chdir(t.TempDir())
	os.WriteFile(common.HealthcheckSocketNameFile, []byte("v1NameInWorkDir1"), 0o644)
	have, err := Resolve(Options{})
	if err != nil || have != "/tmp/v1NameInWorkDir1.sock" {
		t.Fatalf("Resolve = %q, %v", have, err)
	}
}

func TestExchange(t *testing.T) {
	long := strings.Repeat("e", 2*common.BufferSize)
	tests := []struct {
		name    string
		request string
		handle  func(c net.Conn) string
		want    string
		wantReq string
	}{
		{"v1 server healthy", "", v1Handler("healthy"), "healthy", "ping"},
		{"v1 server error text", "", v1Handler("db down\n"), "db down", "ping"},
		{"custom request", "ready", v1Handler("ok"), "ok", "ready"},
		{"server reads to EOF", "", func(c net.Conn) string {
			// Works only because we half-close after writing.
			b, _ := io.ReadAll(c)
			c.Write([]byte("healthy"))
			return string(b)
		}, "healthy", "ping"},
		{"reply split over writes", "", func(c net.Conn) string {
			b := make([]byte, 16)
			n, _ := c.Read(b)
			c.Write([]byte("heal"))
			time.Sleep(20 * time.Millisecond)
			c.Write([]byte("thy"))
			return string(b[:n])
		}, "healthy", "ping"},
		{"long reply is cut", "", v1Handler(long), long[:common.BufferSize], "ping"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			addr := filepath.Join(shortDir(t), "s.sock")
			reqs := fakeServer(t, addr, tt.handle)
			have, err := Exchange(context.Background(), addr, tt.request, wait)
			if err != nil {
				t.Fatalf("Exchange: %v", err)
			}
			if have != tt.want {
				t.Errorf("reply = %.40q, want %.40q", have, tt.want)
			}
			deadline := time.Now().Add(wait)
			for len(reqs()) == 0 && time.Now().Before(deadline) {
				time.Sleep(time.Millisecond)
			}
			if r := reqs(); len(r) != 1 || r[0] != tt.wantReq {
				t.Errorf("server read %q, want [%q]", r, tt.wantReq)
			}
		})
	}
}

func TestExchangeAbstract(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("abstract sockets are Linux only")
	}
	addr := "@go-healthcheck-probe-test-" + filepath.Base(shortDir(t))
	fakeServer(t, addr, v1Handler("healthy"))
	if have, err := Exchange(context.Background(), addr, "", wait); err != nil || have != "healthy" {
		t.Fatalf("Exchange = %q, %v", have, err)
	}
}

func TestExchangeFailures(t *testing.T) {
	// silentServer reads the request and answers nothing until the test ends.
	silentServer := func(t *testing.T, addr string) {
		hold := make(chan struct{})
		fakeServer(t, addr, func(c net.Conn) string {
			b := make([]byte, 16)
			n, _ := c.Read(b)
			<-hold
			return string(b[:n])
		})
		t.Cleanup(func() { close(hold) }) // runs before fakeServer's cleanup
	}
	t.Run("no server", func(t *testing.T) {
		addr := filepath.Join(shortDir(t), "none.sock")
		_, err := Exchange(context.Background(), addr, "", wait)
		if err == nil || !strings.Contains(err.Error(), addr) {
			t.Fatalf("Exchange = %v, want a dial error naming %s", err, addr)
		}
	})
	t.Run("timeout", func(t *testing.T) {
		addr := filepath.Join(shortDir(t), "s.sock")
		silentServer(t, addr)
		start := time.Now()
		_, err := Exchange(context.Background(), addr, "", 100*time.Millisecond)
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("Exchange = %v, want a deadline error", err)
		}
		if d := time.Since(start); d > 2*time.Second {
			t.Errorf("took %v", d)
		}
	})
	t.Run("cancel", func(t *testing.T) {
		addr := filepath.Join(shortDir(t), "s.sock")
		silentServer(t, addr)
		ctx, cancel := context.WithCancel(context.Background())
		time.AfterFunc(50*time.Millisecond, cancel)
		_, err := Exchange(ctx, addr, "", wait)
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("Exchange = %v, want context.Canceled", err)
		}
	})
	t.Run("closed without reply", func(t *testing.T) {
		addr := filepath.Join(shortDir(t), "s.sock")
		fakeServer(t, addr, func(c net.Conn) string {
			b := make([]byte, 16)
			n, _ := c.Read(b)
			return string(b[:n])
		})
		if have, err := Exchange(context.Background(), addr, "", wait); err != nil || have != "" {
			t.Fatalf("Exchange = %q, %v; want an empty reply", have, err)
		}
	})
}

func TestCheck(t *testing.T) {
	for _, k := range []string{common.EnvSocket, common.EnvNameFile, common.EnvSocketDir} {
		t.Setenv(k, "")
	}
	dir := shortDir(t)
	nameFile := filepath.Join(t.TempDir(), ".hc-socket")
	os.WriteFile(nameFile, []byte("probeCheckTest01"), 0o644)
	fakeServer(t, filepath.Join(dir, "probeCheckTest01.sock"), v1Handler("disk full"))

	have, err := Check(context.Background(), Options{NameFile: nameFile, Dir: dir, Timeout: wait})
	if err != nil || have != "disk full" {
		t.Fatalf("Check = %q, %v; want the reply and no error", have, err)
	}
	if _, err := Check(context.Background(), Options{NameFile: nameFile + ".missing"}); err == nil {
		t.Fatal("Check with a missing name file succeeded")
	}
	// The full chain through the environment alone.
	t.Setenv(common.EnvNameFile, nameFile)
	t.Setenv(common.EnvSocketDir, dir)
	if have, err := Check(context.Background(), Options{Timeout: wait}); err != nil || have != "disk full" {
		t.Fatalf("Check via env = %q, %v", have, err)
	}
}

// fullBacklog listens on a fresh socket with a backlog of one and fills it,
// so that a connect fails with EAGAIN, as on a server under a connection
// flood. After busy, it accepts everything and answers "healthy".
func fullBacklog(t *testing.T, busy time.Duration) string {
	t.Helper()
	addr := filepath.Join(shortDir(t), "full.sock")
	fd, err := syscall.Socket(syscall.AF_UNIX, syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := syscall.Bind(fd, &syscall.SockaddrUnix{Name: addr}); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Listen(fd, 1); err != nil {
		t.Fatal(err)
	}
	full := false
	for i := 0; i < 64 && !full; i++ {
		c, err := syscall.Socket(syscall.AF_UNIX, syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC|syscall.SOCK_NONBLOCK, 0)
		if err != nil {
			t.Fatal(err)
		}
		err = syscall.Connect(c, &syscall.SockaddrUnix{Name: addr})
		full = errors.Is(err, syscall.EAGAIN)
		if full {
			syscall.Close(c)
		} else {
			t.Cleanup(func() { syscall.Close(c) })
		}
	}
	if !full {
		t.Fatal("could not fill the listen backlog")
	}
	// The *os.File owns fd: closed through it, not with syscall.Close, or its
	// finalizer closes the number again later, by then another file's (a
	// later test read /proc/self/mountinfo: "bad file descriptor").
	f := os.NewFile(uintptr(fd), addr)
	ln, err := net.FileListener(f)
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	wg.Add(1)
	timer := time.AfterFunc(busy, func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer c.Close()
				c.SetDeadline(time.Now().Add(time.Second))
				common.ReadRequest(c, common.HealthcheckIPCCommand)
				c.Write([]byte(common.HealthcheckIPCResponse))
			}()
		}
	})
	t.Cleanup(func() {
		if timer.Stop() {
			wg.Done()
		}
		ln.Close()
		wg.Wait()
	})
	return addr
}

// TestExchangeRetriesFullBacklog: a full listen backlog (EAGAIN on connect)
// is a busy server, not a missing one: the client retries within its timeout.
func TestExchangeRetriesFullBacklog(t *testing.T) {
	addr := fullBacklog(t, 300*time.Millisecond)
	reply, err := Exchange(context.Background(), addr, "", 5*time.Second)
	if err != nil || reply != common.HealthcheckIPCResponse {
		t.Fatalf("Exchange = %q, %v; want healthy after the backlog drains", reply, err)
	}
	// Still full when the timeout ends: the EAGAIN is reported, in time.
	addr = fullBacklog(t, time.Hour)
	began := time.Now()
	_, err = Exchange(context.Background(), addr, "", 300*time.Millisecond)
	if !errors.Is(err, syscall.EAGAIN) {
		t.Errorf("Exchange on a backlog that stays full: %v, want EAGAIN", err)
	}
	if took := time.Since(began); took > 3*time.Second {
		t.Errorf("gave up after %s, want about its 300ms timeout", took)
	}
}

// TestRefusedServerGetsAWord: a server the caller refuses to believe (here
// verify refuses it; in hcinit, an announced socket of a process outside its
// tree, another container's app) must not see its connection closed without
// a word: go-healthcheck v1.0.x's server takes a read that ends in EOF for a
// failure and cancels its whole server, so that app's own health checks would
// fail from then on. It gets a neutral word instead, which every server
// answers with its usage text. The old code closed at once.
func TestRefusedServerGetsAWord(t *testing.T) {
	sock := filepath.Join(shortDir(t), "v1.sock")
	ln, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	got := make(chan string, 1)
	go func() {
		conn, err := ln.Accept()
		if err != nil {
			got <- "accept: " + err.Error()
			return
		}
		defer conn.Close()
		// v1.0.x's server: one read under a 10 s deadline; an error stops it.
		conn.SetReadDeadline(time.Now().Add(wait))
		buf := make([]byte, common.BufferSize)
		n, err := conn.Read(buf)
		if err != nil {
			got <- "read error (a v1.0.x server stops): " + err.Error()
			return
		}
		conn.Write([]byte("send 'ping' to trigger healthcheck"))
		got <- string(buf[:n])
	}()
	refuse := errors.New("not believed")
	_, err = ExchangeVerified(context.Background(), sock, "", time.Second, func(net.Conn) error { return refuse })
	if !errors.Is(err, refuse) {
		t.Fatalf("ExchangeVerified: %v, want the refusal", err)
	}
	select {
	case req := <-got:
		if req == "" || req == common.HealthcheckIPCCommand || strings.HasPrefix(req, "read error") || strings.HasPrefix(req, "accept") {
			t.Errorf("the refused server read %q; want a neutral word (not ping, not EOF)", req)
		}
	case <-time.After(wait):
		t.Fatal("the refused server read nothing")
	}
}
