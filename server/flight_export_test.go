package server

// waiting reports how many callers joined the run in progress (0 when idle).
func (g *flight) waiting() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.current == nil {
		return 0
	}
	return g.current.waiters
}
