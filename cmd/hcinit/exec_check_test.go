package main

// Exec checks: their processes and how they end.

import (
	"path/filepath"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

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
