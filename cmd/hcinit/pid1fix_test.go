package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	procfs "github.com/wisdom-oss/go-healthcheck/internal/proc"
	"github.com/wisdom-oss/go-healthcheck/supervisor/health"
)

// sharedRunBox runs hcinit args as PID 1 of fresh pid and mount namespaces
// whose /run is the directory run, shared with every other such box: two
// containers sharing a runtime directory, or parallel tests on one host
// sharing /run/hcinit, but private to this test.
// Its clients must run inside (box.exec): hcinit's client believes no
// server in another mount namespace.
func sharedRunBox(t *testing.T, run string, args ...string) (*box, error) {
	needRoot(t)
	argv := []string{"unshare", "--mount", "--propagation", "private", "--pid", "--fork", "--mount-proc", "--kill-child",
		"sh", "-c", `mount --bind "$RUN" /run && exec "$@"`, "sh", hcinitBin()}
	p, err := spawn(t, append(argv, args...), withEnv("RUN="+run))
	if err != nil {
		return nil, err
	}
	pid, err := childOf(p.pid(), "hcinit", readyWait)
	if err != nil {
		return nil, err
	}
	return &box{p: p, pid: pid}, nil
}

// statusOf waits up to d until `hcinit status --json --socket sock`, run in
// the box, answers with a state cond accepts.
func (b *box) statusOf(sock string, d time.Duration, what string, cond func(health.Status) bool) (health.Status, error) {
	deadline := time.Now().Add(d)
	for {
		var st health.Status
		out, errOut, _, err := b.exec(nil, hcinitBin(), "status", "--socket", sock, "--json", "--timeout", "3s")
		if err == nil {
			if err = json.Unmarshal([]byte(out), &st); err != nil {
				err = fmt.Errorf("%v (stdout %q, stderr %q)", err, out, errOut)
			}
		}
		if err == nil && cond(st) {
			return st, nil
		}
		if time.Now().After(deadline) {
			return st, fmt.Errorf("%s: not within %s (last: %+v, %v)", what, d, st, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// delegateResult is the delegate check's last result, if it has one that
// started after since.
func delegateResult(st health.Status, since time.Time) (health.Result, bool) {
	for _, c := range st.Checks {
		if c.Name == "delegate" && len(c.Log) > 0 && c.Log[len(c.Log)-1].Start.After(since) {
			return c.Log[len(c.Log)-1], true
		}
	}
	return health.Result{}, false
}

// TestChildDirNotTakenFromAnotherPID1: two hcinits, each PID 1 of its own pid
// namespace, share the runtime directory, so both want child-1/ for their
// child's socket (HEALTHCHECK_SOCKET_DIR). The old code had the second
// remove the first's live directory and make it its own: the first child's
// announced socket was gone, and the first hcinit reported its healthy app
// unhealthy. Now the second takes a directory of its own.
func TestChildDirNotTakenFromAnotherPID1(t *testing.T) {
	run := t.TempDir()
	sock1 := filepath.Join(t.TempDir(), "hc1.sock")
	first, err := sharedRunBox(t, run, "--socket", sock1, "--interval", "200ms", "--retries", "1", "--", "v1server")
	if err != nil {
		t.Fatal(err)
	}
	if err := first.healthyDelegate(sock1, time.Time{}); err != nil {
		t.Fatal(err)
	}
	sock2 := filepath.Join(t.TempDir(), "hc2.sock")
	second, err := sharedRunBox(t, run, "--socket", sock2, "--interval", "200ms", "--retries", "1", "--", "v1server")
	if err != nil {
		t.Fatal(err)
	}
	if err := second.healthyDelegate(sock2, time.Time{}); err != nil {
		t.Fatal(err)
	}
	// The first's delegate, asked after the second started.
	if err := first.healthyDelegate(sock1, time.Now()); err != nil {
		t.Errorf("the first hcinit after the second started: %v", err)
	}
}

// healthyDelegate waits for the delegate check of the box's hcinit on sock
// to report a result that started after since, and wants it healthy.
func (b *box) healthyDelegate(sock string, since time.Time) error {
	st, err := b.statusOf(sock, readyWait, "a delegate result", func(st health.Status) bool {
		_, ok := delegateResult(st, since)
		return ok
	})
	if err != nil {
		return err
	}
	if r, _ := delegateResult(st, since); r.ExitCode != 0 {
		return fmt.Errorf("delegate check failed: exit %d, %q", r.ExitCode, r.Output)
	}
	return nil
}

// TestExtendTimeoutDuringOwnStopTimeout: a child that says
// EXTEND_TIMEOUT_USEC=N while it shuts down is not killed before N from that
// message, even past hcinit's own --stop-timeout, as systemd extends
// TimeoutStopSec (sd_notify(3), src/core/service.c service_extend_timeout).
// The old code only relayed it and SIGKILLed the child at --stop-timeout.
func TestExtendTimeoutDuringOwnStopTimeout(t *testing.T) {
	t.Parallel()
	p, err := spawn(t, []string{hcinitBin(), "--socket", filepath.Join(t.TempDir(), "hc.sock"), "--stop-timeout", "2s",
		"--check", "notify,interval=1h", "--", "sdnotify", "term=4s:EXTEND_TIMEOUT_USEC=30000000", "READY=1", "forever"})
	if err != nil {
		t.Fatal(err)
	}
	if err := p.waitStderr("state=healthy", 1, readyWait); err != nil {
		t.Fatal(err)
	}
	if err := p.signal(unix.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := p.expectExit(exitWait, 0); err != nil {
		t.Errorf("the child that asked for more time: %v%s", err, p.stderrNote())
	}
}

// TestExtendTimeoutNeverShortens: an EXTEND_TIMEOUT_USEC shorter than what
// is left of --stop-timeout changes nothing: the child still has the whole
// grace.
func TestExtendTimeoutNeverShortens(t *testing.T) {
	t.Parallel()
	p, err := spawn(t, []string{hcinitBin(), "--socket", filepath.Join(t.TempDir(), "hc.sock"), "--stop-timeout", "30s",
		"--check", "notify,interval=1h", "--", "sdnotify", "term=2s:EXTEND_TIMEOUT_USEC=1", "READY=1", "forever"})
	if err != nil {
		t.Fatal(err)
	}
	if err := p.waitStderr("state=healthy", 1, readyWait); err != nil {
		t.Fatal(err)
	}
	if err := p.signal(unix.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := p.expectExit(exitWait, 0); err != nil {
		t.Errorf("the child inside its grace: %v%s", err, p.stderrNote())
	}
}

// TestMainPIDNotAnExecProbe: MAINPID= naming a running exec check is
// refused, as systemd refuses a new main PID that "is the control process"
// (src/core/service.c, service_is_suitable_main_pid): the probe is hcinit's
// own. The old code adopted it: `hcinit status` named the probe as the child,
// and when the probe ended hcinit took that for the main process's exit and
// stopped the application that was still running.
func TestMainPIDNotAnExecProbe(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	sock := filepath.Join(dir, "hc.sock")
	probePid, done := filepath.Join(dir, "probe.pid"), filepath.Join(dir, "probe.done")
	probe := fmt.Sprintf(`exec=["/bin/sh","-c","echo $$ > %s.new && mv %s.new %s; until [ -e %s ]; do sleep 0.02; done"],interval=1h,timeout=60s`,
		probePid, probePid, probePid, done)
	p, err := spawn(t, []string{hcinitBin(), "--socket", sock, "--check", probe, "--", "sh", "-c",
		`until [ -e ` + probePid + ` ]; do sleep 0.02; done; exec sdnotify "MAINPID=$(cat ` + probePid + `)\nSTATUS=sent" forever`})
	if err != nil {
		t.Fatal(err)
	}
	st, err := waitStatus(sock, readyWait, "the child's STATUS=sent", func(st health.Status) bool {
		return st.Notify != nil && st.Notify.Status == "sent"
	})
	if err != nil {
		t.Fatal(err)
	}
	child := st.ChildPID
	if err := os.WriteFile(done, nil, 0o600); err != nil { // the probe ends
		t.Fatal(err)
	}
	if _, err := waitStatus(sock, readyWait, "the probe's result", func(st health.Status) bool {
		return p.exited() || len(st.Checks) > 0 && len(st.Checks[0].Log) > 0
	}); err != nil && !p.exited() {
		t.Fatal(err)
	}
	if err := p.running(time.Second); err != nil {
		t.Fatalf("hcinit after its exec probe ended: %v%s", err, p.stderrNote())
	}
	st, err = status(sock)
	if err != nil {
		t.Fatal(err)
	}
	if st.ChildPID != child {
		t.Errorf("hcinit status names pid %d as the child, want %d (the probe was adopted)", st.ChildPID, child)
	}
	if err := p.waitStderr("ignoring MAINPID=", 1, readyWait); err != nil {
		t.Error(err)
	}
}

// TestMainPIDOrphanedDaemon: a daemon that double-forked (re-parented to
// hcinit, no longer below the child) and says MAINPID=<its pid> under
// --notify-access all is still taken, as systemd takes any process of the
// unit's cgroup: hcinit supervises it after the launcher exits, forwards
// TERM to it and exits with its status.
func TestMainPIDOrphanedDaemon(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	sock, launched, exit := filepath.Join(dir, "hc.sock"), filepath.Join(dir, "launched"), filepath.Join(dir, "exit")
	p, err := spawn(t, []string{hcinitBin(), "--socket", sock, "--notify-access", "all", "--", "sh", "-c",
		`(sh -c 'until [ -e ` + launched + ` ]; do sleep 0.02; done; exec sdnotify "MAINPID=\$PID" STATUS=daemon forever' &); ` +
			`until [ -e ` + exit + ` ]; do sleep 0.02; done`})
	if err != nil {
		t.Fatal(err)
	}
	st, err := waitStatus(sock, readyWait, "the launcher", func(st health.Status) bool { return st.ChildPID > 0 })
	if err != nil {
		t.Fatal(err)
	}
	launcher := st.ChildPID
	var daemon int
	deadline := time.Now().Add(readyWait)
	for daemon == 0 { // the daemon, once its subshell is gone: hcinit's child
		for _, c := range procfs.All() {
			if c.PPID == p.pid() && c.PID != launcher && c.Comm == "sh" {
				daemon = c.PID
			}
		}
		if time.Now().After(deadline) {
			t.Fatal("no daemon re-parented to hcinit")
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err := os.WriteFile(launched, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := waitStatus(sock, readyWait, "the daemon as main process", func(st health.Status) bool {
		return st.ChildPID == daemon
	}); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(exit, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := p.running(time.Second); err != nil {
		t.Fatalf("after the launcher exited: %v%s", err, p.stderrNote())
	}
	if err := p.signal(unix.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := p.expectExit(exitWait, 128+15); err != nil {
		t.Fatal(err)
	}
}

// TestMainPIDRefusalsDoNotFloodTheLog: the main process itself repeating a
// MAINPID= hcinit refuses (here hcinit's own pid) is logged as other notify
// refusals are: once, then at most once per 10 s. The old code wrote a
// warning per message into the container's log, which is the application's.
func TestMainPIDRefusalsDoNotFloodTheLog(t *testing.T) {
	t.Parallel()
	p, err := spawn(t, []string{hcinitBin(), "--socket", filepath.Join(t.TempDir(), "hc.sock"), "--check", "notify", "--",
		"sdnotify", "READY=1", "every=1ms:MAINPID=$PPID", "sleep=1500ms", `STATUS=last\nMAINPID=$PPID`, "forever"})
	if err != nil {
		t.Fatal(err)
	}
	if err := p.waitStderr("ignoring MAINPID=", 1, readyWait); err != nil {
		t.Fatal(err)
	}
	sock := p.cmd.Args[2]
	if _, err := waitStatus(sock, readyWait, "the last message", func(st health.Status) bool {
		return st.Notify != nil && st.Notify.Status == "last"
	}); err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(p.stderr(), "ignoring MAINPID="); n > 5 {
		t.Errorf("%d log lines for one sender's refused MAINPID=, want at most 5", n)
	}
}

// TestMainPIDNotHcinitsChild: MAINPID= names a process whose own parent is
// alive and takes its exit status (`sh -c 'server & wait'`), so hcinit never
// sees that exit. systemd warns it will "most likely not notice when it
// exits". The old code waited for that exit for ever: once the server and
// the shell were gone hcinit had no process left and still ran, and a TERM
// did not end it. Now hcinit notices the end (pidfd) and goes back to what it
// supervised before: the shell, whose status (here 7) is hcinit's.
func TestMainPIDNotHcinitsChild(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	sock, done := filepath.Join(dir, "hc.sock"), filepath.Join(dir, "done")
	p, err := spawn(t, []string{hcinitBin(), "--socket", sock, "--notify-access", "all", "--", "sh", "-c",
		`waitfile ` + done + ` & sdnotify "MAINPID=$!"; wait $!; waitfile ` + done + `2; exit 7`})
	if err != nil {
		t.Fatal(err)
	}
	shell, err := childOf(p.pid(), "sh", readyWait)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := waitStatus(sock, readyWait, "the server as main process", func(st health.Status) bool {
		return st.ChildPID > 0 && st.ChildPID != shell
	}); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(done, nil, 0o600); err != nil { // the server ends; the shell reaps it
		t.Fatal(err)
	}
	// The shell is the main process again, for hcinit status and the checks.
	if _, err := waitStatus(sock, readyWait, "the shell as main process again", func(st health.Status) bool {
		return st.ChildPID == shell && st.Overall == health.StatusHealthy
	}); err != nil {
		t.Error(err)
	}
	if err := os.WriteFile(done+"2", nil, 0o600); err != nil { // the shell ends
		t.Fatal(err)
	}
	if err := p.expectExit(exitWait, 7); err != nil {
		t.Fatalf("hcinit after the server and the shell ended: %v%s", err, p.stderrNote())
	}
	if !strings.Contains(p.stderr(), "supervising the process before it again") {
		t.Errorf("no word of the main process's end%s", p.stderrNote())
	}
}
