package supervisor

import (
	"os"
	"slices"
	"syscall"
	"time"

	"github.com/sirupsen/logrus"
	"golang.org/x/sys/unix"

	"github.com/wisdom-oss/go-healthcheck/internal/memtrim"
	"github.com/wisdom-oss/go-healthcheck/internal/sigs"
	"github.com/wisdom-oss/go-healthcheck/supervisor/reaper"
)

// idleTrimDelay: how long after the child started hcinit hands its start-up
// memory back (internal/memtrim); by then the health side is set up too.
const idleTrimDelay = 300 * time.Millisecond

// phase is where the child actor is. Each phase owns at most one timer
// (childActor.timer), so invalid combinations (a restart pending during a
// stop, a drain left over after a restart) cannot be written.
type phase int

const (
	running  phase = iota // the supervised process runs; signals are forwarded
	adopting              // the launcher exited 0; waiting for --pidfile's daemon
	backoff               // gone; started again when the timer fires (--restart)
	draining              // stop decided, readiness off; the stop signal when the timer fires (--drain-delay)
	stopping              // stop signal sent; SIGKILL when the grace ends; exit (or restart) once the tree is empty
	killing               // SIGKILL sent to the tree; exit (or restart) when empty, or when the timer fires (afterKill)
)

// inStop reports whether a stop sequence runs: a stop trigger, an interrupt,
// --on-unhealthy, or the processes the child left behind.
func (p phase) inStop() bool { return p >= draining }

// processes is what the child actor does to the world. *Supervisor is the real
// one (fork through the reaper, kill(2), /proc); the tests' fake records.
type processes interface {
	start() (pid int, exited <-chan reaper.Exit, err error)
	forward(sig unix.Signal)    // to the child's group (or the child alone, --single-child)
	signalTree(sig unix.Signal) // to every process hcinit still has below it
	stopRest(sig unix.Signal)   // to the descendants the stop signal has not reached
	lost()                      // the supervised process is gone: forget its pid, keep its group
	reap() (empty bool)         // one reaping pass; whether no process is left
	empty() <-chan struct{}     // closed once no process is left
	adoptMainPID(pid int) (exited <-chan reaper.Exit, unseen <-chan struct{}, err error)
	restore() int // signals go to the process supervised before the last MAINPID= again; its pid
	awaitDaemon() <-chan adoption
	childPID() int
}

// clock is the time the child actor reads and waits on.
type clock interface {
	Now() time.Time
	After(d time.Duration) <-chan time.Time
}

type realClock struct{}

func (realClock) Now() time.Time                         { return time.Now() }
func (realClock) After(d time.Duration) <-chan time.Time { return time.After(d) }

// childActor starts the command, forwards signals, runs the stop sequence and
// returns an *ExitError once the process tree is empty. One handler per event
// moves it from phase to phase; run's loop only dispatches.
type childActor struct {
	cfg       *Config
	log       *logrus.Entry
	procs     processes
	clock     clock
	obs       Observer
	mainPIDs  <-chan int
	extends   <-chan time.Time // EXTEND_TIMEOUT_USEC=: not killed before then
	verdicts  <-chan struct{}  // the health side: a live-level check turned unhealthy
	interrupt <-chan struct{}

	phase     phase
	timer     <-chan time.Time   // the phase's own timer: drain, backoff or afterKill
	grace     <-chan time.Time   // SIGKILL for the tree, in draining and stopping; nil = the orchestrator's grace
	graceLen  time.Duration      // for the log
	graceAt   time.Time          // when grace fires
	extended  bool               // EXTEND_TIMEOUT_USEC= moved graceAt (for the log)
	exited    <-chan reaper.Exit // the supervised process; nil while none runs
	unseen    <-chan struct{}    // MAINPID='s process, not hcinit's child, ended with its exit gone elsewhere
	before    <-chan reaper.Exit // the exit of the process supervised before it, for then
	adoption  <-chan adoption    // the --pidfile daemon, in adopting
	daemon    bool               // the supervised process was adopted: its exit 0 is no launcher's
	code      int                // hcinit's exit status: the last exit, mapped (-e)
	raw       int                // the last exit, unmapped (for the restart's log)
	ranFor    time.Duration      // how long the last child ran (for the backoff)
	startedAt time.Time
	delay     time.Duration // the next restart's backoff

	stopSig     unix.Signal // the stop signal of the running stop sequence
	asked       bool        // a stop trigger started or joined this stop: the next one kills
	restart     bool        // the stop ends in a restart (--on-unhealthy restart, or --restart once what the child left is gone)
	unhealthy   bool        // hcinit stops the child as unhealthy (--on-unhealthy exit): see onExit
	restStopped bool        // what the child left got stopSig too
}

