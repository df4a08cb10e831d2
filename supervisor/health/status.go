package health

import (
	"fmt"
	"time"

	"github.com/wisdom-oss/go-healthcheck/common"
)

// checkView is one check as status sees it, copied under Monitor.mu.
type checkView struct {
	spec     Spec
	st       state
	adopted  bool // a delegate found by watching name files
	target   string
	changed  time.Time
	runs     uint64
	failures uint64
}

// childView is the child's life as the supervisor reported it (ChildStarted,
// ChildExited, Stopping).
type childView struct {
	pid      int
	started  time.Time
	active   bool // started and not exited since
	exited   bool // exited and not started again since
	exitCode int
	stopping bool
	restarts int
	lastExit *ExitInfo
}

// status is the whole health state, a pure function of the checks, the
// child's life and what the child said over NOTIFY_SOCKET (nil: no socket):
//
//   - Overall (Docker's one bit): unhealthy once the child exited, starting
//     while there is none yet, else the first unhealthy check, else the first
//     starting one (a delegate found by itself only once it answered: see
//     unasked), else healthy.
//   - Live (kubelet's liveness): false once the child exited or while a check
//     of level live or both is unhealthy.
//   - Ready (kubelet's readiness): false while stopping, without a child, or
//     while a check of level ready or both is not ready or, for a notify
//     check, the child has not said READY=1.
//
// Without details, a reason names the failing check and its state, not its
// output (which may hold secrets). now gives the child's uptime.
func status(checks []checkView, child childView, notify *NotifyStatus, now time.Time, details bool) Status {
	st := Status{ChildPID: child.pid, Stopping: child.stopping, Checks: make([]CheckStatus, 0, len(checks)),
		Restarts: child.restarts, ChildStarted: child.started, Notify: notify}
	if child.active {
		st.ChildUptime = now.Sub(child.started).Round(time.Millisecond).Seconds()
	}
	if child.lastExit != nil {
		e := *child.lastExit
		st.LastExit = &e
	}
	if child.exited {
		st.ChildExited, st.ExitCode, st.ChildPID = true, child.exitCode, 0
	}
	for _, c := range checks {
		st.Checks = append(st.Checks, c.status())
		st.FailingStreak = max(st.FailingStreak, c.st.streak)
	}
	st.Overall, st.Reason = overall(checks, child, details)
	st.Live, st.LiveReason = live(checks, child, st.Reason, details)
	st.Ready, st.ReadyReason = ready(checks, child, notify, st.Reason, details)
	return st
}

// overall is Docker's health and why it is not healthy.
func overall(checks []checkView, child childView, details bool) (State, string) {
	switch {
	case child.exited:
		return StatusUnhealthy, fmt.Sprintf("child exited with code %d", child.exitCode)
	case !child.active:
		return StatusStarting, "no child yet"
	}
	for _, c := range checks {
		if c.st.status == StatusUnhealthy {
			return StatusUnhealthy, c.reason(details)
		}
	}
	for _, c := range checks {
		if c.st.status == StatusStarting && !c.unasked() {
			return StatusStarting, c.reason(details)
		}
	}
	return StatusHealthy, ""
}

// live is kubelet's liveness and why it fails; exitReason is Overall's reason.
func live(checks []checkView, child childView, exitReason string, details bool) (bool, string) {
	if child.exited {
		return false, exitReason
	}
	for _, c := range checks {
		if c.st.status == StatusUnhealthy && c.spec.Level.live() {
			return false, c.reason(details)
		}
	}
	return true, ""
}

// ready is kubelet's readiness and why it fails; noChild is Overall's reason
// when there is no child.
func ready(checks []checkView, child childView, notify *NotifyStatus, noChild string, details bool) (bool, string) {
	switch {
	case child.stopping:
		return false, "stopping"
	case !child.active:
		return false, noChild
	}
	for _, c := range checks {
		if !c.spec.Level.ready() {
			continue
		}
		if !c.st.ready && !c.unasked() {
			return false, c.reason(details)
		}
		if c.spec.Kind == KindNotify && notify != nil && !notify.Ready {
			return false, "check " + c.spec.Name + ": no READY=1 since the last start, RELOADING=1 or STOPPING=1"
		}
	}
	return true, ""
}

