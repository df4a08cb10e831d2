package main

// Regression tests for the defects a review found: each runs the real binary
// and fails on the code before the fixes.

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	procfs "github.com/wisdom-oss/go-healthcheck/internal/proc"
	"github.com/wisdom-oss/go-healthcheck/supervisor/health"
)

// hcinitClient runs `hcinit check|status ARGS…` and returns its stdout and exit
// code; the client has its own --timeout, this bound is only for a hung one.
func hcinitClient(args ...string) (string, int, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var out, errb bytes.Buffer
	c := exec.CommandContext(ctx, hcinitBin(), args...)
	c.Stdout, c.Stderr = &out, &errb
	err := c.Run()
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee) && ee.Exited():
		return out.String(), ee.ExitCode(), nil
	case err != nil:
		return out.String(), -1, fmt.Errorf("hcinit %s: %v (stderr %q)", strings.Join(args, " "), err, errb.String())
	}
	return out.String(), 0, nil
}

// status asks the hcinit on sock for its state (`hcinit status --json`, whose
// exit code only says whether it is healthy).
func status(sock string) (health.Status, error) {
	var st health.Status
	out, _, err := hcinitClient("status", "--socket", sock, "--json", "--timeout", "3s")
	if err != nil {
		return st, err
	}
	if err := json.Unmarshal([]byte(out), &st); err != nil {
		return st, fmt.Errorf("hcinit status --json: %v (output %q)", err, out)
	}
	return st, nil
}

