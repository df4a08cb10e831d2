package health

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// TestChildDirOfALiveHcinitKept: two Monitors of one process stand for two
// hcinits with the same pid (each PID 1 of its own pid namespace) sharing
// the runtime directory. The second must neither remove nor share the
// first's child directory (the old code removed it, with the first child's
// socket in it, and took its name), and its release must leave the first's
// alone. Left-overs are still reclaimed: a child-PID-<ns> directory nobody
// holds goes, one a live hcinit holds stays.
func TestChildDirOfALiveHcinitKept(t *testing.T) {
	run := filepath.Join(shortDir(t), "run")
	first := start(t, Config{RuntimeDir: run}, nil)
	firstDir := envValue(first.ChildEnv(), "HEALTHCHECK_SOCKET_DIR")
	if filepath.Base(firstDir) != fmt.Sprintf("child-%d", os.Getpid()) {
		t.Fatalf("first child directory %q", firstDir)
	}
	childFile := filepath.Join(firstDir, "app.sock")
	if err := os.WriteFile(childFile, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	staleTagged := filepath.Join(run, fmt.Sprintf("child-%d-1", os.Getpid()))
	os.MkdirAll(filepath.Join(staleTagged, "sub"), 0o700)
	liveTagged := filepath.Join(run, fmt.Sprintf("child-%d-2", os.Getpid()))
	os.Mkdir(liveTagged, 0o700)
	held := lockDir(liveTagged)
	if held == nil {
		t.Fatal("cannot lock", liveTagged)
	}
	defer held.Close()

	second, err := New(Config{Socket: filepath.Join(shortDir(t), "hc.sock"), RuntimeDir: run, Log: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- runActors(second) }()
	secondDir := envValue(second.ChildEnv(), "HEALTHCHECK_SOCKET_DIR")
	if secondDir == firstDir || secondDir == "" {
		t.Errorf("second child directory %q, the first's is %q", secondDir, firstDir)
	}
	if _, err := os.Lstat(childFile); err != nil {
		t.Errorf("the first child's socket after the second started: %v", err)
	}
	gone := func(p string) bool { _, err := os.Lstat(p); return errors.Is(err, os.ErrNotExist) }
	waitFor(t, "the stale directory reclaimed", 15*time.Second, func() bool { return gone(staleTagged) })
	if gone(liveTagged) {
		t.Errorf("%s was held and was removed", liveTagged)
	}

	second.Interrupt(nil)
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the second's actors did not return within 5s of Interrupt")
	}
	if _, err := os.Lstat(childFile); err != nil {
		t.Errorf("the first child's socket after the second ended: %v", err)
	}
	if secondDir != "" && !gone(secondDir) {
		t.Errorf("the second's own directory %s left", secondDir)
	}
}

// TestChildDirLockNotInherited: the child directory's lock is hcinit's own:
// a child (or anything it starts) holding it would keep a dead hcinit's
// directory looking alive.
func TestChildDirLockNotInherited(t *testing.T) {
	h := start(t, Config{}, nil)
	if h.childLock == nil {
		t.Fatal("no lock held")
	}
	flags, err := unix.FcntlInt(h.childLock.Fd(), unix.F_GETFD, 0)
	if err != nil || flags&unix.FD_CLOEXEC == 0 {
		t.Errorf("lock fd flags %#x, %v: want close-on-exec", flags, err)
	}
}
