//go:build !windows

package server

import (
	"context"
	"errors"
	"io"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/wisdom-oss/go-healthcheck/common"
)

func TestRoundTrip(t *testing.T) {
	long := strings.Repeat("x", 3*common.BufferSize)
	tests := []struct {
		name  string
		check func() error
		req   string
		want  string
	}{
		{"no check function", nil, "ping", "healthy"},
		{"passing check", func() error { return nil }, "ping", "healthy"},
		{"failing check", func() error { return errors.New("database unreachable") }, "ping", "database unreachable"},
		{"trailing newline", func() error { return nil }, "ping\n", "healthy"},
		{"unknown request", func() error { return nil }, "status", common.InvalidRequestResponse},
		{"long request", func() error { return nil }, long, common.InvalidRequestResponse},
		{"long error is cut", func() error { return errors.New(long) }, "ping", long[:common.BufferSize]},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			isolate(t)
			var s HealthcheckServer
			s.InitWithFunc(tt.check)
			addr := startServer(t, &s)
			if have := exchange(t, addr, tt.req); have != tt.want {
				t.Errorf("reply = %.60q, want %.60q", have, tt.want)
			}
		})
	}
}

func TestStartWritesNameAndSocket(t *testing.T) {
	nameFile, sockDir := isolate(t)
	var s HealthcheckServer
	s.Init()
	addr := startServer(t, &s)

	name, err := common.ReadNameFile(nameFile)
	if err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`^[A-Za-z0-9]{16}$`).MatchString(name) {
		t.Errorf("name = %q, want 16 letters and digits", name)
	}
	if want := filepath.Join(sockDir, name+".sock"); addr != want {
		t.Errorf("socket = %s, want %s", addr, want)
	}
	fi, err := os.Lstat(addr)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Type() != fs.ModeSocket || fi.Mode().Perm() != socketMode {
		t.Errorf("socket mode = %v, want socket %v", fi.Mode(), fs.FileMode(socketMode))
	}
}

func TestSplitRequest(t *testing.T) {
	isolate(t)
	var s HealthcheckServer
	s.Init()
	addr := startServer(t, &s)
	c, err := net.Dial("unix", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(wait))
	io.WriteString(c, "pi")
	time.Sleep(50 * time.Millisecond)
	io.WriteString(c, "ng")
	b, _ := io.ReadAll(c)
	if string(b) != "healthy" {
		t.Errorf("reply = %q, want healthy", b)
	}
}

// v1.0.x panicked in Init when it could not create .hc-socket.
func TestUnwritableWorkingDirectory(t *testing.T) {
	cases := map[string]func(t *testing.T, dir string){
		// Works as root too: nothing can be created in a removed directory.
		"removed": func(t *testing.T, dir string) {
			if err := os.Remove(dir); err != nil {
				t.Fatal(err)
			}
		},
		"read-only": func(t *testing.T, dir string) {
			if os.Geteuid() == 0 {
				t.Skip("root writes into mode 0555 directories")
			}
			os.Chmod(dir, 0o555)
			t.Cleanup(func() { os.Chmod(dir, 0o755) })
		},
	}
	for name, makeUnwritable := range cases {
		t.Run(name, func(t *testing.T) {
			_, sockDir := isolate(t)
			t.Setenv(common.EnvNameFile, "")
			dir := filepath.Join(t.TempDir(), "wd")
			os.Mkdir(dir, 0o755)
			t.Chdir(dir)
			makeUnwritable(t, dir)

			var s HealthcheckServer
			var err error
			func() {
				defer func() {
					if r := recover(); r != nil {
						t.Fatalf("panic: %v", r)
					}
				}()
				s.Init()
				err = s.Start()
			}()
			defer s.Stop()
			if err == nil {
				t.Fatal("Start succeeded, want an error")
			}
			if !strings.Contains(err.Error(), "name file") {
				t.Errorf("error %q does not mention the name file", err)
			}
			if left, _ := os.ReadDir(sockDir); len(left) != 0 {
				t.Errorf("socket directory not cleaned up: %v", left)
			}
		})
	}
}