// unasked reports whether c is a delegate hcinit found by itself (the child
// announced its socket) and has not asked yet: it holds nothing back until
// then, as it did not exist a moment before. Once it answered, it counts as
// any check: the app's own check failing keeps hcinit at starting and not
// ready until its first success, as Docker's HEALTHCHECK and a kubelet
// readiness probe running the app's -healthcheck would be.
func (c checkView) unasked() bool {
	return c.adopted && c.st.status == StatusStarting && len(c.st.log) == 0
}

// status is the check's part of a Status.
func (c checkView) status() CheckStatus {
	return CheckStatus{Name: c.spec.Name, Kind: c.spec.Kind, Level: c.spec.Level, Target: c.target,
		Status: c.st.status, Ready: c.st.ready, FailingStreak: c.st.streak, Log: append([]Result{}, c.st.log...),
		LastChange: c.changed, Runs: c.runs, Failures: c.failures}
}

// reason says why the check holds the status back: a success threshold not
// met yet, else its state (without details) or its last output.
func (c checkView) reason(details bool) string {
	if c.st.status == StatusHealthy && !c.st.ready {
		return fmt.Sprintf("check %s: %d of %d successes needed", c.spec.Name, c.st.successes, c.spec.SuccessThreshold)
	}
	if !details {
		return fmt.Sprintf("check %s: %s", c.spec.Name, c.st.status)
	}
	return fmt.Sprintf("check %s: %s", c.spec.Name, c.st.lastOutput())
}

// Status returns the current state, with each check's last results.
func (m *Monitor) Status() Status {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.statusLocked()
}

// statusLocked computes overall health, liveness and readiness from the checks.
func (m *Monitor) statusLocked() Status { return m.statusLockedFor(true) }

// publicStatus is Status for the unauthenticated HTTP endpoint: without the
// checks' outputs (response bodies, exec output, which may hold secrets) and
// exec checks' arguments, unless Config.HTTPDetails asks for them. kubelet keeps bodies out of its
// user-facing probe messages for the same reason.
func (m *Monitor) publicStatus() Status {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.cfg.HTTPDetails {
		return m.statusLockedFor(true)
	}
	st := m.statusLockedFor(false)
	for i := range st.Checks {
		for j := range st.Checks[i].Log {
			st.Checks[i].Log[j].Output = ""
		}
		// An exec check's arguments often hold a secret that is no URL
		// (redis-cli -a PASSWORD, mysqladmin -pPASSWORD): the program only.
		if sp := m.checks[i].spec; sp.Kind == KindExec && len(sp.Argv) > 1 {
			st.Checks[i].Target = redactURLs(sp.Argv[0]) + " …"
		}
	}
	return st
}

// statusLockedFor computes the status from copies of the checks and the
// child's life (status, status.go).
func (m *Monitor) statusLockedFor(details bool) Status {
	views := make([]checkView, len(m.checks))
	for i, c := range m.checks {
		views[i] = checkView{spec: c.spec, st: c.st, adopted: c.adopted, target: c.target(),
			changed: c.changed, runs: c.results, failures: c.failures}
	}
	var notify *NotifyStatus
	if m.notify != nil {
		notify = m.notify.snapshot()
	}
	return status(views, m.child, notify, time.Now(), details)
}

// replyFrom is the reply to word given the status st.
func replyFrom(word string, st Status) string {
	var line string
	switch {
	case word == wordLive && st.Live, word == wordReady && st.Ready,
		word == wordPing && st.Overall == StatusHealthy:
		return common.HealthcheckIPCResponse
	case word == wordLive:
		line = "not live: " + st.LiveReason
	case word == wordReady:
		line = "not ready: " + st.ReadyReason
	default:
		line = string(st.Overall) + ": " + st.Reason
	}
	if len(line) > common.BufferSize {
		line = line[:common.BufferSize]
	}
	return line
}
