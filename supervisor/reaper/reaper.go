// Package reaper is the single owner of wait4 in hcinit. It reaps every child
// and every orphan re-parented to the process (as PID 1 or as child subreaper)
// and hands each exit status to whoever started that pid.
//
// Contract: nothing else in the process may call wait4, waitpid or
// os.Process.Wait. Start holds the reaper's lock across the fork, so an exit can
// never be delivered before its pid is registered (pebble's reaper does the same).
// Exits coalesce, so every pass loops wait4(-1, WNOHANG) until nothing is left;
// between passes RunOn blocks in waitid itself while there are children (see
// there), so reaping an orphan costs one wake-up and no signal.
package reaper

import (
	"errors"
	"os"
	"os/signal"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"
)

// Exit is one reaped process.
type Exit struct {
	Pid    int
	Status unix.WaitStatus
}

// Code is the exit status a shell would report: the exit code, or 128+N when the
// process was killed by signal N.
func (e Exit) Code() int {
	switch {
	case e.Status.Exited():
		return e.Status.ExitStatus()
	case e.Status.Signaled():
		return 128 + int(e.Status.Signal())
	}
	return 255
}

// Signal is the signal that killed the process, or 0.
func (e Exit) Signal() unix.Signal {
	if e.Status.Signaled() {
		return e.Status.Signal()
	}
	return 0
}

// keepUnclaimed bounds the exits remembered for pids nobody registered, so that
// Watch on a daemon found later in a pid file still sees an exit that came first.
const keepUnclaimed = 1024

// Reaper reaps processes. The zero value is not usable; call New.
type Reaper struct {
	mu        sync.Mutex
	forking   sync.RWMutex // held by Start's fork, shared by every reaping wait4
	waiters   map[int]chan Exit
	remember  bool // keep unclaimed exits for a later Watch
	unclaimed map[int]Exit
	order     []int
	empty     chan struct{} // closed while the process has no children at all
	started   chan struct{} // a Start made a child
	gen       atomic.Uint64 // Starts that forked, for pass
	helping   atomic.Bool   // a help goroutine runs
	onReap    func(Exit, bool)
	orphans   atomic.Uint64 // reaped processes nobody started or watched
}

// New returns a Reaper. onReap, if not nil, is called (outside the lock) for every
// reaped process with whether anyone was waiting for it; hcinit logs orphans there.
func New(onReap func(e Exit, claimed bool)) *Reaper {
	return &Reaper{
		waiters:   make(map[int]chan Exit),
		unclaimed: make(map[int]Exit),
		empty:     make(chan struct{}),
		started:   make(chan struct{}, 1),
		onReap:    onReap,
	}
}

// Start runs fork, which must start exactly one process and return its pid,
// with the lock held, and registers the pid. The returned channel receives the
// process's exit once and is then closed.
func (r *Reaper) Start(fork func() (int, error)) (int, <-chan Exit, error) {
	// No wait4 reaps while fork runs: syscall.ForkExec reaps a child that
	// failed to exec itself, and a pass taking that exit first would report
	// it as an orphan (-w's "reaped zombie") on every run of such a command.
	// Lock order: forking, then mu, as in reapOne.
	r.forking.Lock()
	r.mu.Lock()
	defer r.mu.Unlock()
	pid, err := fork()
	r.forking.Unlock()
	if err != nil {
		return 0, nil, err
	}
	r.gen.Add(1)
	r.markBusy()
	select { // wake RunOn if it waits for a SIGCHLD: there is a child to wait for now
	case r.started <- struct{}{}:
	default:
	}
	delete(r.unclaimed, pid) // an earlier process with a reused pid
	return pid, r.watchLocked(pid), nil
}

// RememberUnclaimed makes the reaper keep the last exits nobody waited for, so
// that Watch on a pid learnt later (a daemon's pid file) still sees an exit that
// came first. Off by default: a PID 1 reaping a flood of orphans should not pay
// for bookkeeping it never uses.
func (r *Reaper) RememberUnclaimed() {
	r.mu.Lock()
	r.remember = true
	r.mu.Unlock()
}

// Watch registers interest in a pid started by someone else (a daemon named in a
// pid file). If that pid was already reaped and RememberUnclaimed is on, the
// channel delivers its exit at once.
func (r *Reaper) Watch(pid int) <-chan Exit {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.watchLocked(pid)
}

// Unwatch drops the interest Watch registered in pid. It reports whether the
// exit was still to come: false when the reaper has already taken it (the
// channel has it, or is about to). Taking the locks as Start does, it waits
// for a pass that has just reaped pid to hand that exit out.
func (r *Reaper) Unwatch(pid int) bool {
	r.forking.Lock()
	r.mu.Lock()
	defer r.mu.Unlock()
	r.forking.Unlock()
	_, ok := r.waiters[pid]
	delete(r.waiters, pid)
	return ok
}

