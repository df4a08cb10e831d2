package main

import (
	"path/filepath"
	"testing"

	"golang.org/x/sys/unix"
)

// TestMainPIDSelfRefused: MAINPID= naming hcinit itself is refused, as
// systemd refuses a new main PID that "is the manager" (src/core/service.c,
// service_is_suitable_main_pid). The old code adopted it: hcinit supervised
// itself, forwarded every signal to itself in a loop, and never exited after
// the real child did.
func TestMainPIDSelfRefused(t *testing.T) {
	t.Parallel()
	p, err := spawn(t, []string{hcinitBin(), "--socket", filepath.Join(t.TempDir(), "hc.sock"), "--check", "notify", "--",
		"sdnotify", "READY=1", "MAINPID=$PPID", "forever"})
	if err != nil {
		t.Fatal(err)
	}
	// Both the old and the new code log the MAINPID= they read.
	if err := p.waitStderr("MAINPID=", 1, readyWait); err != nil {
		t.Fatal(err)
	}
	// HUP goes to the child (a Go program: it dies of it, 128+1), not to
	// hcinit itself over and over.
	if err := p.signal(unix.SIGHUP); err != nil {
		t.Fatal(err)
	}
	if err := p.expectExit(exitWait, 128+1); err != nil {
		t.Fatalf("hcinit after its child exited: %v%s", err, p.stderrNote())
	}
}
