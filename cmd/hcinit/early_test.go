package main

import (
	"fmt"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/wisdom-oss/go-healthcheck/supervisor/health"
)

// TestSignalRightAfterChildStart: a signal that reaches hcinit once its child
// runs is forwarded, however early. The child sends hcinit USR1 (or, every
// other run, signal 64, the last one subscribed) as its first act (as an app
// that asks its init for something, or docker kill right after the app's first
// line, would) and then becomes sleep, which dies of the forwarded signal:
// exit 138 (192). hcinit subscribes to the lethal signals before
// main and to the rest in the background; the child once started before that
// ended, and the Go runtime drops a signal no one has subscribed to: the USR1
// was lost and the child slept on (about 1 run in 10 under load).
func TestSignalRightAfterChildStart(t *testing.T) {
	t.Parallel()
	const runs = 100
	idx := make([]int, runs)
	for i := range idx {
		idx[i] = i
	}
	dir := t.TempDir()
	err := each(idx, 2, func(i int) error {
		// USR1, and signal 64: the last one subscribed before the fork.
		sig := []int{10, 64}[i%2]
		p, err := spawn(t, []string{hcinitBin(), "--socket", filepath.Join(dir, strconv.Itoa(i)+".sock"), "--",
			"sh", "-c", "kill -" + strconv.Itoa(sig) + " $PPID; exec sleep 30"})
		if err != nil {
			return err
		}
		if err := p.expectExit(exitWait, 128+sig); err != nil {
			return fmt.Errorf("run %d: signal %d sent by the child as it started: %v", i, sig, err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestNotifyRightAfterStart: a main process that sends READY=1 as its first
// act is ready. hcinit learns the child's pid once fork has returned; a
// message read before that came from "no main process" and was refused under
// the default NotifyAccess=main (1 run in 100 on an idle machine, more under
// load), so the child was never ready. systemd knows the pid from fork on.
func TestNotifyRightAfterStart(t *testing.T) {
	t.Parallel()
	const runs = 60
	idx := make([]int, runs)
	for i := range idx {
		idx[i] = i
	}
	dir := t.TempDir()
	err := each(idx, 2, func(i int) error {
		sock := filepath.Join(dir, strconv.Itoa(i)+".sock")
		if _, err := spawn(t, []string{hcinitBin(), "--socket", sock, "--check", "notify,interval=1h", "--",
			"sdnotify", "READY=1", "STATUS=done", "forever"}); err != nil {
			return err
		}
		st, err := waitStatus(sock, readyWait, "STATUS=done handled", func(st health.Status) bool {
			return st.Notify != nil && st.Notify.Status == "done"
		})
		if err != nil {
			return fmt.Errorf("run %d: %v", i, err)
		}
		if !st.Notify.Ready {
			return fmt.Errorf("run %d: READY=1 sent at once not taken: %+v", i, st.Notify)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
