package main

// Health semantics as kubelet and systemd define them (issue #10), tested
// against the real binary, with timelines measured from outside by polling
// `hcinit check --json` as Docker, kubelet and users do.

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/wisdom-oss/go-healthcheck/supervisor/health"
)

// observation is one answer of `hcinit check --json`, at a time since the
// timeline began.
type observation struct {
	at   time.Duration
	code int
	st   health.Status
}

func (o observation) String() string {
	var cs []string
	for _, c := range o.st.Checks {
		cs = append(cs, fmt.Sprintf("%s=%s/streak %d/ready %v", c.Name, c.Status, c.FailingStreak, c.Ready))
	}
	return fmt.Sprintf("+%s exit %d %s ready=%v [%s]", o.at.Round(time.Millisecond), o.code, o.st.Overall, o.st.Ready, strings.Join(cs, " "))
}

// checkJSON runs `hcinit check --json` once.
func checkJSON(sock string, extra ...string) (health.Status, int, error) {
	var st health.Status
	out, code, err := hcinitClient(append([]string{"check", "--json", "--socket", sock, "--timeout", "3s"}, extra...)...)
	if err != nil {
		return st, code, err
	}
	if err := json.Unmarshal([]byte(out), &st); err != nil {
		return st, code, fmt.Errorf("hcinit check --json: %v (output %q)", err, out)
	}
	return st, code, nil
}