func (r *Reaper) watchLocked(pid int) <-chan Exit {
	ch := make(chan Exit, 1)
	if e, ok := r.unclaimed[pid]; ok {
		delete(r.unclaimed, pid)
		ch <- e
		close(ch)
		return ch
	}
	r.waiters[pid] = ch
	return ch
}

func (r *Reaper) markBusy() {
	select {
	case <-r.empty:
		r.empty = make(chan struct{})
	default:
	}
}

// Empty returns a channel that is closed once a reaping pass finds that the
// process has no children left. A Start after that replaces the channel.
func (r *Reaper) Empty() <-chan struct{} {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.empty
}

// Reap runs one pass: wait4(-1, WNOHANG) until no exited child is left.
func (r *Reaper) Reap() { r.pass() }

// pass is Reap; it reports whether children are left (alive), false when there
// is none at all (ECHILD), which also closes Empty. wait4 runs without the
// lock; a Start holds it from its fork until the pid is registered and counted
// in gen, so a pass that finds no child closes Empty only when no Start forked
// since it looked.
func (r *Reaper) pass() bool {
	gen, err := r.reapAll(r.askHelp)
	return !errors.Is(err, unix.ECHILD) || !r.emptied(gen)
}

// reapAll reaps until wait4 finds no exited child, handing out each exit;
// burst, unless nil, runs once after helpAfter exits. It returns wait4's last
// error (nil: children are left, none exited; ECHILD: none at all) and gen as
// it was before that wait4.
func (r *Reaper) reapAll(burst func()) (uint64, error) {
	for n := 0; ; {
		gen := r.gen.Load()
		var ws unix.WaitStatus
		pid, err := r.reapOne(&ws)
		switch {
		case errors.Is(err, unix.EINTR):
			continue
		case err != nil || pid <= 0:
			return gen, err
		}
		if reapedHook != nil {
			reapedHook(pid)
		}
		r.deliverLocked(pid, ws)
		if n++; n == helpAfter && burst != nil {
			burst()
		}
	}
}

// reapedHook, when set (by a test), runs between a reap and its delivery.
var reapedHook func(pid int)

// reapOne is waitNoHang, never while a Start forks. When it reaps a pid it
// returns with the lock held, for deliverLocked, taken before it lets a Start
// fork again: the pid it has just freed may go to that fork's process, which
// Start registers under the lock, and that process must not get this exit.
// So the lock order is forking, then mu (Start takes them in that order too);
// nothing waits for forking while holding mu.
func (r *Reaper) reapOne(ws *unix.WaitStatus) (int, error) {
	r.forking.RLock()
	defer r.forking.RUnlock()
	pid, err := waitNoHang(ws)
	if err == nil && pid > 0 {
		r.mu.Lock()
	}
	return pid, err
}

// emptied closes Empty after wait4 found no child, unless a Start forked since
// gen was read; it reports whether it did.
func (r *Reaper) emptied(gen uint64) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.gen.Load() != gen {
		return false
	}
	select {
	case <-r.empty:
	default:
		close(r.empty)
	}
	return true
}

// helpAfter is how many exits one pass reaps before a second goroutine joins
// it: a burst (a process dies and leaves thousands of zombies to PID 1 at
// once). Two wait4 loops on two threads reap such a burst in about 0.7 of the
// time of one; the kernel serialises only part of each reap.
const helpAfter = 64

// askHelp starts a second reaping loop beside the pass, unless one runs or
// there is only one P to run it on.
func (r *Reaper) askHelp() {
	if runtime.GOMAXPROCS(0) > 1 && r.helping.CompareAndSwap(false, true) {
		go r.help()
	}
}

// help reaps until nothing exited is left; it never closes Empty (the pass
// does).
func (r *Reaper) help() {
	defer r.helping.Store(false)
	r.reapAll(nil)
}

// deliverLocked hands the exit of pid to whoever waits for it. Callers hold the
// lock (see reapOne); it releases it.
func (r *Reaper) deliverLocked(pid int, ws unix.WaitStatus) {
	e := Exit{Pid: pid, Status: ws}
	ch, claimed := r.waiters[pid]
	if claimed {
		delete(r.waiters, pid)
	} else if r.remember {
		if len(r.order) >= keepUnclaimed {
			delete(r.unclaimed, r.order[0])
			r.order = r.order[1:]
		}
		r.unclaimed[pid] = e
		r.order = append(r.order, pid)
	}
	r.mu.Unlock()
	if claimed {
		ch <- e
		close(ch)
	} else {
		r.orphans.Add(1)
	}
	if r.onReap != nil {
		r.onReap(e, claimed)
	}
}

