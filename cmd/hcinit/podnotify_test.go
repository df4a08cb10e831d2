package main

import (
	"testing"

	"github.com/wisdom-oss/go-healthcheck/supervisor/health"
)

// Two PID-1 hcinits sharing a network namespace with no writable runtime
// directory (a read-only pod whose /dev/shm/hcinit belongs to another
// container's user) both fall back to an abstract notify socket named after
// their pid, 1: the second must take another name, not fail. Before, it could
// not bind @hcinit-notify-1 and, with a notify check, exited 2 before
// starting its child (the kubelet: CrashLoopBackOff).
func TestNotifyAbstractNotTakenFromAnotherPID1(t *testing.T) {
	t.Parallel()
	a, err := startBox(t, nil, true, "A", "/run/bin/hcinit", "--interval", "200ms",
		"--", "/run/bin/sigprint", "-name", "A")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.statusIn(readyWait, "A answers", func(st health.Status) bool { return len(st.Checks) > 0 }); err != nil {
		t.Fatal(err)
	}
	b, err := startBox(t, a, true, "B", "/run/bin/hcinit", "--interval", "200ms", "--check", "notify",
		"--", "/run/bin/sigprint", "-name", "B")
	if err != nil {
		t.Fatalf("B with a notify check beside A: %v", err)
	}
	_, err = b.statusIn(readyWait, "B's own notify check", func(st health.Status) bool {
		return len(st.Checks) > 0 && st.Checks[0].Kind == health.KindNotify
	})
	if err != nil {
		t.Fatal(err)
	}
}
