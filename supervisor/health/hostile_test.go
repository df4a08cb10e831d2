package health

// The hostile-client suite for hcinit's own servers (the health socket and
// the --http endpoint): each attack is bounded in count and time, traffic is
// loopback or unix sockets only, and an honest probe must be answered within
// honestDeadline before, during and after it, with no false transition.

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/wisdom-oss/go-healthcheck/common"
	"github.com/wisdom-oss/go-healthcheck/internal/hcclient"
)

// honestDeadline is kubelet's default probe timeout: a probe answered later
// is a failed probe.
const honestDeadline = time.Second

// honestProbes runs n probes one after the other and fails the test for each
// one that errs or takes longer than honestDeadline. It returns the slowest.
func honestProbes(t *testing.T, phase string, n int, probe func() error) time.Duration {
	t.Helper()
	var worst time.Duration
	late := 0
	for i := 0; i < n; i++ {
		began := time.Now()
		err := probe()
		took := time.Since(began)
		worst = max(worst, took)
		if err != nil {
			t.Errorf("%s: honest probe %d: %v (after %s)", phase, i, err, took)
		} else if took > honestDeadline {
			late++
		}
	}
	if late > 0 {
		t.Errorf("%s: %d of %d honest probes took longer than %s (slowest %s)", phase, late, n, honestDeadline, worst)
	}
	t.Logf("%s: slowest of %d honest probes: %s", phase, n, worst)
	return worst
}

// honestGet is an honest HTTP probe: one GET on a new connection, under
// honestDeadline, like kubelet's httpGet.
func honestGet(addr, path string) error {
	c, err := net.DialTimeout("tcp", addr, honestDeadline)
	if err != nil {
		return err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(honestDeadline))
	if _, err := io.WriteString(c, "GET "+path+" HTTP/1.1\r\nHost: probe\r\n\r\n"); err != nil {
		return err
	}
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		return fmt.Errorf("status %d", resp.StatusCode)
	}
	return nil
}

// hold opens n connections with dial and keeps them open until the test ends;
// each one first sends prefix (may be empty). It stops at the first error
// (the server may evict old ones while new ones are opened: that is fine).
func hold(t *testing.T, n int, dial func() (net.Conn, error), prefix string) int {
	t.Helper()
	var conns []net.Conn
	t.Cleanup(func() {
		for _, c := range conns {
			c.Close()
		}
	})
	for i := 0; i < n; i++ {
		c, err := dial()
		if err != nil {
			t.Logf("hold: %d of %d connected: %v", i, n, err)
			break
		}
		if prefix != "" {
			io.WriteString(c, prefix)
		}
		conns = append(conns, c)
	}
	return len(conns)
}

// transitions counts the overall status changes seen by polling Status until
// stop is closed.
func watchTransitions(h *harness, stop chan struct{}) func() []string {
	var mu sync.Mutex
	var seen []string
	done := make(chan struct{})
	go func() {
		defer close(done)
		last := h.Status().Overall
		for {
			select {
			case <-stop:
				return
			case <-time.After(5 * time.Millisecond):
			}
			if s := h.Status().Overall; s != last {
				mu.Lock()
				seen = append(seen, string(last)+"→"+string(s))
				mu.Unlock()
				last = s
			}
		}
	}()
	return func() []string {
		<-done
		mu.Lock()
		defer mu.Unlock()
		return seen
	}
}

// TestHostileHTTPIdleConnections: idle and half-sent TCP connections, more
// than the endpoint will hold, never make a new GET /livez wait.
func TestHostileHTTPIdleConnections(t *testing.T) {
	h, addr := httpHarness(t)
	h.ChildStarted(os.Getpid())
	waitFor(t, "healthy", 3*time.Second, func() bool { return h.Status().Overall == StatusHealthy })
	stop := make(chan struct{})
	seen := watchTransitions(h, stop)

	honestProbes(t, "before", 5, func() error { return honestGet(addr, "/livez") })
	dial := func() (net.Conn, error) { return net.DialTimeout("tcp", addr, time.Second) }
	n := hold(t, 600, dial, "")
	n += hold(t, 300, dial, "GET /livez HTTP/1.1\r\nHost: x\r\n")
	t.Logf("holding %d idle or half-sent connections", n)
	honestProbes(t, "600 idle + 300 half-sent held", 10, func() error { return honestGet(addr, "/livez") })
	close(stop)
	if s := seen(); len(s) > 0 {
		t.Errorf("false transitions during the attack: %v", s)
	}
}

