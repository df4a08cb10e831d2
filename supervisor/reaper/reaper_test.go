package reaper_test

import (
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"go.uber.org/goleak"
	"golang.org/x/sys/unix"

	"github.com/wisdom-oss/go-healthcheck/internal/testbin"
	"github.com/wisdom-oss/go-healthcheck/supervisor/reaper"
)

// This process reaps with wait4(-1) during these tests, as hcinit does: nothing
// else in it may start processes. It registers as subreaper, so orphans of the
// children come back to it as they come back to hcinit.
func TestMain(m *testing.M) {
	if err := unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0); err != nil {
		panic(err)
	}
	goleak.VerifyTestMain(m)
}

const wait = 10 * time.Second

// running starts r.Run and stops it at the end of the test.
// countingReaper is a running Reaper that counts the exits nobody claimed
// (the orphans -w logs).
func countingReaper(t *testing.T) (*reaper.Reaper, *atomic.Int64) {
	unclaimed := new(atomic.Int64)
	r := reaper.New(func(e reaper.Exit, claimed bool) {
		if !claimed {
			unclaimed.Add(1)
		}
	})
	running(t, r)
	return r, unclaimed
}

func running(t *testing.T, r *reaper.Reaper) {
	stop, done := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		r.Run(stop)
	}()
	t.Cleanup(func() {
		close(stop)
		<-done
	})
}

// sh forks sh -c script through the reaper.
func sh(t *testing.T, r *reaper.Reaper, script string) (int, <-chan reaper.Exit) {
	t.Helper()
	pid, ch, err := r.Start(func() (int, error) {
		return syscall.ForkExec("/bin/sh", []string{"sh", "-c", script}, &syscall.ProcAttr{Files: []uintptr{0, 1, 2}})
	})
	if err != nil {
		t.Fatal(err)
	}
	return pid, ch
}

func await(t *testing.T, ch <-chan reaper.Exit) reaper.Exit {
	t.Helper()
	select {
	case e := <-ch:
		return e
	case <-time.After(wait):
		t.Fatalf("no exit within %s", wait)
		return reaper.Exit{}
	}
}

func TestExitCode(t *testing.T) {
	for _, tc := range []struct {
		status unix.WaitStatus
		code   int
		sig    unix.Signal
	}{
		{0, 0, 0},
		{3 << 8, 3, 0},
		{255 << 8, 255, 0},
		{unix.WaitStatus(unix.SIGTERM), 143, unix.SIGTERM},
		{unix.WaitStatus(unix.SIGKILL), 137, unix.SIGKILL},
		{unix.WaitStatus(unix.SIGSEGV) | 0x80, 139, unix.SIGSEGV}, // core dumped
		{unix.WaitStatus(unix.SIGSTOP)<<8 | 0x7f, 255, 0},         // stopped: not an exit
	} {
		e := reaper.Exit{Pid: 1, Status: tc.status}
		if have := e.Code(); have != tc.code {
			t.Errorf("status %#x: code %d, want %d", tc.status, have, tc.code)
		}
		if have := e.Signal(); have != tc.sig {
			t.Errorf("status %#x: signal %d, want %d", tc.status, have, tc.sig)
		}
	}
}

func TestStartDeliversExit(t *testing.T) {
	r := reaper.New(nil)
	running(t, r)
	pid, ch := sh(t, r, "exit 3")
	e := await(t, ch)
	if e.Pid != pid || e.Code() != 3 {
		t.Errorf("exit %+v (code %d), want pid %d code 3", e, e.Code(), pid)
	}
	if _, ok := <-ch; ok {
		t.Error("channel not closed after its one exit")
	}
}

