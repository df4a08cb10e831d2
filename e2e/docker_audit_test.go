package e2e

// Outside-in audit of hcinit on a real Docker engine: scenarios judged by
// Docker's semantics (moby daemon/health.go, kill/stop) and by what tini does
// in the same place. Each test asserts what Docker reports (inspect's State
// and Health, exit codes) and what the child saw, not hcinit's log.

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"
)

// checkLog is `hcinit check --json` with each check's results.
type checkLog struct {
	Status string `json:"status"`
	Checks []struct {
		Name          string `json:"name"`
		FailingStreak int    `json:"failing_streak"`
		Log           []struct {
			Start    time.Time `json:"start"`
			ExitCode int       `json:"exit_code"`
			Output   string    `json:"output"`
		} `json:"log"`
	} `json:"checks"`
}

// `docker pause` freezes hcinit and the child together. Docker's own health
// monitor stops while a container is paused and starts over after unpause
// (moby daemon/health.go updateHealthMonitor), so a pause never counts
// against a container. hcinit's timers fire late on thaw: a watchdog the
// child "missed" while frozen, an exec check whose timeout "elapsed" while
// frozen, must not count either — with --on-unhealthy exit and --retries 1
// one such false failure ends the container (exit 143), and with
// --watchdog-signal it would kill the app. Each case pauses three times, for
// longer than the watchdog or timeout, and after each unpause Docker must
// see the same container running, healthy, with no failed probe.
func TestDockerAuditPause(t *testing.T) {
	h := need(t)
	t.Parallel()
	for _, tc := range []struct {
		name  string
		pause time.Duration
		args  []string
	}{
		// The child sends WATCHDOG=1 every 200 ms; the watchdog is 1 s.
		// (A start period: the first run, at once, precedes READY=1.)
		{"watchdog", 3 * time.Second, []string{"--watchdog", "1s", "--check", "notify", "--retries", "1", "--on-unhealthy", "exit",
			"--start-period", "20s", "--start-interval", "200ms",
			"--", "/sdnotify", "READY=1", "every=200ms:WATCHDOG=1", "forever"}},
		// A run takes 2 s of a 4 s timeout, 200 ms apart: a 5 s pause
		// nearly always freezes one in flight.
		{"exec-timeout", 5 * time.Second, []string{"--interval", "200ms", "--timeout", "4s", "--retries", "1", "--on-unhealthy", "exit",
			"--check", "exec=/orphaner -orphan -linger 2s", "--", "/sleeper"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c := h.start(t, []string{"--network", "none"}, h.tools, tc.args...)
			c.waitHealth("healthy", 30*time.Second)
			healthy := time.Now()
			started := c.inspect().State.StartedAt
			for i := 1; i <= 3; i++ {
				if _, err := docker("pause", c.name); err != nil {
					t.Fatal(err)
				}
				time.Sleep(tc.pause) // the freeze under test
				if _, err := docker("unpause", c.name); err != nil {
					t.Fatal(err)
				}
				thawed := time.Now()
				// Watch for 4 s — hcinit's overdue timers fire at once,
				// Docker probes again 1 s after unpause — that the
				// container neither stops nor restarts, then read Docker's
				// verdict on the probes it ran since the unpause.
				var probes int
				waitFor(t, 30*time.Second, fmt.Sprintf("pause %d: 4 s running after unpause and a probe of Docker's", i), func() (bool, string) {
					in := c.inspect()
					st := in.State
					if !st.Running || !st.StartedAt.Equal(started) {
						t.Fatalf("pause %d: the container stopped or restarted (running=%v exit=%d started %s, first %s): the freeze counted as a failure",
							i, st.Running, st.ExitCode, st.StartedAt.Format(time.StampMilli), started.Format(time.StampMilli))
					}
					probes = 0
					for _, p := range st.Health.Log {
						if p.Start.Before(thawed) {
							continue
						}
						probes++
						if p.ExitCode != 0 {
							t.Fatalf("pause %d: Docker's probe at %s after unpause: exit %d %q", i, p.Start.Format(time.StampMilli), p.ExitCode, p.Output)
						}
					}
					return time.Since(thawed) > 4*time.Second && probes > 0, fmt.Sprintf("%d probes since unpause, health %s", probes, st.Health.Status)
				})
				if st := c.health(); st != "healthy" {
					t.Errorf("pause %d: health %q after unpause, want healthy", i, st)
				}
			}
			// hcinit's own record: no failed result since it was healthy.
			out, _, code := c.exec(nil, "/hcinit", "check", "--json")
			var st checkLog
			if err := json.Unmarshal([]byte(out), &st); err != nil || code != 0 {
				t.Fatalf("hcinit check --json: exit %d, %v\n%s", code, err, out)
			}
			for _, ck := range st.Checks {
				for _, r := range ck.Log {
					if r.ExitCode != 0 && r.Start.After(healthy) {
						t.Errorf("check %s recorded a failure at %s: exit %d %q", ck.Name, r.Start.Format(time.StampMilli), r.ExitCode, strings.TrimSpace(r.Output))
					}
				}
			}
		})
	}
}

