package health

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
)

// outcome is what a probe found: code 0 passes; fatal failures (WATCHDOG=trigger)
// make the check unhealthy at once.
type outcome struct {
	code   int
	output string
	fatal  bool
}

func pass(format string, a ...any) outcome { return outcome{output: fmt.Sprintf(format, a...)} }
func fail(format string, a ...any) outcome {
	return outcome{code: 1, output: fmt.Sprintf(format, a...)}
}

// check is one configured (or adopted) check and its state. Fields marked (mu)
// are guarded by Monitor.mu.
type check struct {
	spec    Spec
	checker checker
	adopted bool // a delegate found by watching name files
	nested  bool // (mu) delegate: what the child announced is a nested hcinit (nested.go)
	wake    chan struct{}
	runs    atomic.Int64 // probes started, for tests and the storm budget
	awake   awake        // stalls during a run (see stall.go)
	voided  bool         // the last run was void: hcinit was not running (loop's)

	st       state     // (mu)
	since    time.Time // (mu) start of this check's start period
	runNow   bool      // (mu) next run without waiting
	addrs    []string  // (mu) delegate: the child's socket, in order of preference
	results  uint64    // (mu) results recorded, for /metrics
	failures uint64    // (mu) failed results recorded
	changed  time.Time // (mu) when st.status last changed (a child start resets it to starting)
	describe string    // what the check looks at, for the status output
}

// target returns what the check looks at. Callers hold Monitor.mu.
func (c *check) target() string {
	if c.spec.Kind == KindDelegate && len(c.addrs) > 0 {
		return strings.Join(c.addrs, " or ")
	}
	return c.describe
}

// wakeUp makes the check's loop look at its schedule again.
func (c *check) wakeUp() {
	select {
	case c.wake <- struct{}{}:
	default:
	}
}

func (m *Monitor) startLoopLocked(c *check) {
	if !m.running || m.ctx.Err() != nil {
		return
	}
	m.wg.Add(1)
	go m.loop(c)
}

// loop schedules one check: the first run as soon as the child has started
// (kubelet's rule with initialDelaySeconds 0), then Docker's schedule (moby
// daemon/health.go): the next run one interval (start-interval while starting
// inside the start period) after the previous one ended, so runs never
// overlap. No run happens while there is no child.
func (m *Monitor) loop(c *check) {
	defer m.wg.Done()
	t := time.NewTimer(time.Hour)
	t.Stop()
	defer t.Stop()
	var due time.Time // when t should fire: a late timer means a stall (stall.go)
	arm := func() {
		if d, ok := m.nextDelay(c); ok {
			c.awake.mark() // what hcinit had waited to run, before t is due
			t.Reset(d)
			due = time.Now().Add(d)
		} else {
			t.Stop()
		}
	}
	arm()
	for {
		select {
		case <-m.ctx.Done():
			return
		case <-c.wake:
			arm()
		case <-t.C:
			m.run(c, time.Since(due))
			arm()
		}
	}
}

func (m *Monitor) nextDelay(c *check) (time.Duration, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if !m.child.active {
		return 0, false
	}
	if c.runNow {
		// Cleared when the run starts, not here: a wake-up before the timer
		// fires re-arms it and must not lose the run.
		return 0, true
	}
	if c.st.status == StatusStarting && time.Since(c.since) < c.spec.StartPeriod {
		return c.spec.StartInterval, true
	}
	return c.spec.Interval, true
}

