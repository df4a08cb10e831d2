package health

import (
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestTrimAfterBurst: a few probes never trim; a burst of connections (here
// trimParallel at once, then more than trimServed in all) trims once when it
// is over, and not while connections are still coming.
func TestTrimAfterBurst(t *testing.T) {
	var trims atomic.Int32
	h := start(t, Config{Trim: func() { trims.Add(1) }}, nil)
	for range 5 {
		h.ask(t, "ping")
	}
	time.Sleep(2 * trimDelay) // a bounded wait for something that must not happen
	if n := trims.Load(); n != 0 {
		t.Fatalf("%d trims after 5 probes, want none", n)
	}

	var wg sync.WaitGroup
	for range trimParallel {
		wg.Add(1)
		go func() { defer wg.Done(); h.ask(t, "ping") }()
	}
	wg.Wait()
	for range trimServed {
		h.ask(t, "ping")
	}
	waitFor(t, "a trim after the burst", 5*time.Second, func() bool { return trims.Load() >= 1 })
	time.Sleep(2 * trimDelay)
	if n := trims.Load(); n != 1 {
		t.Errorf("%d trims after one burst, want 1", n)
	}
}
