package server

import (
	"fmt"
	"sync"
)

// flight coalesces calls of one function: while a run is in progress, callers
// join it instead of starting another. A run that outlives its callers'
// timeouts stays the only run until it returns, so a hung check never piles up
// goroutines.
type flight struct {
	mu      sync.Mutex
	current *call
}

// call is one run; err is valid once done is closed.
type call struct {
	done    chan struct{}
	err     error
	waiters int // joins so far, read by tests
}

// join returns the run in progress, starting one of f if there is none.
func (g *flight) join(f func() error) *call {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.current == nil {
		g.current = &call{done: make(chan struct{})}
		go g.run(g.current, f)
	}
	g.current.waiters++
	return g.current
}

func (g *flight) run(c *call, f func() error) {
	defer func() {
		if r := recover(); r != nil {
			c.err = fmt.Errorf("healthcheck panicked: %v", r)
		}
		g.mu.Lock()
		g.current = nil
		g.mu.Unlock()
		close(c.done)
	}()
	c.err = f()
}