// TestHostileSocketSilentClients: silent connections of an allowed uid, more
// than hcinit holds, never make hcinit check wait.
func TestHostileSocketSilentClients(t *testing.T) {
	f := &fakeProbe{}
	h := start(t, Config{Specs: []string{"process,interval=50ms"}}, withFake(f))
	h.ChildStarted(os.Getpid())
	waitFor(t, "healthy", 3*time.Second, func() bool { return h.Status().Overall == StatusHealthy })
	stop := make(chan struct{})
	seen := watchTransitions(h, stop)
	probe := func() error {
		var out strings.Builder
		if code := checkClient([]string{"--socket", h.sock, "--timeout", "1s"}, &out); code != 0 {
			return fmt.Errorf("exit %d: %s", code, strings.TrimSpace(out.String()))
		}
		return nil
	}
	honestProbes(t, "before", 5, probe)
	n := hold(t, 2000, func() (net.Conn, error) { return net.DialTimeout("unix", h.sock, time.Second) }, "")
	t.Logf("holding %d silent connections", n)
	honestProbes(t, "2000 silent held", 10, probe)
	n = hold(t, 300, func() (net.Conn, error) { return net.DialTimeout("unix", h.sock, time.Second) }, "pi")
	honestProbes(t, "and 300 half-sent", 10, probe)
	close(stop)
	if s := seen(); len(s) > 0 {
		t.Errorf("false transitions during the attack: %v", s)
	}
}

// TestHostileSocketForeignFlood: an unprivileged uid holding thousands of
// connections on the abstract socket (no file permission stops it) takes no
// slot from root's checks.
func TestHostileSocketForeignFlood(t *testing.T) {
	if os.Getuid() != 0 {
		t.Skip("needs root to run a client as another user")
	}
	addr := fmt.Sprintf("@hcinit-hostile-%d", os.Getpid())
	f := &fakeProbe{}
	h := start(t, Config{Socket: addr, Specs: []string{"process,interval=50ms"}}, withFake(f))
	h.ChildStarted(os.Getpid())
	waitFor(t, "healthy", 3*time.Second, func() bool { return h.Status().Overall == StatusHealthy })
	probe := func() error {
		var out strings.Builder
		if code := checkClient([]string{"--socket", addr, "--timeout", "1s"}, &out); code != 0 {
			return fmt.Errorf("exit %d: %s", code, strings.TrimSpace(out.String()))
		}
		return nil
	}
	honestProbes(t, "before", 5, probe)

	// The flood runs as uid 65534 in a helper process that holds its
	// connections until its stdin closes.
	exe := copyExecutable(t)
	cmd := exec.Command(exe, addr, "6000")
	cmd.Env = append(os.Environ(), "HEALTH_TEST_HELPER=hold")
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
	stdin, _ := cmd.StdinPipe()
	stdout, _ := cmd.StdoutPipe()
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Wait()
	defer stdin.Close()
	line, _ := bufio.NewReader(stdout).ReadString('\n')
	t.Logf("foreign flood: %s", strings.TrimSpace(line))
	honestProbes(t, "foreign uid holding and churning 6000", 15, probe)
}

// holdMain is the hold helper: it opens n connections to addr, says so on
// stdout, then keeps churning (a new connection replaces the oldest, at most
// 4n more dials) until stdin closes.
func holdMain(addr, n string) int {
	var count int
	fmt.Sscan(n, &count)
	var conns []net.Conn
	dials := 0
	dial := func() {
		dials++
		c, err := net.DialTimeout("unix", addr, time.Second)
		if err != nil {
			return
		}
		conns = append(conns, c)
		if len(conns) > count {
			conns[0].Close()
			conns = conns[1:]
		}
	}
	for i := 0; i < count; i++ {
		dial()
	}
	fmt.Printf("%d connections\n", len(conns))
	done := make(chan struct{})
	go func() { io.Copy(io.Discard, os.Stdin); close(done) }()
	for dials < 5*count {
		select {
		case <-done:
			return 0
		default:
			dial()
		}
	}
	<-done
	return 0
}