func TestNameFileElsewhere(t *testing.T) {
	// A read-only working directory is fine when the name file lives elsewhere.
	nameFile, _ := isolate(t)
	dir := filepath.Join(t.TempDir(), "wd")
	os.Mkdir(dir, 0o755)
	t.Chdir(dir)
	os.Remove(dir)
	var s HealthcheckServer
	s.Init()
	startServer(t, &s)
	if !exists(nameFile) {
		t.Errorf("name file %s not written", nameFile)
	}
}

func TestSocketDirMode(t *testing.T) {
	if have := dirMode(common.SocketPrefix); have != fs.ModeSticky|0o777 {
		t.Errorf("dirMode(%q) = %v, want %v", common.SocketPrefix, have, fs.ModeSticky|0o777)
	}
	if have := dirMode("/tmp"); have != fs.ModeSticky|0o777 {
		t.Errorf("dirMode(/tmp) = %v", have)
	}
	if have := dirMode("/run/hc/"); have != 0o700 {
		t.Errorf("dirMode(/run/hc/) = %v, want 0700", have)
	}
}

// v1.0.x could leave /tmp with mode 0000; a missing directory must come back
// with exactly the mode asked for, whatever the umask.
func TestEnsureDirCreatesMissingDirectory(t *testing.T) {
	old := syscall.Umask(0o077)
	defer syscall.Umask(old)
	for _, perm := range []fs.FileMode{sharedDirMode, privateDirMode} {
		dir := filepath.Join(t.TempDir(), "missing", "tmp")
		if err := ensureDir(dir, perm); err != nil {
			t.Fatal(err)
		}
		fi, err := os.Stat(dir)
		if err != nil {
			t.Fatal(err)
		}
		if have := fi.Mode() & (fs.ModePerm | fs.ModeSticky); have != perm {
			t.Errorf("mode = %v, want %v", have, perm)
		}
	}
	// An existing directory is left alone.
	dir := t.TempDir()
	os.Chmod(dir, 0o750)
	if err := ensureDir(dir, sharedDirMode); err != nil {
		t.Fatal(err)
	}
	if fi, _ := os.Stat(dir); fi.Mode().Perm() != 0o750 {
		t.Errorf("existing directory changed to %v", fi.Mode())
	}
}

func TestStartCreatesMissingSocketDir(t *testing.T) {
	_, base := isolate(t)
	sockDir := filepath.Join(base, "a", "b")
	t.Setenv(common.EnvSocketDir, sockDir)
	var s HealthcheckServer
	s.Init()
	addr := startServer(t, &s)
	fi, err := os.Stat(sockDir)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != privateDirMode {
		t.Errorf("socket dir mode = %v, want %v", fi.Mode().Perm(), fs.FileMode(privateDirMode))
	}
	if have := exchange(t, addr, "ping"); have != "healthy" {
		t.Errorf("reply = %q", have)
	}
}

