package main

// The v1.0.x name file (.hc-socket) and what it may point at.

import (
	"path/filepath"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// TestNameFileFIFO: a child replaces .hc-socket in hcinit's working directory
// with a FIFO. hcinit reads that file (to adopt the child's socket, and before
// removing its own at exit); opening a FIFO blocked it for ever, and TERM never
// ended it.
func TestNameFileFIFO(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	p, err := spawn(t, []string{hcinitBin(), "--log-level", "debug", "--socket", filepath.Join(dir, "hc.sock"), "--",
		// Renamed over: hcinit writes its own .hc-socket watchDelay after the
		// start, and an rm && mkfifo straddling that failed with EEXIST.
		"sh", "-c", "mkfifo .hc-socket.new && mv -f .hc-socket.new .hc-socket && exec sigprint -exit SIGTERM -code 5"})
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
