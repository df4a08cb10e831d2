package health

import (
	"errors"
	"io"
	"math/rand/v2"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wisdom-oss/go-healthcheck/common"
	"github.com/wisdom-oss/go-healthcheck/server"
)

// TestDelegateToServerPackage: a child built with today's server package
// announces its socket where HEALTHCHECK_NAME_FILE says; hcinit adopts it and
// reports the child's error text.
func TestDelegateToServerPackage(t *testing.T) {
	h := start(t, Config{Interval: 20 * time.Millisecond, Retries: 2}, nil)
	env := h.ChildEnv()
	t.Setenv(common.EnvNameFile, envValue(env, common.EnvNameFile))
	t.Setenv(common.EnvSocketDir, envValue(env, common.EnvSocketDir))
	h.ChildStarted(os.Getpid())
	waitFor(t, "healthy", 3*time.Second, func() bool { return h.Status().Overall == StatusHealthy })

	var failure atomic.Pointer[error]
	var srv server.HealthcheckServer
	srv.InitWithFunc(func() error {
		if p := failure.Load(); p != nil {
			return *p
		}
		return nil
	})
	if err := srv.Start(); err != nil {
		t.Fatalf("start server: %v", err)
	}
	runDone := make(chan struct{})
	go func() { srv.Run(); close(runDone) }()
	defer func() { srv.Stop(); <-runDone }()

	waitFor(t, "delegate healthy", 3*time.Second, func() bool { return h.checkStatus("delegate").Status == StatusHealthy })
	if cs := h.checkStatus("delegate"); !strings.HasPrefix(cs.Target, envValue(env, common.EnvSocketDir)) {
		t.Errorf("delegate target %q, want a socket in the child's socket dir", cs.Target)
	}
	err := errors.New("database unreachable: dial tcp 10.0.0.5:5432: i/o timeout")
	failure.Store(&err)
	waitFor(t, "unhealthy", 3*time.Second, func() bool { return h.Status().Overall == StatusUnhealthy })
	want := "unhealthy: check delegate: " + err.Error()
	if have := h.ask(t, "ping"); have != want {
		t.Errorf("ping = %q, want %q", have, want)
	}
	failure.Store(nil)
	waitFor(t, "healthy again", 3*time.Second, func() bool { return h.Status().Overall == StatusHealthy })
}

// v1Server behaves byte for byte like go-healthcheck v1.0.x's server: it
// truncates and writes .hc-socket in its working directory (16 random letters
// and digits, no newline), listens on /tmp/<name>.sock, and answers one read
// per connection.
type v1Server struct {
	name string
	ln   net.Listener
	wg   sync.WaitGroup
}

func startV1Server(t *testing.T, dir string, reply func() string) *v1Server {
	const letters = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
	b := make([]byte, 16)
	for i := range b {
		b[i] = letters[rand.IntN(len(letters))]
	}
	s := &v1Server{name: string(b)}
	f, err := os.Create(filepath.Join(dir, ".hc-socket")) // as v1.0.x: in place, O_TRUNC
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString(s.name)
	f.Close()
	time.Sleep(30 * time.Millisecond) // v1.0.x listens only in Start, after Init wrote the name
	s.ln, err = net.Listen("unix", "/tmp/"+s.name+".sock")
	if err != nil {
		t.Fatal(err)
	}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		for {
			conn, err := s.ln.Accept()
			if err != nil {
				return
			}
			conn.SetReadDeadline(time.Now().Add(10 * time.Second))
			buf := make([]byte, common.BufferSize)
			n, err := conn.Read(buf)
			if err == nil {
				if strings.TrimSpace(string(buf[:n])) != "ping" {
					conn.Write([]byte("send 'ping' to trigger healthcheck"))
				} else {
					conn.Write([]byte(reply()))
				}
			}
			conn.Close()
		}
	}()
	t.Cleanup(func() { s.ln.Close(); s.wg.Wait() })
	return s
}

// v1Client behaves like go-healthcheck v1.0.x's client, run in dir.
func v1Client(dir string) (string, error) {
	name, err := os.ReadFile(filepath.Join(dir, ".hc-socket"))
	if err != nil {
		return "", err
	}
	conn, err := net.Dial("unix", "/tmp/"+string(name)+".sock")
	if err != nil {
		return "", err
	}
	defer conn.Close()
	conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	conn.Write([]byte("ping"))
	buf := make([]byte, common.BufferSize)
	n, err := conn.Read(buf)
	if err != nil && err != io.EOF {
		return "", err
	}
	return strings.TrimSpace(string(buf[:n])), nil
}

