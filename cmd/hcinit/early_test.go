package main

import (
	"fmt"
	"path/filepath"
	"strconv"
	"testing"
)

// TestSignalRightAfterChildStart: a signal that reaches hcinit once its child
// runs is forwarded, however early. The child sends hcinit USR1 as its first
// act (as an app that asks its init for something, or docker kill right after
// the app's first line, would) and then becomes sleep, which dies of the
// forwarded USR1: exit 138. hcinit subscribes to the lethal signals before
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
		p, err := spawn(t, []string{hcinitBin(), "--socket", filepath.Join(dir, strconv.Itoa(i)+".sock"), "--",
			"sh", "-c", "kill -USR1 $PPID; exec sleep 30"})
		if err != nil {
			return err
		}
		if err := p.expectExit(exitWait, 138); err != nil {
			return fmt.Errorf("run %d: USR1 sent by the child as it started: %v", i, err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
