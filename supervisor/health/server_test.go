package health

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/wisdom-oss/go-healthcheck/common"
)

func TestProtocolWords(t *testing.T) {
	f := &fakeProbe{}
	h := start(t, Config{Specs: []string{"process,interval=10ms"}}, withFake(f))
	h.ChildStarted(os.Getpid())
	waitFor(t, "healthy", 3*time.Second, func() bool { return h.Status().Overall == StatusHealthy })
	for word, want := range map[string]string{
		"ping": "healthy", "ping\n": "healthy", "live": "healthy", "ready": "healthy",
		"pong": common.InvalidRequestResponse, "": common.InvalidRequestResponse,
	} {
		if word == "" {
			continue // a client that sends nothing is the silent-client test
		}
		if have := h.ask(t, word); have != want {
			t.Errorf("%q → %q, want %q", word, have, want)
		}
	}
	var st Status
	if err := json.Unmarshal([]byte(h.ask(t, "status")), &st); err != nil {
		t.Fatal(err)
	}
	if st.Overall != StatusHealthy || len(st.Checks) != 1 || st.Checks[0].Kind != KindProcess || len(st.Checks[0].Log) == 0 {
		t.Errorf("status = %+v", st)
	}
	// A word split across two writes still works.
	conn, err := net.Dial("unix", h.sock)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.Write([]byte("pi"))
	time.Sleep(20 * time.Millisecond)
	conn.Write([]byte("ng"))
	conn.SetReadDeadline(time.Now().Add(3 * time.Second))
	b, _ := io.ReadAll(conn)
	if string(b) != "healthy" {
		t.Errorf("split ping → %q", b)
	}
}

func TestSocketFileModeAndStaleReplaced(t *testing.T) {
	dir := shortDir(t)
	sock := filepath.Join(dir, "hc.sock")
	// A stale socket: bound, then its listener gone without unlinking.
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: sock, Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	ln.SetUnlinkOnClose(false)
	ln.Close()
	h := start(t, Config{Socket: sock}, nil)
	fi, err := os.Stat(sock)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o660 {
		t.Errorf("socket mode %v, want 0660", fi.Mode().Perm())
	}
	if have := h.ask(t, "ping"); !strings.HasPrefix(have, "starting") {
		t.Errorf("ping = %q", have)
	}

	// A live socket is not stolen: a second Monitor told to serve on it
	// refuses to start, and releases what it bound before.
	other := filepath.Join(dir, "other.sock")
	m2, err := New(Config{Socket: other + "," + sock, RuntimeDir: filepath.Join(dir, "run2"), Log: testLogger(t)})
	if err == nil {
		m2.Close()
		t.Errorf("second monitor started on a live server's socket")
	} else if !errors.Is(err, ErrUnbound) || !strings.Contains(err.Error(), "a live server answers there") {
		t.Errorf("second monitor: %v, want ErrUnbound saying a live server answers", err)
	}
	if _, err := os.Lstat(other); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("the refused monitor left %s behind: %v", other, err)
	}
	if have := h.ask(t, "ping"); !strings.HasPrefix(have, "starting") {
		t.Errorf("first monitor no longer answers: %q", have)
	}
}

// TestExplicitSocketUnboundIsFatal: a socket the user named (--socket,
// HCINIT_SOCKET) that cannot be bound stops New with the reason, as a taken
// --http port does: hcinit check, told that address, would otherwise be
// answered by no one, or by whoever holds it. Before, New logged it and ran
// on. The default sockets stay best-effort (cmd/hcinit
// TestDiscoverySharedNetwork: a second hcinit sharing @hcinit starts).
func TestExplicitSocketUnboundIsFatal(t *testing.T) {
	dir := shortDir(t)
	for _, sock := range []string{"/proc/nope/hc.sock", " , "} {
		m, err := New(Config{Socket: sock, RuntimeDir: filepath.Join(dir, "run"), Log: testLogger(t)})
		if err == nil {
			m.Close()
			t.Errorf("New with --socket %q that cannot be bound: no error", sock)
			continue
		}
		if !strings.Contains(err.Error(), strconv.Quote(sock)) {
			t.Errorf("New with --socket %q: %v, want the address named", sock, err)
		}
	}
}

// TestForeignPeerRefused: a client running as another uid is refused on an
// abstract socket (which has no file permissions to stop it).
func TestForeignPeerRefused(t *testing.T) {
	if os.Getuid() != 0 {
		t.Skip("needs root to run a client as another user")
	}
	addr := fmt.Sprintf("@hcinit-test-%d", os.Getpid())
	h := start(t, Config{Socket: addr}, nil)
	h.ChildStarted(os.Getpid())
	exe := copyExecutable(t)
	cmd := exec.Command(exe, "--socket", addr)
	cmd.Env = append(os.Environ(), "HEALTH_TEST_HELPER=check")
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
	out, err := cmd.CombinedOutput()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 1 || !strings.Contains(string(out), "permission denied: uid 65534") {
		t.Errorf("foreign client: %v, %q; want exit 1 with permission denied", err, out)
	}
	// The child's uid is allowed.
	h2 := start(t, Config{Socket: addr + "-2", Cred: &syscall.Credential{Uid: 65534, Gid: 65534}}, nil)
	h2.ChildStarted(os.Getpid())
	cmd = exec.Command(exe, "--socket", addr+"-2")
	cmd.Env = append(os.Environ(), "HEALTH_TEST_HELPER=check")
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
	out, _ = cmd.CombinedOutput()
	if strings.Contains(string(out), "permission denied") || !strings.HasPrefix(string(out), "healthy") && !strings.HasPrefix(string(out), "starting: check process") {
		t.Errorf("child's uid refused: %q", out)
	}
}