func TestV1NameFileOverwrite(t *testing.T) {
	dir := shortDir(t)
	h := start(t, Config{Dir: dir, Interval: 20 * time.Millisecond, Retries: 2}, nil)
	// The name file comes with the watcher, watchDelay after Execute.
	var ours []byte
	var err error
	waitFor(t, "hcinit's .hc-socket", 3*time.Second, func() bool {
		ours, err = os.ReadFile(filepath.Join(dir, ".hc-socket"))
		return err == nil
	})
	if err != nil || !strings.HasPrefix(string(ours), "hcinit-") || strings.ContainsAny(string(ours), "\n ") {
		t.Fatalf(".hc-socket = %q, %v; want hcinit-<random> with no newline", ours, err)
	}
	if have, err := v1Client(dir); err != nil || !strings.HasPrefix(have, "starting") {
		t.Errorf("v1 client before the child: %q, %v", have, err)
	}
	h.ChildStarted(os.Getpid())
	waitFor(t, "healthy", 3*time.Second, func() bool { return h.Status().Overall == StatusHealthy })
	if have, err := v1Client(dir); err != nil || have != "healthy" {
		t.Errorf("v1 client: %q, %v; want healthy", have, err)
	}

	var reply atomic.Value
	reply.Store("healthy")
	old := startV1Server(t, dir, func() string { return reply.Load().(string) })
	waitFor(t, "delegate adopted", 3*time.Second, func() bool { return h.checkStatus("delegate").Name != "" })
	waitFor(t, "hcinit's name restored", 3*time.Second, func() bool {
		b, _ := os.ReadFile(filepath.Join(dir, ".hc-socket"))
		return string(b) == string(ours)
	})
	waitFor(t, "delegate healthy", 3*time.Second, func() bool { return h.checkStatus("delegate").Status == StatusHealthy })
	if cs := h.checkStatus("delegate"); !strings.Contains(cs.Target, "/tmp/"+old.name+".sock") {
		t.Errorf("delegate target %q", cs.Target)
	}

	reply.Store("redis: dial tcp 127.0.0.1:6379: connection refused")
	waitFor(t, "unhealthy", 3*time.Second, func() bool { return h.Status().Overall == StatusUnhealthy })
	want := "unhealthy: check delegate: redis: dial tcp 127.0.0.1:6379: connection refused"
	if have, err := v1Client(dir); err != nil || have != want {
		t.Errorf("v1 client: %q, %v; want %q", have, err, want)
	}
	if out := h.ask(t, "status"); !strings.Contains(out, "redis: dial tcp 127.0.0.1:6379: connection refused") {
		t.Errorf("status lacks the child's error:\n%s", out)
	}
}

// TestV1NameFileChildFirst: a v1.0.x child writes .hc-socket before hcinit's
// own name file exists (hcinit writes it watchDelay after start). hcinit must
// adopt the child's socket, then put its own name in the file.
func TestV1NameFileChildFirst(t *testing.T) {
	dir := shortDir(t)
	var old *v1Server
	h := start(t, Config{Dir: dir, Interval: 20 * time.Millisecond, Retries: 2}, func(*Monitor) {
		old = startV1Server(t, dir, func() string { return "healthy" })
	})
	h.ChildStarted(os.Getpid())
	waitFor(t, "delegate adopted", 3*time.Second, func() bool {
		return strings.Contains(h.checkStatus("delegate").Target, "/tmp/"+old.name+".sock")
	})
	waitFor(t, "hcinit's name in .hc-socket", 3*time.Second, func() bool {
		b, _ := os.ReadFile(filepath.Join(dir, ".hc-socket"))
		return strings.HasPrefix(string(b), "hcinit-")
	})
	waitFor(t, "healthy", 3*time.Second, func() bool { return h.Status().Overall == StatusHealthy })
	if have, err := v1Client(dir); err != nil || have != "healthy" {
		t.Errorf("v1 client: %q, %v; want healthy", have, err)
	}
}

// TestStaleNameFileNotAdopted: when hcinit could not write its own .hc-socket,
// a file older than hcinit is an earlier run's and not adopted; a fresh write
// is.
func TestStaleNameFileNotAdopted(t *testing.T) {
	dir := shortDir(t)
	path := filepath.Join(dir, ".hc-socket")
	os.WriteFile(path, []byte("leftoverFromLastRun"), 0o644)
	old := time.Now().Add(-time.Hour)
	os.Chtimes(path, old, old)

	m := bare(t, Config{Dir: dir})
	m.created = time.Now()
	nw := m.nameWatcher()
	w := nw.start()
	done := make(chan struct{})
	go func() { nw.watch(w); close(done) }()
	defer func() { m.cancel(); w.Close(); <-done }()
	time.Sleep(100 * time.Millisecond)
	m.mu.Lock()
	n := len(m.checks)
	m.mu.Unlock()
	if n != 0 {
		t.Fatalf("adopted the stale name file")
	}
	os.WriteFile(path, []byte("freshName"), 0o644)
	waitFor(t, "adoption", 3*time.Second, func() bool {
		m.mu.Lock()
		defer m.mu.Unlock()
		return len(m.checks) == 1 && strings.Contains(m.checks[0].target(), "/tmp/freshName.sock")
	})
}