// TestSecretsStayIn: a password in a check's URL never leaves the process
// (status on either endpoint, logs); response bodies and check outputs are
// kept off the unauthenticated HTTP endpoint unless HTTPDetails asks for them,
// and stay on the health socket, which checks its peer.
func TestSecretsStayIn(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(500)
		io.WriteString(w, "BODYSECRET")
	}))
	defer srv.Close()
	url := strings.Replace(srv.URL, "http://", "http://user:s3cret@", 1)
	var logs strings.Builder
	var logMu sync.Mutex
	log := testLogger(t)
	log.SetOutput(io.MultiWriter(log.Out, writerFunc(func(p []byte) (int, error) {
		logMu.Lock()
		defer logMu.Unlock()
		return logs.Write(p)
	})))
	for _, details := range []bool{false, true} {
		h := start(t, Config{Specs: []string{url + ",interval=50ms,retries=1", "process,name=exec,interval=50ms,retries=1"},
			HTTPAddr: "127.0.0.1:0", HTTPDetails: details, Log: log}, func(m *Monitor) {
			m.checks[1].checker = checkFunc(func(context.Context) outcome { return outcome{code: 1, output: "EXECSECRET"} })
		})
		h.ChildStarted(os.Getpid())
		waitFor(t, "both checks unhealthy", 5*time.Second, func() bool {
			st := h.Status()
			return st.Checks[0].Status == StatusUnhealthy && st.Checks[1].Status == StatusUnhealthy
		})
		var addr string
		waitFor(t, "HTTP listener", 3*time.Second, func() bool {
			h.mu.Lock()
			defer h.mu.Unlock()
			addr = h.httpAddr
			return addr != ""
		})
		var pages []string
		for _, path := range []string{"/status", "/livez", "/readyz", "/healthz"} {
			resp, body := httpExchange(t, addr, "GET", "GET "+path+" HTTP/1.1\r\nHost: x\r\n\r\n")
			pages = append(pages, fmt.Sprintf("%s %d %s", path, resp.StatusCode, body))
		}
		web := strings.Join(pages, "\n")
		sock := h.ask(t, "status") + h.ask(t, "ping")
		if strings.Contains(web+sock, "s3cret") {
			t.Errorf("details=%v: the URL's password is served:\n%s\n%s", details, web, sock)
		}
		if !strings.Contains(web, "user:***@") {
			t.Errorf("details=%v: the target is not shown redacted on /status:\n%s", details, web)
		}
		for _, secret := range []string{"BODYSECRET", "EXECSECRET"} {
			if have := strings.Contains(web, secret); have != details {
				t.Errorf("details=%v: %s on the HTTP endpoint: %v\n%s", details, secret, have, web)
			}
			if !strings.Contains(sock, secret) {
				t.Errorf("details=%v: %s missing on the health socket:\n%s", details, secret, sock)
			}
		}
	}
	logMu.Lock()
	defer logMu.Unlock()
	if strings.Contains(logs.String(), "s3cret") {
		t.Errorf("the URL's password is logged:\n%s", logs.String())
	}
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }

// rootOnly serves "healthy" on a socket in a root-only directory and counts
// the connections it gets.
func rootOnly(t *testing.T) (sock string, conns *atomic.Int32) {
	t.Helper()
	dir := shortDir(t)
	os.Chmod(dir, 0o700)
	sock = filepath.Join(dir, "root.sock")
	ln, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	os.Chmod(sock, 0o600)
	conns = new(atomic.Int32)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			conns.Add(1)
			c.Write([]byte("healthy"))
			c.Close()
		}
	}()
	t.Cleanup(func() { ln.Close(); <-done })
	return sock, conns
}

// asChild gives path to uid 65534, as if the child had made it.
func asChild(t *testing.T, path string) {
	t.Helper()
	if err := os.Lchown(path, 65534, 65534); err != nil {
		t.Fatal(err)
	}
}

// TestConfusedDeputy: a child running as another user cannot make hcinit
// (root) read a file or dial a socket on its behalf that it could not itself:
// name files and announced sockets are not followed through symlinks, and
// must be the child's own.
// deputyWait bounds each step of TestConfusedDeputy: the steps end as soon
// as hcinit has acted (20 ms checks), and a loaded CI machine (load 25 on 2
// cores) took more than 5 s for one.
const deputyWait = 30 * time.Second