// TestSilentClientAndStorm: a client that connects and says nothing, and 1,000
// concurrent clients, while the check keeps running once per interval.
func TestSilentClientAndStorm(t *testing.T) {
	f := &fakeProbe{}
	h := start(t, Config{Specs: []string{"process,interval=100ms"}}, withFake(f))
	h.ChildStarted(os.Getpid())
	waitFor(t, "healthy", 3*time.Second, func() bool { return h.Status().Overall == StatusHealthy })

	silent, err := net.Dial("unix", h.sock)
	if err != nil {
		t.Fatal(err)
	}
	defer silent.Close()
	if have := h.ask(t, "ping"); have != "healthy" {
		t.Fatalf("with a silent client connected: %q", have)
	}

	before, _ := f.runs()
	began := time.Now()
	const clients = 1000
	var wg sync.WaitGroup
	var mu sync.Mutex
	failures := map[string]int{}
	for i := 0; i < clients; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			var out bytes.Buffer
			args := []string{"--socket", h.sock, "--timeout", "10s"}
			if i%10 == 0 {
				args = append(args, "--json")
			}
			if code := checkClient(args, &out); code != 0 {
				mu.Lock()
				failures[strings.SplitN(out.String(), "\n", 2)[0]]++
				mu.Unlock()
			}
		}(i)
	}
	wg.Wait()
	took := time.Since(began)
	if len(failures) > 0 {
		t.Errorf("failed clients: %v", failures)
	}
	after, _ := f.runs()
	runs := len(after) - len(before)
	if limit := int(took/(100*time.Millisecond)) + 2; runs > limit {
		t.Errorf("check ran %d times in %s during the storm, want ≤ %d (once per interval)", runs, took, limit)
	}
	t.Logf("%d clients in %s, %d check runs", clients, took, runs)

	// The silent client is dropped after its read deadline, on its own.
	silent.SetReadDeadline(time.Now().Add(ioTimeout + 3*time.Second))
	if _, err := silent.Read(make([]byte, 1)); err != io.EOF {
		t.Errorf("silent client: %v, want EOF from the server's deadline", err)
	}
}

func TestHTTPEndpoint(t *testing.T) {
	f := &fakeProbe{}
	h := start(t, Config{Specs: []string{"process,interval=10ms"}, HTTPAddr: "127.0.0.1:0"}, withFake(f))
	var base string
	waitFor(t, "HTTP listener", 3*time.Second, func() bool {
		h.mu.Lock()
		defer h.mu.Unlock()
		base = "http://" + h.httpAddr
		return h.httpAddr != ""
	})
	get := func(path string) (int, string) {
		resp, err := http.Get(base + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, body := get("/healthz"); code != 503 || !strings.HasPrefix(body, "starting") {
		t.Errorf("/healthz before the child: %d %q", code, body)
	}
	if code, _ := get("/livez"); code != 200 {
		t.Errorf("/livez before the child: %d, want 200 (kubelet: liveness passes at first)", code)
	}
	h.ChildStarted(os.Getpid())
	waitFor(t, "healthy", 3*time.Second, func() bool { return h.Status().Overall == StatusHealthy })
	for _, p := range []string{"/healthz", "/livez", "/readyz"} {
		if code, body := get(p); code != 200 || body != "healthy\n" {
			t.Errorf("%s: %d %q", p, code, body)
		}
	}
	h.Stopping()
	if code, body := get("/readyz"); code != 503 || body != "not ready: stopping\n" {
		t.Errorf("/readyz while stopping: %d %q", code, body)
	}
	code, body := get("/status")
	var st Status
	if code != 200 || json.Unmarshal([]byte(body), &st) != nil || !st.Stopping {
		t.Errorf("/status: %d %q", code, body)
	}
	http.DefaultClient.CloseIdleConnections()
}

// copyExecutable copies the test binary where any user may run it.
func copyExecutable(t *testing.T) string {
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(self)
	if err != nil {
		t.Fatal(err)
	}
	dir := shortDir(t)
	os.Chmod(dir, 0o755)
	exe := filepath.Join(dir, "health.test")
	if err := os.WriteFile(exe, b, 0o755); err != nil {
		t.Fatal(err)
	}
	return exe
}

// A live server on --socket is left alone, and the liveness probe sends it a
// request: a v1.0.x server stops itself when a connection closes without one
// (the library's listener does the same; hcinit's used to close silently).
func TestLiveSocketProbeSendsRequest(t *testing.T) {
	dir := shortDir(t)
	path := filepath.Join(dir, "live.sock")
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
			c.SetDeadline(time.Now().Add(3 * time.Second))
			b := make([]byte, 64)
			n, _ := c.Read(b)
			got <- string(b[:n])
			c.Close()
		}
	}()
	m, err := New(Config{Socket: path, RuntimeDir: filepath.Join(dir, "run"), Log: testLogger(t)})
	if err == nil {
		m.Close()
		t.Errorf("took over a live server's socket")
	}
	select {
	case r := <-got:
		if r == "" || r == common.HealthcheckIPCCommand {
			t.Errorf("liveness probe sent %q, want a request a v1.0.x server answers without stopping", r)
		}
	case <-time.After(3 * time.Second):
		t.Errorf("no liveness probe reached the live server")
	}
}
