// Package supervisor is hcinit's PID-1 side: it starts one command, forwards
// signals to it, reaps every zombie, runs the stop sequence and reports the
// child's exit status.
//
// Supervisor is the child actor of hcinit's run.Group (cmd/hcinit/run.go); the
// reaper, its sibling there, is the only caller of wait4. The child runs in its
// own process group with hcinit's own stdin, stdout and stderr.
//
// Files: child.go is the actor (its phases and one handler per event, no
// system call); signals.go, start.go and daemon.go are what it does to
// processes (kill(2), the fork through reaper.Exec, --pidfile and MAINPID=
// adoption), reached through the processes interface.
package supervisor

import (
	"errors"
	"os"
	"strconv"
	"sync"
	"time"

	"github.com/sirupsen/logrus"
	"golang.org/x/sys/unix"

	"github.com/wisdom-oss/go-healthcheck/supervisor/reaper"
)

// Observer is what the child actor tells the health side, and the one thing it
// asks of it: a signal when a live-level check turns unhealthy.
type Observer interface {
	ChildStarted(pid int)
	ChildExited(code int)
	Stopping()
	Unhealthy() <-chan struct{}
}

// ExitError is the one typed error for "the child is gone": Code is what hcinit
// exits with.
type ExitError struct {
	Code int
	Err  error
}

func (e *ExitError) Error() string {
	if e.Err != nil {
		return e.Err.Error()
	}
	return "exit status " + strconv.Itoa(e.Code)
}

func (e *ExitError) Unwrap() error { return e.Err }

// restartReset: a child that stayed up this long starts the backoff afresh.
const restartReset = 10 * time.Second

// ownStopTimeout is the grace of a stop hcinit decides itself, with no
// orchestrator's grace behind it, when --stop-timeout is not set: restarting or
// leaving an unhealthy child (--on-unhealthy), and the processes left after
// the child exited. It is docker stop's default.
const ownStopTimeout = 10 * time.Second

// afterKill bounds the wait for the kernel to tear down what SIGKILL hit; a
// process in uninterruptible sleep must not keep PID 1 alive for ever.
const afterKill = 5 * time.Second

// Supervisor is the child actor as the group sees it (New, Run, Interrupt) and
// the real processes behind it: the supervised pid and process group that
// signals go to, shared with MAINPID= and --pidfile adoption under mu.
type Supervisor struct {
	cfg      Config
	log      *logrus.Logger
	reaper   *reaper.Reaper
	observer Observer
	env      []string
	id       *Identity
	pid1     bool
	tty      bool

	stop     chan struct{} // closed by Interrupt
	stopOnce sync.Once
	mainPIDs MainPIDs   // MAINPID= from the notify socket
	extends  Extensions // EXTEND_TIMEOUT_USEC= from the notify socket
	stalePid time.Time  // mtime of a --pidfile that existed before the launcher started

	mu     sync.Mutex
	pid    int // the supervised process (the child, or the daemon from --pidfile)
	pgid   int
	before [2]int // pid and pgid before the last MAINPID=: see adoptMainPID

	sent        *SignalCounts
	clock       clock
	beforeStart func()
}

// Deps are what the child actor works with, built before it.
type Deps struct {
	Reaper   *reaper.Reaper // required: the only wait4, shared with exec checks
	Identity *Identity      // who the child runs as; nil = hcinit's own identity
	Observer Observer       // the health side; nil = none
	Env      []string       // KEY=VALUE pairs that replace inherited ones in the child's environment
	Sent     *SignalCounts  // counts the signals sent to the child; nil = not counted
	MainPIDs MainPIDs       // sd_notify's MAINPID= from the health side; nil = none
	Extends  Extensions     // sd_notify's EXTEND_TIMEOUT_USEC= from the health side; nil = none
	Log      *logrus.Logger
	// BeforeStart, when set, is called right before each fork of the command
	// and may block: hcinit waits there until every forwardable signal is
	// subscribed (earlysig.Wait), so that one sent the moment the child runs
	// reaches it, while the actors' start overlaps the subscription.
	BeforeStart func()
}

// New prepares the child actor; it starts nothing.
func New(cfg Config, d Deps) *Supervisor {
	s := &Supervisor{cfg: cfg, log: d.Log, reaper: d.Reaper, observer: d.Observer, env: d.Env,
		id: d.Identity, sent: d.Sent, mainPIDs: d.MainPIDs, extends: d.Extends, pid1: os.Getpid() == 1, stop: make(chan struct{}),
		clock: realClock{}, beforeStart: d.BeforeStart}
	s.tty = isForegroundTTY(0)
	if cfg.Pidfile != "" {
		d.Reaper.RememberUnclaimed()
	}
	return s
}

// Run is the child actor: it starts the command, forwards what arrives on sigc
// (subscribed before main, see internal/earlysig), runs the stop sequence and
// returns an *ExitError once no process of the tree is left, or the grace is
// over and everything left was killed. The reaper must be running.
func (s *Supervisor) Run(sigc <-chan os.Signal) error {
	if !s.pid1 {
		// As an ordinary process, orphans of the child must come back to us.
		if err := unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0); err != nil {
			s.log.WithError(err).Warn("cannot register as child subreaper; orphans will not be reaped")
		}
	}
	if s.cfg.PdeathSig != 0 {
		if err := unix.Prctl(unix.PR_SET_PDEATHSIG, uintptr(s.cfg.PdeathSig), 0, 0, 0); err != nil {
			s.log.WithError(err).Warn("cannot set parent-death signal")
		}
	}
	if s.cfg.Pidfile != "" {
		// A pid file left by an earlier run names a dead (or an unrelated)
		// process: only a write after the launcher started counts.
		if fi, err := os.Stat(s.cfg.Pidfile); err == nil {
			s.stalePid = fi.ModTime()
		}
	}
	a := newChildActor(&s.cfg, s, s.clock, s.observer, s.log.WithField("component", "child"))
	a.mainPIDs, a.extends, a.interrupt = s.mainPIDs, s.extends, s.stop
	return a.run(sigc)
}

// Interrupt starts the stop sequence, as a TERM would; Run returns once the
// tree is gone. It is safe to call more than once, before or after Run.
func (s *Supervisor) Interrupt(error) { s.stopOnce.Do(func() { close(s.stop) }) }

// ExitStatus is hcinit's exit status for what the actors returned: an
// *ExitError's code, 0 for nil, 1 for anything else.
func ExitStatus(err error) int {
	var ee *ExitError
	switch {
	case errors.As(err, &ee):
		return ee.Code
	case err != nil:
		return 1
	}
	return 0
}

// The rest of this file is the real world of the child actor (processes).

// childPID is the pid of the supervised process, 0 when none runs.
func (s *Supervisor) childPID() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.pid
}

// lost forgets the supervised process's pid; its group stays, as the rest of
// the group may still need signals.
func (s *Supervisor) lost() {
	s.mu.Lock()
	s.pid = 0
	s.mu.Unlock()
}

// reap runs one reaping pass and reports whether no process is left.
func (s *Supervisor) reap() bool {
	s.reaper.Reap()
	select {
	case <-s.reaper.Empty():
		return true
	default:
		return false
	}
}

func (s *Supervisor) empty() <-chan struct{} { return s.reaper.Empty() }

// ResolveUser resolves --user from /etc/passwd and /etc/group; "" is nil,
// hcinit's own identity.
func ResolveUser(spec string) (*Identity, error) {
	if spec == "" {
		return nil, nil
	}
	id, err := LookupUser(spec, "/etc/passwd", "/etc/group")
	if err != nil {
		return nil, err
	}
	return &id, nil
}
