package supervisor

import (
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/sirupsen/logrus"
	"golang.org/x/sys/unix"

	"github.com/wisdom-oss/go-healthcheck/internal/memtrim"
	"github.com/wisdom-oss/go-healthcheck/internal/proc"
	"github.com/wisdom-oss/go-healthcheck/internal/sigs"
	"github.com/wisdom-oss/go-healthcheck/supervisor/reaper"
)

// idleTrimDelay: how long after the child started hcinit hands its start-up
// memory back (internal/memtrim); by then the health side is set up too.
const idleTrimDelay = 300 * time.Millisecond

// pidfileWait bounds how long a daemon may take to write its pid file after its
// launcher exited.
const pidfileWait = 10 * time.Second

// supervise is the child actor: it starts the command, forwards signals, runs
// the stop sequence and returns an *ExitError once the process tree is empty.
func (s *Supervisor) supervise(sigc <-chan os.Signal, interrupt <-chan struct{}) error {
	log := s.log.WithField("component", "child")
	var (
		exited       <-chan reaper.Exit
		alive        bool
		code         int
		stopping     bool
		grace        <-chan time.Time
		drain        <-chan time.Time
		pendingStop  unix.Signal
		stopSig      unix.Signal // the stop signal of the running stop sequence
		restStopped  bool        // what the child left got stopSig too
		restartTimer <-chan time.Time
		killDeadline <-chan time.Time
		unhealthy    <-chan struct{}
		restartAfter bool // --on-unhealthy restart: start again once the child is gone
		adopting     <-chan adoption
		daemon       bool
		startedAt    time.Time
		delay        = s.cfg.RestartDelay
	)
	if s.observer != nil {
		unhealthy = s.observer.Unhealthy()
	}
	startChild := func() error {
		pid, ch, err := s.start()
		if err != nil {
			log.WithError(err).Error("cannot start child")
			return err
		}
		exited, alive, startedAt, daemon = ch, true, time.Now(), false
		log.WithField("pid", pid).Debug("child started")
		if s.observer != nil {
			s.observer.ChildStarted(pid)
		}
		return nil
	}
	// armGrace starts the timer to SIGKILL, after wait, for a stop hcinit
	// decided itself (own) or was told to make; none when the grace is the
	// orchestrator's.
	graceLen := time.Duration(0)
	armGrace := func(wait time.Duration, own bool) {
		graceLen, grace = s.graceFor(own), nil
		if graceLen > 0 {
			grace = time.After(wait + graceLen)
		}
	}
	// beginStop starts the stop sequence: readiness off at once, the stop signal
	// after the drain delay, SIGKILL after the grace (see graceFor).
	beginStop := func(sig unix.Signal, own bool) {
		stopping, stopSig, restStopped = true, sig, false
		restartTimer = nil
		adopting = nil // a daemon not adopted yet is still in the tree: it gets the signal
		if s.observer != nil {
			s.observer.Stopping()
		}
		if s.cfg.DrainDelay > 0 && alive {
			pendingStop = sig
			drain = time.After(s.cfg.DrainDelay)
		} else {
			s.sendStop(sig, alive)
		}
		armGrace(s.cfg.DrainDelay, own)
	}
	kill := func(why string) {
		log.WithField("reason", why).Warn("killing every remaining process")
		s.signalTree(unix.SIGKILL)
		grace, drain = nil, nil
		if killDeadline == nil {
			killDeadline = time.After(afterKill)
		}
	}

	// gone handles the end of the supervised process (exit status raw): restart
	// it, or exit at once when nothing is left, or stop what it left behind.
	// A non-nil result is hcinit's exit.
	gone := func(raw int) error {
		if s.observer != nil {
			// Why it ended, for a health side that keeps restart history.
			if h, ok := s.observer.(interface{ ChildExitReason(string) }); ok {
				reason := "exited"
				switch {
				case restartAfter:
					reason = "unhealthy"
				case stopping:
					reason = "stopped"
				}
				h.ChildExitReason(reason)
			}
			s.observer.ChildExited(raw)
		}
		if restartAfter || (!stopping && s.shouldRestart(raw)) {
			if time.Since(startedAt) >= restartReset {
				delay = s.cfg.RestartDelay
			}
			if restartAfter {
				restartAfter, stopping, grace = false, false, nil
			}
			killDeadline = nil // the SIGKILL that ended the old child is done with
			log.WithFields(logrus.Fields{"exit_code": raw, "delay": delay.String()}).Info("restarting child")
			restartTimer = time.After(delay)
			delay = min(2*delay, s.cfg.RestartMaxDelay)
			return nil
		}
		// Reap now: if nothing is left, exit at once; otherwise the rest gets
		// the stop signal and the grace.
		s.reaper.Reap()
		select {
		case <-s.reaper.Empty():
			return &ExitError{Code: code}
		default:
		}
		switch {
		case !stopping:
			stopping = true
			log.Debug("child exited, stopping the processes it left")
			s.sendStop(s.cfg.StopSignal, false)
			armGrace(0, true)
		case drain == nil && !restStopped:
			// Stopping, and the child is gone: what it left and the stop
			// signal has not reached yet (its group in --single-child mode, a
			// daemon in a session of its own) gets it now. With no grace of
			// hcinit's own, nothing else would ever ask them to stop.
			restStopped = true
			s.stopRest(stopSig)
		}
		return nil
	}

	if s.cfg.Pidfile != "" {
		// A pid file left by an earlier run names a dead (or an unrelated)
		// process: only a write after the launcher started counts.
		if fi, err := os.Stat(s.cfg.Pidfile); err == nil {
			s.stalePid = fi.ModTime()
		}
	}
	if err := startChild(); err != nil {
		return err
	}
	// Start-up is over once the child runs: give its memory back.
	trim := time.AfterFunc(idleTrimDelay, memtrim.Idle)
	defer trim.Stop()
	for {
		var empty <-chan struct{}
		if !alive && restartTimer == nil && adopting == nil {
			empty = s.reaper.Empty()
		}
		select {
		case sig := <-sigc:
			us, ok := sig.(syscall.Signal)
			if !ok || us == unix.SIGPIPE || sigs.IsAbsorbed(us) {
				// The kernel raises SIGPIPE for hcinit's own writes to a socket
				// whose peer hung up (a health client or a delegated server), and
				// os/signal delivers those too, unable to tell them from kill(2):
				// forwarded, they would kill the child. Subscribed, never forwarded.
				// The absorbed fault signals (kill -SEGV 1) concern hcinit alone.
				continue
			}
			fwd := s.translate(us)
			if fwd == 0 {
				log.WithField("signal", sigs.Name(us)).Debug("dropped signal")
				continue
			}
			if !slices.Contains(s.cfg.StopTriggers, us) {
				// With no child (restart backoff, or the grace after it exited)
				// the signal goes to what is left of its group, never to the
				// whole namespace: that would hit `docker exec` shells.
				s.forward(fwd)
				continue
			}
			if stopping && !restartAfter {
				kill("second stop signal " + sigs.Name(us))
				continue
			}
			restartAfter = false
			log.WithField("signal", sigs.Name(us)).Debug("stopping")
			beginStop(fwd, false)

		case <-drain:
			drain = nil
			s.sendStop(pendingStop, alive)

		case e := <-exited:
			exited, alive = nil, false
			code = s.mapExit(e.Code())
			s.mu.Lock()
			s.pid = 0 // keep pgid: the rest of the group may still need signals
			s.mu.Unlock()
			log.WithFields(logrus.Fields{"pid": e.Pid, "exit_code": e.Code()}).Debug("child exited")
			if s.cfg.Pidfile != "" && !daemon && !stopping && e.Code() == 0 {
				// The launcher is done; its daemon writes the pid file. Wait for
				// it without blocking this loop: signals still count meanwhile.
				adopting = s.awaitDaemon()
				continue
			}
			if err := gone(e.Code()); err != nil {
				return err
			}

		case pid := <-s.mainPIDs:
			if pid == s.childPID() {
				continue
			}
			ch, err := s.adoptMainPID(pid)
			if err != nil {
				log.WithError(err).Warn("ignoring MAINPID=")
				continue
			}
			exited, alive, daemon, adopting = ch, true, true, nil
			log.WithField("pid", pid).Info("supervising the new main process (MAINPID=)")

		case a := <-adopting:
			adopting = nil
			if a.err == nil {
				exited, alive, daemon = a.exited, true, true
				log.WithField("pid", a.pid).Info("supervising daemon from pid file")
				if s.observer != nil {
					s.observer.ChildStarted(a.pid)
				}
				continue
			}
			log.WithError(a.err).Error("cannot supervise daemon")
			code = 1
			if err := gone(1); err != nil {
				return err
			}

		case <-grace:
			if restartAfter {
				// Restarting an unhealthy child: only its group dies, not every
				// process in the namespace.
				log.Warn("stop timeout reached: killing the child's process group")
				s.forward(unix.SIGKILL)
				grace = nil
				continue
			}
			kill("stop timeout " + graceLen.String() + " reached")

		case <-killDeadline:
			log.Error("processes survived SIGKILL; exiting anyway")
			return &ExitError{Code: code}

		case <-empty:
			return &ExitError{Code: code}

		case <-restartTimer:
			restartTimer = nil
			if err := startChild(); err != nil {
				return err
			}

		case <-unhealthy:
			switch {
			case stopping || !alive:
			case s.cfg.OnUnhealthy == OnUnhealthyRestart:
				log.Warn("child unhealthy: restarting it")
				beginStop(s.cfg.StopSignal, true)
				restartAfter = true
			case s.cfg.OnUnhealthy == OnUnhealthyExit:
				log.Warn("child unhealthy: stopping")
				beginStop(s.cfg.StopSignal, true)
			}

		case <-interrupt:
			interrupt = nil
			if !stopping {
				beginStop(s.cfg.StopSignal, true)
			}
		}
	}
}