// TestV1NameFileChildWritesMeanwhile: a v1.0.x child writes .hc-socket (at
// its Init: truncate or create, then write) just after hcinit looked at the
// file and before hcinit put its own name there — under load, a v1.0.x
// server's start and hcinit's watchDelay meet. The child's name must not be
// lost: hcinit adopts the child's socket, then puts its own name back. The
// old code renamed its file over the child's, and never found the child's
// socket (seen with real processes: 2 of 80 starts with the child writing
// ~100 ms after hcinit).
func TestV1NameFileChildWritesMeanwhile(t *testing.T) {
	for _, tc := range []struct {
		name  string
		stale bool // a file left by an earlier run is there when hcinit starts
	}{{"no file before", false}, {"stale file before", true}} {
		t.Run(tc.name, func(t *testing.T) {
			dir := shortDir(t)
			path := filepath.Join(dir, ".hc-socket")
			if tc.stale {
				os.WriteFile(path, []byte("leftoverFromLastRun"), 0o644)
				old := time.Now().Add(-time.Hour)
				os.Chtimes(path, old, old)
			}
			const child = "ChildWroteMeanwhile"
			h := start(t, Config{Dir: dir, Interval: 20 * time.Millisecond, Retries: 2}, func(m *Monitor) {
				m.beforeV1Put = func() {
					// As v1.0.x's Init: os.Create (O_TRUNC), then the name.
					if f, err := os.Create(path); err == nil {
						f.WriteString(child)
						f.Close()
					}
				}
			})
			h.ChildStarted(os.Getpid())
			waitFor(t, "the child's socket adopted", 3*time.Second, func() bool {
				return strings.Contains(h.checkStatus("delegate").Target, "/tmp/"+child+".sock")
			})
			waitFor(t, "hcinit's name back in .hc-socket", 3*time.Second, func() bool {
				b, _ := os.ReadFile(path)
				return strings.HasPrefix(string(b), "hcinit-")
			})
		})
	}
}

// TestDelegateNotListeningYetNamesTheSocket: a v1.0.x server writes its name
// in Init and listens only in Start, on /tmp/<name>.sock. Until then the
// delegate fails, and its output must name the socket hcinit looked for
// there, not only the one in hcinit's runtime directory (where a v1.0.x
// server never listens), which the old message named alone.
func TestDelegateNotListeningYetNamesTheSocket(t *testing.T) {
	dir := shortDir(t)
	h := start(t, Config{Dir: dir, Interval: 20 * time.Millisecond, Retries: 2}, nil)
	h.ChildStarted(os.Getpid())
	waitFor(t, "hcinit's .hc-socket", 3*time.Second, func() bool {
		b, _ := os.ReadFile(filepath.Join(dir, ".hc-socket"))
		return strings.HasPrefix(string(b), "hcinit-")
	})
	const name = "NotListeningYet1"
	if err := os.WriteFile(filepath.Join(dir, ".hc-socket"), []byte(name), 0o644); err != nil {
		t.Fatal(err)
	}
	var out string
	waitFor(t, "a delegate result", 3*time.Second, func() bool {
		cs := h.checkStatus("delegate")
		if len(cs.Log) == 0 {
			return false
		}
		out = cs.Log[len(cs.Log)-1].Output
		return true
	})
	if !strings.Contains(out, "/tmp/"+name+".sock") {
		t.Errorf("delegate output %q does not name /tmp/%s.sock", out, name)
	}
}

// TestCwdLookTrims: after each child start the name watcher looks at the
// child's working directory a few times, and each look maps code back in that
// start-up's trim dropped: the idle RSS of the bench's first seconds rose from
// 1.23x to 1.60x of its baseline. A look that finds nothing new hands the
// memory back (Config.Trim). Before, nothing trimmed after a look.
func TestCwdLookTrims(t *testing.T) {
	var trims atomic.Int32
	h := start(t, Config{Trim: func() { trims.Add(1) }}, nil)
	h.ChildStarted(os.Getpid()) // its working directory holds no .hc-socket
	waitFor(t, "a trim after a look at the child's working directory", 10*time.Second, func() bool { return trims.Load() > 0 })
}