func newChildActor(cfg *Config, procs processes, c clock, obs Observer, log *logrus.Entry) *childActor {
	if obs == nil {
		obs = noObserver{}
	}
	return &childActor{cfg: cfg, log: log, procs: procs, clock: c, obs: obs,
		verdicts: obs.Unhealthy(), delay: cfg.RestartDelay}
}

// run starts the child and handles events until hcinit exits.
func (a *childActor) run(sigc <-chan os.Signal) error {
	if err := a.startChild(); err != nil {
		return err
	}
	// Start-up is over once the child runs: give its memory back.
	trim := time.AfterFunc(idleTrimDelay, memtrim.Idle)
	defer trim.Stop()
	for {
		var err error
		select {
		case sig := <-sigc:
			a.onSignal(sig)
		case e := <-a.exited:
			err = a.onExit(e)
		case ad := <-a.adoption:
			err = a.onAdopted(ad)
		case pid := <-a.mainPIDs:
			a.onMainPID(pid)
		case <-a.unseen:
			err = a.onUnseen()
		case until := <-a.extends:
			a.onExtend(until)
		case <-a.timer:
			err = a.onTimer()
		case <-a.grace:
			a.onGrace()
		case <-a.treeEmpty():
			err = a.onEmpty()
		case <-a.verdicts:
			a.onUnhealthy()
		case <-a.interrupt:
			a.onInterrupt()
		}
		if err != nil {
			return err
		}
	}
}

// treeEmpty is the reaper's "no process left", once nothing more is expected:
// no supervised process, no daemon to adopt, no restart.
func (a *childActor) treeEmpty() <-chan struct{} {
	if a.exited != nil || a.phase == adopting || a.phase == backoff {
		return nil
	}
	return a.procs.empty()
}

func (a *childActor) exit() error { return &ExitError{Code: a.code} }

// onEmpty: no process is left. hcinit exits, or, when it stopped what the
// child left for a restart, backs off and starts the child again.
func (a *childActor) onEmpty() error {
	if a.restart {
		a.backOff(a.raw)
		return nil
	}
	return a.exit()
}

func (a *childActor) startChild() error {
	pid, ch, err := a.procs.start()
	if err != nil {
		a.log.WithError(err).Error("cannot start child")
		return err
	}
	a.phase, a.timer, a.exited, a.daemon, a.startedAt = running, nil, ch, false, a.clock.Now()
	a.log.WithField("pid", pid).Debug("child started")
	a.obs.ChildStarted(pid)
	return nil
}

// onSignal forwards a signal, or starts the stop sequence for a stop trigger;
// a second stop trigger kills the tree.
func (a *childActor) onSignal(sig os.Signal) {
	us, ok := sig.(syscall.Signal)
	if !ok || us == unix.SIGPIPE || sigs.IsAbsorbed(us) {
		// The kernel raises SIGPIPE for hcinit's own writes to a socket
		// whose peer hung up (a health client or a delegated server), and
		// os/signal delivers those too, unable to tell them from kill(2):
		// forwarded, they would kill the child. Subscribed, never forwarded.
		// The absorbed fault signals (kill -SEGV 1) concern hcinit alone.
		return
	}
	fwd := translate(a.cfg, us)
	switch {
	case fwd == 0:
		a.log.WithField("signal", sigs.Name(us)).Debug("dropped signal")
	case !slices.Contains(a.cfg.StopTriggers, us):
		// With no child (restart backoff, or the grace after it exited)
		// the signal goes to what is left of its group, never to the
		// whole namespace: that would hit `docker exec` shells.
		a.procs.forward(fwd)
	case a.phase.inStop() && a.asked:
		a.kill("second stop signal " + sigs.Name(us))
	case a.phase.inStop():
		a.joinStop(fwd)
	default:
		a.log.WithField("signal", sigs.Name(us)).Debug("stopping")
		a.beginStop(fwd, false)
		a.asked = true
	}
}