// graceFor is the time from the stop signal to SIGKILL: --stop-timeout when
// set. Otherwise a stop the orchestrator asked for (a stop trigger) has no
// grace of hcinit's own, as under tini: docker stop -t, Compose's
// stop_grace_period and Kubernetes' terminationGracePeriodSeconds decide, and
// hcinit exits the moment the tree is empty. A stop hcinit decided itself
// (--on-unhealthy, processes left after the child exited) has nobody else's
// grace behind it: ownStopTimeout bounds it, so a hung child still dies.
func (s *Supervisor) graceFor(own bool) time.Duration {
	switch {
	case s.cfg.StopTimeout > 0:
		return s.cfg.StopTimeout
	case own:
		return ownStopTimeout
	}
	return 0
}

// sendStop delivers the stop signal to the child, or to whatever is left when
// the child is already gone.
//
// SIGCONT follows, as systemd does it: a stopped process (SIGSTOP, Ctrl-Z) would
// otherwise keep the stop signal pending and sit out the whole grace.
func (s *Supervisor) sendStop(sig unix.Signal, alive bool) {
	send := s.signalTree
	if alive {
		send = s.forward
	}
	send(sig)
	if sig != unix.SIGCONT && sig != unix.SIGKILL {
		send(unix.SIGCONT)
	}
}