func TestConfusedDeputy(t *testing.T) {
	if os.Getuid() != 0 {
		t.Skip("needs root")
	}
	h, nameFile, sockDir, logs := startForNobody(t)
	logged := func(s string) bool { return strings.Contains(logs(), s) }
	rootSock, rootConns := rootOnly(t)

	// 1. The name file is a symlink to a root-only file holding something
	// that looks like a name (a token): not read.
	secret := filepath.Join(filepath.Dir(rootSock), "token")
	os.WriteFile(secret, []byte("topsecrettoken42"), 0o600)
	if err := os.Symlink(secret, nameFile); err != nil {
		t.Fatal(err)
	}
	asChild(t, nameFile)
	waitFor(t, "the symlinked name file refused", deputyWait, func() bool { return logged("is a symbolic link: not followed") })
	os.Remove(nameFile)

	// 2. A root-owned file hard to tell from the child's (here: hcinit wrote
	// it as root): not the child's, not read.
	common.WriteNameFile(nameFile, "topsecrettoken42")
	waitFor(t, "the root-owned name file refused", deputyWait, func() bool { return logged("not by the child's uid 65534") })
	if st := h.Status(); strings.Contains(fmt.Sprint(st), "topsecrettoken42") {
		t.Fatalf("a name hcinit should not have read is in the status: %+v", st)
	}

	// 3. The child's own name file announces a symlink to the root-only socket.
	link := filepath.Join(sockDir, "evil.sock")
	if err := os.Symlink(rootSock, link); err != nil {
		t.Fatal(err)
	}
	asChild(t, link)
	common.WriteNameFile(nameFile, "evil")
	asChild(t, nameFile)
	waitFor(t, "the symlinked socket refused", deputyWait, func() bool {
		cs := h.checkStatus("delegate")
		return len(cs.Log) > 0 && strings.Contains(cs.Log[len(cs.Log)-1].Output, "symbolic link is not followed")
	})
	if n := rootConns.Load(); n != 0 {
		t.Errorf("hcinit dialled the root-only socket %d times for the child", n)
	}

	// 4. A socket of the child's own is asked.
	serveAsChild(t, filepath.Join(sockDir, "own.sock"))
	common.WriteNameFile(nameFile, "own")
	asChild(t, nameFile)
	defer func() {
		if t.Failed() {
			cs := h.checkStatus("delegate")
			t.Logf("delegate check: %+v", cs)
			t.Logf("hcinit's log:\n%s", logs())
		}
	}()
	waitFor(t, "the child's own socket asked", deputyWait, func() bool { return h.checkStatus("delegate").Status == StatusHealthy })
}

// staleSocket binds network at path and closes it without unlinking: what a
// process killed with SIGKILL leaves.
func staleSocket(t *testing.T, network, path string) {
	t.Helper()
	var c io.Closer
	var err error
	if network == "unixgram" {
		var uc *net.UnixConn
		uc, err = net.ListenUnixgram(network, &net.UnixAddr{Name: path, Net: network})
		c = uc
	} else {
		var ln *net.UnixListener
		ln, err = net.ListenUnix(network, &net.UnixAddr{Name: path, Net: network})
		if err == nil {
			ln.SetUnlinkOnClose(false)
		}
		c = ln
	}
	if err != nil {
		t.Fatal(err)
	}
	c.Close()
	if _, err := os.Lstat(path); err != nil {
		t.Fatalf("stale socket %s not left: %v", path, err)
	}
}

