package health

import (
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sirupsen/logrus"
)

// TestExtendTo: EXTEND_TIMEOUT_USEC's value as systemd reads it: an unsigned
// count of µs from the message; 0, infinity and garbage ask nothing; a huge
// value is a long time, never an overflow into the past.
func TestExtendTo(t *testing.T) {
	now := time.Now()
	for _, tc := range []struct {
		v    string
		want time.Duration // 0: none
	}{
		{"5000000", 5 * time.Second},
		{"1", time.Microsecond},
		{"0", 0},
		{"18446744073709551615", 0}, // USEC_INFINITY
		{"-5", 0},
		{"", 0},
		{"5s", 0},
		{" 5", 0},
		{"18446744073709551614", -1}, // clamped: later than a century
	} {
		got := extendTo(tc.v, now)
		switch {
		case tc.want == 0 && !got.IsZero():
			t.Errorf("%q: extends to %v, want nothing", tc.v, got)
		case tc.want > 0 && !got.Equal(now.Add(tc.want)):
			t.Errorf("%q: extends to now+%v, want now+%v", tc.v, got.Sub(now), tc.want)
		case tc.want < 0 && got.Sub(now) < 100*365*24*time.Hour:
			t.Errorf("%q: extends to now+%v, want more than a century", tc.v, got.Sub(now))
		}
	}
}

// TestExtendStopFromMainOnly: EXTEND_TIMEOUT_USEC= reaches the child actor
// (Config.ExtendStop) as the time it extends to, from the main process; a
// process that is not the main one is refused, as for every key
// (--notify-access main).
func TestExtendStopFromMainOnly(t *testing.T) {
	got := make(chan time.Time, 4)
	logs := &logWatch{}
	log := logrus.New()
	log.SetOutput(logs)
	h := start(t, Config{ExtendStop: func(until time.Time) { got <- until }, Log: log}, nil)
	addr := envValue(h.ChildEnv(), "NOTIFY_SOCKET")
	h.ChildStarted(os.Getppid()) // the main process is someone else
	sdNotify(t, addr, "EXTEND_TIMEOUT_USEC=7000000")
	waitFor(t, "the refusal", readWait, func() bool { return logs.has("ignoring notify message") })
	h.ChildStarted(os.Getpid()) // now this test is
	before := time.Now()
	sdNotify(t, addr, "EXTEND_TIMEOUT_USEC=7000000")
	select {
	case until := <-got:
		if d := until.Sub(before); d < 7*time.Second || d > 7*time.Second+readWait {
			t.Errorf("extends to %v after the message, want 7s", d)
		}
	case <-time.After(readWait):
		t.Fatal("EXTEND_TIMEOUT_USEC from the main process did not reach ExtendStop")
	}
	select {
	case until := <-got:
		t.Errorf("a second extension (to %v): the one from another process was taken", until)
	default:
	}
}

// logWatch is a logger's output, kept to look for a line.
type logWatch struct {
	mu  sync.Mutex
	buf strings.Builder
}

func (w *logWatch) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.Write(p)
}

func (w *logWatch) has(s string) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return strings.Contains(w.buf.String(), s)
}

// readWait bounds the wait for a datagram to be read and handled.
const readWait = 5 * time.Second

// TestExtendTimeoutHoldsTheWatchdog: EXTEND_TIMEOUT_USEC=N holds the
// watchdog's verdict off until N after the message, as systemd's
// service_extend_timeout extends the watchdog timer with the state's; the
// next WATCHDOG=1 starts the usual window again. The old code let a child
// that asked for 5 s expire its 300 ms watchdog.
func TestExtendTimeoutHoldsTheWatchdog(t *testing.T) {
	h := start(t, Config{Specs: []string{"notify,interval=20ms"}, Watchdog: 300 * time.Millisecond}, nil)
	addr := envValue(h.ChildEnv(), "NOTIFY_SOCKET")
	h.ChildStarted(os.Getpid())
	sdNotify(t, addr, "READY=1\nWATCHDOG=1")
	waitFor(t, "healthy", readWait, func() bool { return h.Status().Overall == StatusHealthy })
	sent := time.Now()
	sdNotify(t, addr, "EXTEND_TIMEOUT_USEC=5000000")
	// Well past the watchdog, well inside what was asked for: no verdict.
	time.Sleep(1500 * time.Millisecond)
	if st := h.Status(); st.Overall != StatusHealthy {
		t.Fatalf("1.5 s into a 5 s extension: %s (%s)", st.Overall, st.Reason)
	}
	waitFor(t, "the watchdog's verdict after the extension", 10*time.Second, func() bool {
		return h.Status().Overall == StatusUnhealthy
	})
	if d := time.Since(sent); d < 5*time.Second {
		t.Errorf("watchdog expired %v after EXTEND_TIMEOUT_USEC=5000000", d)
	}
}
