package main

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/wisdom-oss/go-healthcheck/supervisor/health"
)

// TestRestartHistory: `hcinit status` (JSON and table) tells how often the
// child was restarted, how and when it last ended, how long the current one
// has been up, and when each check last changed state.
func TestRestartHistory(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	sock := filepath.Join(dir, "hc.sock")
	flag := filepath.Join(dir, "started-once")
	begin := time.Now()
	_, err := spawn(t, []string{hcinitBin(), "--socket", sock, "--restart", "on-failure", "--restart-delay", "100ms",
		"--check", "process,interval=200ms", "--", "sh", "-c",
		"if [ -e " + flag + " ]; then exec sleep 120; fi; touch " + flag + "; exit 3"})
	if err != nil {
		t.Fatal(err)
	}
	st, err := waitStatus(sock, 15*time.Second, "restarted child, healthy", func(st health.Status) bool {
		return st.Restarts == 1 && st.Overall == health.StatusHealthy
	})
	if err != nil {
		t.Fatal(err)
	}
	e := st.LastExit
	if e == nil || e.Code != 3 || e.Reason != "exited" || e.Time.Before(begin) || e.Time.After(time.Now()) {
		t.Errorf("last exit %+v, want code 3, reason exited, a time since the test began", e)
	}
	if e != nil && !st.ChildStarted.After(e.Time) {
		t.Errorf("child started %v, not after its predecessor ended (%v)", st.ChildStarted, e.Time)
	}
	if up := time.Since(st.ChildStarted).Seconds(); st.ChildUptime < 0 || st.ChildUptime > up+1 { // 0: healthy at once (first probe at once)
		t.Errorf("child uptime %vs; started %.3fs ago", st.ChildUptime, up)
	}
	c := st.Checks[0]
	if c.LastChange.Before(st.ChildStarted) || c.LastChange.After(time.Now()) || c.Runs < 1 || c.Failures != 0 {
		t.Errorf("check: last change %v (child started %v), runs %d, failures %d", c.LastChange, st.ChildStarted, c.Runs, c.Failures)
	}

	out, code, err := hcinitClient("status", "--socket", sock)
	if err != nil || code != 0 {
		t.Fatalf("hcinit status: %q, exit %d, %v", out, code, err)
	}
	for _, want := range []string{"restarts: 1 (last exit: code 3, exited, ", ", up ", "SINCE"} {
		if !strings.Contains(out, want) {
			t.Errorf("hcinit status lacks %q:\n%s", want, out)
		}
	}
}

// TestRestartHistoryUnhealthy: a child restarted for failing its live check
// is recorded as such, with the stop signal's exit code.
func TestRestartHistoryUnhealthy(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	sock := filepath.Join(dir, "hc.sock")
	_, err := spawn(t, []string{hcinitBin(), "--socket", sock, "--on-unhealthy", "restart", "--restart-delay", "100ms",
		"--check", "exec=/bin/false,interval=300ms,retries=1", "--", "sleep", "120"})
	if err != nil {
		t.Fatal(err)
	}
	st, err := waitStatus(sock, 15*time.Second, "a restart for unhealthiness", func(st health.Status) bool {
		return st.Restarts >= 1 && st.LastExit != nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if e := st.LastExit; e.Reason != "unhealthy" || e.Code != 128+15 {
		t.Errorf("last exit %+v, want reason unhealthy, code 143 (SIGTERM)", e)
	}
}