// TestStaleFilesReclaimed: what an hcinit killed with SIGKILL left (its v1.0.x
// socket in /tmp, its notify socket and child directory in the runtime
// directory) is removed when the next one starts; what a live one uses is not.
func TestStaleFilesReclaimed(t *testing.T) {
	dir := shortDir(t)
	run := filepath.Join(dir, "run")
	os.MkdirAll(run, 0o755)
	// A pid that no process can have: above the largest pid_max (2^22).
	const pid = 1<<22 + 1
	tag := fmt.Sprintf("hostiletest%d", os.Getpid())
	staleV1 := filepath.Join(common.SocketPrefix, v1Prefix+tag+"stale.sock")
	liveV1 := filepath.Join(common.SocketPrefix, v1Prefix+tag+"live.sock")
	staleNotify := filepath.Join(run, fmt.Sprintf("notify-%d.sock", pid))
	staleChild := filepath.Join(run, fmt.Sprintf("child-%d", pid))
	liveChild := filepath.Join(run, fmt.Sprintf("child-%d", os.Getppid())) // a live pid
	staleSocket(t, "unix", staleV1)
	staleSocket(t, "unixgram", staleNotify)
	os.MkdirAll(filepath.Join(staleChild, "sub"), 0o700)
	os.MkdirAll(liveChild, 0o700)
	ln, err := net.Listen("unix", liveV1)
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	t.Cleanup(func() { os.Remove(staleV1) })

	start(t, Config{RuntimeDir: run}, nil)
	gone := func(p string) bool { _, err := os.Lstat(p); return errors.Is(err, os.ErrNotExist) }
	waitFor(t, "stale files removed", 15*time.Second, func() bool {
		return gone(staleV1) && gone(staleNotify) && gone(staleChild)
	})
	for _, p := range []string{liveV1, liveChild} {
		if gone(p) {
			t.Errorf("%s was in use and was removed", p)
		}
	}
}

// TestOverflowUIDIsNotTheChild: hcinit in a user namespace whose child runs
// as nobody (65534, mapped). A host process whose uid is not mapped there is
// reported by SO_PEERCRED as the overflow uid, 65534 too: it must be refused,
// while the child's own uid is still answered.
func TestOverflowUIDIsNotTheChild(t *testing.T) {
	if os.Getuid() != 0 {
		t.Skip("needs root to map a user namespace")
	}
	if overflowUID() != 65534 {
		t.Skip("overflowuid is not nobody here")
	}
	addr := fmt.Sprintf("@hcinit-userns-%d", os.Getpid())
	exe := copyExecutable(t)
	cmd := exec.Command(exe, addr)
	cmd.Env = append(os.Environ(), "HEALTH_TEST_HELPER=userns")
	cmd.SysProcAttr = &syscall.SysProcAttr{
		Cloneflags:                 syscall.CLONE_NEWUSER,
		UidMappings:                []syscall.SysProcIDMap{{ContainerID: 0, HostID: 100000, Size: 65536}},
		GidMappings:                []syscall.SysProcIDMap{{ContainerID: 0, HostID: 100000, Size: 65536}},
		GidMappingsEnableSetgroups: true,
	}
	stdin, _ := cmd.StdinPipe()
	stdout, _ := cmd.StdoutPipe()
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Skipf("cannot create a user namespace: %v", err)
	}
	defer cmd.Wait()
	defer stdin.Close()
	r := bufio.NewReader(stdout)
	inner, _ := r.ReadString('\n')
	if !strings.HasPrefix(inner, "inner: ") {
		t.Fatalf("helper: %q", inner)
	}
	if strings.Contains(inner, "permission denied") {
		t.Errorf("the child's own uid (65534 inside) was refused: %s", inner)
	}
	// This test runs as host root: not mapped in the helper's namespace.
	var out strings.Builder
	checkClient([]string{"--socket", addr, "--timeout", "2s"}, &out)
	if !strings.Contains(out.String(), "permission denied") {
		t.Errorf("an unmapped host uid (seen as 65534) was answered as the child: %q", out.String())
	}
}

// usernsMain is the userns helper: in a user namespace of its own it serves
// addr with a child uid of 65534, asks once as uid 65534 itself (printing
// "inner: REPLY"), and serves until stdin closes.
func usernsMain(addr string) int {
	dir, err := os.MkdirTemp("", "hcu")
	if err != nil {
		fmt.Println("inner: error:", err)
		return 1
	}
	defer os.RemoveAll(dir)
	m, err := New(Config{Socket: addr, RuntimeDir: filepath.Join(dir, "run"), Cred: &syscall.Credential{Uid: 65534, Gid: 65534}})
	if err != nil {
		fmt.Println("inner: error:", err)
		return 1
	}
	done := make(chan error, 1)
	go func() { done <- runActors(m) }()
	m.ChildStarted(os.Getpid())
	exe, _ := os.Executable()
	c := exec.Command(exe, "--socket", addr, "--timeout", "2s")
	c.Env = append(os.Environ(), "HEALTH_TEST_HELPER=check")
	c.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
	b, err := c.CombinedOutput()
	fmt.Printf("inner: %s %v\n", strings.ReplaceAll(strings.TrimSpace(string(b)), "\n", " "), err)
	io.Copy(io.Discard, os.Stdin)
	m.Interrupt(nil)
	<-done
	return 0
}