// run probes once under the check's timeout and records the result. late is
// how long after its time the run began: a failure found after, or during, a
// stall of hcinit (docker pause) is void, once (see stall.go).
func (m *Monitor) run(c *check, late time.Duration) {
	m.mu.Lock()
	gen, genCtx := m.gen, m.genCtx
	c.runNow = false
	m.mu.Unlock()
	if genCtx == nil {
		genCtx = m.ctx
	}
	c.runs.Add(1)
	c.awake.begin()
	start := time.Now()
	ctx, cancel := context.WithTimeout(genCtx, c.spec.Timeout)
	o := c.checker.Check(ctx)
	timedOut := o.code != 0 && errors.Is(ctx.Err(), context.DeadlineExceeded)
	cancel()
	gap := c.awake.end()
	if genCtx.Err() != nil {
		// Shut down, or the child it was checking is gone: the run is void.
		return
	}
	stall := max(late, gap)
	if o.code != 0 && !o.fatal && stall > stallLimit {
		// Throttled (a CPU quota spent by a spinning app) or starved, hcinit
		// waited to run: kubelet's probe from outside would fail, so would
		// this run. Only a stall not so explained was a freeze.
		stall = c.awake.unexplained(stall)
	}
	if o.code != 0 && !o.fatal && (stall > stallCertain || stall > stallLimit && !c.voided) {
		// hcinit was not running (frozen with the child by docker pause):
		// what this run saw is the freeze, not the application. Docker's
		// monitor does not probe a paused container either; the next run,
		// one interval later, counts.
		c.voided = true
		m.log.WithField("check", c.spec.Name).WithField("stalled", stall.Round(time.Millisecond).String()).
			WithField("output", o.output).Info("check result void: hcinit was not running (container paused?)")
		return
	}
	c.voided = false
	if timedOut {
		o.code = -1
		o.output = strings.TrimSpace(fmt.Sprintf("health check exceeded timeout (%s)\n%s", c.spec.Timeout, o.output))
	}
	m.record(c, gen, Result{Start: start, End: time.Now(), ExitCode: o.code, Output: o.output}, o.fatal)
}

// record applies a result of child generation gen and updates the overall
// status, sending on Unhealthy when it turns unhealthy.
func (m *Monitor) record(c *check, gen int, r Result, fatal bool) {
	ch, ok := m.apply(c, gen, r, fatal)
	if !ok {
		return
	}
	if m.cfg.Checked != nil {
		defer m.cfg.Checked() // after this result's logging
	}
	if ch.settle {
		defer m.cfg.Settled() // after this result's logging
	}
	m.logResult(c, r, ch)
	// --on-unhealthy acts on liveness: a check of level ready only (Kubernetes'
	// readiness) never restarts or stops the child.
	if ch.before != ch.after && ch.after == StatusUnhealthy && c.spec.Level.live() {
		select {
		case m.unhealthy <- struct{}{}:
		default:
		}
	}
}

// change is what one result changed: the check's state, the overall state
// and whether it is the first to leave starting.
type change struct {
	before, after State  // the check's
	prev          State  // overall, before
	overall       State  // after
	reason        string // why overall is not healthy
	settle        bool   // call Config.Settled
}

// apply records r under the lock; false when r is of an older child
// generation, or there is no child.
func (m *Monitor) apply(c *check, gen int, r Result, fatal bool) (change, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if gen != m.gen || !m.child.active {
		return change{}, false
	}
	ch := change{before: c.st.status, prev: m.overall}
	c.st.record(r, c.since, c.spec.StartPeriod, c.spec.Retries, c.spec.SuccessThreshold, fatal)
	ch.after = c.st.status
	c.results++
	if r.ExitCode != 0 {
		c.failures++
	}
	if ch.before != ch.after {
		c.changed = r.End
	}
	ch.overall, ch.reason = m.overallLocked()
	m.overall = ch.overall
	ch.settle = !m.settled && ch.overall != StatusStarting && m.cfg.Settled != nil
	m.settled = m.settled || ch.settle
	return ch, true
}

// overallLocked is Status's Overall and Reason without the rest of the
// status (the checks' copies and logs): every result needs it, and building
// the whole status was a fifth of what a check allocated. Callers hold mu.
func (m *Monitor) overallLocked() (State, string) {
	return overall(m.viewsLocked(), m.child, true)
}

// viewsLocked returns the checks as status reads them, without their
// targets, in a slice reused until the next call. Callers hold mu.
func (m *Monitor) viewsLocked() []checkView {
	m.views = m.views[:0]
	for _, c := range m.checks {
		m.views = append(m.views, checkView{spec: c.spec, st: c.st, adopted: c.adopted})
	}
	return m.views
}