// stopRest sends sig (and SIGCONT) to every remaining descendant the stop
// signal has not reached: outside the child's process group, or any in
// --single-child mode.
func (s *Supervisor) stopRest(sig unix.Signal) {
	s.mu.Lock()
	pgid := s.pgid
	s.mu.Unlock()
	for _, pid := range proc.Descendants(os.Getpid()) {
		if !s.cfg.SingleChild && pgid > 1 {
			if g, err := unix.Getpgid(pid); err == nil && g == pgid {
				continue
			}
		}
		_ = unix.Kill(pid, sig)
		if sig != unix.SIGCONT && sig != unix.SIGKILL {
			_ = unix.Kill(pid, unix.SIGCONT)
		}
	}
}

func (s *Supervisor) mapExit(code int) int {
	if s.cfg.MapToZero[code] {
		return 0
	}
	return code
}

func (s *Supervisor) shouldRestart(code int) bool {
	switch s.cfg.Restart {
	case RestartAlways:
		return true
	case RestartOnFailure:
		return code != 0
	}
	return false
}

// adoption is the outcome of waiting for a daemon's pid file.
type adoption struct {
	pid    int
	exited <-chan reaper.Exit
	err    error
}

// awaitDaemon runs adoptDaemon in the background and delivers its outcome.
func (s *Supervisor) awaitDaemon() <-chan adoption {
	c := make(chan adoption, 1)
	go func() {
		pid, ch, err := s.adoptDaemon()
		c <- adoption{pid, ch, err}
	}()
	return c
}

// adoptDaemon reads --pidfile after the launcher exited and watches that pid. As
// PID 1 or subreaper hcinit is the daemon's parent, so the reaper sees its exit.
func (s *Supervisor) adoptDaemon() (int, <-chan reaper.Exit, error) {
	deadline := time.Now().Add(pidfileWait)
	var pid int
	var err error
	for {
		pid, err = readPidfile(s.cfg.Pidfile)
		if err == nil && !s.stalePid.IsZero() {
			if fi, serr := os.Stat(s.cfg.Pidfile); serr == nil && !fi.ModTime().After(s.stalePid) {
				err = fmt.Errorf("pid file %s: not rewritten by the daemon since hcinit started", s.cfg.Pidfile)
			}
		}
		if err == nil || time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond) // bounded, start-up only
	}
	if err != nil {
		return 0, nil, err
	}
	ch, err := s.adopt(pid)
	if err != nil {
		return 0, nil, fmt.Errorf("daemon pid %d from %s %w", pid, s.cfg.Pidfile, err)
	}
	return pid, ch, nil
}

func readPidfile(path string) (int, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, fmt.Errorf("read pid file: %w", err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || pid <= 1 {
		return 0, fmt.Errorf("pid file %s: want a pid above 1, have %q", path, strings.TrimSpace(string(b)))
	}
	return pid, nil
}
