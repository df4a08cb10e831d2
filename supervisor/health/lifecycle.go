package health

// The child's life as the supervisor reports it (ChildStarted, ChildExited,
// Stopping, MAINPID=), and what the health side does to it: restart the
// checks, drop the results of a gone child, signal the watchdog.

import (
	"context"
	"os"
	"time"

	"golang.org/x/sys/unix"

	"github.com/wisdom-oss/go-healthcheck/internal/sigs"
)

// ChildStarted reports a (re)started child: every check is starting again and
// the start period begins now.
func (m *Monitor) ChildStarted(pid int) {
	now := time.Now()
	if m.notify != nil {
		// Before pid counts as the main process: what it says once it does
		// is its own, not wiped.
		m.notify.reset(now)
	}
	m.mu.Lock()
	m.gen++
	if m.genCancel != nil {
		m.genCancel()
	}
	m.genCtx, m.genCancel = context.WithCancel(m.ctx)
	m.child.pid = pid
	m.child.started = now
	if m.child.lastExit != nil {
		m.child.restarts++ // not a daemon adopted from a pid file after its launcher
	}
	m.child.active, m.child.exited, m.child.stopping = true, false, false
	for _, c := range m.checks {
		c.st.reset()
		c.since = now
		c.changed = now
		// The first probe runs at once, as kubelet's worker runs it after
		// initialDelaySeconds (default 0; pkg/kubelet/prober/worker.go);
		// Docker's schedule holds from the second on (see nextDelay).
		c.runNow = true
	}
	m.overall = StatusStarting
	checks := append([]*check(nil), m.checks...)
	m.mu.Unlock()
	if m.notify != nil {
		m.notify.release(pid)
	}
	m.log.WithField("pid", pid).Debug("checking new child")
	for _, c := range checks {
		c.wakeUp()
	}
	select { // the name watcher follows the new child's working directory
	case m.childStarts <- struct{}{}:
	default:
	}
}

// notifyDeps is what the notifier may ask of m.
func (m *Monitor) notifyDeps() notifyDeps {
	return notifyDeps{access: m.cfg.NotifyAccess, watchdog: m.cfg.Watchdog, ctx: m.ctx, log: m.log,
		allowed: m.peerAllowed, pid: m.pid, kick: func() { m.kickKind(KindNotify) },
		fired: m.watchdogFired, mainPID: m.newMainPID, extend: m.cfg.ExtendStop, upstream: os.Getenv("NOTIFY_SOCKET")}
}

// watchdogFired sends --watchdog-signal (systemd's WatchdogSignal=, SIGABRT
// there, so the service dumps core) to the main process.
func (m *Monitor) watchdogFired() {
	sig := m.cfg.WatchdogSignal
	pid := m.pid()
	if sig == 0 || pid <= 0 {
		return
	}
	m.log.WithField("pid", pid).WithField("signal", sigs.Name(sig)).Warn("watchdog: signalling the main process")
	if err := unix.Kill(pid, sig); err != nil {
		m.log.WithError(err).Warn("watchdog signal")
	}
}

// newMainPID applies MAINPID= (one the notifier took: see mainPIDRefused):
// the supervisor supervises pid from now on, as it does a --pidfile daemon.
func (m *Monitor) newMainPID(pid int) {
	if pid == m.pid() {
		return
	}
	if m.cfg.MainPID == nil {
		m.log.WithField("pid", pid).Warn("ignoring MAINPID=: not supported here")
		return
	}
	m.log.WithField("pid", pid).Info("new main process (MAINPID=)")
	m.cfg.MainPID(pid) // the supervisor adopts it, and says so: MainProcess
}

// MainProcess tells that the supervisor now supervises pid as the running
// child: a MAINPID= process it adopted, or the one before it again when that
// ended with its status gone elsewhere. The process check and status follow
// it. The supervisor calls it after ChildStarted, in order.
func (m *Monitor) MainProcess(pid int) {
	m.mu.Lock()
	if m.child.active {
		m.child.pid = pid
	}
	m.mu.Unlock()
}

// ChildExited reports that the child is gone: health is unhealthy and
// readiness false at once, and no check runs until the next ChildStarted. It
// does not send on Unhealthy: the supervisor already knows.
func (m *Monitor) ChildExited(code int) {
	m.mu.Lock()
	m.child.active, m.child.exited, m.child.exitCode = false, true, code
	reason := m.exitReason
	if reason == "" {
		reason = "exited"
	}
	m.child.lastExit, m.exitReason = &ExitInfo{Code: code, Reason: reason, Time: time.Now()}, ""
	if m.genCancel != nil {
		// A probe still running (an exec check and its process group) would
		// keep hcinit's process tree, and so hcinit, alive for the grace.
		m.genCancel()
	}
	m.overall = StatusUnhealthy
	checks := append([]*check(nil), m.checks...)
	m.mu.Unlock()
	for _, c := range checks {
		c.wakeUp()
	}
}

// ChildExitReason tells why the child is about to be reported gone: "exited"
// (by itself), "unhealthy" (restarted for a failing live check) or "stopped"
// (hcinit was stopping it). It shows in the restart history.
func (m *Monitor) ChildExitReason(reason string) {
	m.mu.Lock()
	m.exitReason = reason
	m.mu.Unlock()
}

// Stopping reports that the stop sequence began: readiness is false from now
// until the next ChildStarted.
func (m *Monitor) Stopping() {
	m.mu.Lock()
	m.child.stopping = true
	m.mu.Unlock()
	m.log.Debug("not ready: stopping")
}

// Unhealthy receives each time a live-level check (level live or both) turns
// unhealthy. The channel has a buffer of one and sends never block.
func (m *Monitor) Unhealthy() <-chan struct{} { return m.unhealthy }

// pid is the supervised (main) process, 0 while none runs.
func (m *Monitor) pid() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	if !m.child.active {
		return 0
	}
	return m.child.pid
}
