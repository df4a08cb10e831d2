package main

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/wisdom-oss/go-healthcheck/supervisor/health"
)

// TestSignalCheckNeverKillsTheChild: a signal check sends its signal only to
// a child that catches it. The first probe runs at once, before an
// application has installed its handler, and USR1's default action ends the
// process: the old code killed the child with its own health check (hcinit
// exited 138). Now the run fails without sending ("does not catch SIGUSR1"),
// and once the handler is in, the check passes.
func TestSignalCheckNeverKillsTheChild(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	sock := filepath.Join(dir, "hc.sock")
	beat := filepath.Join(dir, "beat")
	p, err := spawn(t, []string{hcinitBin(), "--socket", sock, "--interval", "300ms", "--retries", "100",
		"--check", "signal=USR1,heartbeat=" + beat + ",timeout=2s",
		"--", "sh", "-c", `sleep 1; trap "touch '` + beat + `'" USR1; while :; do sleep 0.1; done`})
	if err != nil {
		t.Fatal(err)
	}
	st, err := waitStatus(sock, 15*time.Second, "signal check healthy", func(st health.Status) bool {
		return st.Overall == health.StatusHealthy
	})
	if err != nil {
		t.Fatalf("%v; hcinit exited: %v; stderr:\n%s", err, p.exited(), p.stderr())
	}
	if p.exited() {
		t.Fatal("hcinit exited")
	}
	found := false
	for _, r := range st.Checks[0].Log {
		found = found || r.ExitCode != 0 && strings.Contains(r.Output, "does not catch SIGUSR1")
	}
	if !found {
		t.Errorf("no failed run saying the child does not catch SIGUSR1 yet: %+v", st.Checks[0].Log)
	}
}
