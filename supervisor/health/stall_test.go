package health

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
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
			n.waited = markWaits() // as armLocked does before the deadline
			n.mu.Unlock()
			o := n.probe(now)
			if miss := o.code != 0; miss != tc.miss || miss != o.fatal {
				t.Errorf("probe after %s silent: code %d fatal %v %q; want a miss: %v", tc.silent, o.code, o.fatal, o.output, tc.miss)
			}
			if !tc.miss && tc.silent > time.Second {
				// The window starts again at the stall's end, not never.
				// (The look stallLimit before the new deadline fired in
				// time, as the timer does when hcinit runs.)
				n.mu.Lock()
				n.due = n.deadlineLocked()
				n.mu.Unlock()
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
	n.waited = markWaits()
	n.mu.Unlock()
	n.expire()
	n.mu.Lock()
	missed := n.missed
	n.mu.Unlock()
	if missed || fired != 0 {
		t.Errorf("expire 4 s late: missed %v, fired %d; want a new window", missed, fired)
	}
}

// After a freeze, whichever comes first restarts the window and says so: the
// overdue timer, or a WATCHDOG=1 the child sent just before it was frozen,
// still in hcinit's socket and read at the thaw. Before, such a message
// restarted the window silently, and the freeze left no trace in the log
// (TestStallFrozen failed on that in CI, 2 of 10 runs here).
func TestWatchdogStallMessage(t *testing.T) {
	for _, tc := range []struct {
		name string
		read func(n *notifier, now time.Time)
	}{
		{"message", func(n *notifier, now time.Time) { n.handle([]byte("WATCHDOG=1"), now) }},
		{"probe", func(n *notifier, now time.Time) { n.probe(now) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out bytes.Buffer
			log := logrus.New()
			log.SetOutput(&out)
			fired := 0
			n := &notifier{d: notifyDeps{ctx: context.Background(), log: logrus.NewEntry(log),
				allowed: func(int) bool { return true }, pid: func() int { return 0 },
				kick: func() {}, fired: func() { fired++ }, mainPID: func(int) {}},
				change: make(chan struct{}), watchdog: time.Second}
			t.Cleanup(n.stop)
			now := time.Now()
			n.mu.Lock()
			n.everReady, n.ready = true, true
			n.readyAt, n.lastWatchdog = now.Add(-10*time.Second), now.Add(-2500*time.Millisecond)
			n.waited = markWaits()
			n.mu.Unlock()
			tc.read(n, now)
			n.mu.Lock()
			missed := n.missed
			n.mu.Unlock()
			if missed || fired != 0 {
				t.Errorf("missed %v, fired %d after a freeze", missed, fired)
			}
			if got := bytes.Count(out.Bytes(), []byte("watchdog window restarted")); got != 1 {
				t.Errorf("%d lines 'watchdog window restarted', want 1; log:\n%s", got, out.String())
			}
		})
	}
}

// A failed run that began long after its time (its timer fired late: hcinit
// was frozen, as a file heartbeat "ages" under docker pause) is void and not
// recorded; one of a stall under stallCertain only when the run before was
// not void, so load cannot hide a failure for more than one run.
func TestRunAfterStallVoid(t *testing.T) {
	m := bare(t, Config{})
	setChild(m, os.Getpid())
	sp, err := ParseSpec("file=" + filepath.Join(t.TempDir(), "missing") + ",retries=1")
	if err != nil {
		t.Fatal(err)
	}
	c, err := m.newCheck(sp)
	if err != nil {
		t.Fatal(err)
	}
	for i, step := range []struct {
		late     time.Duration
		recorded int // results recorded after the run
	}{
		{0, 1},                  // on time: counts
		{2 * time.Second, 1},    // frozen 2 s: void
		{2 * time.Second, 1},    // and again: a freeze every time
		{stallLimit + 400e6, 2}, // a short stall right after a void: counts
		{stallLimit + 400e6, 2}, // one after a counted run: void
		{stallLimit - 100e6, 3}, // under the limit: counts
	} {
		m.run(c, step.late)
		m.mu.Lock()
		n, status := len(c.st.log), c.st.status
		m.mu.Unlock()
		if n != step.recorded {
			t.Errorf("run %d (%s late): %d results recorded, want %d", i+1, step.late, n, step.recorded)
		}
		if status != StatusUnhealthy {
			t.Errorf("run %d: status %s, want unhealthy from the first run on", i+1, status)
		}
	}
}

// The mark the check loop takes once per run, and the watchdog at most once
// a watchdog period (make bench).
func BenchmarkMarkWaits(b *testing.B) {
	if _, ok := runDelay(); !ok {
		b.Skip("no /proc/self/task/*/schedstat")
	}
	for b.Loop() {
		markWaits()
	}
}

func TestSchedstatRunDelay(t *testing.T) {
	for in, want := range map[string]time.Duration{
		"281609655 96870234 1224\n": 96870234,
		"0 0 1\n":                   0,
		"0 0 0\n":                   0,
		"12 ":                       -1,
		"":                          -1,
		"12 x 3\n":                  -1,
		"12 99999999999999999999 3": -1,
	} {
		got, ok := schedstatRunDelay([]byte(in))
		if !ok {
			got = -1
		}
		if got != want {
			t.Errorf("%q: %d, want %d", in, got, want)
		}
	}
	if d, ok := runDelay(); ok && d < 0 {
		t.Errorf("runDelay %d", d)
	}
}
