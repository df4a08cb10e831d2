package reaper

import (
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestReusedPidGetsNoOldExit: a pass reaps a process and, before it hands
// the exit out, a Start forks a process that gets the freed pid (a pid wrap:
// here the fork says it did). The new process must not receive the old one's
// exit. The old code let the Start fork and register between the reap and the
// delivery, which then went to the new process's waiter. reapedHook holds the
// pass in that window; a real pid wrap there needs the whole pid space to go
// round within microseconds.
func TestReusedPidGetsNoOldExit(t *testing.T) {
	pid, err := syscall.ForkExec("/bin/sh", []string{"sh", "-c", "exit 3"}, &syscall.ProcAttr{Files: []uintptr{0, 1, 2}})
	if err != nil {
		t.Fatal(err)
	}
	waitZombie(t, pid)
	r := New(nil)
	inWindow, release := make(chan struct{}), make(chan struct{})
	reapedHook = func(p int) {
		if p == pid {
			close(inWindow)
			<-release
		}
	}
	defer func() { reapedHook = nil }()
	passed := make(chan struct{})
	go func() { defer close(passed); r.Reap() }()
	<-inWindow

	started := make(chan (<-chan Exit), 1)
	go func() {
		_, ch, err := r.Start(func() (int, error) { return pid, nil }) // the freed pid, reused
		if err != nil {
			t.Error(err)
		}
		started <- ch
	}()
	// The old code let that Start finish here. Now it waits for the
	// delivery, whatever time it is given.
	var ch <-chan Exit
	select {
	case ch = <-started:
	case <-time.After(time.Second):
	}
	close(release)
	<-passed
	if ch == nil {
		ch = <-started
	}
	select {
	case e := <-ch:
		t.Errorf("the new process with pid %d got the old one's exit (code %d)", pid, e.Code())
	default:
	}
	if n := r.Orphans(); n != 1 {
		t.Errorf("the old process's exit counted as %d unclaimed, want 1", n)
	}
}

// waitZombie waits until pid has exited and is not yet reaped.
func waitZombie(t *testing.T, pid int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
		if err != nil {
			t.Fatal(err)
		}
		if f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+1:])); len(f) > 0 && f[0] == "Z" {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("pid %d not a zombie within 10s", pid)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
