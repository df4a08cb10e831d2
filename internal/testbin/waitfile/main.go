// Command waitfile waits until every named file exists, or fails after a timeout.
//
//	waitfile [-timeout D] FILE...
//
// It watches each file's directory with inotify and stats after adding the
// watch, so a file created in between is not missed.
package main

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"golang.org/x/sys/unix"
)

func main() {
	timeout := flag.Duration("timeout", 10*time.Second, "give up after this long")
	flag.Parse()
	if err := wait(flag.Args(), *timeout); err != nil {
		fmt.Fprintln(os.Stderr, "waitfile:", err)
		os.Exit(1)
	}
}

func wait(files []string, timeout time.Duration) error {
	fd, err := unix.InotifyInit1(unix.IN_CLOEXEC | unix.IN_NONBLOCK)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	for _, f := range files {
		if _, err := unix.InotifyAddWatch(fd, filepath.Dir(f), unix.IN_CREATE|unix.IN_MOVED_TO|unix.IN_CLOSE_WRITE); err != nil {
			return fmt.Errorf("watch %s: %w", filepath.Dir(f), err)
		}
	}
	deadline := time.Now().Add(timeout)
	buf := make([]byte, 4096)
	for {
		missing := ""
		for _, f := range files {
			if _, err := os.Stat(f); err != nil {
				missing = f
				break
			}
		}
		if missing == "" {
			return nil
		}
		left := time.Until(deadline)
		if left <= 0 {
			return fmt.Errorf("%s: not there after %s", missing, timeout)
		}
		pfd := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
		if _, err := unix.Poll(pfd, int(left/time.Millisecond)+1); err != nil && !errors.Is(err, unix.EINTR) {
			return err
		}
		for { // drain; the loop above looks again
			if _, err := unix.Read(fd, buf); err != nil {
				break
			}
		}
	}
}