// Users, capabilities and file systems: the container as a user without a
// home or a writable working directory, a read-only root with only /run on a
// tmpfs, every capability dropped and no-new-privileges. Each gets healthy in
// Docker's eyes; `hcinit check` answers the container's user and root and
// refuses another user with exit 1 (never 2, which Docker reserves).
func TestDockerAuditUsers(t *testing.T) {
	h := need(t)
	t.Parallel()
	app := []string{"--interval", "500ms", "--check", "http://127.0.0.1:8080/health", "--", "/app"}
	for _, tc := range []struct {
		name string
		opts []string
		user string // the container's user, "" for root
	}{
		{"user-1000", []string{"--user", "1000:1000"}, "1000"},
		{"user-workdir-not-writable", []string{"--user", "1000:1000", "--read-only", "-w", "/"}, "1000"},
		{"read-only-tmpfs-run", []string{"--read-only", "--tmpfs", "/run"}, ""},
		{"cap-drop-all-no-new-privileges", []string{"--cap-drop", "ALL", "--security-opt", "no-new-privileges"}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c := h.start(t, append([]string{"--network", "none"}, tc.opts...), h.tools, app...)
			c.waitHealth("healthy", 30*time.Second)
			c.mustExec(0, "/hcinit", "check")
			for _, u := range []string{"0", tc.user} {
				if u == "" {
					continue
				}
				if out, errOut, code := c.exec([]string{"-u", u, "-w", "/"}, "/hcinit", "check"); code != 0 {
					t.Errorf("docker exec -u %s hcinit check: exit %d %s %s", u, code, out, errOut)
				}
			}
			out, errOut, code := c.exec([]string{"-u", "2000"}, "/hcinit", "check")
			if code != 1 || !strings.Contains(out+errOut, "permission denied") {
				t.Errorf("docker exec -u 2000 hcinit check: exit %d %q %q; want 1, permission denied", code, out, errOut)
			}
		})
	}
	// hcinit --user needs CAP_SETUID and CAP_SETGID for the switch; without
	// them the kernel's EPERM used to read as the exec's ("exec /app:
	// operation not permitted"). Docker reports 126 (cannot execute), and the
	// message names what is missing and what to do.
	t.Run("cap-drop-all-hcinit-user", func(t *testing.T) {
		t.Parallel()
		c := h.start(t, []string{"--network", "none", "--cap-drop", "ALL"}, h.tools, "--user", "65534", "--", "/sleeper")
		waitFor(t, 30*time.Second, "the container to exit", func() (bool, string) {
			in := c.inspect()
			return !in.State.Running, in.State.Status
		})
		if in := c.inspect(); in.State.ExitCode != 126 {
			t.Errorf("exit %d, want 126", in.State.ExitCode)
		}
		if logs := c.logs(); !strings.Contains(logs, "CAP_SETUID") || !strings.Contains(logs, "--cap-add SETUID") {
			t.Errorf("the error does not say CAP_SETUID is missing and how to add it:\n%s", logs)
		}
	})
}