// SIGCHLDs coalesce: 200 children exiting at once are all reaped and every
// status reaches the one who started it, none counted as an orphan.
func TestCoalescedExits(t *testing.T) {
	var mu sync.Mutex
	unclaimed := 0
	r := reaper.New(func(e reaper.Exit, claimed bool) {
		if !claimed {
			mu.Lock()
			unclaimed++
			mu.Unlock()
		}
	})
	running(t, r)
	const n = 200
	chans := make([]<-chan reaper.Exit, n)
	for i := range chans {
		_, chans[i] = sh(t, r, "exit "+strconv.Itoa(i%10))
	}
	for i, ch := range chans {
		if e := await(t, ch); e.Code() != i%10 {
			t.Errorf("child %d: code %d, want %d", i, e.Code(), i%10)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if unclaimed != 0 {
		t.Errorf("%d exits counted as orphans: Start lost the race with Reap", unclaimed)
	}
}

// Orphans of the child come back to the subreaper and are reaped as unclaimed;
// no zombie is left and Empty closes once nothing is left.
func TestOrphansReaped(t *testing.T) {
	var mu sync.Mutex
	orphans := 0
	r := reaper.New(func(e reaper.Exit, claimed bool) {
		if !claimed {
			mu.Lock()
			orphans++
			mu.Unlock()
		}
	})
	running(t, r)
	// Each ( … & ) leaves one orphan: the subshell is sh's, the sleep ours.
	_, ch := sh(t, r, "for i in 1 2 3 4 5 6 7 8 9 10; do (sleep 0.1 &); done")
	if e := await(t, ch); e.Code() != 0 {
		t.Fatalf("sh exited %d", e.Code())
	}
	select {
	case <-r.Empty():
	case <-time.After(wait):
		t.Fatal("Empty not closed: orphans left")
	}
	mu.Lock()
	defer mu.Unlock()
	if orphans != 10 {
		t.Errorf("%d orphans reaped, want 10", orphans)
	}
	if z := testbin.Zombies(os.Getpid()); len(z) > 0 {
		t.Errorf("zombies left: %+v", z)
	}
}

// Empty is open while a child runs, closed when none is left, open again
// after the next Start.
func TestEmpty(t *testing.T) {
	r := reaper.New(nil)
	running(t, r)
	// The child runs until this test closes its stdin.
	pr, pw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer pr.Close()
	pid, ch, err := r.Start(func() (int, error) {
		return syscall.ForkExec("/bin/sh", []string{"sh", "-c", "read x"}, &syscall.ProcAttr{Files: []uintptr{pr.Fd(), 1, 2}})
	})
	if err != nil {
		t.Fatal(err)
	}
	r.Reap()
	select {
	case <-r.Empty():
		t.Fatalf("Empty closed while pid %d runs", pid)
	default:
	}
	pw.Close()
	await(t, ch)
	select {
	case <-r.Empty():
	case <-time.After(wait):
		t.Fatal("Empty not closed after the last child")
	}
	_, ch2 := sh(t, r, "exit 0")
	empty := r.Empty()
	await(t, ch2)
	select {
	case <-empty:
	case <-time.After(wait):
		t.Fatal("Empty not closed again after the next child")
	}
}

// Watch on a pid started elsewhere (a daemon from a pid file) gets its exit,
// even when it was reaped before the Watch, once RememberUnclaimed is on.
func TestWatch(t *testing.T) {
	reaped := make(chan int, 4)
	r := reaper.New(func(e reaper.Exit, claimed bool) {
		if !claimed {
			reaped <- e.Pid
		}
	})
	r.RememberUnclaimed()
	running(t, r)
	// Started without the reaper: nobody waits for it.
	pid, err := syscall.ForkExec("/bin/sh", []string{"sh", "-c", "exit 5"}, &syscall.ProcAttr{Files: []uintptr{0, 1, 2}})
	if err != nil {
		t.Fatal(err)
	}
	select {
	case p := <-reaped:
		if p != pid {
			t.Fatalf("reaped %d, want %d", p, pid)
		}
	case <-time.After(wait):
		t.Fatal("not reaped")
	}
	if e := await(t, r.Watch(pid)); e.Pid != pid || e.Code() != 5 {
		t.Errorf("Watch after the exit: %+v", e)
	}
	// And a Watch before the exit.
	pr, pw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer pr.Close()
	pid, err = syscall.ForkExec("/bin/sh", []string{"sh", "-c", "read x; exit 6"}, &syscall.ProcAttr{Files: []uintptr{pr.Fd(), 1, 2}})
	if err != nil {
		t.Fatal(err)
	}
	ch := r.Watch(pid)
	pw.Close()
	if e := await(t, ch); e.Pid != pid || e.Code() != 6 {
		t.Errorf("Watch before the exit: %+v", e)
	}
}

func TestStartError(t *testing.T) {
	r := reaper.New(nil)
	_, ch, err := r.Start(func() (int, error) { return 0, syscall.ENOENT })
	if err != syscall.ENOENT || ch != nil {
		t.Errorf("Start with a failing fork: %v, %v", ch, err)
	}
}

// emptied waits until the reaper has found no child left.
func emptied(t *testing.T, r *reaper.Reaper) {
	t.Helper()
	select {
	case <-r.Empty():
	case <-time.After(wait):
		t.Fatal("Empty not closed")
	}
}

// While children run, RunOn waits in wait4 with SIGCHLD at its default action
// (no signal is sent). Once none is left, Go's handler must be back: a process
// that appears without Start, as the orphans of a docker exec reach PID 1, is
// still reaped, however often the reaper went quiet before.
func TestReapedBetweenRounds(t *testing.T) {
	reaped := make(chan int, 8)
	r := reaper.New(func(e reaper.Exit, claimed bool) {
		if !claimed {
			reaped <- e.Pid
		}
	})
	running(t, r)
	for i := range 5 {
		_, ch := sh(t, r, "exit 0") // a round with a child: quiet
		await(t, ch)
		emptied(t, r)
		pid, err := syscall.ForkExec("/bin/sh", []string{"sh", "-c", "exit 7"}, &syscall.ProcAttr{Files: []uintptr{0, 1, 2}})
		if err != nil {
			t.Fatal(err)
		}
		select {
		case p := <-reaped:
			if p != pid {
				t.Fatalf("round %d: reaped %d, want %d", i, p, pid)
			}
		case <-time.After(wait):
			t.Fatalf("round %d: pid %d, started behind the reaper's back, not reaped", i, pid)
		}
	}
	if n := r.Orphans(); n != 5 {
		t.Errorf("%d orphans counted, want 5", n)
	}
	if z := testbin.Zombies(os.Getpid()); len(z) > 0 {
		t.Errorf("zombies left: %+v", z)
	}
}

// Once Run has returned, SIGCHLD reaches signal.Notify again as it did before
// (Run left its default action behind for none), and no goroutine is left
// (TestMain's goleak).
func TestRunRestoresSIGCHLD(t *testing.T) {
	r := reaper.New(nil)
	stop, done := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		r.Run(stop)
	}()
	_, ch := sh(t, r, "exit 0")
	await(t, ch)
	emptied(t, r)
	close(stop)
	select {
	case <-done:
	case <-time.After(wait):
		t.Fatal("Run did not return")
	}
	sc := make(chan os.Signal, 1)
	signal.Notify(sc, unix.SIGCHLD)
	defer signal.Stop(sc)
	_, ch = sh(t, r, "exit 4")
	select {
	case <-sc:
	case <-time.After(wait):
		t.Fatal("no SIGCHLD after Run")
	}
	r.Reap()
	if e := await(t, ch); e.Code() != 4 {
		t.Errorf("exit %d, want 4", e.Code())
	}
}

// Run returns when stop closes even while a child runs and it waits in waitid
// for it. That child's exit is delivered by the next Reap; the goroutine left
// in waitid takes none.
func TestStopWhileChildRuns(t *testing.T) {
	r := reaper.New(nil)
	stop, done := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		r.Run(stop)
	}()
	pr, pw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer pr.Close()
	pid, ch, err := r.Start(func() (int, error) {
		return syscall.ForkExec("/bin/sh", []string{"sh", "-c", "read x; exit 9"}, &syscall.ProcAttr{Files: []uintptr{pr.Fd(), 1, 2}})
	})
	if err != nil {
		t.Fatal(err)
	}
	pidfd, err := unix.PidfdOpen(pid, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(pidfd)
	close(stop)
	select {
	case <-done:
	case <-time.After(wait):
		t.Fatal("Run did not return while a child runs")
	}
	pw.Close()
	// The pidfd turns readable when the child has exited (reaped or not).
	fds := []unix.PollFd{{Fd: int32(pidfd), Events: unix.POLLIN}}
	if n, err := unix.Poll(fds, int(wait.Milliseconds())); n != 1 || err != nil {
		t.Fatalf("child did not exit: %d, %v", n, err)
	}
	r.Reap()
	if e := await(t, ch); e.Pid != pid || e.Code() != 9 {
		t.Errorf("exit %+v (code %d), want pid %d code 9", e, e.Code(), pid)
	}
	if z := testbin.Zombies(os.Getpid()); len(z) > 0 {
		t.Errorf("zombies left: %+v", z)
	}
}

// A burst: 300 children exit at the same moment (their stdin closes), so
// passes find many exits at once and a second loop joins the first. Every
// status reaches the one who started it, none counts as an orphan, no zombie
// is left.
func TestBurstOfExits(t *testing.T) {
	r, unclaimed := countingReaper(t)
	pr, pw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer pr.Close()
	const n = 300
	chans := make([]<-chan reaper.Exit, n)
	for i := range chans {
		script := "read x; exit " + strconv.Itoa(i%50)
		_, chans[i], err = r.Start(func() (int, error) {
			return syscall.ForkExec("/bin/sh", []string{"sh", "-c", script}, &syscall.ProcAttr{Files: []uintptr{pr.Fd(), 1, 2}})
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	pw.Close()
	for i, ch := range chans {
		if e := await(t, ch); e.Code() != i%50 {
			t.Errorf("child %d: code %d, want %d", i, e.Code(), i%50)
		}
	}
	emptied(t, r)
	if u := unclaimed.Load(); u != 0 {
		t.Errorf("%d exits counted as orphans", u)
	}
	if z := testbin.Zombies(os.Getpid()); len(z) > 0 {
		t.Errorf("zombies left: %+v", z)
	}
}

// inDoWait reports whether a thread of this process sleeps in the kernel's
// do_wait (waitid or wait4).
func inDoWait() bool {
	tasks, _ := filepath.Glob("/proc/self/task/*/wchan")
	for _, f := range tasks {
		if b, _ := os.ReadFile(f); string(b) == "do_wait" {
			return true
		}
	}
	return false
}

// A Run that has returned while its goroutine still waits for a running child
// takes no exit from the Reaper that runs next: that one's child exits first,
// and its status reaches its own Start.
func TestStoppedRunTakesNoExit(t *testing.T) {
	r1 := reaper.New(nil)
	stop1, done1 := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done1)
		r1.Run(stop1)
	}()
	pr, pw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer pr.Close()
	_, _, err = r1.Start(func() (int, error) {
		return syscall.ForkExec("/bin/sh", []string{"sh", "-c", "read x"}, &syscall.ProcAttr{Files: []uintptr{pr.Fd(), 1, 2}})
	})
	if err != nil {
		t.Fatal(err)
	}
	// Until Run's goroutine sleeps in the kernel for that child.
	for deadline := time.Now().Add(wait); !inDoWait(); {
		if time.Now().After(deadline) {
			t.Fatal("Run's goroutine never waited for the child")
		}
		time.Sleep(time.Millisecond)
	}
	close(stop1)
	<-done1

	r2 := reaper.New(nil)
	running(t, r2)
	for i := range 3 {
		pid, ch := sh(t, r2, "exit "+strconv.Itoa(i+3))
		if e := await(t, ch); e.Pid != pid || e.Code() != i+3 {
			t.Errorf("exit %+v (code %d), want pid %d code %d", e, e.Code(), pid, i+3)
		}
	}
	pw.Close() // the first child ends; r2 reaps it
	emptied(t, r2)
	if z := testbin.Zombies(os.Getpid()); len(z) > 0 {
		t.Errorf("zombies left: %+v", z)
	}
}