// Orphans is how many reaped processes nobody had started or watched: the
// zombies hcinit reaped as init (hcinit_zombies_reaped_total).
func (r *Reaper) Orphans() uint64 { return r.orphans.Load() }

// Run reaps until stop is closed. It subscribes to SIGCHLD before its first
// pass, so no exit that happens after Run is called goes unnoticed.
func (r *Reaper) Run(stop <-chan struct{}) {
	c := make(chan os.Signal, 16)
	signal.Notify(c, unix.SIGCHLD)
	defer signal.Stop(c)
	r.RunOn(c, stop)
}

// RunOn is Run with a SIGCHLD subscription the caller made (earlier, so that
// no exit waits for it). It returns when stop is closed.
//
// While the process has children, RunOn's goroutine blocks in
// waitid(P_ALL, WEXITED|WNOWAIT) and SIGCHLD is left at its default action
// (ignored: the kernel does not even deliver it): the kernel wakes that waitid
// directly for every exit, re-parented orphans included, with no signal
// handler, signal thread and channel hand-off in between; a pass then reaps.
// Once no child is left, waitid cannot wait (ECHILD): Go's SIGCHLD handler is
// put back, and a value on c, or a Start, begins the next round (as PID 1, a
// process that entered the namespace can leave orphans to it at any time).
//
// waitid cannot be interrupted (Go's handlers restart it), so when stop closes
// while that goroutine is inside it, RunOn returns without it. It ends at the
// next exit without reaping it (WNOWAIT), so it never takes an exit from
// whoever reaps next (a Reap, another Reaper's Run).
func (r *Reaper) RunOn(c <-chan os.Signal, stop <-chan struct{}) {
	var w waiter
	done := make(chan struct{})
	go func() {
		defer close(done)
		r.waitLoop(&w, c, stop)
	}()
	select {
	case <-done:
		return
	case <-stop:
	}
	// Either the goroutine sees stopping before it enters waitid and ends, or
	// this sees it inside and does not wait for it.
	w.stopping.Store(true)
	if !w.inWait.Load() {
		<-done
	}
}

// waiter is what RunOn and its goroutine share.
type waiter struct {
	stopping atomic.Bool // RunOn's stop closed
	inWait   atomic.Bool // the goroutine is in (or about to enter) a blocking waitid
	yielded  time.Time   // the goroutine's last Gosched
}

// waitLoop is RunOn's goroutine.
func (r *Reaper) waitLoop(w *waiter, c <-chan os.Signal, stop <-chan struct{}) {
	quiet := false // SIGCHLD at its default action
	defer func() {
		if quiet {
			loud()
		}
	}()
	for !w.stopping.Load() {
		if r.pass() { // children are left: wait in waitid
			if !quiet {
				quiet = hush()
			}
			r.block(w)
			continue
		}
		if quiet {
			// An exit since the pass sent no SIGCHLD: look again once the
			// handler is back.
			loud()
			quiet = false
			continue
		}
		select {
		case <-c:
		case <-r.started:
		case <-stop:
			return
		}
	}
}

// block waits until a child has exited, without reaping it (WNOWAIT): the
// pass that follows reaps it. A goroutine left in here after its RunOn
// returned so never takes an exit: it wakes, sees stopping and ends.
func (r *Reaper) block(w *waiter) {
	w.inWait.Store(true)
	defer w.inWait.Store(false)
	if w.stopping.Load() {
		return
	}
	var info unix.Siginfo
	_ = unix.Waitid(unix.P_ALL, 0, &info, unix.WEXITED|unix.WNOWAIT, nil)
	w.yield()
}

// yieldEvery is how often, at most, the goroutine in waitid goes through the
// scheduler while exits keep coming; under sysmon's 10 ms (forcePreemptNS).
const yieldEvery = 5 * time.Millisecond

// yield lets the scheduler run once in a while. A goroutine that goes in and
// out of a system call keeps its P without ever being scheduled: with
// GOMAXPROCS=1 whatever else is runnable (a signal to forward, a health
// answer) would wait for sysmon, and with more Ps sysmon takes the P away
// after 10 ms anyway and is then woken again by the next exit, 60 times a
// round. A Gosched after every exit would move this goroutine to another
// thread each time (two more context switches per exit), except with
// GOMAXPROCS=1, where there is no other P and the others must run first.
func (w *waiter) yield() {
	now := time.Now()
	if now.Sub(w.yielded) < yieldEvery && runtime.GOMAXPROCS(0) > 1 {
		return
	}
	w.yielded = now
	runtime.Gosched()
}
