// Package reaper is the single owner of wait4 in hcinit. It reaps every child
// and every orphan re-parented to the process (as PID 1 or as child subreaper)
// and hands each exit status to whoever started that pid.
//
// Contract: nothing else in the process may call wait4, waitpid or
// os.Process.Wait. Start holds the reaper's lock across the fork, so an exit can
// never be reaped before its pid is registered (pebble's reaper does the same).
// SIGCHLDs coalesce, so every pass loops wait4(-1, WNOHANG) until nothing is left.
package reaper

import (
	"errors"
	"os"
	"os/signal"
	"sync"
	"sync/atomic"

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
	waiters   map[int]chan Exit
	remember  bool // keep unclaimed exits for a later Watch
	unclaimed map[int]Exit
	order     []int
	empty     chan struct{} // closed while the process has no children at all
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
		onReap:    onReap,
	}
}

// Start runs fork, which must start exactly one process and return its pid,
// with the lock held, and registers the pid. The returned channel receives the
// process's exit once and is then closed.
func (r *Reaper) Start(fork func() (int, error)) (int, <-chan Exit, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	pid, err := fork()
	if err != nil {
		return 0, nil, err
	}
	r.markBusy()
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
// is none at all (ECHILD), which also closes Empty. The lock is held across each
// wait4 so that Empty cannot close between a Start's fork and its registration.
func (r *Reaper) pass() bool {
	for {
		var ws unix.WaitStatus
		r.mu.Lock()
		pid, err := waitNoHang(&ws)
		if errors.Is(err, unix.EINTR) {
			r.mu.Unlock()
			continue
		}
		if err != nil || pid <= 0 {
			none := errors.Is(err, unix.ECHILD)
			if none {
				select {
				case <-r.empty:
				default:
					close(r.empty)
				}
			}
			r.mu.Unlock()
			return !none
		}
		r.deliverLocked(pid, ws)
	}
}

// deliverLocked hands the exit of pid to whoever waits for it. It is called
// with the lock held and releases it.
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

// Run reaps on every SIGCHLD until stop is closed. It subscribes before its first
// pass, so no exit that happens after Run is called goes unnoticed.
func (r *Reaper) Run(stop <-chan struct{}) {
	c := make(chan os.Signal, 2048)
	signal.Notify(c, unix.SIGCHLD)
	defer signal.Stop(c)
	r.RunOn(c, stop)
}

// RunOn is Run with a SIGCHLD subscription the caller made (earlier, so that
// no exit waits for it): it reaps once, then on every value from c.
func (r *Reaper) RunOn(c <-chan os.Signal, stop <-chan struct{}) {
	r.Reap()
	for {
		select {
		case <-c:
			r.Reap()
		case <-stop:
			return
		}
	}
}
