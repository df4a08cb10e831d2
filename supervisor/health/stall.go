package health

import (
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// A freeze is not a failure. `docker pause` (the cgroup freezer), and a
// SIGSTOP of hcinit with its child, stop hcinit and the application together;
// the monotonic clock runs on. Thawed, every timer hcinit armed fires at once:
// a check whose timeout "elapsed" while frozen, a file that "aged" while its
// writer was frozen, a watchdog the child "missed" while it could not run.
// None of that says anything about the application, and Docker's own health
// monitor does not count it: it stops while the container is paused and
// starts over with a full interval after unpause (moby daemon/health.go
// updateHealthMonitor: wantRunning needs !Paused).
//
// hcinit cannot see a freeze coming, nor read one afterwards (frozen, it
// reads nothing; thawed, the freezer says "thawed"). It sees its effect: a
// timer that fires long after it was due, a run during which hcinit itself
// went unobserved for long. Either means hcinit was not running; a failure
// it then recorded is void (the next run, one interval later, counts, as
// Docker's first probe after unpause does), and a watchdog window starts
// again. Under load, Go's timers are late by milliseconds, rarely by 100 ms;
// a false alarm costs one interval's delay of a verdict, never a false one.
// A stall shorter than stallCertain voids a failure only when the run before
// was not void, so a machine too loaded to keep hcinit's timers cannot hide
// a failing application for longer than one interval.
//
// CPU throttling looks the same from inside: in a container with a CPU quota
// (docker --cpus, a Kubernetes CPU limit) an application that hangs and
// spins throttles hcinit with it, and its timers fire seconds late. But
// kubelet and Docker probe from outside, unthrottled, and their probes fail:
// such a stall must not void anything. The two differ in what the scheduler
// counts: a frozen or stopped task is not runnable, so its run-queue delay
// (run_delay, field 2 of /proc/self/task/TID/schedstat) does not grow; a
// throttled or CPU-starved task is runnable, and its run_delay grows by the
// time it waited (measured on 6.18, cgroup v1 cfs quota 0.1 CPU with 32
// spinners: timers 0.1-1.6 s late, run_delay summed over hcinit's threads
// grew 1.3-3x as much; SIGSTOP and the freezer, 1.8-3 s: it grew 0-2 ms).
// So only the part of a stall not explained by hcinit's threads waiting to
// run counts as one; when that cannot be read (no /proc, a kernel without
// CONFIG_SCHED_INFO), nothing is void.

// stallLimit is how late a timer may fire, and how long hcinit may go
// unobserved during a run, before hcinit concludes it was not running.
const stallLimit = 250 * time.Millisecond

// stallCertain is a stall no load explains: a freeze, every time.
const stallCertain = time.Second

// stallTick is how often a run longer than it observes that hcinit runs.
const stallTick = 100 * time.Millisecond

// awake watches one check's runs (which never overlap) for a stall: from
// begin to end it observes the clock every stallTick, and end returns the
// longest time between two observations. A run shorter than stallTick costs
// one timer reset and nothing else.
type awake struct {
	mu   sync.Mutex
	t    *time.Timer
	on   bool
	last time.Time
	gap  time.Duration

	since waits // before the next run's timer is due (mark; loop's)
	base  waits // the run's: since, or taken at begin (loop's)
}

// mark notes hcinit's waits before the run's timer is due: the loop's, when
// it arms the timer.
func (a *awake) mark() { a.since = markWaits() }

func (a *awake) begin() {
	a.base, a.since = a.since, waits{}
	if !a.base.set {
		a.base = markWaits() // a run without mark (tests)
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	a.on, a.last, a.gap = true, time.Now(), 0
	if a.t == nil {
		a.t = time.AfterFunc(stallTick, a.tick)
	} else {
		a.t.Reset(stallTick)
	}
}

func (a *awake) tick() {
	a.mu.Lock()
	defer a.mu.Unlock()
	if !a.on {
		return
	}
	a.observeLocked(time.Now())
	a.t.Reset(stallTick)
}

func (a *awake) observeLocked(now time.Time) {
	a.gap = max(a.gap, now.Sub(a.last))
	a.last = now
}

// end stops watching and returns the longest unobserved stretch of the run.
func (a *awake) end() time.Duration {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.on = false
	if a.t != nil {
		a.t.Stop()
	}
	a.observeLocked(time.Now())
	return a.gap
}

// unexplained returns the part of stall (of the run that just ended) not
// explained by hcinit waiting to run since mark or begin. Loop's.
func (a *awake) unexplained(stall time.Duration) time.Duration {
	return a.base.unexplained(stall)
}

// waits is a mark of how long hcinit's threads had waited, runnable, for a
// CPU (the sum of their run_delay); set is false when it could not be read.
type waits struct {
	d   time.Duration
	set bool
	ok  bool
}

func markWaits() waits {
	d, ok := runDelay()
	return waits{d: d, set: true, ok: ok}
}

// unexplained returns the part of stall, a stretch since w in which hcinit
// did not run, not explained by its threads waiting to run since: what a
// freeze (docker pause, SIGSTOP) took, not throttling or a busy machine.
// Zero when it cannot tell (fail safe: the failure counts).
func (w waits) unexplained(stall time.Duration) time.Duration {
	if !w.ok {
		return 0
	}
	now, ok := runDelay()
	if !ok {
		return 0
	}
	return max(0, stall-(now-w.d))
}

// runDelay is the time hcinit's threads have spent runnable but waiting for
// a CPU, summed (a Go timer fires on whichever thread runs the scheduler):
// field 2 of /proc/self/task/*/schedstat, in ns. A thread that exited takes
// its share with it; Go rarely ends one.
func runDelay() (time.Duration, bool) {
	// Raw system calls: no os.File, no poller registration, no allocation
	// per thread; this runs once per check run.
	dir, err := unix.Open("/proc/self/task", unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return 0, false
	}
	defer unix.Close(dir)
	var (
		sum   time.Duration
		read  int
		dents [4096]byte
		buf   [96]byte
		names []string
	)
	for {
		n, err := unix.Getdents(dir, dents[:])
		if err != nil {
			return 0, false
		}
		if n <= 0 {
			break
		}
		_, _, names = unix.ParseDirent(dents[:n], -1, names[:0])
		for _, tid := range names {
			fd, err := unix.Openat(dir, tid+"/schedstat", unix.O_RDONLY|unix.O_CLOEXEC, 0)
			if err != nil {
				continue // the thread ended
			}
			m, err := unix.Read(fd, buf[:])
			unix.Close(fd)
			if err != nil || m <= 0 {
				continue
			}
			if v, ok := schedstatRunDelay(buf[:m]); ok {
				sum += v
				read++
			}
		}
	}
	return sum, read > 0
}

// schedstatRunDelay parses the second field of a schedstat line
// ("exec_ns run_delay_ns timeslices\n").
func schedstatRunDelay(b []byte) (time.Duration, bool) {
	i := 0
	for i < len(b) && b[i] != ' ' {
		i++
	}
	i++
	var v int64
	digits := 0
	for ; i < len(b) && b[i] >= '0' && b[i] <= '9'; i++ {
		v = v*10 + int64(b[i]-'0')
		digits++
	}
	if digits == 0 || digits > 18 || i >= len(b) || b[i] != ' ' {
		return 0, false
	}
	return time.Duration(v), true
}
