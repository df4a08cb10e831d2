package main

import (
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/wisdom-oss/go-healthcheck/supervisor/health"
)

// hcinit below hcinit keeps Kubernetes' two questions apart: the outer
// hcinit (the container's init, which kubelet's exec probes reach) answers
// --live and --ready as the inner one, where the user's checks are. A
// readiness-only check that fails in the inner takes the pod out of the
// Service, never makes kubelet's liveness probe restart the container; an
// inner still in its --start-period is live, as it says itself.
func TestNestedHcinitKeepsLiveAndReadyApart(t *testing.T) {
	for _, tc := range []struct {
		name  string
		inner []string // the inner hcinit's checks
		want  string   // what `hcinit check` on the outer names
	}{
		{"ready-only check failing", []string{"--check", "exec=/bin/false,name=db,level=ready"}, "db"},
		{"start period", []string{"--start-period", "60s", "--check", "exec=/bin/false,name=app"}, "app"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			outer := fmt.Sprintf("@hcinit-review-outer-%d-%d", os.Getpid(), len(tc.name))
			inner := fmt.Sprintf("@hcinit-review-inner-%d-%d", os.Getpid(), len(tc.name))
			argv := []string{hcinitBin(), "--socket", outer, "--interval", "200ms", "--retries", "2", "--",
				hcinitBin(), "--socket", inner, "--interval", "200ms", "--retries", "1"}
			argv = append(append(argv, tc.inner...), "--", "/bin/sleep", "120")
			p, err := spawn(t, argv)
			if err != nil {
				t.Fatal(err)
			}
			// The inner hcinit's own answers, the reference.
			if _, err := waitStatus(inner, 20*time.Second, "the inner hcinit's check has run", func(st health.Status) bool {
				return len(st.Checks) > 0 && st.Checks[len(st.Checks)-1].Runs >= 2
			}); err != nil {
				t.Fatalf("%v%s", err, p.stderrNote())
			}
			if !liveNotReady(t, inner, "the inner hcinit") {
				t.FailNow()
			}
			// The outer one must say the inner one is not healthy...
			deadline := time.Now().Add(20 * time.Second)
			for {
				out, code, err := hcinitClient("check", "--socket", outer, "--timeout", "3s")
				if err != nil {
					t.Fatal(err)
				}
				if code == 1 && strings.Contains(out, tc.want) {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("hcinit check on the outer hcinit: exit %d %q, want exit 1 naming %q (the inner's check)%s", code, out, tc.want, p.stderrNote())
				}
				time.Sleep(100 * time.Millisecond)
			}
			// ... and, once it has asked the inner one more than its
			// retries, still answer both questions as the inner one does.
			if _, err := waitStatus(outer, 20*time.Second, "the outer hcinit has asked the inner one 4 times", func(st health.Status) bool {
				n := uint64(0)
				for _, c := range st.Checks {
					if c.Kind == "delegate" {
						n = max(n, c.Runs)
					}
				}
				return n >= 4
			}); err != nil {
				t.Fatalf("%v%s", err, p.stderrNote())
			}
			liveNotReady(t, outer, "the outer hcinit (as the inner)")
		})
	}
}

// The inner hcinit's answer is a verdict made after its own retries: the
// outer one counts it at once, never after retries of its own on top (here
// 1000: the outer hcinit would report the inner one healthy for ever).
func TestNestedHcinitVerdictCountsAtOnce(t *testing.T) {
	outer := fmt.Sprintf("@hcinit-review-outer-%d-v", os.Getpid())
	inner := fmt.Sprintf("@hcinit-review-inner-%d-v", os.Getpid())
	flag := t.TempDir() + "/up"
	if err := os.WriteFile(flag, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	p, err := spawn(t, []string{hcinitBin(), "--socket", outer, "--interval", "200ms", "--retries", "1000", "--",
		hcinitBin(), "--socket", inner, "--interval", "200ms", "--retries", "1",
		"--check", "exec=/bin/test -f " + flag + ",name=app", "--", "/bin/sleep", "120"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := waitStatus(outer, 20*time.Second, "the outer hcinit healthy, asking the inner one", func(st health.Status) bool {
		n := 0
		for _, c := range st.Checks {
			if c.Kind == "delegate" {
				n++
			}
		}
		return n > 0 && st.Overall == health.StatusHealthy
	}); err != nil {
		t.Fatalf("%v%s", err, p.stderrNote())
	}
	os.Remove(flag)
	for _, flag := range []string{"", "--live", "--ready"} {
		deadline := time.Now().Add(20 * time.Second)
		for {
			args := []string{"check", "--socket", outer, "--timeout", "3s"}
			if flag != "" {
				args = append(args, flag)
			}
			out, code, err := hcinitClient(args...)
			if err != nil {
				t.Fatal(err)
			}
			if code == 1 && strings.Contains(out, "app") {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("hcinit check %s on the outer hcinit: exit %d %q 20 s after the inner one's check failed, want exit 1 naming it%s", flag, code, out, p.stderrNote())
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
}

// liveNotReady reports whether hcinit at sock answers --live with 0 and
// --ready with 1, as an app that is alive but not ready; errors name who.
func liveNotReady(t *testing.T, sock, who string) bool {
	t.Helper()
	ok := true
	for _, q := range []struct {
		flag string
		want int
	}{{"--live", 0}, {"--ready", 1}} {
		if out, code, err := hcinitClient("check", q.flag, "--socket", sock, "--timeout", "3s"); err != nil || code != q.want {
			t.Errorf("%s: check %s: exit %d %q (%v), want %d", who, q.flag, code, out, err, q.want)
			ok = false
		}
	}
	return ok
}