// logResult logs a failed result, the check's state change and the overall
// one.
// The entries are made only when there is something to log: a passing
// result with no change logs nothing, and allocates nothing here.
func (m *Monitor) logResult(c *check, r Result, ch change) {
	if r.ExitCode != 0 {
		m.log.WithField("check", c.spec.Name).WithField("exit_code", r.ExitCode).WithField("output", r.Output).Debug("check failed")
	}
	if ch.before != ch.after {
		e := m.log.WithField("check", c.spec.Name).WithField("state", ch.after)
		if ch.after == StatusUnhealthy {
			e.WithField("output", r.Output).Warn("check unhealthy")
		} else {
			e.Info("check state changed")
		}
	}
	if ch.prev != ch.overall {
		m.log.WithField("state", ch.overall).WithField("reason", ch.reason).Info("health changed")
	}
}

// kickKind runs every check of kind at once.
func (m *Monitor) kickKind(kind string) {
	m.mu.Lock()
	var cs []*check
	for _, c := range m.checks {
		if c.spec.Kind == kind {
			c.runNow = true
			cs = append(cs, c)
		}
	}
	m.mu.Unlock()
	for _, c := range cs {
		c.wakeUp()
	}
}

// adopt makes addrs the target of the delegate checks: those configured
// without an address, else those adopted before, else new ones: one named
// "delegate", or, for a nested hcinit (nested.go), "delegate-live" and
// "delegate-ready", which ask it Kubernetes' two questions apart. The
// delegates start over, with their own start period, and run at once.
func (m *Monitor) adopt(addrs []string, from string, nested bool) {
	m.mu.Lock()
	var cs []*check
	same := true
	for _, x := range m.checks {
		if x.spec.Kind == KindDelegate && (x.adopted || x.spec.Addr == "") {
			cs = append(cs, x)
			same = same && slices.Equal(x.addrs, addrs) && x.nested == nested
		}
	}
	if len(cs) > 0 && same {
		m.mu.Unlock()
		return
	}
	if len(cs) == 0 {
		if nested {
			cs = []*check{m.newAdoptedLocked(KindDelegate+"-live", LevelLive, true),
				m.newAdoptedLocked(KindDelegate+"-ready", LevelReady, true)}
		} else {
			cs = []*check{m.newAdoptedLocked(KindDelegate, LevelBoth, false)}
		}
	}
	now := time.Now()
	for _, c := range cs {
		c.addrs, c.nested = addrs, nested
		c.st.reset()
		c.since = now
		c.runNow = true
	}
	m.mu.Unlock()
	for _, c := range cs {
		m.log.WithField("check", c.spec.Name).WithField("path", from).WithField("socket", addrs).
			Info("delegating to the child's health socket")
		c.wakeUp()
	}
}

// newAdoptedLocked adds a delegate check of level named name (or name-2, …)
// and starts it. One asking a nested hcinit runs at least every second: its
// answer is the inner one's verdict, and the outer one's interval would add
// to the inner one's time to detect. Callers hold mu.
func (m *Monitor) newAdoptedLocked(name string, level Level, nested bool) *check {
	sp, _ := ParseSpec(KindDelegate)
	sp.Name, sp.Level = name, level
	for n := 2; m.hasCheckLocked(sp.Name); n++ {
		sp.Name = name + "-" + strconv.Itoa(n)
	}
	if nested && (m.cfg.Interval <= 0 || m.cfg.Interval > time.Second) {
		sp.Interval = time.Second
	}
	c, _ := m.newCheck(sp)
	c.adopted = true
	m.checks = append(m.checks, c)
	m.startLoopLocked(c)
	return c
}

func (m *Monitor) hasCheckLocked(name string) bool {
	for _, c := range m.checks {
		if c.spec.Name == name {
			return true
		}
	}
	return false
}
