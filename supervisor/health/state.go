package health

import (
	"fmt"
	"time"
)

// State is a health state, as Docker names them: of one check, or overall.
type State string

// Health states.
const (
	StatusStarting  State = "starting"
	StatusHealthy   State = "healthy"
	StatusUnhealthy State = "unhealthy"
)

// keepResults is how many results each check keeps (Docker keeps 5).
const keepResults = 5

// maxOutput caps a result's output, keeping the head (Docker keeps 4096 bytes).
const maxOutput = 4096

// Result is one run of a check. ExitCode is 0 for a pass, -1 when the run timed
// out, and otherwise the exec'd probe's code or 1.
type Result struct {
	Start    time.Time `json:"start"`
	End      time.Time `json:"end"`
	ExitCode int       `json:"exit_code"`
	Output   string    `json:"output"`
}

// CheckStatus is one check in a Status.
type CheckStatus struct {
	Name          string    `json:"name"`
	Kind          string    `json:"kind"`
	Level         Level     `json:"level"`
	Target        string    `json:"target,omitempty"`
	Status        State     `json:"status"`
	Ready         bool      `json:"ready"`
	FailingStreak int       `json:"failing_streak"`
	LastChange    time.Time `json:"last_change,omitzero"` // when Status last changed
	Runs          uint64    `json:"runs"`                 // results recorded since hcinit started
	Failures      uint64    `json:"failures"`             // failed ones among them
	Log           []Result  `json:"log"`
}

// ExitInfo is how the child last ended.
type ExitInfo struct {
	Code   int       `json:"code"`   // exit code, or 128+N when killed by signal N
	Reason string    `json:"reason"` // exited (by itself), unhealthy (hcinit restarted it), stopped (hcinit stopped it)
	Time   time.Time `json:"time"`
}

// NotifyStatus is what the child said over NOTIFY_SOCKET.
type NotifyStatus struct {
	Ready        bool      `json:"ready"`
	Status       string    `json:"status,omitempty"`
	LastWatchdog time.Time `json:"last_watchdog,omitzero"`
	Watchdog     string    `json:"watchdog,omitempty"`
}

// Status is the whole health state: the answer to the "status" request and to
// GET /status. Overall is Docker's health (its JSON name, "status", is wire
// format for `hcinit status --json` and /status); Live and Ready answer
// Kubernetes' two questions.
type Status struct {
	Overall       State         `json:"status"`
	Reason        string        `json:"reason,omitempty"`
	Live          bool          `json:"live"`
	LiveReason    string        `json:"live_reason,omitempty"`
	Ready         bool          `json:"ready"`
	ReadyReason   string        `json:"ready_reason,omitempty"`
	FailingStreak int           `json:"failing_streak"`
	ChildPID      int           `json:"child_pid"`
	ChildExited   bool          `json:"child_exited,omitempty"`
	ExitCode      int           `json:"exit_code,omitempty"`
	Stopping      bool          `json:"stopping,omitempty"`
	ChildStarted  time.Time     `json:"child_started,omitzero"`
	ChildUptime   float64       `json:"child_uptime_seconds,omitempty"` // while the child runs
	Restarts      int           `json:"restarts"`                       // child starts after the first
	LastExit      *ExitInfo     `json:"last_exit,omitempty"`
	Notify        *NotifyStatus `json:"notify,omitempty"`
	Checks        []CheckStatus `json:"checks"`
}

// state is one check's health, changed only by record and reset. Its rules are
// Docker's (moby daemon/health.go handleProbeResult).
type state struct {
	status    State
	streak    int // consecutive counted failures
	successes int // consecutive successes, for the success threshold
	fails     int // consecutive failures, counted or not, for readiness
	ready     bool
	log       []Result
}

func (s *state) reset() {
	*s = state{status: StatusStarting}
}

// record applies r. started is when the child started; a failure while starting
// whose probe began inside the start period does not count. fatal failures
// (WATCHDOG=trigger, a missed watchdog) make the check unhealthy at once.
//
// Readiness follows kubelet's worker (pkg/kubelet/prober/worker.go): false
// until the first success, true after successThreshold consecutive successes,
// false again only after retries (failureThreshold) consecutive failures.
func (s *state) record(r Result, started time.Time, startPeriod time.Duration, retries, successThreshold int, fatal bool) {
	if len(r.Output) > maxOutput {
		r.Output = r.Output[:maxOutput]
	}
	if len(s.log) < keepResults {
		s.log = append(s.log, r)
	} else { // in place: a new slice per result was a fifth of what a check allocated
		n := copy(s.log, s.log[len(s.log)-keepResults+1:])
		s.log = append(s.log[:n], r)
	}
	if r.ExitCode == 0 {
		s.streak, s.fails = 0, 0
		s.successes++
		s.status = StatusHealthy
		if s.successes >= successThreshold {
			s.ready = true
		}
		return
	}
	s.successes = 0
	s.fails++
	if s.fails >= retries || fatal {
		s.ready = false
	}
	if fatal {
		s.streak = max(s.streak+1, retries)
		s.status = StatusUnhealthy
		return
	}
	if s.status == StatusStarting && r.Start.Sub(started) < startPeriod {
		return
	}
	s.streak++
	if s.streak >= retries {
		s.status = StatusUnhealthy
	}
}

// lastOutput is the output of the newest result, or a note that none exists.
func (s *state) lastOutput() string {
	if len(s.log) == 0 {
		return "no result yet"
	}
	r := s.log[len(s.log)-1]
	if r.Output == "" {
		return fmt.Sprintf("exit code %d", r.ExitCode)
	}
	return r.Output
}