func TestUIDMapped(t *testing.T) {
	for _, tc := range []struct {
		uidMap string
		want   int
	}{
		{"         0          0 4294967295\n", mappedAll},
		{"0 100000 65536\n", mappedToo},
		{"0 1000 1\n", mappedNot},
		{"0 1000 1\n65534 165534 1\n", mappedToo},
		{"", mappedNot},
	} {
		if have := uidMapped(tc.uidMap, 65534); have != tc.want {
			t.Errorf("uidMapped(%q) = %d, want %d", tc.uidMap, have, tc.want)
		}
	}
}

// TestAskRetriesEvicted: a connection the server closed without a word (as
// a full pool evicts its oldest) is asked again within the deadline.
func TestAskRetriesEvicted(t *testing.T) {
	sock := filepath.Join(shortDir(t), "evict.sock")
	ln, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := 0; ; i++ {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			if i > 0 {
				c.SetDeadline(time.Now().Add(2 * time.Second))
				common.ReadRequest(c, words...)
				c.Write([]byte("healthy"))
			}
			c.Close()
		}
	}()
	defer func() { ln.Close(); <-done }()
	if reply, err := hcclient.Ask(time.Now().Add(2*time.Second), []string{sock}, "ping", hcclient.MaxStatus); err != nil || reply != "healthy" {
		t.Errorf("ask = %q, %v; want healthy on the second connection", reply, err)
	}
}

// TestNameFileChownedIsRead: a name file refused because another user owns it
// is read again when it is handed to the child's user (a chown raises no
// write, only inotify's IN_ATTRIB). Before, the refusal stood until the next
// write: TestConfusedDeputy's last step, whose name file is written by root
// and then chowned, failed 6 times in 80 when hcinit read it between the two.
func TestNameFileChownedIsRead(t *testing.T) {
	if os.Getuid() != 0 {
		t.Skip("needs root")
	}
	h, nameFile, sockDir, logs := startForNobody(t)
	refusals := func() int { return strings.Count(logs(), "not by the child's uid 65534") }
	serveAsChild(t, filepath.Join(sockDir, "own.sock"))
	common.WriteNameFile(nameFile, "own")
	waitFor(t, "the root-owned name file refused", deputyWait, func() bool { return refusals() > 0 })
	asChild(t, nameFile)
	waitFor(t, "the name file read again once it is the child's", deputyWait, func() bool { return h.checkStatus("delegate").Status == StatusHealthy })
}

// startForNobody starts a health side as root for a child running as nobody
// (uid 65534), with 20 ms checks; it returns the child's name file and socket
// directory and hcinit's log so far.
func startForNobody(t *testing.T) (h *harness, nameFile, sockDir string, logs func() string) {
	t.Helper()
	var b strings.Builder
	var mu sync.Mutex
	log := testLogger(t)
	log.SetOutput(io.MultiWriter(log.Out, writerFunc(func(p []byte) (int, error) {
		mu.Lock()
		defer mu.Unlock()
		return b.Write(p)
	})))
	h = start(t, Config{Interval: 20 * time.Millisecond, Retries: 1, Log: log, Cred: &syscall.Credential{Uid: 65534, Gid: 65534}}, nil)
	env := h.ChildEnv()
	h.ChildStarted(os.Getpid())
	logs = func() string { mu.Lock(); defer mu.Unlock(); return b.String() }
	return h, envValue(env, common.EnvNameFile), envValue(env, common.EnvSocketDir), logs
}

// serveAsChild answers "healthy" on a unix socket at path owned by the child's
// user (nobody), as the child's own server would.
func serveAsChild(t *testing.T, path string) {
	t.Helper()
	ln, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	asChild(t, path)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Write([]byte("healthy"))
			c.Close()
		}
	}()
}