// joinStop handles the first stop trigger that arrives during a stop hcinit
// began itself (--on-unhealthy, the processes the child left, the group's
// interrupt): it is the orchestrator's first word (docker stop, a pod's
// deletion, Swarm replacing an unhealthy task), not an operator insisting,
// so nothing is killed; the next trigger does. The grace is the
// orchestrator's from now on: hcinit's own bound goes, unless --stop-timeout
// set it, and an unhealthy child is not restarted. The stop signal already
// sent is not sent twice (a second TERM kills a program that restored the
// default action after the first); another one is delivered.
func (a *childActor) joinStop(sig unix.Signal) {
	a.log.WithField("signal", sigs.Name(sig)).Debug("stop asked during hcinit's own stop")
	a.asked, a.restart = true, false
	if a.cfg.StopTimeout == 0 {
		a.grace = nil
	}
	if sig == a.stopSig {
		return
	}
	a.stopSig = sig
	if a.phase == stopping {
		a.sendStop(sig)
	}
}

// onExit handles the supervised process's exit: a launcher's exit 0 with
// --pidfile waits for its daemon; anything else is gone.
func (a *childActor) onExit(e reaper.Exit) error {
	a.exited, a.unseen, a.before = nil, nil, nil
	a.code = mapExit(a.cfg, e.Code())
	a.procs.lost()
	a.log.WithFields(logrus.Fields{"pid": e.Pid, "exit_code": e.Code()}).Debug("child exited")
	if a.unhealthy && e.Code() == 0 {
		// hcinit stopped it as unhealthy: a clean shutdown is no success, or
		// Docker's and Swarm's on-failure and Kubernetes' OnFailure would
		// take the failed container for done. Report what an app without a
		// handler would: 128+N of the stop signal.
		a.code = 128 + int(a.stopSig)
		a.log.WithField("exit_code", a.code).Warn("the child, stopped as unhealthy, exited 0: exiting with 128 + the stop signal")
	}
	if a.cfg.Pidfile != "" && !a.daemon && !a.phase.inStop() && e.Code() == 0 {
		// The launcher is done; its daemon writes the pid file. Wait for
		// it without blocking this loop: signals still count meanwhile.
		a.phase, a.adoption = adopting, a.procs.awaitDaemon()
		return nil
	}
	return a.gone(e.Code())
}

// onAdopted supervises the daemon found in --pidfile, or ends the child's
// run with status 1 when there is none.
func (a *childActor) onAdopted(ad adoption) error {
	a.adoption = nil
	if ad.err != nil {
		a.log.WithError(ad.err).Error("cannot supervise daemon")
		a.code = 1
		return a.gone(1)
	}
	a.phase, a.exited, a.daemon = running, ad.exited, true
	a.log.WithField("pid", ad.pid).Info("supervising daemon from pid file")
	a.obs.ChildStarted(ad.pid)
	return nil
}

// onMainPID supervises the process sd_notify's MAINPID= names from now on.
// A stop sequence goes on; a daemon awaited or a restart pending is replaced.
func (a *childActor) onMainPID(pid int) {
	if pid == a.procs.childPID() {
		return
	}
	ch, unseen, err := a.procs.adoptMainPID(pid)
	if err != nil {
		a.log.WithError(err).Warn("ignoring MAINPID=")
		return
	}
	a.before = nil
	if unseen != nil {
		a.before = a.exited
	}
	a.exited, a.unseen, a.daemon, a.adoption = ch, unseen, true, nil
	if !a.phase.inStop() {
		a.phase, a.timer = running, nil
	}
	a.log.WithField("pid", pid).Info("supervising the new main process (MAINPID=)")
	a.mainProcess(pid)
}

// mainProcess tells the health side which process is the child now.
func (a *childActor) mainProcess(pid int) {
	if h, ok := a.obs.(interface{ MainProcess(int) }); ok && pid > 0 {
		h.MainProcess(pid)
	}
}