// timeline polls `hcinit check --json` from since until done holds for an
// answer (which is included) or d passed, and returns every answer.
func timeline(t *testing.T, sock string, since time.Time, d time.Duration, done func(health.Status) bool) []observation {
	t.Helper()
	var obs []observation
	var lastErr error
	deadline := time.Now().Add(d)
	for {
		st, code, err := checkJSON(sock)
		lastErr = err
		if err == nil && strings.HasPrefix(st.Reason, "no hcinit answered") {
			lastErr = fmt.Errorf("%s", st.Reason)
		}
		// Before hcinit listens the client answers for itself: not a state.
		if err == nil && !strings.HasPrefix(st.Reason, "no hcinit answered") {
			obs = append(obs, observation{at: time.Since(since), code: code, st: st})
			if done(st) {
				return obs
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("not within %s (last error %v); last answers:\n%s", d, lastErr, lastObs(obs, 5))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func lastObs(obs []observation, n int) string {
	if len(obs) > n {
		obs = obs[len(obs)-n:]
	}
	var b strings.Builder
	for _, o := range obs {
		b.WriteString("  " + o.String() + "\n")
	}
	return b.String()
}

// TestFirstProbeAtOnce: the first probe runs as soon as the child started
// (kubelet, initialDelaySeconds 0). With an interval of an hour the old code
// answered "starting" for that hour.
func TestFirstProbeAtOnce(t *testing.T) {
	t.Parallel()
	sock := filepath.Join(t.TempDir(), "hc.sock")
	begin := time.Now()
	if _, err := spawn(t, []string{hcinitBin(), "--socket", sock, "--interval", "1h", "--", "sleep", "1000"}); err != nil {
		t.Fatal(err)
	}
	obs := timeline(t, sock, begin, 10*time.Second, func(st health.Status) bool { return st.Overall == health.StatusHealthy })
	last := obs[len(obs)-1]
	t.Logf("healthy %s after start (%d answers before)", last.at.Round(time.Millisecond), len(obs)-1)
	if last.code != 0 {
		t.Errorf("healthy, but hcinit check exits %d", last.code)
	}
}

// TestFirstProbeThenStartInterval: an HTTP app that listens only after a
// second, under a long start period: the first probe (at once) fails without
// counting, the next ones run every start-interval, and the app is healthy
// within about one start-interval of listening, never later than the old
// schedule would allow (here: the interval is an hour).
func TestFirstProbeThenStartInterval(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	sock := filepath.Join(dir, "hc.sock")
	_, port, _ := net.SplitHostPort(freePort(t)) // hostile_test.go
	listening := filepath.Join(dir, "listening")
	// The child is an hcinit itself: its --http endpoint is a real HTTP server.
	begin := time.Now()
	if _, err := spawn(t, []string{hcinitBin(), "--socket", sock, "--interval", "1h",
		"--start-period", "1h", "--start-interval", "500ms",
		"--check", "http://127.0.0.1:" + port + "/livez", "--",
		"sh", "-c", `sleep 1; touch "$0"; exec hcinit --socket "$0.sock" --http 127.0.0.1:"$1" -- sleep 1000`, listening, port}); err != nil {
		t.Fatal(err)
	}
	obs := timeline(t, sock, begin, 15*time.Second, func(st health.Status) bool { return st.Overall == health.StatusHealthy })
	for _, o := range obs {
		if o.st.Overall == health.StatusUnhealthy {
			t.Errorf("unhealthy inside the start period: %s", o)
		}
	}
	fi, err := os.Stat(listening)
	if err != nil {
		t.Fatal(err)
	}
	healthy := begin.Add(obs[len(obs)-1].at)
	after := healthy.Sub(fi.ModTime())
	t.Logf("healthy %s after the app began to listen (start-interval 500ms)", after.Round(time.Millisecond))
	// One start-interval, plus generous room for a loaded machine: the old
	// schedule's next chance after the first failure would have been the same,
	// but never the hour-long interval.
	if after > 500*time.Millisecond+5*time.Second {
		t.Errorf("healthy %s after listening, want within about one start-interval", after)
	}
}

// TestReadinessThresholds: readiness per kubelet's worker: false until the
// first success, false again only after `retries` failures in a row (the old
// code turned unready at the first), true after `success-threshold` successes
// in a row.
func TestReadinessThresholds(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	sock := filepath.Join(dir, "hc.sock")
	up := filepath.Join(dir, "up")
	if err := os.WriteFile(up, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	begin := time.Now()
	if _, err := spawn(t, []string{hcinitBin(), "--socket", sock,
		"--check", "file=" + up + ",max-age=0,level=ready,name=up,interval=300ms,retries=3,success-threshold=2",
		"--", "sleep", "1000"}); err != nil {
		t.Fatal(err)
	}
	check := func(o observation) health.CheckStatus {
		if len(o.st.Checks) != 1 {
			t.Fatalf("checks: %s", o)
		}
		return o.st.Checks[0]
	}
	obs := timeline(t, sock, begin, 15*time.Second, func(st health.Status) bool { return st.Ready })
	for _, o := range obs {
		if c := check(o); o.st.Ready && len(c.Log) < 2 {
			t.Errorf("ready before two successes: %s", o)
		}
	}
	if first := obs[0]; first.st.Ready {
		t.Errorf("ready before the first success: %s", first)
	}

	if err := os.Remove(up); err != nil {
		t.Fatal(err)
	}
	begin = time.Now()
	obs = timeline(t, sock, begin, 15*time.Second, func(st health.Status) bool { return !st.Ready })
	sawStreak := false
	for _, o := range obs {
		c := check(o)
		switch {
		case c.FailingStreak >= 1 && c.FailingStreak < 3:
			sawStreak = true
			if !o.st.Ready || !c.Ready {
				t.Errorf("unready after %d of 3 failures: %s", c.FailingStreak, o)
			}
		case !o.st.Ready && c.FailingStreak < 3:
			t.Errorf("unready with a failing streak of %d: %s", c.FailingStreak, o)
		}
	}
	if !sawStreak {
		t.Logf("no answer caught the streak at 1 or 2 (a loaded machine):\n%s", lastObs(obs, 8))
	}
	t.Logf("unready %s after the file went", obs[len(obs)-1].at.Round(time.Millisecond))

	if err := os.WriteFile(up, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	obs = timeline(t, sock, time.Now(), 15*time.Second, func(st health.Status) bool { return st.Ready })
	for _, o := range obs {
		c := check(o)
		n := len(c.Log)
		if o.st.Ready && (n < 2 || c.Log[n-1].ExitCode != 0 || c.Log[n-2].ExitCode != 0) {
			t.Errorf("ready again without two successes in a row: %s", o)
		}
	}
}

// notifyRun starts hcinit with flags around `sdnotify STEPS…` and waits until
// its notify state holds STATUS=done (the last step of every scenario), so
// every message before it was handled.
func notifyRun(t *testing.T, flags []string, steps ...string) (string, health.Status, *proc) {
	t.Helper()
	sock := filepath.Join(t.TempDir(), "hc.sock")
	if strings.Contains(sock, ",") {
		// --socket takes a comma-separated list: two such runs would share
		// the socket named by the part before the comma.
		t.Fatalf("socket path %s holds a comma (from the test's name)", sock)
	}
	argv := append([]string{hcinitBin(), "--socket", sock}, flags...)
	argv = append(append(argv, "--", "sdnotify"), steps...)
	p, err := spawn(t, argv)
	if err != nil {
		t.Fatal(err)
	}
	obs := timeline(t, sock, time.Now(), 15*time.Second, func(st health.Status) bool {
		return st.Notify != nil && st.Notify.Status == "done"
	})
	return sock, obs[len(obs)-1].st, p
}

// TestNotifyProtocol: what systemd accepts and ignores on NOTIFY_SOCKET.
func TestNotifyProtocol(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name  string
		flags []string
		steps []string
		ready bool
	}{
		// NotifyAccess=main: a message from another process of the child is
		// ignored (systemd.service(5)); the old code took it.
		{"another process access main", nil, []string{"fork:READY=1"}, false},
		{"another process access exec", []string{"--notify-access", "exec"}, []string{"fork:READY=1"}, true},
		{"the main process", nil, []string{"READY=1"}, true},
		// A datagram longer than the buffer is dropped, not applied cut (MSG_TRUNC).
		{"truncated", nil, []string{"big=5000:READY=1"}, false},
		// systemd splits on "\n\r" (manager.c: strv_split(buf, NEWLINE)).
		{"CRLF", nil, []string{`READY=1\r\n`}, true},
		// STOPPING=1 is final.
		{"ready after stopping", nil, []string{"READY=1", "STOPPING=1", "READY=1"}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			flags := append([]string{"--check", "notify,interval=1h"}, tc.flags...)
			_, st, _ := notifyRun(t, flags, append(tc.steps, "STATUS=done", "forever")...)
			if st.Notify.Ready != tc.ready {
				t.Errorf("READY=1 taken: %v, want %v (%+v)", st.Notify.Ready, tc.ready, st.Notify)
			}
		})
	}
}

// TestWatchdogArmedAtReady: a child that needs longer than the watchdog to
// start is not judged before READY=1 (systemd arms the watchdog there); the
// old code counted from the fork and failed it at READY=1.
func TestWatchdogArmedAtReady(t *testing.T) {
	t.Parallel()
	sock := filepath.Join(t.TempDir(), "hc.sock")
	begin := time.Now()
	if _, err := spawn(t, []string{hcinitBin(), "--socket", sock, "--watchdog", "1s", "--interval", "1h", "--",
		"sdnotify", "sleep=1500ms", "READY=1", "sleep=300ms", "every=200ms:WATCHDOG=1", "forever"}); err != nil {
		t.Fatal(err)
	}
	obs := timeline(t, sock, begin, 10*time.Second, func(st health.Status) bool { return st.Overall == health.StatusHealthy })
	for _, o := range obs {
		if o.st.Overall == health.StatusUnhealthy {
			t.Errorf("unhealthy: %s", o)
		}
	}
}

// TestWatchdogMissIsAVerdict: at WATCHDOG_USEC after the last WATCHDOG=1 the
// notify check is unhealthy at once (the old code waited for the next probe,
// here an hour, times the retries), --on-unhealthy acts at once, and
// --watchdog-signal reaches the main process.
func TestWatchdogMissIsAVerdict(t *testing.T) {
	t.Parallel()
	steps := []string{"READY=1", "WATCHDOG=1", "sleep=300ms", "WATCHDOG=1", "forever"}
	t.Run("unhealthy at once", func(t *testing.T) {
		t.Parallel()
		sock := filepath.Join(t.TempDir(), "hc.sock")
		begin := time.Now()
		if _, err := spawn(t, append([]string{hcinitBin(), "--socket", sock, "--watchdog", "700ms", "--interval", "1h", "--retries", "3", "--", "sdnotify"}, steps...)); err != nil {
			t.Fatal(err)
		}
		obs := timeline(t, sock, begin, 10*time.Second, func(st health.Status) bool { return st.Overall == health.StatusUnhealthy })
		last := obs[len(obs)-1]
		t.Logf("unhealthy %s after start (last WATCHDOG=1 at about 300ms, watchdog 700ms): %s", last.at.Round(time.Millisecond), last.st.Reason)
		if !strings.Contains(last.st.Reason, "watchdog expired") {
			t.Errorf("reason %q", last.st.Reason)
		}
	})
	t.Run("on-unhealthy exit", func(t *testing.T) {
		t.Parallel()
		p, err := spawn(t, append([]string{hcinitBin(), "--socket", filepath.Join(t.TempDir(), "hc.sock"),
			"--watchdog", "700ms", "--interval", "1h", "--on-unhealthy", "exit", "--", "sdnotify"}, steps...))
		if err != nil {
			t.Fatal(err)
		}
		if err := p.expectExit(exitWait, 128+15); err != nil {
			t.Fatalf("hcinit after the missed watchdog: %v", err)
		}
	})
	t.Run("watchdog-signal", func(t *testing.T) {
		t.Parallel()
		p, err := spawn(t, append([]string{hcinitBin(), "--socket", filepath.Join(t.TempDir(), "hc.sock"),
			"--watchdog", "700ms", "--interval", "1h", "--watchdog-signal", "ABRT", "--", "sdnotify"}, steps...))
		if err != nil {
			t.Fatal(err)
		}
		// A Go program dumps its goroutines on SIGABRT and exits 2.
		if err := p.expectExit(exitWait, 2); err != nil {
			t.Fatalf("hcinit after the missed watchdog: %v", err)
		}
		if !strings.Contains(p.stderr(), "SIGABRT") {
			t.Errorf("no SIGABRT dump from the child%s", p.stderrNote())
		}
	})
	t.Run("trigger", func(t *testing.T) {
		t.Parallel()
		p, err := spawn(t, []string{hcinitBin(), "--socket", filepath.Join(t.TempDir(), "hc.sock"),
			"--check", "notify", "--interval", "1h", "--on-unhealthy", "exit", "--", "sdnotify", "READY=1", "sleep=300ms", "WATCHDOG=trigger", "forever"})
		if err != nil {
			t.Fatal(err)
		}
		if err := p.expectExit(exitWait, 128+15); err != nil {
			t.Fatalf("hcinit after WATCHDOG=trigger: %v", err)
		}
	})
}

// TestMainPID: MAINPID= makes hcinit supervise the new main process, as
// --pidfile does: the launcher exits, hcinit keeps running, forwards TERM to
// the new main process and exits with its status.
func TestMainPID(t *testing.T) {
	t.Parallel()
	sock := filepath.Join(t.TempDir(), "hc.sock")
	p, err := spawn(t, []string{hcinitBin(), "--socket", sock, "--check", "notify", "--",
		"sdnotify", "READY=1", "spawn=sigprint,-name,daemon,-exit,SIGTERM,-code,7", "sleep=300ms"})
	if err != nil {
		t.Fatal(err)
	}
	if err := p.out.ready(readyWait, "daemon"); err != nil {
		t.Fatal(err)
	}
	daemon := p.out.readyPid("daemon")
	if _, err := waitStatus(sock, 10*time.Second, "the daemon as main process", func(st health.Status) bool {
		return st.ChildPID == daemon && st.Overall == health.StatusHealthy
	}); err != nil {
		t.Fatal(err)
	}
	if err := p.running(time.Second); err != nil {
		t.Fatalf("after the launcher exited: %v", err)
	}
	if err := p.signal(unix.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := p.out.await(sigWait, "daemon SIGTERM"); err != nil {
		t.Fatal(err)
	}
	if err := p.expectExit(exitWait, 7); err != nil {
		t.Fatal(err)
	}
}

// TestHTTPCheckKubeletRules: http checks against a scripted server, per
// kubelet's pkg/probe/http: a stalled body, a body cut short of its
// Content-Length, a malformed chunk size, an empty Content-Length and more
// than 10 redirects fail (the old code passed all but the last on the 200
// header alone, and the loop on its 302); a redirect to another host passes
// with a warning. The User-Agent is hcinit/VERSION.
func TestHTTPCheckKubeletRules(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	hold := make(chan struct{})
	defer close(hold)
	agents := make(chan string, 100)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				c.SetDeadline(time.Now().Add(10 * time.Second))
				buf := make([]byte, 4096)
				n, _ := c.Read(buf)
				req := string(buf[:n])
				path := strings.Fields(req + " x x")[1]
				for _, l := range strings.Split(req, "\r\n") {
					if v, ok := strings.CutPrefix(l, "User-Agent: "); ok {
						select {
						case agents <- v:
						default:
						}
					}
				}
				resp := map[string]string{
					"/stall":     "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\npart",
					"/short":     "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\npart",
					"/badchunk":  "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nfine\r\nzz\r\n",
					"/emptycl":   "HTTP/1.1 200 OK\r\nContent-Length:\r\n\r\nok",
					"/loop":      "HTTP/1.1 302 Found\r\nLocation: /loop\r\nContent-Length: 0\r\n\r\n",
					"/elsewhere": "HTTP/1.1 302 Found\r\nLocation: http://192.0.2.1/\r\nContent-Length: 0\r\n\r\n",
					"/ok":        "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok",
				}[path]
				io.WriteString(c, resp)
				if path == "/stall" {
					<-hold
				}
			}()
		}
	}()
	base := "http://" + ln.Addr().String()
	sock := filepath.Join(t.TempDir(), "hc.sock")
	argv := []string{hcinitBin(), "--socket", sock, "--interval", "1h", "--timeout", "1s", "--retries", "1"}
	want := map[string]string{
		"stall": "context deadline exceeded", "short": "unexpected EOF", "badchunk": "invalid byte in chunk length",
		"emptycl": "invalid empty Content-Length", "loop": "stopped after 10 redirects",
		"elsewhere": "redirect to another host not followed", "ok": "HTTP 200",
	}
	for name := range want {
		argv = append(argv, "--check", base+"/"+name+",name="+name)
	}
	if _, err := spawn(t, append(argv, "--", "sleep", "1000")); err != nil {
		t.Fatal(err)
	}
	obs := timeline(t, sock, time.Now(), 15*time.Second, func(st health.Status) bool {
		for _, c := range st.Checks {
			if c.Status == health.StatusStarting {
				return false
			}
		}
		return len(st.Checks) == len(want)
	})
	_ = obs
	// check --json shortens outputs to fit 4096 bytes: the details from status.
	st, err := status(sock)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range st.Checks {
		out := c.Log[len(c.Log)-1].Output
		wantStatus := health.StatusUnhealthy
		if c.Name == "elsewhere" || c.Name == "ok" {
			wantStatus = health.StatusHealthy
		}
		if c.Status != wantStatus || !strings.Contains(out, want[c.Name]) {
			t.Errorf("check %s: %s, %q; want %s, %q", c.Name, c.Status, out, wantStatus, want[c.Name])
		}
	}
	if ua := <-agents; !strings.HasPrefix(ua, "hcinit/") {
		t.Errorf("User-Agent %q, want hcinit/VERSION", ua)
	}
}

// TestClientCLI: `hcinit check` and `hcinit status` parse options as the main
// command does: plain seconds, --help on stdout with exit 0, hcinit's words
// for errors; `status --json` prints JSON also when no hcinit answers.
func TestClientCLI(t *testing.T) {
	t.Parallel()
	sock := filepath.Join(t.TempDir(), "hc.sock")
	if _, err := spawn(t, []string{hcinitBin(), "--socket", sock, "--", "sleep", "1000"}); err != nil {
		t.Fatal(err)
	}
	timeline(t, sock, time.Now(), 10*time.Second, func(st health.Status) bool { return st.Overall == health.StatusHealthy })
	run := func(args ...string) (string, string, int) {
		var out, errb strings.Builder
		c := exec.Command(hcinitBin(), args...)
		c.Stdout, c.Stderr = &out, &errb
		err := c.Run()
		code := 0
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		} else if err != nil {
			t.Fatal(err)
		}
		return out.String(), errb.String(), code
	}
	for _, tc := range []struct {
		args      []string
		code      int
		out, errs string
	}{
		{[]string{"check", "--socket", sock, "--timeout", "1"}, 0, "healthy\n", ""},
		{[]string{"check", "--socket=" + sock, "--timeout=0.5"}, 0, "healthy\n", ""},
		{[]string{"check", "--help"}, 0, "Usage: hcinit check", ""},
		{[]string{"status", "-h"}, 0, "Usage: hcinit status", ""},
		{[]string{"check", "--bogus"}, 1, "", "hcinit check: unknown option --bogus\nTry 'hcinit check --help'.\n"},
		{[]string{"status", "--timeout"}, 1, "", "hcinit status: option --timeout needs a value\nTry 'hcinit status --help'.\n"},
		{[]string{"status", "--json", "--socket", sock + ".none", "--timeout", "1"}, 1, `"status": "unhealthy"`, "no hcinit answered"},
	} {
		out, errs, code := run(tc.args...)
		if code != tc.code || !strings.Contains(out, tc.out) || !strings.Contains(errs, tc.errs) {
			t.Errorf("hcinit %s: exit %d, stdout %.80q, stderr %.120q; want %d, %q, %q", strings.Join(tc.args, " "), code, out, errs, tc.code, tc.out, tc.errs)
		}
		if strings.Contains(strings.Join(tc.args, " "), "--json") {
			var st health.Status
			if err := json.Unmarshal([]byte(out), &st); err != nil {
				t.Errorf("hcinit %s: not JSON: %v", strings.Join(tc.args, " "), err)
			}
		}
	}
}

// TestCheckJSONFits: with many checks and long outputs `check --json` stays
// within 4096 bytes, valid JSON, with every check's name and status.
func TestCheckJSONFits(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	sock := filepath.Join(dir, "hc.sock")
	argv := []string{hcinitBin(), "--socket", sock, "--interval", "1h", "--retries", "1"}
	const n = 60
	for i := 0; i < n; i++ {
		argv = append(argv, "--check", fmt.Sprintf("file=%s/missing-file-with-a-rather-long-name-%d,name=c%d", dir, i, i))
	}
	if _, err := spawn(t, append(argv, "--", "sleep", "1000")); err != nil {
		t.Fatal(err)
	}
	obs := timeline(t, sock, time.Now(), 15*time.Second, func(st health.Status) bool {
		for _, c := range st.Checks {
			if c.Status == health.StatusStarting {
				return false
			}
		}
		return len(st.Checks) > 0
	})
	out, _, err := hcinitClient("check", "--json", "--socket", sock)
	if err != nil {
		t.Fatal(err)
	}
	if len(out) > 4096 {
		t.Errorf("check --json printed %d bytes, want at most 4096", len(out))
	}
	var st health.Status
	if err := json.Unmarshal([]byte(out), &st); err != nil {
		t.Fatalf("not JSON: %v (%d bytes)", err, len(out))
	}
	if len(st.Checks) != n {
		t.Fatalf("%d checks in check --json, want %d", len(st.Checks), n)
	}
	for i, c := range st.Checks {
		if c.Name != fmt.Sprintf("c%d", i) || c.Status != health.StatusUnhealthy {
			t.Errorf("check %d: %q %q", i, c.Name, c.Status)
		}
	}
	_ = obs
}

// TestHelpAndCaseInsensitiveNames: `hcinit help` prints the help (the old
// code tried to exec "help"); level and format names take any case.
func TestHelpAndCaseInsensitiveNames(t *testing.T) {
	t.Parallel()
	out, err := exec.Command(hcinitBin(), "help").Output()
	if err != nil || !strings.Contains(string(out), "Usage:") {
		t.Errorf("hcinit help: %v, %.80q", err, out)
	}
	c := exec.Command(hcinitBin(), "--socket", filepath.Join(t.TempDir(), "hc.sock"), "--log-level", "DEBUG", "--log-format", "JSON",
		"--check", "process,level=LIVE", "--", "true")
	var errb strings.Builder
	c.Stderr = &errb
	if err := c.Run(); err != nil {
		t.Fatalf("upper-case names: %v (%s)", err, errb.String())
	}
	if !strings.Contains(errb.String(), `"level":"debug"`) {
		t.Errorf("no JSON debug log: %.200q", errb.String())
	}
}

// TestStartupWarnings: settings that can never take effect are named at
// start-up.
func TestStartupWarnings(t *testing.T) {
	t.Parallel()
	c := exec.Command(hcinitBin(), "--socket", "", "--watchdog", "1s", "--on-unhealthy", "restart",
		"--check", "process,level=ready", "--drain-delay", "5s", "--stop-timeout", "2s", "--", "true")
	c.Env = append(os.Environ(), "HCINIT_INTERVALL=5s")
	var errb strings.Builder
	c.Stderr = &errb
	if err := c.Run(); err != nil {
		t.Fatalf("%v (%s)", err, errb.String())
	}
	for _, want := range []string{"--watchdog without a notify check", "--on-unhealthy restart never acts",
		"--drain-delay 5s is not shorter than --stop-timeout 2s", "unknown variable HCINIT_INTERVALL", `--socket \"\" names no socket`} {
		if !strings.Contains(errb.String(), want) {
			t.Errorf("no warning %q in:\n%s", want, errb.String())
		}
	}
	// Docker's start interval applies only while starting inside the start
	// period: without one it never takes effect. --http-details details
	// nothing without --http.
	c = exec.Command(hcinitBin(), "--socket", "@semk8s-warn", "--start-interval", "1s", "--http-details",
		"--check", "process,name=a,start-interval=500ms", "--check", "process,name=b,start-interval=500ms,start-period=5s", "--", "true")
	errb.Reset()
	c.Stderr = &errb
	if err := c.Run(); err != nil {
		t.Fatalf("%v (%s)", err, errb.String())
	}
	for _, want := range []string{"--start-interval 1s never takes effect without a start period",
		"check a: start-interval=500ms never takes effect without a start period", "--http-details without --http"} {
		if !strings.Contains(errb.String(), want) {
			t.Errorf("no warning %q in:\n%s", want, errb.String())
		}
	}
	if strings.Contains(errb.String(), "check b:") {
		t.Errorf("a warning for check b, which has a start period:\n%s", errb.String())
	}
}

// TestExecQuoting: exec= takes shell-style quoting (the old code split on
// spaces and ran sh with "'test" and "/ready'"), or a JSON argv; a probe that
// does not exist is refused at start-up with the reason.
func TestExecQuoting(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	ready := filepath.Join(dir, "ready, really")
	if err := os.WriteFile(ready, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	sock := filepath.Join(dir, "hc.sock")
	if _, err := spawn(t, []string{hcinitBin(), "--socket", sock, "--interval", "1h",
		"--check", "exec=/bin/sh -c 'test -f \"" + ready + "\"',name=shell",
		"--check", `exec=["/usr/bin/test","-f","` + ready + `"],name=argv`,
		"--", "sleep", "1000"}); err != nil {
		t.Fatal(err)
	}
	obs := timeline(t, sock, time.Now(), 10*time.Second, func(st health.Status) bool { return st.Overall != health.StatusStarting })
	if last := obs[len(obs)-1]; last.st.Overall != health.StatusHealthy {
		t.Errorf("quoted exec checks: %s (%s)", last, last.st.Reason)
	}
	out, err := exec.Command(hcinitBin(), "--check", "exec=/nonexistent/probe -q", "--", "true").CombinedOutput()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 2 || !strings.Contains(string(out), "/nonexistent/probe: no such file") {
		t.Errorf("missing probe: %v %q, want exit 2 naming it", err, out)
	}
}
