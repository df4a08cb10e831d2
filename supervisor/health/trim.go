package health

import (
	"sync"
	"time"
)

// After a burst of connections (a storm of probes, a flood of silent
// clients), the goroutines, buffers and stacks it needed are garbage, but no
// allocation follows to start a collection and the runtime keeps the pages
// for minutes. Once the connections are all answered and the server has been
// idle for trimDelay, Config.Trim runs (hcinit hands the memory back then).
// It is event-driven: no timer runs while nothing happens, and an ordinary
// trickle of probes never triggers it.
const (
	trimDelay    = time.Second
	trimServed   = 256 // connections since the last trim …
	trimParallel = 32  // … or at once, to count as a burst
)

type trimmer struct {
	mu       sync.Mutex
	fn       func()
	inFlight int
	peak     int // most in flight since the last trim
	served   int // since the last trim
	timer    *time.Timer
	idleGen  int // bumped by every connection, so a stale timer does nothing
}

// connStarted and connDone bracket every connection the servers handle.
func (t *trimmer) connStarted() {
	if t.fn == nil {
		return
	}
	t.mu.Lock()
	t.inFlight++
	t.served++
	t.peak = max(t.peak, t.inFlight)
	t.idleGen++
	t.mu.Unlock()
}

func (t *trimmer) connDone() {
	if t.fn == nil {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	t.inFlight--
	if t.inFlight > 0 || t.served < trimServed && t.peak < trimParallel {
		return
	}
	gen := t.idleGen
	if t.timer != nil {
		t.timer.Stop()
	}
	t.timer = time.AfterFunc(trimDelay, func() {
		t.mu.Lock()
		if t.idleGen != gen || t.inFlight > 0 {
			t.mu.Unlock()
			return // busy again: the next idle moment re-arms
		}
		t.served, t.peak, t.timer = 0, 0, nil
		t.mu.Unlock()
		t.fn()
	})
}

// stop cancels a pending trim (the monitor is shutting down).
func (t *trimmer) stop() {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.timer != nil {
		t.timer.Stop()
		t.timer = nil
	}
	t.idleGen++
}