// v1.0.x stopped the whole server when one connection's read failed.
func TestMisbehavingClients(t *testing.T) {
	cases := map[string]func(t *testing.T, addr string){
		"silent": func(t *testing.T, addr string) {
			c, err := net.Dial("unix", addr)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			// Others are served while this one is silent...
			if have := exchange(t, addr, "ping"); have != "healthy" {
				t.Errorf("reply while a client is silent = %q", have)
			}
			// ...and the server drops it after its read deadline.
			c.SetReadDeadline(time.Now().Add(wait))
			if n, err := c.Read(make([]byte, 1)); n != 0 || err != io.EOF {
				t.Errorf("silent client: read %d, %v; want EOF", n, err)
			}
		},
		"many silent": func(t *testing.T, addr string) {
			for range 50 {
				c, err := net.Dial("unix", addr)
				if err != nil {
					t.Fatal(err)
				}
				defer c.Close()
			}
			if have := exchange(t, addr, "ping"); have != "healthy" {
				t.Errorf("reply = %q", have)
			}
		},
		"10 MB": func(t *testing.T, addr string) {
			c, err := net.Dial("unix", addr)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			c.SetDeadline(time.Now().Add(wait))
			done := make(chan string)
			go func() {
				// The server answers after BufferSize bytes and closes;
				// the rest of the write fails with EPIPE or ECONNRESET.
				c.Write(make([]byte, 10<<20))
				b, _ := io.ReadAll(c)
				done <- string(b)
			}()
			if have := exchange(t, addr, "ping"); have != "healthy" {
				t.Errorf("reply during flood = %q", have)
			}
			<-done
		},
		"closes at once": func(t *testing.T, addr string) {
			c, err := net.Dial("unix", addr)
			if err != nil {
				t.Fatal(err)
			}
			c.Close()
		},
		"resets after ping": func(t *testing.T, addr string) {
			c, err := net.Dial("unix", addr)
			if err != nil {
				t.Fatal(err)
			}
			io.WriteString(c, "ping")
			c.Close()
		},
	}
	for name, misbehave := range cases {
		t.Run(name, func(t *testing.T) {
			isolate(t)
			var s HealthcheckServer
			s.InitWithFunc(func() error { return nil })
			s.ioTimeout = 200 * time.Millisecond
			addr := startServer(t, &s)
			misbehave(t, addr)
			time.Sleep(2 * s.ioTimeout) // let the server see it
			for i := range 3 {
				if have := exchange(t, addr, "ping"); have != "healthy" {
					t.Fatalf("ping %d after misbehaving client = %q", i, have)
				}
			}
		})
	}
}

