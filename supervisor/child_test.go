package supervisor

import (
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sirupsen/logrus"
	"golang.org/x/sys/unix"

	"github.com/wisdom-oss/go-healthcheck/internal/sigs"
	"github.com/wisdom-oss/go-healthcheck/supervisor/reaper"
)

// The tests in this file drive the child actor's handlers one event at a time
// with a fake world and a fake clock: no process, no signal, no wait. They
// assert the actor's decisions: which signal went to whom, the phase after,
// which timers run, and hcinit's exit status. The tests in supervisor_test.go
// and cmd/hcinit run the same actor against real processes.

var phaseNames = [...]string{"running", "adopting", "backoff", "draining", "stopping", "killing"}

func (p phase) String() string { return phaseNames[p] }

// fakeProcs records what the actor does to the world.
type fakeProcs struct {
	calls    []string
	pid      int   // of the last start
	startErr error // the next start fails with it
	left     bool  // processes outlive the child: reap finds the tree not empty
	emptyC   chan struct{}
	mainErr  error
	exits    chan reaper.Exit // what start returns; nil = a new channel each time
	alien    bool             // MAINPID= names a process that is not hcinit's child
	onCall   func(call string)
}

func (f *fakeProcs) record(format string, args ...any) {
	f.calls = append(f.calls, fmt.Sprintf(format, args...))
	if f.onCall != nil {
		f.onCall(f.calls[len(f.calls)-1])
	}
}

func (f *fakeProcs) start() (int, <-chan reaper.Exit, error) {
	if f.startErr != nil {
		f.record("start failed")
		return 0, nil, f.startErr
	}
	f.pid += 100
	f.record("start %d", f.pid)
	if f.exits != nil {
		return f.pid, f.exits, nil
	}
	return f.pid, make(chan reaper.Exit), nil
}

func (f *fakeProcs) forward(sig unix.Signal)    { f.record("group %s", sigs.Name(sig)) }
func (f *fakeProcs) signalTree(sig unix.Signal) { f.record("tree %s", sigs.Name(sig)) }
func (f *fakeProcs) stopRest(sig unix.Signal)   { f.record("rest %s", sigs.Name(sig)) }
func (f *fakeProcs) lost()                      {}
func (f *fakeProcs) reap() bool                 { return !f.left }
func (f *fakeProcs) empty() <-chan struct{}     { return f.emptyC }
func (f *fakeProcs) childPID() int              { return f.pid }
func (f *fakeProcs) awaitDaemon() <-chan adoption {
	f.record("await pidfile")
	return make(chan adoption)
}

func (f *fakeProcs) adoptMainPID(pid int) (<-chan reaper.Exit, <-chan struct{}, error) {
	if f.mainErr != nil {
		return nil, nil, f.mainErr
	}
	f.record("adopt %d", pid)
	f.pid = pid
	if f.alien {
		return make(chan reaper.Exit), make(chan struct{}), nil
	}
	return make(chan reaper.Exit), nil, nil
}

func (f *fakeProcs) restore() int { f.record("restore"); return 100 }

// fakeClock never fires by itself: a test fires a timer by calling its handler.
type fakeClock struct {
	now   time.Time
	armed []time.Duration
}

func (c *fakeClock) Now() time.Time { return c.now }
func (c *fakeClock) After(d time.Duration) <-chan time.Time {
	c.armed = append(c.armed, d)
	return make(chan time.Time)
}

// fakeObserver records what the health side is told.
type fakeObserver struct{ events []string }

func (o *fakeObserver) ChildStarted(pid int) {
	o.events = append(o.events, fmt.Sprint("started ", pid))
}
func (o *fakeObserver) ChildExited(code int) {
	o.events = append(o.events, fmt.Sprint("exited ", code))
}
func (o *fakeObserver) ChildExitReason(r string)   { o.events = append(o.events, "reason "+r) }
func (o *fakeObserver) MainProcess(pid int)        { o.events = append(o.events, fmt.Sprint("main ", pid)) }
func (o *fakeObserver) Stopping()                  { o.events = append(o.events, "stopping") }
func (o *fakeObserver) Unhealthy() <-chan struct{} { return nil }

type fixture struct {
	a     *childActor
	procs *fakeProcs
	clock *fakeClock
	obs   *fakeObserver
}

func newFixture(t *testing.T, cfg Config) *fixture {
	t.Helper()
	log := logrus.New()
	log.SetOutput(io.Discard)
	f := &fixture{procs: &fakeProcs{emptyC: make(chan struct{})}, clock: &fakeClock{now: time.Unix(1e9, 0)}, obs: &fakeObserver{}}
	f.a = newChildActor(&cfg, f.procs, f.clock, f.obs, logrus.NewEntry(log))
	f.a.interrupt = make(chan struct{})
	if err := f.a.startChild(); err != nil {
		t.Fatal(err)
	}
	return f
}

// An event is one thing the actor's loop can receive. It fails when the actor
// is not waiting for it (its channel is nil), as the loop would never see it.
type event struct {
	name string
	do   func(f *fixture) error
}

var errNotWaiting = errors.New("the actor is not waiting for this event")

func signal(sig unix.Signal) event {
	return event{sigs.Name(sig), func(f *fixture) error { f.a.onSignal(sig); return nil }}
}

func exit(status unix.WaitStatus) event {
	return event{"exit", func(f *fixture) error {
		if f.a.exited == nil {
			return errNotWaiting
		}
		return f.a.onExit(reaper.Exit{Pid: f.procs.pid, Status: status})
	}}
}

func exitCode(code int) event        { return exit(unix.WaitStatus(code << 8)) }
func killedBy(sig unix.Signal) event { return exit(unix.WaitStatus(sig)) }