// onExtend applies EXTEND_TIMEOUT_USEC=: the main process asks not to be
// killed before until. As systemd extends TimeoutStopSec
// (src/core/service.c, service_extend_timeout), hcinit's own SIGKILL
// (--stop-timeout, or its bound on a stop it began) moves out to until if that
// is later; it never comes sooner. With no such deadline (no stop, or the
// orchestrator's grace, which hcinit does not own) there is nothing to move.
func (a *childActor) onExtend(until time.Time) {
	if a.grace == nil || !until.After(a.graceAt) {
		return
	}
	a.grace, a.graceAt, a.extended = a.clock.After(until.Sub(a.clock.Now())), until, true
	a.log.WithField("until", until.Format(time.RFC3339Nano)).Debug("stop timeout extended (EXTEND_TIMEOUT_USEC)")
}

// onUnseen: the process MAINPID= named, not hcinit's child, has ended and
// its own parent took its exit status (`sh -c 'server & wait'`), which hcinit
// can never know. hcinit supervises what it supervised before again: in that
// example the shell, which reports the server's status. Without one the end
// counts as exit 0, as systemd counts the end of such an "alien" main
// process a success.
func (a *childActor) onUnseen() error {
	a.unseen = nil
	a.log.Warn("the main process (MAINPID=) ended, its status went to its own parent: supervising the process before it again")
	pid := a.procs.restore()
	a.exited, a.before = a.before, nil
	if a.exited == nil {
		return a.onExit(reaper.Exit{})
	}
	a.mainProcess(pid)
	return nil
}

// onTimer ends the phase's wait: the drain delay, the restart backoff, or
// the bound after SIGKILL.
func (a *childActor) onTimer() error {
	a.timer = nil
	switch a.phase {
	case draining:
		a.phase = stopping
		a.sendStop(a.stopSig)
	case backoff:
		return a.startChild()
	case killing:
		if a.restart {
			return a.restartAnyway()
		}
		a.log.Error("processes survived SIGKILL; exiting anyway")
		return a.exit()
	}
	return nil
}

// restartAnyway: afterKill after SIGKILL for a restart, something is still
// there (uninterruptible sleep). The child starts again anyway, as systemd
// restarts a unit whose processes survived the final SIGKILL ("Processes
// still around after final SIGKILL"); a main process that is itself still
// there is waited for first, as before: two copies of it must not run.
func (a *childActor) restartAnyway() error {
	if a.exited != nil {
		a.log.Error("the child survived SIGKILL; restarting it once it is gone")
		return nil
	}
	a.log.Error("processes survived SIGKILL; restarting the child anyway")
	a.backOff(a.raw)
	return nil
}

// onGrace ends the stop's grace: SIGKILL for the tree, or for the child's
// group alone when an unhealthy child is being restarted.
func (a *childActor) onGrace() {
	a.grace = nil
	if a.restart {
		// Restarting: what the child left dies (its group and the rest of
		// hcinit's tree), never every process in the namespace.
		a.log.Warn("stop timeout reached: killing what is left of the child before restarting it")
		a.stopLeft(unix.SIGKILL)
		a.phase, a.timer = killing, a.clock.After(afterKill)
		return
	}
	why := "stop timeout " + a.graceLen.String() + " reached"
	if a.extended {
		why = "stop timeout " + a.graceLen.String() + ", extended by EXTEND_TIMEOUT_USEC, reached"
	}
	a.kill(why)
}

// onUnhealthy applies --on-unhealthy to a running child.
func (a *childActor) onUnhealthy() {
	if a.phase != running || a.exited == nil {
		return
	}
	switch a.cfg.OnUnhealthy {
	case OnUnhealthyRestart:
		a.log.Warn("child unhealthy: restarting it")
		a.beginStop(a.cfg.StopSignal, true)
		a.restart = true
	case OnUnhealthyExit:
		a.log.Warn("child unhealthy: stopping")
		a.beginStop(a.cfg.StopSignal, true)
		a.unhealthy = true
	}
}

