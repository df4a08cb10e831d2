package health

import (
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/wisdom-oss/go-healthcheck/supervisor/reaper"
)

const sigstop = unix.SIGSTOP

// startReaper runs a reaper for one test and makes the test process a child
// subreaper, so orphaned grandchildren come back to be reaped. While it runs,
// nothing else in the test may wait for a child.
func startReaper(t *testing.T) *reaper.Reaper {
	t.Helper()
	if err := unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0); err != nil {
		t.Fatalf("become subreaper: %v", err)
	}
	r := reaper.New(nil)
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() { r.Run(stop); close(done) }()
	t.Cleanup(func() {
		close(stop)
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			t.Error("reaper did not stop")
		}
	})
	return r
}