var (
	timer = event{"timer", func(f *fixture) error {
		if f.a.timer == nil {
			return errNotWaiting
		}
		return f.a.onTimer()
	}}
	grace = event{"grace", func(f *fixture) error {
		if f.a.grace == nil {
			return errNotWaiting
		}
		f.a.onGrace()
		return nil
	}}
	treeEmpty = event{"tree empty", func(f *fixture) error {
		if f.a.treeEmpty() == nil {
			return errNotWaiting
		}
		return f.a.onEmpty()
	}}
	unhealthy = event{"unhealthy", func(f *fixture) error { f.a.onUnhealthy(); return nil }}
	interrupt = event{"interrupt", func(f *fixture) error {
		if f.a.interrupt == nil {
			return errNotWaiting
		}
		f.a.onInterrupt()
		return nil
	}}
	leftovers = event{"(processes outlive the child)", func(f *fixture) error { f.procs.left = true; return nil }}
)

func adopted(pid int, err error) event {
	return event{"adoption", func(f *fixture) error {
		if f.a.adoption == nil {
			return errNotWaiting
		}
		return f.a.onAdopted(adoption{pid: pid, exited: make(chan reaper.Exit), err: err})
	}}
}

func mainPID(pid int) event {
	return event{fmt.Sprint("MAINPID=", pid), func(f *fixture) error { f.a.onMainPID(pid); return nil }}
}

// extend is EXTEND_TIMEOUT_USEC= asking for d from the fake now.
func extend(d time.Duration) event {
	return event{"EXTEND_TIMEOUT_USEC " + d.String(), func(f *fixture) error { f.a.onExtend(f.clock.now.Add(d)); return nil }}
}

func after(d time.Duration) event {
	return event{"+" + d.String(), func(f *fixture) error { f.clock.now = f.clock.now.Add(d); return nil }}
}

// want is the actor after the events. exit is hcinit's exit status, or -1
// while it runs. timers are the durations armed since the start, in order.
type want struct {
	phase  phase
	exit   int
	calls  []string
	timers []time.Duration
	grace  bool // a SIGKILL of hcinit's own is armed
	events []string
}

func stopTimeout(d time.Duration) func(*Config) { return func(c *Config) { c.StopTimeout = d } }