func TestStop(t *testing.T) {
	nameFile, _ := isolate(t)
	var s HealthcheckServer
	s.Init()
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	addr := s.sock
	ran := make(chan struct{})
	go func() {
		s.Run()
		close(ran)
	}()
	if have := exchange(t, addr, "ping"); have != "healthy" {
		t.Fatalf("reply = %q", have)
	}
	// A connected, silent client must not hold Stop up.
	c, err := net.Dial("unix", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()

	stopped := make(chan struct{})
	go func() {
		s.Stop()
		close(stopped)
	}()
	for what, ch := range map[string]chan struct{}{"Stop": stopped, "Run": ran} {
		select {
		case <-ch:
		case <-time.After(wait):
			t.Fatalf("%s did not return", what)
		}
	}
	if exists(addr) {
		t.Errorf("socket %s still exists", addr)
	}
	if exists(nameFile) {
		t.Errorf("name file %s still exists", nameFile)
	}
	if _, err := tryExchange(addr, "ping"); err == nil {
		t.Error("server still answers after Stop")
	}
	c.SetReadDeadline(time.Now().Add(wait))
	// EOF if the connection was being served, a reset if it still waited in
	// the listen backlog; either way it is closed.
	if _, err := c.Read(make([]byte, 1)); err != io.EOF && !errors.Is(err, syscall.ECONNRESET) {
		t.Errorf("open connection after Stop: %v, want it closed", err)
	}
	s.Stop() // idempotent
	if err := s.Start(); !errors.Is(err, ErrStopped) {
		t.Errorf("Start after Stop = %v, want ErrStopped", err)
	}
}

func TestStopKeepsForeignNameFile(t *testing.T) {
	nameFile, _ := isolate(t)
	var s HealthcheckServer
	s.Init()
	startServer(t, &s)
	// Another server took the name file over.
	if err := common.WriteNameFile(nameFile, "otherServer1234"); err != nil {
		t.Fatal(err)
	}
	s.Stop()
	if have, err := common.ReadNameFile(nameFile); err != nil || have != "otherServer1234" {
		t.Errorf("name file after Stop = %q, %v; want the other server's name", have, err)
	}
}

func TestStopBeforeStart(t *testing.T) {
	nameFile, _ := isolate(t)
	var s HealthcheckServer
	s.Init()
	s.Stop()
	if err := s.Start(); !errors.Is(err, ErrStopped) {
		t.Errorf("Start = %v, want ErrStopped", err)
	}
	s.Run() // returns at once
	if exists(nameFile) {
		t.Error("name file written")
	}
}

func TestZeroValue(t *testing.T) {
	isolate(t)
	var s HealthcheckServer
	addr := startServer(t, &s)
	if have := exchange(t, addr, "ping"); have != "healthy" {
		t.Errorf("reply = %q", have)
	}
}

func TestStartTwice(t *testing.T) {
	isolate(t)
	var s HealthcheckServer
	s.Init()
	startServer(t, &s)
	if err := s.Start(); err == nil {
		t.Error("second Start succeeded")
	}
}

func TestRestartAfterInit(t *testing.T) {
	isolate(t)
	var s HealthcheckServer
	s.Init()
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	s.Stop()
	s.Init()
	addr := startServer(t, &s)
	if have := exchange(t, addr, "ping"); have != "healthy" {
		t.Errorf("reply = %q", have)
	}
}

func TestContextCancelStops(t *testing.T) {
	nameFile, _ := isolate(t)
	ctx, cancel := context.WithCancel(context.Background())
	var s HealthcheckServer
	s.InitWithContext(ctx)
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	addr := s.sock
	ran := make(chan struct{})
	go func() {
		s.Run()
		close(ran)
	}()
	cancel()
	select {
	case <-ran:
	case <-time.After(wait):
		t.Fatal("Run did not return after the context was cancelled")
	}
	if exists(addr) || exists(nameFile) {
		t.Errorf("files left: socket %v, name file %v", exists(addr), exists(nameFile))
	}
}

func TestStopCallsCancelFunc(t *testing.T) {
	isolate(t)
	ctx, cancel := context.WithCancelCause(context.Background())
	var s HealthcheckServer
	s.InitFull(func() error { return nil }, ctx, cancel)
	startServer(t, &s)
	s.Stop()
	select {
	case <-ctx.Done():
	case <-time.After(wait):
		t.Fatal("Stop did not cancel the context given to InitFull")
	}
}

func TestStartWithCancelledContext(t *testing.T) {
	nameFile, _ := isolate(t)
	ctx, cancel := context.WithCancelCause(context.Background())
	cancel(errors.New("shutting down"))
	var s HealthcheckServer
	s.InitWithCancellableContext(ctx, cancel)
	err := s.Start()
	if err == nil || !strings.Contains(err.Error(), "shutting down") {
		t.Errorf("Start = %v, want the context's cause", err)
	}
	if exists(nameFile) {
		t.Error("name file written")
	}
	s.Stop()
}

// blockingCheck returns a check function that counts its runs and blocks
// until release is closed.
func blockingCheck() (f func() error, calls *atomic.Int32, release func()) {
	calls = new(atomic.Int32)
	ch := make(chan struct{})
	var once sync.Once
	return func() error {
		calls.Add(1)
		<-ch
		return nil
	}, calls, func() { once.Do(func() { close(ch) }) }
}

// v1.0.x ran the check function with no timeout, once per client.
func TestCheckTimeout(t *testing.T) {
	isolate(t)
	check, calls, release := blockingCheck()
	defer release()
	var s HealthcheckServer
	s.InitWithFunc(check)
	s.checkTimeout = 100 * time.Millisecond
	addr := startServer(t, &s)

	for i := range 2 {
		start := time.Now()
		if have := exchange(t, addr, "ping"); have != TimeoutResponse {
			t.Fatalf("ping %d: reply = %q, want %q", i, have, TimeoutResponse)
		}
		if d := time.Since(start); d > 2*time.Second {
			t.Errorf("ping %d took %v", i, d)
		}
	}
	if n := calls.Load(); n != 1 {
		t.Errorf("check ran %d times while hung, want 1", n)
	}
	release()
	eventually(t, "the hung check to finish", func() bool { return s.flight.waiting() == 0 })
	if have := exchange(t, addr, "ping"); have != "healthy" {
		t.Errorf("reply after release = %q", have)
	}
	if n := calls.Load(); n != 2 {
		t.Errorf("check ran %d times, want 2", n)
	}
}

func TestConcurrentPingsShareOneRun(t *testing.T) {
	isolate(t)
	check, calls, release := blockingCheck()
	defer release()
	var s HealthcheckServer
	s.InitWithFunc(check)
	addr := startServer(t, &s)

	const clients = 20
	replies := make(chan string, clients)
	for range clients {
		go func() {
			r, err := tryExchange(addr, "ping")
			if err != nil {
				r = err.Error()
			}
			replies <- r
		}()
	}
	eventually(t, "all clients to wait on the check", func() bool { return s.flight.waiting() == clients })
	release()
	for range clients {
		select {
		case r := <-replies:
			if r != "healthy" {
				t.Errorf("reply = %q", r)
			}
		case <-time.After(wait):
			t.Fatal("a client got no reply")
		}
	}
	if n := calls.Load(); n != 1 {
		t.Errorf("check ran %d times for %d concurrent pings, want 1", n, clients)
	}
}

func TestCheckPanics(t *testing.T) {
	isolate(t)
	var s HealthcheckServer
	s.InitWithFunc(func() error { panic("boom") })
	addr := startServer(t, &s)
	for range 2 {
		if have := exchange(t, addr, "ping"); !strings.Contains(have, "healthcheck panicked: boom") {
			t.Errorf("reply = %q", have)
		}
	}
}

// forceName sets the name the next Start uses, as a name collision would.
func forceName(s *HealthcheckServer, name string) { s.name = name }

func TestStaleSocketReplaced(t *testing.T) {
	_, sockDir := isolate(t)
	const name = "staleSocketTest1"
	path := filepath.Join(sockDir, name+".sock")
	// A crashed process leaves its socket file behind.
	ln, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	ln.(*net.UnixListener).SetUnlinkOnClose(false)
	ln.Close()
	if !exists(path) {
		t.Fatal("setup: stale socket missing")
	}

	var s HealthcheckServer
	s.Init()
	forceName(&s, name)
	addr := startServer(t, &s)
	if have := exchange(t, addr, "ping"); have != "healthy" {
		t.Errorf("reply = %q", have)
	}
}

func TestLiveSocketNotStolen(t *testing.T) {
	_, sockDir := isolate(t)
	const name = "liveSocketTest12"
	path := filepath.Join(sockDir, name+".sock")
	ln, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	got := make(chan string, 4)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.SetDeadline(time.Now().Add(wait))
			b := make([]byte, 64)
			n, _ := c.Read(b)
			got <- string(b[:n])
			c.Close()
		}
	}()

	var s HealthcheckServer
	s.Init()
	forceName(&s, name)
	err = s.Start()
	defer s.Stop()
	if err == nil || !strings.Contains(err.Error(), "live server") {
		t.Fatalf("Start = %v, want a live-server error", err)
	}
	// The probe sent a request a v1.0.x server answers without stopping.
	select {
	case r := <-got:
		if r == "" || r == common.HealthcheckIPCCommand {
			t.Errorf("liveness probe sent %q", r)
		}
	case <-time.After(wait):
		t.Fatal("live server saw no probe")
	}
	// The live server keeps its socket.
	c, err := net.Dial("unix", path)
	if err != nil {
		t.Fatalf("live server lost its socket: %v", err)
	}
	c.Close()
}

func TestNonSocketNotTouched(t *testing.T) {
	_, sockDir := isolate(t)
	const name = "regularFileTest1"
	path := filepath.Join(sockDir, name+".sock")
	os.WriteFile(path, []byte("data"), 0o644)
	var s HealthcheckServer
	s.Init()
	forceName(&s, name)
	err := s.Start()
	defer s.Stop()
	if err == nil || !strings.Contains(err.Error(), "not a socket") {
		t.Fatalf("Start = %v, want a not-a-socket error", err)
	}
	if b, _ := os.ReadFile(path); string(b) != "data" {
		t.Error("regular file was modified")
	}
}
