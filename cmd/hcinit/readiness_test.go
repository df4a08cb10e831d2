package main

// Readiness: level=ready checks and what they never do.

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/wisdom-oss/go-healthcheck/supervisor/health"
)

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