func TestChildActor(t *testing.T) {
	const (
		TERM, KILL, CONT, HUP, USR1, QUIT = unix.SIGTERM, unix.SIGKILL, unix.SIGCONT, unix.SIGHUP, unix.SIGUSR1, unix.SIGQUIT
	)
	s := time.Second
	for _, tc := range []struct {
		name   string
		cfg    func(*Config)
		events []event
		want   want
	}{
		// Forwarding.
		{"a signal that is no stop trigger is forwarded", nil, []event{signal(USR1)},
			want{phase: running, exit: -1, calls: []string{"start 100", "group SIGUSR1"}}},
		{"SIGPIPE is never forwarded", nil, []event{signal(unix.SIGPIPE)},
			want{phase: running, exit: -1, calls: []string{"start 100"}}},
		{"an absorbed fault signal concerns hcinit alone", nil, []event{signal(unix.SIGSEGV)},
			want{phase: running, exit: -1, calls: []string{"start 100"}}},
		{"--rewrite USR1:0 drops it", func(c *Config) { c.Rewrite = map[unix.Signal]unix.Signal{USR1: 0} }, []event{signal(USR1)},
			want{phase: running, exit: -1, calls: []string{"start 100"}}},
		{"a non-trigger during the backoff goes to what is left of the group", restartAlways, []event{exitCode(0), signal(HUP)},
			want{phase: backoff, exit: -1, calls: []string{"start 100", "group SIGHUP"}, timers: []time.Duration{s}}},

		// Stops the orchestrator asked for.
		{"TERM: the stop signal and SIGCONT, no grace of hcinit's own", nil, []event{signal(TERM)},
			want{phase: stopping, exit: -1, calls: []string{"start 100", "group SIGTERM", "group SIGCONT"}}},
		{"TERM, child exits: hcinit exits with its status", nil, []event{signal(TERM), killedBy(TERM)},
			want{phase: stopping, exit: 143, calls: []string{"start 100", "group SIGTERM", "group SIGCONT"},
				events: []string{"started 100", "stopping", "reason stopped", "exited 143"}}},
		{"--stop-timeout arms SIGKILL", stopTimeout(5 * s), []event{signal(TERM)},
			want{phase: stopping, exit: -1, calls: []string{"start 100", "group SIGTERM", "group SIGCONT"}, timers: []time.Duration{5 * s}, grace: true}},
		{"--stop-timeout over: SIGKILL for the tree", stopTimeout(5 * s), []event{signal(TERM), grace},
			want{phase: killing, exit: -1, calls: []string{"start 100", "group SIGTERM", "group SIGCONT", "tree SIGKILL"}, timers: []time.Duration{5 * s, afterKill}}},
		{"killed, tree empty: exit 137", stopTimeout(5 * s), []event{signal(TERM), grace, killedBy(KILL)},
			want{phase: killing, exit: 137, calls: []string{"start 100", "group SIGTERM", "group SIGCONT", "tree SIGKILL"}, timers: []time.Duration{5 * s, afterKill}}},
		{"killed, something survives: exit after afterKill", stopTimeout(5 * s), []event{leftovers, signal(TERM), grace, killedBy(KILL), timer},
			want{phase: killing, exit: 137, calls: []string{"start 100", "group SIGTERM", "group SIGCONT", "tree SIGKILL", "rest SIGTERM"}, timers: []time.Duration{5 * s, afterKill}}},
		{"a second TERM kills the tree at once", nil, []event{signal(TERM), signal(TERM)},
			want{phase: killing, exit: -1, calls: []string{"start 100", "group SIGTERM", "group SIGCONT", "tree SIGKILL"}, timers: []time.Duration{afterKill}}},
		{"a third TERM kills again; the bound after SIGKILL stays", nil, []event{signal(TERM), signal(TERM), signal(TERM)},
			want{phase: killing, exit: -1, calls: []string{"start 100", "group SIGTERM", "group SIGCONT", "tree SIGKILL", "tree SIGKILL"}, timers: []time.Duration{afterKill}}},
		{"TERM with --stop-signal QUIT", func(c *Config) { c.StopSignal = QUIT }, []event{signal(TERM)},
			want{phase: stopping, exit: -1, calls: []string{"start 100", "group SIGQUIT", "group SIGCONT"}}},
		{"--stop-signal KILL: no SIGCONT after it", func(c *Config) { c.StopSignal = KILL }, []event{signal(TERM)},
			want{phase: stopping, exit: -1, calls: []string{"start 100", "group SIGKILL"}}},
		{"--rewrite TERM:HUP stops with HUP", func(c *Config) { c.Rewrite = map[unix.Signal]unix.Signal{TERM: HUP} }, []event{signal(TERM)},
			want{phase: stopping, exit: -1, calls: []string{"start 100", "group SIGHUP", "group SIGCONT"}}},
		{"QUIT is no stop trigger by default: only forwarded", nil, []event{signal(QUIT), signal(TERM)},
			want{phase: stopping, exit: -1, calls: []string{"start 100", "group SIGQUIT", "group SIGTERM", "group SIGCONT"}}},
		{"--stop-triggers QUIT", func(c *Config) { c.StopTriggers = []unix.Signal{QUIT} }, []event{signal(TERM), signal(QUIT)},
			want{phase: stopping, exit: -1, calls: []string{"start 100", "group SIGTERM", "group SIGQUIT", "group SIGCONT"}}},
		{"stopping, the child exits, processes are left: they get the stop signal once", nil, []event{leftovers, signal(TERM), killedBy(TERM)},
			want{phase: stopping, exit: -1, calls: []string{"start 100", "group SIGTERM", "group SIGCONT", "rest SIGTERM"}}},
		{"stopping, the rest goes: exit with the child's status", nil, []event{leftovers, signal(TERM), exitCode(3), treeEmpty},
			want{phase: stopping, exit: 3, calls: []string{"start 100", "group SIGTERM", "group SIGCONT", "rest SIGTERM"}}},

		// --drain-delay.
		{"drain: readiness off, the stop signal only later", drain(2 * s), []event{signal(TERM)},
			want{phase: draining, exit: -1, calls: []string{"start 100"}, timers: []time.Duration{2 * s}, events: []string{"started 100", "stopping"}}},
		{"drain over: the stop signal", drain(2 * s), []event{signal(TERM), timer},
			want{phase: stopping, exit: -1, calls: []string{"start 100", "group SIGTERM", "group SIGCONT"}, timers: []time.Duration{2 * s}}},
		{"drain and --stop-timeout: the grace counts from the stop trigger", func(c *Config) { c.DrainDelay, c.StopTimeout = 2*s, 5*s }, []event{signal(TERM)},
			want{phase: draining, exit: -1, calls: []string{"start 100"}, timers: []time.Duration{2 * s, 7 * s}, grace: true}},
		{"a second TERM while draining kills at once", drain(2 * s), []event{signal(TERM), signal(TERM)},
			want{phase: killing, exit: -1, calls: []string{"start 100", "tree SIGKILL"}, timers: []time.Duration{2 * s, afterKill}}},
		{"the child exits while draining, processes left: the stop signal goes to the tree when the drain ends", drain(2 * s),
			[]event{leftovers, signal(TERM), exitCode(0), timer},
			want{phase: stopping, exit: -1, calls: []string{"start 100", "tree SIGTERM", "tree SIGCONT"}, timers: []time.Duration{2 * s}}},
		{"the child exits while draining, nothing left: exit", drain(2 * s), []event{signal(TERM), exitCode(0)},
			want{phase: draining, exit: 0, calls: []string{"start 100"}, timers: []time.Duration{2 * s}}},

		// The child exits on its own.
		{"exit 7", nil, []event{exitCode(7)},
			want{phase: running, exit: 7, calls: []string{"start 100"}, events: []string{"started 100", "reason exited", "exited 7"}}},
		{"-e 143 maps to 0", func(c *Config) { c.MapToZero = map[int]bool{143: true} }, []event{killedBy(TERM)},
			want{phase: running, exit: 0, calls: []string{"start 100"}}},
		{"exit, processes left: they get the stop signal and hcinit's own grace", nil, []event{leftovers, exitCode(4)},
			want{phase: stopping, exit: -1, calls: []string{"start 100", "tree SIGTERM", "tree SIGCONT"}, timers: []time.Duration{ownStopTimeout}, grace: true}},
		{"exit, processes left, they go: the child's status", nil, []event{leftovers, exitCode(4), treeEmpty},
			want{phase: stopping, exit: 4, calls: []string{"start 100", "tree SIGTERM", "tree SIGCONT"}, timers: []time.Duration{ownStopTimeout}, grace: true}},
		{"exit, processes left and hung: SIGKILL after hcinit's grace", nil, []event{leftovers, exitCode(4), grace},
			want{phase: killing, exit: -1, calls: []string{"start 100", "tree SIGTERM", "tree SIGCONT", "tree SIGKILL"}, timers: []time.Duration{ownStopTimeout, afterKill}}},
		{"exit, processes left, then TERM: not a second one, the orchestrator's grace", nil, []event{leftovers, exitCode(4), signal(TERM)},
			want{phase: stopping, exit: -1, calls: []string{"start 100", "tree SIGTERM", "tree SIGCONT"}, timers: []time.Duration{ownStopTimeout}}},
		{"exit, processes left, then TERM, then TERM: the second kills", nil, []event{leftovers, exitCode(4), signal(TERM), signal(TERM)},
			want{phase: killing, exit: -1, calls: []string{"start 100", "tree SIGTERM", "tree SIGCONT", "tree SIGKILL"}, timers: []time.Duration{ownStopTimeout, afterKill}}},
		{"exit, processes left, with --stop-timeout", stopTimeout(3 * s), []event{leftovers, exitCode(4)},
			want{phase: stopping, exit: -1, calls: []string{"start 100", "tree SIGTERM", "tree SIGCONT"}, timers: []time.Duration{3 * s}, grace: true}},

		// --restart.
		{"--restart on-failure: exit 1 backs off", restartOnFailure, []event{exitCode(1)},
			want{phase: backoff, exit: -1, calls: []string{"start 100"}, timers: []time.Duration{s}}},
		{"--restart on-failure: exit 0 is the end", restartOnFailure, []event{exitCode(0)},
			want{phase: running, exit: 0, calls: []string{"start 100"}}},
		{"backoff over: started again", restartOnFailure, []event{exitCode(1), timer},
			want{phase: running, exit: -1, calls: []string{"start 100", "start 200"}, timers: []time.Duration{s},
				events: []string{"started 100", "reason exited", "exited 1", "started 200"}}},
		{"the backoff doubles up to --restart-max-delay", restartOnFailure, []event{exitCode(1), timer, exitCode(1), timer, exitCode(1), timer, exitCode(1)},
			want{phase: backoff, exit: -1, calls: []string{"start 100", "start 200", "start 300", "start 400"}, timers: []time.Duration{s, 2 * s, 3 * s, 3 * s}}},
		{"a child that stayed up restarts the backoff", restartOnFailure, []event{exitCode(1), timer, exitCode(1), timer, after(restartReset), exitCode(1)},
			want{phase: backoff, exit: -1, calls: []string{"start 100", "start 200", "start 300"}, timers: []time.Duration{s, 2 * s, s}}},
		{"TERM during the backoff: no restart, the stop signal to what is left", restartAlways, []event{exitCode(0), leftovers, signal(TERM)},
			want{phase: stopping, exit: -1, calls: []string{"start 100", "tree SIGTERM", "tree SIGCONT"}, timers: []time.Duration{s}}},
		{"TERM during the backoff, then empty: the child's status", restartAlways, []event{exitCode(5), signal(TERM), treeEmpty},
			want{phase: stopping, exit: 5, calls: []string{"start 100", "tree SIGTERM", "tree SIGCONT"}, timers: []time.Duration{s}}},
		{"a stopped child is not restarted", restartAlways, []event{signal(TERM), killedBy(TERM)},
			want{phase: stopping, exit: 143, calls: []string{"start 100", "group SIGTERM", "group SIGCONT"}}},
		{"the start fails during the backoff: its status", restartAlways, []event{exitCode(0), startFails(127), timer},
			want{phase: backoff, exit: 127, calls: []string{"start 100", "start failed"}, timers: []time.Duration{s}}},
		// What the child left is stopped before it starts again (systemd's
		// KillMode=control-group; a Docker restart starts from an empty container).
		{"--restart, processes left: the stop signal to them, hcinit's own bound, no backoff yet", restartAlways, []event{leftovers, exitCode(1)},
			want{phase: stopping, exit: -1, calls: []string{"start 100", "group SIGTERM", "group SIGCONT", "rest SIGTERM"}, timers: []time.Duration{ownStopTimeout}, grace: true,
				events: []string{"started 100", "reason exited", "exited 1"}}},
		{"--restart, processes left, with --stop-signal and --stop-timeout", func(c *Config) { c.Restart, c.StopSignal, c.StopTimeout = RestartAlways, unix.SIGINT, 3*s }, []event{leftovers, exitCode(1)},
			want{phase: stopping, exit: -1, calls: []string{"start 100", "group SIGINT", "group SIGCONT", "rest SIGINT"}, timers: []time.Duration{3 * s}, grace: true}},
		{"--restart, processes left, they go: the backoff, then started again", restartAlways, []event{leftovers, exitCode(1), treeEmpty, timer},
			want{phase: running, exit: -1, calls: []string{"start 100", "group SIGTERM", "group SIGCONT", "rest SIGTERM", "start 200"}, timers: []time.Duration{ownStopTimeout, s},
				events: []string{"started 100", "reason exited", "exited 1", "started 200"}}},
		{"--restart, processes left and hung: SIGKILL to them after the bound", restartAlways, []event{leftovers, exitCode(1), grace},
			want{phase: killing, exit: -1, calls: []string{"start 100", "group SIGTERM", "group SIGCONT", "rest SIGTERM", "group SIGKILL", "rest SIGKILL"}, timers: []time.Duration{ownStopTimeout, afterKill}}},
		{"--restart, processes left and killed: the backoff", restartAlways, []event{leftovers, exitCode(1), grace, treeEmpty},
			want{phase: backoff, exit: -1, calls: []string{"start 100", "group SIGTERM", "group SIGCONT", "rest SIGTERM", "group SIGKILL", "rest SIGKILL"}, timers: []time.Duration{ownStopTimeout, afterKill, s}}},
		{"--restart, processes survive SIGKILL: restarted anyway", restartAlways, []event{leftovers, exitCode(1), grace, timer, timer},
			want{phase: running, exit: -1, calls: []string{"start 100", "group SIGTERM", "group SIGCONT", "rest SIGTERM", "group SIGKILL", "rest SIGKILL", "start 200"}, timers: []time.Duration{ownStopTimeout, afterKill, s}}},
		{"--restart: the time spent stopping what the child left is no uptime, the delay still doubles", restartAlways, []event{exitCode(1), timer, leftovers, exitCode(1), after(restartReset), treeEmpty},
			want{phase: backoff, exit: -1, calls: []string{"start 100", "start 200", "group SIGTERM", "group SIGCONT", "rest SIGTERM"}, timers: []time.Duration{s, ownStopTimeout, 2 * s}}},
		{"--restart, processes left, then TERM: the orchestrator's stop, no second TERM, its grace, no restart", restartAlways, []event{leftovers, exitCode(1), signal(TERM), treeEmpty},
			want{phase: stopping, exit: 1, calls: []string{"start 100", "group SIGTERM", "group SIGCONT", "rest SIGTERM"}, timers: []time.Duration{ownStopTimeout}}},
		{"--restart, processes left, then TERM with --stop-timeout: that grace stays", func(c *Config) { c.Restart, c.StopTimeout = RestartAlways, 5*s }, []event{leftovers, exitCode(1), signal(TERM)},
			want{phase: stopping, exit: -1, calls: []string{"start 100", "group SIGTERM", "group SIGCONT", "rest SIGTERM"}, timers: []time.Duration{5 * s}, grace: true}},
		{"--restart, processes left, then INT: the orchestrator's stop signal goes to all", restartAlways, []event{leftovers, exitCode(1), signal(unix.SIGINT)},
			want{phase: stopping, exit: -1, calls: []string{"start 100", "group SIGTERM", "group SIGCONT", "rest SIGTERM", "tree SIGINT", "tree SIGCONT"}, timers: []time.Duration{ownStopTimeout}}},
		{"--restart, processes left, then TERM twice: the second kills", restartAlways, []event{leftovers, exitCode(1), signal(TERM), signal(TERM)},
			want{phase: killing, exit: -1, calls: []string{"start 100", "group SIGTERM", "group SIGCONT", "rest SIGTERM", "tree SIGKILL"}, timers: []time.Duration{ownStopTimeout, afterKill}}},
		{"--restart, processes killed, then TERM: exit when empty, no restart", restartAlways, []event{leftovers, exitCode(1), grace, signal(TERM), treeEmpty},
			want{phase: killing, exit: 1, calls: []string{"start 100", "group SIGTERM", "group SIGCONT", "rest SIGTERM", "group SIGKILL", "rest SIGKILL"}, timers: []time.Duration{ownStopTimeout, afterKill}}},
		{"--restart, processes left, then interrupt: the stop goes on under the same bound, no restart", restartAlways, []event{leftovers, exitCode(1), interrupt, treeEmpty},
			want{phase: stopping, exit: 1, calls: []string{"start 100", "group SIGTERM", "group SIGCONT", "rest SIGTERM"}, timers: []time.Duration{ownStopTimeout}, grace: true}},
		{"--restart, processes left, a signal meanwhile goes to them", restartAlways, []event{leftovers, exitCode(1), signal(HUP)},
			want{phase: stopping, exit: -1, calls: []string{"start 100", "group SIGTERM", "group SIGCONT", "rest SIGTERM", "group SIGHUP"}, timers: []time.Duration{ownStopTimeout}, grace: true}},
		{"--restart on-failure, processes left, exit 0: they are stopped and hcinit exits", restartOnFailure, []event{leftovers, exitCode(0), treeEmpty},
			want{phase: stopping, exit: 0, calls: []string{"start 100", "tree SIGTERM", "tree SIGCONT"}, timers: []time.Duration{ownStopTimeout}, grace: true}},

		// --on-unhealthy.
		{"unhealthy, --on-unhealthy none: nothing", nil, []event{unhealthy},
			want{phase: running, exit: -1, calls: []string{"start 100"}}},
		{"unhealthy, restart: the stop signal with hcinit's own grace", onUnhealthy(OnUnhealthyRestart), []event{unhealthy},
			want{phase: stopping, exit: -1, calls: []string{"start 100", "group SIGTERM", "group SIGCONT"}, timers: []time.Duration{ownStopTimeout}, grace: true}},
		{"unhealthy, restart, hung: SIGKILL for the child's group and the rest of hcinit's tree, not the namespace", onUnhealthy(OnUnhealthyRestart), []event{unhealthy, grace},
			want{phase: killing, exit: -1, calls: []string{"start 100", "group SIGTERM", "group SIGCONT", "group SIGKILL", "rest SIGKILL"}, timers: []time.Duration{ownStopTimeout, afterKill}}},
		{"unhealthy, restart, killed: started again", onUnhealthy(OnUnhealthyRestart), []event{unhealthy, grace, killedBy(KILL), timer},
			want{phase: running, exit: -1, calls: []string{"start 100", "group SIGTERM", "group SIGCONT", "group SIGKILL", "rest SIGKILL", "start 200"}, timers: []time.Duration{ownStopTimeout, afterKill, s}}},
		{"unhealthy, restart, the child survives SIGKILL: waited for, then started again", onUnhealthy(OnUnhealthyRestart), []event{unhealthy, grace, timer, killedBy(KILL), timer},
			want{phase: running, exit: -1, calls: []string{"start 100", "group SIGTERM", "group SIGCONT", "group SIGKILL", "rest SIGKILL", "start 200"}, timers: []time.Duration{ownStopTimeout, afterKill, s}}},
		{"unhealthy, restart, processes left: they get the stop signal, the restart waits for them", onUnhealthy(OnUnhealthyRestart), []event{leftovers, unhealthy, killedBy(TERM)},
			want{phase: stopping, exit: -1, calls: []string{"start 100", "group SIGTERM", "group SIGCONT", "rest SIGTERM"}, timers: []time.Duration{ownStopTimeout}, grace: true}},
		{"unhealthy, restart, processes left, they go: started again", onUnhealthy(OnUnhealthyRestart), []event{leftovers, unhealthy, killedBy(TERM), treeEmpty, timer},
			want{phase: running, exit: -1, calls: []string{"start 100", "group SIGTERM", "group SIGCONT", "rest SIGTERM", "start 200"}, timers: []time.Duration{ownStopTimeout, s}}},
		{"unhealthy, restart, processes left and hung: SIGKILL after the same grace", onUnhealthy(OnUnhealthyRestart), []event{leftovers, unhealthy, killedBy(TERM), grace, treeEmpty},
			want{phase: backoff, exit: -1, calls: []string{"start 100", "group SIGTERM", "group SIGCONT", "rest SIGTERM", "group SIGKILL", "rest SIGKILL"}, timers: []time.Duration{ownStopTimeout, afterKill, s}}},
		{"unhealthy, restart, then interrupt: the stop goes on, no restart", onUnhealthy(OnUnhealthyRestart), []event{leftovers, unhealthy, interrupt, killedBy(TERM), treeEmpty},
			want{phase: stopping, exit: 143, calls: []string{"start 100", "group SIGTERM", "group SIGCONT", "rest SIGTERM"}, timers: []time.Duration{ownStopTimeout}, grace: true}},
		{"unhealthy, restart: gone, then started again", onUnhealthy(OnUnhealthyRestart), []event{unhealthy, killedBy(TERM), timer},
			want{phase: running, exit: -1, calls: []string{"start 100", "group SIGTERM", "group SIGCONT", "start 200"}, timers: []time.Duration{ownStopTimeout, s},
				events: []string{"started 100", "stopping", "reason unhealthy", "exited 143", "started 200"}}},
		{"unhealthy, restart, with --drain-delay: the child dies while draining, no stop signal for the next one", func(c *Config) {
			c.OnUnhealthy, c.DrainDelay = OnUnhealthyRestart, 2*s
		}, []event{unhealthy, exitCode(1), timer},
			want{phase: running, exit: -1, calls: []string{"start 100", "start 200"}, timers: []time.Duration{2 * s, 2*s + ownStopTimeout, s}}},
		{"unhealthy while stopping: nothing more", onUnhealthy(OnUnhealthyRestart), []event{signal(TERM), unhealthy},
			want{phase: stopping, exit: -1, calls: []string{"start 100", "group SIGTERM", "group SIGCONT"}}},
		{"TERM during an unhealthy restart: a stop, not a kill, and no restart; TERM is not sent twice", onUnhealthy(OnUnhealthyRestart), []event{unhealthy, signal(TERM), killedBy(TERM)},
			want{phase: stopping, exit: 143, calls: []string{"start 100", "group SIGTERM", "group SIGCONT"}, timers: []time.Duration{ownStopTimeout}}},
		{"unhealthy, exit, the child shuts down cleanly: 128 + the stop signal, no success", onUnhealthy(OnUnhealthyExit), []event{unhealthy, exitCode(0)},
			want{phase: stopping, exit: 143, calls: []string{"start 100", "group SIGTERM", "group SIGCONT"}, timers: []time.Duration{ownStopTimeout}, grace: true,
				events: []string{"started 100", "stopping", "reason stopped", "exited 0"}}},
		{"unhealthy, exit, --stop-signal QUIT, exit 0: 131", func(c *Config) { c.OnUnhealthy, c.StopSignal = OnUnhealthyExit, QUIT }, []event{unhealthy, exitCode(0)},
			want{phase: stopping, exit: 131, calls: []string{"start 100", "group SIGQUIT", "group SIGCONT"}, timers: []time.Duration{ownStopTimeout}, grace: true}},
		{"unhealthy, exit, a status of the child's own stays", onUnhealthy(OnUnhealthyExit), []event{unhealthy, exitCode(3)},
			want{phase: stopping, exit: 3, calls: []string{"start 100", "group SIGTERM", "group SIGCONT"}, timers: []time.Duration{ownStopTimeout}, grace: true}},
		// The orchestrator's TERM during a stop hcinit began is its first
		// (Swarm replacing the unhealthy task, kubelet after a failed
		// liveness probe): no SIGKILL, its grace from now on.
		{"unhealthy, exit, then TERM: no kill, the orchestrator's grace, and the 0 of a child that made it is still no success", onUnhealthy(OnUnhealthyExit), []event{unhealthy, signal(TERM), exitCode(0)},
			want{phase: stopping, exit: 143, calls: []string{"start 100", "group SIGTERM", "group SIGCONT"}, timers: []time.Duration{ownStopTimeout}}},
		{"unhealthy, exit, then TERM twice: the second kills", onUnhealthy(OnUnhealthyExit), []event{unhealthy, signal(TERM), signal(TERM)},
			want{phase: killing, exit: -1, calls: []string{"start 100", "group SIGTERM", "group SIGCONT", "tree SIGKILL"}, timers: []time.Duration{ownStopTimeout, afterKill}}},
		{"unhealthy, exit, then INT: INT goes to the child too", onUnhealthy(OnUnhealthyExit), []event{unhealthy, signal(unix.SIGINT)},
			want{phase: stopping, exit: -1, calls: []string{"start 100", "group SIGTERM", "group SIGCONT", "group SIGINT", "group SIGCONT"}, timers: []time.Duration{ownStopTimeout}}},
		{"unhealthy, exit, then TERM with --stop-timeout: that grace stays", func(c *Config) { c.OnUnhealthy, c.StopTimeout = OnUnhealthyExit, 5*s }, []event{unhealthy, signal(TERM)},
			want{phase: stopping, exit: -1, calls: []string{"start 100", "group SIGTERM", "group SIGCONT"}, timers: []time.Duration{5 * s}, grace: true}},
		{"a stop the orchestrator asked for keeps the child's 0 (tini)", onUnhealthy(OnUnhealthyExit), []event{signal(TERM), exitCode(0)},
			want{phase: stopping, exit: 0, calls: []string{"start 100", "group SIGTERM", "group SIGCONT"}}},
		{"unhealthy, exit: stop and exit with the child's status", onUnhealthy(OnUnhealthyExit), []event{unhealthy, killedBy(TERM)},
			want{phase: stopping, exit: 143, calls: []string{"start 100", "group SIGTERM", "group SIGCONT"}, timers: []time.Duration{ownStopTimeout}, grace: true}},

		// The group's interrupt.
		{"interrupt: a stop with hcinit's own grace", nil, []event{interrupt},
			want{phase: stopping, exit: -1, calls: []string{"start 100", "group SIGTERM", "group SIGCONT"}, timers: []time.Duration{ownStopTimeout}, grace: true}},
		{"interrupt, then TERM: no kill", nil, []event{interrupt, signal(TERM)},
			want{phase: stopping, exit: -1, calls: []string{"start 100", "group SIGTERM", "group SIGCONT"}, timers: []time.Duration{ownStopTimeout}}},
		{"interrupt while stopping: nothing more", nil, []event{signal(TERM), interrupt},
			want{phase: stopping, exit: -1, calls: []string{"start 100", "group SIGTERM", "group SIGCONT"}}},

		// EXTEND_TIMEOUT_USEC= (systemd extends TimeoutStopSec: src/core/service.c, service_extend_timeout).
		{"EXTEND_TIMEOUT_USEC during --stop-timeout: SIGKILL moves out to now+N", stopTimeout(5 * s), []event{signal(TERM), after(4 * s), extend(3 * s)},
			want{phase: stopping, exit: -1, calls: []string{"start 100", "group SIGTERM", "group SIGCONT"}, timers: []time.Duration{5 * s, 3 * s}, grace: true}},
		{"EXTEND_TIMEOUT_USEC never shortens the grace", stopTimeout(5 * s), []event{signal(TERM), after(1 * s), extend(2 * s)},
			want{phase: stopping, exit: -1, calls: []string{"start 100", "group SIGTERM", "group SIGCONT"}, timers: []time.Duration{5 * s}, grace: true}},
		{"EXTEND_TIMEOUT_USEC twice: the later one counts", stopTimeout(5 * s), []event{signal(TERM), after(4 * s), extend(3 * s), after(1 * s), extend(1 * s)},
			want{phase: stopping, exit: -1, calls: []string{"start 100", "group SIGTERM", "group SIGCONT"}, timers: []time.Duration{5 * s, 3 * s}, grace: true}},
		{"EXTEND_TIMEOUT_USEC, then the extended grace is over: SIGKILL", stopTimeout(5 * s), []event{signal(TERM), after(4 * s), extend(3 * s), grace},
			want{phase: killing, exit: -1, calls: []string{"start 100", "group SIGTERM", "group SIGCONT", "tree SIGKILL"}, timers: []time.Duration{5 * s, 3 * s, afterKill}}},
		{"EXTEND_TIMEOUT_USEC with drain and --stop-timeout: from the grace's end, not the stop signal", func(c *Config) { c.DrainDelay, c.StopTimeout = 2*s, 5*s },
			[]event{signal(TERM), after(s), extend(10 * s)},
			want{phase: draining, exit: -1, calls: []string{"start 100"}, timers: []time.Duration{2 * s, 7 * s, 10 * s}, grace: true}},
		{"EXTEND_TIMEOUT_USEC extends hcinit's bound on its own stop too", nil, []event{leftovers, exitCode(4), extend(ownStopTimeout + s)},
			want{phase: stopping, exit: -1, calls: []string{"start 100", "tree SIGTERM", "tree SIGCONT"}, timers: []time.Duration{ownStopTimeout, ownStopTimeout + s}, grace: true}},
		{"EXTEND_TIMEOUT_USEC under the orchestrator's grace: nothing of hcinit's to move", nil, []event{signal(TERM), extend(30 * s)},
			want{phase: stopping, exit: -1, calls: []string{"start 100", "group SIGTERM", "group SIGCONT"}}},
		{"EXTEND_TIMEOUT_USEC while running: nothing, and the stop's grace is whole", stopTimeout(5 * s), []event{extend(30 * s), signal(TERM)},
			want{phase: stopping, exit: -1, calls: []string{"start 100", "group SIGTERM", "group SIGCONT"}, timers: []time.Duration{5 * s}, grace: true}},
		{"EXTEND_TIMEOUT_USEC after SIGKILL: nothing", stopTimeout(5 * s), []event{signal(TERM), grace, extend(30 * s)},
			want{phase: killing, exit: -1, calls: []string{"start 100", "group SIGTERM", "group SIGCONT", "tree SIGKILL"}, timers: []time.Duration{5 * s, afterKill}}},

		// --pidfile.
		{"--pidfile: the launcher's exit 0 waits for the daemon", pidfile, []event{exitCode(0)},
			want{phase: adopting, exit: -1, calls: []string{"start 100", "await pidfile"}, events: []string{"started 100"}}},
		{"--pidfile: the daemon is supervised", pidfile, []event{exitCode(0), adopted(555, nil)},
			want{phase: running, exit: -1, calls: []string{"start 100", "await pidfile"}, events: []string{"started 100", "started 555"}}},
		{"--pidfile: the daemon's exit 0 is the end", pidfile, []event{exitCode(0), adopted(555, nil), exitCode(0)},
			want{phase: running, exit: 0, calls: []string{"start 100", "await pidfile"}}},
		{"--pidfile: no daemon is exit 1", pidfile, []event{exitCode(0), adopted(0, errors.New("no pid file"))},
			want{phase: adopting, exit: 1, calls: []string{"start 100", "await pidfile"}, events: []string{"started 100", "reason exited", "exited 1"}}},
		{"--pidfile: a failed launcher is no launcher", pidfile, []event{exitCode(2)},
			want{phase: running, exit: 2, calls: []string{"start 100"}}},
		{"--pidfile: TERM while waiting for the daemon goes to the tree", pidfile, []event{exitCode(0), signal(TERM), treeEmpty},
			want{phase: stopping, exit: 0, calls: []string{"start 100", "await pidfile", "tree SIGTERM", "tree SIGCONT"}}},
		{"--pidfile: the launcher's exit 0 during a stop is the end", pidfile, []event{signal(TERM), exitCode(0)},
			want{phase: stopping, exit: 0, calls: []string{"start 100", "group SIGTERM", "group SIGCONT"}}},

		// MAINPID=.
		{"MAINPID= of the child itself: nothing", nil, []event{mainPID(100)},
			want{phase: running, exit: -1, calls: []string{"start 100"}}},
		{"MAINPID= names the supervised process", nil, []event{mainPID(777), exitCode(6)},
			want{phase: running, exit: 6, calls: []string{"start 100", "adopt 777"}}},
		{"MAINPID= not running: ignored", nil, []event{refuseMainPID, mainPID(777)},
			want{phase: running, exit: -1, calls: []string{"start 100"}}},
		{"MAINPID= during a stop: the stop goes on", nil, []event{leftovers, signal(TERM), exitCode(0), mainPID(777), signal(TERM)},
			want{phase: killing, exit: -1, calls: []string{"start 100", "group SIGTERM", "group SIGCONT", "rest SIGTERM", "adopt 777", "tree SIGKILL"}, timers: []time.Duration{afterKill}}},
		{"MAINPID= while waiting for the daemon: that one is supervised", pidfile, []event{exitCode(0), mainPID(777)},
			want{phase: running, exit: -1, calls: []string{"start 100", "await pidfile", "adopt 777"}}},
		{"MAINPID= of a process that is not hcinit's child, it ends unseen: the child again, and its status", nil, []event{alienMainPID, mainPID(777), unseenEnd, exitCode(7)},
			want{phase: running, exit: 7, calls: []string{"start 100", "adopt 777", "restore"},
				events: []string{"started 100", "main 777", "main 100", "reason exited", "exited 7"}}},
		{"MAINPID= of a process that is not hcinit's child, its exit seen after all: its status", nil, []event{alienMainPID, mainPID(777), exitCode(5)},
			want{phase: running, exit: 5, calls: []string{"start 100", "adopt 777"}}},
		{"MAINPID= of a non-child with nothing before it, it ends unseen: exit 0 (systemd: success)", pidfile, []event{alienMainPID, exitCode(0), mainPID(777), unseenEnd},
			want{phase: running, exit: 0, calls: []string{"start 100", "await pidfile", "adopt 777", "restore"}}},
		{"MAINPID= during the backoff: no second copy is started", restartAlways, []event{exitCode(0), mainPID(777)},
			want{phase: running, exit: -1, calls: []string{"start 100", "adopt 777"}, timers: []time.Duration{s}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := Defaults()
			cfg.Command = []string{"app"}
			cfg.RestartDelay, cfg.RestartMaxDelay = time.Second, 3*time.Second
			if tc.cfg != nil {
				tc.cfg(&cfg)
			}
			f := newFixture(t, cfg)
			code := -1
			for i, ev := range tc.events {
				err := ev.do(f)
				if errors.Is(err, errNotWaiting) {
					t.Fatalf("event %d (%s): %v (phase %s)", i, ev.name, err, f.a.phase)
				}
				if err != nil {
					if i != len(tc.events)-1 {
						t.Fatalf("event %d (%s): hcinit exits (%v) before the last event", i, ev.name, err)
					}
					code = ExitStatus(err)
				}
			}
			w := tc.want
			if f.a.phase != w.phase || code != w.exit || (f.a.grace != nil) != w.grace {
				t.Errorf("phase %s, exit %d, grace armed %v; want %s, %d, %v", f.a.phase, code, f.a.grace != nil, w.phase, w.exit, w.grace)
			}
			if !slices.Equal(f.procs.calls, w.calls) {
				t.Errorf("calls\n  %s\nwant\n  %s", strings.Join(f.procs.calls, ", "), strings.Join(w.calls, ", "))
			}
			if !slices.Equal(f.clock.armed, w.timers) {
				t.Errorf("timers %v, want %v", f.clock.armed, w.timers)
			}
			if w.events != nil && !slices.Equal(f.obs.events, w.events) {
				t.Errorf("observer told %q, want %q", f.obs.events, w.events)
			}
		})
	}
}