// onInterrupt is the group's interrupt: a stop, as a TERM would start it.
func (a *childActor) onInterrupt() {
	a.interrupt = nil
	switch {
	case !a.phase.inStop():
		a.beginStop(a.cfg.StopSignal, true)
	case a.restart:
		// Stopping for a restart: the stop goes on, under the same bound,
		// and ends hcinit.
		a.log.Debug("interrupted: no restart")
		a.restart = false
	}
}

// gone handles the end of the supervised process (exit status raw): restart
// it, or exit at once when nothing is left, or stop what it left behind.
// A non-nil result is hcinit's exit.
func (a *childActor) gone(raw int) error {
	a.report(raw)
	a.raw, a.ranFor = raw, a.clock.Now().Sub(a.startedAt)
	restart := a.restart || (!a.phase.inStop() && shouldRestart(a.cfg, raw))
	// Reap now: if nothing is left, exit (or restart) at once; otherwise the
	// rest gets the stop signal and the grace.
	if a.procs.reap() {
		if restart {
			a.backOff(raw)
			return nil
		}
		return a.exit()
	}
	if restart {
		a.clearForRestart()
		return nil
	}
	switch {
	case !a.phase.inStop():
		a.log.Debug("child exited, stopping the processes it left")
		a.phase, a.timer, a.stopSig, a.restStopped = stopping, nil, a.cfg.StopSignal, false
		a.sendStop(a.cfg.StopSignal)
		a.armGrace(0, true)
	case a.phase != draining && !a.restStopped:
		// Stopping, and the child is gone: what it left and the stop
		// signal has not reached yet (its group in --single-child mode, a
		// daemon in a session of its own) gets it now. With no grace of
		// hcinit's own, nothing else would ever ask them to stop.
		a.restStopped = true
		a.procs.stopRest(a.stopSig)
	}
	return nil
}

// clearForRestart stops what the gone child left before it is started again,
// as systemd stops a unit's whole control group (KillMode=control-group)
// before ExecStart runs again, and Docker restarts a container only once all
// of it is gone: a worker of a crashed prefork master would otherwise keep
// the port, and the next instance fail "address already in use", once per
// restart. The stop signal goes to the child's process group and every other
// process below hcinit (never the namespace's other processes); SIGKILL
// follows after hcinit's own bound (--stop-timeout, or ownStopTimeout); the
// backoff starts once the tree is empty (onEmpty). A stop trigger meanwhile
// is the orchestrator's stop (joinStop): no restart, its grace.
func (a *childActor) clearForRestart() {
	a.restart = true
	switch {
	case a.phase == killing:
		if a.timer == nil { // its bound is over (restartAnyway): the child was all it waited for
			a.log.Error("processes survived SIGKILL; restarting the child anyway")
			a.backOff(a.raw)
		}
	case a.phase == stopping:
		// --on-unhealthy restart: the group has the stop signal; the rest
		// gets it now.
		if !a.restStopped {
			a.restStopped = true
			a.procs.stopRest(a.stopSig)
		}
	default: // running, or its --pidfile daemon never came, or draining
		a.log.Info("child exited: stopping what it left before restarting it")
		if a.phase != draining {
			a.armGrace(0, true)
		}
		a.phase, a.timer, a.stopSig = stopping, nil, a.cfg.StopSignal
		a.stopLeft(a.stopSig)
	}
}

// stopLeft sends sig to what the gone child left: its process group (unless
// --single-child) and every other process below hcinit, each once. As PID 1 it
// does not use kill(-1): `docker exec` shells are not the child's.
func (a *childActor) stopLeft(sig unix.Signal) {
	a.procs.forward(sig)
	if sig != unix.SIGCONT && sig != unix.SIGKILL {
		a.procs.forward(unix.SIGCONT)
	}
	a.procs.stopRest(sig)
	a.restStopped = true
}

// report tells the health side that the child is gone, and why.
func (a *childActor) report(raw int) {
	if h, ok := a.obs.(interface{ ChildExitReason(string) }); ok {
		reason := "exited"
		switch {
		case a.restart:
			reason = "unhealthy"
		case a.phase.inStop():
			reason = "stopped"
		}
		h.ChildExitReason(reason)
	}
	a.obs.ChildExited(raw)
}

