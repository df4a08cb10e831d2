package health

import (
	"context"
	"testing"
	"time"

	"github.com/sirupsen/logrus"
)

// A watchdog deadline that passed long before its timer fired is a stall of
// hcinit (docker pause froze it with the child), not a miss: the probe and
// the timer give the child a new window; a deadline just passed is a miss,
// and after STOPPING=1 (no timer armed) lateness proves nothing. The real
// freeze is TestDockerAuditPause (e2e).
func TestWatchdogStall(t *testing.T) {
	fired := 0
	newN := func() *notifier {
		n := &notifier{d: notifyDeps{ctx: context.Background(), log: logrus.NewEntry(logrus.New()),
			allowed: func(int) bool { return true }, pid: func() int { return 0 },
			kick: func() {}, fired: func() { fired++ }, mainPID: func(int) {}},
			change: make(chan struct{}), watchdog: time.Second}
		t.Cleanup(n.stop)
		return n
	}
	now := time.Now()
	for _, tc := range []struct {
		name    string
		silent  time.Duration // since the last WATCHDOG=1
		stopped bool
		miss    bool
	}{
		{"in time", 500 * time.Millisecond, false, false},
		{"just due", time.Second + 50*time.Millisecond, false, true},
		{"frozen across the deadline", 5 * time.Second, false, false},
		{"stopping, frozen or not", 5 * time.Second, true, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			n := newN()
			n.mu.Lock()
			n.everReady, n.ready, n.stopped = true, true, tc.stopped
			n.readyAt, n.lastWatchdog = now.Add(-tc.silent-time.Second), now.Add(-tc.silent)
			n.mu.Unlock()
			o := n.probe(now)
			if miss := o.code != 0; miss != tc.miss || miss != o.fatal {
				t.Errorf("probe after %s silent: code %d fatal %v %q; want a miss: %v", tc.silent, o.code, o.fatal, o.output, tc.miss)
			}
			if !tc.miss && tc.silent > time.Second {
				// The window starts again at the stall's end, not never.
				if o := n.probe(now.Add(time.Second + stallLimit/2)); o.code == 0 {
					t.Errorf("a whole watchdog after the stall, still %q", o.output)
				}
			}
		})
	}
	// The timer's side: expire at once on a long-past deadline restarts the
	// window and fires nothing.
	n := newN()
	n.mu.Lock()
	n.everReady, n.ready = true, true
	n.readyAt, n.lastWatchdog = time.Now().Add(-10*time.Second), time.Now().Add(-5*time.Second)
	n.mu.Unlock()
	n.expire()
	n.mu.Lock()
	missed := n.missed
	n.mu.Unlock()
	if missed || fired != 0 {
		t.Errorf("expire 4 s late: missed %v, fired %d; want a new window", missed, fired)
	}
}