// waitStatus asks until cond holds, up to d: the state changes on hcinit's
// timers, and a client cannot subscribe to it.
func waitStatus(sock string, d time.Duration, what string, cond func(health.Status) bool) (health.Status, error) {
	deadline := time.Now().Add(d)
	for {
		st, err := status(sock)
		if err == nil && cond(st) {
			return st, nil
		}
		if time.Now().After(deadline) {
			if err != nil {
				return st, fmt.Errorf("%s: %v", what, err)
			}
			return st, fmt.Errorf("%s: not within %s (status %+v)", what, d, st)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// waitStderr waits up to d until the init's log holds substr n times. The log
// is a file: there is nothing to wait on but its growth.
func (p *proc) waitStderr(substr string, n int, d time.Duration) error {
	deadline := time.Now().Add(d)
	for strings.Count(p.stderr(), substr) < n {
		if time.Now().After(deadline) {
			return fmt.Errorf("no %q (×%d) in the log within %s%s", substr, n, d, p.stderrNote())
		}
		time.Sleep(10 * time.Millisecond)
	}
	return nil
}

// running waits d and fails if the init exits in that time: the check that
// something does not happen.
func (p *proc) running(d time.Duration) error {
	code, err := p.exit(d)
	switch {
	case err == nil:
		return fmt.Errorf("exited %d within %s%s", code, d, p.stderrNote())
	case p.exited():
		return err // killed by a signal
	}
	return nil
}

// closed waits up to d until every process sharing the init's stdout closed it.
func (l *lines) closed(d time.Duration) error {
	timer := time.NewTimer(d)
	defer timer.Stop()
	for {
		l.mu.Lock()
		eof, wake := l.eof, l.wake
		l.mu.Unlock()
		if eof {
			return nil
		}
		select {
		case <-wake:
		case <-timer.C:
			return fmt.Errorf("output still open after %s", d)
		}
	}
}

// childOf waits up to d for a child of ppid running comm and returns its pid.
// A fork sends no event: /proc is polled.
func childOf(ppid int, comm string, d time.Duration) (int, error) {
	deadline := time.Now().Add(d)
	for {
		for _, p := range procfs.All() {
			if p.PPID == ppid && p.Comm == comm && p.State != 'Z' {
				return p.PID, nil
			}
		}
		if time.Now().After(deadline) {
			return 0, fmt.Errorf("no %s below pid %d after %s", comm, ppid, d)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func lineCount(path string) int {
	b, _ := os.ReadFile(path)
	return bytes.Count(b, []byte("\n"))
}

// TestUnhealthyRestartKeepsRunning: --on-unhealthy restart with a child that
// ignores TERM kills it after each grace and starts it again, for as long as it
// takes. Before the fix the first SIGKILL armed the "processes survived
// SIGKILL" deadline and hcinit exited 137 five seconds later.
func TestUnhealthyRestartKeepsRunning(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	starts := filepath.Join(dir, "starts")
	// The first probe runs at once: it fails only once a sigprint has its
	// handlers (the -ready file), so a TERM finds them. Each child removes
	// the file its predecessor left.
	ready := filepath.Join(dir, "ready")
	p, err := spawn(t, []string{hcinitBin(), "--socket", filepath.Join(dir, "hc.sock"),
		"--on-unhealthy", "restart", "--check", "exec=/usr/bin/test,arg=!,arg=-e,arg=" + ready, "--interval", "300ms", "--retries", "1",
		"--stop-timeout", "500ms", "--restart-delay", "0.2", "--restart-max-delay", "400ms", "--",
		"sh", "-c", "rm -f " + ready + "; echo start >> " + starts + "; exec sigprint -ready " + ready})
	if err != nil {
		t.Fatal(err)
	}
	// afterKill is 5 s: well past it.
	if err := p.running(7 * time.Second); err != nil {
		t.Fatalf("restarting an unhealthy child: %v", err)
	}
	n := lineCount(starts)
	if n < 3 {
		t.Fatalf("%d child starts in 7s, want at least 3 (two restarts)%s", n, p.stderrNote())
	}
	if !hasPrefix(p.out.snapshot(), "child SIGTERM") {
		t.Errorf("no child got the stop signal before its SIGKILL")
	}
	// Still supervising: another start follows.
	deadline := time.Now().Add(5 * time.Second)
	for lineCount(starts) == n {
		if time.Now().After(deadline) || p.exited() {
			t.Fatalf("no child start after the 7 s mark (hcinit exited: %v)%s", p.exited(), p.stderrNote())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestNameFileFIFO: a child replaces .hc-socket in hcinit's working directory
// with a FIFO. hcinit reads that file (to adopt the child's socket, and before
// removing its own at exit); opening a FIFO blocked it for ever, and TERM never
// ended it.
func TestNameFileFIFO(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	p, err := spawn(t, []string{hcinitBin(), "--log-level", "debug", "--socket", filepath.Join(dir, "hc.sock"), "--",
		"sh", "-c", "rm -f .hc-socket && mkfifo .hc-socket && exec sigprint -exit SIGTERM -code 5"})
	if err != nil {
		t.Fatal(err)
	}
	if err := p.out.ready(readyWait, "child"); err != nil {
		t.Fatal(err)
	}
	// hcinit looks at the new file (debounced, after its watcher started):
	// with the fix it logs why it is not usable.
	seen := p.waitStderr("not a regular file", 1, 2*time.Second)
	if err := p.signal(unix.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := p.expectExit(3*time.Second, 5); err != nil {
		t.Fatalf("TERM with a FIFO as .hc-socket: %v", err)
	}
	if seen != nil {
		t.Errorf("the FIFO was never looked at: %v", seen)
	}
}

// TestExecProbeDoesNotDelayExit: an exec probe still running when the child
// exits is killed at once. Before the fix it ran on, and hcinit waited for it
// (as for any process left) until the stop timeout.
func TestExecProbeDoesNotDelayExit(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	p, err := spawn(t, []string{hcinitBin(), "--socket", filepath.Join(dir, "hc.sock"), "--stop-timeout", "5s",
		"--check", "exec=/bin/sleep 30,interval=100ms,timeout=20s", "--",
		"sigprint", "-exit", "SIGTERM", "-code", "4"})
	if err != nil {
		t.Fatal(err)
	}
	if err := p.out.ready(readyWait, "child"); err != nil {
		t.Fatal(err)
	}
	probe, err := childOf(p.pid(), "sleep", readyWait)
	if err != nil {
		t.Fatalf("the exec probe: %v", err)
	}
	sent := time.Now()
	if err := p.signal(unix.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := p.expectExit(exitWait, 4); err != nil {
		t.Fatal(err)
	}
	if took := p.ended.Sub(sent); took > 2500*time.Millisecond {
		t.Errorf("exited %s after TERM: the probe in flight held it (grace 5s)", took.Round(time.Millisecond))
	}
	if err := waitGone(probe, time.Second); err != nil {
		t.Errorf("exec probe outlived hcinit: %v", err)
	}
}

// TestInheritedNotifySocketReplaced: hcinit started under podman --sdnotify or
// a systemd unit inherits NOTIFY_SOCKET. Its child must see hcinit's, once:
// with two entries glibc and Go read the first, the outer one.
func TestInheritedNotifySocketReplaced(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	p, err := spawn(t, []string{hcinitBin(), "--socket", filepath.Join(dir, "hc.sock"), "--", "/usr/bin/env"},
		withEnv("NOTIFY_SOCKET=/outer/sock", "HEALTHCHECK_NAME_FILE=/outer/x"))
	if err != nil {
		t.Fatal(err)
	}
	if err := p.expectExit(exitWait, 0); err != nil {
		t.Fatal(err)
	}
	if err := p.out.closed(exitWait); err != nil {
		t.Fatal(err)
	}
	env := p.out.snapshot()
	for _, tc := range []struct{ key, outer string }{
		{"NOTIFY_SOCKET", "/outer/sock"},
		{"HEALTHCHECK_NAME_FILE", "/outer/x"},
	} {
		var have []string
		for _, kv := range env {
			if v, ok := strings.CutPrefix(kv, tc.key+"="); ok {
				have = append(have, v)
			}
		}
		switch {
		case len(have) != 1:
			t.Errorf("%s: %d entries %q, want exactly one", tc.key, len(have), have)
		case have[0] == tc.outer:
			t.Errorf("%s=%s: the inherited value, want hcinit's", tc.key, have[0])
		}
	}
}

// TestStalePidfile: a pid file from an earlier run names pid 999999. The
// launcher starts a daemon that writes its own pid 200 ms later and exits at
// once. hcinit must wait for that write and supervise the daemon; before the
// fix it took the stale pid, found it dead and exited 1.
func TestStalePidfile(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	sock := filepath.Join(dir, "hc.sock")
	pidfile := filepath.Join(dir, "daemon.pid")
	if err := os.WriteFile(pidfile, []byte("999999\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	old := time.Now().Add(-time.Hour)
	if err := os.Chtimes(pidfile, old, old); err != nil {
		t.Fatal(err)
	}
	launcher := filepath.Join(dir, "launch.sh")
	script := "#!/bin/sh\n" +
		"setsid sh -c 'sleep 0.2; echo $$ > " + pidfile + "; exec sigprint -name daemon -exit SIGTERM -code 3' &\n" +
		"exit 0\n"
	if err := os.WriteFile(launcher, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	p, err := spawn(t, []string{hcinitBin(), "--socket", sock, "--pidfile", pidfile, "--", launcher})
	if err != nil {
		t.Fatal(err)
	}
	if err := p.out.ready(readyWait, "daemon"); err != nil {
		t.Fatalf("%v (hcinit exited: %v)%s", err, p.exited(), p.stderrNote())
	}
	daemon := p.out.readyPid("daemon")
	if _, err := waitStatus(sock, 5*time.Second, "child_pid is the daemon's",
		func(st health.Status) bool { return st.ChildPID == daemon }); err != nil {
		t.Fatalf("%v (hcinit exited: %v)%s", err, p.exited(), p.stderrNote())
	}
	if err := p.running(time.Until(start.Add(time.Second))); err != nil {
		t.Fatalf("supervising the daemon: %v", err)
	}
	if err := p.signal(unix.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := p.out.await(sigWait, "daemon SIGTERM"); err != nil {
		t.Fatal(err)
	}
	if err := p.expectExit(exitWait, 3); err != nil {
		t.Fatalf("daemon exits 3 on TERM: %v", err)
	}
}

// TestReadyCheckNeverRestarts: --on-unhealthy acts on liveness. A failing
// check of level ready takes the container out of rotation; before the fix it
// also restarted the child.
func TestReadyCheckNeverRestarts(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	sock := filepath.Join(dir, "hc.sock")
	p, err := spawn(t, []string{hcinitBin(), "--socket", sock,
		"--check", "exec=/bin/false,level=ready,interval=200ms,retries=1", "--on-unhealthy", "restart", "--",
		"sh", "-c", "echo child ready $$; exec sleep 30"})
	if err != nil {
		t.Fatal(err)
	}
	if err := p.out.ready(readyWait, "child"); err != nil {
		t.Fatal(err)
	}
	child := p.out.readyPid("child")
	if _, err := waitStatus(sock, 5*time.Second, "the ready check failed", func(st health.Status) bool {
		return len(st.Checks) == 1 && st.Checks[0].Status == health.StatusUnhealthy
	}); err != nil {
		t.Fatal(err)
	}
	if err := p.running(2 * time.Second); err != nil {
		t.Fatal(err)
	}
	st, err := status(sock)
	if err != nil {
		t.Fatal(err)
	}
	if st.ChildPID != child {
		t.Errorf("child_pid %d, want %d: the child was restarted", st.ChildPID, child)
	}
	if err := waitComm(child, "sleep", time.Second); err != nil {
		t.Errorf("the first child: %v", err)
	}
	for _, tc := range []struct {
		flag string
		want int
	}{{"--ready", 1}, {"--live", 0}} {
		out, have, err := hcinitClient("check", "--socket", sock, tc.flag, "--timeout", "3s")
		if err != nil {
			t.Fatal(err)
		}
		if have != tc.want {
			t.Errorf("hcinit check %s: exit %d, want %d (%s)", tc.flag, have, tc.want, strings.TrimSpace(out))
		}
	}
}

// TestSignalDuringBackoff: a signal that does not stop hcinit, arriving while
// no child runs (the restart backoff), goes to what is left of the child's
// group and nowhere else. As PID 1 the old code sent it to every process in
// the namespace, `docker exec` shells included.
func TestSignalDuringBackoff(t *testing.T) {
	t.Parallel()
	argv := func(sock string) []string {
		return []string{hcinitBin(), "--socket", sock, "--restart", "always", "--restart-delay", "2s", "--",
			"sh", "-c", "exit 1"}
	}

	t.Run("subreaper", func(t *testing.T) {
		t.Parallel()
		// A process of the test's own, not below hcinit.
		bystander := exec.Command("sleep", "30")
		bystander.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
		if err := bystander.Start(); err != nil {
			t.Fatal(err)
		}
		gone := make(chan struct{})
		go func() { _ = bystander.Wait(); close(gone) }()
		t.Cleanup(func() { _ = bystander.Process.Kill(); <-gone })

		p, err := spawn(t, argv(filepath.Join(t.TempDir(), "hc.sock")))
		if err != nil {
			t.Fatal(err)
		}
		if err := p.waitStderr("restarting child", 1, readyWait); err != nil {
			t.Fatal(err)
		}
		if err := p.signal(unix.SIGUSR1); err != nil {
			t.Fatal(err)
		}
		select {
		case <-gone:
			t.Fatalf("a process outside hcinit's tree died of the USR1 sent to hcinit: %v", bystander.ProcessState)
		case <-time.After(500 * time.Millisecond): // nothing announces that a signal went nowhere
		}
		if p.exited() {
			t.Fatalf("hcinit exited on USR1%s", p.stderrNote())
		}
	})

	t.Run("pid1", func(t *testing.T) {
		t.Parallel()
		needRoot(t)
		p, err := spawn(t, append([]string{"unshare", "--pid", "--fork", "--mount-proc", "--kill-child"},
			argv(filepath.Join(t.TempDir(), "hc.sock"))...))
		if err != nil {
			t.Fatal(err)
		}
		hc, err := childOf(p.pid(), "hcinit", readyWait)
		if err != nil {
			t.Fatal(err)
		}
		if err := p.waitStderr("restarting child", 1, readyWait); err != nil {
			t.Fatal(err)
		}
		// `docker exec`: a process that joins the namespace from outside.
		out, err := nsenter(t, hc, "sigprint", "-name", "exec")
		if err != nil {
			t.Fatal(err)
		}
		if err := out.ready(readyWait, "exec"); err != nil {
			t.Fatal(err)
		}
		if err := unix.Kill(hc, unix.SIGUSR1); err != nil {
			t.Fatal(err)
		}
		if err := out.await(500*time.Millisecond, "exec SIGUSR1"); err == nil {
			t.Errorf("USR1 to hcinit as PID 1 with no child reached a process that joined the namespace")
		}
		if p.exited() {
			t.Fatalf("hcinit exited on USR1%s", p.stderrNote())
		}
	})
}

// nsenter runs argv in the PID namespace of pid, as `docker exec` does, and
// returns its output. Cleanup kills it.
func nsenter(t *testing.T, pid int, argv ...string) (*lines, error) {
	c := exec.Command("nsenter", append([]string{"-t", strconv.Itoa(pid), "-p", "--"}, argv...)...)
	c.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	r, w, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	c.Stdout, c.Stderr = w, os.Stderr
	if err := c.Start(); err != nil {
		r.Close()
		w.Close()
		return nil, err
	}
	w.Close()
	out := newLines()
	go out.read(r)
	t.Cleanup(func() {
		// The program runs as nsenter's child; the pid it prints is the
		// namespace's, so find it on this side.
		for _, p := range procfs.All() {
			if p.PPID == c.Process.Pid {
				_ = unix.Kill(p.PID, unix.SIGKILL)
			}
		}
		_ = c.Process.Kill()
		_ = c.Wait()
		r.Close()
	})
	return out, nil
}

// TestSilentForeignClients: more silent connections than hcinit has slots,
// from a uid it refuses, must not keep `hcinit check` from an answer. Before
// the fix each held its slot for the 5 s read timeout.
func TestSilentForeignClients(t *testing.T) {
	t.Parallel()
	needRoot(t)
	// An abstract socket: no file mode keeps uid 65534 out, only hcinit's
	// SO_PEERCRED check.
	sock := fmt.Sprintf("@hcinit-test-%d-silent", os.Getpid())
	p, err := spawn(t, []string{hcinitBin(), "--socket", sock, "--interval", "100ms", "--",
		"sh", "-c", "echo child ready $$; exec sleep 30"})
	if err != nil {
		t.Fatal(err)
	}
	if err := p.out.ready(readyWait, "child"); err != nil {
		t.Fatal(err)
	}
	if _, err := waitStatus(sock, 5*time.Second, "healthy", func(st health.Status) bool {
		return st.Overall == health.StatusHealthy
	}); err != nil {
		t.Fatal(err)
	}

	// binDir is private to root: uid 65534 runs a copy from a directory it may enter.
	exeDir, err := os.MkdirTemp("", "hcinit-silent-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(exeDir) })
	if err := os.Chmod(exeDir, 0o755); err != nil {
		t.Fatal(err)
	}
	exe := filepath.Join(exeDir, "silent")
	if err := copyFile(filepath.Join(binDir, "silent"), exe, 0o755); err != nil {
		t.Fatal(err)
	}
	silent := exec.Command(exe, "-n", "1100", sock)
	silent.SysProcAttr = &syscall.SysProcAttr{
		Credential: &syscall.Credential{Uid: 65534, Gid: 65534},
		Pdeathsig:  syscall.SIGKILL,
	}
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	silent.Stdout, silent.Stderr, silent.Dir = w, os.Stderr, exeDir
	if err := silent.Start(); err != nil {
		t.Fatal(err)
	}
	w.Close()
	out := newLines()
	go out.read(r)
	t.Cleanup(func() { _ = silent.Process.Kill(); _ = silent.Wait(); r.Close() })
	if err := out.ready(readyWait, "silent"); err != nil {
		t.Fatal(err)
	}

	start := time.Now()
	reply, code, err := hcinitClient("check", "--socket", sock, "--timeout", "3s")
	if err != nil {
		t.Fatal(err)
	}
	if code != 0 {
		t.Errorf("hcinit check with 1100 silent foreign connections open: exit %d after %s (%s)",
			code, time.Since(start).Round(time.Millisecond), strings.TrimSpace(reply))
	}
	if pr, err := procfs.Stat(silent.Process.Pid); err != nil || pr.State == 'Z' {
		t.Errorf("the silent clients were gone before the check ended")
	}
}

func copyFile(from, to string, mode os.FileMode) error {
	in, err := os.Open(from)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(to, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, mode)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}
