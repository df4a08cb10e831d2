package main

// Restarts: --on-unhealthy restart, its grace and its backoff.

import (
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

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