func drain(d time.Duration) func(*Config) { return func(c *Config) { c.DrainDelay = d } }
func onUnhealthy(v string) func(*Config)  { return func(c *Config) { c.OnUnhealthy = v } }
func restartAlways(c *Config)             { c.Restart = RestartAlways }
func restartOnFailure(c *Config)          { c.Restart = RestartOnFailure }
func pidfile(c *Config)                   { c.Pidfile = "/run/app.pid" }

func startFails(code int) event {
	return event{"(the next start fails)", func(f *fixture) error {
		f.procs.startErr = &ExitError{Code: code, Err: os.ErrNotExist}
		return nil
	}}
}

var (
	alienMainPID = event{"(MAINPID= names a process that is not hcinit's child)", func(f *fixture) error { f.procs.alien = true; return nil }}
	unseenEnd    = event{"MAINPID='s process ended, its exit taken by its parent", func(f *fixture) error {
		if f.a.unseen == nil {
			return errNotWaiting
		}
		return f.a.onUnseen()
	}}
)

var refuseMainPID = event{"(MAINPID= names no running process)", func(f *fixture) error { f.procs.mainErr = errNotRunning; return nil }}

// The loop itself: a TERM queued before the child exists reaches it once it
// runs, and the child's exit with nothing left ends the run with its status.
func TestChildActorRun(t *testing.T) {
	log := logrus.New()
	log.SetOutput(io.Discard)
	procs := &fakeProcs{emptyC: make(chan struct{})}
	cfg := Defaults()
	cfg.Command = []string{"app"}
	a := newChildActor(&cfg, procs, realClock{}, nil, logrus.NewEntry(log))
	sigc := make(chan os.Signal, 1)
	sigc <- unix.SIGTERM
	exits := make(chan reaper.Exit)
	procs.exits = exits
	sent := make(chan struct{})
	procs.onCall = func(call string) {
		if call == "group SIGCONT" {
			close(sent)
		}
	}
	done := make(chan error, 1)
	go func() { done <- a.run(sigc) }()
	// The exit only once the TERM is handled: with both ready, select would
	// pick either.
	select {
	case <-sent:
	case <-time.After(10 * time.Second):
		t.Fatal("the queued TERM never reached the child")
	}
	select {
	case exits <- reaper.Exit{Pid: 100, Status: unix.WaitStatus(unix.SIGTERM)}:
	case <-time.After(10 * time.Second):
		t.Fatal("the loop never waited for the child's exit")
	}
	select {
	case err := <-done:
		if got := ExitStatus(err); got != 143 {
			t.Errorf("exit %d, want 143", got)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return after the child's exit")
	}
	if want := []string{"start 100", "group SIGTERM", "group SIGCONT"}; !slices.Equal(procs.calls, want) {
		t.Errorf("calls %q, want %q", procs.calls, want)
	}
}
