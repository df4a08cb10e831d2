package health

import (
	"sync"
	"time"
)

// A freeze is not a failure. `docker pause` (the cgroup freezer), and a
// SIGSTOP of hcinit with its child, stop hcinit and the application together;
// the monotonic clock runs on. Thawed, every timer hcinit armed fires at once:
// a check whose timeout "elapsed" while frozen, a file that "aged" while its
// writer was frozen, a watchdog the child "missed" while it could not run.
// None of that says anything about the application, and Docker's own health
// monitor does not count it: it stops while the container is paused and
// starts over with a full interval after unpause (moby daemon/health.go
// updateHealthMonitor: wantRunning needs !Paused).
//
// hcinit cannot see a freeze coming, nor read one afterwards (frozen, it
// reads nothing; thawed, the freezer says "thawed"). It sees its effect: a
// timer that fires long after it was due, a run during which hcinit itself
// went unobserved for long. Either means hcinit was not running; a failure
// it then recorded is void (the next run, one interval later, counts, as
// Docker's first probe after unpause does), and a watchdog window starts
// again. Under load, Go's timers are late by milliseconds, rarely by 100 ms;
// a false alarm costs one interval's delay of a verdict, never a false one.
// A stall shorter than stallCertain voids a failure only when the run before
// was not void, so a machine too loaded to keep hcinit's timers cannot hide
// a failing application for longer than one interval.

// stallLimit is how late a timer may fire, and how long hcinit may go
// unobserved during a run, before hcinit concludes it was not running.
const stallLimit = 250 * time.Millisecond

// stallCertain is a stall no load explains: a freeze, every time.
const stallCertain = time.Second

// stallTick is how often a run longer than it observes that hcinit runs.
const stallTick = 100 * time.Millisecond

// awake watches one check's runs (which never overlap) for a stall: from
// begin to end it observes the clock every stallTick, and end returns the
// longest time between two observations. A run shorter than stallTick costs
// one timer reset and nothing else.
type awake struct {
	mu   sync.Mutex
	t    *time.Timer
	on   bool
	last time.Time
	gap  time.Duration
}

func (a *awake) begin() {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.on, a.last, a.gap = true, time.Now(), 0
	if a.t == nil {
		a.t = time.AfterFunc(stallTick, a.tick)
	} else {
		a.t.Reset(stallTick)
	}
}

func (a *awake) tick() {
	a.mu.Lock()
	defer a.mu.Unlock()
	if !a.on {
		return
	}
	a.observeLocked(time.Now())
	a.t.Reset(stallTick)
}

func (a *awake) observeLocked(now time.Time) {
	a.gap = max(a.gap, now.Sub(a.last))
	a.last = now
}

// end stops watching and returns the longest unobserved stretch of the run.
func (a *awake) end() time.Duration {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.on = false
	if a.t != nil {
		a.t.Stop()
	}
	a.observeLocked(time.Now())
	return a.gap
}