// backOff waits before the next start; the delay doubles up to
// --restart-max-delay and starts afresh after a child that stayed up.
func (a *childActor) backOff(raw int) {
	if a.ranFor >= restartReset {
		a.delay = a.cfg.RestartDelay
	}
	a.phase, a.timer, a.grace, a.restart = backoff, a.clock.After(a.delay), nil, false
	a.log.WithFields(logrus.Fields{"exit_code": raw, "delay": a.delay.String()}).Info("restarting child")
	a.delay = min(2*a.delay, a.cfg.RestartMaxDelay)
}

// beginStop starts the stop sequence: readiness off at once, the stop signal
// after the drain delay, SIGKILL after the grace (see graceFor).
func (a *childActor) beginStop(sig unix.Signal, own bool) {
	a.stopSig, a.restStopped, a.restart, a.unhealthy, a.asked = sig, false, false, false, false
	a.adoption = nil // a daemon not adopted yet is still in the tree: it gets the signal
	a.obs.Stopping()
	if a.cfg.DrainDelay > 0 && a.exited != nil {
		a.phase, a.timer = draining, a.clock.After(a.cfg.DrainDelay)
	} else {
		a.phase, a.timer = stopping, nil
		a.sendStop(sig)
	}
	a.armGrace(a.cfg.DrainDelay, own)
}

// armGrace starts the timer to SIGKILL, after wait, for a stop hcinit
// decided itself (own) or was told to make; none when the grace is the
// orchestrator's.
func (a *childActor) armGrace(wait time.Duration, own bool) {
	a.graceLen, a.grace, a.extended = graceFor(a.cfg, own), nil, false
	if a.graceLen > 0 {
		a.grace, a.graceAt = a.clock.After(wait+a.graceLen), a.clock.Now().Add(wait+a.graceLen)
	}
}

// kill sends SIGKILL to the whole tree; hcinit exits once it is empty, or
// afterKill later.
func (a *childActor) kill(why string) {
	a.log.WithField("reason", why).Warn("killing every remaining process")
	a.procs.signalTree(unix.SIGKILL)
	a.grace = nil
	if a.phase != killing {
		a.phase, a.timer = killing, a.clock.After(afterKill)
	}
}

// sendStop delivers the stop signal to the child, or to whatever is left when
// the child is already gone.
//
// SIGCONT follows, as systemd does it: a stopped process (SIGSTOP, Ctrl-Z) would
// otherwise keep the stop signal pending and sit out the whole grace.
func (a *childActor) sendStop(sig unix.Signal) {
	send := a.procs.signalTree
	if a.exited != nil {
		send = a.procs.forward
	}
	send(sig)
	if sig != unix.SIGCONT && sig != unix.SIGKILL {
		send(unix.SIGCONT)
	}
}

// graceFor is the time from the stop signal to SIGKILL: --stop-timeout when
// set. Otherwise a stop the orchestrator asked for (a stop trigger) has no
// grace of hcinit's own, as under tini: docker stop -t, Compose's
// stop_grace_period and Kubernetes' terminationGracePeriodSeconds decide, and
// hcinit exits the moment the tree is empty. A stop hcinit decided itself
// (--on-unhealthy, processes left after the child exited) has nobody else's
// grace behind it: ownStopTimeout bounds it, so a hung child still dies.
func graceFor(cfg *Config, own bool) time.Duration {
	switch {
	case cfg.StopTimeout > 0:
		return cfg.StopTimeout
	case own:
		return ownStopTimeout
	}
	return 0
}

func mapExit(cfg *Config, code int) int {
	if cfg.MapToZero[code] {
		return 0
	}
	return code
}

func shouldRestart(cfg *Config, code int) bool {
	switch cfg.Restart {
	case RestartAlways:
		return true
	case RestartOnFailure:
		return code != 0
	}
	return false
}

// noObserver stands in for a missing health side.
type noObserver struct{}

func (noObserver) ChildStarted(int)           {}
func (noObserver) ChildExited(int)            {}
func (noObserver) Stopping()                  {}
func (noObserver) Unhealthy() <-chan struct{} { return nil }
